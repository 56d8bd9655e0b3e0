/* db.c: the only door to MariaDB: connection pool, prepared statements, the row cache */
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
#include "core/log.h"

#define DB_MAX_PARAMS 64
#define DB_MAX_COLS   64
#define DB_MAX_FIELD  (16u << 20) /* a larger column is a bug, not data */
#define CACHE_SLOTS   4096	  /* keys, users, routes a process keeps */

/*
 * DB_SF_READ: safe to retry after a lost connection.
 * DB_SF_CACHE: a read of rows that change only through the control plane; its
 * result is kept per process (cache.c) until the node's epoch moves.
 * DB_SF_HOT: a write that changes no DB_SF_CACHE row (the data plane's counters,
 * holds, ledger, usage).  Every other write moves the epoch once committed,
 * so a write nobody classified costs speed, never a stale key.
 */

/*
 * Multi-row INSERTs (db_exec_rows): the statement up to VALUES and the width
 * of one row; prepared once per connection for each power-of-two row count
 * up to 128; the caller picks the size (db_batch_rows).  Larger statements
 * save round trips but keep the server busy in one piece: 128 usage rows
 * take MariaDB about a millisecond, and on a small box running everything
 * that is a millisecond some request waits for a core (BENCHMARKS.md).
 */
#define BATCH_SIZES 8 /* 1, 2, 4 ... 128 rows (DB_BATCH_MAX) */
/* The tables store_init hands over (store/stmt.c). */
static const struct db_stmt_def *stmts;
static size_t nstmts;
static const struct db_batch_def *batches;
static size_t nbatches;
/* Reads the schema version on a fresh connection (the store's). */
static db_version_fn read_version;

/* UTC and strict modes on every session, whoever configured the server. */
#define SESSION_INIT                                                           \
	"SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,"             \
	"NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,"             \
	"NO_ENGINE_SUBSTITUTION'"

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
};

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

static void
counted(void)
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

static void
conn_close(struct db_conn *c)
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

static enum tg_err
conn_open(struct db_conn *c)
{
	const struct conf *f = c->conf;
	unsigned int t;
	my_bool off = 0;

	if ((c->my = mysql_init(NULL)) == NULL)
		return TG_ESYSTEM;
	t = f->db_connect_timeout;
	mysql_options(c->my, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	t = f->db_read_timeout;
	mysql_options(c->my, MYSQL_OPT_READ_TIMEOUT, &t);
	t = f->db_write_timeout;
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
		conn_close(c);
		return TG_EDB;
	}
	return TG_OK;
}

static int
lost(unsigned e)
{
	return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST ||
	    e == CR_CONNECTION_ERROR || e == CR_CONN_HOST_ERROR ||
	    e == ER_CONNECTION_KILLED;
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

struct db_pool *
db_pool_new(const struct conf *conf, unsigned size)
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
	open_cache(p);
	return p;
}

void
db_pool_free(struct db_pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nconns; i++) {
		conn_close(p->all[i]);
		free(p->all[i]);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	cache_close(p->cache);
	free(p->all);
	free(p);
}

