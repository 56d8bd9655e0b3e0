/* prov.h: the provider interface: build an upstream request, read its answers, events and errors */
/* SPDX-License-Identifier: MIT */
#ifndef PROV_H
#define PROV_H

#include <stddef.h>
#include <jansson.h>

#include "core/buf.h"
#include "domain/pricing.h"
#include "domain/upstream.h"

struct arena;
struct jx_where;

/*
 * The wire formats tollgate speaks, to providers (a kind's ops->wire) and to
 * clients (api.h).  OpenAI's chat completions is the pivot: a request, an
 * answer or a stream chunk in any other format is translated to it and from
 * it, except when the client and the provider speak the same one (then the
 * client's body goes through natively: cache_control, thinking signatures and
 * every member the pivot has no name for survive).
 */
enum wire {
	WIRE_OPENAI = 0, /* chat completions (the pivot) */
	WIRE_ANTHROPIC,	 /* Messages API */
	WIRE_GEMINI,	 /* generateContent */
	WIRE_RESPONSES,	 /* OpenAI Responses API (clients only) */
	WIRE__MAX
};

/* The OpenAI-shaped endpoints tollgate meters. */
enum endpoint { EP_CHAT = 0, EP_COMPLETIONS, EP_EMBEDDINGS, EP__MAX };

#define PROV_MAX_HEADERS 8

/*
 * Every name a client may give the output cap by.  A provider may honour any
 * of them, so the hold takes the largest and prov_build sends only that one.
 */
#define PROV_OUT_CAPS 3
extern const char *const prov_out_caps[PROV_OUT_CAPS];

/* An upstream request, built in the arena. */
struct prov_call {
	const char *url;
	const char *headers[PROV_MAX_HEADERS];
	size_t nheaders;
	char *body; /* serialized JSON */
	size_t body_len;
	char *secret_header; /* holds the key: wipe it after the call */
};

/* What reading a usage object found. */
enum prov_usage {
	PU_COUNTS = 0,	   /* a usage object with counts: read */
	PU_NO_COUNTS = -1, /* none, or one without counts */
	PU_LOAD_TREE = -2, /* the text cannot be judged: load a tree instead */
};

/* What one stream event (a parsed JSON object) carries. */
struct prov_event {
	int error; /* an error object: the stream failed upstream */
	int usage; /* a usage object, read into the caller's usage */
	int strip; /* usage of any kind: strip_usage before relaying it */
	int choices_array;  /* choices is an array (maybe empty) */
	size_t nchoices;    /* its size */
	size_t delta_bytes; /* text bytes the event adds to the answer */
};

/*
 * A translating provider's stream state: zeroed by the relay before the first
 * event of an attempt, then owned by the ops.  model is the id the answer
 * names (the catalogue's); priv is the ops' own (each checks its struct
 * fits with a static assertion).
 */
struct prov_xlate {
	const char *model;
	long long created; /* unix seconds, for the chunks' "created" */
	const char *id;	   /* "chatcmpl-..." for the chunks; NULL: ops pick */
	union {
		long long align;
		unsigned char b[2048];
	} priv;
};

/*
 * One provider's wire format.  A deployment's kind picks its ops
 * (prov_ops_of); a native provider (Anthropic, Gemini) adds a row.
 */
struct prov_ops {
	enum wire wire;
	/*
	 * The upstream request from the pivot (an OpenAI chat request, the
	 * client's or translated from another API): see prov_build.
	 */
	int (*build)(struct arena *, enum endpoint, const struct deployment *rt,
	    const json_t *body, int stream, int64_t max_out, const char *secret,
	    const char *referer, const char *title, struct prov_call *out);
	/*
	 * A whole answer's usage from its text, without building a tree, and
	 * where the usage object sits (*w) for a splice; PU_LOAD_TREE when
	 * the answer needs the tree (answer_usage).
	 */
	enum prov_usage (*answer_scan)(const char *text, size_t len,
	    struct jx_where *w, struct token_counts *u);
	/* A whole answer's usage from its tree. */
	enum prov_usage (*answer_usage)(
	    const json_t *answer, struct token_counts *u);
	/* One stream event: its usage into *u (when it has one), the rest *ev. */
	void (*event)(
	    const json_t *chunk, struct token_counts *u, struct prov_event *ev);
	/* Drop the usage from an event the client did not ask it in. */
	void (*strip_usage)(json_t *chunk);
	/* An error body's message, short and single-line; NULL when none. */
	const char *(*error_message)(
	    struct arena *, const char *body, size_t len);
	/*
	 * The answer's text in a stream event or a whole answer (what the
	 * client reads: content, reasoning, tool arguments), appended to
	 * sink within its cap when sink is not NULL; its bytes.  For the
	 * estimates of answers without usage; NULL: bytes only.
	 */
	size_t (*text)(const json_t *chunk_or_answer, struct buf *sink);

