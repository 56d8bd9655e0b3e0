/* fuzz_api_gemini.c: the Gemini codec: any request refused or translated whole, any chunk stream answered in valid JSON */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>
#include <jansson.h>

#include "core/json.h"
#include "prov/api.h"

/* api.c names every codec; the others are not under test here. */
__attribute__((weak)) const struct api_ops api_anthropic_ops = {0};
__attribute__((weak)) const struct api_ops api_responses_ops = {0};

static const struct token_counts usage = {
    .prompt = 7, .completion = 5, .cached = 2, .reasoning = 1};
static const struct api_meta meta = {
    "req-1", "prov", "google/gemini-2.5-flash", 12345, 678, &usage, NULL};

/* What the client was sent: every event one JSON object. */
struct seen {
	size_t events, finishes;
	int last_has_cost;
	int native; /* the provider's own chunks: any object */
};

static int
sink(void *arg, const char *event, const char *data, size_t len)
{
	struct seen *s = arg;
	json_t *o, *um;

	FUZZ_CHECK(event == NULL); /* Gemini's SSE has data lines only */
	FUZZ_CHECK(strlen(data) == len && jx_valid(data, len));
	o = json_loadb(data, len, 0, NULL);
	FUZZ_CHECK(json_is_object(o));
	FUZZ_CHECK(s->native || json_object_get(o, "candidates") != NULL ||
	    json_object_get(o, "usageMetadata") != NULL ||
	    json_object_get(o, "error") != NULL);
	s->finishes += strstr(data, "\"finishReason\"") != NULL;
	um = json_object_get(o, "usageMetadata");
	s->last_has_cost = json_is_number(json_object_get(um, "cost")) &&
	    json_is_object(json_object_get(o, "gateway_usage"));
	s->events++;
	json_decref(o);
	return 0;
}

/*
 * A request is refused with a message and a code, or translated: messages
 * in order with roles the pivot knows, and every tool message answering a
 * call an assistant message made before it.
 */
static void
check_request(const json_t *in)
{
	struct api_refusal why;
	json_t *p, *m, *calls, *tc;
	const char *role;
	size_t i, j;
	char *s;

	p = api_gemini_ops.to_pivot(in, &why);
	if (p == NULL) {
		FUZZ_CHECK(why.msg[0] != '\0' && why.code != NULL);
		FUZZ_CHECK(why.param == NULL ||
		    (why.param > why.msg &&
			why.param < why.msg + sizeof(why.msg) &&
			memchr(why.param, '\0',
			    (size_t)(why.msg + sizeof(why.msg) - why.param))));
		return;
	}
	FUZZ_CHECK(json_is_array(json_object_get(p, "messages")));
	calls = json_object();
	json_array_foreach(json_object_get(p, "messages"), i, m) {
		role = jx_str(m, "role");
		FUZZ_CHECK(role != NULL);
		FUZZ_CHECK(strcmp(role, "system") == 0 ||
		    strcmp(role, "user") == 0 ||
		    strcmp(role, "assistant") == 0 ||
		    strcmp(role, "tool") == 0);
		json_array_foreach(json_object_get(m, "tool_calls"), j, tc)
			json_object_set_new(
			    calls, jx_str(tc, "id"), json_true());
		if (strcmp(role, "tool") == 0)
			FUZZ_CHECK(json_object_get(calls,
				       jx_str(m, "tool_call_id")) != NULL);
	}
	json_decref(calls);
	s = jx_dump(p);
	FUZZ_CHECK(s != NULL && jx_valid(s, strlen(s)));
	free(s);
	json_decref(p);
}

/*
 * Each line an OpenAI chunk: the stream ends with exactly one event with
 * finishReason, the last one, carrying the cost; native streams and
 * answers keep valid JSON too.
 */
static void
check_stream(const char *t, size_t size)
{
	struct api_state st;
	struct seen s = {0, 0, 0, 0};
	json_t *c, *held = json_array(), *a;
	size_t i = 0, e;
	char *d;

	memset(&st, 0, sizeof(st));
	st.model = "m";
	st.request_id = "req-1";
	for (; i < size; i = e + 1) {
		for (e = i; e < size && t[e] != '\n'; e++)
			;
		if ((c = json_loadb(t + i, e - i, 0, NULL)) == NULL)
			continue;
		FUZZ_CHECK(api_gemini_ops.chunk(&st, c, sink, &s) == 0);
		FUZZ_CHECK(s.finishes == 0);
		if (api_gemini_ops.native_hold(NULL, c))
			json_array_append_new(
			    held, json_pack("{s:n, s:O}", "event", "data", c));
		if ((a = api_gemini_ops.answer(c, &meta)) != NULL) {
			d = api_dump(a, &meta);
			FUZZ_CHECK(d != NULL && jx_valid(d, strlen(d)));
			free(d);
			json_decref(a);
		}
		json_decref(c);
	}
	FUZZ_CHECK(api_gemini_ops.end(&st, &meta, sink, &s) == 0);
	FUZZ_CHECK(s.finishes == 1 && s.last_has_cost);
	memset(&s, 0, sizeof(s));
	s.native = 1;
	FUZZ_CHECK(api_gemini_ops.native_end(&st, held, &meta, sink, &s) == 0);
	FUZZ_CHECK(s.last_has_cost);
	json_decref(held);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	json_t *in;

	if ((in = json_loadb(t, size, 0, NULL)) != NULL) {
		check_request(in);
		json_decref(in);
	}
	check_stream(t, size);
	return 0;
}
