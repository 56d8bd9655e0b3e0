/* fuzz_api_anthropic.c: the Anthropic Messages codec: requests to the pivot, OpenAI chunks to well-formed events */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>

#include "core/json.h"
#include "prov/api.h"

/*
 * Until the Gemini and Responses codecs are merged, api.c's table needs
 * their symbols: weak stand-ins that the real ones replace.
 */
__attribute__((weak))
const struct api_ops api_gemini_ops = {.wire = WIRE_GEMINI};
__attribute__((weak))
const struct api_ops api_responses_ops = {.wire = WIRE_RESPONSES};

static const struct api_ops *A = &api_anthropic_ops;

/* The pivot to_pivot made: what the providers' build functions rely on. */
static void
check_pivot(const json_t *p)
{
	static const char *const roles[] = {
	    "system", "user", "assistant", "tool", NULL};
	const json_t *m;
	const char *role;
	size_t i, k;
	char *s;

	FUZZ_CHECK(json_is_object(p));
	FUZZ_CHECK(json_is_string(json_object_get(p, "model")));
	FUZZ_CHECK(json_integer_value(json_object_get(p, "max_tokens")) >= 1);
	FUZZ_CHECK(json_is_boolean(json_object_get(p, "stream")));
	FUZZ_CHECK(json_is_array(json_object_get(p, "messages")));
	json_array_foreach(json_object_get(p, "messages"), i, m) {
		role = jx_str(m, "role");
		FUZZ_CHECK(role != NULL);
		for (k = 0; roles[k] != NULL && strcmp(roles[k], role) != 0;
		     k++)
			;
		FUZZ_CHECK(roles[k] != NULL);
		FUZZ_CHECK(json_object_get(m, "content") != NULL);
		if (strcmp(role, "tool") == 0)
			FUZZ_CHECK(jx_str(m, "tool_call_id") != NULL);
	}
	FUZZ_CHECK((s = jx_dump(p)) != NULL);
	free(s);
}

static void
run_pivot(const char *s, size_t n)
{
	json_t *in, *out;
	struct api_refusal why;

	if (jx_parse(s, n, 64, 100000, 0, &in, why.msg, sizeof(why.msg)) !=
	    TG_OK)
		return;
	out = A->to_pivot(in, &why);
	if (out == NULL) {
		/* A 400 says why, and where when it can. */
		FUZZ_CHECK(why.msg[0] != '\0');
		FUZZ_CHECK(why.param == NULL || why.param[0] != '\0');
		FUZZ_CHECK(memchr(why.msg, '\0', sizeof(why.msg)) != NULL);
	} else
		check_pivot(out);
	json_decref(out);
	json_decref(in);
}

/* What a client's SDK would insist on, event by event. */
struct seq {
	int started, stopped, open, blocks;
	size_t events;
};

static int
on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct seq *q = arg;
	json_t *ev;
	const char *t;
	json_int_t idx;

	FUZZ_CHECK(event != NULL && strlen(data) == len);
	FUZZ_CHECK((ev = json_loads(data, 0, NULL)) != NULL);
	t = jx_str(ev, "type");
	FUZZ_CHECK(t != NULL && strcmp(t, event) == 0);
	FUZZ_CHECK(!q->stopped);
	FUZZ_CHECK(q->started || strcmp(t, "message_start") == 0 ||
	    strcmp(t, "error") == 0);
	idx = json_integer_value(json_object_get(ev, "index"));
	if (strcmp(t, "message_start") == 0) {
		FUZZ_CHECK(!q->started);
		q->started = 1;
	} else if (strcmp(t, "content_block_start") == 0) {
		FUZZ_CHECK(!q->open && idx == q->blocks);
		q->open = 1;
		q->blocks++;
	} else if (strcmp(t, "content_block_delta") == 0)
		FUZZ_CHECK(q->open && idx == q->blocks - 1);
	else if (strcmp(t, "content_block_stop") == 0) {
		FUZZ_CHECK(q->open && idx == q->blocks - 1);
		q->open = 0;
	} else if (strcmp(t, "message_delta") == 0)
		FUZZ_CHECK(!q->open);
	else if (strcmp(t, "message_stop") == 0)
		q->stopped = 1;
	q->events++;
	json_decref(ev);
	return 0;
}

/* Lines of JSON chunks, then the end (or an error when the first byte says). */
static void
run_stream(const char *s, size_t n, int fail)
{
	static const struct token_counts u = {
	    .prompt = 7, .completion = 3, .cached = 9, .cache_write = 1};
	const struct api_meta m = {
	    .request_id = "r", .model = "m", .charged = 12, .u = &u};
	struct api_state st;
	struct seq q = {0};
	const char *p = s, *nl;
	json_t *c;

	memset(&st, 0, sizeof(st));
	st.model = "m";
	while (p < s + n) {
		nl = memchr(p, '\n', (size_t)(s + n - p));
		if (nl == NULL)
			nl = s + n;
		c = json_loadb(
		    p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(c))
			FUZZ_CHECK(A->chunk(&st, c, on_event, &q) == 0);
		json_decref(c);
		p = nl + 1;
	}
	if (fail) {
		FUZZ_CHECK(A->stream_error(&st, 529, "server_error", NULL, "x",
			       on_event, &q) == 0);
		return;
	}
	FUZZ_CHECK(A->end(&st, &m, on_event, &q) == 0);
	FUZZ_CHECK(q.started && q.stopped && !q.open);
}

/* A completion as a message: always an answer with content and usage. */
static void
run_answer(const char *s, size_t n)
{
	static const struct token_counts u = {.prompt = 1, .completion = 2};
	const struct api_meta m = {.request_id = "r", .model = "m", .u = &u};
	json_t *c, *a;
	char *out;

	if ((c = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return;
	if (json_is_object(c)) {
		FUZZ_CHECK((a = A->answer(c, &m)) != NULL);
		FUZZ_CHECK(json_is_array(json_object_get(a, "content")));
		FUZZ_CHECK(jx_str(a, "stop_reason") != NULL);
		FUZZ_CHECK((out = api_dump(a, &m)) != NULL);
		free(out);
		json_decref(a);
	}
	json_decref(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		run_pivot(s, size - 1);
		break;
	case 1:
		run_stream(s, size - 1, 0);
		break;
	case 2:
		run_stream(s, size - 1, 1);
		break;
	default:
		run_answer(s, size - 1);
		break;
	}
	return 0;
}
