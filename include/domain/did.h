/* did.h: DID identity: did:key parsing, signed requests, the replay cache, first contact */
/* SPDX-License-Identifier: MIT */
#ifndef DID_H
#define DID_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/tollgate.h"

struct arena;
struct db_conn;
struct op;
struct principal;

/* "did:key:z" + base58btc of 34 bytes is 56 characters; longer is refused. */
#define DID_MAX 128

/*
 * The Ed25519 key of a did:key: "did:key:z" + base58btc of the multicodec
 * prefix 0xed 0x01 and 32 key bytes, nothing else.  0, or -1 for another
 * method, encoding, key type or length.
 */
int did_key_parse(const char *did, unsigned char key[CRYPTO_ED25519_KEY_LEN]);

/*
 * The text a client signs: "TIMESTAMP\nMETHOD\nPATH_WITH_QUERY\nHEX" where
 * HEX is the lowercase SHA-256 of the raw body (of "" when there is none).
 */
char *did_signed_text(struct arena *, const char *timestamp, const char *method,
    const char *uri, const void *body, size_t n);

/* The signature cache of a node: a fixed table in a file every worker maps. */
struct did_cache;
/*
 * Map path with slots slots (NULL, or when it cannot be had: process-private
 * memory, and a replay through another process goes unseen; logged).  NULL:
 * no memory, or fewer than 64 slots.
 */
struct did_cache *did_cache_open(const char *path, size_t slots);
void did_cache_close(struct did_cache *);
/*
 * The slots of a node's table: each signature is kept for at most twice the
 * window, so this holds ~200 signed requests a second with the default 300 s
 * before one is refused as did_replay_cache_full.  A signature may take one
 * of 64 slots from where its hash points: fewer slots than that is refused.
 */
#define DID_CACHE_SLOTS 131072

/* A signed request as it arrived. */
struct did_request {
	const char *did, *timestamp, *signature; /* the x-did* headers */
	const char *method, *uri;		 /* as the client sent them */
	const void *body;
	size_t body_len;
};

/*
 * Check a signed request at now (Unix seconds): the DID, the timestamp
 * within window seconds, the signature, and that the signature was not seen
 * before (then it is remembered until it leaves the window).  Each refusal
 * is TG_EAUTH in op->fail with its code: invalid_did, did_bad_timestamp,
 * did_timestamp_out_of_window, did_bad_signature, did_replay,
 * did_replay_cache_full.
 */
enum tg_err did_verify(struct op *, struct did_cache *,
    const struct did_request *, unsigned window, int64_t now);

/*
 * The principal of a verified DID: its user, made at first contact (in
 * op->conf's [did] group, with its initial credits as an audited top-up),
 * once however many first requests race.  A suspended or deleted user is
 * TG_EPERM in op->fail.
 */
enum tg_err did_principal(
    struct db_conn *, struct op *, const char *did, struct principal *);

#endif
