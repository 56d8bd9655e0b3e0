/* api_gemini.c: the Gemini API as a client speaks it: answers, stream chunks and errors from the pivot */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "prov/api_gemini.h"

/* --- answers: usage, parts, errors ---------------------------------------------------- */

/* clang-format off */
static const struct {
	const char *openai, *gemini;
} finishes[] = {
	{ "stop",	    "STOP" },
	{ "length",	    "MAX_TOKENS" },
	{ "content_filter", "SAFETY" },
	{ "tool_calls",	    "STOP" }, /* Gemini ends calls with STOP */
	{ "function_call",  "STOP" },
	{ NULL,		    "OTHER" },
};
/* clang-format on */

/* The finishes[] row of an OpenAI finish_reason (the last: unknown). */
static size_t
finish_of(const char *f)
{
	size_t i;

	for (i = 0; finishes[i].openai != NULL; i++)
		if (f != NULL && strcmp(f, finishes[i].openai) == 0)
			break;
	return i;
}

/*
 * usageMetadata from what was billed: promptTokenCount counts every input
 * token (cache reads included, as Gemini's does), candidatesTokenCount
 * leaves thoughts out, which thoughtsTokenCount has.
 */
static json_t *
usage_meta(const struct token_counts *u, int cost)
{
	int64_t p = 0, c = 0, r = 0, k = 0;
	json_t *o;

	if (u != NULL) {
		p = u->prompt > 0 ? u->prompt : 0;
		c = u->completion > 0 ? u->completion : 0;
		r = u->reasoning > 0 && u->reasoning <= c ? u->reasoning : 0;
		k = u->cached > 0 ? u->cached : 0;
	}
	o = json_pack("{s:I, s:I, s:I}", "promptTokenCount", (json_int_t)p,
	    "candidatesTokenCount", (json_int_t)(c - r), "totalTokenCount",
	    (json_int_t)(p + c));
	if (o != NULL && k > 0)
		json_object_set_new(
		    o, "cachedContentTokenCount", json_integer(k));
	if (o != NULL && r > 0)
		json_object_set_new(o, "thoughtsTokenCount", json_integer(r));
	if (o != NULL && cost)
		json_object_set_new(o, "cost", json_string(API_COST_MARK));
	return o;
}

/* A tool call's arguments text as functionCall.args (an object). */
static json_t *
args_of(const char *s, size_t n)
{
	json_t *o;

	if (n == 0)
		return json_object();
	o = json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(o))
		return o;
	/* Not an object: kept whole, as Gemini's args must be one. */
	json_decref(o);
	return json_pack("{s:s%}", "arguments", s, n);
}

/* The parts of an OpenAI message or delta: thoughts, text, calls. */
static int
add_text(json_t *parts, const json_t *m, int thought)
{
	const char *keys[] = {"reasoning_content", "reasoning"};
	json_t *v;
	size_t i;

	for (i = 0; i < (thought ? 2u : 0u); i++)
		if (json_string_length(v = json_object_get(m, keys[i])) > 0)
			return json_array_append_new(parts,
			    json_pack("{s:O, s:b}", "text", v, "thought", 1));
	if (!thought && json_string_length(v = json_object_get(m, "content")))
		return json_array_append_new(
		    parts, json_pack("{s:O}", "text", v));
	return 0;
}

static json_t *
candidate(json_t *parts, size_t idx, const char *finish)
{
	if (json_array_size(parts) == 0)
		json_array_append_new(parts, json_pack("{s:s}", "text", ""));
	return json_pack("{s:{s:s, s:O}, s:s*, s:I}", "content", "role",
	    "model", "parts", parts, "finishReason", finish, "index",
	    (json_int_t)idx);
}

/* One functionCall part: args from the arguments text, id when known. */
static json_t *
call_out(const char *name, const char *args, size_t len, const char *id)
{
	return json_pack("{s:{s:s, s:o, s:s*}}", "functionCall", "name",
	    name != NULL ? name : "", "args",
	    args_of(args != NULL ? args : "", args != NULL ? len : 0), "id",
	    id);
}

