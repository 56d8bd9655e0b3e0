/* q_upstream.h: typed queries on providers and their upstream keys */
/* SPDX-License-Identifier: MIT */
#ifndef Q_UPSTREAM_H
#define Q_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct arena;
struct db_conn;

/* A provider as the admin list shows it (keys and models: enabled ones). */
struct q_provider {
	const char *id, *kind, *name, *base_url;
	int enabled;
	int64_t keys, models;
};

/* Where a provider's keys are sent: what their seal is bound to. */
struct q_endpoint {
	const char *kind, *base_url;
};

/* An upstream key as the admin sees it; NULL strings and -1 limits: none. */
struct q_ukey {
	int64_t id; /* 0 from q_ukey_list, which does not read it */
	const char *pub, *provider_id, *label, *last4;
	int enabled;
	const char *created_at, *last_used_at; /* ISO 8601; q_ukey_all: none */
	const char *disabled_reason, *disabled_at; /* disabled_at: q_ukey_all */
	int64_t rpm, rpd, min_interval_ms;
	/* q_ukey_all: today's (UTC) usage records through the key, their tokens */
	int64_t records_today, tokens_today;
};

/* An upstream key with its sealed secret (pool and reseal reads). */
struct q_ukey_sealed {
	int64_t id;
	const char *pub;
	const char *enc; /* secret_enc, enc_len bytes */
	size_t enc_len;
	int64_t seal_version;
	int64_t rpm, rpd, min_interval_ms; /* q_ukey_pool only; -1 none */
};

/* A new upstream key; rpm, rpd < 0: none. */
struct q_ukey_new {
	const char *pub, *provider_id, *label, *last4;
	const char *enc;
	size_t enc_len;
	int64_t rpm, rpd, min_interval_ms;
};

/* A change of a key (see upstream_key_update): NULL / -1 keep. */
struct q_ukey_change {
	const char *pub, *provider_id, *label;
	int enabled;
	int set_rpm, set_rpd;
	int64_t rpm, rpd, min_interval_ms;
};

/*
 * Every provider with the number of models it serves (the public list:
 * id, name, kind, enabled, models; base_url NULL, keys 0).
 */
enum tg_err q_provider_served(
    struct db_conn *, struct arena *, struct q_provider **out, size_t *n);
/* Add a provider of the pricing file unless it exists (enabled). */
enum tg_err q_provider_seed(
    struct db_conn *, struct arena *, const struct q_provider *);
/* Every provider (id NULL) or the one with id: *n rows into *out. */
enum tg_err q_provider_list(struct db_conn *, struct arena *, const char *id,
    struct q_provider **out, size_t *n);
enum tg_err q_provider_add(
    struct db_conn *, struct arena *, const struct q_provider *);
/* base_url, name NULL and enabled < 0 keep; *affected: rows changed. */
enum tg_err q_provider_update(struct db_conn *, struct arena *, const char *id,
    const char *base_url, const char *name, int enabled, uint64_t *affected);
/* Lock the provider's row (FOR UPDATE): TG_ENOENT when there is none. */
enum tg_err q_provider_lock(
    struct db_conn *, struct arena *, const char *id, struct q_endpoint *out);

/* The enabled keys of a provider that have a secret (at most 64, by id). */
enum tg_err q_ukey_pool(struct db_conn *, struct arena *,
    const char *provider_id, struct q_ukey_sealed **out, size_t *n);
/* Every key of a provider with a secret, locked (FOR UPDATE). */
enum tg_err q_ukey_sealed(struct db_conn *, struct arena *,
    const char *provider_id, struct q_ukey_sealed **out, size_t *n);
enum tg_err q_ukey_reseal(struct db_conn *, struct arena *, int64_t id,
    const void *enc, size_t enc_len);
enum tg_err q_ukey_dead(
    struct db_conn *, struct arena *, int64_t id, const char *reason);
/* Every key (provider_id NULL) or a provider's, with disabled_at. */
enum tg_err q_ukey_all(struct db_conn *, struct arena *,
    const char *provider_id, struct q_ukey **out, size_t *n);
/* A provider's keys by id. */
enum tg_err q_ukey_list(struct db_conn *, struct arena *,
    const char *provider_id, struct q_ukey **out, size_t *n);
/* One key by public id: TG_ENOENT when there is none. */
enum tg_err q_ukey_get(
    struct db_conn *, struct arena *, const char *pub, struct q_ukey *out);
enum tg_err q_ukey_insert(
    struct db_conn *, struct arena *, const struct q_ukey_new *);
enum tg_err q_ukey_update(
    struct db_conn *, struct arena *, const struct q_ukey_change *);
/* Delete (del) or disable pub (of provider_id, NULL: any); *affected. */
enum tg_err q_ukey_remove(struct db_conn *, struct arena *, const char *pub,
    const char *provider_id, int del, uint64_t *affected);

#endif
