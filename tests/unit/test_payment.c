/* test_payment.c: the payment webhook's signature header and event shape (domain/payment.c) */
/* SPDX-License-Identifier: MIT */
#include "test_common.h"

#include "core/crypto.h"
#include "domain/op.h"
#include "domain/topup.h"

#define NOW 1733480000

static struct arena *A;

static void
op_new(struct op *op)
{
	memset(op, 0, sizeof(*op));
	op->arena = A;
}

/* The v1 hex of "t.body" under secret. */
static void
v1(const char *secret, const char *t, const char *body, char hex[65])
{
	unsigned char mac[CRYPTO_SHA256_LEN];
	char *msg = arena_printf(A, "%s.%s", t, body);

	assert_int_equal(
	    crypto_hmac_sha256(secret, strlen(secret), msg, strlen(msg), mac),
	    0);
	crypto_hex(mac, sizeof(mac), hex);
}

static enum tg_err
verify(struct op *op, const char *header, const char *body, const char *secrets)
{
	op_new(op);
	return payment_verify(
	    op, header, body, strlen(body), secrets, 300, NOW);
}

static void
t_valid_and_tampered(void **state)
{
	const char *body = "{\"id\":\"evt_1\"}";
	char hex[65], *h;
	struct op op;

	(void)state;
	v1("whsec_a", "1733480000", body, hex);
	h = arena_printf(A, "t=1733480000,v1=%s", hex);
	assert_int_equal(verify(&op, h, body, "whsec_a\n"), TG_OK);
	/* Spaces around items, upper-case hex, an unknown scheme. */
	for (char *p = hex; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	h = arena_printf(A, " t=1733480000 , v0=zz, v1=%s ", hex);
	assert_int_equal(verify(&op, h, body, "whsec_a"), TG_OK);
	assert_int_equal(
	    verify(&op, h, "{\"id\":\"evt_2\"}", "whsec_a"), TG_EAUTH);
	assert_str(op.fail.code, "invalid_signature");
	assert_int_equal(verify(&op, h, body, "whsec_b"), TG_EAUTH);
	/* The timestamp is part of what was signed. */
	h = arena_printf(A, "t=1733480001,v1=%s", hex);
	assert_int_equal(verify(&op, h, body, "whsec_a"), TG_EAUTH);
}

static void
t_rotation(void **state)
{
	const char *body = "{}";
	char a[65], b[65], *h;
	struct op op;

	(void)state;
	v1("old", "1733480000", body, a);
	v1("new", "1733480000", body, b);
	/* Two secrets in the file: either signature verifies. */
	h = arena_printf(A, "t=1733480000,v1=%s", a);
	assert_int_equal(verify(&op, h, body, "new\r\nold\n\n"), TG_OK);
	h = arena_printf(A, "t=1733480000,v1=%s", b);
	assert_int_equal(verify(&op, h, body, "new\nold"), TG_OK);
	assert_int_equal(verify(&op, h, body, "old"), TG_EAUTH);
	/* Two v1 values (the sender's rolled secret): one matching is enough. */
	h = arena_printf(A, "t=1733480000,v1=%s,v1=%s", a, b);
	assert_int_equal(verify(&op, h, body, "new"), TG_OK);
}

static void
t_tolerance(void **state)
{
	const char *body = "{}";
	char hex[65], *h, t[16];
	struct op op;
	static const int off[] = {-300, 300, -301, 301};
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(t, sizeof(t), "%d", NOW + off[i]);
		v1("s", t, body, hex);
		h = arena_printf(A, "t=%s,v1=%s", t, hex);
		assert_int_equal(
		    verify(&op, h, body, "s"), i < 2 ? TG_OK : TG_EAUTH);
		if (i >= 2)
			assert_str(op.fail.code, "timestamp_outside_tolerance");
	}
}

