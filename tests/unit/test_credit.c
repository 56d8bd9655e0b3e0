/* test_credit.c: the credit facade picks the mechanism (exact hold, lease carve, journal) itself; the ledger faked */
#include "test_common.h"

#include "core/util.h"
#include "domain/auth.h"
#include "domain/credit.h"
#include "domain/journal.h"
#include "domain/lease.h"
#include "domain/ledger.h"
#include "domain/op.h"

/* --- fakes (-Wl,--wrap): what the ledger was asked --------------------------------------- */

static struct {
	int reserve, lease_take, settle_usage, lease_charge, journal, audit;
	int64_t amount, charge, hold;
	int fail_journal;
	enum journal_as as;    /* the journaled record's kind */
	int64_t held;	       /* the journaled record's hold */
	enum tg_err settle_rc; /* what the settle in place returns */
	int replay;	       /* the journaled record carries an answer */
	int64_t overrun; /* what the database says was charged past the hold */
} seen;

enum tg_err __wrap_ledger_reserve(struct db_conn *, struct arena *, int64_t,
    int64_t, int64_t, const char *, unsigned, unsigned char *, int *,
    enum ledger_short *, int64_t *);
enum tg_err __wrap_ledger_lease_take(struct db_conn *, struct arena *, int64_t,
    int64_t, unsigned, unsigned char *, int64_t *);
enum tg_err __wrap_ledger_settle_usage(struct db_conn *, struct arena *,
    const unsigned char *, int64_t, const struct db_val *, int64_t *, int64_t *,
    int64_t *);
enum tg_err __wrap_ledger_lease_charge(struct db_conn *, struct arena *,
    const unsigned char *, const unsigned char *, int64_t, int64_t,
    const struct db_val *, int64_t *, int64_t *, int64_t *);
enum tg_err __wrap_ledger_lease_close(
    struct db_conn *, struct arena *, const unsigned char *, int64_t, int);
enum tg_err __wrap_ledger_audit_overrun(struct db_conn *, struct arena *,
    const char *, const char *, int64_t, int64_t, int64_t);
int __wrap_journal_append(struct journal *, const struct journal_rec *);
enum tg_err __wrap_sandbox_refill(struct db_conn *, struct op *, int64_t *);
int64_t __wrap_journal_released(struct journal *, int64_t);

/* The fake journal has no table of releases: nothing unwritten. */
int64_t
__wrap_journal_released(struct journal *j, int64_t user)
{
	(void)j, (void)user;
	return 0;
}

/* A test key's sandbox: always full here. */
enum tg_err
__wrap_sandbox_refill(struct db_conn *c, struct op *o, int64_t *balance)
{
	(void)c, (void)o, (void)balance;
	return TG_OK;
}

enum tg_err
__wrap_ledger_reserve(struct db_conn *c, struct arena *a, int64_t user,
    int64_t key, int64_t amount, const char *idem, unsigned ttl,
    unsigned char *hold_id, int *replayed, enum ledger_short *why,
    int64_t *balance)
{
	(void)c, (void)a, (void)user, (void)key, (void)idem, (void)ttl;
	if (balance != NULL)
		*balance = 900;
	seen.reserve++;
	seen.amount = amount;
	memset(hold_id, 0xee, HOLD_ID_LEN);
	*replayed = 0;
	*why = SHORT_NONE;
	return TG_OK;
}

enum tg_err
__wrap_ledger_lease_take(struct db_conn *c, struct arena *a, int64_t user,
    int64_t amount, unsigned ttl, unsigned char *id, int64_t *balance)
{
	(void)c, (void)a, (void)user, (void)ttl;
	seen.lease_take++;
	seen.amount = amount;
	memset(id, 0x11, HOLD_ID_LEN);
	*balance = 5000000000;
	return TG_OK;
}

enum tg_err
__wrap_ledger_settle_usage(struct db_conn *c, struct arena *a,
    const unsigned char *hold_id, int64_t charge, const struct db_val *u,
    int64_t *charged, int64_t *balance, int64_t *overrun)
{
	(void)c, (void)a, (void)u;
	assert_int_equal(hold_id[0], 0xee);
	seen.settle_usage++;
	if (seen.settle_rc != TG_OK)
		return seen.settle_rc;
	seen.charge = charge;
	*charged = charge;
	*balance = 1000;
	*overrun = seen.overrun;
	return TG_OK;
}

