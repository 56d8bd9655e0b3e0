/* api_anthropic_msg.c: an Anthropic request's system and messages, block by block, as pivot messages */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "prov/api_anthropic.h"

/* What the blocks of one message become. */
struct conv {
	json_t *parts;		 /* content parts (user; assistant text) */
	json_t *tool_msgs;	 /* user: the tool messages, before parts */
	json_t *tool_calls;	 /* assistant */
	json_t *thinking_blocks; /* assistant: as sent, signatures kept */
	char *reasoning;	 /* assistant: the thinking texts joined */
	size_t reasoning_len;
	int cached; /* a text part carries cache_control */
};

static json_t *
text_part(const char *s)
{
	return json_pack("{s:s, s:s}", "type", "text", "text", s);
}

static int
conv_text(
    const json_t *b, const char *at, struct conv *c, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"type", JX_STRING, 1},
	    {"text", JX_STRING, 1}, {"cache_control", JX_OBJECT | JX_NULL, 0},
	    {"citations", JX_ARRAY | JX_NULL, 0}, {NULL, 0, 0}};
	json_t *part;

	if (aa_check_members(b, f, at, why) < 0)
		return -1;
	if ((part = text_part(jx_str(b, "text"))) == NULL)
		return -1;
	if (json_array_append_new(c->parts, part) != 0)
		return -1;
	if (aa_get(b, "cache_control") != NULL)
		c->cached = 1;
	return aa_cache_control(b, at, part, why);
}

static const char *const image_types[] = {
    "image/jpeg", "image/png", "image/gif", "image/webp", NULL};

