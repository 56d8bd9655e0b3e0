/* journal_out.c: the journal's write-out: a batch of settled lines into the database in one transaction */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/log.h"
#include "domain/journal_impl.h"
#include "domain/releases.h"
#include "io/db.h"
#include "store/stmt.h"

static size_t
add(struct sum *s, size_t n, const unsigned char *id, int64_t who,
    int64_t amount, int64_t back)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (id != NULL ? memcmp(s[i].id, id, HOLD_ID_LEN) == 0
			       : s[i].who == who)
			break;
	if (i == n)
		s[n++] = (struct sum){.id = id, .who = who};
	s[i].amount += amount;
	s[i].back += back;
	s[i].n++;
	return n;
}

/* Accounts and keys in id order: two write-outs lock them alike. */
static int
cmp_who(const void *x, const void *y)
{
	const struct sum *a = x, *b = y;

	return (a->who > b->who) - (a->who < b->who);
}

static struct db_val
bin(const unsigned char *p)
{
	return (struct db_val){
	    .type = DBT_STR, .s = (const char *)p, .len = HOLD_ID_LEN};
}

/*
 * Usage records (BATCH_USAGE, BATCH_REFUSED) are unique by request id through
 * usage_keys, which a trigger fills in the same statement (schema 0022: the
 * partitioned table cannot hold the UNIQUE key), and INSERT IGNORE does not
 * ignore a trigger's duplicate: a line written out again fails its batch with
 * 1062.  Then the batch goes row by row and each duplicate is skipped; InnoDB
 * undoes only the failed statement, so the transaction goes on.
 */
static enum tg_err
insert_unique(struct db_conn *c, unsigned batch, const struct db_val *rows,
    size_t n, size_t cols, struct arena *a)
{
	enum tg_err rc;
	size_t i;

	if ((rc = db_exec_rows(c, batch, rows, n, a)) != TG_ECONFLICT)
		return rc;
	for (i = 0; i < n; i++) {
		rc = db_exec_rows(c, batch, rows + i * cols, 1, a);
		if (rc != TG_OK && rc != TG_ECONFLICT)
			return rc;
	}
	return TG_OK;
}

/* One ledger entry of line l at u (BATCH_LEDGER's five columns). */
static void
entry(struct db_val *u, const struct line *l, const char *kind, int64_t amount,
    const char *dedupe)
{
	u[0] = DB_I64(l->user);
	u[1] = bin(l->lease);
	u[2] = DB_STR(kind);
	u[3] = DB_I64(amount);
	u[4] = DB_STR(dedupe);
}

/* Line l's usage record at u (BATCH_USAGE's columns). */
static void
usage_row(struct db_val *u, const struct line *l)
{
	memcpy(u, l->usage, sizeof(l->usage));
	u[3] = bin(l->lease);
	u[19] = DB_I64(l->charge);
}

/*
 * issue 20: the nk usage records of lines[0..n) that carry their
 * Idempotency-Key's answer (BATCH_USAGE_REPLAY): record and answer in one
 * INSERT, so a replay never finds the one without the other.  The answer's
 * status is the record's, as the in-place keep writes it.
 */
static enum tg_err
write_kept(
    struct db_conn *c, struct arena *a, struct line *lines, size_t n, size_t nk)
{
	enum { W = LEDGER_USAGE_COLS + 2 };
	struct db_val *rows, *u;
	size_t i, k = 0;

	if ((rows = arena_alloc(a, nk * W * sizeof(*rows))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < n; i++) {
		if (!lines[i].kept || (lines[i].hold && !lines[i].open))
			continue;
		u = &rows[k++ * W];
		usage_row(u, &lines[i]);
		u[21] = lines[i].replay[0];
		u[LEDGER_USAGE_COLS] = lines[i].replay[2];
		u[LEDGER_USAGE_COLS + 1] = lines[i].replay[1];
	}
	return insert_unique(c, BATCH_USAGE_REPLAY, rows, k, W, a);
}

/*
 * The rows of lines[0..n): the ledger entries of each line whose lease or
 * hold was open (a carve's charge; a hold's charge and release, as tg_settle
 * writes them), a usage record for each carve and each of those holds (rows:
 * room for either, n x LEDGER_USAGE_COLS).  A hold no longer open was settled
 * or swept with its own record.
 */
static enum tg_err
write_rows(struct db_conn *c, struct arena *a, struct line *lines, size_t n,
    struct db_val *rows)
{
	char hex[2 * HOLD_ID_LEN + 1];
	size_t i, nr = 0, nk;
	enum tg_err rc;

