/* test_metrics.c: unit tests for the metrics file and its text exposition */
#include "test_common.h"

#include <sys/wait.h>

#include "core/buf.h"
#include "domain/inflight.h"
#include "domain/metrics.h"

static char dir[] = "/tmp/tg-metrics-XXXXXX";

static const char *const routes[] = {"/v1/chat/completions", "/health"};

/* The value of the line that starts with prefix (followed by a space). */
static double
value(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static char *
scrape(void)
{
	struct metrics_snap *s = calloc(1, sizeof(*s));
	struct buf b;

	assert_non_null(s);
	metrics_snapshot(s);
	buf_init(&b, 1 << 22);
	assert_int_equal(metrics_write(&b, s, routes, 2, "1.2\"x"), 0);
	free(s);
	return b.data;
}

static void
t_escape(void **state)
{
	char out[64];

	metrics_escape(out, sizeof(out), "a\\b\"c\nd");
	assert_str(out, "a\\\\b\\\"c\\nd");
	metrics_escape(out, 4, "abcdef"); /* cut, still terminated */
	assert_true(strlen(out) < 4);
}

static void
t_requests_and_labels(void **state)
{
	char *t;

	metrics_request(0, 200, "gpt-4o");
	metrics_request(0, 200, "gpt-4o");
	metrics_request(0, 402, "gpt-4o");
	metrics_request(1, 200, NULL);
	metrics_request(-1, 404, NULL);
	metrics_request(0, 200, "we\"ird\\model\n");
	t = scrape();
	assert_true(value(t,
			"tollgate_requests_total{route=\"/v1/chat/"
			"completions\",status=\"200\",model=\"gpt-4o\"}") == 2);
	assert_true(value(t,
			"tollgate_requests_total{route=\"/v1/chat/"
			"completions\",status=\"402\",model=\"gpt-4o\"}") == 1);
	assert_true(value(t,
			"tollgate_requests_total{route=\"/health\","
			"status=\"200\",model=\"\"}") == 1);
	assert_true(value(t,
			"tollgate_requests_total{route=\"unmatched\","
			"status=\"404\",model=\"\"}") == 1);
	assert_true(value(t,
			"tollgate_requests_total{route=\"/v1/chat/"
			"completions\",status=\"200\",model=\"we\\\"ird\\\\"
			"model\\n\"}") == 1);
	assert_non_null(strstr(t, "# TYPE tollgate_requests_total counter\n"));
	assert_non_null(
	    strstr(t, "tollgate_build_info{version=\"1.2\\\"x\"} 1\n"));
	assert_true(value(t, "tollgate_up") == 1);
	free(t);
}

static void
t_models_overflow(void **state)
{
	char name[32], *t;
	int i;

	for (i = 0; i < METRICS_MODELS + 10; i++) {
		snprintf(name, sizeof(name), "m-%d", i);
		metrics_request(1, 201, name);
	}
	t = scrape();
	/* Two models were named before: those past 64 in all are "other". */
	assert_true(value(t,
			"tollgate_requests_total{route=\"/health\","
			"status=\"201\",model=\"other\"}") == 12);
	assert_true(value(t,
			"tollgate_requests_total{route=\"/health\","
			"status=\"201\",model=\"m-61\"}") == 1);
	assert_true(value(t,
			"tollgate_requests_total{route=\"/health\","
			"status=\"201\",model=\"m-62\"}") == -1);
	assert_true(value(t,
			"tollgate_requests_total{route=\"/health\","
			"status=\"201\",model=\"m-0\"}") == 1);
	free(t);
}

static void
t_histogram_cumulative(void **state)
{
	char *t;
	double prev = 0, v;
	char line[128];
	int i;

	metrics_upstream("openai", MO_OK, 0.003);   /* first bucket */
	metrics_upstream("openai", MO_OK, 0.2);	    /* le 0.25 */
	metrics_upstream("openai", MO_TIMEOUT, 61); /* +Inf only */
	metrics_upstream("openai", MO_RATE_LIMITED, 1.0);
	t = scrape();
	for (i = 0; i < METRICS_BUCKETS; i++) {
		snprintf(line, sizeof(line),
		    "tollgate_upstream_latency_seconds_bucket{provider="
		    "\"openai\",le=\"%g\"}",
		    metrics_bounds[i]);
		v = value(t, line);
		assert_true(v >= prev);
		prev = v;
	}
	assert_true(value(t,
			"tollgate_upstream_latency_seconds_bucket{"
			"provider=\"openai\",le=\"0.005\"}") == 1);
	assert_true(value(t,
			"tollgate_upstream_latency_seconds_bucket{"
			"provider=\"openai\",le=\"0.25\"}") == 2);
	assert_true(value(t,
			"tollgate_upstream_latency_seconds_bucket{"
			"provider=\"openai\",le=\"1\"}") == 3);
	assert_true(value(t,
			"tollgate_upstream_latency_seconds_bucket{"
			"provider=\"openai\",le=\"60\"}") == 3);
	assert_true(value(t,
			"tollgate_upstream_latency_seconds_bucket{"
			"provider=\"openai\",le=\"+Inf\"}") == 4);
	assert_true(value(t,
			"tollgate_upstream_latency_seconds_count{"
			"provider=\"openai\"}") == 4);
	v = value(t,
	    "tollgate_upstream_latency_seconds_sum{provider="
	    "\"openai\"}");
	assert_true(v > 62.2 && v < 62.21);
	assert_true(value(t,
			"tollgate_upstream_requests_total{provider="
			"\"openai\",outcome=\"ok\"}") == 2);
	assert_true(value(t,
			"tollgate_upstream_requests_total{provider="
			"\"openai\",outcome=\"timeout\"}") == 1);
	assert_true(value(t,
			"tollgate_upstream_requests_total{provider="
			"\"openai\",outcome=\"client_gone\"}") == 0);
	free(t);
}

static void
t_money_and_gauges(void **state)
{
	int64_t tok[4] = {10, 20, 3, 4};
	struct metrics_master m = {12345, 1.0, 2, 3, 12, 0};
	struct inflight_rec rec;
	int slot;
	char *t;

	metrics_tokens(tok, 1500);
	metrics_tokens(tok, 500);
	metrics_ttft(0.07);
	metrics_rate_limited();
	metrics_master_set(&m);
	metrics_restart();
	metrics_busy(1);
	metrics_node(5, 1, 4096, 2);
	memset(&rec, 0, sizeof(rec));
	slot = inflight_begin(dir, &rec);
	assert_true(slot >= 0);
	t = scrape();
	inflight_end(dir, slot);
	assert_true(value(t, "tollgate_tokens_total{kind=\"prompt\"}") == 20);
	assert_true(value(t, "tollgate_tokens_total{kind=\"reasoning\"}") == 8);
	assert_true(value(t, "tollgate_charged_nano_usd_total") == 2000);
	assert_true(value(t, "tollgate_ttft_seconds_bucket{le=\"0.05\"}") == 0);
	assert_true(value(t, "tollgate_ttft_seconds_bucket{le=\"0.1\"}") == 1);
	assert_true(value(t, "tollgate_ttft_seconds_count") == 1);
	assert_true(value(t, "tollgate_rate_limited_total") == 1);
	assert_true(value(t, "tollgate_workers") == 3);
	assert_true(value(t, "tollgate_slots") == 12);
	assert_true(value(t, "tollgate_slots_busy") == 1);
	assert_true(value(t, "tollgate_worker_restarts_total") == 1);
	/* holds_open is the node's requests in flight, not the figure set. */
	assert_true(value(t, "tollgate_holds_open") == 1);
	assert_true(value(t, "tollgate_holds_past_ttl") == 1);
	assert_true(value(t, "tollgate_journal_backlog_bytes") == 4096);
	assert_true(value(t, "tollgate_leases_open") == 2);
	/* Every sample has a TYPE line before it. */
	assert_non_null(strstr(t, "# TYPE tollgate_ttft_seconds histogram\n"));
	assert_non_null(strstr(t, "# HELP tollgate_slots_busy "));
	metrics_busy(-1);
	free(t);
}

/* A forked process adds to the same file: the figures are the node's. */
static void
t_shared_between_processes(void **state)
{
	pid_t pid;
	int st;
	char *t;

	if ((pid = fork()) == 0) {
		metrics_request(1, 503, NULL);
		metrics_request(1, 503, NULL);
		_exit(0);
	}
	assert_true(pid > 0);
	waitpid(pid, &st, 0);
	metrics_request(1, 503, NULL);
	t = scrape();
	assert_true(value(t,
			"tollgate_requests_total{route=\"/health\","
			"status=\"503\",model=\"\"}") == 3);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_escape),
	    cmocka_unit_test(t_requests_and_labels),
	    cmocka_unit_test(t_models_overflow),
	    cmocka_unit_test(t_histogram_cumulative),
	    cmocka_unit_test(t_money_and_gauges),
	    cmocka_unit_test(t_shared_between_processes),
	};
	char path[256];
	int rc;

	test_init();
	if (mkdtemp(dir) == NULL || metrics_open(dir) != 0)
		return 1;
	rc = cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
	snprintf(path, sizeof(path), "%s/tollgate-metrics.shm", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/tollgate-inflight.shm", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}
