/* credit.c: the credit facade: exact holds, lease carves and the journal behind reserve and settle */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/credit.h"
#include "domain/holdq.h"
#include "core/arena.h"
#include "core/money.h"
#include "store/q_ledger.h"
#include "domain/journal.h"
#include "domain/lease.h"
#include "domain/ledger.h"
#include "domain/op.h"
#include "domain/sandbox.h"

/*
 * issue 20: how long a reservation refused for want of credit waits for the
 * user's settlements in the journal (written out within a tick, 100 ms).
 */
#define WAIT_PENDING_MS 250

/*
 * How long a request refused for want of credit waits while a lease of the
 * user is being closed on this node: the closer's round is a second, and a
 * close that failed while the database was away is tried again at the next.
 */
#define WAIT_CLOSING_MS	     1500
#define WAIT_CLOSING_STEP_MS 50

/*
 * issue 20: a lease with room whose grant ran short between the supervisor's
 * rounds: raised now in its row, one statement, then carved.  TG_ENOENT when
 * there is no such lease; a database error as such: the request fails
 * cleanly (503) rather than take a new lease or an exact hold the money held
 * in this one would make a refusal (402) for credit the user has.
 */
static enum tg_err
lease_regrant(struct op *op, struct db_conn *c, struct lease_table *lt,
    const struct credit_ask *ask, struct credit *cr)
{
	struct lease_grant g;
	uint64_t user = (uint64_t)op->who->user_id;
	enum tg_err rc;

	if (!lease_short(lt, user, ask->amount, &g))
		return TG_ENOENT;
	if ((rc = ledger_lease_grant(c, op->arena, g.id, g.value)) != TG_OK)
		return rc;
	lease_granted(lt, &g);
	return lease_carve(lt, user, ask->amount, op->request_id, 0, &cr->carve)
	    ? TG_OK
	    : TG_ENOENT;
}

/*
 * issue 20: a lease that stopped carving (its span ran out, the closer has
 * not returned it yet) while it holds what this request needs: renewed in
 * its row (one statement) and carved from, rather than refuse a user (402)
 * whose credit the lease holds.  TG_ENOENT: none (take an exact hold).
 */
static enum tg_err
lease_revive(struct op *op, struct db_conn *c, struct lease_table *lt,
    const struct credit_ask *ask, struct credit *cr)
{
	struct lease_grant g;
	uint64_t user = (uint64_t)op->who->user_id;
	double t0 = util_wall();
	enum tg_err rc;

	/*
	 * None drained: another request may have renewed it since this one's
	 * carve failed (a lease that stopped carving while the database was
	 * away is found by every request of the user at once): carve from it,
	 * rather than refuse (402) a user whose credit it holds.
	 */
	if (!lease_drained(lt, user, ask->amount, &g))
		return lease_carve(lt, user, ask->amount, op->request_id, 0,
			   &cr->carve) == 1
		    ? TG_OK
		    : lease_regrant(op, c, lt, ask, cr);
	if ((rc = ledger_lease_renew(
		 c, op->arena, g.id, (int64_t)(2 * g.renew) + 1)) != TG_OK)
		return rc;
	lease_renewed(lt, &g, t0);
	if (lease_carve(lt, user, ask->amount, op->request_id, 0, &cr->carve) ==
	    1)
		return TG_OK;
	return lease_regrant(op, c, lt, ask, cr);
}

/*
 * A lease taken now in one call, the request's hold its first carve; TG_OK,
 * TG_ENOENT (an exact hold instead) or the database's error.
 */
static enum tg_err
lease_new(struct op *op, struct db_conn *c, struct lease_table *lt,
    const struct credit_ask *ask, struct credit *cr)
{
	const struct conf *f = op->conf;
	unsigned char id[HOLD_ID_LEN];
	unsigned ttl = f->hold_ttl * 2 > 86400 ? 86400 : f->hold_ttl * 2;
	int64_t balance = 0;
	enum tg_err rc;

	rc = ledger_lease_take(
	    c, op->arena, op->who->user_id, f->lease_nano, ttl, id, &balance);
	/*
	 * Near the limit: exact holds; unless the user's credit sits in a
	 * lease of the node that stopped carving (lease_revive).
	 */
	if (rc == TG_ECREDIT)
		return lease_revive(op, c, lt, ask, cr);
	if (rc != TG_OK)
		return rc;
	/*
	 * Carving stops at half the lease's time: a request started before
	 * then (at most hold_ttl long) ends before it expires.
	 */
	if (lease_add(lt, (uint64_t)op->who->user_id, id, f->lease_nano,
		balance, util_wall() + ttl / 2.0, ask->amount, op->request_id,
		&cr->carve) == -1) {
		ledger_lease_close(c, op->arena, id, 0, 0);
		return TG_ENOENT;
	}
	return TG_OK;
}

