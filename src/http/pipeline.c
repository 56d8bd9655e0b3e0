/* pipeline.c: what runs before a handler: the request's database connection, credentials and the 401/403 */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "io/db.h"
#include "domain/auth.h"
#include "domain/op.h"
#include "http/ctx.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"

#define MISSING_MSG                                                            \
	"no API key: send it as 'Authorization: Bearer <key>' or "             \
	"'X-API-Key: <key>'"
/* The dashboard's session cookie (HttpOnly; set by POST /auth/login). */
#define SESSION_COOKIE "tollgate_session"

void
session_cookie(
    struct tg_req *r, struct tg_resp *resp, const char *token, unsigned max_age)
{
	const char *mount = r->ctx->conf->mount_prefix;

	resp_header(resp, "Set-Cookie",
	    arena_printf(r->arena,
		SESSION_COOKIE "=%s; Path=%s/; Max-Age=%u; HttpOnly; "
			       "SameSite=Strict%s",
		token != NULL ? token : "", mount != NULL ? mount : "",
		token != NULL ? max_age : 0, req_tls(r) ? "; Secure" : ""));
}

#define INVALID_MSG                                                            \
	"the API key is not valid: check that it was copied whole, or create " \
	"a new one"

enum tg_err
router_db(struct tg_req *r, struct db_conn **out)
{
	enum tg_err rc;

	if (r->db == NULL) {
		if (r->ctx->db == NULL)
			return TG_EDB;
		if ((rc = db_get(r->ctx->db, &r->db)) != TG_OK)
			return rc;
	}
	*out = r->db;
	return TG_OK;
}

const char *
auth_credential(struct tg_req *r)
{
	const char *h;

	/*
	 * Another scheme (Basic: auth_basic.c; a proxy's own) does not shadow
	 * the key headers below (seed 004's clients send both).
	 */
	if ((h = req_header(r, "Authorization")) != NULL &&
	    strncasecmp(h, "Bearer ", 7) == 0) {
		for (h += 7; *h == ' '; h++)
			;
		return h;
	}
	if ((h = req_header(r, "X-API-Key")) != NULL)
		return h;
	/* Google's clients (@google/genai) send theirs so. */
	if ((h = req_header(r, "x-goog-api-key")) != NULL)
		return h;
	/* The older "user" + "api-key" header pair: the user header is ignored. */
	if ((h = req_header(r, "api-key")) != NULL)
		return h;
	return NULL;
}

/*
 * The dashboard's session token from the Cookie header (NULL: none).  Only a
 * gws_ session ever goes in it; anything else there is refused as a session.
 */
static const char *
cookie_session(struct tg_req *r)
{
	size_t n = sizeof(SESSION_COOKIE) - 1, len;
	const char *p, *end;

	if ((p = req_header(r, "Cookie")) == NULL)
		return NULL;
	while (*p != '\0') {
		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len > n && strncmp(p, SESSION_COOKIE "=", n + 1) == 0) {
			for (p += n + 1, len -= n + 1;
			     len > 0 && p[len - 1] == ' '; len--)
				;
			return arena_strndup(r->arena, p, len);
		}
		p += len;
	}
	return NULL;
}

int
auth_offered(struct tg_req *r)
{
	return auth_credential(r) != NULL || cookie_session(r) != NULL;
}

/* The credential of r, its format checked before any database work. */
static enum tg_err
credential(struct tg_req *r, struct tg_resp *resp, const char **out)
{
	const char *cred;

	cred = auth_credential(r);
	/*
	 * The Gemini API's own convention, ?key=, which its REST examples
	 * use: accepted on its paths only.  The access log writes no query.
	 */
	if (cred == NULL && strncmp(r->path, "/v1beta/", 8) == 0)
		cred = req_query(r, "key");
	if (cred == NULL && req_query(r, "api_key") != NULL) {
		if (!r->ctx->conf->auth_allow_query_key)
			return resp_fail_code(r, resp, TG_EAUTH,
			    "missing_api_key", "api_key",
			    "API keys in the URL are disabled here: "
			    "send the key in a header, 'Authorization: Bearer "
			    "<key>'");
		cred = req_query(r, "api_key");
	}
	/* A credential the client sent on purpose wins over the ambient cookie. */
	if (cred == NULL && (cred = cookie_session(r)) != NULL) {
		r->by_cookie = 1;
		if (strncmp(cred, "gws_", 4) != 0)
			return resp_fail_code(r, resp, TG_EAUTH,
			    "invalid_session", NULL,
			    "the session cookie is not valid: sign in again");
	}
	if (cred == NULL)
		return resp_fail_code(
		    r, resp, TG_EAUTH, "missing_api_key", NULL, MISSING_MSG);
	if (strncmp(cred, "gws_", 4) != 0 && crypto_key_check(cred) < 0)
		return resp_fail_code(
		    r, resp, TG_EAUTH, "invalid_api_key", NULL, INVALID_MSG);
	if (strncmp(cred, "gws_", 4) == 0 &&
	    strlen(cred) != 4 + TOKEN_RANDOM_LEN)
		return resp_fail_code(r, resp, TG_EAUTH, "invalid_session",
		    NULL, "the session token is not valid: log in again");
	*out = cred;
	return TG_OK;
}

