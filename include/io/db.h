/* db.h: the only door to MariaDB: connection pool, statement table, migrations */
#ifndef DB_H
#define DB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/tollgate.h"

struct conf;
struct arena;
struct db_pool;
struct db_conn;

/* Prepared statements, indexed into the table in db.c. */
enum stmt {
	STMT_SCHEMA_VERSION,   /* SELECT MAX(version) FROM schema_migrations */
	STMT_MIGRATION_LIST,   /* SELECT version, name FROM schema_migrations */
	STMT_MIGRATION_RECORD, /* INSERT INTO schema_migrations */
	STMT_LOCK_GET,	       /* SELECT GET_LOCK(?, ?) */
	STMT_LOCK_RELEASE,     /* SELECT RELEASE_LOCK(?) */
	STMT_CONNECTION_ID,    /* SELECT CONNECTION_ID() */
	STMT_USER_INSERT,
	STMT_ACCOUNT_INSERT,
	STMT_USER_LOGIN,
	STMT_USER_GET,
	STMT_USER_GET_PUBLIC,
	STMT_USER_GET_EMAIL,
	STMT_USER_UPDATE_PROFILE,
	STMT_USER_DELETE,
	STMT_USER_ADMIN_UPDATE,
	STMT_USER_LIST,
	STMT_USER_COUNT,
	STMT_ACCOUNT_GET,
	STMT_ACCOUNT_ADD,
	STMT_LEDGER_INSERT,
	STMT_KEY_INSERT,
	STMT_KEY_AUTH,
	STMT_KEY_TOUCH,
	STMT_KEY_TOUCH_N,
	STMT_KEY_LIST,
	STMT_KEY_GET,
	STMT_KEY_UPDATE,
	STMT_KEY_CLEAR_PRIMARY,
	STMT_KEY_REVOKE,
	STMT_KEY_REVOKE_ALL,
	STMT_KEY_ROTATE,
	STMT_KEY_PREV_UNTIL,
	STMT_KEY_COUNT_ACTIVE,
	STMT_SESSION_INSERT,
	STMT_SESSION_EXPIRES,
	STMT_SESSION_AUTH,
	STMT_SESSION_REVOKE,
	STMT_SESSION_REVOKE_ALL,
	STMT_SESSION_REVOKE_OTHERS, /* a user's sessions but one (token hash) */
	STMT_USER_SET_PASSWORD,
	STMT_AUTHFAIL_GET,
	STMT_AUTHFAIL_HIT,
	STMT_AUTHFAIL_CLEAR,
	STMT_INVITE_INSERT,
	STMT_INVITE_EXPIRES,
	STMT_INVITE_USE,
	STMT_LIMIT_UPSERT,
	STMT_LIMIT_GET,
	STMT_LIMIT_LIST_KEYS,
	STMT_AUDIT_HEAD_LOCK,
	STMT_AUDIT_INSERT,
	STMT_AUDIT_HEAD_SET,
	STMT_AUDIT_SCAN,
	STMT_AUDIT_LIST,
	STMT_AUDIT_COUNT,
	STMT_ADMIN_MONITOR,
	STMT_MONITOR_OVERRUN,
	STMT_ADMIN_BALANCES,
	STMT_KEY_OWNER,
	STMT_HOLD_BY_IDEM,
	STMT_HOLD_EXPIRED,
	STMT_LEDGER_RECONCILE,
	STMT_PROVIDER_SEED,
	STMT_MODEL_SEED,
	STMT_ROUTE_SEED,
	STMT_MODEL_LIST,
	STMT_PROVIDER_LIST,
	STMT_AUDIT_HEAD_GET,
	STMT_MODEL_ENABLED,
	STMT_ROUTE_CANDIDATES,
	STMT_UKEY_PICK,
	STMT_PROVIDER_ADMIN_LIST,
	STMT_PROVIDER_ADD,
	STMT_PROVIDER_UPDATE,
	STMT_UKEY_INSERT,
	STMT_UKEY_GET,
	STMT_UKEY_LIST,
	STMT_UKEY_DELETE,
	STMT_UKEY_DISABLE,
	STMT_MODEL_UPSERT,
	STMT_ROUTE_UPSERT,
	STMT_MODEL_UPDATE,
	STMT_ROUTE_UPDATE,
	STMT_CHAT_PAYER,
	STMT_KEY_SPENT,
	STMT_LEDGER_RESERVE, /* CALL tg_reserve */
	STMT_LEDGER_SETTLE,  /* CALL tg_settle */
	STMT_LEASE_CHARGE,   /* CALL tg_lease_charge */
	STMT_LEASE_CLOSE,    /* CALL tg_lease_close */
	STMT_LEASE_CHARGED,
	STMT_CARVE_SETTLED,
	STMT_JOURNAL_LEASE,
	STMT_JOURNAL_ACCOUNT,
	STMT_JOURNAL_KEY,
	STMT_JOURNAL_MARK_SET,
	STMT_JOURNAL_MARK_GET,
	STMT_JOURNAL_MARK_DEL,
	STMT_USAGE_SET_REPLAY,
	STMT_USAGE_BY_IDEM,
	STMT_USAGE_LIST,
	STMT_USAGE_METRICS,
	STMT_USAGE_TOP_MODEL,
	STMT_BILL_MODELS,
	STMT_BILL_USERS,
	STMT_RATE_RULES,
	STMT_UKEY_POOL,
	STMT_UKEY_DEAD,
	STMT_UKEY_ALL,
	STMT_UKEY_UPDATE,
	STMT_RATE_TAKE,
	STMT_RATE_PRUNE,
	STMT_MODEL_IMAGE,
	STMT_MODEL_IMAGE_SEED,
	STMT_MODEL_IMAGE_SET,
	STMT_PROVIDER_LOCK,
	STMT_UKEY_SEALED,
	STMT_UKEY_RESEAL,
	STMT__MAX
};

