/* q_monitor.c: system-wide usage for the operator's monitor: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_monitor.h"
#include "store/q_row.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_monitor_stmts[] = {
	{ STMT_MONITOR_BY_DAY, "SELECT DATE_FORMAT(r.created_at, '%Y-%m-%d'), r.model_id, CAST(SUM(r.status <> 'refused') AS SIGNED), CAST(SUM(r.prompt_tokens) AS SIGNED), CAST(SUM(r.completion_tokens) AS SIGNED), CAST(SUM(r.base_cost) AS SIGNED), CAST(SUM(r.commission) AS SIGNED), CAST(SUM(r.charge) AS SIGNED), CAST(SUM(r.status = 'refused') AS SIGNED) FROM usage_records r WHERE r.created_at >= ? AND r.created_at < ? GROUP BY DATE(r.created_at), r.model_id ORDER BY 1, 2 LIMIT ?", DB_SF_READ | DB_SF_REPLICA },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_monitor_by_day(struct db_conn *c, struct arena *a,
    const struct usage_query *q, struct day_row **out, size_t *n)
{
	struct db_val p[3] = {DB_STR(q->from), DB_STR(q->to), DB_I64(q->limit)};
	const struct db_val *v;
	struct db_rows rows;
	struct day_row *d;
	size_t i;
	enum tg_err rc;

	*n = 0;
	if ((rc = db_exec(c, STMT_MONITOR_BY_DAY, p, 3, &rows, a)) != TG_OK)
		return rc;
	if ((d = arena_calloc(a, rows.nrows + 1, sizeof(*d))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		d[i] = (struct day_row){q_str(&v[0]), q_str(&v[1]), v[2].i,
		    v[3].i, v[4].i, v[5].i, v[6].i, v[7].i, v[8].i};
	}
	*out = d;
	*n = rows.nrows;
	return TG_OK;
}
