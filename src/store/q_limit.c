/* q_limit.c: rate-limit rules and the shared-window counters: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "io/db.h"
#include "store/q_limit.h"
#include "store/stmt.h"
#include "core/arena.h"
#include "store/q_row.h"
#include "store/q_rule.h"

/* clang-format off */
const struct stmt_row q_limit_stmts[] = {
	{ STMT_LIMIT_UPSERT, "INSERT INTO rate_limit_rules (user_id, key_id, model, requests_per_minute, requests_per_hour, requests_per_day, tokens_per_minute, tokens_per_hour, tokens_per_day, max_concurrent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE requests_per_minute = VALUES(requests_per_minute), requests_per_hour = VALUES(requests_per_hour), requests_per_day = VALUES(requests_per_day), tokens_per_minute = VALUES(tokens_per_minute), tokens_per_hour = VALUES(tokens_per_hour), tokens_per_day = VALUES(tokens_per_day), max_concurrent = VALUES(max_concurrent)", 0 },
	{ STMT_LIMIT_GET, "SELECT requests_per_minute, requests_per_hour, requests_per_day, tokens_per_minute, tokens_per_hour, tokens_per_day, max_concurrent FROM rate_limit_rules WHERE user_id = ? AND key_id = ? AND model = ?", DB_SF_READ },
	{ STMT_LIMIT_LIST_KEYS, "SELECT k.public_id, r.requests_per_minute, r.requests_per_hour, r.requests_per_day, r.tokens_per_minute, r.tokens_per_hour, r.tokens_per_day, r.max_concurrent, r.model FROM rate_limit_rules r JOIN api_keys k ON k.id = r.key_id WHERE r.user_id = ? AND r.key_id <> 0 AND k.revoked_at IS NULL ORDER BY k.id, r.model", DB_SF_READ },
	{ STMT_RATE_RULES, "SELECT key_id, requests_per_minute, requests_per_hour, requests_per_day, tokens_per_minute, tokens_per_hour, tokens_per_day, max_concurrent, model FROM rate_limit_rules WHERE user_id = ? AND ((key_id = 0 AND model = '') OR (key_id = ? AND (model = '' OR model = ?)))", DB_SF_READ | DB_SF_CACHE },
	{ STMT_RATE_TAKE, "INSERT INTO rate_windows (subject, lim, win, used) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE used = IF(used + VALUES(used) <= ?, used + VALUES(used), used)", DB_SF_HOT },
	{ STMT_RATE_PRUNE, "DELETE FROM rate_windows WHERE lim = ? AND win < ?", DB_SF_HOT },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_rate_take(struct db_conn *c, struct arena *a, uint64_t subject, int lim,
    int64_t win, int64_t amount, int64_t cap, int *taken)
{
	struct db_val p[5] = {DB_I64((int64_t)subject), DB_I64(lim),
	    DB_I64(win), DB_I64(amount), DB_I64(cap)};
	struct db_rows rows;
	enum tg_err rc;

	*taken = 0;
	if ((rc = db_exec(c, STMT_RATE_TAKE, p, 5, &rows, a)) != TG_OK)
		return rc;
	/*
	 * MariaDB reports 1 row for an insert, 2 for a change and 0 when the
	 * guard left the row as it was.
	 */
	*taken = rows.affected > 0;
	return TG_OK;
}

enum tg_err
q_rate_prune(struct db_conn *c, struct arena *a, int lim, int64_t before)
{
	struct db_val p[2] = {DB_I64(lim), DB_I64(before)};

	return db_exec(c, STMT_RATE_PRUNE, p, 2, NULL, a);
}

/* The Q_LIMITS values from v (NULL: none). */
static void
rule_limits(const struct db_val *v, int64_t lim[Q_LIMITS])
{
	size_t i;

	for (i = 0; i < Q_LIMITS; i++)
		lim[i] = q_i64(&v[i], -1);
}

enum tg_err
q_rule_get(struct db_conn *c, struct arena *a, int64_t user, int64_t key,
    const char *model, struct limit_rule *r)
{
	struct db_val p[3] = {DB_I64(user), DB_I64(key), DB_STR(model)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LIMIT_GET, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*r = (struct limit_rule){.key_id = key, .model = model};
	rule_limits(rows.v, r->lim);
	return TG_OK;
}

enum tg_err
q_rule_set(struct db_conn *c, struct arena *a, int64_t user, int64_t key,
    const char *model, const int64_t lim[Q_LIMITS])
{
	struct db_val p[3 + Q_LIMITS];
	size_t i;

	p[0] = DB_I64(user);
	p[1] = DB_I64(key);
	p[2] = DB_STR(model);
	for (i = 0; i < Q_LIMITS; i++)
		p[3 + i] = lim[i] >= 0 ? DB_I64(lim[i]) : DB_NULLV;
	return db_exec(c, STMT_LIMIT_UPSERT, p, 3 + Q_LIMITS, NULL, a);
}

enum tg_err
q_rule_list_keys(struct db_conn *c, struct arena *a, int64_t user,
    struct limit_rule **out, size_t *n)
{
	struct db_val p = DB_I64(user);
	const struct db_val *v;
	struct db_rows rows;
	struct limit_rule *r;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LIMIT_LIST_KEYS, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if ((r = arena_calloc(a, rows.nrows + 1, sizeof(*r))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		r[i].key_pub = q_str(&v[0]);
		rule_limits(&v[1], r[i].lim);
		r[i].model =
		    v[1 + Q_LIMITS].type == DBT_STR ? v[1 + Q_LIMITS].s : "";
	}
	*out = r;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_rule_in_force(struct db_conn *c, struct arena *a, int64_t user, int64_t key,
    const char *model, struct limit_rule **out, size_t *n)
{
	struct db_val p[3] = {DB_I64(user), DB_I64(key), DB_STR(model)};
	const struct db_val *v;
	struct db_rows rows;
	struct limit_rule *r;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_RATE_RULES, p, 3, &rows, a)) != TG_OK)
		return rc;
	if ((r = arena_calloc(a, rows.nrows + 1, sizeof(*r))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		r[i].key_id = v[0].i;
		rule_limits(&v[1], r[i].lim);
		r[i].model =
		    v[1 + Q_LIMITS].type == DBT_STR ? v[1 + Q_LIMITS].s : "";
	}
	*out = r;
	*n = rows.nrows;
	return TG_OK;
}
