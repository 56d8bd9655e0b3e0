/* test_money.c: unit tests for nano-USD parsing, JSON amounts and formatting */
#include "test_common.h"

#include <inttypes.h>

#include "core/money.h"

/* Parse s and require success with exactly want. */
#define assert_parse(s, want)                                                  \
	do {                                                                   \
		int64_t v_ = INT64_MIN + 7;                                    \
		if (money_parse((s), &v_) != 0)                                \
			fail_msg("money_parse(\"%s\") rejected", (s));         \
		if (v_ != (int64_t)(want))                                     \
			fail_msg("money_parse(\"%s\") = %" PRId64              \
				 ", want %" PRId64,                            \
			    (s), v_, (int64_t)(want));                         \
	} while (0)

/* Parse s and require rejection with out left alone. */
#define assert_parse_bad(s)                                                    \
	do {                                                                   \
		int64_t v_ = 4242;                                             \
		if (money_parse((s), &v_) != -1)                               \
			fail_msg("money_parse(\"%s\") accepted: %" PRId64,     \
			    (s), v_);                                          \
		assert_true(v_ == 4242);                                       \
	} while (0)

/* money_format(x) and require exactly want. */
#define assert_format(x, want)                                                 \
	do {                                                                   \
		char b_[40];                                                   \
		memset(b_, 'X', sizeof(b_));                                   \
		money_format((x), b_, sizeof(b_));                             \
		assert_str(b_, (want));                                        \
	} while (0)

/* The JSON text of j into buf, for messages. */
static const char *
json_text(const json_t *j, char *buf, size_t len)
{
	char *s = json_dumps(j, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));

	snprintf(buf, len, "%s", s != NULL ? s : "?");
	free(s);
	return buf;
}

/* money_from_json(j) (stolen) and require exactly want. */
static void
json_ok(json_t *j, int64_t want)
{
	int64_t v = INT64_MIN + 7;
	char text[128];
	int rc;

	assert_non_null(j);
	rc = money_from_json(j, &v);
	json_text(j, text, sizeof(text));
	json_decref(j);
	if (rc != 0)
		fail_msg("money_from_json(%s) rejected", text);
	if (v != want)
		fail_msg("money_from_json(%s) = %" PRId64 ", want %" PRId64,
		    text, v, want);
}

/* money_from_json(j) (stolen) and require rejection. */
static void
json_bad(json_t *j)
{
	int64_t v = 4242;
	char text[128];
	int rc;

	assert_non_null(j);
	rc = money_from_json(j, &v);
	json_text(j, text, sizeof(text));
	json_decref(j);
	if (rc != -1)
		fail_msg("money_from_json(%s) accepted: %" PRId64, text, v);
	assert_true(v == 4242);
}

static void
t_parse_whole(void **state)
{
	assert_parse("0", 0);
	assert_parse("1", 1000000000LL);
	assert_parse("2", 2000000000LL);
	assert_parse("42", 42000000000LL);
	assert_parse("007", 7000000000LL);
	assert_parse("+2", 2000000000LL);
	assert_parse("-3", -3000000000LL);
	assert_parse("-0", 0);
	assert_parse("+0", 0);
}

static void
t_parse_decimals(void **state)
{
	assert_parse("12.5", 12500000000LL);
	assert_parse("12.50", 12500000000LL);
	assert_parse("0.000000001", 1);
	assert_parse("-0.000000001", -1);
	assert_parse("0.1", 100000000LL);
	assert_parse("0.01", 10000000LL);
	assert_parse("-3.25", -3250000000LL);
	assert_parse("+2.5", 2500000000LL);
	assert_parse("1.000000000", 1000000000LL);
	assert_parse("0.999999999", 999999999LL);
	assert_parse("123.456789012", 123456789012LL);
	assert_parse("0.0", 0);
}