	for (i = 0; i < n; i++) {
		if (!lines[i].open)
			continue;
		if (!lines[i].hold) {
			crypto_hex(lines[i].carve, HOLD_ID_LEN, hex);
			entry(&rows[nr++ * 5], &lines[i], "charge",
			    -lines[i].charge, arena_printf(a, "carve:%s", hex));
			continue;
		}
		crypto_hex(lines[i].lease, HOLD_ID_LEN, hex);
		entry(&rows[nr++ * 5], &lines[i], "charge", -lines[i].charge,
		    arena_printf(a, "charge:%s", hex));
		entry(&rows[nr++ * 5], &lines[i], "release", 0,
		    arena_printf(a, "release:%s", hex));
	}
	if (nr > 0 &&
	    (rc = db_exec_rows(c, BATCH_LEDGER, rows, nr, a)) != TG_OK)
		return rc;
	for (nr = 0, nk = 0, i = 0; i < n; i++) {
		if (lines[i].hold && !lines[i].open)
			continue;
		if (lines[i].kept) {
			nk++;
			continue;
		}
		usage_row(&rows[nr++ * LEDGER_USAGE_COLS], &lines[i]);
	}
	if (nr > 0 &&
	    (rc = insert_unique(
		 c, BATCH_USAGE, rows, nr, LEDGER_USAGE_COLS, a)) != TG_OK)
		return rc;
	return nk > 0 ? write_kept(c, a, lines, n, nk) : TG_OK;
}

/*
 * issue 20: the batch's k exact holds closed in one statement
 * (BATCH_HOLD_CLOSE), for when each is open, as each is but after a sweep or
 * a line written out again: TG_OK with every line open; TG_ECONFLICT when
 * one was not (the caller rolls back and closes them one by one).  It was
 * one UPDATE a line, the write-out's most frequent statement.
 */
static enum tg_err
close_holds_at_once(
    struct db_conn *c, struct arena *a, struct line *lines, size_t n, size_t k)
{
	struct db_val *r, *rows = arena_alloc(a, k * 6 * sizeof(*rows));
	uint64_t affected;
	size_t i;
	enum tg_err rc;

