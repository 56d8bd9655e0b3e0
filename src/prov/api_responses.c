/* api_responses.c: the OpenAI Responses API, its stateless subset: the codec; chunks and answers as the API's events and response objects */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "prov/api.h"
#include "prov/api_responses.h"

/* Output items one stream may open; more cut the stream (never seen). */
#define R_ITEMS 64
/* Bytes of text one stream keeps for its closing events. */
#define R_MAX_KEPT (64u << 20)

/* ---- the response object ----------------------------------------- */

/* The id tollgate's request id gives a response and its items. */
static void
id_base(const char *rid, char *out, size_t size)
{
	size_t n = 0;

	for (; rid != NULL && *rid != '\0' && n + 1 < size; rid++)
		if (isalnum((unsigned char)*rid))
			out[n++] = *rid;
	if (n == 0)
		out[n++] = '0';
	out[n] = '\0';
}

/*
 * The request's parameters a response echoes, and the API's defaults for
 * those the client left out (or when the relay gives no request).
 */
static const struct echo {
	const char *name;
	const char *dflt; /* JSON */
} echoes[] = {
    {"instructions", "null"},
    {"max_output_tokens", "null"},
    {"metadata", "{}"},
    {"parallel_tool_calls", "true"},
    {"reasoning", "{\"effort\":null,\"summary\":null}"},
    {"temperature", "null"},
    {"text", "{\"format\":{\"type\":\"text\"}}"},
    {"tool_choice", "\"auto\""},
    {"tools", "[]"},
    {"top_p", "null"},
    {"truncation", "\"disabled\""},
    {"user", "null"},
};
#define ECHOES (sizeof(echoes) / sizeof(echoes[0]))

/*
 * The defaults as trees, parsed once: parsing twelve small texts was a
 * third of a whole answer's cost (issue 20's bench); each response gets a
 * deep copy (null and true stay jansson's shared singletons).
 */
static pthread_once_t echo_once = PTHREAD_ONCE_INIT;
static json_t *echo_dflt[ECHOES];

static void
echo_init(void)
{
	size_t i;

	for (i = 0; i < ECHOES; i++)
		echo_dflt[i] =
		    json_loads(echoes[i].dflt, JSON_DECODE_ANY, NULL);
}

static json_t *
response_new(const char *base, long long created, const char *model,
    const char *status, const json_t *req)
{
	json_t *r, *v;
	size_t i;

	r = json_pack("{s:s+, s:s, s:I, s:s, s:b, s:n, s:n, s:s?, s:[], "
		      "s:n, s:b, s:n}",
	    "id", "resp_", base, "object", "response", "created_at",
	    (json_int_t)created, "status", status, "background", 0, "error",
	    "incomplete_details", "model", model, "output",
	    "previous_response_id", "store", 0, "usage");
	if (r == NULL)
		return NULL;
	pthread_once(&echo_once, echo_init);
	for (i = 0; i < ECHOES; i++) {
		v = json_object_get(req, echoes[i].name);
		if (v != NULL && !json_is_null(v))
			json_object_set(r, echoes[i].name, v);
		else
			json_object_set_new(
			    r, echoes[i].name, json_deep_copy(echo_dflt[i]));
	}
	return r;
}

/* Usage in the API's terms, the cost at API_COST_MARK. */
static json_t *
usage_new(const struct token_counts *u)
{
	static const struct token_counts none;

	if (u == NULL)
		u = &none;
	return json_pack("{s:I, s:{s:I, s:I}, s:I, s:{s:I}, s:I, s:s}",
	    "input_tokens", (json_int_t)u->prompt, "input_tokens_details",
	    "cached_tokens", (json_int_t)u->cached, "cache_write_tokens",
	    (json_int_t)u->cache_write, "output_tokens",
	    (json_int_t)u->completion, "output_tokens_details",
	    "reasoning_tokens", (json_int_t)u->reasoning, "total_tokens",
	    (json_int_t)(u->prompt + u->completion), "cost", API_COST_MARK);
}

/*
 * api_dump writes the cost wherever a string is API_COST_MARK.  A string a
 * client or a provider chose (a key of an echoed schema, an answer's text,
 * a call's arguments) may be exactly the mark: it would become a number,
 * and a key a number (not JSON).  Every such one but the cost (the usage's
 * own) gets the mark's printable name instead.
 */
#define MARK_SAFE "?tollgate-cost?"

