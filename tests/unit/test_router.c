/* test_router.c: unit tests for route matching against the real route table */
#include "test_common.h"

#include "core/arena.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/db.h"
#include "store/stmt.h"
#include "store/store.h"
#include "http/handlers.h"
#include "http/req.h"
#include "http/router.h"

#include <time.h>

/* Match with fresh err/allow; err starts as a value match never sets. */
static const struct route *
match(struct fix *f, enum tg_method m, const char *path, int debug)
{
	f->err = TG_ESYSTEM;
	memset(f->allow, 0, sizeof(f->allow));
	return router_match(
	    &f->req, m, path, debug, &f->err, f->allow, sizeof(f->allow));
}

static void
expect_route(struct fix *f, enum tg_method m, const char *path, int debug,
    enum tg_method rm, const char *pattern, handler_fn fn)
{
	const struct route *r = match(f, m, path, debug);

	if (r == NULL)
		fail_msg("%s %s: no route (err %d)", req_method_name(m), path,
		    (int)f->err);
	assert_int_equal(r->method, rm);
	assert_str(r->pattern, pattern);
	assert_ptr_equal(r->fn, fn);
	assert_uint_equal(f->req.ncaptures, 0);
}

static void
expect_enoent(struct fix *f, enum tg_method m, const char *path, int debug)
{
	const struct route *r = match(f, m, path, debug);

	if (r != NULL)
		fail_msg(
		    "%s %s matched %s", req_method_name(m), path, r->pattern);
	assert_int_equal(f->err, TG_ENOENT);
}

static void
t_match_meta_routes(void **state)
{
	struct fix *f = *state;

	expect_route(f, TG_M_GET, "/health", 0, TG_M_GET, "/health", h_health);
	expect_route(f, TG_M_GET, "/", 0, TG_M_GET, "/", h_root);
	expect_route(f, TG_M_GET, "/openapi.json", 0, TG_M_GET, "/openapi.json",
	    h_openapi);
}

/*
 * Other gateways' prefixes (issue 18): /api/v1/... and /api/proxy/... reach
 * the /v1/... routes when nothing else matches; /api/status stays its own.
 */
static void
t_alias_prefixes(void **state)
{
	struct fix *f = *state;
	const struct route *r;

	expect_route(f, TG_M_POST, "/api/v1/chat/completions", 0, TG_M_POST,
	    "/v1/chat/completions", h_chat);
	expect_route(f, TG_M_POST, "/api/proxy/chat/completions", 0, TG_M_POST,
	    "/v1/chat/completions", h_chat);
	expect_route(f, TG_M_POST, "/api/v1/embeddings", 0, TG_M_POST,
	    "/v1/embeddings", h_embeddings);
	expect_route(f, TG_M_GET, "/api/v1/models", 0, TG_M_GET, "/v1/models",
	    h_models_list);
	expect_route(f, TG_M_GET, "/api/status", 0, TG_M_GET, "/api/status",
	    h_api_status);
	r = match(f, TG_M_GET, "/api/v1/models/openai/gpt-4o", 0);
	assert_non_null(r);
	assert_ptr_equal(r->fn, h_models_get);
	assert_uint_equal(f->req.ncaptures, 2);
	assert_str(f->req.captures[0], "openai");
	/* Only the whole prefix is an alias, and only of existing routes. */
	expect_enoent(f, TG_M_GET, "/api/v1", 0);
	expect_enoent(f, TG_M_GET, "/api/v1/nothing", 0);
	expect_enoent(f, TG_M_POST, "/apix/v1/chat/completions", 0);
	expect_enoent(f, TG_M_POST, "/api/v2/chat/completions", 0);
	/* A wrong method on an alias is a 405 naming the right one. */
	assert_null(match(f, TG_M_GET, "/api/proxy/chat/completions", 0));
	assert_int_equal(f->err, TG_EMETHOD);
	assert_non_null(strstr(f->allow, "POST"));
}

static void
t_meta_routes_not_debug(void **state)
{
	struct fix *f = *state;
	const struct route *r;

	r = match(f, TG_M_GET, "/health", 0);
	assert_non_null(r);
	assert_int_equal(r->flags & RF_DEBUG, 0);
}

static void
t_head_matches_get(void **state)
{
	struct fix *f = *state;

	expect_route(f, TG_M_HEAD, "/health", 0, TG_M_GET, "/health", h_health);
	expect_route(f, TG_M_HEAD, "/", 0, TG_M_GET, "/", h_root);
}

