/* test_op.c: unit tests for struct op failures and their rendering (resp_op, resp_from_op) */
#include "test_common.h"

#include "core/json.h"
#include "domain/op.h"
#include "http/pipeline.h"

static void
t_fail(void **state)
{
	struct arena *a = arena_new(4096);
	struct op op = {.arena = a};

	(void)state;
	assert_int_equal(op_fail(&op, TG_EPERM, "key_disabled", "id",
			     "key %s is %s", "key_x", "off"),
	    TG_EPERM);
	assert_int_equal(op.fail.err, TG_EPERM);
	assert_str(op.fail.code, "key_disabled");
	assert_str(op.fail.param, "id");
	assert_str(op.fail.message, "key key_x is off");
	/* No message: the error table's. */
	op_fail(&op, TG_EDB, NULL, NULL, NULL);
	assert_null(op.fail.message);
	assert_null(op.fail.code);
	op_clear(&op);
	assert_int_equal(op.fail.err, TG_OK);
	arena_free(a);
}

static void
t_check(void **state)
{
	static const struct jx_field spec[] = {
	    {"name", JX_STRING, 1},
	    {NULL, 0, 0},
	};
	struct arena *a = arena_new(4096);
	struct op op = {.arena = a};
	json_t *b = json_pack("{s:i}", "name", 3);

	(void)state;
	assert_int_equal(op_check(&op, b, spec), TG_EINVAL);
	assert_str(op.fail.code, "invalid_type");
	assert_str(op.fail.param, "name");
	assert_non_null(op.fail.message);
	json_object_set_new(b, "name", json_string("x"));
	op_clear(&op);
	assert_int_equal(op_check(&op, b, spec), TG_OK);
	assert_int_equal(op.fail.err, TG_OK);
	json_decref(b);
	arena_free(a);
}

/* The header value of name in resp, or NULL. */
static const char *
header(const struct tg_resp *resp, const char *name)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcmp(resp->hname[i], name) == 0)
			return resp->hval[i];
	return NULL;
}

static void
t_render(void **state)
{
	struct tg_req r;
	struct tg_resp resp;
	struct op op;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.arena = arena_new(4096);
	op = (struct op){.arena = r.arena};
	resp_init(&resp);
	/* Nothing recorded: the result passes as it is, resp untouched. */
	assert_int_equal(resp_op(&r, &resp, &op, TG_EDB), TG_EDB);
	assert_int_equal(resp.err, TG_OK);
	assert_int_equal(resp.nheaders, 0);
	assert_int_equal(resp_op(&r, &resp, &op, TG_OK), TG_OK);
	/* A throttle: its code, message and Retry-After. */
	op_fail(&op, TG_ERATE, "too_many_attempts", NULL, "wait %d s", 30);
	op.fail.retry_after = 30;
	assert_int_equal(resp_op(&r, &resp, &op, TG_ERATE), TG_ERATE);
	assert_int_equal(resp.err, TG_ERATE);
	assert_str(resp.errcode, "too_many_attempts");
	assert_null(resp.errparam);
	assert_str(resp.errmsg, "wait 30 s");
	assert_str(header(&resp, "Retry-After"), "30");
	resp_clear(&resp);
	arena_free(r.arena);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_fail),
	    cmocka_unit_test(t_check),
	    cmocka_unit_test(t_render),
	};

	test_init();
	return cmocka_run_group_tests_name("op", tests, NULL, NULL);
}
