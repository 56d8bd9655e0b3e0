/* test_buf.c: unit tests for the capped growable byte buffer */
#include "test_common.h"

#include "core/buf.h"

static void
t_init_empty(void **state)
{
	struct buf b;

	memset(&b, 0xa5, sizeof(b));
	buf_init(&b, 100);
	assert_uint_equal(b.len, 0);
	assert_uint_equal(b.cap, 100);
	buf_free(&b);
}

static void
t_append_puts_printf(void **state)
{
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(buf_append(&b, "abc", 3), TG_OK);
	assert_uint_equal(b.len, 3);
	assert_str(b.data, "abc");
	assert_int_equal(buf_puts(&b, "def"), TG_OK);
	assert_uint_equal(b.len, 6);
	assert_str(b.data, "abcdef");
	assert_int_equal(buf_printf(&b, "%d-%s", 7, "x"), TG_OK);
	assert_uint_equal(b.len, 9);
	assert_str(b.data, "abcdef7-x");
	assert_true(b.size > b.len);
	buf_free(&b);
}

static void
t_append_binary(void **state)
{
	struct buf b;

	buf_init(&b, 64);
	assert_int_equal(buf_append(&b, "a\0b", 3), TG_OK);
	assert_uint_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 3);
	assert_int_equal(b.data[3], '\0');
	buf_free(&b);
}

static void
t_grows(void **state)
{
	struct buf b;
	size_t i;

	buf_init(&b, 1 << 20);
	for (i = 0; i < 10000; i++)
		assert_int_equal(buf_append(&b, (i % 2) ? "y" : "x", 1), TG_OK);
	assert_uint_equal(b.len, 10000);
	assert_uint_equal(strlen(b.data), 10000);
	for (i = 0; i < 10000; i++)
		assert_int_equal(b.data[i], (i % 2) ? 'y' : 'x');
	assert_int_equal(buf_printf(&b, "%0*d", 20000, 1), TG_OK);
	assert_uint_equal(b.len, 30000);
	assert_int_equal(b.data[29999], '1');
	assert_int_equal(b.data[30000], '\0');
	buf_free(&b);
}

static void
t_exact_cap_ok(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "0123456789", 10), TG_OK);
	assert_uint_equal(b.len, 10);
	assert_str(b.data, "0123456789");
	buf_free(&b);

	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "01234"), TG_OK);
	assert_int_equal(buf_printf(&b, "%s", "56789"), TG_OK);
	assert_str(b.data, "0123456789");
	buf_free(&b);
}

static void
t_over_cap_frees(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "0123456789", 10), TG_OK);
	assert_int_equal(buf_append(&b, "x", 1), TG_ETOOBIG);
	assert_uint_equal(b.len, 0);
	assert_null(b.data);
	/* Still reusable, with the same cap. */
	assert_uint_equal(b.cap, 10);
	assert_int_equal(buf_puts(&b, "ok"), TG_OK);
	assert_str(b.data, "ok");
	buf_free(&b);
}

static void
t_over_cap_single_append(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "0123456789A", 11), TG_ETOOBIG);
	assert_uint_equal(b.len, 0);
	assert_null(b.data);
	buf_free(&b);
}

static void
t_over_cap_puts_printf(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345"), TG_OK);
	assert_int_equal(buf_puts(&b, "6789"), TG_ETOOBIG);
	assert_uint_equal(b.len, 0);
	assert_null(b.data);

	assert_int_equal(buf_puts(&b, "1234567"), TG_OK);
	assert_int_equal(buf_printf(&b, "%d", 42), TG_ETOOBIG);
	assert_uint_equal(b.len, 0);
	assert_null(b.data);
	buf_free(&b);
}

static void
t_reset(void **state)
{
	struct buf b;
	char big[100];

	memset(big, 'z', sizeof(big));
	buf_init(&b, 100);
	assert_int_equal(buf_puts(&b, "first"), TG_OK);
	buf_reset(&b);
	assert_uint_equal(b.len, 0);
	assert_int_equal(buf_puts(&b, "second"), TG_OK);
	assert_uint_equal(b.len, 6);
	assert_str(b.data, "second");
	/* The cap counts what is in the buffer now, not what ever was. */
	buf_reset(&b);
	assert_int_equal(buf_append(&b, big, sizeof(big)), TG_OK);
	assert_uint_equal(b.len, 100);
	buf_free(&b);
}

static void
t_free_twice(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	assert_int_equal(buf_puts(&b, "data"), TG_OK);
	buf_free(&b);
	assert_uint_equal(b.len, 0);
	assert_null(b.data);
	buf_free(&b);
	assert_uint_equal(b.len, 0);
	/* Reusable after free. */
	assert_int_equal(buf_puts(&b, "again"), TG_OK);
	assert_str(b.data, "again");
	buf_free(&b);
	buf_free(NULL);
}

static void
t_free_unused(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	buf_free(&b);
	assert_null(b.data);
	assert_uint_equal(b.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_init_empty),
	    cmocka_unit_test(t_append_puts_printf),
	    cmocka_unit_test(t_append_binary),
	    cmocka_unit_test(t_grows),
	    cmocka_unit_test(t_exact_cap_ok),
	    cmocka_unit_test(t_over_cap_frees),
	    cmocka_unit_test(t_over_cap_single_append),
	    cmocka_unit_test(t_over_cap_puts_printf),
	    cmocka_unit_test(t_reset),
	    cmocka_unit_test(t_free_twice),
	    cmocka_unit_test(t_free_unused),
	};

	test_init();
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
