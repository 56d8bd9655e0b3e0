/* test_arena.c: unit tests for the per-request bump allocator and its defers */
#include "test_common.h"

#include <stdalign.h>

#include "core/arena.h"

/* Order in which deferred callbacks ran. */
struct order {
	int seen[8];
	int n;
};

struct mark {
	struct order *o;
	int id;
};

static void
record(void *arg)
{
	struct mark *m = arg;

	assert_true(m->o->n < 8);
	m->o->seen[m->o->n++] = m->id;
}

static char *vp(struct arena *a, const char *fmt, ...) TG_PRINTF(2, 3);

static char *
vp(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return s;
}

static void
t_alloc_alignment(void **state)
{
	static const size_t sizes[] = {1, 3, 7, 8, 9, 13, 16, 17, 31, 33, 100};
	struct arena *a = arena_new(4096);
	size_t i, j;

	for (j = 0; j < 3; j++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			char *p = arena_alloc(a, sizes[i]);

			assert_non_null(p);
			assert_uint_equal((uintptr_t)p % 8, 0);
			memset(p, 0x5a, sizes[i]);
		}
	arena_free(a);
}

/* Memory good for any object, as from malloc (long double, SSE types). */
static void
t_alloc_max_align(void **state)
{
	struct arena *a = arena_new(4096);
	size_t i;

	for (i = 1; i < 40; i++) {
		void *p = arena_alloc(a, i);

		assert_uint_equal((uintptr_t)p % alignof(max_align_t), 0);
	}
	arena_free(a);
}

static void
t_alloc_distinct_and_intact(void **state)
{
	struct arena *a = arena_new(256);
	unsigned char *p[64];
	size_t i, k;

	/* Many small blocks across several chunks keep their contents. */
	for (i = 0; i < 64; i++) {
		p[i] = arena_alloc(a, 40);
		memset(p[i], (int)i, 40);
	}
	for (i = 0; i < 64; i++)
		for (k = 0; k < 40; k++)
			assert_int_equal(p[i][k], (unsigned char)i);
	arena_free(a);
}

static void
t_big_alloc_beyond_chunk(void **state)
{
	struct arena *a = arena_new(1024);
	unsigned char *small1, *big, *small2;
	size_t i;

	small1 = arena_alloc(a, 16);
	memset(small1, 0x11, 16);
	big = arena_alloc(a, 100000);
	assert_non_null(big);
	assert_uint_equal((uintptr_t)big % 8, 0);
	memset(big, 0xab, 100000);
	small2 = arena_alloc(a, 16);
	memset(small2, 0x22, 16);
	for (i = 0; i < 16; i++) {
		assert_int_equal(small1[i], 0x11);
		assert_int_equal(small2[i], 0x22);
	}
	for (i = 0; i < 100000; i++)
		if (big[i] != 0xab)
			fail_msg("big[%zu] = %#x", i, big[i]);
	assert_true(arena_used(a) >= 100000 + 32);
	arena_reset(a);
	assert_uint_equal(arena_used(a), 0);
	/* A second big one after reset still works. */
	big = arena_alloc(a, 200000);
	memset(big, 0xcd, 200000);
	assert_int_equal(big[199999], 0xcd);
	arena_free(a);
}

static void
t_calloc_zeroes(void **state)
{
	struct arena *a = arena_new(1024);
	unsigned char *p;
	size_t i;

	p = arena_alloc(a, 512);
	memset(p, 0xff, 512);
	arena_reset(a);
	/* The reused first chunk held 0xff; calloc must clear it. */
	p = arena_calloc(a, 64, 8);
	for (i = 0; i < 512; i++)
		assert_int_equal(p[i], 0);
	p = arena_calloc(a, 1000, 10);
	for (i = 0; i < 10000; i++)
		assert_int_equal(p[i], 0);
	arena_free(a);
}

