/* q_refresh.h: the catalogue as a model-list refresh sees it: prices by source */
/* SPDX-License-Identifier: MIT */
#ifndef Q_REFRESH_H
#define Q_REFRESH_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct arena;
struct db_conn;

/*
 * A catalogue model with its prices (micro-USD per million tokens), its
 * route's on the refreshed provider (-1: none) and what the last refresh
 * wrote (-1: none, an operator's row).
 */
struct q_refresh_row {
	const char *id;
	int refreshed; /* source = 'refresh' */
	int64_t input, output;
	int64_t route_input, route_output;
	int64_t was_input, was_output;
};

/* A model a refresh adds, with its route on provider_id. */
struct q_refresh_new {
	const char *id, *name, *vendor, *provider_id;
	int64_t context_length, input, output;
};

/* Every catalogue model (locked for the refresh's transaction), by id. */
enum tg_err q_refresh_rows(struct db_conn *, struct arena *,
    const char *provider_id, struct q_refresh_row **out, size_t *n);
/* Add the model (source 'refresh') and its route. */
enum tg_err q_refresh_add(
    struct db_conn *, struct arena *, const struct q_refresh_new *);
/* Reprice a refreshed model and its route on provider_id. */
enum tg_err q_refresh_price(
    struct db_conn *, struct arena *, const struct q_refresh_new *);

#endif
