/* q_money.c: redemption codes, payment events and top-up entries: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_money.h"
#include "store/q_row.h"
#include "store/stmt.h"

#define BATCH_COLS                                                             \
	"SELECT b.public_id, b.amount, b.code_count, b.uses_per_code, "        \
	"(SELECT COUNT(*) FROM redeem_uses u WHERE u.batch_id = b.id), "       \
	"b.note, DATE_FORMAT(b.created_at, '%Y-%m-%dT%H:%i:%sZ'), "            \
	"DATE_FORMAT(b.expires_at, '%Y-%m-%dT%H:%i:%sZ'), "                    \
	"CAST(b.expires_at IS NOT NULL AND b.expires_at <= NOW(6) AS "         \
	"SIGNED), "                                                            \
	"cu.public_id FROM redeem_batches b LEFT JOIN users cu ON cu.id = "    \
	"b.created_by "

/* clang-format off */
const struct stmt_row q_money_stmts[] = {
	{ STMT_REDEEM_BATCH_INSERT, "INSERT INTO redeem_batches (public_id, amount, code_count, uses_per_code, note, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT_REDEEM_CODE_INSERT, "INSERT INTO redeem_codes (code_hash, batch_id, uses_left) VALUES (?, ?, ?)", DB_SF_HOT },
	{ STMT_REDEEM_BATCH_LIST, BATCH_COLS "ORDER BY b.id DESC LIMIT ? OFFSET ?", DB_SF_READ },
	{ STMT_REDEEM_BATCH_COUNT, "SELECT COUNT(*) FROM redeem_batches", DB_SF_READ },
	{ STMT_REDEEM_BATCH_GET, BATCH_COLS "WHERE b.public_id = ?", DB_SF_READ },
	{ STMT_REDEEM_CODE_GET, "SELECT c.batch_id, c.uses_left, b.public_id, b.amount, CAST(b.expires_at IS NOT NULL AND b.expires_at <= NOW(6) AS SIGNED) FROM redeem_codes c JOIN redeem_batches b ON b.id = c.batch_id WHERE c.code_hash = ?", DB_SF_READ },
	/* The one decision: a use is spent only while one is left (a current read). */
	{ STMT_REDEEM_CODE_SPEND, "UPDATE redeem_codes c JOIN redeem_batches b ON b.id = c.batch_id SET c.uses_left = c.uses_left - 1 WHERE c.code_hash = ? AND c.uses_left > 0 AND (b.expires_at IS NULL OR b.expires_at > NOW(6))", DB_SF_HOT },
	{ STMT_REDEEM_USE_INSERT, "INSERT INTO redeem_uses (batch_id, code_hash, user_id) VALUES (?, ?, ?)", DB_SF_HOT },
	{ STMT_BILLING_EVENT_INSERT, "INSERT INTO billing_events (event_id, event_type, user_id, amount) VALUES (?, ?, ?, ?)", DB_SF_HOT },
	{ STMT_TOPUP_INSERT, "INSERT INTO ledger_entries (account_id, kind, amount, dedupe_key, note, source, source_ref) VALUES (?, 'topup', ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_batch_insert(
    struct db_conn *c, struct arena *a, const struct batch_new *b, int64_t *id)
{
	struct db_val p[7] = {DB_STR(b->pub), DB_I64(b->amount),
	    DB_I64(b->count), DB_I64(b->uses), q_opt_str(b->note),
	    b->created_by != 0 ? DB_I64(b->created_by) : DB_NULLV,
	    q_opt_str(b->expires)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_REDEEM_BATCH_INSERT, p, 7, &rows, a)) !=
	    TG_OK)
		return rc;
	*id = (int64_t)rows.insert_id;
	return TG_OK;
}

enum tg_err
q_code_insert(struct db_conn *c, struct arena *a, const unsigned char hash[32],
    int64_t batch_id, int64_t uses)
{
	struct db_val p[3] = {q_bin(hash, 32), DB_I64(batch_id), DB_I64(uses)};

	return db_exec(c, STMT_REDEEM_CODE_INSERT, p, 3, NULL, a);
}

