/* prov_anthropic_stream.c: Anthropic's answers and stream events: read natively, or as OpenAI's */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/util.h"
#include "prov/prov.h"
#include "prov/prov_anthropic_impl.h"

/*
 * A count larger than any answer could hold is a broken upstream: capped, so
 * that adding the three input counts cannot overflow.
 */
#define COUNT_MAX ((int64_t)1 << 50)

/* --- usage ----------------------------------------------------------------------------- */

/* s is lit (s may be NULL). */
static int
is(const char *s, const char *lit)
{
	return s != NULL && strcmp(s, lit) == 0;
}

/* A count when v is one (a non-negative integer), else keep *into. */
static int
count_into(const json_t *v, int64_t *into)
{
	json_int_t n;

	if (!json_is_integer(v) || (n = json_integer_value(v)) < 0)
		return 0;
	*into = n > COUNT_MAX ? COUNT_MAX : n;
	return 1;
}

void
anth_usage_merge(struct anth_usage *u, const json_t *usage)
{
	const json_t *d = json_object_get(usage, "output_tokens_details");

	if (!json_is_object(usage))
		return;
	u->seen |=
	    count_into(json_object_get(usage, "input_tokens"), &u->input);
	u->seen |=
	    count_into(json_object_get(usage, "output_tokens"), &u->output);
	u->seen |=
	    count_into(json_object_get(usage, "cache_creation_input_tokens"),
		&u->cache_write);
	u->seen |= count_into(
	    json_object_get(usage, "cache_read_input_tokens"), &u->cache_read);
	count_into(json_object_get(d, "thinking_tokens"), &u->thinking);
}

void
anth_usage_counts(const struct anth_usage *u, struct token_counts *out)
{
	memset(out, 0, sizeof(*out));
	out->upstream_cost = -1;
	out->present = u->seen;
	out->prompt = u->input + u->cache_write + u->cache_read;
	out->cached = u->cache_read;
	out->cache_write = u->cache_write;
	out->completion = u->output;
	/* Thinking is part of the output: never more than all of it. */
	out->reasoning = u->thinking < u->output ? u->thinking : u->output;
}

void
anth_usage_of_counts(const struct token_counts *c, struct anth_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->seen = c->present;
	u->cache_read = c->cached;
	u->cache_write = c->cache_write;
	u->input = c->prompt - c->cached - c->cache_write;
	if (u->input < 0)
		u->input = 0;
	u->output = c->completion;
	u->thinking = c->reasoning;
}

json_t *
anth_usage_openai(const struct anth_usage *u)
{
	struct token_counts c;

	anth_usage_counts(u, &c);
	return json_pack("{s:I, s:I, s:I, s:{s:I, s:I}, s:{s:I}}",
	    "prompt_tokens", (json_int_t)c.prompt, "completion_tokens",
	    (json_int_t)c.completion, "total_tokens",
	    (json_int_t)(c.prompt + c.completion), "prompt_tokens_details",
	    "cached_tokens", (json_int_t)c.cached, "cache_write_tokens",
	    (json_int_t)c.cache_write, "completion_tokens_details",
	    "reasoning_tokens", (json_int_t)c.reasoning);
}

/* clang-format off */
static const struct stop_map {
	const char *anthropic, *openai;
} stop_maps[] = {
	{ "end_turn",			   "stop" },
	{ "stop_sequence",		   "stop" },
	{ "pause_turn",			   "stop" },
	{ "max_tokens",			   "length" },
	{ "model_context_window_exceeded", "length" },
	{ "tool_use",			   "tool_calls" },
	{ "refusal",			   "content_filter" },
};
/* clang-format on */

const char *
anth_finish_reason(const char *stop_reason)
{
	size_t k;

	for (k = 0; stop_reason != NULL &&
	     k < sizeof(stop_maps) / sizeof(stop_maps[0]);
	     k++)
		if (strcmp(stop_reason, stop_maps[k].anthropic) == 0)
			return stop_maps[k].openai;
	return "stop";
}

/* --- native readers (an Anthropic client) ---------------------------------------------------- */

/*
 * Anthropic's usage has no place a splice could use (the native answer gets
 * its cost from api->native_answer, on a tree): always the tree.
 */
enum prov_usage
anth_answer_scan(
    const char *t, size_t len, struct jx_where *w, struct token_counts *u)
{
	(void)t;
	(void)len;
	(void)w;
	memset(u, 0, sizeof(*u));
	u->upstream_cost = -1;
	return PU_LOAD_TREE;
}