/* The site a browser says the request comes from, for referrer allowlists. */
static const char *
origin(struct tg_req *r)
{
	const char *o = req_header(r, "Origin");

	if (o == NULL || *o == '\0' || strcmp(o, "null") == 0)
		o = req_header(r, "Referer");
	return o;
}

/*
 * A browser sends the cookie with any request a page makes, also one another
 * site's page makes it send: every request that changes something must show
 * the session's CSRF token, which only our own pages learn (/auth/session).
 * SameSite=Strict already keeps the cookie from cross-site requests; this is
 * the second lock, for browsers and proxies that ignore it.
 */
static enum tg_err
csrf_check(struct tg_req *r, struct tg_resp *resp, const char *cred)
{
	if (r->method == TG_M_GET || r->method == TG_M_HEAD ||
	    r->method == TG_M_OPTIONS)
		return TG_OK;
	if (auth_csrf_ok(cred, req_header(r, "X-CSRF-Token")))
		return TG_OK;
	return resp_fail_code(r, resp, TG_EPERM, "csrf_failed", NULL,
	    "a request signed in by the session cookie must carry the "
	    "session's X-CSRF-Token header (from GET /auth/session); reload "
	    "the page");
}

enum tg_err
auth_check(struct tg_req *r, struct tg_resp *resp, unsigned perms)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct principal *p;
	struct db_conn *c;
	const char *cred = NULL, *basic;
	struct op op;
	enum tg_err rc;

	/* issue 18: compat: HTTP Basic when no key header is sent */
	if (auth_credential(r) == NULL &&
	    (basic = auth_basic_offered(r)) != NULL)
		return auth_basic(r, resp, perms, basic);
	/* issue 18 (did): a signed request, when no key is offered */
	if (auth_credential(r) == NULL && req_header(r, "x-did") != NULL)
		return auth_did(r, resp, perms);
	if ((rc = credential(r, resp, &cred)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &c)) != TG_OK)
		return resp_fail(r, resp, rc, NULL, NULL);
	crypto_secret_hash(cred, hash);
	p = arena_calloc(r->arena, 1, sizeof(*p));
	req_op(r, &op);
	if (strncmp(cred, "gws_", 4) == 0)
		rc = auth_by_session(&op, c, hash, p);
	else
		rc = auth_by_key(&op, c, hash, origin(r), perms, p);
	if (rc == TG_OK)
		rc = auth_check_perms(&op, p, perms);
	if (rc != TG_OK)
		return resp_from_op(r, resp, &op);
	r->who = p;
	r->credential = cred;
	return r->by_cookie ? csrf_check(r, resp, cred) : TG_OK;
}

enum tg_err
auth_need_account(struct tg_req *r, struct tg_resp *resp)
{
	if (auth_whole_account(r->who))
		return TG_OK;
	return resp_fail_code(r, resp, TG_EPERM, "insufficient_permissions",
	    NULL,
	    "a read-only key reads its own key, its own usage (GET "
	    "/user/usage) and the balance: this needs a dashboard session or "
	    "a key with 'write' or 'keys'");
}

enum tg_err
resp_op(
    struct tg_req *r, struct tg_resp *resp, const struct op *op, enum tg_err rc)
{
	if (rc != TG_OK && op->fail.err != TG_OK)
		return resp_from_op(r, resp, op);
	return rc;
}
