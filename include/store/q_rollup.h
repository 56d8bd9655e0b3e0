/* q_rollup.h: daily usage rollups: the housekeeper's statements and the readers' day span */
/* SPDX-License-Identifier: MIT */
#ifndef Q_ROLLUP_H
#define Q_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct arena;
struct db_conn;
struct db_val;

/* "YYYY-MM-DD HH:MM:SS" and its NUL. */
#define ROLLUP_TIME_LEN 20

/*
 * A reader's range [from, to) cut in three: the whole UTC days [fa, fb)
 * answered from usage_daily (plus the records past the watermark) and the
 * partial days [from, fa) and [fb, to) read from usage_records.  An
 * unbounded end ("") becomes a far date; with no whole day in the range,
 * fa = fb = to (all of it raw).
 */
struct rollup_span {
	char from[ROLLUP_TIME_LEN], to[ROLLUP_TIME_LEN];
	char fa[ROLLUP_TIME_LEN], fb[ROLLUP_TIME_LEN];
};
void rollup_span(const char *from, const char *to, struct rollup_span *);

/*
 * A reader's three branches, to be summed by the caller's outer SELECT:
 * usage_daily's whole days, the records past the watermark in those days,
 * and every record of the partial days.  where_d / where_r: the same
 * conditions on d (usage_daily) and r (usage_records), with the same
 * parameters; rollup_params lays them out.
 */
#define ROLLUP_UNION(cols_d, cols_r, where_d, where_r)                         \
	ROLLUP_UNION_BY(cols_d, cols_r, where_d, where_r, "", "")
/* The same with each branch grouped (group_d, group_r: "" or " GROUP BY ..."). */
#define ROLLUP_UNION_BY(cols_d, cols_r, where_d, where_r, group_d, group_r)    \
	ROLLUP_UNION_IN(                                                       \
	    "usage_daily", cols_d, cols_r, where_d, where_r, group_d, group_r)
/*
 * The same from another rollup of the same watermark (table: usage_daily or
 * usage_daily_model, which triggers keep equal to usage_daily's sums by day,
 * model, mode and status).
 */
#define ROLLUP_UNION_IN(                                                       \
    table, cols_d, cols_r, where_d, where_r, group_d, group_r)                 \
	cols_d " FROM " table " d WHERE " where_d                              \
	       " AND d.day >= ? AND d.day < ?" group_d " UNION ALL " cols_r    \
	       " FROM usage_rollup_mark m JOIN usage_records r ON r.id > "     \
	       "m.last_id WHERE m.id = 1 AND " where_r                         \
	       " AND r.created_at >= ? AND r.created_at < ?" group_r           \
	       " UNION ALL " cols_r " FROM usage_records r WHERE " where_r     \
	       " AND ((r.created_at >= ? AND r.created_at < ?) OR "            \
	       "(r.created_at >= ? AND r.created_at < ?))" group_r
/*
 * Lay out a ROLLUP_UNION's parameters in p (room for 3 * nw + 8): the nw
 * condition values w before each branch's dates.  Returns how many.
 */
size_t rollup_params(struct db_val *p, const struct db_val *w, size_t nw,
    const struct rollup_span *);

/* The watermark row, locked until the transaction ends. */
struct rollup_mark {
	int64_t last_id, seen_id;
	int ripe; /* seen_id was read at least lag seconds ago */
};
enum tg_err q_rollup_mark_lock(
    struct db_conn *, struct arena *, int64_t lag_s, struct rollup_mark *);
/* Fold the records (lo, hi] into usage_daily. */
enum tg_err q_rollup_fill(struct db_conn *, int64_t lo, int64_t hi);
/* The newest record's id (0: none). */
enum tg_err q_rollup_max_id(struct db_conn *, struct arena *, int64_t *);
/* Move the watermark; seen_now: seen_id was read now. */
enum tg_err q_rollup_mark_set(
    struct db_conn *, int64_t last_id, int64_t seen_id, int seen_now);

#endif
