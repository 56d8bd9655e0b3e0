/* api_anthropic_req.c: an Anthropic Messages request checked as Anthropic does and turned into the pivot */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "prov/api_anthropic.h"

/*
 * Anthropic answers a request that breaks its schema with a 400 whose message
 * names the member by a dotted path ("messages.0.content.1.source.type:
 * Input should be 'base64' or 'url'").  The message keeps that form (clients
 * and tools that match Anthropic's wording find it); param gets the
 * OpenAI-style path with brackets.
 */

/* "messages.2.content.0" as "messages[2].content[0]". */
static void
bracket_path(const char *at, char *out, size_t n)
{
	size_t o = 0, k;
	const char *seg = at, *dot;

	out[0] = '\0';
	while (*seg != '\0' && o + 1 < n) {
		dot = strchr(seg, '.');
		k = dot != NULL ? (size_t)(dot - seg) : strlen(seg);
		if (k > 0 && strspn(seg, "0123456789") >= k)
			o += (size_t)snprintf(
			    out + o, n - o, "[%.*s]", (int)k, seg);
		else
			o += (size_t)snprintf(out + o, n - o, "%s%.*s",
			    o > 0 ? "." : "", (int)k, seg);
		if (o >= n || dot == NULL)
			break;
		seg = dot + 1;
	}
}

/* Fill why (message "<at>: <text>", param the bracketed path); -1. */
int
aa_refuse(struct api_refusal *why, const char *at, const char *code,
    const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(why->msg, sizeof(why->msg), "%s: ", at);
	if (k < 0 || (size_t)k >= sizeof(why->msg))
		k = 0;
	va_start(ap, fmt);
	vsnprintf(why->msg + k, sizeof(why->msg) - (size_t)k, fmt, ap);
	va_end(ap);
	bracket_path(at, why->param_buf, sizeof(why->param_buf));
	/* A member named "" has no path to give. */
	why->param = why->param_buf[0] != '\0' ? why->param_buf : NULL;
	why->code = code;
	return -1;
}

/* at + "." + key (or key alone at the top) into out. */
const char *
aa_path_key(char *out, const char *at, const char *key)
{
	/* A path cut short still names where the fault began. */
	if (snprintf(out, AA_PATH_MAX, "%s%s%.64s", at, *at != '\0' ? "." : "",
		key) >= AA_PATH_MAX)
		out[AA_PATH_MAX - 1] = '\0';
	return out;
}

const char *
aa_path_idx(char *out, const char *at, size_t i)
{
	if (snprintf(out, AA_PATH_MAX, "%s.%zu", at, i) >= AA_PATH_MAX)
		out[AA_PATH_MAX - 1] = '\0';
	return out;
}

static unsigned
jtype(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return JX_STRING;
	case JSON_INTEGER:
		return JX_INT;
	case JSON_REAL:
		return JX_REAL;
	case JSON_TRUE:
	case JSON_FALSE:
		return JX_BOOL;
	case JSON_ARRAY:
		return JX_ARRAY;
	case JSON_OBJECT:
		return JX_OBJECT;
	default:
		return JX_NULL;
	}
}

/* Pydantic's words, which Anthropic's messages use. */
static const char *
type_words(unsigned types)
{
	static const struct {
		unsigned t;
		const char *w;
	} words[] = {
	    {JX_STRING | JX_ARRAY, "a valid string or a valid list"},
	    {JX_STRING, "a valid string"},
	    {JX_INT, "a valid integer"},
	    {JX_NUMBER, "a valid number"},
	    {JX_BOOL, "a valid boolean"},
	    {JX_ARRAY, "a valid list"},
	    {JX_OBJECT, "a valid dictionary"},
	};
	size_t i;

	types &= ~(unsigned)JX_NULL;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (words[i].t == types)
			return words[i].w;
	return "of another type";
}

/*
 * Every member of o listed in spec with an allowed type, the required ones
 * present (a null where JX_NULL is allowed counts as absent).
 */
int
aa_check_members(const json_t *o, const struct aa_field *spec, const char *at,
    struct api_refusal *why)
{
	const char *key;
	const json_t *v;
	const struct aa_field *f;
	char p[AA_PATH_MAX];

