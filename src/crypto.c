/* crypto.c: keys, tokens, hashes and password hashing (OpenSSL and libargon2 adapter) */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "crypto.h"

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

int
crypto_key_check(const char *key)
{
	char crc[KEY_CHECK_LEN + 1], env[16];
	const char *body;
	size_t len, i, elen;
	int e;

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

void
crypto_sha256(const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	SHA256(p, n, out);
}

void
crypto_secret_hash(const char *s, unsigned char out[CRYPTO_SHA256_LEN])
{
	/* High-entropy secrets need no slow hash: lookups must stay cheap. */
	SHA256((const unsigned char *)s, strlen(s), out);
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
