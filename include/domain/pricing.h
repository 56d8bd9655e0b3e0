/* pricing.h: the arithmetic of metered requests: holds, costs, commission, usage */
/* SPDX-License-Identifier: MIT */
#ifndef CHAT_H
#define CHAT_H

#include <stdint.h>
#include <jansson.h>

#include "core/tollgate.h"

/* Prices of one deployment, micro-USD per million tokens. */
struct prices {
	int64_t input;
	int64_t output;
	int64_t cached; /* for cached prompt tokens (cache reads) */
	int64_t
	    cache_write; /* for prompt tokens written to a cache; 0: input */
};

/* Token counts of one answer, as the upstream reported or as estimated. */
struct token_counts {
	int64_t prompt;
	int64_t completion;
	int64_t cached;	     /* part of prompt: read from a cache */
	int64_t cache_write; /* part of prompt: written to a cache */
	int64_t reasoning;   /* part of completion */
	int64_t
	    upstream_cost; /* nano-USD the upstream reported (OpenRouter), -1 none */
	int present;	   /* the upstream sent a usage object */
};

/* What a request costs, in nano-USD. */
struct cost {
	int64_t base;
	int64_t commission;
	int64_t charge;
};

#define CHAT_MAX_TOKENS_CAP                                                    \
	1000000 /* largest max_tokens accepted from a client */
#define CHAT_MAX_N 16

/*
 * The worst case a request can cost: every byte of the body a prompt token at
 * the dearest prompt price (input, cache write, cache read), n x max_out
 * completion tokens at the output price, plus commission (bp basis points).
 * Saturates instead of overflowing.
 */
int64_t chat_hold(const struct prices *, int64_t prompt_bound, int64_t max_out,
    int64_t n, unsigned bp);
/*
 * The charge for u: uncached prompt (prompt - cached - cache_write) at input,
 * cache reads at cached, cache writes at cache_write (0: input), completion
 * (reasoning included) at output, each rounded up to a whole nano-USD, then
 * commission rounded up.  cached and cache_write are clamped to the prompt.
 */
void chat_cost(const struct prices *, const struct token_counts *, unsigned bp,
    struct cost *out);
/* A cost from a base price the provider reported (OpenRouter's usage.cost). */
void chat_cost_of_base(int64_t base, unsigned bp, struct cost *out);
/* Tokens in n bytes of text, estimated (about 4 bytes a token, rounded up). */
int64_t chat_estimate_tokens(size_t bytes);

#endif