static void
t_unknown_path(void **state)
{
	struct fix *f = *state;

	expect_enoent(f, TG_M_GET, "/nope", 0);
	expect_enoent(f, TG_M_GET, "/nope", 1);
	expect_enoent(f, TG_M_POST, "/nope", 1);
	expect_enoent(f, TG_M_GET, "/v1/no-such-thing", 0);
}

static void
t_wrong_method_allow(void **state)
{
	struct fix *f = *state;
	const struct route *r;

	r = match(f, TG_M_POST, "/health", 0);
	assert_null(r);
	assert_int_equal(f->err, TG_EMETHOD);
	assert_contains(f->allow, "GET");
	assert_contains(f->allow, "HEAD");
	assert_contains(f->allow, "OPTIONS");
	assert_not_contains(f->allow, "POST");

	r = match(f, TG_M_DELETE, "/", 0);
	assert_null(r);
	assert_int_equal(f->err, TG_EMETHOD);
	assert_contains(f->allow, "GET");
}

static void
t_other_method(void **state)
{
	struct fix *f = *state;
	const struct route *r;

	r = match(f, TG_M_OTHER, "/health", 0);
	assert_null(r);
	assert_int_equal(f->err, TG_EMETHOD);
	assert_contains(f->allow, "GET");
}

static void
t_allow_truncated_safely(void **state)
{
	struct fix *f = *state;
	char allow[32];
	enum tg_err err = TG_OK;
	size_t i;

	memset(allow, 'X', sizeof(allow));
	assert_null(
	    router_match(&f->req, TG_M_POST, "/health", 0, &err, allow, 5));
	assert_int_equal(err, TG_EMETHOD);
	assert_true(strnlen(allow, 5) < 5);
	for (i = 5; i < sizeof(allow); i++)
		assert_int_equal(allow[i], 'X');
}

static void
t_debug_routes_present(void **state)
{
	struct fix *f = *state;
	const struct route *r;

	expect_route(f, TG_M_GET, "/_debug/sleep", 1, TG_M_GET, "/_debug/sleep",
	    h_debug_sleep);
	expect_route(f, TG_M_GET, "/_debug/pid", 1, TG_M_GET, "/_debug/pid",
	    h_debug_pid);
	expect_route(f, TG_M_POST, "/_debug/echo", 1, TG_M_POST, "/_debug/echo",
	    h_debug_echo);
	r = match(f, TG_M_POST, "/_debug/echo", 1);
	assert_non_null(r);
	assert_true(r->flags & RF_DEBUG);
	r = match(f, TG_M_GET, "/_debug/pid", 1);
	assert_non_null(r);
	assert_true(r->flags & RF_DEBUG);
	r = match(f, TG_M_GET, "/_debug/sleep", 1);
	assert_non_null(r);
	assert_true(r->flags & RF_DEBUG);
}

static void
t_debug_routes_hidden(void **state)
{
	struct fix *f = *state;

	expect_enoent(f, TG_M_GET, "/_debug/sleep", 0);
	expect_enoent(f, TG_M_GET, "/_debug/pid", 0);
	expect_enoent(f, TG_M_HEAD, "/_debug/pid", 0);
	expect_enoent(f, TG_M_POST, "/_debug/echo", 0);
	/* Not even a 405: the path does not exist. */
	expect_enoent(f, TG_M_GET, "/_debug/echo", 0);
}

static void
t_debug_echo_wrong_method(void **state)
{
	struct fix *f = *state;
	const struct route *r;

	r = match(f, TG_M_GET, "/_debug/echo", 1);
	assert_null(r);
	assert_int_equal(f->err, TG_EMETHOD);
	assert_contains(f->allow, "POST");
	assert_not_contains(f->allow, "GET");
}

static void
t_trailing_slash(void **state)
{
	struct fix *f = *state;

	expect_enoent(f, TG_M_GET, "/health/", 0);
	expect_enoent(f, TG_M_GET, "/openapi.json/", 0);
	expect_enoent(f, TG_M_GET, "/_debug/pid/", 1);
}

