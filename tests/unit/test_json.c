/* test_json.c: unit tests for the strict JSON body parser and depth scanner */
#include "test_common.h"

#include "core/buf.h"
#include "core/json.h"

static unsigned
depth(const char *s)
{
	return jx_depth(s, strlen(s));
}

/* Parse s; the result is returned, *out checked for consistency. */
static enum tg_err
parse(const char *s, size_t len, unsigned maxdepth, int want_object,
    json_t **out, char *err, size_t errlen)
{
	enum tg_err e;

	*out = NULL;
	memset(err, 0, errlen);
	e = jx_parse(s, len, maxdepth, SIZE_MAX, want_object, out, err, errlen);
	if (e == TG_OK) {
		assert_non_null(*out);
	} else {
		assert_int_equal(e, TG_EJSON);
		assert_null(*out);
		assert_true(err[0] != '\0');
	}
	return e;
}

/* s must be rejected as JSON. */
static void
expect_ejson(const char *s, size_t len, unsigned maxdepth, int want_object)
{
	char err[256];
	json_t *j;

	if (parse(s, len, maxdepth, want_object, &j, err, sizeof(err)) !=
	    TG_EJSON) {
		json_decref(j);
		fail_msg("accepted: %.*s", (int)len, s);
	}
}

/* The same for a NUL-terminated s. */
static void
expect_bad(const char *s, unsigned maxdepth, int want_object)
{
	expect_ejson(s, strlen(s), maxdepth, want_object);
}

static void
expect_ok(const char *s, unsigned maxdepth, int want_object)
{
	char err[256];
	json_t *j;

	if (parse(s, strlen(s), maxdepth, want_object, &j, err, sizeof(err)) !=
	    TG_OK)
		fail_msg("rejected: %s (%s)", s, err);
	json_decref(j);
}

static void
t_depth_basic(void **state)
{
	assert_uint_equal(depth(""), 0);
	assert_uint_equal(depth("1"), 0);
	assert_uint_equal(depth("\"x\""), 0);
	assert_uint_equal(depth("{}"), 1);
	assert_uint_equal(depth("[]"), 1);
	assert_uint_equal(depth("[[[]]]"), 3);
	assert_uint_equal(depth("[[],[[]],[]]"), 3);
	assert_uint_equal(depth("{\"a\":[{\"b\":1}]}"), 3);
	assert_uint_equal(depth("{\"a\":{},\"b\":{}}"), 2);
	assert_uint_equal(depth(" [ { } ] "), 2);
}

static void
t_depth_unclosed(void **state)
{
	assert_uint_equal(depth("[[["), 3);
	assert_uint_equal(depth("{\"a\":[{"), 3);
}

static void
t_depth_skips_strings(void **state)
{
	assert_uint_equal(depth("\"[[[{{{\""), 0);
	assert_uint_equal(depth("[\"]]]\"]"), 1);
	assert_uint_equal(depth("{\"[[[\":\"{{{\"}"), 1);
}

static void
t_depth_escaped_quotes(void **state)
{
	/* ["\"[[["]: the escaped quote does not end the string. */
	assert_uint_equal(depth("[\"\\\"[[[\"]"), 1);
	/* ["\\", [[]]]: an escaped backslash does not escape the quote. */
	assert_uint_equal(depth("[\"\\\\\", [[]]]"), 3);
	/* ["\\\"[" ]: backslash, quote, bracket, all inside. */
	assert_uint_equal(depth("[\"\\\\\\\"[\"]"), 1);
	/* {"a":"\u005b"} is a bracket only once decoded. */
	assert_uint_equal(depth("{\"a\":\"\\u005b\"}"), 1);
}

static void
t_depth_uses_len(void **state)
{
	static const char raw[] = {'[', '[', ']', ']', '[', '['};

	assert_uint_equal(jx_depth("[[[]]]", 2), 2);
	assert_uint_equal(jx_depth(raw, 4), 2);
	assert_uint_equal(jx_depth("[[[]]]", 0), 0);
}

static void
t_depth_very_deep(void **state)
{
	size_t n = 100000;
	char *s = malloc(2 * n);

	assert_non_null(s);
	memset(s, '[', n);
	memset(s + n, ']', n);
	assert_uint_equal(jx_depth(s, 2 * n), n);
	free(s);
}

