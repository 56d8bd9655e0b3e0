/* h_user.c: the caller's own profile, account, balance, limits and monitor */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <time.h>

#include <jansson.h>

#include "domain/accounts.h"
#include "core/arena.h"
#include "domain/auth.h"
#include "domain/credit.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/db.h"
#include "domain/op.h"
#include "http/handlers.h"
#include "core/json.h"
#include "domain/keys.h"
#include "core/money.h"
#include "domain/limits.h"
#include "http/router.h"
#include "domain/usage.h"
#include "core/util.h"

/* clang-format off */
static const struct jx_field delete_fields[] = {
	{ "password",	JX_STRING,	1 },
	{ NULL,		0,		0 },
};

/* A session proved the password at login: it may send none. */
static const struct jx_field delete_session_fields[] = {
	{ "password",	JX_STRING,	0 },
	{ NULL,		0,		0 },
};

static const struct jx_field password_fields[] = {
	{ "current_password",	JX_STRING,	1 },
	{ "new_password",	JX_STRING,	1 },
	{ NULL,			0,		0 },
};
/* clang-format on */

enum tg_err
h_user_profile(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *u;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = account_user(c, &op, r->who->user_id, 1, &u)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if (!auth_whole_account(r->who)) {
		/* Who it belongs to, not the email, names or settings. */
		resp->body = json_pack("{s:O, s:O, s:O, s:O}", "id",
		    json_object_get(u, "id"), "role",
		    json_object_get(u, "role"), "status",
		    json_object_get(u, "status"), "group",
		    json_object_get(u, "group"));
		return TG_OK;
	}
	resp->body = json_incref(u);
	return TG_OK;
}

enum tg_err
h_user_profile_update(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *u;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((rc = account_update_profile(
		 c, &op, r->who->user_id, r->json, &u)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_incref(u);
	return TG_OK;
}

enum tg_err
h_user_delete(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	const char *pw;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json,
		 r->who->session ? delete_session_fields : delete_fields)) !=
	    TG_OK)
		return rc;
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	/* A password sent is checked, from a session too. */
	if ((pw = jx_str(r->json, "password")) == NULL && r->who->session)
		rc = account_delete_proven(c, &op, r->who->user_id);
	else
		rc = account_delete(c, &op, r->who->user_id, pw);
	if (rc == TG_EAUTH)
		return resp_fail_code(r, resp, rc, "invalid_credentials",
		    "password", "the password is not correct");
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->status = 204;
	return TG_OK;
}

enum tg_err
h_user_password(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json, password_fields)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	/* A session that changes it stays; every other one ends. */
	if ((rc = account_change_password(c, &op, r->who->user_id,
		 jx_str(r->json, "current_password"),
		 jx_str(r->json, "new_password"),
		 r->who->session ? r->credential : NULL)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->status = 204;
	return TG_OK;
}

enum tg_err
h_user_balance(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	int64_t bal, res;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = account_balance(c, &op, r->who->user_id, &bal, &res, NULL)) !=
		TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:s, s:o, s:o, s:o, s:s}", "user_id",
	    r->who->user_pub, "balance", money_json(bal), "reserved",
	    money_json(res), "available", money_json(bal), "currency", "USD");
	return TG_OK;
}

static json_t *
set_json(const struct rate_set *s)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < RL__MAX; i++)
		json_object_set_new(o, rate_limit_name((enum rate_limit)i),
		    s->v[i] >= 0 ? json_integer(s->v[i]) : json_null());
	return o;
}

/*
 * The limits in force for the user and the calling key (a rule, else for the
 * user its group's defaults from the config) and what this node counts now.
 */
