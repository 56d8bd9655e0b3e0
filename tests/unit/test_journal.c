/* test_journal.c: unit tests for the journal's group commit (journal_sync: lines, flushes) */
#include "test_common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain/journal.h"
#include "domain/ledger.h"
#include "io/db.h"

#define THREADS 16
#define EACH	50

static struct journal *shared_j;
static pthread_barrier_t start;

/* A journal in a fresh directory of the build tree (on the disk, as in use). */
static struct journal *
open_in(char *dir, size_t len, int sync)
{
	char err[256];
	struct journal *j;

	snprintf(dir, len, "journal-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	j = journal_open(dir, sync, err, sizeof(err));
	assert_non_null(j);
	return j;
}

static int
append_one(struct journal *j, int64_t user)
{
	struct db_val usage[LEDGER_USAGE_COLS];
	struct journal_rec r;
	size_t i;

	for (i = 0; i < LEDGER_USAGE_COLS; i++)
		usage[i] = DB_NULLV;
	memset(&r, 0, sizeof(r));
	memset(r.lease_id, 0xab, sizeof(r.lease_id));
	memset(r.carve_id, (int)user, sizeof(r.carve_id));
	r.user_id = user;
	r.charge = 1000;
	r.usage = usage;
	return journal_append(j, &r);
}

/* The lines in dir's one journal file. */
static int
lines_in(const char *dir)
{
	char cmd[512], buf[64];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "cat %s/*.j | wc -l", dir);
	if ((p = popen(cmd, "r")) != NULL && fgets(buf, sizeof(buf), p) != NULL)
		n = atoi(buf);
	if (p != NULL)
		pclose(p);
	return n;
}

static void
remove_dir(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* Alone, every synced line is its own flush: none returns before its flush. */
static void
t_sequential(void **state)
{
	char dir[64];
	struct journal *j;
	int i;

	(void)state;
	j = open_in(dir, sizeof(dir), 1);
	for (i = 1; i <= 10; i++) {
		assert_int_equal(append_one(j, i), 0);
		assert_int_equal(journal_flushes(j), (uint64_t)i);
	}
	assert_int_equal(lines_in(dir), 10);
	journal_close(j, NULL, NULL);
	remove_dir(dir);
}

/* Without journal_sync nothing is flushed. */
static void
t_unsynced(void **state)
{
	char dir[64];
	struct journal *j;
	int i;

	(void)state;
	j = open_in(dir, sizeof(dir), 0);
	for (i = 1; i <= 10; i++)
		assert_int_equal(append_one(j, i), 0);
	assert_int_equal(journal_flushes(j), 0);
	assert_int_equal(lines_in(dir), 10);
	journal_close(j, NULL, NULL);
	remove_dir(dir);
}

static void *
appender(void *arg)
{
	int i, bad = 0;

	pthread_barrier_wait(&start);
	for (i = 0; i < EACH; i++)
		bad += append_one(shared_j, (int64_t)(intptr_t)arg) != 0;
	return (void *)(intptr_t)bad;
}

/*
 * Threads appending at once share flushes: every line is written, and fewer
 * fdatasync calls are made than lines (each thread still waited for one
 * covering its line: t_sequential shows none returns early).
 */
static void
t_group(void **state)
{
	pthread_t t[THREADS];
	char dir[64];
	void *bad;
	uint64_t flushes;
	int i;

	(void)state;
	shared_j = open_in(dir, sizeof(dir), 1);
	pthread_barrier_init(&start, NULL, THREADS);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, appender,
				     (void *)(intptr_t)(i + 1)),
		    0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((intptr_t)bad, 0);
	}
	pthread_barrier_destroy(&start);
	flushes = journal_flushes(shared_j);
	print_message("%d lines, %llu flushes\n", THREADS * EACH,
	    (unsigned long long)flushes);
	assert_int_equal(lines_in(dir), THREADS * EACH);
	assert_true(flushes >= 1);
	assert_true(flushes < (uint64_t)(THREADS * EACH));
	journal_close(shared_j, NULL, NULL);
	remove_dir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_sequential),
	    cmocka_unit_test(t_unsynced),
	    cmocka_unit_test(t_group),
	};

	test_init();
	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
