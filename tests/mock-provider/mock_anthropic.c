/* mock_anthropic.c: the mock provider's Anthropic Messages wire */
/* SPDX-License-Identifier: MIT */

/*
 * POST /v1/messages (non-stream and SSE) and /v1/messages/count_tokens as
 * Anthropic answers them: x-api-key, a required anthropic-version header,
 * its error body {"type":"error","error":{type,message},"request_id"}, and
 * the event order message_start, content_block_start, ping, deltas,
 * content_block_stop, message_delta, message_stop. Counts: README.md.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mock.h"

#define SIGNATURE "EqMBCkgIARABGAIiQG1vY2stc2lnbmF0dXJlLW5vdC1yZWFs"

enum stop { ST_END_TURN, ST_MAX_TOKENS, ST_TOOL_USE, ST_STOP_SEQ, ST_REFUSAL };

static const char *const stop_names[] = {
    "end_turn", "max_tokens", "tool_use", "stop_sequence", "refusal"};

/* A Messages call, its counts fixed before any output. */
struct acall {
	const struct opts *o;
	const char *model;
	char id[48];
	int input;	 /* uncached input: total - cache_read - cache_write */
	int cache_read;	 /* cache_read_input_tokens */
	int cache_write; /* cache_creation_input_tokens */
	int nwords;
	int thinking; /* thinking words */
	int tool;
	const char *tool_name;
	enum stop stop;
	const char *stop_seq;
};

/* OpenAI request members Anthropic refuses ("Extra inputs"). */
static const char *const openai_only[] = {"n", "stream_options",
    "max_completion_tokens", "response_format", "frequency_penalty",
    "presence_penalty", "logit_bias", "logprobs", "top_logprobs", "seed",
    "user", "reasoning_effort", "parallel_tool_calls", "stop", "functions",
    "function_call", "modalities", "prediction"};

static const struct etype {
	int status;
	const char *type;
	const char *msg;
} etypes[] = {
    {400, "invalid_request_error", "mock: scripted bad request"},
    {401, "authentication_error", "invalid x-api-key"},
    {402, "billing_error",
	"Your credit balance is too low to access the Anthropic API."},
    {403, "permission_error",
	"Your API key does not have permission to use the specified "
	"resource."},
    {404, "not_found_error", "model: not found"},
    {413, "request_too_large",
	"Request exceeds the maximum allowed number of bytes."},
    {429, "rate_limit_error",
	"This request would exceed the rate limit for your organization."},
    {500, "api_error", "Internal server error"},
    {504, "timeout_error", "Request timed out"},
    {529, "overloaded_error", "Overloaded"},
};

static const char *
anth_key(struct MHD_Connection *conn)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-api-key");
}

/*
 * Anthropic's error body, error.details (taken) when not NULL; the
 * request-id header repeats request_id.
 */
static void
anth_error_details(struct reply *r, int status, const char *type,
    const char *msg, json_t *details)
{
	json_t *e = json_pack("{s:s,s:s}", "type", type, "message", msg);
	char rid[40];

	if (details != NULL)
		json_object_set_new(e, "details", details);
	snprintf(rid, sizeof(rid), "req_mock%lu", next_seq());
	add_header(r, "request-id", "%s", rid);
	reply_json(r, status,
	    json_pack("{s:s,s:o,s:s}", "type", "error", "error", e,
		"request_id", rid),
	    "");
}

static void
anth_error(struct reply *r, int status, const char *type, const char *msg)
{
	anth_error_details(r, status, type, msg, NULL);
}

/* The status's error type and default message. */
static const struct etype *
etype_of(int status)
{
	static const struct etype client = {
	    0, "invalid_request_error", "mock: scripted status"};
	static const struct etype server = {
	    0, "api_error", "mock: scripted status"};
	size_t i;

	for (i = 0; i < sizeof(etypes) / sizeof(etypes[0]); i++)
		if (etypes[i].status == status)
			return &etypes[i];
	return status >= 500 ? &server : &client;
}