static void
t_near_misses(void **state)
{
	struct fix *f = *state;

	expect_enoent(f, TG_M_GET, "/HEALTH", 0);
	expect_enoent(f, TG_M_GET, "/healthz", 0);
	expect_enoent(f, TG_M_GET, "/healt", 0);
	expect_enoent(f, TG_M_GET, "//health", 0);
	expect_enoent(f, TG_M_GET, "/health/x", 0);
	expect_enoent(f, TG_M_GET, "health", 0);
	expect_enoent(f, TG_M_GET, "/_debug", 1);
	expect_enoent(f, TG_M_GET, "/_debug/", 1);
}

/*
 * router_serve end to end through a memory io.
 */

static void
serve(struct fix *f)
{
	router_serve(&f->io.io, f->arena, &f->ctx, NULL);
	if (f->io.out == NULL)
		fail_msg("router_serve wrote nothing");
}

/* A JSON POST of body to uri. */
static void
post_json(struct fix *f, const char *uri, const char *ctype, const char *body)
{
	char len[32];

	mem_io_request(&f->io, "POST", uri);
	if (ctype != NULL)
		mem_io_env(&f->io, "CONTENT_TYPE", ctype);
	snprintf(len, sizeof(len), "%zu", strlen(body));
	mem_io_env(&f->io, "CONTENT_LENGTH", len);
	mem_io_body(&f->io, body, strlen(body));
	serve(f);
}

/* Every response carries a request id; returns it in id[129]. */
static void
expect_request_id(struct fix *f, char *id)
{
	if (!mem_io_header(&f->io, "x-request-id", id, 129))
		fail_msg("no x-request-id header in:\n%s", f->io.out);
}

static void
expect_status(struct fix *f, int status)
{
	int got = mem_io_status(&f->io);

	if (got != status)
		fail_msg(
		    "status %d, want %d; output:\n%s", got, status, f->io.out);
}

/* An OpenAI-style error with this status and code. */
static void
expect_error(struct fix *f, int status, const char *code)
{
	char id[129], ctype[128];
	json_t *j, *e;

	expect_status(f, status);
	expect_request_id(f, id);
	assert_true(
	    mem_io_header(&f->io, "Content-Type", ctype, sizeof(ctype)));
	assert_true(strncmp(ctype, "application/json", 16) == 0);
	j = mem_io_json(&f->io);
	e = json_object_get(j, "error");
	assert_true(json_is_object(e));
	assert_str(json_string_value(json_object_get(e, "code")), code);
	assert_true(json_is_string(json_object_get(e, "message")));
	assert_true(json_string_length(json_object_get(e, "message")) > 0);
	assert_true(json_is_string(json_object_get(e, "type")));
	assert_non_null(json_object_get(e, "param"));
	json_decref(j);
}

/* A 200 whose JSON body is returned (new reference). */
static json_t *
expect_ok_json(struct fix *f)
{
	char id[129];

	expect_status(f, 200);
	expect_request_id(f, id);
	return mem_io_json(&f->io);
}

static void
t_serve_404(void **state)
{
	struct fix *f = *state;
	char id[129];

	mem_io_request(&f->io, "GET", "/nope");
	serve(f);
	expect_error(f, 404, "not_found");
	assert_true(strncmp(f->io.out, "Status: 404 Not Found\r\n", 23) == 0 ||
	    strstr(f->io.out, "\r\nStatus: 404 Not Found\r\n") != NULL);
	expect_request_id(f, id);
	assert_true(test_is_hex32(id));
}

/* Every link the index advertises is a route that answers (no 404). */
static void
t_serve_index_links_resolve(void **state)
{
	struct fix *f = *state;
	json_t *j, *links, *v;
	const char *name;
	char *copy[8];
	size_t n = 0, i;

	mem_io_request(&f->io, "GET", "/");
	serve(f);
	assert_int_equal(mem_io_status(&f->io), 200);
	assert_non_null(j = mem_io_json(&f->io));
	assert_str(json_string_value(json_object_get(j, "name")), "tollgate");
	links = json_object_get(j, "links");
	assert_true(json_object_size(links) >= 2);
	json_object_foreach(links, name, v) {
		assert_true(n < 8);
		copy[n++] = strdup(json_string_value(v));
	}
	json_decref(j);
	for (i = 0; i < n; i++) {
		mem_io_free(&f->io);
		mem_io_init(&f->io);
		arena_reset(f->arena);
		mem_io_request(&f->io, "GET", copy[i]);
		serve(f);
		if (mem_io_status(&f->io) == 404)
			fail_msg("index link %s is a 404", copy[i]);
		free(copy[i]);
	}
}

