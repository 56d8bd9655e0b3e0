/* test_relay.c: relay_run's failover by its policy table, the provider and the key pool faked */
#include "test_common.h"

#include "core/buf.h"
#include "domain/keypool.h"
#include "http/chat.h"
#include "core/util.h"
#include "io/http_client.h"

/* --- fakes (-Wl,--wrap) --------------------------------------------------------------- */

/* One scripted upstream answer per http_perform. */
struct scripted {
	enum http_err err;
	long status;
	int sent;
	const char *body;
	const char *retry_after;
	int conn_died;
};

static struct scripted script[16];
static size_t nscript, calls;
static char called[16][64]; /* the URL of each call */
static int64_t next_key;
static const char *keyless; /* a provider whose pool has no key */

enum tg_err __wrap_chat_db(struct call *);
void __wrap_chat_db_release(struct call *);
enum tg_err __wrap_upstream_key_pick(struct db_conn *, struct arena *,
    struct pool *, const unsigned char *, const struct deployment *, int64_t *,
    char *, double *, double *);
int __wrap_http_perform(
    struct http_client *, const struct http_request *, struct http_result *);
void __wrap_keypool_report(
    struct pool *, int64_t, enum pool_outcome, int64_t, const char *);
void __wrap_keypool_latency_note(
    struct pool *, const char *, const char *, double);
enum tg_err __wrap_upstream_key_dead(
    struct db_conn *, struct arena *, int64_t, const char *);

enum tg_err
__wrap_chat_db(struct call *x)
{
	(void)x;
	return TG_OK;
}

void
__wrap_chat_db_release(struct call *x)
{
	(void)x;
}

enum tg_err
__wrap_upstream_key_pick(struct db_conn *c, struct arena *a, struct pool *p,
    const unsigned char *master, const struct deployment *rt, int64_t *key_id,
    char *secret, double *wait, double *paced)
{
	(void)c, (void)a, (void)p, (void)master;
	*wait = *paced = 0;
	if (keyless != NULL && strcmp(rt->provider_id, keyless) == 0)
		return TG_ENOENT;
	*key_id = ++next_key;
	strcpy(secret, "sk-test");
	*wait = *paced = 0;
	return TG_OK;
}

int
__wrap_http_perform(struct http_client *c, const struct http_request *req,
    struct http_result *res)
{
	const struct scripted *s;

	(void)c;
	assert_true(calls < nscript);
	s = &script[calls];
	snprintf(called[calls++], sizeof(called[0]), "%s", req->url);
	memset(res, 0, sizeof(*res));
	res->err = s->err;
	res->status = s->status;
	res->sent = s->sent;
	res->conn_died = s->conn_died;
	if (s->retry_after != NULL)
		snprintf(res->retry_after, sizeof(res->retry_after), "%s",
		    s->retry_after);
	if (s->body != NULL) {
		res->body = strdup(s->body);
		res->body_len = strlen(s->body);
	}
	return s->err == HTTP_OK ? 0 : -1;
}

void
__wrap_keypool_report(struct pool *p, int64_t key, enum pool_outcome o,
    int64_t retry_after, const char *err)
{
	(void)p, (void)key, (void)o, (void)retry_after, (void)err;
}

void
__wrap_keypool_latency_note(
    struct pool *p, const char *model, const char *provider, double ms)
{
	(void)p, (void)model, (void)provider, (void)ms;
}

enum tg_err
__wrap_upstream_key_dead(
    struct db_conn *c, struct arena *a, int64_t key, const char *why)
{
	(void)c, (void)a, (void)key, (void)why;
	return TG_OK;
}

/* --- the call -------------------------------------------------------------------------- */

struct fixture {
	struct conf *conf;
	struct tg_ctx ctx;
	struct tg_req r;
	struct call x;
};