static void
t_parse_limits(void **state)
{
	assert_parse("1000000000", 1000000000LL * 1000000000LL);
	assert_parse("-1000000000", -1000000000LL * 1000000000LL);
	assert_parse("1000000000.0", 1000000000LL * 1000000000LL);
	assert_parse("1000000000.000000000", 1000000000LL * 1000000000LL);
	assert_parse("999999999.999999999", 999999999999999999LL);
	assert_parse("-999999999.999999999", -999999999999999999LL);
	/* Leading zeros do not count towards the limit. */
	assert_parse("00000000000000000000001", 1000000000LL);

	assert_parse_bad("1000000000.01");
	assert_parse_bad("1000000000.000000001");
	assert_parse_bad("-1000000000.000000001");
	assert_parse_bad("1000000001");
	assert_parse_bad("-1000000001");
	assert_parse_bad("9999999999");
	assert_parse_bad("99999999999999999999999999999");
	assert_parse_bad("9223372036854775808");
}

static void
t_parse_too_many_decimals(void **state)
{
	assert_parse_bad("0.0000000001");
	assert_parse_bad("1.1234567891");
	/* Ten decimals are rejected even when the tenth is zero. */
	assert_parse_bad("1.0000000000");
	assert_parse_bad("0.12345678901234567890");
}

static void
t_parse_bad(void **state)
{
	assert_parse_bad("");
	assert_parse_bad(".");
	assert_parse_bad("-");
	assert_parse_bad("+");
	assert_parse_bad("-.");
	/* No digits on one side of the point: rejected, like JSON numbers. */
	assert_parse_bad("1.");
	assert_parse_bad(".5");
	assert_parse_bad("-.5");
	assert_parse_bad("1e3");
	assert_parse_bad("1E3");
	assert_parse_bad("1,5");
	assert_parse_bad("1.5.0");
	assert_parse_bad("1..5");
	assert_parse_bad(" 1");
	assert_parse_bad("1 ");
	assert_parse_bad("1\n");
	assert_parse_bad("abc");
	assert_parse_bad("0x10");
	assert_parse_bad("--1");
	assert_parse_bad("+-1");
	assert_parse_bad("1-");
	assert_parse_bad("NaN");
	assert_parse_bad("inf");
	assert_parse_bad("$1");
	assert_parse_bad("1 000");
	assert_parse_bad("\xd9\xa1"); /* ARABIC-INDIC DIGIT ONE */
}

static void
t_from_json_string(void **state)
{
	json_ok(json_string("12.5"), 12500000000LL);
	json_ok(json_string("0.000000001"), 1);
	json_ok(json_string("-3.25"), -3250000000LL);
	json_ok(json_string("1000000000"), 1000000000000000000LL);
	json_bad(json_string(""));
	json_bad(json_string("abc"));
	json_bad(json_string("1e3"));
	json_bad(json_string("1000000000.01"));
	json_bad(json_string("0.0000000001"));
}

static void
t_from_json_integer(void **state)
{
	json_ok(json_integer(0), 0);
	json_ok(json_integer(1), 1000000000LL);
	json_ok(json_integer(-7), -7000000000LL);
	json_ok(json_integer(1000000000LL), 1000000000000000000LL);
	json_ok(json_integer(-1000000000LL), -1000000000000000000LL);
	json_bad(json_integer(1000000001LL));
	json_bad(json_integer(-1000000001LL));
	json_bad(json_integer(INT64_MAX));
	json_bad(json_integer(INT64_MIN));
	json_bad(json_integer(9223372037LL)); /* would overflow int64 nano */
}

static void
t_from_json_real(void **state)
{
	json_ok(json_real(0.1), 100000000LL);
	json_ok(json_real(12.345), 12345000000LL);
	json_ok(json_real(0.0), 0);
	json_ok(json_real(-0.0), 0);
	json_ok(json_real(1.0), 1000000000LL);
	json_ok(json_real(2.5), 2500000000LL);
	json_ok(json_real(-3.25), -3250000000LL);
	json_ok(json_real(0.3), 300000000LL);
	json_ok(json_real(0.000000001), 1);
	json_ok(json_real(19.99), 19990000000LL);
	json_ok(json_real(1e9), 1000000000000000000LL);
	json_ok(json_real(-1e9), -1000000000000000000LL);
	/* Beyond 9 decimals the value is rounded, not rejected. */
	json_ok(json_real(0.0000000001), 0);
}