static int
one_of(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* "data:<mt>;base64,<data>" */
static json_t *
data_url(const char *mt, const char *data, size_t dlen)
{
	size_t n = 5 + strlen(mt) + 8 + dlen;
	char *s;
	json_t *j;

	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	snprintf(s, n + 1, "data:%s;base64,", mt);
	memcpy(s + strlen(s), data, dlen + 1);
	j = json_stringn(s, n);
	free(s);
	return j;
}

static json_t *
base64_url(const char *mt, const char *text, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)text;
	size_t i, o = 0, m = (n + 2) / 3 * 4;
	char *d;
	json_t *j;
	unsigned v;

	if ((d = malloc(m + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i += 3) {
		v = (unsigned)s[i] << 16;
		v |= i + 1 < n ? (unsigned)s[i + 1] << 8 : 0;
		v |= i + 2 < n ? s[i + 2] : 0;
		d[o++] = b64[v >> 18 & 63];
		d[o++] = b64[v >> 12 & 63];
		d[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		d[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	d[o] = '\0';
	j = data_url(mt, d, o);
	free(d);
	return j;
}

/*
 * A source {type base64 {media_type, data} | url {url} | text {media_type,
 * data}} (kinds allowed by the caller) as a URL: a data: URL or the URL.
 */
static json_t *
source_url(const json_t *b, const char *at, const char *const *media,
    int text_ok, struct api_refusal *why)
{
	static const struct aa_field fb[] = {{"type", JX_STRING, 1},
	    {"media_type", JX_STRING, 1}, {"data", JX_STRING, 1}, {NULL, 0, 0}};
	static const struct aa_field fu[] = {
	    {"type", JX_STRING, 1}, {"url", JX_STRING, 1}, {NULL, 0, 0}};
	const json_t *src = aa_get(b, "source");
	const char *t, *mt, *url;
	char p[AA_PATH_MAX], q[AA_PATH_MAX];

	aa_path_key(p, at, "source");
	if (src == NULL || aa_block_type(src, p, why, &t) < 0)
		return src == NULL
		    ? (aa_refuse(why, p, "missing_field", "Field required"),
			  NULL)
		    : NULL;
	if (strcmp(t, "url") == 0) {
		if (aa_check_members(src, fu, p, why) < 0)
			return NULL;
		url = jx_str(src, "url");
		if (strncmp(url, "https://", 8) != 0 &&
		    strncmp(url, "http://", 7) != 0)
			return aa_refuse(why, aa_path_key(q, p, "url"),
				   "invalid_value",
				   "Only http and https URLs are supported"),
			       NULL;
		return json_string(url);
	}
	if (strcmp(t, "base64") != 0 && !(text_ok && strcmp(t, "text") == 0))
		return aa_refuse(why, aa_path_key(q, p, "type"),
			   "invalid_value",
			   text_ok ? "Input should be 'base64', 'text' or 'url'"
				   : "Input should be 'base64' or 'url'"),
		       NULL;
	if (aa_check_members(src, fb, p, why) < 0)
		return NULL;
	mt = jx_str(src, "media_type");
	if (strcmp(t, "text") == 0 ? strcmp(mt, "text/plain") != 0
				   : !one_of(mt, media))
		return aa_refuse(why, aa_path_key(q, p, "media_type"),
			   "invalid_value", "Input should be %s",
			   strcmp(t, "text") == 0 ? "'text/plain'"
			       : media == image_types
			       ? "'image/jpeg', 'image/png', 'image/gif' or "
				 "'image/webp'"
			       : "'application/pdf'"),
		       NULL;
	src = json_object_get(src, "data");
	if (strcmp(t, "text") == 0)
		return base64_url(
		    mt, json_string_value(src), json_string_length(src));
	return data_url(mt, json_string_value(src), json_string_length(src));
}

static int
conv_image(
    const json_t *b, const char *at, struct conv *c, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"type", JX_STRING, 1},
	    {"source", JX_OBJECT, 1}, {"cache_control", JX_OBJECT | JX_NULL, 0},
	    {NULL, 0, 0}};
	json_t *url, *part;

	if (aa_check_members(b, f, at, why) < 0)
		return -1;
	if ((url = source_url(b, at, image_types, 0, why)) == NULL)
		return -1;
	part = json_pack(
	    "{s:s, s:{s:o}}", "type", "image_url", "image_url", "url", url);
	if (part == NULL || json_array_append_new(c->parts, part) != 0)
		return -1;
	return aa_cache_control(b, at, part, why);
}

static int
conv_document(
    const json_t *b, const char *at, struct conv *c, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"type", JX_STRING, 1},
	    {"source", JX_OBJECT, 1}, {"cache_control", JX_OBJECT | JX_NULL, 0},
	    {"title", JX_STRING | JX_NULL, 0},
	    {"context", JX_STRING | JX_NULL, 0},
	    {"citations", JX_OBJECT | JX_NULL, 0}, {NULL, 0, 0}};
	static const char *const pdf[] = {"application/pdf", NULL};
	json_t *url, *part, *file;

	if (aa_check_members(b, f, at, why) < 0)
		return -1;
	if ((url = source_url(b, at, pdf, 1, why)) == NULL)
		return -1;
	/*
	 * A plain-text document is text: its bytes bound its tokens, so it
	 * is held and priced as a text part (a PDF's are not).
	 */
	if (strcmp(jx_str(aa_get(b, "source"), "type"), "text") == 0) {
		json_decref(url);
		part = json_pack("{s:s, s:O}", "type", "text", "text",
		    json_object_get(aa_get(b, "source"), "data"));
		if (part == NULL || json_array_append_new(c->parts, part) != 0)
			return -1;
		return aa_cache_control(b, at, part, why);
	}
	/* OpenAI's file part; OpenRouter also takes an https URL there. */
	part = json_pack(
	    "{s:s, s:{s:o}}", "type", "file", "file", "file_data", url);
	if (part == NULL || json_array_append_new(c->parts, part) != 0)
		return -1;
	file = json_object_get(part, "file");
	if (aa_get(b, "title") != NULL &&
	    aa_set_copy(file, "filename", aa_get(b, "title")) != 0)
		return -1;
	if (aa_get(b, "context") != NULL &&
	    aa_set_copy(part, "context", aa_get(b, "context")) != 0)
		return -1;
	return aa_cache_control(b, at, part, why);
}

/* A tool_result's content: a string, or text and image blocks. */
static json_t *
result_content(
    const json_t *b, const char *at, struct conv *c, struct api_refusal *why)
{
	const json_t *content = aa_get(b, "content"), *e;
	json_t *texts;
	struct conv sub = {0};
	const char *t;
	char p[AA_PATH_MAX], q[AA_PATH_MAX];
	size_t i;

	if (content == NULL)
		return json_string("");
	if (json_is_string(content))
		return json_deep_copy(content);
	aa_path_key(p, at, "content");
	if (json_array_size(content) > AA_MAX_BLOCKS)
		return aa_refuse(why, p, "too_many",
			   "at most %d content blocks", AA_MAX_BLOCKS),
		       NULL;
	if ((texts = json_array()) == NULL)
		return NULL;
	sub.parts = texts;
	json_array_foreach(content, i, e) {
		aa_path_idx(q, p, i);
		if (aa_block_type(e, q, why, &t) < 0)
			goto fail;
		/* Images go to the user message after the tool messages. */
		sub.parts = strcmp(t, "image") == 0 ? c->parts : texts;
		if (strcmp(t, "text") == 0 ? conv_text(e, q, &sub, why) < 0
			: strcmp(t, "image") == 0
			? conv_image(e, q, &sub, why) < 0
			: aa_refuse(why, aa_path_key(p, q, "type"),
			      "invalid_value",
			      "Input should be 'text' or 'image'") < 0)
			goto fail;
	}
	return texts;
fail:
	json_decref(texts);
	return NULL;
}

static int
conv_tool_result(
    const json_t *b, const char *at, struct conv *c, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"type", JX_STRING, 1},
	    {"tool_use_id", JX_STRING, 1},
	    {"content", JX_STRING | JX_ARRAY | JX_NULL, 0},
	    {"is_error", JX_BOOL | JX_NULL, 0},
	    {"cache_control", JX_OBJECT | JX_NULL, 0}, {NULL, 0, 0}};
	json_t *content, *msg, *note;
	char *s;

	if (aa_check_members(b, f, at, why) < 0)
		return -1;
	if ((content = result_content(b, at, c, why)) == NULL)
		return -1;
	/* OpenAI's tool message has no error flag: the text says it. */
	if (json_is_true(aa_get(b, "is_error")) && json_is_string(content)) {
		if (asprintf(&s, "Error: %s", json_string_value(content)) < 0)
			s = NULL;
		json_decref(content);
		if (s == NULL || (content = json_string(s)) == NULL) {
			free(s);
			return -1;
		}
		free(s);
	} else if (json_is_true(aa_get(b, "is_error"))) {
		if ((note = text_part("Error:")) == NULL ||
		    json_array_insert_new(content, 0, note) != 0) {
			json_decref(content);
			return -1;
		}
	}
	msg = json_pack("{s:s, s:s, s:o}", "role", "tool", "tool_call_id",
	    jx_str(b, "tool_use_id"), "content", content);
	if (msg == NULL || json_array_append_new(c->tool_msgs, msg) != 0)
		return -1;
	return 0;
}

