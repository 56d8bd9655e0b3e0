/* api_gemini_req.c: a Gemini request's contents and systemInstruction as the pivot's messages */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "prov/api_gemini.h"

/* --- request: helpers ----------------------------------------------------------------- */

/*
 * The REST API is proto-JSON: it reads lowerCamelCase and snake_case
 * member names alike ("systemInstruction", "system_instruction").
 */
static int
key_is(const char *k, const char *camel)
{
	for (; *camel != '\0'; k++, camel++) {
		if (k[0] == '_' && k[1] >= 'a' && k[1] <= 'z' &&
		    *camel == k[1] - 'a' + 'A') {
			k++;
			continue;
		}
		if (*k != *camel)
			return 0;
	}
	return *k == '\0';
}

/* The member of o named camel (or its snake_case), borrowed; NULL none. */
json_t *
gem_mem(const json_t *o, const char *camel)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v)
		if (key_is(k, camel))
			return v;
	return NULL;
}

/* Fill *why (a 400); -1 always, so callers return gem_refuse(...). */
int
gem_refuse(struct api_refusal *why, const char *code, const char *param,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why->msg, GEM_PARAM_AT, fmt, ap);
	va_end(ap);
	why->code = code;
	why->param = NULL;
	if (param != NULL && *param != '\0') {
		snprintf(why->msg + GEM_PARAM_AT,
		    sizeof(why->msg) - GEM_PARAM_AT, "%s", param);
		why->param = why->msg + GEM_PARAM_AT;
	}
	return -1;
}

unsigned
gem_type_of(const json_t *v)
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

/*
 * Every member of o (at path where) is in spec, once, of an allowed type;
 * required names members that must be there (NULL: none).  0 or -1.
 */
int
gem_check(struct api_refusal *why, const json_t *o, const char *where,
    const struct gfield *spec, const char *required)
{
	char p[GEM_PARAM_AT];
	const char *k;
	uint64_t seen = 0;
	json_t *v;
	size_t i;

	if (!json_is_object(o))
		return gem_refuse(why, "invalid_type", where,
		    "%s must be an object", *where ? where : "the body");
	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; spec[i].name != NULL && !key_is(k, spec[i].name);
		     i++)
			;
		snprintf(p, sizeof(p), "%s%s%.64s", where, *where ? "." : "",
		    spec[i].name != NULL ? spec[i].name : k);
		if (spec[i].name == NULL)
			return gem_refuse(why, "unknown_parameter", p,
			    "Unknown name \"%.64s\" at '%s'", k,
			    *where ? where : "request");
		if (seen & (1ull << i))
			return gem_refuse(
			    why, "invalid_value", p, "%s is given twice", p);
		seen |= 1ull << i;
		if ((gem_type_of(v) & spec[i].types) == 0)
			return gem_refuse(
			    why, "invalid_type", p, "%s has the wrong type", p);
	}
	if (required != NULL && gem_mem(o, required) == NULL)
		return gem_refuse(why, "missing_required_parameter", where,
		    "%s%s%s is required", where, *where ? "." : "", required);
	return 0;
}

int
gem_why_empty(const struct api_refusal *why)
{
	return why->msg[0] == '\0';
}

/* Set k on o to v (stolen); -1 when out of memory. */
int
gem_put(struct api_refusal *why, json_t *o, const char *k, json_t *v)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		return gem_refuse(why, "out_of_memory", NULL, "out of memory");
	return 0;
}

int
gem_push(struct api_refusal *why, json_t *a, json_t *v)
{
	if (v == NULL || json_array_append_new(a, v) != 0)
		return gem_refuse(why, "out_of_memory", NULL, "out of memory");
	return 0;
}

/* An array member within its cap (at path p); 0 or -1. */
int
gem_capped(struct api_refusal *why, const json_t *a, size_t cap, const char *p,
    int nonempty)
{
	if (json_array_size(a) > cap)
		return gem_refuse(why, "array_above_max_length", p,
		    "%s holds more than %zu elements", p, cap);
	if (nonempty && json_array_size(a) == 0)
		return gem_refuse(
		    why, "empty_array", p, "%s must not be empty", p);
	return 0;
}

/* --- request: schemas ----------------------------------------------------------------- */

/*
 * Gemini's Schema is an OpenAPI subset whose types the SDK writes in
 * capitals ("OBJECT") and whose nullable is a flag; the pivot's tools and
 * response_format take JSON Schema.  Converts s in place (a copy).
 */