/* Take a connection from the pool, creating (not connecting) one if allowed. */
static struct db_conn *
take(struct db_pool *p)
{
	struct db_conn *c = NULL;

	pthread_mutex_lock(&p->mu);
	while (p->free == NULL && p->nconns == p->size)
		pthread_cond_wait(&p->cv, &p->mu);
	if (p->free != NULL) {
		c = p->free;
		p->free = c->next;
	} else if ((c = calloc(1, sizeof(*c))) != NULL) {
		c->conf = p->conf;
		c->pool = p;
		p->all[p->nconns++] = c;
	}
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
	pthread_mutex_lock(&p->mu);
	c->next = p->free;
	p->free = c;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static enum tg_err
get(struct db_pool *p, struct db_conn **out, int check)
{
	struct db_conn *c;
	int64_t ver;
	enum tg_err rc;

	*out = NULL;
	if ((c = take(p)) == NULL)
		return TG_ESYSTEM;
	if (c->my == NULL && (rc = conn_open(c)) != TG_OK)
		goto fail;
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
	conn_close(c);
	db_put(p, c);
	return rc;
}

enum tg_err
db_get(struct db_pool *p, struct db_conn **out)
{
	return get(p, out, 1);
}

enum tg_err
db_schema_version(struct db_pool *p, int64_t *out)
{
	struct db_conn *c;
	enum tg_err rc;

	*out = 0;
	if ((rc = get(p, &c, 0)) != TG_OK)
		return rc;
	rc = read_version(c, out);
	db_put(p, c);
	if (rc == TG_OK && *out != TG_SCHEMA_VERSION)
		rc = TG_ESCHEMA;
	return rc;
}

static enum tg_err
map_error(struct db_conn *c, unsigned e, const char *msg, unsigned s)
{
	snprintf(c->err, sizeof(c->err), "%s", msg);
	switch (e) {
	case ER_DUP_ENTRY:
		return TG_ECONFLICT;
	case ER_NO_SUCH_TABLE:
		return TG_ENOENT;
	default:
		log_msg(LOG_ERR, "database statement %d failed: %u %s", (int)s,
		    e, msg);
		return TG_EDB;
	}
}

static void
bind_params(
    MYSQL_BIND *b, const struct db_val *params, size_t n, unsigned long *lens)
{
	size_t i;

	memset(b, 0, sizeof(*b) * n);
	for (i = 0; i < n; i++) {
		switch (params[i].type) {
		case DBT_I64:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&params[i].i;
			break;
		case DBT_STR:
			lens[i] = (unsigned long)params[i].len;
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)params[i].s;
			b[i].buffer_length = lens[i];
			b[i].length = &lens[i];
			break;
		default:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		}
	}
}

static int
is_int_type(enum enum_field_types t)
{
	return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT ||
	    t == MYSQL_TYPE_LONG || t == MYSQL_TYPE_LONGLONG ||
	    t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_YEAR;
}

/* Copy every row of an executed statement into the arena. */
static enum tg_err
fetch_rows(
    MYSQL_STMT *st, MYSQL_RES *meta, struct db_rows *out, struct arena *a)
{
	MYSQL_BIND b[DB_MAX_COLS];
	MYSQL_FIELD *f;
	unsigned long lens[DB_MAX_COLS];
	my_bool nulls[DB_MAX_COLS];
	int64_t ints[DB_MAX_COLS];
	size_t ncols, r, i;
	my_bool on = 1;
	struct db_val *v;
	int frc;

	ncols = mysql_num_fields(meta);
	if (ncols > DB_MAX_COLS)
		return TG_ESYSTEM;
	mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);
	if (mysql_stmt_store_result(st) != 0)
		return TG_EDB;
	f = mysql_fetch_fields(meta);
	memset(b, 0, sizeof(b));
	for (i = 0; i < ncols; i++) {
		b[i].is_null = &nulls[i];
		b[i].length = &lens[i];
		if (is_int_type(f[i].type)) {
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &ints[i];
			b[i].is_unsigned = (f[i].flags & UNSIGNED_FLAG) != 0;
		} else {
			if (f[i].max_length > DB_MAX_FIELD)
				return TG_ESYSTEM;
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer_length = f[i].max_length + 1;
			b[i].buffer = arena_alloc(a, b[i].buffer_length);
		}
	}
	if (mysql_stmt_bind_result(st, b) != 0)
		return TG_EDB;
	out->ncols = ncols;
	out->nrows = (size_t)mysql_stmt_num_rows(st);
	out->v = arena_calloc(a, out->nrows * ncols + 1, sizeof(*out->v));
	for (r = 0; r < out->nrows; r++) {
		frc = mysql_stmt_fetch(st);
		if (frc == MYSQL_NO_DATA)
			break;
		if (frc == 1)
			return TG_EDB;
		for (i = 0; i < ncols; i++) {
			v = &out->v[r * ncols + i];
			if (nulls[i])
				v->type = DBT_NULL;
			else if (b[i].buffer_type == MYSQL_TYPE_LONGLONG) {
				v->type = DBT_I64;
				v->i = ints[i];
			} else {
				v->type = DBT_STR;
				v->len = lens[i];
				v->s = arena_strndup(a, b[i].buffer, lens[i]);
			}
		}
	}
	out->nrows = r;
	return TG_OK;
}