	json_object_foreach((json_t *)o, key, v) {
		for (f = spec; f->name != NULL; f++)
			if (strcmp(f->name, key) == 0)
				break;
		if (f->name == NULL)
			return aa_refuse(why, aa_path_key(p, at, key),
			    "unknown_field", "Extra inputs are not permitted");
		if ((jtype(v) & f->types) == 0)
			return aa_refuse(why, aa_path_key(p, at, key),
			    "invalid_type", "Input should be %s",
			    type_words(f->types));
	}
	for (f = spec; f->name != NULL; f++) {
		v = json_object_get(o, f->name);
		if (f->required && (v == NULL || json_is_null(v)))
			return aa_refuse(why, aa_path_key(p, at, f->name),
			    "missing_field", "Field required");
	}
	return 0;
}

const json_t *
aa_get(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return v != NULL && !json_is_null(v) ? v : NULL;
}

/* A block's "type": present and a string. */
int
aa_block_type(
    const json_t *b, const char *at, struct api_refusal *why, const char **type)
{
	char p[AA_PATH_MAX];

	if (!json_is_object(b))
		return aa_refuse(why, at, "invalid_type",
		    "Input should be a valid dictionary");
	*type = jx_str(b, "type");
	if (*type == NULL)
		return aa_refuse(why, aa_path_key(p, at, "type"),
		    "missing_field",
		    json_object_get(b, "type") == NULL
			? "Field required"
			: "Input should be a valid string");
	return 0;
}

int
aa_set_new(json_t *o, const char *k, json_t *v)
{
	return v != NULL && json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

int
aa_set_copy(json_t *o, const char *k, const json_t *v)
{
	return json_object_set_new(o, k, json_deep_copy(v));
}

/* cache_control: {"type":"ephemeral", "ttl"?: "5m"|"1h"}, kept on the part. */
int
aa_cache_control(
    const json_t *b, const char *at, json_t *part, struct api_refusal *why)
{
	static const struct aa_field f[] = {
	    {"type", JX_STRING, 1}, {"ttl", JX_STRING, 0}, {NULL, 0, 0}};
	const json_t *cc = aa_get(b, "cache_control");
	const char *ttl;
	char p[AA_PATH_MAX], q[AA_PATH_MAX];

	if (cc == NULL)
		return 0;
	aa_path_key(p, at, "cache_control");
	if (aa_check_members(cc, f, p, why) < 0)
		return -1;
	if (strcmp(jx_str(cc, "type"), "ephemeral") != 0)
		return aa_refuse(why, aa_path_key(q, p, "type"),
		    "invalid_value", "Input should be 'ephemeral'");
	ttl = jx_str(cc, "ttl");
	if (ttl != NULL && strcmp(ttl, "5m") != 0 && strcmp(ttl, "1h") != 0)
		return aa_refuse(why, aa_path_key(q, p, "ttl"), "invalid_value",
		    "Input should be '5m' or '1h'");
	return aa_set_copy(part, "cache_control", cc) == 0 ? 0 : -1;
}

static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= AA_MAX_NAME &&
	    strspn(s,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789_-") == n;
}

static int
conv_tool(
    const json_t *t, const char *at, json_t *tools, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"type", JX_STRING | JX_NULL, 0},
	    {"name", JX_STRING, 1}, {"description", JX_STRING | JX_NULL, 0},
	    {"input_schema", JX_OBJECT, 1},
	    {"cache_control", JX_OBJECT | JX_NULL, 0}, {NULL, 0, 0}};
	const char *type, *st;
	const json_t *schema;
	json_t *fn, *tool;
	char p[AA_PATH_MAX], q[AA_PATH_MAX];

	if (!json_is_object(t))
		return aa_refuse(why, at, "invalid_type",
		    "Input should be a valid dictionary");
	/* Server tools (web search, code execution) bill per use. */
	type = jx_str(t, "type");
	if (type != NULL && strcmp(type, "custom") != 0)
		return aa_refuse(why, aa_path_key(p, at, "type"),
		    "unsupported_value",
		    "server tool '%.40s' is not supported: only custom tools "
		    "{name, description, input_schema}",
		    type);
	if (aa_check_members(t, f, at, why) < 0)
		return -1;
	if (!name_ok(jx_str(t, "name")))
		return aa_refuse(why, aa_path_key(p, at, "name"),
		    "invalid_value",
		    "String should match pattern '^[a-zA-Z0-9_-]{1,%d}$'",
		    AA_MAX_NAME);
	schema = json_object_get(t, "input_schema");
	st = jx_str(schema, "type");
	if (st == NULL || strcmp(st, "object") != 0)
		return aa_refuse(why,
		    aa_path_key(q, aa_path_key(p, at, "input_schema"), "type"),
		    "invalid_value", "Input should be 'object'");
	fn = json_pack(
	    "{s:s, s:O}", "name", jx_str(t, "name"), "parameters", schema);
	tool = json_pack("{s:s, s:o}", "type", "function", "function", fn);
	if (tool == NULL || json_array_append_new(tools, tool) != 0)
		return -1;
	if (aa_get(t, "description") != NULL &&
	    aa_set_copy(fn, "description", aa_get(t, "description")) != 0)
		return -1;
	return aa_cache_control(t, at, tool, why);
}

