/* mock_gemini.c: the mock provider's Gemini generateContent wire */
/* SPDX-License-Identifier: MIT */

/*
 * POST /v1beta/models/{model}:generateContent, :streamGenerateContent
 * (?alt=sse: "data: {chunk}\r\n\r\n"; without it one growing JSON array)
 * and :countTokens, as Google answers them: x-goog-api-key or ?key=, a bad
 * key is 400 API_KEY_INVALID, errors {"error":{code,message,status}},
 * cumulative usageMetadata on every chunk. Counts: README.md.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

#define THOUGHT_SIGNATURE "Cm1vY2stdGhvdWdodC1zaWduYXR1cmU="
#define OVERLOADED_MSG	  "The model is overloaded. Please try again later."

/* A generateContent call, its counts fixed before any output. */
struct gcall {
	const struct opts *o;
	char model[128];
	char id[48];
	int prompt; /* promptTokenCount: includes the cached part */
	int cached;
	int nwords;
	int thoughts;
	int show_thoughts;
	int tool;
	const char *tool_name;
	const char *finish;
};

static const struct gstatus {
	int status;
	const char *name;
	const char *msg;
} gstatuses[] = {
    {400, "INVALID_ARGUMENT", "mock: scripted bad request"},
    {401, "UNAUTHENTICATED", "Request had invalid authentication credentials."},
    {403, "PERMISSION_DENIED", "The caller does not have permission"},
    {404, "NOT_FOUND", "models/mock is not found for API version v1beta"},
    {429, "RESOURCE_EXHAUSTED",
	"Resource has been exhausted (e.g. check quota)."},
    {500, "INTERNAL", "An internal error has occurred. Please retry."},
    {503, "UNAVAILABLE", OVERLOADED_MSG},
    {504, "DEADLINE_EXCEEDED",
	"Deadline expired before operation could "
	"complete."},
};

/* Top-level request members Google knows (either spelling). */
static const char *const known_fields[] = {"contents", "systemInstruction",
    "generationConfig", "tools", "toolConfig", "safetySettings",
    "cachedContent", "labels", "model"};

/* name and want equal once underscores are dropped, case aside. */
static int
same_field(const char *name, const char *want)
{
	while (*name != '\0' && *want != '\0') {
		if (*name == '_') {
			name++;
			continue;
		}
		if (tolower((unsigned char)*name) !=
		    tolower((unsigned char)*want))
			return 0;
		name++;
		want++;
	}
	return *name == '\0' && *want == '\0';
}

/* obj's member camel, or its snake_case spelling (Google takes both). */
static json_t *
gget(json_t *obj, const char *camel)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
		if (same_field(key, camel))
			return v;
	return NULL;
}

static const char *
gem_key(struct MHD_Connection *conn)
{
	const char *k = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, "x-goog-api-key");

	return k != NULL
	    ? k
	    : MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "key");
}

/* Google's error body; details (taken) may be NULL. */
static void
gem_error(struct reply *r, int code, const char *status, const char *msg,
    json_t *details)
{
	json_t *e = json_pack(
	    "{s:i,s:s,s:s}", "code", code, "message", msg, "status", status);

	if (details != NULL)
		json_object_set_new(e, "details", details);
	reply_json(r, code, json_pack("{s:o}", "error", e), "");
}

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
	gem_error(r, 400, "INVALID_ARGUMENT", msg, NULL);
	return -1;
}

static void
gem_fail(struct ctx *c, struct reply *r, enum wfail why, const char *msg)
{
	(void)c;
	if (why == WF_TOO_LARGE)
		bad(r,
		    "Request payload size exceeds the limit: 16777216 "
		    "bytes.");
	else if (why == WF_BAD_JSON)
		bad(r, "Invalid JSON payload received. Unexpected token.");
	else
		bad(r, "%s", msg);
}

