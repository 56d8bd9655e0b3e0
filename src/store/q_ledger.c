/* q_ledger.c: holds, settlements, leases and the journal's write-out: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_ledger.h"
#include "store/stmt.h"
#include "store/q_row.h"
#include "store/q_user.h"

/* clang-format off */
const struct stmt_row q_ledger_stmts[] = {
	{ STMT_CREDIT_LIST, "SELECT e.id, DATE_FORMAT(e.created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), e.kind, e.amount, e.note, u.public_id, COALESCE(e.source, IF(e.actor_user_id IS NULL, 'operator', 'admin')), e.source_ref FROM ledger_entries e LEFT JOIN users u ON u.id = e.actor_user_id WHERE e.account_id = ? AND e.kind IN ('topup', 'adjust') AND (? = 0 OR e.id < ?) ORDER BY e.id DESC LIMIT ?", DB_SF_READ },
	{ STMT_LEDGER_INSERT, "INSERT INTO ledger_entries (account_id, kind, amount, dedupe_key, note, actor_user_id) VALUES (?, ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT_ADMIN_BALANCES, "SELECT u.public_id, u.email, a.balance, a.reserved, (SELECT COUNT(*) FROM api_keys k WHERE k.user_id = u.id AND k.revoked_at IS NULL) FROM users u JOIN accounts a ON a.user_id = u.id ORDER BY u.id LIMIT ? OFFSET ?", DB_SF_READ },
	{ STMT_HOLD_BY_IDEM, "SELECT id, amount, state, CAST(COALESCE(charged, 0) AS SIGNED) FROM holds WHERE account_id = ? AND api_key_id = ? AND idem_key = ?", DB_SF_READ },
	{ STMT_HOLD_EXPIRED, "SELECT id, lease FROM holds WHERE state = 'open' AND expires_at < NOW(6) ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_LEDGER_RECONCILE, "SELECT CAST(COALESCE((SELECT SUM(amount) FROM ledger_entries WHERE account_id = ?), 0) AS SIGNED), balance + reserved, balance, reserved, (SELECT COUNT(*) FROM holds WHERE account_id = ? AND state = 'open') FROM accounts WHERE user_id = ?", DB_SF_READ },
	{ STMT_LEDGER_RESERVE, "CALL tg_reserve(?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_LEDGER_RESERVE_MANY, "CALL tg_reserve_many(?, ?, ?, ?)", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_LEASE_CHARGE, "CALL tg_lease_charge(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_LEASE_CLOSE, "CALL tg_lease_close(?, ?, ?)", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_JOURNAL_LEASE, "UPDATE holds SET charged = COALESCE(charged, 0) + ? WHERE id = ? AND lease = 1 AND state = 'open'", DB_SF_HOT },
	{ STMT_JOURNAL_HOLD, "UPDATE holds SET state = 'settled', charged = ?, settled_at = NOW(6) WHERE id = ? AND lease = 0 AND state = 'open'", DB_SF_HOT },
	{ STMT_JOURNAL_ACCOUNT, "UPDATE accounts SET balance = balance + ?, reserved = reserved - ? WHERE user_id = ?", DB_SF_HOT },
	{ STMT_JOURNAL_KEY, "UPDATE api_keys SET spent = spent + ? WHERE id = ?", DB_SF_HOT },
	{ STMT_JOURNAL_MARK_SET, "INSERT INTO journal_marks (name, off) VALUES (?, ?) ON DUPLICATE KEY UPDATE off = VALUES(off)", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_JOURNAL_MARK_GET, "SELECT off FROM journal_marks WHERE name = ?", DB_SF_READ },
	{ STMT_JOURNAL_MARK_DEL, "DELETE FROM journal_marks WHERE name = ?", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_LEASE_CHARGED, "SELECT CAST(COALESCE(charged, 0) AS SIGNED) FROM holds WHERE id = ? AND lease = 1 AND state = 'open'", DB_SF_READ },
	{ STMT_LEASE_GRANT, "UPDATE holds SET granted = ? WHERE id = ? AND lease = 1 AND state = 'open'", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_LEASE_RENEW, "UPDATE holds SET expires_at = NOW(6) + INTERVAL ? SECOND WHERE id = ? AND lease = 1 AND state = 'open'", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_CARVE_SETTLED, "SELECT COUNT(*) FROM ledger_entries WHERE dedupe_key = ?", DB_SF_READ },
	{ STMT_LEDGER_SETTLE, "CALL tg_settle(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_HOLD_MINE, "SELECT COUNT(*) FROM holds WHERE id = ?", DB_SF_READ },
	{ STMT_HOLD_CLOSED, "SELECT h.state, CAST(COALESCE(h.charged, 0) AS SIGNED), h.amount, a.balance FROM holds h JOIN accounts a ON a.user_id = h.account_id WHERE h.id = ? AND h.lease = 0", DB_SF_READ },
	{ STMT_CARVE_CHARGED, "SELECT CAST(-e.amount AS SIGNED), a.balance FROM ledger_entries e JOIN accounts a ON a.user_id = e.account_id WHERE e.dedupe_key = CONCAT('carve:', LOWER(HEX(?)))", DB_SF_READ },
	/*
	 * tollgate ledger check: each statement answers the first account (or
	 * key, or hold) where a proof fails: (user, detail, expected, found).
	 * Sums per account come from one grouped pass each, not a subquery per
	 * row.  The ledger's charges less sweeps: a carve's (always with a
	 * usage record) and an exact hold's settled with one; a sweep's and a
	 * lease's unused rest have none.
	 */
	{ STMT_CHECK_SUM, "SELECT u.public_id, IF(a.user_id <> a.owner_id, 'sandbox', ''), CAST(COALESCE(e.s, 0) AS SIGNED), a.balance + a.reserved FROM accounts a JOIN users u ON u.id = a.owner_id LEFT JOIN (SELECT account_id, SUM(amount) s FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.user_id WHERE COALESCE(e.s, 0) <> a.balance + a.reserved ORDER BY a.user_id LIMIT 1", DB_SF_READ },
	{ STMT_CHECK_RESERVED, "SELECT u.public_id, IF(a.user_id <> a.owner_id, 'sandbox', ''), CAST(COALESCE(h.s, 0) AS SIGNED), a.reserved FROM accounts a JOIN users u ON u.id = a.owner_id LEFT JOIN (SELECT account_id, SUM(amount - COALESCE(charged, 0)) s FROM holds WHERE state = 'open' GROUP BY account_id) h ON h.account_id = a.user_id WHERE COALESCE(h.s, 0) <> a.reserved ORDER BY a.user_id LIMIT 1", DB_SF_READ },
	{ STMT_CHECK_USAGE, "SELECT u.public_id, IF(a.user_id <> a.owner_id, 'sandbox', ''), CAST(COALESCE(c.s, 0) AS SIGNED), CAST(COALESCE(r.s, 0) AS SIGNED) FROM accounts a JOIN users u ON u.id = a.owner_id LEFT JOIN (SELECT e.account_id, -SUM(e.amount) s FROM ledger_entries e JOIN holds h ON h.id = e.hold_id WHERE e.kind = 'charge' AND (e.dedupe_key LIKE 'carve:%' OR (h.lease = 0 AND h.state = 'settled')) GROUP BY e.account_id) c ON c.account_id = a.user_id LEFT JOIN (SELECT acct, SUM(s) s FROM (SELECT user_id + IF(mode = 'test', 4611686018427387904, 0) acct, SUM(charge) s FROM usage_records GROUP BY acct UNION ALL SELECT account_id, SUM(charge) FROM usage_retired GROUP BY account_id) x GROUP BY acct) r ON r.acct = a.user_id WHERE COALESCE(c.s, 0) <> COALESCE(r.s, 0) ORDER BY a.user_id LIMIT 1", DB_SF_READ },
	{ STMT_CHECK_SPENT, "SELECT u.public_id, k.public_id, CAST(COALESCE(h.s, 0) + COALESCE(r.s, 0) AS SIGNED), k.spent FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN (SELECT api_key_id, SUM(IF(state = 'open', amount, COALESCE(charged, 0))) s FROM holds WHERE lease = 0 GROUP BY api_key_id) h ON h.api_key_id = k.id LEFT JOIN (SELECT api_key_id, SUM(s) s FROM (SELECT r.api_key_id, SUM(r.charge) s FROM usage_records r JOIN holds l ON l.id = r.hold_id AND l.lease = 1 GROUP BY r.api_key_id UNION ALL SELECT api_key_id, SUM(lease_charge) FROM usage_retired GROUP BY api_key_id) x GROUP BY api_key_id) r ON r.api_key_id = k.id WHERE COALESCE(h.s, 0) + COALESCE(r.s, 0) <> k.spent ORDER BY k.id LIMIT 1", DB_SF_READ },
	{ STMT_CHECK_OLD, "SELECT u.public_id, LOWER(HEX(h.id)), CAST(? AS SIGNED), CAST(TIMESTAMPDIFF(SECOND, h.expires_at, NOW(6)) AS SIGNED) FROM holds h JOIN users u ON u.id = (h.account_id & 4611686018427387903) WHERE h.state = 'open' AND h.expires_at < NOW(6) - INTERVAL ? SECOND ORDER BY h.expires_at LIMIT 1", DB_SF_READ },
	/* issue 19: obs: the housekeeper's figures for /metrics (ix_holds_sweep) */
	{ STMT_HOLDS_GAUGE, "SELECT COUNT(*), CAST(COALESCE(SUM(expires_at < NOW(6)), 0) AS SIGNED) FROM holds WHERE state = 'open'", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

static struct db_val
bin(const unsigned char *p)
{
	return (struct db_val){
	    .type = DBT_STR, .s = (const char *)p, .len = Q_HOLD_ID_LEN};
}

/*
 * A tg_reserve sent again after its connection was lost (db_retried) whose
 * second run hit a duplicate: the first committed if the hold with our id is
 * there (128 random bits: nobody else draws ours).  TG_OK: it is ours;
 * TG_ECONFLICT: the duplicate is someone else's (an Idempotency-Key).
 */
static enum tg_err
reserve_was_mine(struct db_conn *c, struct arena *a, const struct db_val *id)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_HOLD_MINE, id, 1, &rows, a)) != TG_OK)
		return rc;
	return rows.nrows == 1 && rows.v[0].i == 1 ? TG_OK : TG_ECONFLICT;
}

enum tg_err
q_ledger_reserve(struct db_conn *c, struct arena *a, const struct db_val p[7],
    struct q_reserved *out)
{
	struct db_rows rows;
	enum tg_err rc;

	memset(out, 0, sizeof(*out));
	rc = db_exec(c, STMT_LEDGER_RESERVE, p, 7, &rows, a);
	if (rc == TG_ECONFLICT && db_retried(c))
		return reserve_was_mine(c, a, &p[0]); /* held; balance unsaid */
	if (rc != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].type != DBT_I64)
		return TG_ESYSTEM;
	out->status = rows.v[0].i;
	if ((out->has_balance = rows.ncols >= 2))
		out->balance = rows.v[1].i;
	return TG_OK;
}

enum tg_err
q_ledger_reserve_many(struct db_conn *c, struct arena *a,
    const struct db_val p[4], const unsigned char *first_id,
    struct q_reserved *out)
{
	struct db_val id = bin(first_id);
	struct db_rows rows;
	enum tg_err rc;

	memset(out, 0, sizeof(*out));
	rc = db_exec(c, STMT_LEDGER_RESERVE_MANY, p, 4, &rows, a);
	/* One transaction: its first hold there, all are (balance unsaid). */
	if (rc == TG_ECONFLICT && db_retried(c))
		return reserve_was_mine(c, a, &id);
	if (rc != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.ncols < 2 || rows.v[0].type != DBT_I64)
		return TG_ESYSTEM;
	out->status = rows.v[0].i;
	out->has_balance = rows.v[1].type == DBT_I64;
	out->balance = rows.v[1].i;
	return TG_OK;
}

enum tg_err
q_hold_by_idem(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, const char *idem, unsigned char id[Q_HOLD_ID_LEN])
{
	struct db_val p[3] = {DB_I64(user_id), DB_I64(key_id), DB_STR(idem)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_HOLD_BY_IDEM, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].len != Q_HOLD_ID_LEN)
		return TG_ENOENT;
	memcpy(id, rows.v[0].s, Q_HOLD_ID_LEN);
	return TG_OK;
}