static void
unmark_walk(json_t *o, const json_t *cost, const char *mark)
{
	const char *k;
	json_t *v, *moved;
	void *tmp;
	size_t i;

	if (json_is_string(o) && o != cost &&
	    strcmp(json_string_value(o), mark) == 0)
		json_string_set(o, MARK_SAFE);
	json_array_foreach(o, i, v)
		unmark_walk(v, cost, mark);
	json_object_foreach_safe(o, tmp, k, v) {
		unmark_walk(v, cost, mark);
		if (strcmp(k, mark) != 0)
			continue;
		moved = json_incref(v);
		json_object_del(o, k);
		json_object_set_new(o, MARK_SAFE, moved);
	}
}

/* The mark looked up once per walk, not once per string and key. */
static void
unmark(json_t *o, const json_t *cost)
{
	unmark_walk(o, cost, API_COST_MARK);
}

/* The end of a response: its status, why incomplete, usage, cost. */
static void
response_end(json_t *r, const char *finish, const struct api_meta *m)
{
	const char *why = NULL;

	if (finish != NULL && strcmp(finish, "length") == 0)
		why = "max_output_tokens";
	else if (finish != NULL && strcmp(finish, "content_filter") == 0)
		why = "content_filter";
	json_object_set_new(
	    r, "status", json_string(why != NULL ? "incomplete" : "completed"));
	if (why != NULL)
		json_object_set_new(
		    r, "incomplete_details", json_pack("{s:s}", "reason", why));
	json_object_set_new(r, "usage", usage_new(m->u));
	json_object_set_new(r, "gateway_usage", api_gateway_usage(m));
	unmark(r, json_object_get(json_object_get(r, "usage"), "cost"));
}

/* ---- output items ------------------------------------------------- */

enum ikind { IK_REASONING, IK_MESSAGE, IK_CALL };

/* clang-format off */
static const struct ikind_def {
	const char *prefix; /* of the item's id */
	const char *part;   /* its content part's type */
	const char *delta;  /* its text's events */
	const char *done;
} ikinds[] = {
	[IK_REASONING] = {"rs", "reasoning_text", "response.reasoning_text.delta",
			  "response.reasoning_text.done"},
	[IK_MESSAGE]   = {"msg", "output_text", "response.output_text.delta",
			  "response.output_text.done"},
	[IK_CALL]      = {"fc", NULL, "response.function_call_arguments.delta",
			  "response.function_call_arguments.done"},
};
/* clang-format on */

static json_t *
part_new(enum ikind k, const char *text)
{
	if (k == IK_REASONING)
		return json_pack(
		    "{s:s, s:s}", "type", ikinds[k].part, "text", text);
	return json_pack("{s:s, s:[], s:[], s:s}", "type", ikinds[k].part,
	    "annotations", "logprobs", "text", text);
}

/*
 * One output item: text NULL is the item as added (no content yet), else
 * its whole text (a call's arguments).
 */
static json_t *
item_new(enum ikind k, const char *id, const char *status, const char *text,
    const char *call_id, const char *name)
{
	if (k == IK_CALL)
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id,
		    "type", "function_call", "status", status, "arguments",
		    text != NULL ? text : "", "call_id", call_id, "name", name);
	if (k == IK_REASONING)
		return json_pack("{s:s, s:s, s:s, s:[], s:o}", "id", id, "type",
		    "reasoning", "status", status, "summary", "content",
		    text != NULL ? json_pack("[o]", part_new(k, text))
				 : json_array());
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "type",
	    "message", "status", status, "role", "assistant", "content",
	    text != NULL ? json_pack("[o]", part_new(k, text)) : json_array());
}

static void
item_id(enum ikind k, const char *base, size_t i, char *out, size_t size)
{
	snprintf(out, size, "%s_%s_%zu", ikinds[k].prefix, base, i);
}

/* finish_reason as one of the pivot's own (static strings). */
static const char *
finish_of(const char *s)
{
	static const char *const known[] = {
	    "stop",
	    "length",
	    "tool_calls",
	    "content_filter",
	    "function_call",
	};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i], s) == 0)
			return known[i];
	return s != NULL ? "stop" : NULL;
}

/* The choice the API has room for (the Responses API has no n). */
static const json_t *
choice0(const json_t *c)
{
	const json_t *ch, *ix;
	size_t i;

	json_array_foreach(json_object_get(c, "choices"), i, ch) {
		ix = json_object_get(ch, "index");
		if (json_is_object(ch) &&
		    (ix == NULL || json_integer_value(ix) == 0))
			return ch;
	}
	return NULL;
}

