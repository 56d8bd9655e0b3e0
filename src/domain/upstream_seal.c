/* upstream_seal.c: provider keys sealed to their endpoint: associated data, opening, sealing again for a new one */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "io/db.h"
#include "store/q_upstream.h"
#include "domain/audit.h"
#include "domain/op.h"
#include "domain/upstream.h"
#include "domain/upstream_impl.h"

/*
 * A key's associated data.  v1 bound only the provider's id and the key's,
 * so an admin could repoint the provider and have tollgate send the key
 * anywhere; v2 binds the endpoint too: the kind (how the key is sent) and
 * the base URL (where).  Fields are newline-separated and none may hold one
 * (ids and kinds are checked; a URL is a token without controls), so no
 * two endpoints share associated data.  -1 when it does not fit, which a
 * URL longer than any valid one can only do after a change behind
 * tollgate's back: such a key does not open.
 */
int
seal_aad(char *aad, size_t len, int version, const char *provider_id,
    const char *kind, const char *base_url, const char *pub)
{
	int n;

	if (version == SEAL_V1)
		n = snprintf(aad, len, "%s:%s", provider_id, pub);
	else if (version == SEAL_V2)
		n = snprintf(aad, len, "tollgate-ukey-v2\n%s\n%s\n%s\n%s",
		    provider_id, kind, base_url, pub);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
seal_open(const unsigned char master[CRYPTO_MASTER_LEN], int version,
    const char *provider_id, const char *kind, const char *base_url,
    const char *pub, const char *enc, size_t n, char *secret)
{
	char aad[AAD_MAX];

	if (n < CRYPTO_SEAL_OVERHEAD ||
	    n - CRYPTO_SEAL_OVERHEAD > UPSTREAM_SECRET_MAX)
		return -1;
	if (seal_aad(aad, sizeof(aad), version, provider_id, kind, base_url,
		pub) == -1 ||
	    crypto_open(master, aad, strlen(aad), (const unsigned char *)enc, n,
		(unsigned char *)secret) == -1)
		return -1;
	secret[n - CRYPTO_SEAL_OVERHEAD] = '\0';
	return 0;
}

enum tg_err
seal_again(struct db_conn *c, struct arena *a,
    const unsigned char master[CRYPTO_MASTER_LEN], const struct seal_move *m,
    const struct q_ukey_sealed *keys, size_t nkeys, int only_v1, int64_t *done,
    const char **why)
{
	unsigned char sealed[UPSTREAM_SECRET_MAX + CRYPTO_SEAL_OVERHEAD];
	char secret[UPSTREAM_SECRET_MAX + 1], aad[AAD_MAX];
	const struct q_ukey_sealed *k;
	size_t i, len;
	enum tg_err rc = TG_OK;

	*done = 0;
	for (i = 0; i < nkeys; i++) {
		k = &keys[i];
		if (only_v1 && k->seal_version != SEAL_V1)
			continue;
		if (seal_open(master, (int)k->seal_version, m->provider_id,
			m->okind, m->ourl, k->pub, k->enc, k->enc_len,
			secret) == -1) {
			*why = arena_printf(a,
			    "key %s of provider %s does not open with this "
			    "master key for its present endpoint; delete it "
			    "and add it again",
			    k->pub, m->provider_id);
			rc = TG_ECONFLICT;
			break;
		}
		len = strlen(secret);
		if (seal_aad(aad, sizeof(aad), SEAL_V2, m->provider_id,
			m->nkind, m->nurl, k->pub) == -1 ||
		    crypto_seal(
			master, aad, strlen(aad), secret, len, sealed) == -1) {
			rc = TG_ESYSTEM;
			break;
		}
		if ((rc = q_ukey_reseal(c, a, k->id, sealed,
			 len + CRYPTO_SEAL_OVERHEAD)) != TG_OK)
			break;
		(*done)++;
	}
	crypto_wipe(secret, sizeof(secret));
	return rc;
}

/* Seal provider id's v1 keys for its endpoint, audited; *n keys resealed. */
static enum tg_err
reseal_provider(struct db_conn *c, struct op *op,
    const unsigned char master[CRYPTO_MASTER_LEN], const char *id, int64_t *n)
{
	struct q_ukey_sealed *keys;
	struct q_endpoint e;
	struct seal_move m;
	const char *why = NULL;
	json_t *after;
	size_t nkeys;
	enum tg_err rc;

	*n = 0;
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_provider_lock(c, op->arena, id, &e)) != TG_OK ||
	    (rc = q_ukey_sealed(c, op->arena, id, &keys, &nkeys)) != TG_OK)
		goto out;
	m = (struct seal_move){id, e.kind, e.base_url, e.kind, e.base_url};
	if ((rc = seal_again(
		 c, op->arena, master, &m, keys, nkeys, 1, n, &why)) != TG_OK) {
		db_rollback(c);
		return why != NULL ? op_fail(op, rc, NULL, NULL, "%s", why)
				   : rc;
	}
	if (*n == 0)
		goto out;
	after = json_pack("{s:s, s:I, s:i}", "base_url", e.base_url,
	    "resealed_keys", (json_int_t)*n, "seal_version", SEAL_V2);
	arena_defer_json(op->arena, after);
	return audit_commit(
	    c, op->arena, op, "provider.reseal", "provider", id, NULL, after);
out:
	db_rollback(c);
	/* A provider deleted meanwhile has nothing to reseal. */
	return rc == TG_ENOENT ? TG_OK : rc;
}

enum tg_err
upstream_reseal_v1(struct db_conn *c, struct op *op,
    const unsigned char master[CRYPTO_MASTER_LEN], int64_t *total)
{
	struct q_provider *provs;
	size_t nprovs, i;
	int64_t n;
	enum tg_err rc;

	*total = 0;
	if ((rc = q_provider_list(c, op->arena, NULL, &provs, &nprovs)) !=
	    TG_OK)
		return rc;
	for (i = 0; i < nprovs; i++) {
		if ((rc = reseal_provider(c, op, master, provs[i].id, &n)) !=
		    TG_OK)
			return rc;
		*total += n;
	}
	return TG_OK;
}