static void
batch_of(const struct db_val *v, struct batch_row *b)
{
	*b = (struct batch_row){
	    .pub = q_str(&v[0]),
	    .amount = q_i64(&v[1], 0),
	    .count = q_i64(&v[2], 0),
	    .uses = q_i64(&v[3], 0),
	    .used = q_i64(&v[4], 0),
	    .note = q_str(&v[5]),
	    .created = q_str(&v[6]),
	    .expires = q_str(&v[7]),
	    .expired = q_i64(&v[8], 0) != 0,
	    .by = q_str(&v[9]),
	};
}

enum tg_err
q_batch_list(struct db_conn *c, struct arena *a, int64_t limit, int64_t offset,
    struct batch_row **out, size_t *n, int64_t *total)
{
	struct db_val p[2] = {DB_I64(limit), DB_I64(offset)};
	struct db_rows rows;
	struct batch_row *b;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_REDEEM_BATCH_COUNT, NULL, 0, &rows, a)) !=
	    TG_OK)
		return rc;
	*total = rows.nrows == 1 ? q_i64(&rows.v[0], 0) : 0;
	if ((rc = db_exec(c, STMT_REDEEM_BATCH_LIST, p, 2, &rows, a)) != TG_OK)
		return rc;
	if ((b = arena_calloc(a, rows.nrows + 1, sizeof(*b))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++)
		batch_of(&rows.v[i * rows.ncols], &b[i]);
	*out = b;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_batch_get(
    struct db_conn *c, struct arena *a, const char *pub, struct batch_row *out)
{
	struct db_val p = DB_STR(pub);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_REDEEM_BATCH_GET, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	batch_of(rows.v, out);
	return TG_OK;
}

enum tg_err
q_code_get(struct db_conn *c, struct arena *a, const unsigned char hash[32],
    struct code_row *out)
{
	struct db_val p = q_bin(hash, 32);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_REDEEM_CODE_GET, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*out = (struct code_row){
	    .batch_id = q_i64(&rows.v[0], 0),
	    .uses_left = q_i64(&rows.v[1], 0),
	    .batch_pub = q_str(&rows.v[2]),
	    .amount = q_i64(&rows.v[3], 0),
	    .expired = q_i64(&rows.v[4], 0) != 0,
	};
	return TG_OK;
}

enum tg_err
q_code_spend(struct db_conn *c, struct arena *a, const unsigned char hash[32])
{
	struct db_val p = q_bin(hash, 32);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_REDEEM_CODE_SPEND, &p, 1, &rows, a)) != TG_OK)
		return rc;
	return rows.affected == 1 ? TG_OK : TG_ENOENT;
}

enum tg_err
q_code_use(struct db_conn *c, struct arena *a, int64_t batch_id,
    const unsigned char hash[32], int64_t user_id, int64_t *use_id)
{
	struct db_val p[3] = {
	    DB_I64(batch_id), q_bin(hash, 32), DB_I64(user_id)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_REDEEM_USE_INSERT, p, 3, &rows, a)) != TG_OK)
		return rc;
	*use_id = (int64_t)rows.insert_id;
	return TG_OK;
}

enum tg_err
q_event_insert(struct db_conn *c, struct arena *a, const char *event_id,
    const char *type, int64_t user_id, int64_t amount)
{
	struct db_val p[4] = {
	    DB_STR(event_id), DB_STR(type), DB_I64(user_id), DB_I64(amount)};

	return db_exec(c, STMT_BILLING_EVENT_INSERT, p, 4, NULL, a);
}

enum tg_err
q_topup_entry(struct db_conn *c, struct arena *a, const struct topup_entry *t,
    int64_t *entry_id)
{
	struct db_val p[6] = {DB_I64(t->user_id), DB_I64(t->amount),
	    DB_STR(t->dedupe), q_opt_str(t->note), DB_STR(t->source),
	    q_opt_str(t->ref)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_TOPUP_INSERT, p, 6, &rows, a)) != TG_OK)
		return rc;
	*entry_id = (int64_t)rows.insert_id;
	return TG_OK;
}
