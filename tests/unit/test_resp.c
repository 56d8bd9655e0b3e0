/* test_resp.c: unit tests for the error table and the response writer */
#include "test_common.h"

#include "core/arena.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "http/req.h"
#include "http/resp.h"

static const struct {
	enum tg_err err;
	int status;
} statuses[] = {
    {TG_EINVAL, 400},
    {TG_EJSON, 400},
    {TG_EAUTH, 401},
    {TG_ECREDIT, 402},
    {TG_EPERM, 403},
    {TG_ENOENT, 404},
    {TG_EMETHOD, 405},
    {TG_ECONFLICT, 409},
    {TG_ETOOBIG, 413},
    {TG_EMEDIA, 415},
    {TG_ERATE, 429},
    {TG_ESYSTEM, 500},
    {TG_EUPSTREAM, 502},
    {TG_EDB, 503},
    {TG_ESCHEMA, 503},
    {TG_ETIMEOUT, 504},
    {TG_EUNAVAIL, 503},
};

static int
setup(void **state)
{
	struct fix *f;

	fix_setup(state);
	f = *state;
	f->req.method = TG_M_GET;
	f->req.method_name = "GET";
	f->req.uri = "/nope";
	f->req.path = "/nope";
	f->req.query = "";
	f->req.content_length = -1;
	snprintf(f->req.request_id, sizeof(f->req.request_id), "%s",
	    "0123456789abcdef0123456789abcdef");
	return 0;
}

/* The "error" member of the body, which must have exactly the four keys. */
static json_t *
error_obj(json_t *j)
{
	json_t *e = json_object_get(j, "error");

	if (!json_is_object(e))
		fail_msg("no error object");
	assert_int_equal(json_object_size(j), 1);
	assert_int_equal(json_object_size(e), 4);
	assert_true(json_is_string(json_object_get(e, "message")));
	assert_true(json_is_string(json_object_get(e, "type")));
	assert_true(json_is_string(json_object_get(e, "code")));
	assert_non_null(json_object_get(e, "param"));
	return e;
}

static void
t_err_status_table(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		int s = resp_err_status(statuses[i].err);

		if (s != statuses[i].status)
			fail_msg("err %d: status %d, want %d",
			    (int)statuses[i].err, s, statuses[i].status);
	}
	/* Every value has an entry. */
	assert_int_equal(
	    sizeof(statuses) / sizeof(statuses[0]), TG_ERR__MAX - 1);
}

static void
t_err_codes(void **state)
{
	assert_str(resp_err_code(TG_ENOENT), "not_found");
	assert_str(resp_err_code(TG_EMETHOD), "method_not_allowed");
	assert_str(resp_err_code(TG_ETOOBIG), "body_too_large");
	assert_str(resp_err_code(TG_EJSON), "invalid_json");
	assert_str(resp_err_code(TG_EMEDIA), "unsupported_media_type");
}

static void
t_err_type_code_all(void **state)
{
	int e;

	for (e = TG_EINVAL; e < TG_ERR__MAX; e++) {
		const char *t = resp_err_type((enum tg_err)e);
		const char *c = resp_err_code((enum tg_err)e);

		if (t == NULL || *t == '\0' || c == NULL || *c == '\0')
			fail_msg("err %d has no type or code", e);
	}
}

static void
t_fail_returns_err(void **state)
{
	struct fix *f = *state;
	enum tg_err e;

	e = resp_fail(
	    &f->req, &f->resp, TG_ENOENT, NULL, "no route for %s", "/nope");
	assert_int_equal(e, TG_ENOENT);
	assert_int_equal(f->resp.err, TG_ENOENT);
	assert_str(f->resp.errmsg, "no route for /nope");
	assert_null(f->resp.errparam);
	assert_int_equal(
	    resp_fail(&f->req, &f->resp, TG_EDB, "x", "db"), TG_EDB);
	assert_int_equal(f->resp.err, TG_EDB);
	assert_str(f->resp.errparam, "x");
}

static void
t_send_error_404(void **state)
{
	struct fix *f = *state;
	char v[128];
	const char *body, *end;
	json_t *j, *e;

	(void)resp_fail(
	    &f->req, &f->resp, TG_ENOENT, NULL, "no route for %s", "/nope");
	resp_set_error(&f->resp, TG_ENOENT);
	resp_header(&f->resp, "X-Test", "yes");
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_int_equal(f->resp.sent, 1);

	assert_non_null(f->io.out);
	assert_contains(f->io.out, "Status: 404 Not Found\r\n");
	assert_int_equal(mem_io_status(&f->io), 404);
	assert_true(mem_io_header(&f->io, "Content-Type", v, sizeof(v)));
	assert_true(strncmp(v, "application/json", 16) == 0);
	assert_true(mem_io_header(&f->io, "X-Test", v, sizeof(v)));
	assert_str(v, "yes");
	/* The blank line comes after all headers. */
	end = strstr(f->io.out, "\r\n\r\n");
	assert_non_null(end);
	assert_true(strstr(f->io.out, "X-Test: yes\r\n") < end);

	body = mem_io_resp_body(&f->io);
	assert_uint_equal(f->resp.bytes, strlen(body));
	j = mem_io_json(&f->io);
	e = error_obj(j);
	assert_str(json_string_value(json_object_get(e, "message")),
	    "no route for /nope");
	assert_str(json_string_value(json_object_get(e, "type")),
	    resp_err_type(TG_ENOENT));
	assert_true(json_is_null(json_object_get(e, "param")));
	assert_str(json_string_value(json_object_get(e, "code")), "not_found");
	json_decref(j);
}

