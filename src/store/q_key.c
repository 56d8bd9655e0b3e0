/* q_key.c: API keys: the statements and their typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "core/crypto.h"
#include "io/db.h"
#include "store/q_key.h"
#include "store/q_row.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_key_stmts[] = {
	{ STMT_KEY_INSERT, "INSERT INTO api_keys (public_id, user_id, key_hash, prefix, last4, name, environment, permissions, is_primary, expires_at, max_requests, credit_limit, ip_allowlist, referrer_allowlist, allowed_models) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 0 },
	{ STMT_KEY_AUTH, "SELECT k.id, k.public_id, k.user_id, u.public_id, u.role, u.status, k.is_active, k.permissions, CAST(COALESCE(UNIX_TIMESTAMP(k.expires_at), 0) * 1000000 AS SIGNED), k.ip_allowlist, k.referrer_allowlist, k.max_requests, k.requests_used, k.prefix, k.last4, k.key_hash, k.prev_hash, CAST(COALESCE(UNIX_TIMESTAMP(k.prev_valid_until), 0) * 1000000 AS SIGNED) FROM api_keys k JOIN users u ON u.id = k.user_id WHERE (k.key_hash = ? OR k.prev_hash = ?) AND k.revoked_at IS NULL", DB_SF_READ | DB_SF_CACHE },
	{ STMT_KEY_TOUCH, "UPDATE api_keys SET requests_used = requests_used + 1, last_used_at = NOW(6) WHERE id = ? AND (max_requests IS NULL OR requests_used < max_requests)", DB_SF_HOT },
	{ STMT_KEY_TOUCH_N, "UPDATE api_keys SET requests_used = requests_used + ?, last_used_at = NOW(6) WHERE id = ?", DB_SF_HOT },
	{ STMT_KEY_LIST, "SELECT k.id, k.public_id, k.name, k.prefix, k.last4, k.environment, k.permissions, k.is_active, k.is_primary, DATE_FORMAT(k.expires_at, '%Y-%m-%dT%H:%i:%sZ'), k.max_requests, k.requests_used, k.credit_limit, k.spent, k.ip_allowlist, k.referrer_allowlist, k.allowed_models, DATE_FORMAT(k.created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(k.last_used_at, '%Y-%m-%dT%H:%i:%sZ'), k.imported FROM api_keys k WHERE k.user_id = ? AND k.revoked_at IS NULL ORDER BY k.id", DB_SF_READ },
	{ STMT_KEY_GET, "SELECT k.id, k.public_id, k.name, k.prefix, k.last4, k.environment, k.permissions, k.is_active, k.is_primary, DATE_FORMAT(k.expires_at, '%Y-%m-%dT%H:%i:%sZ'), k.max_requests, k.requests_used, k.credit_limit, k.spent, k.ip_allowlist, k.referrer_allowlist, k.allowed_models, DATE_FORMAT(k.created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(k.last_used_at, '%Y-%m-%dT%H:%i:%sZ'), k.imported FROM api_keys k WHERE k.public_id = ? AND k.user_id = ? AND k.revoked_at IS NULL", DB_SF_READ },
	{ STMT_KEY_UPDATE, "UPDATE api_keys SET name = ?, permissions = ?, expires_at = ?, max_requests = ?, credit_limit = ?, ip_allowlist = ?, referrer_allowlist = ?, allowed_models = ?, is_active = ?, is_primary = ? WHERE id = ?", 0 },
	{ STMT_KEY_CLEAR_PRIMARY, "UPDATE api_keys SET is_primary = 0 WHERE user_id = ? AND id <> ? AND is_primary = 1", 0 },
	{ STMT_KEY_REVOKE, "UPDATE api_keys SET revoked_at = NOW(6), is_active = 0, prev_hash = NULL WHERE id = ? AND revoked_at IS NULL", 0 },
	{ STMT_KEY_REVOKE_ALL, "UPDATE api_keys SET revoked_at = NOW(6), is_active = 0, prev_hash = NULL WHERE user_id = ? AND revoked_at IS NULL", 0 },
	{ STMT_KEY_ROTATE, "UPDATE api_keys SET prev_hash = IF(? > 0, key_hash, NULL), prev_valid_until = IF(? > 0, NOW(6) + INTERVAL ? SECOND, NULL), key_hash = ?, prefix = ?, last4 = ? WHERE id = ?", 0 },
	{ STMT_KEY_PREV_UNTIL, "SELECT DATE_FORMAT(prev_valid_until, '%Y-%m-%dT%H:%i:%sZ') FROM api_keys WHERE id = ?", DB_SF_READ },
	{ STMT_KEY_COUNT_ACTIVE, "SELECT COUNT(*) FROM api_keys WHERE user_id = ? AND revoked_at IS NULL", DB_SF_READ },
	{ STMT_KEY_OWNER, "SELECT id, user_id FROM api_keys WHERE public_id = ? AND revoked_at IS NULL", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_key_auth(struct db_conn *c, struct arena *a, const unsigned char *hash,
    size_t hash_len, struct key_auth_row *k)
{
	struct db_val p[2] = {q_bin(hash, hash_len), q_bin(hash, hash_len)};
	const struct db_val *v;
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_AUTH, p, 2, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	v = rows.v;
	*k = (struct key_auth_row){
	    .id = v[0].i,
	    .pub = q_str(&v[1]),
	    .user_id = v[2].i,
	    .user_pub = q_str(&v[3]),
	    .role = q_str(&v[4]),
	    .status = q_str(&v[5]),
	    .active = v[6].i != 0,
	    .perms = q_str(&v[7]),
	    .expires_us = v[8].i,
	    .ips = q_str(&v[9]),
	    .refs = q_str(&v[10]),
	    .has_max = v[11].type == DBT_I64,
	    .max_requests = v[11].i,
	    .requests_used = v[12].i,
	    .prefix = q_str(&v[13]),
	    .last4 = q_str(&v[14]),
	    .hash = v[15].s,
	    .hash_len = v[15].len,
	    .prev = q_str(&v[16]),
	    .prev_len = v[16].type == DBT_STR ? v[16].len : 0,
	    .prev_until_us = v[17].i,
	};
	return TG_OK;
}

enum tg_err
q_key_touch(struct db_conn *c, struct arena *a, int64_t key_id)
{
	struct db_val id = DB_I64(key_id);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_TOUCH, &id, 1, &rows, a)) != TG_OK)
		return rc;
	return rows.affected == 1 ? TG_OK : TG_EPERM;
}

enum tg_err
q_key_touch_n(struct db_conn *c, struct arena *a, int64_t key_id, int64_t n)
{
	struct db_val p[2] = {DB_I64(n), DB_I64(key_id)};

	return db_exec(c, STMT_KEY_TOUCH_N, p, 2, NULL, a);
}

enum tg_err
q_key_insert(struct db_conn *c, struct arena *a, const struct key_write *w)
{
	struct db_val p[15] = {
	    DB_STR(w->pub),
	    DB_I64(w->user_id),
	    q_bin(w->hash, CRYPTO_SHA256_LEN),
	    DB_STR(w->prefix),
	    DB_STR(w->last4),
	    DB_STR(w->name),
	    DB_STR(w->env),
	    DB_STR(w->perms),
	    DB_I64(w->primary),
	    q_opt_str(w->expires),
	    w->max_requests >= 0 ? DB_I64(w->max_requests) : DB_NULLV,
	    w->credit_limit >= 0 ? DB_I64(w->credit_limit) : DB_NULLV,
	    DB_STR(w->ips),
	    DB_STR(w->refs),
	    DB_STR(w->models),
	};

	return db_exec(c, STMT_KEY_INSERT, p, 15, NULL, a);
}

static void
key_row(const struct db_val *v, struct key_row *k)
{
	*k = (struct key_row){
	    .id = v[0].i,
	    .pub = q_str(&v[1]),
	    .name = q_str(&v[2]),
	    .prefix = q_str(&v[3]),
	    .last4 = q_str(&v[4]),
	    .env = q_str(&v[5]),
	    .perms = q_str(&v[6]),
	    .active = (int)v[7].i,
	    .primary = (int)v[8].i,
	    .expires = q_str(&v[9]),
	    .max_requests = q_i64(&v[10], -1),
	    .requests_used = v[11].i,
	    .credit_limit = q_i64(&v[12], -1),
	    .spent = v[13].i,
	    .ips = q_str(&v[14]),
	    .refs = q_str(&v[15]),
	    .models = q_str(&v[16]),
	    .created = q_str(&v[17]),
	    .last_used = q_str(&v[18]),
	    .imported = q_i64(&v[19], 0) != 0, /* issue 18: compat */
	};
}