static void
t_from_json_real_large_literal(void **state)
{
	static const struct {
		const char *lit;
		int64_t want;
	} cases[] = {
	    {"8388608.3", 8388608300000000LL},
	    {"99999999.99", 99999999990000000LL},
	    {"123456789.1", 123456789100000000LL},
	    {"999999999.5", 999999999500000000LL},
	};
	json_t *j;
	size_t i;

	/*
	 * money.h: "printed with 9 decimals first, so the literal, not the
	 * binary double, decides".  Above 2^23 the double is off by more
	 * than half a nano-USD, so "%.9f" prints the double's digits.
	 */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = json_loads(cases[i].lit, JSON_DECODE_ANY, NULL);
		assert_true(json_is_real(j));
		json_ok(j, cases[i].want);
	}
}

static void
t_from_json_real_huge(void **state)
{
	json_bad(json_real(1e9 + 1));
	json_bad(json_real(-1e9 - 1));
	json_bad(json_real(1000000000.5));
	json_bad(json_real(1e10));
	json_bad(json_real(1e18));
	json_bad(json_real(1e300));
	json_bad(json_real(-1e300));
	json_bad(json_real(9.3e18));
}

static void
t_from_json_parsed(void **state)
{
	json_t *j;

	/* The literal a client sends, through jansson's own parser. */
	j = json_loads("[0.1, 12.345, 7, \"7.5\", 1e3, 1e20, 0.07]",
	    JSON_DECODE_ANY, NULL);
	assert_non_null(j);
	json_ok(json_incref(json_array_get(j, 0)), 100000000LL);
	json_ok(json_incref(json_array_get(j, 1)), 12345000000LL);
	json_ok(json_incref(json_array_get(j, 2)), 7000000000LL);
	json_ok(json_incref(json_array_get(j, 3)), 7500000000LL);
	json_ok(json_incref(json_array_get(j, 4)), 1000000000000LL);
	json_bad(json_incref(json_array_get(j, 5)));
	json_ok(json_incref(json_array_get(j, 6)), 70000000LL);
	json_decref(j);
}

static void
t_from_json_types(void **state)
{
	int64_t v = 4242;

	json_bad(json_null());
	json_bad(json_true());
	json_bad(json_false());
	json_bad(json_object());
	json_bad(json_array());
	json_bad(json_pack("{s:i}", "amount", 1));
	json_bad(json_pack("[i]", 1));
	assert_int_equal(money_from_json(NULL, &v), -1);
	assert_true(v == 4242);
}

static void
t_format(void **state)
{
	assert_format(0, "0.00");
	assert_format(1, "0.000000001");
	assert_format(-1, "-0.000000001");
	assert_format(10, "0.00000001");
	assert_format(10000000, "0.01");
	assert_format(100000000, "0.10");
	assert_format(120000000, "0.12");
	assert_format(123000000, "0.123");
	assert_format(1000000000LL, "1.00");
	assert_format(12500000000LL, "12.50");
	assert_format(12345000000LL, "12.345");
	assert_format(-1234, "-0.000001234");
	assert_format(-3250000000LL, "-3.25");
	assert_format(-1000000000LL, "-1.00");
	assert_format(999999999LL, "0.999999999");
	assert_format(1000000000000000000LL, "1000000000.00");
	assert_format(-1000000000000000000LL, "-1000000000.00");
}

