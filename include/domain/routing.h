/* routing.h: the order a model's deployments are tried in: price, client preferences, latency */
/* SPDX-License-Identifier: MIT */
#ifndef ROUTING_H
#define ROUTING_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/tollgate.h"
#include "domain/upstream.h"

#define ROUTE_MAX_NAMES 16

enum route_sort { RS_DEFAULT = 0, RS_PRICE, RS_LATENCY, RS_THROUGHPUT };

/* OpenRouter's request `provider` object, as tollgate reads it. */
struct route_prefs {
	const char *order[ROUTE_MAX_NAMES]; /* provider ids to try first */
	size_t norder;
	const char *only[ROUTE_MAX_NAMES];
	size_t nonly;
	const char *ignore[ROUTE_MAX_NAMES];
	size_t nignore;
	int allow_fallbacks; /* default 1 */
	enum route_sort sort;
	int64_t max_input; /* micro-USD per million tokens; -1 none */
	int64_t max_output;
};

/*
 * Read provider (NULL: defaults).  Members tollgate does not use are
 * ignored, as OpenRouter adds new ones.  TG_EINVAL with *param and msg.
 */
enum tg_err routing_prefs_parse(const json_t *provider, struct route_prefs *,
    const char **param, char *msg, size_t msglen);
/*
 * Filter and order d[0..n) in place: drop what only/ignore/max_price exclude;
 * put `order` first in its order (and, without fallbacks, keep only those);
 * then sort the rest by price (the default; ties as given: priority, then
 * weight) or by latency (ttft_ms per deployment, < 0 unknown: after the
 * known ones).  Returns the new count.
 */
size_t routing_apply(struct deployment *d, size_t n, const struct route_prefs *,
    const double *ttft_ms);

#endif