static int
conv_tool_use(
    const json_t *b, const char *at, struct conv *c, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"type", JX_STRING, 1},
	    {"id", JX_STRING, 1}, {"name", JX_STRING, 1},
	    {"input", JX_OBJECT, 1}, {"cache_control", JX_OBJECT | JX_NULL, 0},
	    {NULL, 0, 0}};
	char *args;
	json_t *call;

	if (aa_check_members(b, f, at, why) < 0)
		return -1;
	if ((args = jx_dump(json_object_get(b, "input"))) == NULL)
		return -1;
	call = json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", jx_str(b, "id"),
	    "type", "function", "function", "name", jx_str(b, "name"),
	    "arguments", args);
	free(args);
	if (call == NULL || json_array_append_new(c->tool_calls, call) != 0)
		return -1;
	return 0;
}

static int
add_reasoning(struct conv *c, const char *s)
{
	size_t n = strlen(s);
	char *r;

	if ((r = realloc(c->reasoning, c->reasoning_len + n + 1)) == NULL)
		return -1;
	memcpy(r + c->reasoning_len, s, n + 1);
	c->reasoning = r;
	c->reasoning_len += n;
	return 0;
}

static int
conv_thinking(
    const json_t *b, const char *at, struct conv *c, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"type", JX_STRING, 1},
	    {"thinking", JX_STRING, 1}, {"signature", JX_STRING, 1},
	    {NULL, 0, 0}};

	if (aa_check_members(b, f, at, why) < 0)
		return -1;
	if (add_reasoning(c, jx_str(b, "thinking")) < 0)
		return -1;
	return json_array_append_new(c->thinking_blocks, json_deep_copy(b));
}

