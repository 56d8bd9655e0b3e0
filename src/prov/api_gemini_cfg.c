/* api_gemini_cfg.c: a Gemini request's tools, toolConfig, generationConfig and safetySettings as the pivot's */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "prov/api_gemini.h"

/* --- request: tools and configuration ------------------------------------------------- */

/* Gemini's built-in tools: named in the 400, since tollgate runs none. */
static const char *const builtin_tools[] = {"googleSearch",
    "googleSearchRetrieval", "codeExecution", "urlContext", "fileSearch",
    "computerUse", "googleMaps", "retrieval", "enterpriseWebSearch",
    "mcpServers", "exaAiSearch", "parallelAiSearch", NULL};

static const struct gfield decl_fields[] = {{"name", JX_STRING},
    {"description", JX_STRING}, {"parameters", JX_OBJECT},
    {"parametersJsonSchema", JX_OBJECT}, {"response", JX_OBJECT},
    {"responseJsonSchema", JX_OBJECT}, {"behavior", JX_STRING}, {NULL, 0}};

/* One functionDeclaration as a pivot function tool. */
static json_t *
decl_tool(struct api_refusal *why, const json_t *d, const char *p)
{
	json_t *name = gem_mem(d, "name"), *ps = gem_mem(d, "parameters"),
	       *pj = gem_mem(d, "parametersJsonSchema"), *params, *desc;

	if (gem_check(why, d, p, decl_fields, "name") != 0 ||
	    gem_name_ok(why, name, p) != 0)
		return NULL;
	if (ps != NULL && pj != NULL) {
		gem_refuse(why, "invalid_value", p,
		    "%s: parameters or "
		    "parametersJsonSchema, not both",
		    p);
		return NULL;
	}
	if (ps == NULL && pj == NULL)
		params =
		    json_pack("{s:s, s:{}}", "type", "object", "properties");
	else
		params = gem_schema(why, ps != NULL ? ps : pj, p, pj != NULL);
	if (params == NULL)
		return NULL;
	desc = gem_mem(d, "description");
	return json_pack("{s:s, s:{s:O, s:O*, s:o}}", "type", "function",
	    "function", "name", name, "description", desc, "parameters",
	    params);
}

static int
tools(struct api_refusal *why, const json_t *ts, json_t *out)
{
	char p[GEM_PARAM_AT];
	json_t *t, *decls, *d, *list, *v;
	size_t i, j, k;

	if (ts == NULL)
		return 0;
	if (gem_capped(why, ts, GEM_MAX_TOOLS, "tools", 0) != 0 ||
	    (list = json_array()) == NULL || gem_put(why, out, "tools", list))
		return -1;
	json_array_foreach(ts, i, t) {
		snprintf(p, sizeof(p), "tools[%zu]", i);
		if (!json_is_object(t))
			return gem_refuse(
			    why, "invalid_type", p, "%s must be an object", p);
		for (k = 0; builtin_tools[k] != NULL; k++)
			if (gem_mem(t, builtin_tools[k]) != NULL)
				return gem_refuse(why, "unsupported_parameter",
				    p,
				    "%s: %s is not supported: tollgate "
				    "offers function tools only",
				    p, builtin_tools[k]);
		if (gem_check(why, t, p,
			(const struct gfield[]){
			    {"functionDeclarations", JX_ARRAY}, {NULL, 0}},
			"functionDeclarations") != 0)
			return -1;
		decls = gem_mem(t, "functionDeclarations");
		strncat(p, ".functionDeclarations", sizeof(p) - strlen(p) - 1);
		/* The cap is on every tool's declarations together. */
		if (gem_capped(why, decls,
			GEM_MAX_DECLS - json_array_size(list), p, 0) != 0)
			return -1;
		json_array_foreach(decls, j, d) {
			snprintf(p, sizeof(p),
			    "tools[%zu]."
			    "functionDeclarations[%zu]",
			    i, j);
			if ((v = decl_tool(why, d, p)) == NULL ||
			    gem_push(why, list, v) != 0)
				return -1;
		}
	}
	if (json_array_size(list) == 0)
		json_object_del(out, "tools");
	return 0;
}

