/* q_user.c: users, their accounts, sessions, sign-in failures and invites: the statements and their typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_row.h"
#include "store/q_user.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_user_stmts[] = {
	{ STMT_USER_INSERT, "INSERT INTO users (public_id, email, username, name, password_hash, role, settings) VALUES (?, ?, ?, ?, ?, ?, '{}')", 0 },
	{ STMT_ACCOUNT_INSERT, "INSERT INTO accounts (user_id) VALUES (?)", DB_SF_HOT },
	{ STMT_USER_LOGIN, "SELECT u.id, u.public_id, u.password_hash, u.status FROM users u WHERE u.email = ?", DB_SF_READ },
	{ STMT_USER_GET, "SELECT u.id, u.public_id, u.email, u.username, u.name, u.role, u.status, u.user_group, u.commission_bp, u.settings, DATE_FORMAT(u.created_at, '%Y-%m-%dT%H:%i:%sZ'), u.conversation_log FROM users u WHERE u.id = ?", DB_SF_READ },
	{ STMT_USER_GET_PUBLIC, "SELECT u.id FROM users u WHERE u.public_id = ?", DB_SF_READ },
	{ STMT_USER_GET_EMAIL, "SELECT u.id FROM users u WHERE u.email = ?", DB_SF_READ },
	{ STMT_USER_UPDATE_PROFILE, "UPDATE users SET name = ?, email = ?, settings = ? WHERE id = ?", 0 },
	{ STMT_USER_DELETE, "UPDATE users SET status = 'deleted', deleted_at = NOW(6) WHERE id = ? AND status <> 'deleted'", 0 },
	{ STMT_USER_ADMIN_UPDATE, "UPDATE users SET status = ?, role = ?, user_group = ?, commission_bp = ? WHERE id = ?", 0 },
	{ STMT_USER_LIST, "SELECT u.id FROM users u WHERE (? = '' OR u.email LIKE CONCAT('%', ?, '%') OR u.username LIKE CONCAT('%', ?, '%')) ORDER BY u.id LIMIT ? OFFSET ?", DB_SF_READ },
	{ STMT_USER_COUNT, "SELECT COUNT(*) FROM users u WHERE (? = '' OR u.email LIKE CONCAT('%', ?, '%') OR u.username LIKE CONCAT('%', ?, '%'))", DB_SF_READ },
	{ STMT_ACCOUNT_GET, "SELECT balance, reserved, overdraft_limit FROM accounts WHERE user_id = ?", DB_SF_READ },
	{ STMT_ACCOUNT_ADD, "UPDATE accounts SET balance = balance + ? WHERE user_id = ? AND balance + ? >= -overdraft_limit", DB_SF_HOT },
	{ STMT_SESSION_INSERT, "INSERT INTO sessions (token_hash, user_id, ip, expires_at) VALUES (?, ?, ?, NOW(6) + INTERVAL ? SECOND)", DB_SF_HOT },
	{ STMT_SESSION_EXPIRES, "SELECT DATE_FORMAT(expires_at, '%Y-%m-%dT%H:%i:%sZ') FROM sessions WHERE token_hash = ?", DB_SF_READ },
	{ STMT_SESSION_AUTH, "SELECT s.id, u.id, u.public_id, u.role, u.status, DATE_FORMAT(s.expires_at, '%Y-%m-%dT%H:%i:%sZ') FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > NOW(6)", DB_SF_READ },
	{ STMT_SESSION_REVOKE, "UPDATE sessions SET revoked_at = NOW(6) WHERE token_hash = ? AND revoked_at IS NULL", DB_SF_HOT },
	{ STMT_SESSION_REVOKE_ALL, "UPDATE sessions SET revoked_at = NOW(6) WHERE user_id = ? AND revoked_at IS NULL", DB_SF_HOT },
	{ STMT_SESSION_REVOKE_OTHERS, "UPDATE sessions SET revoked_at = NOW(6) WHERE user_id = ? AND token_hash <> ? AND revoked_at IS NULL", 0 },
	{ STMT_USER_SET_PASSWORD, "UPDATE users SET password_hash = ? WHERE id = ? AND status <> 'deleted'", 0 },
	{ STMT_AUTHFAIL_GET, "SELECT failures, GREATEST(1, TIMESTAMPDIFF(SECOND, NOW(6), window_start + INTERVAL ? SECOND)) FROM auth_failures WHERE subject = ? AND window_start > NOW(6) - INTERVAL ? SECOND", DB_SF_READ },
	{ STMT_AUTHFAIL_HIT, "INSERT INTO auth_failures (subject, window_start, failures) VALUES (?, NOW(6), 1) ON DUPLICATE KEY UPDATE failures = IF(window_start > NOW(6) - INTERVAL ? SECOND, failures + 1, 1), window_start = IF(failures = 1, NOW(6), window_start)", DB_SF_HOT },
	{ STMT_AUTHFAIL_CLEAR, "DELETE FROM auth_failures WHERE subject = ?", DB_SF_HOT },
	{ STMT_INVITE_INSERT, "INSERT INTO invites (code_hash, created_by, expires_at) VALUES (?, ?, NOW(6) + INTERVAL ? DAY)", DB_SF_HOT },
	{ STMT_INVITE_EXPIRES, "SELECT DATE_FORMAT(NOW(6) + INTERVAL ? DAY, '%Y-%m-%dT%H:%i:%sZ')", DB_SF_READ },
	{ STMT_INVITE_USE, "UPDATE invites SET used_by = ?, used_at = NOW(6) WHERE code_hash = ? AND used_by IS NULL AND expires_at > NOW(6)", DB_SF_HOT },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_session_auth(struct db_conn *c, struct arena *a, const unsigned char *hash,
    size_t hash_len, struct session_row *s)
{
	struct db_val h = q_bin(hash, hash_len);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_SESSION_AUTH, &h, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*s = (struct session_row){
	    .id = rows.v[0].i,
	    .user_id = rows.v[1].i,
	    .user_pub = q_str(&rows.v[2]),
	    .role = q_str(&rows.v[3]),
	    .status = q_str(&rows.v[4]),
	    .expires = q_str(&rows.v[5]),
	};
	return TG_OK;
}

enum tg_err
q_user_get(struct db_conn *c, struct arena *a, int64_t id, struct user_row *u)
{
	struct db_val p = DB_I64(id);
	const struct db_val *v;
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USER_GET, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	v = rows.v;
	*u = (struct user_row){
	    .id = v[0].i,
	    .pub = q_str(&v[1]),
	    .email = q_str(&v[2]),
	    .username = q_str(&v[3]),
	    .name = q_str(&v[4]),
	    .role = q_str(&v[5]),
	    .status = q_str(&v[6]),
	    .group = q_str(&v[7]),
	    .has_commission = v[8].type == DBT_I64,
	    .commission_bp = v[8].i,
	    .settings = q_str(&v[9]),
	    .created = q_str(&v[10]),
	    .conv_log = q_str(&v[11]), /* issue 18: convlog */
	};
	return TG_OK;
}

