/* prov_anthropic.c: Anthropic's Messages API: requests from the pivot or native, errors, retries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/util.h"
#include "prov/prov.h"
#include "prov/prov_anthropic_impl.h"

#define ANTHROPIC_VERSION "2023-06-01"
/* Anthropic requires max_tokens; the relay always gives one, this is a net. */
#define DEFAULT_MAX_TOKENS 4096

/* The request being built from an OpenAI chat request. */
struct bctx {
	json_t *msgs;	/* Anthropic's messages */
	json_t *sys;	/* text blocks of the system and developer messages */
	int sys_cached; /* one of them carries cache_control */
	size_t ntool;	/* tool_use ids made up for calls without one */
};

/* --- content parts ------------------------------------------------------------------- */

/* Copy the part's cache_control (the pivot's extension) onto block. */
static void
keep_cache(json_t *block, const json_t *part)
{
	json_t *cc = json_object_get(part, "cache_control");

	if (json_is_object(cc))
		json_object_set_new(block, "cache_control", json_deep_copy(cc));
}

static json_t *
text_block(const char *s)
{
	return json_pack("{s:s, s:s}", "type", "text", "text", s);
}

/*
 * A data: URL's media type and base64 payload ("data:image/png;base64,..."),
 * as new strings; 0, or -1 when url is not one.
 */
static int
data_url(const char *url, json_t **mime, json_t **data)
{
	const char *semi, *comma;

	if (strncmp(url, "data:", 5) != 0 ||
	    (comma = strchr(url + 5, ',')) == NULL)
		return -1;
	for (semi = url + 5; semi < comma && *semi != ';'; semi++)
		;
	if (semi == url + 5 || comma - semi != 7 ||
	    strncmp(semi, ";base64", 7) != 0)
		return -1;
	*mime = json_stringn(url + 5, (size_t)(semi - (url + 5)));
	*data = json_string(comma + 1);
	return *mime != NULL && *data != NULL ? 0 : -1;
}

/*
 * An image or a document block from a URL: a data: URL as a base64 source,
 * an http(s) one as a url source; NULL for anything else (dropped: there is
 * no 400 to give once the relay is building the upstream request).
 */
static json_t *
source_block(const char *type, const char *url)
{
	json_t *mime = NULL, *data = NULL, *b = NULL;

	if (url == NULL)
		return NULL;
	if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
		return json_pack("{s:s, s:{s:s, s:s}}", "type", type, "source",
		    "type", "url", "url", url);
	if (data_url(url, &mime, &data) == 0) {
		/* A PDF sent as an image_url is a document to Anthropic. */
		if (strcmp(json_string_value(mime), "application/pdf") == 0)
			type = "document";
		b = json_pack("{s:s, s:{s:s, s:O, s:O}}", "type", type,
		    "source", "type", "base64", "media_type", mime, "data",
		    data);
	}
	json_decref(mime);
	json_decref(data);
	return b;
}

static json_t *
part_text(const json_t *p)
{
	const char *s = jx_str(p, "text");

	/* Anthropic refuses empty text blocks. */
	return s != NULL && *s != '\0' ? text_block(s) : NULL;
}

static json_t *
part_image(const json_t *p)
{
	const json_t *iu = json_object_get(p, "image_url");

	return source_block("image",
	    json_is_string(iu) ? json_string_value(iu) : jx_str(iu, "url"));
}

/* OpenAI's file part: file_data (a data: URL) or a URL (to_pivot's). */
static json_t *
part_file(const json_t *p)
{
	const json_t *f = json_object_get(p, "file");
	const char *u = jx_str(f, "file_data");
	json_t *b;

	if (u == NULL && (u = jx_str(f, "file_url")) == NULL)
		u = jx_str(f, "url");
	if ((b = source_block("document", u)) != NULL &&
	    json_is_string(json_object_get(f, "filename")))
		json_object_set(b, "title", json_object_get(f, "filename"));
	return b;
}

/* clang-format off */
static const struct part_map {
	const char *type;
	json_t *(*fn)(const json_t *);
} part_maps[] = {
	{ "text",	part_text },
	{ "image_url",	part_image },
	{ "file",	part_file },
};
/* clang-format on */

/*
 * Append content (a string or OpenAI parts) to blocks as Anthropic blocks;
 * parts of unknown types are dropped.  -1 out of memory.
 */