/*
 * A client's X-Request-Id is for tracing only (issue 13): x-request-id stays
 * ours and unique, x-client-request-id echoes the client's.
 */
static void
t_serve_request_id_echoed(void **state)
{
	struct fix *f = *state;
	char id[129], cid[129];

	mem_io_request(&f->io, "GET", "/nope");
	mem_io_env(&f->io, "HTTP_X_REQUEST_ID", "abc-123");
	serve(f);
	expect_request_id(f, id);
	assert_true(test_is_hex32(id));
	assert_true(mem_io_header(&f->io, "x-client-request-id", cid, 129));
	assert_str(cid, "abc-123");
}

static void
t_serve_request_id_invalid_replaced(void **state)
{
	struct fix *f = *state;
	char id[129];

	mem_io_request(&f->io, "GET", "/nope");
	mem_io_env(&f->io, "HTTP_X_REQUEST_ID", "bad id<script>");
	serve(f);
	expect_error(f, 404, "not_found");
	expect_request_id(f, id);
	assert_true(test_is_hex32(id));
	/* Not echoed either: only a valid id is. */
	assert_false(mem_io_header(&f->io, "x-client-request-id", id, 129));
}

static void
t_serve_request_ids_differ(void **state)
{
	struct fix *f = *state;
	char id1[129], id2[129];

	mem_io_request(&f->io, "GET", "/nope");
	serve(f);
	expect_request_id(f, id1);
	mem_io_free(&f->io);
	mem_io_init(&f->io);
	mem_io_request(&f->io, "GET", "/nope");
	serve(f);
	expect_request_id(f, id2);
	assert_string_not_equal(id1, id2);
}

static void
t_serve_405_allow(void **state)
{
	struct fix *f = *state;
	char allow[128];

	mem_io_request(&f->io, "POST", "/health");
	mem_io_env(&f->io, "CONTENT_TYPE", "application/json");
	mem_io_env(&f->io, "CONTENT_LENGTH", "2");
	mem_io_body(&f->io, "{}", 2);
	serve(f);
	expect_error(f, 405, "method_not_allowed");
	if (!mem_io_header(&f->io, "Allow", allow, sizeof(allow)))
		fail_msg("no Allow header in:\n%s", f->io.out);
	assert_contains(allow, "GET");
	assert_contains(allow, "HEAD");
}

static void
t_serve_debug_off_404(void **state)
{
	struct fix *f = *state;

	post_json(f, "/_debug/echo", "application/json", "{\"a\":[1]}");
	expect_error(f, 404, "not_found");
}

static void
t_serve_echo(void **state)
{
	struct fix *f = *state;
	char ctype[128];
	json_t *j;

	f->conf->debug_routes = 1;
	post_json(f, "/_debug/echo", "application/json", "{\"a\":[1]}");
	j = expect_ok_json(f);
	assert_true(
	    mem_io_header(&f->io, "Content-Type", ctype, sizeof(ctype)));
	assert_true(strncmp(ctype, "application/json", 16) == 0);
	assert_true(json_is_object(json_object_get(j, "echo")));
	assert_int_equal(
	    json_integer_value(json_array_get(
		json_object_get(json_object_get(j, "echo"), "a"), 0)),
	    1);
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
}

static void
t_serve_echo_charset(void **state)
{
	struct fix *f = *state;
	json_t *j;

	f->conf->debug_routes = 1;
	post_json(f, "/_debug/echo", "application/json; charset=utf-8",
	    "{\"b\":\"x\"}");
	j = expect_ok_json(f);
	assert_str(
	    json_string_value(json_object_get(json_object_get(j, "echo"), "b")),
	    "x");
	json_decref(j);
}

static void
t_serve_echo_duplicate_keys(void **state)
{
	struct fix *f = *state;

	f->conf->debug_routes = 1;
	post_json(f, "/_debug/echo", "application/json", "{\"a\":1,\"a\":2}");
	expect_error(f, 400, "invalid_json");
}

static void
t_serve_echo_bad_json(void **state)
{
	struct fix *f = *state;

	f->conf->debug_routes = 1;
	post_json(f, "/_debug/echo", "application/json", "{\"a\":");
	expect_error(f, 400, "invalid_json");
}

static void
t_serve_echo_not_object(void **state)
{
	struct fix *f = *state;

	f->conf->debug_routes = 1;
	post_json(f, "/_debug/echo", "application/json", "[1]");
	expect_error(f, 400, "invalid_json");
}

