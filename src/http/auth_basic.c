/* auth_basic.c: HTTP Basic for admins (seed 004): an admin's email and password, admin routes only */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "domain/accounts.h"
#include "domain/auth.h"
#include "domain/op.h"
#include "http/ctx.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"

/* Base64 of an email (254) and a password (the login's cap), with room. */
#define BASIC_MAX_B64 1024

/* The value of base64 character ch, or -1. */
static int
b64_val(int ch)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (ch == '\0' || (p = strchr(set, ch)) == NULL)
		return -1;
	return (int)(p - set);
}

/* Standard base64 (padding optional) into an arena string; NULL if malformed. */
static char *
b64_decode(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n / 4 * 3 + 4);
	unsigned acc = 0;
	size_t i, o = 0;
	int bits = 0, v;

	while (n > 0 && s[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		if ((v = b64_val((unsigned char)s[i])) < 0)
			return NULL;
		acc = (acc << 6) | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	/* A NUL inside would cut the password short: refused. */
	return strlen(out) == o ? out : NULL;
}

const char *
auth_basic_offered(struct tg_req *r)
{
	const char *h = req_header(r, "Authorization");

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return NULL;
	for (h += 6; *h == ' '; h++)
		;
	return h;
}

static enum tg_err
refuse(struct tg_req *r, struct tg_resp *resp, const char *msg)
{
	return resp_fail_code(
	    r, resp, TG_EAUTH, "invalid_api_key", NULL, "%s", msg);
}

enum tg_err
auth_basic(
    struct tg_req *r, struct tg_resp *resp, unsigned perms, const char *b64)
{
	struct principal *p;
	struct db_conn *c;
	struct op op;
	char *pair, *colon;
	size_t n = strlen(b64);
	enum tg_err rc;

	if (!(perms & PERM_ADMIN))
		return refuse(r, resp,
		    "HTTP Basic credentials are accepted on admin routes only "
		    "(/admin/..., /api/status, /api/keys); send an API key "
		    "as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'");
	if (!r->ctx->conf->auth_basic)
		return refuse(r, resp,
		    "HTTP Basic is off on this gateway ([auth] basic); send "
		    "an admin's API key as 'Authorization: Bearer <key>'");
	while (n > 0 && b64[n - 1] == ' ')
		n--;
	if (n == 0 || n > BASIC_MAX_B64 ||
	    (pair = b64_decode(r->arena, b64, n)) == NULL ||
	    (colon = strchr(pair, ':')) == NULL || colon == pair)
		return resp_fail_code(r, resp, TG_EAUTH, "invalid_credentials",
		    NULL,
		    "the Basic credential must be base64 of "
		    "'email:password'");
	*colon = '\0';
	if ((rc = router_db(r, &c)) != TG_OK)
		return resp_fail(r, resp, rc, NULL, NULL);
	p = arena_calloc(r->arena, 1, sizeof(*p));
	req_op(r, &op);
	rc = account_by_password(&op, c, pair, colon + 1, p);
	crypto_wipe(colon + 1, strlen(colon + 1));
	if (rc == TG_OK)
		rc = auth_check_perms(&op, p, perms);
	if (rc != TG_OK)
		return resp_from_op(r, resp, &op);
	r->who = p;
	return TG_OK;
}
