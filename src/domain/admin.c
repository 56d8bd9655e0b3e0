/* admin.c: operator views and changes across users */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/accounts.h"
#include "domain/admin.h"
#include "core/arena.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "core/crypto.h"
#include "io/db.h"
#include "store/stmt.h"
#include "core/json.h"
#include "domain/keys.h"
#include "core/money.h"
#include "http/req.h"
#include "http/resp.h"
#include "domain/op.h"

/* The audit actor of r (until this file's services take a struct op). */
static const struct op *
audit_actor(const struct tg_req *r)
{
	struct op *op;

	if (r == NULL || (op = arena_alloc(r->arena, sizeof(*op))) == NULL)
		return NULL;
	req_op((struct tg_req *)r, op);
	return op;
}

#define INVITE_RANDOM 24

/* Columns of STMT_AUDIT_LIST. */
enum {
	AL_ID,
	AL_AT,
	AL_ACTOR,
	AL_ACTOR_KEY,
	AL_ACTION,
	AL_TTYPE,
	AL_TID,
	AL_IP,
	AL_REQID,
	AL_BEFORE,
	AL_AFTER
};

static json_t *
opt(const struct db_val *v)
{
	return v->type == DBT_STR ? json_string(v->s) : json_null();
}

static json_t *
opt_json(const struct db_val *v)
{
	json_t *j;

	if (v->type != DBT_STR || (j = json_loads(v->s, 0, NULL)) == NULL)
		return json_null();
	return j;
}

static enum tg_err
count(struct db_conn *c, struct tg_req *r, enum stmt s, const struct db_val *p,
    size_t n, int64_t *total)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, s, p, n, &rows, r->arena)) != TG_OK)
		return rc;
	*total = rows.nrows == 1 ? rows.v[0].i : 0;
	return TG_OK;
}

/* q as a literal inside LIKE: '%', '_' and the escape character escaped. */
static const char *
like_literal(struct tg_req *r, const char *q)
{
	char *out = arena_alloc(r->arena, 2 * strlen(q) + 1), *o = out;

	for (; *q != '\0'; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*o++ = '\\';
		*o++ = *q;
	}
	*o = '\0';
	return out;
}

enum tg_err
admin_users(struct db_conn *c, struct tg_req *r, const char *q, int64_t limit,
    int64_t offset, json_t **data, int64_t *total)
{
	const char *lq = like_literal(r, q);
	struct db_val p[5] = {
	    DB_STR(q), DB_STR(lq), DB_STR(lq), DB_I64(limit), DB_I64(offset)};
	struct db_rows rows;
	json_t *u;
	size_t i;
	enum tg_err rc;

	if ((rc = count(c, r, STMT_USER_COUNT, p, 3, total)) != TG_OK ||
	    (rc = db_exec(c, STMT_USER_LIST, p, 5, &rows, r->arena)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(r->arena, *data);
	for (i = 0; i < rows.nrows; i++) {
		if ((rc = account_user(c, r, rows.v[i].i, 1, &u)) != TG_OK)
			return rc;
		json_array_append(*data, u);
	}
	return TG_OK;
}

/* clang-format off */
static const struct jx_field user_fields[] = {
	{ "status",		JX_STRING,		0 },
	{ "role",		JX_STRING,		0 },
	{ "group",		JX_STRING,		0 },
	{ "commission_percent",	JX_NUMBER | JX_NULL,	0 },
	{ NULL,			0,			0 },
};
/* clang-format on */

static int
one_of(const char *s, const char *a, const char *b)
{
	return strcmp(s, a) == 0 || strcmp(s, b) == 0;
}

enum tg_err
admin_user_update(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    int64_t user_id, const json_t *b, json_t **out)
{
	const char *status, *role, *group;
	struct db_val p[5];
	json_t *before, *v;
	double pct;
	int64_t bp = -1;
	enum tg_err rc;

	if ((rc = resp_check(r, resp, b, user_fields)) != TG_OK)
		return rc;
	if ((rc = account_user(c, r, user_id, 1, &before)) != TG_OK)
		return rc;
	status = json_string_value(json_object_get(before, "status"));
	role = json_string_value(json_object_get(before, "role"));
	group = json_string_value(json_object_get(before, "group"));
	if ((v = json_object_get(before, "commission_percent")) != NULL &&
	    json_is_number(v))
		bp = (int64_t)(json_number_value(v) * 100.0 + 0.5);
	if ((v = json_object_get(b, "status")) != NULL) {
		status = json_string_value(v);
		if (!one_of(status, "active", "suspended"))
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "status",
			    "status is active or suspended");
	}
	if ((v = json_object_get(b, "role")) != NULL) {
		role = json_string_value(v);
		if (!one_of(role, "user", "admin"))
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "role", "role is user or admin");
	}
	if ((v = json_object_get(b, "group")) != NULL) {
		group = json_string_value(v);
		if (*group == '\0' || strlen(group) > 64)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "group", "group is 1 to 64 bytes");
	}
	if ((v = json_object_get(b, "commission_percent")) != NULL) {
		if (json_is_null(v))
			bp = -1;
		else {
			pct = json_number_value(v);
			if (!(pct >= 0 && pct <= 100))
				return resp_fail_code(r, resp, TG_EINVAL,
				    "invalid_value", "commission_percent",
				    "commission_percent is from 0 to 100");
			bp = (int64_t)(pct * 100.0 + 0.5);
		}
	}
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	p[0] = DB_STR(status);
	p[1] = DB_STR(role);
	p[2] = DB_STR(group);
	p[3] = bp >= 0 ? DB_I64(bp) : DB_NULLV;
	p[4] = DB_I64(user_id);
	if ((rc = db_exec(c, STMT_USER_ADMIN_UPDATE, p, 5, NULL, r->arena)) !=
	    TG_OK)
		goto fail;
	if ((rc = account_user(c, r, user_id, 1, out)) != TG_OK)
		goto fail;
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "user.admin_update", "user",
		 json_string_value(json_object_get(before, "id")), before,
		 *out)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
