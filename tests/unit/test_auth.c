/* test_auth.c: unit tests for key masking, the IP/CIDR and referrer allowlists, and a key's checks */
#include "test_common.h"

#include "core/crypto.h"
#include "domain/auth.h"
#include "domain/op.h"
#include "store/q_key.h"

static void
t_mask(void **state)
{
	char out[64];

	memset(out, 'X', sizeof(out));
	auth_mask("gw_live_Ab3x", "wxyz", out, sizeof(out));
	assert_str(out, "gw_live_Ab3x...wxyz");
	auth_mask("gw_staging_0000", "9999", out, sizeof(out));
	assert_str(out, "gw_staging_0000...9999");
	auth_mask("", "", out, sizeof(out));
	assert_str(out, "...");
	/* Truncated, still terminated. */
	memset(out, 'X', sizeof(out));
	auth_mask("gw_live_Ab3x", "wxyz", out, 8);
	assert_str(out, "gw_live");
}

static void
t_cidr_valid(void **state)
{
	assert_true(auth_cidr_valid("10.0.0.0/8"));
	assert_true(auth_cidr_valid("127.0.0.1"));
	assert_true(auth_cidr_valid("0.0.0.0/0"));
	assert_true(auth_cidr_valid("192.168.1.1/32"));
	assert_true(auth_cidr_valid("::1"));
	assert_true(auth_cidr_valid("::"));
	assert_true(auth_cidr_valid("::/0"));
	assert_true(auth_cidr_valid("2001:db8::/32"));
	assert_true(auth_cidr_valid("fe80::1/128"));
	assert_true(auth_cidr_valid("::ffff:127.0.0.1"));
	assert_true(auth_cidr_valid("2001:DB8::1"));
	assert_int_equal(auth_cidr_valid("10.0.0.0/8"), 1);
}

static void
t_cidr_invalid(void **state)
{
	char big[200];

	assert_false(auth_cidr_valid("10.0.0.0/33"));
	/* The prefix length is plain digits only. */
	assert_false(auth_cidr_valid("10.0.0.0/ 8"));
	assert_false(auth_cidr_valid("10.0.0.0/+8"));
	assert_false(auth_cidr_valid("10.0.0.0/-0"));
	assert_false(auth_cidr_valid("10.0.0.0/0008"));
	assert_false(auth_cidr_valid("10.0.0.0/128"));
	assert_false(auth_cidr_valid("::1/129"));
	assert_false(auth_cidr_valid("10.0.0.0/-1"));
	assert_false(auth_cidr_valid("10.0.0.0/8x"));
	assert_false(auth_cidr_valid("10.0.0.0/8/8"));
	assert_false(auth_cidr_valid("10.0.0.0/999999999999999999999"));
	assert_false(auth_cidr_valid("1.2.3"));
	assert_false(auth_cidr_valid("1.2.3.4.5"));
	assert_false(auth_cidr_valid("256.0.0.1"));
	assert_false(auth_cidr_valid("abc"));
	assert_false(auth_cidr_valid("10.0.0.0/"));
	assert_false(auth_cidr_valid("/8"));
	assert_false(auth_cidr_valid("/"));
	assert_false(auth_cidr_valid(""));
	assert_false(auth_cidr_valid(" 10.0.0.1"));
	assert_false(auth_cidr_valid("10.0.0.1 "));
	assert_false(auth_cidr_valid("localhost"));
	assert_false(auth_cidr_valid("1:2:3:4:5:6:7:8:9"));
	assert_false(auth_cidr_valid("fe80::1%eth0"));
	assert_false(auth_cidr_valid("*"));
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(auth_cidr_valid(big));
	assert_int_equal(auth_cidr_valid("abc"), 0);
}

static void
t_ip_no_list(void **state)
{
	assert_int_equal(auth_ip_allowed(NULL, "127.0.0.1"), 1);
	assert_int_equal(auth_ip_allowed("", "127.0.0.1"), 1);
	assert_int_equal(auth_ip_allowed("[]", "127.0.0.1"), 1);
	assert_int_equal(auth_ip_allowed("[]", "2001:db8::1"), 1);
	assert_int_equal(auth_ip_allowed("[]", NULL), 1);
	assert_int_equal(auth_ip_allowed(NULL, NULL), 1);
}

