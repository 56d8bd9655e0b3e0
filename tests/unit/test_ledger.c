/* test_ledger.c: reserve/settle against a real MariaDB: the money invariants under concurrency */
#include "test_common.h"

#include <pthread.h>

#include "domain/accounts.h"
#include "core/arena.h"
#include "io/db.h"
#include "store/stmt.h"
#include "store/store.h"
#include "domain/holdq.h"
#include "domain/keys.h"
#include "domain/ledger.h"
#include "domain/op.h"
#include "core/money.h"

#define USD(x) ((int64_t)(x)*NANO_PER_USD)

struct world {
	struct conf *conf;
	struct tg_ctx ctx;
	struct tg_req req;
	struct op op; /* the domain services' view of req */
	struct db_pool *pool;
	struct db_conn *c;
};

static struct world w;

static int
setup(void **state)
{
	w.conf = conf_defaults();
	w.conf->db_socket = strdup(getenv("TOLLGATE_TEST_DB_SOCKET"));
	free(w.conf->db_user);
	w.conf->db_user = strdup(getenv("TOLLGATE_TEST_DB_USER"));
	free(w.conf->db_name);
	w.conf->db_name = strdup(getenv("TOLLGATE_TEST_DB_NAME"));
	w.conf->db_password = strdup(getenv("TOLLGATE_TEST_DB_PASSWORD") != NULL
		? getenv("TOLLGATE_TEST_DB_PASSWORD")
		: "");
	if ((store_init(), db_library_init()) == -1)
		return -1;
	w.pool = db_pool_new(w.conf, 16);
	w.ctx.conf = w.conf;
	w.ctx.db = w.pool;
	w.req.arena = arena_new(64 * 1024);
	w.req.ctx = &w.ctx;
	snprintf(w.req.request_id, sizeof(w.req.request_id), "test-ledger");
	w.op = (struct op){.arena = w.req.arena,
	    .conf = w.conf,
	    .request_id = w.req.request_id};
	return db_get(w.pool, &w.c) == TG_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	db_put(w.pool, w.c);
	db_pool_free(w.pool);
	arena_free(w.req.arena);
	conf_free(w.conf);
	db_library_end();
	return 0;
}

/* A fresh user with credits (USD) and its primary key's internal id. */
static int64_t
new_user(int64_t credits, int64_t *key_id)
{
	char secret[KEY_MAX_LEN], email[96], rnd[12];
	struct new_user u;
	json_t *user, *key;
	const char *which;
	int64_t uid;

	assert_int_equal(crypto_base62(rnd, 10), 0);
	snprintf(email, sizeof(email), "ledger-%s@example.com", rnd);
	memset(&u, 0, sizeof(u));
	u.email = email;
	u.password = "a long enough password";
	u.credits = credits;
	assert_int_equal(
	    account_create(w.c, &w.op, &u, secret, &user, &key, &which), TG_OK);
	assert_int_equal(account_find(w.c, &w.op,
			     json_string_value(json_object_get(user, "id")),
			     NULL, NULL, &uid),
	    TG_OK);
	if (key_id != NULL)
		assert_int_equal(
		    key_owner(w.c, &w.op, secret, key_id, &uid), TG_OK);
	return uid;
}

/* Invariant 3: the ledger sums to balance + reserved. */
static void
reconciles(int64_t uid, int64_t *balance, int64_t *reserved, int64_t *open)
{
	int64_t sum;

	assert_int_equal(ledger_reconcile(w.c, w.req.arena, uid, &sum, balance,
			     reserved, open),
	    TG_OK);
	assert_int_equal(sum, *balance + *reserved);
}

static void
t_reserve_then_settle(void **state)
{
	unsigned char h[HOLD_ID_LEN];
	enum ledger_short why;
	int64_t uid = new_user(USD(10), NULL), bal, res, open, charged;
	int rep;

	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, 0, USD(3), NULL,
			     60, h, &rep, &why, NULL),
	    TG_OK);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(7));
	assert_int_equal(res, USD(3));
	assert_int_equal(open, 1);
	assert_int_equal(
	    ledger_settle(w.c, w.req.arena, h, USD(1), &charged), TG_OK);
	assert_int_equal(charged, USD(1));
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(9));
	assert_int_equal(res, 0);
	assert_int_equal(open, 0);
	/* Invariant 2: a second settlement changes nothing. */
	assert_int_equal(
	    ledger_settle(w.c, w.req.arena, h, USD(2), NULL), TG_ECONFLICT);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(9));
}

