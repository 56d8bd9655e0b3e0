/* db.h: the only door to MariaDB: connection pool, prepared statements, the row cache */
/* SPDX-License-Identifier: MIT */
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

/*
 * How a statement may be treated (the store's tables set them):
 * DB_SF_READ: safe to retry after a lost connection.
 * DB_SF_RETRY: a write that is safe to send twice: a second run changes
 * nothing the first did not (a CALL that closes a hold only while it is
 * open, an INSERT keyed by an id the caller drew).  Retried like a read
 * after a lost connection; the caller may ask db_retried whether the first
 * run may have committed, to read what it did.
 * DB_SF_CACHE: a read of rows that change only through the control plane;
 * its result is kept per process (cache.c) until the node's epoch moves.
 * DB_SF_HOT: a write that changes no DB_SF_CACHE row (the data plane's
 * counters, holds, ledger, usage).  Every other write moves the epoch once
 * committed, so a write nobody classified costs speed, never a stale key.
 * DB_SF_REPLICA (issue 19): a heavy read (usage lists and sums, bills, the
 * monitor, the audit list) that may be answered by the read replica
 * ([db] replica_*) when one is up and current, since seconds-old rows do
 * no harm there.  Never on a statement that decides money or auth.
 */
enum {
	DB_SF_READ = 1,
	DB_SF_CACHE = 2,
	DB_SF_HOT = 4,
	DB_SF_RETRY = 8,
	DB_SF_REPLICA = 16
};

/* A statement: its SQL and DB_SF_* flags, found by its index (the store's enum stmt). */
struct db_stmt_def {
	const char *sql;
	unsigned flags;
};
/* A multi-row INSERT: the statement up to VALUES and the width of one row. */
struct db_batch_def {
	const char *prefix; /* up to the rows */
	unsigned ncols;
	const char *suffix; /* after the rows; NULL: none */
};
#define DB_MAX_STMTS   256
#define DB_MAX_BATCHES 6
/*
 * Reads the schema version over a connection (0: none applied); the store
 * owns the statement, db_get checks it on every new connection.
 */
typedef enum tg_err (*db_version_fn)(struct db_conn *, int64_t *out);
/*
 * The statement and batch tables and the version reader (store_init), once
 * per process before any connection; aborts when they outgrow DB_MAX_STMTS or
 * DB_MAX_BATCHES.
 */
void db_set_statements(const struct db_stmt_def *, size_t n,
    const struct db_batch_def *, size_t nb, db_version_fn);

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
 * needed; waits while all are borrowed.  One idle for a while, or whose pool
 * has seen a connection lost since it was last used, is pinged first and
 * reopened if the server no longer knows it.  TG_EDB when the server cannot be
 * reached, TG_ESCHEMA when its schema is not TG_SCHEMA_VERSION.
 */
enum tg_err db_get(struct db_pool *, struct db_conn **);
/* Give it back; broken connections are closed and reopened later. */
void db_put(struct db_pool *, struct db_conn *);

/*
 * Execute a table statement with n parameters.  Rows (if out != NULL) are
 * copied into a.  A lost connection is reopened once; the statement is sent
 * again only if it never reached the server or the table marks it
 * DB_SF_READ or DB_SF_RETRY, and never inside a transaction.
 */
enum tg_err db_exec(struct db_conn *, unsigned stmt,
    const struct db_val *params, size_t n, struct db_rows *out,
    struct arena *a);
/*
 * Whether the last db_exec on this connection was sent twice after the first
 * send was lost: the first may have run (a DB_SF_RETRY write then finds its
 * own work done, e.g. "already closed").
 */
int db_retried(const struct db_conn *);
/*
 * Insert nrows rows of batch b (params row-major, the batch's width each) in
 * as few statements as the per-statement row limit allows.  Never retried.
 */
enum tg_err db_exec_rows(struct db_conn *, unsigned batch,
    const struct db_val *params, size_t nrows, struct arena *a);
/* The same, *affected the rows its statements changed, summed. */
enum tg_err db_exec_rows_affected(struct db_conn *, unsigned batch,
    const struct db_val *params, size_t nrows, struct arena *a,
    uint64_t *affected);
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
/* issue 19: obs: connections lent out now, and the pool's size. */
void db_pool_use(const struct db_pool *, unsigned *in_use, unsigned *size);
struct cache;
/* The pool's row cache (NULL: none), for its status. */
struct cache *db_cache(const struct db_pool *);

/* The admin connection's and tollgate maintain's read/write timeout (s). */
#define DB_ADMIN_TIMEOUT 86400
/* A single admin connection for `tollgate migrate` (multi-statement on). */
struct db_conn *db_admin_connect(const struct conf *, char *err, size_t errlen);
void db_admin_close(struct db_conn *);
/* Run a script of ';'-separated statements; err receives the server message. */
enum tg_err db_run_script(
    struct db_conn *, const char *sql, size_t len, char *err, size_t errlen);
/* The last server error message of this connection (for logs). */
const char *db_error(struct db_conn *);

#endif
