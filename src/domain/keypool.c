/* keypool.c: upstream key health and per-key limits, shared by a node's processes */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "domain/keypool.h"
#include "io/shm.h"
#include "core/util.h"

/*
 * One entry per upstream key in a file every worker maps, behind the region's
 * robust lock.  Counters are fixed windows (the UTC minute and day), which is
 * how providers count free tiers; health is a cool-down after 429s and a
 * circuit breaker after consecutive failures, so one transient error never
 * takes a key out of the rotation.
 */
#define POOL_VERSION 2
#define NENTRIES     2048
#define PROBES	     32
#define PROBE_STALE                                                            \
	120 /* s after which a probe that never reported is retried */
#define RATE_BACKOFF_MAX 60

struct entry {
	int64_t id; /* 0: free */
	double last_used;
	double cooldown_until;
	double open_until;
	double probe_at;
	int64_t day, used_day;
	int64_t minute, used_minute;
	int32_t circuit;
	int32_t failures;
	int32_t probing;
	int32_t rate_strikes;
	int32_t open_s;
	int32_t pad;
	char last_error[160];
};

/* Time to first token of a deployment (model on provider), smoothed. */
struct lat {
	uint64_t key; /* 0: free */
	double ewma_ms;
	int64_t n;
};

#define NLAT	  1024
#define LAT_ALPHA 0.3 /* weight of the newest sample */

struct table {
	struct entry e[NENTRIES];
	struct lat l[NLAT];
};

struct pool {
	struct shm *shm;
	struct table *t;
	int fails_to_open;
	int open_s;
};

struct pool *
keypool_open(const char *path, unsigned fails_to_open, unsigned open_s)
{
	struct pool *p;
	char err[256];

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->fails_to_open = (int)fails_to_open;
	p->open_s = (int)open_s;
	if (path == NULL ||
	    (p->shm = shm_attach(path, POOL_VERSION, sizeof(struct table), err,
		 sizeof(err))) == NULL) {
		if (path != NULL)
			log_msg(LOG_ERR,
			    "upstream key pool: %s; health and per-key limits "
			    "are kept per process",
			    err);
		if ((p->shm = shm_private(sizeof(struct table))) == NULL) {
			free(p);
			return NULL;
		}
	}
	p->t = shm_data(p->shm);
	return p;
}

void
keypool_close(struct pool *p)
{
	if (p == NULL)
		return;
	shm_detach(p->shm);
	free(p);
}

static struct entry *
find(struct table *t, int64_t id, int create)
{
	size_t i,
	    at = (size_t)((uint64_t)id * 11400714819323198485ULL >> 53) %
	    NENTRIES;
	struct entry *e, *stale = NULL;

	for (i = 0; i < PROBES; i++) {
		e = &t->e[(at + i) % NENTRIES];
		if (e->id == id)
			return e;
		if (e->id == 0) {
			if (!create)
				return NULL;
			stale = e;
			break;
		}
		if (stale == NULL || e->last_used < stale->last_used)
			stale = e;
	}
	if (!create || stale == NULL)
		return NULL;
	memset(stale, 0, sizeof(*stale));
	stale->id = id;
	return stale;
}

/* Roll the minute and day windows forward. */
static void
roll(struct entry *e, double now)
{
	int64_t day = (int64_t)(now / 86400), minute = (int64_t)(now / 60);

	if (e->day != day) {
		e->day = day;
		e->used_day = 0;
	}
	if (e->minute != minute) {
		e->minute = minute;
		e->used_minute = 0;
	}
}

static void
note_wait(double *best, double w)
{
	if (w >= 0 && (*best < 0 || w < *best))
		*best = w;
}

/*
 * 0 when e may be used now; else the wait in seconds (-1: not today).
 * *health: 1 when the key rests for its health (cooling down after a 429,
 * or its circuit open), 2 when only for its circuit, 0 when merely paced.
 */
static double
blocked(
    const struct entry *e, const struct pool_key *k, double now, int *health)
{
	double w = 0;

	*health = 1;
	if (e->cooldown_until > now)
		return e->cooldown_until - now;
	*health = 2;
	if (e->circuit == PC_OPEN && now < e->open_until)
		return e->open_until - now;
	if (e->probing && now - e->probe_at < PROBE_STALE)
		return 1; /* one probe at a time while half-open */
	*health = 1;
	if (k->rpd >= 0 && e->used_day >= k->rpd)
		return (double)((e->day + 1) * 86400) - now;
	*health = 0; /* sound, only paced */
	if (k->rpm >= 0 && e->used_minute >= k->rpm)
		w = (double)((e->minute + 1) * 60) - now;
	if (k->min_interval_ms > 0 &&
	    e->last_used + (double)k->min_interval_ms / 1000 > now) {
		double s =
		    e->last_used + (double)k->min_interval_ms / 1000 - now;

		if (s > w)
			w = s;
	}
	return w;
}

int
keypool_choose(struct pool *p, const struct pool_key *keys, size_t n,
    double *wait_s, double *paced)
{
	struct entry *e, *best = NULL;
	double now = util_wall(), w;
	size_t i;
	int pick = -1, health, circuits = 0, blocked_n = 0;

	*wait_s = -1;
	*paced = -1;
	shm_lock(p->shm);
	for (i = 0; i < n; i++) {
		if ((e = find(p->t, keys[i].id, 1)) == NULL)
			continue;
		roll(e, now);
		if ((w = blocked(e, &keys[i], now, &health)) > 0) {
			blocked_n++;
			circuits += health == 2;
			note_wait(wait_s, w);
			if (!health)
				note_wait(paced, w);
			continue;
		}
		if (best == NULL || e->last_used < best->last_used) {
			best = e;
			pick = (int)i;
		}
	}
	if (best != NULL) {
		best->last_used = now;
		best->used_day++;
		best->used_minute++;
		if (best->circuit != PC_CLOSED) {
			/* Due a probe: this request is it. */
			best->circuit = PC_HALF_OPEN;
			best->probing = 1;
			best->probe_at = now;
		}
		*wait_s = 0;
	}
	shm_unlock(p->shm);
	/* Every key's circuit is open: the provider is failing, not busy. */
	if (pick < 0 && blocked_n > 0 && circuits == blocked_n)
		return -2;
	return pick;
}

