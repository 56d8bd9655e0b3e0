/* api_anthropic.c: the Anthropic Messages API for clients: OpenAI answers and chunks as messages and events */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "prov/api_anthropic.h"

/* The kind of content block a stream has open. */
enum blk { B_NONE = 0, B_TEXT, B_THINKING, B_TOOL };

/* A stream's state (api_state.priv). */
struct astate {
	int started;	  /* message_start and ping sent */
	enum blk open;	  /* the block being written */
	int blocks;	  /* blocks started; the open one is blocks - 1 */
	json_int_t tool;  /* the OpenAI tool_calls index of the open tool_use */
	const char *stop; /* stop_reason from the finish_reason seen */
	char tool_id[128]; /* the open tool_use block's id */
};

_Static_assert(sizeof(struct astate) <= sizeof(((struct api_state *)0)->priv),
    "the Anthropic stream state fits api_state.priv");

/* clang-format off */
static const struct { const char *openai, *anthropic; } stops[] = {
	{ "stop",	    "end_turn" },
	{ "length",	    "max_tokens" },
	{ "tool_calls",	    "tool_use" },
	{ "function_call",  "tool_use" },
	{ "content_filter", "refusal" },
};

/* Anthropic's error type for an HTTP status. */
static const struct { int status; const char *type; } error_types[] = {
	{ 400, "invalid_request_error" },
	{ 401, "authentication_error" },
	{ 402, "billing_error" },
	{ 403, "permission_error" },
	{ 404, "not_found_error" },
	{ 413, "request_too_large" },
	{ 429, "rate_limit_error" },
	{ 500, "api_error" },
	{ 503, "overloaded_error" },
	{ 504, "timeout_error" },
	{ 529, "overloaded_error" },
};

/*
 * Without an error status (a stream that failed after its 200), the OpenAI
 * error's type or code says which it was.
 */
static const struct { const char *openai, *type; } error_kinds[] = {
	{ "invalid_request_error", "invalid_request_error" },
	{ "rate_limit_exceeded",   "rate_limit_error" },
	{ "insufficient_quota",	   "billing_error" },
	{ "timeout",		   "timeout_error" },
	{ "overloaded",		   "overloaded_error" },
};
/* clang-format on */

static const char *
stop_reason(const char *finish)
{
	size_t i;

	for (i = 0; finish != NULL && i < sizeof(stops) / sizeof(stops[0]); i++)
		if (strcmp(stops[i].openai, finish) == 0)
			return stops[i].anthropic;
	return "end_turn";
}

static const char *
error_type(int status, const char *type, const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(error_types) / sizeof(error_types[0]); i++)
		if (error_types[i].status == status)
			return error_types[i].type;
	if (status >= 400)
		return status >= 500 ? "api_error" : "invalid_request_error";
	for (i = 0; i < sizeof(error_kinds) / sizeof(error_kinds[0]); i++)
		if ((code != NULL &&
			strcmp(error_kinds[i].openai, code) == 0) ||
		    (type != NULL && strcmp(error_kinds[i].openai, type) == 0))
			return error_kinds[i].type;
	return "api_error";
}

/*
 * The usage in Anthropic's terms: input_tokens is the uncached prompt only,
 * the cache reads and writes beside it; cost where api_dump writes it.
 */
static json_t *
usage_of(const struct api_meta *m)
{
	static const struct token_counts zero;
	const struct token_counts *u = m != NULL && m->u != NULL ? m->u : &zero;
	json_int_t in = u->prompt - u->cached - u->cache_write;

	return json_pack("{s:I, s:I, s:I, s:I, s:s}", "input_tokens",
	    (json_int_t)(in > 0 ? in : 0), "output_tokens",
	    (json_int_t)u->completion, "cache_creation_input_tokens",
	    (json_int_t)u->cache_write, "cache_read_input_tokens",
	    (json_int_t)u->cached, "cost", API_COST_MARK);
}

/* Send one event named by its "type" (data is taken); 0 or -1. */
static int
send_ev(json_t *data, const struct api_meta *m, api_emit_fn emit, void *arg)
{
	char *s;
	int rc;

	if (data == NULL)
		return -1;
	s = m != NULL ? api_dump(data, m) : jx_dump(data);
	if (s == NULL) {
		json_decref(data);
		return -1;
	}
	rc = emit(arg, jx_str(data, "type"), s, strlen(s));
	free(s);
	json_decref(data);
	return rc < 0 ? -1 : 0;
}

/* "msg_" and the request id (or the chunk's id), for message ids. */
static json_t *
message_id(const char *request_id, const char *fallback)
{
	const char *s = request_id != NULL ? request_id : fallback;

	if (s == NULL)
		s = "tollgate";
	if (strncmp(s, "chatcmpl-", 9) == 0)
		s += 9;
	return json_sprintf("msg_%.80s", s);
}

