/* crypto.h: keys, tokens, hashes and password hashing (OpenSSL and libargon2 adapter) */
/* SPDX-License-Identifier: MIT */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

#define CRYPTO_SHA256_LEN 32
#define KEY_RANDOM_LEN	  32 /* base62 characters: about 190 bits */
#define KEY_CHECK_LEN	  6  /* base62 CRC32 */
#define KEY_MAX_LEN	  64
#define KEY_PREFIX_SHOWN  4 /* random characters kept in the display prefix */
#define TOKEN_RANDOM_LEN  40
#define PUBLIC_ID_RANDOM  20

/* Environments a key may carry, "gw_<env>_...". */
enum key_env { KEY_LIVE = 0, KEY_TEST, KEY_STAGING, KEY_DEV, KEY_ENV__MAX };

const char *crypto_key_env_name(enum key_env);
/* -1 when unknown. */
int crypto_key_env_parse(const char *);

/* n random base62 characters plus NUL into out; 0 or -1. */
int crypto_base62(char *out, size_t n);
/*
 * issue 18: money.  n random characters of Crockford's base32 (digits and
 * capitals without I, L, O and U, so nothing reads as another) plus NUL
 * into out, for codes people type; 0 or -1.
 */
#define CRYPTO_CODE32 "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
int crypto_code32(char *out, size_t n);
/* A new API key "gw_<env>_<random><crc>" into out[KEY_MAX_LEN]; 0 or -1. */
int crypto_key_new(enum key_env, char out[KEY_MAX_LEN]);
/*
 * Check the shape and checksum of a presented key without any lookup.
 * Returns the env, or -1 for anything malformed.
 */
int crypto_key_check(const char *key);
/*
 * issue 18: compat: 1 when key has the format of another gateway's keys that
 * `tollgate admin import-key` takes: OpenRouter's "sk-or-v1-" + 64 hex, or 32
 * hex (seed 004's client keys); crypto_key_check accepts them as KEY_LIVE.
 */
#define FOREIGN_OR_PREFIX "sk-or-v1-"
int crypto_key_foreign(const char *key);
/* "gws_" + random: a dashboard session token. */
int crypto_token_new(char out[KEY_MAX_LEN]);
/* "<prefix>" + PUBLIC_ID_RANDOM base62: an opaque public id. */
int crypto_public_id(const char *prefix, char *out, size_t outlen);
/* SHA-256 of n bytes. */
void crypto_sha256(const void *, size_t, unsigned char out[CRYPTO_SHA256_LEN]);
/* HMAC-SHA-256 of n bytes under key; 0 or -1. */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *, size_t n,
    unsigned char out[CRYPTO_SHA256_LEN]);
/* Hash of a secret for storage and lookup (SHA-256 of the full string). */
void crypto_secret_hash(const char *, unsigned char out[CRYPTO_SHA256_LEN]);
/* Constant-time equality of n bytes. */
int crypto_equal(const void *, const void *, size_t);
/* Lowercase hex of n bytes into out (2n+1). */
void crypto_hex(const unsigned char *, size_t, char *out);
/* 2n lowercase hex digits into n bytes; 0 or -1. */
int crypto_unhex(const char *, size_t n, unsigned char *out);
/* Wipe a secret in place. */
void crypto_wipe(void *, size_t);

#define CRYPTO_MASTER_LEN    32
#define CRYPTO_SEAL_OVERHEAD 28 /* 12-byte nonce + 16-byte tag */

/* A new random master key as 64 hex digits; 0 or -1. */
int crypto_master_new(char hex[2 * CRYPTO_MASTER_LEN + 1]);
/* 64 hex digits (surrounding whitespace allowed) into a 32-byte key; 0 or -1. */
int crypto_master_parse(const char *hex, unsigned char key[CRYPTO_MASTER_LEN]);
/*
 * AES-256-GCM with a random nonce: out (n + CRYPTO_SEAL_OVERHEAD bytes) =
 * nonce || ciphertext || tag, with aad bound in.  0 or -1.
 */
int crypto_seal(const unsigned char key[CRYPTO_MASTER_LEN], const void *aad,
    size_t aadlen, const void *in, size_t n, unsigned char *out);
/*
 * Open what crypto_seal made: out gets n - CRYPTO_SEAL_OVERHEAD bytes.  -1
 * when it is too short, was altered, or the key or aad differ.
 */
int crypto_open(const unsigned char key[CRYPTO_MASTER_LEN], const void *aad,
    size_t aadlen, const unsigned char *in, size_t n, unsigned char *out);

/*
 * issue 18: convlog.  A key for one purpose derived from the master key
 * (HMAC-SHA-256 of "tollgate <purpose>" under it): what one purpose seals,
 * another's key cannot open, and the master key itself seals nothing of it.
 * 0 or -1.
 */
int crypto_derive(const unsigned char master[CRYPTO_MASTER_LEN],
    const char *purpose, unsigned char out[CRYPTO_MASTER_LEN]);

/* argon2id PHC string of password into out (at least 128 bytes); 0 or -1. */
int crypto_password_hash(const char *password, char *out, size_t outlen);
/* 1 when password matches the PHC string, 0 otherwise. */
int crypto_password_verify(const char *phc, const char *password);

/* issue 18 (did): Ed25519 signatures and the encodings DIDs come in. */
#define CRYPTO_ED25519_KEY_LEN 32
#define CRYPTO_ED25519_SIG_LEN 64
#define CRYPTO_B58_MAX	       128 /* characters; a did:key has 48 */

/* 1 when sig is key's Ed25519 signature (RFC 8032) of the n bytes of msg. */
int crypto_ed25519_verify(const unsigned char key[CRYPTO_ED25519_KEY_LEN],
    const void *msg, size_t n, const unsigned char sig[CRYPTO_ED25519_SIG_LEN]);
/*
 * Decode base58btc (Bitcoin's alphabet; leading '1's are zero bytes) of at
 * most CRYPTO_B58_MAX characters into out: the byte count, or -1 when s is
 * empty, too long, has a character outside the alphabet or exceeds max.
 */
int crypto_base58_decode(const char *s, unsigned char *out, size_t max);
/*
 * Decode base64url (RFC 4648 section 5), padded or not, into out: the byte
 * count, or -1 for another alphabet, bad padding, a non-canonical last
 * character or more than max bytes.
 */
int crypto_base64url_decode(const char *s, unsigned char *out, size_t max);

#endif