/* The id in the first column of a one-row answer; TG_ENOENT without one. */
static enum tg_err
one_id(struct db_conn *c, struct arena *a, enum stmt s, const char *key,
    int64_t *id)
{
	struct db_val p = DB_STR(key);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, s, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*id = rows.v[0].i;
	return TG_OK;
}

enum tg_err
q_user_id_by_public(
    struct db_conn *c, struct arena *a, const char *pub, int64_t *id)
{
	return one_id(c, a, STMT_USER_GET_PUBLIC, pub, id);
}

enum tg_err
q_user_id_by_email(
    struct db_conn *c, struct arena *a, const char *email, int64_t *id)
{
	return one_id(c, a, STMT_USER_GET_EMAIL, email, id);
}

enum tg_err
q_user_insert(struct db_conn *c, struct arena *a, const struct user_new_row *u,
    int64_t *id, const char **dup)
{
	struct db_val p[6] = {DB_STR(u->pub), DB_STR(u->email),
	    q_opt_str(u->username), q_opt_str(u->name),
	    DB_STR(u->password_hash), DB_STR(u->role)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USER_INSERT, p, 6, &rows, a)) != TG_OK) {
		if (rc == TG_ECONFLICT)
			*dup = strstr(db_error(c), "uq_users_username") != NULL
			    ? "username"
			    : "email";
		return rc;
	}
	*id = (int64_t)rows.insert_id;
	return TG_OK;
}