/*
 * A charge past the hold is charged in full (issue 13: it was capped at the
 * hold): the balance goes below zero by the overrun, the ledger reconciles.
 */
static void
t_charge_past_hold(void **state)
{
	unsigned char h[HOLD_ID_LEN];
	enum ledger_short why;
	int64_t uid = new_user(USD(5), NULL), bal, res, open, charged;
	int rep;

	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, 0, USD(2), NULL,
			     60, h, &rep, &why, NULL),
	    TG_OK);
	assert_int_equal(
	    ledger_settle(w.c, w.req.arena, h, USD(100), &charged), TG_OK);
	assert_int_equal(charged, USD(100));
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(5) - USD(100));
	assert_int_equal(res, 0);
}

static void
t_insufficient_changes_nothing(void **state)
{
	unsigned char h[HOLD_ID_LEN];
	enum ledger_short why;
	int64_t uid = new_user(USD(1), NULL), bal, res, open;
	int rep;

	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, 0, USD(1) + 1,
			     NULL, 60, h, &rep, &why, NULL),
	    TG_ECREDIT);
	assert_int_equal(why, SHORT_BALANCE);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(1));
	assert_int_equal(res, 0);
	assert_int_equal(open, 0);
}

static void
t_key_credit_limit(void **state)
{
	unsigned char h1[HOLD_ID_LEN], h2[HOLD_ID_LEN];
	struct key_spec ks;
	enum ledger_short why;
	int64_t kid, uid = new_user(USD(100), &kid);
	json_t *k, *list;
	const char *pub;
	int rep;

	/* Cap this key at 2 USD of spending. */
	key_spec_init(&ks);
	ks.credit_limit = USD(2);
	assert_int_equal(key_list(w.c, &w.op, uid, &list), TG_OK);
	pub = json_string_value(json_object_get(json_array_get(list, 0), "id"));
	assert_non_null(pub);
	assert_int_equal(key_update(w.c, &w.op, uid, pub, &ks, &k), TG_OK);
	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, kid, USD(3),
			     NULL, 60, h1, &rep, &why, NULL),
	    TG_ECREDIT);
	assert_int_equal(why, SHORT_KEY_LIMIT);
	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, kid, USD(3) / 2,
			     NULL, 60, h1, &rep, &why, NULL),
	    TG_OK);
	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, kid, USD(1),
			     NULL, 60, h2, &rep, &why, NULL),
	    TG_ECREDIT);
	/* Settling for less frees the rest of the key's limit again. */
	assert_int_equal(
	    ledger_settle(w.c, w.req.arena, h1, USD(1) / 2, NULL), TG_OK);
	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, kid, USD(1),
			     NULL, 60, h2, &rep, &why, NULL),
	    TG_OK);
}

static void
t_idempotency_key(void **state)
{
	unsigned char h1[HOLD_ID_LEN], h2[HOLD_ID_LEN];
	enum ledger_short why;
	int64_t kid, uid = new_user(USD(10), &kid), bal, res, open;
	int rep;

	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, kid, USD(2),
			     "idem-1", 60, h1, &rep, &why, NULL),
	    TG_OK);
	assert_int_equal(rep, 0);
	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, kid, USD(2),
			     "idem-1", 60, h2, &rep, &why, NULL),
	    TG_OK);
	assert_int_equal(rep, 1);
	assert_memory_equal(h1, h2, HOLD_ID_LEN);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(res, USD(2));
	assert_int_equal(open, 1);
}

static void
t_sweeper_settles_expired(void **state)
{
	unsigned char h[HOLD_ID_LEN];
	enum ledger_short why;
	int64_t uid = new_user(USD(10), NULL), bal, res, open;
	unsigned n = 0, total = 0;
	int rep;

	/* A request whose worker died: ttl 0, never settled by it. */
	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, 0, USD(4), NULL,
			     0, h, &rep, &why, NULL),
	    TG_OK);
	usleep(20000);
	do {
		assert_int_equal(
		    ledger_sweep(w.c, w.req.arena, 100, NULL, 0, &n), TG_OK);
		total += n;
	} while (n == 100);
	assert_true(total >= 1);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(open, 0);
	assert_int_equal(res, 0);
	assert_int_equal(bal, USD(6));
	/* The late settlement of the dead request changes nothing. */
	assert_int_equal(
	    ledger_settle(w.c, w.req.arena, h, 0, NULL), TG_ECONFLICT);
}

