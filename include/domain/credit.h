/* credit.h: one request's credit: reserve before the provider works, settle exactly once after */
/* SPDX-License-Identifier: MIT */
#ifndef CREDIT_H
#define CREDIT_H

#include <stdint.h>
#include <jansson.h>

#include "domain/lease.h"
#include "domain/ledger.h"
#include "core/tollgate.h"

struct op;
struct db_conn;
struct db_val;
struct journal;
struct arena;

/*
 * Where this node keeps credit (DESIGN section 6): a hold may be carved from
 * a lease of this process and its settlement written to the journal, or be
 * an exact hold in the database settled in place.  Callers see neither.
 */
struct credit_env {
	struct lease_table *leases; /* NULL: every hold is exact */
	struct journal *journal;    /* NULL: every settlement in place */
};

/*
 * The database when credit needs it: a settlement through the journal does
 * not, and a request does not hold a connection it does not need.
 */
struct credit_db {
	enum tg_err (*get)(void *arg, struct db_conn **out);
	void *arg;
};

/* One request's credit, from credit_reserve to credit_settle. */
struct credit {
	int64_t hold;			    /* nano-USD reserved */
	unsigned char hold_id[HOLD_ID_LEN]; /* for the usage record */
	int held;			    /* reserved, not settled yet */
	int replayed; /* the Idempotency-Key's first hold exists */
	enum ledger_short short_of; /* why TG_ECREDIT */
	int64_t charged;	    /* after credit_settle */
	int64_t balance_after;	    /* the account's, as the client sees it */
	/* private to credit.c */
	int leased;
	struct carve carve;
	int64_t reserve_balance; /* the account's just after the hold */
	int by_journal; /* issue 20: an exact hold settled through the journal */
	int64_t released; /* the user's releases unwritten at the hold */
	/*
	 * issue 20: settled, its line waiting for the answer it carries
	 * (credit_keep): the charge and the usage columns (the arena's).
	 */
	int deferred;
	int64_t charge;
	struct db_val *cols;
};

/* What a reservation needs to know about the request. */
struct credit_ask {
	int64_t amount;	  /* the hold: the worst case */
	const char *idem; /* Idempotency-Key, NULL: none */
	int key_limited;  /* the key has a credit limit */
	/*
	 * issue 20: with idem, the settle may wait for the answer and go into
	 * the journal with it (credit_keep); 0: settled in place, the answer
	 * kept by the caller.
	 */
	int keep_in_line;
};

/*
 * Reserve ask->amount for op->who.  TG_ECREDIT with cr->short_of when it does
 * not fit; TG_OK with cr->replayed when the Idempotency-Key already holds
 * (nothing is reserved then).
 */
enum tg_err credit_reserve(struct op *, struct db_conn *,
    const struct credit_env *, const struct credit_ask *, struct credit *);
/*
 * Settle cr once: charge (never capped at the hold; an overrun is logged and
 * audited) with the usage record's columns.  Sets cr->charged and
 * cr->balance_after.  An exact hold whose settle cannot reach the database is
 * settled into the journal (written out when the database is back; the
 * balance told is then the one of the reservation less the charge).  On
 * failure the hold is left to the sweeper.
 */
enum tg_err credit_settle(struct op *, const struct credit_db *,
    const struct credit_env *, struct credit *, int64_t charge,
    const struct db_val usage[LEDGER_USAGE_COLS]);
/*
 * issue 20: an Idempotency-Key's answer for its replays.  When credit_settle
 * deferred the settle (ask->keep_in_line, an exact hold settled through the
 * journal), its line is written now with the answer in it: one write-out
 * puts the record and its answer in the database together, and the request
 * made one round trip, its hold.  TG_OK then; else TG_ENOENT (nothing
 * deferred, or the answer too long for a line: the settle went in place
 * now), and the caller keeps the answer on the record itself.
 */
enum tg_err credit_keep(struct op *, const struct credit_db *,
    const struct credit_env *, struct credit *, int http_status,
    const char *type, const char *body, size_t len);
/* Whether cr's settle waits for its answer (credit_keep). */
int credit_waits(const struct credit *);
/*
 * A deferred settle that never got its answer (the request ended otherwise):
 * its line written without one (or the settle made in place).  Before the
 * answer goes out; a no-op when nothing waits.
 */
enum tg_err credit_settle_pending(struct op *, const struct credit_db *,
    const struct credit_env *, struct credit *);
/*
 * The sweeper: up to limit expired holds charged in full (ledger_sweep), but
 * for those whose settlement waits in a journal under one of journal_dirs
 * (NULL-terminated; NULL: none looked at).  TG_EUNAVAIL when the journals cannot be read: nothing swept.
 */
enum tg_err credit_sweep(struct db_conn *, struct arena *,
    const char *const *journal_dirs, unsigned limit, unsigned *settled);

/*
 * The account's top-ups and adjustments (GET /user/credits): newest first,
 * older than before_id (0: from the newest), at most limit; *next = the
 * cursor of the next page, 0 at the end.  JSON owned by the arena.
 */
enum tg_err credit_history(struct db_conn *, struct arena *, int64_t user_id,
    int64_t before_id, int64_t limit, json_t **data, int64_t *next);

#endif
