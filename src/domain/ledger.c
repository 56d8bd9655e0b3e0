/* ledger.c: exact credits: reserve a hold before spending, settle it exactly once */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "domain/audit.h"
#include "core/crypto.h"
#include "io/db.h"
#include "store/q_ledger.h"
#include "domain/ledger.h"
#include "domain/op.h"
#include "core/util.h"
#include "domain/op.h"

#define HOLD_TTL_MAX (24 * 3600)

static struct db_val
bin(const unsigned char *p, size_t n)
{
	return (struct db_val){.type = DBT_STR, .s = (const char *)p, .len = n};
}

/* The hold already made under this idempotency key (the user's, the key's). */
static enum tg_err
idem_hold(struct db_conn *c, struct arena *a, int64_t user_id, int64_t key_id,
    const char *idem, unsigned char hold_id[HOLD_ID_LEN])
{
	enum tg_err rc = q_hold_by_idem(c, a, user_id, key_id, idem, hold_id);

	return rc == TG_ENOENT ? TG_ESYSTEM : rc;
}

enum tg_err
ledger_idem_swept(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, const char *idem, int64_t *charged)
{
	const char *state = NULL;
	enum tg_err rc;

	rc = q_hold_idem_state(c, a, user_id, key_id, idem, &state, charged);
	if (rc != TG_OK)
		return rc;
	return strcmp(state, "expired_settled") == 0 ? TG_OK : TG_ENOENT;
}

/*
 * Both transactions are procedures (schema/0007_ledger_procs.sql): one round
 * trip each, the same guards, the same lock order (holds, accounts, api_keys).
 */
static enum tg_err
reserve(struct db_conn *c, struct arena *a, int64_t user_id, int64_t key_id,
    int64_t amount, const char *idem, unsigned ttl_s, int lease,
    unsigned char hold_id[HOLD_ID_LEN], int *replayed, enum ledger_short *why,
    int64_t *balance)
{
	static const enum ledger_short shorts[] = {
	    SHORT_NONE, SHORT_BALANCE, SHORT_KEY_LIMIT};
	struct db_val p[7];
	struct q_reserved r;
	enum tg_err rc;

	*replayed = 0;
	*why = SHORT_NONE;
	if (amount < 0 || ttl_s > HOLD_TTL_MAX)
		return TG_EINVAL;
	if (util_ordered_id(hold_id, HOLD_ID_LEN) == -1)
		return TG_ESYSTEM;
	p[0] = bin(hold_id, HOLD_ID_LEN);
	p[1] = DB_I64(user_id);
	p[2] = DB_I64(key_id);
	p[3] = idem != NULL ? DB_STR(idem) : DB_NULLV;
	p[4] = DB_I64(amount);
	p[5] = DB_I64(ttl_s);
	p[6] = DB_I64(lease);
	rc = q_ledger_reserve(c, a, p, &r);
	if (rc == TG_ECONFLICT && idem != NULL) {
		*replayed = 1;
		return idem_hold(c, a, user_id, key_id, idem, hold_id);
	}
	if (rc != TG_OK)
		return rc;
	if (r.status < 0 || r.status > 2)
		return TG_ESYSTEM;
	if ((*why = shorts[r.status]) != SHORT_NONE)
		return TG_ECREDIT;
	if (balance != NULL && r.has_balance)
		*balance = r.balance;
	return TG_OK;
}

enum tg_err
ledger_reserve(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, int64_t amount, const char *idem, unsigned ttl_s,
    unsigned char hold_id[HOLD_ID_LEN], int *replayed, enum ledger_short *why,
    int64_t *balance)
{
	return reserve(c, a, user_id, key_id, amount, idem, ttl_s, 0, hold_id,
	    replayed, why, balance);
}

/* An Idempotency-Key as it may stand in JSON unescaped (h_chat.c's rule). */
static int
idem_ok(const char *k)
{
	size_t n = strlen(k);

	return n > 0 && n <= 64 &&
	    strspn(k,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		"-_.:") == n;
}