	/*
	 * The members below are for providers whose wire is not OpenAI's
	 * (NULL in prov_openai_ops).  answer_scan, answer_usage, event,
	 * strip_usage and text above then read the provider's own format:
	 * the relay uses them when the client speaks it too (native).
	 */
	/*
	 * The upstream request from native, a body already in this wire
	 * format (the client's): the deployment's model, max_out as the one
	 * output cap (0: the provider's default... Anthropic requires one, so
	 * the caller always gives it), streaming as asked, the secret header.
	 * 0, or -1 out of memory.
	 */
	int (*build_native)(struct arena *, const struct deployment *rt,
	    const json_t *native, int stream, int64_t max_out,
	    const char *secret, struct prov_call *out);
	/*
	 * A whole answer translated to an OpenAI chat completion (a new
	 * tree: id, object, created, model = model, choices with message,
	 * tool_calls, finish_reason, and usage in OpenAI's terms, see
	 * chat_usage_parse); NULL when answer is not one.
	 */
	json_t *(*answer_to_openai)(const json_t *answer, const char *model);
	/*
	 * One stream event (type: the SSE "event:" name or NULL; ev: its
	 * parsed data) translated to 0..n OpenAI chat.completion.chunk
	 * objects appended to out (an array): role first, content, reasoning
	 * as delta.reasoning_content, tool calls with their index, the
	 * finish_reason chunk, and at the end one chunk with "choices": []
	 * and the whole usage.  An upstream error event becomes {"error":
	 * {...}} in OpenAI's shape.  0, or -1 out of memory.
	 */
	int (*event_to_openai)(struct prov_xlate *, const char *type,
	    const json_t *ev, json_t *out);
	/*
	 * 1 when an upstream HTTP status with its body is worth another
	 * attempt before the first byte (Anthropic's 529 overloaded_error),
	 * beyond the relay's own rules (429, 5xx); NULL: none.
	 */
	int (*retryable)(long status, const char *body, size_t len);
};

/* OpenAI's format, which its compatible kin speak too (prov_openai.c). */
extern const struct prov_ops prov_openai_ops;
/* Anthropic's Messages API (prov_anthropic.c). */
extern const struct prov_ops prov_anthropic_ops;
/* Google's Gemini API, generateContent (prov_gemini.c). */
extern const struct prov_ops prov_gemini_ops;
/* The ops of a deployment kind (every kind has one). */
const struct prov_ops *prov_ops_of(enum prov_kind);

/*
 * Build the upstream request for body (the client's, not modified) on route
 * rt: the deployment's model name, exactly one output cap, max_out (the one
 * held; 0 none), under the name the provider's kind reads, every other cap
 * the client sent removed, usage asked for in streams, and the provider's own
 * headers (the bearer secret, OpenRouter's attribution).
 * referer/title come from the client's HTTP-Referer/X-Title, may be NULL.
 * 0 or -1 (out of memory).  Dispatches on rt->kind.
 */
int prov_build(struct arena *, enum endpoint, const struct deployment *rt,
    const json_t *body, int stream, int64_t max_out, const char *secret,
    const char *referer, const char *title, struct prov_call *out);
/* Path of an endpoint under /v1 ("/chat/completions"). */
const char *prov_endpoint_path(enum endpoint);

/*
 * Read an OpenAI-shaped usage object (also DeepSeek's prompt_cache_hit_tokens,
 * OpenRouter's cost and prompt_tokens_details.cache_write_tokens, which the
 * translators write for Anthropic's cache creation): PU_COUNTS or
 * PU_NO_COUNTS.
 */
enum prov_usage chat_usage_parse(const json_t *usage, struct token_counts *out);
/*
 * The same from the usage object's text, which jx_valid has passed, without
 * building a tree: as chat_usage_parse, or PU_LOAD_TREE when the text must be
 * loaded instead (not an object, a key written with escapes, a cost).
 */
enum prov_usage chat_usage_scan(
    const char *text, size_t len, struct token_counts *out);

#endif
