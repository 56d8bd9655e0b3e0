/* maintain.h: `tollgate maintain`: the usage tables' upkeep, safe from cron on every node */
/* SPDX-License-Identifier: MIT */
#ifndef MAINTAIN_H
#define MAINTAIN_H

#include <stdio.h>
#include <time.h>

struct conf;

/*
 * The usage tables' upkeep, now being `now`: fold every usage record into the
 * daily rollup (waiting the rollup's few seconds for the newest), keep
 * [maintain] partitions_ahead months of partitions ahead, and retire the
 * months past [maintain] usage_months (archived or dropped by [maintain]
 * archive), printing what it did to out.  Safe from cron on every node: the
 * rollup takes turns on its watermark's row lock, the partitions on a named
 * lock.  0 on success, -1 (said on stderr) on a failure.
 */
int maintain_run(const struct conf *, time_t now, FILE *out);

#endif
