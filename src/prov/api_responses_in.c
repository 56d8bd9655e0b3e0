/* api_responses_in.c: a Responses API request (the stateless subset) as the pivot, or why not */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "prov/api.h"
#include "prov/api_responses.h"

/* Caps on what a client sends (the body cap bounds them too). */
#define R_MAX_ITEMS 4096 /* input items */
#define R_MAX_PARTS 256	 /* content parts of one item */
#define R_MAX_TOOLS 128	 /* as OpenAI's own */
#define R_MAX_LIST  64	 /* include, metadata */

/*
 * The param of a refusal is built from indexes ("input[3].content[1]"); it
 * lives here until the next refusal on this thread, which is after the
 * handler has rendered it.
 */
static _Thread_local char param_buf[128];

static int TG_PRINTF(4, 5) refuse(struct api_refusal *why, const char *code,
    const char *param, const char *fmt, ...)
{
	va_list ap;

	why->code = code;
	why->param = NULL;
	if (param != NULL) {
		snprintf(param_buf, sizeof(param_buf), "%s", param);
		why->param = param_buf;
	}
	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
type_name(const json_t *v)
{
	static const char *const names[] = {
	    [JSON_OBJECT] = "an object",
	    [JSON_ARRAY] = "an array",
	    [JSON_STRING] = "a string",
	    [JSON_INTEGER] = "an integer",
	    [JSON_REAL] = "a number",
	    [JSON_TRUE] = "a boolean",
	    [JSON_FALSE] = "a boolean",
	    [JSON_NULL] = "null",
	};

	return names[json_typeof(v)];
}

static int
bad_type(struct api_refusal *why, const char *param, const json_t *v,
    const char *want)
{
	return refuse(why, "invalid_type", param,
	    "Invalid type for '%s': expected %s, but got %s.", param, want,
	    type_name(v));
}

/* A member that must be a string (NULL when absent and optional). */
static int
get_str(const json_t *o, const char *k, int required, const char *at,
    const char **out, struct api_refusal *why)
{
	const json_t *v = json_object_get(o, k);
	char p[128];

	snprintf(p, sizeof(p), "%s.%s", at, k);
	*out = NULL;
	if (v == NULL || (!required && json_is_null(v))) {
		if (required)
			return refuse(why, "missing_required_parameter", p,
			    "Missing required parameter: '%s'.", p);
		return 0;
	}
	if (!json_is_string(v))
		return bad_type(why, p, v, "a string");
	*out = json_string_value(v);
	return 0;
}

/* ---- input items to messages ------------------------------------- */

static json_t *
text_part(const char *text)
{
	return json_pack("{s:s, s:s}", "type", "text", "text", text);
}

/* An input_image part as an image_url part (URLs only: tollgate keeps no files). */
static json_t *
image_part(const json_t *pt, const char *at, struct api_refusal *why)
{
	const char *url, *detail;
	json_t *img;

	if (json_object_get(pt, "file_id") != NULL &&
	    !json_is_null(json_object_get(pt, "file_id"))) {
		refuse(why, "unsupported_parameter", at,
		    "'%s.file_id' is not supported: tollgate keeps no files; "
		    "give image_url (an https or data: URL).",
		    at);
		return NULL;
	}
	if (get_str(pt, "image_url", 1, at, &url, why) == -1 ||
	    get_str(pt, "detail", 0, at, &detail, why) == -1)
		return NULL;
	img = json_pack("{s:s}", "url", url);
	if (img != NULL && detail != NULL)
		json_object_set_new(img, "detail", json_string(detail));
	return json_pack("{s:s, s:o}", "type", "image_url", "image_url", img);
}

/* Which part types a message of each kind may hold. */
enum { P_TEXT = 1, P_IMAGE = 2 };

static json_t *
one_part(
    const json_t *pt, unsigned allow, const char *at, struct api_refusal *why)
{
	const char *type, *text;

	if (!json_is_object(pt)) {
		bad_type(why, at, pt, "an object");
		return NULL;
	}
	if (get_str(pt, "type", 1, at, &type, why) == -1)
		return NULL;
	if (strcmp(type, "input_text") == 0 ||
	    strcmp(type, "output_text") == 0) {
		if (get_str(pt, "text", 1, at, &text, why) == -1)
			return NULL;
		return text_part(text);
	}
	if (strcmp(type, "refusal") == 0) {
		if (get_str(pt, "refusal", 1, at, &text, why) == -1)
			return NULL;
		return text_part(text);
	}
	if (strcmp(type, "input_image") == 0 && (allow & P_IMAGE))
		return image_part(pt, at, why);
	refuse(why, "invalid_value", at,
	    "Content part type '%s' is not supported here%s.", type,
	    strcmp(type, "input_file") == 0
		? ": tollgate keeps no files"
		: (strcmp(type, "input_image") == 0 ? " (images go in user "
						      "messages)"
						    : ""));
	return NULL;
}

/* A message's or a tool output's content: a string, or parts. */
static json_t *
content_of(
    const json_t *c, unsigned allow, const char *at, struct api_refusal *why)
{
	json_t *parts, *p;
	const json_t *pt;
	char pp[128];
	size_t i;

	if (json_is_string(c))
		return json_incref((json_t *)c);
	if (!json_is_array(c)) {
		bad_type(why, at, c, "a string or an array");
		return NULL;
	}
	if (json_array_size(c) > R_MAX_PARTS) {
		refuse(why, "array_above_max_length", at,
		    "'%s' holds more than %d parts.", at, R_MAX_PARTS);
		return NULL;
	}
	if ((parts = json_array()) == NULL)
		return NULL;
	json_array_foreach(c, i, pt) {
		snprintf(pp, sizeof(pp), "%s[%zu]", at, i);
		if ((p = one_part(pt, allow, pp, why)) == NULL) {
			json_decref(parts);
			return NULL;
		}
		json_array_append_new(parts, p);
	}
	return parts;
}

/* clang-format off */
static const struct role {
	const char *name;
	const char *pivot; /* developer is the o-series' name for system */
	unsigned parts;
} roles[] = {
	{"user",      "user",      P_TEXT | P_IMAGE},
	{"assistant", "assistant", P_TEXT},
	{"system",    "system",    P_TEXT},
	{"developer", "system",    P_TEXT},
};
/* clang-format on */

static int
item_message(
    const json_t *it, const char *at, json_t *msgs, struct api_refusal *why)
{
	const char *role;
	const json_t *c = json_object_get(it, "content");
	json_t *content;
	char p[128];
	size_t i;

	if (get_str(it, "role", 1, at, &role, why) == -1)
		return -1;
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(roles[i].name, role) == 0)
			break;
	snprintf(p, sizeof(p), "%s.role", at);
	if (i == sizeof(roles) / sizeof(roles[0]))
		return refuse(why, "invalid_value", p,
		    "Invalid value for '%s': '%s' (user, assistant, system "
		    "or developer).",
		    p, role);
	snprintf(p, sizeof(p), "%s.content", at);
	if (c == NULL)
		return refuse(why, "missing_required_parameter", p,
		    "Missing required parameter: '%s'.", p);
	if ((content = content_of(c, roles[i].parts, p, why)) == NULL)
		return -1;
	return json_array_append_new(msgs,
	    json_pack(
		"{s:s, s:o}", "role", roles[i].pivot, "content", content));
}

