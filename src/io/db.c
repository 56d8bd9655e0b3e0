/* db.c: the only door to MariaDB: the connection pool, connections, transactions, the admin connection */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "core/arena.h"
#include "core/buf.h"
#include "io/cache.h"
#include "core/conf.h"
#include "io/db.h"
#include "io/db_impl.h"
#include "core/log.h"
#include "core/util.h"

#define CACHE_SLOTS 4096 /* keys, users, routes a process keeps */
/*
 * A connection unused this long (seconds) is pinged before it is lent: the
 * server may have restarted or timed it out (wait_timeout) meanwhile, and a
 * write must not be the statement that finds out.  A busy pool never idles
 * this long, so the ping costs only the quiet.
 */
#define IDLE_PING 2.0
/* ER_CLIENT_INTERACTION_TIMEOUT (MariaDB 10.6+, not in every client's headers). */
#define ER_IDLE_TIMEOUT 4031

/*
 * DB_SF_READ: safe to retry after a lost connection.
 * DB_SF_CACHE: a read of rows that change only through the control plane; its
 * result is kept per process (cache.c) until the node's epoch moves.
 * DB_SF_HOT: a write that changes no DB_SF_CACHE row (the data plane's counters,
 * holds, ledger, usage).  Every other write moves the epoch once committed,
 * so a write nobody classified costs speed, never a stale key.
 */

/* The tables store_init hands over (store/stmt.c). */
const struct db_stmt_def *db_stmts;
size_t db_nstmts;
const struct db_batch_def *db_batches;
size_t db_nbatches;
/* Reads the schema version on a fresh connection (the store's). */
static db_version_fn read_version;

/* UTC and strict modes on every session, whoever configured the server. */
#define SESSION_INIT                                                           \
	"SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"             \
	"NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"             \
	"NO_ENGINE_SUBSTITUTION'"

/*
 * This process's statements sent to the server (tests and the benchmark
 * read them): all of them, and those of the background threads (the
 * journal's write-out, lease sweeps), so the request path's own count is
 * the difference.
 */
static uint64_t executed, executed_bg;
static __thread int background;

void
db_thread_background(void)
{
	background = 1;
}

void
db_counted(void)
{
	__atomic_add_fetch(&executed, 1, __ATOMIC_RELAXED);
	if (background)
		__atomic_add_fetch(&executed_bg, 1, __ATOMIC_RELAXED);
}

int
db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? 0 : -1;
}

void
db_library_end(void)
{
	mysql_library_end();
}

void
db_thread_init(void)
{
	mysql_thread_init();
}

void
db_thread_end(void)
{
	mysql_thread_end();
}

void
db_conn_close(struct db_conn *c)
{
	size_t i;

	for (i = 0; i < DB_MAX_STMTS; i++) {
		if (c->st[i] != NULL)
			mysql_stmt_close(c->st[i]);
		c->st[i] = NULL;
	}
	for (i = 0; i < DB_MAX_BATCHES * BATCH_SIZES; i++) {
		MYSQL_STMT **b = &c->bst[i / BATCH_SIZES][i % BATCH_SIZES];

		if (*b != NULL)
			mysql_stmt_close(*b);
		*b = NULL;
	}
	if (c->my != NULL)
		mysql_close(c->my);
	c->my = NULL;
	c->checked = 0;
}