static void
t_format_extremes(void **state)
{
	int64_t v = 4242;
	char b[40];

	assert_format(INT64_MAX, "9223372036.854775807");
	assert_format(INT64_MIN, "-9223372036.854775808");
	assert_format(INT64_MIN + 1, "-9223372036.854775807");

	/* Out of the accepted range: formatting works, parsing refuses. */
	money_format(INT64_MAX, b, sizeof(b));
	assert_int_equal(money_parse(b, &v), -1);
	money_format(INT64_MIN, b, sizeof(b));
	assert_int_equal(money_parse(b, &v), -1);
	money_format(1000000000000000001LL, b, sizeof(b));
	assert_str(b, "1000000000.000000001");
	assert_int_equal(money_parse(b, &v), -1);
	assert_true(v == 4242);
}

static void
t_format_truncates(void **state)
{
	char b[32];

	/* out is always NUL-terminated, however small. */
	memset(b, 'X', sizeof(b));
	money_format(12500000000LL, b, 4);
	assert_str(b, "12.");
	memset(b, 'X', sizeof(b));
	money_format(12500000000LL, b, 1);
	assert_str(b, "");
}

static void
t_json(void **state)
{
	json_t *j;

	j = money_json(12500000000LL);
	assert_non_null(j);
	assert_true(json_is_string(j));
	assert_str(json_string_value(j), "12.50");
	json_decref(j);
	j = money_json(INT64_MIN);
	assert_non_null(j);
	assert_str(json_string_value(j), "-9223372036.854775808");
	json_decref(j);
}

static void
t_round_trip(void **state)
{
	static const int64_t vals[] = {0, 1, -1, 9, 10, 99, 100, 999999999LL,
	    1000000000LL, -1000000000LL, 1000000001LL, 12500000000LL,
	    12345000000LL, -1234, -3250000000LL, 123456789012LL,
	    987654321987654321LL, -987654321987654321LL, 999999999999999999LL,
	    -999999999999999999LL, 1000000000000000000LL,
	    -1000000000000000000LL, 70000000LL, 5};
	char b[40];
	int64_t v;
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		money_format(vals[i], b, sizeof(b));
		v = INT64_MIN + 7;
		if (money_parse(b, &v) != 0)
			fail_msg("%" PRId64 " -> \"%s\" rejected", vals[i], b);
		if (v != vals[i])
			fail_msg(
			    "%" PRId64 " -> \"%s\" -> %" PRId64, vals[i], b, v);
	}
}

static void
t_round_trip_sweep(void **state)
{
	char b[40];
	int64_t x, v;

	/* Every power-of-ten-ish scale and sign, step by odd strides. */
	for (x = -1000000000000000000LL; x <= 1000000000000000000LL;
	     x += 7777777777777777LL) {
		money_format(x, b, sizeof(b));
		if (money_parse(b, &v) != 0 || v != x)
			fail_msg(
			    "%" PRId64 " -> \"%s\" did not round-trip", x, b);
	}
	for (x = -3000000001LL; x <= 3000000001LL; x += 12345679LL) {
		money_format(x, b, sizeof(b));
		if (money_parse(b, &v) != 0 || v != x)
			fail_msg(
			    "%" PRId64 " -> \"%s\" did not round-trip", x, b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_parse_whole),
	    cmocka_unit_test(t_parse_decimals),
	    cmocka_unit_test(t_parse_limits),
	    cmocka_unit_test(t_parse_too_many_decimals),
	    cmocka_unit_test(t_parse_bad),
	    cmocka_unit_test(t_from_json_string),
	    cmocka_unit_test(t_from_json_integer),
	    cmocka_unit_test(t_from_json_real),
	    cmocka_unit_test(t_from_json_real_large_literal),
	    cmocka_unit_test(t_from_json_real_huge),
	    cmocka_unit_test(t_from_json_parsed),
	    cmocka_unit_test(t_from_json_types),
	    cmocka_unit_test(t_format),
	    cmocka_unit_test(t_format_extremes),
	    cmocka_unit_test(t_format_truncates),
	    cmocka_unit_test(t_json),
	    cmocka_unit_test(t_round_trip),
	    cmocka_unit_test(t_round_trip_sweep),
	};

	test_init();
	return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
