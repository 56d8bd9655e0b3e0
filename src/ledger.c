/* ledger.c: exact credits: reserve a hold before spending, settle it exactly once */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "crypto.h"
#include "db.h"
#include "ledger.h"
#include "util.h"

#define HOLD_TTL_MAX (24 * 3600)

static struct db_val
bin(const unsigned char *p, size_t n)
{
	return (struct db_val){.type = DBT_STR, .s = (const char *)p, .len = n};
}

/* "hold:<hex id>": one entry per hold and kind, so a replay cannot double it. */
static const char *
dedupe(struct arena *a, const char *kind, const unsigned char id[HOLD_ID_LEN])
{
	char hex[2 * HOLD_ID_LEN + 1];

	crypto_hex(id, HOLD_ID_LEN, hex);
	return arena_printf(a, "%s:%s", kind, hex);
}

static enum tg_err
entry(struct db_conn *c, struct arena *a, int64_t account,
    const unsigned char id[HOLD_ID_LEN], const char *kind, int64_t amount)
{
	struct db_val p[5] = {DB_I64(account), bin(id, HOLD_ID_LEN),
	    DB_STR(kind), DB_I64(amount), DB_STR(dedupe(a, kind, id))};

	return db_exec(c, STMT_LEDGER_INSERT_HOLD, p, 5, NULL, a);
}

/* The hold already made under this idempotency key. */
static enum tg_err
replay(struct db_conn *c, struct arena *a, int64_t key_id, const char *idem,
    unsigned char hold_id[HOLD_ID_LEN])
{
	struct db_val p[2] = {DB_I64(key_id), DB_STR(idem)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_HOLD_BY_IDEM, p, 2, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].len != HOLD_ID_LEN)
		return TG_ESYSTEM;
	memcpy(hold_id, rows.v[0].s, HOLD_ID_LEN);
	return TG_OK;
}

enum tg_err
ledger_reserve(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, int64_t amount, const char *idem, unsigned ttl_s,
    unsigned char hold_id[HOLD_ID_LEN], int *replayed, enum ledger_short *why)
{
	struct db_val p[6];
	struct db_rows rows;
	enum tg_err rc;

	*replayed = 0;
	*why = SHORT_NONE;
	if (amount < 0 || ttl_s > HOLD_TTL_MAX)
		return TG_EINVAL;
	if (util_random(hold_id, HOLD_ID_LEN) == -1)
		return TG_ESYSTEM;
	if ((rc = db_begin(c)) != TG_OK)
		return rc;
	/* Lock order everywhere: holds, then accounts, then api_keys. */
	p[0] = bin(hold_id, HOLD_ID_LEN);
	p[1] = DB_I64(user_id);
	p[2] = DB_I64(key_id);
	p[3] = idem != NULL ? DB_STR(idem) : DB_NULLV;
	p[4] = DB_I64(amount);
	p[5] = DB_I64(ttl_s);
	rc = db_exec(c, STMT_HOLD_INSERT, p, 6, NULL, a);
	if (rc == TG_ECONFLICT && idem != NULL) {
		db_rollback(c);
		*replayed = 1;
		return replay(c, a, key_id, idem, hold_id);
	}
	if (rc != TG_OK)
		goto fail;
	/* One conditional UPDATE: no read-then-write window under concurrency. */
	p[0] = DB_I64(amount);
	p[1] = DB_I64(amount);
	p[2] = DB_I64(user_id);
	p[3] = DB_I64(amount);
	if ((rc = db_exec(c, STMT_ACCOUNT_RESERVE, p, 4, &rows, a)) != TG_OK)
		goto fail;
	/* (A zero amount changes no row, and needs no room.) */
	if (rows.affected != 1 && amount > 0) {
		*why = SHORT_BALANCE;
		rc = TG_ECREDIT;
		goto fail;
	}
	if (key_id != 0) {
		p[0] = DB_I64(amount);
		p[1] = DB_I64(key_id);
		p[2] = DB_I64(amount);
		if ((rc = db_exec(c, STMT_KEY_SPEND, p, 3, &rows, a)) != TG_OK)
			goto fail;
		if (rows.affected != 1 && amount > 0) {
			*why = SHORT_KEY_LIMIT;
			rc = TG_ECREDIT;
			goto fail;
		}
	}
	if ((rc = entry(c, a, user_id, hold_id, "hold", 0)) != TG_OK)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return rc;
}

