/* q_monitor.h: system-wide usage for the operator's monitor: every user's records by day and model */
/* SPDX-License-Identifier: MIT */
#ifndef Q_MONITOR_H
#define Q_MONITOR_H

#include <stddef.h>

#include "core/tollgate.h"
#include "store/q_usage.h"

struct arena;
struct db_conn;

/*
 * Every user's records in [q->from, q->to) per UTC day and model, oldest
 * first, at most q->limit lines (q's other filters are not applied): one
 * GROUP BY over usage_records' created_at range.
 */
enum tg_err q_monitor_by_day(struct db_conn *, struct arena *,
    const struct usage_query *, struct day_row **, size_t *n);

#endif
