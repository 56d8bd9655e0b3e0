/* openrouter.c: the OpenRouter provider as the pass-through sees it: its deployment, model ids, imported keys */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "domain/op.h"
#include "domain/openrouter.h"
#include "domain/upstream.h"
#include "domain/upstream_impl.h"
#include "io/db.h"
#include "store/q_catalog.h"
#include "store/q_upstream.h"

#define OR_MODEL_MAX 128

const char *
or_provider_id(const struct conf *c)
{
	return c->or_provider != NULL ? c->or_provider : "openrouter";
}

enum tg_err
or_deployment(struct db_conn *c, struct arena *a, const struct conf *conf,
    const char *model, struct deployment *out)
{
	struct q_provider *p;
	size_t n;
	enum tg_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = q_provider_list(c, a, or_provider_id(conf), &p, &n)) != TG_OK)
		return rc;
	if (n == 0 || !p[0].enabled || p[0].base_url == NULL ||
	    upstream_kind_parse(p[0].kind) != PROV_OPENROUTER)
		return TG_ENOENT;
	snprintf(out->provider_id, sizeof(out->provider_id), "%s", p[0].id);
	out->kind = PROV_OPENROUTER;
	out->base_url = p[0].base_url;
	out->upstream_model = model;
	out->model_id = model;
	return TG_OK;
}

/* Bytes an id part may hold: OpenRouter's ids use these and no others. */
static size_t
part_len(const char *s)
{
	return strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-");
}

int
or_model_id_ok(const char *m)
{
	size_t n, len;
	const char *p = m;

	if (m == NULL || (len = strlen(m)) == 0 || len > OR_MODEL_MAX)
		return 0;
	/* vendor */
	if ((n = part_len(p)) == 0 || p[n] != '/')
		return 0;
	p += n + 1;
	/* model, maybe nested: a/b/c */
	for (;;) {
		if ((n = part_len(p)) == 0)
			return 0;
		p += n;
		if (*p != '/')
			break;
		p++;
	}
	if (*p == '\0')
		return 1;
	/* :variant */
	if (*p++ != ':' || (n = part_len(p)) == 0)
		return 0;
	return p[n] == '\0';
}

int
or_catalogued(struct db_conn *c, struct arena *a, const char *model)
{
	const char *id;
	int enabled;

	/* A failed read counts as catalogued: nothing goes through unchecked. */
	return q_model_resolve(c, a, model, &enabled, &id) != TG_ENOENT;
}

int
or_model_free(const char *m)
{
	size_t n = m != NULL ? strlen(m) : 0;

	return n > 5 && strcmp(m + n - 5, ":free") == 0;
}

/* 1 when secret is in keys[0..n) (already in the pool), else 0. */
static int
in_pool(const unsigned char master[CRYPTO_MASTER_LEN], const char *provider_id,
    const struct q_endpoint *e, const struct q_ukey_sealed *keys, size_t n,
    const char *secret)
{
	char open[UPSTREAM_SECRET_MAX + 1];
	size_t i;
	int found = 0;

	for (i = 0; i < n && !found; i++)
		if (seal_open(master, (int)keys[i].seal_version, provider_id,
			e->kind, e->base_url, keys[i].pub, keys[i].enc,
			keys[i].enc_len, open) == 0 &&
		    strcmp(open, secret) == 0)
			found = 1;
	crypto_wipe(open, sizeof(open));
	return found;
}

/* 1 when keys[i] appeared earlier in keys. */
static int
seen_before(char *const *keys, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (strcmp(keys[j], keys[i]) == 0)
			return 1;
	return 0;
}

enum tg_err
or_keys_import(struct db_conn *c, struct op *op,
    const unsigned char master[CRYPTO_MASTER_LEN], const char *provider_id,
    char *const *keys, size_t n, const struct pool_key *lim,
    struct or_import *out)
{
	struct q_ukey_sealed *have;
	struct q_endpoint e;
	size_t nhave, i;
	json_t *added;
	enum tg_err rc;

	out->added = out->skipped = 0;
	if ((rc = q_provider_lock(c, op->arena, provider_id, &e)) != TG_OK)
		return rc;
	if ((rc = q_ukey_sealed(c, op->arena, provider_id, &have, &nhave)) !=
	    TG_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (seen_before(keys, i) ||
		    in_pool(master, provider_id, &e, have, nhave, keys[i])) {
			out->skipped++;
			continue;
		}
		if ((rc = upstream_key_add(c, op, master, provider_id, keys[i],
			 "imported", lim, &added)) != TG_OK)
			return rc;
		out->added++;
	}
	return TG_OK;
}
