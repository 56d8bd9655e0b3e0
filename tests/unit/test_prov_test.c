/* test_prov_test.c: the built-in test models (issue 18): answers, token counts, streams */
#include "test_common.h"

#include "prov/prov_test.h"

static const struct prov_test_ask base = {
    "chatcmpl-1", "test/echo", 1700000000, 100, 0, 0};

static json_t *
req_of(const char *s)
{
	json_t *r = json_loads(s, 0, NULL);

	assert_non_null(r);
	return r;
}

static void
t_words(void **state)
{
	(void)state;
	assert_int_equal(prov_test_words("", 0), 0);
	assert_int_equal(prov_test_words("  a  bc\td\n", 10), 3);
	assert_int_equal(
	    prov_test_words("héllo wörld", strlen("héllo wörld")), 2);
}

/* The last user message, the prompt counted over every message. */
static void
t_echo(void **state)
{
	json_t *r =
	    req_of("{\"messages\":[{\"role\":\"system\",\"content\":\"be "
		   "terse\"},{\"role\":\"user\",\"content\":\"first\"},"
		   "{\"role\":\"assistant\",\"content\":\"ok then\"},"
		   "{\"role\":\"user\",\"content\":\"the quick fox\"}]}");
	json_t *o;
	size_t n = 0;
	char *s;

	(void)state;
	s = prov_test_answer(r, &base, &n);
	assert_non_null(s);
	assert_int_equal(strlen(s), n);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_object_get(
		    json_array_get(json_object_get(o, "choices"), 0),
		    "message"),
		"content")),
	    "the quick fox");
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(o, "usage"), "prompt_tokens")),
	    8);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(o, "usage"), "completion_tokens")),
	    3);
	json_decref(o);
	free(s);
	json_decref(r);
}

/* max_tokens cuts after whole words, the blanks before the cut too. */
static void
t_cut(void **state)
{
	json_t *r = req_of("{\"messages\":[{\"role\":\"user\",\"content\":[{"
			   "\"type\":\"text\",\"text\":\"one two\"},{\"type\":"
			   "\"text\",\"text\":\"three\"}]}]}");
	struct prov_test_ask a = base;
	size_t n = 0;
	char *s;

	(void)state;
	a.max_words = 2;
	s = prov_test_answer(r, &a, &n);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"content\":\"one two\""));
	assert_non_null(strstr(s, "\"finish_reason\":\"length\""));
	assert_non_null(strstr(s, "\"completion_tokens\":2"));
	free(s);
	json_decref(r);
}

/* test/stream: a chunk per word, the finish, the usage without choices, [DONE]. */
static void
t_stream(void **state)
{
	json_t *r = req_of(
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"a b  c\"}]}");
	struct prov_test_ask a = base;
	size_t n = 0, events = 0;
	const char *p;
	char *s;

	(void)state;
	a.stream = 1;
	a.per_word = 1;
	s = prov_test_answer(r, &a, &n);
	assert_non_null(s);
	for (p = s; (p = strstr(p, "data: ")) != NULL; p++)
		events++;
	/* role, three words, finish, usage, [DONE] */
	assert_int_equal(events, 7);
	assert_non_null(strstr(s, "{\"content\":\"b  \"}"));
	assert_non_null(strstr(s,
	    "\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
	    "\"completion_tokens\":3"));
	assert_int_equal(strcmp(s + n - 14, "data: [DONE]\n\n"), 0);
	free(s);
	json_decref(r);
}

/* No user message: an empty answer, still with its usage. */
static void
t_no_user(void **state)
{
	json_t *r =
	    req_of("{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}");
	size_t n = 0;
	char *s;

	(void)state;
	s = prov_test_answer(r, &base, &n);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"content\":\"\""));
	assert_non_null(
	    strstr(s, "\"prompt_tokens\":1,\"completion_tokens\":0"));
	free(s);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_words),
	    cmocka_unit_test(t_echo),
	    cmocka_unit_test(t_cut),
	    cmocka_unit_test(t_stream),
	    cmocka_unit_test(t_no_user),
	};

	test_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
