/* test_handlers.c: the router and handlers through the in-memory tg_io */
#include "test_common.h"

#include "core/tollgate.h"
#include "io/db.h"
#include "http/router.h"

/*
 * The one database call of the meta handlers, replaced (-Wl,--wrap): /health
 * asks the pool for the schema version. wrap_rc is what it answers, wrap_ver
 * the version it reports; ctx.db only has to be non-NULL for it to be asked.
 */
static enum tg_err wrap_rc = TG_OK;
static int64_t wrap_ver = TG_SCHEMA_VERSION;
static unsigned wrap_calls;

enum tg_err __wrap_db_schema_version(struct db_pool *, int64_t *);
/*
 * Named so that the link fails, instead of the real call running on the fake
 * pool, if db_schema_version is renamed: then rename the wrap in Makefile.am.
 */
enum tg_err __real_db_schema_version(struct db_pool *, int64_t *);
enum tg_err (*const real_db_schema_version)(
    struct db_pool *, int64_t *) = __real_db_schema_version;

enum tg_err
__wrap_db_schema_version(struct db_pool *p, int64_t *out)
{
	(void)p;
	wrap_calls++;
	*out = wrap_ver;
	return wrap_rc;
}

/* Any non-NULL pool: the wrapped call never looks inside. */
static struct db_pool *const fake_pool = (struct db_pool *)&wrap_calls;

/*
 * A healthy node has a run_dir it can write (issue 19: /health reports one
 * it cannot have); main makes this one, every test's config names it.
 */
static char run_dir[] = "/tmp/tg-test-handlers.XXXXXX";

static int
setup(void **state)
{
	struct fix *f;

	wrap_rc = TG_OK;
	wrap_ver = TG_SCHEMA_VERSION;
	wrap_calls = 0;
	fix_setup(state);
	f = *state;
	free(f->conf->run_dir);
	f->conf->run_dir = strdup(run_dir);
	return 0;
}

/* Serve METHOD URI (no body) and require some output. */
static void
serve(struct fix *f, const char *method, const char *uri)
{
	mem_io_request(&f->io, method, uri);
	router_serve(&f->io.io, f->arena, &f->ctx, NULL);
	if (f->io.out == NULL)
		fail_msg("router_serve wrote nothing for %s %s", method, uri);
}

/* Serve METHOD URI with a body of Content-Type ctype (NULL: none). */
static void
serve_body(struct fix *f, const char *method, const char *uri,
    const char *ctype, const char *body, const char *clen)
{
	mem_io_request(&f->io, method, uri);
	if (ctype != NULL)
		mem_io_env(&f->io, "CONTENT_TYPE", ctype);
	mem_io_env(&f->io, "CONTENT_LENGTH", clen);
	mem_io_body(&f->io, body, strlen(body));
	router_serve(&f->io.io, f->arena, &f->ctx, NULL);
	if (f->io.out == NULL)
		fail_msg("router_serve wrote nothing for %s %s", method, uri);
}

static void
expect_status(struct fix *f, int status)
{
	int got = mem_io_status(&f->io);

	if (got != status)
		fail_msg(
		    "status %d, want %d; output:\n%s", got, status, f->io.out);
}

/* Header name is exactly want. */
static void
expect_header(struct fix *f, const char *name, const char *want)
{
	char v[1024];

	if (!mem_io_header(&f->io, name, v, sizeof(v)))
		fail_msg("no %s header in:\n%s", name, f->io.out);
	if (strcmp(v, want) != 0)
		fail_msg("%s: \"%s\", want \"%s\"", name, v, want);
}

static void
expect_no_header(struct fix *f, const char *name)
{
	char v[1024];

	if (mem_io_header(&f->io, name, v, sizeof(v)))
		fail_msg("unexpected %s: %s", name, v);
}