static void
t_strdup(void **state)
{
	struct arena *a = arena_new(64);
	const char *src = "hello, arena";
	char *s;

	s = arena_strdup(a, src);
	assert_str(s, "hello, arena");
	assert_ptr_not_equal(s, src);
	s = arena_strdup(a, "");
	assert_str(s, "");
	arena_free(a);
}

static void
t_strndup(void **state)
{
	struct arena *a = arena_new(64);
	static const char raw[3] = {'a', 'b', 'c'}; /* not NUL-terminated */
	char *s;

	s = arena_strndup(a, "hello world", 5);
	assert_str(s, "hello");
	s = arena_strndup(a, raw, 3);
	assert_str(s, "abc");
	s = arena_strndup(a, raw, 0);
	assert_str(s, "");
	arena_free(a);
}

static void
t_printf(void **state)
{
	struct arena *a = arena_new(64);
	char *s;

	s = arena_printf(a, "%s-%d-%05.1f", "x", 42, 3.5);
	assert_str(s, "x-42-003.5");
	s = vp(a, "%s/%u", "v", 7u);
	assert_str(s, "v/7");
	s = arena_printf(a, "%s", "");
	assert_str(s, "");
	arena_free(a);
}

static void
t_printf_longer_than_chunk(void **state)
{
	struct arena *a = arena_new(64);
	char *s;
	size_t i;

	s = arena_printf(a, "<%0*d>", 5000, 7);
	assert_non_null(s);
	assert_uint_equal(strlen(s), 5002);
	assert_int_equal(s[0], '<');
	for (i = 1; i < 5000; i++)
		assert_int_equal(s[i], '0');
	assert_int_equal(s[5000], '7');
	assert_int_equal(s[5001], '>');
	arena_free(a);
}

static void
t_used_counts_bytes(void **state)
{
	struct arena *a = arena_new(4096);

	assert_uint_equal(arena_used(a), 0);
	(void)arena_alloc(a, 16);
	assert_uint_equal(arena_used(a), 16);
	(void)arena_alloc(a, 32);
	assert_uint_equal(arena_used(a), 48);
	(void)arena_alloc(a, 5);
	assert_true(arena_used(a) >= 53);
	assert_true(arena_used(a) <= 48 + 16);
	arena_free(a);
}

static void
t_reset_reuses_memory(void **state)
{
	struct arena *a = arena_new(4096);
	void *first, *again;
	int i;

	first = arena_alloc(a, 64);
	for (i = 0; i < 100; i++)
		(void)arena_alloc(a, 1000); /* spill into more chunks */
	assert_true(arena_used(a) >= 100064);
	arena_reset(a);
	assert_uint_equal(arena_used(a), 0);
	again = arena_alloc(a, 64);
	assert_ptr_equal(first, again);
	arena_reset(a);
	assert_uint_equal(arena_used(a), 0);
	arena_free(a);
}

/*
 * arena_release gives back what came after the mark, runs only the defers
 * registered after it, and the memory before the mark stays intact.
 */
static void
t_release_to_mark(void **state)
{
	struct arena *a = arena_new(4096);
	struct order o = {{0}, 0};
	struct mark m[3] = {{&o, 1}, {&o, 2}, {&o, 3}};
	struct arena_mark mk;
	char *keep, *first, *again;
	size_t used;
	int i, round;

	keep = arena_strdup(a, "kept across releases");
	arena_defer(a, record, &m[0]);
	arena_mark(a, &mk);
	used = arena_used(a);
	first = NULL;
	for (round = 0; round < 3; round++) {
		again = arena_alloc(a, 64);
		if (first == NULL)
			first = again;
		assert_ptr_equal(first, again); /* the same memory each round */
		for (i = 0; i < 100; i++)
			memset(
			    arena_alloc(a, 1000), 0xa5, 1000); /* new chunks */
		(void)arena_alloc(a, 20000); /* a chunk of its own */
		arena_defer(a, record, &m[1]);
		arena_defer(a, record, &m[2]);
		assert_true(arena_used(a) >= used + 120064);
		arena_release(a, &mk);
		assert_uint_equal(arena_used(a), used);
		assert_int_equal(o.n, 2 * (round + 1));
		assert_int_equal(
		    o.seen[2 * round], 3); /* last registered first */
		assert_int_equal(o.seen[2 * round + 1], 2);
	}
	assert_string_equal(keep, "kept across releases");
	arena_reset(a); /* the defer from before the mark runs now */
	assert_int_equal(o.n, 7);
	assert_int_equal(o.seen[6], 1);
	arena_free(a);
}