static int
conv_redacted(
    const json_t *b, const char *at, struct conv *c, struct api_refusal *why)
{
	static const struct aa_field f[] = {
	    {"type", JX_STRING, 1}, {"data", JX_STRING, 1}, {NULL, 0, 0}};

	if (aa_check_members(b, f, at, why) < 0)
		return -1;
	return json_array_append_new(c->thinking_blocks, json_deep_copy(b));
}

#define USER	  1u
#define ASSISTANT 2u

static const struct block_kind {
	const char *type;
	unsigned roles;
	int (*conv)(
	    const json_t *, const char *, struct conv *, struct api_refusal *);
} block_kinds[] = {
    {"text", USER | ASSISTANT, conv_text},
    {"image", USER, conv_image},
    {"document", USER, conv_document},
    {"tool_result", USER, conv_tool_result},
    {"tool_use", ASSISTANT, conv_tool_use},
    {"thinking", ASSISTANT, conv_thinking},
    {"redacted_thinking", ASSISTANT, conv_redacted},
};

static int
conv_block(const json_t *b, const char *at, unsigned role, struct conv *c,
    struct api_refusal *why)
{
	const char *t;
	char p[AA_PATH_MAX];
	size_t i;

	if (aa_block_type(b, at, why, &t) < 0)
		return -1;
	for (i = 0; i < sizeof(block_kinds) / sizeof(block_kinds[0]); i++)
		if (strcmp(block_kinds[i].type, t) == 0)
			break;
	if (i == sizeof(block_kinds) / sizeof(block_kinds[0]))
		return aa_refuse(why, aa_path_key(p, at, "type"),
		    "invalid_value",
		    "content block type '%.40s' is not supported", t);
	if ((block_kinds[i].roles & role) == 0)
		return aa_refuse(why, aa_path_key(p, at, "type"),
		    "invalid_value",
		    "'%s' blocks are not allowed in %s messages", t,
		    role == USER ? "user" : "assistant");
	return block_kinds[i].conv(b, at, c, why);
}

/* The assistant's text parts joined, or the parts when one is cached. */
static json_t *
assistant_content(const struct conv *c)
{
	const json_t *p;
	size_t i, n = 0;
	char *s;
	json_t *j;

	if (json_array_size(c->parts) == 0)
		return json_null();
	if (c->cached)
		return json_incref(c->parts);
	json_array_foreach(c->parts, i, p)
		n += json_string_length(json_object_get(p, "text"));
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	n = 0;
	json_array_foreach(c->parts, i, p) {
		const json_t *t = json_object_get(p, "text");

		memcpy(s + n, json_string_value(t), json_string_length(t));
		n += json_string_length(t);
	}
	s[n] = '\0';
	j = json_stringn(s, n);
	free(s);
	return j;
}

static int
emit_assistant(struct conv *c, json_t *msgs)
{
	json_t *m;

	m = json_pack(
	    "{s:s, s:o}", "role", "assistant", "content", assistant_content(c));
	if (m == NULL || json_array_append_new(msgs, m) != 0)
		return -1;
	if (json_array_size(c->tool_calls) > 0 &&
	    aa_set_copy(m, "tool_calls", c->tool_calls) != 0)
		return -1;
	if (c->reasoning != NULL &&
	    aa_set_new(m, "reasoning_content", json_string(c->reasoning)) != 0)
		return -1;
	/* The signatures, for a provider that must get the blocks back. */
	if (json_array_size(c->thinking_blocks) > 0 &&
	    aa_set_copy(m, "thinking_blocks", c->thinking_blocks) != 0)
		return -1;
	return 0;
}

/* Tool messages first (OpenAI wants them right after the calls). */
static int
emit_user(struct conv *c, json_t *msgs)
{
	json_t *m, *content;

	if (json_array_extend(msgs, c->tool_msgs) != 0)
		return -1;
	if (json_array_size(c->parts) == 0 && json_array_size(c->tool_msgs) > 0)
		return 0;
	content = json_array_size(c->parts) > 0 ? json_incref(c->parts)
						: json_string("");
	m = json_pack("{s:s, s:o}", "role", "user", "content", content);
	return m != NULL && json_array_append_new(msgs, m) == 0 ? 0 : -1;
}

