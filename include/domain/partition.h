/* partition.h: usage_records' monthly partitions: made ahead, old months retired by policy */
/* SPDX-License-Identifier: MIT */
#ifndef PARTITION_H
#define PARTITION_H

#include <stdio.h>
#include <time.h>

struct arena;
struct db_conn;

/*
 * Make sure the month of now and the `ahead` months after it have a
 * partition each (p_future split).  0, or -1 said on stderr.
 */
int partition_ahead(
    struct db_conn *, struct arena *, unsigned ahead, time_t now, FILE *out);

/*
 * Retire every partition wholly older than `months` months before now's
 * month (0: keep everything): its records are moved out of usage_records,
 * their charges kept in usage_retired (ledger check stays exact; the daily
 * rollup keeps their sums), then archived as table usage_archive_<part> or
 * dropped.  A retirement a previous run left half done is finished first.
 * A partition with records not yet rolled up waits.  0, or -1 on stderr.
 */
int partition_retire(struct db_conn *, struct arena *, unsigned months,
    int archive, time_t now, FILE *out);

#endif
