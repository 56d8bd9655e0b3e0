/* fuzz_anthropic.c: the Anthropic adapter: requests built, answers and stream events read, on any input */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>
#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "prov/prov.h"

#define SECRET "sk-ant-fuzz-7f3a"

static struct arena *arena;
static const struct deployment rt = {.provider_id = "anth",
    .kind = PROV_ANTHROPIC,
    .base_url = "https://api.anthropic.com/v1/",
    .upstream_model = "claude-fuzz"};

static int
is(const char *s, const char *lit)
{
	return s != NULL && strcmp(s, lit) == 0;
}

/* An OpenAI usage object as the translators write it: counts that add up. */
static void
check_usage(const json_t *u)
{
	json_int_t p = json_integer_value(json_object_get(u, "prompt_tokens")),
		   c = json_integer_value(
		       json_object_get(u, "completion_tokens")),
		   t = json_integer_value(json_object_get(u, "total_tokens"));
	const json_t *pd = json_object_get(u, "prompt_tokens_details");
	json_int_t cr =
		       json_integer_value(json_object_get(pd, "cached_tokens")),
		   cw = json_integer_value(
		       json_object_get(pd, "cache_write_tokens")),
		   r = json_integer_value(json_object_get(
		       json_object_get(u, "completion_tokens_details"),
		       "reasoning_tokens"));

	FUZZ_CHECK(json_is_object(u));
	FUZZ_CHECK(p >= 0 && c >= 0 && cr >= 0 && cw >= 0 && r >= 0);
	FUZZ_CHECK(p >= cr + cw && t == p + c && r <= c);
}

static void
check_counts(const struct token_counts *u)
{
	FUZZ_CHECK(u->prompt >= 0 && u->completion >= 0 && u->cached >= 0 &&
	    u->cache_write >= 0 && u->reasoning >= 0);
	FUZZ_CHECK(u->prompt >= u->cached + u->cache_write);
	FUZZ_CHECK(u->reasoning <= u->completion);
}

/*
 * What Anthropic requires of a request: model, max_tokens, roles that
 * alternate between user and assistant with non-empty content, tool results
 * first in their turn, temperature in 0..1, no secret in the body.
 */
static void
check_request(
    const struct prov_call *pc, int64_t max_out, int stream, int secret_sent)
{
	json_t *b = json_loadb(pc->body, pc->body_len, 0, NULL), *m, *blk;
	const char *prev = NULL, *role;
	size_t i, j;
	int text_seen;

	FUZZ_CHECK(json_is_object(b));
	FUZZ_CHECK(is(jx_str(b, "model"), "claude-fuzz"));
	FUZZ_CHECK(
	    json_integer_value(json_object_get(b, "max_tokens")) == max_out);
	FUZZ_CHECK(is(pc->url, "https://api.anthropic.com/v1/messages"));
	FUZZ_CHECK(is(pc->secret_header, "x-api-key: " SECRET));
	/* (libFuzzer learns the secret from this strstr: only when not sent.) */
	FUZZ_CHECK(secret_sent || strstr(pc->body, SECRET) == NULL);
	FUZZ_CHECK(!stream == !json_is_true(json_object_get(b, "stream")));
	json_array_foreach(json_object_get(b, "messages"), i, m) {
		role = jx_str(m, "role");
		FUZZ_CHECK(is(role, "user") || is(role, "assistant"));
		FUZZ_CHECK(prev == NULL || strcmp(prev, role) != 0);
		FUZZ_CHECK(json_array_size(json_object_get(m, "content")) > 0);
		text_seen = 0;
		json_array_foreach(json_object_get(m, "content"), j, blk) {
			FUZZ_CHECK(jx_str(blk, "type") != NULL);
			if (is(jx_str(blk, "type"), "tool_result"))
				FUZZ_CHECK(!text_seen && is(role, "user"));
			else
				text_seen = 1;
			if (is(jx_str(blk, "type"), "text"))
				FUZZ_CHECK(*jx_str(blk, "text") != '\0');
		}
		prev = role;
	}
	if (json_object_get(b, "temperature") != NULL)
		FUZZ_CHECK(
		    json_number_value(json_object_get(b, "temperature")) >= 0 &&
		    json_number_value(json_object_get(b, "temperature")) <= 1);
	json_decref(b);
}

static void
check_build(const json_t *o, int stream, int64_t max_out, int secret_sent)
{
	struct prov_call pc;
	json_t *b;

	FUZZ_CHECK(prov_anthropic_ops.build(arena, EP_CHAT, &rt, o, stream,
		       max_out, SECRET, NULL, NULL, &pc) == 0);
	check_request(&pc, max_out, stream, secret_sent);
	FUZZ_CHECK(prov_anthropic_ops.build_native(
		       arena, &rt, o, stream, max_out, SECRET, &pc) == 0);
	b = json_loadb(pc.body, pc.body_len, 0, NULL);
	FUZZ_CHECK(json_is_object(b));
	FUZZ_CHECK(is(jx_str(b, "model"), "claude-fuzz"));
	FUZZ_CHECK(
	    json_integer_value(json_object_get(b, "max_tokens")) == max_out);
	json_decref(b);
}

