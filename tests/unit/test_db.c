/* test_db.c: the MariaDB adapter against a real server: pool, reconnect, no blind write retry */
#include "test_common.h"

#include <pthread.h>

#include "core/arena.h"
#include "core/conf.h"
#include "io/db.h"
#include "store/stmt.h"
#include "store/store.h"

static struct conf *conf;

/* Point a default conf at the throwaway server scripts/dev test started. */
static int
setup(void **state)
{
	const char *sock = getenv("TOLLGATE_TEST_DB_SOCKET");

	conf = conf_defaults();
	free(conf->db_socket);
	conf->db_socket = strdup(sock);
	free(conf->db_user);
	conf->db_user = strdup(getenv("TOLLGATE_TEST_DB_USER"));
	free(conf->db_name);
	conf->db_name = strdup(getenv("TOLLGATE_TEST_DB_NAME"));
	conf->db_password = strdup(getenv("TOLLGATE_TEST_DB_PASSWORD") != NULL
		? getenv("TOLLGATE_TEST_DB_PASSWORD")
		: "");
	return (store_init(), db_library_init());
}

static int
teardown(void **state)
{
	conf_free(conf);
	db_library_end();
	return 0;
}

static int64_t
conn_id(struct db_conn *c, struct arena *a)
{
	struct db_rows rows;

	assert_int_equal(
	    db_exec(c, STMT_CONNECTION_ID, NULL, 0, &rows, a), TG_OK);
	assert_int_equal(rows.nrows, 1);
	assert_int_equal(rows.v[0].type, DBT_I64);
	return rows.v[0].i;
}

/* Kill connection id from a separate admin connection. */
static void
kill_conn(int64_t id)
{
	struct db_conn *admin;
	char err[256], sql[64];

	admin = db_admin_connect(conf, err, sizeof(err));
	assert_non_null(admin);
	snprintf(sql, sizeof(sql), "KILL CONNECTION %lld", (long long)id);
	assert_int_equal(
	    db_run_script(admin, sql, strlen(sql), err, sizeof(err)), TG_OK);
	db_admin_close(admin);
}

static void
t_schema_version_matches(void **state)
{
	struct db_pool *p = db_pool_new(conf, 2);
	int64_t v = -1;

	assert_int_equal(db_schema_version(p, &v), TG_OK);
	assert_int_equal(v, TG_SCHEMA_VERSION);
	db_pool_free(p);
}

static void
t_read_reconnects_after_kill(void **state)
{
	struct db_pool *p = db_pool_new(conf, 1);
	struct arena *a = arena_new(4096);
	struct db_conn *c;
	int64_t before, after;

	assert_int_equal(db_get(p, &c), TG_OK);
	before = conn_id(c, a);
	kill_conn(before);
	/* A read is retried once on a fresh connection. */
	after = conn_id(c, a);
	assert_true(after != before);
	db_put(p, c);
	arena_free(a);
	db_pool_free(p);
}

static int
has_version(struct db_conn *c, struct arena *a, int64_t v)
{
	struct db_rows rows;
	size_t i;

	assert_int_equal(
	    db_exec(c, STMT_MIGRATION_LIST, NULL, 0, &rows, a), TG_OK);
	for (i = 0; i < rows.nrows; i++)
		if (rows.v[i * rows.ncols].i == v)
			return 1;
	return 0;
}

static void
t_write_not_retried_after_kill(void **state)
{
	struct db_pool *p = db_pool_new(conf, 1);
	struct arena *a = arena_new(4096);
	struct db_conn *c;
	struct db_val params[2] = {DB_I64(987654), DB_STR("0_test_write")};

	assert_int_equal(db_get(p, &c), TG_OK);
	kill_conn(conn_id(c, a));
	/* The write fails and is reported; it must not be replayed. */
	assert_int_equal(
	    db_exec(c, STMT_MIGRATION_RECORD, params, 2, NULL, a), TG_EDB);
	/* The next read reconnects; the row is absent. */
	assert_false(has_version(c, a, 987654));
	db_put(p, c);
	arena_free(a);
	db_pool_free(p);
}

/* Run one SQL statement on an admin connection. */
static void
admin_sql(const char *sql)
{
	struct db_conn *admin;
	char err[256];

	admin = db_admin_connect(conf, err, sizeof(err));
	assert_non_null(admin);
	assert_int_equal(
	    db_run_script(admin, sql, strlen(sql), err, sizeof(err)), TG_OK);
	db_admin_close(admin);
}

/*
 * Once the pool has lost a connection, the others are pinged before they are
 * lent: a write on the next one lent succeeds, though the server killed it.
 */
