/* h_admin.c: operator endpoints: credits, users, limits, invites, audit */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "domain/accounts.h"
#include "domain/admin.h"
#include "domain/audit.h"
#include "core/arena.h"
#include "domain/auth.h"
#include "io/db.h"
#include "domain/limits.h"
#include "domain/op.h"
#include "http/handlers.h"
#include "core/json.h"
#include "domain/keys.h"
#include "core/money.h"
#include "http/router.h"
#include "core/util.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX     200
#define NOTE_MAX     500

/* clang-format off */
static const struct jx_field credit_fields[] = {
	{ "user_id",	JX_STRING,			0 },
	{ "email",	JX_STRING,			0 },
	{ "api_key",	JX_STRING,			0 },
	{ "amount_usd",	JX_STRING | JX_NUMBER,		1 },
	{ "note",	JX_STRING | JX_NULL,		0 },
	{ NULL,		0,				0 },
};

static const struct jx_field limit_fields[] = {
	{ "user_id",	 JX_STRING,	0 },
	{ "api_key",	 JX_STRING,	0 },
	{ "model",	 JX_STRING,	0 },
	{ "rate_limits", JX_OBJECT,	1 },
	{ NULL,		 0,		0 },
};

static const struct jx_field invite_fields[] = {
	{ "count",		JX_INT,	0 },
	{ "expires_in_days",	JX_INT,	0 },
	{ NULL,			0,	0 },
};
/* clang-format on */

/* ?limit=&offset= with bounds; 400 on garbage. */
static enum tg_err
page(struct tg_req *r, struct tg_resp *resp, int64_t *limit, int64_t *offset)
{
	const char *v;
	uint64_t n;

	*limit = PAGE_DEFAULT;
	*offset = 0;
	if ((v = req_query(r, "limit")) != NULL) {
		if (util_parse_u64(v, 1, PAGE_MAX, &n) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "limit", "limit is from 1 to %d",
			    PAGE_MAX);
		*limit = (int64_t)n;
	}
	if ((v = req_query(r, "offset")) != NULL) {
		if (util_parse_u64(v, 0, INT32_MAX, &n) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "offset",
			    "offset is a whole number");
		*offset = (int64_t)n;
	}
	return TG_OK;
}

/* The user named by exactly one of user_id, email, api_key. */
static enum tg_err
target_user(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    const char *id, const char *email, const char *key, int64_t *uid,
    int64_t *key_id)
{
	struct op op;
	enum tg_err rc;

	req_op(r, &op);
	if ((id != NULL) + (email != NULL) + (key != NULL) != 1)
		return resp_fail_code(r, resp, TG_EINVAL, "missing_field",
		    "user_id",
		    "name the user with exactly one of user_id, "
		    "email or api_key");
	*key_id = 0;
	if (key != NULL)
		rc = key_owner(c, &op, key, key_id, uid);
	else
		rc = account_find(c, &op, id, email, NULL, uid);
	if (rc == TG_ENOENT)
		return resp_fail_code(r, resp, rc, "not_found",
		    id != NULL		? "user_id"
			: email != NULL ? "email"
					: "api_key",
		    "no such user or key");
	return rc;
}

enum tg_err
h_admin_add_credits(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	const char *note;
	struct db_conn *c;
	int64_t uid, kid, amount, bal, entry;
	json_t *u;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json, credit_fields)) != TG_OK)
		return rc;
	if (money_from_json(json_object_get(r->json, "amount_usd"), &amount) ==
		-1 ||
	    amount == 0)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_amount",
		    "amount_usd",
		    "amount_usd is a non-zero USD amount with at "
		    "most 9 decimals, such as \"10.00\"");
	note = jx_str(r->json, "note");
	if (amount < 0 && (note == NULL || *note == '\0'))
		return resp_fail_code(r, resp, TG_EINVAL, "note_required",
		    "note", "a negative adjustment needs a note saying why");
	if (note != NULL && strlen(note) > NOTE_MAX)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "note", "note may be at most %d bytes", NOTE_MAX);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((rc = target_user(r, resp, c, jx_str(r->json, "user_id"),
		 jx_str(r->json, "email"), jx_str(r->json, "api_key"), &uid,
		 &kid)) != TG_OK)
		return rc;
	rc = account_add_credits(c, &op, uid, amount, note, &bal, &entry);
	if (rc == TG_ECONFLICT)
		return resp_fail_code(r, resp, rc, "insufficient_balance",
		    "amount_usd",
		    "the adjustment would take the balance below "
		    "its overdraft limit");
	if (rc != TG_OK || (rc = account_user(c, &op, uid, 0, &u)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O, s:o, s:o, s:I}", "user_id",
	    json_object_get(u, "id"), "amount", money_json(amount), "balance",
	    money_json(bal), "entry_id", (json_int_t)entry);
	return TG_OK;
}

