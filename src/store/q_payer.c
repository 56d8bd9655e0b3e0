/* q_payer.c: who pays for a metered request: the user, account and key in one read: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "io/db.h"
#include "store/q_payer.h"
#include "store/stmt.h"
#include "store/q_row.h"
#include "store/q_user.h"

/* clang-format off */
const struct stmt_row q_payer_stmts[] = {
	{ STMT_CHAT_PAYER, "SELECT u.commission_bp, u.user_group, k.allowed_models, k.credit_limit, u.conversation_log FROM users u LEFT JOIN api_keys k ON k.id = ? WHERE u.id = ?", DB_SF_READ | DB_SF_CACHE },
	{ STMT_KEY_SPENT, "SELECT spent FROM api_keys WHERE id = ?", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_payer_get(struct db_conn *c, struct arena *a, int64_t key_id, int64_t user_id,
    struct payer_row *out)
{
	struct db_val p[2] = {DB_I64(key_id), DB_I64(user_id)};
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_CHAT_PAYER, p, 2, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	v = rows.v;
	out->commission_bp = v[0].type == DBT_NULL ? -1 : v[0].i;
	out->group = v[1].type == DBT_NULL ? NULL : v[1].s;
	out->allowed = v[2].type == DBT_NULL ? NULL : v[2].s;
	out->credit_limit = v[3].type == DBT_NULL ? -1 : v[3].i;
	out->conv_log = q_str(&v[4]); /* issue 18: convlog */
	return TG_OK;
}

enum tg_err
q_key_spent(struct db_conn *c, struct arena *a, int64_t key_id, int64_t *spent)
{
	struct db_val p = DB_I64(key_id);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_SPENT, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*spent = rows.v[0].i;
	return TG_OK;
}

enum tg_err
q_payer_group(
    struct db_conn *c, struct arena *a, int64_t user, const char **group)
{
	struct db_val p[2] = {DB_I64(0), DB_I64(user)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_CHAT_PAYER, p, 2, &rows, a)) != TG_OK)
		return rc;
	*group = rows.nrows == 1 ? q_str(&rows.v[1]) : NULL;
	return TG_OK;
}