	if (rows == NULL)
		return TG_ESYSTEM;
	for (r = rows, i = 0; i < n; i++) {
		if (!lines[i].hold)
			continue;
		r[0] = bin(lines[i].lease);
		r[1] = DB_I64(lines[i].user);
		r[2] = DB_I64(lines[i].key);
		r[3] = DB_I64(lines[i].amount);
		r[4] = DB_STR("1970-01-02 00:00:00"); /* never inserted */
		r[5] = DB_I64(lines[i].charge);
		r += 6;
	}
	rc = db_exec_rows_affected(c, BATCH_HOLD_CLOSE, rows, k, a, &affected);
	if (rc != TG_OK)
		return rc;
	/* Each open hold changed is 2; one left alone 0, one made 1. */
	if (affected != 2 * (uint64_t)k)
		return TG_ECONFLICT;
	for (i = 0; i < n; i++)
		if (lines[i].hold)
			lines[i].open = 1;
	return TG_OK;
}

/*
 * The batch's exact holds closed, each by its id: settled with its charge if
 * still open (l->open), else left alone (swept as expired, or settled before
 * its line was written out again).  Several at once unless one_by_one.
 */
static enum tg_err
close_holds(struct db_conn *c, struct arena *a, struct line *lines, size_t n,
    int one_by_one)
{
	char hex[2 * HOLD_ID_LEN + 1];
	struct db_val p[2];
	struct db_rows res;
	size_t i, k = 0;
	enum tg_err rc;

	for (i = 0; i < n; i++)
		k += lines[i].hold != 0;
	if (k >= 2 && !one_by_one)
		return close_holds_at_once(c, a, lines, n, k);
	for (i = 0; i < n; i++) {
		if (!lines[i].hold)
			continue;
		p[0] = DB_I64(lines[i].charge);
		p[1] = bin(lines[i].lease);
		if ((rc = db_exec(c, STMT_JOURNAL_HOLD, p, 2, &res, a)) !=
		    TG_OK)
			return rc;
		if ((lines[i].open = res.affected == 1))
			continue;
		crypto_hex(lines[i].lease, HOLD_ID_LEN, hex);
		log_msg(LOG_WARN,
		    "journal: hold %s was closed before its line was "
		    "written out (swept as expired, or settled): it moves "
		    "nothing",
		    hex);
	}
	return TG_OK;
}

/* The holds' lines' releases (releases.h) taken off (sign -1) or back on. */
static void
released(struct releases *rel, const struct line *lines, size_t n, int sign)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lines[i].hold)
			releases_add(rel, lines[i].user,
			    sign * (lines[i].amount - lines[i].charge));
}

/*
 * One transaction for lines[0..n) and the records without money ex: the
 * money, the rows, the new offset.
 */
/*
 * The accounts' and keys' shares of the open lines, one UPDATE each, in id
 * order (two write-outs lock them alike); a carve's open flag from its
 * lease's (leases[]).  accts and keys have room for n + 1 sums.
 */
static enum tg_err
move_money(struct db_conn *c, struct arena *a, struct line *lines, size_t n,
    const struct sum *leases, struct sum *accts, struct sum *keys)
{
	struct db_val p[3];
	size_t i, k, na = 0, nk = 0;
	enum tg_err rc;

	for (i = 0; i < n; i++) {
		const struct line *l = &lines[i];

		if (!l->hold) {
			for (k = 0; memcmp(leases[k].id, l->lease, HOLD_ID_LEN);
			     k++)
				;
			lines[i].open = leases[k].open;
		}
		if (!l->open)
			continue;
		/*
		 * A carve's charge comes out of its lease's reservation; a
		 * hold gives back its reservation, its unused part to the
		 * balance, and its key's spend (which counted the hold).
		 */
		na = add(accts, na, NULL, l->user,
		    l->hold ? l->amount : l->charge,
		    l->hold ? l->amount - l->charge : 0);
		if (l->key != 0)
			nk = add(keys, nk, NULL, l->key,
			    l->hold ? l->charge - l->amount : l->charge, 0);
	}
	qsort(accts, na, sizeof(*accts), cmp_who);
	qsort(keys, nk, sizeof(*keys), cmp_who);
	for (k = 0; k < na; k++) {
		p[0] = DB_I64(accts[k].back);
		p[1] = DB_I64(accts[k].amount);
		p[2] = DB_I64(accts[k].who);
		if ((rc = db_exec(c, STMT_JOURNAL_ACCOUNT, p, 3, NULL, a)) !=
		    TG_OK)
			return rc;
	}
	for (k = 0; k < nk; k++) {
		p[0] = DB_I64(keys[k].amount);
		p[1] = DB_I64(keys[k].who);
		if ((rc = db_exec(c, STMT_JOURNAL_KEY, p, 2, NULL, a)) != TG_OK)
			return rc;
	}
	return TG_OK;
}

enum tg_err
journal_write_out(struct db_conn *c, struct arena *a, struct line *lines,
    size_t n, const struct extras *ex, const char *mark, int64_t new_off,
    struct sum *leases, size_t *nleases, struct db_val *rows,
    struct releases *rel)
{
	struct sum *accts, *keys;
	struct db_val p[2];
	struct db_rows res;
	size_t i, k, nl = 0;
	enum tg_err rc;

