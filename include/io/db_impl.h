/* db_impl.h: what db.c (pool, connections) and db_exec.c (statements, row cache) share */
/* SPDX-License-Identifier: MIT */
#ifndef DB_IMPL_H
#define DB_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <mysql.h>

#include "core/tollgate.h"
#include "io/db.h"

struct cache;
struct conf;

#define DB_MAX_PARAMS 64
#define DB_MAX_COLS   64
#define DB_MAX_FIELD  (16u << 20) /* a larger column is a bug, not data */

/*
 * Multi-row INSERTs (db_exec_rows): the statement up to VALUES and the width
 * of one row; prepared once per connection for each power-of-two row count
 * up to 128; the caller picks the size (db_batch_rows).  Larger statements
 * save round trips but keep the server busy in one piece: 128 usage rows
 * take MariaDB about a millisecond, and on a small box running everything
 * that is a millisecond some request waits for a core (BENCHMARKS.md).
 */
#define BATCH_SIZES 8 /* 1, 2, 4 ... 128 rows (DB_BATCH_MAX) */

struct db_conn {
	MYSQL *my;
	MYSQL_STMT *st[DB_MAX_STMTS];
	MYSQL_STMT *bst[DB_MAX_BATCHES][BATCH_SIZES]; /* by log2 of the rows */
	const struct conf *conf;
	unsigned long flags;
	struct db_conn *next; /* free list */
	unsigned batch_rows;  /* db_exec_rows: rows per statement; 0 = 128 */
	int checked;	      /* schema version verified */
	int in_txn;	      /* a transaction is open */
	int dirty;	      /* the open transaction changed cached rows */
	struct db_pool *pool; /* NULL for the admin connection */
	unsigned io_timeout;  /* read/write timeout (s); 0: the conf's */
	double used_at;	      /* util_now() when last given back */
	unsigned gen;	      /* the pool's lost_gen when last known good */
	int retried;	      /* the last db_exec was sent twice (db_retried) */
	char err[256];
};

struct db_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const struct conf *conf;
	unsigned size;
	unsigned nconns; /* created so far */
	struct db_conn *free;
	struct db_conn **all;
	struct cache *cache; /* NULL: every read goes to the server */
	/*
	 * Moves each time one of the pool's connections is found lost: the
	 * server restarted or dropped us, so every other idle connection is
	 * checked (db_get) before its next statement.
	 */
	unsigned lost_gen;
	/*
	 * issue 19 (multinode): the read replica's own pool (NULL: none).  In
	 * that pool: its conf (a copy pointing at the replica, freed with it),
	 * whether it may be read, and when that is next looked at.
	 */
	struct db_pool *replica;
	struct conf *own_conf;
	int replica_ok;
	double replica_next;
	unsigned lent; /* issue 19: obs: connections taken, not put back */
};

/* The tables store_init hands over (db_set_statements). */
extern const struct db_stmt_def *db_stmts;
extern size_t db_nstmts;
extern const struct db_batch_def *db_batches;
extern size_t db_nbatches;

/* Count one statement sent to the server (db_stats). */
void db_counted(void);
/* Connect c with its conf: TG_OK or TG_EDB (logged). */
enum tg_err db_conn_open(struct db_conn *);
/* Close its statements and its connection; reopened on next use. */
void db_conn_close(struct db_conn *);
/* Whether a client error means the connection is gone. */
int db_lost(unsigned err);
/* A connection found lost: closed, and its pool told to check the others. */
void db_conn_lost(struct db_conn *);
/*
 * issue 19 (multinode): a connection to p's read replica for one
 * DB_SF_REPLICA read, or NULL (no replica, or it is down, lagging or busy:
 * read the primary).  Give it back with db_replica_put and the statement's
 * result; a failure sends the pool's reads to the primary for a while.
 */
struct db_conn *db_replica_get(struct db_pool *p);
void db_replica_put(struct db_pool *p, struct db_conn *c, enum tg_err rc);
/* Note the server's error on c and map it: duplicate, missing table, else TG_EDB. */
enum tg_err db_map_error(
    struct db_conn *, unsigned err, const char *msg, unsigned stmt);

#endif
