/* pricing.c: the arithmetic of metered requests: holds, costs, commission */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "domain/pricing.h"
#include "core/json.h"
#include "core/money.h"

#define TOKENS_PER_PRICE 1000000 /* prices are per million tokens */
#define BP_WHOLE	 10000

/* a * b / d rounded up, for non-negative operands; saturates at INT64_MAX. */
static int64_t
muldiv_up(int64_t a, int64_t b, int64_t d)
{
	__int128 p = (__int128)a * b;
	__int128 q = (p + d - 1) / d;

	return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

static int64_t
add_sat(int64_t a, int64_t b)
{
	return a > INT64_MAX - b ? INT64_MAX : a + b;
}

/* Price in micro-USD per million tokens times tokens = nano-USD x 1000. */
static int64_t
tokens_cost(int64_t tokens, int64_t micro_per_million)
{
	/* tokens x micro / 1e6 micro-USD = tokens x micro / 1e3 nano-USD */
	return muldiv_up(tokens, micro_per_million, TOKENS_PER_PRICE / 1000);
}

static int64_t
with_commission(int64_t base, unsigned bp, int64_t *commission)
{
	*commission = muldiv_up(base, bp, BP_WHOLE);
	return add_sat(base, *commission);
}

/* The price of a prompt token written to a cache: its own, else the input. */
static int64_t
write_price(const struct prices *p)
{
	return p->cache_write > 0 ? p->cache_write : p->input;
}

int64_t
chat_hold(const struct prices *p, int64_t prompt_bound, int64_t max_out,
    int64_t n, unsigned bp)
{
	int64_t base, comm, in = p->input;

	if (prompt_bound < 0)
		prompt_bound = 0;
	if (max_out < 0)
		max_out = 0;
	if (n < 1)
		n = 1;
	/* Any prompt token may be a cache write or read: the dearest price. */
	if (write_price(p) > in)
		in = write_price(p);
	if (p->cached > in)
		in = p->cached;
	base = add_sat(tokens_cost(prompt_bound, in),
	    tokens_cost(muldiv_up(max_out, n, 1), p->output));
	return with_commission(base, bp, &comm);
}

/* v within [0, max]. */
static int64_t
clamp(int64_t v, int64_t max)
{
	return v < 0 ? 0 : v > max ? max : v;
}

void
chat_cost(const struct prices *p, const struct token_counts *u, unsigned bp,
    struct cost *out)
{
	int64_t prompt = u->prompt > 0 ? u->prompt : 0, cached, written;

	/* Reads and writes are parts of the prompt, never more than it. */
	cached = clamp(u->cached, prompt);
	written = clamp(u->cache_write, prompt - cached);
	out->base = add_sat(
	    add_sat(tokens_cost(prompt - cached - written, p->input),
		tokens_cost(cached, p->cached)),
	    add_sat(tokens_cost(written, write_price(p)),
		tokens_cost(u->completion > 0 ? u->completion : 0, p->output)));
	out->charge = with_commission(out->base, bp, &out->commission);
}

void
chat_cost_of_base(int64_t base, unsigned bp, struct cost *out)
{
	out->base = base > 0 ? base : 0;
	out->charge = with_commission(out->base, bp, &out->commission);
}

int64_t
chat_estimate_tokens(size_t bytes)
{
	return (int64_t)((bytes + 3) / 4);
}