enum prov_usage
anth_answer_usage(const json_t *answer, struct token_counts *u)
{
	struct anth_usage au = {0};

	anth_usage_merge(&au, json_object_get(answer, "usage"));
	anth_usage_counts(&au, u);
	return au.seen ? PU_COUNTS : PU_NO_COUNTS;
}

/* Append what fits of s to sink (its cap kept, whole characters only). */
static size_t
sink_add(struct buf *sink, const json_t *s)
{
	size_t n = json_string_length(s), room;

	if (!json_is_string(s))
		return 0;
	if (sink != NULL && sink->cap > sink->len + 1) {
		room = sink->cap - sink->len - 1;
		buf_append(sink, json_string_value(s),
		    n > room ? util_utf8_cut(json_string_value(s), room) : n);
	}
	return n;
}

/* The text of one content block or delta: text, thinking, tool input. */
static size_t
block_text(const json_t *b, struct buf *sink)
{
	const json_t *in = json_object_get(b, "input");
	json_t *s;
	size_t n;
	char *j;

	n = sink_add(sink, json_object_get(b, "text")) +
	    sink_add(sink, json_object_get(b, "thinking")) +
	    sink_add(sink, json_object_get(b, "partial_json"));
	/* A whole tool_use's input is its arguments, as the client gets them. */
	if (json_is_object(in) && json_object_size(in) > 0 &&
	    (j = jx_dump(in)) != NULL) {
		s = json_string(j);
		n += sink_add(sink, s);
		json_decref(s);
		free(j);
	}
	return n;
}

size_t
anth_text(const json_t *o, struct buf *sink)
{
	const json_t *b;
	size_t i, n = 0;

	if (json_is_object(b = json_object_get(o, "delta")))
		return block_text(b, sink);
	if (json_is_object(b = json_object_get(o, "content_block")))
		return block_text(b, sink);
	json_array_foreach(json_object_get(o, "content"), i, b)
		n += block_text(b, sink);
	return n;
}

void
anth_event(const json_t *o, struct token_counts *u, struct prov_event *ev)
{
	const char *type = jx_str(o, "type");
	const json_t *uo = NULL;
	struct anth_usage au = {0};

	memset(ev, 0, sizeof(*ev));
	if (type == NULL)
		return;
	if (strcmp(type, "error") == 0)
		ev->error = 1;
	else if (strcmp(type, "message_start") == 0)
		uo = json_object_get(json_object_get(o, "message"), "usage");
	else if (strcmp(type, "message_delta") == 0) {
		uo = json_object_get(o, "usage");
		/* Cumulative, and maybe only output_tokens: on top of start's. */
		anth_usage_of_counts(u, &au);
	} else if (strcmp(type, "content_block_start") == 0 ||
	    strcmp(type, "content_block_delta") == 0) {
		ev->nchoices = 1;
		ev->delta_bytes = anth_text(o, NULL);
	}
	if (json_is_object(uo)) {
		ev->usage = 1;
		anth_usage_merge(&au, uo);
		anth_usage_counts(&au, u);
	}
}

/* Anthropic's usage belongs to its events: a native client always gets it. */
void
anth_strip_usage(json_t *chunk)
{
	(void)chunk;
}

/* --- answers as OpenAI's ------------------------------------------------------------------ */

static json_t *
tool_call(const json_t *b, size_t index, int with_index)
{
	const json_t *in = json_object_get(b, "input");
	char *args = json_is_object(in) ? jx_dump(in) : NULL;
	json_t *tc;

	tc = json_pack("{s:s?, s:s, s:{s:s?, s:s}}", "id", jx_str(b, "id"),
	    "type", "function", "function", "name", jx_str(b, "name"),
	    "arguments", args != NULL ? args : "{}");
	free(args);
	if (tc != NULL && with_index)
		json_object_set_new(
		    tc, "index", json_integer((json_int_t)index));
	return tc;
}

/* A thinking or redacted_thinking block, kept whole for the next turn. */
static json_t *
thinking_kept(const json_t *b)
{
	const char *t = jx_str(b, "type");

	if (strcmp(t, "redacted_thinking") == 0)
		return json_pack(
		    "{s:s, s:s?}", "type", t, "data", jx_str(b, "data"));
	return json_pack("{s:s, s:s, s:s?}", "type", t, "thinking",
	    jx_str(b, "thinking") != NULL ? jx_str(b, "thinking") : "",
	    "signature", jx_str(b, "signature"));
}