enum tg_err
ledger_reserve_many(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, unsigned ttl_s, size_t n, const int64_t *amount,
    const char *const *idem, unsigned char (*ids)[HOLD_ID_LEN],
    int64_t *balance)
{
	struct db_val p[4];
	struct q_reserved r;
	size_t i, off = 0, cap = n * (2 * HOLD_ID_LEN + 32 + 64 + 3) + 3;
	char *json;
	int64_t after;
	enum tg_err rc;

	if (n == 0 || n > LEDGER_RESERVE_MAX || ttl_s > HOLD_TTL_MAX)
		return TG_EINVAL;
	for (i = 0; i < n; i++)
		if (amount[i] <= 0 ||
		    (idem != NULL && idem[i] != NULL && !idem_ok(idem[i])))
			return TG_EINVAL;
	if ((json = arena_alloc(a, cap)) == NULL)
		return TG_ESYSTEM;
	json[off++] = '[';
	for (i = 0; i < n; i++) {
		if (util_ordered_id(ids[i], HOLD_ID_LEN) == -1)
			return TG_ESYSTEM;
		off += (size_t)snprintf(
		    json + off, cap - off, "%s[\"", i > 0 ? "," : "");
		crypto_hex(ids[i], HOLD_ID_LEN, json + off);
		off += 2 * HOLD_ID_LEN;
		off += (size_t)snprintf(
		    json + off, cap - off, "\",%lld", (long long)amount[i]);
		if (idem != NULL && idem[i] != NULL)
			off += (size_t)snprintf(
			    json + off, cap - off, ",\"%s\"", idem[i]);
		json[off++] = ']';
	}
	json[off++] = ']';
	json[off] = '\0';
	p[0] = DB_I64(user_id);
	p[1] = DB_I64(key_id);
	p[2] = DB_STR(json);
	p[3] = DB_I64(ttl_s);
	if ((rc = q_ledger_reserve_many(c, a, p, ids[0], &r)) != TG_OK)
		return rc;
	if (r.status != 0)
		return r.status == 1 || r.status == 2 ? TG_ECREDIT : TG_ESYSTEM;
	/* Told as if taken one by one in order: the last sees r.balance. */
	after = r.has_balance ? r.balance : INT64_MIN;
	for (i = n; i-- > 0;) {
		balance[i] = after;
		if (after != INT64_MIN)
			after += amount[i];
	}
	return TG_OK;
}

enum tg_err
ledger_lease_take(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t amount, unsigned ttl_s, unsigned char lease_id[HOLD_ID_LEN],
    int64_t *balance)
{
	enum ledger_short why;
	int replayed;

	return reserve(c, a, user_id, 0, amount, NULL, ttl_s, 1, lease_id,
	    &replayed, &why, balance);
}

/* A procedure's outcome as an error: done, no such hold, already closed. */
static enum tg_err
outcome(enum q_outcome o)
{
	static const enum tg_err outcomes[] = {[QO_DONE] = TG_OK,
	    [QO_NONE] = TG_ENOENT,
	    [QO_CLOSED] = TG_ECONFLICT};

	return outcomes[o];
}

enum tg_err
ledger_lease_charge(struct db_conn *c, struct arena *a,
    const unsigned char lease_id[HOLD_ID_LEN],
    const unsigned char carve_id[HOLD_ID_LEN], int64_t charge, int64_t hold,
    const struct db_val usage[LEDGER_USAGE_COLS], int64_t *charged,
    int64_t *balance, int64_t *overrun)
{
	struct db_val p[4 + LEDGER_USAGE_COLS];
	struct q_settled r;
	size_t i;
	enum tg_err rc;

	p[0] = bin(lease_id, HOLD_ID_LEN);
	p[1] = bin(carve_id, HOLD_ID_LEN);
	p[2] = DB_I64(charge);
	p[3] = DB_I64(hold);
	for (i = 0; i < LEDGER_USAGE_COLS; i++)
		p[4 + i] = usage[i];
	if ((rc = q_lease_charge(c, a, p, 4 + LEDGER_USAGE_COLS, &r)) !=
		TG_OK ||
	    (rc = outcome(r.outcome)) != TG_OK)
		return rc;
	*charged = r.charged;
	if (balance != NULL)
		*balance = r.balance;
	if (overrun != NULL)
		*overrun = r.overrun;
	return TG_OK;
}

