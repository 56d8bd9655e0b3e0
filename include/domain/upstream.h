/* upstream.h: providers, their encrypted key pools, deployments and prices */
/* SPDX-License-Identifier: MIT */
#ifndef UPSTREAM_H
#define UPSTREAM_H

#include <stdint.h>
#include <jansson.h>

#include "core/crypto.h"
#include "domain/keypool.h"
#include "core/tollgate.h"

struct arena;
struct conf;
struct db_conn;
struct op;
struct q_prices;
struct q_ukey_change;

#define UPSTREAM_SECRET_MAX 1024 /* bytes of one provider key */
#define UPSTREAM_MAX_ROUTES 8	 /* deployments tried for one request */

/* Provider kinds tollgate speaks (prov_ops_of gives each one's wire). */
enum prov_kind {
	PROV_OPENAI = 0,
	PROV_DEEPSEEK,
	PROV_OPENROUTER,
	PROV_COMPATIBLE,
	PROV_ANTHROPIC,
	PROV_GEMINI,
	PROV_TEST, /* issue 18: test/... answered by the gateway, no upstream */
	PROV__MAX
};

/* -1 when unknown or not served by this build. */
int upstream_kind_parse(const char *);
const char *upstream_kind_name(enum prov_kind);

/*
 * Copy TOLLGATE_MASTER_KEY (if set) for upstream_master_load and remove it
 * from the environment, wiping its bytes; once, at the start of main.
 */
void upstream_master_env_take(void);
/*
 * The master key: TOLLGATE_MASTER_KEY, else the file of
 * [security] master_key_file.  0, 1 when none is configured, -1 on a bad one
 * (why in err).
 */
int upstream_master_load(const struct conf *,
    unsigned char key[CRYPTO_MASTER_LEN], char *err, size_t errlen);

/* One deployment of a model, ready to call. */
struct deployment {
	char provider_id[33];
	enum prov_kind kind;
	const char *base_url;
	const char *upstream_model;
	int64_t input_price; /* micro-USD per million tokens */
	int64_t output_price;
	int64_t cached_price;
	int64_t cache_write_price; /* 0: the input price */
	int64_t context_length;
	const char *model_id; /* the catalogue's id (an alias resolved) */
};

/*
 * The enabled deployments of model (a catalogue id or an alias: each
 * deployment's model_id is the id), cheapest first (ties by priority, then
 * weight).  TG_ENOENT when the model is unknown or disabled; *n = 0 when it
 * exists but has no deployment.  Two statements, both cached per process.
 */
enum tg_err upstream_routes(struct db_conn *, struct arena *, const char *model,
    struct deployment *out, size_t max, size_t *n);
/*
 * The key of provider_id's pool to use now (healthy, within its limits and
 * spacing, least recently used; see pool.h), decrypted into secret
 * (NUL-terminated, wipe after use), and its internal id.  TG_ENOENT when the
 * pool has no enabled key; TG_ERATE when every key must wait (*wait_s);
 * TG_EUNAVAIL when every key's circuit is open (*wait_s: until a probe);
 * TG_EAUTH when the key does not open for this deployment's endpoint (its
 * provider id, kind and base URL: doc/internals.md "Sealed provider keys").
 */
enum tg_err upstream_key_pick(struct db_conn *, struct arena *, struct pool *,
    const unsigned char master[CRYPTO_MASTER_LEN], const struct deployment *,
    int64_t *key_id, char secret[UPSTREAM_SECRET_MAX + 1], double *wait_s,
    double *paced);
/* Take a key out of rotation for good (the provider said 401/403). */
enum tg_err upstream_key_dead(
    struct db_conn *, struct arena *, int64_t key_id, const char *reason);
/* Every key (or provider_id's) with its limits and this node's health. */
enum tg_err upstream_key_status(struct db_conn *, struct arena *, struct pool *,
    const char *provider_id, json_t **data);

/*
 * Why url may not be a provider's base URL (not http(s), credentials, query;
 * plain http:// to a public host without op's [security] allow_plain_http;
 * op may be NULL), or NULL when it may.
 */
const char *upstream_base_url_refusal(const struct op *, const char *url);
/*
 * Admin operations, audited (op supplies actor and request id, or the
 * CLI's).  A refusal says why in op->fail (invalid_value for TG_EINVAL).
 */
enum tg_err upstream_provider_add(struct db_conn *, struct op *, const char *id,
    const char *kind, const char *base_url, const char *name, int enabled);
/*
 * A new base_url while the provider has keys is TG_ECONFLICT unless reseal,
 * when the keys are sealed again for it under master (NULL: none
 * configured) in the same transaction, audited as provider.reseal.  Plain
 * http:// only to private hosts unless [security] allow_plain_http.
 */
enum tg_err upstream_provider_update(struct db_conn *, struct op *,
    const char *id, const char *base_url, const char *name, int enabled,
    int reseal, const unsigned char *master);
/*
 * Seal every key still sealed the version 1 way (provider and key id only)
 * for its provider's present endpoint; *total of them.  One audited
 * transaction per provider.  `tollgate provider reseal`.
 */
enum tg_err upstream_reseal_v1(struct db_conn *, struct op *,
    const unsigned char master[CRYPTO_MASTER_LEN], int64_t *total);
/* {data:[...]} of every provider, or the one with id (TG_ENOENT if none). */
enum tg_err upstream_providers(
    struct db_conn *, struct arena *, const char *id, json_t **out);
/* lim: rpm/rpd (-1 none) and min_interval_ms of the new key; NULL = none. */
enum tg_err upstream_key_add(struct db_conn *, struct op *,
    const unsigned char master[CRYPTO_MASTER_LEN], const char *provider_id,
    const char *secret, const char *label, const struct pool_key *lim,
    json_t **out);
/*
 * Change a key (struct q_ukey_change: label NULL keeps; enabled -1 keeps, 1
 * also clears the disable reason and heals it in pool (NULL: none); limits
 * where set_rpm/set_rpd say so (-1 = none); min_interval_ms < 0 keeps).
 * TG_ENOENT when provider_id has no such key.
 */
enum tg_err upstream_key_update(struct db_conn *, struct op *, struct pool *,
    const struct q_ukey_change *, json_t **out);
enum tg_err upstream_keys(
    struct db_conn *, struct arena *, const char *provider_id, json_t **out);
/* Remove (del) or disable a key; TG_ENOENT when provider_id has no such key. */
enum tg_err upstream_key_remove(struct db_conn *, struct op *,
    const char *provider_id, const char *key_pub, int del);
/*
 * Create the model if new and add or replace its deployment on provider_id.
 * Prices in micro-USD per million tokens; cached and cache_write < 0 mean
 * none (cache writes at the input price).
 */
enum tg_err upstream_model_add(struct db_conn *, struct op *, const char *model,
    const char *name, const char *provider_id, const char *upstream_model,
    const struct q_prices *, int64_t context);
/*
 * Change prices (< 0: unchanged) or enabled (< 0: unchanged) of a model and
 * of all its deployments, or only of provider_id's when not NULL.
 */
enum tg_err upstream_model_update(struct db_conn *, struct op *,
    const char *model, const char *provider_id, const struct q_prices *,
    int enabled);
/* "2.50" (USD per million tokens) -> micro-USD per million; 0 or -1. */
int upstream_price_parse(const json_t *, int64_t *out);

#endif