static void
anth_fail(struct ctx *c, struct reply *r, enum wfail why, const char *msg)
{
	(void)c;
	if (why == WF_TOO_LARGE)
		anth_error(r, 413, "request_too_large", etype_of(413)->msg);
	else if (why == WF_BAD_JSON)
		anth_error(r, 400, "invalid_request_error",
		    "There was an error parsing the body of your request: "
		    "invalid JSON");
	else
		anth_error(r, 400, "invalid_request_error", msg);
}

static void
anth_bad_key(struct ctx *c, struct reply *r, const char *key)
{
	(void)c;
	anth_error(r, 401, "authentication_error",
	    key == NULL ? "x-api-key header is required" : "invalid x-api-key");
}

static int
anth_precheck(struct ctx *c, struct reply *r)
{
	if (MHD_lookup_connection_value(
		c->conn, MHD_HEADER_KIND, "anthropic-version") != NULL)
		return 1;
	anth_error(r, 400, "invalid_request_error",
	    "anthropic-version: header is required");
	return 0;
}

static void
anth_scripted(struct ctx *c, struct reply *r)
{
	const struct opts *o = &c->o;
	const struct etype *t;

	if (o->status == 503) {
		reply_html_503(r);
		return;
	}
	if (o->retry_after >= 0)
		add_header(r, "retry-after", "%d", o->retry_after);
	if (o->status == 429 && o->quota) {
		/* A spend limit: the one 429 a client must not retry. */
		anth_error_details(r, 429, "rate_limit_error",
		    "You have reached your specified API usage limits.",
		    json_pack(
			"{s:s}", "error_code", "enforced_spend_limit_reached"));
		return;
	}
	t = etype_of(o->status != 0 ? o->status : 529);
	anth_error(r, o->status != 0 ? o->status : 529, t->type, t->msg);
}

static json_t *
last_user_content(json_t *body)
{
	json_t *msgs = json_object_get(body, "messages"), *m;
	const char *role;
	size_t i;

	for (i = json_array_size(msgs); i > 0; i--) {
		m = json_array_get(msgs, i - 1);
		role = json_string_value(json_object_get(m, "role"));
		if (role != NULL && strcmp(role, "user") == 0)
			return json_object_get(m, "content");
	}
	return NULL;
}

static void
anth_headers(struct reply *r, const struct opts *o)
{
	char reset[32];
	time_t t = time(NULL) + (o->retry_after > 0 ? o->retry_after : 1);
	struct tm tm;
	int i;

	for (i = 0; i < r->nh && strcmp(r->hname[i], "request-id") != 0; i++)
		;
	if (i == r->nh)
		add_header(r, "request-id", "req_mock%lu", next_seq());
	gmtime_r(&t, &tm);
	strftime(reset, sizeof(reset), "%Y-%m-%dT%H:%M:%SZ", &tm);
	add_header(r, "anthropic-ratelimit-requests-limit", "50");
	add_header(r, "anthropic-ratelimit-requests-remaining", "%d",
	    o->status == 429 ? 0 : 49);
	add_header(r, "anthropic-ratelimit-requests-reset", "%s", reset);
	add_header(r, "anthropic-ratelimit-tokens-limit", "50000");
	add_header(r, "anthropic-ratelimit-tokens-remaining", "49000");
	add_header(r, "anthropic-ratelimit-tokens-reset", "%s", reset);
}

const struct wire wire_anthropic = {
    .key = anth_key,
    .fail = anth_fail,
    .bad_key = anth_bad_key,
    .precheck = anth_precheck,
    .scripted = anth_scripted,
    .directive_source = last_user_content,
    .headers = anth_headers,
    .prompt_member = "messages",
};

/* --- counting ------------------------------------------------------------- */

/* system: a string is 4 + words; an array 4 + words per text block. */
static int
system_tokens(json_t *sys)
{
	int n = 0;
	size_t i;

	if (json_is_string(sys))
		return 4 + count_words(json_string_value(sys));
	for (i = 0; i < json_array_size(sys); i++) {
		n += 4;
		walk_text(json_array_get(sys, i), add_words, &n);
	}
	return n;
}

