/* admin.c: operator views and changes across users */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/money.h"
#include "io/db.h"
#include "store/q_audit.h"
#include "store/q_usage.h"
#include "store/q_user.h"
#include "domain/accounts.h"
#include "domain/admin.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/keys.h"
#include "domain/op.h"

#define INVITE_RANDOM 24

static json_t *
opt(const struct q_text *t)
{
	return t->s != NULL ? json_string(t->s) : json_null();
}

static json_t *
opt_json(const struct q_text *t)
{
	json_t *j;

	if (t->s == NULL || (j = json_loads(t->s, 0, NULL)) == NULL)
		return json_null();
	return j;
}

/* q as a literal inside LIKE: '%', '_' and the escape character escaped. */
static const char *
like_literal(struct op *op, const char *q)
{
	char *out = arena_alloc(op->arena, 2 * strlen(q) + 1), *o = out;

	for (; *q != '\0'; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*o++ = '\\';
		*o++ = *q;
	}
	*o = '\0';
	return out;
}

enum tg_err
admin_users(struct db_conn *c, struct op *op, const char *q, int64_t limit,
    int64_t offset, json_t **data, int64_t *total)
{
	int64_t *ids;
	json_t *u;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_user_list(c, op->arena, q, like_literal(op, q), limit,
		 offset, &ids, &n, total)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(op->arena, *data);
	for (i = 0; i < n; i++) {
		if ((rc = account_user(c, op, ids[i], 1, &u)) != TG_OK)
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
admin_user_update(struct db_conn *c, struct op *op, int64_t user_id,
    const json_t *b, json_t **out)
{
	const char *status, *role, *group;
	json_t *before, *v;
	double pct;
	int64_t bp = -1;
	enum tg_err rc;

	if ((rc = op_check(op, b, user_fields)) != TG_OK)
		return rc;
	if ((rc = account_user(c, op, user_id, 1, &before)) != TG_OK)
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
			return op_fail(op, TG_EINVAL, "invalid_value", "status",
			    "status is active or suspended");
	}
	if ((v = json_object_get(b, "role")) != NULL) {
		role = json_string_value(v);
		if (!one_of(role, "user", "admin"))
			return op_fail(op, TG_EINVAL, "invalid_value", "role",
			    "role is user or admin");
	}
	if ((v = json_object_get(b, "group")) != NULL) {
		group = json_string_value(v);
		if (*group == '\0' || strlen(group) > 64)
			return op_fail(op, TG_EINVAL, "invalid_value", "group",
			    "group is 1 to 64 bytes");
	}
	if ((v = json_object_get(b, "commission_percent")) != NULL) {
		if (json_is_null(v))
			bp = -1;
		else {
			pct = json_number_value(v);
			if (!(pct >= 0 && pct <= 100))
				return op_fail(op, TG_EINVAL, "invalid_value",
				    "commission_percent",
				    "commission_percent is from 0 to 100");
			bp = (int64_t)(pct * 100.0 + 0.5);
		}
	}
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	if ((rc = q_user_admin_update(
		 c, op->arena, user_id, status, role, group, bp)) != TG_OK)
		goto fail;
	if ((rc = account_user(c, op, user_id, 1, out)) != TG_OK)
		goto fail;
	if ((rc = audit_commit(c, op->arena, op, "user.admin_update", "user",
		 json_string_value(json_object_get(before, "id")), before,
		 *out)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

/* The brief KEY objects of the admin balance sheet. */
static enum tg_err
brief_keys(struct db_conn *c, struct op *op, const char *user_pub, json_t **out)
{
	json_t *keys, *key;
	int64_t uid;
	size_t k;
	enum tg_err rc;

	if ((rc = account_find(c, op, user_pub, NULL, NULL, &uid)) != TG_OK ||
	    (rc = key_list(c, op, uid, &keys)) != TG_OK)
		return rc;
	*out = json_array();
	json_array_foreach(keys, k, key) {
		json_array_append_new(*out,
		    json_pack("{s:O, s:O, s:O, s:O}", "key_id",
			json_object_get(key, "id"), "api_key",
			json_object_get(key, "api_key"), "name",
			json_object_get(key, "name"), "is_active",
			json_object_get(key, "is_active")));
	}
	return TG_OK;
}

enum tg_err
admin_balances(struct db_conn *c, struct op *op, int64_t limit, int64_t offset,
    json_t **data, int64_t *total)
{
	struct balance_row *b;
	json_t *brief;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_user_count(c, op->arena, "", "", total)) != TG_OK ||
	    (rc = q_admin_balances(c, op->arena, limit, offset, &b, &n)) !=
		TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(op->arena, *data);
	for (i = 0; i < n; i++) {
		if ((rc = brief_keys(c, op, b[i].user_pub, &brief)) != TG_OK)
			return rc;
		json_array_append_new(*data,
		    json_pack("{s:s, s:s, s:o, s:o, s:o}", "user_id",
			b[i].user_pub, "email", b[i].email, "balance",
			money_json(b[i].balance), "reserved",
			money_json(b[i].reserved), "keys", brief));
	}
	return TG_OK;
}

enum tg_err
admin_monitor(struct db_conn *c, struct op *op, json_t **out)
{
	struct monitor_row m;
	enum tg_err rc;

	if ((rc = q_admin_monitor(c, op->arena, &m)) != TG_OK)
		return rc;
	*out = json_pack("{s:I, s:I, s:I, s:I, s:o, s:o}", "users",
	    (json_int_t)m.users, "active_users", (json_int_t)m.active_users,
	    "keys", (json_int_t)m.keys, "active_keys",
	    (json_int_t)m.active_keys, "total_balance", money_json(m.balance),
	    "total_reserved", money_json(m.reserved));
	arena_defer_json(op->arena, *out);
	return TG_OK;
}

enum tg_err
admin_overrun(struct db_conn *c, struct op *op, int64_t *count, int64_t *total)
{
	return q_monitor_overrun(c, op->arena, count, total);
}

enum tg_err
admin_invites(struct db_conn *c, struct op *op, int64_t n, int64_t days,
    json_t **codes, json_t **expires)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	char code[8 + INVITE_RANDOM + 1];
	const char *at;
	int64_t i;
	json_t *after;
	enum tg_err rc;

	*codes = json_array();
	arena_defer_json(op->arena, *codes);
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		memcpy(code, "inv_", 4);
		if (crypto_base62(code + 4, INVITE_RANDOM) == -1) {
			rc = TG_ESYSTEM;
			goto fail;
		}
		crypto_secret_hash(code, h);
		if ((rc = q_invite_insert(c, op->arena, h, sizeof(h),
			 op->who->user_id, days)) != TG_OK)
			goto fail;
		json_array_append_new(*codes, json_string(code));
	}
	if ((rc = q_invite_expires(c, op->arena, days, &at)) != TG_OK)
		goto fail;
	*expires = at != NULL ? json_string(at) : json_null();
	arena_defer_json(op->arena, *expires);
	/* The codes are secrets: the audit row keeps only how many. */
	after = json_pack(
	    "{s:I, s:O}", "count", (json_int_t)n, "expires_at", *expires);
	arena_defer_json(op->arena, after);
	if ((rc = audit_commit(c, op->arena, op, "invite.create", "invite",
		 NULL, NULL, after)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
admin_audit(struct db_conn *c, struct op *op, const char *action,
    const char *actor, const char *target, const char *const when[2],
    int64_t limit, int64_t offset, json_t **data, int64_t *total)
{
	struct audit_filter f = {
	    action, actor, target, when[0], when[1], limit, offset};
	struct audit_row *rows, *v;
	json_t *row;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_audit_list(c, op->arena, &f, &rows, &n, total)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(op->arena, *data);
	for (i = 0; i < n; i++) {
		v = &rows[i];
		row = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
				"s:o, s:o}",
		    "id", (json_int_t)v->id, "at", opt(&v->at), "actor_user_id",
		    opt(&v->actor), "actor_key_id", opt(&v->actor_key),
		    "action", opt(&v->action), "target_type",
		    opt(&v->target_type), "target_id", opt(&v->target_id), "ip",
		    opt(&v->ip), "request_id", opt(&v->request_id), "before",
		    opt_json(&v->before), "after", opt_json(&v->after));
		json_array_append_new(*data, row);
	}
	return TG_OK;
}