/* No key is 403; a wrong one 400 API_KEY_INVALID, as Google answers. */
static void
gem_bad_key(struct ctx *c, struct reply *r, const char *key)
{
	(void)c;
	if (key == NULL) {
		gem_error(r, 403, "PERMISSION_DENIED",
		    "Method doesn't allow unregistered callers (callers "
		    "without established identity). Please use API Key or "
		    "other form of API consumer identity to call this API.",
		    NULL);
		return;
	}
	gem_error(r, 400, "INVALID_ARGUMENT",
	    "API key not valid. Please pass a valid API key.",
	    json_pack("[{s:s,s:s,s:s,s:{s:s}}]", "@type",
		"type.googleapis.com/google.rpc.ErrorInfo", "reason",
		"API_KEY_INVALID", "domain", "googleapis.com", "metadata",
		"service", "generativelanguage.googleapis.com"));
}

/* 429 details: the quota, and RetryInfo when retry_after is scripted. */
static json_t *
quota_details(const struct opts *o)
{
	json_t *d = json_pack("[{s:s,s:[{s:s,s:s}]}]", "@type",
	    "type.googleapis.com/google.rpc.QuotaFailure", "violations",
	    "quotaMetric",
	    "generativelanguage.googleapis.com/generate_content_requests",
	    "quotaId", "GenerateRequestsPerMinutePerProjectPerModel");

	if (o->retry_after >= 0)
		json_array_append_new(d,
		    json_pack("{s:s,s:o}", "@type",
			"type.googleapis.com/google.rpc.RetryInfo",
			"retryDelay", json_sprintf("%ds", o->retry_after)));
	return d;
}

static void
gem_scripted(struct ctx *c, struct reply *r)
{
	const struct opts *o = &c->o;
	int status = o->status != 0 ? o->status : 503;
	size_t i;

	if (o->status == 503) {
		reply_html_503(r);
		return;
	}
	for (i = 0; i < sizeof(gstatuses) / sizeof(gstatuses[0]); i++)
		if (gstatuses[i].status == status) {
			gem_error(r, status, gstatuses[i].name,
			    gstatuses[i].msg,
			    status == 429 ? quota_details(o) : NULL);
			return;
		}
	gem_error(r, status, status >= 500 ? "INTERNAL" : "INVALID_ARGUMENT",
	    "mock: scripted status", NULL);
}

/* The last content with role user (or none) carries the directives. */
static json_t *
last_user_parts(json_t *body)
{
	json_t *cs = gget(body, "contents"), *ct;
	const char *role;
	size_t i;

	for (i = json_array_size(cs); i > 0; i--) {
		ct = json_array_get(cs, i - 1);
		role = json_string_value(json_object_get(ct, "role"));
		if (role == NULL || strcmp(role, "user") == 0)
			return json_object_get(ct, "parts");
	}
	return NULL;
}

static void
gem_headers(struct reply *r, const struct opts *o)
{
	(void)o;
	add_header(r, "server", "scaffolding on HTTPServer2");
}

const struct wire wire_gemini = {
    .key = gem_key,
    .fail = gem_fail,
    .bad_key = gem_bad_key,
    .precheck = NULL,
    .scripted = gem_scripted,
    .directive_source = last_user_parts,
    .headers = gem_headers,
    .prompt_member = "contents",
};

/* --- counting ------------------------------------------------------------- */

/*
 * One Content: 4 per functionResponse part (the OpenAI tool message it
 * came from) plus 4 when it has anything else or nothing, plus the words
 * of text parts (not thought parts) and of functionResponse.response's
 * "content" string.
 */
static int
content_tokens(json_t *parts)
{
	int n = 0, results = 0, other = 0;
	json_t *p, *fr;
	size_t i;

	for (i = 0; i < json_array_size(parts); i++) {
		p = json_array_get(parts, i);
		if ((fr = gget(p, "functionResponse")) != NULL) {
			results++;
			walk_text(
			    json_object_get(
				json_object_get(fr, "response"), "content"),
			    add_words, &n);
			continue;
		}
		other = 1;
		if (!json_is_true(json_object_get(p, "thought")))
			walk_text(p, add_words, &n);
	}
	return n + 4 * results + (other || results == 0 ? 4 : 0);
}