enum tg_err
q_user_login(
    struct db_conn *c, struct arena *a, const char *email, struct login_row *l)
{
	struct db_val p = DB_STR(email);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USER_LOGIN, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*l = (struct login_row){
	    .id = rows.v[0].i,
	    .pub = q_str(&rows.v[1]),
	    .password_hash = q_str(&rows.v[2]),
	    .status = q_str(&rows.v[3]),
	};
	return TG_OK;
}

enum tg_err
q_user_update_profile(struct db_conn *c, struct arena *a, int64_t id,
    const char *name, const char *email, const char *settings)
{
	struct db_val p[4] = {
	    q_opt_str(name), DB_STR(email), DB_STR(settings), DB_I64(id)};

	return db_exec(c, STMT_USER_UPDATE_PROFILE, p, 4, NULL, a);
}

enum tg_err
q_user_set_password(
    struct db_conn *c, struct arena *a, int64_t id, const char *password_hash)
{
	struct db_val p[2] = {DB_STR(password_hash), DB_I64(id)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USER_SET_PASSWORD, p, 2, &rows, a)) != TG_OK)
		return rc;
	return rows.affected == 1 ? TG_OK : TG_ENOENT;
}

/* A statement whose one parameter is an id. */
static enum tg_err
by_id(struct db_conn *c, struct arena *a, enum stmt s, int64_t id)
{
	struct db_val p = DB_I64(id);

	return db_exec(c, s, &p, 1, NULL, a);
}

enum tg_err
q_user_delete(struct db_conn *c, struct arena *a, int64_t id)
{
	return by_id(c, a, STMT_USER_DELETE, id);
}

enum tg_err
q_user_admin_update(struct db_conn *c, struct arena *a, int64_t id,
    const char *status, const char *role, const char *group,
    int64_t commission_bp)
{
	struct db_val p[5] = {DB_STR(status), DB_STR(role), DB_STR(group),
	    commission_bp >= 0 ? DB_I64(commission_bp) : DB_NULLV, DB_I64(id)};

	return db_exec(c, STMT_USER_ADMIN_UPDATE, p, 5, NULL, a);
}

enum tg_err
q_user_count(struct db_conn *c, struct arena *a, const char *q,
    const char *like, int64_t *total)
{
	struct db_val p[3] = {DB_STR(q), DB_STR(like), DB_STR(like)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USER_COUNT, p, 3, &rows, a)) != TG_OK)
		return rc;
	*total = rows.nrows == 1 ? rows.v[0].i : 0;
	return TG_OK;
}

enum tg_err
q_user_list(struct db_conn *c, struct arena *a, const char *q, const char *like,
    int64_t limit, int64_t offset, int64_t **ids, size_t *n, int64_t *total)
{
	struct db_val p[5] = {DB_STR(q), DB_STR(like), DB_STR(like),
	    DB_I64(limit), DB_I64(offset)};
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	if ((rc = q_user_count(c, a, q, like, total)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_USER_LIST, p, 5, &rows, a)) != TG_OK)
		return rc;
	if ((*ids = arena_calloc(a, rows.nrows + 1, sizeof(**ids))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++)
		(*ids)[i] = rows.v[i].i;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_account_insert(struct db_conn *c, struct arena *a, int64_t user)
{
	return by_id(c, a, STMT_ACCOUNT_INSERT, user);
}

enum tg_err
q_account_get(
    struct db_conn *c, struct arena *a, int64_t user, struct account_row *r)
{
	struct db_val p = DB_I64(user);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ACCOUNT_GET, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	r->balance = rows.v[0].i;
	r->reserved = rows.v[1].i;
	r->overdraft = rows.v[2].i;
	return TG_OK;
}

enum tg_err
q_account_add(struct db_conn *c, struct arena *a, int64_t user, int64_t amount)
{
	struct db_val p[3] = {DB_I64(amount), DB_I64(user), DB_I64(amount)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ACCOUNT_ADD, p, 3, &rows, a)) != TG_OK)
		return rc;
	return rows.affected == 1 ? TG_OK : TG_ECONFLICT;
}

