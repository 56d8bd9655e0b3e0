/* test_req.c: unit tests for building a request from FastCGI/CGI params */
#include "test_common.h"

#include "core/arena.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "http/req.h"

static enum tg_err
init(struct fix *f)
{
	memset(&f->req, 0, sizeof(f->req));
	return req_init(&f->req, f->arena, &f->io.io, &f->ctx);
}

/* A fresh request for method and uri. */
static enum tg_err
init_uri(struct fix *f, const char *method, const char *uri)
{
	mem_io_free(&f->io);
	mem_io_init(&f->io);
	arena_reset(f->arena);
	mem_io_request(&f->io, method, uri);
	return init(f);
}

/* The decoded path of uri, which must be accepted. */
static void
expect_path(struct fix *f, const char *uri, const char *path)
{
	enum tg_err e = init_uri(f, "GET", uri);

	if (e != TG_OK)
		fail_msg("%s: req_init = %d", uri, (int)e);
	assert_str(f->req.path, path);
}

static void
expect_einval(struct fix *f, const char *uri)
{
	enum tg_err e = init_uri(f, "GET", uri);

	if (e != TG_EINVAL)
		fail_msg("%s: req_init = %d, want TG_EINVAL (%d)", uri, (int)e,
		    (int)TG_EINVAL);
}

static void
t_basic_fields(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "GET", "/health?x=1");
	assert_int_equal(init(f), TG_OK);
	assert_ptr_equal(f->req.arena, f->arena);
	assert_ptr_equal(f->req.io, &f->io.io);
	assert_ptr_equal(f->req.ctx, &f->ctx);
	assert_int_equal(f->req.method, TG_M_GET);
	assert_str(f->req.method_name, "GET");
	assert_str(f->req.uri, "/health?x=1");
	assert_str(f->req.path, "/health");
	assert_str(f->req.query, "x=1");
	assert_str(f->req.remote_addr, "127.0.0.1");
	assert_int_equal(f->req.content_length, -1);
	assert_uint_equal(f->req.nparams, f->io.nenv);
}

static void
t_no_query(void **state)
{
	struct fix *f = *state;

	expect_path(f, "/health", "/health");
	assert_str(f->req.query, "");
	expect_path(f, "/health?", "/health");
	assert_str(f->req.query, "");
}

static void
t_methods(void **state)
{
	static const struct {
		const char *name;
		enum tg_method m;
	} ms[] = {
	    {"GET", TG_M_GET},
	    {"HEAD", TG_M_HEAD},
	    {"POST", TG_M_POST},
	    {"PUT", TG_M_PUT},
	    {"PATCH", TG_M_PATCH},
	    {"DELETE", TG_M_DELETE},
	    {"OPTIONS", TG_M_OPTIONS},
	};
	struct fix *f = *state;
	size_t i;

	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		assert_int_equal(init_uri(f, ms[i].name, "/"), TG_OK);
		assert_int_equal(f->req.method, ms[i].m);
		assert_str(f->req.method_name, ms[i].name);
		assert_int_equal(req_method_parse(ms[i].name), ms[i].m);
		assert_str(req_method_name(ms[i].m), ms[i].name);
	}
	assert_int_equal(init_uri(f, "BREW", "/"), TG_OK);
	assert_int_equal(f->req.method, TG_M_OTHER);
	assert_int_equal(req_method_parse("BREW"), TG_M_OTHER);
	assert_int_equal(req_method_parse(""), TG_M_OTHER);
	assert_int_equal(req_method_parse("GETX"), TG_M_OTHER);
	assert_int_equal(req_method_parse("GE"), TG_M_OTHER);
}

static void
t_percent_decoding(void **state)
{
	struct fix *f = *state;

	expect_path(f, "/he%61lth", "/health");
	expect_path(f, "/he%6Clth", "/hellth");
	expect_path(f, "/%68e%61lth?a=%20", "/health");
	assert_str(f->req.query, "a=%20"); /* the query stays raw */
	expect_path(f, "/a%20b", "/a b");
	assert_str(f->req.uri, "/a%20b");
}

static void
t_rejects_nul(void **state)
{
	struct fix *f = *state;

	expect_einval(f, "/health%00");
	expect_einval(f, "/%00/health");
}

static void
t_rejects_bad_escape(void **state)
{
	struct fix *f = *state;

	expect_einval(f, "/he%zzlth");
	expect_einval(f, "/health%4");
	expect_einval(f, "/health%");
	expect_einval(f, "/%g0");
}

