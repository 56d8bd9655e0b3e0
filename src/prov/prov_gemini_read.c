/* prov_gemini_read.c: Google's Gemini API: its answers, stream chunks and usage, read natively and as OpenAI's */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/util.h"
#include "prov/gemini.h"
#include "prov/prov.h"

/* Candidates a stream keeps apart; a higher index shares the last slot. */
#define GEM_SLOTS 64
/* The longest answer text joined from parts (a whole answer's cap is lower). */
#define GEM_TEXT_CAP ((size_t)1 << 30)

/* --- usage ------------------------------------------------------------------------- */

/* A non-negative integer member, or 0 (Gemini leaves out what is 0). */
static int64_t
cnt(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) > 0
	    ? (int64_t)json_integer_value(v)
	    : 0;
}

static int64_t
sat_add(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/*
 * usageMetadata in OpenAI's terms.  promptTokenCount already includes the
 * cached tokens; tool-use prompt tokens are input too; output is the
 * candidates plus the thoughts (candidatesTokenCount leaves thoughts out).
 * totalTokenCount is the sum of those: tokens it counts that no member
 * names (a field Google adds later) are billed as output, the dearer side.
 */
static enum prov_usage
meta_usage(const json_t *um, struct token_counts *u)
{
	static const char *const keys[] = {"promptTokenCount",
	    "candidatesTokenCount", "thoughtsTokenCount", "totalTokenCount",
	    "toolUsePromptTokenCount", "cachedContentTokenCount"};
	int64_t total;
	size_t i;

	memset(u, 0, sizeof(*u));
	u->upstream_cost = -1;
	if (!json_is_object(um))
		return PU_NO_COUNTS;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_get(um, keys[i]) != NULL)
			break;
	if (i == sizeof(keys) / sizeof(keys[0]))
		return PU_NO_COUNTS;
	u->present = 1;
	u->prompt = sat_add(
	    cnt(um, "promptTokenCount"), cnt(um, "toolUsePromptTokenCount"));
	u->cached = cnt(um, "cachedContentTokenCount");
	if (u->cached > u->prompt)
		u->cached = u->prompt;
	u->reasoning = cnt(um, "thoughtsTokenCount");
	u->completion = sat_add(cnt(um, "candidatesTokenCount"), u->reasoning);
	total = cnt(um, "totalTokenCount");
	if (total > sat_add(u->prompt, u->completion))
		u->completion = total - u->prompt;
	return PU_COUNTS;
}

/* OpenAI's usage object of counts. */
static json_t *
usage_json(const struct token_counts *u)
{
	return json_pack("{s:I,s:I,s:I,s:{s:I},s:{s:I}}", "prompt_tokens",
	    (json_int_t)u->prompt, "completion_tokens",
	    (json_int_t)u->completion, "total_tokens",
	    (json_int_t)sat_add(u->prompt, u->completion),
	    "prompt_tokens_details", "cached_tokens", (json_int_t)u->cached,
	    "completion_tokens_details", "reasoning_tokens",
	    (json_int_t)u->reasoning);
}

/*
 * Gemini's usage sits in usageMetadata, which has no room for OpenAI's
 * usage.cost: a Gemini client's answer gets its cost from a tree
 * (api_gemini_ops.native_answer), so the text is never spliced.
 */
enum prov_usage
gem_answer_scan(
    const char *text, size_t len, struct jx_where *w, struct token_counts *u)
{
	(void)text;
	(void)len;
	(void)w;
	memset(u, 0, sizeof(*u));
	u->upstream_cost = -1;
	return PU_LOAD_TREE;
}

enum prov_usage
gem_answer_usage(const json_t *answer, struct token_counts *u)
{
	return meta_usage(json_object_get(answer, "usageMetadata"), u);
}

/* --- text --------------------------------------------------------------------------- */

/* Append what fits of s (n bytes) to sink, whole characters only. */
static void
sink_add(struct buf *sink, const char *s, size_t n)
{
	size_t room;

	if (sink == NULL || sink->cap <= sink->len + 1)
		return;
	room = sink->cap - sink->len - 1;
	if (n > room)
		n = util_utf8_cut(s, room);
	if (n > 0)
		buf_append(sink, s, n);
}

/*
 * The text of the candidates' parts (answer and thoughts) and the JSON of
 * their function calls' arguments.
 */
