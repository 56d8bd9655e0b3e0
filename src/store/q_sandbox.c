/* q_sandbox.c: the test-mode sandbox account of a user: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_row.h"
#include "store/q_sandbox.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_sandbox_stmts[] = {
	/* Runs twice harmlessly: the second finds today's grant made. */
	{ STMT_SANDBOX_REFILL, "CALL tg_sandbox_refill(?, ?)", DB_SF_HOT | DB_SF_RETRY },
	{ STMT_SANDBOX_GET, "SELECT balance, reserved, DATE_FORMAT(test_granted, '%Y-%m-%d') FROM accounts WHERE user_id = ?", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_sandbox_refill(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t amount, int *granted, int64_t *balance)
{
	struct db_val p[2] = {DB_I64(user_id), DB_I64(amount)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_SANDBOX_REFILL, p, 2, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.ncols != 3)
		return TG_EDB;
	if (granted != NULL)
		*granted = rows.v[0].i != 0;
	if (balance != NULL)
		*balance = q_i64(&rows.v[2], 0);
	return TG_OK;
}

enum tg_err
q_sandbox_get(struct db_conn *c, struct arena *a, int64_t user_id,
    struct sandbox_row *out)
{
	struct db_val p = DB_I64(user_id + Q_SANDBOX_BASE);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_SANDBOX_GET, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_ENOENT;
	out->balance = q_i64(&rows.v[0], 0);
	out->reserved = q_i64(&rows.v[1], 0);
	out->granted = q_str(&rows.v[2]);
	return TG_OK;
}
