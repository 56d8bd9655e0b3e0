/* prov_gemini.c: Google's Gemini API (generateContent): the requests, native and from the pivot, and its errors */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/util.h"
#include "prov/gemini.h"
#include "prov/prov.h"

/*
 * Schemas nest: cleaning one stops copying deeper than this (the body's
 * own depth cap is larger, and nothing real nests so far).
 */
#define SCHEMA_MAX_DEPTH 64

/* --- the call: URL and headers ----------------------------------------------------- */

/*
 * base_url + "/models/" + model + the method.  The catalogue may name the
 * model as Google's resource ("models/gemini-2.5-flash"): the prefix is
 * already in the path.
 */
/* The model's bare id: Google's resource name without "models/". */
static const char *
model_id(const char *m)
{
	return strncmp(m, "models/", 7) == 0 ? m + 7 : m;
}

static const char *
gem_url(struct arena *a, const struct deployment *rt, int stream)
{
	const char *base = rt->base_url, *m = model_id(rt->upstream_model);
	size_t blen = strlen(base);

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	return arena_printf(a, "%.*s/models/%s:%s", (int)blen, base, m,
	    stream ? "streamGenerateContent?alt=sse" : "generateContent");
}

/* Serialize b into out with the URL and headers of the call. */
static int
gem_call(struct arena *a, const struct deployment *rt, const json_t *b,
    int stream, const char *secret, struct prov_call *out)
{
	if ((out->body = jx_dump(b)) == NULL)
		return -1;
	arena_defer(a, free, out->body);
	out->body_len = strlen(out->body);
	out->url = gem_url(a, rt, stream);
	out->headers[out->nheaders++] = "Content-Type: application/json";
	out->headers[out->nheaders++] =
	    stream ? "Accept: text/event-stream" : "Accept: application/json";
	out->secret_header = arena_printf(a, "x-goog-api-key: %s", secret);
	out->headers[out->nheaders++] = out->secret_header;
	return 0;
}

/* --- content parts ----------------------------------------------------------------- */

static void
add_text(json_t *parts, const char *s)
{
	if (s != NULL && *s != '\0')
		json_array_append_new(parts, json_pack("{s:s}", "text", s));
}

/* A file's type from its name's extension, for fileData; NULL unknown. */
static const char *
mime_guess(const char *url)
{
	static const struct {
		const char *ext, *mime;
	} types[] = {
	    {".png", "image/png"},
	    {".jpg", "image/jpeg"},
	    {".jpeg", "image/jpeg"},
	    {".webp", "image/webp"},
	    {".gif", "image/gif"},
	    {".heic", "image/heic"},
	    {".heif", "image/heif"},
	    {".pdf", "application/pdf"},
	    {".mp3", "audio/mp3"},
	    {".wav", "audio/wav"},
	    {".mp4", "video/mp4"},
	};
	size_t n = strcspn(url, "?#"), i, e;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		e = strlen(types[i].ext);
		if (n > e && util_strncaseeq(url + n - e, types[i].ext, e))
			return types[i].mime;
	}
	return NULL;
}

/*
 * A data: URL ("data:image/png;base64,....") as inlineData, any other URL
 * as fileData; NULL when url is neither (nothing Gemini could fetch).
 */
static json_t *
url_part(const char *url)
{
	const char *comma, *semi, *mime;

	if (url == NULL)
		return NULL;
	if (strncmp(url, "data:", 5) == 0) {
		comma = strchr(url, ',');
		semi = comma != NULL ? strstr(url, ";base64,") : NULL;
		if (semi == NULL || semi + 7 != comma || semi == url + 5)
			return NULL;
		return json_pack("{s:{s:s%,s:s}}", "inlineData", "mimeType",
		    url + 5, (size_t)(semi - url - 5), "data", comma + 1);
	}
	if (strncmp(url, "https://", 8) != 0 &&
	    strncmp(url, "http://", 7) != 0 && strncmp(url, "gs://", 5) != 0)
		return NULL;
	mime = mime_guess(url);
	return mime != NULL
	    ? json_pack(
		  "{s:{s:s,s:s}}", "fileData", "fileUri", url, "mimeType", mime)
	    : json_pack("{s:{s:s}}", "fileData", "fileUri", url);
}

