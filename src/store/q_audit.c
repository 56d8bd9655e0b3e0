/* q_audit.c: the audit log and its chain head: the statements and their typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_audit.h"
#include "store/q_row.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_audit_stmts[] = {
	{ STMT_AUDIT_HEAD_LOCK, "SELECT last_id, last_hash, key_check FROM audit_head WHERE id = 1 FOR UPDATE", DB_SF_HOT },
	{ STMT_AUDIT_INSERT, "INSERT INTO audit_log (id, at, actor_user_id, actor_key_id, action, target_type, target_id, ip, request_id, before_json, after_json, prev_hash, row_hash, hash_alg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT_AUDIT_HEAD_SET, "UPDATE audit_head SET last_id = ?, last_hash = ?, key_check = COALESCE(key_check, ?) WHERE id = 1", DB_SF_HOT },
	{ STMT_AUDIT_SCAN, "SELECT id, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), actor_user_id, actor_key_id, action, target_type, target_id, ip, request_id, before_json, after_json, prev_hash, row_hash, hash_alg FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", DB_SF_READ },
	{ STMT_AUDIT_LIST, "SELECT id, DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%sZ'), actor_user_id, actor_key_id, action, target_type, target_id, ip, request_id, before_json, after_json FROM audit_log WHERE (? = '' OR action = ?) AND (? = '' OR actor_user_id = ?) AND (? = '' OR target_id = ?) AND (? = '' OR at >= ?) AND (? = '' OR at < ?) ORDER BY id DESC LIMIT ? OFFSET ?", DB_SF_READ | DB_SF_REPLICA },
	{ STMT_AUDIT_COUNT, "SELECT COUNT(*) FROM audit_log WHERE (? = '' OR action = ?) AND (? = '' OR actor_user_id = ?) AND (? = '' OR target_id = ?) AND (? = '' OR at >= ?) AND (? = '' OR at < ?)", DB_SF_READ | DB_SF_REPLICA },
	{ STMT_AUDIT_HEAD_GET, "SELECT last_id, last_hash, key_check FROM audit_head WHERE id = 1", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

static struct q_text
text(const struct db_val *v)
{
	return v->type == DBT_STR ? (struct q_text){v->s, v->len}
				  : (struct q_text){NULL, 0};
}

static struct db_val
param(const struct q_text *t)
{
	return t->s != NULL ? q_bin(t->s, t->len) : DB_NULLV;
}

enum tg_err
q_audit_head(struct db_conn *c, struct arena *a, int lock, struct audit_head *h)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, lock ? STMT_AUDIT_HEAD_LOCK : STMT_AUDIT_HEAD_GET,
		 NULL, 0, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ESYSTEM;
	h->last_id = rows.v[0].i;
	h->last_hash = text(&rows.v[1]);
	h->key_check = text(&rows.v[2]);
	return TG_OK;
}

enum tg_err
q_audit_insert(struct db_conn *c, struct arena *a, const struct audit_row *r)
{
	struct db_val v[14] = {
	    DB_I64(r->id),
	    param(&r->at),
	    param(&r->actor),
	    param(&r->actor_key),
	    param(&r->action),
	    param(&r->target_type),
	    param(&r->target_id),
	    param(&r->ip),
	    param(&r->request_id),
	    param(&r->before),
	    param(&r->after),
	    param(&r->prev),
	    param(&r->hash),
	    DB_I64(r->alg),
	};

	return db_exec(c, STMT_AUDIT_INSERT, v, 14, NULL, a);
}

enum tg_err
q_audit_head_set(struct db_conn *c, struct arena *a, int64_t last_id,
    const struct q_text *hash, const struct q_text *check)
{
	struct db_val v[3] = {DB_I64(last_id), param(hash), param(check)};

	return db_exec(c, STMT_AUDIT_HEAD_SET, v, 3, NULL, a);
}

/* The columns both SCAN and LIST start with: id, at, actor ... after. */
static void
row_common(const struct db_val *v, struct audit_row *r)
{
	r->id = v[0].i;
	r->at = text(&v[1]);
	r->actor = text(&v[2]);
	r->actor_key = text(&v[3]);
	r->action = text(&v[4]);
	r->target_type = text(&v[5]);
	r->target_id = text(&v[6]);
	r->ip = text(&v[7]);
	r->request_id = text(&v[8]);
	r->before = text(&v[9]);
	r->after = text(&v[10]);
}

enum tg_err
q_audit_scan(struct db_conn *c, struct arena *a, int64_t after_id,
    int64_t limit, struct audit_row **out, size_t *n)
{
	struct db_val p[2] = {DB_I64(after_id), DB_I64(limit)};
	const struct db_val *v;
	struct db_rows rows;
	struct audit_row *r;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_AUDIT_SCAN, p, 2, &rows, a)) != TG_OK)
		return rc;
	if ((r = arena_calloc(a, rows.nrows + 1, sizeof(*r))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		row_common(v, &r[i]);
		r[i].prev = text(&v[11]);
		r[i].hash = text(&v[12]);
		r[i].alg = (int)v[13].i;
	}
	*out = r;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_audit_list(struct db_conn *c, struct arena *a, const struct audit_filter *f,
    struct audit_row **out, size_t *n, int64_t *total)
{
	struct db_val p[12] = {DB_STR(f->action), DB_STR(f->action),
	    DB_STR(f->actor), DB_STR(f->actor), DB_STR(f->target),
	    DB_STR(f->target), DB_STR(f->from), DB_STR(f->from), DB_STR(f->to),
	    DB_STR(f->to), DB_I64(f->limit), DB_I64(f->offset)};
	struct db_rows rows;
	struct audit_row *r;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_AUDIT_COUNT, p, 10, &rows, a)) != TG_OK)
		return rc;
	*total = rows.nrows == 1 ? rows.v[0].i : 0;
	if ((rc = db_exec(c, STMT_AUDIT_LIST, p, 12, &rows, a)) != TG_OK)
		return rc;
	if ((r = arena_calloc(a, rows.nrows + 1, sizeof(*r))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++)
		row_common(&rows.v[i * rows.ncols], &r[i]);
	*out = r;
	*n = rows.nrows;
	return TG_OK;
}
