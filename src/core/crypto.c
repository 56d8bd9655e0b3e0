/* crypto.c: keys, tokens, hashes and password hashing (OpenSSL and libargon2 adapter) */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/crypto.h"

/* OWASP minimum for argon2id: 19 MiB, 2 passes, 1 lane. */
#define ARGON2_M_KIB 19456
#define ARGON2_T     2
#define ARGON2_P     1
#define ARGON2_SALT  16
#define ARGON2_HASH  32

static const char b62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* clang-format off */
static const char *const env_names[KEY_ENV__MAX] = {
	"live",		/* KEY_LIVE */
	"test",		/* KEY_TEST */
	"staging",	/* KEY_STAGING */
	"dev",		/* KEY_DEV */
};
/* clang-format on */

const char *
crypto_key_env_name(enum key_env e)
{
	return (unsigned)e < KEY_ENV__MAX ? env_names[e] : "live";
}

int
crypto_key_env_parse(const char *s)
{
	int i;

	for (i = 0; i < KEY_ENV__MAX; i++)
		if (strcmp(s, env_names[i]) == 0)
			return i;
	return -1;
}

int
crypto_base62(char *out, size_t n)
{
	unsigned char r[64];
	size_t i, k = sizeof(r);

	for (i = 0; i < n; i++) {
		do {
			if (k == sizeof(r)) {
				if (RAND_bytes(r, sizeof(r)) != 1)
					return -1;
				k = 0;
			}
			/* Reject 248..255 so every character is equally likely. */
		} while (r[k] >= 248 && ++k);
		out[i] = b62[r[k++] % 62];
	}
	out[n] = '\0';
	return 0;
}

/* issue 18: money: redemption codes people type */
int
crypto_code32(char *out, size_t n)
{
	unsigned char r[64];
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % sizeof(r) == 0 && RAND_bytes(r, sizeof(r)) != 1)
			return -1;
		/* 256 is a multiple of 32: every character equally likely. */
		out[i] = CRYPTO_CODE32[r[i % sizeof(r)] % 32];
	}
	out[n] = '\0';
	crypto_wipe(r, sizeof(r));
	return 0;
}

static uint32_t
crc32(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return c ^ 0xffffffffu;
}

/* CRC32 as 6 base62 digits (62^6 > 2^32), most significant first. */
static void
crc_b62(const char *s, size_t n, char out[KEY_CHECK_LEN + 1])
{
	uint32_t c = crc32((const unsigned char *)s, n);
	int i;

	for (i = KEY_CHECK_LEN - 1; i >= 0; i--) {
		out[i] = b62[c % 62];
		c /= 62;
	}
	out[KEY_CHECK_LEN] = '\0';
}

int
crypto_key_new(enum key_env env, char out[KEY_MAX_LEN])
{
	char rnd[KEY_RANDOM_LEN + 1], crc[KEY_CHECK_LEN + 1];
	int n;

	if (crypto_base62(rnd, KEY_RANDOM_LEN) == -1)
		return -1;
	n = snprintf(
	    out, KEY_MAX_LEN, "gw_%s_%s", crypto_key_env_name(env), rnd);
	crc_b62(out, (size_t)n, crc);
	strcat(out, crc);
	crypto_wipe(rnd, sizeof(rnd));
	return 0;
}

/* 1 when s is exactly n lower-case hex digits. */
static int
hex_run(const char *s, size_t n)
{
	return strnlen(s, n + 1) == n && strspn(s, "0123456789abcdef") == n;
}

int
crypto_key_foreign(const char *key)
{
	if (strncmp(key, FOREIGN_OR_PREFIX, sizeof(FOREIGN_OR_PREFIX) - 1) == 0)
		return hex_run(key + sizeof(FOREIGN_OR_PREFIX) - 1, 64);
	return hex_run(key, 32);
}

int
crypto_key_check(const char *key)
{
	char crc[KEY_CHECK_LEN + 1], env[16];
	const char *body;
	size_t len, i, elen;
	int e;

	/* Keys brought from other gateways: no checksum, found by hash. */
	if (crypto_key_foreign(key))
		return KEY_LIVE;
	len = strnlen(key, KEY_MAX_LEN);
	if (len >= KEY_MAX_LEN || strncmp(key, "gw_", 3) != 0)
		return -1;
	if ((body = strchr(key + 3, '_')) == NULL)
		return -1;
	elen = (size_t)(body - (key + 3));
	if (elen == 0 || elen >= sizeof(env))
		return -1;
	memcpy(env, key + 3, elen);
	env[elen] = '\0';
	if ((e = crypto_key_env_parse(env)) == -1)
		return -1;
	body++;
	if (strlen(body) != KEY_RANDOM_LEN + KEY_CHECK_LEN)
		return -1;
	for (i = 0; body[i] != '\0'; i++)
		if (strchr(b62, body[i]) == NULL)
			return -1;
	crc_b62(key, len - KEY_CHECK_LEN, crc);
	return memcmp(crc, key + len - KEY_CHECK_LEN, KEY_CHECK_LEN) == 0 ? e
									  : -1;
}

