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
 * One provider's wire format.  A deployment's kind picks its ops
 * (prov_ops_of); a native provider (Anthropic, Gemini) adds a row.
 */
struct prov_ops {
	/* The upstream request: see prov_build. */
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
};

/* OpenAI's format, which its compatible kin speak too (prov_openai.c). */
extern const struct prov_ops prov_openai_ops;
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
 * Read an OpenAI-shaped usage object (also DeepSeek's prompt_cache_hit_tokens
 * and OpenRouter's cost): PU_COUNTS or PU_NO_COUNTS.
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