static int
conv_tools(const json_t *in, json_t *out, struct api_refusal *why)
{
	const json_t *tools = aa_get(in, "tools"), *t;
	json_t *list;
	char p[AA_PATH_MAX];
	size_t i, j;

	if (tools == NULL)
		return 0;
	if (json_array_size(tools) > AA_MAX_TOOLS)
		return aa_refuse(
		    why, "tools", "too_many", "at most %d tools", AA_MAX_TOOLS);
	if ((list = json_array()) == NULL ||
	    json_object_set_new(out, "tools", list) != 0)
		return -1;
	json_array_foreach(tools, i, t)
		if (conv_tool(t, aa_path_idx(p, "tools", i), list, why) < 0)
			return -1;
	for (i = 0; i < json_array_size(tools); i++)
		for (j = 0; j < i; j++)
			if (strcmp(jx_str(json_array_get(tools, i), "name"),
				jx_str(json_array_get(tools, j), "name")) == 0)
				return aa_refuse(why, "tools", "invalid_value",
				    "Tool names must be unique.");
	if (json_array_size(list) == 0)
		json_object_del(out, "tools");
	return 0;
}

/*
 * tool_choice auto | any | tool {name} | none -> auto | required |
 * {function {name}} | none; disable_parallel_tool_use -> parallel_tool_calls
 * false.
 */
static int
conv_tool_choice(const json_t *in, json_t *out, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"type", JX_STRING, 1},
	    {"name", JX_STRING, 0},
	    {"disable_parallel_tool_use", JX_BOOL | JX_NULL, 0}, {NULL, 0, 0}};
	static const struct aa_field fnone[] = {
	    {"type", JX_STRING, 1}, {NULL, 0, 0}};
	static const char *const map[][2] = {{"auto", "auto"},
	    {"any", "required"}, {"none", "none"}, {"tool", NULL}};
	const json_t *tc = aa_get(in, "tool_choice");
	const char *t;
	json_t *v;
	size_t i;

	if (tc == NULL)
		return 0;
	if (aa_block_type(tc, "tool_choice", why, &t) < 0)
		return -1;
	for (i = 0; i < 4 && strcmp(map[i][0], t) != 0; i++)
		;
	if (i == 4)
		return aa_refuse(why, "tool_choice.type", "invalid_value",
		    "Input should be 'auto', 'any', 'tool' or 'none'");
	if (aa_check_members(
		tc, strcmp(t, "none") == 0 ? fnone : f, "tool_choice", why) < 0)
		return -1;
	if (strcmp(t, "tool") == 0 && jx_str(tc, "name") == NULL)
		return aa_refuse(
		    why, "tool_choice.name", "missing_field", "Field required");
	if (strcmp(t, "tool") != 0 && jx_str(tc, "name") != NULL)
		return aa_refuse(why, "tool_choice.name", "unknown_field",
		    "Extra inputs are not permitted");
	v = map[i][1] != NULL ? json_string(map[i][1])
			      : json_pack("{s:s, s:{s:s}}", "type", "function",
				    "function", "name", jx_str(tc, "name"));
	if (aa_set_new(out, "tool_choice", v) != 0)
		return -1;
	if (json_is_true(aa_get(tc, "disable_parallel_tool_use")))
		return json_object_set_new(
		    out, "parallel_tool_calls", json_false());
	return 0;
}

