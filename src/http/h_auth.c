/* h_auth.c: registration, login and logout */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "domain/accounts.h"
#include "core/arena.h"
#include "domain/auth.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "http/ctx.h"
#include "domain/op.h"
#include "http/handlers.h"
#include "core/json.h"
#include "http/router.h"

/* clang-format off */
static const struct jx_field register_fields[] = {
	{ "email",	 JX_STRING,		1 },
	{ "password",	 JX_STRING,		1 },
	{ "username",	 JX_STRING | JX_NULL,	0 },
	{ "name",	 JX_STRING | JX_NULL,	0 },
	{ "invite_code", JX_STRING,		0 },
	{ NULL,		 0,			0 },
};

static const struct jx_field login_fields[] = {
	{ "email",	JX_STRING,	1 },
	{ "password",	JX_STRING,	1 },
	{ "cookie",	JX_BOOL,	0 },
	{ NULL,		0,		0 },
};

static const char *const registration_names[] = {
	[REG_OPEN] = "open", [REG_INVITE] = "invite", [REG_CLOSED] = "closed",
};
/* clang-format on */

enum tg_err
h_auth_register(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	char secret[KEY_MAX_LEN];
	struct new_user u;
	struct db_conn *c;
	json_t *user, *key;
	const char *which = "email";
	int mode = r->ctx->conf->registration;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json, register_fields)) != TG_OK)
		return rc;
	if (mode == REG_CLOSED)
		return resp_fail_code(r, resp, TG_EPERM, "registration_closed",
		    NULL,
		    "registration is closed here: ask the operator for "
		    "an account");
	memset(&u, 0, sizeof(u));
	u.email = jx_str(r->json, "email");
	u.password = jx_str(r->json, "password");
	u.username = jx_str(r->json, "username");
	u.name = jx_str(r->json, "name");
	u.invite_code = jx_str(r->json, "invite_code");
	if (mode == REG_INVITE && u.invite_code == NULL)
		return resp_fail_code(r, resp, TG_EPERM, "invalid_invite",
		    "invite_code", "registration needs an invite_code");
	if (mode != REG_INVITE)
		u.invite_code = NULL;
	if ((rc = account_check_new(&op, &u)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((rc = account_register_allowed(c, &op)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	rc = account_create(c, &op, &u, secret, &user, &key, &which);
	if (rc == TG_OK)
		account_register_count(c, &op);
	if (rc == TG_ECONFLICT)
		return resp_fail_code(r, resp, rc,
		    strcmp(which, "username") == 0 ? "username_taken"
						   : "email_taken",
		    which, "an account with this %s exists", which);
	if (rc == TG_EPERM)
		return resp_fail_code(r, resp, rc, "invalid_invite",
		    "invite_code",
		    "the invite code is unknown, used or "
		    "expired");
	if (rc != TG_OK)
		return rc;
	resp->status = 201;
	resp_header(resp, "Cache-Control", "no-store");
	resp->body = json_pack(
	    "{s:O, s:s, s:O}", "user", user, "api_key", secret, "key", key);
	crypto_wipe(secret, sizeof(secret));
	return TG_OK;
}

enum tg_err
h_auth_login(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	char token[KEY_MAX_LEN], csrf[AUTH_CSRF_LEN + 1];
	struct db_conn *c;
	json_t *user, *expires;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json, login_fields)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((rc = account_login(c, &op, jx_str(r->json, "email"),
		 jx_str(r->json, "password"), token, &user, &expires)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp_header(resp, "Cache-Control", "no-store");
	if (json_is_true(json_object_get(r->json, "cookie"))) {
		/* The dashboard: the token goes where its scripts cannot read it. */
		if (auth_csrf(token, csrf) == -1) {
			crypto_wipe(token, sizeof(token));
			return TG_ESYSTEM;
		}
		session_cookie(r, resp, token, r->ctx->conf->session_ttl);
		resp->body = json_pack("{s:O, s:O, s:s}", "expires_at", expires,
		    "user", user, "csrf_token", csrf);
	} else {
		resp->body = json_pack("{s:s, s:O, s:O}", "token", token,
		    "expires_at", expires, "user", user);
	}
	crypto_wipe(token, sizeof(token));
	return TG_OK;
}

enum tg_err
h_auth_logout(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	const char *cred = r->credential;
	struct db_conn *c;
	enum tg_err rc;

	req_op(r, &op);
	if (!r->who->session)
		return resp_fail_code(r, resp, TG_EINVAL, "not_a_session", NULL,
		    "logout ends a dashboard session: send the session token "
		    "from /auth/login, or delete an API key instead");
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((rc = account_logout(c, &op, cred)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if (r->by_cookie)
		session_cookie(r, resp, NULL, 0);
	resp->status = 204;
	return TG_OK;
}

/* The signed-in session: who, until when, and the CSRF token its pages send. */
enum tg_err
h_auth_session(struct tg_req *r, struct tg_resp *resp)
{
	char csrf[AUTH_CSRF_LEN + 1];
	struct op op;
	struct db_conn *c;
	json_t *user;
	enum tg_err rc;

	/*
	 * A page asks this first; a browser that has no session is told so
	 * with a 200 (a 401 is a red line in every visitor's console).  A
	 * credential that fails is still a 401.
	 */
	if (!auth_offered(r)) {
		resp_header(resp, "Cache-Control", "no-store");
		resp->body = json_pack(
		    "{s:n, s:n, s:n}", "user", "expires_at", "csrf_token");
		return TG_OK;
	}
	if ((rc = auth_check(r, resp, PERM_READ)) != TG_OK)
		return rc;
	req_op(r, &op);
	if (!r->who->session)
		return resp_fail_code(r, resp, TG_EINVAL, "not_a_session", NULL,
		    "this describes a dashboard session: sign in at "
		    "/auth/login; an API key has none");
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = account_user(c, &op, r->who->user_id, 0, &user)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if (auth_csrf(r->credential, csrf) == -1)
		return TG_ESYSTEM;
	resp_header(resp, "Cache-Control", "no-store");
	resp->body = json_pack("{s:O, s:s, s:s}", "user", user, "expires_at",
	    r->who->session_expires, "csrf_token", csrf);
	return TG_OK;
}

/* What the sign-up page must ask: nothing secret, no credential needed. */
enum tg_err
h_auth_config(struct tg_req *r, struct tg_resp *resp)
{
	resp->body = json_pack("{s:s}", "registration",
	    registration_names[r->ctx->conf->registration]);
	return TG_OK;
}
