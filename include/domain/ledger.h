/* ledger.h: exact credits: reserve a hold before spending, settle it exactly once */
/* SPDX-License-Identifier: MIT */
#ifndef LEDGER_H
#define LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "io/db.h"
#include "core/tollgate.h"

#define HOLD_ID_LEN 16

struct db_conn;
struct db_val;
struct arena;

enum ledger_short { SHORT_NONE = 0, SHORT_BALANCE, SHORT_KEY_LIMIT };

/*
 * Reserve amount (nano-USD) of user_id's balance for one request made with
 * key_id (0: none) in one transaction: the balance may not pass its overdraft
 * limit, nor the key's spend its credit_limit.  With idem_key, a second call
 * by the same user and key returns the first hold (*replayed = 1) and
 * reserves nothing.
 * TG_ECREDIT with *why when it does not fit.  *balance (may be NULL): the
 * account's balance just after the hold left it.
 */
enum tg_err ledger_reserve(struct db_conn *, struct arena *, int64_t user_id,
    int64_t key_id, int64_t amount, const char *idem_key, unsigned ttl_s,
    unsigned char hold_id[HOLD_ID_LEN], int *replayed, enum ledger_short *why,
    int64_t *balance);
/*
 * issue 20: n exact holds of user_id with key_id (each amount > 0) in one
 * transaction (0026_reserve_many_idem.sql), their ids drawn into ids: TG_OK
 * with each hold's balance after it in balance[i], as if taken one by one in
 * order (INT64_MIN: unknown, after a retried call); TG_ECREDIT when their sum
 * does not fit (nothing is held: each may still fit alone); TG_ECONFLICT
 * when an Idempotency-Key (idem[i], NULL or idem NULL: none) was used before
 * or twice in the batch (nothing is held: each alone tells which); or the
 * database's error.
 */
#define LEDGER_RESERVE_MAX 16
enum tg_err ledger_reserve_many(struct db_conn *, struct arena *,
    int64_t user_id, int64_t key_id, unsigned ttl_s, size_t n,
    const int64_t *amount, const char *const *idem,
    unsigned char (*ids)[HOLD_ID_LEN], int64_t *balance);
/*
 * The hold made under (user, key, idem_key) was charged by the sweeper (its
 * request died unsettled): TG_OK with *charged; TG_ENOENT when it was not
 * (open, settled, or none).
 */
enum tg_err ledger_idem_swept(struct db_conn *, struct arena *, int64_t user_id,
    int64_t key_id, const char *idem_key, int64_t *charged);
/* A charge meaning "the hold in full" (the sweeper's, when nothing says). */
#define LEDGER_CHARGE_HOLD INT64_MAX
/*
 * Settle a hold exactly once: charge charge (never capped at the hold: what
 * the provider used past it, the overrun, comes from the balance, which may
 * go below its overdraft floor by that much) and give the rest back.  TG_ECONFLICT when it was already settled (nothing changes),
 * TG_ENOENT when there is no such hold.  *charged (may be NULL) receives the
 * amount charged.
 */
enum tg_err ledger_settle(struct db_conn *, struct arena *,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge, int64_t *charged);
/* Columns of a usage record settled with its hold (usage_params). */
#define LEDGER_USAGE_COLS 36
/*
 * ledger_settle, and in the same transaction the usage record usage (whose
 * charge column becomes the amount charged), so both happen or neither does.
 * *balance and *overrun (may be NULL) receive the account's balance just
 * after and what was charged past the hold.
 */
enum tg_err ledger_settle_usage(struct db_conn *, struct arena *,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge,
    const struct db_val usage[LEDGER_USAGE_COLS], int64_t *charged,
    int64_t *balance, int64_t *overrun);
/*
 * Leases (lease.h): a hold of amount for many requests of user_id, open for
 * ttl_s; TG_ECREDIT when the balance cannot spare it.  *balance: the
 * account's balance after it.
 */
