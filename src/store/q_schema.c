/* q_schema.c: the schema version, migrations and named locks: the statements (typed queries join them here) */
#include "config.h"

#include "io/db.h"
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
