/* answer.h: shaping the answer: the cost and gateway_usage a metered answer carries */
/* SPDX-License-Identifier: MIT */
#ifndef ANSWER_H
#define ANSWER_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct arena;
struct buf;
struct jx_where;

/* What tollgate adds to an answer; strings borrowed. */
struct answer_meta {
	const char *request_id;
	const char *provider; /* NULL: none was reached */
	const char *model;
	int64_t charged;       /* nano-USD */
	int64_t balance_after; /* nano-USD */
	/* issue 18: s001: seed 001's names beside ours */
	int64_t tokens_charged; /* prompt + completion tokens billed */
	const char *api_key;	/* the calling key, masked; NULL: a session */
};

/* nano-USD as a decimal USD string ("0.00003045"), in the arena. */
char *answer_usd(struct arena *, int64_t nano);
/*
 * Serialize o (an object) with usage.cost as an exact JSON number, and
 * gateway_usage; NULL when out of memory.  o is changed.
 */
char *answer_with_cost(struct arena *, const struct answer_meta *, json_t *o);
/*
 * The provider's answer text (len bytes, whose usage object sits at *w) with
 * usage.cost and gateway_usage spliced into its own bytes; *outlen its
 * length; NULL when out of memory.
 */
char *answer_splice(struct arena *, const struct answer_meta *, const char *t,
    size_t len, const struct jx_where *w, size_t *outlen);

/*
 * The answer's (or a stream chunk's) text with its top-level "model" naming
 * model, the catalogue id the client asked for, not the provider's own, into
 * out (reset first): 1, or 0 when it names none, names it already or out of
 * memory (then t is as good).
 */
int answer_rename(
    struct buf *out, const char *t, size_t len, const char *model);

#endif