static int
start(struct api_state *st, struct astate *a, const json_t *chunk,
    api_emit_fn emit, void *arg)
{
	json_t *ev;

	if (a->started)
		return 0;
	a->started = 1;
	ev = json_pack("{s:s, s:{s:o, s:s, s:s, s:s?, s:[], s:n, s:n, "
		       "s:{s:i, s:i, s:i, s:i}}}",
	    "type", "message_start", "message", "id",
	    message_id(st->request_id, jx_str(chunk, "id")), "type", "message",
	    "role", "assistant", "model",
	    st->model != NULL ? st->model : jx_str(chunk, "model"), "content",
	    "stop_reason", "stop_sequence", "usage", "input_tokens", 0,
	    "output_tokens", 0, "cache_creation_input_tokens", 0,
	    "cache_read_input_tokens", 0);
	if (send_ev(ev, NULL, emit, arg) < 0)
		return -1;
	return send_ev(json_pack("{s:s}", "type", "ping"), NULL, emit, arg);
}

static int
close_block(struct astate *a, api_emit_fn emit, void *arg)
{
	if (a->open == B_NONE)
		return 0;
	a->open = B_NONE;
	return send_ev(json_pack("{s:s, s:i}", "type", "content_block_stop",
			   "index", a->blocks - 1),
	    NULL, emit, arg);
}

/* Close what is open and start a block (cb taken). */
static int
open_block(
    struct astate *a, enum blk kind, json_t *cb, api_emit_fn emit, void *arg)
{
	if (cb == NULL || close_block(a, emit, arg) < 0) {
		json_decref(cb);
		return -1;
	}
	a->open = kind;
	a->blocks++;
	return send_ev(
	    json_pack("{s:s, s:i, s:o}", "type", "content_block_start", "index",
		a->blocks - 1, "content_block", cb),
	    NULL, emit, arg);
}

/* One delta {type: dtype, key: s} to the open block. */
static int
delta(struct astate *a, const char *dtype, const char *key, const char *s,
    size_t n, api_emit_fn emit, void *arg)
{
	return send_ev(json_pack("{s:s, s:i, s:{s:s, s:s%}}", "type",
			   "content_block_delta", "index", a->blocks - 1,
			   "delta", "type", dtype, key, s, n),
	    NULL, emit, arg);
}

/* Text or thinking: the block of that kind open, then the delta. */
static int
stream_text(struct astate *a, enum blk kind, const json_t *v, api_emit_fn emit,
    void *arg)
{
	json_t *cb;

	if (!json_is_string(v) || json_string_length(v) == 0)
		return 0;
	if (a->open != kind) {
		cb = kind == B_TEXT
		    ? json_pack("{s:s, s:s}", "type", "text", "text", "")
		    : json_pack("{s:s, s:s, s:s}", "type", "thinking",
			  "thinking", "", "signature", "");
		if (open_block(a, kind, cb, emit, arg) < 0)
			return -1;
	}
	return kind == B_TEXT
	    ? delta(a, "text_delta", "text", json_string_value(v),
		  json_string_length(v), emit, arg)
	    : delta(a, "thinking_delta", "thinking", json_string_value(v),
		  json_string_length(v), emit, arg);
}

/*
 * One tool_calls entry: a call the open block is not writing starts a
 * tool_use block {id, name, input {}}; its argument text goes out as
 * input_json_delta fragments.
 */
static int
stream_tool(struct astate *a, const json_t *tc, api_emit_fn emit, void *arg)
{
	const json_t *fn = json_object_get(tc, "function"), *args;
	json_int_t idx = json_integer_value(json_object_get(tc, "index"));
	const char *id = jx_str(tc, "id"), *name = jx_str(fn, "name");
	json_t *cb;

	if (!json_is_object(tc))
		return 0;
	/* Some servers repeat id and name on every fragment of one call. */
	if (a->open != B_TOOL || idx != a->tool ||
	    (id != NULL && *id != '\0' &&
		strncmp(id, a->tool_id, sizeof(a->tool_id) - 1) != 0)) {
		cb =
		    json_pack("{s:s, s:o, s:s, s:{}}", "type", "tool_use", "id",
			id != NULL
			    ? json_string(id)
			    : json_sprintf("toolu_%" JSON_INTEGER_FORMAT, idx),
			"name", name != NULL ? name : "", "input");
		if (open_block(a, B_TOOL, cb, emit, arg) < 0)
			return -1;
		a->tool = idx;
		snprintf(
		    a->tool_id, sizeof(a->tool_id), "%s", id != NULL ? id : "");
	}
	args = json_object_get(fn, "arguments");
	if (!json_is_string(args) || json_string_length(args) == 0)
		return 0;
	return delta(a, "input_json_delta", "partial_json",
	    json_string_value(args), json_string_length(args), emit, arg);
}