/* A delta's or a message's reasoning: DeepSeek's name, else OpenRouter's. */
static const json_t *
reasoning_of(const json_t *d)
{
	const json_t *v = json_object_get(d, "reasoning_content");

	return json_is_string(v) ? v : json_object_get(d, "reasoning");
}

/* ---- the stream ---------------------------------------------------- */

struct ritem {
	unsigned char kind; /* enum ikind */
	unsigned char open;
	int tool;   /* the chunks' tool_calls index (IK_CALL) */
	char *text; /* what it said so far (a call's arguments); NULL: "" */
	size_t len, size;
	char *call_id, *name; /* IK_CALL */
};

struct rstate {
	int started;
	int cur;	    /* 1 + the open reasoning or message item; 0 none */
	long long seq;	    /* the next event's sequence_number */
	const char *finish; /* the pivot's finish_reason (static), or NULL */
	size_t n;	    /* items opened */
	size_t kept;	    /* bytes of text kept */
	char base[40];	    /* of the ids */
	struct ritem it[R_ITEMS];
};

_Static_assert(sizeof(struct rstate) <= sizeof(((struct api_state *)0)->priv.b),
    "struct rstate fits in api_state.priv");

#define RS(st) ((struct rstate *)(void *)(st)->priv.b)

/* Grow old (used bytes of it) to size: in the arena, else the heap. */
static char *
grow(struct api_state *st, char *old, size_t used, size_t size)
{
	char *p;

	if (st->arena == NULL)
		return realloc(old, size);
	p = arena_alloc(st->arena, size);
	if (old != NULL && used > 0)
		memcpy(p, old, used);
	return p;
}

static int
append(struct api_state *st, struct ritem *it, const char *s, size_t n)
{
	struct rstate *r = RS(st);
	size_t size;
	char *p;

	if (n > R_MAX_KEPT - r->kept)
		return -1;
	if (it->len + n + 1 > it->size) {
		for (size = it->size < 64 ? 64 : it->size;
		     size < it->len + n + 1; size *= 2)
			;
		if ((p = grow(st, it->text, it->len, size)) == NULL)
			return -1;
		it->text = p;
		it->size = size;
	}
	memcpy(it->text + it->len, s, n);
	it->len += n;
	it->text[it->len] = '\0';
	r->kept += n;
	return 0;
}

static char *
keep_str(struct api_state *st, const char *s)
{
	size_t n = strlen(s);
	char *p;

	if (n > R_MAX_KEPT - RS(st)->kept ||
	    (p = grow(st, NULL, 0, n + 1)) == NULL)
		return NULL;
	RS(st)->kept += n;
	return memcpy(p, s, n + 1);
}

/* The stream is over: what the heap holds is freed (the arena's stays). */
static void
release(struct api_state *st)
{
	struct rstate *r = RS(st);
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (st->arena == NULL) {
			free(r->it[i].text);
			free(r->it[i].call_id);
			free(r->it[i].name);
		}
		memset(&r->it[i], 0, sizeof(r->it[i]));
	}
	r->n = 0;
	r->cur = 0;
}

/* One event: its sequence_number added; with m, the cost written in. */
static int
send(struct api_state *st, json_t *ev, const struct api_meta *m,
    api_emit_fn emit, void *arg)
{
	char *s = NULL;
	int rc = -1;

	if (ev == NULL)
		return -1;
	if (json_object_set_new(
		ev, "sequence_number", json_integer(RS(st)->seq++)) == 0 &&
	    (s = m != NULL ? api_dump(ev, m) : jx_dump(ev)) != NULL)
		rc = emit(arg, jx_str(ev, "type"), s, strlen(s));
	free(s);
	json_decref(ev);
	return rc;
}

static int
start(struct api_state *st, api_emit_fn emit, void *arg)
{
	static const char *const types[] = {
	    "response.created", "response.in_progress"};
	struct rstate *r = RS(st);
	json_t *resp;
	size_t i;

	r->started = 1;
	id_base(st->request_id, r->base, sizeof(r->base));
	for (i = 0; i < 2; i++) {
		resp = response_new(r->base, st->created, st->model,
		    "in_progress", st->request);
		if (resp == NULL ||
		    send(st,
			json_pack(
			    "{s:s, s:o}", "type", types[i], "response", resp),
			NULL, emit, arg) == -1)
			return -1;
	}
	return 0;
}

