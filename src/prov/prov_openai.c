/* prov_openai.c: the OpenAI wire format and its DeepSeek, OpenRouter and compatible kin */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/money.h"
#include "core/util.h"
#include "prov/prov.h"

/* clang-format off */
static const char *const paths[EP__MAX] = {
	[EP_CHAT]	 = "/chat/completions",
	[EP_COMPLETIONS] = "/completions",
	[EP_EMBEDDINGS]	 = "/embeddings",
};

/*
 * How each kind differs: OpenAI's reasoning models refuse max_tokens and want
 * max_completion_tokens; DeepSeek, OpenRouter and local servers (vLLM,
 * llama.cpp, Ollama) all take max_tokens.  OpenRouter reports the cost it
 * charged when asked with usage.include and credits apps by two headers.
 */
static const struct kind_def {
	const char *max_field;
	int openrouter;
} kinds[PROV__MAX] = {
	[PROV_OPENAI]	  = { "max_completion_tokens", 0 },
	[PROV_DEEPSEEK]	  = { "max_tokens",	       0 },
	[PROV_OPENROUTER] = { "max_tokens",	       1 },
	[PROV_COMPATIBLE] = { "max_tokens",	       0 },
	[PROV_TEST]	  = { "max_tokens",	       0 },
};
/* clang-format on */

const char *const prov_out_caps[PROV_OUT_CAPS] = {
    "max_tokens", "max_completion_tokens", "max_output_tokens"};

#define DEFAULT_REFERER "https://github.com/tollgate"
#define DEFAULT_TITLE	"tollgate"

const char *
prov_endpoint_path(enum endpoint ep)
{
	return (unsigned)ep < EP__MAX ? paths[ep] : "/";
}

/* A header value from a client must stay on one line and stay short. */
static int
header_safe(const char *v)
{
	size_t i;

	if (v == NULL || *v == '\0' || strlen(v) > 256)
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Members of the pivot's messages, parts and tools that only the Anthropic
 * and Gemini translations read (api.h), which OpenAI refuses as unknown;
 * OpenRouter reads cache_control (for the Anthropic models it serves), so
 * it keeps that one.
 */
static const struct {
	const char *name;
	int openrouter_keeps;
} pivot_only[] = {
    {"thinking_blocks", 0},
    {"cache_control", 1},
};

/* 1 when o (an object) has a member of pivot_only that rt's kind drops. */
static int
has_pivot_only(const json_t *o, int openrouter)
{
	size_t i;

	for (i = 0; i < sizeof(pivot_only) / sizeof(pivot_only[0]); i++)
		if ((!openrouter || !pivot_only[i].openrouter_keeps) &&
		    json_object_get(o, pivot_only[i].name) != NULL)
			return 1;
	return 0;
}

/* A copy of o without the members of pivot_only the kind drops. */
static json_t *
without_pivot_only(const json_t *o, int openrouter)
{
	json_t *c = json_copy((json_t *)o), *v, *parts;
	size_t i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < sizeof(pivot_only) / sizeof(pivot_only[0]); i++)
		if (!openrouter || !pivot_only[i].openrouter_keeps)
			json_object_del(c, pivot_only[i].name);
	parts = json_object_get(c, "content");
	if (!json_is_array(parts))
		return c;
	parts = json_copy(parts);
	json_object_set_new(c, "content", parts);
	json_array_foreach(parts, i, v)
		if (json_is_object(v) && has_pivot_only(v, openrouter))
			json_array_set_new(
			    parts, i, without_pivot_only(v, openrouter));
	return c;
}

/*
 * The array member key of b (messages, tools) with the pivot's own members
 * dropped from its objects and their parts, copied only when one has any:
 * an OpenAI client's request is sent as it came.
 */
static void
drop_pivot_only(json_t *b, const char *key, int openrouter)
{
	json_t *arr = json_object_get(b, key), *m, *p, *copy = NULL;
	size_t i, j;
	int found;

	json_array_foreach(arr, i, m) {
		found = json_is_object(m) && has_pivot_only(m, openrouter);
		json_array_foreach(json_object_get(m, "content"), j, p)
			found |=
			    json_is_object(p) && has_pivot_only(p, openrouter);
		if (!found)
			continue;
		if (copy == NULL) {
			copy = json_copy(arr);
			json_object_set_new(b, key, copy);
		}
		json_array_set_new(copy, i, without_pivot_only(m, openrouter));
	}
}