static void
t_parse_object(void **state)
{
	const char *s =
	    "{\"a\":1,\"b\":[true,null],\"c\":{\"d\":\"\xc3\xa9\"}}";
	char err[256];
	json_t *j;

	assert_int_equal(
	    parse(s, strlen(s), 64, 1, &j, err, sizeof(err)), TG_OK);
	assert_true(json_is_object(j));
	assert_int_equal(j->refcount, 1);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "b")), 2);
	assert_str(
	    json_string_value(json_object_get(json_object_get(j, "c"), "d")),
	    "\xc3\xa9");
	json_decref(j);
}

static void
t_parse_uses_len(void **state)
{
	const char *s = "{\"a\":1}GARBAGE";
	char err[256];
	json_t *j;

	/* Only len bytes are JSON; the text need not end there. */
	assert_int_equal(parse(s, 7, 64, 1, &j, err, sizeof(err)), TG_OK);
	assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
	json_decref(j);
}

static void
t_parse_whitespace_around(void **state)
{
	expect_ok(" \n\t{\"a\":1}\r\n ", 64, 1);
}

static void
t_parse_duplicate_keys(void **state)
{
	const char *s = "{\"a\":1,\"a\":2}";
	char err[256];
	json_t *j;

	assert_int_equal(
	    parse(s, strlen(s), 64, 1, &j, err, sizeof(err)), TG_EJSON);
	if (test_strcasestr(err, "duplicate") == NULL)
		fail_msg("message does not mention duplicate: %s", err);
}

static void
t_parse_nested_duplicate_keys(void **state)
{
	const char *s = "{\"x\":[{\"k\":1,\"y\":2,\"k\":3}]}";

	expect_ejson(s, strlen(s), 64, 1);
}

static void
t_parse_depth_cap(void **state)
{
	char err[256];
	json_t *j;

	expect_ok("[[[]]]", 3, 0);
	expect_bad("[[[[]]]]", 3, 0);
	expect_ok("{\"a\":{\"b\":{}}}", 3, 1);
	expect_bad("{\"a\":{\"b\":{\"c\":{}}}}", 3, 1);
	/* Brackets in strings are not nesting. */
	expect_ok("{\"a\":\"[[[[[[[[[[\"}", 1, 1);
	assert_int_equal(
	    parse("{\"a\":[1]}", 9, 1, 1, &j, err, sizeof(err)), TG_EJSON);
	if (test_strcasestr(err, "depth") == NULL &&
	    test_strcasestr(err, "nest") == NULL &&
	    test_strcasestr(err, "deep") == NULL)
		fail_msg("message does not say why: %s", err);
}

static void
t_parse_very_deep(void **state)
{
	size_t n = 100000;
	char *s = malloc(2 * n);

	assert_non_null(s);
	memset(s, '[', n);
	memset(s + n, ']', n);
	expect_ejson(s, 2 * n, 64, 0);
	free(s);
}

static void
t_parse_want_object(void **state)
{
	expect_bad("[1]", 64, 1);
	expect_bad("[]", 64, 1);
	expect_bad("\"str\"", 64, 1);
	expect_bad("1", 64, 1);
	expect_bad("null", 64, 1);
	expect_bad("true", 64, 1);
}

static void
t_parse_any_value(void **state)
{
	expect_ok("[1]", 64, 0);
	expect_ok("\"str\"", 64, 0);
	expect_ok("1", 64, 0);
	expect_ok("null", 64, 0);
}

static void
t_parse_trailing_garbage(void **state)
{
	expect_bad("{\"a\":1} x", 64, 1);
	expect_bad("{\"a\":1}{}", 64, 1);
	expect_bad("{\"a\":1},", 64, 1);
	expect_ejson("{\"a\":1}\0", 8, 64, 1);
}

static void
t_parse_empty(void **state)
{
	expect_bad("", 64, 1);
	expect_bad("   \n", 64, 1);
	expect_bad("", 64, 0);
}

static void
t_parse_malformed(void **state)
{
	expect_bad("{\"a\":}", 64, 1);
	expect_bad("{\"a\":1", 64, 1);
	expect_bad("{a:1}", 64, 1);
	expect_bad("{\"a\":1,}", 64, 1);
	expect_bad("{\"a\":'x'}", 64, 1);
	expect_bad("{\"a\":NaN}", 64, 1);
}