/*
 * The hold from a lease of this process (lease.h): carved without SQL, or
 * from a lease taken now in one call.  TG_ENOENT when this request takes its
 * own exact hold: no leases, an Idempotency-Key, a key with a credit limit,
 * a hold over a quarter of a lease, or a user who cannot spare a lease.
 */
static enum tg_err
lease_hold(struct op *op, struct db_conn *c, const struct credit_env *env,
    const struct credit_ask *ask, struct credit *cr)
{
	struct lease_table *lt = env->leases;
	enum tg_err rc;

	if (lt == NULL || ask->idem != NULL || ask->key_limited ||
	    ask->amount <= 0 || ask->amount > op->conf->lease_nano / 4)
		return TG_ENOENT;
	if (!lease_carve(lt, (uint64_t)op->who->user_id, ask->amount,
		op->request_id, 0, &cr->carve) &&
	    (rc = lease_regrant(op, c, lt, ask, cr)) != TG_OK &&
	    (rc != TG_ENOENT || (rc = lease_new(op, c, lt, ask, cr)) != TG_OK))
		return rc;
	cr->leased = 1;
	memcpy(cr->hold_id, cr->carve.lease_id, HOLD_ID_LEN);
	return TG_OK;
}

/* One exact hold: with the process's others of the account and key (holdq.h). */
static enum tg_err
exact_once(struct op *op, struct db_conn *c, const struct credit_ask *ask,
    struct credit *cr)
{
	if (op->conf->hold_batch)
		return holdq_reserve(c, op->arena, sandbox_account(op->who),
		    op->who->key_id, ask->amount, ask->idem, op->conf->hold_ttl,
		    cr->hold_id, &cr->replayed, &cr->short_of,
		    &cr->reserve_balance);
	return ledger_reserve(c, op->arena, sandbox_account(op->who),
	    op->who->key_id, ask->amount, ask->idem, op->conf->hold_ttl,
	    cr->hold_id, &cr->replayed, &cr->short_of, &cr->reserve_balance);
}

/*
 * An exact hold.  issue 20: refused for want of credit while settlements of
 * this user wait in the node's journals, whose releases would have made room:
 * reserved again once they are written out (a user or key near its limit is
 * not refused for what the last requests did not use).
 */
static enum tg_err
exact_hold(struct op *op, struct db_conn *c, const struct credit_env *env,
    const struct credit_ask *ask, struct credit *cr)
{
	enum tg_err rc;
	int again = 1;

	do
		rc = exact_once(op, c, ask, cr);
	while (rc == TG_ECREDIT && again-- > 0 && op->conf->exact_journal &&
	    journal_wait_user(env->journal, c, op->arena, op->who->user_id,
		WAIT_PENDING_MS) == 1);
	return rc;
}

/*
 * Refused for want of credit while a lease of this user is being closed on
 * this node (lease_closing): that lease holds the credit.  After the
 * database was away, an idle lease's close failed and waits for the
 * closer's next round, and every request of the user was refused (402) for
 * credit it had.  The close is run now when the lease is this process's
 * (lease_sweep; a sibling's closer runs within its round), then the hold is
 * taken again.  A close still not through by WAIT_CLOSING_MS: TG_EDB (503,
 * try again), not a refusal.
 */
static enum tg_err
wait_closing(struct op *op, struct db_conn *c, const struct credit_env *env,
    const struct credit_ask *ask, struct credit *cr)
{
	const struct timespec step = {0, WAIT_CLOSING_STEP_MS * 1000000L};
	uint64_t user = (uint64_t)op->who->user_id;
	int waited = 0;
	enum tg_err rc;

	while (lease_closing(env->leases, user)) {
		lease_sweep(
		    env->leases, c, op->arena, op->conf->lease_idle, 0, 4);
		if (!lease_closing(env->leases, user))
			break;
		if (waited >= WAIT_CLOSING_MS)
			return TG_EDB;
		nanosleep(&step, NULL);
		waited += WAIT_CLOSING_STEP_MS;
	}
	/* Taken afresh: the refused exact hold left its figures behind. */
	memset(cr, 0, sizeof(*cr));
	cr->hold = ask->amount;
	cr->reserve_balance = INT64_MIN;
	if ((rc = lease_hold(op, c, env, ask, cr)) != TG_ENOENT)
		return rc;
	return exact_hold(op, c, env, ask, cr);
}