static int
content_blocks(const json_t *content, json_t *blocks)
{
	const json_t *p;
	json_t *b;
	size_t i, k;

	if (json_is_string(content)) {
		if (json_string_length(content) == 0)
			return 0;
		return json_array_append_new(
		    blocks, text_block(json_string_value(content)));
	}
	json_array_foreach(content, i, p) {
		for (k = 0; k < sizeof(part_maps) / sizeof(part_maps[0]); k++)
			if (jx_str(p, "type") != NULL &&
			    strcmp(jx_str(p, "type"), part_maps[k].type) == 0)
				break;
		if (k == sizeof(part_maps) / sizeof(part_maps[0]) ||
		    (b = part_maps[k].fn(p)) == NULL)
			continue;
		keep_cache(b, p);
		if (json_array_append_new(blocks, b) != 0)
			return -1;
	}
	return 0;
}

/* --- messages ------------------------------------------------------------------------ */

/*
 * Add one message's blocks under role, merged into the last message when it
 * has the same role (Anthropic alternates user and assistant).  tool_result
 * blocks go before the user text already there, as Anthropic requires them
 * first.  blocks is stolen.
 */
static int
push(struct bctx *c, const char *role, json_t *blocks)
{
	size_t n = json_array_size(c->msgs), i, at;
	json_t *last = n > 0 ? json_array_get(c->msgs, n - 1) : NULL, *b, *to;
	int rc = 0;

	if (json_array_size(blocks) == 0) {
		json_decref(blocks);
		return 0;
	}
	if (last == NULL || strcmp(jx_str(last, "role"), role) != 0)
		return json_array_append_new(c->msgs,
		    json_pack("{s:s, s:o}", "role", role, "content", blocks));
	to = json_object_get(last, "content");
	for (at = 0; at < json_array_size(to); at++)
		if (strcmp(jx_str(json_array_get(to, at), "type"),
			"tool_result") != 0)
			break;
	json_array_foreach(blocks, i, b) {
		if (strcmp(jx_str(b, "type"), "tool_result") == 0)
			rc |= json_array_insert(to, at++, b);
		else
			rc |= json_array_append(to, b);
	}
	json_decref(blocks);
	return rc;
}

/* The message's own cache_control goes on its last block. */
static void
msg_cache(json_t *blocks, const json_t *m)
{
	json_t *last = json_array_get(blocks, json_array_size(blocks) - 1);

	if (last != NULL && json_object_get(last, "cache_control") == NULL)
		keep_cache(last, m);
}

static int
msg_system(struct bctx *c, const json_t *m)
{
	json_t *blocks = json_array();
	json_t *b;
	size_t i;
	int rc;

	if (blocks == NULL ||
	    content_blocks(json_object_get(m, "content"), blocks) != 0) {
		json_decref(blocks);
		return -1;
	}
	msg_cache(blocks, m);
	rc = 0;
	json_array_foreach(blocks, i, b) {
		/* Only text reaches the system prompt. */
		if (strcmp(jx_str(b, "type"), "text") != 0)
			continue;
		if (json_object_get(b, "cache_control") != NULL)
			c->sys_cached = 1;
		rc |= json_array_append(c->sys, b);
	}
	json_decref(blocks);
	return rc;
}

static int
msg_user(struct bctx *c, const json_t *m)
{
	json_t *blocks = json_array();

	if (blocks == NULL ||
	    content_blocks(json_object_get(m, "content"), blocks) != 0) {
		json_decref(blocks);
		return -1;
	}
	msg_cache(blocks, m);
	return push(c, "user", blocks);
}

/*
 * An assistant turn's thinking, which Anthropic wants back first and
 * unchanged with its signature: the thinking_blocks extension (Anthropic's
 * own blocks, as answer_to_openai writes them), else reasoning_content with
 * reasoning_signature.  Thinking without a signature is dropped (Anthropic
 * would refuse it).
 */