static int
conv_stops(const json_t *in, json_t *out, struct api_refusal *why)
{
	const json_t *stops = aa_get(in, "stop_sequences"), *s;
	char p[AA_PATH_MAX];
	size_t i;

	if (stops == NULL)
		return 0;
	if (json_array_size(stops) > AA_MAX_STOPS)
		return aa_refuse(why, "stop_sequences", "too_many",
		    "at most %d stop sequences", AA_MAX_STOPS);
	json_array_foreach(stops, i, s)
		if (!json_is_string(s))
			return aa_refuse(why,
			    aa_path_idx(p, "stop_sequences", i), "invalid_type",
			    "Input should be a valid string");
	if (json_array_size(stops) == 0)
		return 0;
	return aa_set_copy(out, "stop", stops) == 0 ? 0 : -1;
}

/*
 * thinking {type enabled, budget_tokens >= 1024 and < max_tokens} | {type
 * disabled} | {type adaptive}: kept whole as the extension "thinking".
 */
static int
conv_thinking_param(const json_t *in, json_t *out, struct api_refusal *why)
{
	static const struct aa_field fe[] = {
	    {"type", JX_STRING, 1}, {"budget_tokens", JX_INT, 1}, {NULL, 0, 0}};
	static const struct aa_field fd[] = {
	    {"type", JX_STRING, 1}, {NULL, 0, 0}};
	const json_t *th = aa_get(in, "thinking");
	const char *t;
	json_int_t budget;

	if (th == NULL)
		return 0;
	if (aa_block_type(th, "thinking", why, &t) < 0)
		return -1;
	if (strcmp(t, "enabled") != 0 && strcmp(t, "disabled") != 0 &&
	    strcmp(t, "adaptive") != 0)
		return aa_refuse(why, "thinking.type", "invalid_value",
		    "Input should be 'enabled', 'disabled' or 'adaptive'");
	if (aa_check_members(
		th, strcmp(t, "enabled") == 0 ? fe : fd, "thinking", why) < 0)
		return -1;
	if (strcmp(t, "enabled") == 0) {
		budget =
		    json_integer_value(json_object_get(th, "budget_tokens"));
		if (budget < 1024)
			return aa_refuse(why, "thinking.budget_tokens",
			    "invalid_value",
			    "Input should be greater than or equal to 1024");
		if (budget >=
		    json_integer_value(json_object_get(in, "max_tokens")))
			return aa_refuse(why, "max_tokens", "invalid_value",
			    "`max_tokens` must be greater than "
			    "`thinking.budget_tokens`");
	}
	return aa_set_copy(out, "thinking", th) == 0 ? 0 : -1;
}

static int
conv_metadata(const json_t *in, json_t *out, struct api_refusal *why)
{
	static const struct aa_field f[] = {
	    {"user_id", JX_STRING | JX_NULL, 0}, {NULL, 0, 0}};
	const json_t *md = aa_get(in, "metadata");

	if (md == NULL)
		return 0;
	if (aa_check_members(md, f, "metadata", why) < 0)
		return -1;
	if (aa_get(md, "user_id") == NULL)
		return 0;
	if (json_string_length(aa_get(md, "user_id")) > 256)
		return aa_refuse(why, "metadata.user_id", "invalid_value",
		    "String should have at most 256 characters");
	return aa_set_copy(out, "user", aa_get(md, "user_id")) == 0 ? 0 : -1;
}

/* A number member within [lo, hi] (hi < 0: no upper bound). */
static int
in_range(const json_t *in, const char *k, double lo, double hi,
    struct api_refusal *why)
{
	const json_t *v = aa_get(in, k);
	double d;

	if (v == NULL)
		return 0;
	d = json_number_value(v);
	if (d < lo)
		return aa_refuse(why, k, "invalid_value",
		    "Input should be greater than or equal to %g", lo);
	if (hi >= 0 && d > hi)
		return aa_refuse(why, k, "invalid_value",
		    "Input should be less than or equal to %g", hi);
	return 0;
}

static const struct aa_field top_fields[] = {
    {"model", JX_STRING, 1},
    {"max_tokens", JX_INT, 1},
    {"messages", JX_ARRAY, 1},
    {"system", JX_STRING | JX_ARRAY | JX_NULL, 0},
    {"tools", JX_ARRAY | JX_NULL, 0},
    {"tool_choice", JX_OBJECT | JX_NULL, 0},
    {"stop_sequences", JX_ARRAY | JX_NULL, 0},
    {"temperature", JX_NUMBER | JX_NULL, 0},
    {"top_p", JX_NUMBER | JX_NULL, 0},
    {"top_k", JX_INT | JX_NULL, 0},
    {"stream", JX_BOOL | JX_NULL, 0},
    {"metadata", JX_OBJECT | JX_NULL, 0},
    {"thinking", JX_OBJECT | JX_NULL, 0},
    /* auto | standard_only: both the standard tier the catalogue prices */
    {"service_tier", JX_STRING | JX_NULL, 0},
    {NULL, 0, 0},
};