/* The reasoning text: DeepSeek's reasoning_content, else OpenRouter's reasoning. */
static const json_t *
reasoning_of(const json_t *o)
{
	const json_t *r = json_object_get(o, "reasoning_content");

	return json_is_string(r) ? r : json_object_get(o, "reasoning");
}

static int
chunk(struct api_state *st, const json_t *c, api_emit_fn emit, void *arg)
{
	struct astate *a = (struct astate *)st->priv.b;
	const json_t *ch = json_array_get(json_object_get(c, "choices"), 0);
	const json_t *d = json_object_get(ch, "delta"), *tc;
	const char *fin = jx_str(ch, "finish_reason");
	size_t i;

	if (start(st, a, c, emit, arg) < 0)
		return -1;
	if (json_is_object(d)) {
		if (stream_text(a, B_THINKING, reasoning_of(d), emit, arg) <
			0 ||
		    stream_text(a, B_TEXT, json_object_get(d, "content"), emit,
			arg) < 0 ||
		    stream_text(a, B_TEXT, json_object_get(d, "refusal"), emit,
			arg) < 0)
			return -1;
		json_array_foreach(json_object_get(d, "tool_calls"), i, tc)
			if (stream_tool(a, tc, emit, arg) < 0)
				return -1;
	}
	if (fin != NULL)
		a->stop = stop_reason(fin);
	return 0;
}

static int
end(struct api_state *st, const struct api_meta *m, api_emit_fn emit, void *arg)
{
	struct astate *a = (struct astate *)st->priv.b;
	json_t *ev;

	if (start(st, a, NULL, emit, arg) < 0 || close_block(a, emit, arg) < 0)
		return -1;
	ev = json_pack("{s:s, s:{s:s, s:n}, s:o, s:o}", "type", "message_delta",
	    "delta", "stop_reason", a->stop != NULL ? a->stop : "end_turn",
	    "stop_sequence", "usage", usage_of(m), "gateway_usage",
	    api_gateway_usage(m));
	if (send_ev(ev, m, emit, arg) < 0)
		return -1;
	return send_ev(
	    json_pack("{s:s}", "type", "message_stop"), NULL, emit, arg);
}

static int
stream_error(struct api_state *st, int status, const char *type,
    const char *code, const char *msg, api_emit_fn emit, void *arg)
{
	(void)st;
	return send_ev(json_pack("{s:s, s:{s:s, s:s}}", "type", "error",
			   "error", "type", error_type(status, type, code),
			   "message", msg != NULL ? msg : "upstream error"),
	    NULL, emit, arg);
}

static json_t *
error(int status, const char *type, const char *code, const char *param,
    const char *msg)
{
	return json_pack("{s:s, s:{s:s, s:s, s:s?, s:s?}}", "type", "error",
	    "error", "type", error_type(status, type, code), "message",
	    msg != NULL ? msg : "", "param", param, "code", code);
}

/* Append s (n bytes) to the malloc'd *acc of *len bytes; 0 or -1. */
static int
join(char **acc, size_t *len, const char *s, size_t n)
{
	char *r;

	if ((r = realloc(*acc, *len + n + 1)) == NULL)
		return -1;
	memcpy(r + *len, s, n);
	*len += n;
	r[*len] = '\0';
	*acc = r;
	return 0;
}

/* The message's text (a string, or its text and refusal parts joined). */
static int
answer_text(const json_t *msg, json_t *content)
{
	const json_t *c = json_object_get(msg, "content"), *p, *t;
	char *acc = NULL;
	size_t i, len = 0;
	int rc = 0;

	if (json_is_string(c))
		rc = join(
		    &acc, &len, json_string_value(c), json_string_length(c));
	json_array_foreach(json_is_array(c) ? c : NULL, i, p) {
		t = json_object_get(p, "text");
		if (!json_is_string(t))
			t = json_object_get(p, "refusal");
		if (json_is_string(t) && rc == 0)
			rc = join(&acc, &len, json_string_value(t),
			    json_string_length(t));
	}
	t = json_object_get(msg, "refusal");
	if (len == 0 && json_is_string(t) && rc == 0)
		rc = join(
		    &acc, &len, json_string_value(t), json_string_length(t));
	if (rc == 0 && len > 0)
		rc = json_array_append_new(content,
		    json_pack("{s:s, s:s%}", "type", "text", "text", acc, len));
	free(acc);
	return rc == 0 ? 0 : -1;
}

/*
 * Thinking first: the blocks as an Anthropic provider gave them (signatures
 * kept), else the reasoning text as one block without a signature.
 */