/*
 * One message: 4 per tool_result block (the OpenAI tool message it came
 * from) plus 4 when it has anything else or nothing, plus the words of
 * text blocks and of tool_result contents.
 */
static int
message_tokens(json_t *content)
{
	int n = 0, results = 0, other = 0;
	const char *type;
	json_t *b;
	size_t i;

	if (!json_is_array(content)) {
		walk_text(content, add_words, &n);
		return 4 + n;
	}
	for (i = 0; i < json_array_size(content); i++) {
		b = json_array_get(content, i);
		type = json_string_value(json_object_get(b, "type"));
		if (type != NULL && strcmp(type, "tool_result") == 0) {
			results++;
			walk_text(json_object_get(b, "content"), add_words, &n);
		} else {
			other = 1;
			walk_text(b, add_words, &n);
		}
	}
	return n + 4 * results + (other || results == 0 ? 4 : 0);
}

static int
input_total(json_t *body)
{
	json_t *msgs = json_object_get(body, "messages");
	int n = system_tokens(json_object_get(body, "system"));
	size_t i;

	for (i = 0; i < json_array_size(msgs); i++)
		n += message_tokens(
		    json_object_get(json_array_get(msgs, i), "content"));
	return n;
}

/* --- validation ----------------------------------------------------------- */

static int bad(struct reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct reply *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	anth_error(r, 400, "invalid_request_error", msg);
	return -1;
}

/* The block of type in content whose member key is id, or NULL. */
static json_t *
find_block(json_t *content, const char *type, const char *key, const char *id)
{
	json_t *b;
	const char *t, *v;
	size_t i;

	for (i = 0; i < json_array_size(content); i++) {
		b = json_array_get(content, i);
		t = json_string_value(json_object_get(b, "type"));
		v = json_string_value(json_object_get(b, key));
		if (t != NULL && strcmp(t, type) == 0 && v != NULL &&
		    id != NULL && strcmp(v, id) == 0)
			return b;
	}
	return NULL;
}

/*
 * Anthropic pairs tools strictly: every tool_use needs its tool_result in
 * the next message, every tool_result its tool_use in the one before.
 */
static int
check_tool_pairs(json_t *msgs, size_t i, struct reply *r)
{
	json_t *ct = json_object_get(json_array_get(msgs, i), "content"), *b;
	json_t *prev = i > 0
	    ? json_object_get(json_array_get(msgs, i - 1), "content")
	    : NULL;
	json_t *next = json_object_get(json_array_get(msgs, i + 1), "content");
	const char *t, *id;
	size_t j;

	for (j = 0; j < json_array_size(ct); j++) {
		b = json_array_get(ct, j);
		t = json_string_value(json_object_get(b, "type"));
		if (t != NULL && strcmp(t, "tool_use") == 0 &&
		    find_block(next, "tool_result", "tool_use_id",
			id = json_string_value(json_object_get(b, "id"))) ==
			NULL)
			return bad(r,
			    "messages.%zu: `tool_use` ids were found without "
			    "`tool_result` blocks immediately after: %.60s. "
			    "Each "
			    "`tool_use` block must have a corresponding "
			    "`tool_result` block in the next message.",
			    i, id != NULL ? id : "");
		if (t != NULL && strcmp(t, "tool_result") == 0 &&
		    find_block(prev, "tool_use", "id",
			id = json_string_value(
			    json_object_get(b, "tool_use_id"))) == NULL)
			return bad(r,
			    "messages.%zu.content.%zu: unexpected "
			    "`tool_use_id` "
			    "found in `tool_result` blocks: %.60s. Each "
			    "`tool_result` block must have a corresponding "
			    "`tool_use` block in the previous message.",
			    i, j, id != NULL ? id : "");
	}
	return 0;
}