static int
openai_build(struct arena *a, enum endpoint ep, const struct deployment *rt,
    const json_t *body, int stream, int64_t max_out, const char *secret,
    const char *referer, const char *title, struct prov_call *out)
{
	const struct kind_def *k = &kinds[rt->kind];
	json_t *b, *so;
	const char *base = rt->base_url;
	size_t blen = strlen(base), i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/*
	 * The client's body is kept for a retry on another deployment: the
	 * copy is of the top level, and a nested object is copied below
	 * before it changes.  (A deep copy of every message cost more than
	 * serializing them.)
	 */
	if ((b = json_copy((json_t *)body)) == NULL)
		return -1;
	json_object_set_new(b, "model", json_string(rt->upstream_model));
	/* tollgate's routing preferences, not the provider's business. */
	json_object_del(b, "provider");
	/* The pivot's extensions for Anthropic and Gemini (params.c). */
	json_object_del(b, "thinking");
	json_object_del(b, "safetySettings");
	drop_pivot_only(b, "messages", k->openrouter);
	drop_pivot_only(b, "tools", k->openrouter);
	/*
	 * One output cap, the one held: a provider may read any of the names
	 * a client can send, so all are replaced by the one its kind reads.
	 */
	for (i = 0; i < PROV_OUT_CAPS; i++)
		json_object_del(b, prov_out_caps[i]);
	if (max_out > 0 && ep != EP_EMBEDDINGS)
		json_object_set_new(b,
		    ep == EP_CHAT ? k->max_field : "max_tokens",
		    json_integer(max_out));
	if (stream && ep != EP_EMBEDDINGS) {
		/* Always ask for usage; the relay strips it if unwanted. */
		so = json_object_get(b, "stream_options");
		so = json_is_object(so) ? json_copy(so) : json_object();
		json_object_set_new(b, "stream_options", so);
		json_object_set_new(so, "include_usage", json_true());
	}
	if (k->openrouter) {
		so = json_object_get(b, "usage");
		so = json_is_object(so) ? json_copy(so) : json_object();
		json_object_set_new(b, "usage", so);
		json_object_set_new(so, "include", json_true());
	}
	if ((out->body = jx_dump(b)) == NULL)
		goto out;
	arena_defer(a, free, out->body);
	out->body_len = strlen(out->body);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	out->url = arena_printf(a, "%.*s%s", (int)blen, base, paths[ep]);
	out->headers[out->nheaders++] = "Content-Type: application/json";
	out->headers[out->nheaders++] =
	    stream ? "Accept: text/event-stream" : "Accept: application/json";
	out->secret_header =
	    arena_printf(a, "Authorization: Bearer %s", secret);
	out->headers[out->nheaders++] = out->secret_header;
	if (k->openrouter) {
		out->headers[out->nheaders++] =
		    arena_printf(a, "HTTP-Referer: %s",
			header_safe(referer) ? referer : DEFAULT_REFERER);
		out->headers[out->nheaders++] = arena_printf(a, "X-Title: %s",
		    header_safe(title) ? title : DEFAULT_TITLE);
	}
	rc = 0;
out:
	json_decref(b);
	return rc;
}

/* --- reading answers ------------------------------------------------------------------- */

/*
 * The members the usage rules read, from a tree (chat_usage_parse) or from
 * text that jx_valid passed (chat_usage_scan), so that one set of rules
 * serves both.  Text whose keys are written with escapes cannot be judged
 * byte by byte: *unjudged is set, and the caller loads a tree instead.
 */
struct usrc {
	int text;	 /* which of the two below */
	const json_t *o; /* the tree; NULL: absent or not an object */
	const char *t;	 /* the text; NULL: absent or not an object */
	size_t len;
	int *unjudged;
};

/* Where member k's value sits in text mode: 1, 0 when absent. */
static int
locate(const struct usrc *s, const char *k, struct jx_where *w)
{
	int n;

	if (s->t == NULL)
		return 0;
	if ((n = jx_locate(s->t, s->len, k, w)) < 0)
		*s->unjudged = 1;
	return n > 0;
}

static int
has(const struct usrc *s, const char *k)
{
	struct jx_where w;

	return s->text ? locate(s, k, &w) : json_object_get(s->o, k) != NULL;
}