void
keypool_report(struct pool *p, int64_t key_id, enum pool_outcome o,
    int64_t retry_after_s, const char *error)
{
	struct entry *e;
	double now = util_wall(), back;

	shm_lock(p->shm);
	if ((e = find(p->t, key_id, 1)) == NULL)
		goto out;
	if (error != NULL)
		snprintf(e->last_error, sizeof(e->last_error), "%s", error);
	switch (o) {
	case PO_OK:
	case PO_NEUTRAL:
		if (o == PO_NEUTRAL && !e->probing)
			break;
		e->failures = 0;
		e->rate_strikes = 0;
		e->circuit = PC_CLOSED;
		e->probing = 0;
		e->open_s = 0;
		break;
	case PO_RATE:
		e->rate_strikes++;
		back = retry_after_s > 0
		    ? (double)retry_after_s
		    : (double)(1
			  << (e->rate_strikes < 7 ? e->rate_strikes - 1 : 6));
		if (back > RATE_BACKOFF_MAX && retry_after_s <= 0)
			back = RATE_BACKOFF_MAX;
		e->cooldown_until = now + back;
		e->probing = 0;
		break;
	case PO_AUTH:
		/* The caller disables it for good; keep others off it meanwhile. */
		e->cooldown_until = now + 3600;
		e->probing = 0;
		break;
	case PO_FAIL:
		e->failures++;
		if (e->circuit == PC_HALF_OPEN) {
			e->open_s = e->open_s * 2 > POOL_OPEN_MAX_S
			    ? POOL_OPEN_MAX_S
			    : e->open_s * 2;
		} else if (e->failures >= p->fails_to_open) {
			e->open_s = p->open_s;
		} else {
			break;
		}
		if (e->open_s == 0)
			e->open_s = p->open_s;
		e->circuit = PC_OPEN;
		e->open_until = now + e->open_s;
		e->probing = 0;
		break;
	}
out:
	shm_unlock(p->shm);
}

void
keypool_state(struct pool *p, int64_t key_id, struct pool_state *st)
{
	struct entry *e;
	double now = util_wall();

	memset(st, 0, sizeof(*st));
	shm_lock(p->shm);
	if ((e = find(p->t, key_id, 0)) != NULL) {
		roll(e, now);
		st->used_today = e->used_day;
		st->used_minute = e->used_minute;
		st->last_used = e->last_used;
		st->cooldown_until =
		    e->cooldown_until > now ? e->cooldown_until : 0;
		st->circuit = (enum pool_circuit)e->circuit;
		if (st->circuit == PC_OPEN && now >= e->open_until)
			st->circuit = PC_HALF_OPEN; /* due its probe */
		st->open_until = e->open_until;
		st->failures = e->failures;
		memcpy(st->last_error, e->last_error, sizeof(st->last_error));
	}
	shm_unlock(p->shm);
}

void
keypool_heal(struct pool *p, int64_t key_id)
{
	struct entry *e;

	shm_lock(p->shm);
	if ((e = find(p->t, key_id, 0)) != NULL) {
		e->cooldown_until = 0;
		e->circuit = PC_CLOSED;
		e->failures = 0;
		e->probing = 0;
		e->rate_strikes = 0;
		e->open_s = 0;
		e->last_error[0] = '\0';
	}
	shm_unlock(p->shm);
}

static uint64_t
lat_key(const char *model, const char *provider)
{
	uint64_t h = util_fnv1a(UTIL_FNV_SEED, model, strlen(model));

	h = util_fnv1a(h, "|", 1);
	h = util_fnv1a(h, provider, strlen(provider));
	return h != 0 ? h : 1;
}

static struct lat *
lat_find(struct table *t, uint64_t key, int create)
{
	size_t i, idx;

	for (i = 0; i < PROBES; i++) {
		idx = (size_t)((key + i) % NLAT);
		if (t->l[idx].key == key)
			return &t->l[idx];
		if (t->l[idx].key == 0) {
			if (!create)
				return NULL;
			t->l[idx].key = key;
			return &t->l[idx];
		}
	}
	return NULL; /* full near here: this one goes unmeasured */
}

void
keypool_latency_note(
    struct pool *p, const char *model, const char *provider, double ms)
{
	struct lat *l;

	if (ms < 0)
		return;
	shm_lock(p->shm);
	if ((l = lat_find(p->t, lat_key(model, provider), 1)) != NULL) {
		l->ewma_ms = l->n == 0
		    ? ms
		    : LAT_ALPHA * ms + (1 - LAT_ALPHA) * l->ewma_ms;
		l->n++;
	}
	shm_unlock(p->shm);
}

double
keypool_latency(struct pool *p, const char *model, const char *provider)
{
	struct lat *l;
	double ms = -1;

	shm_lock(p->shm);
	if ((l = lat_find(p->t, lat_key(model, provider), 0)) != NULL &&
	    l->n > 0)
		ms = l->ewma_ms;
	shm_unlock(p->shm);
	return ms;
}
