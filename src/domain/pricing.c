/* pricing.c: the arithmetic of metered requests: holds, costs, commission, usage */
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

int64_t
chat_hold(const struct prices *p, int64_t prompt_bound, int64_t max_out,
    int64_t n, unsigned bp)
{
	int64_t base, comm;

	if (prompt_bound < 0)
		prompt_bound = 0;
	if (max_out < 0)
		max_out = 0;
	if (n < 1)
		n = 1;
	base = add_sat(tokens_cost(prompt_bound, p->input),
	    tokens_cost(muldiv_up(max_out, n, 1), p->output));
	return with_commission(base, bp, &comm);
}

void
chat_cost(const struct prices *p, const struct usage *u, unsigned bp,
    struct cost *out)
{
	int64_t cached = u->cached, prompt = u->prompt;

	if (cached > prompt)
		cached = prompt;
	if (cached < 0)
		cached = 0;
	out->base = add_sat(add_sat(tokens_cost(prompt - cached, p->input),
				tokens_cost(cached, p->cached)),
	    tokens_cost(u->completion > 0 ? u->completion : 0, p->output));
	out->charge = with_commission(out->base, bp, &out->commission);
}

void
chat_cost_of_base(int64_t base, unsigned bp, struct cost *out)
{
	out->base = base > 0 ? base : 0;
	out->charge = with_commission(out->base, bp, &out->commission);
}

/*
 * The members the usage rules read, from a tree (chat_usage_parse) or from
 * text that jx_valid passed (chat_usage_scan), so that one set of rules
 * serves both.  Text whose keys are written with escapes cannot be judged
 * byte by byte: *unjudged is set, and the caller loads a tree instead.
 */
struct usrc {
	int text;	 /* which of the two below */
	const json_t *o; /* the tree; NULL: absent or not an object */
	const char *t;	 /* the text; NULL: absent or not an object */
	size_t len;
	int *unjudged;
};

/* Where member k's value sits in text mode: 1, 0 when absent. */
static int
locate(const struct usrc *s, const char *k, struct jx_where *w)
{
	int n;

	if (s->t == NULL)
		return 0;
	if ((n = jx_locate(s->t, s->len, k, w)) < 0)
		*s->unjudged = 1;
	return n > 0;
}

static int
has(const struct usrc *s, const char *k)
{
	struct jx_where w;

	return s->text ? locate(s, k, &w) : json_object_get(s->o, k) != NULL;
}

/* A non-negative integer member, or 0. */
static int64_t
count(const struct usrc *s, const char *k)
{
	struct jx_where w;
	const char *p, *e;
	int64_t n = 0;
	json_t *v;

	if (!s->text) {
		v = json_object_get(s->o, k);
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return 0;
		return json_integer_value(v);
	}
	if (!locate(s, k, &w))
		return 0;
	/*
	 * An integer is digits alone: a '-' makes it negative, a '.', 'e' or
	 * 'E' a real (both count 0), and jx_valid refused one out of range.
	 */
	for (p = e = s->t + w.vs; e < s->t + w.ve && *e >= '0' && *e <= '9';
	     e++)
		n = n > (INT64_MAX - (*e - '0')) / 10 ? INT64_MAX
						      : n * 10 + (*e - '0');
	return e == p || e != s->t + w.ve ? 0 : n;
}

/* The object member k, as a source of its own (absent when not an object). */
static struct usrc
sub(const struct usrc *s, const char *k)
{
	struct usrc r = {.text = s->text, .unjudged = s->unjudged};
	struct jx_where w;

	if (!s->text) {
		r.o = json_object_get(s->o, k);
		if (!json_is_object(r.o))
			r.o = NULL;
	} else if (locate(s, k, &w) && s->t[w.vs] == '{') {
		r.t = s->t + w.vs;
		r.len = w.ve - w.vs;
	}
	return r;
}

static int
usage_read(const struct usrc *s, struct usage *out)
{
	struct usrc d;
	json_t *v;
	int64_t nano;

	/*
	 * OpenRouter's cost is money: read from a tree, never from text, and
	 * a cost already there must not get a second one spliced beside it.
	 */
	if (s->text && has(s, "cost"))
		*s->unjudged = 1;
	if (!has(s, "prompt_tokens") && !has(s, "completion_tokens") &&
	    !has(s, "total_tokens"))
		return -1;
	out->present = 1;
	out->prompt = count(s, "prompt_tokens");
	out->completion = count(s, "completion_tokens");
	/* Embeddings report only prompt and total. */
	if (!has(s, "completion_tokens") &&
	    count(s, "total_tokens") > out->prompt)
		out->completion = count(s, "total_tokens") - out->prompt;
	d = sub(s, "prompt_tokens_details");
	out->cached = count(&d, "cached_tokens");
	if (out->cached == 0)
		out->cached =
		    count(s, "prompt_cache_hit_tokens"); /* DeepSeek */
	d = sub(s, "completion_tokens_details");
	out->reasoning = count(&d, "reasoning_tokens");
	if (!s->text && (v = json_object_get(s->o, "cost")) != NULL &&
	    json_is_number(v) && money_from_json(v, &nano) == 0 && nano >= 0)
		out->upstream_cost = nano;
	return 0;
}

int
chat_usage_parse(const json_t *usage, struct usage *out)
{
	int unjudged = 0;
	struct usrc s = {.o = usage, .unjudged = &unjudged};

	memset(out, 0, sizeof(*out));
	out->upstream_cost = -1;
	if (!json_is_object(usage))
		return -1;
	return usage_read(&s, out);
}

int
chat_usage_scan(const char *text, size_t len, struct usage *out)
{
	int unjudged = 0, rc;
	struct usrc s = {
	    .text = 1, .t = text, .len = len, .unjudged = &unjudged};

	memset(out, 0, sizeof(*out));
	out->upstream_cost = -1;
	if (len == 0 || text[0] != '{')
		return -2;
	rc = usage_read(&s, out);
	return unjudged ? -2 : rc;
}

int64_t
chat_estimate_tokens(size_t bytes)
{
	return (int64_t)((bytes + 3) / 4);
}