/* systemInstruction: 4 + words per text part; contents: as above. */
static int
prompt_tokens(json_t *body)
{
	json_t *sys = json_object_get(gget(body, "systemInstruction"), "parts");
	json_t *cs = gget(body, "contents");
	int n = 0;
	size_t i;

	for (i = 0; i < json_array_size(sys); i++) {
		n += 4;
		walk_text(json_array_get(sys, i), add_words, &n);
	}
	for (i = 0; i < json_array_size(cs); i++)
		n += content_tokens(
		    json_object_get(json_array_get(cs, i), "parts"));
	return n;
}

/* --- validation ----------------------------------------------------------- */

/* Parts of kind (functionCall, functionResponse) in a content. */
static size_t
count_parts(json_t *content, const char *kind)
{
	json_t *parts = json_object_get(content, "parts");
	size_t i, n = 0;

	for (i = 0; i < json_array_size(parts); i++)
		n += gget(json_array_get(parts, i), kind) != NULL;
	return n;
}

/* A function response turn answers the call turn just before, call for call. */
static int
check_function_turns(json_t *cs, size_t i, struct reply *r)
{
	size_t resp = count_parts(json_array_get(cs, i), "functionResponse");
	size_t calls =
	    i > 0 ? count_parts(json_array_get(cs, i - 1), "functionCall") : 0;

	if (resp == 0)
		return 0;
	if (calls == 0)
		return bad(r,
		    "Please ensure that function response turn comes "
		    "immediately after a function call turn.");
	if (calls != resp)
		return bad(r,
		    "Please ensure that the number of function response parts "
		    "is equal to the number of function call parts of the "
		    "function call turn.");
	return 0;
}

static int
check_contents(json_t *cs, struct reply *r)
{
	const char *role;
	json_t *ct;
	size_t i;

	if (json_array_size(cs) == 0)
		return bad(r,
		    "* GenerateContentRequest.contents: contents is "
		    "not specified\n");
	for (i = 0; i < json_array_size(cs); i++) {
		ct = json_array_get(cs, i);
		role = json_string_value(json_object_get(ct, "role"));
		if (role != NULL && strcmp(role, "user") != 0 &&
		    strcmp(role, "model") != 0)
			return bad(r, "Please use a valid role: user, model.");
		if (json_array_size(json_object_get(ct, "parts")) == 0)
			return bad(r,
			    "* GenerateContentRequest.contents[%zu].parts: "
			    "contents.parts must not be empty.\n",
			    i);
		if (check_function_turns(cs, i, r) == -1)
			return -1;
	}
	return 0;
}

static int
check_request(json_t *b, struct reply *r)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(b, key, v) {
		for (i = 0; i < sizeof(known_fields) / sizeof(known_fields[0]);
		     i++)
			if (same_field(key, known_fields[i]))
				break;
		if (i == sizeof(known_fields) / sizeof(known_fields[0]))
			return bad(r,
			    "Invalid JSON payload received. Unknown name "
			    "\"%.60s\": Cannot find field.",
			    key);
	}
	return check_contents(gget(b, "contents"), r);
}

/* --- the call ------------------------------------------------------------- */

/* The reply's length: stopSequences, then maxOutputTokens. */
static void
fix_reply(struct gcall *k, json_t *gc)
{
	json_t *stops = gget(gc, "stopSequences"), *cap;
	const char *s;
	char w[24];
	size_t j;
	int i;

	k->nwords = k->o->words;
	k->finish = "STOP";
	for (i = 0; i < k->nwords; i++) {
		reply_word(i, w, sizeof(w));
		for (j = 0; j < json_array_size(stops); j++)
			if ((s = json_string_value(json_array_get(stops, j))) !=
				NULL &&
			    strcmp(w, s) == 0) {
				k->nwords = i;
				return;
			}
	}
	cap = gget(gc, "maxOutputTokens");
	if (json_is_integer(cap) && json_integer_value(cap) < k->nwords) {
		k->nwords = (int)json_integer_value(cap);
		k->finish = "MAX_TOKENS";
	}
}

