/* test_or_cost.c: OpenRouter's usage.cost read exactly from its text, and OpenRouter model ids */
#include "test_common.h"

#include <inttypes.h>
#include <string.h>

#include "domain/openrouter.h"
#include "prov/or_cost.h"

static int64_t
cost_of(const char *s)
{
	int64_t v = -42;

	if (or_cost_parse(s, strlen(s), &v) != 0)
		fail_msg("or_cost_parse(\"%s\") rejected", s);
	return v;
}

static void
t_parse_exact(void **state)
{
	assert_int_equal(cost_of("0"), 0);
	assert_int_equal(cost_of("0.0"), 0);
	assert_int_equal(cost_of("3"), 3000000000LL);
	assert_int_equal(cost_of("0.000142"), 142000);
	assert_int_equal(cost_of("0.000000001"), 1);
	assert_int_equal(cost_of("12.5"), 12500000000LL);
	assert_int_equal(cost_of("100"), 100000000000LL);
	assert_int_equal(cost_of("0.00012300"), 123000);
}

/* More digits than a nano: rounded up, never down (a part of one is a cost). */
static void
t_parse_rounds_up(void **state)
{
	assert_int_equal(cost_of("0.000123456789"), 123457);
	assert_int_equal(cost_of("0.0000000001"), 1);
	assert_int_equal(cost_of("0.0000000010000"), 1);
	assert_int_equal(cost_of("1.0000000001"), 1000000001);
}

static void
t_parse_exponent(void **state)
{
	assert_int_equal(cost_of("3.6e-05"), 36000);
	assert_int_equal(cost_of("1.5E-7"), 150);
	assert_int_equal(cost_of("1e-10"), 1);
	assert_int_equal(cost_of("2e2"), 200000000000LL);
	assert_int_equal(cost_of("1.23456789012e-4"), 123457);
	assert_int_equal(cost_of("0e5"), 0);
}

static void
t_parse_bad(void **state)
{
	static const char *const bad[] = {"", "-1", "-0.1", "abc", "1.2.3",
	    "1e", "1e+", "0x10", "1,5", "2e999", "1e1000", "1000000001",
	    "\"0.1\""};
	int64_t v = 4242;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (or_cost_parse(bad[i], strlen(bad[i]), &v) != -1)
			fail_msg("or_cost_parse(\"%s\") accepted: %" PRId64,
			    bad[i], v);
		assert_int_equal(v, 4242);
	}
}

static void
t_usage_cost(void **state)
{
	const char *a = "{\"id\":\"gen-1\",\"usage\":{\"prompt_tokens\":3,"
			"\"cost\":0.000123456789,\"is_byok\":false}}";
	const char *none = "{\"usage\":{\"prompt_tokens\":3}}";
	const char *nousage = "{\"choices\":[]}";
	const char *str = "{\"usage\":{\"cost\":\"0.1\"}}";
	int64_t v = -1;

	assert_int_equal(or_usage_cost(a, strlen(a), &v), 1);
	assert_int_equal(v, 123457);
	v = -1;
	assert_int_equal(or_usage_cost(none, strlen(none), &v), 0);
	assert_int_equal(or_usage_cost(nousage, strlen(nousage), &v), 0);
	assert_int_equal(or_usage_cost(str, strlen(str), &v), -1);
	assert_int_equal(v, -1);
}

static void
t_model_ids(void **state)
{
	static const char *const good[] = {"openai/gpt-4o",
	    "meta-llama/llama-4-maverick:free", "anthropic/claude-3.5-sonnet",
	    "google/gemini-2.5-pro-exp-03-25:free", "a/b/c", "x/y:beta"};
	static const char *const bad[] = {"", "gpt-4o", "/x", "x/", "x//y",
	    "x/y:", "x/y:a:b", "x y/z", "x/y\n", ":free", "x/y?z"};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!or_model_id_ok(good[i]))
			fail_msg("%s refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (or_model_id_ok(bad[i]))
			fail_msg("%s accepted", bad[i]);
	assert_true(or_model_free("meta-llama/llama-4-scout:free"));
	assert_false(or_model_free("meta-llama/llama-4-scout"));
	assert_false(or_model_free(":free"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_parse_exact),
	    cmocka_unit_test(t_parse_rounds_up),
	    cmocka_unit_test(t_parse_exponent),
	    cmocka_unit_test(t_parse_bad),
	    cmocka_unit_test(t_usage_cost),
	    cmocka_unit_test(t_model_ids),
	};

	test_init();
	return cmocka_run_group_tests_name("or_cost", tests, NULL, NULL);
}