/* Empty content: only the final assistant message may have none. */
static int
check_empty(json_t *msgs, size_t i, struct reply *r)
{
	json_t *m = json_array_get(msgs, i),
	       *ct = json_object_get(m, "content");
	const char *role = json_string_value(json_object_get(m, "role"));
	json_t *b;
	size_t j;

	if ((json_is_string(ct) && json_string_length(ct) == 0) ||
	    (json_is_array(ct) && json_array_size(ct) == 0)) {
		if (i + 1 == json_array_size(msgs) &&
		    strcmp(role, "assistant") == 0)
			return 0;
		return bad(r,
		    "messages.%zu: all messages must have non-empty content "
		    "except for the optional final assistant message",
		    i);
	}
	for (j = 0; j < json_array_size(ct); j++) {
		b = json_array_get(ct, j);
		if (json_is_string(json_object_get(b, "text")) &&
		    json_string_length(json_object_get(b, "text")) == 0)
			return bad(r,
			    "messages: text content blocks must be "
			    "non-empty");
	}
	return 0;
}

static int
check_messages(json_t *msgs, struct reply *r)
{
	const char *role;
	json_t *m;
	size_t i;

	if (!json_is_array(msgs))
		return bad(r, "messages: Field required");
	if (json_array_size(msgs) == 0)
		return bad(r, "messages: at least one message is required");
	for (i = 0; i < json_array_size(msgs); i++) {
		m = json_array_get(msgs, i);
		role = json_string_value(json_object_get(m, "role"));
		if (role == NULL ||
		    (strcmp(role, "user") != 0 &&
			strcmp(role, "assistant") != 0))
			return bad(r,
			    "messages.%zu.role: Input should be 'user' or "
			    "'assistant'",
			    i);
		if (json_object_get(m, "content") == NULL)
			return bad(
			    r, "messages.%zu.content: Field required", i);
		if (check_empty(msgs, i, r) == -1 ||
		    check_tool_pairs(msgs, i, r) == -1)
			return -1;
	}
	return 0;
}

/* thinking {type enabled, budget_tokens >= 1024 and < max_tokens}. */
static int
check_thinking(json_t *b, struct reply *r)
{
	json_t *th = json_object_get(b, "thinking");
	const char *type = json_string_value(json_object_get(th, "type"));
	json_int_t budget, max;

	if (type == NULL || strcmp(type, "enabled") != 0)
		return 0;
	budget = json_integer_value(json_object_get(th, "budget_tokens"));
	max = json_integer_value(json_object_get(b, "max_tokens"));
	if (budget < 1024)
		return bad(r,
		    "thinking.enabled.budget_tokens: Input should be "
		    "greater than or equal to 1024");
	if (budget >= max)
		return bad(r,
		    "`max_tokens` must be greater than "
		    "`thinking.budget_tokens`");
	return 0;
}

static int
check_stops(json_t *stops, struct reply *r)
{
	const char *s;
	size_t i;

	for (i = 0; i < json_array_size(stops); i++) {
		s = json_string_value(json_array_get(stops, i));
		if (s == NULL || count_words(s) == 0)
			return bad(r,
			    "stop_sequences: each stop sequence must "
			    "contain non-whitespace");
	}
	return 0;
}

/* The 400s Anthropic gives before generating; 0, or -1 with r set. */
static int
check_request(json_t *b, int count_only, struct reply *r)
{
	json_t *mt = json_object_get(b, "max_tokens"), *t;
	size_t i;

	for (i = 0; i < sizeof(openai_only) / sizeof(openai_only[0]); i++)
		if (json_object_get(b, openai_only[i]) != NULL)
			return bad(r, "%s: Extra inputs are not permitted",
			    openai_only[i]);
	if (!json_is_string(json_object_get(b, "model")))
		return bad(r, "model: Field required");
	if (!count_only && mt == NULL)
		return bad(r, "max_tokens: Field required");
	if (!count_only && (!json_is_integer(mt) || json_integer_value(mt) < 1))
		return bad(r,
		    "max_tokens: Input should be greater than or "
		    "equal to 1");
	if (check_messages(json_object_get(b, "messages"), r) == -1)
		return -1;
	t = json_object_get(b, "system");
	if (t != NULL && !json_is_string(t) && !json_is_array(t))
		return bad(r, "system: Input should be a valid string");
	t = json_object_get(b, "temperature");
	if (json_is_number(t) &&
	    (json_number_value(t) < 0 || json_number_value(t) > 1))
		return bad(r,
		    "temperature: Input should be less than or equal "
		    "to 1");
	if (count_only)
		return 0;
	if (check_thinking(b, r) == -1)
		return -1;
	return check_stops(json_object_get(b, "stop_sequences"), r);
}