enum tg_err
q_session_insert(struct db_conn *c, struct arena *a, const unsigned char *hash,
    size_t hash_len, int64_t user, const char *ip, int64_t ttl,
    const char **expires)
{
	struct db_val p[4] = {
	    q_bin(hash, hash_len), DB_I64(user), q_opt_str(ip), DB_I64(ttl)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_SESSION_INSERT, p, 4, NULL, a)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_SESSION_EXPIRES, p, 1, &rows, a)) != TG_OK)
		return rc;
	*expires = rows.nrows == 1 ? q_str(&rows.v[0]) : NULL;
	return TG_OK;
}

enum tg_err
q_session_revoke(
    struct db_conn *c, struct arena *a, const unsigned char *hash, size_t len)
{
	struct db_val p = q_bin(hash, len);

	return db_exec(c, STMT_SESSION_REVOKE, &p, 1, NULL, a);
}

enum tg_err
q_session_revoke_all(struct db_conn *c, struct arena *a, int64_t user)
{
	return by_id(c, a, STMT_SESSION_REVOKE_ALL, user);
}

enum tg_err
q_session_revoke_others(struct db_conn *c, struct arena *a, int64_t user,
    const unsigned char *keep, size_t keep_len)
{
	struct db_val p[2] = {DB_I64(user), q_bin(keep, keep_len)};

	return db_exec(c, STMT_SESSION_REVOKE_OTHERS, p, 2, NULL, a);
}

enum tg_err
q_authfail_get(struct db_conn *c, struct arena *a, const char *subject,
    int64_t window, int64_t *count, int64_t *retry)
{
	struct db_val p[3] = {DB_I64(window), DB_STR(subject), DB_I64(window)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_AUTHFAIL_GET, p, 3, &rows, a)) != TG_OK)
		return rc;
	*count = rows.nrows == 1 ? rows.v[0].i : 0;
	*retry = rows.nrows == 1 ? rows.v[1].i : 0;
	return TG_OK;
}

enum tg_err
q_authfail_hit(
    struct db_conn *c, struct arena *a, const char *subject, int64_t window)
{
	struct db_val p[2] = {DB_STR(subject), DB_I64(window)};

	return db_exec(c, STMT_AUTHFAIL_HIT, p, 2, NULL, a);
}

enum tg_err
q_authfail_clear(struct db_conn *c, struct arena *a, const char *subject)
{
	struct db_val p = DB_STR(subject);

	return db_exec(c, STMT_AUTHFAIL_CLEAR, &p, 1, NULL, a);
}

enum tg_err
q_invite_use(struct db_conn *c, struct arena *a, int64_t user,
    const unsigned char *hash, size_t len)
{
	struct db_val p[2] = {DB_I64(user), q_bin(hash, len)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_INVITE_USE, p, 2, &rows, a)) != TG_OK)
		return rc;
	return rows.affected == 1 ? TG_OK : TG_ENOENT;
}

enum tg_err
q_invite_insert(struct db_conn *c, struct arena *a, const unsigned char *hash,
    size_t len, int64_t creator, int64_t days)
{
	struct db_val p[3] = {q_bin(hash, len), DB_I64(creator), DB_I64(days)};

	return db_exec(c, STMT_INVITE_INSERT, p, 3, NULL, a);
}

enum tg_err
q_invite_expires(
    struct db_conn *c, struct arena *a, int64_t days, const char **at)
{
	struct db_val p = DB_I64(days);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_INVITE_EXPIRES, &p, 1, &rows, a)) != TG_OK)
		return rc;
	*at = q_str(&rows.v[0]);
	return TG_OK;
}
