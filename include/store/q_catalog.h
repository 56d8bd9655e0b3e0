/* q_catalog.h: typed queries on models, their routes and prices */
/* SPDX-License-Identifier: MIT */
#ifndef Q_CATALOG_H
#define Q_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct arena;
struct db_conn;

/* A deployment of a model (ROUTE_CANDIDATES): prices in micro-USD per million. */
struct q_route {
	const char *provider_id, *kind, *base_url, *upstream_model;
	int64_t input_price, output_price, cached_price, context_length;
	int64_t cache_write_price; /* the input price when the route has none */
};

/* A model and its price as the public listing shows it; -1: none. */
struct q_model {
	const char *id, *name, *vendor;
	int64_t context_length;
	int64_t input_price, output_price, cached_price;
	int64_t created;	   /* epoch seconds */
	const char *price_date;	   /* YYYY-MM-DD */
	int64_t cache_write_price; /* -1: none (the input price) */
	const char *aliases;	   /* separated by spaces; NULL: none */
	const char *providers;	   /* enabled routes' providers, likewise */
};

/* A model and one route of it (MODEL_UPSERT, ROUTE_UPSERT); cached < 0: none. */
struct q_model_new {
	const char *id, *name, *vendor, *provider_id, *upstream_model;
	int64_t context_length, input_price, output_price, cached_price;
	int64_t cache_write_price; /* < 0: none */
};

/* Prices of an update, micro-USD per million; < 0 keeps. */
struct q_prices {
	int64_t input, output, cached, cache_write;
};

/* *enabled: 1 or 0; TG_ENOENT when there is no such model. */
enum tg_err q_model_enabled(
    struct db_conn *, struct arena *, const char *id, int *enabled);
/* The model's enabled deployments, cheapest first. */
enum tg_err q_route_candidates(struct db_conn *, struct arena *,
    const char *model, struct q_route **out, size_t *n);
/* Add the model (or enable it) and add or reprice its route. */
enum tg_err q_model_upsert(
    struct db_conn *, struct arena *, const struct q_model_new *);
enum tg_err q_route_upsert(
    struct db_conn *, struct arena *, const struct q_model_new *);
/* Prices < 0 and enabled < 0 keep; the route's of provider_id (NULL: all). */
enum tg_err q_model_update(struct db_conn *, struct arena *, const char *id,
    const struct q_prices *, int enabled);
enum tg_err q_route_update(struct db_conn *, struct arena *, const char *id,
    const char *provider_id, const struct q_prices *, int enabled);
/*
 * The model a name means: its own id, else the model of the alias name
 * (*id, in a; name itself when neither).  TG_ENOENT when neither.
 */
enum tg_err q_model_resolve(struct db_conn *, struct arena *, const char *name,
    int *enabled, const char **id);

/* Enabled models (id "": all) with their list prices, by id. */
enum tg_err q_model_list(struct db_conn *, struct arena *, const char *id,
    struct q_model **out, size_t *n);
/*
 * A model's image factors; both -1 when it has none.  TG_ENOENT when there
 * is no such model.
 */
enum tg_err q_model_image(struct db_conn *, struct arena *, const char *id,
    int64_t *base, int64_t *tile);
/* Set them (base < 0: clear both). */
enum tg_err q_model_image_set(struct db_conn *, struct arena *, const char *id,
    int64_t base, int64_t tile);
/* Set them only where the model has none (the pricing file's seed). */
enum tg_err q_model_image_seed(struct db_conn *, struct arena *, const char *id,
    int64_t base, int64_t tile);

/* A model of the pricing file; vendor is vendor_len bytes (of id). */
struct q_model_seed {
	const char *id, *name, *vendor, *date;
	size_t vendor_len;
	int64_t context_length, input_price, output_price, cached_price;
	int64_t cache_write_price; /* < 0: none */
};
/* Add the model unless it exists; *added: 1 when it was new. */
enum tg_err q_model_seed(struct db_conn *, struct arena *,
    const struct q_model_seed *, uint64_t *added);
/* Add the model's route on provider_id unless it exists. */
enum tg_err q_route_seed(struct db_conn *, struct arena *,
    const struct q_model_seed *, const char *provider_id,
    const char *upstream_model);

/* A model's other name. */
struct q_alias {
	const char *alias, *model_id;
};
/*
 * Add alias of model unless the alias exists, is a model's id or the model
 * does not exist; *added: 1 when it was added.
 */
enum tg_err q_alias_seed(struct db_conn *, struct arena *, const char *alias,
    const char *model, uint64_t *added);
/* Point alias at model (added or moved). */
enum tg_err q_alias_set(
    struct db_conn *, struct arena *, const char *alias, const char *model);
/* Remove alias; *n: 1 when there was one. */
enum tg_err q_alias_delete(
    struct db_conn *, struct arena *, const char *alias, uint64_t *n);
/* Every alias, by model then alias. */
enum tg_err q_alias_list(
    struct db_conn *, struct arena *, struct q_alias **out, size_t *n);

#endif