/*
 * The message of an answer: text blocks joined into content, thinking into
 * reasoning_content (and the blocks kept whole in thinking_blocks, for an
 * Anthropic client or the next turn), tool_use blocks as tool_calls.
 */
static json_t *
message(const json_t *content)
{
	struct buf text, think;
	json_t *m, *calls = json_array(), *kept = json_array();
	const json_t *b;
	const char *t;
	size_t i;

	buf_init(&text, (size_t)-1 / 2);
	buf_init(&think, (size_t)-1 / 2);
	json_array_foreach(content, i, b) {
		if ((t = jx_str(b, "type")) == NULL)
			continue;
		if (strcmp(t, "text") == 0)
			sink_add(&text, json_object_get(b, "text"));
		else if (strcmp(t, "tool_use") == 0)
			json_array_append_new(
			    calls, tool_call(b, json_array_size(calls), 0));
		else if (strcmp(t, "thinking") == 0 ||
		    strcmp(t, "redacted_thinking") == 0) {
			sink_add(&think, json_object_get(b, "thinking"));
			json_array_append_new(kept, thinking_kept(b));
		}
	}
	m = json_pack("{s:s, s:o}", "role", "assistant", "content",
	    text.len > 0 ? json_stringn(text.data, text.len) : json_null());
	if (m != NULL && think.len > 0)
		json_object_set_new(m, "reasoning_content",
		    json_stringn(think.data, think.len));
	if (m != NULL && json_array_size(kept) > 0)
		json_object_set(m, "thinking_blocks", kept);
	if (m != NULL && json_array_size(calls) > 0)
		json_object_set(m, "tool_calls", calls);
	json_decref(calls);
	json_decref(kept);
	buf_free(&text);
	buf_free(&think);
	return m;
}

json_t *
anth_answer_to_openai(const json_t *answer, const char *model)
{
	const json_t *content = json_object_get(answer, "content");
	struct anth_usage u = {0};
	const char *id = jx_str(answer, "id");
	char cid[160];

	if (!json_is_array(content))
		return NULL;
	snprintf(cid, sizeof(cid), "chatcmpl-%.140s", id != NULL ? id : "");
	anth_usage_merge(&u, json_object_get(answer, "usage"));
	return json_pack("{s:s, s:s, s:I, s:s?, s:[{s:i, s:o, s:n, s:s}], s:o}",
	    "id", cid, "object", "chat.completion", "created",
	    (json_int_t)time(NULL), "model", model, "choices", "index", 0,
	    "message", message(content), "logprobs", "finish_reason",
	    anth_finish_reason(jx_str(answer, "stop_reason")), "usage",
	    anth_usage_openai(&u));
}

/* --- stream events as OpenAI chunks ------------------------------------------------------- */

/* A translation's state, in struct prov_xlate's priv. */
struct anth_xl {
	char id[160]; /* "chatcmpl-" + the message's id */
	struct anth_usage u;
	int64_t block1;	 /* the open block's index + 1; 0: none */
	int block_tool;	 /* its tool call's index + 1; 0: not a tool_use */
	int tools;	 /* tool calls so far */
	int started;	 /* message_start seen */
	int finished;	 /* the finish_reason chunk went out */
	int stopped;	 /* message_stop or error: the end */
	char finish[16]; /* the finish_reason message_delta gave */
};

static_assert(sizeof(struct anth_xl) <= sizeof(((struct prov_xlate *)0)->priv),
    "the Anthropic stream state fits in struct prov_xlate");

static struct anth_xl *
state(struct prov_xlate *xl)
{
	return (struct anth_xl *)(void *)xl->priv.b;
}

/*
 * The chunks' id: the relay's, else "chatcmpl-" and the message's, fixed by
 * the first chunk (an event before message_start, from a broken upstream,
 * gets "chatcmpl-" alone, and the stream keeps it).
 */
static const char *
chunk_id(struct prov_xlate *xl)
{
	struct anth_xl *s = state(xl);

	if (xl->id != NULL)
		return xl->id;
	if (s->id[0] == '\0')
		snprintf(s->id, sizeof(s->id), "chatcmpl-");
	return s->id;
}

/* A chunk with one choice (delta stolen; finish NULL: null), appended. */
static int
emit(struct prov_xlate *xl, json_t *out, json_t *delta, const char *finish)
{
	return json_array_append_new(out,
	    json_pack("{s:s, s:s, s:I, s:s?, s:[{s:i, s:o, s:n, s:s?}]}", "id",
		chunk_id(xl), "object", "chat.completion.chunk", "created",
		(json_int_t)xl->created, "model", xl->model, "choices", "index",
		0, "delta", delta, "logprobs", "finish_reason", finish));
}