enum tg_err ledger_lease_take(struct db_conn *, struct arena *, int64_t user_id,
    int64_t amount, unsigned ttl_s, unsigned char lease_id[HOLD_ID_LEN],
    int64_t *balance);
/*
 * Settle one request carved from a lease (carve_id deduplicates it; its carve
 * held hold), with its usage record: up to hold from the lease, the overrun
 * past it from the balance; TG_ECONFLICT when the lease is closed (nothing
 * changes).
 */
enum tg_err ledger_lease_charge(struct db_conn *, struct arena *,
    const unsigned char lease_id[HOLD_ID_LEN],
    const unsigned char carve_id[HOLD_ID_LEN], int64_t charge, int64_t hold,
    const struct db_val usage[LEDGER_USAGE_COLS], int64_t *charged,
    int64_t *balance, int64_t *overrun);
/*
 * Close a lease once: charge dead (carves that never settled, capped at what
 * is left) and return the rest; expired: closed by the sweeper.
 */
enum tg_err ledger_lease_close(struct db_conn *, struct arena *,
    const unsigned char lease_id[HOLD_ID_LEN], int64_t dead, int expired);
/* A lease's charged so far (0 when none), -1 when unknown. */
int64_t ledger_lease_charged(
    struct db_conn *, struct arena *, const unsigned char id[HOLD_ID_LEN]);
/* issue 20: an open lease's grant (holds.granted), committed. */
enum tg_err ledger_lease_grant(struct db_conn *, struct arena *,
    const unsigned char id[HOLD_ID_LEN], int64_t granted);
/* issue 20: an open lease's row expires seconds from now; TG_ENOENT if not open. */
enum tg_err ledger_lease_renew(struct db_conn *, struct arena *,
    const unsigned char id[HOLD_ID_LEN], int64_t seconds);
/* 1 when the carve's charge is in the ledger, 0 when not, -1 on error. */
int ledger_carve_settled(struct db_conn *, struct arena *,
    const unsigned char carve_id[HOLD_ID_LEN]);
/*
 * Settle up to limit holds whose time ran out (a worker died mid-request),
 * charging them in full: any process may call it; locked rows are skipped,
 * and so are the exact holds in keep[0..nkeep) (sorted by memcmp: their
 * settlement waits in a journal, journal_pending_holds).
 */
enum tg_err ledger_sweep(struct db_conn *, struct arena *, unsigned limit,
    const unsigned char (*keep)[HOLD_ID_LEN], size_t nkeep, unsigned *settled);
/*
 * The audit row of an overrun (actor: the system), in its own transaction:
 * the user charged past the hold, the hold, the charge and the overrun.
 */
enum tg_err ledger_audit_overrun(struct db_conn *, struct arena *,
    const char *user_pub, const char *request_id, int64_t hold, int64_t charged,
    int64_t overrun);
/* Sum of ledger entries vs balance + reserved, and open holds, of a user. */
enum tg_err ledger_reconcile(struct db_conn *, struct arena *, int64_t user_id,
    int64_t *ledger_sum, int64_t *balance, int64_t *reserved,
    int64_t *open_holds);

/* The first discrepancy ledger_check finds. */
struct ledger_finding {
	const char *user;	 /* the user's public id */
	const char *detail;	 /* a key's public id, a hold's hex id, or "" */
	const char *what;	 /* which proof failed */
	const char *expected_is; /* what the expected figure is */
	const char *found_is;	 /* what the found one is */
	int64_t expected, found;
	int money; /* the figures are nano-USD (else seconds) */
};
/*
 * Prove the books for every user (tollgate ledger check): balance + reserved
 * = the ledger's sum; reserved = what open holds and leases hold; usage
 * records = the ledger's charges less sweeps; each API key's spent = its
 * charges; no hold open more than grace_s past its time.  TG_OK when all
 * hold, TG_ECONFLICT with *f naming the first that does not, else the
 * database's error.
 */
enum tg_err ledger_check(struct db_conn *, struct arena *, unsigned grace_s,
    struct ledger_finding *f);

#endif
