/* q_partition.c: usage_records' monthly partitions: listing, creating ahead, retiring old ones */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_partition.h"
#include "store/q_row.h"
#include "store/stmt.h"

/* A sandbox's account: user_id + 2^62, as in ledger check. */
#define SANDBOX_ACCT "4611686018427387904"

/* clang-format off */
const struct stmt_row q_partition_stmts[] = {
	{ STMT_PART_LIST, "SELECT PARTITION_NAME, COALESCE(PARTITION_DESCRIPTION, '') FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'usage_records' AND PARTITION_NAME IS NOT NULL ORDER BY PARTITION_ORDINAL_POSITION", DB_SF_READ },
	{ STMT_PART_RANGE, "SELECT CAST(COUNT(*) AS SIGNED), CAST(COALESCE(MAX(id), 0) AS SIGNED) FROM usage_records WHERE created_at >= ? AND created_at < ?", DB_SF_READ },
	{ STMT_PART_ROLLED, "SELECT last_id FROM usage_rollup_mark WHERE id = 1", DB_SF_READ },
	{ STMT_PART_TABLE, "SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?", DB_SF_READ },
	{ STMT_RETIRE_OPEN, "SELECT part, state FROM usage_retire_log WHERE state <> 'done' ORDER BY started_at LIMIT 1", DB_SF_READ },
	{ STMT_RETIRE_START, "INSERT INTO usage_retire_log (part, state) VALUES (?, 'exchanging')", DB_SF_HOT },
	{ STMT_RETIRE_FORGET, "DELETE FROM usage_retire_log WHERE part = ? AND state = 'exchanging'", DB_SF_HOT },
	{ STMT_RETIRING_STAT, "SELECT CAST(COUNT(*) AS SIGNED), CAST(COALESCE(MIN(id), 0) AS SIGNED), CAST(COALESCE(MAX(id), 0) AS SIGNED) FROM usage_retiring", DB_SF_READ },
	/* Per account and key, as ledger check sums them (q_ledger.c). */
	{ STMT_RETIRE_SUM, "INSERT INTO usage_retired (part, account_id, api_key_id, requests, charge, lease_charge) SELECT ?, r.user_id + IF(r.mode = 'test', " SANDBOX_ACCT ", 0), r.api_key_id, COUNT(*), SUM(r.charge), SUM(IF(l.lease = 1, r.charge, 0)) FROM usage_retiring r LEFT JOIN holds l ON l.id = r.hold_id GROUP BY 2, 3", DB_SF_HOT },
	{ STMT_RETIRE_SUMMED, "UPDATE usage_retire_log SET state = 'summed', records = ? WHERE part = ? AND state = 'exchanging'", DB_SF_HOT },
	{ STMT_RETIRE_KEYS, "DELETE k FROM usage_keys k JOIN usage_retiring r ON r.request_id = k.request_id WHERE r.id > ? AND r.id <= ?", DB_SF_HOT },
	{ STMT_RETIRE_DONE, "UPDATE usage_retire_log SET state = 'done', archive = ?, done_at = NOW(6) WHERE part = ?", DB_SF_HOT },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

/* A DDL statement of ours (names built here from dates, never from input). */
static enum tg_err ddl(struct db_conn *c, char *err, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum tg_err
ddl(struct db_conn *c, char *err, size_t errlen, const char *fmt, ...)
{
	char sql[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(sql)) {
		snprintf(err, errlen, "statement too long");
		return TG_ESYSTEM;
	}
	return db_run_script(c, sql, (size_t)n, err, errlen);
}

/* "'2026-12-01'" (RANGE COLUMNS' description) to 2026-12-01; MAXVALUE: "". */
static void
part_below(const char *desc, char out[PART_DATE_LEN])
{
	const char *p = desc[0] == '\'' ? desc + 1 : desc;

	out[0] = '\0';
	if (strcmp(desc, "MAXVALUE") != 0 && strlen(p) >= PART_DATE_LEN - 1)
		snprintf(out, PART_DATE_LEN, "%.10s", p);
}

enum tg_err
q_part_list(
    struct db_conn *c, struct arena *a, struct part *out, size_t max, size_t *n)
{
	struct db_rows rows;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, STMT_PART_LIST, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	for (i = 0; i < rows.nrows && i < max; i++) {
		snprintf(out[i].name, sizeof(out[i].name), "%s",
		    q_str(&rows.v[i * 2]));
		part_below(q_str(&rows.v[i * 2 + 1]), out[i].below);
	}
	*n = i;
	return rows.nrows > max ? TG_ESYSTEM : TG_OK;
}

enum tg_err
q_part_range(struct db_conn *c, struct arena *a, const char *lo, const char *hi,
    int64_t *count, int64_t *max_id)
{
	struct db_val p[2] = {DB_STR(lo), DB_STR(hi)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_PART_RANGE, p, 2, &rows, a)) != TG_OK)
		return rc;
	*count = q_i64(&rows.v[0], 0);
	*max_id = q_i64(&rows.v[1], 0);
	return TG_OK;
}