/*
 * A tg_settle sent again after its connection was lost found the hold
 * closed: if it is closed as this call asked (p[2]), the first run did it
 * (a request's hold is settled by that request only; the sweeper closes as
 * 'expired_settled'), and what it charged is read back, so the caller tells
 * the client what the ledger holds.
 */
static enum tg_err
settle_was_mine(struct db_conn *c, struct arena *a, const struct db_val *p,
    struct q_settled *out)
{
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_HOLD_CLOSED, &p[0], 1, &rows, a)) != TG_OK)
		return rc;
	v = rows.v;
	if (rows.nrows != 1 || rows.ncols != 4 || v[0].type != DBT_STR ||
	    p[2].type != DBT_STR || v[0].len != p[2].len ||
	    memcmp(v[0].s, p[2].s, p[2].len) != 0)
		return TG_OK; /* closed by someone else: QO_CLOSED stands */
	out->outcome = QO_DONE;
	out->charged = v[1].i;
	out->overrun = v[1].i > v[2].i ? v[1].i - v[2].i : 0;
	out->balance = v[3].i;
	return TG_OK;
}

/*
 * A tg_lease_charge sent again after its connection was lost hit the carve's
 * ledger entry (its dedupe key): the first run committed; read back what it
 * charged (p[1] the carve, p[3] its hold).
 */
