/* test_convlog.c: unit tests for conversation logs (issue 18): zlib adapter, derived keys, levels, journal lines */
#include "test_common.h"

#include <dirent.h>

#include "core/crypto.h"
#include "core/zip.h"
#include "domain/convlog.h"
#include "domain/journal.h"
#include "domain/usage.h"
#include "io/db.h"

static void
t_zip_round_trip(void **state)
{
	const char *s = "hello hello hello hello, a text that deflates well";
	unsigned char z[256], out[256];
	size_t zn, n;

	(void)state;
	assert_int_equal(zip_deflate(s, strlen(s), z, sizeof(z), &zn), 0);
	assert_true(zn < strlen(s));
	assert_int_equal(zip_inflate(z, zn, out, sizeof(out), &n), 0);
	assert_int_equal(n, strlen(s));
	assert_memory_equal(out, s, n);
	/* Altered (its checksum) or cut short: refused. */
	z[zn - 1] ^= 0x40;
	assert_int_equal(zip_inflate(z, zn, out, sizeof(out), &n), -1);
	z[zn - 1] ^= 0x40;
	assert_int_equal(zip_inflate(z, zn - 3, out, sizeof(out), &n), -1);
}

/* More than the cap stops at the cap: a small row cannot inflate into gigabytes. */
static void
t_zip_bomb(void **state)
{
	static unsigned char zeros[1 << 20], z[1 << 16], out[1 << 20];
	size_t zn, n;

	(void)state;
	assert_int_equal(
	    zip_deflate(zeros, sizeof(zeros), z, sizeof(z), &zn), 0);
	assert_true(zn < 4096);
	assert_int_equal(zip_inflate(z, zn, out, 1000, &n), -1);
	assert_int_equal(zip_inflate(z, zn, out, sizeof(out), &n), 0);
	assert_int_equal(n, sizeof(zeros));
	/* Too small an output buffer for deflate is an error, not an overrun. */
	assert_int_equal(zip_deflate(zeros, sizeof(zeros), z, 8, &zn), -1);
}

