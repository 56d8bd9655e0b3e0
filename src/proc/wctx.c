/* wctx.c: what one worker process shares between its slots */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "domain/auth.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "domain/audit.h"
#include "io/cache.h"
#include "http/ctx.h"
#include "proc/housekeep.h"
#include "domain/holdq.h"
#include "domain/metrics.h"
#include "proc/wctx.h"
#include "io/db.h"
#include "core/json.h"
#include "domain/journal.h"
#include "domain/lease.h"
#include "core/log.h"
#include "io/shm.h"
#include "domain/keypool.h"
#include "domain/limits.h"
#include "domain/upstream.h"
#include "domain/did.h"

/*
 * The OpenAPI document ships as www/openapi.json; the version is filled in
 * here so the file never drifts from the binary.
 */
static int
load_openapi(struct tg_ctx *x, const struct conf *c)
{
	json_error_t je;
	json_t *doc, *info;
	char *path;
	int rc = -1;

	if (asprintf(&path, "%s/openapi.json", c->www_dir) == -1)
		return -1;
	if ((doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		/* je.text names the file when it cannot be opened. */
		if (je.line > 0)
			log_msg(LOG_WARN,
			    "%s:%d: %s; GET /openapi.json will fail", path,
			    je.line, je.text);
		else
			log_msg(LOG_WARN, "%s; GET /openapi.json will fail",
			    je.text);
		goto out;
	}
	if ((info = json_object_get(doc, "info")) != NULL)
		json_object_set_new(
		    info, "version", json_string(PACKAGE_VERSION));
	if (c->mount_prefix != NULL && *c->mount_prefix != '\0')
		json_object_set_new(doc, "servers",
		    json_pack("[{s:s}]", "url", c->mount_prefix));
	if ((x->openapi = jx_dump(doc)) == NULL)
		goto out;
	x->openapi_len = strlen(x->openapi);
	rc = 0;
out:
	json_decref(doc);
	free(path);
	return rc;
}

/* The counters live in a file every worker process of the node maps. */
static struct rate *
open_rate(const struct conf *c)
{
	struct rate *r;
	char *path = NULL;

	if (c->run_dir != NULL &&
	    asprintf(&path, "%s/tollgate-rate.shm", c->run_dir) == -1)
		return NULL;
	r = rate_open(path);
	free(path);
	return r;
}

static struct pool *
open_pool(const struct conf *c)
{
	struct pool *p;
	char *path = NULL;

	if (c->run_dir != NULL &&
	    asprintf(&path, "%s/tollgate-pool.shm", c->run_dir) == -1)
		return NULL;
	p = keypool_open(path, c->failures_to_open, c->open_seconds);
	free(path);
	return p;
}

/* issue 18 (did): the signatures seen, shared by the node's processes. */
static struct did_cache *
open_did(const struct conf *c)
{
	struct did_cache *d;
	char *path = NULL;

	if (c->run_dir != NULL &&
	    asprintf(&path, "%s/tollgate-did.shm", c->run_dir) == -1)
		return NULL;
	d = did_cache_open(path, DID_CACHE_SLOTS);
	free(path);
	return d;
}

/* Without a usable master key everything but upstream calls still serves. */
static int
load_master(struct tg_ctx *x, const struct conf *c)
{
	char err[256];
	int rc = upstream_master_load(c, x->master, err, sizeof(err));

	if (rc == 0)
		audit_set_key(x->master);
	if (rc == -1)
		log_msg(LOG_ERR, "%s; upstream calls will answer 503", err);
	else if (rc == 1)
		log_msg(LOG_WARN,
		    "no master key ([security] master_key_file or "
		    "TOLLGATE_MASTER_KEY); upstream calls will answer 503");
	return rc == 0;
}

static struct journal *
open_journal(const struct conf *c, struct arena *a)
{
	struct journal *j;
	const char *dirs[3];
	char err[256];

	if (a == NULL)
		return NULL;
	housekeep_journal_dirs(c, a, dirs);
	if ((j = journal_open(dirs[0], c->journal_sync, err, sizeof(err))) ==
	    NULL)
		log_msg(LOG_WARN,
		    "no journal (%s): requests settle in place only (a "
		    "settle that cannot reach the database is lost to the "
		    "sweeper)",
		    err);
	journal_also_adopt(j, dirs[1]); /* issue 20: files left by an upgrade */
	/* issue 20: the exact holds' releases, node-wide (releases.h). */
	if (j != NULL)
		journal_releases(j,
		    c->run_dir != NULL
			? arena_printf(
			      a, "%s/tollgate-releases.shm", c->run_dir)
			: NULL);
	return j;
}

static void
close_journal(struct tg_ctx *x)
{
	if (x->journal == NULL)
		return;
	journal_close(x->journal, housekeep_db(x), housekeep_arena(x));
	arena_reset(x->hk_arena);
	x->journal = NULL;
}

static struct lease_table *
open_leases(const struct conf *c)
{
	struct lease_table *lt;
	char *path = NULL, err[256];

	if (c->lease_nano == 0 || c->run_dir == NULL ||
	    asprintf(&path, "%s/tollgate-leases.shm", c->run_dir) == -1)
		return NULL;
	if ((lt = lease_open(path, err, sizeof(err))) == NULL)
		log_msg(LOG_WARN,
		    "no credit leases (%s): every request holds "
		    "its own credit",
		    err);
	free(path);
	return lt;
}

/* issue 19: obs: this process's database figures, for /metrics. */
static void
ctx_publish(struct tg_ctx *x)
{
	struct db_stats st;
	unsigned in_use, size;
	uint64_t batches, batched;

	db_stats(x->db, &st);
	db_pool_use(x->db, &in_use, &size);
	metrics_db(in_use, size, st.executed, st.executed_bg, st.cache_hits,
	    st.cache_misses);
	holdq_stats(&batches, &batched);
	metrics_holdq(batches, batched);
}

void
ctx_tick(struct tg_ctx *x, int busy)
{
	housekeep_tick(x, busy);
	ctx_publish(x);
}

int
ctx_shm_check(const struct conf *c)
{
	struct lease_table *lt;
	struct cache *cache = NULL;
	struct rate *r;
	struct pool *p;
	char *path = NULL, err[256];

	r = open_rate(c);
	p = open_pool(c);
	lt = open_leases(c);
	if (c->cache_ttl != 0 && c->run_dir != NULL &&
	    asprintf(&path, "%s/tollgate-cache.shm", c->run_dir) != -1 &&
	    (cache = cache_open(path, c->cache_ttl, 64, err, sizeof(err))) ==
		NULL)
		log_msg(LOG_ERR, "row cache: %s", err);
	free(path);
	cache_close(cache);
	lease_close_table(lt);
	keypool_close(p);
	rate_close(r);
	if (shm_refused() == 0)
		return 0;
	log_msg(LOG_ERR,
	    "refusing to start: a shared-memory file in %s is not "
	    "tollgate's (see above)",
	    c->run_dir);
	return -1;
}

int
ctx_init(struct tg_ctx *x, const struct conf *c)
{
	unsigned pool;

	memset(x, 0, sizeof(*x));
	x->conf = c;
	x->started = time(NULL);
	/* A missing document degrades one route, not the service. */
	load_openapi(x, c);
	x->have_master = load_master(x, c);
	if ((x->rate = open_rate(c)) == NULL ||
	    (x->pool = open_pool(c)) == NULL)
		return -1;
	/*
	 * Two more than the slots: the supervisor's housekeeping (ctx_tick)
	 * and the fast lane's /health (worker.c).
	 */
	pool = c->db_pool_size != 0 ? c->db_pool_size : c->threads + 2;
	if ((x->db = db_pool_new(c, pool)) == NULL)
		return -1;
	x->leases = open_leases(c);
	if (c->did_enabled && (x->did = open_did(c)) == NULL)
		return -1;
	/*
	 * Leases or not: an exact hold whose settle cannot reach the database
	 * is settled into the journal too (credit.c journal_exact).
	 */
	if (c->state_dir != NULL) {
		x->journal = open_journal(c, housekeep_arena(x));
		arena_reset(x->hk_arena);
	}
	metrics_open(c->run_dir); /* issue 19: obs (a no-op under the master) */
	/* A file swapped in since the start: stop rather than share it. */
	if (shm_refused() != 0)
		return -1;
	return 0;
}

void
ctx_fini(struct tg_ctx *x)
{
	if (x->db != NULL) {
		auth_flush(x->db);
		housekeep_stop_leases(x);
		close_journal(x);
	}
	if (x->hk != NULL)
		db_put(x->db, x->hk);
	arena_free(x->hk_arena);
	lease_close_table(x->leases);
	did_cache_close(x->did);
	db_pool_free(x->db);
	rate_close(x->rate);
	keypool_close(x->pool);
	free(x->openapi);
	crypto_wipe(x->master, sizeof(x->master));
	memset(x, 0, sizeof(*x));
}
