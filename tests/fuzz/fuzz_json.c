/* fuzz_json.c: the JSON validator, counter, locator and quoter against jansson */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/json.h"

/* The members the gateway locates in providers' answers and in bodies. */
static const char *const keys[] = {
    "usage", "gateway_usage", "model", "cost", "prompt_tokens", "stream", ""};

/*
 * jx_valid promises that jansson loads whatever it passes, and jx_parse
 * that what jx_count calls malformed jansson never builds (the element cap
 * rests on that: jansson must never build a tree the count did not see).
 */
static void
check_valid(const char *t, size_t len)
{
	json_t *j = json_loadb(t, len, JSON_DECODE_ANY, NULL), *p = NULL;
	size_t elems = 0;
	enum jx_scan s = jx_count(t, len, JX_MAX_DEPTH, SIZE_MAX, &elems);
	char err[256];

	if (jx_valid(t, len))
		FUZZ_CHECK(j != NULL && s == JX_SCAN_OK);
	json_decref(j);
	if (s == JX_SCAN_BAD)
		FUZZ_CHECK(jx_parse(t, len, JX_MAX_DEPTH, SIZE_MAX, 0, &p, err,
			       sizeof(err)) == TG_EJSON &&
		    p == NULL);
	/* Past the cap counts stop at the first value over it. */
	s = jx_count(t, len, 64, 8, &elems);
	FUZZ_CHECK(s != JX_SCAN_MANY || elems == 9);
	FUZZ_CHECK(s == JX_SCAN_MANY || elems <= 8);
}

/* A located member lies inside the object; in valid text it is a value. */
static void
check_locate(const char *t, size_t len)
{
	struct jx_where w;
	size_t i;
	int n, valid = jx_valid(t, len);

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		n = jx_locate(t, len, keys[i], &w);
		if (n < 0)
			continue;
		FUZZ_CHECK(w.close < len && t[w.close] == '}');
		FUZZ_CHECK((size_t)n <= w.members);
		if (n == 0)
			continue;
		FUZZ_CHECK(w.vs < w.ve && w.ve <= w.close);
		if (valid)
			FUZZ_CHECK(jx_valid(t + w.vs, w.ve - w.vs));
	}
}

/* Values in a tree (each scalar, array and object; keys not), as jx_count counts. */
static size_t
values(const json_t *j)
{
	const char *k;
	json_t *v;
	size_t i, n = 1;

	if (json_is_object(j))
		json_object_foreach((json_t *)j, k, v)
			n += values(v);
	else if (json_is_array(j))
		json_array_foreach(j, i, v)
			n += values(v);
	return n;
}

/*
 * What jx_parse accepts is an object within both caps, whose fields
 * jx_check judges with a code for every refusal; what it refuses has a
 * message.
 */
static void
check_parse(const char *t, size_t len)
{
	static const struct jx_field spec[] = {{"model", JX_STRING, 1},
	    {"messages", JX_ARRAY, 0}, {"max_tokens", JX_INT | JX_NULL, 0},
	    {"stream", JX_BOOL, 0}, {"temperature", JX_NUMBER, 0},
	    {"metadata", JX_OBJECT, 0}, {NULL, 0, 0}};
	const char *code = NULL, *param = NULL;
	json_t *j = NULL;
	char err[256], msg[256];
	enum tg_err rc;

	err[0] = '\0';
	rc = jx_parse(t, len, 8, 16, 1, &j, err, sizeof(err));
	if (rc == TG_OK) {
		FUZZ_CHECK(json_is_object(j));
		FUZZ_CHECK(values(j) <= 16);
		FUZZ_CHECK(jx_depth(t, len) <= 8);
		if (jx_check(j, spec, &code, &param, msg, sizeof(msg)) != TG_OK)
			FUZZ_CHECK(code != NULL && msg[0] != '\0');
	} else
		FUZZ_CHECK(j == NULL && err[0] != '\0');
	json_decref(j);
}

/* The bytes as a C string, quoted: valid JSON that loads back to them. */
static void
check_quote(const char *t, size_t len)
{
	char *s = strndup(t, len);
	json_t *in, *out, *lossy;
	struct buf b;

	if (s == NULL)
		return;
	lossy = jx_string_lossy(s);
	FUZZ_CHECK(lossy != NULL);
	json_decref(lossy);
	in = json_string(s);
	buf_init(&b, 1u << 24);
	if (in != NULL && jx_quote(&b, s) == TG_OK) {
		FUZZ_CHECK(jx_valid(b.data, b.len));
		out = json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL);
		FUZZ_CHECK(json_equal(in, out));
		json_decref(out);
	}
	buf_free(&b);
	json_decref(in);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;

	(void)jx_depth(t, size);
	check_valid(t, size);
	check_locate(t, size);
	check_parse(t, size);
	check_quote(t, size);
	return 0;
}
