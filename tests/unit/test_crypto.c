/* test_crypto.c: unit tests for API keys, tokens, ids, hashes and password hashing */
#include "test_common.h"

#include <pthread.h>

#include "core/crypto.h"

static const char b62chars[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* 1 if the n characters at s are all base62. */
static int
is_b62(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(b62chars, s[i]) == NULL)
			return 0;
	return 1;
}

/* A different base62 character than c. */
static char
other_b62(char c)
{
	return c == 'a' ? 'b' : 'a';
}

static void
t_env_names(void **state)
{
	assert_str(crypto_key_env_name(KEY_LIVE), "live");
	assert_str(crypto_key_env_name(KEY_TEST), "test");
	assert_str(crypto_key_env_name(KEY_STAGING), "staging");
	assert_str(crypto_key_env_name(KEY_DEV), "dev");
	assert_int_equal(crypto_key_env_parse("live"), KEY_LIVE);
	assert_int_equal(crypto_key_env_parse("test"), KEY_TEST);
	assert_int_equal(crypto_key_env_parse("staging"), KEY_STAGING);
	assert_int_equal(crypto_key_env_parse("dev"), KEY_DEV);
	assert_int_equal(crypto_key_env_parse("prod"), -1);
	assert_int_equal(crypto_key_env_parse("LIVE"), -1);
	assert_int_equal(crypto_key_env_parse(""), -1);
}

static void
t_key_new_shape(void **state)
{
	char key[KEY_MAX_LEN], prefix[32];
	const char *name;
	size_t plen;
	int e, i;

	for (e = 0; e < KEY_ENV__MAX; e++) {
		name = crypto_key_env_name((enum key_env)e);
		snprintf(prefix, sizeof(prefix), "gw_%s_", name);
		plen = strlen(prefix);
		for (i = 0; i < 20; i++) {
			memset(key, 'X', sizeof(key));
			assert_int_equal(
			    crypto_key_new((enum key_env)e, key), 0);
			assert_int_equal(strlen(key),
			    3 + strlen(name) + 1 + KEY_RANDOM_LEN +
				KEY_CHECK_LEN);
			assert_int_equal(
			    strlen(key), 3 + strlen(name) + 1 + 38);
			if (strncmp(key, prefix, plen) != 0)
				fail_msg(
				    "%s does not start with %s", key, prefix);
			if (!is_b62(key + plen, 38))
				fail_msg("not base62 after prefix: %s", key);
		}
	}
}

static void
t_key_new_differs(void **state)
{
	char a[KEY_MAX_LEN], b[KEY_MAX_LEN];

	assert_int_equal(crypto_key_new(KEY_LIVE, a), 0);
	assert_int_equal(crypto_key_new(KEY_LIVE, b), 0);
	assert_string_not_equal(a, b);
}

static void
t_key_check_fresh(void **state)
{
	char key[KEY_MAX_LEN];
	int i, e;

	for (i = 0; i < 200; i++) {
		e = i % KEY_ENV__MAX;
		assert_int_equal(crypto_key_new((enum key_env)e, key), 0);
		if (crypto_key_check(key) != e)
			fail_msg("key %s checked as %d, want %d", key,
			    crypto_key_check(key), e);
	}
}

static void
t_key_check_single_change(void **state)
{
	/* Positions inside "gw_live_" + 32 random + 6 check (offset 8..45). */
	static const size_t pos[] = {
	    8, 9, 15, 23, 31, 38, 39, 40, 41, 42, 43, 44, 45};
	char key[KEY_MAX_LEN], bad[KEY_MAX_LEN];
	size_t i, p;
	int round;

	for (round = 0; round < 20; round++) {
		assert_int_equal(crypto_key_new(KEY_LIVE, key), 0);
		assert_int_equal(strlen(key), 46);
		assert_int_equal(crypto_key_check(key), KEY_LIVE);
		for (i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
			p = pos[i];
			strcpy(bad, key);
			bad[p] = other_b62(bad[p]);
			if (crypto_key_check(bad) != -1)
				fail_msg("changed at %zu: %s accepted", p, bad);
		}
		/* Every position of the random part and the checksum. */
		for (p = 8; p < 46; p++) {
			strcpy(bad, key);
			bad[p] = other_b62(bad[p]);
			if (crypto_key_check(bad) != -1)
				fail_msg("changed at %zu: %s accepted", p, bad);
		}
	}
}