/*
 * A function_call item is a tool call of an assistant message: the one just
 * before it when that is an assistant's (its text, or the calls before it,
 * which were one turn), else a new one.
 */
static int
item_call(
    const json_t *it, const char *at, json_t *msgs, struct api_refusal *why)
{
	const char *id, *name, *args;
	json_t *last, *calls, *call;

	if (get_str(it, "call_id", 1, at, &id, why) == -1 ||
	    get_str(it, "name", 1, at, &name, why) == -1 ||
	    get_str(it, "arguments", 1, at, &args, why) == -1)
		return -1;
	call = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type",
	    "function", "function", "name", name, "arguments", args);
	if (call == NULL)
		return -1;
	last = json_array_get(msgs, json_array_size(msgs) - 1);
	if (last == NULL || strcmp(jx_str(last, "role"), "assistant") != 0) {
		last = json_pack("{s:s, s:n, s:[]}", "role", "assistant",
		    "content", "tool_calls");
		if (last == NULL || json_array_append_new(msgs, last) == -1) {
			json_decref(call);
			return -1;
		}
	}
	if ((calls = json_object_get(last, "tool_calls")) == NULL) {
		calls = json_array();
		json_object_set_new(last, "tool_calls", calls);
	}
	return json_array_append_new(calls, call);
}