enum tg_err
db_conn_open(struct db_conn *c)
{
	const struct conf *f = c->conf;
	unsigned int t;
	my_bool off = 0;

	if ((c->my = mysql_init(NULL)) == NULL)
		return TG_ESYSTEM;
	t = f->db_connect_timeout;
	mysql_options(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	t = c->io_timeout != 0 ? c->io_timeout : f->db_read_timeout;
	mysql_options(c->my, MYSQL_OPT_READ_TIMEOUT, &t);
	t = c->io_timeout != 0 ? c->io_timeout : f->db_write_timeout;
	mysql_options(c->my, MYSQL_OPT_WRITE_TIMEOUT, &t);
	/* We reconnect ourselves, so a write is never replayed behind our back. */
	mysql_options(c->my, MYSQL_OPT_RECONNECT, &off);
	mysql_options(c->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(c->my, MYSQL_INIT_COMMAND, SESSION_INIT);
	if (mysql_real_connect(c->my, f->db_socket != NULL ? NULL : f->db_host,
		f->db_user, f->db_password, f->db_name, f->db_port,
		f->db_socket, c->flags) == NULL) {
		snprintf(c->err, sizeof(c->err), "%s", mysql_error(c->my));
		log_msg(LOG_ERR, "database connect to %s failed: %s",
		    f->db_socket != NULL ? f->db_socket : f->db_host, c->err);
		db_conn_close(c);
		return TG_EDB;
	}
	return TG_OK;
}

int
db_lost(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
	    e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR ||
	    e == ER_CONNECTION_KILLED || e == ER_SERVER_SHUTDOWN ||
	    e == ER_IDLE_TIMEOUT;
}

void
db_conn_lost(struct db_conn *c)
{
	if (c->pool != NULL)
		__atomic_add_fetch(&c->pool->lost_gen, 1, __ATOMIC_RELAXED);
	db_conn_close(c);
}

int
db_retried(const struct db_conn *c)
{
	return c->retried;
}

/*
 * Whether the server still knows c: asked (one round trip) only when c idled
 * or its pool has lost a connection since c was last good.  The library does
 * not reconnect (MYSQL_OPT_RECONNECT off): a failed ping closes c, whose
 * prepared statements died with the server's session, and db_get opens a new
 * one that prepares them again as they are used.
 */
static void
check_stale(struct db_conn *c, double now)
{
	unsigned gen = __atomic_load_n(&c->pool->lost_gen, __ATOMIC_RELAXED);

	if (c->my == NULL)
		return;
	if (c->gen == gen && now - c->used_at < IDLE_PING)
		return;
	if (mysql_ping(c->my) != 0) {
		log_msg(LOG_WARN,
		    "database connection found stale (%u: %s); reconnecting",
		    mysql_errno(c->my), mysql_error(c->my));
		db_conn_lost(c);
		return;
	}
	c->gen = gen;
}

static void
open_cache(struct db_pool *p)
{
	char path[4096], err[256];

	if (p->conf->cache_ttl == 0 || p->conf->run_dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/tollgate-cache.shm", p->conf->run_dir);
	if ((p->cache = cache_open(path, p->conf->cache_ttl, CACHE_SLOTS, err,
		 sizeof(err))) == NULL)
		log_msg(LOG_WARN,
		    "no row cache (%s): every request reads keys and routes "
		    "from the database",
		    err);
}

static struct db_pool *
pool_alloc(const struct conf *conf, unsigned size)
{
	struct db_pool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (size == 0)
		size = 1;
	if ((p->all = calloc(size, sizeof(*p->all))) == NULL) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->conf = conf;
	p->size = size;
	return p;
}

static struct db_pool *replica_new(const struct conf *);

struct db_pool *
db_pool_new(const struct conf *conf, unsigned size)
{
	struct db_pool *p;

	if ((p = pool_alloc(conf, size)) == NULL)
		return NULL;
	open_cache(p);
	/* issue 19: no replica pool (OOM) only costs the primary the reads. */
	p->replica = replica_new(conf);
	return p;
}

void
db_pool_free(struct db_pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nconns; i++) {
		db_conn_close(p->all[i]);
		free(p->all[i]);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	cache_close(p->cache);
	free(p->all);
	db_pool_free(p->replica);
	free(p->own_conf);
	free(p);
}

/*
 * Take a connection from the pool, creating (not connecting) one if allowed;
 * without wait, NULL at once when all are borrowed (the replica's pool: the
 * primary serves the read instead).
 */
static struct db_conn *
take(struct db_pool *p, int wait)
{
	struct db_conn *c = NULL;

	pthread_mutex_lock(&p->mu);
	while (wait && p->free == NULL && p->nconns == p->size)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->free == NULL && p->nconns == p->size) {
		pthread_mutex_unlock(&p->mu);
		return NULL;
	}
	if (p->free != NULL) {
		c = p->free;
		p->free = c->next;
	} else if ((c = calloc(1, sizeof(*c))) != NULL) {
		c->conf = p->conf;
		c->pool = p;
		p->all[p->nconns++] = c;
	}
	if (c != NULL)
		__atomic_add_fetch(&p->lent, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&p->mu);
	return c;
}

void
db_put(struct db_pool *p, struct db_conn *c)
{
	if (c == NULL)
		return;
	/* A handler that failed mid-transaction must not leak it to the next. */
	if (c->in_txn)
		db_rollback(c);
	c->used_at = util_now();
	pthread_mutex_lock(&p->mu);
	c->next = p->free;
	p->free = c;
	__atomic_sub_fetch(&p->lent, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* get: db_get; without wait, TG_EUNAVAIL when every connection is lent. */
static enum tg_err
get(struct db_pool *p, struct db_conn **out, int check, int wait)
{
	struct db_conn *c;
	int64_t ver;
	enum tg_err rc;

	*out = NULL;
	if ((c = take(p, wait)) == NULL)
		return wait ? TG_ESYSTEM : TG_EUNAVAIL;
	check_stale(c, util_now());
	if (c->my == NULL) {
		/* Good from here: a loss seen before this opened is not its. */
		c->gen = __atomic_load_n(&p->lost_gen, __ATOMIC_RELAXED);
		if ((rc = db_conn_open(c)) != TG_OK)
			goto fail;
	}
	if (check && !c->checked) {
		if ((rc = read_version(c, &ver)) != TG_OK)
			goto fail;
		if (ver != TG_SCHEMA_VERSION) {
			log_msg(LOG_ERR,
			    "database schema is version %lld, this "
			    "tollgate expects %d: run tollgate migrate",
			    (long long)ver, TG_SCHEMA_VERSION);
			rc = TG_ESCHEMA;
			goto fail;
		}
		c->checked = 1;
	}
	*out = c;
	return TG_OK;
fail:
	db_conn_close(c);
	db_put(p, c);
	return rc;
}

enum tg_err
db_get(struct db_pool *p, struct db_conn **out)
{
	return get(p, out, 1, 1);
}

enum tg_err
db_schema_version(struct db_pool *p, int64_t *out)
{
	struct db_conn *c;
	enum tg_err rc;

	*out = 0;
	if ((rc = get(p, &c, 0, 1)) != TG_OK)
		return rc;
	rc = read_version(c, out);
	db_put(p, c);
	if (rc == TG_OK && *out != TG_SCHEMA_VERSION)
		rc = TG_ESCHEMA;
	return rc;
}

static enum tg_err
simple(struct db_conn *c, const char *sql)
{
	if (c->my == NULL)
		return TG_EDB;
	db_counted();
	if (mysql_real_query(c->my, sql, strlen(sql)) != 0) {
		if (db_lost(mysql_errno(c->my)))
			db_conn_lost(c);
		return TG_EDB;
	}
	return TG_OK;
}

enum tg_err
db_begin(struct db_conn *c)
{
	enum tg_err rc;
	int tries;

	/* Nothing is open yet: a lost connection costs one reconnect, no more. */
	for (tries = 0; tries < 2; tries++) {
		if (c->my == NULL && (rc = db_conn_open(c)) != TG_OK)
			return rc;
		if ((rc = simple(c, "START TRANSACTION")) == TG_OK) {
			c->in_txn = 1;
			return TG_OK;
		}
		if (c->my != NULL)
			break; /* an error of the server's, not a lost line */
	}
	return rc;
}

enum tg_err
db_commit(struct db_conn *c)
{
	enum tg_err rc;

	c->in_txn = 0;
	rc = simple(c, "COMMIT");
	/* After the commit: a copy read from now on sees the change. */
	if (c->dirty && c->pool != NULL)
		cache_bump(c->pool->cache);
	c->dirty = 0;
	return rc;
}

void
db_rollback(struct db_conn *c)
{
	c->in_txn = 0;
	c->dirty = 0;
	(void)simple(c, "ROLLBACK");
}

/* issue 19: obs: no lock, for the metrics published after each request. */
void
db_pool_use(const struct db_pool *p, unsigned *in_use, unsigned *size)
{
	*in_use = p != NULL ? __atomic_load_n(&p->lent, __ATOMIC_RELAXED) : 0;
	*size = p != NULL ? p->size : 0;
}

void
db_stats(const struct db_pool *p, struct db_stats *out)
{
	struct cache_stats cs;

	cache_stats(p != NULL ? p->cache : NULL, &cs);
	out->executed = __atomic_load_n(&executed, __ATOMIC_RELAXED);
	out->executed_bg = __atomic_load_n(&executed_bg, __ATOMIC_RELAXED);
	out->cache_hits = cs.hits;
	out->cache_misses = cs.misses;
	out->cache_on = p != NULL && p->cache != NULL;
}

struct cache *
db_cache(const struct db_pool *p)
{
	return p != NULL ? p->cache : NULL;
}

struct db_conn *
db_admin_connect(const struct conf *conf, char *err, size_t errlen)
{
	struct db_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->conf = conf;
	c->flags = CLIENT_MULTI_STATEMENTS;
	/*
	 * A migration's ALTER of a large table runs for minutes: the request
	 * path's read timeout would drop the connection mid-statement, leaving
	 * the server to finish what the migration then fails to record.
	 */
	c->io_timeout = DB_ADMIN_TIMEOUT;
	if (db_conn_open(c) != TG_OK) {
		snprintf(err, errlen, "%s", c->err);
		free(c);
		return NULL;
	}
	return c;
}

void
db_admin_close(struct db_conn *c)
{
	if (c == NULL)
		return;
	db_conn_close(c);
	free(c);
}

enum tg_err
db_run_script(
    struct db_conn *c, const char *sql, size_t len, char *err, size_t errlen)
{
	MYSQL_RES *res;
	int st;

	if (mysql_real_query(c->my, sql, (unsigned long)len) != 0)
		goto fail;
	/* Drain every result so the connection is usable afterwards. */
	do {
		if ((res = mysql_store_result(c->my)) != NULL)
			mysql_free_result(res);
		else if (mysql_field_count(c->my) != 0)
			goto fail;
		if ((st = mysql_next_result(c->my)) > 0)
			goto fail;
	} while (st == 0);
	return TG_OK;
fail:
	snprintf(err, errlen, "%u: %s", mysql_errno(c->my), mysql_error(c->my));
	return TG_EDB;
}

const char *
db_error(struct db_conn *c)
{
	return c->err;
}

void
db_set_statements(const struct db_stmt_def *s, size_t n,
    const struct db_batch_def *b, size_t nb, db_version_fn version)
{
	if (n > DB_MAX_STMTS || nb > DB_MAX_BATCHES) {
		fprintf(stderr,
		    "db_set_statements: %zu statements, %zu db_batches: "
		    "raise DB_MAX_STMTS or DB_MAX_BATCHES\n",
		    n, nb);
		abort();
	}
	db_stmts = s;
	db_nstmts = n;
	db_batches = b;
	db_nbatches = nb;
	read_version = version;
}

/* --- issue 19 (multinode): the read replica ([db] replica_*) ------------- */

/*
 * The replica's lag is looked at this often (s), by whichever read comes
 * first, not per statement: SHOW SLAVE STATUS is a round trip of its own.
 */
#define REPLICA_CHECK 3.0
/* A replica that failed (unreachable, an error) is left alone this long (s). */
#define REPLICA_RETRY 5.0

/* A pool on the replica: the primary's settings with its address and user. */
static struct db_pool *
replica_new(const struct conf *conf)
{
	struct conf *rc;
	struct db_pool *r;

	if (conf->db_replica_host == NULL && conf->db_replica_socket == NULL)
		return NULL;
	if ((rc = malloc(sizeof(*rc))) == NULL)
		return NULL;
	/* Its strings stay the primary conf's, which outlives the pool. */
	*rc = *conf;
	rc->db_host = conf->db_replica_host;
	rc->db_socket = conf->db_replica_socket;
	rc->db_port = conf->db_replica_port;
	if (conf->db_replica_user != NULL)
		rc->db_user = conf->db_replica_user;
	if (conf->db_replica_password != NULL)
		rc->db_password = conf->db_replica_password;
	if ((r = pool_alloc(rc, conf->db_replica_pool_size)) == NULL) {
		free(rc);
		return NULL;
	}
	r->own_conf = rc;
	return r;
}

/*
 * Seconds_Behind_Master of the replica: -1 when it is not replicating (a
 * thread stopped, the value NULL: how far behind is unknown), 0 when the
 * server is no replica at all (a Galera node, a proxy: current by its
 * nature), -2 when it could not be asked (no SLAVE MONITOR grant, lost).
 */
static long
replica_lag(struct db_conn *c)
{
	static const char q[] = "SHOW SLAVE STATUS";
	MYSQL_RES *res;
	MYSQL_FIELD *f;
	MYSQL_ROW row;
	unsigned i, n;
	long lag = 0;

	db_counted();
	if (mysql_real_query(c->my, q, sizeof(q) - 1) != 0 ||
	    (res = mysql_store_result(c->my)) == NULL) {
		log_msg(LOG_WARN, "read replica: %s: %u %s", q,
		    mysql_errno(c->my), mysql_error(c->my));
		if (db_lost(mysql_errno(c->my)))
			db_conn_lost(c);
		return -2;
	}
	n = mysql_num_fields(res);
	f = mysql_fetch_fields(res);
	if ((row = mysql_fetch_row(res)) != NULL) {
		lag = -1;
		for (i = 0; i < n; i++)
			if (strcmp(f[i].name, "Seconds_Behind_Master") == 0 &&
			    row[i] != NULL)
				lag = strtol(row[i], NULL, 10);
	}
	mysql_free_result(res);
	return lag;
}

/* The replica may (ok) or may not be read; a change of mind is logged once. */
static void
replica_mark(struct db_pool *r, int ok, double next, const char *why)
{
	int was;

	pthread_mutex_lock(&r->mu);
	was = r->replica_ok;
	r->replica_ok = ok;
	if (next > r->replica_next)
		r->replica_next = next;
	pthread_mutex_unlock(&r->mu);
	if (ok && !was)
		log_msg(LOG_INFO, "read replica %s: in use for the heavy reads",
		    r->conf->db_socket != NULL ? r->conf->db_socket
					       : r->conf->db_host);
	else if (!ok && was)
		log_msg(LOG_WARN,
		    "read replica %s: %s; the heavy reads go to the primary",
		    r->conf->db_socket != NULL ? r->conf->db_socket
					       : r->conf->db_host,
		    why);
}

struct db_conn *
db_replica_get(struct db_pool *p)
{
	struct db_pool *r = p->replica;
	struct db_conn *c;
	double now = util_now();
	int look = 0, ok;
	enum tg_err rc;
	char why[64];
	long lag;

	if (r == NULL)
		return NULL;
	pthread_mutex_lock(&r->mu);
	ok = r->replica_ok;
	if (now >= r->replica_next) {
		look = 1; /* this read looks; the others go on as they were */
		r->replica_next = now + REPLICA_CHECK;
	}
	pthread_mutex_unlock(&r->mu);
	if (!ok && !look)
		return NULL;
	if ((rc = get(r, &c, 1, 0)) != TG_OK) {
		if (rc != TG_EUNAVAIL) /* all lent is busy, not down */
			replica_mark(r, 0, now + REPLICA_RETRY, "unreachable");
		return NULL;
	}
	if (!look)
		return c;
	lag = replica_lag(c);
	if (lag >= 0 && lag <= (long)p->conf->db_replica_max_lag) {
		replica_mark(r, 1, 0, NULL);
		return c;
	}
	db_put(r, c);
	snprintf(why, sizeof(why), "%ld s behind the primary (max %u)", lag,
	    p->conf->db_replica_max_lag);
	if (lag == -1)
		snprintf(why, sizeof(why), "not replicating");
	else if (lag == -2)
		snprintf(why, sizeof(why), "its lag cannot be read");
	replica_mark(r, 0, 0, why);
	return NULL;
}

void
db_replica_put(struct db_pool *p, struct db_conn *c, enum tg_err rc)
{
	if (c == NULL)
		return;
	db_put(p->replica, c);
	if (rc != TG_OK)
		replica_mark(p->replica, 0, util_now() + REPLICA_RETRY,
		    "a read failed there");
}
