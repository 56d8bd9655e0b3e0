/* test_csv.c: the usage CSV export's fields: quoting and the spreadsheet formula guard */
#include "test_common.h"

#include "core/buf.h"
#include "http/handlers.h"

/* The field as usage_csv_field writes it. */
static char *
field(const char *s)
{
	static char out[256];
	struct buf b;
	json_t *v = json_string(s);

	buf_init(&b, 4096);
	usage_csv_field(&b, v);
	snprintf(out, sizeof(out), "%s", b.len > 0 ? b.data : "");
	buf_free(&b);
	json_decref(v);
	return out;
}

static void
t_plain(void **state)
{
	assert_str(field("gpt-4o"), "gpt-4o");
	assert_str(field(""), "");
	assert_str(field("a,b"), "\"a,b\"");
	assert_str(field("say \"hi\""), "\"say \"\"hi\"\"\"");
}

/* A spreadsheet runs a cell that starts with any of these: quote and defuse it. */
static void
t_formula_guard(void **state)
{
	assert_str(field("=1+1"), "\"'=1+1\"");
	assert_str(field("+1"), "\"'+1\"");
	assert_str(field("-1"), "\"'-1\"");
	assert_str(field("@SUM(A1)"), "\"'@SUM(A1)\"");
	assert_str(field("\t=cmd|' /C calc'!A0"), "\"'\t=cmd|' /C calc'!A0\"");
	assert_str(field("\r=1+1"), "\"'\r=1+1\"");
	/* Not at the start: data, left alone. */
	assert_str(field("a=b"), "a=b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_plain),
	    cmocka_unit_test(t_formula_guard),
	};

	return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