/* clang-format off */
static const struct {
	const char *gemini, *choice;
} modes[] = {
	{ "MODE_UNSPECIFIED", "auto" },
	{ "AUTO",	      "auto" },
	{ "ANY",	      "required" },
	{ "NONE",	      "none" },
	{ "VALIDATED",	      "auto" }, /* constrained decoding: closest */
	{ NULL, NULL },
};
/* clang-format on */

static const struct gfield fcc_fields[] = {{"mode", JX_STRING},
    {"allowedFunctionNames", JX_ARRAY},
    {"streamFunctionCallArguments", JX_BOOL}, {NULL, 0}};

/*
 * allowedFunctionNames keeps only those tools; ANY with one name forces
 * it (tool_choice naming the function).
 */
static int
allowed_names(
    struct api_refusal *why, json_t *out, const json_t *names, const char *mode)
{
	const char *P = "toolConfig.functionCallingConfig.allowedFunctionNames";
	json_t *list = json_object_get(out, "tools"), *keep, *t = NULL, *n;
	size_t i, j;

	if (gem_capped(why, names, GEM_MAX_DECLS, P, 0) != 0 ||
	    (keep = json_array()) == NULL)
		return -1;
	json_array_foreach(names, i, n) {
		json_array_foreach(list, j, t)
			if (json_equal(n,
				json_object_get(
				    json_object_get(t, "function"), "name")))
				break;
		if (j == json_array_size(list)) {
			json_decref(keep);
			return gem_refuse(why, "invalid_value", P,
			    "%s[%zu] names no functionDeclaration", P, i);
		}
		json_array_append(keep, t);
	}
	if (gem_put(why, out, "tools", keep) != 0)
		return -1;
	if (strcmp(mode, "required") == 0 && json_array_size(keep) == 1)
		return gem_put(why, out, "tool_choice",
		    json_pack("{s:s, s:{s:O}}", "type", "function", "function",
			"name", json_array_get(names, 0)));
	return 0;
}

static int
tool_config(struct api_refusal *why, const json_t *tc, json_t *out)
{
	const char *P = "toolConfig.functionCallingConfig", *m;
	json_t *fcc, *names;
	size_t i;

	if (tc == NULL)
		return 0;
	if (gem_check(why, tc, "toolConfig",
		(const struct gfield[]){{"functionCallingConfig", JX_OBJECT},
		    {"retrievalConfig", JX_OBJECT}, {NULL, 0}},
		NULL) != 0)
		return -1;
	if (gem_mem(tc, "retrievalConfig") != NULL)
		return gem_refuse(why, "unsupported_parameter",
		    "toolConfig.retrievalConfig",
		    "retrievalConfig is not "
		    "supported: tollgate offers function tools only");
	if ((fcc = gem_mem(tc, "functionCallingConfig")) == NULL)
		return 0;
	if (gem_check(why, fcc, P, fcc_fields, NULL) != 0)
		return -1;
	m = json_string_value(gem_mem(fcc, "mode"));
	for (i = 0; m != NULL && modes[i].gemini != NULL &&
	     strcasecmp(m, modes[i].gemini) != 0;
	     i++)
		;
	if (m != NULL && modes[i].gemini == NULL)
		return gem_refuse(why, "invalid_value",
		    "toolConfig.functionCallingConfig.mode",
		    "mode must be AUTO, ANY, NONE or VALIDATED");
	m = m != NULL ? modes[i].choice : "auto";
	if (gem_put(why, out, "tool_choice", json_string(m)) != 0)
		return -1;
	if ((names = gem_mem(fcc, "allowedFunctionNames")) != NULL &&
	    strcmp(m, "none") != 0)
		return allowed_names(why, out, names, m);
	return 0;
}

