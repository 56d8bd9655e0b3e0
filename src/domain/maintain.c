/* maintain.c: `tollgate maintain`: the usage tables' upkeep, safe from cron on every node */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "domain/maintain.h"
#include "domain/partition.h"
#include "domain/rollup.h"
#include "io/db.h"
#include "store/q_schema.h"

/* Partition DDL from two nodes at once would collide: one at a time. */
#define MAINTAIN_LOCK "tollgate-maintain"

/* Bites per run at most: 20 000 bites of ROLLUP_BITE is 10^9 records. */
#define MAINTAIN_BITES_MAX 20000
/* Idle rounds (one a second) waited for the newest ids to ripen. */
#define MAINTAIN_WAIT_S (ROLLUP_LAG_S + 2)

static int
fold_all(struct db_conn *c, struct arena *a, int64_t *total)
{
	int64_t n;
	int bites, idle = 0, unripe = 0;

	*total = 0;
	for (bites = 0; bites < MAINTAIN_BITES_MAX; bites++) {
		if (rollup_step(c, a, ROLLUP_LAG_S, ROLLUP_BITE, &n, &unripe) !=
		    TG_OK)
			return -1;
		arena_reset(a);
		*total += n;
		if (n > 0) {
			idle = 0;
			continue;
		}
		/*
		 * Nothing ripe: the newest ids wait out the lag once; with none
		 * past the watermark there is nothing to wait for (a run from
		 * cron on a quiet node took 7 s for nothing).
		 */
		if (!unripe || ++idle > MAINTAIN_WAIT_S)
			break;
		sleep(1);
	}
	return 0;
}

/* Partitions ahead, then the retention policy, under the lock. */
static int
partitions(const struct conf *conf, struct db_conn *c, struct arena *a,
    time_t now, FILE *out)
{
	int rc;

	/* From cron on every node at once: one does the work, the rest say so. */
	if ((rc = q_lock(c, MAINTAIN_LOCK, 5)) == TG_ETIMEOUT) {
		fprintf(out,
		    "partitions: another tollgate maintain is at work: "
		    "left to it\n");
		return 0;
	}
	if (rc != TG_OK) {
		fprintf(stderr, "tollgate: taking the maintain lock: %s\n",
		    db_error(c));
		return -1;
	}
	rc = partition_ahead(c, a, conf->maint_ahead, now, out);
	if (rc == 0)
		rc = partition_retire(c, a, conf->maint_usage_months,
		    conf->maint_archive, now, out);
	q_unlock(c, MAINTAIN_LOCK);
	return rc;
}

int
maintain_run(const struct conf *conf, time_t now, FILE *out)
{
	struct db_pool *p = NULL;
	struct db_conn *c = NULL;
	struct conf slow;
	struct arena *a = NULL;
	int64_t total = 0;
	int rc = -1;

	/* Folds and partition DDL on a large table outlast a request's timeout. */
	slow = *conf;
	slow.db_read_timeout = slow.db_write_timeout = DB_ADMIN_TIMEOUT;
	if (db_library_init() == -1 || (p = db_pool_new(&slow, 1)) == NULL ||
	    (a = arena_new(64 * 1024)) == NULL)
		goto out;
	if (db_get(p, &c) != TG_OK) {
		fprintf(stderr,
		    "tollgate: the database is unreachable or not "
		    "migrated\n");
		goto out;
	}
	if (fold_all(c, a, &total) == -1) {
		fprintf(stderr, "tollgate: usage rollup: %s\n", db_error(c));
		goto out;
	}
	fprintf(out, "rollup: %lld usage record(s) folded into usage_daily\n",
	    (long long)total);
	arena_reset(a);
	rc = partitions(conf, c, a, now, out);
out:
	if (c != NULL)
		db_put(p, c);
	if (p != NULL)
		db_pool_free(p);
	if (a != NULL)
		arena_free(a);
	return rc;
}