/*
 * issue 20: several holds in one transaction (0025_reserve_many.sql): each
 * told the balance after it as if taken in order; a sum that does not fit,
 * of the balance or of the key's credit limit, holds nothing.
 */
static void
t_reserve_many(void **state)
{
	unsigned char ids[4][HOLD_ID_LEN], spare[2][HOLD_ID_LEN];
	int64_t amount[4] = {USD(1), USD(2), USD(3), 0}, told[4], stold[2];
	int64_t kid, uid = new_user(USD(10), &kid), bal, res, open, charged;
	struct key_spec ks;
	json_t *k, *list;
	const char *pub;
	int i;

	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, kid, 60, 3,
			     amount, NULL, ids, told),
	    TG_OK);
	assert_int_equal(told[0], USD(9));
	assert_int_equal(told[1], USD(7));
	assert_int_equal(told[2], USD(4));
	assert_memory_not_equal(ids[0], ids[1], HOLD_ID_LEN);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(4));
	assert_int_equal(res, USD(6));
	assert_int_equal(open, 3);
	/* 3 + 2 > 4: neither is held, though 3 alone would fit. */
	amount[0] = USD(3), amount[1] = USD(2);
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, kid, 60, 2,
			     amount, NULL, spare, stold),
	    TG_ECREDIT);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(4));
	assert_int_equal(open, 3);
	/* No zero or negative amount, no empty batch, none past the cap. */
	amount[1] = 0;
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, kid, 60, 2,
			     amount, NULL, spare, stold),
	    TG_EINVAL);
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, kid, 60, 0,
			     amount, NULL, spare, stold),
	    TG_EINVAL);
	assert_int_equal(
	    ledger_reserve_many(w.c, w.req.arena, uid, kid, 60,
		LEDGER_RESERVE_MAX + 1, amount, NULL, spare, stold),
	    TG_EINVAL);
	/* Each hold of the batch settles on its own. */
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, kid, 60, 1,
			     (int64_t[]){USD(1)}, NULL, ids + 3, told + 3),
	    TG_OK);
	assert_int_equal(told[3], USD(3));
	for (i = 0; i < 4; i++)
		assert_int_equal(
		    ledger_settle(w.c, w.req.arena, ids[i], USD(1), &charged),
		    TG_OK);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(6));
	assert_int_equal(res, 0);
	assert_int_equal(open, 0);
	/* Holds of more than 2^31 nano-USD each (a 2 MB prompt's): BIGINT. */
	amount[0] = USD(3), amount[1] = USD(5) / 2;
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, kid, 60, 2,
			     amount, NULL, spare, stold),
	    TG_OK);
	assert_int_equal(stold[0], USD(3));
	assert_int_equal(stold[1], USD(1) / 2);
	for (i = 0; i < 2; i++)
		assert_int_equal(
		    ledger_settle(w.c, w.req.arena, spare[i], 0, NULL), TG_OK);
	/* The key's credit limit bounds the sum too: 2 USD left of 6. */
	key_spec_init(&ks);
	ks.credit_limit = USD(6);
	assert_int_equal(key_list(w.c, &w.op, uid, &list), TG_OK);
	pub = json_string_value(json_object_get(json_array_get(list, 0), "id"));
	assert_non_null(pub);
	assert_int_equal(key_update(w.c, &w.op, uid, pub, &ks, &k), TG_OK);
	amount[0] = USD(3) / 2, amount[1] = USD(1);
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, kid, 60, 2,
			     amount, NULL, ids, told),
	    TG_ECREDIT);
	amount[0] = USD(1);
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, kid, 60, 2,
			     amount, NULL, ids, told),
	    TG_OK);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(4));
	assert_int_equal(res, USD(2));
}

/*
 * issue 20: holds with Idempotency-Keys in one batch: each key on its hold; a
 * key used before, or twice in the batch, fails the batch as a conflict and
 * holds nothing; a key outside the rule is refused before the database.
 */