static void
t_key_check_swap(void **state)
{
	char key[KEY_MAX_LEN], bad[KEY_MAX_LEN], c;
	size_t p;

	assert_int_equal(crypto_key_new(KEY_TEST, key), 0);
	/* Adjacent transpositions of different characters are caught. */
	for (p = 8; p + 1 < strlen(key); p++) {
		if (key[p] == key[p + 1])
			continue;
		strcpy(bad, key);
		c = bad[p];
		bad[p] = bad[p + 1];
		bad[p + 1] = c;
		if (crypto_key_check(bad) != -1)
			fail_msg("swap at %zu: %s accepted", p, bad);
	}
}

static void
t_key_check_prefix_env(void **state)
{
	char key[KEY_MAX_LEN], bad[KEY_MAX_LEN * 2];

	assert_int_equal(crypto_key_new(KEY_LIVE, key), 0);
	assert_int_equal(crypto_key_check(key), KEY_LIVE);

	/* Wrong family prefix. */
	strcpy(bad, key);
	bad[1] = 'x';
	assert_int_equal(crypto_key_check(bad), -1);
	strcpy(bad, key);
	bad[0] = 'G';
	assert_int_equal(crypto_key_check(bad), -1);
	/* Unknown env, same body. */
	snprintf(bad, sizeof(bad), "gw_prod_%s", key + 8);
	assert_int_equal(crypto_key_check(bad), -1);
	/* Another known env with the live body: the checksum covers it. */
	snprintf(bad, sizeof(bad), "gw_test_%s", key + 8);
	assert_int_equal(crypto_key_check(bad), -1);
	/* Upper-case env. */
	snprintf(bad, sizeof(bad), "gw_LIVE_%s", key + 8);
	assert_int_equal(crypto_key_check(bad), -1);
	/* Empty env. */
	snprintf(bad, sizeof(bad), "gw__%s", key + 8);
	assert_int_equal(crypto_key_check(bad), -1);
	/* No env separator at all. */
	assert_int_equal(crypto_key_check("gw_"), -1);
	assert_int_equal(crypto_key_check("gw_live"), -1);
	assert_int_equal(crypto_key_check("gw_live_"), -1);
	/* The session-token family is not an API key. */
	assert_int_equal(crypto_key_check("gws_live_abc"), -1);
}

static void
t_key_check_length(void **state)
{
	char key[KEY_MAX_LEN], bad[KEY_MAX_LEN * 2];
	size_t len;

	assert_int_equal(crypto_key_new(KEY_DEV, key), 0);
	len = strlen(key);
	/* One character short. */
	strcpy(bad, key);
	bad[len - 1] = '\0';
	assert_int_equal(crypto_key_check(bad), -1);
	/* One character dropped from the random part. */
	snprintf(bad, sizeof(bad), "%.*s%s", 10, key, key + 11);
	assert_int_equal(crypto_key_check(bad), -1);
	/* One character too many, at the end and in the middle. */
	snprintf(bad, sizeof(bad), "%sa", key);
	assert_int_equal(crypto_key_check(bad), -1);
	snprintf(bad, sizeof(bad), "%.*sa%s", 10, key, key + 10);
	assert_int_equal(crypto_key_check(bad), -1);
	/* Trailing whitespace. */
	snprintf(bad, sizeof(bad), "%s\n", key);
	assert_int_equal(crypto_key_check(bad), -1);
	snprintf(bad, sizeof(bad), " %s", key);
	assert_int_equal(crypto_key_check(bad), -1);
}

static void
t_key_check_charset(void **state)
{
	static const char badc[] = {
	    '-', '_', '+', '/', '=', ' ', '.', '!', '\x7f', '\xc3'};
	char key[KEY_MAX_LEN], bad[KEY_MAX_LEN];
	size_t i;

	assert_int_equal(crypto_key_new(KEY_STAGING, key), 0);
	assert_int_equal(crypto_key_check(key), KEY_STAGING);
	for (i = 0; i < sizeof(badc); i++) {
		strcpy(bad, key);
		bad[20] = badc[i];
		if (crypto_key_check(bad) != -1)
			fail_msg(
			    "char 0x%02x accepted", (unsigned char)badc[i]);
		strcpy(bad, key);
		bad[strlen(bad) - 1] = badc[i];
		if (crypto_key_check(bad) != -1)
			fail_msg("char 0x%02x accepted in checksum",
			    (unsigned char)badc[i]);
	}
}

