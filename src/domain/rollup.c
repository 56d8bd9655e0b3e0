/* rollup.c: daily usage rollups: the housekeeper's incremental fold of usage_records */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "domain/rollup.h"
#include "io/db.h"
#include "store/q_rollup.h"

/*
 * Why the wait: an id is taken when a record's INSERT starts, and another
 * writer may commit a higher id first.  Folding only ids that MAX(id) showed
 * lag_s seconds ago leaves that instant to every writer; the fold's locking
 * read then waits for any of them still uncommitted.  A record is thus
 * either under the watermark and in usage_daily, or above it and read raw.
 */
enum tg_err
rollup_step(struct db_conn *c, struct arena *a, int64_t lag_s, int64_t bite,
    int64_t *folded, int *unripe)
{
	struct rollup_mark m;
	int64_t hi, top;
	int seen_now = 0;
	enum tg_err rc;

	*folded = 0;
	if ((rc = db_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_rollup_mark_lock(c, a, lag_s, &m)) != TG_OK)
		goto out;
	hi = m.last_id;
	if (m.seen_id > m.last_id && m.ripe) {
		hi =
		    m.seen_id - m.last_id > bite ? m.last_id + bite : m.seen_id;
		if ((rc = q_rollup_fill(c, m.last_id, hi)) != TG_OK)
			goto out;
	}
	if (hi >= m.seen_id) {
		if ((rc = q_rollup_max_id(c, a, &top)) != TG_OK)
			goto out;
		seen_now = top > m.seen_id;
		m.seen_id = seen_now ? top : m.seen_id;
	}
	if ((hi != m.last_id || seen_now) &&
	    (rc = q_rollup_mark_set(c, hi, m.seen_id, seen_now)) != TG_OK)
		goto out;
	if ((rc = db_commit(c)) != TG_OK)
		return rc;
	*folded = hi - m.last_id;
	if (unripe != NULL)
		*unripe = m.seen_id > hi;
	return TG_OK;
out:
	db_rollback(c);
	return rc;
}