static enum tg_err
carve_was_mine(struct db_conn *c, struct arena *a, const struct db_val *p,
    struct q_settled *out)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_CARVE_CHARGED, &p[1], 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].type != DBT_I64)
		return TG_ECONFLICT;
	out->outcome = QO_DONE;
	out->charged = rows.v[0].i;
	out->overrun = out->charged > p[3].i ? out->charged - p[3].i : 0;
	out->balance = rows.v[1].i;
	return TG_OK;
}

enum tg_err
q_hold_idem_state(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, const char *idem, const char **state, int64_t *charged)
{
	struct db_val p[3] = {DB_I64(user_id), DB_I64(key_id), DB_STR(idem)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_HOLD_BY_IDEM, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.ncols != 4)
		return TG_ENOENT;
	*state = q_str(&rows.v[2]);
	*charged = rows.v[3].i;
	return *state != NULL ? TG_OK : TG_ENOENT;
}

/* A procedure's outcome row: outcome, then charged, balance, overrun. */
static enum tg_err
settled(struct db_conn *c, struct arena *a, enum stmt st,
    const struct db_val *p, size_t n, size_t ncols, struct q_settled *out)
{
	struct db_rows rows;
	enum tg_err rc;

	memset(out, 0, sizeof(*out));
	rc = db_exec(c, st, p, n, &rows, a);
	if (rc == TG_ECONFLICT && st == STMT_LEASE_CHARGE && db_retried(c))
		return carve_was_mine(c, a, p, out);
	if (rc != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.ncols != ncols ||
	    rows.v[0].type != DBT_I64 || rows.v[0].i < QO_DONE ||
	    rows.v[0].i > QO_CLOSED)
		return TG_ESYSTEM;
	out->outcome = (enum q_outcome)rows.v[0].i;
	if (out->outcome == QO_CLOSED && st == STMT_LEDGER_SETTLE &&
	    db_retried(c))
		return settle_was_mine(c, a, p, out);
	if (ncols >= 4) {
		out->charged = rows.v[1].i;
		out->balance = rows.v[2].i;
		out->overrun = rows.v[3].i;
	}
	return TG_OK;
}