/* One attempt; *gone is set when the connection itself was lost. */
static enum tg_err
exec_once(struct db_conn *c, unsigned s, const struct db_val *params, size_t n,
    struct db_rows *out, struct arena *a, int *gone)
{
	MYSQL_BIND b[DB_MAX_PARAMS];
	unsigned long lens[DB_MAX_PARAMS];
	MYSQL_STMT *st;
	MYSQL_RES *meta = NULL;
	enum tg_err rc;
	int nr;

	*gone = 0;
	if (c->my == NULL && (rc = conn_open(c)) != TG_OK) {
		*gone = 1;
		return rc;
	}
	counted();
	if ((st = c->st[s]) == NULL) {
		if ((st = mysql_stmt_init(c->my)) == NULL)
			return TG_ESYSTEM;
		if (mysql_stmt_prepare(
			st, stmts[s].sql, strlen(stmts[s].sql))) {
			*gone = lost(mysql_stmt_errno(st));
			rc = map_error(
			    c, mysql_stmt_errno(st), mysql_stmt_error(st), s);
			mysql_stmt_close(st);
			return rc;
		}
		c->st[s] = st;
	}
	if (n != mysql_stmt_param_count(st) || n > DB_MAX_PARAMS)
		return TG_ESYSTEM;
	bind_params(b, params, n, lens);
	if ((n > 0 && mysql_stmt_bind_param(st, b)) || mysql_stmt_execute(st)) {
		*gone = lost(mysql_stmt_errno(st));
		return map_error(
		    c, mysql_stmt_errno(st), mysql_stmt_error(st), s);
	}
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((meta = mysql_stmt_result_metadata(st)) != NULL) {
		rc = out != NULL ? fetch_rows(st, meta, out, a) : TG_OK;
		mysql_free_result(meta);
		mysql_stmt_free_result(st);
		if (rc != TG_OK)
			return map_error(
			    c, mysql_stmt_errno(st), mysql_stmt_error(st), s);
	}
	if (out != NULL) {
		out->affected = mysql_stmt_affected_rows(st);
		out->insert_id = mysql_stmt_insert_id(st);
	}
	/* A CALL ends with a status result (and may send more sets): drain. */
	while ((nr = mysql_stmt_next_result(st)) == 0)
		if ((meta = mysql_stmt_result_metadata(st)) != NULL) {
			mysql_free_result(meta);
			mysql_stmt_free_result(st);
		}
	if (nr > 0) {
		*gone = lost(mysql_stmt_errno(st));
		return map_error(
		    c, mysql_stmt_errno(st), mysql_stmt_error(st), s);
	}
	return TG_OK;
}

/* The cache key of a statement and its parameters; NULL on OOM. */
static unsigned char *
cache_key(unsigned s, const struct db_val *params, size_t n, struct arena *a,
    size_t *len)
{
	unsigned char *k, *p;
	size_t i, need = sizeof(uint32_t);

	for (i = 0; i < n; i++)
		need += 1 + sizeof(int64_t) +
		    (params[i].type == DBT_STR ? params[i].len : 0);
	if ((k = p = arena_alloc(a, need)) == NULL)
		return NULL;
	*(uint32_t *)(void *)p = (uint32_t)s;
	p += sizeof(uint32_t);
	for (i = 0; i < n; i++) {
		int64_t l = params[i].type == DBT_STR ? (int64_t)params[i].len
						      : params[i].i;
		*p++ = (unsigned char)params[i].type;
		memcpy(p, &l, sizeof(l));
		p += sizeof(l);
		if (params[i].type == DBT_STR) {
			memcpy(p, params[i].s, params[i].len);
			p += params[i].len;
		}
	}
	*len = need;
	return k;
}