static void
t_key_check_garbage(void **state)
{
	char big[1001];

	assert_int_equal(crypto_key_check(""), -1);
	assert_int_equal(crypto_key_check("g"), -1);
	assert_int_equal(crypto_key_check("gw"), -1);
	assert_int_equal(crypto_key_check("hello"), -1);
	assert_int_equal(
	    crypto_key_check("gw_live_00000000000000000000000000000000000000"),
	    -1);
	memset(big, 'a', 1000);
	big[1000] = '\0';
	assert_int_equal(crypto_key_check(big), -1);
	memcpy(big, "gw_live_", 8);
	assert_int_equal(crypto_key_check(big), -1);
}

static void
t_base62(void **state)
{
	char a[129], b[129];
	size_t n;

	for (n = 0; n <= 128; n += 16) {
		memset(a, 'X' + 1, sizeof(a));
		assert_int_equal(crypto_base62(a, n), 0);
		assert_int_equal(strlen(a), n);
		if (!is_b62(a, n))
			fail_msg("not base62: %s", a);
	}
	assert_int_equal(crypto_base62(a, 128), 0);
	assert_int_equal(crypto_base62(b, 128), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(crypto_base62(a, 0), 0);
	assert_str(a, "");
}

static void
t_base62_covers_alphabet(void **state)
{
	char buf[4097];
	int seen[256] = {0}, i, count = 0;

	/* 4096 draws: each of the 62 characters shows up (P(miss) ~ 1e-27). */
	assert_int_equal(crypto_base62(buf, 4096), 0);
	for (i = 0; i < 4096; i++)
		seen[(unsigned char)buf[i]]++;
	for (i = 0; i < 256; i++) {
		if (seen[i] == 0)
			continue;
		if (strchr(b62chars, i) == NULL)
			fail_msg("char 0x%02x not base62", i);
		count++;
	}
	assert_int_equal(count, 62);
}

static void
t_token_new(void **state)
{
	char a[KEY_MAX_LEN], b[KEY_MAX_LEN];

	memset(a, 'X', sizeof(a));
	assert_int_equal(crypto_token_new(a), 0);
	assert_int_equal(strncmp(a, "gws_", 4), 0);
	assert_int_equal(strlen(a), 4 + 40);
	assert_int_equal(strlen(a), 4 + TOKEN_RANDOM_LEN);
	if (!is_b62(a + 4, 40))
		fail_msg("not base62: %s", a);
	assert_int_equal(crypto_token_new(b), 0);
	assert_string_not_equal(a, b);
	/* A session token is never a valid API key. */
	assert_int_equal(crypto_key_check(a), -1);
}

static void
t_public_id(void **state)
{
	char a[64], b[64], small[24];

	memset(a, 'X', sizeof(a));
	assert_int_equal(crypto_public_id("usr_", a, sizeof(a)), 0);
	assert_int_equal(strncmp(a, "usr_", 4), 0);
	assert_int_equal(strlen(a), 4 + 20);
	assert_int_equal(strlen(a), 4 + PUBLIC_ID_RANDOM);
	if (!is_b62(a + 4, 20))
		fail_msg("not base62: %s", a);
	assert_int_equal(crypto_public_id("usr_", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);

	assert_int_equal(crypto_public_id("key_", a, sizeof(a)), 0);
	assert_int_equal(strncmp(a, "key_", 4), 0);
	assert_int_equal(strlen(a), 24);

	/* Exactly enough room: prefix + 20 + NUL. */
	assert_int_equal(crypto_public_id("usr_", small, 25 - 1), -1);
	assert_int_equal(crypto_public_id("usr", small, sizeof(small)), 0);
	assert_int_equal(strlen(small), 23);
}

static void
t_sha256_vector(void **state)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];

	crypto_secret_hash("abc", h);
	crypto_hex(h, sizeof(h), hex);
	assert_str(hex,
	    "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");

	crypto_secret_hash("", h);
	crypto_hex(h, sizeof(h), hex);
	assert_str(hex,
	    "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");

	crypto_sha256("abc", 3, h);
	crypto_hex(h, sizeof(h), hex);
	assert_str(hex,
	    "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");

	crypto_secret_hash(
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", h);
	crypto_hex(h, sizeof(h), hex);
	assert_str(hex,
	    "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
}

static void
t_hex(void **state)
{
	static const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(in) + 1];

	memset(out, 'X', sizeof(out));
	crypto_hex(in, sizeof(in), out);
	assert_str(out, "00017f80abff");
	crypto_hex(in, 0, out);
	assert_str(out, "");
}

static void
t_equal(void **state)
{
	unsigned char a[32], b[32];

	memset(a, 0x5a, sizeof(a));
	memset(b, 0x5a, sizeof(b));
	assert_true(crypto_equal(a, b, sizeof(a)));
	assert_int_equal(crypto_equal(a, b, sizeof(a)), 1);
	b[31] ^= 1;
	assert_false(crypto_equal(a, b, sizeof(a)));
	assert_true(crypto_equal(a, b, 31));
	b[31] ^= 1;
	b[0] ^= 0x80;
	assert_false(crypto_equal(a, b, sizeof(a)));
	assert_true(crypto_equal(a, b, 0));
	assert_true(crypto_equal("abc", "abc", 3));
	assert_false(crypto_equal("abc", "abd", 3));
}

static void
t_wipe(void **state)
{
	unsigned char a[16], z[16];

	memset(a, 0xaa, sizeof(a));
	memset(z, 0, sizeof(z));
	crypto_wipe(a, sizeof(a));
	assert_memory_equal(a, z, sizeof(a));
}

static void
t_password_hash(void **state)
{
	static const char pfx[] = "$argon2id$v=19$m=19456,t=2,p=1$";
	char a[128], b[128];
	const char *salt, *hash;

	memset(a, 'X', sizeof(a));
	assert_int_equal(
	    crypto_password_hash("correct horse", a, sizeof(a)), 0);
	if (strncmp(a, pfx, strlen(pfx)) != 0)
		fail_msg("not an argon2id PHC string with the set cost: %s", a);
	/* $<16-byte salt, 22 b64>$<32-byte hash, 43 b64> */
	salt = a + strlen(pfx);
	hash = strchr(salt, '$');
	assert_non_null(hash);
	assert_int_equal(hash - salt, 22);
	assert_int_equal(strlen(hash + 1), 43);
	assert_int_equal(strlen(a), strlen(pfx) + 22 + 1 + 43);

	assert_true(crypto_password_verify(a, "correct horse"));
	assert_int_equal(crypto_password_verify(a, "correct horse"), 1);
	assert_false(crypto_password_verify(a, "correct horsf"));
	assert_false(crypto_password_verify(a, "Correct horse"));
	assert_false(crypto_password_verify(a, "correct horse "));
	assert_false(crypto_password_verify(a, "correct hors"));
	assert_false(crypto_password_verify(a, ""));

	/* A fresh salt every time: same password, different strings. */
	assert_int_equal(
	    crypto_password_hash("correct horse", b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_true(crypto_password_verify(b, "correct horse"));
}

static void
t_password_hash_empty(void **state)
{
	char a[128];

	assert_int_equal(crypto_password_hash("", a, sizeof(a)), 0);
	assert_true(crypto_password_verify(a, ""));
	assert_false(crypto_password_verify(a, "x"));
}

static void
t_password_verify_bad_phc(void **state)
{
	char a[128];

	assert_false(crypto_password_verify("", "pw"));
	assert_false(crypto_password_verify("not a hash", "pw"));
	assert_false(crypto_password_verify("$argon2id$", "pw"));
	assert_int_equal(crypto_password_hash("pw", a, sizeof(a)), 0);
	/* Truncated or tampered strings do not verify. */
	a[strlen(a) - 5] = '\0';
	assert_false(crypto_password_verify(a, "pw"));
}

static void
t_password_hash_small_buffer(void **state)
{
	char a[32];

	assert_int_equal(crypto_password_hash("pw", a, sizeof(a)), -1);
}

static void
t_master_parse(void **state)
{
	unsigned char k[CRYPTO_MASTER_LEN];
	const char *good =
	    "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

	(void)state;
	assert_int_equal(crypto_master_parse(good, k), 0);
	assert_int_equal(k[0], 0x00);
	assert_int_equal(k[1], 0x11);
	assert_int_equal(k[31], 0xff);
	/* A trailing newline, as a file written by echo has, is fine. */
	assert_int_equal(
	    crypto_master_parse("  "
				"00112233445566778899aabbccddeeff00112233445566"
				"778899aabbccddeeff\n",
		k),
	    0);
	assert_int_equal(crypto_master_parse("0011", k), -1);
	assert_int_equal(
	    crypto_master_parse("00112233445566778899aabbccddeeff00112233445566"
				"778899aabbccddeeffaa",
		k),
	    -1);
	assert_int_equal(crypto_master_parse("g0112233445566778899aabbccddeeff0"
					     "0112233445566778899aabbccddeeff",
			     k),
	    -1);
	assert_int_equal(crypto_master_parse("", k), -1);
}

static void
t_seal_open(void **state)
{
	unsigned char k[CRYPTO_MASTER_LEN], k2[CRYPTO_MASTER_LEN];
	const char *secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = strlen(secret);
	unsigned char sealed[128], sealed2[128], out[128];

	(void)state;
	memset(k, 7, sizeof(k));
	memset(k2, 8, sizeof(k2));
	assert_int_equal(crypto_seal(k, "p:1", 3, secret, n, sealed), 0);
	/* The ciphertext does not contain the secret. */
	assert_null(memmem(sealed, n + CRYPTO_SEAL_OVERHEAD, "abcdefgh", 8));
	assert_int_equal(
	    crypto_open(k, "p:1", 3, sealed, n + CRYPTO_SEAL_OVERHEAD, out), 0);
	assert_memory_equal(out, secret, n);
	/* A fresh nonce each time: the same secret seals differently. */
	assert_int_equal(crypto_seal(k, "p:1", 3, secret, n, sealed2), 0);
	assert_memory_not_equal(sealed, sealed2, n + CRYPTO_SEAL_OVERHEAD);
	/* Wrong key, wrong row (aad), a flipped bit, truncation: all refused. */
	assert_int_equal(
	    crypto_open(k2, "p:1", 3, sealed, n + CRYPTO_SEAL_OVERHEAD, out),
	    -1);
	assert_int_equal(
	    crypto_open(k, "p:2", 3, sealed, n + CRYPTO_SEAL_OVERHEAD, out),
	    -1);
	sealed[14] ^= 1;
	assert_int_equal(
	    crypto_open(k, "p:1", 3, sealed, n + CRYPTO_SEAL_OVERHEAD, out),
	    -1);
	sealed[14] ^= 1;
	/* A refused open leaves nothing behind: the next one succeeds. */
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    crypto_open(k, "p:1", 3, sealed, n + CRYPTO_SEAL_OVERHEAD, out), 0);
	assert_memory_equal(out, secret, n);
	assert_int_equal(crypto_open(k, "p:1", 3, sealed, 27, out), -1);
	assert_int_equal(
	    crypto_open(k, "p:1", 3, sealed, n + CRYPTO_SEAL_OVERHEAD - 1, out),
	    -1);
	/* An empty secret still authenticates. */
	assert_int_equal(crypto_seal(k, "p:1", 3, "", 0, sealed), 0);
	assert_int_equal(
	    crypto_open(k, "p:1", 3, sealed, CRYPTO_SEAL_OVERHEAD, out), 0);
}

/* Threads keep their own opening context: two keys opened at once, in turn. */
struct opener_arg {
	unsigned char key[CRYPTO_MASTER_LEN];
	unsigned char sealed[64];
	int fails;
};

static void *
open_many(void *p)
{
	struct opener_arg *a = p;
	unsigned char other[CRYPTO_MASTER_LEN], out[64];
	int i;

	memset(other, 0x5a, sizeof(other));
	for (i = 0; i < 2000; i++) {
		/* The right key opens; another key in between must not. */
		if (crypto_open(a->key, "t", 1, a->sealed,
			8 + CRYPTO_SEAL_OVERHEAD, out) != 0 ||
		    memcmp(out, "8 bytes!", 8) != 0)
			a->fails++;
		if (i % 7 == 0 &&
		    crypto_open(other, "t", 1, a->sealed,
			8 + CRYPTO_SEAL_OVERHEAD, out) != -1)
			a->fails++;
	}
	return NULL;
}

static void
t_open_threads(void **state)
{
	struct opener_arg a[2];
	pthread_t t[2];
	int i;

	(void)state;
	for (i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		memset(a[i].key, i + 1, sizeof(a[i].key));
		assert_int_equal(
		    crypto_seal(a[i].key, "t", 1, "8 bytes!", 8, a[i].sealed),
		    0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, open_many, &a[i]), 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(a[0].fails, 0);
	assert_int_equal(a[1].fails, 0);
}

/* issue 18: other gateways' key formats pass the format check, nothing near them does. */
static void
t_key_foreign(void **state)
{
	const char *hex64 = "0123456789abcdef0123456789abcdef"
			    "0123456789abcdef0123456789abcdef";
	char k[128];

	(void)state;
	snprintf(k, sizeof(k), "sk-or-v1-%s", hex64);
	assert_int_equal(crypto_key_foreign(k), 1);
	assert_int_equal(crypto_key_check(k), KEY_LIVE);
	assert_int_equal(
	    crypto_key_foreign("258d989626459539c44ad77589a0e1f8"), 1);
	assert_int_equal(
	    crypto_key_check("258d989626459539c44ad77589a0e1f8"), KEY_LIVE);
	/* One digit short or long, upper case, a non-hex digit, another prefix. */
	snprintf(k, sizeof(k), "sk-or-v1-%.63s", hex64);
	assert_int_equal(crypto_key_check(k), -1);
	snprintf(k, sizeof(k), "sk-or-v1-%s0", hex64);
	assert_int_equal(crypto_key_check(k), -1);
	snprintf(k, sizeof(k), "sk-or-v2-%s", hex64);
	assert_int_equal(crypto_key_check(k), -1);
	assert_int_equal(
	    crypto_key_check("258d989626459539c44ad77589a0e1f"), -1);
	assert_int_equal(
	    crypto_key_check("258d989626459539c44ad77589a0e1f80"), -1);
	assert_int_equal(
	    crypto_key_check("258D989626459539C44AD77589A0E1F8"), -1);
	assert_int_equal(
	    crypto_key_check("258d989626459539c44ad77589a0e1fg"), -1);
	assert_int_equal(crypto_key_foreign(""), 0);
	assert_int_equal(crypto_key_foreign("sk-or-v1-"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_key_foreign),
	    cmocka_unit_test(t_env_names),
	    cmocka_unit_test(t_open_threads),
	    cmocka_unit_test(t_key_new_shape),
	    cmocka_unit_test(t_key_new_differs),
	    cmocka_unit_test(t_key_check_fresh),
	    cmocka_unit_test(t_key_check_single_change),
	    cmocka_unit_test(t_key_check_swap),
	    cmocka_unit_test(t_key_check_prefix_env),
	    cmocka_unit_test(t_key_check_length),
	    cmocka_unit_test(t_key_check_charset),
	    cmocka_unit_test(t_key_check_garbage),
	    cmocka_unit_test(t_base62),
	    cmocka_unit_test(t_base62_covers_alphabet),
	    cmocka_unit_test(t_token_new),
	    cmocka_unit_test(t_public_id),
	    cmocka_unit_test(t_sha256_vector),
	    cmocka_unit_test(t_hex),
	    cmocka_unit_test(t_equal),
	    cmocka_unit_test(t_wipe),
	    cmocka_unit_test(t_password_hash),
	    cmocka_unit_test(t_password_hash_empty),
	    cmocka_unit_test(t_password_verify_bad_phc),
	    cmocka_unit_test(t_password_hash_small_buffer),
	    cmocka_unit_test(t_master_parse),
	    cmocka_unit_test(t_seal_open),
	};

	test_init();
	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