/* One OpenAI content part as Gemini parts (none for a kind it lacks). */
static void
add_part(json_t *parts, const json_t *p)
{
	const char *type = jx_str(p, "type"), *fmt;
	const json_t *o;
	json_t *g = NULL;

	if (type == NULL)
		return;
	if (strcmp(type, "text") == 0 || strcmp(type, "input_text") == 0) {
		add_text(parts, jx_str(p, "text"));
		return;
	}
	if (strcmp(type, "image_url") == 0) {
		o = json_object_get(p, "image_url");
		g = url_part(json_is_string(o) ? json_string_value(o)
					       : jx_str(o, "url"));
	} else if (strcmp(type, "input_audio") == 0) {
		o = json_object_get(p, "input_audio");
		fmt = jx_str(o, "format");
		if (fmt != NULL && jx_str(o, "data") != NULL)
			g = json_pack("{s:{s:s+,s:O}}", "inlineData",
			    "mimeType", "audio/", fmt, "data",
			    json_object_get(o, "data"));
	} else if (strcmp(type, "file") == 0) {
		g = url_part(jx_str(json_object_get(p, "file"), "file_data"));
	}
	if (g != NULL)
		json_array_append_new(parts, g);
}

/* A message's content (a string or an array of parts) as parts. */
static void
add_content(json_t *parts, const json_t *content)
{
	const json_t *p;
	size_t i;

	if (json_is_string(content)) {
		add_text(parts, json_string_value(content));
		return;
	}
	json_array_foreach(content, i, p)
		add_part(parts, p);
}

/* --- messages ----------------------------------------------------------------------- */

/* What turning the messages into contents keeps between them. */
struct conv {
	json_t *contents;
	json_t *system;	 /* systemInstruction.parts */
	json_t *names;	 /* tool call id -> function name, the latest */
	json_t *toolrsp; /* the user content the last tool messages made */
	int sentinel;	 /* the model checks signatures (Gemini 3) */
};

/*
 * Google's documented stand-in for a thoughtSignature that was lost (a
 * history written by another provider or route): Gemini 3 refuses a
 * replayed turn whose first call has none, older models need none.
 */
#define SIG_SENTINEL "skip_thought_signature_validator"

/* The id Gemini gave a call: the client's, without a signature it carries. */
static json_t *
gem_id(const char *id)
{
	const char *sig = strstr(id, GEM_SIG_MARK);

	return sig != NULL ? json_stringn(id, (size_t)(sig - id))
			   : json_string(id);
}

/*
 * An assistant's tool call as a functionCall part: the arguments parsed
 * (a text that is not an object becomes {}: Gemini takes only objects) and
 * a signature the id carries put back beside the call.
 */
static json_t *
call_part(struct conv *c, const json_t *tc)
{
	const json_t *fn = json_object_get(tc, "function");
	const char *id = jx_str(tc, "id"), *name = jx_str(fn, "name"),
		   *args = jx_str(fn, "arguments"), *sig;
	json_t *a = NULL, *part, *call;

	if (name == NULL)
		return NULL;
	if (args != NULL)
		a = json_loads(args, 0, NULL);
	if (!json_is_object(a)) {
		json_decref(a);
		a = json_object();
	}
	call = json_pack("{s:s,s:o}", "name", name, "args", a);
	part = json_pack("{s:o}", "functionCall", call);
	if (id == NULL || part == NULL)
		return part;
	json_object_set_new(c->names, id, json_string(name));
	json_object_set_new(call, "id", gem_id(id));
	sig = strstr(id, GEM_SIG_MARK);
	if (sig != NULL && sig[strlen(GEM_SIG_MARK)] != '\0')
		json_object_set_new(part, "thoughtSignature",
		    json_string(sig + strlen(GEM_SIG_MARK)));
	return part;
}

static void
msg_assistant(struct conv *c, const json_t *m)
{
	json_t *parts = json_array(), *p;
	const json_t *tc;
	size_t i;
	int first_done = 0;

	add_content(parts, json_object_get(m, "content"));
	json_array_foreach(json_object_get(m, "tool_calls"), i, tc)
		if ((p = call_part(c, tc)) != NULL) {
			/* Only a turn's first call carries a signature. */
			if (c->sentinel && !first_done &&
			    json_object_get(p, "thoughtSignature") == NULL)
				json_object_set_new(p, "thoughtSignature",
				    json_string(SIG_SENTINEL));
			first_done = 1;
			json_array_append_new(parts, p);
		}
	if (json_array_size(parts) > 0)
		json_array_append_new(c->contents,
		    json_pack("{s:s,s:O}", "role", "model", "parts", parts));
	json_decref(parts);
}