static json_t *
item_json(struct api_state *st, size_t i, const char *status, int done)
{
	struct ritem *it = &RS(st)->it[i];
	char id[64];

	item_id(it->kind, RS(st)->base, i, id, sizeof(id));
	return item_new(it->kind, id, status,
	    done ? (it->text != NULL ? it->text : "") : NULL,
	    it->call_id != NULL ? it->call_id : "",
	    it->name != NULL ? it->name : "");
}

static int
open_item(struct api_state *st, enum ikind k, int tool, const char *call_id,
    const char *name, api_emit_fn emit, void *arg)
{
	struct rstate *r = RS(st);
	struct ritem *it;
	char id[64];
	size_t i;

	if (r->n == R_ITEMS)
		return -1;
	i = r->n++;
	it = &r->it[i];
	memset(it, 0, sizeof(*it));
	it->kind = k;
	it->open = 1;
	it->tool = tool;
	if (k == IK_CALL &&
	    ((it->call_id = keep_str(st, call_id)) == NULL ||
		(it->name = keep_str(st, name)) == NULL))
		return -1;
	if (send(st,
		json_pack("{s:s, s:I, s:o}", "type",
		    "response.output_item.added", "output_index", (json_int_t)i,
		    "item", item_json(st, i, "in_progress", 0)),
		NULL, emit, arg) == -1)
		return -1;
	if (k == IK_CALL)
		return 0;
	r->cur = (int)i + 1;
	item_id(k, r->base, i, id, sizeof(id));
	return send(st,
	    json_pack("{s:s, s:s, s:I, s:i, s:o}", "type",
		"response.content_part.added", "item_id", id, "output_index",
		(json_int_t)i, "content_index", 0, "part", part_new(k, "")),
	    NULL, emit, arg);
}

static int
delta(struct api_state *st, size_t i, const char *s, size_t n, api_emit_fn emit,
    void *arg)
{
	struct ritem *it = &RS(st)->it[i];
	char id[64];
	json_t *ev;

	if (append(st, it, s, n) == -1)
		return -1;
	item_id(it->kind, RS(st)->base, i, id, sizeof(id));
	ev = json_pack("{s:s, s:s, s:I}", "type", ikinds[it->kind].delta,
	    "item_id", id, "output_index", (json_int_t)i);
	if (ev != NULL && it->kind != IK_CALL)
		json_object_set_new(ev, "content_index", json_integer(0));
	if (ev != NULL)
		json_object_set_new(ev, "delta", json_stringn(s, n));
	if (ev != NULL && it->kind == IK_MESSAGE)
		json_object_set_new(ev, "logprobs", json_array());
	return send(st, ev, NULL, emit, arg);
}

/* An item's closing events: its whole text, its part, the item done. */
static int
close_item(struct api_state *st, size_t i, const char *status, api_emit_fn emit,
    void *arg)
{
	struct rstate *r = RS(st);
	struct ritem *it = &r->it[i];
	const char *text = it->text != NULL ? it->text : "";
	char id[64];
	json_t *ev;

	it->open = 0;
	if (r->cur == (int)i + 1)
		r->cur = 0;
	item_id(it->kind, r->base, i, id, sizeof(id));
	ev = json_pack("{s:s, s:s, s:I}", "type", ikinds[it->kind].done,
	    "item_id", id, "output_index", (json_int_t)i);
	if (ev != NULL && it->kind == IK_CALL)
		json_object_set_new(ev, "name", json_string(it->name));
	if (ev != NULL && it->kind != IK_CALL)
		json_object_set_new(ev, "content_index", json_integer(0));
	if (ev != NULL)
		json_object_set_new(ev,
		    it->kind == IK_CALL ? "arguments" : "text",
		    json_stringn(text, it->len));
	if (ev != NULL && it->kind == IK_MESSAGE)
		json_object_set_new(ev, "logprobs", json_array());
	if (send(st, ev, NULL, emit, arg) == -1)
		return -1;
	if (it->kind != IK_CALL &&
	    send(st,
		json_pack("{s:s, s:s, s:I, s:i, s:o}", "type",
		    "response.content_part.done", "item_id", id, "output_index",
		    (json_int_t)i, "content_index", 0, "part",
		    part_new(it->kind, text)),
		NULL, emit, arg) == -1)
		return -1;
	return send(st,
	    json_pack("{s:s, s:I, s:o}", "type", "response.output_item.done",
		"output_index", (json_int_t)i, "item",
		item_json(st, i, status, 1)),
	    NULL, emit, arg);
}