/* --- the call ------------------------------------------------------------- */

/* Reply length: the stop sequences, then max_tokens, then safety. */
static void
fix_reply(struct acall *k, json_t *b)
{
	json_t *stops = json_object_get(b, "stop_sequences");
	int cap = (int)json_integer_value(json_object_get(b, "max_tokens"));
	char w[24];
	size_t j;
	int i;

	k->nwords = k->o->words;
	for (i = 0; i < k->nwords && i < cap; i++) {
		reply_word(i, w, sizeof(w));
		for (j = 0; j < json_array_size(stops); j++)
			if (strcmp(w,
				json_string_value(json_array_get(stops, j))) ==
			    0) {
				k->nwords = i;
				k->stop = ST_STOP_SEQ;
				k->stop_seq =
				    json_string_value(json_array_get(stops, j));
				return;
			}
	}
	if (k->nwords > cap) {
		k->nwords = cap;
		k->stop = ST_MAX_TOKENS;
	}
	if (k->o->safety != SAFETY_NONE) {
		k->nwords = 0;
		k->stop = ST_REFUSAL;
	}
}

static void
call_init(struct ctx *c, struct acall *k)
{
	json_t *b = c->body, *tools = json_object_get(b, "tools");
	const char *th = json_string_value(
	    json_object_get(json_object_get(b, "thinking"), "type"));
	int total = input_total(b), phrase = 0;

	memset(k, 0, sizeof(*k));
	k->o = &c->o;
	k->model = json_string_value(json_object_get(b, "model"));
	snprintf(k->id, sizeof(k->id), "msg_mock%lu", next_seq());
	k->cache_read = c->o.cached < total ? c->o.cached : total;
	k->cache_write = c->o.cache_write < total - k->cache_read
	    ? c->o.cache_write
	    : total - k->cache_read;
	k->input = total - k->cache_read - k->cache_write;
	k->thinking = c->o.reasoning;
	if (k->thinking == 0 && th != NULL &&
	    (strcmp(th, "enabled") == 0 || strcmp(th, "adaptive") == 0))
		k->thinking = DEFAULT_REASONING;
	fix_reply(k, b);
	if (json_array_size(tools) > 0 && k->stop != ST_REFUSAL) {
		walk_text(last_user_content(b), find_tool_phrase, &phrase);
		k->tool = phrase || c->o.tool_call;
		k->tool_name = json_string_value(
		    json_object_get(json_array_get(tools, 0), "name"));
		if (k->tool_name == NULL)
			k->tool_name = "tool";
	}
	if (k->tool) {
		k->nwords = 0;
		k->stop = ST_TOOL_USE;
		k->stop_seq = NULL;
	}
}

static int
output_tokens(const struct acall *k)
{
	return (k->tool ? TOOL_WORDS : k->nwords) + k->thinking;
}

static json_t *
usage_json(const struct acall *k, int output)
{
	return json_pack("{s:i,s:i,s:i,s:{s:i,s:i},s:i,s:s}", "input_tokens",
	    k->input, "cache_creation_input_tokens", k->cache_write,
	    "cache_read_input_tokens", k->cache_read, "cache_creation",
	    "ephemeral_5m_input_tokens", k->cache_write,
	    "ephemeral_1h_input_tokens", 0, "output_tokens", output,
	    "service_tier", "standard");
}

