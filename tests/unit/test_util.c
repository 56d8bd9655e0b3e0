/* test_util.c: unit tests for ids, time, number parsing and percent-decoding */
#include "test_common.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"

static void
t_random(void **state)
{
	unsigned char a[32], b[32];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(util_random(a, sizeof(a)), 0);
	assert_int_equal(util_random(b, sizeof(b)), 0);
	assert_true(memcmp(a, b, sizeof(a)) != 0);
	assert_int_equal(util_random(a, 0), 0);
}

/*
 * Ids come from a per-thread pool: many draws in a row never repeat, and a
 * child of fork must not hand out the ids its parent hands out next (the
 * pool it inherits is refilled).
 */
static void
t_random_pool_and_fork(void **state)
{
	enum { N = 200 };
	unsigned char ids[N][16], parent[16], child[16];
	int fds[2], i, j, st;
	pid_t pid;

	for (i = 0; i < N; i++) {
		assert_int_equal(util_random(ids[i], sizeof(ids[i])), 0);
		for (j = 0; j < i; j++)
			assert_true(memcmp(ids[i], ids[j], 16) != 0);
	}
	(void)util_random(ids[0], 8); /* leave the pool part-used */
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		unsigned char c[16];

		_exit(util_random(c, sizeof(c)) == 0 &&
			    write(fds[1], c, sizeof(c)) == (ssize_t)sizeof(c)
			? 0
			: 1);
	}
	assert_true(pid > 0);
	assert_int_equal(util_random(parent, sizeof(parent)), 0);
	assert_int_equal(read(fds[0], child, sizeof(child)), sizeof(child));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(memcmp(parent, child, sizeof(parent)) != 0);
	close(fds[0]);
	close(fds[1]);
}

static void
t_request_id_format(void **state)
{
	char id[33];
	int i;

	for (i = 0; i < 100; i++) {
		memset(id, 'X', sizeof(id));
		assert_int_equal(util_request_id(id), 0);
		if (!test_is_hex32(id))
			fail_msg("not 32 lowercase hex: %.33s", id);
	}
}

static void
t_request_id_differs(void **state)
{
	char a[33], b[33];

	assert_int_equal(util_request_id(a), 0);
	assert_int_equal(util_request_id(b), 0);
	assert_string_not_equal(a, b);
}

/*
 * Ids that key index rows (request ids in usage_keys, hold and carve ids in
 * the ledger's dedupe keys) start with the time, so each day's rows go in
 * at the end of the index instead of at random pages across all of it:
 * ids taken a millisecond apart sort in the order taken, and the rest of
 * each id is random.
 */
