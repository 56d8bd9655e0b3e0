/* partition.c: usage_records' monthly partitions: made ahead, old months retired by policy */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "domain/partition.h"
#include "io/db.h"
#include "store/q_partition.h"

/* Partitions read at most: ten years back and ahead is 240 months. */
#define PARTS_MAX 512
/* Request ids taken out of usage_keys per statement. */
#define KEYS_BITE 20000
/* The retirement's key, the archive's name: "usage_archive_" + key. */
#define KEY_LEN 48

/* Months since year 0 (y * 12 + m - 1), of a time or of "YYYY-MM-DD". */
static int
month_of(time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static int
month_of_date(const char *d)
{
	int y, m;

	return sscanf(d, "%4d-%2d", &y, &m) == 2 ? y * 12 + m - 1 : -1;
}

static void
month_date(int mi, char out[PART_DATE_LEN])
{
	snprintf(out, PART_DATE_LEN, "%04u-%02u-01", (unsigned)mi / 12 % 10000,
	    (unsigned)mi % 12 + 1);
}

static void
month_name(int mi, char out[PART_NAME_LEN])
{
	snprintf(out, PART_NAME_LEN, "p%04u%02u", (unsigned)mi / 12 % 10000,
	    (unsigned)mi % 12 + 1);
}

static int
list(struct db_conn *c, struct arena *a, struct part *p, size_t *n)
{
	if (q_part_list(c, a, p, PARTS_MAX, n) != TG_OK) {
		fprintf(stderr,
		    "tollgate: reading usage_records' partitions: %s\n",
		    db_error(c));
		return -1;
	}
	if (*n < 2 || strcmp(p[*n - 1].name, "p_future") != 0 ||
	    strcmp(p[0].name, "p_old") != 0) {
		fprintf(stderr,
		    "tollgate: usage_records is not partitioned as schema 0022 "
		    "makes it (p_old ... p_future)\n");
		return -1;
	}
	return 0;
}

int
partition_ahead(
    struct db_conn *c, struct arena *a, unsigned ahead, time_t now, FILE *out)
{
	struct part *p;
	char name[PART_NAME_LEN], below[PART_DATE_LEN], err[512];
	int top, want, made = 0;
	size_t n;

	if ((p = arena_alloc(a, PARTS_MAX * sizeof(*p))) == NULL ||
	    list(c, a, p, &n) == -1)
		return -1;
	/* The month below p_future's neighbour's bound is the last one made. */
	top = month_of_date(p[n - 2].below) - 1;
	want = month_of(now) + (int)ahead;
	for (; top < want; top++, made++) {
		month_name(top + 1, name);
		month_date(top + 2, below);
		if (q_part_add(c, name, below, err, sizeof(err)) != TG_OK) {
			fprintf(stderr, "tollgate: adding partition %s: %s\n",
			    name, err);
			return -1;
		}
		fprintf(out, "partitions: %s made (records below %s)\n", name,
		    below);
	}
	if (made == 0)
		fprintf(
		    out, "partitions: %u month(s) ahead already made\n", ahead);
	return 0;
}

/* Take the retired records' ids out of usage_keys, a bite at a time. */
static int
drop_keys(struct db_conn *c, int64_t lo, int64_t hi)
{
	int64_t at;

	for (at = lo - 1; at < hi; at += KEYS_BITE)
		if (q_retire_keys(c, at,
			at + KEYS_BITE > hi ? hi : at + KEYS_BITE) != TG_OK)
			return -1;
	return 0;
}

/*
 * From "summed" on: the keys out, the table archived or dropped, done.  The
 * table may be gone already (a run stopped after renaming it).
 */
static int
finish(
    struct db_conn *c, struct arena *a, const char *key, int archive, FILE *out)
{
	char arch[KEY_LEN + 16], err[512];
	int64_t n = 0, lo = 0, hi = 0;
	int exists;

	snprintf(arch, sizeof(arch), "usage_archive_%s", key);
	if (q_part_table_exists(c, a, "usage_retiring", &exists) != TG_OK)
		goto db;
	if (exists) {
		if (q_retiring_stat(c, a, &n, &lo, &hi) != TG_OK ||
		    (n > 0 && drop_keys(c, lo, hi) == -1))
			goto db;
		if (q_retiring_archive(
			c, archive ? arch : NULL, err, sizeof(err)) != TG_OK) {
			fprintf(
			    stderr, "tollgate: retiring %s: %s\n", key, err);
			return -1;
		}
	}
	if (q_retire_done(c, key, archive ? arch : NULL) != TG_OK)
		goto db;
	if (archive)
		fprintf(out, "retention: %s: %lld record(s) archived as %s\n",
		    key, (long long)n, arch);
	else
		fprintf(out, "retention: %s: %lld record(s) dropped\n", key,
		    (long long)n);
	return 0;
db:
	fprintf(stderr, "tollgate: retiring %s: %s\n", key, db_error(c));
	return -1;
}

/*
 * From "exchanging": usage_retiring holds the records when the exchange
 * happened; empty, it may not have (or the partition was empty): the start is
 * forgotten and the partition found again by the scan.  1: forgotten.
 */
static int
sum(struct db_conn *c, struct arena *a, const char *key)
{
	int64_t n = 0, lo, hi;
	int exists;

	if (q_part_table_exists(c, a, "usage_retiring", &exists) != TG_OK ||
	    (exists && q_retiring_stat(c, a, &n, &lo, &hi) != TG_OK))
		goto db;
	if (n == 0)
		return q_retire_forget(c, key) == TG_OK ? 1 : -1;
	if (q_retire_sum(c, key, n) != TG_OK)
		goto db;
	return 0;
db:
	fprintf(stderr, "tollgate: retiring %s: %s\n", key, db_error(c));
	return -1;
}

/* A retirement left half done by a run that stopped: finished now. */
static int
resume(struct db_conn *c, struct arena *a, int archive, FILE *out)
{
	char key[KEY_LEN];
	enum retire_state st;
	int r;

	if (q_retire_open(c, a, key, sizeof(key), &st) != TG_OK) {
		fprintf(
		    stderr, "tollgate: usage_retire_log: %s\n", db_error(c));
		return -1;
	}
	if (st == RETIRE_NONE)
		return 0;
	if (st == RETIRE_EXCHANGING && (r = sum(c, a, key)) != 0)
		return r == 1 ? 0 : -1;
	return finish(c, a, key, archive, out);
}

/* Move part's records out, sum them, archive or drop them. */
static int
retire_one(struct db_conn *c, struct arena *a, const char *part, int archive,
    time_t now, FILE *out)
{
	char key[KEY_LEN], err[512];
	enum tg_err rc;
	int r;

	snprintf(key, sizeof(key), "%s", part);
	if ((rc = q_retire_start(c, key)) == TG_ECONFLICT) {
		/* Records that came late to a month retired before. */
		snprintf(key, sizeof(key), "%s_%lld", part, (long long)now);
		rc = q_retire_start(c, key);
	}
	if (rc != TG_OK) {
		fprintf(
		    stderr, "tollgate: retiring %s: %s\n", part, db_error(c));
		return -1;
	}
	if (q_retiring_create(c, err, sizeof(err)) != TG_OK ||
	    q_retiring_exchange(c, part, err, sizeof(err)) != TG_OK) {
		fprintf(stderr, "tollgate: retiring %s: %s\n", part, err);
		q_retire_forget(c, key);
		return -1;
	}
	if ((r = sum(c, a, key)) != 0)
		return r == 1 ? 0 : -1;
	return finish(c, a, key, archive, out);
}

/*
 * One step of the retirement scan over a fresh list: 1 something was done
 * (list again), 0 nothing left to do, -1 error.
 */
static int
retire_step(struct db_conn *c, struct arena *a, int cutoff, int archive,
    time_t now, FILE *out)
{
	struct part *p;
	char err[512];
	int64_t count, max_id, rolled;
	size_t n, i;

	if ((p = arena_alloc(a, PARTS_MAX * sizeof(*p))) == NULL ||
	    list(c, a, p, &n) == -1)
		return -1;
	for (i = 0; i + 1 < n && month_of_date(p[i].below) <= cutoff; i++) {
		if (q_part_range(c, a, i == 0 ? "1000-01-01" : p[i - 1].below,
			p[i].below, &count, &max_id) != TG_OK ||
		    q_part_rolled(c, a, &rolled) != TG_OK) {
			fprintf(
			    stderr, "tollgate: retention: %s\n", db_error(c));
			return -1;
		}
		if (count > 0 && max_id > rolled) {
			fprintf(out,
			    "retention: %s waits: records not yet in the "
			    "daily rollup\n",
			    p[i].name);
			return 0;
		}
		if (count > 0)
			return retire_one(c, a, p[i].name, archive, now, out) ==
				0
			    ? 1
			    : -1;
		/* Emptied months fold into p_old: the list stays short. */
		if (i == 1) {
			if (q_part_merge(c, p[1].name, p[1].below, err,
				sizeof(err)) != TG_OK) {
				fprintf(stderr, "tollgate: merging %s: %s\n",
				    p[1].name, err);
				return -1;
			}
			return 1;
		}
	}
	return 0;
}

int
partition_retire(struct db_conn *c, struct arena *a, unsigned months,
    int archive, time_t now, FILE *out)
{
	int r, rounds;

	if (resume(c, a, archive, out) == -1)
		return -1;
	if (months == 0) {
		fprintf(out,
		    "retention: off (usage_months = 0): every record "
		    "is kept\n");
		return 0;
	}
	for (rounds = 0; rounds < PARTS_MAX; rounds++) {
		struct arena_mark m;

		/* Each round lists again: its rows go with it. */
		arena_mark(a, &m);
		r = retire_step(
		    c, a, month_of(now) - (int)months, archive, now, out);
		arena_release(a, &m);
		if (r != 1)
			return r;
	}
	return 0;
}