static json_t *
tool_input(void)
{
	return json_pack("{s:s,s:s}", "location", "Paris", "unit", "celsius");
}

static json_t *
content_json(const struct acall *k)
{
	json_t *a = json_array();
	char *s;

	if (k->thinking > 0) {
		s = join_words(k->thinking, 1);
		json_array_append_new(a,
		    json_pack("{s:s,s:s,s:s}", "type", "thinking", "thinking",
			s != NULL ? s : "", "signature", SIGNATURE));
		free(s);
	}
	if (k->tool)
		json_array_append_new(a,
		    json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use", "id",
			"toolu_mock0", "name", k->tool_name, "input",
			tool_input()));
	else if (k->nwords > 0) {
		s = join_words(k->nwords, 0);
		json_array_append_new(a,
		    json_pack("{s:s,s:s}", "type", "text", "text",
			s != NULL ? s : ""));
		free(s);
	}
	return a;
}

static void
whole_reply(const struct acall *k, struct reply *r)
{
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:s?}", "id", k->id,
	    "type", "message", "role", "assistant", "model", k->model,
	    "content", content_json(k), "stop_reason", stop_names[k->stop],
	    "stop_sequence", k->stop_seq);

	if (!k->o->no_usage)
		json_object_set_new(j, "usage",
		    k->o->empty_usage ? json_object()
				      : usage_json(k, output_tokens(k)));
	reply_json(r, 200, j, "");
	corrupt_body(r, k->o->corrupt, "\"text\":\"", "\"input_tokens\":");
}

/* --- streaming ------------------------------------------------------------ */

/* Events in order; ndelta counts content_block_delta for error/reset_at. */
struct astream {
	struct stream *st;
	const struct acall *k;
	int ndelta;
	int cut; /* error_at or reset_at reached: nothing more is sent */
	int pinged;
};

static void
ev(struct astream *as, const char *name, json_t *data)
{
	json_t *j;

	if (as->cut) {
		json_decref(data);
		return;
	}
	/* "type" first, as Anthropic writes it; it repeats the event name. */
	j = json_pack("{s:s}", "type", name);
	json_object_update(j, data);
	json_decref(data);
	st_event(as->st, name, j, "\n\n");
}

/* Before each delta and before message_delta: error_at=K, reset_at=K. */
static int
cut_here(struct astream *as)
{
	const struct opts *o = as->k->o;

	if (as->cut)
		return 1;
	if (as->ndelta == o->error_at) {
		ev(as, "error",
		    json_pack("{s:{s:s,s:s}}", "error", "type",
			"overloaded_error", "message", "Overloaded"));
		as->cut = 1;
	} else if (as->ndelta == o->reset_at) {
		as->st->abort_end = 1;
		as->cut = 1;
	}
	return as->cut;
}

static void
delta(struct astream *as, int index, json_t *d)
{
	if (cut_here(as)) {
		json_decref(d);
		return;
	}
	as->ndelta++;
	ev(as, "content_block_delta",
	    json_pack("{s:i,s:o}", "index", index, "delta", d));
}

static void
block_start(struct astream *as, int index, json_t *block)
{
	ev(as, "content_block_start",
	    json_pack("{s:i,s:o}", "index", index, "content_block", block));
	if (!as->pinged) {
		ev(as, "ping", json_object());
		as->pinged = 1;
	}
}

static void
block_stop(struct astream *as, int index)
{
	ev(as, "content_block_stop", json_pack("{s:i}", "index", index));
}

/* A word's delta text: "mock", " reply", ...; "think1", " think2", ... */
static void
word_text(int i, int thinking, char *out, size_t outlen)
{
	char w[24];

	if (thinking)
		snprintf(w, sizeof(w), "think%d", i + 1);
	else
		reply_word(i, w, sizeof(w));
	snprintf(out, outlen, "%s%s", i > 0 ? " " : "", w);
}