/* The checks of the top level's scalars. */
static int
check_top(const json_t *in, struct api_refusal *why)
{
	const char *tier;

	if (aa_check_members(in, top_fields, "", why) < 0)
		return -1;
	if (*jx_str(in, "model") == '\0')
		return aa_refuse(why, "model", "invalid_value",
		    "String should have at least 1 character");
	if (json_integer_value(json_object_get(in, "max_tokens")) < 1)
		return aa_refuse(why, "max_tokens", "invalid_value",
		    "Input should be greater than or equal to 1");
	if (in_range(in, "temperature", 0, 1, why) < 0 ||
	    in_range(in, "top_p", 0, 1, why) < 0 ||
	    in_range(in, "top_k", 0, -1, why) < 0)
		return -1;
	tier = jx_str(in, "service_tier");
	if (tier != NULL && strcmp(tier, "auto") != 0 &&
	    strcmp(tier, "standard_only") != 0)
		return aa_refuse(why, "service_tier", "invalid_value",
		    "Input should be 'auto' or 'standard_only'");
	if (json_array_size(json_object_get(in, "messages")) == 0)
		return aa_refuse(why, "messages", "invalid_value",
		    "at least one message is required");
	if (json_array_size(json_object_get(in, "messages")) > AA_MAX_MESSAGES)
		return aa_refuse(why, "messages", "too_many",
		    "at most %d messages", AA_MAX_MESSAGES);
	return 0;
}

static int
conv_scalars(const json_t *in, json_t *out)
{
	static const char *const same[] = {
	    "model", "max_tokens", "temperature", "top_p", "top_k"};
	size_t i;
	int stream = json_is_true(aa_get(in, "stream"));

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (aa_get(in, same[i]) != NULL &&
		    aa_set_copy(out, same[i], aa_get(in, same[i])) != 0)
			return -1;
	if (aa_set_new(out, "stream", json_boolean(stream)) != 0)
		return -1;
	/* Usage always comes, so the charge never falls back on estimates. */
	if (stream &&
	    aa_set_new(out, "stream_options",
		json_pack("{s:b}", "include_usage", 1)) != 0)
		return -1;
	return 0;
}

json_t *
api_anthropic_to_pivot(const json_t *in, struct api_refusal *why)
{
	json_t *out = NULL, *msgs;
	const json_t *m;
	char p[AA_PATH_MAX];
	size_t i;

	memset(why, 0, sizeof(*why));
	if (!json_is_object(in)) {
		aa_refuse(why, "body", "invalid_type",
		    "Input should be a valid dictionary");
		return NULL;
	}
	if (check_top(in, why) < 0)
		return NULL;
	if ((out = json_object()) == NULL || conv_scalars(in, out) < 0)
		goto oom;
	if ((msgs = json_array()) == NULL ||
	    json_object_set_new(out, "messages", msgs) != 0)
		goto oom;
	if (aa_get(in, "system") != NULL &&
	    aa_conv_system(aa_get(in, "system"), msgs, why) < 0)
		goto fail;
	json_array_foreach(json_object_get(in, "messages"), i, m)
		if (aa_conv_message(
			m, aa_path_idx(p, "messages", i), msgs, why) < 0)
			goto fail;
	if (conv_tools(in, out, why) < 0 ||
	    conv_tool_choice(in, out, why) < 0 ||
	    conv_stops(in, out, why) < 0 ||
	    conv_thinking_param(in, out, why) < 0 ||
	    conv_metadata(in, out, why) < 0)
		goto fail;
	return out;
oom:
fail:
	/*
	 * A converter that ran out of memory left no message: say so, with
	 * the code "out_of_memory" so the caller answers 500, not 400.
	 */
	if (why->msg[0] == '\0') {
		snprintf(why->msg, sizeof(why->msg), "out of memory");
		why->code = "out_of_memory";
		why->param = NULL;
	}
	json_decref(out);
	return NULL;
}