static int
schema_fix(struct api_refusal *why, json_t *s, const char *p, int depth)
{
	json_t *t = json_object_get(s, "type"), *n, *v;
	const char *k;
	char lo[32];
	size_t i;

	if (!json_is_object(s))
		return gem_refuse(why, "invalid_type", p,
		    "%s: a schema must be an object", p);
	if (depth > GEM_SCHEMA_DEPTH)
		return gem_refuse(
		    why, "invalid_value", p, "%s nests too deep", p);
	if (json_is_string(t) && json_string_length(t) < sizeof(lo)) {
		snprintf(lo, sizeof(lo), "%s", json_string_value(t));
		for (i = 0; lo[i] != '\0'; i++)
			if (lo[i] >= 'A' && lo[i] <= 'Z')
				lo[i] = (char)(lo[i] - 'A' + 'a');
		if (json_is_true(json_object_get(s, "nullable")))
			v = json_pack("[s,s]", lo, "null");
		else
			v = json_string(lo);
		if (gem_put(why, s, "type", v) != 0)
			return -1;
	}
	json_object_del(s, "nullable");
	if ((v = json_object_get(s, "items")) != NULL &&
	    schema_fix(why, v, p, depth + 1) != 0)
		return -1;
	if (json_is_object(n = json_object_get(s, "properties")))
		json_object_foreach(n, k, v)
			if (schema_fix(why, v, p, depth + 1) != 0)
				return -1;
	if (json_is_array(n = json_object_get(s, "anyOf")))
		json_array_foreach(n, i, v)
			if (schema_fix(why, v, p, depth + 1) != 0)
				return -1;
	return 0;
}

/* A converted copy of a Schema member, or a copy of a JSON Schema one. */
json_t *
gem_schema(struct api_refusal *why, const json_t *s, const char *p, int json)
{
	json_t *c;

	if (!json_is_object(s)) {
		gem_refuse(why, "invalid_type", p, "%s must be an object", p);
		return NULL;
	}
	if ((c = json_deep_copy(s)) == NULL) {
		gem_refuse(why, "out_of_memory", NULL, "out of memory");
		return NULL;
	}
	if (!json && schema_fix(why, c, p, 0) != 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* --- request: contents ---------------------------------------------------------------- */

/* The translation of one request. */
struct gx {
	struct api_refusal *why;
	json_t *msgs;  /* the pivot's messages */
	json_t *calls; /* every functionCall so far: [id, name, answered] */
	/*
	 * The calls by id and by name: key -> [passed, index, index...],
	 * passed counting the leading indexes already answered, so each
	 * answer finds its call in time linear in the calls overall.
	 */
	json_t *byid, *byname;
};

/* Remember call idx under key in map. */
static int
index_add(json_t *map, const char *key, size_t idx)
{
	json_t *l = json_object_get(map, key);

	if (l == NULL &&
	    ((l = json_pack("[i]", 0)) == NULL ||
		json_object_set_new(map, key, l) != 0))
		return -1;
	return json_array_append_new(l, json_integer((json_int_t)idx));
}

/* The first unanswered call remembered under key, or NULL. */
static json_t *
index_next(const struct gx *g, json_t *map, const char *key)
{
	json_t *l = json_object_get(map, key), *c = NULL;
	size_t cur;

	if (l == NULL)
		return NULL;
	for (cur = (size_t)json_integer_value(json_array_get(l, 0)) + 1;
	     cur < json_array_size(l); cur++) {
		c = json_array_get(g->calls,
		    (size_t)json_integer_value(json_array_get(l, cur)));
		if (!json_is_true(json_array_get(c, 2)))
			break;
	}
	json_array_set_new(l, 0, json_integer((json_int_t)cur - 1));
	return cur < json_array_size(l) ? c : NULL;
}

enum pkind { PK_TEXT = 0, PK_INLINE, PK_FILE, PK_CALL, PK_RESP, PK__MAX };

/* clang-format off */
static const struct gfield part_fields[] = {
	{ "text",		 JX_STRING },	/* PK_TEXT */
	{ "inlineData",		 JX_OBJECT },	/* PK_INLINE */
	{ "fileData",		 JX_OBJECT },	/* PK_FILE */
	{ "functionCall",	 JX_OBJECT },	/* PK_CALL */
	{ "functionResponse",	 JX_OBJECT },	/* PK_RESP */
	{ "thought",		 JX_BOOL },
	{ "thoughtSignature",	 JX_STRING },
	{ "partMetadata",	 JX_OBJECT },	/* the client's own: dropped */
	{ "mediaResolution",	 JX_OBJECT | JX_STRING }, /* a hint: dropped */
	{ "executableCode",	 JX_OBJECT },
	{ "codeExecutionResult", JX_OBJECT },
	{ "toolCall",		 JX_OBJECT },
	{ "toolResponse",	 JX_OBJECT },
	{ NULL, 0 },
};
/* clang-format on */

/* Which data member a part holds (exactly one), or -1 refused. */
static int
part_kind(struct api_refusal *why, const json_t *part, const char *p)
{
	int k, kind = -1;

	if (gem_check(why, part, p, part_fields, NULL) != 0)
		return -1;
	if (gem_mem(part, "executableCode") != NULL ||
	    gem_mem(part, "codeExecutionResult") != NULL ||
	    gem_mem(part, "toolCall") != NULL ||
	    gem_mem(part, "toolResponse") != NULL)
		return gem_refuse(why, "unsupported_parameter", p,
		    "%s: code execution and built-in tool parts are not "
		    "supported",
		    p);
	for (k = 0; k < PK__MAX; k++) {
		if (gem_mem(part, part_fields[k].name) == NULL)
			continue;
		if (kind != -1)
			return gem_refuse(why, "invalid_value", p,
			    "%s holds more than one kind of data", p);
		kind = k;
	}
	if (kind == -1)
		return gem_refuse(why, "invalid_value", p,
		    "%s holds no data (text, inlineData, fileData, "
		    "functionCall or functionResponse)",
		    p);
	return kind;
}

/* A MIME type fit to stand in a data: URL. */
static int
mime_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i] != '\0'; i++)
		if (strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789.+-/",
			m[i]) == NULL)
			return 0;
	return i > 0 && i < 128 && strchr(m, '/') != NULL;
}