static void
t_stale_checked_after_a_loss(void **state)
{
	struct db_pool *p = db_pool_new(conf, 2);
	struct arena *a = arena_new(4096);
	struct db_conn *c1, *c2, *c;
	struct db_val params[2] = {DB_I64(987655), DB_STR("0_test_stale")};

	assert_int_equal(db_get(p, &c1), TG_OK);
	assert_int_equal(db_get(p, &c2), TG_OK);
	kill_conn(conn_id(c1, a));
	kill_conn(conn_id(c2, a));
	/* c1's write finds it lost (and is not replayed)... */
	assert_int_equal(
	    db_exec(c1, STMT_MIGRATION_RECORD, params, 2, NULL, a), TG_EDB);
	db_put(p, c1);
	db_put(p, c2);
	/* ...so c2, lent next (last in, first out), is checked and reopened. */
	assert_int_equal(db_get(p, &c), TG_OK);
	assert_ptr_equal(c, c2);
	assert_int_equal(
	    db_exec(c, STMT_MIGRATION_RECORD, params, 2, NULL, a), TG_OK);
	assert_true(has_version(c, a, 987655));
	db_put(p, c);
	admin_sql("DELETE FROM schema_migrations WHERE version = 987655");
	arena_free(a);
	db_pool_free(p);
}

/* A write the table marks DB_SF_RETRY is sent again after a kill. */
static void
t_retry_safe_write_resent(void **state)
{
	struct db_pool *p = db_pool_new(conf, 1);
	struct arena *a = arena_new(4096);
	struct db_conn *c;
	struct db_val set[2] = {DB_STR("0_test_resend"), DB_I64(42)};
	struct db_val name = DB_STR("0_test_resend");
	struct db_rows rows;

	assert_int_equal(db_get(p, &c), TG_OK);
	/* Prepared on this connection first: the kill hits the execute. */
	assert_int_equal(
	    db_exec(c, STMT_JOURNAL_MARK_SET, set, 2, NULL, a), TG_OK);
	assert_false(db_retried(c));
	set[1] = DB_I64(43);
	kill_conn(conn_id(c, a));
	assert_int_equal(
	    db_exec(c, STMT_JOURNAL_MARK_SET, set, 2, NULL, a), TG_OK);
	assert_true(db_retried(c));
	assert_int_equal(
	    db_exec(c, STMT_JOURNAL_MARK_GET, &name, 1, &rows, a), TG_OK);
	assert_int_equal(rows.nrows, 1);
	assert_int_equal(rows.v[0].i, 43);
	assert_int_equal(
	    db_exec(c, STMT_JOURNAL_MARK_DEL, &name, 1, NULL, a), TG_OK);
	db_put(p, c);
	arena_free(a);
	db_pool_free(p);
}

static void
t_unreachable_is_edb(void **state)
{
	struct conf *bad = conf_defaults();
	struct db_pool *p;
	struct db_conn *c = NULL;

	bad->db_socket = strdup("/nonexistent/mysqld.sock");
	p = db_pool_new(bad, 1);
	assert_int_equal(db_get(p, &c), TG_EDB);
	assert_null(c);
	/* The slot went back to the pool: a second try fails the same way. */
	assert_int_equal(db_get(p, &c), TG_EDB);
	db_pool_free(p);
	conf_free(bad);
}

struct borrower {
	struct db_pool *p;
	int *inuse;
	int *peak;
	pthread_mutex_t *mu;
	int fails;
};

static void *
borrow_loop(void *arg)
{
	struct borrower *b = arg;
	struct db_conn *c;
	int i;

	db_thread_init();
	for (i = 0; i < 50; i++) {
		if (db_get(b->p, &c) != TG_OK) {
			b->fails++;
			continue;
		}
		pthread_mutex_lock(b->mu);
		if (++*b->inuse > *b->peak)
			*b->peak = *b->inuse;
		pthread_mutex_unlock(b->mu);
		usleep(200);
		pthread_mutex_lock(b->mu);
		--*b->inuse;
		pthread_mutex_unlock(b->mu);
		db_put(b->p, c);
	}
	db_thread_end();
	return NULL;
}

static void
t_pool_never_exceeds_size(void **state)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct borrower b[6];
	pthread_t t[6];
	int inuse = 0, peak = 0, i;
	struct db_pool *p = db_pool_new(conf, 2);

	for (i = 0; i < 6; i++) {
		b[i] = (struct borrower){p, &inuse, &peak, &mu, 0};
		assert_int_equal(
		    pthread_create(&t[i], NULL, borrow_loop, &b[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(b[i].fails, 0);
	}
	assert_true(peak >= 1 && peak <= 2);
	db_pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_schema_version_matches),
	    cmocka_unit_test(t_read_reconnects_after_kill),
	    cmocka_unit_test(t_write_not_retried_after_kill),
	    cmocka_unit_test(t_stale_checked_after_a_loss),
	    cmocka_unit_test(t_retry_safe_write_resent),
	    cmocka_unit_test(t_unreachable_is_edb),
	    cmocka_unit_test(t_pool_never_exceeds_size),
	};

	test_init();
	if (getenv("TOLLGATE_TEST_DB_SOCKET") == NULL) {
		printf("test_db: TOLLGATE_TEST_DB_SOCKET unset; skipped (run "
		       "scripts/dev test)\n");
		return 77;
	}
	return cmocka_run_group_tests_name("db", tests, setup, teardown);
}
