/* housekeep.c: the worker supervisor's periodic jobs: a table of {every_ms, fn} */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/convlog.h"
#include "domain/credit.h"
#include "domain/journal.h"
#include "domain/lease.h"
#include "domain/ledger.h"
#include "domain/limits.h"
#include "domain/metrics.h"
#include "domain/or_provision.h"
#include "domain/rollup.h"
#include "http/ctx.h"
#include "io/http_client.h"
#include "io/db.h"
#include "proc/housekeep.h"

/*
 * The supervisor's kept memory.  A tick of the write-out takes about 2 MiB:
 * 1.3 MiB for the read buffer (256 KiB), 512 parsed lines and their rows,
 * then, released after each batch, 0.7 MiB for the statements' bindings
 * (3 840 parameters of 120 bytes for 128 usage rows).  Overflowing it
 * meant a fresh mapping, page faults and an unmap on every tick.
 */
#define HK_ARENA_BYTES	(3u << 20)
#define SWEEP_BATCH	100
#define STOP_LEASES_MS	3000 /* at exit: how long to wait for siblings' lines */
#define CONV_PURGE_BITE 1000 /* issue 18: convlog: rows per DELETE */

/*
 * The supervisor's own connection, kept for the life of the process: the
 * journal's large multi-row statements are prepared on it alone, not on
 * every connection of the pool.
 */
struct db_conn *
housekeep_db(struct tg_ctx *x)
{
	if (x->hk == NULL && db_get(x->db, &x->hk) != TG_OK)
		x->hk = NULL;
	return x->hk;
}

/*
 * The supervisor's memory, kept for the life of the process and reset after
 * each use: a megabyte taken and given back ten times a second cost page
 * faults and heap trims that stalled the request threads.
 */
struct arena *
housekeep_arena(struct tg_ctx *x)
{
	if (x->hk_arena == NULL)
		x->hk_arena = arena_new(HK_ARENA_BYTES);
	return x->hk_arena;
}

/*
 * Close leases: with all, every one of this process's (at exit); else those
 * idle or old, and any a dead process left.
 */
void
housekeep_close_leases(struct tg_ctx *x, int all)
{
	struct db_conn *c;

	if (x->leases == NULL || (c = housekeep_db(x)) == NULL)
		return;
	lease_sweep(x->leases, c, housekeep_arena(x), x->conf->lease_idle, all,
	    all ? 1024 : 16);
	arena_reset(x->hk_arena);
}

/*
 * At exit: the journal out, then every lease this process holds closed.  A
 * lease it holds (or adopts from a process that died) may still count lines
 * a sibling wrote and has not written out yet: the sibling writes them out
 * at its own exit, so look again for a while rather than leave the lease
 * open with nobody to close it (STOP_LEASES_MS).
 */
void
housekeep_stop_leases(struct tg_ctx *x)
{
	struct timespec pause = {0, 50 * 1000 * 1000};
	int i;

	for (i = 0; i < STOP_LEASES_MS / 50; i++) {
		housekeep_flush_journal(x, 1, 1);
		housekeep_close_leases(x, 1);
		if (lease_left(x->leases) == 0)
			break;
		nanosleep(&pause, NULL);
	}
}

/*
 * Write the journal out; with all, until nothing is left (at exit).  While
 * most slots are idle the box has cores to spare for latency, and the rows
 * go in statements of [db] batch_rows (a database on the same box then
 * never holds a core for long); a busy worker writes 128 rows per
 * statement, for throughput.
 */
void
housekeep_flush_journal(struct tg_ctx *x, int all, int busy)
{
	struct db_conn *c;
	int n, rounds = 0;

	if (x->journal == NULL || (c = housekeep_db(x)) == NULL)
		return;
	db_batch_rows(c, busy ? DB_BATCH_MAX : x->conf->db_batch_rows);
	do {
		n = journal_flush(x->journal, c, housekeep_arena(x), x->leases);
		arena_reset(x->hk_arena);
	} while (all && n > 0 && ++rounds < 1000);
}

static void
job_journal(struct tg_ctx *x, int busy)
{
	housekeep_flush_journal(x, 0, busy);
}

static void
job_leases(struct tg_ctx *x, int busy)
{
	(void)busy;
	housekeep_close_leases(x, 0);
}

/*
 * issue 20: leases' grants to their rows (lease_grant_sync), so the sweeper
 * of a machine that crashed charges no more than may have been used.
 */
static void
job_grants(struct tg_ctx *x, int busy)
{
	struct db_conn *c;

	(void)busy;
	if (x->leases == NULL || (c = housekeep_db(x)) == NULL)
		return;
	lease_grant_sync(x->leases, c, housekeep_arena(x));
	arena_reset(x->hk_arena);
}

static void
job_auth(struct tg_ctx *x, int busy)
{
	(void)busy;
	auth_flush(x->db);
}

/*
 * Holds whose time ran out (a worker died mid-request) are settled in full
 * every [chat] sweep_interval seconds (0: never, `tollgate sweep` does it);
 * with global limits, the windows before the previous one are pruned.
 */
