/* q_did.c: users by their DID: the statements and their typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "io/db.h"
#include "store/q_did.h"
#include "store/q_row.h"
#include "store/stmt.h"

/*
 * The email column is NOT NULL and unique: a DID user's holds the DID, which
 * no registration can take (an email needs an '@'), and the password hash
 * '!' is no PHC string, so no password ever matches it.
 */
/* clang-format off */
const struct stmt_row q_did_stmts[] = {
	{ STMT_DID_USER, "SELECT u.id, u.public_id, u.role, u.status FROM users u WHERE u.did = ?", DB_SF_READ | DB_SF_CACHE },
	{ STMT_DID_USER_INSERT, "INSERT INTO users (public_id, email, username, password_hash, role, user_group, settings, did) VALUES (?, ?, ?, '!', 'user', ?, '{}', ?)", 0 },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_did_user(struct db_conn *c, struct arena *a, const char *did,
    struct did_user_row *out)
{
	struct db_val p = DB_STR(did);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_DID_USER, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*out = (struct did_user_row){
	    .id = rows.v[0].i,
	    .pub = q_str(&rows.v[1]),
	    .role = q_str(&rows.v[2]),
	    .status = q_str(&rows.v[3]),
	};
	return TG_OK;
}

enum tg_err
q_did_user_insert(struct db_conn *c, struct arena *a, const char *pub,
    const struct did_user_new *u, int64_t *id, const char **dup)
{
	struct db_val p[5] = {DB_STR(pub), DB_STR(u->did),
	    q_opt_str(u->username), DB_STR(u->group), DB_STR(u->did)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_DID_USER_INSERT, p, 5, &rows, a)) != TG_OK) {
		if (rc == TG_ECONFLICT)
			*dup = strstr(db_error(c), "uq_users_username") != NULL
			    ? "username"
			    : "did";
		return rc;
	}
	*id = (int64_t)rows.insert_id;
	return TG_OK;
}