static int
item_output(
    const json_t *it, const char *at, json_t *msgs, struct api_refusal *why)
{
	const char *id;
	const json_t *o = json_object_get(it, "output");
	json_t *content;
	char p[128];

	if (get_str(it, "call_id", 1, at, &id, why) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s.output", at);
	if (o == NULL)
		return refuse(why, "missing_required_parameter", p,
		    "Missing required parameter: '%s'.", p);
	/* Chat's tool messages hold text only. */
	if ((content = content_of(o, P_TEXT, p, why)) == NULL)
		return -1;
	return json_array_append_new(msgs,
	    json_pack("{s:s, s:s, s:o}", "role", "tool", "tool_call_id", id,
		"content", content));
}

/*
 * A reasoning item a client sends back (Codex does, with its encrypted
 * content): the pivot has no place for it, and a provider would not accept
 * another's reasoning, so it is left out.
 */
static int
item_skip(
    const json_t *it, const char *at, json_t *msgs, struct api_refusal *why)
{
	return 0;
}

static const struct item_type {
	const char *name;
	int (*put)(
	    const json_t *, const char *, json_t *, struct api_refusal *);
} item_types[] = {
    {"message", item_message},
    {"function_call", item_call},
    {"function_call_output", item_output},
    {"reasoning", item_skip},
};

static int
put_items(const json_t *input, json_t *msgs, struct api_refusal *why)
{
	const json_t *it;
	const char *type;
	char at[64];
	size_t i, k;

	if (json_array_size(input) > R_MAX_ITEMS)
		return refuse(why, "array_above_max_length", "input",
		    "'input' holds more than %d items.", R_MAX_ITEMS);
	json_array_foreach(input, i, it) {
		snprintf(at, sizeof(at), "input[%zu]", i);
		if (!json_is_object(it))
			return bad_type(why, at, it, "an object");
		if (get_str(it, "type", 0, at, &type, why) == -1)
			return -1;
		type = type != NULL ? type : "message";
		for (k = 0; k < sizeof(item_types) / sizeof(item_types[0]); k++)
			if (strcmp(item_types[k].name, type) == 0)
				break;
		if (k == sizeof(item_types) / sizeof(item_types[0]))
			return refuse(why, "invalid_value", at,
			    "Input item type '%s' is not supported: tollgate "
			    "serves the stateless subset (message, "
			    "function_call, function_call_output).",
			    type);
		if (item_types[k].put(it, at, msgs, why) == -1)
			return -1;
	}
	return 0;
}

/* ---- top-level members ------------------------------------------- */

static int
put_copy(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	return json_object_set(out, name, (json_t *)v);
}

static int
put_input(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	json_t *msgs = json_object_get(out, "messages");

	if (json_is_string(v))
		return json_array_append_new(msgs,
		    json_pack("{s:s, s:O}", "role", "user", "content", v));
	return put_items(v, msgs, why);
}

static int
put_instructions(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	return json_array_append_new(json_object_get(out, "messages"),
	    json_pack("{s:s, s:O}", "role", "system", "content", v));
}

static int
put_stream(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	json_object_set(out, "stream", (json_t *)v);
	if (json_is_true(v))
		json_object_set_new(out, "stream_options",
		    json_pack("{s:b}", "include_usage", 1));
	return 0;
}

static int
put_max(const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	if (json_integer_value(v) < 1)
		return refuse(why, "invalid_value", name,
		    "Invalid '%s': must be at least 1.", name);
	return json_object_set(out, "max_tokens", (json_t *)v);
}

/* What tollgate cannot do without keeping responses: refused when set. */
static int
put_stateful(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	if (json_is_false(v))
		return 0;
	return refuse(why, "unsupported_parameter", name,
	    "'%s' is not supported: tollgate keeps no responses or "
	    "conversations (send the whole conversation in 'input', and "
	    "'store': false or nothing).",
	    name);
}

static int
put_tool(
    const json_t *t, const char *at, json_t *tools, struct api_refusal *why)
{
	const char *type, *name, *desc;
	const json_t *params = json_object_get(t, "parameters"),
		     *strict = json_object_get(t, "strict");
	json_t *fn;
	char p[80];

	if (!json_is_object(t))
		return bad_type(why, at, t, "an object");
	if (get_str(t, "type", 1, at, &type, why) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s.type", at);
	if (strcmp(type, "function") != 0)
		return refuse(why, "invalid_value", p,
		    "Tool type '%s' is not supported: only function tools "
		    "are (hosted tools are billed beyond tokens).",
		    type);
	if (get_str(t, "name", 1, at, &name, why) == -1 ||
	    get_str(t, "description", 0, at, &desc, why) == -1)
		return -1;
	snprintf(p, sizeof(p), "%s.parameters", at);
	if (params != NULL && !json_is_null(params) && !json_is_object(params))
		return bad_type(why, p, params, "an object");
	snprintf(p, sizeof(p), "%s.strict", at);
	if (strict != NULL && !json_is_null(strict) && !json_is_boolean(strict))
		return bad_type(why, p, strict, "a boolean");
	if ((fn = json_pack("{s:s}", "name", name)) == NULL)
		return -1;
	if (desc != NULL)
		json_object_set_new(fn, "description", json_string(desc));
	if (json_is_object(params))
		json_object_set(fn, "parameters", (json_t *)params);
	if (json_is_boolean(strict))
		json_object_set(fn, "strict", (json_t *)strict);
	return json_array_append_new(
	    tools, json_pack("{s:s, s:o}", "type", "function", "function", fn));
}

static int
put_tools(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	json_t *tools;
	const json_t *t;
	char at[32];
	size_t i;

	if (json_array_size(v) > R_MAX_TOOLS)
		return refuse(why, "array_above_max_length", name,
		    "'tools' holds more than %d tools.", R_MAX_TOOLS);
	if ((tools = json_array()) == NULL ||
	    json_object_set_new(out, "tools", tools) == -1)
		return -1;
	json_array_foreach(v, i, t) {
		snprintf(at, sizeof(at), "tools[%zu]", i);
		if (put_tool(t, at, tools, why) == -1)
			return -1;
	}
	return 0;
}

static int
put_tool_choice(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	static const char *const modes[] = {"auto", "none", "required"};
	const char *s, *fn;
	size_t i;

	if (json_is_string(v)) {
		s = json_string_value(v);
		for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			if (strcmp(modes[i], s) == 0)
				return json_object_set(out, name, (json_t *)v);
		return refuse(why, "invalid_value", name,
		    "Invalid value for 'tool_choice': '%s' (auto, none, "
		    "required or a function).",
		    s);
	}
	if (get_str(v, "type", 1, name, &s, why) == -1)
		return -1;
	if (strcmp(s, "function") != 0)
		return refuse(why, "invalid_value", "tool_choice.type",
		    "tool_choice of type '%s' is not supported: only "
		    "function tools are.",
		    s);
	if (get_str(v, "name", 1, name, &fn, why) == -1)
		return -1;
	return json_object_set_new(out, name,
	    json_pack(
		"{s:s, s:{s:s}}", "type", "function", "function", "name", fn));
}

static json_t *
schema_format(const json_t *f, struct api_refusal *why)
{
	const char *name, *desc;
	const json_t *schema = json_object_get(f, "schema"),
		     *strict = json_object_get(f, "strict");
	json_t *js;

	if (get_str(f, "name", 1, "text.format", &name, why) == -1 ||
	    get_str(f, "description", 0, "text.format", &desc, why) == -1)
		return NULL;
	if (!json_is_object(schema)) {
		if (schema == NULL)
			refuse(why, "missing_required_parameter",
			    "text.format.schema",
			    "Missing required parameter: "
			    "'text.format.schema'.");
		else
			bad_type(
			    why, "text.format.schema", schema, "an object");
		return NULL;
	}
	if (strict != NULL && !json_is_null(strict) &&
	    !json_is_boolean(strict)) {
		bad_type(why, "text.format.strict", strict, "a boolean");
		return NULL;
	}
	js = json_pack("{s:s, s:O}", "name", name, "schema", schema);
	if (js != NULL && desc != NULL)
		json_object_set_new(js, "description", json_string(desc));
	if (js != NULL && json_is_boolean(strict))
		json_object_set(js, "strict", (json_t *)strict);
	return json_pack(
	    "{s:s, s:o}", "type", "json_schema", "json_schema", js);
}

static int
put_text(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	const json_t *f = json_object_get(v, "format");
	const char *type, *verbosity;
	json_t *rf;

	if (get_str(v, "verbosity", 0, "text", &verbosity, why) == -1)
		return -1;
	if (verbosity != NULL)
		json_object_set_new(out, "verbosity", json_string(verbosity));
	if (f == NULL || json_is_null(f))
		return 0;
	if (!json_is_object(f))
		return bad_type(why, "text.format", f, "an object");
	if (get_str(f, "type", 1, "text.format", &type, why) == -1)
		return -1;
	if (strcmp(type, "text") == 0 || strcmp(type, "json_object") == 0)
		rf = json_pack("{s:s}", "type", type);
	else if (strcmp(type, "json_schema") == 0)
		rf = schema_format(f, why);
	else
		return refuse(why, "invalid_value", "text.format.type",
		    "Invalid value for 'text.format.type': '%s' (text, "
		    "json_object or json_schema).",
		    type);
	if (rf == NULL)
		return -1;
	return json_object_set_new(out, "response_format", rf);
}

static int
put_reasoning(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	const char *effort;

	if (get_str(v, "effort", 0, name, &effort, why) == -1)
		return -1;
	if (effort != NULL)
		json_object_set_new(
		    out, "reasoning_effort", json_string(effort));
	return 0;
}

/* Members read but not forwarded: their shape is still checked. */
static int
put_strings(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	const json_t *e;
	const char *k;
	char p[96];
	size_t i = 0;

	if ((json_is_array(v) ? json_array_size(v) : json_object_size(v)) >
	    R_MAX_LIST)
		return refuse(why, "array_above_max_length", name,
		    "'%s' holds more than %d entries.", name, R_MAX_LIST);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			snprintf(p, sizeof(p), "%s[%zu]", name, i);
			if (!json_is_string(e))
				return bad_type(why, p, e, "a string");
		}
		return 0;
	}
	json_object_foreach((json_t *)v, k, e) {
		snprintf(p, sizeof(p), "%s.%.64s", name, k);
		if (!json_is_string(e))
			return bad_type(why, p, e, "a string");
	}
	return 0;
}

