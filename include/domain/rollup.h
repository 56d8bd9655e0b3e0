/* rollup.h: daily usage rollups: the housekeeper's incremental fold of usage_records */
/* SPDX-License-Identifier: MIT */
#ifndef ROLLUP_H
#define ROLLUP_H

#include <stdint.h>

#include "core/tollgate.h"

struct arena;
struct db_conn;

/* Seconds a read MAX(id) waits before its records are folded. */
#define ROLLUP_LAG_S 5
/* Records folded per transaction at most. */
#define ROLLUP_BITE 50000

/*
 * One step, in one transaction with the watermark row locked (two nodes
 * running it at once take turns): fold the records up to the id seen at
 * least lag_s seconds ago (at most bite of them) into usage_daily and move
 * the watermark; when caught up, note the newest id for a later step.
 * *folded: how many ids the watermark moved; *unripe (may be NULL): records
 * are seen past the watermark, still inside the lag.
 */
enum tg_err rollup_step(struct db_conn *, struct arena *, int64_t lag_s,
    int64_t bite, int64_t *folded, int *unripe);

#endif