enum tg_err
credit_reserve(struct op *op, struct db_conn *c, const struct credit_env *env,
    const struct credit_ask *ask, struct credit *cr)
{
	enum tg_err rc;
	int closing = 0;

	memset(cr, 0, sizeof(*cr));
	cr->hold = ask->amount;
	cr->reserve_balance = INT64_MIN;
	/*
	 * A test key pays from its sandbox (refilled on the day's first use),
	 * always by exact holds: leases are for the live hot path.
	 */
	if (op->who->test) {
		if ((rc = sandbox_refill(c, op, NULL)) != TG_OK)
			return rc;
		rc = TG_ENOENT;
	} else {
		rc = lease_hold(op, c, env, ask, cr);
	}
	if (rc == TG_ENOENT) {
		/* Before the hold: a close that ends meanwhile still counts. */
		closing = !op->who->test && env->leases != NULL &&
		    lease_closing(env->leases, (uint64_t)op->who->user_id);
		rc = exact_hold(op, c, env, ask, cr);
		if (rc == TG_ECREDIT && closing)
			rc = wait_closing(op, c, env, ask, cr);

		/*
		 * issue 20: settled through the journal, off the request path;
		 * not a test key's (its sandbox account is not its user's), not
		 * with an Idempotency-Key whose answer the caller keeps itself
		 * (!keep_in_line), not when the balance after the hold is
		 * unknown.
		 */
		cr->by_journal = rc == TG_OK && !cr->leased &&
		    op->conf->exact_journal && env->journal != NULL &&
		    (ask->idem == NULL || ask->keep_in_line) && !cr->replayed &&
		    !op->who->test && cr->reserve_balance != INT64_MIN;
		/* Its answer goes into the line with it (credit_keep). */
		cr->deferred = cr->by_journal && ask->idem != NULL ? -1 : 0;
		/* What the user's unwritten lines will give back (releases.h). */
		if (rc == TG_OK && !cr->leased && env->journal != NULL)
			cr->released =
			    journal_released(env->journal, op->who->user_id);
	}
	if (rc == TG_OK && !cr->replayed)
		cr->held = 1;
	return rc;
}

/*
 * Settle a carve through the journal: one line in a local file before the
 * answer goes out; the supervisor writes it to the database within 100 ms.
 */
static enum tg_err
journal_settle(struct op *op, const struct credit_env *env, struct credit *cr,
    int64_t charge, const struct db_val *cols)
{
	struct lease_table *lt = env->leases;
	struct journal_rec jr;
	int64_t balance = 0;

	/* Every field set: a stray kind would write a carve as a hold. */
	memset(&jr, 0, sizeof(jr));
	memcpy(jr.lease_id, cr->carve.lease_id, HOLD_ID_LEN);
	memcpy(jr.carve_id, cr->carve.id, HOLD_ID_LEN);
	jr.user_id = op->who->user_id;
	jr.key_id = op->who->key_id;
	jr.charge = charge;
	jr.usage = cols;
	lease_journaled(lt, &cr->carve, 1);
	if (journal_append(env->journal, &jr) == -1) {
		lease_journaled(lt, &cr->carve, -1);
		return TG_ESYSTEM; /* settle in place instead */
	}
	cr->charged = charge;
	lease_return(lt, &cr->carve, charge);
	/* The balance as of the newest lease, with what the leases hold. */
	cr->balance_after =
	    lease_available(lt, (uint64_t)op->who->user_id, &balance);
	cr->balance_after += balance;
	cr->held = 0;
	return TG_OK;
}

/*
 * An exact hold settled by one line in the journal (as JR_HOLD or JR_EXACT);
 * -1 when it could not be written.
 */
static int
journal_hold(struct op *op, const struct credit_env *env, struct credit *cr,
    int64_t charge, const struct db_val *cols, enum journal_as as,
    const struct db_val *replay)
{
	struct journal_rec jr;

	memset(&jr, 0, sizeof(jr));
	memcpy(jr.lease_id, cr->hold_id, HOLD_ID_LEN);
	jr.user_id = op->who->user_id;
	jr.key_id = op->who->key_id;
	jr.charge = charge;
	jr.amount = cr->hold;
	jr.usage = cols;
	jr.as = as;
	jr.replay = replay;
	if (journal_append(env->journal, &jr) == -1)
		return -1;
	cr->charged = charge;
	/* The balance as the database will have it once the lines are out. */
	cr->balance_after =
	    cr->reserve_balance + cr->released + cr->hold - charge;
	cr->held = 0;
	return 0;
}