static void
t_send_error_param(void **state)
{
	struct fix *f = *state;
	json_t *j, *e;

	(void)resp_fail(&f->req, &f->resp, TG_EINVAL, "model",
	    "model %s is unknown", "gpt-x");
	resp_set_error(&f->resp, TG_EINVAL);
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_int_equal(mem_io_status(&f->io), 400);
	assert_contains(f->io.out, "Status: 400 Bad Request\r\n");
	j = mem_io_json(&f->io);
	e = error_obj(j);
	assert_str(json_string_value(json_object_get(e, "param")), "model");
	assert_str(json_string_value(json_object_get(e, "message")),
	    "model gpt-x is unknown");
	assert_str(json_string_value(json_object_get(e, "code")),
	    resp_err_code(TG_EINVAL));
	json_decref(j);
}

static void
t_send_error_default_message(void **state)
{
	struct fix *f = *state;
	json_t *j, *e;

	resp_set_error(&f->resp, TG_ETOOBIG);
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_int_equal(mem_io_status(&f->io), 413);
	j = mem_io_json(&f->io);
	e = error_obj(j);
	assert_true(json_string_length(json_object_get(e, "message")) > 0);
	assert_true(json_is_null(json_object_get(e, "param")));
	assert_str(
	    json_string_value(json_object_get(e, "code")), "body_too_large");
	json_decref(j);
}

static void
t_send_every_error(void **state)
{
	struct fix *f = *state;
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		json_t *j, *e;

		mem_io_free(&f->io);
		mem_io_init(&f->io);
		resp_clear(&f->resp);
		resp_init(&f->resp);
		(void)resp_fail(
		    &f->req, &f->resp, statuses[i].err, NULL, "failure %zu", i);
		resp_set_error(&f->resp, statuses[i].err);
		assert_int_equal(resp_send(&f->req, &f->resp), 0);
		assert_int_equal(mem_io_status(&f->io), statuses[i].status);
		j = mem_io_json(&f->io);
		e = error_obj(j);
		assert_str(json_string_value(json_object_get(e, "code")),
		    resp_err_code(statuses[i].err));
		assert_str(json_string_value(json_object_get(e, "type")),
		    resp_err_type(statuses[i].err));
		json_decref(j);
	}
}

static void
t_send_message_escaped(void **state)
{
	struct fix *f = *state;
	const char *msg = "bad \"quote\" \\ back\x01slash\n\ttab </script>";
	json_t *j, *e;

	(void)resp_fail(&f->req, &f->resp, TG_EINVAL, "a\"b", "%s", msg);
	resp_set_error(&f->resp, TG_EINVAL);
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	j = mem_io_json(&f->io);
	e = error_obj(j);
	assert_str(json_string_value(json_object_get(e, "message")), msg);
	assert_str(json_string_value(json_object_get(e, "param")), "a\"b");
	json_decref(j);
	/* Control characters never reach the wire raw. */
	assert_null(strchr(mem_io_resp_body(&f->io), '\x01'));
}

static void
t_send_message_invalid_utf8(void **state)
{
	struct fix *f = *state;
	json_t *j, *e;

	/* A client's path is not necessarily UTF-8, e.g. /%ff. */
	(void)resp_fail(
	    &f->req, &f->resp, TG_ENOENT, NULL, "no route for %s", "/\xff\xfe");
	resp_set_error(&f->resp, TG_ENOENT);
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_int_equal(mem_io_status(&f->io), 404);
	j = mem_io_json(&f->io);
	e = error_obj(j);
	assert_str(json_string_value(json_object_get(e, "code")), "not_found");
	json_decref(j);
}

static void
t_send_json_200(void **state)
{
	struct fix *f = *state;
	char v[128];
	const char *body;
	json_t *j;

	f->resp.body = json_pack("{s:b}", "ok", 1);
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_contains(f->io.out, "Status: 200 OK\r\n");
	assert_true(mem_io_header(&f->io, "Content-Type", v, sizeof(v)));
	assert_true(strncmp(v, "application/json", 16) == 0);
	body = mem_io_resp_body(&f->io);
	j = mem_io_json(&f->io);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
	assert_uint_equal(f->resp.bytes, strlen(body));
}

static void
t_send_status_201(void **state)
{
	struct fix *f = *state;

	f->resp.status = 201;
	f->resp.body = json_object();
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_contains(f->io.out, "Status: 201 Created\r\n");
	json_decref(mem_io_json(&f->io));
}

