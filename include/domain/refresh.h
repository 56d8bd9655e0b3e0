/* refresh.h: the model catalogue refreshed from OpenRouter's model list, never over the operator's prices */
/* SPDX-License-Identifier: MIT */
#ifndef REFRESH_H
#define REFRESH_H

#include <stdint.h>
#include <jansson.h>

#include "core/tollgate.h"

struct db_conn;
struct op;

/* The most models one refresh reads (OpenRouter lists a few hundred). */
#define REFRESH_MAX_MODELS 10000

/*
 * A price as OpenRouter gives it (USD per token, a decimal string such as
 * "0.00000015") in micro-USD per million tokens (150000), rounded up past
 * the 12th decimal so a price is never lowered.  -1 for anything else: a
 * negative price ("-1": the router's varies), a number, an empty string, more
 * than 1 USD a token.
 */
int refresh_usd_per_token(const json_t *v, int64_t *out);

/*
 * Apply data (OpenRouter's "data" array) to the catalogue for provider_id
 * (of kind openrouter), in one audited transaction (model.refresh): a model
 * the catalogue lacks is added (source 'refresh', with a route on
 * provider_id at its prices); a refreshed model whose prices nobody changed
 * since is repriced; the operator's rows (their own, or a refreshed one
 * they repriced) stay.  *report: {added:[id], updated:[id], unchanged:N,
 * skipped:[{id, reason}]}.  TG_EINVAL (op) when data is not an array or
 * too long.
 */
enum tg_err refresh_models(struct db_conn *, struct op *,
    const char *provider_id, const json_t *data, json_t **report);

#endif
