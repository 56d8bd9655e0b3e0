/* api.h: the APIs clients speak (Anthropic Messages, OpenAI Responses, Gemini): to the pivot and back */
/* SPDX-License-Identifier: MIT */
#ifndef API_H
#define API_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "domain/pricing.h"
#include "prov/prov.h"

struct arena;

/*
 * What tollgate tells a client about the metering, whatever its API: the
 * catalogue model, the cost and the balance after (nano-USD), the request
 * and the provider.  Strings borrowed.
 */
struct api_meta {
	const char *request_id;
	const char *provider; /* NULL: none was reached */
	const char *model;    /* the catalogue id (or alias) the client asked */
	int64_t charged;
	int64_t balance_after;
	const struct token_counts *u; /* what was billed */
	/*
	 * The client's body (borrowed), for APIs whose answers echo the
	 * request's parameters (Responses: instructions, tools, ...); NULL:
	 * the API's defaults are echoed.
	 */
	const json_t *request;
};

/*
 * A stream's state on the client's side: zeroed by the relay before the
 * first chunk, owned by the codec (priv, its own struct, checked to fit by
 * a static assertion).
 */
struct api_state {
	const char *model; /* the id answers name */
	const char *request_id;
	long long created;
	union {
		long long align;
		unsigned char b[4096];
	} priv;
	/*
	 * The request's arena, where a codec keeps what grows with the stream
	 * (the Responses codec: the whole text, which its closing events
	 * repeat), so nothing leaks whichever way the stream ends; NULL: the
	 * codec mallocs and frees in end or stream_error.
	 */
	struct arena *arena;
	const json_t *request; /* the client's body (borrowed), or NULL */
};

/*
 * Write one SSE event to the client: "event: <event>\n" when event is not
 * NULL, then "data: <data>\n\n".  0, or -1 when the client is gone.
 */
typedef int (*api_emit_fn)(
    void *arg, const char *event, const char *data, size_t len);

/* Why a request cannot be translated: a 400 naming the member. */
struct api_refusal {
	const char *param; /* "messages[2].content[0].source", or NULL */
	const char *code;  /* "invalid_value", ..., or NULL */
	char msg[256];
	/* Where param points when the codec built the path (api_anthropic.c). */
	char param_buf[160];
};

/*
 * One client API.  Every function is total on hostile input: a request
 * that does not follow the API is refused (never a crash, never a partial
 * translation relayed), and what comes from the pivot has been produced
 * by tollgate or a provider's translator.
 */
struct api_ops {
	enum wire wire;
	const char *name; /* usage_records.api: "messages", "responses", ... */
	/*
	 * The client's body (an object) as an OpenAI chat request (a new
	 * tree): model (as the client named it), messages (system first),
	 * tools and tool_choice, max_tokens (the client's cap, or none),
	 * stream, temperature, top_p, stop, response_format; content
	 * parts text and image_url (a data: URL or https URL) so the hold
	 * counts images.  Members the pivot has no name for go through as
	 * extensions the provider translators read: a part's or a message's
	 * "cache_control", the request's "thinking".  NULL with *why
	 * filled when the body breaks the API's rules (a 400).
	 */
	json_t *(*to_pivot)(const json_t *in, struct api_refusal *why);
	/*
	 * One OpenAI chat.completion.chunk (from an OpenAI provider or a
	 * translator) as 0..n of the API's events through emit.  A chunk
	 * with "choices": [] and a usage is not passed here: end gets it.
	 * 0, or -1 when emit failed (the client is gone).
	 */
	int (*chunk)(struct api_state *, const json_t *chunk, api_emit_fn emit,
	    void *arg);
	/*
	 * The end of a stream that went well: the API's closing events with
	 * the usage and the cost in m (Anthropic: message_delta with
	 * usage, then message_stop; Responses: response.completed; Gemini:
	 * a last chunk with usageMetadata).  0 or -1 as chunk.
	 */
	int (*end)(struct api_state *, const struct api_meta *m,
	    api_emit_fn emit, void *arg);
	/*
	 * A stream that failed after it started: the API's error event
	 * (Anthropic's event: error; Responses' response.failed; Gemini's
	 * error object).  type/code/msg as in the OpenAI error shape.
	 */
	int (*stream_error)(struct api_state *, int status, const char *type,
	    const char *code, const char *msg, api_emit_fn emit, void *arg);
	/*
	 * A whole OpenAI chat completion as the API's answer (a new tree),
	 * with the usage and cost of m; NULL out of memory.
	 */
	json_t *(*answer)(const json_t *completion, const struct api_meta *m);
	/*
	 * The API's error body for an HTTP status and the OpenAI error's
	 * type, code, param and message (a new tree).  Each keeps
	 * OpenAI's members where its own shape has room, so a client
	 * reading either finds the message.
	 */
	json_t *(*error)(int status, const char *type, const char *code,
	    const char *param, const char *msg);
	/*
	 * Native streams (the provider speaks this API): whether one
	 * upstream event must wait until the cost is known (1: the relay
	 * keeps it and gives it to native_end), else 0 (relayed as it
	 * came).  NULL: none waits.
	 */
	int (*native_hold)(const char *type, const json_t *ev);
	/*
	 * The kept events, in order, with the usage and cost added where
	 * the API keeps its usage (Anthropic: message_delta.usage), through
	 * emit.  held is an array of {"event": type or null, "data": ev}.
	 */
	int (*native_end)(struct api_state *, const json_t *held,
	    const struct api_meta *m, api_emit_fn emit, void *arg);
	/* A native whole answer with the cost added to its usage (changed). */
	void (*native_answer)(json_t *answer, const struct api_meta *m);
	/*
	 * Added for the Gemini codec (issue 16): free what the codec keeps
	 * in priv beyond its 4 KiB (buffered tool-call arguments).  The
	 * relay calls it once a stream is over however it ended (end and
	 * stream_error call it themselves; a second call does nothing).
	 * NULL: the codec keeps nothing outside priv.
	 */
	void (*release)(struct api_state *);
};

/* The Anthropic Messages API (api_anthropic.c). */
extern const struct api_ops api_anthropic_ops;
/* The OpenAI Responses API, its stateless subset (api_responses.c). */
extern const struct api_ops api_responses_ops;
/* The Gemini API's generateContent (api_gemini.c). */
extern const struct api_ops api_gemini_ops;

/*
 * Where a codec's tree holds the cost as an exact decimal JSON number, it
 * puts json_string(API_COST_MARK); api_dump writes the number there
 * (jansson prints reals in binary-float form).  The mark holds random
 * characters drawn once per process, so that no text a client or a model
 * writes (a prompt, an answer, a schema key) can be taken for it.
 */
#define API_COST_MARK api_cost_mark()
const char *api_cost_mark(void);
/* The mark as a compact dump writes it, quotes included. */
const char *api_cost_mark_json(void);
/*
 * tollgate's gateway_usage object (a new tree), which every API's answer
 * and end event carries beside its own usage: cost and balance_after as
 * decimal USD strings, request_id, provider, model.
 */
json_t *api_gateway_usage(const struct api_meta *m);
/*
 * Serialize o compactly with every API_COST_MARK string replaced by the
 * cost of m as a decimal number; malloc'd (free it), NULL out of memory.
 */
char *api_dump(const json_t *o, const struct api_meta *m);
/* The codec of a client wire (NULL for WIRE_OPENAI, which needs none). */
const struct api_ops *api_ops_of(enum wire);

#endif