static void
t_serve_echo_depth(void **state)
{
	struct fix *f = *state;

	f->conf->debug_routes = 1;
	f->conf->max_json_depth = 2;
	post_json(f, "/_debug/echo", "application/json", "{\"a\":[[1]]}");
	expect_error(f, 400, "invalid_json");
}

static void
t_serve_echo_depth_at_cap(void **state)
{
	struct fix *f = *state;
	json_t *j;

	f->conf->debug_routes = 1;
	f->conf->max_json_depth = 2;
	post_json(f, "/_debug/echo", "application/json", "{\"a\":[1]}");
	j = expect_ok_json(f);
	json_decref(j);
}

static void
t_serve_echo_text_plain(void **state)
{
	struct fix *f = *state;

	f->conf->debug_routes = 1;
	post_json(f, "/_debug/echo", "text/plain", "{\"a\":[1]}");
	expect_error(f, 415, "unsupported_media_type");
}

static void
t_serve_echo_no_content_type(void **state)
{
	struct fix *f = *state;

	f->conf->debug_routes = 1;
	post_json(f, "/_debug/echo", NULL, "{\"a\":[1]}");
	expect_error(f, 415, "unsupported_media_type");
}

static void
t_serve_413_content_length(void **state)
{
	struct fix *f = *state;

	f->conf->debug_routes = 1;
	mem_io_request(&f->io, "POST", "/_debug/echo");
	mem_io_env(&f->io, "CONTENT_TYPE", "application/json");
	mem_io_env(&f->io, "CONTENT_LENGTH", "8388609");
	mem_io_body(&f->io, "{}", 2);
	serve(f);
	expect_error(f, 413, "body_too_large");
}

static void
t_serve_413_small_cap(void **state)
{
	struct fix *f = *state;

	f->conf->debug_routes = 1;
	f->conf->max_body = 8;
	post_json(
	    f, "/_debug/echo", "application/json", "{\"a\":\"0123456789\"}");
	expect_error(f, 413, "body_too_large");
}

static void
t_serve_bad_uri(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "GET", "/he%zzlth");
	serve(f);
	expect_status(f, 400);
	json_decref(mem_io_json(&f->io));
}

static void
t_serve_dotdot(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "GET", "/x/../health");
	serve(f);
	expect_status(f, 400);
}

static void
t_serve_pid(void **state)
{
	struct fix *f = *state;
	json_t *j;

	f->conf->debug_routes = 1;
	mem_io_request(&f->io, "GET", "/_debug/pid");
	serve(f);
	j = expect_ok_json(f);
	assert_int_equal(
	    json_integer_value(json_object_get(j, "pid")), getpid());
	json_decref(j);
}

static void
t_serve_pid_percent_encoded(void **state)
{
	struct fix *f = *state;
	json_t *j;

	f->conf->debug_routes = 1;
	mem_io_request(&f->io, "GET", "/_debug/p%69d");
	serve(f);
	j = expect_ok_json(f);
	assert_int_equal(
	    json_integer_value(json_object_get(j, "pid")), getpid());
	json_decref(j);
}

static void
t_serve_head_no_body(void **state)
{
	struct fix *f = *state;
	const char *body;
	char id[129];

	f->conf->debug_routes = 1;
	mem_io_request(&f->io, "HEAD", "/_debug/pid");
	serve(f);
	expect_status(f, 200);
	expect_request_id(f, id);
	body = mem_io_resp_body(&f->io);
	assert_non_null(body);
	assert_str(body, "");
}

static void
t_serve_head_error_no_body(void **state)
{
	struct fix *f = *state;
	const char *body;

	mem_io_request(&f->io, "HEAD", "/nope");
	serve(f);
	expect_status(f, 404);
	body = mem_io_resp_body(&f->io);
	assert_non_null(body);
	assert_str(body, "");
}

static void
t_serve_sleep(void **state)
{
	struct fix *f = *state;
	json_t *j;

	f->conf->debug_routes = 1;
	mem_io_request(&f->io, "GET", "/_debug/sleep?ms=5");
	serve(f);
	j = expect_ok_json(f);
	assert_int_equal(json_integer_value(json_object_get(j, "slept_ms")), 5);
	assert_int_equal(
	    json_integer_value(json_object_get(j, "pid")), getpid());
	json_decref(j);
}

