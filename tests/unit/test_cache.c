/* test_cache.c: the row cache: hits, the epoch (also across forked processes), ttl, bounds */
#include "test_common.h"

#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "io/cache.h"

static char path[64];

static struct cache *
open_cache(unsigned ttl, unsigned slots)
{
	char err[256];
	struct cache *c = cache_open(path, ttl, slots, err, sizeof(err));

	if (c == NULL)
		fail_msg("cache_open: %s", err);
	return c;
}

/* A fresh path for the shared file (shm_attach creates it). */
static int
setup(void **state)
{
	(void)state;
	test_tmpfile(path, sizeof(path), "", 0600);
	unlink(path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* get KEY: the cached value as a string, or NULL. */
static const char *
get(struct cache *c, struct arena *a, const char *key)
{
	size_t n = 0;
	char *v = cache_get(c, key, strlen(key), a, &n);

	if (v == NULL)
		return NULL;
	v[n] = '\0'; /* cache_get leaves a byte for this */
	return v;
}

static void
put(struct cache *c, const char *key, const char *val)
{
	cache_put(c, key, strlen(key), val, strlen(val), cache_epoch(c));
}

static void
t_off_when_ttl_zero(void **state)
{
	char err[64];

	(void)state;
	assert_null(cache_open(path, 0, 64, err, sizeof(err)));
	/* A NULL cache is a valid "no cache": nothing is kept. */
	cache_put(NULL, "k", 1, "v", 1, 0);
	cache_bump(NULL);
	assert_int_equal(cache_epoch(NULL), 0);
}

static void
t_hit_and_miss(void **state)
{
	struct cache *c = open_cache(60, 64);
	struct arena *a = arena_new(1024);
	struct cache_stats st;

	(void)state;
	assert_null(get(c, a, "user:1"));
	put(c, "user:1", "alice");
	assert_string_equal(get(c, a, "user:1"), "alice");
	assert_null(get(c, a, "user:2"));
	/* An empty value (a miss in the database) is kept too. */
	put(c, "user:3", "");
	assert_non_null(get(c, a, "user:3"));
	assert_string_equal(get(c, a, "user:3"), "");
	cache_stats(c, &st);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 2);
	arena_free(a);
	cache_close(c);
}

/* A bump drops every copy, and a value read under an old epoch is never stored. */
static void
t_epoch(void **state)
{
	struct cache *c = open_cache(60, 64);
	struct arena *a = arena_new(1024);
	uint64_t e;

	(void)state;
	put(c, "k", "old");
	cache_bump(c);
	assert_null(get(c, a, "k"));
	e = cache_epoch(c);
	cache_bump(c); /* a change committed while "new" was being read */
	cache_put(c, "k", 1, "new", 3, e);
	assert_null(get(c, a, "k"));
	put(c, "k", "newer");
	assert_string_equal(get(c, a, "k"), "newer");
	arena_free(a);
	cache_close(c);
}

static void
t_ttl(void **state)
{
	struct cache *c = open_cache(1, 64);
	struct arena *a = arena_new(1024);

	(void)state;
	put(c, "k", "v");
	assert_non_null(get(c, a, "k"));
	usleep(1100 * 1000);
	assert_null(get(c, a, "k"));
	arena_free(a);
	cache_close(c);
}

/* Another process's bump (the CLI, another worker) drops this process's copies. */
static void
t_epoch_across_processes(void **state)
{
	struct cache *c = open_cache(60, 64);
	struct arena *a = arena_new(1024);
	pid_t pid;
	int st;

	(void)state;
	put(c, "k", "v");
	if ((pid = fork()) == 0) {
		struct cache *o = open_cache(60, 64);

		cache_bump(o);
		cache_close(o);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_null(get(c, a, "k"));
	arena_free(a);
	cache_close(c);
}

/* Keys sharing a slot replace each other; a key never answers for another. */
static void
t_collisions_and_bounds(void **state)
{
	struct cache *c = open_cache(60, 1); /* rounded up to the minimum */
	struct arena *a = arena_new(1 << 16);
	char key[32], val[32], *big;
	int i, found = 0;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "key:%d", i);
		snprintf(val, sizeof(val), "val:%d", i);
		put(c, key, val);
	}
	for (i = 0; i < 1000; i++) {
		const char *v;

		snprintf(key, sizeof(key), "key:%d", i);
		snprintf(val, sizeof(val), "val:%d", i);
		if ((v = get(c, a, key)) != NULL) {
			assert_string_equal(v, val);
			found++;
		}
	}
	assert_true(found > 0 && found <= 64);
	/* A value over the bound is not kept. */
	big = calloc(1, 64 << 10);
	memset(big, 'x', (64 << 10) - 1);
	put(c, "big", big);
	assert_null(get(c, a, "big"));
	free(big);
	arena_free(a);
	cache_close(c);
}

/* The worker's own slot in the file (by pid), NULL when it has none. */
static const struct cache_worker *
mine(const struct cache_worker *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i].pid == (int32_t)getpid())
			return &w[i];
	return NULL;
}

/*
 * Each process's counters live in the shared file: another process (a forked
 * child, as another worker) reads this one's, and a closed cache's slot is
 * given back.
 */
static void
t_worker_counters(void **state)
{
	struct cache *c = open_cache(60, 64), *c2;
	struct arena *a = arena_new(1024);
	struct cache_worker w[CACHE_WORKERS];
	const struct cache_worker *me;
	int status;
	pid_t pid;
	size_t n;

	(void)state;
	assert_null(get(c, a, "k1"));
	put(c, "k1", "v");
	put(c, "k2", "v");
	put(c, "k1", "again"); /* the same slot: still two entries */
	assert_non_null(get(c, a, "k1"));
	assert_non_null(get(c, a, "k2"));
	n = cache_workers(c, w, CACHE_WORKERS);
	assert_non_null((me = mine(w, n)));
	assert_int_equal(me->entries, 2);
	assert_int_equal(me->hits, 2);
	assert_int_equal(me->misses, 1);
	assert_true(me->started > 0);
	if ((pid = fork()) == 0) {
		/* Another process of the node sees the parent's counters. */
		c2 = cache_open(path, 60, 64, (char[64]){0}, 64);
		n = cache_workers(c2, w, CACHE_WORKERS);
		_exit(c2 != NULL && n == 2 && mine(w, n) != NULL ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The child died without closing: its slot is not listed. */
	assert_int_equal(cache_workers(c, w, CACHE_WORKERS), 1);
	cache_close(c);
	c = open_cache(60, 64);
	n = cache_workers(c, w, CACHE_WORKERS);
	assert_int_equal(n, 1);
	assert_int_equal(mine(w, n)->hits, 0); /* a fresh slot */
	arena_free(a);
	cache_close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		t_off_when_ttl_zero, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_hit_and_miss, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_epoch, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_ttl, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		t_epoch_across_processes, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		t_collisions_and_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_worker_counters, setup, teardown),
	};

	test_init();
	return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