static void
call_init(struct ctx *c, struct gcall *k, const char *model, size_t mlen)
{
	json_t *b = c->body, *gc = gget(b, "generationConfig");
	json_t *inc = gget(gget(gc, "thinkingConfig"), "includeThoughts");
	json_t *decl = json_array_get(
	    gget(json_array_get(gget(b, "tools"), 0), "functionDeclarations"),
	    0);
	int phrase = 0;

	memset(k, 0, sizeof(*k));
	k->o = &c->o;
	snprintf(k->model, sizeof(k->model), "%.*s", (int)mlen, model);
	snprintf(k->id, sizeof(k->id), "mockresp%lu", next_seq());
	k->prompt = prompt_tokens(b);
	k->cached = c->o.cached < k->prompt ? c->o.cached : k->prompt;
	k->thoughts = c->o.reasoning;
	if (k->thoughts == 0 && json_is_true(inc))
		k->thoughts = DEFAULT_REASONING;
	/* Thought summaries show unless includeThoughts is false. */
	k->show_thoughts = !json_is_false(inc);
	fix_reply(k, gc);
	if (decl != NULL) {
		walk_text(last_user_parts(b), find_tool_phrase, &phrase);
		k->tool = phrase || c->o.tool_call;
		k->tool_name = json_string_value(json_object_get(decl, "name"));
		if (k->tool_name == NULL)
			k->tool_name = "tool";
	}
	if (k->tool)
		k->finish = "STOP"; /* function calls finish with STOP */
	if (c->o.safety != SAFETY_NONE) {
		k->tool = 0;
		k->nwords = 0;
		k->finish = "SAFETY";
	}
}

/* Cumulative usage after cand candidate and th thought tokens. */
static json_t *
usage_json(const struct gcall *k, int cand, int th)
{
	json_t *u = json_pack("{s:i}", "promptTokenCount", k->prompt);

	if (cand > 0)
		json_object_set_new(
		    u, "candidatesTokenCount", json_integer(cand));
	json_object_set_new(
	    u, "totalTokenCount", json_integer(k->prompt + cand + th));
	json_object_set_new(u, "promptTokensDetails",
	    json_pack(
		"[{s:s,s:i}]", "modality", "TEXT", "tokenCount", k->prompt));
	if (th > 0)
		json_object_set_new(u, "thoughtsTokenCount", json_integer(th));
	if (k->cached > 0)
		json_object_set_new(
		    u, "cachedContentTokenCount", json_integer(k->cached));
	return u;
}

static json_t *
safety_ratings(int blocked)
{
	json_t *a = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "category",
	    "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability", "NEGLIGIBLE",
	    "category", "HARM_CATEGORY_HATE_SPEECH", "probability",
	    "NEGLIGIBLE", "category", "HARM_CATEGORY_DANGEROUS_CONTENT",
	    "probability", "NEGLIGIBLE");

	json_array_append_new(a,
	    blocked
		? json_pack("{s:s,s:s,s:b}", "category",
		      "HARM_CATEGORY_HARASSMENT", "probability", "HIGH",
		      "blocked", 1)
		: json_pack("{s:s,s:s}", "category", "HARM_CATEGORY_HARASSMENT",
		      "probability", "NEGLIGIBLE"));
	return a;
}

/* A response object: one candidate with parts (taken, may be NULL). */
static json_t *
response(
    const struct gcall *k, json_t *parts, const char *finish, int cand, int th)
{
	json_t *cd = json_object(), *j;

	if (parts != NULL)
		json_object_set_new(cd, "content",
		    json_pack("{s:o,s:s}", "parts", parts, "role", "model"));
	if (finish != NULL)
		json_object_set_new(cd, "finishReason", json_string(finish));
	json_object_set_new(cd, "index", json_integer(0));
	if (finish != NULL && strcmp(finish, "SAFETY") == 0)
		json_object_set_new(cd, "safetyRatings", safety_ratings(1));
	j = json_pack("{s:[o]}", "candidates", cd);
	if (!k->o->no_usage)
		json_object_set_new(j, "usageMetadata",
		    k->o->empty_usage ? json_object()
				      : usage_json(k, cand, th));
	json_object_set_new(j, "modelVersion", json_string(k->model));
	json_object_set_new(j, "responseId", json_string(k->id));
	return j;
}