static void
t_bad_headers(void **state)
{
	static const char *const bad[] = {
	    "",
	    "t=1733480000",
	    "v1="
	    "00000000000000000000000000000000"
	    "00000000000000000000000000000000",
	    "t=abc,v1="
	    "00000000000000000000000000000000"
	    "00000000000000000000000000000000",
	    "t=1733480000,v1=00",
	    "t=1733480000,v1="
	    "g0000000000000000000000000000000"
	    "00000000000000000000000000000000",
	    "t=1,t=2,v1="
	    "00000000000000000000000000000000"
	    "00000000000000000000000000000000",
	    "t=1234567890123456,v1="
	    "00000000000000000000000000000000"
	    "00000000000000000000000000000000",
	};
	struct op op;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(verify(&op, bad[i], "{}", "s"), TG_EINVAL);
		assert_str(op.fail.code, "invalid_signature_header");
	}
	assert_int_equal(verify(&op, NULL, "{}", "s"), TG_EINVAL);
}

static enum tg_err
parse(struct op *op, const char *text, struct payment *p, int *ignored)
{
	json_t *ev = json_loads(text, 0, NULL);

	assert_non_null(ev);
	arena_defer_json(A, ev);
	op_new(op);
	return payment_parse(op, ev, p, ignored);
}

static void
t_event_shape(void **state)
{
	struct payment p;
	struct op op;
	int ign;

	(void)state;
	assert_int_equal(
	    parse(&op,
		"{\"id\":\"evt_1\",\"type\":\"checkout.session."
		"completed\",\"data\":{\"object\":{\"amount_total\":"
		"1234,\"currency\":\"usd\",\"metadata\":{\"user_id\":"
		"\"usr_x\"}}}}",
		&p, &ign),
	    TG_OK);
	assert_int_equal(ign, 0);
	assert_true(p.amount == 12340000000LL);
	assert_str(p.user_pub, "usr_x");
	assert_int_equal(
	    parse(&op,
		"{\"id\":\"e\",\"type\":\"topup.succeeded\",\"data\":"
		"{\"object\":{\"amount\":\"0.000000001\",\"currency\":"
		"\"USD\",\"metadata\":{\"email\":\"a@b.c\"}}}}",
		&p, &ign),
	    TG_OK);
	assert_true(p.amount == 1);
	assert_str(p.email, "a@b.c");
	assert_null(p.user_pub);
	assert_int_equal(
	    parse(&op,
		"{\"id\":\"e\",\"type\":\"x.y\",\"data\":{\"object\":"
		"{}}}",
		&p, &ign),
	    TG_OK);
	assert_int_equal(ign, 1);
	assert_int_equal(
	    parse(&op,
		"{\"id\":\"e\",\"type\":\"topup.succeeded\",\"data\":"
		"{\"object\":{\"amount\":\"1\",\"currency\":\"eur\"}}}",
		&p, &ign),
	    TG_EINVAL);
	assert_str(op.fail.code, "unsupported_currency");
	assert_int_equal(
	    parse(&op,
		"{\"id\":\"e\",\"type\":\"topup.succeeded\",\"data\":"
		"{\"object\":{\"amount\":\"1\",\"amount_total\":100,"
		"\"currency\":\"usd\",\"metadata\":{\"email\":\"a\"}}}}",
		&p, &ign),
	    TG_EINVAL);
	assert_str(op.fail.code, "invalid_event");
	assert_int_equal(
	    parse(&op,
		"{\"id\":\"has space\",\"type\":\"topup.succeeded\","
		"\"data\":{\"object\":{}}}",
		&p, &ign),
	    TG_EINVAL);
	assert_str(op.fail.param, "id");
}

static int
setup(void **state)
{
	(void)state;
	A = arena_new(4096);
	return A == NULL;
}

static int
teardown(void **state)
{
	(void)state;
	arena_free(A);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_valid_and_tampered),
	    cmocka_unit_test(t_rotation),
	    cmocka_unit_test(t_tolerance),
	    cmocka_unit_test(t_bad_headers),
	    cmocka_unit_test(t_event_shape),
	};

	return cmocka_run_group_tests_name("payment", tests, setup, teardown);
}