/* A tool message's content as one text: a string, or its text parts joined. */
static char *
tool_text(const json_t *content)
{
	const json_t *p, *t;
	size_t i, n = 0;
	char *s;

	if (json_is_string(content))
		return strdup(json_string_value(content));
	json_array_foreach(content, i, p)
		if (json_is_string(t = json_object_get(p, "text")))
			n += json_string_length(t);
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	n = 0;
	json_array_foreach(content, i, p)
		if (json_is_string(t = json_object_get(p, "text"))) {
			memcpy(
			    s + n, json_string_value(t), json_string_length(t));
			n += json_string_length(t);
		}
	s[n] = '\0';
	return s;
}

/*
 * A tool's output as a functionResponse: Gemini wants an object, so an
 * output that is not one is wrapped as {"content": text}.  The function's
 * name comes from the call the id answers; consecutive outputs go in one
 * content, as Gemini pairs them with the calls of one turn.
 */
static void
msg_tool(struct conv *c, const json_t *m)
{
	const char *id = jx_str(m, "tool_call_id"), *name;
	char *text = tool_text(json_object_get(m, "content"));
	json_t *rsp = NULL, *fr;

	if (text != NULL)
		rsp = json_loads(text, JSON_DECODE_ANY, NULL);
	if (!json_is_object(rsp)) {
		json_decref(rsp);
		rsp = json_pack("{s:s}", "content", text != NULL ? text : "");
	}
	free(text);
	/* The call's name; else the one the message gives (OpenAI's legacy). */
	name = id != NULL ? jx_str(c->names, id) : NULL;
	if (name == NULL)
		name = jx_str(m, "name");
	fr = json_pack(
	    "{s:s,s:o}", "name", name != NULL ? name : "", "response", rsp);
	if (fr == NULL)
		return;
	if (id != NULL)
		json_object_set_new(fr, "id", gem_id(id));
	if (c->toolrsp == NULL) {
		c->toolrsp = json_pack("{s:s,s:[]}", "role", "user", "parts");
		json_array_append_new(c->contents, c->toolrsp);
	}
	json_array_append_new(json_object_get(c->toolrsp, "parts"),
	    json_pack("{s:o}", "functionResponse", fr));
}

/* The messages as contents and systemInstruction parts. */
static void
conv_messages(struct conv *c, const json_t *messages)
{
	const json_t *m;
	const char *role;
	json_t *parts;
	size_t i;

	json_array_foreach(messages, i, m) {
		if ((role = jx_str(m, "role")) == NULL)
			continue;
		if (strcmp(role, "tool") == 0) {
			msg_tool(c, m);
			continue;
		}
		c->toolrsp = NULL;
		if (strcmp(role, "system") == 0 ||
		    strcmp(role, "developer") == 0) {
			add_content(c->system, json_object_get(m, "content"));
		} else if (strcmp(role, "assistant") == 0) {
			msg_assistant(c, m);
		} else if (strcmp(role, "user") == 0) {
			parts = json_array();
			add_content(parts, json_object_get(m, "content"));
			if (json_array_size(parts) > 0)
				json_array_append_new(c->contents,
				    json_pack("{s:s,s:O}", "role", "user",
					"parts", parts));
			json_decref(parts);
		}
	}
}

/* --- tools and the generation config ---------------------------------------------- */

/*
 * JSON Schema's nullable type, "type": ["string", "null"] (what OpenAI's
 * strict mode writes), as Gemini's Schema says it: one type and
 * "nullable": true.  A list of several types has no such form: kept.
 */
static void
nullable_type(json_t *o)
{
	const json_t *t = json_object_get(o, "type"), *e, *only = NULL;
	size_t i, others = 0;
	int null = 0;

	if (!json_is_array(t))
		return;
	json_array_foreach(t, i, e) {
		if (!json_is_string(e))
			return;
		if (strcmp(json_string_value(e), "null") == 0)
			null = 1;
		else if (others++ == 0)
			only = e;
	}
	if (others != 1)
		return;
	json_object_set_new(o, "type", json_copy((json_t *)only));
	if (null)
		json_object_set_new(o, "nullable", json_true());
}