/* The body is JSON equal to want (a JSON text), member for member. */
static void
expect_json(struct fix *f, const char *want)
{
	json_error_t je;
	json_t *w, *got;
	char *g;

	if ((w = json_loads(want, 0, &je)) == NULL)
		fail_msg("bad expected JSON (%s): %s", je.text, want);
	got = mem_io_json(&f->io);
	if (!json_equal(got, w)) {
		g = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("body %s\nwant %s", g, want);
	}
	json_decref(got);
	json_decref(w);
}

/* An error response: status, JSON content type, request id, the exact error. */
static void
expect_error(struct fix *f, int status, const char *type, const char *code,
    const char *message)
{
	char want[1024], id[129];
	json_t *m = json_string(message);
	char *mq = json_dumps(m, JSON_ENCODE_ANY);

	expect_status(f, status);
	expect_header(f, "Content-Type", "application/json");
	assert_true(mem_io_header(&f->io, "x-request-id", id, sizeof(id)));
	assert_true(test_is_hex32(id));
	snprintf(want, sizeof(want),
	    "{\"error\": {\"message\": %s, \"type\": \"%s\", \"param\": null, "
	    "\"code\": \"%s\"}}",
	    mq, type, code);
	expect_json(f, want);
	free(mq);
	json_decref(m);
}

/* --- h_meta ---------------------------------------------------------------------------- */

#define STR_(x) #x
#define STR(x)	STR_(x)

/* GET /health: status, no-store, and the body with state, reachable, schema_version. */
static void
expect_health(struct fix *f, int status, const char *st, const char *reachable,
    const char *schema_version)
{
	char want[512];

	serve(f, "GET", "/health");
	expect_status(f, status);
	expect_header(f, "Cache-Control", "no-store");
	expect_header(f, "Content-Type", "application/json");
	snprintf(want, sizeof(want),
	    "{\"status\": \"%s\", \"version\": \"%s\", \"database\": "
	    "{\"reachable\": %s, \"expected_schema_version\": %d, "
	    "\"schema_version\": %s}}",
	    st, PACKAGE_VERSION, reachable, TG_SCHEMA_VERSION, schema_version);
	expect_json(f, want);
}

static void
t_health_no_database(void **state)
{
	struct fix *f = *state;

	expect_health(f, 503, "unavailable", "false", "null");
	assert_int_equal(wrap_calls, 0);
}

static void
t_health_ok(void **state)
{
	struct fix *f = *state;

	f->ctx.db = fake_pool;
	expect_health(f, 200, "ok", "true", STR(TG_SCHEMA_VERSION));
	assert_int_equal(wrap_calls, 1);
	f->ctx.db = NULL;
}

static void
t_health_schema_mismatch(void **state)
{
	struct fix *f = *state;

	f->ctx.db = fake_pool;
	wrap_rc = TG_ESCHEMA;
	wrap_ver = 7;
	expect_health(f, 503, "schema_mismatch", "true", "7");
	f->ctx.db = NULL;
}

/* The pool has no connection to give (TG_EDB): unreachable, 503 unavailable. */
static void
t_health_db_error(void **state)
{
	struct fix *f = *state;

	f->ctx.db = fake_pool;
	wrap_rc = TG_EDB;
	expect_health(f, 503, "unavailable", "false", "null");
	f->ctx.db = NULL;
}

/*
 * issue 19: a run_dir the process cannot have is 200 "degraded" with the
 * reason (the node serves and bills; its limits count per process), the
 * database still reported; with the database down it stays 503.
 */
static void
expect_degraded(struct fix *f, int status, const char *st, const char *why)
{
	json_t *b;
	const char *problem;

	serve(f, "GET", "/health");
	expect_status(f, status);
	expect_header(f, "Cache-Control", "no-store");
	b = mem_io_json(&f->io);
	assert_non_null(b);
	assert_string_equal(
	    json_string_value(json_object_get(b, "status")), st);
	assert_string_equal(json_string_value(json_object_get(
				json_object_get(b, "run_dir"), "path")),
	    f->conf->run_dir);
	problem = json_string_value(
	    json_object_get(json_object_get(b, "run_dir"), "problem"));
	assert_non_null(problem);
	if (strstr(problem, why) == NULL ||
	    strstr(problem, "per process") == NULL)
		fail_msg("run_dir.problem \"%s\" lacks \"%s\"", problem, why);
	assert_non_null(json_object_get(b, "database"));
	json_decref(b);
}