static void
t_reserve_many_idem(void **state)
{
	unsigned char ids[3][HOLD_ID_LEN], spare[3][HOLD_ID_LEN];
	int64_t amount[3] = {USD(1), USD(1), USD(1)}, told[3];
	int64_t uid = new_user(USD(10), NULL), bal, res, open;
	const char *keys[3] = {"ka", NULL, "kb"}, *used[2] = {"kc", "ka"},
		   *twice[2] = {"kd", "kd"}, *bad[1] = {"k\"x"};
	unsigned char h[HOLD_ID_LEN];
	enum ledger_short why;
	int rep, i;

	(void)state;
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, 0, 60, 3,
			     amount, keys, ids, told),
	    TG_OK);
	/* Each key found on its own hold: a later hold with it replays. */
	for (i = 0; i < 3; i += 2) {
		assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, 0,
				     USD(1), keys[i], 60, h, &rep, &why, NULL),
		    TG_OK);
		assert_true(rep);
		assert_memory_equal(h, ids[i], HOLD_ID_LEN);
	}
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, 0, 60, 2,
			     amount, used, spare, told),
	    TG_ECONFLICT);
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, 0, 60, 2,
			     amount, twice, spare, told),
	    TG_ECONFLICT);
	assert_int_equal(ledger_reserve_many(w.c, w.req.arena, uid, 0, 60, 1,
			     amount, bad, spare, told),
	    TG_EINVAL);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(7));
	assert_int_equal(res, USD(3));
	assert_int_equal(open, 3);
}

/*
 * issue 20: the write-out closes a batch's exact holds in one statement
 * (BATCH_HOLD_CLOSE) and trusts it only when every hold changed: 2 affected
 * rows each.  One closed already (settled, swept) changes nothing (0), one
 * unknown is made (1): either way short of 2 a hold, and the write-out
 * rolls back and closes them one by one.  This is the count it relies on.
 */
static void
close_rows(struct db_val *r, const unsigned char (*ids)[HOLD_ID_LEN], size_t n,
    int64_t uid, int64_t charge)
{
	size_t i;

	for (i = 0; i < n; i++, r += 6) {
		r[0] = (struct db_val){.type = DBT_STR,
		    .s = (const char *)ids[i],
		    .len = HOLD_ID_LEN};
		r[1] = DB_I64(uid);
		r[2] = DB_I64(0);
		r[3] = DB_I64(USD(1));
		r[4] = DB_STR("1970-01-02 00:00:00");
		r[5] = DB_I64(charge);
	}
}

/* The rows' statement in a transaction rolled back: its affected count. */
static uint64_t
close_count(const struct db_val *rows, size_t n)
{
	uint64_t affected = 0;

	assert_int_equal(db_begin(w.c), TG_OK);
	assert_int_equal(db_exec_rows_affected(w.c, BATCH_HOLD_CLOSE, rows, n,
			     w.req.arena, &affected),
	    TG_OK);
	db_rollback(w.c);
	return affected;
}

static void
t_hold_close_batch(void **state)
{
	unsigned char ids[3][HOLD_ID_LEN];
	struct db_val rows[3 * 6];
	enum ledger_short why;
	int64_t uid = new_user(USD(10), NULL), bal, res, open;
	int i, rep;

	for (i = 0; i < 3; i++)
		assert_int_equal(
		    ledger_reserve(w.c, w.req.arena, uid, 0, USD(1), NULL, 60,
			ids[i], &rep, &why, NULL),
		    TG_OK);
	/* Two open: both closed, 4. */
	close_rows(rows, ids, 2, uid, USD(1) / 4);
	assert_int_equal(close_count(rows, 2), 4);
	/* One settled already, one open: 2, not 4. */
	assert_int_equal(
	    ledger_settle(w.c, w.req.arena, ids[0], USD(1) / 2, NULL), TG_OK);
	assert_int_equal(close_count(rows, 2), 2);
	/* One unknown, one open: 1 + 2. */
	memset(ids[2], 0x5a, HOLD_ID_LEN);
	close_rows(rows, ids + 1, 2, uid, USD(1) / 4);
	assert_int_equal(close_count(rows, 2), 3);
	/* Rolled back: the books as the settle left them. */
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(open, 2);
	assert_int_equal(res, USD(3) - USD(1));
	assert_int_equal(bal, USD(10) - USD(3) + USD(1) / 2);
}

/* --- concurrency -------------------------------------------------------- */

#define NTHREADS 8
#define TRIES	 6

struct racer {
	int64_t uid;
	unsigned char (*holds)[HOLD_ID_LEN];
	int64_t *told; /* each admitted reserve's balance after its hold */
	int *nholds;
	pthread_mutex_t *mu;
	int admitted, refused, errors;
	const unsigned char *settle_me;
	int settled;
	int tries;     /* reserves per thread (TRIES) */
	int use_holdq; /* through the process's queue (holdq.h) */
	int idem;      /* each reserve with an Idempotency-Key of key_base's */
	int key_base;  /* threads of one key_base race for the same keys */
	int replays;   /* reserves told their key was used (no hold) */
};