/* {"type": "null"} and nothing else. */
static int
is_null_schema(const json_t *s)
{
	return json_object_size(s) == 1 && jx_str(s, "type") != NULL &&
	    strcmp(jx_str(s, "type"), "null") == 0;
}

/*
 * Pydantic's Optional, "anyOf": [schema, {"type": "null"}] (either order),
 * as that schema made nullable: Gemini's Schema has no null type.  The
 * members beside anyOf (title, default, description) win over the
 * schema's own.
 */
static void
nullable_any_of(json_t *o)
{
	json_t *any = json_object_get(o, "anyOf"), *one, *v;
	const char *k;

	if (json_array_size(any) != 2)
		return;
	if (is_null_schema(json_array_get(any, 1)))
		one = json_array_get(any, 0);
	else if (is_null_schema(json_array_get(any, 0)))
		one = json_array_get(any, 1);
	else
		return;
	if (!json_is_object(one) || is_null_schema(one))
		return;
	json_incref(one);
	json_object_del(o, "anyOf");
	json_object_foreach(one, k, v)
		if (json_object_get(o, k) == NULL)
			json_object_set(o, k, v);
	json_decref(one);
	json_object_set_new(o, "nullable", json_true());
}

/*
 * A JSON Schema as Gemini's OpenAPI subset reads it: "$schema" and
 * "additionalProperties" are refused there ("Unknown name"), so they go;
 * the rest is kept.  A new tree.
 */
static json_t *
schema_clean(const json_t *s, int depth)
{
	const char *k;
	json_t *out, *v;
	size_t i;

	if (depth >= SCHEMA_MAX_DEPTH ||
	    (!json_is_object(s) && !json_is_array(s)))
		return json_deep_copy(s);
	if (json_is_array(s)) {
		out = json_array();
		json_array_foreach(s, i, v)
			json_array_append_new(out, schema_clean(v, depth + 1));
		return out;
	}
	out = json_object();
	json_object_foreach((json_t *)s, k, v)
		if (strcmp(k, "$schema") != 0 &&
		    strcmp(k, "additionalProperties") != 0)
			json_object_set_new(out, k, schema_clean(v, depth + 1));
	nullable_type(out);
	nullable_any_of(out);
	return out;
}

/* tools: [{"type":"function","function":{...}}] as functionDeclarations. */
static void
conv_tools(json_t *g, const json_t *tools)
{
	const json_t *t, *fn, *v;
	json_t *decls = json_array(), *d;
	size_t i;

	json_array_foreach(tools, i, t) {
		fn = json_object_get(t, "function");
		if (jx_str(fn, "name") == NULL)
			continue;
		d = json_pack("{s:O}", "name", json_object_get(fn, "name"));
		if (json_is_string(v = json_object_get(fn, "description")))
			json_object_set(d, "description", (json_t *)v);
		if (json_is_object(v = json_object_get(fn, "parameters")))
			json_object_set_new(
			    d, "parameters", schema_clean(v, 0));
		json_array_append_new(decls, d);
	}
	if (json_array_size(decls) > 0)
		json_object_set_new(g, "tools",
		    json_pack("[{s:O}]", "functionDeclarations", decls));
	json_decref(decls);
}

/* tool_choice as toolConfig.functionCallingConfig. */
static void
conv_tool_choice(json_t *g, const json_t *tc)
{
	static const struct {
		const char *openai, *mode;
	} modes[] = {{"auto", "AUTO"}, {"none", "NONE"}, {"required", "ANY"}};
	const char *name = jx_str(json_object_get(tc, "function"), "name");
	json_t *fcc = NULL;
	size_t i;

	for (i = 0; json_is_string(tc) && i < sizeof(modes) / sizeof(modes[0]);
	     i++)
		if (strcmp(json_string_value(tc), modes[i].openai) == 0)
			fcc = json_pack("{s:s}", "mode", modes[i].mode);
	if (name != NULL)
		fcc = json_pack(
		    "{s:s,s:[s]}", "mode", "ANY", "allowedFunctionNames", name);
	if (fcc != NULL)
		json_object_set_new(g, "toolConfig",
		    json_pack("{s:o}", "functionCallingConfig", fcc));
}

/*
 * reasoning_effort as a thinking budget (Gemini 2.5's thinkingBudget, the
 * figures Google's OpenAI-compatible endpoint uses): "none" turns thinking
 * off, the others ask for the thoughts to be shown too.  -1 when not asked.
 */
