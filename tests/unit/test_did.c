/* test_did.c: unit tests for Ed25519 verification, base58btc, base64url, did:key and the replay cache */
#include "test_common.h"

#include <openssl/evp.h>

#include "core/crypto.h"
#include "domain/did.h"
#include "domain/op.h"

/* n bytes from hex. */
static void
unhex(const char *hex, unsigned char *out, size_t n)
{
	size_t i;
	unsigned v;

	assert_int_equal(strlen(hex), 2 * n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

/* RFC 8032 section 7.1: public key, message, signature. */
static const struct {
	const char *pk, *msg, *sig;
} rfc8032[] = {
    /* TEST 1 */
    {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	"5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    /* TEST 2 */
    {"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	"92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    /* TEST 3 */
    {"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	"18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
    /* TEST SHA(abc) */
    {"ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	"dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
	"09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"},
};

static void
t_ed25519_rfc8032(void **state)
{
	unsigned char pk[32], sig[64], msg[65], other[32];
	size_t i, n;

	for (i = 0; i < sizeof(rfc8032) / sizeof(rfc8032[0]); i++) {
		n = strlen(rfc8032[i].msg) / 2;
		unhex(rfc8032[i].pk, pk, 32);
		unhex(rfc8032[i].sig, sig, 64);
		unhex(rfc8032[i].msg, msg, n);
		assert_int_equal(crypto_ed25519_verify(pk, msg, n, sig), 1);
		/* One bit off anywhere: refused. */
		sig[10] ^= 1;
		assert_int_equal(crypto_ed25519_verify(pk, msg, n, sig), 0);
		sig[10] ^= 1;
		msg[n] = 'x';
		assert_int_equal(crypto_ed25519_verify(pk, msg, n + 1, sig), 0);
		/* Another vector's key: refused. */
		unhex(rfc8032[(i + 1) % 4].pk, other, 32);
		assert_int_equal(crypto_ed25519_verify(other, msg, n, sig), 0);
	}
}

static void
t_base58(void **state)
{
	unsigned char out[64];

	assert_int_equal(crypto_base58_decode("StV1DL6CwTryKyV", out, 64), 11);
	assert_memory_equal(out, "hello world", 11);
	/* Leading '1's are zero bytes. */
	assert_int_equal(crypto_base58_decode("115T", out, 64), 4);
	assert_memory_equal(out, "\0\0\1\2", 4);
	assert_int_equal(crypto_base58_decode("1", out, 64), 1);
	assert_int_equal(out[0], 0);
	/* Not in the alphabet: 0 O I l, and others. */
	assert_int_equal(crypto_base58_decode("StV1DL6CwTryKy0", out, 64), -1);
	assert_int_equal(crypto_base58_decode("OIl", out, 64), -1);
	assert_int_equal(crypto_base58_decode("ab+", out, 64), -1);
	assert_int_equal(crypto_base58_decode("", out, 64), -1);
	/* More bytes than room. */
	assert_int_equal(crypto_base58_decode("StV1DL6CwTryKyV", out, 10), -1);
	/* Longer than the cap. */
	{
		char big[CRYPTO_B58_MAX + 2];

		memset(big, 'z', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(crypto_base58_decode(big, out, 64), -1);
	}
}

static void
t_base64url(void **state)
{
	unsigned char out[8];

	assert_int_equal(crypto_base64url_decode("", out, 8), 0);
	assert_int_equal(crypto_base64url_decode("Zg", out, 8), 1);
	assert_memory_equal(out, "f", 1);
	assert_int_equal(crypto_base64url_decode("Zg==", out, 8), 1);
	assert_int_equal(crypto_base64url_decode("Zm8", out, 8), 2);
	assert_int_equal(crypto_base64url_decode("Zm8=", out, 8), 2);
	assert_memory_equal(out, "fo", 2);
	assert_int_equal(crypto_base64url_decode("Zm9vYg", out, 8), 4);
	assert_memory_equal(out, "foob", 4);
	/* The URL alphabet: - and _ are 62 and 63. */
	assert_int_equal(crypto_base64url_decode("-_8", out, 8), 2);
	assert_memory_equal(out, "\xfb\xff", 2);
	/* The standard alphabet's + and / are not base64url. */
	assert_int_equal(crypto_base64url_decode("+/8", out, 8), -1);
	/* Bad padding, a lone character, non-canonical last bits. */
	assert_int_equal(crypto_base64url_decode("Zg=", out, 8), -1);
	assert_int_equal(crypto_base64url_decode("Zg===", out, 8), -1);
	assert_int_equal(crypto_base64url_decode("Z", out, 8), -1);
	assert_int_equal(crypto_base64url_decode("Zh", out, 8), -1);
	assert_int_equal(crypto_base64url_decode("Z=g", out, 8), -1);
	/* More than room. */
	assert_int_equal(crypto_base64url_decode("Zm9vYmFyYmF6", out, 8), -1);
}

static void
t_did_key(void **state)
{
	unsigned char key[32], want[32];

	/* W3C did:key reference example, key decoded by Python's base58. */
	assert_int_equal(
	    did_key_parse(
		"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
		key),
	    0);
	unhex(
	    "2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6",
	    want, 32);
	assert_memory_equal(key, want, 32);
	/* acapy's vector: publicKeyBase58 8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K. */
	assert_int_equal(
	    did_key_parse(
		"did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",
		key),
	    0);
	assert_int_equal(
	    crypto_base58_decode(
		"8HH5gYEeNc3z7PYXmd54d4x6qAfCNrqQqEB3nS7Zfu7K", want, 32),
	    32);
	assert_memory_equal(key, want, 32);
	/* The key of the all-zero seed (RFC 8032's derivation). */
	assert_int_equal(
	    did_key_parse(
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		key),
	    0);
	unhex(
	    "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
	    want, 32);
	assert_memory_equal(key, want, 32);
	/* RFC 8032 TEST 1's public key. */
	assert_int_equal(
	    did_key_parse(
		"did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw",
		key),
	    0);
	unhex(rfc8032[0].pk, want, 32);
	assert_memory_equal(key, want, 32);
	/* secp256k1 (0xe7 0x01), one byte too many, one too few. */
	assert_int_equal(
	    did_key_parse(
		"did:key:zQ3shMQnkqiyfujhRPGFFqSEeD2yV9kUcmyBiu2fT2BXfFPMH",
		key),
	    -1);
	assert_int_equal(
	    did_key_parse(
		"did:key:zQeckHN9FGhBanGv7VfdNCgoaDjXjrsXJPT8AdyxjuP1as9oM",
		key),
	    -1);
	assert_int_equal(
	    did_key_parse(
		"did:key:z2DQYFhy74hg5eM3VNHKxySLj7rqfiJ7SZ3Gyokjx1w6yGc", key),
	    -1);
	/* Another method, another multibase, a damaged character. */
	assert_int_equal(did_key_parse("did:web:example.com", key), -1);
	assert_int_equal(
	    did_key_parse(
		"did:key:u7QHXWpgBgrEKt9VL_tPJZAc6DuFy89qmIyWvAhpo9wdRGg", key),
	    -1);
	assert_int_equal(
	    did_key_parse(
		"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do0",
		key),
	    -1);
	assert_int_equal(did_key_parse("did:key:z", key), -1);
	assert_int_equal(did_key_parse("", key), -1);
}

static void
t_signed_text(void **state)
{
	struct arena *a = arena_new(4096);

	assert_string_equal(did_signed_text(a, "1700000000", "GET",
				"/api/v1/usage?x=1", NULL, 0),
	    "1700000000\nGET\n/api/v1/usage?x=1\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(did_signed_text(a, "1", "POST", "/p", "abc", 3),
	    "1\nPOST\n/p\n"
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	arena_free(a);
}

/* RFC 8032 TEST 1's secret key signs; its did:key names the public key. */
#define TEST_DID "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"

/* The base64url (unpadded) signature of text by TEST 1's key. */
static void
sign(const char *text, char out[90])
{
	static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				   "qrstuvwxyz0123456789-_";
	unsigned char sk[32], sig[64];
	size_t siglen = 64, i, o = 0;
	unsigned acc = 0;
	int bits = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY *pk;

	unhex(
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	    sk, 32);
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
	assert_non_null(pk);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
			     (const unsigned char *)text, strlen(text)),
	    1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	for (i = 0; i < 64; i++) {
		acc = acc << 8 | sig[i];
		for (bits += 8; bits >= 6; bits -= 6)
			out[o++] = b64u[(acc >> (bits - 6)) & 63];
	}
	if (bits > 0)
		out[o++] = b64u[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

struct fixture {
	struct arena *a;
	struct conf *conf;
	struct op op;
	struct did_cache *d;
	char ts[24], sig[90];
	struct did_request q;
};

/* A request to POST /p with body "{}" signed at ts. */
static struct did_request *
signed_at(struct fixture *f, int64_t ts, const char *uri)
{
	snprintf(f->ts, sizeof(f->ts), "%lld", (long long)ts);
	sign(did_signed_text(f->a, f->ts, "POST", uri, "{}", 2), f->sig);
	f->q = (struct did_request){
	    TEST_DID, f->ts, f->sig, "POST", "/p", "{}", 2};
	return &f->q;
}

static void
fixture_init(struct fixture *f, size_t slots)
{
	memset(f, 0, sizeof(*f));
	f->a = arena_new(1 << 16);
	f->conf = conf_defaults();
	f->op.arena = f->a;
	f->op.conf = f->conf;
	assert_non_null(f->d = did_cache_open(NULL, slots));
}

static void
fixture_fini(struct fixture *f)
{
	did_cache_close(f->d);
	conf_free(f->conf);
	arena_free(f->a);
}

static const char *
verify(struct fixture *f, const struct did_request *q, int64_t now)
{
	op_clear(&f->op);
	if (did_verify(&f->op, f->d, q, 300, now) == TG_OK)
		return "ok";
	assert_int_equal(f->op.fail.err, TG_EAUTH);
	return f->op.fail.code;
}

static void
t_verify(void **state)
{
	struct fixture f;
	struct did_request *q;
	const int64_t now = 1800000000;

	fixture_init(&f, 1024);
	q = signed_at(&f, now, "/p");
	assert_string_equal(verify(&f, q, now), "ok");
	/* The same signature again, even a second later: a replay. */
	assert_string_equal(verify(&f, q, now + 1), "did_replay");
	/* Padded, it is the same signature. */
	q = signed_at(&f, now - 5, "/p");
	f.q.signature = arena_printf(f.a, "%s==", f.sig);
	assert_string_equal(verify(&f, q, now), "ok");
	q = signed_at(&f, now - 5, "/p");
	assert_string_equal(verify(&f, q, now), "did_replay");
	/* Each part of the text is signed. */
	q = signed_at(&f, now - 6, "/p");
	f.q.body = "{ }";
	f.q.body_len = 3;
	assert_string_equal(verify(&f, q, now), "did_bad_signature");
	q = signed_at(&f, now - 7, "/p?a=1");
	assert_string_equal(verify(&f, q, now), "did_bad_signature");
	q = signed_at(&f, now - 8, "/p");
	f.q.method = "PUT";
	assert_string_equal(verify(&f, q, now), "did_bad_signature");
	q = signed_at(&f, now - 9, "/p");
	f.q.timestamp = arena_printf(f.a, "%lld", (long long)(now - 10));
	assert_string_equal(verify(&f, q, now), "did_bad_signature");
	/* Another DID's key. */
	q = signed_at(&f, now - 11, "/p");
	f.q.did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
	assert_string_equal(verify(&f, q, now), "did_bad_signature");
	/* The window, both ways, and its edge. */
	assert_string_equal(
	    verify(&f, signed_at(&f, now - 300, "/p"), now), "ok");
	assert_string_equal(verify(&f, signed_at(&f, now - 301, "/p"), now),
	    "did_timestamp_out_of_window");
	assert_string_equal(verify(&f, signed_at(&f, now + 301, "/p"), now),
	    "did_timestamp_out_of_window");
	q = signed_at(&f, now, "/p");
	f.q.timestamp = "17e8";
	assert_string_equal(verify(&f, q, now), "did_bad_timestamp");
	q = signed_at(&f, now - 12, "/p");
	f.q.signature = "AAAA";
	assert_string_equal(verify(&f, q, now), "did_bad_signature");
	q = signed_at(&f, now - 12, "/p");
	f.q.did = "did:key:zQ3shMQnkqiyfujhRPGFFqSEeD2yV9kUcmyBiu2fT2BXfFPMH";
	assert_string_equal(verify(&f, q, now), "invalid_did");
	fixture_fini(&f);
}

/*
 * A table of 64 slots takes 64 signatures; the 65th is refused, not let
 * through unremembered.  Once the first ones leave the window their slots
 * serve again, and a replay of one still inside it is still a replay.
 */
static void
t_cache_full(void **state)
{
	struct fixture f;
	const int64_t now = 1800000000;
	int i;

	fixture_init(&f, 64);
	assert_null(did_cache_open(NULL, 63));
	for (i = 0; i < 64; i++)
		assert_string_equal(
		    verify(&f, signed_at(&f, now - 100 + i, "/p"), now), "ok");
	assert_string_equal(
	    verify(&f, signed_at(&f, now, "/p"), now), "did_replay_cache_full");
	/* 201 s on, the signature made at now - 100 is out of the window. */
	assert_string_equal(
	    verify(&f, signed_at(&f, now + 201, "/p"), now + 201), "ok");
	assert_string_equal(
	    verify(&f, signed_at(&f, now + 201, "/p"), now + 201),
	    "did_replay");
	assert_string_equal(
	    verify(&f, signed_at(&f, now + 202, "/p"), now + 201),
	    "did_replay_cache_full");
	fixture_fini(&f);
}

/* Two maps of one file are one cache: a replay through another worker. */
static void
t_cache_shared(void **state)
{
	struct fixture f;
	struct did_cache *other;
	char path[] = "/tmp/tg_did_XXXXXX";
	int fd = mkstemp(path);
	const int64_t now = 1800000000;

	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	fixture_init(&f, 64);
	did_cache_close(f.d);
	assert_non_null(f.d = did_cache_open(path, 256));
	assert_non_null(other = did_cache_open(path, 256));
	assert_string_equal(verify(&f, signed_at(&f, now, "/p"), now), "ok");
	op_clear(&f.op);
	assert_int_equal(did_verify(&f.op, other, &f.q, 300, now), TG_EAUTH);
	assert_string_equal(f.op.fail.code, "did_replay");
	did_cache_close(other);
	fixture_fini(&f);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_ed25519_rfc8032),
	    cmocka_unit_test(t_base58),
	    cmocka_unit_test(t_base64url),
	    cmocka_unit_test(t_did_key),
	    cmocka_unit_test(t_signed_text),
	    cmocka_unit_test(t_verify),
	    cmocka_unit_test(t_cache_full),
	    cmocka_unit_test(t_cache_shared),
	};

	return cmocka_run_group_tests_name("did", tests, NULL, NULL);
}