static void *
reserve_loop(void *arg)
{
	struct racer *r = arg;
	struct arena *a = arena_new(4096);
	unsigned char h[HOLD_ID_LEN];
	enum ledger_short why;
	struct db_conn *c;
	int64_t bal;
	int i, rep;
	enum tg_err rc;
	char key[48];
	const char *k = NULL;

	db_thread_init();
	if (db_get(w.pool, &c) != TG_OK) {
		r->errors++;
		goto out;
	}
	for (i = 0; i < r->tries; i++) {
		bal = INT64_MIN;
		rep = 0;
		if (r->idem) {
			snprintf(key, sizeof(key), "race-%lld-%d-%d",
			    (long long)r->uid, r->key_base, i);
			k = key;
		}
		rc = r->use_holdq ? holdq_reserve(c, a, r->uid, 0, USD(1), k,
					60, h, &rep, &why, &bal)
				  : ledger_reserve(c, a, r->uid, 0, USD(1), k,
					60, h, &rep, &why, &bal);
		if (rc == TG_OK && rep) {
			r->replays++;
		} else if (rc == TG_OK) {
			r->admitted++;
			pthread_mutex_lock(r->mu);
			r->told[*r->nholds] = bal;
			memcpy(r->holds[(*r->nholds)++], h, HOLD_ID_LEN);
			pthread_mutex_unlock(r->mu);
		} else if (rc == TG_ECREDIT)
			r->refused++;
		else
			r->errors++;
		arena_reset(a);
	}
	db_put(w.pool, c);
out:
	db_thread_end();
	arena_free(a);
	return NULL;
}

/*
 * NTHREADS threads of tries 1-USD reserves each against credit USD: exactly
 * min(credit, all) admitted, each told the balance after its own hold
 * (credit - 1, credit - 2 ... USD, each once), not one read after its commit
 * that other holds have lowered since.
 */
static void
race_reserves(int64_t credit, int tries, int use_holdq, int idem)
{
	/*
	 * idem 1: each reserve with a key of its own; 2: threads in pairs
	 * send the same keys (with credit for all: one of each pair holds,
	 * the other is told the key was used).
	 */
	int all = NTHREADS * tries / (idem == 2 ? 2 : 1),
	    want = credit < all ? (int)credit : all, replays = 0;
	unsigned char(*holds)[HOLD_ID_LEN] = calloc(all, HOLD_ID_LEN);
	int64_t *told = calloc(all, sizeof(*told));
	int *seen = calloc(credit, sizeof(*seen));
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct racer r[NTHREADS];
	pthread_t t[NTHREADS];
	int64_t uid = new_user(USD(credit), NULL), bal, res, open, charge;
	int nholds = 0, admitted = 0, i;

	assert_non_null(holds);
	assert_non_null(told);
	assert_non_null(seen);
	for (i = 0; i < NTHREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].uid = uid;
		r[i].holds = holds;
		r[i].told = told;
		r[i].nholds = &nholds;
		r[i].mu = &mu;
		r[i].tries = tries;
		r[i].use_holdq = use_holdq;
		r[i].idem = idem;
		r[i].key_base = idem == 2 ? i % (NTHREADS / 2) : i;
		assert_int_equal(
		    pthread_create(&t[i], NULL, reserve_loop, &r[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].errors, 0);
		admitted += r[i].admitted;
		replays += r[i].replays;
	}
	assert_int_equal(admitted, want);
	assert_int_equal(replays, idem == 2 ? NTHREADS * tries - want : 0);
	assert_int_equal(nholds, want);
	for (i = 0; i < nholds; i++) {
		assert_true(told[i] >= USD(credit - want) &&
		    told[i] < USD(credit) && told[i] % NANO_PER_USD == 0);
		seen[told[i] / NANO_PER_USD]++;
	}
	for (i = (int)credit - want; i < (int)credit; i++)
		assert_int_equal(seen[i], 1);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(credit - want));
	assert_int_equal(res, USD(want));
	assert_int_equal(open, want);
	/* Settle each for a different amount; everything reconciles. */
	for (i = 0; i < nholds; i++) {
		charge = (int64_t)(i % 10) * NANO_PER_USD / 10;
		assert_int_equal(
		    ledger_settle(w.c, w.req.arena, holds[i], charge, NULL),
		    TG_OK);
	}
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(open, 0);
	assert_int_equal(res, 0);
	/* 0.0 + 0.1 + ... + 0.9 = 4.5 USD charged a ten. */
	assert_int_equal(bal,
	    USD(credit) - USD(45) / 10 * (want / 10) -
		(int64_t)(want % 10) * (want % 10 - 1) / 2 * NANO_PER_USD / 10);
	free(holds);
	free(told);
	free(seen);
}