static int64_t
effort_budget(const char *effort)
{
	static const struct {
		const char *effort;
		int64_t budget;
	} budgets[] = {
	    {"none", 0},
	    {"minimal", 1024},
	    {"low", 1024},
	    {"medium", 8192},
	    {"high", 24576},
	};
	size_t i;

	for (i = 0; effort != NULL && i < sizeof(budgets) / sizeof(budgets[0]);
	     i++)
		if (strcmp(effort, budgets[i].effort) == 0)
			return budgets[i].budget;
	return -1;
}

/*
 * The thinking asked for, by any of the names a client may use:
 * reasoning_effort, OpenRouter's reasoning {effort, max_tokens, exclude},
 * Anthropic's thinking {type, budget_tokens} (an Anthropic client's, through
 * the pivot).  Thoughts share maxOutputTokens, so a budget past it is cut
 * to it: the hold already covers that cap.
 */
static void
conv_thinking(json_t *gc, const json_t *body, int64_t max_out)
{
	const json_t *r = json_object_get(body, "reasoning"),
		     *th = json_object_get(body, "thinking"), *v;
	int64_t budget = effort_budget(jx_str(body, "reasoning_effort"));
	int show = 1;

	if (budget < 0)
		budget = effort_budget(jx_str(r, "effort"));
	if (budget < 0 && json_is_integer(v = json_object_get(r, "max_tokens")))
		budget = json_integer_value(v);
	if (json_is_true(json_object_get(r, "exclude")))
		show = 0;
	if (budget < 0 &&
	    json_is_integer(v = json_object_get(th, "budget_tokens")))
		budget = json_integer_value(v);
	if (budget < 0 && jx_str(th, "type") != NULL &&
	    strcmp(jx_str(th, "type"), "disabled") == 0)
		budget = 0;
	if (budget < 0)
		return;
	if (max_out > 0 && budget > max_out)
		budget = max_out;
	json_object_set_new(gc, "thinkingConfig",
	    budget > 0 && show
		? json_pack("{s:I,s:b}", "thinkingBudget", (json_int_t)budget,
		      "includeThoughts", 1)
		: json_pack("{s:I}", "thinkingBudget", (json_int_t)budget));
}

/* response_format as responseMimeType (and responseSchema). */
static void
conv_format(json_t *gc, const json_t *rf)
{
	const char *type = jx_str(rf, "type");
	const json_t *s;

	if (type == NULL ||
	    (strcmp(type, "json_object") != 0 &&
		strcmp(type, "json_schema") != 0))
		return;
	json_object_set_new(
	    gc, "responseMimeType", json_string("application/json"));
	s = json_object_get(json_object_get(rf, "json_schema"), "schema");
	if (strcmp(type, "json_schema") == 0 && json_is_object(s))
		json_object_set_new(gc, "responseSchema", schema_clean(s, 0));
}

/* generationConfig from the sampling members and the one held cap. */
static json_t *
conv_config(const json_t *body, int64_t max_out)
{
	/* OpenAI's name -> Gemini's, copied when a number. */
	static const char *const nums[][2] = {
	    {"temperature", "temperature"},
	    {"top_p", "topP"},
	    {"top_k", "topK"},
	    {"n", "candidateCount"},
	    {"seed", "seed"},
	    {"presence_penalty", "presencePenalty"},
	    {"frequency_penalty", "frequencyPenalty"},
	};
	const json_t *v;
	json_t *gc = json_object();
	size_t i;

	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (json_is_number(v = json_object_get(body, nums[i][0])))
			json_object_set(gc, nums[i][1], (json_t *)v);
	if (max_out > 0)
		json_object_set_new(
		    gc, "maxOutputTokens", json_integer(max_out));
	v = json_object_get(body, "stop");
	if (json_is_string(v))
		json_object_set_new(gc, "stopSequences", json_pack("[O]", v));
	else if (json_is_array(v) && json_array_size(v) > 0)
		json_object_set(gc, "stopSequences", (json_t *)v);
	conv_format(gc, json_object_get(body, "response_format"));
	conv_thinking(gc, body, max_out);
	return gc;
}

/* --- building the call ------------------------------------------------------------ */

/*
 * The pivot (an OpenAI chat request) as generateContent.  Only chat is
 * translated: completions and embeddings do not reach a Gemini kind.
 */