static void
t_health_run_dir_missing(void **state)
{
	struct fix *f = *state;

	f->ctx.db = fake_pool;
	free(f->conf->run_dir);
	assert_true(asprintf(&f->conf->run_dir, "%s/no/such", run_dir) > 0);
	expect_degraded(f, 200, "degraded", "does not exist");
	f->ctx.db = NULL;
}

static void
t_health_run_dir_file(void **state)
{
	struct fix *f = *state;
	FILE *fp;

	f->ctx.db = fake_pool;
	free(f->conf->run_dir);
	assert_true(asprintf(&f->conf->run_dir, "%s/file", run_dir) > 0);
	assert_non_null(fp = fopen(f->conf->run_dir, "w"));
	fclose(fp);
	expect_degraded(f, 200, "degraded", "is not a directory");
	unlink(f->conf->run_dir);
	f->ctx.db = NULL;
}

static void
t_health_run_dir_and_no_database(void **state)
{
	struct fix *f = *state;

	f->ctx.db = fake_pool;
	wrap_rc = TG_EDB;
	free(f->conf->run_dir);
	assert_true(asprintf(&f->conf->run_dir, "%s/no/such", run_dir) > 0);
	expect_degraded(f, 503, "unavailable", "does not exist");
	f->ctx.db = NULL;
}

/* An empty run_dir is a choice (no shared files), not a fault. */
static void
t_health_run_dir_none(void **state)
{
	struct fix *f = *state;

	f->ctx.db = fake_pool;
	free(f->conf->run_dir);
	f->conf->run_dir = NULL;
	expect_health(f, 200, "ok", "true", STR(TG_SCHEMA_VERSION));
	f->ctx.db = NULL;
}

/* HEAD: the GET's status and headers, no body. */
static void
t_health_head(void **state)
{
	struct fix *f = *state;
	const char *body;

	f->ctx.db = fake_pool;
	serve(f, "HEAD", "/health");
	expect_status(f, 200);
	expect_header(f, "Cache-Control", "no-store");
	body = mem_io_resp_body(&f->io);
	assert_non_null(body);
	assert_str(body, "");
	f->ctx.db = NULL;
}

static void
t_root_index(void **state)
{
	struct fix *f = *state;
	char want[512];

	serve(f, "GET", "/");
	expect_status(f, 200);
	expect_header(f, "Content-Type", "application/json");
	snprintf(want, sizeof(want),
	    "{\"name\": \"tollgate\", \"version\": \"%s\", \"description\": "
	    "\"metered OpenAI-compatible LLM gateway\", \"links\": "
	    "{\"health\": \"/health\", \"openapi\": \"/openapi.json\"}}",
	    PACKAGE_VERSION);
	expect_json(f, want);
}

/* Under a mount prefix the links carry it (the router sees the path without it). */
static void
t_root_index_prefix(void **state)
{
	struct fix *f = *state;
	char want[512];

	f->conf->mount_prefix = "/tollgate";
	serve(f, "GET", "/");
	expect_status(f, 200);
	snprintf(want, sizeof(want),
	    "{\"name\": \"tollgate\", \"version\": \"%s\", \"description\": "
	    "\"metered OpenAI-compatible LLM gateway\", \"links\": "
	    "{\"health\": \"/tollgate/health\", \"openapi\": "
	    "\"/tollgate/openapi.json\"}}",
	    PACKAGE_VERSION);
	expect_json(f, want);
}