static void
setup_call(struct fixture *f, size_t nroutes)
{
	static const char *const ids[] = {"a", "b", "c"};
	size_t i;

	memset(f, 0, sizeof(*f));
	f->conf = conf_defaults();
	f->ctx.conf = f->conf;
	f->ctx.have_master = 1;
	f->r.arena = arena_new(0);
	f->r.ctx = &f->ctx;
	snprintf(f->r.request_id, sizeof(f->r.request_id), "req1");
	f->r.json = json_pack("{s:s, s:[{s:s, s:s}]}", "model", "test/m",
	    "messages", "role", "user", "content", "hi");
	f->x.r = &f->r;
	f->x.ep = EP_CHAT;
	f->x.model = "test/m";
	f->x.t0 = util_now();
	for (i = 0; i < nroutes; i++) {
		struct deployment *d = &f->x.routes[i];

		d->kind = PROV_COMPATIBLE;
		snprintf(d->provider_id, sizeof(d->provider_id), "%s", ids[i]);
		d->upstream_model = "m";
		d->base_url = arena_printf(f->r.arena, "http://%s/v1", ids[i]);
	}
	f->x.nroutes = nroutes;
	buf_init(&f->x.rl.errbody, ERRBODY_MAX);
	buf_init(&f->x.rl.replay, REPLAY_MAX);
	nscript = calls = 0;
	next_key = 0;
	keyless = NULL;
}

static void
teardown_call(struct fixture *f)
{
	http_result_clear(&f->x.rl.hr);
	buf_free(&f->x.rl.errbody);
	buf_free(&f->x.rl.replay);
	json_decref(f->r.json);
	arena_free(f->r.arena);
	conf_free(f->conf);
}

static void
add(enum http_err err, long status, const char *body)
{
	script[nscript++] = (struct scripted){err, status, 1, body, NULL, 0};
}

#define OK_BODY "{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}"
#define URL_A	"http://a/v1/chat/completions"
#define URL_B	"http://b/v1/chat/completions"

/* A 5xx moves to the next deployment. */
static void
t_server_error_next_deployment(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	add(HTTP_OK, 500, "{\"error\":{\"message\":\"boom\"}}");
	add(HTTP_OK, 200, OK_BODY);
	relay_run(&f.x);
	assert_int_equal(calls, 2);
	assert_string_equal(called[0], URL_A);
	assert_string_equal(called[1], URL_B);
	assert_int_equal(f.x.rl.fail, TG_OK);
	assert_int_equal(f.x.rl.attempts, 2);
	assert_string_equal(f.x.rl.rt->provider_id, "b");
	teardown_call(&f);
}

/*
 * Anthropic's 529 overloaded_error is worth another try of the same
 * deployment before the first byte, as its SDKs do (after a short nap).
 */
static void
t_overloaded_retried(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	f.x.routes[0].kind = PROV_ANTHROPIC;
	add(HTTP_OK, 529,
	    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	    "\"message\":\"Overloaded\"}}");
	add(HTTP_OK, 200, "{}");
	relay_run(&f.x);
	assert_int_equal(calls, 2);
	assert_string_equal(called[0], "http://a/v1/messages");
	assert_string_equal(called[1], "http://a/v1/messages");
	assert_int_equal(f.x.rl.fail, TG_OK);
	assert_int_equal(f.x.rl.attempts, 2);
	teardown_call(&f);
}

/* A 429 tries the deployment's other keys (3) before the next deployment. */
static void
t_rate_limited_next_key(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	add(HTTP_OK, 429, NULL);
	add(HTTP_OK, 429, NULL);
	add(HTTP_OK, 429, NULL);
	add(HTTP_OK, 200, OK_BODY);
	relay_run(&f.x);
	assert_int_equal(calls, 4);
	assert_string_equal(called[2], URL_A);
	assert_string_equal(called[3], URL_B);
	assert_int_equal(next_key, 4);
	assert_int_equal(f.x.rl.fail, TG_OK);
	teardown_call(&f);
}

/* A 401 refuses the key: another key of the same deployment answers. */
static void
t_key_refused_next_key(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	add(HTTP_OK, 401, "{\"error\":{\"message\":\"invalid_api_key\"}}");
	add(HTTP_OK, 200, OK_BODY);
	relay_run(&f.x);
	assert_int_equal(calls, 2);
	assert_string_equal(called[1], URL_A);
	assert_int_equal(f.x.rl.fail, TG_OK);
	teardown_call(&f);
}

/* The client's own error (400) stops: it would fail anywhere. */
static void
t_rejected_stops(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	add(HTTP_OK, 400, "{\"error\":{\"message\":\"bad temperature\"}}");
	relay_run(&f.x);
	assert_int_equal(calls, 1);
	assert_int_equal(f.x.rl.fail, TG_EINVAL);
	assert_string_equal(f.x.rl.fail_code, "upstream_error");
	assert_string_equal(f.x.rl.fail_msg,
	    "the provider rejected the request: bad temperature");
	teardown_call(&f);
}