static int
ev_message_start(struct prov_xlate *xl, const json_t *ev, json_t *out)
{
	struct anth_xl *s = state(xl);
	const json_t *m = json_object_get(ev, "message");
	const char *id = jx_str(m, "id");

	if (s->started)
		return 0;
	s->started = 1;
	if (s->id[0] == '\0')
		snprintf(s->id, sizeof(s->id), "chatcmpl-%.140s",
		    id != NULL ? id : "");
	anth_usage_merge(&s->u, json_object_get(m, "usage"));
	return emit(xl, out,
	    json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL);
}

/* An event's block index + 1; 0 when it has none worth the name. */
static int64_t
block_of(const json_t *ev)
{
	const json_t *i = json_object_get(ev, "index");

	if (!json_is_integer(i) || json_integer_value(i) < 0 ||
	    json_integer_value(i) > COUNT_MAX)
		return 0;
	return json_integer_value(i) + 1;
}

/* The delta of a text, thinking or redacted block's start or piece. */
static json_t *
text_delta(const json_t *d)
{
	const char *t = jx_str(d, "type");

	if (t == NULL)
		return NULL;
	if ((strcmp(t, "text") == 0 || strcmp(t, "text_delta") == 0) &&
	    jx_str(d, "text") != NULL && *jx_str(d, "text") != '\0')
		return json_pack(
		    "{s:O}", "content", json_object_get(d, "text"));
	if ((strcmp(t, "thinking") == 0 || strcmp(t, "thinking_delta") == 0) &&
	    jx_str(d, "thinking") != NULL && *jx_str(d, "thinking") != '\0')
		return json_pack("{s:O}", "reasoning_content",
		    json_object_get(d, "thinking"));
	/* The signature closes a thinking block: kept for the next turn. */
	if (strcmp(t, "signature_delta") == 0 && jx_str(d, "signature") != NULL)
		return json_pack("{s:[{s:s, s:s, s:O}]}", "thinking_blocks",
		    "type", "thinking", "thinking", "", "signature",
		    json_object_get(d, "signature"));
	if (strcmp(t, "redacted_thinking") == 0 && jx_str(d, "data") != NULL)
		return json_pack("{s:[{s:s, s:O}]}", "thinking_blocks", "type",
		    "redacted_thinking", "data", json_object_get(d, "data"));
	return NULL;
}

static int
ev_block_start(struct prov_xlate *xl, const json_t *ev, json_t *out)
{
	struct anth_xl *s = state(xl);
	const json_t *b = json_object_get(ev, "content_block"), *in;
	json_t *d, *tc;

	s->block1 = block_of(ev);
	s->block_tool = 0;
	if (!is(jx_str(b, "type"), "tool_use"))
		return (d = text_delta(b)) != NULL ? emit(xl, out, d, NULL) : 0;
	/* The input comes in pieces: a start's is {}, unless it is whole. */
	in = json_object_get(b, "input");
	if ((tc = tool_call(b, (size_t)s->tools, 1)) == NULL)
		return -1;
	if (!json_is_object(in) || json_object_size(in) == 0)
		json_object_set_new(json_object_get(tc, "function"),
		    "arguments", json_string(""));
	s->block_tool = ++s->tools;
	return emit(xl, out, json_pack("{s:[o]}", "tool_calls", tc), NULL);
}

static int
ev_block_delta(struct prov_xlate *xl, const json_t *ev, json_t *out)
{
	struct anth_xl *s = state(xl);
	const json_t *d = json_object_get(ev, "delta");
	const char *pj = jx_str(d, "partial_json");
	json_t *od;

	if (pj == NULL || !is(jx_str(d, "type"), "input_json_delta"))
		return (od = text_delta(d)) != NULL ? emit(xl, out, od, NULL)
						    : 0;
	/* Arguments of the open tool_use block only; "" is no news. */
	if (*pj == '\0' || s->block_tool == 0 || block_of(ev) == 0 ||
	    block_of(ev) != s->block1)
		return 0;
	return emit(xl, out,
	    json_pack("{s:[{s:i, s:{s:s}}]}", "tool_calls", "index",
		s->block_tool - 1, "function", "arguments", pj),
	    NULL);
}

static int
ev_block_stop(struct prov_xlate *xl, const json_t *ev, json_t *out)
{
	(void)ev;
	(void)out;
	state(xl)->block1 = 0;
	state(xl)->block_tool = 0;
	return 0;
}