static void
t_openapi_served_raw(void **state)
{
	struct fix *f = *state;
	static char doc[] = "{\"openapi\": \"3.1.0\", \"paths\": {}}";

	f->ctx.openapi = doc;
	f->ctx.openapi_len = strlen(doc);
	serve(f, "GET", "/openapi.json");
	expect_status(f, 200);
	expect_header(f, "Content-Type", "application/json");
	assert_str(mem_io_resp_body(&f->io), doc);
	f->ctx.openapi = NULL;
	f->ctx.openapi_len = 0;
}

static void
t_openapi_missing_500(void **state)
{
	struct fix *f = *state;

	serve(f, "GET", "/openapi.json");
	expect_error(f, 500, "server_error", "internal_error",
	    "the OpenAPI document could not be loaded; check http.www_dir");
}

/* The /v1 routes want a credential before anything else. */
static void
t_v1_models_needs_key(void **state)
{
	struct fix *f = *state;

	serve(f, "GET", "/v1/models");
	expect_error(f, 401, "authentication_error", "missing_api_key",
	    "no API key: send it as 'Authorization: Bearer <key>' or "
	    "'X-API-Key: <key>'");
}

/* --- router refusals ------------------------------------------------------------------- */

static void
t_404(void **state)
{
	struct fix *f = *state;

	serve(f, "GET", "/v1/no-such-thing");
	expect_error(f, 404, "invalid_request_error", "not_found",
	    "no route for GET /v1/no-such-thing");
}

static void
t_405_allow(void **state)
{
	struct fix *f = *state;

	serve(f, "DELETE", "/health");
	expect_header(f, "Allow", "GET, HEAD, OPTIONS");
	expect_error(f, 405, "invalid_request_error", "method_not_allowed",
	    "DELETE is not allowed on /health; allowed: GET, HEAD, OPTIONS");
}

/* POST uri declaring a body of cap + 1 bytes: 413 with message. */
static void
expect_too_big(
    struct fix *f, const char *uri, unsigned long long cap, const char *message)
{
	char len[32];

	snprintf(len, sizeof(len), "%llu", cap + 1);
	serve_body(f, "POST", uri, "application/json", "{}", len);
	expect_error(
	    f, 413, "invalid_request_error", "body_too_large", message);
}

/*
 * Refused on Content-Length alone, before the credential: no key needed to get
 * a 413. Over http.max_body the request itself is refused (req_init) and says
 * the size sent.
 */
static void
t_413_data_plane(void **state)
{
	struct fix *f = *state;
	unsigned long long cap = f->conf->max_body;
	char msg[128];

	snprintf(msg, sizeof(msg),
	    "the request body of %llu bytes exceeds the limit of %llu bytes",
	    cap + 1, cap);
	expect_too_big(f, "/v1/chat/completions", cap, msg);
}

/* The control plane's cap is the smaller http.max_control_body (the router's check). */
static void
t_413_control_plane(void **state)
{
	struct fix *f = *state;
	unsigned long long cap = f->conf->max_control_body;
	char msg[128];

	snprintf(msg, sizeof(msg),
	    "the request body exceeds the limit of %llu bytes", cap);
	expect_too_big(f, "/auth/login", cap, msg);
}

static void
t_415(void **state)
{
	struct fix *f = *state;

	serve_body(f, "POST", "/auth/login", "text/plain", "{}", "2");
	expect_error(f, 415, "invalid_request_error", "unsupported_media_type",
	    "Content-Type must be application/json");
}

/* --- OPTIONS and CORS ------------------------------------------------------------------ */

static void
t_options_allow(void **state)
{
	struct fix *f = *state;

	serve(f, "OPTIONS", "/health");
	expect_status(f, 204);
	expect_header(f, "Allow", "GET, HEAD, OPTIONS");
	expect_no_header(f, "Access-Control-Allow-Methods");
}

