/* test_rate.c: token buckets and in-flight caps, in one process and across forked ones */
#include "test_common.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain/limits.h"

static struct rate_subject
subject(char scope, int64_t id, const char *limits)
{
	struct rate_subject s;
	char err[128];

	s.key = rate_key(scope, id);
	s.what = scope == 'u' ? "user" : "API key";
	if (rate_set_parse(limits, &s.lim, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return s;
}

static void
t_parse(void **state)
{
	struct rate_set s;
	char err[128];

	(void)state;
	assert_int_equal(rate_set_parse("", &s, err, sizeof(err)), 0);
	assert_int_equal(s.v[RL_RPM], -1);
	assert_int_equal(
	    rate_set_parse("requests_per_minute=60, tpd=1000 concurrent=3", &s,
		err, sizeof(err)),
	    0);
	assert_int_equal(s.v[RL_RPM], 60);
	assert_int_equal(s.v[RL_TPD], 1000);
	assert_int_equal(s.v[RL_CONC], 3);
	assert_int_equal(s.v[RL_RPH], -1);
	assert_int_equal(rate_set_parse("rpm=-1", &s, err, sizeof(err)), -1);
	assert_int_equal(rate_set_parse("bogus=1", &s, err, sizeof(err)), -1);
	assert_int_equal(rate_set_parse("rpm", &s, err, sizeof(err)), -1);
	assert_int_equal(rate_set_parse("rpm=1x", &s, err, sizeof(err)), -1);
}

static void
t_burst_exact(void **state)
{
	struct rate *r = rate_open(NULL);
	struct rate_subject s[2] = {
	    subject('u', 1, ""), subject('k', 1, "rpm=5")};
	struct rate_ticket tk;
	struct rate_verdict v;
	int i, ok = 0;

	(void)state;
	for (i = 0; i < 8; i++) {
		rate_admit(r, s, 2, 10, &tk, &v);
		if (v.ok) {
			ok++;
			assert_int_equal(v.req_limit, 5);
			assert_int_equal(v.req_remaining, 5 - ok);
			rate_settle(r, &tk, 10);
		} else {
			assert_int_equal(v.hit, RL_RPM);
			assert_string_equal(v.what, "API key");
			assert_int_equal(v.hit_limit, 5);
			/* one request earned back at 5/min: 12 s */
			assert_true(v.retry_after >= 11 && v.retry_after <= 13);
		}
	}
	assert_int_equal(ok, 5);
	rate_close(r);
}

static void
t_refusal_changes_nothing(void **state)
{
	struct rate *r = rate_open(NULL);
	struct rate_subject s[2] = {
	    subject('u', 2, "rpm=3"), subject('k', 2, "tpm=100")};
	struct rate_set used;
	struct rate_ticket tk;
	struct rate_verdict v;

	(void)state;
	/* The key's token limit refuses: the user's request count is untouched. */
	rate_admit(r, s, 2, 500, &tk, &v);
	assert_false(v.ok);
	assert_int_equal(v.hit, RL_TPM);
	rate_usage(r, s[0].key, &s[0].lim, &used);
	assert_int_equal(used.v[RL_RPM], 0);
	assert_int_equal(used.v[RL_CONC], 0);
	/* A hold of 80 fits; settling at 30 keeps 30. */
	rate_admit(r, s, 2, 80, &tk, &v);
	assert_true(v.ok);
	rate_usage(r, s[1].key, &s[1].lim, &used);
	assert_int_equal(used.v[RL_TPM], 80);
	assert_int_equal(used.v[RL_CONC], 1);
	rate_settle(r, &tk, 30);
	rate_usage(r, s[1].key, &s[1].lim, &used);
	assert_true(used.v[RL_TPM] >= 29 && used.v[RL_TPM] <= 30);
	assert_int_equal(used.v[RL_CONC], 0);
	/* Settling twice gives nothing back twice. */
	rate_settle(r, &tk, 0);
	rate_usage(r, s[1].key, &s[1].lim, &used);
	assert_true(used.v[RL_TPM] >= 29);
	rate_close(r);
}

static void
t_concurrent(void **state)
{
	struct rate *r = rate_open(NULL);
	struct rate_subject s = subject('k', 3, "concurrent=2");
	struct rate_ticket a, b, c;
	struct rate_verdict v;

	(void)state;
	rate_admit(r, &s, 1, 1, &a, &v);
	assert_true(v.ok);
	rate_admit(r, &s, 1, 1, &b, &v);
	assert_true(v.ok);
	rate_admit(r, &s, 1, 1, &c, &v);
	assert_false(v.ok);
	assert_int_equal(v.hit, RL_CONC);
	rate_settle(r, &a, 1);
	rate_admit(r, &s, 1, 1, &c, &v);
	assert_true(v.ok);
	rate_settle(r, &b, 1);
	rate_settle(r, &c, 1);
	rate_close(r);
}

/* Forked processes share one file: together they admit the limit, not limit x n. */
static void
t_shared_across_processes(void **state)
{
	char path[] = "/tmp/test_rate.XXXXXX";
	int fd = mkstemp(path), i, st, total = 0;
	pid_t pids[4];

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	for (i = 0; i < 4; i++) {
		if ((pids[i] = fork()) == 0) {
			struct rate *r = rate_open(path);
			struct rate_subject s = subject('k', 4, "rpm=10");
			struct rate_ticket tk;
			struct rate_verdict v;
			int j, ok = 0;

			for (j = 0; j < 10; j++) {
				rate_admit(r, &s, 1, 0, &tk, &v);
				if (v.ok) {
					ok++;
					rate_settle(r, &tk, 0);
				}
			}
			rate_close(r);
			_exit(ok);
		}
	}
	for (i = 0; i < 4; i++) {
		waitpid(pids[i], &st, 0);
		total += WEXITSTATUS(st);
	}
	assert_int_equal(total, 10);
	/* A process that dies holding an in-flight slot gives it back. */
	if ((pids[0] = fork()) == 0) {
		struct rate *r = rate_open(path);
		struct rate_subject s = subject('k', 5, "concurrent=1");
		struct rate_ticket tk;
		struct rate_verdict v;

		rate_admit(r, &s, 1, 0, &tk, &v);
		_exit(v.ok ? 0 : 1); /* no settle: as kill -9 would */
	}
	waitpid(pids[0], &st, 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	{
		struct rate *r = rate_open(path);
		struct rate_subject s = subject('k', 5, "concurrent=1");
		struct rate_ticket tk;
		struct rate_verdict v;

		assert_true(rate_shared(r));
		rate_admit(r, &s, 1, 0, &tk, &v);
		assert_true(v.ok);
		rate_settle(r, &tk, 0);
		rate_close(r);
	}
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_parse),
	    cmocka_unit_test(t_burst_exact),
	    cmocka_unit_test(t_refusal_changes_nothing),
	    cmocka_unit_test(t_concurrent),
	    cmocka_unit_test(t_shared_across_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