/* Gemini's finishReason for an OpenAI finish_reason; NULL for none. */
static const char *
finish_name(const json_t *fr)
{
	return json_is_string(fr)
	    ? finishes[finish_of(json_string_value(fr))].gemini
	    : NULL;
}

/* A whole OpenAI message's parts: thoughts, text, then its calls. */
static json_t *
message_parts(const json_t *m)
{
	json_t *parts = json_array(), *tc, *f, *a;
	size_t i;

	if (parts == NULL || add_text(parts, m, 1) != 0 ||
	    add_text(parts, m, 0) != 0)
		goto fail;
	json_array_foreach(json_object_get(m, "tool_calls"), i, tc) {
		f = json_object_get(tc, "function");
		a = json_object_get(f, "arguments");
		if (json_array_append_new(parts,
			call_out(jx_str(f, "name"), json_string_value(a),
			    json_string_length(a), jx_str(tc, "id"))) != 0)
			goto fail;
	}
	return parts;
fail:
	json_decref(parts);
	return NULL;
}

static json_t *
gemini_answer(const json_t *completion, const struct api_meta *m)
{
	json_t *cands, *c, *parts, *cand;
	size_t i;

	if ((cands = json_array()) == NULL)
		return NULL;
	json_array_foreach(json_object_get(completion, "choices"), i, c) {
		if (i >= GEM_MAX_CAND)
			break;
		if ((parts = message_parts(json_object_get(c, "message"))) ==
		    NULL) {
			json_decref(cands);
			return NULL;
		}
		cand = candidate(
		    parts, i, finish_name(json_object_get(c, "finish_reason")));
		json_decref(parts);
		if (json_array_append_new(cands, cand) != 0) {
			json_decref(cands);
			return NULL;
		}
	}
	return json_pack("{s:o, s:o, s:s*, s:s*, s:o}", "candidates", cands,
	    "usageMetadata", usage_meta(m->u, 1), "modelVersion", m->model,
	    "responseId", m->request_id, "gateway_usage", api_gateway_usage(m));
}

/* clang-format off */
static const struct {
	int status;
	const char *name;
} statuses[] = {
	{ 400, "INVALID_ARGUMENT" },
	{ 401, "UNAUTHENTICATED" },
	{ 402, "FAILED_PRECONDITION" }, /* billing, as Google says it */
	{ 403, "PERMISSION_DENIED" },
	{ 404, "NOT_FOUND" },
	{ 409, "ABORTED" },
	{ 413, "INVALID_ARGUMENT" },
	{ 429, "RESOURCE_EXHAUSTED" },
	{ 499, "CANCELLED" },
	{ 500, "INTERNAL" },
	{ 501, "UNIMPLEMENTED" },
	{ 502, "UNAVAILABLE" },
	{ 503, "UNAVAILABLE" },
	{ 504, "DEADLINE_EXCEEDED" },
	{ 0,   NULL },
};
/* clang-format on */

/* Google's status word for an HTTP status. */
static const char *
status_name(int status)
{
	size_t i;

	for (i = 0; statuses[i].name != NULL; i++)
		if (statuses[i].status == status)
			return statuses[i].name;
	return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
}

/*
 * Google's error shape, plus OpenAI's type, param and code (as an
 * ErrorInfo reason too, where Google's clients look for one).
 */
static json_t *
gemini_error(int status, const char *type, const char *code, const char *param,
    const char *msg)
{
	json_t *e;

	e = json_pack("{s:{s:i, s:s, s:s, s:s?, s:s?}}", "error", "code",
	    status, "message", msg != NULL ? msg : "", "status",
	    status_name(status), "type", type, "param", param);
	if (e != NULL && code != NULL)
		json_object_set_new(json_object_get(e, "error"), "details",
		    json_pack("[{s:s, s:s, s:s}]", "@type",
			"type.googleapis.com/google.rpc.ErrorInfo", "reason",
			code, "domain", "tollgate"));
	return e;
}

