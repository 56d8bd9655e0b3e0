/* answer.c: the answer as the client gets it: usage.cost and gateway_usage, exact decimals */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/money.h"
#include "http/answer.h"
#include "prov/api.h"

/* A random mark a client's or a model's text cannot hold (api.h). */
#define COST_MARK      api_cost_mark()
#define COST_MARK_JSON api_cost_mark_json()
/* The gateway_usage member: ids and names are capped far below this. */
#define GATEWAY_USAGE_MAX 4096

char *
answer_usd(struct arena *a, int64_t nano)
{
	char s[40];

	money_format(nano, s, sizeof(s));
	return arena_strdup(a, s);
}

/* The gateway_usage member (no comma): what tollgate adds beside usage. */
static enum tg_err
put_gateway_usage(struct arena *a, const struct answer_meta *m, struct buf *b,
    const char *cost)
{
	const char *bal = answer_usd(a, m->balance_after);

	/* Seed 001's clients read tokens_charged, user_balance_after, user_api_key. */
	if (buf_printf(b,
		"\"gateway_usage\":{\"cost\":\"%s\",\"balance_after\":\"%s\","
		"\"request_id\":",
		cost, bal) != TG_OK ||
	    jx_quote(b, m->request_id) != TG_OK ||
	    buf_puts(b, ",\"provider\":") != TG_OK ||
	    (m->provider != NULL ? jx_quote(b, m->provider)
				 : buf_puts(b, "null")) != TG_OK ||
	    buf_puts(b, ",\"model\":") != TG_OK ||
	    jx_quote(b, m->model) != TG_OK ||
	    buf_printf(b,
		",\"tokens_charged\":%lld,\"user_balance_after\":\"%s\","
		"\"user_api_key\":",
		(long long)m->tokens_charged, bal) != TG_OK ||
	    (m->api_key != NULL ? jx_quote(b, m->api_key)
				: buf_puts(b, "null")) != TG_OK ||
	    buf_puts(b, "}") != TG_OK)
		return TG_ESYSTEM;
	return TG_OK;
}

/*
 * Serialize o (an object) with usage.cost as an exact JSON number, and
 * gateway_usage: jansson prints reals in binary-float form, so a marker
 * string is replaced by the decimal; gateway_usage is text, as in the
 * splice below.
 */
char *
answer_with_cost(struct arena *a, const struct answer_meta *m, json_t *o)
{
	json_t *u = json_object_get(o, "usage");
	const char *cost = answer_usd(a, m->charged), *mark, *rest;
	char *s, *out = NULL;
	struct buf g;

	if (json_is_object(u))
		json_object_set_new(u, "cost", json_string(COST_MARK));
	json_object_del(o, "gateway_usage");
	buf_init(&g, GATEWAY_USAGE_MAX);
	if (buf_puts(&g, json_object_size(o) ? "," : "") != TG_OK ||
	    put_gateway_usage(a, m, &g, cost) != TG_OK ||
	    (s = jx_dump(o)) == NULL)
		goto out;
	if ((mark = strstr(s, COST_MARK_JSON)) != NULL) {
		rest = mark + strlen(COST_MARK_JSON);
	} else {
		/* A compact dump of an object ends with its closing brace. */
		mark = rest = s + strlen(s) - 1;
		cost = "";
	}
	out = arena_printf(a, "%.*s%s%.*s%s}", (int)(mark - s), s, cost,
	    (int)(strlen(rest) - 1), rest, g.data);
	free(s);
out:
	buf_free(&g);
	return out;
}

/*
 * The provider's answer with usage.cost and gateway_usage spliced into its
 * own bytes, instead of re-serializing the whole document; NULL when out of
 * memory.
 */
char *
answer_splice(struct arena *a, const struct answer_meta *m, const char *t,
    size_t len, const struct jx_where *w, size_t *outlen)
{
	const char *cost;
	size_t uc, n;
	struct jx_where c;
	struct buf g;
	char *out = NULL, *p;

	uc = w->ve - 1; /* the usage object's closing brace */
	cost = answer_usd(a, m->charged);
	buf_init(&g, GATEWAY_USAGE_MAX);
	/* A comma before our cost unless the usage object has no members. */
	jx_locate(t + w->vs, w->ve - w->vs, "cost", &c);
	if (buf_printf(&g, "%s\"cost\":%s", c.members ? "," : "", cost) !=
	    TG_OK)
		goto out;
	n = g.len; /* the usage member's part; gateway_usage follows */
	if (buf_puts(&g, ",") != TG_OK ||
	    put_gateway_usage(a, m, &g, cost) != TG_OK)
		goto out;
	*outlen = len + g.len;
	p = out = arena_alloc(a, *outlen + 1);
	memcpy(p, t, uc);
	memcpy(p += uc, g.data, n);
	memcpy(p += n, t + uc, w->close - uc);
	memcpy(p += w->close - uc, g.data + n, g.len - n);
	memcpy(p += g.len - n, t + w->close, len - w->close);
	out[*outlen] = '\0';
out:
	buf_free(&g);
	return out;
}

int
answer_rename(struct buf *out, const char *t, size_t len, const char *model)
{
	struct jx_where w;

	if (jx_locate(t, len, "model", &w) != 1 || w.ve - w.vs < 2 ||
	    t[w.vs] != '"')
		return 0;
	/* Already so named: nothing to do. */
	if (w.ve - w.vs - 2 == strlen(model) &&
	    memcmp(t + w.vs + 1, model, w.ve - w.vs - 2) == 0)
		return 0;
	buf_reset(out);
	return buf_append(out, t, w.vs) == TG_OK &&
	    jx_quote(out, model) == TG_OK &&
	    buf_append(out, t + w.ve, len - w.ve) == TG_OK;
}