static void
t_rejects_dotdot(void **state)
{
	struct fix *f = *state;

	expect_einval(f, "/a/../health");
	expect_einval(f, "/..");
	expect_einval(f, "/../etc/passwd");
	expect_einval(f, "/a/..");
	/* Encoded dots are dots after decoding. */
	expect_einval(f, "/a/%2e%2e/health");
	expect_einval(f, "/a/.%2E/health");
}

static void
t_dots_not_segments_ok(void **state)
{
	struct fix *f = *state;

	expect_path(f, "/a..b", "/a..b");
	expect_path(f, "/a/..b", "/a/..b");
	expect_path(f, "/a/b..", "/a/b..");
	expect_path(f, "/openapi.json", "/openapi.json");
}

static void
t_rejects_long_uri(void **state)
{
	struct fix *f = *state;
	char *uri = malloc(REQ_MAX_URI + 100);

	assert_non_null(uri);
	uri[0] = '/';
	memset(uri + 1, 'a', REQ_MAX_URI + 10);
	uri[REQ_MAX_URI + 11] = '\0';
	expect_einval(f, uri);
	free(uri);
}

static void
t_mount_prefix(void **state)
{
	struct fix *f = *state;

	f->conf->mount_prefix = "/tollgate";
	expect_path(f, "/tollgate/health", "/health");
	assert_str(f->req.uri, "/tollgate/health");
	expect_path(f, "/tollgate", "/");
	expect_path(f, "/tollgate/", "/");
	expect_path(f, "/tollgate?x=1", "/");
	assert_str(f->req.query, "x=1");
	expect_path(f, "/tollgate/_debug/echo?a=b", "/_debug/echo");
}

static void
t_mount_prefix_not_partial(void **state)
{
	struct fix *f = *state;
	enum tg_err e;

	f->conf->mount_prefix = "/tollgate";
	e = init_uri(f, "GET", "/tollgatex/health");
	/* Either refused, or kept whole so routing 404s: never "x/health". */
	if (e == TG_OK) {
		assert_str(f->req.path, "/tollgatex/health");
	} else {
		assert_true(e == TG_ENOENT || e == TG_EINVAL);
	}
}

static void
t_no_prefix_by_default(void **state)
{
	struct fix *f = *state;

	expect_path(f, "/tollgate/health", "/tollgate/health");
}

static void
t_content_length(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "POST", "/x");
	mem_io_env(&f->io, "CONTENT_LENGTH", "1234");
	assert_int_equal(init(f), TG_OK);
	assert_int_equal(f->req.content_length, 1234);
}

static void
t_content_length_empty(void **state)
{
	struct fix *f = *state;

	/* nginx sends CONTENT_LENGTH="" when the request has no body. */
	mem_io_request(&f->io, "GET", "/x");
	mem_io_env(&f->io, "CONTENT_LENGTH", "");
	assert_int_equal(init(f), TG_OK);
	assert_true(f->req.content_length <= 0);
}

static void
t_content_length_over_max_body(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "POST", "/x");
	mem_io_env(&f->io, "CONTENT_LENGTH", "8388609");
	assert_int_equal(init(f), TG_ETOOBIG);
}

static void
t_content_length_at_max_body(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "POST", "/x");
	mem_io_env(&f->io, "CONTENT_LENGTH", "8388608");
	assert_int_equal(init(f), TG_OK);
	assert_int_equal(f->req.content_length, 8388608);
}

static void
t_content_length_small_cap(void **state)
{
	struct fix *f = *state;

	f->conf->max_body = 10;
	mem_io_request(&f->io, "POST", "/x");
	mem_io_env(&f->io, "CONTENT_LENGTH", "11");
	assert_int_equal(init(f), TG_ETOOBIG);
}

static void
t_header_lookup(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "GET", "/");
	mem_io_env(&f->io, "HTTP_X_REQUEST_ID", "abc-123");
	mem_io_env(&f->io, "HTTP_AUTHORIZATION", "Bearer t");
	mem_io_env(&f->io, "HTTP_USER_AGENT", "curl/8");
	assert_int_equal(init(f), TG_OK);
	assert_str(req_header(&f->req, "X-Request-Id"), "abc-123");
	assert_str(req_header(&f->req, "x-request-id"), "abc-123");
	assert_str(req_header(&f->req, "X-REQUEST-ID"), "abc-123");
	assert_str(req_header(&f->req, "Authorization"), "Bearer t");
	assert_str(req_header(&f->req, "user-agent"), "curl/8");
	assert_null(req_header(&f->req, "X-Missing"));
	assert_null(req_header(&f->req, "X-Request"));
	assert_null(req_header(&f->req, "X-Request-Id-Extra"));
}