/* --- streams -------------------------------------------------------------------------- */

/* A tool call whose arguments are arriving. */
struct gem_call {
	int choice, index, over;
	char *id, *name;
	struct buf args;
};

struct gem_calls {
	struct gem_call v[GEM_MAX_CALLS];
	size_t n;
};

/* The stream's state in api_state.priv. */
struct gem_stream {
	struct gem_calls *calls; /* malloc'd on the first call; release */
	uint32_t seen;		 /* choices that spoke */
	unsigned char finish[GEM_MAX_CAND]; /* finishes[] row + 1; 0: none */
	size_t ncalls;			    /* for ids the upstream left out */
};

_Static_assert(
    sizeof(struct gem_stream) <= sizeof(((struct api_state *)0)->priv),
    "gem_stream fits api_state.priv");

static struct gem_stream *
stream_of(struct api_state *st)
{
	return (struct gem_stream *)(void *)st->priv.b;
}

static void
gemini_release(struct api_state *st)
{
	struct gem_stream *s = stream_of(st);
	size_t i;

	if (s->calls == NULL)
		return;
	for (i = 0; i < s->calls->n; i++) {
		free(s->calls->v[i].id);
		free(s->calls->v[i].name);
		buf_free(&s->calls->v[i].args);
	}
	free(s->calls);
	s->calls = NULL;
}

/* One data line of a GenerateContentResponse (or an error); 0 or -1. */
static int
emit_obj(struct api_state *st, json_t *o, const struct api_meta *m,
    api_emit_fn emit, void *arg)
{
	char *s;
	int rc;

	if (o == NULL)
		return -1;
	if (st != NULL && json_object_get(o, "error") == NULL) {
		if (st->model != NULL)
			json_object_set_new(
			    o, "modelVersion", json_string(st->model));
		if (st->request_id != NULL)
			json_object_set_new(
			    o, "responseId", json_string(st->request_id));
	}
	s = m != NULL ? api_dump(o, m) : jx_dump(o);
	json_decref(o);
	if (s == NULL)
		return -1;
	rc = emit(arg, NULL, s, strlen(s));
	free(s);
	return rc;
}

/* The buffer of tool call index of choice, made on its first fragment. */
static struct gem_call *
call_at(struct gem_stream *s, int choice, const json_t *tc)
{
	json_t *ix = json_object_get(tc, "index");
	int index = json_is_integer(ix) ? (int)json_integer_value(ix) : 0;
	struct gem_call *c;
	size_t i;

	if (s->calls == NULL &&
	    (s->calls = calloc(1, sizeof(*s->calls))) == NULL)
		return NULL;
	for (i = 0; i < s->calls->n; i++)
		if (s->calls->v[i].choice == choice &&
		    s->calls->v[i].index == index)
			return &s->calls->v[i];
	if (s->calls->n == GEM_MAX_CALLS)
		return NULL;
	c = &s->calls->v[s->calls->n++];
	c->choice = choice;
	c->index = index;
	buf_init(&c->args, GEM_MAX_ARGS);
	return c;
}

/* One tool_calls fragment into its buffer; -1 out of memory. */
static int
take_call(struct gem_stream *s, int choice, const json_t *tc)
{
	json_t *f = json_object_get(tc, "function"), *v;
	struct gem_call *c;

	if ((c = call_at(s, choice, tc)) == NULL)
		return s->calls == NULL ? -1 : 0; /* past the cap: dropped */
	if (c->id == NULL && json_is_string(v = json_object_get(tc, "id")) &&
	    (c->id = strdup(json_string_value(v))) == NULL)
		return -1;
	if (c->name == NULL && json_is_string(v = json_object_get(f, "name")) &&
	    (c->name = strdup(json_string_value(v))) == NULL)
		return -1;
	v = json_object_get(f, "arguments");
	if (!c->over && json_string_length(v) > 0 &&
	    buf_append(&c->args, json_string_value(v), json_string_length(v)) !=
		TG_OK)
		c->over = 1; /* buf_append emptied it: args_of keeps none */
	return 0;
}

