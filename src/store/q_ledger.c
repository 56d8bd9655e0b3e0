/* q_ledger.c: holds, settlements, leases and the journal's write-out: the statements (typed queries join them here) */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_row.h"
#include "store/q_user.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_ledger_stmts[] = {
	{ STMT_LEDGER_INSERT, "INSERT INTO ledger_entries (account_id, kind, amount, dedupe_key, note, actor_user_id) VALUES (?, ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT_ADMIN_BALANCES, "SELECT u.public_id, u.email, a.balance, a.reserved, (SELECT COUNT(*) FROM api_keys k WHERE k.user_id = u.id AND k.revoked_at IS NULL) FROM users u JOIN accounts a ON a.user_id = u.id ORDER BY u.id LIMIT ? OFFSET ?", DB_SF_READ },
	{ STMT_HOLD_BY_IDEM, "SELECT id, amount FROM holds WHERE account_id = ? AND api_key_id = ? AND idem_key = ?", DB_SF_READ },
	{ STMT_HOLD_EXPIRED, "SELECT id, lease FROM holds WHERE state = 'open' AND expires_at < NOW(6) ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED", DB_SF_HOT },
	{ STMT_LEDGER_RECONCILE, "SELECT CAST(COALESCE((SELECT SUM(amount) FROM ledger_entries WHERE account_id = ?), 0) AS SIGNED), balance + reserved, balance, reserved, (SELECT COUNT(*) FROM holds WHERE account_id = ? AND state = 'open') FROM accounts WHERE user_id = ?", DB_SF_READ },
	{ STMT_LEDGER_RESERVE, "CALL tg_reserve(?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT_LEASE_CHARGE, "CALL tg_lease_charge(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT_LEASE_CLOSE, "CALL tg_lease_close(?, ?, ?)", DB_SF_HOT },
	{ STMT_JOURNAL_LEASE, "UPDATE holds SET charged = COALESCE(charged, 0) + ? WHERE id = ? AND lease = 1 AND state = 'open'", DB_SF_HOT },
	{ STMT_JOURNAL_ACCOUNT, "UPDATE accounts SET reserved = reserved - ? WHERE user_id = ?", DB_SF_HOT },
	{ STMT_JOURNAL_KEY, "UPDATE api_keys SET spent = spent + ? WHERE id = ?", DB_SF_HOT },
	{ STMT_JOURNAL_MARK_SET, "INSERT INTO journal_marks (name, off) VALUES (?, ?) ON DUPLICATE KEY UPDATE off = VALUES(off)", DB_SF_HOT },
	{ STMT_JOURNAL_MARK_GET, "SELECT off FROM journal_marks WHERE name = ?", DB_SF_READ },
	{ STMT_JOURNAL_MARK_DEL, "DELETE FROM journal_marks WHERE name = ?", DB_SF_HOT },
	{ STMT_LEASE_CHARGED, "SELECT CAST(COALESCE(charged, 0) AS SIGNED) FROM holds WHERE id = ? AND lease = 1 AND state = 'open'", DB_SF_READ },
	{ STMT_CARVE_SETTLED, "SELECT COUNT(*) FROM ledger_entries WHERE dedupe_key = ?", DB_SF_READ },
	{ STMT_LEDGER_SETTLE, "CALL tg_settle(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

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