static void
t_derive(void **state)
{
	unsigned char m[CRYPTO_MASTER_LEN], a[CRYPTO_MASTER_LEN],
	    b[CRYPTO_MASTER_LEN], c[CRYPTO_MASTER_LEN];

	(void)state;
	memset(m, 0x11, sizeof(m));
	assert_int_equal(crypto_derive(m, "conversations v1", a), 0);
	assert_int_equal(crypto_derive(m, "conversations v1", b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(crypto_derive(m, "audit", c), 0);
	assert_memory_not_equal(a, c, sizeof(a));
	assert_memory_not_equal(a, m, sizeof(a));
	m[0] ^= 1;
	assert_int_equal(crypto_derive(m, "conversations v1", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

/* The lower of the operator's and the user's, unknown or missing: off. */
static void
t_level(void **state)
{
	static const char *const names[] = {"off", "metadata", "full"};
	struct conf *f = conf_defaults();
	int op, u;

	(void)state;
	assert_non_null(f);
	assert_int_equal(f->conversations, CONV_OFF);
	assert_int_equal(f->retention_days, 30);
	for (op = CONV_OFF; op <= CONV_FULL; op++) {
		f->conversations = op;
		for (u = CONV_OFF; u <= CONV_FULL; u++)
			assert_int_equal(
			    convlog_level(f, names[u]), op < u ? op : u);
		assert_int_equal(convlog_level(f, NULL), CONV_OFF);
		assert_int_equal(convlog_level(f, "FULL"), CONV_OFF);
	}
	assert_int_equal(convlog_level_parse("metadata"), CONV_METADATA);
	assert_int_equal(convlog_level_parse(""), -1);
	assert_string_equal(convlog_level_name(CONV_FULL), "full");
	conf_free(f);
}

/* The journal file's bytes (the only one in dir), NUL-terminated; *n its size. */
static char *
journal_bytes(const char *dir, size_t *n)
{
	char path[512], *data = NULL;
	struct dirent *e;
	FILE *fp = NULL;
	DIR *d = opendir(dir);
	long len;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".j") != NULL) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			fp = fopen(path, "r");
		}
	if (d != NULL)
		closedir(d);
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	data = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(data, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	*n = (size_t)len;
	return data;
}

static void
rmdir_all(const char *dir)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

/*
 * A full record of incompressible bodies at their caps is still one line the
 * write-out reads whole (the caps are halved), sealed: no body byte in clear
 * or in hex; one too long for that is refused, nothing written.
 */
/* The journal under dir holds one line; close it and remove dir and its parent. */
static void
one_line_then_close(struct journal *j, struct arena *a, char *dir)
{
	size_t n;
	char *data = journal_bytes(dir, &n);

	assert_int_equal(strchr(data, '\n') - data + 1, (long)n);
	free(data);
	journal_close(j, NULL, a);
	arena_free(a);
	rmdir_all(dir);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

static void
t_journal_line(void **state)
{
	char dir[64] = "/tmp/test_convlog.XXXXXX", err[128], *data, *nl;
	static char req[CONVLOG_BODY_MAX + 100], ans[CONVLOG_BODY_MAX];
	unsigned char master[CRYPTO_MASTER_LEN];
	struct convlog_rec r;
	struct db_val cols[17];
	struct journal *j;
	struct arena *a = arena_new(1 << 20);
	size_t i, n;
	unsigned x = 12345;

	(void)state;
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/j");
	assert_non_null(j = journal_open(dir, 0, err, sizeof(err)));
	for (i = 0; i < sizeof(req); i++) {
		x = x * 1103515245 + 12345;
		req[i] = (char)('!' + (x >> 16) % 90);
	}
	for (i = 0; i < sizeof(ans); i++) {
		x = x * 1103515245 + 12345;
		ans[i] = (char)('!' + (x >> 16) % 90);
	}
	memcpy(req, "PLAINSECRET", 11);
	memset(master, 7, sizeof(master));
	memset(&r, 0, sizeof(r));
	r = (struct convlog_rec){.level = CONV_FULL,
	    .request_id = "req1",
	    .user_id = 5,
	    .api = "chat",
	    .model = "m",
	    .status = "ok",
	    .http_status = 200,
	    .started = 1.5e9,
	    .request = req,
	    .request_len = sizeof(req),
	    .answer = ans,
	    .answer_len = sizeof(ans)};
	assert_int_equal(convlog_write(j, master, a, &r), TG_OK);
	data = journal_bytes(dir, &n);
	assert_true(n > 1000 && n < (240u << 10));
	assert_true(strncmp(data, "c s", 3) == 0); /* one space, the id */
	assert_non_null(nl = strchr(data, '\n'));
	assert_true(nl == data + n - 1);
	assert_null(strstr(data, "PLAINSECRET"));
	assert_null(strstr(data, "504c41494e534543524554")); /* its hex */
	free(data);
	/* A line that cannot be read back whole is refused. */
	for (i = 0; i < 17; i++)
		cols[i] = DB_I64(1);
	cols[13] =
	    (struct db_val){.type = DBT_STR, .s = req, .len = sizeof(req)};
	cols[14] = cols[13];
	assert_int_equal(journal_append_kind(j, JK_CONV, cols, 17), -1);
	assert_int_equal(journal_append_kind(j, JK_CONV, cols, 16), -1);
	one_line_then_close(j, a, dir);
}

/*
 * issue 18: a refused request's record is a line of its own kind ("r "), its
 * status "refused" and its model cut to the column; a wrong column count or
 * kind writes nothing.
 */
static void
t_refused_line(void **state)
{
	char dir[64] = "/tmp/test_refused.XXXXXX", err[128], *data;
	char model[300];
	struct usage_rec u;
	struct db_val one = DB_I64(1);
	struct journal *j;
	struct arena *a = arena_new(1 << 16);
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/j");
	assert_non_null(j = journal_open(dir, 1, err, sizeof(err)));
	memset(model, 'm', sizeof(model) - 1);
	model[sizeof(model) - 1] = '\0';
	memset(&u, 0, sizeof(u));
	u.request_id = "rq1";
	u.user_id = 9;
	u.endpoint = "chat";
	u.model = model;
	u.http_status = 429;
	u.error = "rate limit reached";
	assert_int_equal(usage_refused(j, &u, 1.5e9), TG_OK);
	assert_int_equal(usage_refused(NULL, &u, 1.5e9), TG_ESYSTEM);
	assert_int_equal(journal_append_kind(j, JK_REFUSED, &one, 1), -1);
	assert_int_equal(journal_append_kind(j, JK__MAX, &one, 1), -1);
	data = journal_bytes(dir, &n);
	assert_true(strncmp(data, "r s727131 ", 10) == 0);  /* "rq1" */
	assert_non_null(strstr(data, " s72656675736564 ")); /* "refused" */
	/* 128 'm's (hex 6d), not 129. */
	assert_non_null(strstr(data, " s6d6d"));
	assert_int_equal(strstr(strstr(data, " s6d6d") + 1, " ") -
		(strstr(data, " s6d6d") + 2),
	    2 * 128);
	free(data);
	one_line_then_close(j, a, dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_zip_round_trip),
	    cmocka_unit_test(t_zip_bomb),
	    cmocka_unit_test(t_derive),
	    cmocka_unit_test(t_level),
	    cmocka_unit_test(t_journal_line),
	    cmocka_unit_test(t_refused_line),
	};

	test_init();
	return cmocka_run_group_tests_name("convlog", tests, NULL, NULL);
}
