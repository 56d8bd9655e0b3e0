/* q_conv.c: conversation logs (issue 18: convlog): statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_conv.h"
#include "store/q_row.h"
#include "store/stmt.h"

#define CONV_COLS                                                              \
	"c.id, c.request_id, DATE_FORMAT(c.created_at, "                       \
	"'%Y-%m-%dT%H:%i:%s.%fZ'), c.level, c.api, c.model_id, c.stream, "     \
	"c.status, c.http_status, c.prompt_tokens, c.completion_tokens, "      \
	"c.charge, c.latency_ms, k.public_id, c.body_bytes, c.truncated"

/* clang-format off */
const struct stmt_row q_conv_stmts[] = {
	{ STMT_CONV_LIST, "SELECT " CONV_COLS " FROM conversations c LEFT JOIN api_keys k ON k.id = c.api_key_id WHERE c.user_id = ? AND (? = 0 OR c.id < ?) AND (? = '' OR c.created_at >= ?) AND (? = '' OR c.created_at < ?) AND (? = '' OR c.model_id = ?) ORDER BY c.id DESC LIMIT ?", DB_SF_READ },
	{ STMT_CONV_GET, "SELECT " CONV_COLS ", c.body FROM conversations c LEFT JOIN api_keys k ON k.id = c.api_key_id WHERE c.request_id = ? AND c.user_id = ?", DB_SF_READ },
	{ STMT_CONV_DELETE, "DELETE FROM conversations WHERE request_id = ? AND user_id = ?", DB_SF_HOT },
	{ STMT_CONV_DELETE_USER, "DELETE FROM conversations WHERE user_id = ?", DB_SF_HOT },
	/* The oldest first, a bounded bite: the purge never holds locks long. */
	{ STMT_CONV_PURGE, "DELETE FROM conversations WHERE created_at < NOW(6) - INTERVAL ? DAY ORDER BY created_at LIMIT ?", DB_SF_HOT | DB_SF_RETRY },
	/*
	 * A record written out after its account was deleted (the deletion
	 * took the rest in its transaction): the accounts of the last day
	 * only, so the users scanned stay few; later ones go by retention.
	 */
	{ STMT_CONV_PURGE_GONE, "DELETE FROM conversations WHERE user_id IN (SELECT id FROM users WHERE status = 'deleted' AND deleted_at > NOW(6) - INTERVAL 1 DAY) LIMIT ?", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_CONV_USER_SET, "UPDATE users SET conversation_log = ? WHERE id = ?", 0 },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

static void
row_of(const struct db_val *v, struct conv_row *r)
{
	*r = (struct conv_row){
	    .id = v[0].i,
	    .request_id = q_str(&v[1]),
	    .created_at = q_str(&v[2]),
	    .level = q_str(&v[3]),
	    .api = q_str(&v[4]),
	    .model = q_str(&v[5]),
	    .stream = v[6].i != 0,
	    .status = q_str(&v[7]),
	    .http_status = v[8].i,
	    .prompt = v[9].i,
	    .completion = v[10].i,
	    .charge = v[11].i,
	    .latency_ms = v[12].i,
	    .key_pub = q_str(&v[13]),
	    .body_bytes = v[14].i,
	    .truncated = v[15].i != 0,
	};
}

enum tg_err
q_conv_list(struct db_conn *c, struct arena *a, const struct conv_query *q,
    struct conv_row **out, size_t *n)
{
	const char *from = q->from != NULL ? q->from : "",
		   *to = q->to != NULL ? q->to : "",
		   *model = q->model != NULL ? q->model : "";
	struct db_val p[10] = {DB_I64(q->user_id), DB_I64(q->before_id),
	    DB_I64(q->before_id), DB_STR(from), DB_STR(from), DB_STR(to),
	    DB_STR(to), DB_STR(model), DB_STR(model), DB_I64(q->limit)};
	struct db_rows rows;
	struct conv_row *r;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_CONV_LIST, p, 10, &rows, a)) != TG_OK)
		return rc;
	if ((r = arena_calloc(a, rows.nrows + 1, sizeof(*r))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++)
		row_of(&rows.v[i * rows.ncols], &r[i]);
	*out = r;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_conv_get(struct db_conn *c, struct arena *a, int64_t user_id,
    const char *request_id, struct conv_row *r)
{
	struct db_val p[2] = {DB_STR(request_id), DB_I64(user_id)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_CONV_GET, p, 2, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	row_of(rows.v, r);
	if (rows.v[16].type == DBT_STR) {
		r->body = (const unsigned char *)rows.v[16].s;
		r->body_len = rows.v[16].len;
	}
	return TG_OK;
}

enum tg_err
q_conv_delete(
    struct db_conn *c, struct arena *a, int64_t user_id, const char *request_id)
{
	struct db_val p[2] = {DB_STR(request_id), DB_I64(user_id)};
	struct db_rows res;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_CONV_DELETE, p, 2, &res, a)) != TG_OK)
		return rc;
	return res.affected == 1 ? TG_OK : TG_ENOENT;
}

enum tg_err
q_conv_delete_user(struct db_conn *c, struct arena *a, int64_t user_id)
{
	struct db_val p = DB_I64(user_id);

	return db_exec(c, STMT_CONV_DELETE_USER, &p, 1, NULL, a);
}

enum tg_err
q_conv_purge(struct db_conn *c, struct arena *a, unsigned days, unsigned limit,
    int64_t *n)
{
	struct db_val p[2] = {DB_I64(days), DB_I64(limit)};
	struct db_rows res;
	enum tg_err rc;

	*n = 0;
	if ((rc = db_exec(c, STMT_CONV_PURGE, p, 2, &res, a)) != TG_OK)
		return rc;
	*n += (int64_t)res.affected;
	if ((rc = db_exec(c, STMT_CONV_PURGE_GONE, &p[1], 1, &res, a)) != TG_OK)
		return rc;
	*n += (int64_t)res.affected;
	return TG_OK;
}

enum tg_err
q_conv_user_set(
    struct db_conn *c, struct arena *a, int64_t user_id, const char *level)
{
	struct db_val p[2] = {DB_STR(level), DB_I64(user_id)};

	return db_exec(c, STMT_CONV_USER_SET, p, 2, NULL, a);
}