size_t
gem_text(const json_t *o, struct buf *sink)
{
	const json_t *c, *p, *t;
	size_t i, j, n = 0;
	char *args;

	json_array_foreach(json_object_get(o, "candidates"), i, c) {
		json_array_foreach(
		    json_object_get(json_object_get(c, "content"), "parts"), j,
		    p) {
			if (json_is_string(t = json_object_get(p, "text"))) {
				n += json_string_length(t);
				sink_add(sink, json_string_value(t),
				    json_string_length(t));
			}
			t = json_object_get(
			    json_object_get(p, "functionCall"), "args");
			if (t == NULL || (args = jx_dump(t)) == NULL)
				continue;
			n += strlen(args);
			sink_add(sink, args, strlen(args));
			free(args);
		}
	}
	return n;
}

/* --- native stream events ----------------------------------------------------------- */

/*
 * A chunk of a Gemini stream.  Its usageMetadata is cumulative: it replaces
 * what an earlier chunk said (an object without counts changes nothing).
 */
void
gem_event(const json_t *o, struct token_counts *u, struct prov_event *ev)
{
	const json_t *cands = json_object_get(o, "candidates");
	struct token_counts t;

	memset(ev, 0, sizeof(*ev));
	ev->error = json_object_get(o, "error") != NULL;
	if (meta_usage(json_object_get(o, "usageMetadata"), &t) == PU_COUNTS) {
		ev->usage = 1;
		*u = t;
	}
	ev->choices_array = json_is_array(cands);
	ev->nchoices = json_array_size(cands);
	ev->delta_bytes = gem_text(o, NULL);
}

/*
 * A Gemini client cannot ask for a stream without usage (each chunk has
 * it), so there is nothing to strip.
 */
void
gem_strip_usage(json_t *chunk)
{
	(void)chunk;
}

/* --- as OpenAI's ------------------------------------------------------------------- */

/* finishReason -> finish_reason; anything else is "stop". */
static const char *
finish_of(const char *reason, int called)
{
	static const struct {
		const char *gemini, *openai;
	} map[] = {
	    {"MAX_TOKENS", "length"},
	    {"SAFETY", "content_filter"},
	    {"RECITATION", "content_filter"},
	    {"BLOCKLIST", "content_filter"},
	    {"PROHIBITED_CONTENT", "content_filter"},
	    {"SPII", "content_filter"},
	    {"IMAGE_SAFETY", "content_filter"},
	    {"IMAGE_PROHIBITED_CONTENT", "content_filter"},
	    {"IMAGE_RECITATION", "content_filter"},
	    {"LANGUAGE", "content_filter"},
	};
	size_t i;

	for (i = 0; reason != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(reason, map[i].gemini) == 0)
			return map[i].openai;
	/* Gemini ends a turn that called functions with STOP. */
	return called ? "tool_calls" : "stop";
}

/*
 * A functionCall part as an OpenAI tool call: Gemini's id, else
 * "call_<n>", with the part's thoughtSignature carried after GEM_SIG_MARK.
 */
static json_t *
tool_call(const json_t *part, unsigned n)
{
	const json_t *fc = json_object_get(part, "functionCall"), *args;
	const char *id = jx_str(fc, "id"),
		   *sig = jx_str(part, "thoughtSignature"),
		   *name = jx_str(fc, "name");
	char num[32], *a, *tid = NULL;
	json_t *tc = NULL;

	if (id == NULL) {
		snprintf(num, sizeof(num), "call_%u", n);
		id = num;
	}
	if (sig == NULL)
		tid = strdup(id);
	else if (asprintf(&tid, "%s%s%s", id, GEM_SIG_MARK, sig) < 0)
		tid = NULL;
	args = json_object_get(fc, "args");
	a = json_is_object(args) ? jx_dump(args) : strdup("{}");
	if (tid != NULL && a != NULL)
		tc = json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", tid, "type",
		    "function", "function", "name", name != NULL ? name : "",
		    "arguments", a);
	free(tid);
	free(a);
	return tc;
}

/* Text joined from parts, with its own cap. */
static void
join(struct buf *b, const json_t *t)
{
	if (json_string_length(t) > 0)
		buf_append(b, json_string_value(t), json_string_length(t));
}