admin_balances(struct db_conn *c, struct tg_req *r, int64_t limit,
    int64_t offset, json_t **data, int64_t *total)
{
	struct db_val p[3] = {DB_STR(""), DB_STR(""), DB_STR("")};
	struct db_rows rows;
	const struct db_val *v;
	json_t *keys, *brief, *key;
	int64_t uid;
	size_t i, k;
	enum tg_err rc;

	if ((rc = count(c, r, STMT_USER_COUNT, p, 3, total)) != TG_OK)
		return rc;
	p[0] = DB_I64(limit);
	p[1] = DB_I64(offset);
	if ((rc = db_exec(c, STMT_ADMIN_BALANCES, p, 2, &rows, r->arena)) !=
	    TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(r->arena, *data);
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		if ((rc = account_find(c, r, v[0].s, NULL, NULL, &uid)) !=
			TG_OK ||
		    (rc = key_list(c, r, uid, &keys)) != TG_OK)
			return rc;
		brief = json_array();
		json_array_foreach(keys, k, key)
		{
			json_array_append_new(brief,
			    json_pack("{s:O, s:O, s:O, s:O}", "key_id",
				json_object_get(key, "id"), "api_key",
				json_object_get(key, "api_key"), "name",
				json_object_get(key, "name"), "is_active",
				json_object_get(key, "is_active")));
		}
		json_array_append_new(*data,
		    json_pack("{s:s, s:s, s:o, s:o, s:o}", "user_id", v[0].s,
			"email", v[1].s, "balance", money_json(v[2].i),
			"reserved", money_json(v[3].i), "keys", brief));
	}
	return TG_OK;
}

enum tg_err
admin_monitor(struct db_conn *c, struct tg_req *r, json_t **out)
{
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ADMIN_MONITOR, NULL, 0, &rows, r->arena)) !=
	    TG_OK)
		return rc;
	v = rows.v;
	*out = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}", "users",
	    (json_int_t)v[0].i, "active_users", (json_int_t)v[1].i, "keys",
	    (json_int_t)v[2].i, "active_keys", (json_int_t)v[3].i,
	    "total_balance", money_json(v[4].i), "total_reserved",
	    money_json(v[5].i));
	arena_defer_json(r->arena, *out);
	return TG_OK;
}

enum tg_err
admin_invites(struct db_conn *c, struct tg_req *r, int64_t n, int64_t days,
    json_t **codes, json_t **expires)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	char code[8 + INVITE_RANDOM + 1];
	struct db_val p[3];
	struct db_rows rows;
	int64_t i;
	json_t *after;
	enum tg_err rc;

	*codes = json_array();
	arena_defer_json(r->arena, *codes);
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		memcpy(code, "inv_", 4);
		if (crypto_base62(code + 4, INVITE_RANDOM) == -1) {
			rc = TG_ESYSTEM;
			goto fail;
		}
		crypto_secret_hash(code, h);
		p[0] = (struct db_val){
		    .type = DBT_STR, .s = (const char *)h, .len = sizeof(h)};
		p[1] = DB_I64(r->who->user_id);
		p[2] = DB_I64(days);
		if ((rc = db_exec(
			 c, STMT_INVITE_INSERT, p, 3, NULL, r->arena)) != TG_OK)
			goto fail;
		json_array_append_new(*codes, json_string(code));
	}
	p[0] = DB_I64(days);
	if ((rc = db_exec(c, STMT_INVITE_EXPIRES, p, 1, &rows, r->arena)) !=
	    TG_OK)
		goto fail;
	*expires = opt(&rows.v[0]);
	arena_defer_json(r->arena, *expires);
	/* The codes are secrets: the audit row keeps only how many. */
	after = json_pack(
	    "{s:I, s:O}", "count", (json_int_t)n, "expires_at", *expires);
	arena_defer_json(r->arena, after);
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "invite.create", "invite", NULL,
		 NULL, after)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
admin_audit(struct db_conn *c, struct tg_req *r, const char *action,
    const char *actor, const char *target, int64_t limit, int64_t offset,
    json_t **data, int64_t *total)
{
	struct db_val p[8] = {DB_STR(action), DB_STR(action), DB_STR(actor),
	    DB_STR(actor), DB_STR(target), DB_STR(target), DB_I64(limit),
	    DB_I64(offset)};
	struct db_rows rows;
	const struct db_val *v;
	json_t *row;
	size_t i;
	enum tg_err rc;

	if ((rc = count(c, r, STMT_AUDIT_COUNT, p, 6, total)) != TG_OK ||
	    (rc = db_exec(c, STMT_AUDIT_LIST, p, 8, &rows, r->arena)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(r->arena, *data);
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		row = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
				"s:o, s:o}",
		    "id", (json_int_t)v[AL_ID].i, "at", opt(&v[AL_AT]),
		    "actor_user_id", opt(&v[AL_ACTOR]), "actor_key_id",
		    opt(&v[AL_ACTOR_KEY]), "action", opt(&v[AL_ACTION]),
		    "target_type", opt(&v[AL_TTYPE]), "target_id",
		    opt(&v[AL_TID]), "ip", opt(&v[AL_IP]), "request_id",
		    opt(&v[AL_REQID]), "before", opt_json(&v[AL_BEFORE]),
		    "after", opt_json(&v[AL_AFTER]));
		json_array_append_new(*data, row);
	}
	return TG_OK;
}
