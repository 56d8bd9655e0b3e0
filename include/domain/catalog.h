/* catalog.h: providers, models and their prices (micro-USD per million tokens) */
/* SPDX-License-Identifier: MIT */
#ifndef CATALOG_H
#define CATALOG_H

#include <stdio.h>
#include <jansson.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/*
 * Add the providers, models and routes of a pricing file that the database
 * does not have yet (an operator's changes are never overwritten).  Prints a
 * summary line to out.  0 or -1 (reason printed).
 */
int catalog_seed(struct db_conn *, struct arena *, const char *path, FILE *out);
struct op;
/*
 * The same from a parsed pricing document (from names it in messages and the
 * audit row).  With op (an admin's) the import is audited and base URLs are
 * judged by its [security] allow_plain_http.  Problems
 * go to out; *added counts the new models.  0 or -1.
 */
int catalog_seed_doc(struct db_conn *, const struct op *op, struct arena *,
    const json_t *doc, const char *from, FILE *out, size_t *added);
/* Enabled models (all, or the one with this id) in the OpenAI list shape. */
/*
 * Set a model's image factors (image_base_tokens, image_tile_tokens; -1 and
 * -1 clear them), audited as model.image.  TG_ENOENT without such a model.
 */
enum tg_err catalog_image_set(struct db_conn *, struct op *op,
    const char *model, int64_t base, int64_t tile);
enum tg_err catalog_models(
    struct db_conn *, struct arena *, const char *id, json_t **data);
/*
 * Point alias at model (audited as model.alias): TG_EINVAL without such a
 * model or with a malformed alias, TG_ECONFLICT when alias is a model's id
 * (op->fail says which).
 */
enum tg_err catalog_alias_set(
    struct db_conn *, struct op *op, const char *alias, const char *model);
/* Remove an alias (audited as model.unalias); TG_ENOENT when none. */
enum tg_err catalog_alias_remove(
    struct db_conn *, struct op *op, const char *alias);
/* Every alias: [{alias, model}], by model then alias. */
enum tg_err catalog_aliases(struct db_conn *, struct arena *, json_t **data);
/* Providers with the number of models each serves. */
enum tg_err catalog_providers(struct db_conn *, struct arena *, json_t **data);
/* USD per million tokens: micro-USD per million -> "2.50". */
json_t *catalog_price_per_million(int64_t micro_per_million);
/* USD per token, as OpenRouter shows prices: micro-USD per million -> "0.0000025". */
json_t *catalog_price_per_token(int64_t micro_per_million);

/* issue 18: compat (catalog_csv.c) */
/*
 * Seed 000's pricing CSV from in (a header naming provider, model and
 * price_per_token, USD per token; other columns ignored): each row a model
 * (vendor/model) on that provider (openai, gemini = google, anthropic,
 * deepseek, or a provider id here) at that price for input and output.
 * Every row is checked first: one bad row (reason to out) imports nothing.
 * *added counts the models written.  0 or -1.
 */
int catalog_import_csv(
    struct db_conn *, struct op *, FILE *in, FILE *out, size_t *added);

#endif