/* safety=prompt: no candidates, promptFeedback.blockReason. */
static json_t *
prompt_blocked(const struct gcall *k)
{
	json_t *j = json_pack("{s:{s:s,s:o}}", "promptFeedback", "blockReason",
	    "SAFETY", "safetyRatings", safety_ratings(1));

	if (!k->o->no_usage)
		json_object_set_new(j, "usageMetadata", usage_json(k, 0, 0));
	json_object_set_new(j, "modelVersion", json_string(k->model));
	json_object_set_new(j, "responseId", json_string(k->id));
	return j;
}

static json_t *
function_call_part(const struct gcall *k)
{
	return json_pack("{s:{s:s,s:{s:s,s:s}},s:s}", "functionCall", "name",
	    k->tool_name, "args", "location", "Paris", "unit", "celsius",
	    "thoughtSignature", THOUGHT_SIGNATURE);
}

static void
whole_reply(const struct gcall *k, struct reply *r)
{
	json_t *parts = json_array();
	char *s;

	if (k->o->safety == SAFETY_PROMPT) {
		json_decref(parts);
		reply_json(r, 200, prompt_blocked(k), "");
		return;
	}
	if (k->thoughts > 0 && k->show_thoughts) {
		s = join_words(k->thoughts, 1);
		json_array_append_new(parts,
		    json_pack(
			"{s:s,s:b}", "text", s != NULL ? s : "", "thought", 1));
		free(s);
	}
	if (k->tool)
		json_array_append_new(parts, function_call_part(k));
	else if (k->nwords > 0) {
		s = join_words(k->nwords, 0);
		json_array_append_new(
		    parts, json_pack("{s:s}", "text", s != NULL ? s : ""));
		free(s);
	}
	if (k->o->safety != SAFETY_NONE) {
		json_decref(parts);
		parts = NULL;
	}
	reply_json(r, 200,
	    response(k, parts, k->finish, k->tool ? TOOL_WORDS : k->nwords,
		k->thoughts),
	    "");
	corrupt_body(r, k->o->corrupt, "\"text\":\"", "\"promptTokenCount\":");
}

/* --- streaming ------------------------------------------------------------ */

/* The chunks of a stream, in order; the last carries finishReason. */
static json_t *
chunks(const struct gcall *k)
{
	json_t *a = json_array();
	char w[32], word[24];
	int i, n, th;

	if (k->o->safety == SAFETY_PROMPT) {
		json_array_append_new(a, prompt_blocked(k));
		return a;
	}
	if (k->o->safety != SAFETY_NONE) {
		json_array_append_new(
		    a, response(k, NULL, "SAFETY", 0, k->thoughts));
		return a;
	}
	n = (k->show_thoughts ? k->thoughts : 0) + (k->tool ? 1 : k->nwords);
	for (i = 0; k->show_thoughts && i < k->thoughts; i++) {
		snprintf(w, sizeof(w), "%sthink%d", i ? " " : "", i + 1);
		json_array_append_new(a,
		    response(k,
			json_pack("[{s:s,s:b}]", "text", w, "thought", 1),
			n == i + 1 ? k->finish : NULL, 0, i + 1));
	}
	th = k->thoughts;
	if (k->tool)
		json_array_append_new(a,
		    response(k, json_pack("[o]", function_call_part(k)),
			k->finish, TOOL_WORDS, th));
	for (i = 0; !k->tool && i < k->nwords; i++) {
		reply_word(i, word, sizeof(word));
		snprintf(w, sizeof(w), "%s%s", i ? " " : "", word);
		json_array_append_new(a,
		    response(k, json_pack("[{s:s}]", "text", w),
			i == k->nwords - 1 ? k->finish : NULL, i + 1, th));
	}
	if (!k->tool && k->nwords == 0)
		json_array_append_new(a,
		    response(
			k, json_pack("[{s:s}]", "text", ""), k->finish, 0, th));
	return a;
}

/* Without alt=sse Google streams one JSON array, an element at a time. */
static void
array_elem(struct stream *st, json_t *j, int first)
{
	char *js = json_dumps(j, DUMP_FLAGS), *s;
	int n;

	json_decref(j);
	if (js == NULL)
		return;
	n = asprintf(&s, "%s%s", first ? "[" : ",\r\n", js);
	if (n >= 0)
		st_add(st, s, (size_t)n, st->ndata++ > 0 ? st->pace : 0);
	free(js);
}

