/* upstream_impl.h: what upstream.c, upstream_keys.c and upstream_seal.c share: field checks and key sealing */
/* SPDX-License-Identifier: MIT */
#ifndef UPSTREAM_IMPL_H
#define UPSTREAM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/tollgate.h"
#include "domain/upstream.h"

struct arena;
struct db_conn;
struct q_ukey_sealed;

#define ID_MAX	  32
#define URL_MAX	  512
#define LABEL_MAX 128

/* A token of printable ASCII without spaces, 1 to max bytes. */
int upstream_valid_token(const char *s, size_t max);
/* Text without control characters, at most max bytes (may be empty). */
int upstream_valid_text(const char *s, size_t max);

#define SEAL_V1 1
#define SEAL_V2 2
#define AAD_MAX (ID_MAX * 2 + URL_MAX + 64)

/*
 * A key's associated data for seal version: v1 binds the provider's id and
 * the key's, v2 the endpoint too (kind and base URL).  0, or -1 when it does
 * not fit.
 */
int seal_aad(char *aad, size_t len, int version, const char *provider_id,
    const char *kind, const char *base_url, const char *pub);
/* Open a sealed key (enc, n bytes) under that AAD into secret; 0 or -1. */
int seal_open(const unsigned char master[CRYPTO_MASTER_LEN], int version,
    const char *provider_id, const char *kind, const char *base_url,
    const char *pub, const char *enc, size_t n, char *secret);

/* A provider's endpoint before and after a change of its base URL. */
struct seal_move {
	const char *provider_id;
	const char *okind, *ourl; /* what the keys are sealed to now */
	const char *nkind, *nurl; /* what they are sealed to next */
};
/*
 * Seal again each key of keys[0..n) that opens for the old endpoint under its
 * recorded version, as v2 for the new one; only_v1 leaves v2 keys alone.
 * Inside the caller's transaction.  A key that does not open (another master
 * key) stops it all: TG_ECONFLICT with the reason in *why (arena memory).
 */
enum tg_err seal_again(struct db_conn *, struct arena *,
    const unsigned char master[CRYPTO_MASTER_LEN], const struct seal_move *,
    const struct q_ukey_sealed *keys, size_t n, int only_v1, int64_t *done,
    const char **why);

#endif