enum tg_err
q_key_get(struct db_conn *c, struct arena *a, int64_t user, const char *pub,
    struct key_row *k)
{
	struct db_val p[2] = {DB_STR(pub), DB_I64(user)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_GET, p, 2, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	key_row(rows.v, k);
	return TG_OK;
}

enum tg_err
q_key_list(struct db_conn *c, struct arena *a, int64_t user,
    struct key_row **out, size_t *n)
{
	struct db_val p = DB_I64(user);
	struct db_rows rows;
	struct key_row *k;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_LIST, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if ((k = arena_calloc(a, rows.nrows + 1, sizeof(*k))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++)
		key_row(&rows.v[i * rows.ncols], &k[i]);
	*out = k;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_key_update(struct db_conn *c, struct arena *a, const struct key_write *w)
{
	struct db_val p[11] = {
	    DB_STR(w->name),
	    DB_STR(w->perms),
	    q_opt_str(w->expires),
	    w->max_requests >= 0 ? DB_I64(w->max_requests) : DB_NULLV,
	    w->credit_limit >= 0 ? DB_I64(w->credit_limit) : DB_NULLV,
	    DB_STR(w->ips),
	    DB_STR(w->refs),
	    DB_STR(w->models),
	    DB_I64(w->active),
	    DB_I64(w->primary),
	    DB_I64(w->id),
	};

	return db_exec(c, STMT_KEY_UPDATE, p, 11, NULL, a);
}

enum tg_err
q_key_clear_primary(
    struct db_conn *c, struct arena *a, int64_t user, int64_t keep)
{
	struct db_val p[2] = {DB_I64(user), DB_I64(keep)};

	return db_exec(c, STMT_KEY_CLEAR_PRIMARY, p, 2, NULL, a);
}

enum tg_err
q_key_revoke(struct db_conn *c, struct arena *a, int64_t id)
{
	struct db_val p = DB_I64(id);

	return db_exec(c, STMT_KEY_REVOKE, &p, 1, NULL, a);
}

enum tg_err
q_key_revoke_all(struct db_conn *c, struct arena *a, int64_t user)
{
	struct db_val p = DB_I64(user);

	return db_exec(c, STMT_KEY_REVOKE_ALL, &p, 1, NULL, a);
}

enum tg_err
q_key_rotate(struct db_conn *c, struct arena *a, int64_t id, int64_t grace,
    const unsigned char *hash, size_t hash_len, const char *prefix,
    const char *last4, const char **prev_until)
{
	struct db_val p[7] = {DB_I64(grace), DB_I64(grace), DB_I64(grace),
	    q_bin(hash, hash_len), DB_STR(prefix), DB_STR(last4), DB_I64(id)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_ROTATE, p, 7, NULL, a)) != TG_OK)
		return rc;
	p[0] = DB_I64(id);
	if ((rc = db_exec(c, STMT_KEY_PREV_UNTIL, p, 1, &rows, a)) != TG_OK)
		return rc;
	*prev_until = rows.nrows == 1 ? q_str(&rows.v[0]) : NULL;
	return TG_OK;
}

enum tg_err
q_key_count_active(struct db_conn *c, struct arena *a, int64_t user, int64_t *n)
{
	struct db_val p = DB_I64(user);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_COUNT_ACTIVE, &p, 1, &rows, a)) != TG_OK)
		return rc;
	*n = rows.nrows == 1 ? rows.v[0].i : 0;
	return TG_OK;
}

enum tg_err
q_key_owner(struct db_conn *c, struct arena *a, const char *pub, int64_t *id,
    int64_t *user)
{
	struct db_val p = DB_STR(pub);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_OWNER, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*id = rows.v[0].i;
	*user = rows.v[1].i;
	return TG_OK;
}
