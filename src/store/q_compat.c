/* q_compat.c: the seed-compatibility routes' statements (issue 18): every key, imported keys */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_compat.h"
#include "store/q_row.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_compat_stmts[] = {
	{ STMT_COMPAT_KEYS_ALL, "SELECT k.public_id, k.name, u.email, u.public_id, k.prefix, k.last4, DATE_FORMAT(k.created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(k.last_used_at, '%Y-%m-%dT%H:%i:%sZ'), k.requests_used, r.requests_per_minute, k.imported FROM api_keys k JOIN users u ON u.id = k.user_id LEFT JOIN rate_limit_rules r ON r.user_id = k.user_id AND r.key_id = k.id WHERE k.revoked_at IS NULL ORDER BY k.id LIMIT ?", DB_SF_READ },
	{ STMT_COMPAT_KEY_IMPORTED, "UPDATE api_keys SET imported = 1 WHERE id = ?", 0 },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_compat_keys_all(struct db_conn *c, struct arena *a, int64_t limit,
    struct compat_key_row **out, size_t *n)
{
	struct db_val p = DB_I64(limit);
	struct compat_key_row *k;
	const struct db_val *v;
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_COMPAT_KEYS_ALL, &p, 1, &rows, a)) != TG_OK)
		return rc;
	k = arena_calloc(a, rows.nrows + 1, sizeof(*k));
	for (i = 0; i < rows.nrows; i++) {
		v = rows.v + i * rows.ncols;
		k[i] = (struct compat_key_row){
		    .pub = q_str(&v[0]),
		    .name = q_str(&v[1]),
		    .owner_email = q_str(&v[2]),
		    .owner_pub = q_str(&v[3]),
		    .prefix = q_str(&v[4]),
		    .last4 = q_str(&v[5]),
		    .created = q_str(&v[6]),
		    .last_used = q_str(&v[7]),
		    .requests_used = q_i64(&v[8], 0),
		    .rpm = q_i64(&v[9], -1),
		    .imported = q_i64(&v[10], 0) != 0,
		};
	}
	*out = k;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_compat_key_imported(struct db_conn *c, struct arena *a, int64_t key_id)
{
	struct db_val p = DB_I64(key_id);

	return db_exec(c, STMT_COMPAT_KEY_IMPORTED, &p, 1, NULL, a);
}