/* Invariant 1: 48 concurrent 1-USD reserves against 10 USD admit exactly 10. */
static void
t_concurrent_reserves_never_overdraw(void **state)
{
	race_reserves(10, TRIES, 0, 0);
}

/*
 * issue 20: the same through the process's queue, where holds waiting at
 * once go in one transaction; and 160 that all fit, told each balance once
 * however they were batched (some were: the queue's own count).
 */
static void
t_concurrent_holdq(void **state)
{
	uint64_t b0, n0, b1, n1;

	race_reserves(10, TRIES, 1, 0);
	holdq_stats(&b0, &n0);
	race_reserves(1000, 20, 1, 0);
	holdq_stats(&b1, &n1);
	assert_true(b1 > b0);
	assert_true(n1 - n0 >= 2 * (b1 - b0));
}

/*
 * issue 20: holds with Idempotency-Keys go through the queue too: 48 against
 * 10 USD admit exactly 10; 160 with keys of their own are each told their
 * balance once, some batched; and threads in pairs sending the same keys at
 * once get one hold a key, the other of the pair told the key was used,
 * whether the two met in a batch (whose INSERT then fails on the key and
 * each goes alone) or not.
 */
static void
t_concurrent_holdq_idem(void **state)
{
	uint64_t b0, n0, b1, n1;

	race_reserves(10, TRIES, 1, 1);
	holdq_stats(&b0, &n0);
	race_reserves(1000, 20, 1, 1);
	holdq_stats(&b1, &n1);
	assert_true(b1 > b0);
	race_reserves(1000, 20, 1, 2);
}

static void *
settle_once(void *arg)
{
	struct racer *r = arg;
	struct arena *a = arena_new(4096);
	struct db_conn *c;

	db_thread_init();
	if (db_get(w.pool, &c) == TG_OK) {
		r->settled =
		    ledger_settle(c, a, r->settle_me, USD(1), NULL) == TG_OK;
		db_put(w.pool, c);
	}
	db_thread_end();
	arena_free(a);
	return NULL;
}

/* Invariant 2 under concurrency: 8 racing settlements, exactly one wins. */
static void
t_concurrent_settle_exactly_once(void **state)
{
	unsigned char h[HOLD_ID_LEN];
	struct racer r[NTHREADS];
	pthread_t t[NTHREADS];
	enum ledger_short why;
	int64_t uid = new_user(USD(5), NULL), bal, res, open;
	int i, wins = 0, rep;

	assert_int_equal(ledger_reserve(w.c, w.req.arena, uid, 0, USD(2), NULL,
			     60, h, &rep, &why, NULL),
	    TG_OK);
	for (i = 0; i < NTHREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].settle_me = h;
		assert_int_equal(
		    pthread_create(&t[i], NULL, settle_once, &r[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		wins += r[i].settled;
	}
	assert_int_equal(wins, 1);
	reconciles(uid, &bal, &res, &open);
	assert_int_equal(bal, USD(4));
	assert_int_equal(res, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_reserve_then_settle),
	    cmocka_unit_test(t_charge_past_hold),
	    cmocka_unit_test(t_insufficient_changes_nothing),
	    cmocka_unit_test(t_key_credit_limit),
	    cmocka_unit_test(t_idempotency_key),
	    cmocka_unit_test(t_sweeper_settles_expired),
	    cmocka_unit_test(t_reserve_many),
	    cmocka_unit_test(t_reserve_many_idem),
	    cmocka_unit_test(t_hold_close_batch),
	    cmocka_unit_test(t_concurrent_reserves_never_overdraw),
	    cmocka_unit_test(t_concurrent_holdq),
	    cmocka_unit_test(t_concurrent_holdq_idem),
	    cmocka_unit_test(t_concurrent_settle_exactly_once),
	};

	test_init();
	if (getenv("TOLLGATE_TEST_DB_SOCKET") == NULL) {
		printf("test_ledger: TOLLGATE_TEST_DB_SOCKET unset; skipped "
		       "(run scripts/dev test)\n");
		return 77;
	}
	return cmocka_run_group_tests_name("ledger", tests, setup, teardown);
}