enum tg_err
h_admin_balance(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	int64_t limit, offset, total;
	json_t *data;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = page(r, resp, &limit, &offset)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK ||
	    (rc = admin_balances(c, &op, limit, offset, &data, &total)) !=
		TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O, s:I, s:I, s:I}", "data", data, "total",
	    (json_int_t)total, "limit", (json_int_t)limit, "offset",
	    (json_int_t)offset);
	return TG_OK;
}

enum tg_err
h_admin_users(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	const char *q = req_query(r, "q");
	int64_t limit, offset, total;
	json_t *data;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = page(r, resp, &limit, &offset)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK ||
	    (rc = admin_users(c, &op, q != NULL ? q : "", limit, offset, &data,
		 &total)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O, s:I, s:I, s:I}", "data", data, "total",
	    (json_int_t)total, "limit", (json_int_t)limit, "offset",
	    (json_int_t)offset);
	return TG_OK;
}

static enum tg_err
user_by_capture(
    struct tg_req *r, struct tg_resp *resp, struct db_conn **c, int64_t *uid)
{
	struct op op;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, c)) != TG_OK)
		return rc;
	rc = account_find(*c, &op, r->captures[0], NULL, NULL, uid);
	if (rc == TG_ENOENT)
		return resp_fail_code(
		    r, resp, rc, "not_found", "id", "no user with this id");
	return rc;
}

enum tg_err
h_admin_user_get(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	int64_t uid, bal, res;
	json_t *u, *keys;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = user_by_capture(r, resp, &c, &uid)) != TG_OK ||
	    (rc = account_user(c, &op, uid, 1, &u)) != TG_OK ||
	    (rc = account_balance(c, &op, uid, &bal, &res, NULL)) != TG_OK ||
	    (rc = key_list(c, &op, uid, &keys)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_deep_copy(u);
	json_object_set_new(resp->body, "balance", money_json(bal));
	json_object_set_new(resp->body, "reserved", money_json(res));
	json_object_set(resp->body, "keys", keys);
	return TG_OK;
}

enum tg_err
h_admin_user_update(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	int64_t uid;
	json_t *u;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = user_by_capture(r, resp, &c, &uid)) != TG_OK ||
	    (rc = admin_user_update(c, &op, uid, r->json, &u)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_incref(u);
	return TG_OK;
}

/* A key's own limits may not exceed its user's rule (the user's count binds anyway). */
static enum tg_err
key_within_user(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    int64_t uid, const json_t *lim)
{
	struct op op;
	json_t *ul, *v, *u;
	const char *k;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = limits_get(c, &op, uid, 0, NULL, &ul)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	json_object_foreach((json_t *)lim, k, v) {
		u = json_object_get(ul, k);
		if (json_is_integer(v) && json_is_integer(u) &&
		    json_integer_value(v) > json_integer_value(u))
			return resp_fail_code(r, resp, TG_EINVAL,
			    "key_limit_above_user", k,
			    "%s of a key may not exceed its user's (%lld)", k,
			    (long long)json_integer_value(u));
	}
	return TG_OK;
}

enum tg_err
h_admin_limit_set(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	const char *const *names;
	const char *k, *model;
	struct db_conn *c;
	json_t *lim, *v, *out;
	int64_t uid, kid;
	size_t n, i;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json, limit_fields)) != TG_OK)
		return rc;
	lim = json_object_get(r->json, "rate_limits");
	names = limits_names(&n);
	json_object_foreach(lim, k, v) {
		for (i = 0; i < n && strcmp(names[i], k) != 0; i++)
			;
		if (i == n)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "unknown_field", k, "unknown limit '%.64s'", k);
		if (!json_is_null(v) &&
		    (!json_is_integer(v) || json_integer_value(v) < 0))
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_type", k,
			    "'%s' is a whole number or null (unlimited)", k);
	}
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = target_user(r, resp, c, jx_str(r->json, "user_id"), NULL,
		 jx_str(r->json, "api_key"), &uid, &kid)) != TG_OK)
		return rc;
	if (kid != 0 && (rc = key_within_user(r, resp, c, uid, lim)) != TG_OK)
		return rc;
	k = jx_str(r->json, "user_id") != NULL ? jx_str(r->json, "user_id")
					       : jx_str(r->json, "api_key");
	if (strncmp(k, "gw_", 3) == 0)
		k = "(key)";
	model = jx_str(r->json, "model");
	if (model != NULL &&
	    (kid == 0 || *model == '\0' || strlen(model) > 128))
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "model",
		    "model limits apply to one API key: give api_key and a "
		    "model id");
	if ((rc = limits_set(c, &op, uid, kid, model, k, lim, &out)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O}", "rate_limits", out);
	return TG_OK;
}