static int
gemini_build(struct arena *a, enum endpoint ep, const struct deployment *rt,
    const json_t *body, int stream, int64_t max_out, const char *secret,
    const char *referer, const char *title, struct prov_call *out)
{
	struct conv c = {0};
	json_t *g = NULL, *gc;
	int rc = -1;

	(void)referer;
	(void)title;
	memset(out, 0, sizeof(*out));
	if (ep != EP_CHAT)
		return -1;
	c.contents = json_array();
	c.system = json_array();
	c.names = json_object();
	c.sentinel = strncmp(model_id(rt->upstream_model), "gemini-3", 8) == 0;
	if (c.contents == NULL || c.system == NULL || c.names == NULL)
		goto out;
	conv_messages(&c, json_object_get(body, "messages"));
	if ((g = json_pack("{s:O}", "contents", c.contents)) == NULL)
		goto out;
	if (json_array_size(c.system) > 0)
		json_object_set_new(g, "systemInstruction",
		    json_pack("{s:O}", "parts", c.system));
	conv_tools(g, json_object_get(body, "tools"));
	conv_tool_choice(g, json_object_get(body, "tool_choice"));
	gc = conv_config(body, max_out);
	if (json_object_size(gc) > 0)
		json_object_set(g, "generationConfig", gc);
	json_decref(gc);
	rc = gem_call(a, rt, g, stream, secret, out);
out:
	json_decref(g);
	json_decref(c.contents);
	json_decref(c.system);
	json_decref(c.names);
	return rc;
}

/*
 * A Gemini client's own body: only the output cap changes.  The server
 * reads generationConfig by either spelling (generation_config,
 * max_output_tokens), so a cap under any of them is replaced by the one
 * held, in the spelling the client used.
 */
static int
gemini_build_native(struct arena *a, const struct deployment *rt,
    const json_t *native, int stream, int64_t max_out, const char *secret,
    struct prov_call *out)
{
	static const char *const names[] = {
	    "generationConfig", "generation_config"};
	json_t *b, *gc, *cap = NULL;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((b = json_copy((json_t *)native)) == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		gc = json_object_get(b, names[i]);
		if (!json_is_object(gc))
			continue;
		gc = json_copy(gc);
		json_object_set_new(b, names[i], gc);
		json_object_del(gc, "maxOutputTokens");
		json_object_del(gc, "max_output_tokens");
		if (cap == NULL)
			cap = gc;
	}
	if (cap == NULL && max_out > 0) {
		cap = json_object();
		json_object_set_new(b, "generationConfig", cap);
	}
	if (max_out > 0)
		json_object_set_new(
		    cap, "maxOutputTokens", json_integer(max_out));
	rc = gem_call(a, rt, b, stream, secret, out);
	json_decref(b);
	return rc;
}

/* --- errors ------------------------------------------------------------------------- */

/*
 * error.message of a Gemini error body, cut short with control characters
 * blanked (it is stored and shown).  The OpenAI-compatible base wraps the
 * error in a one-element array: unwrapped too.
 */
static const char *
gemini_error_message(struct arena *a, const char *body, size_t len)
{
	json_t *o, *e;
	const char *m;
	char *out;
	size_t i;

	if (len == 0)
		return NULL;
	o = json_loadb(body, len, JSON_DECODE_ANY, NULL);
	e = json_is_array(o) ? json_array_get(o, 0) : o;
	m = jx_str(json_object_get(e, "error"), "message");
	out = m != NULL ? arena_printf(a, "%.*s", (int)util_utf8_cut(m, 300), m)
			: NULL;
	json_decref(o);
	for (i = 0; out != NULL && out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
	return out;
}

/*
 * Gemini's overload is a 503 UNAVAILABLE and its quota a 429
 * RESOURCE_EXHAUSTED, both retried by the relay's own rules: nothing more
 * to retry (a 500 INTERNAL, which can mean a context too long, is a 5xx).
 */
const struct prov_ops prov_gemini_ops = {
    .wire = WIRE_GEMINI,
    .build = gemini_build,
    .answer_scan = gem_answer_scan,
    .answer_usage = gem_answer_usage,
    .event = gem_event,
    .strip_usage = gem_strip_usage,
    .error_message = gemini_error_message,
    .text = gem_text,
    .build_native = gemini_build_native,
    .answer_to_openai = gem_answer_to_openai,
    .event_to_openai = gem_event_to_openai,
    .retryable = NULL,
};