static void
job_sweep(struct tg_ctx *x, int busy)
{
	static int64_t last;
	unsigned every = x->conf->sweep_interval, n = 0;
	int64_t now = (int64_t)util_now();
	const char *dirs[3];
	struct db_conn *c;

	(void)busy;
	if (every == 0 || now - last < every)
		return;
	last = now;
	if ((c = housekeep_db(x)) == NULL)
		return;
	housekeep_journal_dirs(x->conf, housekeep_arena(x), dirs);
	if (credit_sweep(c, housekeep_arena(x), dirs, SWEEP_BATCH, &n) ==
		TG_OK &&
	    n > 0)
		log_msg(LOG_INFO, "swept %u expired hold(s)", n);
	if (x->conf->limits_global)
		rate_prune(c, housekeep_arena(x), now);
	arena_reset(x->hk_arena);
}

/*
 * issue 18: openrouter.  Users' own OpenRouter keys follow their balances
 * here, batched, not on the request path; deleted users' keys are deleted.
 */
static void
job_or_keys(struct tg_ctx *x, int busy)
{
	static struct http_client *http;
	struct db_conn *c;

	(void)busy; /* a busy worker syncs too: the balances move most then */
	if (x->conf->or_provisioning_key_file == NULL)
		return;
	if (http == NULL && (http = http_client_new()) == NULL)
		return;
	if ((c = housekeep_db(x)) == NULL)
		return;
	or_provision_sync(c, housekeep_arena(x), x->conf, http);
	arena_reset(x->hk_arena);
}

/*
 * issue 18: convlog: conversations older than [logging] retention_days, and
 * those of deleted accounts (a record written out after its account went),
 * in bites of CONV_PURGE_BITE, each minute.
 */
static void
job_conv_purge(struct tg_ctx *x, int busy)
{
	struct db_conn *c;
	int64_t n = 0, total = 0;
	int rounds = 0;

	(void)busy;
	if ((c = housekeep_db(x)) == NULL)
		return;
	while (convlog_purge(c, housekeep_arena(x), x->conf->retention_days,
		   CONV_PURGE_BITE, &n) == TG_OK &&
	    (total += n, n >= CONV_PURGE_BITE) && ++rounds < 10)
		arena_reset(x->hk_arena);
	arena_reset(x->hk_arena);
	if (total > 0)
		log_msg(
		    LOG_INFO, "purged %lld conversation(s)", (long long)total);
}

/*
 * issue 19: scale: usage_records folded into usage_daily (the monitor's,
 * bills' and chart's source), a bite each 5 s; two nodes take turns on
 * the watermark's row lock.
 */
static void
job_rollup(struct tg_ctx *x, int busy)
{
	struct db_conn *c;
	int64_t n = 0;

	(void)busy;
	if ((c = housekeep_db(x)) == NULL)
		return;
	if (rollup_step(c, housekeep_arena(x), ROLLUP_LAG_S, ROLLUP_BITE, &n,
		NULL) != TG_OK)
		log_msg(LOG_WARN, "usage rollup: %s", db_error(c));
	arena_reset(x->hk_arena);
}

/* issue 19: obs: the figures /metrics reads from the housekeeper. */
static void
job_metrics(struct tg_ctx *x, int busy)
{
	(void)busy;
	metrics_housekeep(
	    housekeep_db(x), housekeep_arena(x), x->leases, x->journal);
	arena_reset(x->hk_arena);
}

/* clang-format off */
static const struct hk_job {
	unsigned every_ms;
	void (*fn)(struct tg_ctx *, int busy);
} jobs[] = {
	{ 100,	job_journal }, /* settlements on leases reach the database */
	{ 1000, job_leases },  /* idle leases back, dead processes' closed */
	{ 100,	job_grants },  /* issue 20: leases' grants to their rows */
	{ 1000, job_auth },    /* API keys' last-used times out */
	{ 1000, job_sweep },   /* on its own interval, checked each second */
	{ 2000, job_or_keys }, /* issue 18: openrouter: users' keys' limits */
	{ 60000, job_conv_purge }, /* issue 18: convlog: retention */
	{ 5000, job_rollup },	   /* issue 19: scale: daily usage rollups */
	{ 1000, job_metrics },	/* issue 19: obs: holds, leases, journal */
};
/* clang-format on */
#define NJOBS (sizeof(jobs) / sizeof(jobs[0]))

void
housekeep_tick(struct tg_ctx *x, int busy)
{
	static double last[NJOBS];
	double now = util_now();
	size_t i;

	/* A tick comes every 100 ms; a little early still counts as due. */
	for (i = 0; i < NJOBS; i++) {
		if (last[i] != 0 &&
		    (now - last[i]) * 1000 < jobs[i].every_ms * 0.9)
			continue;
		last[i] = now;
		jobs[i].fn(x, busy);
	}
}

void
housekeep_journal_dirs(
    const struct conf *c, struct arena *a, const char *dirs[3])
{
	dirs[0] = arena_printf(
	    a, "%s/journal", c->state_dir != NULL ? c->state_dir : ".");
	dirs[1] = c->run_dir != NULL && c->state_dir != NULL &&
		strcmp(c->run_dir, c->state_dir) != 0
	    ? arena_printf(a, "%s/journal", c->run_dir)
	    : NULL;
	dirs[2] = NULL;
}