static void
t_serve_mount_prefix(void **state)
{
	struct fix *f = *state;
	json_t *j;

	f->conf->debug_routes = 1;
	f->conf->mount_prefix = "/tollgate";
	mem_io_request(&f->io, "GET", "/tollgate/_debug/pid");
	serve(f);
	j = expect_ok_json(f);
	assert_int_equal(
	    json_integer_value(json_object_get(j, "pid")), getpid());
	json_decref(j);

	mem_io_free(&f->io);
	mem_io_init(&f->io);
	mem_io_request(&f->io, "GET", "/tollgatex/_debug/pid");
	serve(f);
	expect_error(f, 404, "not_found");
}

static void
t_serve_root(void **state)
{
	struct fix *f = *state;
	json_t *j;

	mem_io_request(&f->io, "GET", "/");
	serve(f);
	j = expect_ok_json(f);
	assert_str(json_string_value(json_object_get(j, "name")), "tollgate");
	assert_true(json_is_string(json_object_get(j, "version")));
	json_decref(j);
}

static void
t_serve_openapi(void **state)
{
	struct fix *f = *state;
	static char doc[] = "{\"openapi\":\"3.1.0\",\"info\":{}}";
	char ctype[128];
	const char *body;

	f->ctx.openapi = doc;
	f->ctx.openapi_len = strlen(doc);
	mem_io_request(&f->io, "GET", "/openapi.json");
	serve(f);
	expect_status(f, 200);
	assert_true(
	    mem_io_header(&f->io, "Content-Type", ctype, sizeof(ctype)));
	assert_true(strncmp(ctype, "application/json", 16) == 0);
	body = mem_io_resp_body(&f->io);
	assert_str(body, doc);
}

static void
t_serve_arena_reusable(void **state)
{
	struct fix *f = *state;
	int i;

	/* The same arena serves request after request. */
	f->conf->debug_routes = 1;
	for (i = 0; i < 50; i++) {
		mem_io_free(&f->io);
		mem_io_init(&f->io);
		post_json(
		    f, "/_debug/echo", "application/json", "{\"a\":[1,2,3]}");
		expect_status(f, 200);
	}
}

static void
t_serve_sleep_bad(void **state)
{
	struct fix *f = *state;
	json_t *j;

	f->conf->debug_routes = 1;
	mem_io_request(&f->io, "GET", "/_debug/sleep?ms=60001");
	serve(f);
	expect_error(f, 400, resp_err_code(TG_EINVAL));
	j = mem_io_json(&f->io);
	assert_str(json_string_value(
		       json_object_get(json_object_get(j, "error"), "param")),
	    "ms");
	json_decref(j);
}

static void
t_serve_health_db_down(void **state)
{
	struct fix *f = *state;
	char *host = f->conf->db_host;
	json_t *j, *db;

	/* Nothing listens on port 1: the database is down. */
	f->conf->db_host = "127.0.0.1";
	f->conf->db_port = 1;
	f->conf->db_connect_timeout = 1;
	assert_int_equal((store_init(), db_library_init()), 0);
	f->ctx.db = db_pool_new(f->conf, 1);
	assert_non_null(f->ctx.db);
	mem_io_request(&f->io, "GET", "/health");
	serve(f);
	db_pool_free(f->ctx.db);
	f->ctx.db = NULL;
	f->conf->db_host = host;
	expect_status(f, 503);
	j = mem_io_json(&f->io);
	assert_str(
	    json_string_value(json_object_get(j, "status")), "unavailable");
	assert_true(json_is_string(json_object_get(j, "version")));
	db = json_object_get(j, "database");
	assert_true(json_is_false(json_object_get(db, "reachable")));
	assert_int_equal(
	    json_integer_value(json_object_get(db, "expected_schema_version")),
	    TG_SCHEMA_VERSION);
	json_decref(j);
}

static void
t_serve_404_non_utf8_path(void **state)
{
	struct fix *f = *state;

	/* The path (echoed in the message) is not UTF-8. */
	mem_io_request(&f->io, "GET", "/%ff%fe");
	serve(f);
	expect_error(f, 404, "not_found");
}

static void
t_serve_options(void **state)
{
	struct fix *f = *state;
	char allow[128], id[129];

	mem_io_request(&f->io, "OPTIONS", "/health");
	serve(f);
	expect_status(f, 204);
	expect_request_id(f, id);
	if (!mem_io_header(&f->io, "Allow", allow, sizeof(allow)))
		fail_msg("no Allow header in:\n%s", f->io.out);
	assert_contains(allow, "GET");
	assert_contains(allow, "OPTIONS");
	assert_str(mem_io_resp_body(&f->io), "");
}