static int
put_truncation(
    const char *name, const json_t *v, json_t *out, struct api_refusal *why)
{
	const char *s = json_string_value(v);

	if (strcmp(s, "disabled") != 0 && strcmp(s, "auto") != 0)
		return refuse(why, "invalid_value", name,
		    "Invalid value for 'truncation': '%s' (auto or "
		    "disabled).",
		    s);
	return 0;
}

/*
 * Every top-level member the subset knows, in the order they are put (model
 * first, instructions before input, so the system message comes first).
 * Null is accepted wherever the API allows it and means absent.
 */
#define NUL JX_NULL
/* clang-format off */
static const struct member {
	const char *name;
	unsigned types;
	int (*put)(const char *, const json_t *, json_t *,
	    struct api_refusal *);
} members[] = {
	{"model",		JX_STRING,		put_copy},
	{"instructions",	JX_STRING | NUL,	put_instructions},
	{"input",		JX_STRING | JX_ARRAY,	put_input},
	{"stream",		JX_BOOL | NUL,		put_stream},
	{"store",		JX_BOOL | NUL,		put_stateful},
	{"background",		JX_BOOL | NUL,		put_stateful},
	{"previous_response_id", JX_STRING | NUL,	put_stateful},
	{"conversation",	JX_STRING | JX_OBJECT | NUL, put_stateful},
	{"tools",		JX_ARRAY | NUL,		put_tools},
	{"tool_choice",		JX_STRING | JX_OBJECT | NUL, put_tool_choice},
	{"parallel_tool_calls",	JX_BOOL | NUL,		put_copy},
	{"max_output_tokens",	JX_INT | NUL,		put_max},
	{"temperature",		JX_NUMBER | NUL,	put_copy},
	{"top_p",		JX_NUMBER | NUL,	put_copy},
	{"text",		JX_OBJECT | NUL,	put_text},
	{"reasoning",		JX_OBJECT | NUL,	put_reasoning},
	{"user",		JX_STRING | NUL,	put_copy},
	{"safety_identifier",	JX_STRING | NUL,	put_copy},
	{"prompt_cache_key",	JX_STRING | NUL,	put_copy},
	{"service_tier",	JX_STRING | NUL,	put_copy},
	/* OpenAI's chat refuses metadata without store: echoed only */
	{"metadata",		JX_OBJECT | NUL,	put_strings},
	/* nothing to include: no encrypted reasoning, no logprobs */
	{"include",		JX_ARRAY | NUL,		put_strings},
	/* tollgate never obfuscates, never truncates */
	{"stream_options",	JX_OBJECT | NUL,	NULL},
	{"truncation",		JX_STRING | NUL,	put_truncation},
};
/* clang-format on */
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

