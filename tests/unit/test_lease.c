/* test_lease.c: the lease table: carving, returning, closing idle leases, adopting a dead process's */
#include "test_common.h"

#include <sys/wait.h>
#include <unistd.h>

#include "domain/lease.h"
#include "core/util.h"

static char path[64];

/* A fresh path for the shared file (shm_attach creates it). */
static int
setup(void **state)
{
	(void)state;
	test_tmpfile(path, sizeof(path), "", 0600);
	unlink(path);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static struct lease_table *
table(void)
{
	char err[256];
	struct lease_table *lt = lease_open(path, err, sizeof(err));

	if (lt == NULL)
		fail_msg("lease_open: %s", err);
	return lt;
}

static const unsigned char L1[HOLD_ID_LEN] = {1};
static const unsigned char L2[HOLD_ID_LEN] = {2};

/* Carves come out of avail; a return gives back what was not charged. */
static void
t_carve_and_return(void **state)
{
	struct lease_table *lt = table();
	struct carve a, b, c;
	int64_t bal = 0;

	(void)state;
	assert_false(lease_carve(lt, 7, 100, "r", 0, &a));
	assert_int_equal(
	    lease_add(lt, 7, L1, 1000, 5000, util_wall() + 60, 300, "r", &a),
	    0);
	assert_int_equal(lease_available(lt, 7, &bal), 700);
	assert_int_equal(bal, 5000);
	assert_true(lease_carve(lt, 7, 600, "r", 0, &b));
	assert_int_equal(lease_available(lt, 7, NULL), 100);
	/* No room for 200, and another user has no lease at all. */
	assert_false(lease_carve(lt, 7, 200, "r", 0, &c));
	assert_false(lease_carve(lt, 8, 1, "r", 0, &c));
	assert_memory_equal(a.lease_id, L1, HOLD_ID_LEN);
	assert_memory_not_equal(a.id, b.id, HOLD_ID_LEN);
	lease_return(lt, &a, 250); /* 50 comes back */
	lease_return(lt, &b, 600);
	assert_int_equal(lease_available(lt, 7, NULL), 150);
	/* A charge over the carve is capped at it. */
	assert_true(lease_carve(lt, 7, 100, "r", 0, &c));
	lease_return(lt, &c, 1000);
	assert_int_equal(lease_available(lt, 7, NULL), 50);
	lease_close_table(lt);
}

/* A lease is due when idle, never while a carve is open or a journal line pending. */
static void
t_due(void **state)
{
	struct lease_table *lt = table();
	struct lease_due d;
	struct carve a;

	(void)state;
	assert_int_equal(
	    lease_add(lt, 7, L1, 1000, 0, util_wall() + 60, 100, "r", &a), 0);
	assert_false(lease_next_due(lt, 0, 0, &d)); /* a carve is open */
	lease_journaled(lt, &a, 1);
	lease_return(lt, &a, 100);
	/* Its line is pending: not closed, at most checked. */
	assert_true(lease_next_due(lt, 0, 0, &d));
	assert_true(d.check);
	lease_flushed(lt, L1, 1);
	assert_false(lease_next_due(lt, 3600, 0, &d)); /* not idle long */
	assert_true(lease_next_due(lt, 0, 0, &d));
	assert_memory_equal(d.id, L1, HOLD_ID_LEN);
	assert_int_equal(d.ncarves, 0);
	/* Claimed: no carving from it while it closes. */
	assert_false(lease_carve(lt, 7, 1, "r", 0, &a));
	lease_closed(lt, &d);
	assert_int_equal(lease_available(lt, 7, NULL), 0);
	assert_false(lease_next_due(lt, 0, 1, &d));
	lease_close_table(lt);
}

/*
 * A line counted as pending that never reported (its process died after the
 * commit): the lease asks for a check; once the database's charged is what
 * left the lease, nothing is pending and the lease can close.
 */
static void
t_check_pending(void **state)
{
	struct lease_table *lt = table();
	struct lease_due d;
	struct carve a;

	(void)state;
	assert_int_equal(
	    lease_add(lt, 7, L1, 1000, 0, util_wall() + 60, 100, "r", &a), 0);
	lease_journaled(lt, &a, 1);
	lease_return(lt, &a, 40); /* charged 40; lease_flushed never comes */
	assert_true(lease_next_due(lt, 0, 0, &d));
	assert_true(d.check);
	assert_int_equal(d.expect, 40);
	/* Asked again only a second later, and not closable meanwhile. */
	assert_false(lease_next_due(lt, 0, 0, &d));
	lease_pending_clear(lt, &d);
	assert_true(lease_next_due(lt, 0, 0, &d));
	assert_false(d.check);
	lease_closed(lt, &d);
	lease_close_table(lt);
}

/* Past its close time a lease takes no new carve and is due once drained. */
static void
t_drain(void **state)
{
	struct lease_table *lt = table();
	struct lease_due d;
	struct carve a, b;

	(void)state;
	assert_int_equal(
	    lease_add(lt, 7, L2, 1000, 0, util_wall() + 0.2, 100, "r", &a), 0);
	usleep(300 * 1000);
	assert_false(lease_carve(lt, 7, 100, "r", 0, &b));
	assert_false(lease_next_due(lt, 3600, 0, &d));
	lease_return(lt, &a, 10);
	assert_true(lease_next_due(lt, 3600, 0, &d));
	lease_closed(lt, &d);
	lease_close_table(lt);
}

/*
 * A process that dies with a lease and an open carve: another process adopts
 * the lease and lists the dead carve, to be charged in full.
 */
static void
t_adopt_dead(void **state)
{
	struct lease_table *lt;
	struct lease_due d;
	struct carve a;
	pid_t pid;
	int st;

	(void)state;
	if ((pid = fork()) == 0) {
		struct lease_table *c = table();

		lease_add(c, 9, L1, 1000, 0, util_wall() + 60, 300, "r", &a);
		_exit(0); /* no return: as kill -9 would */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	lt = table();
	assert_int_equal(lease_available(lt, 9, NULL), 700);
	/* The next process to look adopts it, with the carve that never came back. */
	assert_true(lease_next_due(lt, 3600, 0, &d));
	assert_memory_equal(d.id, L1, HOLD_ID_LEN);
	assert_int_equal(d.ncarves, 1);
	assert_int_equal(d.carves[0].amount, 300);
	lease_closed(lt, &d);
	assert_false(lease_next_due(lt, 0, 1, &d));
	lease_close_table(lt);
}

/* Another live process's lease serves this process too. */
static void
t_shared_between_processes(void **state)
{
	struct lease_table *lt = table();
	struct carve a;
	int fds[2], st;
	char ok = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		struct lease_table *c = table();
		struct carve x;

		lease_add(c, 5, L2, 1000, 0, util_wall() + 60, 100, "r", &x);
		lease_return(c, &x, 100);
		(void)!write(fds[1], "y", 1);
		sleep(2); /* stays alive while the parent carves */
		_exit(0);
	}
	assert_int_equal(read(fds[0], &ok, 1), 1);
	assert_true(lease_carve(lt, 5, 400, "r", 0, &a));
	assert_memory_equal(a.lease_id, L2, HOLD_ID_LEN);
	lease_return(lt, &a, 400);
	assert_int_equal(lease_available(lt, 5, NULL), 500);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	close(fds[0]);
	close(fds[1]);
	lease_close_table(lt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		t_carve_and_return, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_due, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_drain, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_check_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_adopt_dead, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		t_shared_between_processes, setup, teardown),
	};

	test_init();
	return cmocka_run_group_tests_name("lease", tests, NULL, NULL);
}
