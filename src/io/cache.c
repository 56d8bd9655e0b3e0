/* cache.c: per-process copies of hot rows, dropped at once when this node changes them */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "io/cache.h"
#include "io/shm.h"
#include "core/util.h"

/*
 * Direct-mapped: a key has one slot, and a newer key takes it.  The table is
 * small (hot keys, users, routes), a lookup is one hash and one compare, and
 * there is nothing to evict or age.  Only the epoch is shared; the copies are
 * the process's own, behind one mutex for its threads.
 */
#define EPOCH_VERSION 2		  /* 2: the per-process counters */
#define VALUE_MAX     (16u << 10) /* larger row sets are read each time */

struct slot {
	uint64_t hash;
	uint64_t epoch;
	double expires; /* util_now() */
	size_t klen, vlen;
	unsigned char *kv; /* key then value, one allocation */
};

/*
 * The node's epoch, and each process's counters beside it (written by their
 * owner with atomics, read by anyone: GET /admin/cache-status shows every
 * worker's from whichever worker answers, without the database).
 */
struct epoch_page {
	uint64_t epoch;
	struct cache_worker w[CACHE_WORKERS];
};

struct cache {
	struct shm *shm;
	struct epoch_page *ep;
	double ttl;
	size_t mask;
	struct slot *slots;
	pthread_mutex_t mu;
	struct cache_stats st;
	struct cache_worker *me; /* this process's counters; NULL: no room */
};

static int
pid_alive(int32_t pid)
{
	return util_pid_alive(pid);
}

/* A counter slot for this process: a free one, or a dead process's. */
static struct cache_worker *
claim(struct cache *c)
{
	struct cache_worker *w;
	size_t i;

	for (i = 0; i < CACHE_WORKERS; i++) {
		w = &c->ep->w[i];
		if (w->pid != 0 && pid_alive(w->pid))
			continue;
		memset(w, 0, sizeof(*w));
		w->pid = (int32_t)getpid();
		w->started = util_wall();
		return w;
	}
	return NULL;
}

static void
count(uint64_t *v)
{
	__atomic_add_fetch(v, 1, __ATOMIC_RELAXED);
}

struct cache *
cache_open(const char *epoch_path, unsigned ttl_s, unsigned nslots, char *err,
    size_t errlen)
{
	struct cache *c;
	size_t n = 64;

	if (ttl_s == 0)
		return NULL;
	while (n < nslots && n < (1u << 20))
		n <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->slots = calloc(n, sizeof(*c->slots))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((c->shm = shm_attach(epoch_path, EPOCH_VERSION,
		 sizeof(struct epoch_page), err, errlen)) == NULL)
		goto fail;
	c->ep = shm_data(c->shm);
	/*
	 * A new (or reset) file starts from the clock, not from 0, so no copy
	 * tagged under an older file's epoch can look current.
	 */
	shm_lock(c->shm);
	if (c->ep->epoch == 0)
		c->ep->epoch = (uint64_t)(util_wall() * 1e6);
	c->me = claim(c);
	shm_unlock(c->shm);
	c->ttl = ttl_s;
	c->mask = n - 1;
	pthread_mutex_init(&c->mu, NULL);
	return c;
fail:
	if (c != NULL)
		free(c->slots);
	free(c);
	return NULL;
}

void
cache_close(struct cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i <= c->mask; i++)
		free(c->slots[i].kv);
	free(c->slots);
	/* Given back; a forked child's copy does not own the slot. */
	if (c->me != NULL &&
	    __atomic_load_n(&c->me->pid, __ATOMIC_RELAXED) == (int32_t)getpid())
		__atomic_store_n(&c->me->pid, 0, __ATOMIC_RELEASE);
	shm_detach(c->shm);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

uint64_t
cache_epoch(const struct cache *c)
{
	return c == NULL ? 0 : __atomic_load_n(&c->ep->epoch, __ATOMIC_ACQUIRE);
}

void
cache_bump(struct cache *c)
{
	if (c != NULL)
		__atomic_add_fetch(&c->ep->epoch, 1, __ATOMIC_ACQ_REL);
}

void *
cache_get(struct cache *c, const void *key, size_t klen, struct arena *a,
    size_t *vlen)
{
	uint64_t h = util_fnv1a(0, key, klen), now_epoch = cache_epoch(c);
	struct slot *s;
	void *out = NULL;

	if (c == NULL)
		return NULL;
	pthread_mutex_lock(&c->mu);
	s = &c->slots[h & c->mask];
	if (s->kv != NULL && s->hash == h && s->klen == klen &&
	    memcmp(s->kv, key, klen) == 0) {
		if (s->epoch == now_epoch && util_now() < s->expires) {
			if ((out = arena_alloc(a, s->vlen + 1)) != NULL) {
				memcpy(out, s->kv + klen, s->vlen);
				*vlen = s->vlen;
			}
		} else if (s->epoch != now_epoch) {
			c->st.bumps_seen++;
			if (c->me != NULL)
				count(&c->me->bumps_seen);
		}
	}
	if (out != NULL)
		c->st.hits++;
	else
		c->st.misses++;
	if (c->me != NULL)
		count(out != NULL ? &c->me->hits : &c->me->misses);
	pthread_mutex_unlock(&c->mu);
	return out;
}

void
cache_put(struct cache *c, const void *key, size_t klen, const void *val,
    size_t vlen, uint64_t epoch)
{
	uint64_t h = util_fnv1a(0, key, klen);
	unsigned char *kv;
	struct slot *s;

	if (c == NULL || vlen > VALUE_MAX || epoch != cache_epoch(c))
		return; /* changed while we read: the copy may be stale */
	if ((kv = malloc(klen + vlen)) == NULL)
		return;
	memcpy(kv, key, klen);
	memcpy(kv + klen, val, vlen);
	pthread_mutex_lock(&c->mu);
	s = &c->slots[h & c->mask];
	if (s->kv == NULL && c->me != NULL)
		count(&c->me->entries);
	free(s->kv);
	s->kv = kv;
	s->hash = h;
	s->klen = klen;
	s->vlen = vlen;
	s->epoch = epoch;
	s->expires = util_now() + c->ttl;
	pthread_mutex_unlock(&c->mu);
}

void
cache_stats(const struct cache *c, struct cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return;
	pthread_mutex_lock((pthread_mutex_t *)&c->mu);
	*out = c->st;
	pthread_mutex_unlock((pthread_mutex_t *)&c->mu);
}

size_t
cache_workers(const struct cache *c, struct cache_worker *out, size_t max)
{
	const struct cache_worker *w;
	size_t i, n = 0;

	if (c == NULL)
		return 0;
	for (i = 0; i < CACHE_WORKERS && n < max; i++) {
		w = &c->ep->w[i];
		if (!pid_alive(__atomic_load_n(&w->pid, __ATOMIC_ACQUIRE)))
			continue;
		out[n].pid = w->pid;
		out[n].started = w->started;
		out[n].entries = __atomic_load_n(&w->entries, __ATOMIC_RELAXED);
		out[n].hits = __atomic_load_n(&w->hits, __ATOMIC_RELAXED);
		out[n].misses = __atomic_load_n(&w->misses, __ATOMIC_RELAXED);
		out[n].bumps_seen =
		    __atomic_load_n(&w->bumps_seen, __ATOMIC_RELAXED);
		n++;
	}
	return n;
}
