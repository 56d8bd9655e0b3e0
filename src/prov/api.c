/* api.c: what every client API's codec shares: the cost, gateway_usage and the codec of a wire */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/json.h"
#include "core/money.h"
#include "prov/api.h"

#define MARK_RANDOM 22 /* base62 characters: 130 bits */

static pthread_once_t mark_once = PTHREAD_ONCE_INIT;
static char mark[32];	   /* "\x01" random "\x01" */
static char mark_json[48]; /* the same as jansson writes it, quoted */

static void
mark_init(void)
{
	char r[MARK_RANDOM + 1];

	if (crypto_base62(r, MARK_RANDOM) != 0)
		abort(); /* no randomness: nothing is safe to answer */
	snprintf(mark, sizeof(mark), "\x01%s\x01", r);
	snprintf(mark_json, sizeof(mark_json), "\"\\u0001%s\\u0001\"", r);
}

const char *
api_cost_mark(void)
{
	pthread_once(&mark_once, mark_init);
	return mark;
}

const char *
api_cost_mark_json(void)
{
	pthread_once(&mark_once, mark_init);
	return mark_json;
}

/* clang-format off */
static const struct api_ops *const wire_api[WIRE__MAX] = {
	[WIRE_OPENAI]	 = NULL,
	[WIRE_ANTHROPIC] = &api_anthropic_ops,
	[WIRE_GEMINI]	 = &api_gemini_ops,
	[WIRE_RESPONSES] = &api_responses_ops,
};
/* clang-format on */

const struct api_ops *
api_ops_of(enum wire w)
{
	return (unsigned)w < WIRE__MAX ? wire_api[w] : NULL;
}

json_t *
api_gateway_usage(const struct api_meta *m)
{
	char cost[40], bal[40];

	money_format(m->charged, cost, sizeof(cost));
	money_format(m->balance_after, bal, sizeof(bal));
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s?}", "cost", cost,
	    "balance_after", bal, "request_id", m->request_id, "provider",
	    m->provider, "model", m->model);
}

char *
api_dump(const json_t *o, const struct api_meta *m)
{
	char cost[40], *s, *out, *p, *q;
	size_t n = 0, marks = 0, cl, ml;

	pthread_once(&mark_once, mark_init);
	ml = strlen(mark_json);
	if ((s = jx_dump(o)) == NULL)
		return NULL;
	for (p = s; (p = strstr(p, mark_json)) != NULL; p += ml)
		marks++;
	if (marks == 0)
		return s;
	money_format(m->charged, cost, sizeof(cost));
	cl = strlen(cost);
	if ((out = malloc(strlen(s) - marks * ml + marks * cl + 1)) == NULL) {
		free(s);
		return NULL;
	}
	for (p = s, q = out; (p = strstr(s + n, mark_json)) != NULL;
	     n = (size_t)(p - s) + ml) {
		memcpy(q, s + n, (size_t)(p - s) - n);
		q += (size_t)(p - s) - n;
		memcpy(q, cost, cl);
		q += cl;
	}
	strcpy(q, s + n);
	free(s);
	return out;
}