static void
t_ids_time_ordered(void **state)
{
	char r1[33], r2[33];
	unsigned char h1[16], h2[16], h3[16];
	struct timespec ms = {0, 2 * 1000 * 1000};
	struct timespec now;
	uint64_t t = 0;
	int i;

	(void)state;
	assert_int_equal(util_request_id(r1), 0);
	assert_int_equal(util_ordered_id(h1, sizeof(h1)), 0);
	nanosleep(&ms, NULL);
	assert_int_equal(util_request_id(r2), 0);
	assert_int_equal(util_ordered_id(h2, sizeof(h2)), 0);
	assert_int_equal(util_ordered_id(h3, sizeof(h3)), 0);
	assert_true(strcmp(r1, r2) < 0);
	assert_true(memcmp(h1, h2, sizeof(h1)) < 0);
	/* The same millisecond: the same prefix, different random tails. */
	assert_memory_not_equal(h2 + 6, h3 + 6, sizeof(h2) - 6);
	/* The prefix is the wall clock's milliseconds, big-endian. */
	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < 6; i++)
		t = t << 8 | h3[i];
	assert_true(t <= (uint64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	assert_true(t + 5000 > (uint64_t)now.tv_sec * 1000);
}

/*
 * A process killed while its parent is gone too stays a zombie until init
 * reaps it, and kill(pid, 0) still succeeds: the leases, carves and slots it
 * owned must count as a dead process's all the same (t_state_dir: a crashed
 * node's lease was never adopted while its worker was an unreaped zombie).
 */
static void
t_pid_alive_zombie(void **state)
{
	struct timespec ms = {0, 20 * 1000 * 1000};
	pid_t child;
	int st, i;

	(void)state;
	assert_true(util_pid_alive(getpid()));
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	/* Not reaped: a zombie once it has exited. */
	for (i = 0; i < 100 && util_pid_alive(child); i++)
		nanosleep(&ms, NULL);
	assert_false(util_pid_alive(child));
	assert_int_equal(kill(child, 0), 0); /* what the old check saw */
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_false(util_pid_alive(child));
	assert_false(util_pid_alive(0));
	assert_false(util_pid_alive(-1));
}

static void
t_request_id_ok(void **state)
{
	char s[200];

	assert_true(util_request_id_ok("abc-123"));
	assert_true(util_request_id_ok("a.b_c:d"));
	assert_true(util_request_id_ok("A"));
	assert_true(util_request_id_ok("ABCxyz0189.-_:"));
	memset(s, 'a', 128);
	s[128] = '\0';
	assert_true(util_request_id_ok(s));

	assert_false(util_request_id_ok(""));
	s[128] = 'a';
	s[129] = '\0';
	assert_false(util_request_id_ok(s));
	assert_false(util_request_id_ok("abc 123"));
	assert_false(util_request_id_ok(" abc"));
	assert_false(util_request_id_ok("abc\n"));
	assert_false(util_request_id_ok("a\rb"));
	assert_false(util_request_id_ok("a\tb"));
	assert_false(util_request_id_ok("a\x01"));
	assert_false(util_request_id_ok("a\x7f"));
	assert_false(util_request_id_ok("<script>"));
	assert_false(util_request_id_ok("a<b"));
	assert_false(util_request_id_ok("a\"b"));
	assert_false(util_request_id_ok("a/b"));
	assert_false(util_request_id_ok("caf\xc3\xa9"));
}

static void
t_now_monotonic(void **state)
{
	double a, b;

	a = util_now();
	usleep(2000);
	b = util_now();
	assert_true(a > 0);
	assert_true(b - a >= 0.0015);
	assert_true(b - a < 5.0);
}

static void
t_iso8601(void **state)
{
	char s[21];
	int i;

	memset(s, 'X', sizeof(s));
	util_iso8601(s);
	assert_int_equal(s[20], '\0');
	assert_uint_equal(strlen(s), 20);
	for (i = 0; i < 20; i++) {
		switch (i) {
		case 4:
		case 7:
			assert_int_equal(s[i], '-');
			break;
		case 10:
			assert_int_equal(s[i], 'T');
			break;
		case 13:
		case 16:
			assert_int_equal(s[i], ':');
			break;
		case 19:
			assert_int_equal(s[i], 'Z');
			break;
		default:
			assert_true(s[i] >= '0' && s[i] <= '9');
		}
	}
	assert_true(strncmp(s, "20", 2) == 0);
}

static void
t_parse_size(void **state)
{
	uint64_t v;

	v = 1;
	assert_int_equal(util_parse_size("8M", &v), 0);
	assert_uint_equal(v, 8388608);
	assert_int_equal(util_parse_size("64K", &v), 0);
	assert_uint_equal(v, 65536);
	assert_int_equal(util_parse_size("1G", &v), 0);
	assert_uint_equal(v, 1073741824);
	assert_int_equal(util_parse_size("12", &v), 0);
	assert_uint_equal(v, 12);
	assert_int_equal(util_parse_size("0", &v), 0);
	assert_uint_equal(v, 0);
	assert_int_equal(util_parse_size("16777215G", &v), 0);
	assert_uint_equal(v, (uint64_t)16777215 << 30);
}

static void
t_parse_size_bad(void **state)
{
	uint64_t v = 77;

	assert_int_equal(util_parse_size("8X", &v), -1);
	assert_int_equal(util_parse_size("-1", &v), -1);
	assert_int_equal(util_parse_size("", &v), -1);
	assert_int_equal(util_parse_size("K", &v), -1);
	assert_int_equal(util_parse_size("8MB", &v), -1);
	assert_int_equal(util_parse_size("8M8", &v), -1);
	assert_int_equal(util_parse_size("1.5M", &v), -1);
	assert_int_equal(util_parse_size("0x10", &v), -1);
	/* Overflow, with and without a suffix. */
	assert_int_equal(util_parse_size("18446744073709551616", &v), -1);
	assert_int_equal(util_parse_size("99999999999999999999999", &v), -1);
	assert_int_equal(util_parse_size("17179869184G", &v), -1);
	assert_int_equal(util_parse_size("18014398509481984K", &v), -1);
}

static void
t_parse_u64(void **state)
{
	uint64_t v = 0;

	assert_int_equal(util_parse_u64("42", 0, 100, &v), 0);
	assert_uint_equal(v, 42);
	assert_int_equal(util_parse_u64("0", 0, 100, &v), 0);
	assert_uint_equal(v, 0);
	assert_int_equal(util_parse_u64("100", 0, 100, &v), 0);
	assert_uint_equal(v, 100);
	assert_int_equal(util_parse_u64("1", 1, 1, &v), 0);
	assert_uint_equal(v, 1);
	assert_int_equal(
	    util_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void
t_parse_u64_bad(void **state)
{
	uint64_t v = 0;

	assert_int_equal(util_parse_u64("101", 0, 100, &v), -1);
	assert_int_equal(util_parse_u64("0", 1, 100, &v), -1);
	assert_int_equal(util_parse_u64("", 0, 100, &v), -1);
	assert_int_equal(util_parse_u64("12a", 0, 100, &v), -1);
	assert_int_equal(util_parse_u64("a12", 0, 100, &v), -1);
	assert_int_equal(util_parse_u64("-1", 0, UINT64_MAX, &v), -1);
	assert_int_equal(util_parse_u64("1.0", 0, 100, &v), -1);
	assert_int_equal(
	    util_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -1);
	assert_int_equal(
	    util_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -1);
}

static int
decode(const char *src, char *dst)
{
	return util_pct_decode(src, strlen(src), dst);
}

static void
t_pct_decode(void **state)
{
	char out[64];

	assert_int_equal(decode("a%20b", out), 0);
	assert_str(out, "a b");
	assert_int_equal(decode("%41%42", out), 0);
	assert_str(out, "AB");
	assert_int_equal(decode("%6c%6C", out), 0);
	assert_str(out, "ll");
	assert_int_equal(decode("plain/path", out), 0);
	assert_str(out, "plain/path");
	assert_int_equal(decode("", out), 0);
	assert_str(out, "");
	assert_int_equal(decode("%2525", out), 0);
	assert_str(out, "%25"); /* one level only */
	assert_int_equal(decode("%c3%a9", out), 0);
	assert_str(out, "\xc3\xa9");
}

static void
t_pct_decode_uses_n(void **state)
{
	char out[64];

	memset(out, 'X', sizeof(out));
	assert_int_equal(util_pct_decode("abc%41def", 6, out), 0);
	assert_str(out, "abcA");
	/* A cut-off escape is a bad escape. */
	assert_int_equal(util_pct_decode("abc%41", 5, out), -1);
}

static void
t_pct_decode_bad(void **state)
{
	char out[64];

	assert_int_equal(decode("%zz", out), -1);
	assert_int_equal(decode("%4", out), -1);
	assert_int_equal(decode("%", out), -1);
	assert_int_equal(decode("a%g1", out), -1);
	assert_int_equal(decode("%00", out), -1);
	assert_int_equal(decode("a%00b", out), -1);
	assert_int_equal(util_pct_decode("a\0b", 3, out), -1);
}

static void
t_strncaseeq(void **state)
{
	assert_true(util_strncaseeq("Content-Type", "content-type", 12));
	assert_true(util_strncaseeq("ABC", "abd", 2));
	assert_false(util_strncaseeq("ABC", "abd", 3));
	assert_false(util_strncaseeq("a", "b", 1));
	assert_true(util_strncaseeq("x", "y", 0));
}

static void
t_http_reason(void **state)
{
	const char *r;

	assert_str(util_http_reason(200), "OK");
	assert_str(util_http_reason(400), "Bad Request");
	assert_str(util_http_reason(401), "Unauthorized");
	assert_str(util_http_reason(402), "Payment Required");
	assert_str(util_http_reason(403), "Forbidden");
	assert_str(util_http_reason(404), "Not Found");
	assert_str(util_http_reason(405), "Method Not Allowed");
	assert_str(util_http_reason(409), "Conflict");
	r = util_http_reason(413);
	assert_non_null(r);
	if (strcmp(r, "Content Too Large") != 0 &&
	    strcmp(r, "Payload Too Large") != 0)
		fail_msg("413 reason: %s", r);
	assert_str(util_http_reason(415), "Unsupported Media Type");
	assert_str(util_http_reason(429), "Too Many Requests");
	assert_str(util_http_reason(500), "Internal Server Error");
	assert_str(util_http_reason(502), "Bad Gateway");
	assert_str(util_http_reason(503), "Service Unavailable");
	assert_str(util_http_reason(504), "Gateway Timeout");
	/* Unknown codes still get some text for the status line. */
	assert_non_null(util_http_reason(799));
	assert_non_null(util_http_reason(0));
}

/* A provider's error text is cut for storage: never inside a character. */
static void
t_utf8_cut(void **state)
{
	/* "é" is 2 bytes, "€" 3, "😀" 4. */
	const char *s = "ab\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";

	(void)state;
	assert_int_equal(util_utf8_cut(s, 100), strlen(s));
	assert_int_equal(util_utf8_cut(s, 2), 2);
	assert_int_equal(util_utf8_cut(s, 3), 2); /* inside é */
	assert_int_equal(util_utf8_cut(s, 4), 4);
	assert_int_equal(util_utf8_cut(s, 5), 4); /* inside € */
	assert_int_equal(util_utf8_cut(s, 6), 4);
	assert_int_equal(util_utf8_cut(s, 7), 7);
	assert_int_equal(util_utf8_cut(s, 8), 7); /* inside 😀 */
	assert_int_equal(util_utf8_cut(s, 10), 7);
	assert_int_equal(util_utf8_cut(s, 11), 11);
	assert_int_equal(util_utf8_cut(s, 0), 0);
	assert_int_equal(util_utf8_cut("", 5), 0);
	/* 300 bytes of 2-byte characters cut at 299: 298, whole. */
	{
		char b[401];
		size_t i;

		for (i = 0; i < 400; i += 2)
			memcpy(b + i, "\xc3\xa9", 2);
		b[400] = '\0';
		assert_int_equal(util_utf8_cut(b, 299), 298);
		assert_int_equal(util_utf8_cut(b, 300), 300);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_random),
	    cmocka_unit_test(t_random_pool_and_fork),
	    cmocka_unit_test(t_request_id_format),
	    cmocka_unit_test(t_request_id_differs),
	    cmocka_unit_test(t_request_id_ok),
	    cmocka_unit_test(t_ids_time_ordered),
	    cmocka_unit_test(t_pid_alive_zombie),
	    cmocka_unit_test(t_now_monotonic),
	    cmocka_unit_test(t_iso8601),
	    cmocka_unit_test(t_parse_size),
	    cmocka_unit_test(t_parse_size_bad),
	    cmocka_unit_test(t_parse_u64),
	    cmocka_unit_test(t_parse_u64_bad),
	    cmocka_unit_test(t_pct_decode),
	    cmocka_unit_test(t_pct_decode_uses_n),
	    cmocka_unit_test(t_pct_decode_bad),
	    cmocka_unit_test(t_strncaseeq),
	    cmocka_unit_test(t_http_reason),
	    cmocka_unit_test(t_utf8_cut),
	};

	test_init();
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