static void
t_parse_invalid_utf8(void **state)
{
	expect_bad("{\"a\":\"\xff\"}", 64, 1);
	expect_bad("{\"a\":\"\xc0\xaf\"}", 64, 1);     /* overlong */
	expect_bad("{\"\xe9\":1}", 64, 1);	       /* latin-1 key */
	expect_bad("{\"a\":\"\xed\xa0\x80\"}", 64, 1); /* surrogate */
}

static void
t_parse_err_truncated(void **state)
{
	const char *s = "{\"a\":1,\"a\":2}";
	char err[32];
	json_t *j = NULL;
	size_t i;

	/* A small buffer gets a NUL-terminated prefix and nothing past it. */
	memset(err, 'X', sizeof(err));
	assert_int_equal(
	    jx_parse(s, strlen(s), 64, SIZE_MAX, 1, &j, err, 8), TG_EJSON);
	assert_null(j);
	assert_true(strnlen(err, 8) < 8);
	for (i = 8; i < sizeof(err); i++)
		assert_int_equal(err[i], 'X');
}

static void
t_dump_compact(void **state)
{
	json_t *j = json_pack(
	    "{s:i,s:[i,i],s:s,s:n}", "a", 1, "b", 1, 2, "c", "x\"y", "d");
	char *s;

	assert_non_null(j);
	s = jx_dump(j);
	assert_str(s, "{\"a\":1,\"b\":[1,2],\"c\":\"x\\\"y\",\"d\":null}");
	free(s);
	json_decref(j);
}

static void
t_dump_scalar(void **state)
{
	json_t *j = json_integer(42);
	char *s;

	s = jx_dump(j);
	assert_str(s, "42");
	free(s);
	json_decref(j);
}

/* The value of key located in text, as a string ("" when not found). */
static const char *
located(const char *text, const char *key, int *n, struct jx_where *w)
{
	static char v[256];

	*n = jx_locate(text, strlen(text), key, w);
	v[0] = '\0';
	if (*n > 0)
		snprintf(
		    v, sizeof(v), "%.*s", (int)(w->ve - w->vs), text + w->vs);
	return v;
}

static void
t_locate_members(void **state)
{
	struct jx_where w;
	int n;
	const char *doc =
	    " {\"id\":\"x}\\\"{\", \"choices\":[{\"usage\":{\"a\":1}}],"
	    "\n \"usage\" : {\"prompt_tokens\":3,\"d\":{\"e\":[1,{}]}} ,"
	    "\"n\":-1.5e3,\"t\":true,\"z\":null}\r\n";

	assert_string_equal(located(doc, "usage", &n, &w),
	    "{\"prompt_tokens\":3,\"d\":{\"e\":[1,{}]}}");
	assert_int_equal(n, 1); /* the nested "usage" is not top-level */
	assert_int_equal(w.members, 6);
	assert_int_equal(doc[w.close], '}');
	assert_int_equal(w.close, strlen(doc) - 3);
	assert_string_equal(located(doc, "id", &n, &w), "\"x}\\\"{\"");
	assert_string_equal(located(doc, "n", &n, &w), "-1.5e3");
	assert_string_equal(located(doc, "t", &n, &w), "true");
	assert_string_equal(located(doc, "z", &n, &w), "null");
	assert_string_equal(located(doc, "nope", &n, &w), "");
	assert_int_equal(n, 0);
	assert_string_equal(
	    located(doc, "use", &n, &w), ""); /* no prefix match */
	assert_int_equal(n, 0);
}

static void
t_locate_edges(void **state)
{
	struct jx_where w;
	int n;

	assert_string_equal(located("{}", "a", &n, &w), "");
	assert_int_equal(n, 0);
	assert_int_equal(w.members, 0);
	assert_int_equal(w.close, 1);
	/* Repeated keys are counted; the last one is reported. */
	assert_string_equal(located("{\"a\":1,\"a\":{}}", "a", &n, &w), "{}");
	assert_int_equal(n, 2);
	/* A key written with escapes cannot be judged by bytes. */
	assert_int_equal(jx_locate("{\"\\u0061\":1}", 11, "a", &w), -1);
	assert_int_equal(jx_locate("[1,2]", 5, "a", &w), -1);
	assert_int_equal(jx_locate("{\"a\":1", 7, "a", &w), -1);
	assert_int_equal(jx_locate("{\"a\":{\"b\":1}", 13, "a", &w), -1);
	assert_int_equal(jx_locate("", 0, "a", &w), -1);
	/* The length bounds the scan, not a NUL. */
	assert_int_equal(jx_locate("{\"a\":1}", 6, "a", &w), -1);
}

