/* api_anthropic.h: the Anthropic Messages codec's halves (request in, answers and events out) */
/* SPDX-License-Identifier: MIT */
#ifndef API_ANTHROPIC_H
#define API_ANTHROPIC_H

#include <jansson.h>

#include "prov/api.h"

/*
 * Caps on the arrays a Messages request may hold (the body's own byte and
 * element caps come first; these keep one member from taking all of it).
 */
#define AA_MAX_MESSAGES 10000
#define AA_MAX_BLOCKS	1000 /* content blocks of one message or system */
#define AA_MAX_TOOLS	1000
#define AA_MAX_STOPS	64
#define AA_MAX_NAME	64 /* a tool's name: ^[a-zA-Z0-9_-]{1,64}$ */

/* api_anthropic_ops.to_pivot (api_anthropic_req.c). */
json_t *api_anthropic_to_pivot(const json_t *in, struct api_refusal *why);

/*
 * What the request's two halves share (api_anthropic_req.c).  A member is
 * named by its dotted path from the body ("messages.0.content.1"), as
 * Anthropic's messages name it; every check returns 0, or -1 with why filled.
 */
#define AA_PATH_MAX 128

/* One member an object may have. */
struct aa_field {
	const char *name;
	unsigned types; /* JX_* mask; JX_NULL: a null counts as absent */
	int required;
};

/* why: "<at>: <text>", param the bracketed path, code; -1. */
int aa_refuse(struct api_refusal *why, const char *at, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* at.key and at.i into out (AA_PATH_MAX bytes, cut short if longer). */
const char *aa_path_key(char *out, const char *at, const char *key);
const char *aa_path_idx(char *out, const char *at, size_t i);
/* Every member of o in spec with an allowed type; the required present. */
int aa_check_members(const json_t *o, const struct aa_field *spec,
    const char *at, struct api_refusal *why);
/* The member k of o unless absent or null. */
const json_t *aa_get(const json_t *o, const char *k);
/* b is an object whose "type" is a string (*type, borrowed). */
int aa_block_type(const json_t *b, const char *at, struct api_refusal *why,
    const char **type);
/* Set o[k] to v (taken) or to a copy of v; 0 or -1 out of memory. */
int aa_set_new(json_t *o, const char *k, json_t *v);
int aa_set_copy(json_t *o, const char *k, const json_t *v);
/* b's cache_control, checked, copied onto part when present. */
int aa_cache_control(
    const json_t *b, const char *at, json_t *part, struct api_refusal *why);

/* One message (messages.i) and the system as pivot messages (api_anthropic_msg.c). */
int aa_conv_message(
    const json_t *m, const char *at, json_t *msgs, struct api_refusal *why);
int aa_conv_system(const json_t *sys, json_t *msgs, struct api_refusal *why);

#endif
