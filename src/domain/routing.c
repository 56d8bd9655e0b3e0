/* routing.c: the order a model's deployments are tried in: price, client preferences, latency */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/money.h"
#include "domain/routing.h"

static enum tg_err
names(const json_t *a, const char *param, const char **out, size_t *n,
    const char **bad, char *msg, size_t msglen)
{
	json_t *e;
	size_t i;

	*n = 0;
	if (a == NULL || json_is_null(a))
		return TG_OK;
	if (!json_is_array(a) || json_array_size(a) > ROUTE_MAX_NAMES)
		goto bad;
	json_array_foreach(a, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > 64)
			goto bad;
		out[(*n)++] = json_string_value(e);
	}
	return TG_OK;
bad:
	*bad = param;
	snprintf(msg, msglen, "%s is an array of at most %d provider ids",
	    param, ROUTE_MAX_NAMES);
	return TG_EINVAL;
}

/* USD per million tokens, as OpenRouter's max_price takes it. */
static enum tg_err
price(const json_t *v, const char *param, int64_t *out, const char **bad,
    char *msg, size_t msglen)
{
	int64_t nano;

	*out = -1;
	if (v == NULL || json_is_null(v))
		return TG_OK;
	if (money_from_json(v, &nano) == 0 && nano >= 0) {
		*out = nano / 1000; /* to micro-USD per million */
		return TG_OK;
	}
	*bad = param;
	snprintf(msg, msglen, "%s is a price in USD per million tokens", param);
	return TG_EINVAL;
}

/* clang-format off */
static const struct { const char *name; enum route_sort sort; } sorts[] = {
	{ "price",	RS_PRICE },
	{ "latency",	RS_LATENCY },
	{ "throughput",	RS_THROUGHPUT },
};
/* clang-format on */

enum tg_err
routing_prefs_parse(const json_t *p, struct route_prefs *rp, const char **param,
    char *msg, size_t msglen)
{
	json_t *v, *mp;
	size_t i;
	enum tg_err rc;

	memset(rp, 0, sizeof(*rp));
	rp->allow_fallbacks = 1;
	rp->max_input = rp->max_output = -1;
	if (p == NULL || json_is_null(p))
		return TG_OK;
	if (!json_is_object(p)) {
		*param = "provider";
		snprintf(msg, msglen,
		    "provider is an object (order, "
		    "allow_fallbacks, sort, max_price, ...)");
		return TG_EINVAL;
	}
	if ((rc = names(json_object_get(p, "order"), "provider.order",
		 rp->order, &rp->norder, param, msg, msglen)) != TG_OK ||
	    (rc = names(json_object_get(p, "only"), "provider.only", rp->only,
		 &rp->nonly, param, msg, msglen)) != TG_OK ||
	    (rc = names(json_object_get(p, "ignore"), "provider.ignore",
		 rp->ignore, &rp->nignore, param, msg, msglen)) != TG_OK)
		return rc;
	if ((v = json_object_get(p, "allow_fallbacks")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			*param = "provider.allow_fallbacks";
			snprintf(msg, msglen, "%s is true or false", *param);
			return TG_EINVAL;
		}
		rp->allow_fallbacks = json_is_true(v);
	}
	if ((v = json_object_get(p, "sort")) != NULL && !json_is_null(v)) {
		for (i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), sorts[i].name) == 0)
				rp->sort = sorts[i].sort;
		if (rp->sort == RS_DEFAULT) {
			*param = "provider.sort";
			snprintf(msg, msglen,
			    "provider.sort is price, latency or throughput");
			return TG_EINVAL;
		}
	}
	mp = json_object_get(p, "max_price");
	if (mp != NULL && !json_is_null(mp) && !json_is_object(mp)) {
		*param = "provider.max_price";
		snprintf(msg, msglen,
		    "provider.max_price is an object {prompt, completion}");
		return TG_EINVAL;
	}
	if ((rc = price(json_object_get(mp, "prompt"),
		 "provider.max_price.prompt", &rp->max_input, param, msg,
		 msglen)) != TG_OK ||
	    (rc = price(json_object_get(mp, "completion"),
		 "provider.max_price.completion", &rp->max_output, param, msg,
		 msglen)) != TG_OK)
		return rc;
	return TG_OK;
}

static int
listed(const char *const *l, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(l[i], id) == 0)
			return (int)i;
	return -1;
}

static int
excluded(const struct deployment *d, const struct route_prefs *rp)
{
	if (rp->nonly > 0 && listed(rp->only, rp->nonly, d->provider_id) < 0)
		return 1;
	if (listed(rp->ignore, rp->nignore, d->provider_id) >= 0)
		return 1;
	if (rp->max_input >= 0 && d->input_price > rp->max_input)
		return 1;
	if (rp->max_output >= 0 && d->output_price > rp->max_output)
		return 1;
	if (!rp->allow_fallbacks && rp->norder > 0 &&
	    listed(rp->order, rp->norder, d->provider_id) < 0)
		return 1;
	return 0;
}

/* Sort key: the place in `order`, then price or latency, then the given order. */
struct ranked {
	struct deployment d;
	int pinned; /* index in order, or ROUTE_MAX_NAMES */
	double metric;
	size_t given;
};

static int
before(const struct ranked *a, const struct ranked *b)
{
	if (a->pinned != b->pinned)
		return a->pinned < b->pinned;
	if (a->metric != b->metric)
		return a->metric < b->metric;
	return a->given < b->given;
}

size_t
routing_apply(struct deployment *d, size_t n, const struct route_prefs *rp,
    const double *ttft_ms)
{
	struct ranked r[UPSTREAM_MAX_ROUTES], t;
	size_t i, j, m = 0;
	int pin;

	for (i = 0; i < n && i < UPSTREAM_MAX_ROUTES; i++) {
		if (excluded(&d[i], rp))
			continue;
		pin = listed(rp->order, rp->norder, d[i].provider_id);
		r[m].d = d[i];
		r[m].pinned = pin >= 0 ? pin : ROUTE_MAX_NAMES;
		r[m].given = i;
		if (rp->sort == RS_LATENCY || rp->sort == RS_THROUGHPUT)
			/* Unknown latency after every measured one. */
			r[m].metric = ttft_ms != NULL && ttft_ms[i] >= 0
			    ? ttft_ms[i]
			    : 1e12 + (double)i;
		else
			r[m].metric =
			    (double)(d[i].input_price + d[i].output_price);
		m++;
	}
	/* Insertion sort: at most UPSTREAM_MAX_ROUTES deployments. */
	for (i = 1; i < m; i++)
		for (j = i; j > 0 && before(&r[j], &r[j - 1]); j--) {
			t = r[j];
			r[j] = r[j - 1];
			r[j - 1] = t;
		}
	for (i = 0; i < m; i++)
		d[i] = r[i].d;
	return m;
}