/* The complete calls of a choice as functionCall parts, then dropped. */
static int
flush_calls(struct gem_stream *s, int choice, json_t *parts)
{
	struct gem_call *c;
	char gen[32];
	size_t i, j;
	json_t *fc;

	for (i = 0; s->calls != NULL && i < s->calls->n; i++) {
		c = &s->calls->v[i];
		if (c->choice != choice)
			continue;
		snprintf(gen, sizeof(gen), "call_%zu", ++s->ncalls);
		fc = call_out(c->name, c->over ? NULL : c->args.data,
		    c->args.len, c->id != NULL ? c->id : gen);
		if (fc == NULL || json_array_append_new(parts, fc) != 0)
			return -1;
		free(c->id);
		free(c->name);
		buf_free(&c->args);
		for (j = i + 1; j < s->calls->n; j++)
			s->calls->v[j - 1] = s->calls->v[j];
		s->calls->n--;
		i--;
	}
	return 0;
}

/*
 * One OpenAI choice as a candidate's parts (appended to cands when it has
 * any).  Its finish_reason waits for end, which sends it with the usage,
 * as Gemini's last chunk carries both; its tool calls go out whole then.
 */
static int
choice_in(struct gem_stream *s, const json_t *ch, json_t *cands)
{
	json_t *ix = json_object_get(ch, "index"), *d, *parts, *tc, *fr;
	json_int_t idx = json_is_integer(ix) ? json_integer_value(ix) : 0;
	size_t i;
	int rc = -1;

	if (idx < 0 || idx >= GEM_MAX_CAND || !json_is_object(ch))
		return 0;
	s->seen |= 1u << idx;
	d = json_object_get(ch, "delta");
	if ((parts = json_array()) == NULL || add_text(parts, d, 1) != 0 ||
	    add_text(parts, d, 0) != 0)
		goto out;
	json_array_foreach(json_object_get(d, "tool_calls"), i, tc)
		if (json_is_object(tc) && take_call(s, (int)idx, tc) != 0)
			goto out;
	if (json_is_string(fr = json_object_get(ch, "finish_reason"))) {
		s->finish[idx] =
		    (unsigned char)(finish_of(json_string_value(fr)) + 1);
		if (flush_calls(s, (int)idx, parts) != 0)
			goto out;
	}
	rc = 0;
	if (json_array_size(parts) > 0)
		rc = json_array_append_new(
		    cands, candidate(parts, (size_t)idx, NULL));
out:
	json_decref(parts);
	return rc;
}

static int
gemini_chunk(
    struct api_state *st, const json_t *chunk, api_emit_fn emit, void *arg)
{
	struct gem_stream *s = stream_of(st);
	json_t *cands, *ch;
	size_t i;

	if ((cands = json_array()) == NULL)
		return -1;
	json_array_foreach(json_object_get(chunk, "choices"), i, ch)
		if (choice_in(s, ch, cands) != 0) {
			json_decref(cands);
			return -1;
		}
	if (json_array_size(cands) == 0) {
		json_decref(cands);
		return 0;
	}
	return emit_obj(
	    st, json_pack("{s:o}", "candidates", cands), NULL, emit, arg);
}

/*
 * The last chunk: every choice that spoke (or the first) with its finish
 * (STOP when none came) and the calls still buffered, usageMetadata with
 * the cost, and gateway_usage.
 */
static int
gemini_end(
    struct api_state *st, const struct api_meta *m, api_emit_fn emit, void *arg)
{
	struct gem_stream *s = stream_of(st);
	json_t *cands = json_array(), *parts, *o = NULL;
	unsigned i;
	int rc = -1;