static void
t_preflight_allowed_origin(void **state)
{
	struct fix *f = *state;
	char age[32];

	f->conf->cors_any = 1;
	mem_io_env(&f->io, "HTTP_ORIGIN", "https://app.example.com");
	mem_io_env(&f->io, "HTTP_ACCESS_CONTROL_REQUEST_METHOD", "POST");
	serve(f, "OPTIONS", "/v1/chat/completions");
	expect_status(f, 204);
	expect_header(f, "Allow", "POST, OPTIONS");
	expect_header(
	    f, "Access-Control-Allow-Origin", "https://app.example.com");
	expect_header(f, "Vary", "Origin");
	expect_header(f, "Access-Control-Allow-Methods", "POST, OPTIONS");
	expect_header(f, "Access-Control-Allow-Headers",
	    "Authorization, Content-Type, X-API-Key, api-key, Idempotency-Key, "
	    "X-Request-Id, HTTP-Referer, X-Title, anthropic-version, "
	    "anthropic-beta, x-goog-api-key, x-goog-api-client, x-did, "
	    "x-did-timestamp, x-did-signature");
	snprintf(age, sizeof(age), "%u", f->conf->cors_max_age);
	expect_header(f, "Access-Control-Max-Age", age);
}

/* An origin not in http.cors_origins gets the plain OPTIONS answer and no CORS header. */
static void
t_preflight_foreign_origin(void **state)
{
	struct fix *f = *state;

	mem_io_env(&f->io, "HTTP_ORIGIN", "https://evil.example");
	mem_io_env(&f->io, "HTTP_ACCESS_CONTROL_REQUEST_METHOD", "POST");
	serve(f, "OPTIONS", "/v1/chat/completions");
	expect_status(f, 204);
	expect_header(f, "Allow", "POST, OPTIONS");
	expect_no_header(f, "Access-Control-Allow-Origin");
	expect_no_header(f, "Access-Control-Allow-Methods");
}

/* A simple cross-origin GET: the answer names the origin and what the page may read. */
static void
t_cors_simple_get(void **state)
{
	struct fix *f = *state;

	f->conf->cors_any = 1;
	mem_io_env(&f->io, "HTTP_ORIGIN", "https://app.example.com");
	serve(f, "GET", "/");
	expect_status(f, 200);
	expect_header(
	    f, "Access-Control-Allow-Origin", "https://app.example.com");
	expect_header(f, "Vary", "Origin");
	expect_header(f, "Access-Control-Expose-Headers",
	    "x-request-id, x-tollgate-cost, x-tollgate-balance, "
	    "x-tollgate-provider, retry-after, x-ratelimit-limit-requests, "
	    "x-ratelimit-remaining-requests, x-ratelimit-reset-requests, "
	    "x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, "
	    "x-ratelimit-reset-tokens");
}

/* Error answers carry the CORS headers too, or a browser hides the error. */
static void
t_cors_on_error(void **state)
{
	struct fix *f = *state;

	f->conf->cors_any = 1;
	mem_io_env(&f->io, "HTTP_ORIGIN", "https://app.example.com");
	serve(f, "GET", "/v1/models");
	expect_status(f, 401);
	expect_header(
	    f, "Access-Control-Allow-Origin", "https://app.example.com");
}

int
main(void)
{
	int rc;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		t_health_no_database, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_health_run_dir_missing, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_health_run_dir_file, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_health_run_dir_and_no_database, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_health_run_dir_none, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(t_health_ok, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_health_schema_mismatch, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_health_db_error, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(t_health_head, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(t_root_index, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_root_index_prefix, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_openapi_served_raw, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_openapi_missing_500, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_v1_models_needs_key, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(t_404, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(t_405_allow, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_413_data_plane, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_413_control_plane, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(t_415, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_options_allow, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_preflight_allowed_origin, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_preflight_foreign_origin, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_cors_simple_get, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_cors_on_error, setup, fix_teardown),
	};

	test_init();
	if (mkdtemp(run_dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(run_dir);
	return rc;
}
