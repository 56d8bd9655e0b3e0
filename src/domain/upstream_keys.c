/* upstream_keys.c: a provider's upstream keys: picking one for a request, their health, and the admin's changes */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/json.h"
#include "io/db.h"
#include "store/q_upstream.h"
#include "domain/audit.h"
#include "domain/keypool.h"
#include "domain/op.h"
#include "domain/upstream.h"
#include "domain/upstream_impl.h"

#define POOL_MAX 64

enum tg_err
upstream_key_pick(struct db_conn *c, struct arena *a, struct pool *pool,
    const unsigned char master[CRYPTO_MASTER_LEN], const struct deployment *d,
    int64_t *key_id, char secret[UPSTREAM_SECRET_MAX + 1], double *wait_s,
    double *paced)
{
	struct pool_key keys[POOL_MAX];
	struct q_ukey_sealed *rows, *k;
	enum tg_err rc;
	size_t i, n;
	int pick;

	*wait_s = *paced = -1;
	if ((rc = q_ukey_pool(c, a, d->provider_id, &rows, &n)) != TG_OK)
		return rc;
	if (n == 0)
		return TG_ENOENT;
	for (i = 0; i < n && i < POOL_MAX; i++) {
		keys[i].id = rows[i].id;
		keys[i].rpm = rows[i].rpm;
		keys[i].rpd = rows[i].rpd;
		keys[i].min_interval_ms = rows[i].min_interval_ms;
	}
	if ((pick = keypool_choose(pool, keys, i, wait_s, paced)) == -2)
		return TG_EUNAVAIL; /* every key's circuit is open */
	if (pick < 0)
		return TG_ERATE;
	k = &rows[pick];
	/*
	 * Opened for the endpoint it is about to be sent to: sealed for
	 * another (a provider repointed in the database), under another
	 * master key, or altered, it stays shut.
	 */
	if (seal_open(master, (int)k->seal_version, d->provider_id,
		upstream_kind_name(d->kind), d->base_url, k->pub, k->enc,
		k->enc_len, secret) == -1)
		return TG_EAUTH;
	*key_id = k->id;
	return TG_OK;
}

enum tg_err
upstream_key_dead(
    struct db_conn *c, struct arena *a, int64_t key_id, const char *reason)
{
	return q_ukey_dead(c, a, key_id, reason);
}

