/* arena.h: per-request bump allocator with deferred cleanups */
/* SPDX-License-Identifier: MIT */
#ifndef ARENA_H
#define ARENA_H

#include <stddef.h>
#include <stdarg.h>
#include <jansson.h>

#include "core/tollgate.h"

struct arena;

/* A new arena whose chunks are at least chunksz bytes; aborts on OOM. */
struct arena *arena_new(size_t chunksz);
/* Memory valid until arena_reset/arena_free; aborts on OOM (sizes are capped by callers). */
void *arena_alloc(struct arena *, size_t);
void *arena_calloc(struct arena *, size_t, size_t);
char *arena_strdup(struct arena *, const char *);
char *arena_strndup(struct arena *, const char *, size_t);
char *arena_printf(struct arena *, const char *, ...) TG_PRINTF(2, 3);
char *arena_vprintf(struct arena *, const char *, va_list) TG_PRINTF(2, 0);
/* Run fn(arg) at reset/free, last registered first. */
void arena_defer(struct arena *, void (*fn)(void *), void *arg);
/* The arena owns one reference of j from now on. */
void arena_defer_json(struct arena *, json_t *j);
/* The arena frees p (from malloc) at reset. */
void arena_defer_free(struct arena *, void *p);
/* Bytes handed out since the last reset. */
size_t arena_used(const struct arena *);
/*
 * A point to come back to: arena_release frees what was allocated since
 * arena_mark (running its defers), so a loop over a long input reuses the
 * same memory instead of growing with the input.
 */
struct arena_mark {
	void *head;
	size_t head_used, used;
	void *defers;
};
void arena_mark(const struct arena *, struct arena_mark *);
void arena_release(struct arena *, const struct arena_mark *);
/*
 * Run defers, release all chunks but the first; after a request that used
 * 1 MiB or more, and more than the first chunk holds, also return the
 * process's freed malloc memory to the system (malloc_trim). The first
 * arena_new fixes glibc's mmap and trim thresholds.
 */
void arena_reset(struct arena *);
/* NULL-safe. */
void arena_free(struct arena *);

#endif