enum tg_err
q_part_rolled(struct db_conn *c, struct arena *a, int64_t *last_id)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_PART_ROLLED, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	*last_id = rows.nrows > 0 ? q_i64(&rows.v[0], 0) : 0;
	return TG_OK;
}

enum tg_err
q_part_table_exists(
    struct db_conn *c, struct arena *a, const char *name, int *exists)
{
	struct db_val p = DB_STR(name);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_PART_TABLE, &p, 1, &rows, a)) != TG_OK)
		return rc;
	*exists = q_i64(&rows.v[0], 0) > 0;
	return TG_OK;
}

enum tg_err
q_part_add(struct db_conn *c, const char *name, const char *below, char *err,
    size_t errlen)
{
	return ddl(c, err, errlen,
	    "ALTER TABLE usage_records REORGANIZE PARTITION p_future INTO "
	    "(PARTITION %s VALUES LESS THAN ('%s'), PARTITION p_future "
	    "VALUES LESS THAN (MAXVALUE))",
	    name, below);
}

enum tg_err
q_part_merge(struct db_conn *c, const char *name, const char *below, char *err,
    size_t errlen)
{
	return ddl(c, err, errlen,
	    "ALTER TABLE usage_records REORGANIZE PARTITION p_old, %s INTO "
	    "(PARTITION p_old VALUES LESS THAN ('%s'))",
	    name, below);
}

enum tg_err
q_retire_open(struct db_conn *c, struct arena *a, char *key, size_t keylen,
    enum retire_state *state)
{
	struct db_rows rows;
	enum tg_err rc;

	*state = RETIRE_NONE;
	if ((rc = db_exec(c, STMT_RETIRE_OPEN, NULL, 0, &rows, a)) != TG_OK ||
	    rows.nrows == 0)
		return rc;
	snprintf(key, keylen, "%s", q_str(&rows.v[0]));
	*state = strcmp(q_str(&rows.v[1]), "summed") == 0 ? RETIRE_SUMMED
							  : RETIRE_EXCHANGING;
	return TG_OK;
}

enum tg_err
q_retire_start(struct db_conn *c, const char *key)
{
	struct db_val p = DB_STR(key);

	return db_exec(c, STMT_RETIRE_START, &p, 1, NULL, NULL);
}

enum tg_err
q_retire_forget(struct db_conn *c, const char *key)
{
	struct db_val p = DB_STR(key);

	return db_exec(c, STMT_RETIRE_FORGET, &p, 1, NULL, NULL);
}

enum tg_err
q_retiring_stat(
    struct db_conn *c, struct arena *a, int64_t *n, int64_t *lo, int64_t *hi)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_RETIRING_STAT, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	*n = q_i64(&rows.v[0], 0);
	*lo = q_i64(&rows.v[1], 0);
	*hi = q_i64(&rows.v[2], 0);
	return TG_OK;
}

enum tg_err
q_retiring_create(struct db_conn *c, char *err, size_t errlen)
{
	enum tg_err rc;

	if ((rc = ddl(c, err, errlen, "DROP TABLE IF EXISTS usage_retiring")) !=
		TG_OK ||
	    (rc = ddl(c, err, errlen,
		 "CREATE TABLE usage_retiring LIKE usage_records")) != TG_OK)
		return rc;
	return ddl(
	    c, err, errlen, "ALTER TABLE usage_retiring REMOVE PARTITIONING");
}

enum tg_err
q_retiring_exchange(
    struct db_conn *c, const char *part, char *err, size_t errlen)
{
	return ddl(c, err, errlen,
	    "ALTER TABLE usage_records EXCHANGE PARTITION %s WITH TABLE "
	    "usage_retiring",
	    part);
}

enum tg_err
q_retire_sum(struct db_conn *c, const char *key, int64_t records)
{
	struct db_val p[2] = {DB_I64(records), DB_STR(key)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_begin(c)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_RETIRE_SUM, &p[1], 1, NULL, NULL)) != TG_OK ||
	    (rc = db_exec(c, STMT_RETIRE_SUMMED, p, 2, &rows, NULL)) != TG_OK)
		goto fail;
	/* Another run summed them first: ours is undone. */
	if (rows.affected != 1) {
		rc = TG_ECONFLICT;
		goto fail;
	}
	return db_commit(c);
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
q_retire_keys(struct db_conn *c, int64_t lo, int64_t hi)
{
	struct db_val p[2] = {DB_I64(lo), DB_I64(hi)};

	return db_exec(c, STMT_RETIRE_KEYS, p, 2, NULL, NULL);
}

enum tg_err
q_retiring_archive(
    struct db_conn *c, const char *archive, char *err, size_t errlen)
{
	if (archive == NULL)
		return ddl(c, err, errlen, "DROP TABLE usage_retiring");
	return ddl(
	    c, err, errlen, "RENAME TABLE usage_retiring TO %s", archive);
}

enum tg_err
q_retire_done(struct db_conn *c, const char *key, const char *archive)
{
	struct db_val p[2] = {
	    archive != NULL ? DB_STR(archive) : DB_NULLV, DB_STR(key)};

	return db_exec(c, STMT_RETIRE_DONE, p, 2, NULL, NULL);
}