/*
 * An exact hold whose settle could not reach the database (or lost it before
 * the answer): the answer was given, so it is settled; one line in the
 * journal, written out by ledger_settle_usage when the database is back.  If
 * the lost settle did commit, the write-out finds the hold closed and moves
 * nothing.
 */
static enum tg_err
journal_exact(struct op *op, const struct credit_env *env, struct credit *cr,
    int64_t charge, const struct db_val *cols, enum tg_err why)
{
	if (journal_hold(op, env, cr, charge, cols, JR_EXACT, NULL) == -1)
		return why;
	log_msg(LOG_WARN,
	    "req=%s the database is unavailable at settlement: %lld nano-USD "
	    "settled into the journal",
	    op->request_id, (long long)charge);
	return TG_OK;
}

/* The carve's rest goes back to its lease, whatever the settlement did. */
static void
lease_back(struct op *op, const struct credit_env *env, struct credit *cr,
    enum tg_err rc, int64_t overrun)
{
	lease_return(env->leases, &cr->carve, rc == TG_OK ? cr->charged : -1);
	/*
	 * The balance went below what the lease was taken against: no more
	 * carves from it; the next request reserves exactly.
	 */
	if (rc == TG_OK && overrun > 0)
		lease_drain(env->leases, &cr->carve);
	if (rc == TG_OK)
		cr->balance_after += lease_available(
		    env->leases, (uint64_t)op->who->user_id, NULL);
}

/* The settle as a statement of its own: the lease's charge or tg_settle. */
static enum tg_err
settle_in_place(struct op *op, const struct credit_db *db,
    const struct credit_env *env, struct credit *cr, int64_t charge,
    const struct db_val cols[LEDGER_USAGE_COLS])
{
	struct db_conn *c = NULL;
	int64_t overrun = 0;
	enum tg_err rc;

	if ((rc = db->get(db->arg, &c)) == TG_OK && cr->leased)
		rc = ledger_lease_charge(c, op->arena, cr->carve.lease_id,
		    cr->carve.id, charge, cr->hold, cols, &cr->charged,
		    &cr->balance_after, &overrun);
	else if (rc == TG_OK)
		rc = ledger_settle_usage(c, op->arena, cr->hold_id, charge,
		    cols, &cr->charged, &cr->balance_after, &overrun);
	if (cr->leased)
		lease_back(op, env, cr, rc, overrun);
	/*
	 * issue 20: what the user's unwritten lines will give back, read
	 * after the database's balance (so it errs low, never high).
	 */
	else if (rc == TG_OK)
		cr->balance_after +=
		    journal_released(env->journal, op->who->user_id);
	/* No such hold, or closed already (swept): nothing to journal. */
	if (!cr->leased && env->journal != NULL && rc != TG_OK &&
	    rc != TG_ENOENT && rc != TG_ECONFLICT)
		return journal_exact(op, env, cr, charge, cols, rc);
	if (rc == TG_OK && overrun > 0) {
		log_msg(LOG_WARN,
		    "req=%s charged %lld nano-USD past its hold of %lld",
		    op->request_id, (long long)overrun, (long long)cr->hold);
		if (ledger_audit_overrun(c, op->arena, op->who->user_pub,
			op->request_id, cr->hold, cr->charged,
			overrun) != TG_OK)
			log_msg(LOG_ERR,
			    "req=%s the overrun's audit row failed",
			    op->request_id);
	}
	if (rc == TG_OK)
		cr->held = 0;
	return rc;
}