/* The stop reason and the cumulative usage; the finish chunk once. */
static int
ev_message_delta(struct prov_xlate *xl, const json_t *ev, json_t *out)
{
	struct anth_xl *s = state(xl);
	const char *sr = jx_str(json_object_get(ev, "delta"), "stop_reason");

	anth_usage_merge(&s->u, json_object_get(ev, "usage"));
	if (sr == NULL || s->finished)
		return 0;
	s->finished = 1;
	snprintf(s->finish, sizeof(s->finish), "%s", anth_finish_reason(sr));
	return emit(xl, out, json_object(), s->finish);
}

/* The end: one chunk with no choices and the whole usage. */
static int
ev_message_stop(struct prov_xlate *xl, const json_t *ev, json_t *out)
{
	struct anth_xl *s = state(xl);

	(void)ev;
	if (!s->finished && s->started) {
		/* No message_delta said why: the answer ended by itself. */
		s->finished = 1;
		if (emit(xl, out, json_object(), "stop") != 0)
			return -1;
	}
	s->stopped = 1;
	return json_array_append_new(out,
	    json_pack("{s:s, s:s, s:I, s:s?, s:[], s:o}", "id", chunk_id(xl),
		"object", "chat.completion.chunk", "created",
		(json_int_t)xl->created, "model", xl->model, "choices", "usage",
		anth_usage_openai(&s->u)));
}

/* clang-format off */
/* Anthropic's error types in OpenAI's terms (protocols.md 7.3). */
static const struct err_map {
	const char *anthropic, *type, *code;
} err_maps[] = {
	{ "invalid_request_error", "invalid_request_error", NULL },
	{ "authentication_error",  "invalid_request_error", "invalid_api_key" },
	{ "billing_error",	   "insufficient_quota",    "insufficient_quota" },
	{ "permission_error",	   "permission_error",	    NULL },
	{ "not_found_error",	   "invalid_request_error", "model_not_found" },
	{ "request_too_large",	   "invalid_request_error", "request_too_large" },
	{ "rate_limit_error",	   "requests",		    "rate_limit_exceeded" },
	{ "api_error",		   "server_error",	    "upstream_error" },
	{ "timeout_error",	   "server_error",	    "timeout" },
	{ "overloaded_error",	   "server_error",	    "overloaded" },
};
/* clang-format on */

static int
ev_error(struct prov_xlate *xl, const json_t *ev, json_t *out)
{
	const json_t *e = json_object_get(ev, "error");
	const char *t = jx_str(e, "type"), *m = jx_str(e, "message");
	const struct err_map *em = NULL;
	size_t k;

	for (k = 0; t != NULL && k < sizeof(err_maps) / sizeof(err_maps[0]);
	     k++)
		if (strcmp(t, err_maps[k].anthropic) == 0)
			em = &err_maps[k];
	state(xl)->stopped = 1;
	return json_array_append_new(out,
	    json_pack("{s:{s:s, s:s, s:s?, s:n}}", "error", "message",
		m != NULL ? m : "upstream stream error", "type",
		em != NULL ? em->type : "server_error", "code",
		em != NULL ? em->code : "upstream_error", "param"));
}

/* clang-format off */
static const struct ev_map {
	const char *type;
	int (*fn)(struct prov_xlate *, const json_t *, json_t *);
} ev_maps[] = {
	{ "message_start",	 ev_message_start },
	{ "content_block_start", ev_block_start },
	{ "content_block_delta", ev_block_delta },
	{ "content_block_stop",	 ev_block_stop },
	{ "message_delta",	 ev_message_delta },
	{ "message_stop",	 ev_message_stop },
	{ "error",		 ev_error },
};
/* clang-format on */

/*
 * One event by its type (the data's, else the SSE name's); ping and types
 * Anthropic may add later give nothing, as in its SDK.  Nothing after the
 * end: the relay has its last chunk.
 */
int
anth_event_to_openai(
    struct prov_xlate *xl, const char *type, const json_t *ev, json_t *out)
{
	struct anth_xl *s = state(xl);
	const char *t = jx_str(ev, "type");
	size_t k;

	if (t == NULL)
		t = type;
	if (t == NULL || !json_is_object(ev) || s->stopped)
		return 0;
	for (k = 0; k < sizeof(ev_maps) / sizeof(ev_maps[0]); k++)
		if (strcmp(t, ev_maps[k].type) == 0)
			return ev_maps[k].fn(xl, ev, out) != 0 ? -1 : 0;
	return 0;
}