static int
conv_blocks(const json_t *content, const char *at, unsigned role, json_t *msgs,
    struct api_refusal *why)
{
	struct conv c = {0};
	const json_t *b;
	char p[AA_PATH_MAX];
	size_t i;
	int rc = -1;

	if (json_array_size(content) > AA_MAX_BLOCKS)
		return aa_refuse(why, at, "too_many",
		    "at most %d content blocks", AA_MAX_BLOCKS);
	c.parts = json_array();
	c.tool_msgs = json_array();
	c.tool_calls = json_array();
	c.thinking_blocks = json_array();
	if (c.parts == NULL || c.tool_msgs == NULL || c.tool_calls == NULL ||
	    c.thinking_blocks == NULL)
		goto out;
	json_array_foreach(content, i, b)
		if (conv_block(b, aa_path_idx(p, at, i), role, &c, why) < 0)
			goto out;
	rc = role == USER ? emit_user(&c, msgs) : emit_assistant(&c, msgs);
out:
	json_decref(c.parts);
	json_decref(c.tool_msgs);
	json_decref(c.tool_calls);
	json_decref(c.thinking_blocks);
	free(c.reasoning);
	return rc;
}

int
aa_conv_message(
    const json_t *m, const char *at, json_t *msgs, struct api_refusal *why)
{
	static const struct aa_field f[] = {{"role", JX_STRING, 1},
	    {"content", JX_STRING | JX_ARRAY, 1}, {NULL, 0, 0}};
	const char *role;
	const json_t *content;
	json_t *o;
	char p[AA_PATH_MAX];

	if (!json_is_object(m))
		return aa_refuse(why, at, "invalid_type",
		    "Input should be a valid dictionary");
	if (aa_check_members(m, f, at, why) < 0)
		return -1;
	role = jx_str(m, "role");
	if (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)
		return aa_refuse(why, aa_path_key(p, at, "role"),
		    "invalid_value", "Input should be 'user' or 'assistant'");
	content = json_object_get(m, "content");
	aa_path_key(p, at, "content");
	if (json_is_array(content))
		return conv_blocks(
		    content, p, *role == 'u' ? USER : ASSISTANT, msgs, why);
	o = json_pack("{s:s, s:O}", "role", role, "content", content);
	return o != NULL && json_array_append_new(msgs, o) == 0 ? 0 : -1;
}

/* system: a string, or text blocks (their cache_control kept). */
int
aa_conv_system(const json_t *sys, json_t *msgs, struct api_refusal *why)
{
	struct conv c = {0};
	const json_t *b;
	const char *t;
	char p[AA_PATH_MAX], q[AA_PATH_MAX];
	size_t i;
	json_t *m = NULL;

	if (json_is_string(sys)) {
		m = json_pack("{s:s, s:O}", "role", "system", "content", sys);
		return m != NULL && json_array_append_new(msgs, m) == 0 ? 0
									: -1;
	}
	if (json_array_size(sys) > AA_MAX_BLOCKS)
		return aa_refuse(why, "system", "too_many",
		    "at most %d content blocks", AA_MAX_BLOCKS);
	if ((c.parts = json_array()) == NULL)
		return -1;
	json_array_foreach(sys, i, b) {
		aa_path_idx(p, "system", i);
		if (aa_block_type(b, p, why, &t) < 0 ||
		    (strcmp(t, "text") != 0
			    ? aa_refuse(why, aa_path_key(q, p, "type"),
				  "invalid_value", "Input should be 'text'")
			    : conv_text(b, p, &c, why)) < 0)
			goto fail;
	}
	if (json_array_size(c.parts) == 0) {
		json_decref(c.parts);
		return 0;
	}
	m = json_pack("{s:s, s:o}", "role", "system", "content", c.parts);
	return m != NULL && json_array_append_new(msgs, m) == 0 ? 0 : -1;
fail:
	json_decref(c.parts);
	return -1;
}