enum tg_err
q_ledger_settle(struct db_conn *c, struct arena *a, const struct db_val *p,
    size_t n, struct q_settled *out)
{
	return settled(c, a, STMT_LEDGER_SETTLE, p, n, 4, out);
}

enum tg_err
q_lease_charge(struct db_conn *c, struct arena *a, const struct db_val *p,
    size_t n, struct q_settled *out)
{
	return settled(c, a, STMT_LEASE_CHARGE, p, n, 4, out);
}

enum tg_err
q_lease_close(struct db_conn *c, struct arena *a, const struct db_val p[3],
    enum q_outcome *out)
{
	struct q_settled s;
	enum tg_err rc;

	if ((rc = settled(c, a, STMT_LEASE_CLOSE, p, 3, 1, &s)) == TG_OK)
		*out = s.outcome;
	return rc;
}

enum tg_err
q_lease_charged(struct db_conn *c, struct arena *a,
    const unsigned char id[Q_HOLD_ID_LEN], int64_t *charged)
{
	struct db_val p = bin(id);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LEASE_CHARGED, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].type != DBT_I64)
		return TG_ENOENT;
	*charged = rows.v[0].i;
	return TG_OK;
}

enum tg_err
q_lease_grant(struct db_conn *c, struct arena *a,
    const unsigned char id[Q_HOLD_ID_LEN], int64_t granted)
{
	struct db_val p[2] = {DB_I64(granted), bin(id)};
	struct db_rows res;

	/* 0 rows affected: closed meanwhile (its grant no longer matters). */
	return db_exec(c, STMT_LEASE_GRANT, p, 2, &res, a);
}