	/* n may be 0: a batch of exact holds (or records) still moves the mark. */
	accts = arena_calloc(a, n + 1, sizeof(*accts));
	keys = arena_calloc(a, n + 1, sizeof(*keys));
	if (accts == NULL || keys == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < n; i++)
		if (!lines[i].hold)
			nl = add(
			    leases, nl, lines[i].lease, 0, lines[i].charge, 0);
	if ((rc = db_begin(c)) != TG_OK)
		return rc;
	/* Lock order of the procedures: holds, accounts, api_keys. */
	rc = close_holds(c, a, lines, n, 0);
	if (rc == TG_ECONFLICT) {
		/* A hold was closed already: back, and each on its own. */
		db_rollback(c);
		if ((rc = db_begin(c)) != TG_OK)
			return rc;
		rc = close_holds(c, a, lines, n, 1);
	}
	if (rc != TG_OK)
		goto fail;
	for (k = 0; k < nl; k++) {
		p[0] = DB_I64(leases[k].amount);
		p[1] = bin(leases[k].id);
		if ((rc = db_exec(c, STMT_JOURNAL_LEASE, p, 2, &res, a)) !=
		    TG_OK)
			goto fail;
		/*
		 * A lease swept as expired was charged in full: its lines
		 * keep their usage record but move no more money.
		 */
		leases[k].open = res.affected == 1 || leases[k].amount == 0;
	}
	if ((rc = move_money(c, a, lines, n, leases, accts, keys)) != TG_OK)
		goto fail;
	/*
	 * The rows after the accounts and keys, as the procedures do: taken
	 * first, their inserts' locks made reservations deadlock with them.
	 */
	if ((rc = write_rows(c, a, lines, n, rows)) != TG_OK)
		goto fail;
	for (k = 0; k < JK__MAX; k++)
		if (ex->n[k] > 0 &&
		    (rc = insert_unique(c, journal_kinds[k].batch, ex->rows[k],
			 ex->n[k], journal_kinds[k].cols, a)) != TG_OK)
			goto fail;
	p[0] = DB_STR(mark);
	p[1] = DB_I64(new_off);
	if ((rc = db_exec(c, STMT_JOURNAL_MARK_SET, p, 2, NULL, a)) != TG_OK)
		goto fail;
	*nleases = nl;
	/* Off before the commit: a balance told meanwhile errs low. */
	released(rel, lines, n, -1);
	if ((rc = db_commit(c)) != TG_OK)
		released(rel, lines, n, 1);
	return rc;
fail:
	db_rollback(c);
	return rc;
}

/*
 * The exact holds of lines[0..*n) settled one by one, by the procedure of the
 * online settle: each is its own transaction, idempotent by the hold id, so
 * one settled again after a failed batch is "already closed" and moves
 * nothing.  The carves are moved to the front, *n of them.  -1 on a database
 * error (the batch is retried).
 */
int
journal_settle_exact(struct db_conn *c, struct arena *a, const char *mark,
    struct line *lines, size_t *n)
{
	char hex[2 * HOLD_ID_LEN + 1];
	size_t i, m = 0;
	int64_t charged;
	enum tg_err rc;

	for (i = 0; i < *n; i++) {
		if (!lines[i].exact) {
			if (m != i)
				lines[m] = lines[i];
			m++;
			continue;
		}
		rc = ledger_settle_usage(c, a, lines[i].lease, lines[i].charge,
		    lines[i].usage, &charged, NULL, NULL);
		if (rc == TG_OK)
			continue;
		if (rc != TG_ECONFLICT && rc != TG_ENOENT)
			return -1;
		crypto_hex(lines[i].lease, HOLD_ID_LEN, hex);
		log_msg(rc == TG_ENOENT ? LOG_ERR : LOG_WARN,
		    "journal %s: hold %s %s", mark, hex,
		    rc == TG_ENOENT ? "does not exist: its line is skipped"
				    : "was already closed (settled before "
				      "its connection was lost, or swept)");
	}
	*n = m;
	return 0;
}
