/* db_exec.c: executing statements: parameters, rows, the row cache in front of reads, multi-row INSERTs */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "io/cache.h"
#include "io/db.h"
#include "io/db_impl.h"

enum tg_err
db_map_error(struct db_conn *c, unsigned e, const char *msg, unsigned s)
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

/*
 * How an attempt lost its connection: not at all; before the statement ran
 * (reconnecting, preparing: it never reached the server); or sending or
 * running it (it may have run, even committed).
 */
enum gone { GONE_NO, GONE_DOWN, GONE_UNSENT, GONE_SENT };

/* One attempt; *gone says whether and when the connection was lost. */
static enum tg_err
exec_once(struct db_conn *c, unsigned s, const struct db_val *params, size_t n,
    struct db_rows *out, struct arena *a, enum gone *gone)
{
	MYSQL_BIND b[DB_MAX_PARAMS];
	unsigned long lens[DB_MAX_PARAMS];
	MYSQL_STMT *st;
	MYSQL_RES *meta = NULL;
	enum tg_err rc;
	int nr;

	*gone = GONE_NO;
	if (c->my == NULL && (rc = db_conn_open(c)) != TG_OK) {
		*gone = GONE_DOWN;
		return rc;
	}
	db_counted();
	if ((st = c->st[s]) == NULL) {
		if ((st = mysql_stmt_init(c->my)) == NULL)
			return TG_ESYSTEM;
		if (mysql_stmt_prepare(
			st, db_stmts[s].sql, strlen(db_stmts[s].sql))) {
			if (db_lost(mysql_stmt_errno(st)))
				*gone = GONE_UNSENT;
			rc = db_map_error(
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
		if (db_lost(mysql_stmt_errno(st)))
			*gone = GONE_SENT;
		return db_map_error(
		    c, mysql_stmt_errno(st), mysql_stmt_error(st), s);
	}
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((meta = mysql_stmt_result_metadata(st)) != NULL) {
		rc = out != NULL ? fetch_rows(st, meta, out, a) : TG_OK;
		mysql_free_result(meta);
		mysql_stmt_free_result(st);
		if (rc != TG_OK)
			return db_map_error(
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
		if (db_lost(mysql_stmt_errno(st)))
			*gone = GONE_SENT;
		return db_map_error(
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

/*
 * issue 19 (multinode): a DB_SF_REPLICA read outside a transaction, on the
 * read replica when db_replica_get lends one; true when it answered there.
 * A failure there is the primary's to answer (a read may run twice).
 */
static int
on_replica(struct db_conn *c, unsigned s, const struct db_val *params, size_t n,
    struct db_rows *out, struct arena *a)
{
	struct db_conn *r;
	enum tg_err rc;

	if (!(db_stmts[s].flags & DB_SF_REPLICA) || c->in_txn ||
	    c->pool == NULL || (r = db_replica_get(c->pool)) == NULL)
		return 0;
	rc = exec_retry(r, s, params, n, out, a);
	db_replica_put(c->pool, r, rc);
	return rc == TG_OK;
}

enum tg_err
db_exec(struct db_conn *c, unsigned s, const struct db_val *params, size_t n,
    struct db_rows *out, struct arena *a)
{
	struct cache *cache = c->pool != NULL ? c->pool->cache : NULL;
	unsigned char *key = NULL, *blob;
	size_t klen = 0, blen;
	uint64_t epoch = 0;
	enum tg_err rc;

	if (cache != NULL && out != NULL && (db_stmts[s].flags & DB_SF_CACHE) &&
	    !c->in_txn && (key = cache_key(s, params, n, a, &klen)) != NULL) {
		if ((blob = cache_get(cache, key, klen, a, &blen)) != NULL) {
			rows_unpack(blob, out);
			return TG_OK;
		}
		epoch = cache_epoch(cache); /* before the read, see cache_put */
	}
	if (on_replica(c, s, params, n, out, a))
		return TG_OK; /* flagged reads are never cached nor writes */
	rc = exec_retry(c, s, params, n, out, a);
	if (rc != TG_OK)
		return rc;
	if (key != NULL && (blob = rows_pack(out, a, &blen)) != NULL)
		cache_put(cache, key, klen, blob, blen, epoch);
	if (!(db_stmts[s].flags & (DB_SF_READ | DB_SF_HOT))) {
		if (c->in_txn)
			c->dirty = 1;
		else
			cache_bump(cache);
	}
	return TG_OK;
}

/*
 * Whether a statement whose connection was lost may be sent again on a new
 * one: never inside a transaction (the server rolled it back with the
 * session), else only when running it twice is harmless (DB_SF_READ,
 * DB_SF_RETRY).  A write lost while preparing never ran, but is not resent
 * either: one rule for writes, whatever the library says of the send.
 */
static int
resendable(const struct db_conn *c, unsigned s, enum gone g)
{
	if (c->in_txn || g == GONE_DOWN)
		return 0;
	return (db_stmts[s].flags & (DB_SF_READ | DB_SF_RETRY)) != 0;
}

static enum tg_err
exec_retry(struct db_conn *c, unsigned s, const struct db_val *params, size_t n,
    struct db_rows *out, struct arena *a)
{
	enum tg_err rc;
	enum gone g;

	c->retried = 0;
	rc = exec_once(c, s, params, n, out, a, &g);
	if (g == GONE_NO)
		return rc;
	/*
	 * The server went away (restarted, killed us, timed us out).  A write
	 * may or may not have happened: it is sent again only when the table
	 * says a second run is harmless, else reported, never replayed.
	 */
	db_conn_lost(c);
	if (!resendable(c, s, g)) {
		c->in_txn = 0;
		return TG_EDB;
	}
	log_msg(LOG_WARN,
	    "database connection lost; statement %u sent again on a new one",
	    s);
	c->retried = g == GONE_SENT;
	rc = exec_once(c, s, params, n, out, a, &g);
	if (g != GONE_NO)
		db_conn_lost(c);
	return rc;
}

/* A prepared INSERT of 2^lg rows of batch b, made once per connection. */
static MYSQL_STMT *
batch_stmt(struct db_conn *c, unsigned b, unsigned lg, struct arena *a)
{
	const struct db_batch_def *d = &db_batches[b];
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
	if (rc == TG_OK && d->suffix != NULL)
		rc = buf_puts(&sql, d->suffix);
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
	uint64_t affected;

	return db_exec_rows_affected(c, b, params, nrows, a, &affected);
}

enum tg_err
db_exec_rows_affected(struct db_conn *c, unsigned b,
    const struct db_val *params, size_t nrows, struct arena *a,
    uint64_t *affected)
{
	size_t ncols = db_batches[b].ncols, k, n, cap = DB_BATCH_MAX;
	unsigned long *lens = NULL;
	MYSQL_BIND *bind = NULL;
	MYSQL_STMT *st;
	unsigned lg;
	enum tg_err rc;

	*affected = 0;
	if (c->my == NULL && (rc = db_conn_open(c)) != TG_OK)
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
		db_counted();
		if (mysql_stmt_bind_param(st, bind) || mysql_stmt_execute(st)) {
			rc = db_map_error(c, mysql_stmt_errno(st),
			    mysql_stmt_error(st), DB_MAX_STMTS);
			if (db_lost(mysql_stmt_errno(st))) {
				c->in_txn = 0;
				db_conn_lost(c);
			}
			return rc;
		}
		*affected += mysql_stmt_affected_rows(st);
	}
	return TG_OK;
}