enum tg_err
__wrap_ledger_lease_charge(struct db_conn *c, struct arena *a,
    const unsigned char *lease_id, const unsigned char *carve_id,
    int64_t charge, int64_t hold, const struct db_val *u, int64_t *charged,
    int64_t *balance, int64_t *overrun)
{
	(void)c, (void)a, (void)carve_id, (void)u;
	assert_int_equal(lease_id[0], 0x11);
	seen.lease_charge++;
	seen.charge = charge;
	seen.hold = hold;
	*charged = charge;
	*balance = 2000;
	*overrun = seen.overrun;
	return TG_OK;
}

enum tg_err
__wrap_ledger_lease_close(struct db_conn *c, struct arena *a,
    const unsigned char *id, int64_t dead, int expired)
{
	(void)c, (void)a, (void)id, (void)dead, (void)expired;
	return TG_OK;
}

enum tg_err
__wrap_ledger_audit_overrun(struct db_conn *c, struct arena *a,
    const char *user, const char *req, int64_t hold, int64_t charged,
    int64_t overrun)
{
	(void)c, (void)a, (void)user, (void)req, (void)hold, (void)charged,
	    (void)overrun;
	seen.audit++;
	return TG_OK;
}

int
__wrap_journal_append(struct journal *j, const struct journal_rec *r)
{
	(void)j;
	seen.journal++;
	seen.charge = r->charge;
	seen.as = r->as;
	seen.held = r->amount;
	seen.replay = r->replay != NULL;
	if (r->replay != NULL) {
		assert_int_equal(r->as, JR_HOLD);
		assert_int_equal(r->replay[0].i, 200);
		assert_int_equal(r->replay[2].len, 7);
		assert_memory_equal(r->replay[2].s, "{\"a\":1}", 7);
	}
	return seen.fail_journal ? -1 : 0;
}

/* --- the operation ------------------------------------------------------------------------ */

static char path[64];
static struct conf *conf;
static struct principal who = {.user_id = 7, .user_pub = "usr_x", .key_id = 3};
static struct op op;

static enum tg_err
get_db(void *arg, struct db_conn **out)
{
	(void)arg;
	*out = (struct db_conn *)&who; /* never used by the fakes */
	return TG_OK;
}

static const struct credit_db db = {get_db, NULL};

static int
setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	test_tmpfile(path, sizeof(path), "", 0600);
	unlink(path);
	conf = conf_defaults();
	conf->lease_nano = 50000000; /* $0.05 */
	op = (struct op){.arena = arena_new(0),
	    .conf = conf,
	    .who = &who,
	    .request_id = "req1"};
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	arena_free(op.arena);
	conf_free(conf);
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

/* No leases on the node: an exact hold, settled in place. */
static void
t_exact(void **state)
{
	struct credit_env env = {NULL, NULL};
	struct credit_ask ask = {1000, NULL, 0, 0};
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit cr;

	(void)state;
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	assert_int_equal(seen.reserve, 1);
	assert_int_equal(seen.amount, 1000);
	assert_true(cr.held);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	assert_int_equal(seen.settle_usage, 1);
	assert_int_equal(cr.charged, 400);
	assert_int_equal(cr.balance_after, 1000);
	assert_false(cr.held);
}

/*
 * No leases, and the database fails at settlement: the exact hold is settled
 * into the journal by its id and the real charge is told (issue 15 item 1);
 * a hold already closed (swept) or unknown is not journaled.
 */
static void
t_exact_journaled(void **state)
{
	struct credit_env env = {NULL, (struct journal *)&who};
	struct credit_ask ask = {1000, NULL, 0, 0};
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit cr;

	(void)state;
	conf->exact_journal = 0; /* settled in place, unless it fails */
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	seen.settle_rc = TG_EDB;
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	assert_int_equal(seen.settle_usage, 1);
	assert_int_equal(seen.journal, 1);
	assert_int_equal(seen.as, JR_EXACT);
	assert_int_equal(seen.charge, 400);
	assert_int_equal(cr.charged, 400);
	/* The balance just after the hold (900), the hold's rest back. */
	assert_int_equal(cr.balance_after, 900 + 1000 - 400);
	assert_false(cr.held);
	/* Swept already: nothing journaled, the failure stands. */
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	seen.settle_rc = TG_ECONFLICT;
	assert_int_equal(
	    credit_settle(&op, &db, &env, &cr, 400, cols), TG_ECONFLICT);
	assert_int_equal(seen.journal, 1);
	/* No journal on the node: the failure stands too. */
	env.journal = NULL;
	seen.settle_rc = TG_EDB;
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_EDB);
	assert_int_equal(seen.journal, 1);
}

/*
 * issue 20: no leases, a journal: the exact hold settles by a line with its
 * amount (the write-out closes it), not in place; the balance told is the
 * one after the hold with the hold's rest back.
 */