static void
t_quote(void **state)
{
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(jx_quote(&b, "plain/model-1"), TG_OK);
	assert_int_equal(jx_quote(&b, "q\"b\\c\n\x01\x1f\xc3\xa9"), TG_OK);
	assert_int_equal(jx_quote(&b, ""), TG_OK);
	assert_int_equal(buf_append(&b, "", 1), TG_OK);
	assert_string_equal(b.data,
	    "\"plain/model-1\""
	    "\"q\\\"b\\\\c\\u000a\\u0001\\u001f\xc3\xa9\""
	    "\"\"");
	buf_free(&b);
}

static int
jansson_loads(const char *t, size_t n)
{
	json_t *j = json_loadb(t, n, 0, NULL);

	json_decref(j);
	return j != NULL;
}

/* Documents shaped like providers' answers, and the RFC's corners. */
static const char *const valid_docs[] = {
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":"
    "1732000000,"
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
    "\"h\\u00e9llo \\ud83d\\ude00 \\\"q\\\" \\\\ \\/ "
    "\\b\\f\\n\\r\\t\",\"refusal\":null},"
    "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_"
    "tokens\":12,"
    "\"completion_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":0},"
    "\"cost\":-0.5e-3,\"x\":[true,false,null,0,-0,1.25E+2,{}]}}",
    "\n\n{\"a\": [ ] , \"b\" : { } }\r\n",
    "{\"utf8\":"
    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}",
    "[1,[2,[3,[4]]]]",
    "\"just a string\"",
    "9223372036854775807",
    "-9223372036854775808",
    "12345678901234567890.5",
    "[1e308,1e-400,173e000000]",
    "{\"\":\"\"}",
};

static const char *const invalid_docs[] = {
    "",
    " ",
    "{",
    "}",
    "{\"a\"}",
    "{\"a\":}",
    "{\"a\":1,}",
    "[1,]",
    "[,1]",
    "{a:1}",
    "{\"a\":1}}",
    "{\"a\":1} x",
    "[01]",
    "[1.]",
    "[.5]",
    "[1e]",
    "[-]",
    "[+1]",
    "[1e999]",
    "[tru]",
    "[nul]",
    "[True]",
    "[\"\\x\"]",
    "[\"\\u12\"]",
    "[\"\\u0000\"]",
    "[\"\\udc00\"]",
    "[\"\\ud800\"]",
    "[\"\\ud800\\u0041\"]",
    "[\"tab\there\"]",
    "[\"\xc3\"]",
    "[\"\xc0\xaf\"]",
    "[\"\xed\xa0\x80\"]",
    "[\"\xf4\x90\x80\x80\"]",
    "[\"\xff\"]",
    "[\"\x80\"]",
    "[\"open",
    "\xef\xbb\xbf{}",
    "9223372036854775808",
    "[1e309]",
    "[-2e400]",
};

static void
t_valid_corpus(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(valid_docs) / sizeof(valid_docs[0]); i++) {
		if (!jx_valid(valid_docs[i], strlen(valid_docs[i])))
			fail_msg("valid doc %zu refused", i);
		assert_true(
		    jansson_loads(valid_docs[i], strlen(valid_docs[i])) ||
		    valid_docs[i][0] != '{'); /* jansson loads objects/arrays */
	}
	for (i = 0; i < sizeof(invalid_docs) / sizeof(invalid_docs[0]); i++)
		if (jx_valid(invalid_docs[i], strlen(invalid_docs[i])))
			fail_msg(
			    "invalid doc %zu accepted: %s", i, invalid_docs[i]);
	/* Nesting: 64 levels pass, 65 do not (the caller then asks jansson). */
	{
		char deep[140];

		memset(deep, '[', 65);
		memset(deep + 65, ']', 65);
		assert_false(jx_valid(deep, 130));
		assert_true(jx_valid(deep + 1, 128));
	}
	/* The length bounds the scan: a prefix of a valid document is not one. */
	assert_false(jx_valid("{\"a\":1}", 6));
	assert_true(jx_valid("{\"a\":1}garbage", 7));
}