/* Multi-row INSERTs (db_exec_rows), by table. */
enum batch { BATCH_USAGE, BATCH_LEDGER, BATCH__MAX };

enum db_type { DBT_NULL = 0, DBT_I64, DBT_STR };

struct db_val {
	enum db_type type;
	int64_t i;
	const char *s; /* DBT_STR: not necessarily NUL-terminated on input */
	size_t len;
};

#define DB_I64(v) ((struct db_val){.type = DBT_I64, .i = (v)})
#define DB_STR(v) ((struct db_val){.type = DBT_STR, .s = (v), .len = strlen(v)})
#define DB_NULLV  ((struct db_val){.type = DBT_NULL})

/* Result rows; values live in the arena passed to db_exec. */
struct db_rows {
	size_t nrows;
	size_t ncols;
	struct db_val *v; /* nrows * ncols, row-major; strings NUL-terminated */
	uint64_t affected;
	uint64_t insert_id;
};

/* Once per process before any thread uses the client library. */
int db_library_init(void);
void db_library_end(void);
/* Per thread that uses connections (MariaDB client thread state). */
void db_thread_init(void);
/* The calling thread works in the background (counted apart in db_stats). */
void db_thread_background(void);
void db_thread_end(void);

/* A pool of at most size connections opened lazily; NULL on OOM. */
struct db_pool *db_pool_new(const struct conf *, unsigned size);
/* NULL-safe; closes every connection (none may be borrowed). */
void db_pool_free(struct db_pool *);
/*
 * Borrow a connection, connecting (and checking the schema version) if
 * needed; waits while all are borrowed.  TG_EDB when the server cannot be
 * reached, TG_ESCHEMA when its schema is not TG_SCHEMA_VERSION.
 */
enum tg_err db_get(struct db_pool *, struct db_conn **);
/* Give it back; broken connections are closed and reopened later. */
void db_put(struct db_pool *, struct db_conn *);

/*
 * Execute a table statement with n parameters.  Rows (if out != NULL) are
 * copied into a.  A lost connection is reopened once; the statement is retried
 * only if the table marks it read-only, never a write.
 */
enum tg_err db_exec(struct db_conn *, enum stmt, const struct db_val *params,
    size_t n, struct db_rows *out, struct arena *a);
/*
 * Insert nrows rows of batch b (params row-major, the batch's width each) in
 * as few statements as the per-statement row limit allows.  Never retried.
 */
enum tg_err db_exec_rows(struct db_conn *, enum batch b,
    const struct db_val *params, size_t nrows, struct arena *a);
/* Rows per statement of db_exec_rows on this connection, 1 to DB_BATCH_MAX. */
#define DB_BATCH_MAX 128
void db_batch_rows(struct db_conn *, unsigned rows);
/* Begin / commit / roll back a transaction on this connection. */
enum tg_err db_begin(struct db_conn *);
enum tg_err db_commit(struct db_conn *);
void db_rollback(struct db_conn *);

/* Schema version of the database the pool points at (0 = none applied). */
enum tg_err db_schema_version(struct db_pool *, int64_t *out);

/* This process's statements sent to the server, and its row cache's hits. */
struct db_stats {
	uint64_t executed, executed_bg, cache_hits, cache_misses;
	int cache_on;
};
void db_stats(const struct db_pool *, struct db_stats *);

/* A single admin connection for `tollgate migrate` (multi-statement on). */
struct db_conn *db_admin_connect(const struct conf *, char *err, size_t errlen);
void db_admin_close(struct db_conn *);
/* Run a script of ';'-separated statements; err receives the server message. */
enum tg_err db_run_script(
    struct db_conn *, const char *sql, size_t len, char *err, size_t errlen);
/* Serialize migrations across processes and hosts (GET_LOCK). */
enum tg_err db_lock(struct db_conn *, const char *name, unsigned timeout_s);
void db_unlock(struct db_conn *, const char *name);
/* The last server error message of this connection (for logs). */
const char *db_error(struct db_conn *);

#endif