/* A non-negative integer member, or 0. */
static int64_t
count(const struct usrc *s, const char *k)
{
	struct jx_where w;
	const char *p, *e;
	int64_t n = 0;
	json_t *v;

	if (!s->text) {
		v = json_object_get(s->o, k);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return 0;
		return json_integer_value(v);
	}
	if (!locate(s, k, &w))
		return 0;
	/*
	 * An integer is digits alone: a '-' makes it negative, a '.', 'e' or
	 * 'E' a real (both count 0), and jx_valid refused one out of range.
	 */
	for (p = e = s->t + w.vs; e < s->t + w.ve && *e >= '0' && *e <= '9';
	     e++)
		n = n > (INT64_MAX - (*e - '0')) / 10 ? INT64_MAX
						      : n * 10 + (*e - '0');
	return e == p || e != s->t + w.ve ? 0 : n;
}

/* The object member k, as a source of its own (absent when not an object). */
static struct usrc
sub(const struct usrc *s, const char *k)
{
	struct usrc r = {.text = s->text, .unjudged = s->unjudged};
	struct jx_where w;

	if (!s->text) {
		r.o = json_object_get(s->o, k);
		if (!json_is_object(r.o))
			r.o = NULL;
	} else if (locate(s, k, &w) && s->t[w.vs] == '{') {
		r.t = s->t + w.vs;
		r.len = w.ve - w.vs;
	}
	return r;
}

static enum prov_usage
usage_read(const struct usrc *s, struct token_counts *out)
{
	struct usrc d;
	json_t *v;
	int64_t nano;

	/*
	 * OpenRouter's cost is money: read from a tree, never from text, and
	 * a cost already there must not get a second one spliced beside it.
	 */
	if (s->text && has(s, "cost"))
		*s->unjudged = 1;
	if (!has(s, "prompt_tokens") && !has(s, "completion_tokens") &&
	    !has(s, "total_tokens"))
		return PU_NO_COUNTS;
	out->present = 1;
	out->prompt = count(s, "prompt_tokens");
	out->completion = count(s, "completion_tokens");
	/* Embeddings report only prompt and total. */
	if (!has(s, "completion_tokens") &&
	    count(s, "total_tokens") > out->prompt)
		out->completion = count(s, "total_tokens") - out->prompt;
	d = sub(s, "prompt_tokens_details");
	out->cached = count(&d, "cached_tokens");
	/* OpenRouter's cache writes (Anthropic's cache_creation_input_tokens) */
	out->cache_write = count(&d, "cache_write_tokens");
	if (out->cached == 0)
		out->cached =
		    count(s, "prompt_cache_hit_tokens"); /* DeepSeek */
	/* Writes are the part of the prompt that reads leave: no more. */
	if (out->cache_write > out->prompt - out->cached)
		out->cache_write =
		    out->cached < out->prompt ? out->prompt - out->cached : 0;
	d = sub(s, "completion_tokens_details");
	out->reasoning = count(&d, "reasoning_tokens");
	if (!s->text && (v = json_object_get(s->o, "cost")) != NULL &&
	    json_is_number(v) && money_from_json(v, &nano) == 0 && nano >= 0)
		out->upstream_cost = nano;
	return PU_COUNTS;
}

enum prov_usage
chat_usage_parse(const json_t *usage, struct token_counts *out)
{
	int unjudged = 0;
	struct usrc s = {.o = usage, .unjudged = &unjudged};

	memset(out, 0, sizeof(*out));
	out->upstream_cost = -1;
	if (!json_is_object(usage))
		return PU_NO_COUNTS;
	return usage_read(&s, out);
}

enum prov_usage
chat_usage_scan(const char *text, size_t len, struct token_counts *out)
{
	int unjudged = 0;
	enum prov_usage rc;
	struct usrc s = {
	    .text = 1, .t = text, .len = len, .unjudged = &unjudged};

	memset(out, 0, sizeof(*out));
	out->upstream_cost = -1;
	if (len == 0 || text[0] != '{')
		return PU_LOAD_TREE;
	rc = usage_read(&s, out);
	return unjudged ? PU_LOAD_TREE : rc;
}

