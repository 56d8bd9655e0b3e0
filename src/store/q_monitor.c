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
	/*
	 * issue 19: scale: STMT_USAGE_SUMMARY's sums, every user, from
	 * usage_daily_model and the records it has not reached.
	 */
	{ STMT_MONITOR_BY_DAY, q_usage_system_day_sql, DB_SF_READ | DB_SF_REPLICA },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_monitor_by_day(struct db_conn *c, struct arena *a,
    const struct usage_query *q, struct day_row **out, size_t *n)
{
	struct usage_query all = {.from = q->from,
	    .to = q->to,
	    .model = "",
	    .status = "",
	    .mode = "",
	    .limit = q->limit};

	*n = 0;
	return q_usage_day_model(c, a, STMT_MONITOR_BY_DAY, &all, out, n);
}