static void
t_exact_by_journal(void **state)
{
	struct credit_env env = {NULL, (struct journal *)&who};
	struct credit_ask ask = {1000, NULL, 0, 0};
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit cr;

	(void)state;
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	assert_true(cr.held);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	assert_int_equal(seen.settle_usage, 0);
	assert_int_equal(seen.journal, 1);
	assert_int_equal(seen.as, JR_HOLD);
	assert_int_equal(seen.held, 1000);
	assert_int_equal(seen.charge, 400);
	assert_int_equal(cr.charged, 400);
	assert_int_equal(cr.balance_after, 900 + 1000 - 400);
	assert_false(cr.held);
	/* A charge past the hold moves the balance itself: in place. */
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 1001, cols), TG_OK);
	assert_int_equal(seen.settle_usage, 1);
	assert_int_equal(seen.journal, 1);
	/* A journal that fails: in place. */
	seen.fail_journal = 1;
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	assert_int_equal(seen.settle_usage, 2);
	assert_int_equal(seen.journal, 2);
	assert_false(cr.held);
}

/*
 * issue 20: what settles in place even with exact_journal: a request with an
 * Idempotency-Key (its replay goes on the record at once), a test key's (its
 * sandbox is not its user's account), and any with exact_journal off.
 */
static void
t_exact_in_place(void **state)
{
	struct credit_env env = {NULL, (struct journal *)&who};
	struct credit_ask idem = {1000, "idem-1", 0, 0},
			  plain = {1000, NULL, 0, 0};
	struct db_val cols[LEDGER_USAGE_COLS];
	struct principal tkey = who;
	struct credit cr;

	(void)state;
	assert_int_equal(credit_reserve(&op, NULL, &env, &idem, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	tkey.test = 1;
	op.who = &tkey;
	assert_int_equal(credit_reserve(&op, NULL, &env, &plain, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	op.who = &who;
	conf->exact_journal = 0;
	assert_int_equal(credit_reserve(&op, NULL, &env, &plain, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	assert_int_equal(seen.settle_usage, 3);
	assert_int_equal(seen.journal, 0);
}

/*
 * issue 20: an Idempotency-Key's request (not a stream) settles through the
 * journal too: its line waits for the answer (credit_keep) and carries it,
 * told the charge and balance at once; a request that ends without an answer
 * to keep writes its line at the end (credit_settle_pending); a line the
 * journal refuses (an answer too long) settles in place, and the caller
 * keeps the answer itself (TG_ENOENT).
 */
static void
t_exact_keep(void **state)
{
	struct credit_env env = {NULL, (struct journal *)&who};
	struct credit_ask idem = {1000, "idem-1", 0, 1};
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit cr;

	(void)state;
	memset(cols, 0, sizeof(cols));
	assert_int_equal(credit_reserve(&op, NULL, &env, &idem, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	/* Told at once, nothing written yet. */
	assert_int_equal(cr.charged, 400);
	assert_int_equal(cr.balance_after, 900 + 1000 - 400);
	assert_int_equal(seen.journal, 0);
	assert_int_equal(credit_keep(&op, &db, &env, &cr, 200,
			     "application/json", "{\"a\":1}", 7),
	    TG_OK);
	assert_int_equal(seen.journal, 1);
	assert_true(seen.replay);
	assert_int_equal(seen.as, JR_HOLD);
	assert_int_equal(seen.charge, 400);
	assert_int_equal(seen.settle_usage, 0);
	/* Once: nothing waits any more. */
	assert_int_equal(credit_settle_pending(&op, &db, &env, &cr), TG_OK);
	assert_int_equal(credit_keep(&op, &db, &env, &cr, 200,
			     "application/json", "{\"a\":1}", 7),
	    TG_ENOENT);
	assert_int_equal(seen.journal, 1);

	/* No answer to keep: the line goes at the end, without one. */
	assert_int_equal(credit_reserve(&op, NULL, &env, &idem, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 300, cols), TG_OK);
	assert_int_equal(credit_settle_pending(&op, &db, &env, &cr), TG_OK);
	assert_int_equal(seen.journal, 2);
	assert_false(seen.replay);
	assert_int_equal(seen.charge, 300);

	/* The journal refuses the line: settled in place, kept by the caller. */
	assert_int_equal(credit_reserve(&op, NULL, &env, &idem, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 200, cols), TG_OK);
	seen.fail_journal = 1;
	assert_int_equal(credit_keep(&op, &db, &env, &cr, 200,
			     "application/json", "{\"a\":1}", 7),
	    TG_ENOENT);
	assert_int_equal(seen.settle_usage, 1);
	assert_int_equal(seen.charge, 200);
	assert_int_equal(cr.charged, 200);
	assert_false(cr.held);

	/* With keep_in_line 0 the settle goes in place, as before. */
	seen.fail_journal = 0;
	idem.keep_in_line = 0;
	assert_int_equal(credit_reserve(&op, NULL, &env, &idem, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 100, cols), TG_OK);
	assert_int_equal(seen.settle_usage, 2);
	assert_int_equal(seen.journal, 3);

	/*
	 * Neither its line, nor the database, nor a line of its own: the
	 * settle's error (the caller answers 503), the hold left held.
	 */
	idem.keep_in_line = 1;
	assert_int_equal(credit_reserve(&op, NULL, &env, &idem, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 100, cols), TG_OK);
	seen.fail_journal = 1;
	seen.settle_rc = TG_EDB;
	assert_int_equal(credit_keep(&op, &db, &env, &cr, 200,
			     "application/json", "{\"a\":1}", 7),
	    TG_EDB);
	assert_true(cr.held);
}

/* A lease is taken, carved, and the settlement journaled: no database. */
static void
t_lease_journal(void **state)
{
	struct lease_table *lt = table();
	struct credit_env env = {lt, (struct journal *)&who};
	struct credit_ask ask = {1000, NULL, 0, 0};
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit cr, cr2;

	(void)state;
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	assert_int_equal(seen.lease_take, 1);
	assert_int_equal(seen.amount, conf->lease_nano);
	assert_int_equal(seen.reserve, 0);
	/* The second request carves from the same lease, no SQL. */
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr2), TG_OK);
	assert_int_equal(seen.lease_take, 1);
	assert_int_equal(credit_settle(&op, NULL, &env, &cr, 400, cols), TG_OK);
	assert_int_equal(seen.journal, 1);
	/* A carve's line, never an exact hold's (t_settle_reqid saw one). */
	assert_int_equal(seen.as, JR_CARVE);
	assert_int_equal(seen.lease_charge, 0);
	assert_int_equal(cr.charged, 400);
	/* The balance when the lease was taken, plus what it still holds. */
	assert_int_equal(
	    cr.balance_after, 5000000000 + conf->lease_nano - 400 - 1000);
	lease_close_table(lt);
}

/* An overrun is never journaled: settled in place, audited. */
static void
t_lease_overrun(void **state)
{
	struct lease_table *lt = table();
	struct credit_env env = {lt, (struct journal *)&who};
	struct credit_ask ask = {1000, NULL, 0, 0};
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit cr;

	(void)state;
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	seen.overrun = 500;
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 1500, cols), TG_OK);
	assert_int_equal(seen.journal, 0);
	assert_int_equal(seen.lease_charge, 1);
	assert_int_equal(seen.hold, 1000);
	assert_int_equal(seen.audit, 1);
	lease_close_table(lt);
}

/* A journal that fails falls back to settling in place. */
static void
t_journal_fails(void **state)
{
	struct lease_table *lt = table();
	struct credit_env env = {lt, (struct journal *)&who};
	struct credit_ask ask = {1000, NULL, 0, 0};
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit cr;

	(void)state;
	seen.fail_journal = 1;
	assert_int_equal(credit_reserve(&op, NULL, &env, &ask, &cr), TG_OK);
	assert_int_equal(credit_settle(&op, &db, &env, &cr, 400, cols), TG_OK);
	assert_int_equal(seen.journal, 1);
	assert_int_equal(seen.lease_charge, 1);
	assert_int_equal(cr.charged, 400);
	lease_close_table(lt);
}

/* An Idempotency-Key, a key's credit limit or a large hold: exact holds. */
static void
t_exact_when(void **state)
{
	struct lease_table *lt = table();
	struct credit_env env = {lt, NULL};
	struct credit_ask asks[] = {
	    {1000, "idem-1", 0, 0},
	    {1000, NULL, 1, 0},
	    {50000000 / 4 + 1, NULL, 0, 0},
	};
	struct credit cr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(asks) / sizeof(asks[0]); i++)
		assert_int_equal(
		    credit_reserve(&op, NULL, &env, &asks[i], &cr), TG_OK);
	assert_int_equal(seen.reserve, 3);
	assert_int_equal(seen.lease_take, 0);
	lease_close_table(lt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(t_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_exact_journaled, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		t_exact_by_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_exact_in_place, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_exact_keep, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_lease_journal, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_lease_overrun, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_journal_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_exact_when, setup, teardown),
	};

	test_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