/* The generationConfig members that map one to one, with their ranges. */
/* clang-format off */
static const struct num_def {
	const char *gemini, *pivot;
	unsigned types;
	double min, max;
} nums[] = {
	{ "temperature",      "temperature",	   JX_NUMBER, 0, 2 },
	{ "topP",	      "top_p",		   JX_NUMBER, 0, 1 },
	{ "topK",	      "top_k",		   JX_INT,    1, 1e6 },
	{ "candidateCount",   "n",		   JX_INT,    1, CHAT_MAX_N },
	{ "maxOutputTokens",  "max_tokens",	   JX_INT,    1, CHAT_MAX_TOKENS_CAP },
	{ "seed",	      "seed",		   JX_INT,    -9.2e18, 9.2e18 },
	{ "presencePenalty",  "presence_penalty",  JX_NUMBER, -2, 2 },
	{ "frequencyPenalty", "frequency_penalty", JX_NUMBER, -2, 2 },
	{ "logprobs",	      "top_logprobs",	   JX_INT,    0, 20 },
	{ "responseLogprobs", "logprobs",	   JX_BOOL,   0, 0 },
	{ NULL, NULL, 0, 0, 0 },
};

static const struct gfield gen_fields[] = {
	{ "temperature",	JX_NUMBER },
	{ "topP",		JX_NUMBER },
	{ "topK",		JX_NUMBER },
	{ "candidateCount",	JX_NUMBER },
	{ "maxOutputTokens",	JX_NUMBER },
	{ "seed",		JX_NUMBER },
	{ "presencePenalty",	JX_NUMBER },
	{ "frequencyPenalty",	JX_NUMBER },
	{ "logprobs",		JX_NUMBER },
	{ "responseLogprobs",	JX_BOOL },
	{ "stopSequences",	JX_ARRAY },
	{ "responseMimeType",	JX_STRING },
	{ "responseSchema",	JX_OBJECT },
	{ "responseJsonSchema", JX_OBJECT },
	{ "thinkingConfig",	JX_OBJECT },
	{ "responseModalities", JX_ARRAY },
	{ NULL, 0 },
};

/* thinkingBudget up to each bound, and thinkingLevel, as reasoning_effort. */
static const struct {
	long long budget;
	const char *level, *effort;
} efforts[] = {
	{ 0,	     "NONE",	"none" },
	{ 0,	     "MINIMAL", "minimal" },
	{ 1024,	     "LOW",	"low" },
	{ 8192,	     "MEDIUM",	"medium" },
	{ LLONG_MAX, "HIGH",	"high" },
	{ 0, NULL, NULL },
};
/* clang-format on */

static const struct gfield think_fields[] = {{"thinkingBudget", JX_INT},
    {"includeThoughts", JX_BOOL}, {"thinkingLevel", JX_STRING}, {NULL, 0}};

/*
 * thinkingConfig as reasoning_effort, by the budgets Gemini's OpenAI
 * endpoint documents (low 1024, medium 8192, high 24576; 0 none); -1
 * (dynamic) leaves the model's default.  includeThoughts has no pivot
 * name: reasoning a provider returns comes back as thought parts.
 */
static int
thinking(struct api_refusal *why, const json_t *tc, json_t *out)
{
	const char *P = "generationConfig.thinkingConfig", *lv;
	json_t *b, *l;
	json_int_t n;
	size_t i;

	if (gem_check(why, tc, P, think_fields, NULL) != 0)
		return -1;
	b = gem_mem(tc, "thinkingBudget");
	l = gem_mem(tc, "thinkingLevel");
	if (b != NULL && l != NULL)
		return gem_refuse(why, "invalid_value", P,
		    "%s: thinkingBudget or "
		    "thinkingLevel, not both",
		    P);
	if (b != NULL) {
		if ((n = json_integer_value(b)) == -1)
			return 0;
		if (n < 0)
			return gem_refuse(why, "invalid_value",
			    "generationConfig.thinkingConfig.thinkingBudget",
			    "thinkingBudget is -1 (dynamic), 0 or more");
		for (i = 0; n > efforts[i].budget || i == 1; i++)
			;
		return gem_put(why, out, "reasoning_effort",
		    json_string(efforts[i].effort));
	}
	if ((lv = json_string_value(l)) == NULL)
		return 0;
	for (i = 1;
	     efforts[i].level != NULL && strcasecmp(lv, efforts[i].level) != 0;
	     i++)
		;
	if (efforts[i].level == NULL)
		return gem_refuse(why, "invalid_value",
		    "generationConfig.thinkingConfig.thinkingLevel",
		    "thinkingLevel must be MINIMAL, LOW, MEDIUM or HIGH");
	return gem_put(
	    why, out, "reasoning_effort", json_string(efforts[i].effort));
}