/* A 403 that is not about the key refuses the request, not the key. */
static void
t_refused_stops(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	add(HTTP_OK, 403, "{\"error\":{\"message\":\"region\"}}");
	relay_run(&f.x);
	assert_int_equal(calls, 1);
	assert_int_equal(f.x.rl.fail, TG_EPERM);
	teardown_call(&f);
}

/* No connection: the next deployment. */
static void
t_connect_next_deployment(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	add(HTTP_ECONNECT, 0, NULL);
	add(HTTP_OK, 200, OK_BODY);
	relay_run(&f.x);
	assert_int_equal(calls, 2);
	assert_string_equal(called[1], URL_B);
	assert_int_equal(f.x.rl.fail, TG_OK);
	teardown_call(&f);
}

/* A timeout after the request went out stops unless retry_after_timeout. */
static void
t_timeout_sent(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	add(HTTP_ETIMEOUT, 0, NULL);
	relay_run(&f.x);
	assert_int_equal(calls, 1);
	assert_int_equal(f.x.rl.fail, TG_ETIMEOUT);
	teardown_call(&f);

	setup_call(&f, 2);
	f.conf->retry_after_timeout = 1;
	add(HTTP_ETIMEOUT, 0, NULL);
	add(HTTP_OK, 200, OK_BODY);
	relay_run(&f.x);
	assert_int_equal(calls, 2);
	assert_int_equal(f.x.rl.fail, TG_OK);
	teardown_call(&f);
}

/* Every deployment fails: the last failure is the client's. */
static void
t_all_fail(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	add(HTTP_OK, 502, NULL);
	add(HTTP_OK, 503, NULL);
	relay_run(&f.x);
	assert_int_equal(calls, 2);
	assert_int_equal(f.x.rl.fail, TG_EUPSTREAM);
	assert_string_equal(
	    f.x.rl.fail_msg, "the provider failed with HTTP 503");
	teardown_call(&f);
}

/*
 * A provider's 429, then a deployment without keys: the client hears the
 * 429 as the provider's (not its own rate limit) with its Retry-After, not
 * "no provider key".
 */
static void
t_best_failure_told(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	keyless = "b";
	script[nscript++] = (struct scripted){HTTP_OK, 429, 1, NULL, "7", 0};
	script[nscript++] = (struct scripted){HTTP_OK, 429, 1, NULL, "7", 0};
	script[nscript++] = (struct scripted){HTTP_OK, 429, 1, NULL, "7", 0};
	relay_run(&f.x);
	assert_int_equal(calls, 3);
	assert_int_equal(f.x.rl.fail, TG_ERATE);
	assert_string_equal(f.x.rl.fail_code, "upstream_rate_limited");
	assert_int_equal(f.x.rl.retry_after, 7);
	teardown_call(&f);

	/* A 5xx is still told over the missing key: 502, not 503. */
	setup_call(&f, 2);
	keyless = "b";
	add(HTTP_OK, 500, NULL);
	relay_run(&f.x);
	assert_int_equal(calls, 1);
	assert_int_equal(f.x.rl.fail, TG_EUPSTREAM);
	assert_string_equal(
	    f.x.rl.fail_msg, "the provider failed with HTTP 500");
	teardown_call(&f);
}

/*
 * A kept-alive connection that died under the request: sent again on a
 * fresh connection to the same deployment, as a second, counted attempt.
 */
static void
t_conn_died_counted(void **state)
{
	struct fixture f;

	(void)state;
	setup_call(&f, 2);
	script[nscript++] =
	    (struct scripted){HTTP_ECONNECT, 0, 1, NULL, NULL, 1};
	add(HTTP_OK, 200, OK_BODY);
	relay_run(&f.x);
	assert_int_equal(calls, 2);
	assert_string_equal(called[0], URL_A);
	assert_string_equal(called[1], URL_A);
	assert_int_equal(f.x.rl.attempts, 2);
	assert_int_equal(f.x.rl.fail, TG_OK);
	teardown_call(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_server_error_next_deployment),
	    cmocka_unit_test(t_overloaded_retried),
	    cmocka_unit_test(t_rate_limited_next_key),
	    cmocka_unit_test(t_key_refused_next_key),
	    cmocka_unit_test(t_rejected_stops),
	    cmocka_unit_test(t_refused_stops),
	    cmocka_unit_test(t_connect_next_deployment),
	    cmocka_unit_test(t_timeout_sent),
	    cmocka_unit_test(t_all_fail),
	    cmocka_unit_test(t_best_failure_told),
	    cmocka_unit_test(t_conn_died_counted),
	};

	test_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
