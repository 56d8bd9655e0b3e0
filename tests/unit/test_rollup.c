/* test_rollup.c: unit tests for the rollup readers' day span (whole days, partial days) */
#include "test_common.h"

#include <string.h>

#include "io/db.h"
#include "store/q_rollup.h"

/* rollup_span(from, to) and require every bound. */
static void
span_is(const char *from, const char *to, const char *wf, const char *wt,
    const char *fa, const char *fb)
{
	struct rollup_span s;

	rollup_span(from, to, &s);
	assert_string_equal(s.from, wf);
	assert_string_equal(s.to, wt);
	assert_string_equal(s.fa, fa);
	assert_string_equal(s.fb, fb);
}

/* Midnight to midnight: all whole days, nothing raw. */
static void
t_whole_days(void **state)
{
	(void)state;
	span_is("2026-11-07 00:00:00", "2026-12-07 00:00:00",
	    "2026-11-07 00:00:00", "2026-12-07 00:00:00", "2026-11-07 00:00:00",
	    "2026-12-07 00:00:00");
}

/* A from and a to inside days: the whole days between, the edges raw. */
static void
t_partial_days(void **state)
{
	(void)state;
	span_is("2026-12-03 12:00:00", "2026-12-06 22:00:00",
	    "2026-12-03 12:00:00", "2026-12-06 22:00:00", "2026-12-04 00:00:00",
	    "2026-12-06 00:00:00");
	/* Across a month and a year end. */
	span_is("2026-12-31 23:59:59", "2027-01-02 00:00:01",
	    "2026-12-31 23:59:59", "2027-01-02 00:00:01", "2027-01-01 00:00:00",
	    "2027-01-02 00:00:00");
}

/* No whole day inside: everything raw (fa = fb = to). */
static void
t_no_whole_day(void **state)
{
	(void)state;
	span_is("2026-12-06 01:00:00", "2026-12-06 23:00:00",
	    "2026-12-06 01:00:00", "2026-12-06 23:00:00", "2026-12-06 23:00:00",
	    "2026-12-06 23:00:00");
	span_is("2026-12-06 12:00:00", "2026-12-07 12:00:00",
	    "2026-12-06 12:00:00", "2026-12-07 12:00:00", "2026-12-07 12:00:00",
	    "2026-12-07 12:00:00");
}

/* Unbounded ends become far dates, all whole days. */
static void
t_unbounded(void **state)
{
	(void)state;
	span_is("", NULL, "1000-01-01 00:00:00", "9999-12-31 00:00:00",
	    "1000-01-01 00:00:00", "9999-12-31 00:00:00");
	span_is("", "2026-12-06 10:00:00", "1000-01-01 00:00:00",
	    "2026-12-06 10:00:00", "1000-01-01 00:00:00",
	    "2026-12-06 00:00:00");
}

/* What the parser does not know, or an empty range: all raw, never a guess. */
static void
t_bad(void **state)
{
	(void)state;
	span_is("2026-12-06", "2026-12-07 00:00:00", "2026-12-06",
	    "2026-12-07 00:00:00", "2026-12-07 00:00:00",
	    "2026-12-07 00:00:00");
	span_is("2026-12-07 00:00:00", "2026-12-06 00:00:00",
	    "2026-12-07 00:00:00", "2026-12-06 00:00:00", "2026-12-06 00:00:00",
	    "2026-12-06 00:00:00");
}

/* The parameters: each branch's conditions, then its dates, in order. */
static void
t_params(void **state)
{
	struct rollup_span s;
	struct db_val w[2] = {DB_I64(7), DB_I64(7)}, p[3 * 2 + 8];
	static const char *const want[] = {
	    "fa", "fb", "fa", "fb", "from", "fa", "fb", "to"};
	const char *got;
	size_t i, d = 0, n;

	(void)state;
	rollup_span("2026-12-03 12:00:00", "2026-12-06 22:00:00", &s);
	n = rollup_params(p, w, 2, &s);
	assert_int_equal(n, 14);
	for (i = 0; i < n; i++) {
		if (i == 0 || i == 1 || i == 4 || i == 5 || i == 8 || i == 9) {
			assert_int_equal(p[i].type, DBT_I64);
			assert_int_equal(p[i].i, 7);
			continue;
		}
		got = p[i].s;
		assert_int_equal(p[i].len, strlen(got));
		assert_string_equal(got,
		    strcmp(want[d], "fa") == 0	     ? s.fa
			: strcmp(want[d], "fb") == 0 ? s.fb
			: strcmp(want[d], "to") == 0 ? s.to
						     : s.from);
		d++;
	}
	assert_int_equal(d, 8);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_whole_days),
	    cmocka_unit_test(t_partial_days),
	    cmocka_unit_test(t_no_whole_day),
	    cmocka_unit_test(t_unbounded),
	    cmocka_unit_test(t_bad),
	    cmocka_unit_test(t_params),
	};

	test_init();
	return cmocka_run_group_tests_name("rollup", tests, NULL, NULL);
}