/* responseMimeType and its schema as response_format. */
static int
response_format(struct api_refusal *why, const json_t *gc, json_t *out)
{
	const char *mt = json_string_value(gem_mem(gc, "responseMimeType"));
	json_t *rs = gem_mem(gc, "responseSchema"),
	       *rj = gem_mem(gc, "responseJsonSchema");
	json_t *s;

	if (rs != NULL && rj != NULL)
		return gem_refuse(why, "invalid_value", "generationConfig",
		    "responseSchema or responseJsonSchema, not both");
	if (mt == NULL || strcmp(mt, "text/plain") == 0) {
		if (rs == NULL && rj == NULL)
			return 0;
		return gem_refuse(why, "invalid_value",
		    "generationConfig.responseMimeType",
		    "a response schema "
		    "needs responseMimeType application/json");
	}
	if (strcmp(mt, "application/json") != 0)
		return gem_refuse(why, "unsupported_value",
		    "generationConfig.responseMimeType",
		    "responseMimeType text/plain or application/json");
	if (rs == NULL && rj == NULL)
		return gem_put(why, out, "response_format",
		    json_pack("{s:s}", "type", "json_object"));
	if ((s = gem_schema(why, rs != NULL ? rs : rj,
		 rs != NULL ? "generationConfig.responseSchema"
			    : "generationConfig.responseJsonSchema",
		 rj != NULL)) == NULL)
		return -1;
	return gem_put(why, out, "response_format",
	    json_pack("{s:s, s:{s:s, s:o}}", "type", "json_schema",
		"json_schema", "name", "response", "schema", s));
}

/* stopSequences and responseModalities: lists of strings. */
static int
lists(struct api_refusal *why, const json_t *gc, json_t *out)
{
	const char *P = "generationConfig.stopSequences";
	json_t *st = gem_mem(gc, "stopSequences"), *rm, *v;
	size_t i;

	if (st != NULL) {
		if (gem_capped(why, st, GEM_MAX_STOP, P, 0) != 0)
			return -1;
		json_array_foreach(st, i, v)
			if (!json_is_string(v))
				return gem_refuse(why, "invalid_type", P,
				    "%s holds strings", P);
		if (json_array_size(st) > 0 &&
		    gem_put(why, out, "stop", json_deep_copy(st)) != 0)
			return -1;
	}
	P = "generationConfig.responseModalities";
	if ((rm = gem_mem(gc, "responseModalities")) != NULL &&
	    gem_capped(why, rm, GEM_MAX_LIST, P, 0) != 0)
		return -1;
	json_array_foreach(rm, i, v)
		if (!json_is_string(v) ||
		    strcasecmp(json_string_value(v), "TEXT") != 0)
			return gem_refuse(why, "unsupported_value", P,
			    "%s: only TEXT is supported", P);
	return 0;
}