/* Rows as one blob: the value array, then every string (NUL-terminated). */
static unsigned char *
rows_pack(const struct db_rows *r, struct arena *a, size_t *len)
{
	size_t i, nv = r->nrows * r->ncols,
		  need = sizeof(*r) + nv * sizeof(*r->v);
	unsigned char *b, *p;

	for (i = 0; i < nv; i++)
		if (r->v[i].type == DBT_STR)
			need += r->v[i].len + 1;
	if ((b = arena_alloc(a, need)) == NULL)
		return NULL;
	memcpy(b, r, sizeof(*r));
	memcpy(b + sizeof(*r), r->v, nv * sizeof(*r->v));
	p = b + sizeof(*r) + nv * sizeof(*r->v);
	for (i = 0; i < nv; i++)
		if (r->v[i].type == DBT_STR) {
			memcpy(p, r->v[i].s, r->v[i].len);
			p[r->v[i].len] = '\0';
			p += r->v[i].len + 1;
		}
	*len = need;
	return b;
}

/* Undo rows_pack on a copy the caller owns (in its arena). */
static void
rows_unpack(unsigned char *b, struct db_rows *out)
{
	size_t i, nv;
	char *p;

	memcpy(out, b, sizeof(*out));
	nv = out->nrows * out->ncols;
	out->v = (struct db_val *)(void *)(b + sizeof(*out));
	p = (char *)(b + sizeof(*out) + nv * sizeof(*out->v));
	for (i = 0; i < nv; i++)
		if (out->v[i].type == DBT_STR) {
			out->v[i].s = p;
			p += out->v[i].len + 1;
		}
}

static enum tg_err exec_retry(struct db_conn *, unsigned, const struct db_val *,
    size_t, struct db_rows *, struct arena *);

enum tg_err
db_exec(struct db_conn *c, unsigned s, const struct db_val *params, size_t n,
    struct db_rows *out, struct arena *a)
{
	struct cache *cache = c->pool != NULL ? c->pool->cache : NULL;
	unsigned char *key = NULL, *blob;
	size_t klen = 0, blen;
	uint64_t epoch = 0;
	enum tg_err rc;

	if (cache != NULL && out != NULL && (stmts[s].flags & DB_SF_CACHE) &&
	    !c->in_txn && (key = cache_key(s, params, n, a, &klen)) != NULL) {
		if ((blob = cache_get(cache, key, klen, a, &blen)) != NULL) {
			rows_unpack(blob, out);
			return TG_OK;
		}
		epoch = cache_epoch(cache); /* before the read, see cache_put */
	}
	rc = exec_retry(c, s, params, n, out, a);
	if (rc != TG_OK)
		return rc;
	if (key != NULL && (blob = rows_pack(out, a, &blen)) != NULL)
		cache_put(cache, key, klen, blob, blen, epoch);
	if (!(stmts[s].flags & (DB_SF_READ | DB_SF_HOT))) {
		if (c->in_txn)
			c->dirty = 1;
		else
			cache_bump(cache);
	}
	return TG_OK;
}

static enum tg_err
exec_retry(struct db_conn *c, unsigned s, const struct db_val *params, size_t n,
    struct db_rows *out, struct arena *a)
{
	enum tg_err rc;
	int gone;

	rc = exec_once(c, s, params, n, out, a, &gone);
	if (!gone)
		return rc;
	/*
	 * The server went away.  A read is retried once on a new connection; a
	 * write may or may not have happened, so it is reported, never replayed.
	 */
	conn_close(c);
	/* Inside a transaction the server rolled it back: nothing to retry. */
	if (!(stmts[s].flags & DB_SF_READ) || c->in_txn) {
		c->in_txn = 0;
		return TG_EDB;
	}
	log_msg(LOG_WARN, "database connection lost; reconnecting");
	rc = exec_once(c, s, params, n, out, a, &gone);
	if (gone)
		conn_close(c);
	return rc;
}