enum tg_err
ledger_lease_close(struct db_conn *c, struct arena *a,
    const unsigned char lease_id[HOLD_ID_LEN], int64_t dead, int expired)
{
	struct db_val p[3] = {bin(lease_id, HOLD_ID_LEN), DB_I64(dead),
	    DB_STR(expired ? "expired_settled" : "settled")};
	enum q_outcome o;
	enum tg_err rc;

	if ((rc = q_lease_close(c, a, p, &o)) != TG_OK)
		return rc;
	return outcome(o);
}

int64_t
ledger_lease_charged(
    struct db_conn *c, struct arena *a, const unsigned char id[HOLD_ID_LEN])
{
	int64_t charged;

	if (q_lease_charged(c, a, id, &charged) != TG_OK)
		return -1;
	return charged;
}

enum tg_err
ledger_lease_grant(struct db_conn *c, struct arena *a,
    const unsigned char id[HOLD_ID_LEN], int64_t granted)
{
	return q_lease_grant(c, a, id, granted);
}

enum tg_err
ledger_lease_renew(struct db_conn *c, struct arena *a,
    const unsigned char id[HOLD_ID_LEN], int64_t seconds)
{
	return q_lease_renew(c, a, id, seconds);
}

int
ledger_carve_settled(struct db_conn *c, struct arena *a,
    const unsigned char carve_id[HOLD_ID_LEN])
{
	char hex[2 * HOLD_ID_LEN + 1];
	int64_t n;

	crypto_hex(carve_id, HOLD_ID_LEN, hex);
	if (q_dedupe_count(c, a, arena_printf(a, "carve:%s", hex), &n) != TG_OK)
		return -1;
	return n > 0;
}

static enum tg_err
close_hold(struct db_conn *c, struct arena *a,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge, const char *state,
    const struct db_val *usage, int64_t *charged, int64_t *balance,
    int64_t *overrun)
{
	struct db_val p[3 + LEDGER_USAGE_COLS];
	struct q_settled r;
	size_t i;
	enum tg_err rc;

	p[0] = bin(hold_id, HOLD_ID_LEN);
	p[1] = DB_I64(charge);
	p[2] = DB_STR(state);
	for (i = 0; i < LEDGER_USAGE_COLS; i++)
		p[3 + i] = usage != NULL ? usage[i] : DB_NULLV;
	if ((rc = q_ledger_settle(c, a, p, 3 + LEDGER_USAGE_COLS, &r)) !=
		TG_OK ||
	    (rc = outcome(r.outcome)) != TG_OK)
		return rc;
	if (charged != NULL)
		*charged = r.charged;
	if (balance != NULL)
		*balance = r.balance;
	if (overrun != NULL)
		*overrun = r.overrun;
	return TG_OK;
}

enum tg_err
ledger_settle(struct db_conn *c, struct arena *a,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge, int64_t *charged)
{
	return close_hold(
	    c, a, hold_id, charge, "settled", NULL, charged, NULL, NULL);
}

enum tg_err
ledger_settle_usage(struct db_conn *c, struct arena *a,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge,
    const struct db_val usage[LEDGER_USAGE_COLS], int64_t *charged,
    int64_t *balance, int64_t *overrun)
{
	return close_hold(
	    c, a, hold_id, charge, "settled", usage, charged, balance, overrun);
}

static int
cmp_id(const void *x, const void *y)
{
	return memcmp(x, y, HOLD_ID_LEN);
}