enum tg_err
q_lease_renew(struct db_conn *c, struct arena *a,
    const unsigned char id[Q_HOLD_ID_LEN], int64_t seconds)
{
	struct db_val p[2] = {DB_I64(seconds), bin(id)};
	struct db_rows res;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LEASE_RENEW, p, 2, &res, a)) != TG_OK)
		return rc;
	return res.affected == 1 ? TG_OK : TG_ENOENT;
}

enum tg_err
q_dedupe_count(
    struct db_conn *c, struct arena *a, const char *dedupe, int64_t *n)
{
	struct db_val p = DB_STR(dedupe);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_CARVE_SETTLED, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ESYSTEM;
	*n = rows.v[0].i;
	return TG_OK;
}

enum tg_err
q_holds_expired(struct db_conn *c, struct arena *a, unsigned limit,
    struct q_expired **out, size_t *n)
{
	struct db_val p = DB_I64(limit);
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	*n = 0;
	if ((rc = db_exec(c, STMT_HOLD_EXPIRED, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_OK;
	if (rows.ncols != 2 ||
	    (*out = arena_calloc(a, rows.nrows, sizeof(**out))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		if (rows.v[i * 2].len != Q_HOLD_ID_LEN)
			return TG_ESYSTEM;
		(*out)[i].id = (const unsigned char *)rows.v[i * 2].s;
		(*out)[i].lease = rows.v[i * 2 + 1].i != 0;
		(*n)++;
	}
	return TG_OK;
}

enum tg_err
q_ledger_reconcile(struct db_conn *c, struct arena *a, int64_t user_id,
    struct q_reconcile *out)
{
	struct db_val p[3] = {
	    DB_I64(user_id), DB_I64(user_id), DB_I64(user_id)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LEDGER_RECONCILE, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	out->sum = rows.v[0].i;
	out->balance = rows.v[2].i;
	out->reserved = rows.v[3].i;
	out->open_holds = rows.v[4].i;
	return TG_OK;
}

enum tg_err
q_journal_mark(
    struct db_conn *c, struct arena *a, const char *mark, int64_t *off)
{
	struct db_val p = DB_STR(mark);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_JOURNAL_MARK_GET, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*off = rows.v[0].i;
	return TG_OK;
}

enum tg_err
q_journal_mark_del(struct db_conn *c, struct arena *a, const char *mark)
{
	struct db_val p = DB_STR(mark);

	return db_exec(c, STMT_JOURNAL_MARK_DEL, &p, 1, NULL, a);
}

enum tg_err
q_ledger_credit(struct db_conn *c, struct arena *a, int64_t user,
    const char *kind, int64_t amount, const char *dedupe, const char *note,
    int64_t actor, int64_t *entry)
{
	struct db_val p[6] = {DB_I64(user), DB_STR(kind), DB_I64(amount),
	    DB_STR(dedupe), q_opt_str(note),
	    actor != 0 ? DB_I64(actor) : DB_NULLV};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LEDGER_INSERT, p, 6, &rows, a)) != TG_OK)
		return rc;
	if (entry != NULL)
		*entry = (int64_t)rows.insert_id;
	return TG_OK;
}

enum tg_err
q_admin_balances(struct db_conn *c, struct arena *a, int64_t limit,
    int64_t offset, struct balance_row **out, size_t *n)
{
	struct db_val p[2] = {DB_I64(limit), DB_I64(offset)};
	const struct db_val *v;
	struct db_rows rows;
	struct balance_row *b;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ADMIN_BALANCES, p, 2, &rows, a)) != TG_OK)
		return rc;
	if ((b = arena_calloc(a, rows.nrows + 1, sizeof(*b))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		b[i] = (struct balance_row){
		    q_str(&v[0]), q_str(&v[1]), v[2].i, v[3].i};
	}
	*out = b;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_ledger_check(struct db_conn *c, struct arena *a, enum q_check which,
    int64_t grace_s, struct q_check_row *out)
{
	static const enum stmt stmts[] = {[QC_SUM] = STMT_CHECK_SUM,
	    [QC_RESERVED] = STMT_CHECK_RESERVED,
	    [QC_USAGE] = STMT_CHECK_USAGE,
	    [QC_SPENT] = STMT_CHECK_SPENT,
	    [QC_OLD] = STMT_CHECK_OLD};
	struct db_val p[2] = {DB_I64(grace_s), DB_I64(grace_s)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, stmts[which], p, which == QC_OLD ? 2 : 0, &rows,
		 a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_ENOENT;
	if (rows.ncols != 4)
		return TG_ESYSTEM;
	out->user = q_str(&rows.v[0]);
	out->detail = q_str(&rows.v[1]);
	out->expected = rows.v[2].i;
	out->found = rows.v[3].i;
	return TG_OK;
}

enum tg_err
q_credit_list(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t before_id, int64_t limit, struct credit_row **out, size_t *n)
{
	struct db_val p[4] = {DB_I64(user_id), DB_I64(before_id),
	    DB_I64(before_id), DB_I64(limit)};
	const struct db_val *v;
	struct db_rows rows;
	struct credit_row *e;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_CREDIT_LIST, p, 4, &rows, a)) != TG_OK)
		return rc;
	if ((e = arena_calloc(a, rows.nrows + 1, sizeof(*e))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		e[i] = (struct credit_row){v[0].i, q_str(&v[1]), q_str(&v[2]),
		    v[3].i, q_str(&v[4]), q_str(&v[5]), q_str(&v[6]),
		    q_str(&v[7])};
	}
	*out = e;
	*n = rows.nrows;
	return TG_OK;
}

/* issue 19: obs */
enum tg_err
q_holds_gauge(
    struct db_conn *c, struct arena *a, int64_t *open, int64_t *past_ttl)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_HOLDS_GAUGE, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_EDB;
	*open = rows.v[0].i;
	*past_ttl = rows.v[1].i;
	return TG_OK;
}
