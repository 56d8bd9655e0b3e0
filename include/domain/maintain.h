/* maintain.h: `tollgate maintain`: the usage tables' upkeep, safe from cron on every node */
/* SPDX-License-Identifier: MIT */
#ifndef MAINTAIN_H
#define MAINTAIN_H

#include <stdio.h>

struct conf;

/*
 * Fold every usage record into the daily rollup now (waiting the rollup's
 * few seconds for the newest), printing what it did to out.  Two nodes
 * running it at once take turns on the watermark's row lock.  0 on
 * success, -1 (said on stderr) when the database failed.
 */
int maintain_run(const struct conf *, FILE *out);

#endif