int
crypto_token_new(char out[KEY_MAX_LEN])
{
	memcpy(out, "gws_", 4);
	return crypto_base62(out + 4, TOKEN_RANDOM_LEN);
}

int
crypto_public_id(const char *prefix, char *out, size_t outlen)
{
	size_t pl = strlen(prefix);

	if (pl + PUBLIC_ID_RANDOM + 1 > outlen)
		return -1;
	memcpy(out, prefix, pl);
	return crypto_base62(out + pl, PUBLIC_ID_RANDOM);
}

/*
 * SHA256() looks the algorithm up in OpenSSL's provider tables on every
 * call (EVP_Q_digest); every request hashes its key, so the lookup is done
 * once.  The EVP_MD is shared read-only by all threads.
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
fetch_sha256(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *p, size_t n,
    unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int len = CRYPTO_SHA256_LEN;

	if (keylen > INT_MAX)
		return -1;
	return HMAC(EVP_sha256(), key, (int)keylen, p, n, out, &len) != NULL &&
		len == CRYPTO_SHA256_LEN
	    ? 0
	    : -1;
}

void
crypto_sha256(const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	pthread_once(&sha256_once, fetch_sha256);
	if (sha256_md == NULL || !EVP_Digest(p, n, out, NULL, sha256_md, NULL))
		SHA256(p, n, out);
}

void
crypto_secret_hash(const char *s, unsigned char out[CRYPTO_SHA256_LEN])
{
	/* High-entropy secrets need no slow hash: lookups must stay cheap. */
	crypto_sha256(s, strlen(s), out);
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* crypto_hex's lowercase digits back into n bytes: what tollgate wrote. */
int
crypto_unhex(const char *s, size_t n, unsigned char *out)
{
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

void
crypto_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

int
crypto_password_hash(const char *pw, char *out, size_t outlen)
{
	unsigned char salt[ARGON2_SALT];

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -1;
	if (argon2id_hash_encoded(ARGON2_T, ARGON2_M_KIB, ARGON2_P, pw,
		strlen(pw), salt, sizeof(salt), ARGON2_HASH, out,
		outlen) != ARGON2_OK)
		return -1;
	return 0;
}

int
crypto_password_verify(const char *phc, const char *pw)
{
	return argon2id_verify(phc, pw, strlen(pw)) == ARGON2_OK;
}

int
crypto_master_parse(const char *hex, unsigned char key[CRYPTO_MASTER_LEN])
{
	size_t i;
	int hi, lo;

	while (isspace((unsigned char)*hex))
		hex++;
	for (i = 0; i < CRYPTO_MASTER_LEN; i++) {
		if ((hi = OPENSSL_hexchar2int((unsigned char)hex[2 * i])) < 0 ||
		    (lo = OPENSSL_hexchar2int((unsigned char)hex[2 * i + 1])) <
			0)
			goto bad;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	for (hex += 2 * CRYPTO_MASTER_LEN; *hex != '\0'; hex++)
		if (!isspace((unsigned char)*hex))
			goto bad;
	return 0;
bad:
	crypto_wipe(key, CRYPTO_MASTER_LEN);
	return -1;
}

#define GCM_NONCE 12
#define GCM_TAG	  16

int
crypto_seal(const unsigned char key[CRYPTO_MASTER_LEN], const void *aad,
    size_t aadlen, const void *in, size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx;
	int len, rc = -1;

	if (n > INT_MAX - 64 || aadlen > INT_MAX)
		return -1;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (RAND_bytes(out, GCM_NONCE) != 1 ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1 ||
	    EVP_EncryptUpdate(ctx, out + GCM_NONCE, &len, in, (int)n) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + GCM_NONCE + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(
		ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + GCM_NONCE + n) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

/*
 * Every proxied request opens its provider key, and setting a context up
 * (fetching AES-256-GCM, expanding the key) was most of the cost.  Each
 * thread keeps one decrypting context with the key schedule of the last key
 * it was given; a call only sets the nonce.  The copy of the key lives as
 * long as the schedule that already holds it, and is wiped with it when the
 * thread ends.
 */
struct opener {
	EVP_CIPHER_CTX *ctx;
	int keyed;
	unsigned char key[CRYPTO_MASTER_LEN];
};
static EVP_CIPHER *gcm;
static pthread_key_t opener_key;
static int opener_ok;
static pthread_once_t opener_once = PTHREAD_ONCE_INIT;

static void
opener_free(void *p)
{
	struct opener *o = p;

	EVP_CIPHER_CTX_free(o->ctx);
	crypto_wipe(o, sizeof(*o));
	free(o);
}

static void
opener_init(void)
{
	gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	opener_ok =
	    gcm != NULL && pthread_key_create(&opener_key, opener_free) == 0;
}

/* This thread's context, keyed with key; NULL when out of memory. */
static EVP_CIPHER_CTX *
opener(const unsigned char key[CRYPTO_MASTER_LEN])
{
	struct opener *o;

	pthread_once(&opener_once, opener_init);
	if (!opener_ok)
		return NULL;
	if ((o = pthread_getspecific(opener_key)) == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL)
			return NULL;
		if ((o->ctx = EVP_CIPHER_CTX_new()) == NULL ||
		    pthread_setspecific(opener_key, o) != 0) {
			EVP_CIPHER_CTX_free(o->ctx);
			free(o);
			return NULL;
		}
	}
	if (!o->keyed || !crypto_equal(o->key, key, CRYPTO_MASTER_LEN)) {
		o->keyed = 0;
		if (EVP_DecryptInit_ex(o->ctx, gcm, NULL, key, NULL) != 1)
			return NULL;
		memcpy(o->key, key, CRYPTO_MASTER_LEN);
		o->keyed = 1;
	}
	return o->ctx;
}

int
crypto_open(const unsigned char key[CRYPTO_MASTER_LEN], const void *aad,
    size_t aadlen, const unsigned char *in, size_t n, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx;
	unsigned char tag[GCM_TAG];
	size_t clen;
	int len;

	if (n < CRYPTO_SEAL_OVERHEAD || n > INT_MAX || aadlen > INT_MAX)
		return -1;
	clen = n - CRYPTO_SEAL_OVERHEAD;
	memcpy(tag, in + GCM_NONCE + clen, GCM_TAG);
	if ((ctx = opener(key)) == NULL)
		return -1;
	/* A new nonce restarts the context, whatever the last call left. */
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, in) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aadlen) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &len, in + GCM_NONCE, (int)clen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + len, &len) != 1) {
		crypto_wipe(out, clen);
		return -1;
	}
	return 0;
}