static json_t *
opt_int(int64_t v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

static json_t *
opt_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
epoch_iso(double t)
{
	char buf[32];
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return json_null();
	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* clang-format off */
static const char *const circuits[] = {
	[PC_CLOSED] = "closed", [PC_OPEN] = "open", [PC_HALF_OPEN] = "half_open",
};
/* clang-format on */

/* A key with this node's view of its health and use (pool state). */
static json_t *
status_pack(const struct q_ukey *k, const struct pool_state *st)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:{s:o, s:o, "
			 "s:I}, s:I, s:I, s:o, s:o, s:s, s:i, s:o, s:o}",
	    "id", k->pub, "provider_id", k->provider_id, "label", k->label,
	    "last4", k->last4, "enabled", k->enabled, "disabled_reason",
	    opt_str(k->disabled_reason), "disabled_at", opt_str(k->disabled_at),
	    "limits", "requests_per_minute", opt_int(k->rpm),
	    "requests_per_day", opt_int(k->rpd), "min_interval_ms",
	    (json_int_t)k->min_interval_ms, "used_today",
	    (json_int_t)st->used_today, "used_this_minute",
	    (json_int_t)st->used_minute, "last_used_at",
	    epoch_iso(st->last_used), "cooldown_until",
	    epoch_iso(st->cooldown_until), "circuit", circuits[st->circuit],
	    "consecutive_failures", st->failures, "last_error",
	    st->last_error[0] != '\0' ? json_string(st->last_error)
				      : json_null(),
	    "circuit_open_until",
	    st->circuit != PC_CLOSED ? epoch_iso(st->open_until) : json_null());
}

/*
 * One word for the dashboard: disabled (by hand or as dead), down (circuit
 * open), probing (half open), cooling_down (a 429's pause) or ok.
 */
static const char *
health_of(const struct q_ukey *k, const struct pool_state *st)
{
	if (!k->enabled)
		return "disabled";
	if (st->circuit == PC_OPEN)
		return "down";
	if (st->circuit == PC_HALF_OPEN)
		return "probing";
	if (st->cooldown_until > (double)time(NULL))
		return "cooling_down";
	return "ok";
}

static json_t *
status_json(const struct q_ukey *k, const struct pool_state *st)
{
	json_t *o = status_pack(k, st);

	/* Today's records through the key (UTC), from the database. */
	json_object_set_new(o, "health", json_string(health_of(k, st)));
	json_object_set_new(
	    o, "requests_today", json_integer(k->records_today));
	json_object_set_new(o, "tokens_today", json_integer(k->tokens_today));
	return o;
}

enum tg_err
upstream_key_status(struct db_conn *c, struct arena *a, struct pool *pool,
    const char *provider_id, json_t **data)
{
	struct pool_state st;
	struct q_ukey *keys;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_ukey_all(c, a, provider_id, &keys, &n)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	for (i = 0; i < n; i++) {
		keypool_state(pool, keys[i].id, &st);
		json_array_append_new(*data, status_json(&keys[i], &st));
	}
	return TG_OK;
}

static json_t *
key_json(const struct q_ukey *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s?, s:o, s:o, s:I, "
			 "s:s?}",
	    "id", k->pub, "provider_id", k->provider_id, "label", k->label,
	    "last4", k->last4, "enabled", k->enabled, "created_at",
	    k->created_at, "last_used_at", k->last_used_at,
	    "requests_per_minute", opt_int(k->rpm), "requests_per_day",
	    opt_int(k->rpd), "min_interval_ms", (json_int_t)k->min_interval_ms,
	    "disabled_reason", k->disabled_reason);
}

enum tg_err
upstream_keys(
    struct db_conn *c, struct arena *a, const char *provider_id, json_t **out)
{
	struct q_ukey *keys;
	json_t *data;
	size_t i, n;
	enum tg_err rc;

	if ((rc = upstream_providers(c, a, provider_id, &data)) != TG_OK)
		return rc;
	if ((rc = q_ukey_list(c, a, provider_id, &keys, &n)) != TG_OK)
		return rc;
	data = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(data, key_json(&keys[i]));
	*out = json_pack("{s:o}", "data", data);
	arena_defer_json(a, *out);
	return TG_OK;
}

/* Seal secret for provider_id's endpoint as it is now, and store it as k. */
static enum tg_err
key_store(struct db_conn *c, struct arena *a,
    const unsigned char master[CRYPTO_MASTER_LEN], struct q_ukey_new *k,
    const char *secret, size_t n)
{
	unsigned char sealed[UPSTREAM_SECRET_MAX + CRYPTO_SEAL_OVERHEAD];
	char aad[AAD_MAX];
	struct q_endpoint e;
	enum tg_err rc;

	/* The audit lock holds the endpoint as it is while the key is sealed. */
	if ((rc = q_provider_lock(c, a, k->provider_id, &e)) != TG_OK)
		return rc;
	if (seal_aad(aad, sizeof(aad), SEAL_V2, k->provider_id, e.kind,
		e.base_url, k->pub) == -1 ||
	    crypto_seal(master, aad, strlen(aad), secret, n, sealed) == -1)
		return TG_ESYSTEM;
	k->enc = (const char *)sealed;
	k->enc_len = n + CRYPTO_SEAL_OVERHEAD;
	rc = q_ukey_insert(c, a, k);
	k->enc = NULL;
	return rc;
}

