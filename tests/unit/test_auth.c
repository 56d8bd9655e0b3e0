/* test_auth.c: unit tests for key masking and the IP/CIDR and referrer allowlists */
#include "test_common.h"

#include "domain/auth.h"

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
	};

	test_init();
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