/*
 * Every single-byte change, deletion and truncation of an answer: what
 * jx_valid accepts, jansson loads (the fast path never relays what the full
 * parse would refuse), and the other way round (a refusal only costs the
 * fast path, but should not happen).
 */
static void
t_valid_agrees_with_jansson(void **state)
{
	static const char subs[] = "\"\\{}[],:0-.eE+tnu \x01\x1f\x80\xc3\xff\t";
	const char *base = valid_docs[0];
	size_t n = strlen(base), i, k, tried = 0;
	char *m = malloc(n + 1);
	int v, j;

	assert_non_null(m);
	for (i = 0; i <= n; i++) {
		for (k = 0; k <= sizeof(subs) - 1; k++) {
			size_t len = n;

			memcpy(m, base, n + 1);
			if (i == n) {
				len = k; /* truncations */
				if (k >= n)
					continue;
			} else if (k == sizeof(subs) - 1) {
				memmove(m + i, m + i + 1, n - i); /* deletion */
				len = n - 1;
			} else
				m[i] = subs[k];
			v = jx_valid(m, len);
			j = jansson_loads(m, len);
			tried++;
			if (v != j)
				fail_msg("disagree (jx_valid %d, jansson %d) "
					 "at %zu/%zu: "
					 "%.*s",
				    v, j, i, k, (int)len, m);
		}
	}
	assert_int_equal(tried, (n + 1) * sizeof(subs)); /* each one tried */
	free(m);
}

/* jx_count: every value counts once (containers, scalars; keys do not). */
static void
t_count_values(void **state)
{
	static const struct {
		const char *doc;
		size_t n;
	} cases[] = {
	    {"1", 1}, {"[]", 1}, {"{}", 1}, {"[{},{},{}]", 4},
	    {"{\"a\":1,\"b\":[true,null,\"x\"]}", 6}, {" [ [ ] , [ 1 ] ] ", 4},
	    {"{\"k,[{\":\"v,]}\"}", 2}, /* brackets in strings are text */
	};
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = 0;
		assert_int_equal(
		    jx_count(cases[i].doc, strlen(cases[i].doc), 64, 100, &n),
		    JX_SCAN_OK);
		if (n != cases[i].n)
			fail_msg("%s: %zu values, want %zu", cases[i].doc, n,
			    cases[i].n);
	}
}

/* The bound is exact, and the scan stops at it instead of reading on. */
static void
t_count_bound(void **state)
{
	const char *four = "[{},{},{}]";
	char *bomb;
	size_t n, i, len = 3 * 1000000 + 1;

	assert_int_equal(jx_count(four, strlen(four), 64, 4, &n), JX_SCAN_OK);
	assert_int_equal(n, 4);
	assert_int_equal(jx_count(four, strlen(four), 64, 3, &n), JX_SCAN_MANY);
	assert_int_equal(n, 4);
	/* A million-element bomb: refused after the bound's worth of values. */
	bomb = malloc(len + 1);
	assert_non_null(bomb);
	bomb[0] = '[';
	for (i = 0; i < 1000000; i++)
		memcpy(bomb + 1 + 3 * i, "{},", 3);
	bomb[len - 1] = ']';
	bomb[len] = '\0';
	assert_int_equal(jx_count(bomb, len, 64, 100000, &n), JX_SCAN_MANY);
	assert_int_equal(n, 100001);
	free(bomb);
}

/* Depth and syntax, with the values seen so far. */
static void
t_count_depth_bad(void **state)
{
	size_t n;

	assert_int_equal(jx_count("[[[1]]]", 7, 3, 100, &n), JX_SCAN_OK);
	assert_int_equal(jx_count("[[[1]]]", 7, 2, 100, &n), JX_SCAN_DEEP);
	assert_int_equal(jx_count("[1,2,", 5, 64, 100, &n), JX_SCAN_BAD);
	assert_int_equal(n, 3);
	assert_int_equal(jx_count("[1,2,x]", 7, 64, 100, &n), JX_SCAN_BAD);
	assert_int_equal(jx_count("", 0, 64, 100, &n), JX_SCAN_BAD);
	/*
	 * A number longer than jx_valid reads is syntax here (jansson takes
	 * it), so a long number cannot end the count early while jansson
	 * goes on building what follows.
	 */
	{
		const char *longnum = "[0.00000000000000000000000000000000000"
				      "00000000000000000000000000000001,{},{}]";

		assert_int_equal(jx_count(longnum, strlen(longnum), 64, 2, &n),
		    JX_SCAN_MANY);
	}
}