static void
t_param_lookup(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "POST", "/");
	mem_io_env(&f->io, "CONTENT_TYPE", "application/json");
	mem_io_env(&f->io, "EMPTY", "");
	mem_io_env(&f->io, "WITH_EQ", "a=b=c");
	assert_int_equal(init(f), TG_OK);
	assert_str(req_param(&f->req, "CONTENT_TYPE"), "application/json");
	assert_str(req_param(&f->req, "REQUEST_METHOD"), "POST");
	assert_str(req_param(&f->req, "EMPTY"), "");
	assert_str(req_param(&f->req, "WITH_EQ"), "a=b=c");
	assert_null(req_param(&f->req, "CONTENT"));
	assert_null(req_param(&f->req, "NOPE"));
}

static void
t_params_copied(void **state)
{
	struct fix *f = *state;
	size_t i;

	mem_io_request(&f->io, "GET", "/health");
	mem_io_env(&f->io, "HTTP_X_REQUEST_ID", "abc-123");
	assert_int_equal(init(f), TG_OK);
	/* The io's strings are borrowed; scribbling on them changes nothing. */
	for (i = 0; i < f->io.nenv; i++)
		memset(f->io.env[i], 'Z', strlen(f->io.env[i]));
	assert_str(req_header(&f->req, "X-Request-Id"), "abc-123");
	assert_str(f->req.path, "/health");
	assert_str(f->req.uri, "/health");
	assert_str(f->req.method_name, "GET");
	assert_str(req_param(&f->req, "REMOTE_ADDR"), "127.0.0.1");
}

static void
t_params_capped(void **state)
{
	struct fix *f = *state;
	char name[32];
	int i;

	mem_io_request(&f->io, "GET", "/health");
	for (i = 0; i < REQ_MAX_PARAMS + 50; i++) {
		snprintf(name, sizeof(name), "HTTP_X_P%d", i);
		mem_io_env(&f->io, name, "v");
	}
	(void)init(f);
	assert_true(f->req.nparams <= REQ_MAX_PARAMS);
}

static void
t_query_args(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "GET", "/x?a=1&b=x%20y&c=&aa=2&e=%2526");
	assert_int_equal(init(f), TG_OK);
	assert_str(req_query(&f->req, "a"), "1");
	assert_str(req_query(&f->req, "b"), "x y");
	assert_str(req_query(&f->req, "c"), "");
	assert_str(req_query(&f->req, "aa"), "2");
	assert_str(req_query(&f->req, "e"), "%26");
	assert_null(req_query(&f->req, "z"));
	assert_null(req_query(&f->req, "x"));
}

static void
t_query_plus(void **state)
{
	struct fix *f = *state;

	/* Form encoding: '+' is a space, "%2B" a literal plus. */
	mem_io_request(&f->io, "GET", "/x?q=1%2B1&r=a+b&s=%2b");
	assert_int_equal(init(f), TG_OK);
	assert_str(req_query(&f->req, "q"), "1+1");
	assert_str(req_query(&f->req, "r"), "a b");
	assert_str(req_query(&f->req, "s"), "+");
}

static void
t_query_bad_escape(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "GET", "/x?a=%zz&b=%00&c=ok");
	assert_int_equal(init(f), TG_OK);
	assert_null(req_query(&f->req, "a"));
	assert_null(req_query(&f->req, "b"));
	assert_str(req_query(&f->req, "c"), "ok");
}

static void
t_query_prefix_names(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "GET", "/x?aa=1&a=2");
	assert_int_equal(init(f), TG_OK);
	assert_str(req_query(&f->req, "a"), "2");
	assert_str(req_query(&f->req, "aa"), "1");
}

static void
t_query_none(void **state)
{
	struct fix *f = *state;

	mem_io_request(&f->io, "GET", "/x");
	assert_int_equal(init(f), TG_OK);
	assert_null(req_query(&f->req, "a"));
}

/* A POST of body with this CONTENT_LENGTH. */
static void
setup_body(struct fix *f, const char *clen, const char *body, size_t len)
{
	mem_io_request(&f->io, "POST", "/_debug/echo");
	mem_io_env(&f->io, "CONTENT_TYPE", "application/json");
	if (clen != NULL)
		mem_io_env(&f->io, "CONTENT_LENGTH", clen);
	mem_io_body(&f->io, body, len);
	assert_int_equal(init(f), TG_OK);
}