/*
 * A whole candidate as an OpenAI choice: its text parts joined into
 * content, its thought parts into reasoning_content, its function calls
 * as tool_calls numbered from *ncalls on.
 */
static json_t *
cand_choice(const json_t *cand, size_t i, unsigned *ncalls)
{
	const json_t *p, *t;
	struct buf text, thought;
	json_t *calls = json_array(), *msg, *tc, *choice = NULL;
	json_int_t index = json_is_integer(json_object_get(cand, "index"))
	    ? json_integer_value(json_object_get(cand, "index"))
	    : (json_int_t)i;
	size_t j;

	buf_init(&text, GEM_TEXT_CAP);
	buf_init(&thought, GEM_TEXT_CAP);
	json_array_foreach(
	    json_object_get(json_object_get(cand, "content"), "parts"), j, p) {
		if (json_is_string(t = json_object_get(p, "text")))
			join(json_is_true(json_object_get(p, "thought"))
				? &thought
				: &text,
			    t);
		else if (json_is_object(json_object_get(p, "functionCall")) &&
		    (tc = tool_call(p, (*ncalls)++)) != NULL)
			json_array_append_new(calls, tc);
	}
	msg = json_pack("{s:s}", "role", "assistant");
	if (msg == NULL || calls == NULL)
		goto out;
	json_object_set_new(msg, "content",
	    text.len > 0		     ? json_stringn(text.data, text.len)
		: json_array_size(calls) > 0 ? json_null()
					     : json_string(""));
	if (thought.len > 0)
		json_object_set_new(msg, "reasoning_content",
		    json_stringn(thought.data, thought.len));
	if (json_array_size(calls) > 0)
		json_object_set(msg, "tool_calls", calls);
	choice = json_pack("{s:I,s:O,s:s}", "index", index, "message", msg,
	    "finish_reason",
	    finish_of(
		jx_str(cand, "finishReason"), json_array_size(calls) > 0));
out:
	json_decref(msg);
	json_decref(calls);
	buf_free(&text);
	buf_free(&thought);
	return choice;
}

/* "chatcmpl-" and Gemini's responseId, or a fresh id when it has none. */
static void
answer_id(const json_t *o, char *out, size_t size)
{
	const char *rid = jx_str(o, "responseId");
	char fresh[33];
	size_t i;

	if (rid == NULL || *rid == '\0' || strlen(rid) > 64) {
		if (util_request_id(fresh) != 0)
			snprintf(fresh, sizeof(fresh), "gemini");
		rid = fresh;
	}
	snprintf(out, size, "chatcmpl-%s", rid);
	/* The id goes into headers and logs: printable ASCII only. */
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] <= 0x20 ||
		    (unsigned char)out[i] >= 0x7f || out[i] == '"' ||
		    out[i] == '\\')
			out[i] = '_';
}

/* A blocked prompt: no candidates, a promptFeedback.blockReason. */
static int
blocked(const json_t *o)
{
	return json_array_size(json_object_get(o, "candidates")) == 0 &&
	    jx_str(json_object_get(o, "promptFeedback"), "blockReason") != NULL;
}

json_t *
gem_answer_to_openai(const json_t *answer, const char *model)
{
	const json_t *c;
	struct token_counts u;
	json_t *out, *choices, *ch;
	unsigned ncalls = 0;
	char id[96];
	size_t i;

	if (!json_is_object(answer) ||
	    json_object_get(answer, "error") != NULL ||
	    (!json_is_array(json_object_get(answer, "candidates")) &&
		!blocked(answer)))
		return NULL;
	answer_id(answer, id, sizeof(id));
	out = json_pack("{s:s,s:s,s:I,s:s,s:[]}", "id", id, "object",
	    "chat.completion", "created", (json_int_t)time(NULL), "model",
	    model != NULL ? model : "", "choices");
	if (out == NULL)
		return NULL;
	choices = json_object_get(out, "choices");
	json_array_foreach(json_object_get(answer, "candidates"), i, c) {
		/* Numbered per candidate, as a stream numbers them. */
		ncalls = 0;
		if ((ch = cand_choice(c, i, &ncalls)) == NULL)
			goto fail;
		json_array_append_new(choices, ch);
	}
	if (blocked(answer))
		json_array_append_new(choices,
		    json_pack("{s:i,s:{s:s,s:s},s:s}", "index", 0, "message",
			"role", "assistant", "content", "", "finish_reason",
			"content_filter"));
	if (gem_answer_usage(answer, &u) == PU_COUNTS)
		json_object_set_new(out, "usage", usage_json(&u));
	return out;
fail:
	json_decref(out);
	return NULL;
}