static void
t_ip_v4_cidr(void **state)
{
	const char *l = "[\"127.0.0.0/8\"]";

	assert_int_equal(auth_ip_allowed(l, "127.0.0.1"), 1);
	assert_int_equal(auth_ip_allowed(l, "127.255.255.255"), 1);
	assert_int_equal(auth_ip_allowed(l, "127.0.0.0"), 1);
	assert_int_equal(auth_ip_allowed(l, "10.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed(l, "128.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed(l, "126.255.255.255"), 0);
	/* An IPv6 address is not inside an IPv4 network. */
	assert_int_equal(auth_ip_allowed(l, "::1"), 0);
	assert_int_equal(auth_ip_allowed(l, "garbage"), 0);
	assert_int_equal(auth_ip_allowed(l, ""), 0);

	/* A prefix that is not a whole number of bytes. */
	l = "[\"192.168.4.0/22\"]";
	assert_int_equal(auth_ip_allowed(l, "192.168.4.0"), 1);
	assert_int_equal(auth_ip_allowed(l, "192.168.7.255"), 1);
	assert_int_equal(auth_ip_allowed(l, "192.168.8.0"), 0);
	assert_int_equal(auth_ip_allowed(l, "192.168.3.255"), 0);

	l = "[\"0.0.0.0/0\"]";
	assert_int_equal(auth_ip_allowed(l, "1.2.3.4"), 1);
	assert_int_equal(auth_ip_allowed(l, "255.255.255.255"), 1);
	assert_int_equal(auth_ip_allowed(l, "2001:db8::1"), 0);
}

static void
t_ip_v4_exact(void **state)
{
	const char *l = "[\"10.0.0.5\"]";

	assert_int_equal(auth_ip_allowed(l, "10.0.0.5"), 1);
	assert_int_equal(auth_ip_allowed(l, "10.0.0.4"), 0);
	assert_int_equal(auth_ip_allowed(l, "10.0.0.6"), 0);
	assert_int_equal(auth_ip_allowed(l, "10.0.0.50"), 0);
	assert_int_equal(auth_ip_allowed(l, "110.0.0.5"), 0);
	l = "[\"10.0.0.5/32\"]";
	assert_int_equal(auth_ip_allowed(l, "10.0.0.5"), 1);
	assert_int_equal(auth_ip_allowed(l, "10.0.0.4"), 0);
}

static void
t_ip_several(void **state)
{
	const char *l = "[\"10.0.0.5\", \"192.168.0.0/16\", \"2001:db8::/32\"]";

	assert_int_equal(auth_ip_allowed(l, "10.0.0.5"), 1);
	assert_int_equal(auth_ip_allowed(l, "192.168.200.1"), 1);
	assert_int_equal(auth_ip_allowed(l, "2001:db8:1::1"), 1);
	assert_int_equal(auth_ip_allowed(l, "10.0.0.6"), 0);
	assert_int_equal(auth_ip_allowed(l, "172.16.0.1"), 0);
	assert_int_equal(auth_ip_allowed(l, "2001:db9::1"), 0);
}

static void
t_ip_v6(void **state)
{
	const char *l = "[\"2001:db8::/32\"]";

	assert_int_equal(auth_ip_allowed(l, "2001:db8::1"), 1);
	assert_int_equal(auth_ip_allowed(l, "2001:db8:ffff:ffff::1"), 1);
	assert_int_equal(auth_ip_allowed(l, "2001:DB8::abcd"), 1);
	assert_int_equal(auth_ip_allowed(l, "2001:db9::1"), 0);
	assert_int_equal(auth_ip_allowed(l, "2001:db7:ffff::1"), 0);
	assert_int_equal(auth_ip_allowed(l, "::1"), 0);
	assert_int_equal(auth_ip_allowed(l, "127.0.0.1"), 0);

	l = "[\"fe80::1/128\"]";
	assert_int_equal(auth_ip_allowed(l, "fe80::1"), 1);
	assert_int_equal(auth_ip_allowed(l, "fe80:0:0:0:0:0:0:1"), 1);
	assert_int_equal(auth_ip_allowed(l, "fe80::2"), 0);

	l = "[\"::1\"]";
	assert_int_equal(auth_ip_allowed(l, "::1"), 1);
	assert_int_equal(auth_ip_allowed(l, "::2"), 0);
	assert_int_equal(auth_ip_allowed(l, "127.0.0.1"), 0);

	/* A 45-bit prefix: the partial byte is compared bit by bit. */
	l = "[\"2001:db8:8::/45\"]";
	assert_int_equal(auth_ip_allowed(l, "2001:db8:8::1"), 1);
	assert_int_equal(auth_ip_allowed(l, "2001:db8:f::1"), 1);
	assert_int_equal(auth_ip_allowed(l, "2001:db8:7::1"), 0);
	assert_int_equal(auth_ip_allowed(l, "2001:db8:10::1"), 0);
}

static void
t_ip_v4_mapped(void **state)
{
	assert_int_equal(
	    auth_ip_allowed("[\"127.0.0.0/8\"]", "::ffff:127.0.0.1"), 1);
	assert_int_equal(
	    auth_ip_allowed("[\"127.0.0.0/8\"]", "::ffff:10.0.0.1"), 0);
	assert_int_equal(
	    auth_ip_allowed("[\"10.0.0.5\"]", "::ffff:10.0.0.5"), 1);
	/* And the other way round: a mapped entry matches a plain address. */
	assert_int_equal(
	    auth_ip_allowed("[\"::ffff:10.0.0.0/104\"]", "10.1.2.3"), 1);
	assert_int_equal(
	    auth_ip_allowed("[\"::ffff:10.0.0.0/104\"]", "11.1.2.3"), 0);
}

static void
t_ip_null_addr(void **state)
{
	assert_int_equal(auth_ip_allowed("[\"127.0.0.0/8\"]", NULL), 0);
	assert_int_equal(auth_ip_allowed("[\"0.0.0.0/0\"]", NULL), 0);
	assert_int_equal(auth_ip_allowed("[\"::/0\"]", NULL), 0);
}

static void
t_ip_bad_entries(void **state)
{
	/* A non-empty list of unusable entries denies everyone. */
	assert_int_equal(auth_ip_allowed("[\"garbage\"]", "127.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed("[1, 2]", "127.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed("[null]", "127.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed("[\"\"]", "127.0.0.1"), 0);
	/* Bad entries are skipped, good ones still count. */
	assert_int_equal(
	    auth_ip_allowed("[\"garbage\", 7, \"127.0.0.1\"]", "127.0.0.1"), 1);
}

static void
t_ip_garbage_list_denies(void **state)
{
	/*
	 * A column that does not parse as an array fails closed: a damaged
	 * row must never lift a key's restriction.
	 */
	assert_int_equal(auth_ip_allowed("not json", "10.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed("[\"127.0.0.0/8\"", "10.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed("{\"a\": 1}", "10.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed("\"127.0.0.1\"", "10.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed("127.0.0.1", "127.0.0.1"), 0);
	assert_int_equal(auth_ip_allowed("null", "10.0.0.1"), 0);
	assert_int_equal(
	    auth_referrer_allowed("not json", "https://evil.com"), 0);
}

static void
t_referrer_no_list(void **state)
{
	assert_int_equal(auth_referrer_allowed(NULL, "https://evil.com"), 1);
	assert_int_equal(auth_referrer_allowed("", "https://evil.com"), 1);
	assert_int_equal(auth_referrer_allowed("[]", "https://evil.com"), 1);
	assert_int_equal(auth_referrer_allowed("[]", NULL), 1);
}

static void
t_referrer_exact(void **state)
{
	const char *l = "[\"app.example.com\"]";

	assert_int_equal(
	    auth_referrer_allowed(l, "https://app.example.com/x"), 1);
	assert_int_equal(
	    auth_referrer_allowed(l, "http://APP.example.com:8080"), 1);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://app.example.com"), 1);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://app.example.com?q=1"), 1);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://app.example.com#frag"), 1);
	assert_int_equal(auth_referrer_allowed(l, "https://evil.com"), 0);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://app.example.com.evil.com"), 0);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://evil.com/app.example.com"), 0);
	assert_int_equal(auth_referrer_allowed(
			     l, "https://evil.com/?r=https://app.example.com"),
	    0);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://xapp.example.com/"), 0);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://a.app.example.com/"), 0);
	assert_int_equal(auth_referrer_allowed(l, "https://example.com/"), 0);
	/* Userinfo with an '@': the host is after it. */
	assert_int_equal(
	    auth_referrer_allowed(l, "https://app.example.com@evil.com/"), 0);
	/* Pattern case does not matter either. */
	assert_int_equal(auth_referrer_allowed("[\"App.Example.COM\"]",
			     "https://app.example.com/"),
	    1);
}

static void
t_referrer_wildcard(void **state)
{
	const char *l = "[\"*.example.com\"]";

	assert_int_equal(auth_referrer_allowed(l, "https://a.example.com"), 1);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://a.b.example.com/path"), 1);
	assert_int_equal(
	    auth_referrer_allowed(l, "http://A.Example.Com:3000/"), 1);
	assert_int_equal(auth_referrer_allowed(l, "https://example.com"), 0);
	assert_int_equal(auth_referrer_allowed(l, "https://badexample.com"), 0);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://a.example.com.evil.com"), 0);
	assert_int_equal(auth_referrer_allowed(l, "https://.example.com"), 0);
	assert_int_equal(auth_referrer_allowed(l, "https://evil.com"), 0);
}

static void
t_referrer_several(void **state)
{
	const char *l = "[\"a.com\", \"*.b.com\"]";

	assert_int_equal(auth_referrer_allowed(l, "https://a.com/"), 1);
	assert_int_equal(auth_referrer_allowed(l, "https://x.b.com/"), 1);
	assert_int_equal(auth_referrer_allowed(l, "https://b.com/"), 0);
	assert_int_equal(auth_referrer_allowed(l, "https://x.a.com/"), 0);
	/* Non-string entries are skipped. */
	assert_int_equal(
	    auth_referrer_allowed("[1, null, \"a.com\"]", "https://a.com"), 1);
	assert_int_equal(
	    auth_referrer_allowed("[1, null]", "https://a.com"), 0);
}

static void
t_referrer_userinfo(void **state)
{
	const char *l = "[\"app.example.com\"]";

	/*
	 * RFC 3986: the host follows the last '@' of the authority.  Browsers
	 * strip userinfo from Referer and Origin never has one, so this only
	 * matters for hand-made headers, but the parse should still be right.
	 */
	assert_int_equal(
	    auth_referrer_allowed(l, "https://app.example.com:x@evil.com/"), 0);
	assert_int_equal(
	    auth_referrer_allowed(l, "https://user@app.example.com/"), 1);
}

static void
t_referrer_no_url(void **state)
{
	const char *l = "[\"app.example.com\"]";

	assert_int_equal(auth_referrer_allowed(l, NULL), 0);
	assert_int_equal(auth_referrer_allowed(l, ""), 0);
	assert_int_equal(auth_referrer_allowed(l, "https://"), 0);
	assert_int_equal(auth_referrer_allowed(l, "https:///x"), 0);
	assert_int_equal(auth_referrer_allowed("[\"*.example.com\"]", NULL), 0);
}

static void
t_referrer_long_host(void **state)
{
	char url[600], pat[300];

	/* A host longer than the parser's buffer is refused, not cut. */
	memset(pat, 'a', 290);
	memcpy(pat + 290, ".com", 5);
	snprintf(url, sizeof(url), "https://%s/", pat);
	assert_int_equal(auth_referrer_allowed("[\"*.com\"]", url), 0);
}

/*
 * auth_by_key against a stored key row: q_key_auth and the request counts
 * are wrapped (-Wl,--wrap), so no database is needed.
 */
static struct key_auth_row row;
static enum tg_err row_rc;
static enum tg_err touch_rc;
static int touched, touched_n;
static const unsigned char secret_hash[CRYPTO_SHA256_LEN] = {1, 2, 3};

enum tg_err __wrap_q_key_auth(struct db_conn *, struct arena *,
    const unsigned char *, size_t, struct key_auth_row *);
enum tg_err __wrap_q_key_touch(struct db_conn *, struct arena *, int64_t);
enum tg_err __wrap_q_key_touch_n(
    struct db_conn *, struct arena *, int64_t, int64_t);

enum tg_err
__wrap_q_key_auth(struct db_conn *c, struct arena *a, const unsigned char *hash,
    size_t hash_len, struct key_auth_row *k)
{
	(void)c;
	(void)a;
	(void)hash;
	(void)hash_len;
	if (row_rc == TG_OK)
		*k = row;
	return row_rc;
}

enum tg_err
__wrap_q_key_touch(struct db_conn *c, struct arena *a, int64_t key_id)
{
	(void)c;
	(void)a;
	(void)key_id;
	touched++;
	return touch_rc;
}

enum tg_err
__wrap_q_key_touch_n(
    struct db_conn *c, struct arena *a, int64_t key_id, int64_t n)
{
	(void)c;
	(void)a;
	(void)key_id;
	touched_n += (int)n;
	return TG_OK;
}

/* A live, active, uncapped key whose secret hashes to secret_hash. */
static int
key_setup(void **state)
{
	(void)state;
	row = (struct key_auth_row){
	    .id = 7,
	    .pub = "key_abc",
	    .user_id = 3,
	    .user_pub = "usr_def",
	    .role = "user",
	    .status = "active",
	    .active = 1,
	    .perms = "read,write",
	    .prefix = "gw_live_Ab3x",
	    .last4 = "wxyz",
	    .hash = (const char *)secret_hash,
	    .hash_len = CRYPTO_SHA256_LEN,
	};
	row_rc = touch_rc = TG_OK;
	touched = touched_n = 0;
	return 0;
}

static enum tg_err
by_key(struct op *op, struct arena *a, const char *addr, const char *origin,
    unsigned perms, struct principal *p)
{
	*op = (struct op){.arena = a, .addr = addr};
	memset(p, 0, sizeof(*p));
	return auth_by_key(op, NULL, secret_hash, origin, perms, p);
}

static void
t_key_ok(void **state)
{
	struct arena *a = arena_new(4096);
	struct principal p;
	struct op op;

	(void)state;
	assert_int_equal(
	    by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p), TG_OK);
	assert_int_equal(op.fail.err, TG_OK);
	assert_int_equal(p.user_id, 3);
	assert_int_equal(p.key_id, 7);
	assert_str(p.user_pub, "usr_def");
	assert_str(p.key_pub, "key_abc");
	assert_str(p.masked, "gw_live_Ab3x...wxyz");
	assert_int_equal(p.perms, PERM_READ | PERM_WRITE);
	assert_false(p.session);
	/* No cap: counted later in a batch, never one UPDATE per request. */
	assert_int_equal(touched, 0);
	arena_free(a);
}

/* Each refusal: its status, code and message, as the 401/403 shows them. */
static void
expect_fail(struct op *op, enum tg_err rc, enum tg_err err, const char *code,
    const char *msg)
{
	assert_int_equal(rc, err);
	assert_int_equal(op->fail.err, err);
	assert_str(op->fail.code, code);
	assert_null(op->fail.param);
	assert_str(op->fail.message, msg);
	assert_int_equal(op->fail.retry_after, 0);
}

static void
t_key_unknown(void **state)
{
	struct arena *a = arena_new(4096);
	struct principal p;
	struct op op;
	enum tg_err rc;

	(void)state;
	row_rc = TG_ENOENT;
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	expect_fail(&op, rc, TG_EAUTH, "invalid_api_key",
	    "the API key is not valid: check that it was copied whole, or "
	    "create a new one");
	/* A row found by index whose hash differs is no match either. */
	row_rc = TG_OK;
	row.hash_len = 3;
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	assert_int_equal(rc, TG_EAUTH);
	/* The previous secret past its grace end is refused. */
	row.hash = "xxx";
	row.prev = (const char *)secret_hash;
	row.prev_len = CRYPTO_SHA256_LEN;
	row.prev_until_us = 1;
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	assert_int_equal(rc, TG_EAUTH);
	/* ... and accepted inside it. */
	row.prev_until_us = INT64_MAX;
	assert_int_equal(
	    by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p), TG_OK);
	arena_free(a);
}

static void
t_key_refusals(void **state)
{
	struct arena *a = arena_new(4096);
	struct principal p;
	struct op op;
	enum tg_err rc;

	(void)state;
	row.status = "suspended";
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	expect_fail(&op, rc, TG_EPERM, "account_suspended",
	    "the account of this key is suspended");
	key_setup(NULL);
	row.active = 0;
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	expect_fail(&op, rc, TG_EPERM, "key_disabled",
	    "this API key is disabled: enable it with PUT "
	    "/user/api-keys/key_abc or use another key");
	key_setup(NULL);
	row.expires_us = 1;
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	expect_fail(&op, rc, TG_EPERM, "key_expired",
	    "this API key has expired: create or rotate a key");
	key_setup(NULL);
	row.ips = "[\"192.168.0.0/16\"]";
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	expect_fail(&op, rc, TG_EPERM, "ip_not_allowed",
	    "this API key may not be used from 10.1.2.3: add the address to "
	    "its ip_allowlist");
	key_setup(NULL);
	row.refs = "[\"a.example\"]";
	rc = by_key(&op, a, "10.1.2.3", "https://b.example/", PERM_READ, &p);
	expect_fail(&op, rc, TG_EPERM, "referrer_not_allowed",
	    "this API key may not be used from this site: add its host to "
	    "the key's referrer_allowlist");
	assert_int_equal(
	    by_key(&op, a, "10.1.2.3", "https://a.example/x", PERM_READ, &p),
	    TG_OK);
	arena_free(a);
}

static void
t_key_perms(void **state)
{
	struct arena *a = arena_new(4096);
	struct principal p;
	struct op op;
	enum tg_err rc;

	(void)state;
	row.perms = "read";
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_WRITE, &p);
	expect_fail(&op, rc, TG_EPERM, "insufficient_permissions",
	    "this API key lacks the 'write' permission needed here");
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_KEYS, &p);
	expect_fail(&op, rc, TG_EPERM, "insufficient_permissions",
	    "managing API keys needs a dashboard session or a key with the "
	    "'keys' permission; this key lacks it");
	/* 'admin' needs the admin role as well as the permission. */
	row.perms = "read,write,admin";
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_ADMIN, &p);
	expect_fail(&op, rc, TG_EPERM, "insufficient_permissions",
	    "this route needs an admin key of an admin user");
	row.role = "admin";
	assert_int_equal(
	    by_key(&op, a, "10.1.2.3", NULL, PERM_ADMIN, &p), TG_OK);
	arena_free(a);
}

static void
t_key_cap(void **state)
{
	struct arena *a = arena_new(4096);
	struct principal p;
	struct op op;
	enum tg_err rc;

	(void)state;
	row.has_max = 1;
	row.max_requests = 5;
	row.requests_used = 4;
	assert_int_equal(
	    by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p), TG_OK);
	assert_int_equal(touched, 1);
	/* Another worker took the last request first. */
	touch_rc = TG_EPERM;
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	expect_fail(&op, rc, TG_EPERM, "request_cap_reached",
	    "this API key has used all of its requests");
	row.requests_used = 5;
	rc = by_key(&op, a, "10.1.2.3", NULL, PERM_READ, &p);
	expect_fail(&op, rc, TG_EPERM, "request_cap_reached",
	    "this API key has used all of its 5 requests: raise max_requests "
	    "or use another key");
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_mask),
	    cmocka_unit_test(t_cidr_valid),
	    cmocka_unit_test(t_cidr_invalid),
	    cmocka_unit_test(t_ip_no_list),
	    cmocka_unit_test(t_ip_v4_cidr),
	    cmocka_unit_test(t_ip_v4_exact),
	    cmocka_unit_test(t_ip_several),
	    cmocka_unit_test(t_ip_v6),
	    cmocka_unit_test(t_ip_v4_mapped),
	    cmocka_unit_test(t_ip_null_addr),
	    cmocka_unit_test(t_ip_bad_entries),
	    cmocka_unit_test(t_ip_garbage_list_denies),
	    cmocka_unit_test(t_referrer_no_list),
	    cmocka_unit_test(t_referrer_exact),
	    cmocka_unit_test(t_referrer_wildcard),
	    cmocka_unit_test(t_referrer_several),
	    cmocka_unit_test(t_referrer_userinfo),
	    cmocka_unit_test(t_referrer_no_url),
	    cmocka_unit_test(t_referrer_long_host),
	    cmocka_unit_test_setup(t_key_ok, key_setup),
	    cmocka_unit_test_setup(t_key_unknown, key_setup),
	    cmocka_unit_test_setup(t_key_refusals, key_setup),
	    cmocka_unit_test_setup(t_key_perms, key_setup),
	    cmocka_unit_test_setup(t_key_cap, key_setup),
	};

	test_init();
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
