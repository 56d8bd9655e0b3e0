/* ledger.c: exact credits: reserve a hold before spending, settle it exactly once */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "domain/audit.h"
#include "core/crypto.h"
#include "io/db.h"
#include "store/stmt.h"
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
replay(struct db_conn *c, struct arena *a, int64_t user_id, int64_t key_id,
    const char *idem, unsigned char hold_id[HOLD_ID_LEN])
{
	struct db_val p[3] = {DB_I64(user_id), DB_I64(key_id), DB_STR(idem)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_HOLD_BY_IDEM, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].len != HOLD_ID_LEN)
		return TG_ESYSTEM;
	memcpy(hold_id, rows.v[0].s, HOLD_ID_LEN);
	return TG_OK;
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
	struct db_rows rows;
	enum tg_err rc;

	*replayed = 0;
	*why = SHORT_NONE;
	if (amount < 0 || ttl_s > HOLD_TTL_MAX)
		return TG_EINVAL;
	if (util_random(hold_id, HOLD_ID_LEN) == -1)
		return TG_ESYSTEM;
	p[0] = bin(hold_id, HOLD_ID_LEN);
	p[1] = DB_I64(user_id);
	p[2] = DB_I64(key_id);
	p[3] = idem != NULL ? DB_STR(idem) : DB_NULLV;
	p[4] = DB_I64(amount);
	p[5] = DB_I64(ttl_s);
	p[6] = DB_I64(lease);
	rc = db_exec(c, STMT_LEDGER_RESERVE, p, 7, &rows, a);
	if (rc == TG_ECONFLICT && idem != NULL) {
		*replayed = 1;
		return replay(c, a, user_id, key_id, idem, hold_id);
	}
	if (rc != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].type != DBT_I64 || rows.v[0].i < 0 ||
	    rows.v[0].i > 2)
		return TG_ESYSTEM;
	if ((*why = shorts[rows.v[0].i]) != SHORT_NONE)
		return TG_ECREDIT;
	if (balance != NULL && rows.ncols >= 2)
		*balance = rows.v[1].i;
	return TG_OK;
}

enum tg_err
ledger_reserve(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, int64_t amount, const char *idem, unsigned ttl_s,
    unsigned char hold_id[HOLD_ID_LEN], int *replayed, enum ledger_short *why)
{
	return reserve(c, a, user_id, key_id, amount, idem, ttl_s, 0, hold_id,
	    replayed, why, NULL);
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

/* The outcome row of a procedure: 0 done, 1 none, 2 already closed. */
static enum tg_err
outcome(const struct db_rows *rows, size_t ncols)
{
	static const enum tg_err outcomes[] = {TG_OK, TG_ENOENT, TG_ECONFLICT};

	if (rows->nrows != 1 || rows->ncols != ncols ||
	    rows->v[0].type != DBT_I64 || rows->v[0].i < 0 || rows->v[0].i > 2)
		return TG_ESYSTEM;
	return outcomes[rows->v[0].i];
}

enum tg_err
ledger_lease_charge(struct db_conn *c, struct arena *a,
    const unsigned char lease_id[HOLD_ID_LEN],
    const unsigned char carve_id[HOLD_ID_LEN], int64_t charge, int64_t hold,
    const struct db_val usage[LEDGER_USAGE_COLS], int64_t *charged,
    int64_t *balance, int64_t *overrun)
{
	struct db_val p[4 + LEDGER_USAGE_COLS];
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	p[0] = bin(lease_id, HOLD_ID_LEN);
	p[1] = bin(carve_id, HOLD_ID_LEN);
	p[2] = DB_I64(charge);
	p[3] = DB_I64(hold);
	for (i = 0; i < LEDGER_USAGE_COLS; i++)
		p[4 + i] = usage[i];
	if ((rc = db_exec(c, STMT_LEASE_CHARGE, p, 4 + LEDGER_USAGE_COLS, &rows,
		 a)) != TG_OK ||
	    (rc = outcome(&rows, 4)) != TG_OK)
		return rc;
	*charged = rows.v[1].i;
	if (balance != NULL)
		*balance = rows.v[2].i;
	if (overrun != NULL)
		*overrun = rows.v[3].i;
	return TG_OK;
}

enum tg_err
ledger_lease_close(struct db_conn *c, struct arena *a,
    const unsigned char lease_id[HOLD_ID_LEN], int64_t dead, int expired)
{
	struct db_val p[3] = {bin(lease_id, HOLD_ID_LEN), DB_I64(dead),
	    DB_STR(expired ? "expired_settled" : "settled")};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LEASE_CLOSE, p, 3, &rows, a)) != TG_OK)
		return rc;
	return outcome(&rows, 1);
}