static unsigned
jx_type_of(const json_t *v)
{
	static const unsigned of[] = {
	    [JSON_OBJECT] = JX_OBJECT,
	    [JSON_ARRAY] = JX_ARRAY,
	    [JSON_STRING] = JX_STRING,
	    [JSON_INTEGER] = JX_INT,
	    [JSON_REAL] = JX_REAL,
	    [JSON_TRUE] = JX_BOOL,
	    [JSON_FALSE] = JX_BOOL,
	    [JSON_NULL] = JX_NULL,
	};

	return of[json_typeof(v)];
}

/* Every member known and of a type it may have; 0 or -1 (refused). */
static int
check_members(const json_t *in, struct api_refusal *why)
{
	const char *k;
	const json_t *v;
	size_t i;

	json_object_foreach((json_t *)in, k, v) {
		for (i = 0; i < NMEMBERS; i++)
			if (strcmp(members[i].name, k) == 0)
				break;
		if (i == NMEMBERS)
			return refuse(why, "unknown_parameter", k,
			    "Unknown parameter: '%.64s'.", k);
		if ((jx_type_of(v) & members[i].types) == 0)
			return refuse(why, "invalid_type", k,
			    "Invalid type for '%.64s': got %s.", k,
			    type_name(v));
	}
	if (json_object_get(in, "model") == NULL)
		return refuse(why, "missing_required_parameter", "model",
		    "Missing required parameter: 'model'.");
	if (json_object_get(in, "input") == NULL)
		return refuse(why, "missing_required_parameter", "input",
		    "Missing required parameter: 'input' (tollgate keeps no "
		    "prompts or conversations).");
	return 0;
}

json_t *
responses_to_pivot(const json_t *in, struct api_refusal *why)
{
	json_t *out;
	const json_t *v;
	size_t i;

	memset(why, 0, sizeof(*why));
	if (!json_is_object(in)) {
		refuse(why, "invalid_type", NULL,
		    "The request body must be a JSON object.");
		return NULL;
	}
	if (check_members(in, why) == -1)
		return NULL;
	if ((out = json_pack("{s:[]}", "messages")) == NULL)
		return NULL;
	for (i = 0; i < NMEMBERS; i++) {
		v = json_object_get(in, members[i].name);
		if (v == NULL || json_is_null(v) || members[i].put == NULL)
			continue;
		if (members[i].put(members[i].name, v, out, why) == -1)
			goto fail;
	}
	if (json_array_size(json_object_get(out, "messages")) == 0) {
		refuse(why, "invalid_value", "input",
		    "'input' holds no messages.");
		goto fail;
	}
	return out;
fail:
	/* out of memory leaves why->msg empty: say so rather than nothing */
	if (why->msg[0] == '\0')
		refuse(why, NULL, NULL, "The request could not be translated.");
	json_decref(out);
	return NULL;
}