/* Reasoning or message text: the open item of its kind, or a new one. */
static int
text_delta(struct api_state *st, enum ikind k, const json_t *v,
    api_emit_fn emit, void *arg)
{
	struct rstate *r = RS(st);

	if (!json_is_string(v) || json_string_length(v) == 0)
		return 0;
	if (r->cur == 0 || r->it[r->cur - 1].kind != k) {
		if (r->cur != 0 &&
		    close_item(
			st, (size_t)r->cur - 1, "completed", emit, arg) == -1)
			return -1;
		if (open_item(st, k, 0, NULL, NULL, emit, arg) == -1)
			return -1;
	}
	return delta(st, (size_t)r->cur - 1, json_string_value(v),
	    json_string_length(v), emit, arg);
}

/*
 * Tool call fragments: the first of each index opens a function_call item
 * (closing the text before it); the items stay open to the end, since a
 * provider may interleave the calls' arguments.
 */
static int
calls_delta(
    struct api_state *st, const json_t *tcs, api_emit_fn emit, void *arg)
{
	struct rstate *r = RS(st);
	const json_t *tc, *fn, *args;
	const char *cid, *name;
	char gen[64];
	size_t j, i;
	int ix;

	json_array_foreach(tcs, j, tc) {
		ix = (int)json_integer_value(json_object_get(tc, "index"));
		fn = json_object_get(tc, "function");
		for (i = 0; i < r->n; i++)
			if (r->it[i].kind == IK_CALL && r->it[i].tool == ix)
				break;
		if (i == r->n) {
			if (r->cur != 0 &&
			    close_item(st, (size_t)r->cur - 1, "completed",
				emit, arg) == -1)
				return -1;
			snprintf(gen, sizeof(gen), "call_%s_%zu", r->base, i);
			cid = jx_str(tc, "id");
			name = jx_str(fn, "name");
			if (open_item(st, IK_CALL, ix, cid != NULL ? cid : gen,
				name != NULL ? name : "", emit, arg) == -1)
				return -1;
		}
		args = json_object_get(fn, "arguments");
		if (json_is_string(args) && json_string_length(args) > 0 &&
		    delta(st, i, json_string_value(args),
			json_string_length(args), emit, arg) == -1)
			return -1;
	}
	return 0;
}

static int
chunk(struct api_state *st, const json_t *c, api_emit_fn emit, void *arg)
{
	struct rstate *r = RS(st);
	const json_t *ch, *d;
	const char *fr;

	if (!r->started && start(st, emit, arg) == -1)
		return -1;
	if ((ch = choice0(c)) == NULL)
		return 0;
	d = json_object_get(ch, "delta");
	if (json_is_object(d) &&
	    (text_delta(st, IK_REASONING, reasoning_of(d), emit, arg) == -1 ||
		text_delta(st, IK_MESSAGE, json_object_get(d, "content"), emit,
		    arg) == -1 ||
		calls_delta(st, json_object_get(d, "tool_calls"), emit, arg) ==
		    -1))
		return -1;
	if ((fr = jx_str(ch, "finish_reason")) != NULL)
		r->finish = finish_of(fr);
	return 0;
}

static const char *
item_status(const char *finish)
{
	return finish != NULL &&
		(strcmp(finish, "length") == 0 ||
		    strcmp(finish, "content_filter") == 0)
	    ? "incomplete"
	    : "completed";
}

/* Every item (done, with its whole text) as the response's output. */
static int
put_output(struct api_state *st, json_t *resp, const char *status)
{
	json_t *out = json_object_get(resp, "output");
	size_t i;

	for (i = 0; i < RS(st)->n; i++)
		if (json_array_append_new(out, item_json(st, i, status, 1)) ==
		    -1)
			return -1;
	return 0;
}

static int
end(struct api_state *st, const struct api_meta *m, api_emit_fn emit, void *arg)
{
	struct rstate *r = RS(st);
	const char *status = item_status(r->finish);
	json_t *resp = NULL;
	size_t i;
	int rc = -1;

	if (!r->started && start(st, emit, arg) == -1)
		goto out;
	for (i = 0; i < r->n; i++)
		if (r->it[i].open && close_item(st, i, status, emit, arg) == -1)
			goto out;
	resp = response_new(r->base, st->created,
	    m->model != NULL ? m->model : st->model, "completed",
	    st->request != NULL ? st->request : m->request);
	if (resp == NULL || put_output(st, resp, status) == -1)
		goto out;
	response_end(resp, r->finish, m);
	rc = send(st,
	    json_pack("{s:s, s:O}", "type",
		strcmp(status, "incomplete") == 0 ? "response.incomplete"
						  : "response.completed",
		"response", resp),
	    m, emit, arg);
out:
	json_decref(resp);
	release(st);
	return rc;
}