static void
stream_reply(const struct gcall *k, int sse, struct reply *r)
{
	struct stream *st = st_new(k->o);
	json_t *a = chunks(k), *err;
	size_t i, n = json_array_size(a);
	char *end;

	for (i = 0; st != NULL && i <= n; i++) {
		if ((int)i == k->o->error_at) {
			/* What js-genai finds in a piece: a top-level error. */
			err = json_pack("{s:{s:i,s:s,s:s}}", "error", "code",
			    503, "message", OVERLOADED_MSG, "status",
			    "UNAVAILABLE");
			if (sse)
				st_event(st, NULL, err, "\r\n\r\n");
			else
				array_elem(st, err, i == 0);
			break;
		}
		if ((int)i == k->o->reset_at) {
			st->abort_end = 1;
			break;
		}
		if (i == n)
			break;
		if (sse)
			st_event(st, NULL, json_incref(json_array_get(a, i)),
			    "\r\n\r\n");
		else
			array_elem(
			    st, json_incref(json_array_get(a, i)), i == 0);
	}
	json_decref(a);
	if (st != NULL && !sse && !st->abort_end && (end = strdup("]")) != NULL)
		st_add(st, end, 1, 0);
	stream_reply_set(r, st);
	if (!sse && st != NULL)
		r->ctype = "application/json; charset=UTF-8";
}

/*
 * {model}:method; 0, or -1 with r set. Google's model ids have no slash:
 * a catalogue id such as google/gemini-2.5-flash sent upstream is a 404.
 */
static int
split_tail(const char *tail, const char **model, size_t *mlen,
    const char **method, struct reply *r)
{
	const char *colon = strrchr(tail, ':'), *slash = strchr(tail, '/');
	char msg[200];

	if (colon == NULL || colon == tail) {
		gem_error(r, 404, "NOT_FOUND", "Method not found.", NULL);
		return -1;
	}
	if (slash != NULL && slash < colon) {
		snprintf(msg, sizeof(msg),
		    "models/%.*s is not found for API version v1beta, or is "
		    "not supported for generateContent.",
		    (int)(colon - tail > 100 ? 100 : colon - tail), tail);
		gem_error(r, 404, "NOT_FOUND", msg, NULL);
		return -1;
	}
	*model = tail;
	*mlen = (size_t)(colon - tail);
	*method = colon + 1;
	return 0;
}

/* countTokens takes contents, or a whole generateContentRequest. */
static void
count_tokens(json_t *body, struct reply *r)
{
	json_t *g = gget(body, "generateContentRequest");
	int n;

	if (g != NULL && gget(body, "contents") == NULL)
		body = g;
	else if (g != NULL) {
		bad(r, "generateContentRequest and contents are exclusive.");
		return;
	}
	if (check_request(body, r) == -1)
		return;
	n = prompt_tokens(body);
	reply_json(r, 200,
	    json_pack("{s:i,s:[{s:s,s:i}]}", "totalTokens", n,
		"promptTokensDetails", "modality", "TEXT", "tokenCount", n),
	    "");
}

void
h_gemini(struct ctx *c, struct reply *r)
{
	const char *model, *method, *alt;
	struct gcall k;
	size_t mlen;
	int stream;

	if (split_tail(c->tail, &model, &mlen, &method, r) == -1)
		return;
	stream = strcmp(method, "streamGenerateContent") == 0;
	if (!stream && strcmp(method, "generateContent") != 0 &&
	    strcmp(method, "countTokens") != 0) {
		gem_error(r, 404, "NOT_FOUND", "Method not found.", NULL);
		return;
	}
	if (strcmp(method, "countTokens") == 0) {
		count_tokens(c->body, r);
		return;
	}
	if (check_request(c->body, r) == -1)
		return;
	call_init(c, &k, model, mlen);
	alt =
	    MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "alt");
	if (stream)
		stream_reply(&k, alt != NULL && strcmp(alt, "sse") == 0, r);
	else if (c->o.reset_at >= 0)
		r->drop = 1; /* nothing to cut: drop it whole */
	else
		whole_reply(&k, r);
}