int
crypto_derive(const unsigned char master[CRYPTO_MASTER_LEN],
    const char *purpose, unsigned char out[CRYPTO_MASTER_LEN])
{
	char label[128];
	int n = snprintf(label, sizeof(label), "tollgate %s", purpose);

	if (n < 0 || (size_t)n >= sizeof(label))
		return -1;
	return crypto_hmac_sha256(
	    master, CRYPTO_MASTER_LEN, label, (size_t)n, out);
}

int
crypto_master_new(char hex[2 * CRYPTO_MASTER_LEN + 1])
{
	unsigned char k[CRYPTO_MASTER_LEN];

	if (RAND_bytes(k, sizeof(k)) != 1)
		return -1;
	crypto_hex(k, sizeof(k), hex);
	crypto_wipe(k, sizeof(k));
	return 0;
}

/* issue 18 (did): Ed25519 signatures and the encodings DIDs come in. */

int
crypto_ed25519_verify(const unsigned char key[CRYPTO_ED25519_KEY_LEN],
    const void *msg, size_t n, const unsigned char sig[CRYPTO_ED25519_SIG_LEN])
{
	EVP_PKEY *pk;
	EVP_MD_CTX *md = NULL;
	int ok = 0;

	if ((pk = EVP_PKEY_new_raw_public_key(
		 EVP_PKEY_ED25519, NULL, key, CRYPTO_ED25519_KEY_LEN)) == NULL)
		return 0;
	/* Ed25519 hashes the message itself: no digest, one shot. */
	if ((md = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(md, sig, CRYPTO_ED25519_SIG_LEN, msg, n) == 1)
		ok = 1;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return ok;
}

static const char b58[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/*
 * Big-endian base-256 accumulation, digit by digit: quadratic, which the
 * length cap keeps to a few thousand steps.
 */
int
crypto_base58_decode(const char *s, unsigned char *out, size_t max)
{
	unsigned char acc[CRYPTO_B58_MAX];
	size_t n = strlen(s), zeros = 0, len = 0, i, j;
	const char *p;
	unsigned carry;

	if (n == 0 || n > CRYPTO_B58_MAX)
		return -1;
	while (zeros < n && s[zeros] == '1')
		zeros++;
	for (i = zeros; i < n; i++) {
		if ((p = strchr(b58, s[i])) == NULL || s[i] == '\0')
			return -1;
		carry = (unsigned)(p - b58);
		/* acc holds len bytes, least significant first. */
		for (j = 0; j < len; j++) {
			carry += (unsigned)acc[j] * 58;
			acc[j] = (unsigned char)(carry & 0xff);
			carry >>= 8;
		}
		for (; carry != 0; carry >>= 8)
			acc[len++] = (unsigned char)(carry & 0xff);
	}
	if (zeros + len > max)
		return -1;
	memset(out, 0, zeros);
	for (j = 0; j < len; j++)
		out[zeros + j] = acc[len - 1 - j];
	return (int)(zeros + len);
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * RFC 4648 section 5, with or without the '=' padding; only the canonical
 * spelling of a value (unused low bits zero), so a value has one text.
 */
int
crypto_base64url_decode(const char *s, unsigned char *out, size_t max)
{
	size_t n = strlen(s), i, len = 0;
	unsigned acc = 0;
	int bits = 0, v;

	while (n > 0 && s[n - 1] == '=')
		n--;
	/* Padding only completes a quantum of four, at most two of it. */
	if (strlen(s) - n > 2 || (strlen(s) != n && strlen(s) % 4 != 0) ||
	    n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((v = b64url_value(s[i])) < 0)
			return -1;
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (len == max)
				return -1;
			out[len++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (int)len;
}