static void
t_send_raw(void **state)
{
	struct fix *f = *state;
	char v[128];

	f->resp.raw = "hello\nworld";
	f->resp.rawlen = 5;
	f->resp.ctype = "text/plain";
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_int_equal(mem_io_status(&f->io), 200);
	assert_true(mem_io_header(&f->io, "Content-Type", v, sizeof(v)));
	assert_true(strncmp(v, "text/plain", 10) == 0);
	assert_str(mem_io_resp_body(&f->io), "hello");
	assert_uint_equal(f->resp.bytes, 5);
}

static void
t_header_no_injection(void **state)
{
	struct fix *f = *state;
	const char *end;

	/* A value with CR/LF (say, echoed input) must not forge headers. */
	resp_header(&f->resp, "X-Echo", "x\r\nSet-Cookie: a=b");
	resp_header(&f->resp, "X-Echo2", "y\nSet-Cookie: c=d");
	f->resp.body = json_object();
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	end = strstr(f->io.out, "\r\n\r\n");
	assert_non_null(end);
	assert_null(test_strcasestr(f->io.out, "\nSet-Cookie"));
	assert_int_equal(mem_io_status(&f->io), 200);
	json_decref(mem_io_json(&f->io));
}

static void
t_send_head_only(void **state)
{
	struct fix *f = *state;
	const char *body;

	f->resp.body = json_pack("{s:i}", "pid", 1);
	f->resp.head_only = 1;
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_int_equal(mem_io_status(&f->io), 200);
	body = mem_io_resp_body(&f->io);
	assert_non_null(body);
	assert_str(body, "");
	assert_uint_equal(f->resp.bytes, 0);
}

static void
t_send_head_only_error(void **state)
{
	struct fix *f = *state;

	f->resp.head_only = 1;
	(void)resp_fail(&f->req, &f->resp, TG_ENOENT, NULL, "gone");
	resp_set_error(&f->resp, TG_ENOENT);
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_int_equal(mem_io_status(&f->io), 404);
	assert_str(mem_io_resp_body(&f->io), "");
}

static void
t_send_client_gone(void **state)
{
	struct fix *f = *state;

	f->io.write_fail = 1;
	f->resp.body = json_object();
	assert_int_equal(resp_send(&f->req, &f->resp), -1);
}

static void
t_headers_capped(void **state)
{
	struct fix *f = *state;
	char name[32];
	int i;

	for (i = 0; i < RESP_MAX_HEADERS + 10; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		resp_header(&f->resp, arena_strdup(f->arena, name), "v");
	}
	assert_true(f->resp.nheaders <= RESP_MAX_HEADERS);
	f->resp.body = json_object();
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	assert_int_equal(mem_io_status(&f->io), 200);
	assert_contains(f->io.out, "X-H0: v\r\n");
}

static void
t_clear_releases_body(void **state)
{
	struct fix *f = *state;
	json_t *j = json_object();

	json_incref(j);
	f->resp.body = j;
	assert_int_equal(j->refcount, 2);
	resp_clear(&f->resp);
	assert_int_equal(j->refcount, 1);
	assert_null(f->resp.body);
	resp_clear(&f->resp); /* twice is fine */
	json_decref(j);
}

static void
t_send_releases_body(void **state)
{
	struct fix *f = *state;
	json_t *j = json_object();

	json_incref(j);
	f->resp.body = j;
	assert_int_equal(resp_send(&f->req, &f->resp), 0);
	resp_clear(&f->resp);
	/* Whichever of send and clear let go, it was let go exactly once. */
	assert_int_equal(j->refcount, 1);
	json_decref(j);
}

static void
t_init_defaults(void **state)
{
	struct tg_resp r;

	memset(&r, 0xa5, sizeof(r));
	resp_init(&r);
	assert_int_equal(r.status, 0);
	assert_null(r.body);
	assert_null(r.raw);
	assert_uint_equal(r.nheaders, 0);
	assert_int_equal(r.err, TG_OK);
	assert_int_equal(r.sent, 0);
	assert_int_equal(r.head_only, 0);
	assert_uint_equal(r.bytes, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_err_status_table),
	    cmocka_unit_test(t_err_codes),
	    cmocka_unit_test(t_err_type_code_all),
	    cmocka_unit_test(t_init_defaults),
	    cmocka_unit_test_setup_teardown(
		t_fail_returns_err, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_error_404, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_error_param, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_error_default_message, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_every_error, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_message_escaped, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_message_invalid_utf8, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_json_200, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_status_201, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(t_send_raw, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_header_no_injection, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_head_only, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_head_only_error, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_client_gone, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_headers_capped, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_clear_releases_body, setup, fix_teardown),
	    cmocka_unit_test_setup_teardown(
		t_send_releases_body, setup, fix_teardown),
	};

	test_init();
	return cmocka_run_group_tests_name("resp", tests, NULL, NULL);
}