int64_t
ledger_lease_charged(
    struct db_conn *c, struct arena *a, const unsigned char id[HOLD_ID_LEN])
{
	struct db_val p = bin(id, HOLD_ID_LEN);
	struct db_rows rows;

	if (db_exec(c, STMT_LEASE_CHARGED, &p, 1, &rows, a) != TG_OK ||
	    rows.nrows != 1 || rows.v[0].type != DBT_I64)
		return -1;
	return rows.v[0].i;
}

int
ledger_carve_settled(struct db_conn *c, struct arena *a,
    const unsigned char carve_id[HOLD_ID_LEN])
{
	char hex[2 * HOLD_ID_LEN + 1];
	struct db_val p;
	struct db_rows rows;

	crypto_hex(carve_id, HOLD_ID_LEN, hex);
	p = DB_STR(arena_printf(a, "carve:%s", hex));
	if (db_exec(c, STMT_CARVE_SETTLED, &p, 1, &rows, a) != TG_OK ||
	    rows.nrows != 1)
		return -1;
	return rows.v[0].i > 0;
}

static enum tg_err
close_hold(struct db_conn *c, struct arena *a,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge, const char *state,
    const struct db_val *usage, int64_t *charged, int64_t *balance,
    int64_t *overrun)
{
	struct db_val p[3 + LEDGER_USAGE_COLS];
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	p[0] = bin(hold_id, HOLD_ID_LEN);
	p[1] = DB_I64(charge);
	p[2] = DB_STR(state);
	for (i = 0; i < LEDGER_USAGE_COLS; i++)
		p[3 + i] = usage != NULL ? usage[i] : DB_NULLV;
	if ((rc = db_exec(c, STMT_LEDGER_SETTLE, p, 3 + LEDGER_USAGE_COLS,
		 &rows, a)) != TG_OK ||
	    (rc = outcome(&rows, 4)) != TG_OK)
		return rc;
	if (charged != NULL)
		*charged = rows.v[1].i;
	if (balance != NULL)
		*balance = rows.v[2].i;
	if (overrun != NULL)
		*overrun = rows.v[3].i;
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

enum tg_err
ledger_sweep(
    struct db_conn *c, struct arena *a, unsigned limit, unsigned *settled)
{
	struct db_val p = DB_I64(limit);
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	*settled = 0;
	/* SKIP LOCKED: holds a live request is settling are not ours. */
	if ((rc = db_exec(c, STMT_HOLD_EXPIRED, &p, 1, &rows, a)) != TG_OK)
		return rc;
	for (i = 0; i < rows.nrows; i++) {
		if (rows.ncols != 2 || rows.v[i * 2].len != HOLD_ID_LEN)
			return TG_ESYSTEM;
		/*
		 * Nothing says what was used: the worst case the hold priced.
		 * Another sweeper may have closed it since: that is no error.
		 */
		rc = rows.v[i * 2 + 1].i
		    ? ledger_lease_close(c, a,
			  (const unsigned char *)rows.v[i * 2].s, INT64_MAX, 1)
		    : close_hold(c, a, (const unsigned char *)rows.v[i * 2].s,
			  LEDGER_CHARGE_HOLD, "expired_settled", NULL, NULL,
			  NULL, NULL);
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
	struct db_val p[3] = {
	    DB_I64(user_id), DB_I64(user_id), DB_I64(user_id)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LEDGER_RECONCILE, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*sum = rows.v[0].i;
	*balance = rows.v[2].i;
	*reserved = rows.v[3].i;
	*open = rows.v[4].i;
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
