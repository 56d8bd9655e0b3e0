/* openrouter.h: the OpenRouter provider as the pass-through sees it: its deployment, model ids, imported keys */
/* SPDX-License-Identifier: MIT */
#ifndef DOMAIN_OPENROUTER_H
#define DOMAIN_OPENROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"
#include "domain/upstream.h"

struct arena;
struct conf;
struct db_conn;
struct op;

/* [openrouter] provider, or "openrouter" when unset. */
const char *or_provider_id(const struct conf *);
/*
 * The OpenRouter provider's deployment of model (NULL: none named), priced
 * at 0 (what OpenRouter reports is the price): *out's strings live in a.
 * TG_ENOENT when the provider is missing, disabled or not of kind
 * openrouter.
 */
enum tg_err or_deployment(struct db_conn *, struct arena *, const struct conf *,
    const char *model, struct deployment *out);
/*
 * 1 when model looks like an OpenRouter id: vendor/model[:variant], each
 * part of [A-Za-z0-9._-] (and the model part '/' for nested names), at most
 * 128 bytes.
 */
int or_model_id_ok(const char *model);
/* 1 when model is in the catalogue (id or alias), enabled or not. */
int or_catalogued(struct db_conn *, struct arena *, const char *model);
/* 1 for a ":free" variant, which OpenRouter serves at no cost. */
int or_model_free(const char *model);

/* What import-keys did. */
struct or_import {
	int64_t added, skipped;
};
/*
 * Add each of the n keys to provider_id's pool, sealed as key-add seals,
 * with limits lim (NULL none); a key already in the pool (opened and
 * compared) or twice in keys is skipped.  One audited row per added key.
 * Stops at the first failure (op->fail says why; what was added stays).
 */
enum tg_err or_keys_import(struct db_conn *, struct op *,
    const unsigned char master[CRYPTO_MASTER_LEN], const char *provider_id,
    char *const *keys, size_t n, const struct pool_key *lim,
    struct or_import *out);

#endif