/* A mark taken on an empty arena releases to empty, like a reset. */
static void
t_release_on_fresh_arena(void **state)
{
	struct arena *a = arena_new(1024);
	struct arena_mark mk;
	void *first;

	arena_mark(a, &mk);
	first = arena_alloc(a, 16);
	(void)arena_alloc(a, 5000);
	arena_release(a, &mk);
	assert_uint_equal(arena_used(a), 0);
	assert_ptr_equal(arena_alloc(a, 16), first);
	arena_free(a);
}

static void
t_defer_lifo_at_reset(void **state)
{
	struct arena *a = arena_new(256);
	struct order o = {{0}, 0};
	struct mark m[3] = {{&o, 1}, {&o, 2}, {&o, 3}};

	arena_defer(a, record, &m[0]);
	arena_defer(a, record, &m[1]);
	arena_defer(a, record, &m[2]);
	assert_int_equal(o.n, 0);
	arena_reset(a);
	assert_int_equal(o.n, 3);
	assert_int_equal(o.seen[0], 3);
	assert_int_equal(o.seen[1], 2);
	assert_int_equal(o.seen[2], 1);
	/* Defers run once: a second reset and the free run nothing. */
	arena_reset(a);
	arena_free(a);
	assert_int_equal(o.n, 3);
}

static void
t_defer_lifo_at_free(void **state)
{
	struct arena *a = arena_new(256);
	struct order o = {{0}, 0};
	struct mark m[4] = {{&o, 1}, {&o, 2}, {&o, 3}, {&o, 4}};
	int i;

	for (i = 0; i < 4; i++)
		arena_defer(a, record, &m[i]);
	arena_free(a);
	assert_int_equal(o.n, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(o.seen[i], 4 - i);
}

static void
t_defer_after_reset(void **state)
{
	struct arena *a = arena_new(256);
	struct order o = {{0}, 0};
	struct mark m[2] = {{&o, 1}, {&o, 2}};

	arena_defer(a, record, &m[0]);
	arena_reset(a);
	arena_defer(a, record, &m[1]);
	arena_reset(a);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.seen[0], 1);
	assert_int_equal(o.seen[1], 2);
	arena_free(a);
}

static void
t_defer_many(void **state)
{
	struct arena *a = arena_new(64);
	struct order o = {{0}, 0};
	struct mark m = {&o, 9};
	json_t *j = json_object();
	int i;

	/* More defers than fit one small chunk. */
	for (i = 0; i < 500; i++) {
		json_incref(j);
		arena_defer_json(a, j);
	}
	arena_defer(a, record, &m);
	assert_int_equal(j->refcount, 501);
	arena_reset(a);
	assert_int_equal(j->refcount, 1);
	assert_int_equal(o.n, 1);
	json_decref(j);
	arena_free(a);
}

static void
t_defer_json_drops_reference(void **state)
{
	struct arena *a = arena_new(256);
	json_t *j = json_pack("{s:i}", "a", 1);

	assert_non_null(j);
	json_incref(j); /* ours */
	assert_int_equal(j->refcount, 2);
	arena_defer_json(a, j);
	assert_int_equal(j->refcount, 2); /* nothing dropped yet */
	arena_reset(a);
	assert_int_equal(j->refcount, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);

	json_incref(j);
	arena_defer_json(a, j);
	arena_free(a);
	assert_int_equal(j->refcount, 1);
	json_decref(j);
}