static enum tg_err
close_hold(struct db_conn *c, struct arena *a,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge, const char *state,
    int64_t *charged)
{
	struct db_val p[3], id = bin(hold_id, HOLD_ID_LEN);
	struct db_rows rows;
	int64_t account, key, amount;

	if (db_exec(c, STMT_HOLD_LOCK, &id, 1, &rows, a) != TG_OK)
		return TG_EDB;
	if (rows.nrows != 1)
		return TG_ENOENT;
	if (strcmp(rows.v[3].s, "open") != 0)
		return TG_ECONFLICT;
	account = rows.v[0].i;
	key = rows.v[1].i;
	amount = rows.v[2].i;
	/* A charge is never negative and never more than what was held. */
	if (charge < 0)
		charge = 0;
	if (charge > amount)
		charge = amount;
	p[0] = DB_STR(state);
	p[1] = DB_I64(charge);
	p[2] = id;
	if (db_exec(c, STMT_HOLD_CLOSE, p, 3, &rows, a) != TG_OK)
		return TG_EDB;
	if (rows.affected != 1)
		return TG_ECONFLICT;
	p[0] = DB_I64(amount - charge);
	p[1] = DB_I64(amount);
	p[2] = DB_I64(account);
	if (db_exec(c, STMT_ACCOUNT_RELEASE, p, 3, NULL, a) != TG_OK)
		return TG_EDB;
	if (key != 0) {
		p[0] = DB_I64(amount - charge);
		p[1] = DB_I64(key);
		if (db_exec(c, STMT_KEY_UNSPEND, p, 2, NULL, a) != TG_OK)
			return TG_EDB;
	}
	if (entry(c, a, account, hold_id, "charge", -charge) != TG_OK ||
	    entry(c, a, account, hold_id, "release", 0) != TG_OK)
		return TG_EDB;
	if (charged != NULL)
		*charged = charge;
	return TG_OK;
}

enum tg_err
ledger_settle(struct db_conn *c, struct arena *a,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge, int64_t *charged)
{
	return ledger_settle_with(c, a, hold_id, charge, charged, NULL, NULL);
}

enum tg_err
ledger_settle_with(struct db_conn *c, struct arena *a,
    const unsigned char hold_id[HOLD_ID_LEN], int64_t charge, int64_t *charged,
    ledger_also_fn also, void *arg)
{
	int64_t got = 0;
	enum tg_err rc;

	if ((rc = db_begin(c)) != TG_OK)
		return rc;
	if ((rc = close_hold(c, a, hold_id, charge, "settled", &got)) !=
		TG_OK ||
	    (also != NULL && (rc = also(c, a, got, arg)) != TG_OK)) {
		db_rollback(c);
		return rc;
	}
	if ((rc = db_commit(c)) == TG_OK && charged != NULL)
		*charged = got;
	return rc;
}

enum tg_err
ledger_sweep(
    struct db_conn *c, struct arena *a, unsigned limit, unsigned *settled)
{
	unsigned char id[HOLD_ID_LEN];
	struct db_val p = DB_I64(limit);
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	*settled = 0;
	if ((rc = db_begin(c)) != TG_OK)
		return rc;
	/* SKIP LOCKED: holds a live request is settling are not ours. */
	if ((rc = db_exec(c, STMT_HOLD_EXPIRED, &p, 1, &rows, a)) != TG_OK)
		goto fail;
	for (i = 0; i < rows.nrows; i++) {
		if (rows.v[i].len != HOLD_ID_LEN) {
			rc = TG_ESYSTEM;
			goto fail;
		}
		memcpy(id, rows.v[i].s, HOLD_ID_LEN);
		/* Nothing says what was used: the worst case the hold priced. */
		rc = close_hold(c, a, id, INT64_MAX, "expired_settled", NULL);
		if (rc != TG_OK)
			goto fail;
		(*settled)++;
	}
	return db_commit(c);
fail:
	db_rollback(c);
	*settled = 0;
	return rc;
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
