/* arena.c: per-request bump allocator with deferred cleanups */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/arena.h"

#define ARENA_ALIGN 16
/*
 * A request whose arena reached this many bytes held a large body: its body
 * copies, jansson's nodes for it and the buffers around them were malloc'd
 * in its thread's malloc arena and, once freed, stay resident there until
 * malloc is told to trim (issue 15: 3 MB bodies left a worker at 262 MB).
 */
#define ARENA_TRIM_AT ((size_t)1 << 20)
/* Blocks at least this large are mmap'd, so their free unmaps them. */
#define MMAP_AT ((size_t)256 << 10)

struct chunk {
	struct chunk *next;
	size_t size; /* usable bytes after the header */
	size_t used;
	/* data follows, aligned */
};

struct defer {
	struct defer *next;
	void (*fn)(void *);
	void *arg;
};

struct arena {
	struct chunk
	    *head; /* current chunk; the first chunk is last in the list */
	size_t chunksz;
	size_t used;
	size_t high; /* the most used since the last reset */
	struct defer *defers;
};

#define CHUNK_HDR                                                              \
	((sizeof(struct chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

static void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n)) == NULL) {
		/* Sizes reaching here are capped by callers: OOM is fatal for the worker. */
		fputs("tollgate: out of memory\n", stderr);
		abort();
	}
	return p;
}

static struct chunk *
chunk_new(size_t size)
{
	struct chunk *c;

	c = xmalloc(CHUNK_HDR + size);
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

static pthread_once_t mem_once = PTHREAD_ONCE_INIT;

/*
 * Fixed thresholds turn off glibc's sliding ones: by default the first free
 * of a mmap'd 4 MB block raises the mmap threshold to 4 MB (up to 32 MB),
 * and from then on every large block comes from a thread's heap, where it
 * stays resident after free. Once per process, before the slots start.
 */
static void
mem_policy(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, (int)MMAP_AT);
	mallopt(M_TRIM_THRESHOLD, (int)(2 * MMAP_AT));
#endif
}

/* After a large request: give the freed pages of every malloc arena back. */
static void
mem_trim(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

struct arena *
arena_new(size_t chunksz)
{
	struct arena *a;

	pthread_once(&mem_once, mem_policy);
	if (chunksz < 1024)
		chunksz = 1024;
	a = xmalloc(sizeof(*a));
	a->chunksz = chunksz;
	a->head = chunk_new(chunksz);
	a->used = 0;
	a->high = 0;
	a->defers = NULL;
	return a;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c;
	size_t need;
	char *p;

	need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < n)
		abort();
	if (need == 0)
		need = ARENA_ALIGN;
	c = a->head;
	if (c->size - c->used < need) {
		/* Big requests get a chunk of their own. */
		c = chunk_new(need > a->chunksz ? need : a->chunksz);
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c + CHUNK_HDR + c->used;
	c->used += need;
	a->used += need;
	if (a->used > a->high)
		a->high = a->used;
	return p;
}

void *
arena_calloc(struct arena *a, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		abort();
	p = arena_alloc(a, nmemb * size);
	memset(p, 0, nmemb * size);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p;

	p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return arena_strdup(a, "");
	p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void
arena_defer(struct arena *a, void (*fn)(void *), void *arg)
{
	struct defer *d;

	d = arena_alloc(a, sizeof(*d));
	d->fn = fn;
	d->arg = arg;
	d->next = a->defers;
	a->defers = d;
}

static void
defer_json(void *p)
{
	json_decref(p);
}

void
arena_defer_json(struct arena *a, json_t *j)
{
	if (j != NULL)
		arena_defer(a, defer_json, j);
}

void
arena_defer_free(struct arena *a, void *p)
{
	if (p != NULL)
		arena_defer(a, free, p);
}

size_t
arena_used(const struct arena *a)
{
	return a->used;
}

static void
run_defers(struct arena *a)
{
	struct defer *d;

	/* A defer may register more defers; take the list each round. */
	while ((d = a->defers) != NULL) {
		a->defers = d->next;
		d->fn(d->arg);
	}
}

void
arena_mark(const struct arena *a, struct arena_mark *m)
{
	m->head = a->head;
	m->head_used = a->head->used;
	m->used = a->used;
	m->defers = a->defers;
}

void
arena_release(struct arena *a, const struct arena_mark *m)
{
	struct chunk *c, *next;
	struct defer *d;

	while ((d = a->defers) != NULL && d != m->defers) {
		a->defers = d->next;
		d->fn(d->arg);
	}
	for (c = a->head; c != m->head && c->next != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = c;
	c->used = m->head_used;
	a->used = m->used;
}

void
arena_reset(struct arena *a)
{
	struct chunk *c, *next;
	int big;

	run_defers(a);
	for (c = a->head; c->next != NULL; c = next) {
		next = c->next;
		free(c);
	}
	/*
	 * A small request leaves nothing worth a trim, which locks every arena.
	 * Nor does a use that fit in the first chunk, kept for the next: the
	 * housekeeper's 3 MiB is used past 1 MiB on each journal tick, and a
	 * trim each time gave ~45 pages back that the request threads then
	 * faulted in again, ten times a second.
	 */
	big = a->high >= ARENA_TRIM_AT && a->high > c->size;
	a->head = c;
	c->used = 0;
	a->used = 0;
	a->high = 0;
	if (big)
		mem_trim();
}

void
arena_free(struct arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	free(a->head);
	free(a);
}