static void
t_serve_cors(void **state)
{
	struct fix *f = *state;
	char v[256];

	f->conf->cors_origins[0] = strdup("https://a.example");
	f->conf->ncors_origins = 1;
	mem_io_request(&f->io, "GET", "/nope");
	mem_io_env(&f->io, "HTTP_ORIGIN", "https://a.example");
	serve(f);
	expect_error(f, 404, "not_found");
	assert_true(
	    mem_io_header(&f->io, "Access-Control-Allow-Origin", v, sizeof(v)));
	assert_str(v, "https://a.example");

	mem_io_free(&f->io);
	mem_io_init(&f->io);
	mem_io_request(&f->io, "GET", "/nope");
	mem_io_env(&f->io, "HTTP_ORIGIN", "https://evil.example");
	serve(f);
	expect_error(f, 404, "not_found");
	assert_false(
	    mem_io_header(&f->io, "Access-Control-Allow-Origin", v, sizeof(v)));
}

static void
t_serve_too_many_params(void **state)
{
	struct fix *f = *state;
	char name[32], id[129];
	int i;

	mem_io_request(&f->io, "GET", "/_debug/pid");
	for (i = 0; i < REQ_MAX_PARAMS + 50; i++) {
		snprintf(name, sizeof(name), "HTTP_X_P%d", i);
		mem_io_env(&f->io, name, "v");
	}
	serve(f);
	/* Whatever the answer, it has a usable request id. */
	expect_request_id(f, id);
	assert_true(test_is_hex32(id));
	json_decref(mem_io_json(&f->io));
}

/*
 * Invariant I6 of reference/ledger.md: every route that reaches a provider
 * goes through the one admission and settle path (chat_metered() in
 * h_chat.c, which the native APIs' handlers call).  A new POST under /v1/
 * or /v1beta/ must be one of its handlers, or this fails.
 */
static void
t_upstream_routes_are_metered(void **state)
{
	const handler_fn metered[] = {h_chat, h_completions, h_embeddings,
	    h_messages, h_responses, h_gemini};
	const struct route *rt;
	size_t n, i, j, found = 0;

	(void)state;
	rt = router_routes(&n);
	for (i = 0; i < n; i++) {
		/* The quote and count_tokens reach no provider. */
		if (rt[i].method != TG_M_POST ||
		    (strncmp(rt[i].pattern, "/v1/", 4) != 0 &&
			strncmp(rt[i].pattern, "/v1beta/", 8) != 0) ||
		    rt[i].fn == h_quote || rt[i].fn == h_messages_count)
			continue;
		for (j = 0; j < sizeof(metered) / sizeof(metered[0]); j++)
			if (rt[i].fn == metered[j])
				break;
		if (j == sizeof(metered) / sizeof(metered[0]))
			fail_msg("POST %s reaches no metered handler",
			    rt[i].pattern);
		assert_true(rt[i].flags & RF_AUTH);
		found++;
	}
	assert_int_equal(found, 6);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_upstream_routes_are_metered),
	    cmocka_unit_test_setup_teardown(
		t_match_meta_routes, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_meta_routes_not_debug, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_alias_prefixes, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_head_matches_get, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_unknown_path, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_wrong_method_allow, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_other_method, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_allow_truncated_safely, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_debug_routes_present, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_debug_routes_hidden, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_debug_echo_wrong_method, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_trailing_slash, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_near_misses, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_index_links_resolve, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_404, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_request_id_echoed, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_request_id_invalid_replaced, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_request_ids_differ, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_405_allow, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_debug_off_404, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo_charset, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo_duplicate_keys, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo_bad_json, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo_not_object, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo_depth, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo_depth_at_cap, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo_text_plain, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_echo_no_content_type, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_413_content_length, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_413_small_cap, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_bad_uri, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_dotdot, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_pid, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_pid_percent_encoded, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_head_no_body, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_head_error_no_body, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_sleep, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_mount_prefix, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_root, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_openapi, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_arena_reusable, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_sleep_bad, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_health_db_down, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_404_non_utf8_path, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_options, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_cors, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_serve_too_many_params, fix_setup, fix_teardown),
	};

	test_init();
	return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