static int
gen_config(struct api_refusal *why, const json_t *gc, json_t *out)
{
	char p[GEM_PARAM_AT];
	const struct num_def *d;
	json_t *v;
	double x;

	if (gc == NULL)
		return 0;
	if (gem_check(why, gc, "generationConfig", gen_fields, NULL) != 0)
		return -1;
	for (d = nums; d->gemini != NULL; d++) {
		if ((v = gem_mem(gc, d->gemini)) == NULL)
			continue;
		snprintf(p, sizeof(p), "generationConfig.%s", d->gemini);
		x = json_number_value(v);
		if ((gem_type_of(v) & d->types) == 0 ||
		    (d->types != JX_BOOL && (x < d->min || x > d->max)))
			return gem_refuse(why, "invalid_value", p,
			    "%s must be %s "
			    "from %g to %g",
			    p,
			    d->types == JX_INT ? "an "
						 "integer"
					       : "a number",
			    d->min, d->max);
		if (gem_put(why, out, d->pivot, json_copy(v)) != 0)
			return -1;
	}
	if ((v = gem_mem(gc, "thinkingConfig")) != NULL &&
	    thinking(why, v, out) != 0)
		return -1;
	if (lists(why, gc, out) != 0)
		return -1;
	return response_format(why, gc, out);
}

/* safetySettings go through as an extension a Gemini provider reads. */
static int
safety(struct api_refusal *why, const json_t *ss, json_t *out)
{
	char p[GEM_PARAM_AT];
	json_t *s;
	size_t i;

	if (ss == NULL)
		return 0;
	if (gem_capped(why, ss, GEM_MAX_LIST, "safetySettings", 0) != 0)
		return -1;
	json_array_foreach(ss, i, s) {
		snprintf(p, sizeof(p), "safetySettings[%zu]", i);
		if (gem_check(why, s, p,
			(const struct gfield[]){{"category", JX_STRING},
			    {"threshold", JX_STRING}, {"method", JX_STRING},
			    {NULL, 0}},
			"category") != 0)
			return -1;
	}
	return gem_put(why, out, "safetySettings", json_deep_copy(ss));
}

/* clang-format off */
static const struct gfield top_fields[] = {
	{ "contents",		JX_ARRAY },
	{ "systemInstruction",	JX_OBJECT | JX_STRING },
	{ "tools",		JX_ARRAY },
	{ "toolConfig",		JX_OBJECT },
	{ "generationConfig",	JX_OBJECT },
	{ "safetySettings",	JX_ARRAY },
	{ "cachedContent",	JX_STRING },
	{ "model",		JX_STRING }, /* the URL's wins */
	{ NULL, 0 },
};
/* clang-format on */

/*
 * A generateContent body as the pivot.  The URL holds the model and the
 * stream flag: the caller sets "model" and "stream" after this returns.
 */
json_t *
api_gemini_to_pivot(const json_t *in, struct api_refusal *why)
{
	json_t *out, *msgs;

	memset(why, 0, sizeof(*why));
	if (gem_check(why, in, "", top_fields, "contents") != 0)
		return NULL;
	if (gem_mem(in, "cachedContent") != NULL) {
		gem_refuse(why, "unsupported_parameter", "cachedContent",
		    "cachedContent is not supported: tollgate keeps no "
		    "cached contents");
		return NULL;
	}
	if ((out = json_object()) == NULL || (msgs = json_array()) == NULL ||
	    gem_put(why, out, "messages", msgs) != 0)
		goto fail;
	if (gem_messages(why, gem_mem(in, "systemInstruction"),
		gem_mem(in, "contents"), msgs) != 0 ||
	    tools(why, gem_mem(in, "tools"), out) != 0 ||
	    tool_config(why, gem_mem(in, "toolConfig"), out) != 0 ||
	    gen_config(why, gem_mem(in, "generationConfig"), out) != 0 ||
	    safety(why, gem_mem(in, "safetySettings"), out) != 0 ||
	    gem_put(why, out, "stream_options",
		json_pack("{s:b}", "include_usage", 1)) != 0)
		goto fail;
	return out;
fail:
	if (gem_why_empty(why))
		gem_refuse(why, "out_of_memory", NULL, "out of memory");
	json_decref(out);
	return NULL;
}