/*
 * "data:<mime>;base64,<data>" with data checked as base64; proto-JSON also
 * takes the URL-safe alphabet, which becomes the standard one.  NULL with
 * *why filled when data is not base64.
 */
static json_t *
data_url(struct api_refusal *why, const char *mime, const json_t *data,
    const char *p)
{
	size_t n = json_string_length(data), h = strlen(mime) + 13, i;
	const char *d = json_string_value(data);
	json_t *s;
	char *u;

	if ((u = malloc(h + n + 1)) == NULL) {
		gem_refuse(why, "out_of_memory", NULL, "out of memory");
		return NULL;
	}
	snprintf(u, h + 1, "data:%s;base64,", mime);
	for (i = 0; i < n; i++) {
		if (d[i] == '-' || d[i] == '_')
			u[h + i] = d[i] == '-' ? '+' : '/';
		else if ((d[i] >= 'a' && d[i] <= 'z') ||
		    (d[i] >= 'A' && d[i] <= 'Z') ||
		    (d[i] >= '0' && d[i] <= '9') || d[i] == '+' ||
		    d[i] == '/' || d[i] == '=')
			u[h + i] = d[i];
		else {
			free(u);
			gem_refuse(
			    why, "invalid_value", p, "%s is not base64", p);
			return NULL;
		}
	}
	u[h + n] = '\0';
	s = json_stringn_nocheck(u, h + n);
	free(u);
	return s;
}

static const struct gfield blob_fields[] = {{"mimeType", JX_STRING},
    {"data", JX_STRING}, {"fileUri", JX_STRING}, {"displayName", JX_STRING},
    {NULL, 0}};

/*
 * inlineData as a pivot part: images as image_url data: URLs, PDFs as a
 * file part, WAV and MP3 as input_audio; anything else is refused.
 */
