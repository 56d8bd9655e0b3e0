/* test_openapi.c: www/openapi.json stays a true description of the route table */
#include "test_common.h"

#include "http/router.h"

static json_t *doc;

/*
 * A route's pattern as OpenAPI writes it: a "{name*}" capture (the rest of
 * the path) is a plain "{name}" there.
 */
static const char *
doc_path(const char *pattern, char *out, size_t len)
{
	size_t i, j = 0;

	for (i = 0; pattern[i] != '\0' && j + 1 < len; i++)
		if (!(pattern[i] == '*' && pattern[i + 1] == '}'))
			out[j++] = pattern[i];
	out[j] = '\0';
	return out;
}

static int
setup(void **state)
{
	const char *src = getenv("TOLLGATE_SRCDIR");
	char path[4096];
	json_error_t je;

	snprintf(
	    path, sizeof(path), "%s/www/openapi.json", src != NULL ? src : ".");
	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		fprintf(stderr, "%s: %s (line %d)\n", path, je.text, je.line);
	return doc == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	json_decref(doc);
	return 0;
}

static void
t_is_openapi_31(void **state)
{
	assert_str(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
	assert_non_null(json_object_get(json_object_get(doc, "info"), "title"));
	assert_non_null(json_object_get(doc, "paths"));
}

/* Every public route is documented with its method; debug routes are not. */
static void
t_every_route_documented(void **state)
{
	const struct route *rt;
	json_t *paths = json_object_get(doc, "paths"), *item;
	char method[16], dp[256];
	size_t n, i, k;

	rt = router_routes(&n);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		item = json_object_get(
		    paths, doc_path(rt[i].pattern, dp, sizeof(dp)));
		if (rt[i].flags & RF_DEBUG) {
			assert_null(item);
			continue;
		}
		if (item == NULL)
			fail_msg("route %s is missing from openapi.json",
			    rt[i].pattern);
		snprintf(method, sizeof(method), "%s",
		    req_method_name(rt[i].method));
		for (k = 0; method[k] != '\0'; k++)
			method[k] = (char)tolower((unsigned char)method[k]);
		if (json_object_get(item, method) == NULL)
			fail_msg("%s %s is missing from openapi.json", method,
			    rt[i].pattern);
	}
}

/* And nothing is documented that the router would answer 404 for. */
static void
t_no_phantom_paths(void **state)
{
	const struct route *rt;
	json_t *paths = json_object_get(doc, "paths"), *v;
	const char *path;
	char dp[256];
	size_t n, i;
	int found;

	rt = router_routes(&n);
	json_object_foreach(paths, path, v) {
		found = 0;
		for (i = 0; i < n; i++)
			found |= strcmp(doc_path(rt[i].pattern, dp, sizeof(dp)),
				     path) == 0;
		if (!found)
			fail_msg(
			    "openapi.json documents %s, which has no route",
			    path);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_is_openapi_31),
	    cmocka_unit_test(t_every_route_documented),
	    cmocka_unit_test(t_no_phantom_paths),
	};

	test_init();
	return cmocka_run_group_tests_name("openapi", tests, setup, teardown);
}
