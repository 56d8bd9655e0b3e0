/* q_schema.c: the schema version, migrations and named locks: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_schema.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_schema_stmts[] = {
	{ STMT_SCHEMA_VERSION,
	    "SELECT CAST(COALESCE(MAX(version), 0) AS SIGNED) FROM schema_migrations",
	    DB_SF_READ },
	{ STMT_MIGRATION_LIST,
	    "SELECT version, name FROM schema_migrations ORDER BY version", DB_SF_READ },
	{ STMT_MIGRATION_RECORD,
	    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", 0 },
	{ STMT_LOCK_GET, "SELECT GET_LOCK(?, ?)", DB_SF_HOT },
	{ STMT_LOCK_RELEASE, "SELECT RELEASE_LOCK(?)", DB_SF_HOT },
	{ STMT_CONNECTION_ID, "SELECT CONNECTION_ID()", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_schema_version(struct db_conn *c, int64_t *out)
{
	struct arena *a = arena_new(1024);
	struct db_rows rows;
	enum tg_err rc;

	rc = db_exec(c, STMT_SCHEMA_VERSION, NULL, 0, &rows, a);
	*out = 0;
	if (rc == TG_OK && rows.nrows == 1 && rows.v[0].type == DBT_I64)
		*out = rows.v[0].i;
	else if (rc == TG_ENOENT)
		rc = TG_OK; /* no schema_migrations yet: version 0 */
	arena_free(a);
	return rc;
}

enum tg_err
q_migration_list(struct db_conn *c, struct arena *a, struct q_migrations *out)
{
	struct db_rows rows;
	enum tg_err rc;
	size_t i;

	out->n = 0;
	out->version = NULL;
	if ((rc = db_exec(c, STMT_MIGRATION_LIST, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows > 0)
		out->version = arena_alloc(a, rows.nrows * sizeof(int64_t));
	for (i = 0; i < rows.nrows; i++)
		out->version[i] = rows.v[i * rows.ncols].i;
	out->n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_migration_record(struct db_conn *c, int64_t version, const char *name)
{
	struct db_val p[2] = {DB_I64(version), DB_STR(name)};
	struct arena *a = arena_new(1024);
	enum tg_err rc;

	rc = db_exec(c, STMT_MIGRATION_RECORD, p, 2, NULL, a);
	arena_free(a);
	return rc;
}

enum tg_err
q_lock(struct db_conn *c, const char *name, unsigned timeout_s)
{
	struct db_val p[2] = {DB_STR(name), DB_I64(timeout_s)};
	struct arena *a = arena_new(1024);
	struct db_rows rows;
	enum tg_err rc;

	rc = db_exec(c, STMT_LOCK_GET, p, 2, &rows, a);
	if (rc == TG_OK &&
	    (rows.nrows != 1 || rows.v[0].type != DBT_I64 || rows.v[0].i != 1))
		rc = TG_ETIMEOUT;
	arena_free(a);
	return rc;
}

void
q_unlock(struct db_conn *c, const char *name)
{
	struct db_val p[1] = {DB_STR(name)};
	struct arena *a = arena_new(1024);
	struct db_rows rows;

	(void)db_exec(c, STMT_LOCK_RELEASE, p, 1, &rows, a);
	arena_free(a);
}