static void
t_defer_json_null(void **state)
{
	struct arena *a = arena_new(256);

	/* json_decref(NULL) is a no-op; the arena must not trip on it. */
	arena_defer_json(a, NULL);
	arena_reset(a);
	arena_free(a);
}

static void
t_defer_free(void **state)
{
	struct arena *a = arena_new(256);
	char *p = malloc(100);

	/* Leak checkers (ASan, valgrind) catch a missing free. */
	assert_non_null(p);
	memset(p, 1, 100);
	arena_defer_free(a, p);
	arena_reset(a);
	p = strdup("second");
	arena_defer_free(a, p);
	arena_free(a);
}

static void
t_free_null(void **state)
{
	arena_free(NULL);
}

/*
 * malloc_trim, counted: the trim after a reset is for the heap a large
 * request grew, and must not run for an arena that stayed in its own first
 * chunk (the housekeeper's 3 MiB, used past 1 MiB on every journal tick: a
 * trim there handed ~45 pages back to the kernel ten times a second for the
 * request threads to fault in again).
 */
static int trims;
int __real_malloc_trim(size_t);
int __wrap_malloc_trim(size_t);

int
__wrap_malloc_trim(size_t pad)
{
	trims++;
	return __real_malloc_trim(pad);
}

/* Takes n bytes from a in 16 KiB pieces, each written so it is really used. */
static void
use_bytes(struct arena *a, size_t n)
{
	size_t k;

	for (k = 0; k < n; k += 16384)
		memset(arena_alloc(a, 16384), 0x5a, 16384);
}

static void
t_reset_trims_after_growth(void **state)
{
	struct arena *a = arena_new(64 * 1024);

	(void)state;
	trims = 0;
	use_bytes(a, (size_t)3 << 19); /* 1.5 MiB in chunks beyond the first */
	arena_reset(a);
	assert_int_equal(trims, 1);
	use_bytes(a, 32768); /* small: no trim */
	arena_reset(a);
	assert_int_equal(trims, 1);
	arena_free(a);
}

static void
t_reset_no_trim_within_first_chunk(void **state)
{
	struct arena *a = arena_new((size_t)3 << 20);

	(void)state;
	trims = 0;
	use_bytes(
	    a, (size_t)3 << 19); /* 1.5 MiB, all in the 3 MiB first chunk */
	arena_reset(a);
	use_bytes(a, (size_t)3 << 19);
	arena_reset(a);
	assert_int_equal(trims, 0);
	use_bytes(a,
	    (size_t)4
		<< 20); /* past the first chunk: the heap may have grown */
	arena_reset(a);
	assert_int_equal(trims, 1);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_alloc_alignment),
	    cmocka_unit_test(t_alloc_max_align),
	    cmocka_unit_test(t_alloc_distinct_and_intact),
	    cmocka_unit_test(t_big_alloc_beyond_chunk),
	    cmocka_unit_test(t_calloc_zeroes),
	    cmocka_unit_test(t_strdup),
	    cmocka_unit_test(t_strndup),
	    cmocka_unit_test(t_printf),
	    cmocka_unit_test(t_printf_longer_than_chunk),
	    cmocka_unit_test(t_used_counts_bytes),
	    cmocka_unit_test(t_reset_reuses_memory),
	    cmocka_unit_test(t_release_to_mark),
	    cmocka_unit_test(t_release_on_fresh_arena),
	    cmocka_unit_test(t_defer_lifo_at_reset),
	    cmocka_unit_test(t_defer_lifo_at_free),
	    cmocka_unit_test(t_defer_after_reset),
	    cmocka_unit_test(t_defer_many),
	    cmocka_unit_test(t_defer_json_drops_reference),
	    cmocka_unit_test(t_defer_json_null),
	    cmocka_unit_test(t_defer_free),
	    cmocka_unit_test(t_free_null),
	    cmocka_unit_test(t_reset_trims_after_growth),
	    cmocka_unit_test(t_reset_no_trim_within_first_chunk),
	};

	test_init();
	return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