/* --- errors ------------------------------------------------------------------------- */

json_t *
gem_error_to_openai(const json_t *err)
{
	/* Google's status -> OpenAI's type and code (protocols 7.3). */
	static const struct {
		const char *status, *type, *code;
	} map[] = {
	    {"INVALID_ARGUMENT", "invalid_request_error", NULL},
	    {"FAILED_PRECONDITION", "invalid_request_error", NULL},
	    {"OUT_OF_RANGE", "invalid_request_error", NULL},
	    {"UNAUTHENTICATED", "invalid_request_error", "invalid_api_key"},
	    {"PERMISSION_DENIED", "permission_error", NULL},
	    {"NOT_FOUND", "invalid_request_error", "model_not_found"},
	    {"RESOURCE_EXHAUSTED", "requests", "rate_limit_exceeded"},
	    {"UNAVAILABLE", "server_error", "overloaded"},
	};
	const char *status = jx_str(err, "status"),
		   *msg = jx_str(err, "message");
	const char *type = "server_error", *code = "upstream_error";
	size_t i;

	for (i = 0; status != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(status, map[i].status) == 0) {
			type = map[i].type;
			code = map[i].code;
		}
	return json_pack("{s:s,s:s,s:n,s:s?}", "message",
	    msg != NULL ? msg : "upstream error", "type", type, "param", "code",
	    code);
}

/* --- a stream as OpenAI's chunks ------------------------------------------------------ */

/* A translated stream's state, in prov_xlate.priv. */
struct gstate {
	char id[96];
	uint64_t role_sent; /* slots whose role chunk went out */
	uint64_t called;    /* slots that called a function */
	uint64_t seen;	    /* slots that had a candidate */
	uint64_t finished;  /* slots whose finish chunk went out */
	unsigned short ncalls[GEM_SLOTS];
	int have_usage; /* u holds the last usageMetadata */
	int done;	/* the usage chunk went out (with sent) */
	struct token_counts u, sent;
};
_Static_assert(sizeof(struct gstate) <= sizeof(((struct prov_xlate *)0)->priv),
    "the Gemini stream state fits prov_xlate.priv");

/* A new chat.completion.chunk with an empty choices array. */
static json_t *
chunk_new(const struct prov_xlate *xl, const struct gstate *st)
{
	return json_pack("{s:s,s:s,s:I,s:s,s:[]}", "id", st->id, "object",
	    "chat.completion.chunk", "created", (json_int_t)xl->created,
	    "model", xl->model != NULL ? xl->model : "", "choices");
}

/* Append a chunk with one choice (delta, finish_reason or null); steals delta. */
static int
emit(const struct prov_xlate *xl, const struct gstate *st, json_t *out,
    json_int_t index, json_t *delta, const char *finish)
{
	json_t *c = chunk_new(xl, st), *choice;

	choice = json_pack("{s:I,s:o,s:s?}", "index", index, "delta", delta,
	    "finish_reason", finish);
	if (c == NULL || choice == NULL ||
	    json_array_append_new(json_object_get(c, "choices"), choice) != 0 ||
	    json_array_append_new(out, c) != 0) {
		json_decref(c);
		return -1;
	}
	return 0;
}

/* The closing chunk: no choices, the whole usage (when Gemini gave one). */
static int
emit_usage(const struct prov_xlate *xl, struct gstate *st, json_t *out)
{
	json_t *c = chunk_new(xl, st);

	if (c == NULL)
		return -1;
	if (st->have_usage)
		json_object_set_new(c, "usage", usage_json(&st->u));
	st->done = 1;
	st->sent = st->u;
	return json_array_append_new(out, c);
}