static json_t *
inline_part(struct api_refusal *why, const json_t *b, const char *p)
{
	const char *mime = jx_str(b, "mimeType");
	json_t *data = gem_mem(b, "data"), *u;

	if (gem_check(why, b, p, blob_fields, "data") != 0 ||
	    gem_mem(b, "fileUri") != NULL ||
	    (mime = json_string_value(gem_mem(b, "mimeType"))) == NULL ||
	    !mime_ok(mime)) {
		if (gem_why_empty(why))
			gem_refuse(why, "invalid_value", p,
			    "%s needs a mimeType "
			    "and data (base64)",
			    p);
		return NULL;
	}
	if (strncmp(mime, "image/", 6) == 0) {
		if ((u = data_url(why, mime, data, p)) == NULL)
			return NULL;
		return json_pack("{s:s, s:{s:o}}", "type", "image_url",
		    "image_url", "url", u);
	}
	if (strcmp(mime, "application/pdf") == 0) {
		if ((u = data_url(why, mime, data, p)) == NULL)
			return NULL;
		return json_pack("{s:s, s:{s:s, s:o}}", "type", "file", "file",
		    "filename", "document.pdf", "file_data", u);
	}
	if (strcmp(mime, "audio/wav") == 0 || strcmp(mime, "audio/mp3") == 0 ||
	    strcmp(mime, "audio/mpeg") == 0) {
		if ((u = data_url(why, mime, data, p)) == NULL)
			return NULL;
		json_decref(u); /* checked; input_audio takes the bare data */
		return json_pack("{s:s, s:{s:O, s:s}}", "type", "input_audio",
		    "input_audio", "data", data, "format",
		    strcmp(mime, "audio/wav") == 0 ? "wav" : "mp3");
	}
	gem_refuse(why, "unsupported_value", p,
	    "%s: %.40s is not supported (images, PDF, WAV, MP3)", p, mime);
	return NULL;
}

/* fileData as a pivot part: an image by http(s) URL; nothing else. */
static json_t *
file_part(struct api_refusal *why, const json_t *b, const char *p)
{
	const char *uri, *mime;

	if (gem_check(why, b, p, blob_fields, "fileUri") != 0)
		return NULL;
	uri = json_string_value(gem_mem(b, "fileUri"));
	mime = json_string_value(gem_mem(b, "mimeType"));
	if (gem_mem(b, "data") != NULL ||
	    (mime != NULL && strncmp(mime, "image/", 6) != 0) ||
	    (strncmp(uri, "https://", 8) != 0 &&
		strncmp(uri, "http://", 7) != 0)) {
		gem_refuse(why, "unsupported_value", p,
		    "%s: only images by http(s) URL are supported", p);
		return NULL;
	}
	return json_pack(
	    "{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", uri);
}

static const struct gfield call_fields[] = {
    {"name", JX_STRING}, {"args", JX_OBJECT}, {"id", JX_STRING}, {NULL, 0}};
static const struct gfield resp_fields[] = {
    {"name", JX_STRING}, {"response", JX_OBJECT}, {"id", JX_STRING}, {NULL, 0}};

int
gem_name_ok(struct api_refusal *why, const json_t *n, const char *p)
{
	if (json_string_length(n) == 0 || json_string_length(n) > GEM_MAX_NAME)
		return gem_refuse(why, "invalid_value", p,
		    "%s: a name of 1 to %d bytes", p, GEM_MAX_NAME);
	return 0;
}

/* A functionCall as a pivot tool call, remembered for its answer. */
static json_t *
call_part(struct gx *g, const json_t *c, const char *p)
{
	json_t *name = gem_mem(c, "name"), *id = gem_mem(c, "id"), *args, *tc;
	char gen[32], *a;

	if (gem_check(g->why, c, p, call_fields, "name") != 0 ||
	    gem_name_ok(g->why, name, p) != 0)
		return NULL;
	snprintf(gen, sizeof(gen), "call_%zu", json_array_size(g->calls) + 1);
	args = gem_mem(c, "args");
	if ((a = args != NULL ? jx_dump(args) : strdup("{}")) == NULL)
		return NULL;
	tc = json_pack("{s:s, s:s, s:{s:O, s:s}}", "id",
	    id != NULL ? json_string_value(id) : gen, "type", "function",
	    "function", "name", name, "arguments", a);
	free(a);
	if (tc == NULL ||
	    gem_push(g->why, g->calls,
		json_pack("[O,O,b]", json_object_get(tc, "id"), name, 0)) !=
		0 ||
	    index_add(g->byid, jx_str(tc, "id"),
		json_array_size(g->calls) - 1) != 0 ||
	    index_add(g->byname, json_string_value(name),
		json_array_size(g->calls) - 1) != 0) {
		json_decref(tc);
		return NULL;
	}
	return tc;
}

/*
 * A functionResponse as a pivot tool message answering the call with its
 * id, else the first unanswered call of its name.
 */
