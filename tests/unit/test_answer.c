/* test_answer.c: answer shaping: usage.cost and gateway_usage, spliced or serialized */
#include "test_common.h"

#include "core/json.h"
#include "http/answer.h"

static const struct answer_meta meta = {
    "req1", "mock", "test/cheap", 30450, 999969550, 17, "gw_live_Ab3x...wxyz"};

static void
t_usd(void **state)
{
	struct arena *a = arena_new(0);

	(void)state;
	assert_string_equal(answer_usd(a, 30450), "0.00003045");
	assert_string_equal(answer_usd(a, 0), "0.00");
	assert_string_equal(answer_usd(a, 1000000000), "1.00");
	arena_free(a);
}

/* The splice keeps the provider's bytes and adds exactly two things. */
static void
t_splice(void **state)
{
	const char *t = "{\"id\":\"x\",\"usage\":{\"prompt_tokens\":5,"
			"\"completion_tokens\":12},\"z\":[1, 2]}";
	struct arena *a = arena_new(0);
	struct jx_where w;
	size_t n;
	char *s;
	json_t *o, *g;

	(void)state;
	assert_int_equal(jx_locate(t, strlen(t), "usage", &w), 1);
	s = answer_splice(a, &meta, t, strlen(t), &w, &n);
	assert_non_null(s);
	assert_int_equal(strlen(s), n);
	assert_non_null(strstr(s, "\"z\":[1, 2]")); /* untouched bytes */
	assert_non_null(strstr(s, "\"cost\":0.00003045"));
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(o, "usage"), "prompt_tokens")),
	    5);
	g = json_object_get(o, "gateway_usage");
	assert_string_equal(jx_str(g, "cost"), "0.00003045");
	assert_string_equal(jx_str(g, "balance_after"), "0.99996955");
	assert_string_equal(jx_str(g, "request_id"), "req1");
	assert_string_equal(jx_str(g, "provider"), "mock");
	assert_string_equal(jx_str(g, "model"), "test/cheap");
	/* Seed 001's names beside ours. */
	assert_int_equal(
	    json_integer_value(json_object_get(g, "tokens_charged")), 17);
	assert_string_equal(jx_str(g, "user_balance_after"), "0.99996955");
	assert_string_equal(jx_str(g, "user_api_key"), "gw_live_Ab3x...wxyz");
	json_decref(o);
	arena_free(a);
}

/* An empty usage object gets its cost without a leading comma. */
static void
t_splice_empty_usage(void **state)
{
	const char *t = "{\"usage\":{}}";
	struct arena *a = arena_new(0);
	struct jx_where w;
	size_t n;
	char *s;
	json_t *o;

	(void)state;
	assert_int_equal(jx_locate(t, strlen(t), "usage", &w), 1);
	s = answer_splice(a, &meta, t, strlen(t), &w, &n);
	assert_non_null(s);
	assert_non_null((o = json_loads(s, 0, NULL)));
	assert_non_null(strstr(s, "{\"cost\":0.00003045}"));
	json_decref(o);
	arena_free(a);
}

/* The tree path: the cost is an exact decimal, an old gateway_usage goes. */
static void
t_with_cost(void **state)
{
	struct arena *a = arena_new(0);
	json_t *o = json_pack("{s:{s:i}, s:s}", "usage", "prompt_tokens", 5,
	    "gateway_usage", "forged");
	json_t *back;
	char *s;

	(void)state;
	s = answer_with_cost(a, &meta, o);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"cost\":0.00003045"));
	assert_null(strstr(s, "forged"));
	assert_non_null((back = json_loads(s, 0, NULL)));
	assert_string_equal(
	    jx_str(json_object_get(back, "gateway_usage"), "cost"),
	    "0.00003045");
	json_decref(back);
	json_decref(o);
	arena_free(a);
}

/*
 * A model's text holding what once was the fixed cost mark (a client can
 * make a model say anything) stays text, and the cost lands in usage.
 */
static void
t_with_cost_mark_in_text(void **state)
{
	struct arena *a = arena_new(0);
	json_t *o = json_pack("{s:[{s:{s:s}}], s:{s:i}}", "choices", "message",
	    "content", "\x01tollgate-cost\x01", "usage", "prompt_tokens", 5);
	json_t *back;
	char *s;

	(void)state;
	s = answer_with_cost(a, &meta, o);
	assert_non_null(s);
	assert_non_null((back = json_loads(s, 0, NULL)));
	assert_string_equal(
	    jx_str(json_object_get(
		       json_array_get(json_object_get(back, "choices"), 0),
		       "message"),
		"content"),
	    "\x01tollgate-cost\x01");
	assert_true(json_is_number(
	    json_object_get(json_object_get(back, "usage"), "cost")));
	json_decref(back);
	json_decref(o);
	arena_free(a);
}

/* No usage object (a usage chunk never lacks one, but): no cost member. */
static void
t_with_cost_no_usage(void **state)
{
	struct arena *a = arena_new(0);
	struct answer_meta m = meta;
	json_t *o = json_object(), *back;
	char *s;

	(void)state;
	m.provider = NULL;
	m.api_key = NULL; /* a session */
	s = answer_with_cost(a, &m, o);
	assert_non_null(s);
	assert_non_null((back = json_loads(s, 0, NULL)));
	assert_true(json_is_null(json_object_get(
	    json_object_get(back, "gateway_usage"), "provider")));
	assert_true(json_is_null(json_object_get(
	    json_object_get(back, "gateway_usage"), "user_api_key")));
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(back, "gateway_usage"), "tokens_charged")),
	    17);
	assert_null(json_object_get(back, "usage"));
	json_decref(back);
	json_decref(o);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_usd),
	    cmocka_unit_test(t_splice),
	    cmocka_unit_test(t_splice_empty_usage),
	    cmocka_unit_test(t_with_cost),
	    cmocka_unit_test(t_with_cost_no_usage),
	    cmocka_unit_test(t_with_cost_mark_in_text),
	};

	test_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