/* jx_parse refuses a body over maxelems before jansson builds it: TG_ETOOBIG. */
static void
t_parse_elements(void **state)
{
	const char *s = "{\"a\":[1,2,3,4]}";
	char err[256];
	json_t *j = NULL;

	assert_int_equal(
	    jx_parse(s, strlen(s), 64, 6, 1, &j, err, sizeof(err)), TG_OK);
	json_decref(j);
	j = NULL;
	assert_int_equal(
	    jx_parse(s, strlen(s), 64, 5, 1, &j, err, sizeof(err)), TG_ETOOBIG);
	assert_null(j);
	assert_non_null(strstr(err, "limit of 5"));
	/* Malformed text under the bound keeps jansson's message. */
	assert_int_equal(
	    jx_parse("{\"a\":[1,", 8, 64, 5, 1, &j, err, sizeof(err)),
	    TG_EJSON);
	assert_non_null(strstr(err, "invalid JSON"));
}

/*
 * Found by tests/fuzz/fuzz_json: jansson 2.14 takes a raw NUL byte right
 * after a number as the number's end and reads on, where jx_count stops,
 * malformed, having counted two values.  So "[1<NUL>,{},{},...]" was
 * built in full past any element cap: 8 MiB of it is millions of objects.
 * No raw NUL byte is valid JSON anywhere: refused, and nothing built.
 */
static void
t_parse_nul_byte(void **state)
{
	static const char body[] = "{\"a\":[1\0,{},{},{},{},{},{},{},{},{}]}";
	static const char num[] = "{\"max_tokens\":5\0}";
	char err[256];
	json_t *j = NULL;
	enum tg_err rc;

	rc = jx_parse(body, sizeof(body) - 1, 64, 5, 1, &j, err, sizeof(err));
	assert_null(j);
	assert_true(rc == TG_EJSON || rc == TG_ETOOBIG);
	rc = jx_parse(num, sizeof(num) - 1, 64, 100, 1, &j, err, sizeof(err));
	assert_null(j);
	assert_int_equal(rc, TG_EJSON);
	assert_non_null(strstr(err, "invalid JSON"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_depth_basic),
	    cmocka_unit_test(t_depth_unclosed),
	    cmocka_unit_test(t_depth_skips_strings),
	    cmocka_unit_test(t_depth_escaped_quotes),
	    cmocka_unit_test(t_depth_uses_len),
	    cmocka_unit_test(t_depth_very_deep),
	    cmocka_unit_test(t_parse_object),
	    cmocka_unit_test(t_parse_uses_len),
	    cmocka_unit_test(t_parse_whitespace_around),
	    cmocka_unit_test(t_parse_duplicate_keys),
	    cmocka_unit_test(t_parse_nested_duplicate_keys),
	    cmocka_unit_test(t_parse_depth_cap),
	    cmocka_unit_test(t_parse_very_deep),
	    cmocka_unit_test(t_parse_want_object),
	    cmocka_unit_test(t_parse_any_value),
	    cmocka_unit_test(t_parse_trailing_garbage),
	    cmocka_unit_test(t_parse_empty),
	    cmocka_unit_test(t_parse_malformed),
	    cmocka_unit_test(t_parse_invalid_utf8),
	    cmocka_unit_test(t_parse_err_truncated),
	    cmocka_unit_test(t_dump_compact),
	    cmocka_unit_test(t_dump_scalar),
	    cmocka_unit_test(t_locate_members),
	    cmocka_unit_test(t_locate_edges),
	    cmocka_unit_test(t_quote),
	    cmocka_unit_test(t_valid_corpus),
	    cmocka_unit_test(t_valid_agrees_with_jansson),
	    cmocka_unit_test(t_count_values),
	    cmocka_unit_test(t_count_bound),
	    cmocka_unit_test(t_count_depth_bad),
	    cmocka_unit_test(t_parse_elements),
	    cmocka_unit_test(t_parse_nul_byte),
	};

	test_init();
	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