	if (s->seen == 0)
		s->seen = 1;
	for (i = 0; cands != NULL && i < GEM_MAX_CAND; i++) {
		if ((s->seen & (1u << i)) == 0)
			continue;
		if ((parts = json_array()) == NULL ||
		    flush_calls(s, (int)i, parts) != 0 ||
		    json_array_append_new(cands,
			candidate(parts, i,
			    finishes[s->finish[i] ? s->finish[i] - 1 : 0]
				.gemini)) != 0) {
			json_decref(parts);
			goto out;
		}
		json_decref(parts);
	}
	o = json_pack("{s:O, s:o, s:o}", "candidates", cands, "usageMetadata",
	    usage_meta(m->u, 1), "gateway_usage", api_gateway_usage(m));
	rc = emit_obj(st, o, m, emit, arg);
out:
	json_decref(cands);
	gemini_release(st);
	return rc;
}

static int
gemini_stream_error(struct api_state *st, int status, const char *type,
    const char *code, const char *msg, api_emit_fn emit, void *arg)
{
	gemini_release(st);
	return emit_obj(
	    st, gemini_error(status, type, code, NULL, msg), NULL, emit, arg);
}

/* --- native streams and answers (a Gemini provider) ----------------------------------- */

/*
 * Gemini's last chunk carries the finishReason (and after a blocked
 * prompt there are no candidates at all): it waits for the cost.
 */
static int
gemini_native_hold(const char *type, const json_t *ev)
{
	json_t *cands = json_object_get(ev, "candidates"), *c;
	size_t i;

	if (!json_is_object(ev) || json_object_get(ev, "error") != NULL)
		return 0;
	if (json_array_size(cands) == 0)
		return 1;
	json_array_foreach(cands, i, c)
		if (json_object_get(c, "finishReason") != NULL)
			return 1;
	return 0;
}

/* usageMetadata gets the cost (made from m when absent); gateway_usage. */
static void
add_cost(json_t *o, const struct api_meta *m)
{
	json_t *um = json_object_get(o, "usageMetadata");

	if (!json_is_object(um)) {
		json_object_set_new(o, "usageMetadata", usage_meta(m->u, 1));
	} else
		json_object_set_new(um, "cost", json_string(API_COST_MARK));
	json_object_set_new(o, "gateway_usage", api_gateway_usage(m));
}

static void
gemini_native_answer(json_t *answer, const struct api_meta *m)
{
	if (json_is_object(answer))
		add_cost(answer, m);
}

static int
gemini_native_end(struct api_state *st, const json_t *held,
    const struct api_meta *m, api_emit_fn emit, void *arg)
{
	size_t i, n = json_array_size(held);
	json_t *h, *o;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		h = json_array_get(held, i);
		if ((o = json_deep_copy(json_object_get(h, "data"))) == NULL ||
		    !json_is_object(o)) {
			json_decref(o);
			return -1;
		}
		if (i + 1 == n)
			add_cost(o, m);
		rc = emit_obj(NULL, o, i + 1 == n ? m : NULL, emit, arg);
	}
	if (n == 0) /* the stream ended without a last chunk: the cost still */
		rc = emit_obj(st,
		    json_pack("{s:o, s:o}", "usageMetadata",
			usage_meta(m->u, 1), "gateway_usage",
			api_gateway_usage(m)),
		    m, emit, arg);
	return rc;
}

const struct api_ops api_gemini_ops = {
    .wire = WIRE_GEMINI,
    .name = "gemini",
    .to_pivot = api_gemini_to_pivot,
    .chunk = gemini_chunk,
    .end = gemini_end,
    .stream_error = gemini_stream_error,
    .answer = gemini_answer,
    .error = gemini_error,
    .native_hold = gemini_native_hold,
    .native_end = gemini_native_end,
    .native_answer = gemini_native_answer,
    .release = gemini_release,
};