enum tg_err
upstream_key_add(struct db_conn *c, struct op *op,
    const unsigned char master[CRYPTO_MASTER_LEN], const char *provider_id,
    const char *secret, const char *label, const struct pool_key *lim,
    json_t **out)
{
	char pub[ID_MAX + 1], last4[5];
	struct q_ukey_new k;
	struct q_ukey got;
	json_t *prov, *after;
	size_t n = secret != NULL ? strlen(secret) : 0;
	enum tg_err rc;

	if (!upstream_valid_token(secret, UPSTREAM_SECRET_MAX) || n < 8)
		return op_fail(op, TG_EINVAL, "invalid_value", NULL,
		    "key: 8 to 1024 printable characters without spaces");
	if (label == NULL)
		label = "";
	if (!upstream_valid_text(label, LABEL_MAX))
		return op_fail(op, TG_EINVAL, "invalid_value", NULL,
		    "label: at most 128 printable characters");
	if ((rc = upstream_providers(c, op->arena, provider_id, &prov)) !=
	    TG_OK)
		return rc;
	if (crypto_public_id("uk_", pub, sizeof(pub)) == -1)
		return TG_ESYSTEM;
	snprintf(last4, sizeof(last4), "%s", secret + n - 4);
	k = (struct q_ukey_new){.pub = pub,
	    .provider_id = provider_id,
	    .label = label,
	    .last4 = last4,
	    .rpm = lim != NULL ? lim->rpm : -1,
	    .rpd = lim != NULL ? lim->rpd : -1,
	    .min_interval_ms = lim != NULL && lim->min_interval_ms > 0
		? lim->min_interval_ms
		: 0};
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = key_store(c, op->arena, master, &k, secret, n)) != TG_OK) {
		db_rollback(c);
		return rc;
	}
	after = json_pack("{s:s, s:s, s:s}", "provider_id", provider_id,
	    "label", label, "last4", last4);
	arena_defer_json(op->arena, after);
	if ((rc = audit_commit(c, op->arena, op, "upstream_key.add",
		 "upstream_key", pub, NULL, after)) != TG_OK)
		return rc;
	if ((rc = q_ukey_get(c, op->arena, pub, &got)) != TG_OK)
		return rc == TG_ENOENT ? TG_ESYSTEM : rc;
	*out = key_json(&got);
	arena_defer_json(op->arena, *out);
	return TG_OK;
}

enum tg_err
upstream_key_remove(struct db_conn *c, struct op *op, const char *provider_id,
    const char *key_pub, int del)
{
	uint64_t affected;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_ukey_remove(
		 c, op->arena, key_pub, provider_id, del, &affected)) != TG_OK)
		goto fail;
	if (affected == 0) {
		rc = TG_ENOENT;
		goto fail;
	}
	return audit_commit(c, op->arena, op,
	    del ? "upstream_key.delete" : "upstream_key.disable",
	    "upstream_key", key_pub, NULL, NULL);
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
upstream_key_update(struct db_conn *c, struct op *op, struct pool *pool,
    const struct q_ukey_change *ch, json_t **out)
{
	struct q_ukey got;
	json_t *after;
	enum tg_err rc;

	if (ch->label != NULL && !upstream_valid_text(ch->label, LABEL_MAX))
		return op_fail(op, TG_EINVAL, "invalid_value", "label",
		    "label: at most 128 printable characters");
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_ukey_update(c, op->arena, ch)) != TG_OK ||
	    (rc = q_ukey_get(c, op->arena, ch->pub, &got)) != TG_OK)
		goto fail;
	if (strcmp(got.provider_id, ch->provider_id) != 0) {
		rc = TG_ENOENT;
		goto fail;
	}
	*out = key_json(&got);
	arena_defer_json(op->arena, *out);
	if (ch->enabled == 1 && pool != NULL)
		keypool_heal(pool, got.id);
	after = json_deep_copy(*out);
	arena_defer_json(op->arena, after);
	return audit_commit(c, op->arena, op, "upstream_key.update",
	    "upstream_key", ch->pub, NULL, after);
fail:
	db_rollback(c);
	return rc;
}