static int
answer_thinking(const json_t *msg, json_t *content)
{
	const json_t *tb = json_object_get(msg, "thinking_blocks"), *b;
	const json_t *rc = reasoning_of(msg);
	size_t i;

	if (json_array_size(tb) > 0) {
		json_array_foreach(tb, i, b)
			if (json_is_object(b) &&
			    json_array_append_new(content, json_deep_copy(b)) !=
				0)
				return -1;
		return 0;
	}
	if (!json_is_string(rc) || json_string_length(rc) == 0)
		return 0;
	return json_array_append_new(content,
	    json_pack("{s:s, s:O, s:s}", "type", "thinking", "thinking", rc,
		"signature", ""));
}

/* tool_calls as tool_use blocks, the arguments parsed ({} when not JSON). */
static int
answer_tools(const json_t *msg, json_t *content)
{
	const json_t *tc, *fn;
	json_t *input;
	const char *args;
	size_t i;

	json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
		fn = json_object_get(tc, "function");
		args = jx_str(fn, "arguments");
		input = args != NULL
		    ? json_loads(args, JSON_REJECT_DUPLICATES, NULL)
		    : NULL;
		if (!json_is_object(input)) {
			json_decref(input);
			input = json_object();
		}
		if (json_array_append_new(content,
			json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use",
			    "id",
			    jx_str(tc, "id") != NULL ? jx_str(tc, "id") : "",
			    "name",
			    jx_str(fn, "name") != NULL ? jx_str(fn, "name")
						       : "",
			    "input", input)) != 0)
			return -1;
	}
	return 0;
}

static json_t *
answer(const json_t *completion, const struct api_meta *m)
{
	const json_t *ch =
	    json_array_get(json_object_get(completion, "choices"), 0);
	const json_t *msg = json_object_get(ch, "message");
	json_t *content, *out;

	if ((content = json_array()) == NULL)
		return NULL;
	if (answer_thinking(msg, content) < 0 ||
	    answer_text(msg, content) < 0 || answer_tools(msg, content) < 0) {
		json_decref(content);
		return NULL;
	}
	out = json_pack("{s:o, s:s, s:s, s:s?, s:o, s:s, s:n, s:o, s:o}", "id",
	    message_id(m->request_id, jx_str(completion, "id")), "type",
	    "message", "role", "assistant", "model",
	    m->model != NULL ? m->model : jx_str(completion, "model"),
	    "content", content, "stop_reason",
	    stop_reason(jx_str(ch, "finish_reason")), "stop_sequence", "usage",
	    usage_of(m), "gateway_usage", api_gateway_usage(m));
	return out;
}

static const char *
event_type(const char *type, const json_t *ev)
{
	return type != NULL ? type : jx_str(ev, "type");
}

/* message_delta carries the final usage and message_stop follows it. */
static int
native_hold(const char *type, const json_t *ev)
{
	const char *t = event_type(type, ev);

	return t != NULL &&
	    (strcmp(t, "message_delta") == 0 || strcmp(t, "message_stop") == 0);
}

/* The usage gets the cost, the event gets gateway_usage beside it. */
static void
add_cost(json_t *o, const struct api_meta *m)
{
	json_t *usage = json_object_get(o, "usage");

	if (!json_is_object(usage)) {
		usage = json_object();
		json_object_set_new(o, "usage", usage);
	}
	json_object_set_new(usage, "cost", json_string(API_COST_MARK));
	json_object_set_new(o, "gateway_usage", api_gateway_usage(m));
}

static int
native_end(struct api_state *st, const json_t *held, const struct api_meta *m,
    api_emit_fn emit, void *arg)
{
	const json_t *h, *ev;
	const char *t;
	json_t *copy;
	char *s;
	size_t i;
	int rc;

	(void)st;
	json_array_foreach(held, i, h) {
		ev = json_object_get(h, "data");
		t = event_type(jx_str(h, "event"), ev);
		if ((copy = json_deep_copy(ev)) == NULL)
			return -1;
		if (t != NULL && strcmp(t, "message_delta") == 0 &&
		    json_is_object(copy))
			add_cost(copy, m);
		s = api_dump(copy, m);
		json_decref(copy);
		if (s == NULL)
			return -1;
		rc = emit(arg, t, s, strlen(s));
		free(s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void
native_answer(json_t *a, const struct api_meta *m)
{
	if (json_is_object(a))
		add_cost(a, m);
}

const struct api_ops api_anthropic_ops = {
    .wire = WIRE_ANTHROPIC,
    .name = "messages",
    .to_pivot = api_anthropic_to_pivot,
    .chunk = chunk,
    .end = end,
    .stream_error = stream_error,
    .answer = answer,
    .error = error,
    .native_hold = native_hold,
    .native_end = native_end,
    .native_answer = native_answer,
};