static int
thinking_blocks(const json_t *m, json_t *blocks)
{
	const json_t *tb;
	const char *t = jx_str(m, "reasoning_content"),
		   *sig = jx_str(m, "reasoning_signature"), *ty;
	size_t i;
	int rc = 0;

	json_array_foreach(json_object_get(m, "thinking_blocks"), i, tb) {
		ty = jx_str(tb, "type");
		if (ty != NULL && strcmp(ty, "thinking") == 0 &&
		    jx_str(tb, "thinking") != NULL &&
		    jx_str(tb, "signature") != NULL && *jx_str(tb, "signature"))
			rc |= json_array_append_new(blocks,
			    json_pack("{s:s, s:O, s:O}", "type", "thinking",
				"thinking", json_object_get(tb, "thinking"),
				"signature", json_object_get(tb, "signature")));
		else if (ty != NULL && strcmp(ty, "redacted_thinking") == 0 &&
		    jx_str(tb, "data") != NULL)
			rc |= json_array_append_new(blocks,
			    json_pack("{s:s, s:O}", "type", "redacted_thinking",
				"data", json_object_get(tb, "data")));
	}
	if (json_array_size(blocks) == 0 && t != NULL && sig != NULL &&
	    *sig != '\0')
		rc |= json_array_append_new(blocks,
		    json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking",
			t, "signature", sig));
	return rc;
}

/*
 * A tool call as a tool_use block: the id kept, the arguments parsed to
 * input.  Arguments that are not a JSON object become {} (the relay cannot
 * answer 400 here; the model sees an empty call).
 */
static json_t *
tool_use(struct bctx *c, const json_t *tc)
{
	const json_t *f = json_object_get(tc, "function");
	const char *id = jx_str(tc, "id"), *name = jx_str(f, "name"),
		   *args = jx_str(f, "arguments");
	char made[40];
	json_t *in = NULL;

	if (name == NULL)
		return NULL;
	if (args != NULL)
		in = json_loads(args, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(in)) {
		json_decref(in);
		in = json_object();
	}
	if (id == NULL || *id == '\0') {
		snprintf(made, sizeof(made), "toolu_tg_%zu", c->ntool++);
		id = made;
	}
	return json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use", "id", id,
	    "name", name, "input", in);
}

static int
msg_assistant(struct bctx *c, const json_t *m)
{
	json_t *blocks = json_array(), *b;
	const json_t *tc;
	size_t i;

	if (blocks == NULL || thinking_blocks(m, blocks) != 0 ||
	    content_blocks(json_object_get(m, "content"), blocks) != 0)
		goto fail;
	json_array_foreach(json_object_get(m, "tool_calls"), i, tc)
		if ((b = tool_use(c, tc)) != NULL &&
		    json_array_append_new(blocks, b) != 0)
			goto fail;
	msg_cache(blocks, m);
	return push(c, "assistant", blocks);
fail:
	json_decref(blocks);
	return -1;
}

/* A tool message as a tool_result block in a user turn. */
static int
msg_tool(struct bctx *c, const json_t *m)
{
	const json_t *content = json_object_get(m, "content");
	const char *id = jx_str(m, "tool_call_id");
	json_t *r, *parts = NULL;

	if ((r = json_pack("{s:s, s:s}", "type", "tool_result", "tool_use_id",
		 id != NULL ? id : "")) == NULL)
		return -1;
	if (json_is_string(content) && json_string_length(content) > 0)
		json_object_set(r, "content", (json_t *)content);
	else if (json_is_array(content)) {
		if ((parts = json_array()) == NULL ||
		    content_blocks(content, parts) != 0) {
			json_decref(parts);
			json_decref(r);
			return -1;
		}
		if (json_array_size(parts) > 0)
			json_object_set(r, "content", parts);
		json_decref(parts);
	}
	keep_cache(r, m);
	return push(c, "user", json_pack("[o]", r));
}

/* clang-format off */
static const struct role_map {
	const char *role;
	int (*fn)(struct bctx *, const json_t *);
} role_maps[] = {
	{ "system",	msg_system },
	{ "developer",	msg_system },
	{ "user",	msg_user },
	{ "assistant",	msg_assistant },
	{ "tool",	msg_tool },
};
/* clang-format on */

static int
messages(struct bctx *c, const json_t *in)
{
	const json_t *m;
	const char *role;
	size_t i, k;

	json_array_foreach(in, i, m) {
		if ((role = jx_str(m, "role")) == NULL)
			continue;
		for (k = 0; k < sizeof(role_maps) / sizeof(role_maps[0]); k++)
			if (strcmp(role, role_maps[k].role) == 0)
				break;
		if (k < sizeof(role_maps) / sizeof(role_maps[0]) &&
		    role_maps[k].fn(c, m) != 0)
			return -1;
	}
	return 0;
}