/* One part of candidate index (its slot s) as a chunk. */
static int
part_chunk(const struct prov_xlate *xl, struct gstate *st, json_t *out,
    json_int_t index, unsigned s, const json_t *p)
{
	const json_t *t = json_object_get(p, "text");
	json_t *tc;

	if (json_is_string(t)) {
		if (json_string_length(t) == 0)
			return 0;
		return emit(xl, st, out, index,
		    json_pack("{s:O}",
			json_is_true(json_object_get(p, "thought"))
			    ? "reasoning_content"
			    : "content",
			t),
		    NULL);
	}
	if (!json_is_object(json_object_get(p, "functionCall")))
		return 0;
	/* A call comes whole in one chunk: one delta carries all of it. */
	if ((tc = tool_call(p, st->ncalls[s])) == NULL)
		return -1;
	json_object_set_new(tc, "index", json_integer(st->ncalls[s]));
	if (st->ncalls[s] < USHRT_MAX)
		st->ncalls[s]++;
	st->called |= (uint64_t)1 << s;
	return emit(
	    xl, st, out, index, json_pack("{s:[o]}", "tool_calls", tc), NULL);
}

/* One candidate of a chunk: role first, its parts, its finish. */
static int
cand_chunks(const struct prov_xlate *xl, struct gstate *st, json_t *out,
    const json_t *cand, size_t i)
{
	const json_t *idx = json_object_get(cand, "index"), *p;
	json_int_t index = json_is_integer(idx) && json_integer_value(idx) >= 0
	    ? json_integer_value(idx)
	    : (json_int_t)i;
	unsigned s = index < GEM_SLOTS ? (unsigned)index : GEM_SLOTS - 1;
	uint64_t bit = (uint64_t)1 << s;
	const char *reason = jx_str(cand, "finishReason");
	size_t j;

	st->seen |= bit;
	if (!(st->role_sent & bit)) {
		st->role_sent |= bit;
		if (emit(xl, st, out, index,
			json_pack(
			    "{s:s,s:s}", "role", "assistant", "content", ""),
			NULL) != 0)
			return -1;
	}
	json_array_foreach(
	    json_object_get(json_object_get(cand, "content"), "parts"), j, p)
		if (part_chunk(xl, st, out, index, s, p) != 0)
			return -1;
	if (reason == NULL)
		return 0;
	st->finished |= bit;
	return emit(xl, st, out, index, json_object(),
	    finish_of(reason, (st->called & bit) != 0));
}

/*
 * One chunk of a Gemini stream as OpenAI chunks.  Gemini has no end
 * sentinel: the chunk with the last finishReason ends the answer, so the
 * usage chunk follows it at once, with the cumulative usage that chunk
 * carries.  Should a later chunk still bring a usageMetadata that differs,
 * another usage chunk follows with the whole new usage (every usage chunk
 * replaces the one before, none adds to it), so what is billed is always
 * Gemini's last word.
 */
int
gem_event_to_openai(
    struct prov_xlate *xl, const char *type, const json_t *ev, json_t *out)
{
	struct gstate *st = (struct gstate *)(void *)xl->priv.b;
	const json_t *c, *err;
	struct token_counts u;
	size_t i;
	int ending = 0;

	(void)type;
	if (!json_is_object(ev))
		return 0;
	if (st->id[0] == '\0') {
		if (xl->id != NULL)
			snprintf(st->id, sizeof(st->id), "%s", xl->id);
		else
			answer_id(ev, st->id, sizeof(st->id));
	}
	if ((err = json_object_get(ev, "error")) != NULL)
		return json_array_append_new(
		    out, json_pack("{s:o}", "error", gem_error_to_openai(err)));
	if (meta_usage(json_object_get(ev, "usageMetadata"), &u) == PU_COUNTS) {
		st->u = u;
		st->have_usage = 1;
	}
	json_array_foreach(json_object_get(ev, "candidates"), i, c) {
		if (cand_chunks(xl, st, out, c, i) != 0)
			return -1;
		ending |= jx_str(c, "finishReason") != NULL;
	}
	if (blocked(ev) && !(st->finished & 1)) {
		st->seen |= 1;
		st->finished |= 1;
		ending = 1;
		if (emit(xl, st, out, 0,
			json_pack(
			    "{s:s,s:s}", "role", "assistant", "content", ""),
			"content_filter") != 0)
			return -1;
	}
	if (!st->done && ending && (st->seen & ~st->finished) == 0)
		return emit_usage(xl, st, out);
	if (st->done && st->have_usage &&
	    (st->u.prompt != st->sent.prompt ||
		st->u.completion != st->sent.completion ||
		st->u.cached != st->sent.cached ||
		st->u.reasoning != st->sent.reasoning))
		return emit_usage(xl, st, out);
	return 0;
}