/* A prepared INSERT of 2^lg rows of batch b, made once per connection. */
static MYSQL_STMT *
batch_stmt(struct db_conn *c, unsigned b, unsigned lg, struct arena *a)
{
	const struct db_batch_def *d = &batches[b];
	size_t r, i, k = (size_t)1 << lg;
	MYSQL_STMT *st;
	struct buf sql;
	enum tg_err rc;

	if ((st = c->bst[b][lg]) != NULL)
		return st;
	buf_init(&sql, 1u << 20);
	rc = buf_puts(&sql, d->prefix);
	for (r = 0; r < k && rc == TG_OK; r++) {
		rc = buf_puts(&sql, r == 0 ? "(" : ", (");
		for (i = 0; i < d->ncols && rc == TG_OK; i++)
			rc = buf_puts(&sql, i == 0 ? "?" : ", ?");
		if (rc == TG_OK)
			rc = buf_puts(&sql, ")");
	}
	(void)a;
	if (rc != TG_OK || (st = mysql_stmt_init(c->my)) == NULL) {
		buf_free(&sql);
		return NULL;
	}
	if (mysql_stmt_prepare(st, sql.data, sql.len) != 0) {
		snprintf(c->err, sizeof(c->err), "%s", mysql_stmt_error(st));
		log_msg(LOG_ERR, "database batch %d failed to prepare: %s",
		    (int)b, c->err);
		mysql_stmt_close(st);
		st = NULL;
	}
	buf_free(&sql);
	return c->bst[b][lg] = st;
}

void
db_batch_rows(struct db_conn *c, unsigned rows)
{
	c->batch_rows = rows;
}

enum tg_err
db_exec_rows(struct db_conn *c, unsigned b, const struct db_val *params,
    size_t nrows, struct arena *a)
{
	size_t ncols = batches[b].ncols, k, n, cap = DB_BATCH_MAX;
	unsigned long *lens = NULL;
	MYSQL_BIND *bind = NULL;
	MYSQL_STMT *st;
	unsigned lg;
	enum tg_err rc;

	if (c->my == NULL && (rc = conn_open(c)) != TG_OK)
		return rc;
	if (c->batch_rows > 0 && c->batch_rows < cap)
		cap = c->batch_rows;
	for (; nrows > 0; nrows -= k, params += k * ncols) {
		/* The largest power of two that fits: few shapes to prepare. */
		for (lg = BATCH_SIZES - 1;
		     ((size_t)1 << lg) > nrows || ((size_t)1 << lg) > cap; lg--)
			;
		k = (size_t)1 << lg;
		n = k * ncols;
		if ((st = batch_stmt(c, b, lg, a)) == NULL)
			return TG_EDB;
		if (bind == NULL) {
			/* Sized by the first, largest statement; reused. */
			bind = arena_alloc(a, n * sizeof(*bind));
			lens = arena_alloc(a, n * sizeof(*lens));
		}
		bind_params(bind, params, n, lens);
		counted();
		if (mysql_stmt_bind_param(st, bind) || mysql_stmt_execute(st)) {
			rc = map_error(c, mysql_stmt_errno(st),
			    mysql_stmt_error(st), DB_MAX_STMTS);
			if (lost(mysql_stmt_errno(st))) {
				c->in_txn = 0;
				conn_close(c);
			}
			return rc;
		}
	}
	return TG_OK;
}

static enum tg_err
simple(struct db_conn *c, const char *sql)
{
	if (c->my == NULL)
		return TG_EDB;
	counted();
	if (mysql_real_query(c->my, sql, strlen(sql)) != 0) {
		if (lost(mysql_errno(c->my)))
			conn_close(c);
		return TG_EDB;
	}
	return TG_OK;
}

enum tg_err
db_begin(struct db_conn *c)
{
	enum tg_err rc;

	if (c->my == NULL && (rc = conn_open(c)) != TG_OK)
		return rc;
	if ((rc = simple(c, "START TRANSACTION")) == TG_OK)
		c->in_txn = 1;
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

struct db_conn *
db_admin_connect(const struct conf *conf, char *err, size_t errlen)
{
	struct db_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->conf = conf;
	c->flags = CLIENT_MULTI_STATEMENTS;
	if (conn_open(c) != TG_OK) {
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
	conn_close(c);
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
		    "db_set_statements: %zu statements, %zu batches: "
		    "raise DB_MAX_STMTS or DB_MAX_BATCHES\n",
		    n, nb);
		abort();
	}
	stmts = s;
	nstmts = n;
	batches = b;
	nbatches = nb;
	read_version = version;
}
