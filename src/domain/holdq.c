/* holdq.c: the exact holds a process has waiting at once for one account and key, taken together */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "domain/holdq.h"
#include "domain/ledger.h"

/*
 * issue 20: on the exact path every hold of a user queues on the user's
 * accounts row in the database: a transaction, a lock wait, a sleep and a
 * wake-up each, and on two cores those were most of MariaDB's time.  Holds
 * of one account and key arriving while one of theirs from this process is
 * in the database wait here instead, and go after it in one transaction.
 * Nobody waits who would not have waited on the row lock: a hold with none
 * of its account and key in flight goes at once, alone.
 *
 * Accounts are hashed onto LANES lanes; a hold whose lane is busy with
 * another account or key goes alone, as before, rather than wait.
 */
#define LANES_BITS 6
#define LANES	   (1u << LANES_BITS)

enum w_state { W_QUEUED, W_LEAD, W_DONE, W_ALONE };

/* One hold waiting, on its thread's stack; written by the leader. */
struct waiter {
	int64_t amount;
	const char *idem; /* its Idempotency-Key, or NULL */
	int replayed;	  /* alone: the key's first hold exists */
	unsigned char id[HOLD_ID_LEN];
	int64_t balance; /* INT64_MIN: unknown */
	enum ledger_short why;
	enum tg_err rc;
	enum w_state state; /* read and written under the lane's lock */
	struct waiter *next;
};

struct lane {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int busy; /* a hold of (account, key, ttl) is in the database */
	int64_t account, key;
	unsigned ttl;
	struct waiter *head, *tail;
};

static struct lane lanes[LANES];
static pthread_once_t lanes_once = PTHREAD_ONCE_INIT;
static uint64_t n_batches, n_batched;

static void
lanes_init(void)
{
	unsigned i;

	for (i = 0; i < LANES; i++) {
		pthread_mutex_init(&lanes[i].mu, NULL);
		pthread_cond_init(&lanes[i].cv, NULL);
	}
}

/*
 * The lead: this hold and up to LEDGER_RESERVE_MAX - 1 queued behind it, in
 * the database on the leader's connection; then the lane to the next in
 * line, or idle.  Entered and left with the lane's lock held.
 */
static void
lead(struct lane *l, struct db_conn *c, struct arena *a, struct waiter *me)
{
	struct waiter *batch[LEDGER_RESERVE_MAX], *w;
	int64_t amount[LEDGER_RESERVE_MAX], bal[LEDGER_RESERVE_MAX];
	const char *idem[LEDGER_RESERVE_MAX];
	unsigned char ids[LEDGER_RESERVE_MAX][HOLD_ID_LEN];
	int64_t account = l->account, key = l->key;
	unsigned ttl = l->ttl;
	enum w_state outcome = W_DONE;
	size_t n = 0, i;
	enum tg_err rc;

	batch[n++] = me;
	while (n < LEDGER_RESERVE_MAX && (w = l->head) != NULL) {
		if ((l->head = w->next) == NULL)
			l->tail = NULL;
		batch[n++] = w;
	}
	pthread_mutex_unlock(&l->mu);
	if (n == 1) {
		me->rc =
		    ledger_reserve(c, a, account, key, me->amount, me->idem,
			ttl, me->id, &me->replayed, &me->why, &me->balance);
	} else {
		for (i = 0; i < n; i++) {
			amount[i] = batch[i]->amount;
			idem[i] = batch[i]->idem;
		}
		rc = ledger_reserve_many(
		    c, a, account, key, ttl, n, amount, idem, ids, bal);
		__atomic_add_fetch(&n_batches, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&n_batched, n, __ATOMIC_RELAXED);
		/*
		 * The sum does not fit, or an Idempotency-Key was used: each
		 * tries alone, after the lane (alone, a used key is a replay).
		 */
		if (rc == TG_ECREDIT || rc == TG_ECONFLICT)
			outcome = W_ALONE;
		for (i = 0; i < n && outcome == W_DONE; i++) {
			batch[i]->rc = rc;
			if (rc != TG_OK)
				continue;
			memcpy(batch[i]->id, ids[i], HOLD_ID_LEN);
			batch[i]->balance = bal[i];
		}
	}
	pthread_mutex_lock(&l->mu);
	for (i = 0; i < n; i++)
		batch[i]->state = outcome;
	if ((w = l->head) != NULL) {
		/* The lane stays busy: the first queued leads the rest. */
		if ((l->head = w->next) == NULL)
			l->tail = NULL;
		w->state = W_LEAD;
	} else {
		l->busy = 0;
	}
	pthread_cond_broadcast(&l->cv);
}

enum tg_err
holdq_reserve(struct db_conn *c, struct arena *a, int64_t account,
    int64_t key_id, int64_t amount, const char *idem, unsigned ttl_s,
    unsigned char hold_id[HOLD_ID_LEN], int *replayed, enum ledger_short *why,
    int64_t *balance)
{
	struct waiter me = {.amount = amount,
	    .idem = idem,
	    .balance = INT64_MIN,
	    .why = SHORT_NONE,
	    .rc = TG_OK,
	    .state = W_QUEUED};
	struct lane *l;

	*why = SHORT_NONE;
	*replayed = 0;
	if (amount <= 0)
		goto alone;
	pthread_once(&lanes_once, lanes_init);
	/* Fibonacci hashing: the top bits of the product pick the lane. */
	l = &lanes[((uint64_t)account * 0x9E3779B97F4A7C15ull) >>
	    (64 - LANES_BITS)];
	pthread_mutex_lock(&l->mu);
	if (!l->busy) {
		l->busy = 1;
		l->account = account;
		l->key = key_id;
		l->ttl = ttl_s;
		me.state = W_LEAD;
	} else if (l->account != account || l->key != key_id ||
	    l->ttl != ttl_s) {
		pthread_mutex_unlock(&l->mu);
		goto alone;
	} else {
		me.next = NULL;
		if (l->tail != NULL)
			l->tail->next = &me;
		else
			l->head = &me;
		l->tail = &me;
		while (me.state == W_QUEUED)
			pthread_cond_wait(&l->cv, &l->mu);
	}
	if (me.state == W_LEAD)
		lead(l, c, a, &me);
	pthread_mutex_unlock(&l->mu);
	if (me.state == W_ALONE)
		goto alone;
	*why = me.why;
	*replayed = me.replayed;
	if (me.rc == TG_OK)
		memcpy(hold_id, me.id, HOLD_ID_LEN);
	if (me.balance != INT64_MIN && balance != NULL)
		*balance = me.balance;
	return me.rc;
alone:
	return ledger_reserve(c, a, account, key_id, amount, idem, ttl_s,
	    hold_id, replayed, why, balance);
}

void
holdq_stats(uint64_t *batches, uint64_t *batched)
{
	*batches = __atomic_load_n(&n_batches, __ATOMIC_RELAXED);
	*batched = __atomic_load_n(&n_batched, __ATOMIC_RELAXED);
}
