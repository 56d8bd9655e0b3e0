/* q_partition.h: usage_records' monthly partitions: listing, creating ahead, retiring old ones */
/* SPDX-License-Identifier: MIT */
#ifndef Q_PARTITION_H
#define Q_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct arena;
struct db_conn;

/* A partition name (p_old, pYYYYMM, p_future) and its NUL. */
#define PART_NAME_LEN 16
/* "YYYY-MM-DD" and its NUL. */
#define PART_DATE_LEN 11

/* One partition of usage_records, in order; below "" is MAXVALUE. */
struct part {
	char name[PART_NAME_LEN];
	char below[PART_DATE_LEN];
};

/*
 * usage_records' partitions in order, at most max of them; *n 0: the table
 * is not partitioned.
 */
enum tg_err q_part_list(
    struct db_conn *, struct arena *, struct part *, size_t max, size_t *n);
/* The records with created_at in [lo, hi) (dates): how many, the highest id. */
enum tg_err q_part_range(struct db_conn *, struct arena *, const char *lo,
    const char *hi, int64_t *count, int64_t *max_id);
/* The rollup's watermark: every record up to it is in usage_daily. */
enum tg_err q_part_rolled(struct db_conn *, struct arena *, int64_t *last_id);
/* Whether table name exists in this database. */
enum tg_err q_part_table_exists(
    struct db_conn *, struct arena *, const char *name, int *exists);

/* p_future split: partition name for the month below `below`. */
enum tg_err q_part_add(struct db_conn *, const char *name, const char *below,
    char *err, size_t errlen);
/* p_old and its neighbour `name` (emptied) merged, below `below`. */
enum tg_err q_part_merge(struct db_conn *, const char *name, const char *below,
    char *err, size_t errlen);

/* The retirement of one partition's records (domain/partition.c). */
enum retire_state { RETIRE_NONE, RETIRE_EXCHANGING, RETIRE_SUMMED };
/* The unfinished retirement, if any (*state RETIRE_NONE: none). */
enum tg_err q_retire_open(struct db_conn *, struct arena *, char *key,
    size_t keylen, enum retire_state *state);
/* Start retiring under key (TG_ECONFLICT: key was used before). */
enum tg_err q_retire_start(struct db_conn *, const char *key);
/* Forget a start whose exchange did not happen. */
enum tg_err q_retire_forget(struct db_conn *, const char *key);
/* usage_retiring (the exchanged records): rows, lowest and highest id. */
enum tg_err q_retiring_stat(
    struct db_conn *, struct arena *, int64_t *n, int64_t *lo, int64_t *hi);
/* A fresh, empty, unpartitioned usage_retiring. */
enum tg_err q_retiring_create(struct db_conn *, char *err, size_t errlen);
/* The partition's records moved into usage_retiring (metadata only). */
enum tg_err q_retiring_exchange(
    struct db_conn *, const char *part, char *err, size_t errlen);
/* Their sums into usage_retired under key, and the state summed: one transaction. */
enum tg_err q_retire_sum(struct db_conn *, const char *key, int64_t records);
/* Their request ids out of usage_keys, ids (lo, hi]. */
enum tg_err q_retire_keys(struct db_conn *, int64_t lo, int64_t hi);
/* usage_retiring renamed to archive (NULL: dropped). */
enum tg_err q_retiring_archive(
    struct db_conn *, const char *archive, char *err, size_t errlen);
/* The retirement under key done, its records archived as archive (or NULL). */
enum tg_err q_retire_done(
    struct db_conn *, const char *key, const char *archive);

#endif