enum tg_err
credit_settle(struct op *op, const struct credit_db *db,
    const struct credit_env *env, struct credit *cr, int64_t charge,
    const struct db_val cols[LEDGER_USAGE_COLS])
{
	int64_t past = charge > cr->hold ? charge - cr->hold : 0;

	/* An overrun moves the balance itself: settled in place, not journaled. */
	if (cr->leased && env->journal != NULL && past == 0 &&
	    journal_settle(op, env, cr, charge, cols) == TG_OK)
		return TG_OK;
	/*
	 * issue 20: an Idempotency-Key's settle waits for its answer
	 * (credit_keep), told now what its line will charge: the figures of
	 * journal_hold.  The columns point at the request's own data.
	 */
	if (cr->deferred == -1 && past == 0 &&
	    (cr->cols = arena_alloc(
		 op->arena, LEDGER_USAGE_COLS * sizeof(*cr->cols))) != NULL) {
		memcpy(cr->cols, cols, LEDGER_USAGE_COLS * sizeof(*cr->cols));
		cr->deferred = 1;
		cr->charge = charge;
		cr->charged = charge;
		cr->balance_after =
		    cr->reserve_balance + cr->released + cr->hold - charge;
		return TG_OK;
	}
	cr->deferred = 0;
	/* issue 20: the exact path's one round trip was the hold. */
	if (cr->by_journal && past == 0 &&
	    journal_hold(op, env, cr, charge, cols, JR_HOLD, NULL) == 0)
		return TG_OK;
	return settle_in_place(op, db, env, cr, charge, cols);
}

/*
 * The deferred settle's line, with the answer (replay) or without; else the
 * settle in place (TG_ENOENT then when it went through: the caller keeps
 * the answer itself).  Its figures stand as told: in place the charge is the
 * same, and the balance the database tells is only fresher.
 */
static enum tg_err
settle_deferred(struct op *op, const struct credit_db *db,
    const struct credit_env *env, struct credit *cr,
    const struct db_val *replay)
{
	int64_t charged, balance;
	enum tg_err rc;

	cr->deferred = 0;
	if (journal_hold(op, env, cr, cr->charge, cr->cols, JR_HOLD, replay) ==
	    0)
		return TG_OK;
	charged = cr->charged;
	balance = cr->balance_after;
	rc = settle_in_place(op, db, env, cr, cr->charge, cr->cols);
	cr->charged = charged;
	cr->balance_after = balance;
	return rc == TG_OK && replay != NULL ? TG_ENOENT : rc;
}

enum tg_err
credit_keep(struct op *op, const struct credit_db *db,
    const struct credit_env *env, struct credit *cr, int http_status,
    const char *type, const char *body, size_t len)
{
	struct db_val replay[JOURNAL_REPLAY_COLS];

	if (cr->deferred != 1)
		return TG_ENOENT;
	replay[0] = DB_I64(http_status);
	replay[1] = DB_STR(type);
	replay[2] = (struct db_val){.type = DBT_STR, .s = body, .len = len};
	return settle_deferred(op, db, env, cr, replay);
}

int
credit_waits(const struct credit *cr)
{
	return cr->deferred == 1;
}

enum tg_err
credit_settle_pending(struct op *op, const struct credit_db *db,
    const struct credit_env *env, struct credit *cr)
{
	return cr->deferred == 1 ? settle_deferred(op, db, env, cr, NULL)
				 : TG_OK;
}

enum tg_err
credit_sweep(struct db_conn *c, struct arena *a,
    const char *const *journal_dirs, unsigned limit, unsigned *settled)
{
	unsigned char(*keep)[HOLD_ID_LEN] = NULL;
	size_t nkeep = 0;

	*settled = 0;
	/*
	 * A hold whose settlement waits in a journal of this node for the
	 * database is not charged in full: its write-out charges it exactly.
	 * When that cannot be told, nothing is swept this time.
	 */
	if (journal_dirs != NULL &&
	    journal_pending_holds(journal_dirs, c, a, &keep, &nkeep) == -1)
		return TG_EUNAVAIL;
	return ledger_sweep(c, a, limit, keep, nkeep, settled);
}

enum tg_err
credit_history(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t before_id, int64_t limit, json_t **data, int64_t *next)
{
	struct credit_row *e;
	size_t i, n;
	enum tg_err rc;

	/* One more than asked: whether a next page exists. */
	if ((rc = q_credit_list(c, a, user_id, before_id, limit + 1, &e, &n)) !=
	    TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	*next = 0;
	for (i = 0; i < n; i++) {
		if ((int64_t)i == limit) {
			*next = e[i - 1].id;
			break;
		}
		json_array_append_new(*data,
		    json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "id",
			(json_int_t)e[i].id, "at", e[i].at, "kind", e[i].kind,
			"amount", money_json(e[i].amount), "note",
			e[i].note != NULL ? json_string(e[i].note)
					  : json_null(),
			"who",
			e[i].who != NULL ? json_string(e[i].who) : json_null(),
			"source", e[i].source != NULL ? e[i].source : "admin",
			"reference",
			e[i].ref != NULL ? json_string(e[i].ref)
					 : json_null()));
	}
	return TG_OK;
}