static enum tg_err
limits_now(struct db_conn *c, struct tg_req *r, json_t *out)
{
	struct op op;
	struct rate_set ul, kl, ml, used;
	const char *group;
	int has_model;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = account_group(c, &op, r->who->user_id, &group)) != TG_OK ||
	    (rc = limits_in_force(c, &op, r->who->user_id, r->who->key_id, NULL,
		 group, &ul, &kl, &ml, &has_model)) != TG_OK)
		return rc;
	json_object_set_new(out, "effective", set_json(&ul));
	if (r->ctx->rate == NULL)
		return TG_OK;
	rate_usage(r->ctx->rate, rate_key('u', r->who->user_id), &ul, &used);
	json_object_set_new(out, "usage", set_json(&used));
	if (r->who->key_id != 0) {
		json_object_set_new(out, "key_effective", set_json(&kl));
		rate_usage(
		    r->ctx->rate, rate_key('k', r->who->key_id), &kl, &used);
		json_object_set_new(out, "key_usage", set_json(&used));
	}
	json_object_set_new(out, "counted",
	    json_string(rate_shared(r->ctx->rate) ? "node" : "process"));
	return TG_OK;
}

enum tg_err
h_user_limit(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *lim, *keys;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = limits_get(c, &op, r->who->user_id, 0, NULL, &lim)) !=
		TG_OK ||
	    (rc = limits_of_keys(c, &op, r->who->user_id, &keys)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if (!auth_whole_account(r->who))
		key_list_keep(keys, "key_id", r->who->key_pub);
	resp->body = json_pack("{s:s, s:O, s:O}", "user_id", r->who->user_pub,
	    "rate_limits", lim, "keys", keys);
	return limits_now(c, r, resp->body);
}

/* A session has no key of its own: show the primary one (or ""). */
static enum tg_err
primary_masked(struct db_conn *c, struct tg_req *r, const char **out)
{
	struct op op;
	json_t *list, *k;
	size_t i;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = key_list(c, &op, r->who->user_id, &list)) != TG_OK)
		return rc;
	json_array_foreach(list, i, k) {
		if (json_is_true(json_object_get(k, "is_primary")))
			*out = json_string_value(json_object_get(k, "api_key"));
	}
	return TG_OK;
}

enum tg_err
h_user_monitor(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *lim, *metrics;
	const char *masked = r->who->masked;
	int64_t bal;
	char ts[21];
	enum tg_err rc;

	req_op(r, &op);
	/* The user's metrics and every key's limits: the whole account. */
	if ((rc = auth_need_account(r, resp)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = account_balance(c, &op, r->who->user_id, &bal, NULL, NULL)) !=
		TG_OK ||
	    (rc = limits_get(c, &op, r->who->user_id, 0, NULL, &lim)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if (*masked == '\0' && (rc = primary_masked(c, r, &masked)) != TG_OK)
		return rc;
	util_iso8601(ts);
	if ((rc = usage_metrics(c, r->arena, r->who->user_id, &metrics)) !=
	    TG_OK)
		return rc;
	resp->body = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:O}", "status",
	    "ok", "timestamp", ts, "user_id", r->who->user_pub, "api_key",
	    masked, "current_credits", money_json(bal), "usage_metrics",
	    json_incref(metrics), "rate_limits", lim);
	return TG_OK;
}

#define CREDITS_PAGE_DEFAULT 50
#define CREDITS_PAGE_MAX     1000

enum tg_err
h_user_credits(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	const char *v;
	uint64_t limit = CREDITS_PAGE_DEFAULT, before = 0;
	json_t *data;
	int64_t next;
	enum tg_err rc;

	/* The account's money: not a read-only key's business. */
	if ((rc = auth_need_account(r, resp)) != TG_OK)
		return rc;
	if ((v = req_query(r, "limit")) != NULL &&
	    util_parse_u64(v, 1, CREDITS_PAGE_MAX, &limit) == -1)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "limit", "limit is from 1 to %d", CREDITS_PAGE_MAX);
	if ((v = req_query(r, "cursor")) != NULL &&
	    util_parse_u64(v, 1, INT64_MAX, &before) == -1)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "cursor", "cursor is the next_cursor of the previous page");
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = credit_history(c, r->arena, r->who->user_id, (int64_t)before,
		 (int64_t)limit, &data, &next)) != TG_OK)
		return rc;
	resp->body = json_pack("{s:O, s:o}", "data", data, "next_cursor",
	    next > 0 ? json_sprintf("%lld", (long long)next) : json_null());
	return TG_OK;
}