static int
resp_msg(struct gx *g, const json_t *r, const char *p)
{
	json_t *name = gem_mem(r, "name"), *id = gem_mem(r, "id"), *c, *msg;
	const char *want;
	char *s;

	if (gem_check(g->why, r, p, resp_fields, "name") != 0 ||
	    gem_name_ok(g->why, name, p) != 0)
		return -1;
	want = json_string_value(id != NULL ? id : name);
	if ((c = index_next(g, id != NULL ? g->byid : g->byname, want)) == NULL)
		return gem_refuse(g->why, "invalid_value", p,
		    "%s answers no functionCall (%.60s)", p, want);
	json_array_set_new(c, 2, json_true());
	s = gem_mem(r, "response") != NULL ? jx_dump(gem_mem(r, "response"))
					   : strdup("{}");
	if (s == NULL)
		return gem_refuse(
		    g->why, "out_of_memory", NULL, "out of memory");
	msg = json_pack("{s:s, s:O, s:s}", "role", "tool", "tool_call_id",
	    json_array_get(c, 0), "content", s);
	free(s);
	return gem_push(g->why, g->msgs, msg);
}

/* One user part as a pivot content part (thoughts give NULL, *skip). */
static json_t *
user_part(struct gx *g, const json_t *part, int kind, const char *p)
{
	json_t *v = gem_mem(part, part_fields[kind].name);

	switch (kind) {
	case PK_TEXT:
		return json_pack("{s:s, s:O}", "type", "text", "text", v);
	case PK_INLINE:
		return inline_part(g->why, v, p);
	case PK_FILE:
		return file_part(g->why, v, p);
	default:
		gem_refuse(g->why, "invalid_value", p,
		    "%s: a functionCall comes from the model", p);
		return NULL;
	}
}

/* A user content: its functionResponses as tool messages, then the rest. */
static int
user_content(struct gx *g, const json_t *parts, const char *where)
{
	char p[GEM_PARAM_AT];
	json_t *part, *out, *v;
	size_t i;
	int kind, rc = -1;

	if ((out = json_array()) == NULL)
		return gem_refuse(
		    g->why, "out_of_memory", NULL, "out of memory");
	json_array_foreach(parts, i, part) {
		snprintf(p, sizeof(p), "%.120s.parts[%zu]", where, i);
		if ((kind = part_kind(g->why, part, p)) < 0)
			goto out;
		if (json_is_true(gem_mem(part, "thought")))
			continue;
		if (kind == PK_RESP) {
			strncat(
			    p, ".functionResponse", sizeof(p) - strlen(p) - 1);
			if (resp_msg(g, gem_mem(part, "functionResponse"), p) !=
			    0)
				goto out;
			continue;
		}
		if ((v = user_part(g, part, kind, p)) == NULL ||
		    gem_push(g->why, out, v) != 0)
			goto out;
	}
	rc = 0;
	if (json_array_size(out) == 1 &&
	    json_is_string(v = json_object_get(json_array_get(out, 0), "text")))
		rc = gem_push(g->why, g->msgs,
		    json_pack("{s:s, s:O}", "role", "user", "content", v));
	else if (json_array_size(out) > 0)
		rc = gem_push(g->why, g->msgs,
		    json_pack("{s:s, s:O}", "role", "user", "content", out));
out:
	json_decref(out);
	return rc;
}

/* A model content: its text joined, its functionCalls as tool_calls. */
static int
model_content(struct gx *g, const json_t *parts, const char *where)
{
	char p[GEM_PARAM_AT];
	json_t *part, *calls, *msg = NULL, *tc;
	struct buf text;
	size_t i;
	int kind, rc = -1;

	buf_init(&text, GEM_MAX_TEXT);
	if ((calls = json_array()) == NULL)
		return gem_refuse(
		    g->why, "out_of_memory", NULL, "out of memory");
	json_array_foreach(parts, i, part) {
		snprintf(p, sizeof(p), "%.120s.parts[%zu]", where, i);
		if ((kind = part_kind(g->why, part, p)) < 0)
			goto out;
		if (json_is_true(gem_mem(part, "thought")))
			continue; /* Gemini reads its thoughts from signatures */
		if (kind == PK_TEXT) {
			buf_append(&text,
			    json_string_value(gem_mem(part, "text")),
			    json_string_length(gem_mem(part, "text")));
			continue;
		}
		if (kind != PK_CALL) {
			gem_refuse(g->why, "invalid_value", p,
			    "%s: model parts are text and functionCall", p);
			goto out;
		}
		strncat(p, ".functionCall", sizeof(p) - strlen(p) - 1);
		if ((tc = call_part(g, gem_mem(part, "functionCall"), p)) ==
			NULL ||
		    gem_push(g->why, calls, tc) != 0)
			goto out;
	}
	rc = 0;
	if (text.len == 0 && json_array_size(calls) == 0)
		goto out;
	msg = json_pack("{s:s, s:s%}", "role", "assistant", "content",
	    text.len > 0 ? text.data : "", text.len);
	if (msg != NULL && text.len == 0)
		json_object_set_new(msg, "content", json_null());
	if (msg != NULL && json_array_size(calls) > 0)
		json_object_set(msg, "tool_calls", calls);
	rc = gem_push(g->why, g->msgs, msg);
out:
	buf_free(&text);
	json_decref(calls);
	return rc;
}