enum tg_err
ledger_sweep(struct db_conn *c, struct arena *a, unsigned limit,
    const unsigned char (*keep)[HOLD_ID_LEN], size_t nkeep, unsigned *settled)
{
	struct q_expired *h = NULL;
	size_t i, n;
	enum tg_err rc;

	*settled = 0;
	/* SKIP LOCKED: holds a live request is settling are not ours. */
	if ((rc = q_holds_expired(c, a, limit, &h, &n)) != TG_OK)
		return rc;
	for (i = 0; i < n; i++) {
		/* Settled into a journal: its write-out charges it exactly. */
		if (!h[i].lease && nkeep > 0 &&
		    bsearch(h[i].id, keep, nkeep, HOLD_ID_LEN, cmp_id) != NULL)
			continue;
		/*
		 * Nothing says what was used: the worst case the hold priced.
		 * Another sweeper may have closed it since: that is no error.
		 */
		rc = h[i].lease
		    ? ledger_lease_close(c, a, h[i].id, INT64_MAX, 1)
		    : close_hold(c, a, h[i].id, LEDGER_CHARGE_HOLD,
			  "expired_settled", NULL, NULL, NULL, NULL);
		if (rc == TG_OK)
			(*settled)++;
		else if (rc != TG_ECONFLICT)
			return rc;
	}
	return TG_OK;
}

enum tg_err
ledger_reconcile(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t *sum, int64_t *balance, int64_t *reserved, int64_t *open)
{
	struct q_reconcile r;
	enum tg_err rc;

	if ((rc = q_ledger_reconcile(c, a, user_id, &r)) != TG_OK)
		return rc;
	*sum = r.sum;
	*balance = r.balance;
	*reserved = r.reserved;
	*open = r.open_holds;
	return TG_OK;
}

enum tg_err
ledger_audit_overrun(struct db_conn *c, struct arena *a, const char *user_pub,
    const char *request_id, int64_t hold, int64_t charged, int64_t overrun)
{
	/* No principal: the gateway itself is the actor. */
	struct op sys = {.arena = a, .request_id = request_id};
	json_t *after;
	enum tg_err rc;

	after = json_pack("{s:s, s:I, s:I, s:I}", "actor", "system", "hold",
	    (json_int_t)hold, "charged", (json_int_t)charged, "overrun",
	    (json_int_t)overrun);
	if (after == NULL)
		return TG_ESYSTEM;
	arena_defer_json(a, after);
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = audit_commit(c, a, &sys, "ledger.overrun", "user", user_pub,
		 NULL, after)) != TG_OK)
		db_rollback(c);
	return rc;
}

/* clang-format off */
/* The proofs in order, what each compares, and whether it is money. */
static const struct {
	enum q_check q;
	const char *what, *expected, *found;
	int money;
} checks[] = {
	{ QC_SUM, "balance + reserved", "the sum of its ledger entries",
	  "balance + reserved", 1 },
	{ QC_RESERVED, "reserved", "what its open holds and leases hold",
	  "reserved", 1 },
	{ QC_USAGE, "usage records", "its ledger charges less sweeps",
	  "the sum of its usage records", 1 },
	{ QC_SPENT, "API key spent", "its holds' and carves' charges",
	  "spent", 1 },
	{ QC_OLD, "hold open past its time", "closed within the grace (s)",
	  "seconds past its time", 0 },
};
/* clang-format on */

enum tg_err
ledger_check(struct db_conn *c, struct arena *a, unsigned grace_s,
    struct ledger_finding *f)
{
	struct q_check_row row;
	size_t i;
	enum tg_err rc;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		rc = q_ledger_check(c, a, checks[i].q, grace_s, &row);
		if (rc == TG_ENOENT)
			continue;
		if (rc != TG_OK)
			return rc;
		*f = (struct ledger_finding){.user = row.user,
		    .detail = row.detail,
		    .what = checks[i].what,
		    .expected_is = checks[i].expected,
		    .found_is = checks[i].found,
		    .expected = row.expected,
		    .found = row.found,
		    .money = checks[i].money};
		return TG_ECONFLICT;
	}
	return TG_OK;
}
