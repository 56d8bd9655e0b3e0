/* cache.h: per-process copies of hot rows, dropped at once when this node changes them */
/* SPDX-License-Identifier: MIT */
#ifndef CACHE_H
#define CACHE_H

#include <stddef.h>
#include <stdint.h>

/*
 * A bounded table of blobs keyed by bytes.  An entry is good while the node's
 * epoch (a counter in shared memory that every process on the node maps) is
 * the one it was read under, and for at most ttl seconds: a change made on
 * this node bumps the epoch, so every process drops its copies at once; a
 * change made by another node is seen within ttl.
 */
struct cache;
struct arena;

/* NULL when ttl is 0 (no caching) or the epoch file cannot be mapped. */
struct cache *cache_open(const char *epoch_path, unsigned ttl_s,
    unsigned nslots, char *err, size_t errlen);
void cache_close(struct cache *);
/* The epoch to tag a value read now with; read it before the read. */
uint64_t cache_epoch(const struct cache *);
/* Drop every copy on the node (call after the change is committed). */
void cache_bump(struct cache *);
/*
 * A copy of the value for key in a (with one writable byte past *vlen), or
 * NULL when there is no good entry.
 */
void *cache_get(struct cache *, const void *key, size_t klen, struct arena *a,
    size_t *vlen);
/* Keep a copy of val, tagged with epoch (from cache_epoch before the read). */
void cache_put(struct cache *, const void *key, size_t klen, const void *val,
    size_t vlen, uint64_t epoch);

struct cache_stats {
	uint64_t hits, misses, bumps_seen;
};
void cache_stats(const struct cache *, struct cache_stats *);

/*
 * Each process's counters, in the epoch file beside the epoch: a process
 * claims a slot at cache_open (a free one or a dead process's) and gives it
 * back at cache_close.  entries counts the table's slots it filled.
 */
#define CACHE_WORKERS 256
struct cache_worker {
	int32_t pid;
	uint32_t pad_;
	uint64_t entries, hits, misses, bumps_seen;
	double started; /* util_wall() at cache_open */
};
/* The live processes' counters into out (at most max); how many. */
size_t cache_workers(
    const struct cache *, struct cache_worker *out, size_t max);

#endif