static void
t_read_body_exact(void **state)
{
	struct fix *f = *state;

	setup_body(f, "5", "hello", 5);
	assert_int_equal(req_read_body(&f->req, 100), TG_OK);
	assert_uint_equal(f->req.body_len, 5);
	assert_non_null(f->req.body);
	assert_memory_equal(f->req.body, "hello", 6); /* with the NUL */
}

static void
t_read_body_in_pieces(void **state)
{
	struct fix *f = *state;
	static char data[10000];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	f->io.chunk = 7;
	setup_body(f, "10000", data, sizeof(data));
	assert_int_equal(req_read_body(&f->req, 20000), TG_OK);
	assert_uint_equal(f->req.body_len, 10000);
	assert_memory_equal(f->req.body, data, 10000);
	assert_int_equal(f->req.body[10000], '\0');
}

static void
t_read_body_at_cap(void **state)
{
	struct fix *f = *state;

	setup_body(f, "5", "hello", 5);
	assert_int_equal(req_read_body(&f->req, 5), TG_OK);
	assert_str(f->req.body, "hello");
}

static void
t_read_body_over_cap(void **state)
{
	struct fix *f = *state;

	setup_body(f, "10", "0123456789", 10);
	assert_int_equal(req_read_body(&f->req, 5), TG_ETOOBIG);
}

static void
t_read_body_short(void **state)
{
	struct fix *f = *state;

	setup_body(f, "10", "hello", 5);
	assert_int_equal(req_read_body(&f->req, 100), TG_EINVAL);
}

static void
t_read_body_only_content_length(void **state)
{
	struct fix *f = *state;

	/* Bytes past CONTENT_LENGTH are not part of the body. */
	setup_body(f, "3", "hello", 5);
	assert_int_equal(req_read_body(&f->req, 100), TG_OK);
	assert_uint_equal(f->req.body_len, 3);
	assert_str(f->req.body, "hel");
}

static void
t_read_body_empty(void **state)
{
	struct fix *f = *state;

	setup_body(f, "0", "", 0);
	assert_int_equal(req_read_body(&f->req, 100), TG_OK);
	assert_uint_equal(f->req.body_len, 0);
	assert_non_null(f->req.body);
	assert_str(f->req.body, "");
}

/* JSON is UTF-8: a charset parameter naming anything else is refused. */
static void
t_json_type(void **state)
{
	static const struct {
		const char *ct;
		int json;
	} cases[] = {
	    {"application/json", 1},
	    {"Application/JSON", 1},
	    {"application/json; charset=utf-8", 1},
	    {"application/json;charset=UTF-8", 1},
	    {"application/json; charset=\"utf-8\"", 1},
	    {"application/json; Charset=utf8", 1},
	    {"application/json ; charset = UTF-8 ", 1},
	    {"application/json; profile=x; charset=utf-8", 1},
	    {"application/json; charset=utf-16", 0},
	    {"application/json; charset=\"UTF-16LE\"", 0},
	    {"application/json; charset=iso-8859-1", 0},
	    {"application/json; charset=", 0},
	    {"application/json; charset=utf-8; charset=utf-16", 0},
	    {"application/json; charset=\"utf-8", 0},
	    {"application/jsonx", 0},
	    {"application/json x", 0},
	    {"text/plain", 0},
	    {"", 0},
	};
	size_t i;

	(void)state;
	assert_int_equal(req_json_type(NULL), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (req_json_type(cases[i].ct) != cases[i].json)
			fail_msg("req_json_type(\"%s\") != %d", cases[i].ct,
			    cases[i].json);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		t_basic_fields, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_no_query, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(t_methods, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_percent_decoding, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_rejects_nul, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_rejects_bad_escape, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_rejects_dotdot, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_dots_not_segments_ok, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_rejects_long_uri, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_mount_prefix, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_mount_prefix_not_partial, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_no_prefix_by_default, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_content_length, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_content_length_empty, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_content_length_over_max_body, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_content_length_at_max_body, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_content_length_small_cap, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_header_lookup, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_param_lookup, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_params_copied, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_params_capped, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_query_args, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_query_plus, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_query_bad_escape, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_query_prefix_names, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_query_none, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_read_body_exact, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_read_body_in_pieces, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_read_body_at_cap, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_read_body_over_cap, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_read_body_short, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_read_body_only_content_length, fix_setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_read_body_empty, fix_setup, fix_teardown),
	    cmocka_unit_test(t_json_type),
	};

	test_init();
	return cmocka_run_group_tests_name("req", tests, NULL, NULL);
}