/*
 * The system prompt: one string of the texts joined by blank lines, or the
 * text blocks themselves when one carries cache_control (which only the
 * block form has room for).
 */
static int
system_prompt(struct bctx *c, json_t *out)
{
	struct buf b;
	json_t *t;
	size_t i;
	int rc = 0;

	if (json_array_size(c->sys) == 0)
		return 0;
	if (c->sys_cached)
		return json_object_set(out, "system", c->sys);
	buf_init(&b, (size_t)-1 / 2);
	json_array_foreach(c->sys, i, t) {
		if (i > 0)
			rc |= buf_puts(&b, "\n\n") != TG_OK;
		rc |= buf_puts(&b, jx_str(t, "text")) != TG_OK;
	}
	if (rc == 0)
		rc = json_object_set_new(out, "system",
		    json_stringn(b.data != NULL ? b.data : "", b.len));
	buf_free(&b);
	return rc;
}

/* --- tools and sampling ----------------------------------------------------------------- */

static json_t *
tools(const json_t *in)
{
	json_t *out = json_array(), *t;
	const json_t *tool, *f, *params;
	size_t i;

	json_array_foreach(in, i, tool) {
		f = json_object_get(tool, "function");
		if (out == NULL || jx_str(f, "name") == NULL)
			continue;
		params = json_object_get(f, "parameters");
		t = json_pack("{s:O, s:o}", "name", json_object_get(f, "name"),
		    "input_schema",
		    json_is_object(params) ? json_deep_copy(params)
					   : json_pack("{s:s, s:{}}", "type",
						 "object", "properties"));
		if (t != NULL && jx_str(f, "description") != NULL)
			json_object_set(t, "description",
			    json_object_get(f, "description"));
		keep_cache(t, tool);
		if (t == NULL || json_array_append_new(out, t) != 0) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

/* clang-format off */
static const struct choice_map {
	const char *openai, *anthropic;
} choice_maps[] = {
	{ "auto",	"auto" },
	{ "required",	"any" },
	{ "none",	"none" },
};
/* clang-format on */

/*
 * tool_choice and parallel_tool_calls: "auto", "required", "none" or
 * {"type":"function","function":{"name"}}; parallel_tool_calls false is
 * disable_parallel_tool_use (which "none" has no room for).
 */
static int
tool_choice(const json_t *body, json_t *out)
{
	const json_t *tc = json_object_get(body, "tool_choice");
	const char *name = jx_str(json_object_get(tc, "function"), "name");
	json_t *c = NULL;
	size_t k;

	for (k = 0; json_is_string(tc) &&
	     k < sizeof(choice_maps) / sizeof(choice_maps[0]);
	     k++)
		if (strcmp(json_string_value(tc), choice_maps[k].openai) == 0)
			c = json_pack(
			    "{s:s}", "type", choice_maps[k].anthropic);
	if (name != NULL)
		c = json_pack("{s:s, s:s}", "type", "tool", "name", name);
	if (json_is_false(json_object_get(body, "parallel_tool_calls"))) {
		if (c == NULL)
			c = json_pack("{s:s}", "type", "auto");
		if (c != NULL && strcmp(jx_str(c, "type"), "none") != 0)
			json_object_set_new(
			    c, "disable_parallel_tool_use", json_true());
	}
	return c != NULL ? json_object_set_new(out, "tool_choice", c) : 0;
}

/* stop as stop_sequences: Anthropic refuses whitespace-only ones. */
static int
stop_sequences(const json_t *stop, json_t *out)
{
	json_t *seqs = json_array();
	const json_t *s;
	const char *p;
	size_t i, n = json_is_string(stop) ? 1 : json_array_size(stop);

	for (i = 0; seqs != NULL && i < n; i++) {
		s = json_is_string(stop) ? stop : json_array_get(stop, i);
		if (!json_is_string(s))
			continue;
		for (p = json_string_value(s);
		     *p != '\0' && strchr(" \t\r\n", *p); p++)
			;
		if (*p != '\0')
			json_array_append(seqs, (json_t *)s);
	}
	if (seqs == NULL)
		return -1;
	if (json_array_size(seqs) == 0) {
		json_decref(seqs);
		return 0;
	}
	return json_object_set_new(out, "stop_sequences", seqs);
}

/* clang-format off */
/* reasoning_effort as a thinking budget (LiteLLM's), below the cap. */
static const struct effort_map {
	const char *effort;
	int64_t budget;
} effort_maps[] = {
	{ "low",    1024 },
	{ "medium", 2048 },
	{ "high",   4096 },
};
/* clang-format on */

/* Anthropic's smallest thinking budget. */
#define THINKING_MIN 1024

/*
 * The thinking asked: the extension as it is, else reasoning_effort as
 * {type: enabled, budget_tokens} when the cap leaves room for the smallest
 * budget (the budget counts in max_tokens, so the hold still bounds it).
 * A new tree or NULL.
 */
static json_t *
thinking_of(const json_t *body, int64_t max_tokens)
{
	const json_t *th = json_object_get(body, "thinking");
	const char *e = jx_str(body, "reasoning_effort");
	int64_t budget;
	size_t k;

	if (json_is_object(th))
		return json_deep_copy(th);
	for (k = 0;
	     e != NULL && k < sizeof(effort_maps) / sizeof(effort_maps[0]); k++)
		if (strcmp(e, effort_maps[k].effort) == 0) {
			budget = effort_maps[k].budget < max_tokens
			    ? effort_maps[k].budget
			    : max_tokens - 1;
			return budget < THINKING_MIN
			    ? NULL
			    : json_pack("{s:s, s:I}", "type", "enabled",
				  "budget_tokens", (json_int_t)budget);
		}
	return NULL;
}

/*
 * Sampling and the members passed through: temperature clamped to 0..1.
 * Extended thinking refuses temperature and top_k, and top_p below 0.95:
 * with thinking on they are left out rather than failing the request.
 */
static int
sampling(const json_t *body, int64_t max_tokens, json_t *out)
{
	const json_t *v;
	json_t *th = thinking_of(body, max_tokens);
	const char *user = jx_str(body, "user"), *tt = jx_str(th, "type");
	int thinking = tt != NULL && strcmp(tt, "disabled") != 0;
	double t;
	int rc = 0;

	if (json_is_number(v = json_object_get(body, "temperature")) &&
	    !thinking) {
		t = json_number_value(v);
		t = t < 0 ? 0 : t > 1 ? 1 : t;
		rc |= json_object_set_new(out, "temperature", json_real(t));
	}
	if (json_is_number(v = json_object_get(body, "top_p")) &&
	    (!thinking || json_number_value(v) >= 0.95))
		rc |= json_object_set(out, "top_p", (json_t *)v);
	if (json_is_integer(v = json_object_get(body, "top_k")) && !thinking)
		rc |= json_object_set(out, "top_k", (json_t *)v);
	if (th != NULL)
		rc |= json_object_set_new(out, "thinking", th);
	if (user != NULL && *user != '\0')
		rc |= json_object_set_new(
		    out, "metadata", json_pack("{s:s}", "user_id", user));
	return rc | stop_sequences(json_object_get(body, "stop"), out);
}

/* --- the upstream call ------------------------------------------------------------------ */

/* URL, headers and serialized body of a Messages request. */
static int
call_out(struct arena *a, const struct deployment *rt, json_t *b, int stream,
    const char *secret, struct prov_call *out)
{
	const char *base = rt->base_url;
	size_t blen = strlen(base);

	if ((out->body = jx_dump(b)) == NULL)
		return -1;
	arena_defer(a, free, out->body);
	out->body_len = strlen(out->body);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	out->url = arena_printf(a, "%.*s/messages", (int)blen, base);
	out->headers[out->nheaders++] = "Content-Type: application/json";
	out->headers[out->nheaders++] =
	    stream ? "Accept: text/event-stream" : "Accept: application/json";
	out->headers[out->nheaders++] = "anthropic-version: " ANTHROPIC_VERSION;
	out->secret_header = arena_printf(a, "x-api-key: %s", secret);
	out->headers[out->nheaders++] = out->secret_header;
	return 0;
}

static int
anth_build(struct arena *a, enum endpoint ep, const struct deployment *rt,
    const json_t *body, int stream, int64_t max_out, const char *secret,
    const char *referer, const char *title, struct prov_call *out)
{
	struct bctx c = {0};
	json_t *b = NULL, *t = NULL;
	int rc = -1;

	(void)referer;
	(void)title;
	memset(out, 0, sizeof(*out));
	if (ep != EP_CHAT)
		return -1;
	c.msgs = json_array();
	c.sys = json_array();
	b = json_pack("{s:s, s:I}", "model", rt->upstream_model, "max_tokens",
	    (json_int_t)(max_out > 0 ? max_out : DEFAULT_MAX_TOKENS));
	if (c.msgs == NULL || c.sys == NULL || b == NULL ||
	    messages(&c, json_object_get(body, "messages")) != 0 ||
	    system_prompt(&c, b) != 0 ||
	    json_object_set(b, "messages", c.msgs) != 0)
		goto out;
	if (json_array_size(json_object_get(body, "tools")) > 0) {
		/* A tool_choice without tools is refused by Anthropic. */
		if ((t = tools(json_object_get(body, "tools"))) == NULL ||
		    (json_array_size(t) > 0 &&
			(json_object_set(b, "tools", t) != 0 ||
			    tool_choice(body, b) != 0)))
			goto out;
	}
	if (sampling(body, json_integer_value(json_object_get(b, "max_tokens")),
		b) != 0)
		goto out;
	if (stream)
		json_object_set_new(b, "stream", json_true());
	rc = call_out(a, rt, b, stream, secret, out);
out:
	json_decref(t);
	json_decref(b);
	json_decref(c.msgs);
	json_decref(c.sys);
	return rc;
}

/*
 * The client's own Messages body: the deployment's model, the one output cap
 * held, streaming as asked; everything else (cache_control, thinking and
 * its signatures, members tollgate has no name for) untouched.
 */
static int
anth_build_native(struct arena *a, const struct deployment *rt,
    const json_t *native, int stream, int64_t max_out, const char *secret,
    struct prov_call *out)
{
	json_t *b;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* The top level only: the nested members are not changed. */
	if ((b = json_copy((json_t *)native)) == NULL)
		return -1;
	if (json_object_set_new(b, "model", json_string(rt->upstream_model)) ==
		0 &&
	    (max_out <= 0 ||
		json_object_set_new(b, "max_tokens", json_integer(max_out)) ==
		    0) &&
	    json_object_set_new(b, "stream", json_boolean(stream)) == 0)
		rc = call_out(a, rt, b, stream, secret, out);
	json_decref(b);
	return rc;
}

/* error.message of an error body, cut short, control characters blanked. */
static const char *
anth_error_message(struct arena *a, const char *body, size_t len)
{
	json_t *o;
	const char *m;
	char *out;
	size_t i;

	if (len == 0)
		return NULL;
	o = json_loadb(body, len, 0, NULL);
	m = jx_str(json_object_get(o, "error"), "message");
	out = m != NULL ? arena_printf(a, "%.*s", (int)util_utf8_cut(m, 300), m)
			: NULL;
	json_decref(o);
	for (i = 0; out != NULL && out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return out;
}

/*
 * Anthropic's 529, or an overloaded_error under any status: the service is
 * busy, another attempt (another key, another deployment) may pass.
 */
static int
anth_retryable(long status, const char *body, size_t len)
{
	json_t *o;
	const char *t;
	int r;

	if (status == 529)
		return 1;
	if (body == NULL || len == 0)
		return 0;
	o = json_loadb(body, len, 0, NULL);
	t = jx_str(json_object_get(o, "error"), "type");
	r = t != NULL && strcmp(t, "overloaded_error") == 0;
	json_decref(o);
	return r;
}

const struct prov_ops prov_anthropic_ops = {
    .wire = WIRE_ANTHROPIC,
    .build = anth_build,
    .answer_scan = anth_answer_scan,
    .answer_usage = anth_answer_usage,
    .event = anth_event,
    .strip_usage = anth_strip_usage,
    .error_message = anth_error_message,
    .text = anth_text,
    .build_native = anth_build_native,
    .answer_to_openai = anth_answer_to_openai,
    .event_to_openai = anth_event_to_openai,
    .retryable = anth_retryable,
};