static void
stream_blocks(struct astream *as)
{
	const struct acall *k = as->k;
	int idx = 0, i;
	char w[32];

	if (k->thinking > 0) {
		block_start(as, idx,
		    json_pack("{s:s,s:s,s:s}", "type", "thinking", "thinking",
			"", "signature", ""));
		for (i = 0; i < k->thinking; i++) {
			word_text(i, 1, w, sizeof(w));
			delta(as, idx,
			    json_pack("{s:s,s:s}", "type", "thinking_delta",
				"thinking", w));
		}
		delta(as, idx,
		    json_pack("{s:s,s:s}", "type", "signature_delta",
			"signature", SIGNATURE));
		block_stop(as, idx++);
	}
	if (k->tool) {
		block_start(as, idx,
		    json_pack("{s:s,s:s,s:s,s:{}}", "type", "tool_use", "id",
			"toolu_mock0", "name", k->tool_name, "input"));
		delta(as, idx,
		    json_pack("{s:s,s:s}", "type", "input_json_delta",
			"partial_json", ""));
		for (i = 0; i < TOOL_WORDS; i++)
			delta(as, idx,
			    json_pack("{s:s,s:s}", "type", "input_json_delta",
				"partial_json", tool_args[i]));
		block_stop(as, idx++);
	} else if (k->nwords > 0) {
		block_start(as, idx,
		    json_pack("{s:s,s:s}", "type", "text", "text", ""));
		for (i = 0; i < k->nwords; i++) {
			word_text(i, 0, w, sizeof(w));
			delta(as, idx,
			    json_pack(
				"{s:s,s:s}", "type", "text_delta", "text", w));
		}
		block_stop(as, idx++);
	}
}

/* message_delta's usage: output only, or (delta_usage) the input too. */
static json_t *
delta_usage(const struct acall *k)
{
	json_t *u = json_pack("{s:i}", "output_tokens", output_tokens(k));

	if (k->o->delta_usage == 0)
		return u;
	json_object_set_new(u, "input_tokens", json_integer(k->input));
	json_object_set_new(u, "cache_creation_input_tokens",
	    k->o->delta_usage == 2 ? json_null()
				   : json_integer(k->cache_write));
	json_object_set_new(u, "cache_read_input_tokens",
	    k->o->delta_usage == 2 ? json_null() : json_integer(k->cache_read));
	return u;
}

static void
stream_reply(const struct acall *k, struct reply *r)
{
	struct astream as = {st_new(k->o), k, 0, 0, 0};
	json_t *msg, *md;

	if (as.st != NULL) {
		msg = json_pack("{s:s,s:s,s:s,s:s,s:[],s:n,s:n,s:o}", "id",
		    k->id, "type", "message", "role", "assistant", "model",
		    k->model, "content", "stop_reason", "stop_sequence",
		    "usage", usage_json(k, 1));
		ev(&as, "message_start", json_pack("{s:o}", "message", msg));
		stream_blocks(&as);
		if (!as.pinged)
			ev(&as, "ping", json_object());
		if (!cut_here(&as)) {
			md = json_pack("{s:{s:s,s:s?}}", "delta", "stop_reason",
			    stop_names[k->stop], "stop_sequence", k->stop_seq);
			if (!k->o->no_usage)
				json_object_set_new(
				    md, "usage", delta_usage(k));
			ev(&as, "message_delta", md);
			ev(&as, "message_stop", json_object());
		}
	}
	stream_reply_set(r, as.st);
}

void
h_messages(struct ctx *c, struct reply *r)
{
	struct acall k;

	if (check_request(c->body, 0, r) == -1)
		return;
	call_init(c, &k);
	if (json_is_true(json_object_get(c->body, "stream")))
		stream_reply(&k, r);
	else if (c->o.reset_at >= 0)
		r->drop = 1; /* nothing to cut: drop it whole */
	else
		whole_reply(&k, r);
}

void
h_count_tokens(struct ctx *c, struct reply *r)
{
	if (check_request(c->body, 1, r) == -1)
		return;
	reply_json(r, 200,
	    json_pack("{s:i}", "input_tokens", input_total(c->body)), "");
}