static int
stream_error(struct api_state *st, int status, const char *type,
    const char *code, const char *msg, api_emit_fn emit, void *arg)
{
	struct rstate *r = RS(st);
	json_t *resp = NULL;
	int rc = -1;

	msg = msg != NULL ? msg : "The stream failed.";
	if (!r->started && start(st, emit, arg) == -1)
		goto out;
	if (send(st,
		json_pack("{s:s, s:s?, s:s, s:n}", "type", "error", "code",
		    code, "message", msg, "param"),
		NULL, emit, arg) == -1)
		goto out;
	resp = response_new(
	    r->base, st->created, st->model, "failed", st->request);
	if (resp == NULL || put_output(st, resp, "incomplete") == -1)
		goto out;
	json_object_set_new(resp, "error",
	    json_pack("{s:s, s:s}", "code",
		code != NULL ? code : "server_error", "message", msg));
	rc = send(st,
	    json_pack(
		"{s:s, s:O}", "type", "response.failed", "response", resp),
	    NULL, emit, arg);
out:
	json_decref(resp);
	release(st);
	return rc;
}

/* ---- a whole answer ------------------------------------------------ */

static int
answer_item(json_t *out, enum ikind k, const char *base, const char *status,
    const char *text, const char *call_id, const char *name)
{
	char id[64];

	item_id(k, base, json_array_size(out), id, sizeof(id));
	return json_array_append_new(
	    out, item_new(k, id, status, text, call_id, name));
}

/* The completion's output: reasoning, the message, the calls. */
static int
answer_output(
    json_t *out, const json_t *msg, const char *base, const char *status)
{
	const json_t *rs = reasoning_of(msg), *calls, *tc, *fn;
	const char *text = jx_str(msg, "content"), *args;
	size_t i;

	calls = json_object_get(msg, "tool_calls");
	if (json_is_string(rs) && json_string_length(rs) > 0 &&
	    answer_item(out, IK_REASONING, base, status, json_string_value(rs),
		NULL, NULL) == -1)
		return -1;
	if (((text != NULL && text[0] != '\0') ||
		json_array_size(calls) == 0) &&
	    answer_item(out, IK_MESSAGE, base, status, text != NULL ? text : "",
		NULL, NULL) == -1)
		return -1;
	json_array_foreach(calls, i, tc) {
		fn = json_object_get(tc, "function");
		args = jx_str(fn, "arguments");
		if (jx_str(tc, "id") == NULL || jx_str(fn, "name") == NULL)
			continue;
		if (answer_item(out, IK_CALL, base, status,
			args != NULL ? args : "", jx_str(tc, "id"),
			jx_str(fn, "name")) == -1)
			return -1;
	}
	return 0;
}

static json_t *
answer(const json_t *c, const struct api_meta *m)
{
	const json_t *ch = choice0(c);
	const char *finish = finish_of(jx_str(ch, "finish_reason"));
	char base[40];
	json_t *r;

	id_base(m->request_id, base, sizeof(base));
	r = response_new(base,
	    (long long)json_integer_value(json_object_get(c, "created")),
	    m->model != NULL ? m->model : jx_str(c, "model"), "completed",
	    m->request);
	if (r == NULL)
		return NULL;
	if (answer_output(json_object_get(r, "output"),
		json_object_get(ch, "message"), base,
		item_status(finish)) == -1) {
		json_decref(r);
		return NULL;
	}
	response_end(r, finish, m);
	return r;
}

/* The Responses API's errors are OpenAI's shape. */
static json_t *
error_body(int status, const char *type, const char *code, const char *param,
    const char *msg)
{
	return json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error", "message",
	    msg != NULL ? msg : "", "type", type != NULL ? type : "api_error",
	    "param", param, "code", code);
}

const struct api_ops api_responses_ops = {
    .wire = WIRE_RESPONSES,
    .name = "responses",
    .to_pivot = responses_to_pivot,
    .chunk = chunk,
    .end = end,
    .stream_error = stream_error,
    .answer = answer,
    .error = error_body,
    /* no provider speaks it: never native */
    .native_hold = NULL,
    .native_end = NULL,
    .native_answer = NULL,
};
