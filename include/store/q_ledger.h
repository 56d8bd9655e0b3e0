/* q_ledger.h: holds, settlements, leases and journal marks: typed queries */
/* SPDX-License-Identifier: MIT */
#ifndef Q_LEDGER_H
#define Q_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;
struct db_val;

#define Q_HOLD_ID_LEN 16 /* HOLD_ID_LEN */

/* The ledger procedures' first column: 0 done, 1 none, 2 already closed. */
enum q_outcome { QO_DONE = 0, QO_NONE = 1, QO_CLOSED = 2 };

/* What tg_reserve answers: 0 reserved, 1 short of balance, 2 of key limit. */
struct q_reserved {
	int64_t status;
	int64_t balance;
	int has_balance;
};
/* tg_reserve with its seven parameters; TG_ECONFLICT: the idem key's. */
enum tg_err q_ledger_reserve(struct db_conn *, struct arena *,
    const struct db_val p[7], struct q_reserved *out);
/*
 * tg_reserve_many(user, key, holds JSON, ttl): status and the balance after
 * them all; first_id the first hold's id (a retried call's lookup).
 */
enum tg_err q_ledger_reserve_many(struct db_conn *, struct arena *,
    const struct db_val p[4], const unsigned char *first_id,
    struct q_reserved *out);
/* The hold made under (user, key, idem); TG_ENOENT when none. */
enum tg_err q_hold_by_idem(struct db_conn *, struct arena *, int64_t user_id,
    int64_t key_id, const char *idem, unsigned char id[Q_HOLD_ID_LEN]);

/* That hold's state ('open', 'settled', 'expired_settled') and charge. */
enum tg_err q_hold_idem_state(struct db_conn *, struct arena *, int64_t user_id,
    int64_t key_id, const char *idem, const char **state, int64_t *charged);

/* What tg_settle and tg_lease_charge answer. */
struct q_settled {
	enum q_outcome outcome;
	int64_t charged;
	int64_t balance;
	int64_t overrun;
};
/* tg_settle (n = 3 + usage columns) or tg_lease_charge (4 + usage). */
enum tg_err q_ledger_settle(struct db_conn *, struct arena *,
    const struct db_val *p, size_t n, struct q_settled *out);
enum tg_err q_lease_charge(struct db_conn *, struct arena *,
    const struct db_val *p, size_t n, struct q_settled *out);
/* tg_lease_close(id, dead, state). */
enum tg_err q_lease_close(struct db_conn *, struct arena *,
    const struct db_val p[3], enum q_outcome *out);
/* An open lease's charged so far; TG_ENOENT when not open. */
enum tg_err q_lease_charged(struct db_conn *, struct arena *,
    const unsigned char id[Q_HOLD_ID_LEN], int64_t *charged);
/* issue 20: set an open lease's grant (0023_lease_grant.sql). */
enum tg_err q_lease_grant(struct db_conn *, struct arena *,
    const unsigned char id[Q_HOLD_ID_LEN], int64_t granted);
/* issue 20: an open lease expires seconds from now; TG_ENOENT: not open. */
enum tg_err q_lease_renew(struct db_conn *, struct arena *,
    const unsigned char id[Q_HOLD_ID_LEN], int64_t seconds);
/* Ledger entries with this dedupe key. */
enum tg_err q_dedupe_count(
    struct db_conn *, struct arena *, const char *dedupe, int64_t *n);

/* An expired open hold. */
struct q_expired {
	const unsigned char *id; /* Q_HOLD_ID_LEN bytes */
	int lease;
};
/* Up to limit expired holds, locked (SKIP LOCKED), into *out (arena). */
enum tg_err q_holds_expired(struct db_conn *, struct arena *, unsigned limit,
    struct q_expired **out, size_t *n);

struct q_reconcile {
	int64_t sum, balance, reserved, open_holds;
};
enum tg_err q_ledger_reconcile(
    struct db_conn *, struct arena *, int64_t user_id, struct q_reconcile *);

/* A journal's offset in the database; TG_ENOENT when it has none. */
enum tg_err q_journal_mark(
    struct db_conn *, struct arena *, const char *mark, int64_t *off);
/* Forget a journal's mark (its file is gone). */
enum tg_err q_journal_mark_del(
    struct db_conn *, struct arena *, const char *mark);

/*
 * The proofs of tollgate ledger check, each over every account (key, hold):
 * balance + reserved = the ledger's sum; reserved = what open holds and
 * leases still hold; usage records = the ledger's charges less sweeps; a
 * key's spent = its exact holds (open: held, closed: charged) and its
 * carves; no hold open grace_s past its time.
 */
enum q_check { QC_SUM, QC_RESERVED, QC_USAGE, QC_SPENT, QC_OLD, QC__MAX };
/* The first row a proof fails on: the user's public id, a key's or hold's. */
struct q_check_row {
	const char *user, *detail;
	int64_t expected, found;
};
/* TG_OK with the first failing row, TG_ENOENT when the proof holds. */
enum tg_err q_ledger_check(struct db_conn *, struct arena *, enum q_check,
    int64_t grace_s, struct q_check_row *out);

/* A top-up or adjustment of an account, as its history lists it. */
struct credit_row {
	int64_t id;
	const char *at;	  /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */
	const char *kind; /* "topup" or "adjust" */
	int64_t amount;	  /* signed nano-USD */
	const char *note; /* NULL: none */
	const char *who;  /* the admin's public id; NULL: none */
	/* issue 18: money: "admin", "operator", "code" or "payment" */
	const char *source;
	const char *ref; /* the code's batch, the payment's event id; NULL */
};
/* The account's top-ups and adjustments older than before_id (0: any), newest first. */
enum tg_err q_credit_list(struct db_conn *, struct arena *, int64_t user_id,
    int64_t before_id, int64_t limit, struct credit_row **out, size_t *n);

/* issue 19: obs: the node's open holds and those past their TTL. */
enum tg_err q_holds_gauge(
    struct db_conn *, struct arena *, int64_t *open, int64_t *past_ttl);

#endif
