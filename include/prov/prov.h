/* prov.h: provider wire formats: request URL, headers and body; usage in answers */
#ifndef PROV_H
#define PROV_H

#include <stddef.h>
#include <jansson.h>

#include "domain/upstream.h"

struct arena;

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

/*
 * Build the upstream request for body (the client's, not modified) on route
 * rt: the deployment's model name, exactly one output cap, max_out (the one
 * held; 0 none), under the name the provider's kind reads, every other cap
 * the client sent removed, usage asked for in streams, and the provider's own
 * headers (the bearer secret, OpenRouter's attribution).
 * referer/title come from the client's HTTP-Referer/X-Title, may be NULL.
 * 0 or -1 (out of memory).
 */
int prov_build(struct arena *, enum endpoint, const struct deployment *rt,
    const json_t *body, int stream, int64_t max_out, const char *secret,
    const char *referer, const char *title, struct prov_call *out);
/* Path of an endpoint under /v1 ("/chat/completions"). */
const char *prov_endpoint_path(enum endpoint);

#endif