static const struct gfield content_fields[] = {
    {"role", JX_STRING}, {"parts", JX_ARRAY}, {NULL, 0}};

static int
contents(struct gx *g, const json_t *cs)
{
	char p[GEM_PARAM_AT], pp[GEM_PARAM_AT];
	const char *role;
	json_t *c, *parts;
	size_t i;

	if (gem_capped(g->why, cs, GEM_MAX_CONTENTS, "contents", 1) != 0)
		return -1;
	json_array_foreach(cs, i, c) {
		snprintf(p, sizeof(p), "contents[%zu]", i);
		if (gem_check(g->why, c, p, content_fields, "parts") != 0)
			return -1;
		parts = gem_mem(c, "parts");
		snprintf(pp, sizeof(pp), "%.120s.parts", p);
		if (gem_capped(g->why, parts, GEM_MAX_PARTS, pp, 1) != 0)
			return -1;
		role = json_string_value(gem_mem(c, "role"));
		/* The REST API takes a missing role as user. */
		if (role == NULL || strcmp(role, "user") == 0 ||
		    strcmp(role, "function") == 0) {
			if (user_content(g, parts, p) != 0)
				return -1;
		} else if (strcmp(role, "model") == 0) {
			if (model_content(g, parts, p) != 0)
				return -1;
		} else {
			snprintf(pp, sizeof(pp), "%.120s.role", p);
			return gem_refuse(g->why, "invalid_value", pp,
			    "%s must be user or model", pp);
		}
	}
	return 0;
}

/* systemInstruction (a Content of text parts, or a string) first. */
static int
system_msg(struct gx *g, const json_t *si)
{
	char p[GEM_PARAM_AT];
	struct buf text;
	json_t *parts, *part;
	size_t i;
	int rc = -1;

	if (si == NULL)
		return 0;
	if (json_is_string(si))
		return gem_push(g->why, g->msgs,
		    json_pack("{s:s, s:O}", "role", "system", "content", si));
	if (gem_check(
		g->why, si, "systemInstruction", content_fields, "parts") != 0)
		return -1;
	parts = gem_mem(si, "parts");
	if (gem_capped(g->why, parts, GEM_MAX_PARTS, "systemInstruction.parts",
		1) != 0)
		return -1;
	buf_init(&text, GEM_MAX_TEXT);
	json_array_foreach(parts, i, part) {
		snprintf(p, sizeof(p), "systemInstruction.parts[%zu]", i);
		if (part_kind(g->why, part, p) != PK_TEXT) {
			if (gem_why_empty(g->why))
				gem_refuse(g->why, "invalid_value", p,
				    "%s: system parts are text", p);
			goto out;
		}
		if ((i > 0 && buf_append(&text, "\n", 1) != TG_OK) ||
		    buf_append(&text, json_string_value(gem_mem(part, "text")),
			json_string_length(gem_mem(part, "text"))) != TG_OK)
			goto out;
	}
	rc = gem_push(g->why, g->msgs,
	    json_pack("{s:s, s:s%}", "role", "system", "content",
		text.len > 0 ? text.data : "", text.len));
out:
	buf_free(&text);
	return rc;
}

/* systemInstruction then contents as the pivot's messages (appended to msgs). */
int
gem_messages(
    struct api_refusal *why, const json_t *si, const json_t *cs, json_t *msgs)
{
	struct gx g = {why, msgs, json_array(), json_object(), json_object()};
	int rc = -1;

	if (g.calls == NULL || g.byid == NULL || g.byname == NULL)
		gem_refuse(why, "out_of_memory", NULL, "out of memory");
	else
		rc = system_msg(&g, si) != 0 || contents(&g, cs) != 0 ? -1 : 0;
	json_decref(g.calls);
	json_decref(g.byid);
	json_decref(g.byname);
	return rc;
}