/* A whole answer: the translation agrees with the native reader. */
static void
check_answer(const json_t *o)
{
	struct token_counts u;
	json_t *a, *msg, *tc;
	enum prov_usage st;
	struct buf sink;
	size_t i, n;

	st = prov_anthropic_ops.answer_usage(o, &u);
	FUZZ_CHECK(st == PU_COUNTS || st == PU_NO_COUNTS);
	check_counts(&u);
	buf_init(&sink, 64);
	n = prov_anthropic_ops.text(o, &sink);
	FUZZ_CHECK(sink.len <= 63 && sink.len <= n);
	buf_free(&sink);
	if ((a = prov_anthropic_ops.answer_to_openai(o, "m")) == NULL)
		return;
	check_usage(json_object_get(a, "usage"));
	FUZZ_CHECK(
	    json_integer_value(json_object_get(
		json_object_get(a, "usage"), "prompt_tokens")) == u.prompt);
	FUZZ_CHECK(jx_str(json_array_get(json_object_get(a, "choices"), 0),
		       "finish_reason") != NULL);
	msg = json_object_get(
	    json_array_get(json_object_get(a, "choices"), 0), "message");
	FUZZ_CHECK(is(jx_str(msg, "role"), "assistant"));
	json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
		const char *args =
		    jx_str(json_object_get(tc, "function"), "arguments");
		json_t *p = args != NULL ? json_loads(args, 0, NULL) : NULL;

		FUZZ_CHECK(json_is_object(p));
		json_decref(p);
	}
	json_decref(a);
}

/* One translated chunk: an error, or a chunk of the one choice. */
static void
check_chunk(const json_t *c, int *ended, int tools)
{
	const json_t *ch = json_object_get(c, "choices"), *d, *tc;
	size_t i;

	FUZZ_CHECK(!*ended);
	if (json_object_get(c, "error") != NULL) {
		FUZZ_CHECK(jx_str(json_object_get(c, "error"), "message"));
		*ended = 1;
		return;
	}
	FUZZ_CHECK(is(jx_str(c, "object"), "chat.completion.chunk"));
	FUZZ_CHECK(strncmp(jx_str(c, "id"), "chatcmpl-", 9) == 0);
	FUZZ_CHECK(json_is_array(ch));
	if (json_array_size(ch) == 0) {
		check_usage(json_object_get(c, "usage"));
		*ended = 1;
		return;
	}
	FUZZ_CHECK(json_array_size(ch) == 1);
	d = json_object_get(json_array_get(ch, 0), "delta");
	FUZZ_CHECK(json_is_object(d));
	json_array_foreach(json_object_get(d, "tool_calls"), i, tc)
		FUZZ_CHECK(
		    json_integer_value(json_object_get(tc, "index")) < tools);
}

/*
 * A stream, one event a line: each translated in order (the chunks well
 * formed, none after the end, tool indexes only of calls started) and read
 * natively (counts that add up).
 */
static void
check_stream(const char *t, size_t len)
{
	struct prov_xlate xl;
	struct token_counts u;
	struct prov_event pe;
	const char *p = t, *e, *end = t + len;
	json_t *ev, *out, *c;
	size_t i;
	int ended = 0, tools = 0;

	memset(&xl, 0, sizeof(xl));
	memset(&u, 0, sizeof(u));
	xl.model = "m";
	for (; p < end; p = e + 1) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			e = end;
		if ((ev = json_loadb(p, (size_t)(e - p), 0, NULL)) == NULL)
			continue;
		prov_anthropic_ops.event(ev, &u, &pe);
		check_counts(&u);
		FUZZ_CHECK(pe.nchoices <= 1 && !pe.strip);
		out = json_array();
		FUZZ_CHECK(prov_anthropic_ops.event_to_openai(
			       &xl, "message_start", ev, out) == 0);
		if (is(jx_str(ev, "type"), "content_block_start") &&
		    is(jx_str(json_object_get(ev, "content_block"), "type"),
			"tool_use") &&
		    !ended)
			tools++;
		json_array_foreach(out, i, c)
			check_chunk(c, &ended, tools);
		json_decref(out);
		json_decref(ev);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data + 1, *msg;
	size_t len = size - 1;
	json_t *o;

	if (size == 0)
		return 0;
	if (arena == NULL && (arena = arena_new(0)) == NULL)
		return 0;
	msg = prov_anthropic_ops.error_message(arena, t, len);
	FUZZ_CHECK(
	    msg == NULL || (strchr(msg, '\n') == NULL && strlen(msg) <= 300));
	(void)prov_anthropic_ops.retryable(400 + data[0], t, len);
	if ((o = json_loadb(t, len, 0, NULL)) != NULL) {
		if (json_is_object(o)) {
			check_build(o, data[0] & 1, 1 + (data[0] >> 1),
			    memmem(t, len, SECRET, strlen(SECRET)) != NULL);
			check_answer(o);
		}
		json_decref(o);
	}
	check_stream(t, len);
	arena_reset(arena);
	return 0;
}
