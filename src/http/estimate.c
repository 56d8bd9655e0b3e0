/* estimate.c: the tokens of a request without the provider's usage: the prompt by the model's tokenizer, the completion from the text relayed */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/tokenize.h"
#include "domain/pricing.h"
#include "http/chat.h"
#include "http/conv_cap.h"
#include "http/estimate.h"
#include "http/req.h"

#define MSG_TOKENS   3 /* OpenAI: every message costs 3 more ... */
#define REPLY_TOKENS 3 /* ... and the reply is primed with 3 */
#define NAME_TOKENS  1 /* a message's name costs 1 more */

/*
 * The ranks of the model that answered (its upstream name, which the
 * provider tokenizes), or NULL: then bytes.
 */
static const struct tok_ranks *
ranks_of(const struct call *x)
{
	const char *m = x->rl.rt != NULL && x->rl.rt->upstream_model != NULL
	    ? x->rl.rt->upstream_model
	    : x->model;

	return tok_get(tok_enc_of(m));
}

/*
 * A running count with a budget: at most TOK_TEXT_MAX bytes of a request are
 * tokenized; the rest is counted at the rate of what was (a bounded cost
 * whatever the body, which max_body caps anyway).
 */
struct tally {
	const struct tok_ranks *t;
	int64_t tokens;
	size_t counted, skipped;
};

static void
tally_text(struct tally *y, const char *s, size_t n)
{
	if (y->counted + n <= TOK_TEXT_MAX) {
		y->tokens += tok_count(y->t, s, n);
		y->counted += n;
	} else {
		y->skipped += n;
	}
}

static void
tally_json(struct tally *y, const json_t *v)
{
	char *s;

	if (json_is_string(v)) {
		tally_text(y, json_string_value(v), json_string_length(v));
	} else if (v != NULL && !json_is_null(v) &&
	    (s = json_dumps(v, JSON_COMPACT)) != NULL) {
		/* tool calls, tools: their JSON, as the model reads it */
		tally_text(y, s, strlen(s));
		free(s);
	}
}

static int64_t
tally_total(const struct tally *y)
{
	if (y->skipped == 0)
		return y->tokens;
	if (y->counted == 0)
		return y->tokens + chat_estimate_tokens(y->skipped);
	return y->tokens +
	    (int64_t)(((__int128)y->tokens * y->skipped + y->counted - 1) /
		y->counted);
}

/* A message's content: a string, or parts whose text counts (images: not). */
static void
tally_content(struct tally *y, const json_t *c)
{
	const json_t *p;
	size_t i;

	if (!json_is_array(c)) {
		tally_json(y, c);
		return;
	}
	json_array_foreach(c, i, p)
		tally_json(y, json_object_get(p, "text"));
}

static void
tally_messages(struct tally *y, const json_t *msgs, const json_t *body)
{
	const json_t *m, *v;
	const char *k;
	size_t i;

	json_array_foreach(msgs, i, m) {
		y->tokens += MSG_TOKENS;
		json_object_foreach((json_t *)m, k, v) {
			if (strcmp(k, "content") == 0)
				tally_content(y, v);
			else
				tally_json(y, v);
			if (strcmp(k, "name") == 0)
				y->tokens += NAME_TOKENS;
		}
	}
	y->tokens += REPLY_TOKENS;
	tally_json(y, json_object_get(body, "tools"));
	tally_json(y, json_object_get(body, "functions"));
}

/* prompt or input: a string, strings, a token array or arrays of them. */
static void
tally_input(struct tally *y, const json_t *v)
{
	const json_t *e;
	size_t i;

	if (json_is_integer(v)) {
		y->tokens++;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			tally_input(y, e);
	} else {
		tally_json(y, v);
	}
}

int64_t
estimate_prompt(const struct call *x)
{
	struct tally y = {ranks_of(x), 0, 0, 0};
	const json_t *body = x->r->json;
	const json_t *in = json_object_get(body, chat_eps[x->ep].input);

	if (y.t == NULL || in == NULL)
		return x->prompt_estimate;
	if (x->ep == EP_CHAT)
		tally_messages(&y, in, body);
	else
		tally_input(&y, in);
	return tally_total(&y);
}

int64_t
estimate_completion(const struct call *x)
{
	const struct buf *b = x->rl.said;
	const struct tok_ranks *t = ranks_of(x);
	int64_t n;

	if (t == NULL || b == NULL || b->len == 0)
		return chat_estimate_tokens(x->rl.delivered_bytes);
	n = tok_count(t, b->data, b->len);
	if (x->rl.delivered_bytes > b->len) /* past the cap: at its rate */
		n = (int64_t)(((__int128)n * x->rl.delivered_bytes + b->len -
				  1) /
		    b->len);
	return n;
}

static void
said_free(void *p)
{
	buf_free(p);
}

/* The buffer the relayed text goes to, when a tokenizer will read it. */
static struct buf *
said_of(struct call *x)
{
	struct buf *b;

	if (x->rl.said != NULL || ranks_of(x) == NULL)
		return x->rl.said;
	if ((b = arena_alloc(x->r->arena, sizeof(*b))) == NULL)
		return NULL;
	buf_init(b, TOK_TEXT_MAX);
	arena_defer(x->r->arena, said_free, b);
	return x->rl.said = b;
}

void
estimate_keep(struct call *x, const json_t *chunk, size_t n)
{
	const struct prov_ops *ops = relay_ops(x);
	struct buf *b;

	conv_keep(x, chunk); /* issue 18: convlog */
	x->rl.delivered_bytes += n;
	if (n == 0 || ops->text == NULL || (b = said_of(x)) == NULL)
		return;
	ops->text(chunk, b);
}

void
estimate_answer(struct call *x, const json_t *answer)
{
	const struct prov_ops *ops = relay_ops(x);
	json_t *o = (json_t *)answer;

	x->rl.delivered_bytes = x->rl.hr.body_len; /* when it has no text */
	if (ops->text == NULL)
		return;
	if (o == NULL) {
		/* Read without a tree while the usage was sought: load it now. */
		o = json_loadb(x->rl.hr.body, x->rl.hr.body_len, 0, NULL);
		if (o == NULL)
			return;
		arena_defer_json(x->r->arena, o);
	}
	x->rl.delivered_bytes = ops->text(o, said_of(x));
}
