/* q_or_key.c: or_user_keys: each user's own OpenRouter key (provisioning): statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_or_key.h"
#include "store/stmt.h"

#define SPENDABLE "GREATEST(a.balance + a.overdraft_limit, 0)"

/* clang-format off */
const struct stmt_row q_or_key_stmts[] = {
	{ STMT_ORKEY_GET, "SELECT key_hash, secret_enc, last4, limit_nano, synced_nano FROM or_user_keys WHERE user_id = ? AND provider_id = ?", DB_SF_READ },
	{ STMT_ORKEY_INSERT, "INSERT IGNORE INTO or_user_keys (user_id, provider_id, key_hash, secret_enc, last4, limit_nano, synced_nano, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, NOW(6))", 0 },
	{ STMT_ORKEY_STALE, "SELECT k.user_id, k.key_hash, " SPENDABLE ", u.status = 'deleted' FROM or_user_keys k JOIN users u ON u.id = k.user_id LEFT JOIN accounts a ON a.user_id = k.user_id WHERE k.provider_id = ? AND k.synced_at <= NOW(6) - INTERVAL ? MICROSECOND AND (u.status = 'deleted' OR (a.user_id IS NOT NULL AND NOT (k.synced_nano <=> " SPENDABLE "))) ORDER BY k.synced_at LIMIT ?", DB_SF_READ },
	{ STMT_ORKEY_SYNCED, "UPDATE or_user_keys SET limit_nano = ?, synced_nano = ?, synced_at = NOW(6) WHERE user_id = ?", DB_SF_RETRY },
	{ STMT_ORKEY_DELETE, "DELETE FROM or_user_keys WHERE user_id = ?", DB_SF_RETRY },
	{ STMT_ORKEY_CLAIM, "UPDATE or_user_keys SET synced_at = NOW(6) WHERE user_id = ? AND provider_id = ? AND synced_at <= NOW(6) - INTERVAL ? MICROSECOND", 0 },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

static int64_t
i64_or(const struct db_val *v, int64_t dflt)
{
	return v->type == DBT_NULL ? dflt : v->i;
}

enum tg_err
q_or_key_get(struct db_conn *c, struct arena *a, int64_t user_id,
    const char *provider_id, struct q_or_key *out)
{
	struct db_val p[2] = {DB_I64(user_id), DB_STR(provider_id)};
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ORKEY_GET, p, 2, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	v = rows.v;
	memset(out, 0, sizeof(*out));
	out->user_id = user_id;
	out->provider_id = provider_id;
	out->hash = v[0].s;
	out->enc = v[1].s;
	out->enc_len = v[1].len;
	out->last4 = v[2].s;
	out->limit_nano = i64_or(&v[3], -1);
	out->synced_nano = i64_or(&v[4], -1);
	return TG_OK;
}

enum tg_err
q_or_key_insert(
    struct db_conn *c, struct arena *a, const struct q_or_key *k, int *won)
{
	struct db_val p[7] = {DB_I64(k->user_id), DB_STR(k->provider_id),
	    DB_STR(k->hash), {.type = DBT_STR, .s = k->enc, .len = k->enc_len},
	    DB_STR(k->last4), DB_I64(k->limit_nano), DB_I64(k->synced_nano)};
	struct db_rows rows;
	enum tg_err rc;

	*won = 0;
	if ((rc = db_exec(c, STMT_ORKEY_INSERT, p, 7, &rows, a)) != TG_OK)
		return rc;
	*won = rows.affected == 1;
	return TG_OK;
}

enum tg_err
q_or_key_stale(struct db_conn *c, struct arena *a, const char *provider_id,
    unsigned every_ms, size_t max, struct q_or_stale **out, size_t *n)
{
	struct db_val p[3] = {DB_STR(provider_id),
	    DB_I64((int64_t)every_ms * 1000), DB_I64((int64_t)max)};
	struct db_rows rows;
	const struct db_val *v;
	size_t i;
	enum tg_err rc;

	*n = 0;
	if ((rc = db_exec(c, STMT_ORKEY_STALE, p, 3, &rows, a)) != TG_OK)
		return rc;
	if ((*out = arena_alloc(a, (rows.nrows + 1) * sizeof(**out))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = rows.v + i * rows.ncols;
		(*out)[i].user_id = v[0].i;
		(*out)[i].hash = v[1].s;
		(*out)[i].spendable = i64_or(&v[2], 0);
		(*out)[i].deleted = i64_or(&v[3], 0) != 0;
	}
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_or_key_synced(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t limit_nano, int64_t synced_nano)
{
	struct db_val p[3] = {
	    DB_I64(limit_nano), DB_I64(synced_nano), DB_I64(user_id)};

	return db_exec(c, STMT_ORKEY_SYNCED, p, 3, NULL, a);
}

enum tg_err
q_or_key_claim(struct db_conn *c, struct arena *a, int64_t user_id,
    const char *provider_id, unsigned every_ms, int *won)
{
	struct db_val p[3] = {DB_I64(user_id), DB_STR(provider_id),
	    DB_I64((int64_t)every_ms * 1000)};
	struct db_rows rows;
	enum tg_err rc;

	*won = 0;
	if ((rc = db_exec(c, STMT_ORKEY_CLAIM, p, 3, &rows, a)) != TG_OK)
		return rc;
	*won = rows.affected == 1;
	return TG_OK;
}

enum tg_err
q_or_key_delete(struct db_conn *c, struct arena *a, int64_t user_id)
{
	struct db_val p = DB_I64(user_id);

	return db_exec(c, STMT_ORKEY_DELETE, &p, 1, NULL, a);
}