enum tg_err
h_admin_limit_get(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	const char *kq;
	struct db_conn *c;
	json_t *out, *u;
	int64_t uid, kid;
	enum tg_err rc;

	req_op(r, &op);
	/* A key in the URL lands in access logs and browser history. */
	if (req_query(r, "api_key") != NULL)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_parameter",
		    "api_key",
		    "api_key is not accepted in the URL: name the key by its "
		    "id, ?key_id=key_...");
	kq = req_query(r, "key_id");
	if (kq != NULL && strncmp(kq, "key_", 4) != 0)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "key_id", "key_id is a key's id (key_...), never the key");
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = target_user(r, resp, c, req_query(r, "user_id"), NULL, kq,
		 &uid, &kid)) != TG_OK ||
	    (rc = limits_get(c, &op, uid, kid, req_query(r, "model"), &out)) !=
		TG_OK ||
	    (rc = account_user(c, &op, uid, 0, &u)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O, s:O}", "user_id",
	    json_object_get(u, "id"), "rate_limits", out);
	return TG_OK;
}

enum tg_err
h_admin_monitor(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	int64_t count, total;
	json_t *out, *usage;
	char ts[21];
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = usage_system(r, resp, c, &usage)) != TG_OK)
		return rc;
	if ((rc = admin_monitor(c, &op, &out)) != TG_OK ||
	    (rc = admin_overrun(c, &op, &count, &total)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	util_iso8601(ts);
	resp->body = json_deep_copy(out);
	json_object_set_new(resp->body, "timestamp", json_string(ts));
	/* Charges past their hold (the provider used more than priced). */
	json_object_set_new(resp->body, "overrun_24h",
	    json_pack("{s:I, s:o}", "count", (json_int_t)count, "total",
		money_json(total)));
	/* issue 18: s001: requests, tokens and cost per day and per model. */
	json_object_set(resp->body, "usage", usage);
	return TG_OK;
}

enum tg_err
h_admin_invites(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *codes, *exp, *v;
	int64_t n = 1, days = 7;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json, invite_fields)) != TG_OK)
		return rc;
	if ((v = json_object_get(r->json, "count")) != NULL)
		n = json_integer_value(v);
	if ((v = json_object_get(r->json, "expires_in_days")) != NULL)
		days = json_integer_value(v);
	if (n < 1 || n > 100 || days < 1 || days > 365)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    n < 1 || n > 100 ? "count" : "expires_in_days",
		    "count is 1 to 100 and expires_in_days 1 to 365");
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = admin_invites(c, &op, n, days, &codes, &exp)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->status = 201;
	resp_header(resp, "Cache-Control", "no-store");
	resp->body = json_pack("{s:O, s:O}", "codes", codes, "expires_at", exp);
	return TG_OK;
}

static const char *
q_or_empty(struct tg_req *r, const char *name)
{
	const char *v = req_query(r, name);

	return v != NULL ? v : "";
}

enum tg_err
h_admin_audit(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	int64_t limit, offset, total;
	const char *when[2];
	json_t *data;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = page(r, resp, &limit, &offset)) != TG_OK ||
	    (rc = usage_when(r, resp, when)) != TG_OK)
		return rc;
	when[0] = when[0] != NULL ? when[0] : "";
	when[1] = when[1] != NULL ? when[1] : "";
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = admin_audit(c, &op, q_or_empty(r, "action"),
		 q_or_empty(r, "actor"), q_or_empty(r, "target"), when, limit,
		 offset, &data, &total)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O, s:I, s:I, s:I}", "data", data, "total",
	    (json_int_t)total, "limit", (json_int_t)limit, "offset",
	    (json_int_t)offset);
	return TG_OK;
}

enum tg_err
h_admin_audit_verify(struct tg_req *r, struct tg_resp *resp)
{
	struct audit_verdict v;
	struct db_conn *c;
	enum tg_err rc;
	int ok;

	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	/* The walk of `tollgate audit verify`; an error reading is a 500. */
	if ((ok = audit_check(c, &v)) < 0)
		return resp_fail(r, resp, TG_ESYSTEM, NULL,
		    "the audit log could not be read");
	if (ok == 0) {
		resp->body = json_pack(
		    "{s:b, s:I}", "ok", 1, "rows", (json_int_t)v.rows);
		return TG_OK;
	}
	resp->body = json_pack("{s:b, s:I, s:o, s:s}", "ok", 0, "rows",
	    (json_int_t)v.rows, "broken_at",
	    v.broken_at > 0 ? json_integer(v.broken_at) : json_null(), "reason",
	    v.reason);
	return TG_OK;
}