/*
 * The usage of an answer that can take a splice, read from its text, and
 * where it sits (*w).  The whole answer is checked by jx_valid, which builds
 * nothing: loading a provider's answer into a tree only to read its usage was
 * the largest single cost of a request.  PU_LOAD_TREE when the answer needs
 * the general path: not valid by jx_valid's rules, no usage object or more
 * than one, a usage.cost or gateway_usage already there, a key written with
 * escapes.
 */
static enum prov_usage
openai_answer_scan(
    const char *t, size_t len, struct jx_where *w, struct token_counts *u)
{
	struct jx_where g;

	if (!jx_valid(t, len) || jx_locate(t, len, "gateway_usage", &g) != 0 ||
	    jx_locate(t, len, "usage", w) != 1)
		return PU_LOAD_TREE;
	return chat_usage_scan(t + w->vs, w->ve - w->vs, u);
}

static enum prov_usage
openai_answer_usage(const json_t *answer, struct token_counts *u)
{
	return chat_usage_parse(json_object_get(answer, "usage"), u);
}

/* Append what fits of s to sink (its cap kept, whole characters only). */
static void
sink_add(struct buf *sink, const json_t *s)
{
	size_t n = json_string_length(s), room;

	if (sink == NULL || sink->cap <= sink->len + 1)
		return;
	room = sink->cap - sink->len - 1;
	if (n > room)
		n = util_utf8_cut(json_string_value(s), room);
	if (n > 0)
		buf_append(sink, json_string_value(s), n);
}

/*
 * Text bytes of a chunk's or an answer's choices (in "delta" or
 * "message"): content, reasoning and tool arguments; the text into sink
 * when not NULL.  Estimates count it when the usage is missing.
 */
static size_t
openai_text(const json_t *o, struct buf *sink)
{
	static const char *const parts[] = {
	    "content", "reasoning_content", "reasoning"};
	json_t *choices = json_object_get(o, "choices"), *c, *d, *tc, *t;
	size_t i, j, k, n = 0;

	json_array_foreach(choices, i, c) {
		if (json_is_string(t = json_object_get(c, "text"))) {
			n += json_string_length(t);
			sink_add(sink, t);
		}
		if ((d = json_object_get(c, "delta")) == NULL)
			d = json_object_get(c, "message");
		for (k = 0; k < sizeof(parts) / sizeof(parts[0]); k++)
			if (json_is_string(t = json_object_get(d, parts[k]))) {
				n += json_string_length(t);
				sink_add(sink, t);
			}
		json_array_foreach(json_object_get(d, "tool_calls"), j, tc)
			if (json_is_string(t = json_object_get(
					       json_object_get(tc, "function"),
					       "arguments"))) {
				n += json_string_length(t);
				sink_add(sink, t);
			}
	}
	return n;
}

static void
openai_event(const json_t *o, struct token_counts *u, struct prov_event *ev)
{
	const json_t *uo = json_object_get(o, "usage"), *choices;

	memset(ev, 0, sizeof(*ev));
	ev->error = json_object_get(o, "error") != NULL;
	ev->strip = uo != NULL;
	if (json_is_object(uo)) {
		ev->usage = 1;
		chat_usage_parse(uo, u);
	}
	choices = json_object_get(o, "choices");
	ev->choices_array = json_is_array(choices);
	ev->nchoices = json_array_size(choices);
	ev->delta_bytes = openai_text(o, NULL);
}

static void
openai_strip_usage(json_t *chunk)
{
	json_object_del(chunk, "usage");
}

/* error.message of an error body, cut short, control characters blanked. */
static const char *
openai_error_message(struct arena *a, const char *body, size_t len)
{
	json_t *o;
	const char *m;
	char *out;
	size_t i;

	if (len == 0)
		return NULL;
	o = json_loadb(body, len, 0, NULL);
	m = jx_str(json_object_get(o, "error"), "message");
	/* Cut at a character boundary: the text is stored and shown. */
	out = m != NULL ? arena_printf(a, "%.*s", (int)util_utf8_cut(m, 300), m)
			: NULL;
	json_decref(o);
	for (i = 0; out != NULL && out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
	return out;
}

const struct prov_ops prov_openai_ops = {
    .build = openai_build,
    .answer_scan = openai_answer_scan,
    .answer_usage = openai_answer_usage,
    .event = openai_event,
    .strip_usage = openai_strip_usage,
    .error_message = openai_error_message,
    .text = openai_text,
};
