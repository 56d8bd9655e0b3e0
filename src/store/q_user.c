/* q_user.c: users, their accounts, sessions, sign-in failures and invites: the statements and their typed queries */
#include "config.h"

#include "io/db.h"
#include "store/q_row.h"
#include "store/q_user.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_user_stmts[] = {
	{ STMT_USER_INSERT, "INSERT INTO users (public_id, email, username, name, password_hash, role, settings) VALUES (?, ?, ?, ?, ?, ?, '{}')", 0 },
	{ STMT_ACCOUNT_INSERT, "INSERT INTO accounts (user_id) VALUES (?)", DB_SF_HOT },
	{ STMT_USER_LOGIN, "SELECT u.id, u.public_id, u.password_hash, u.status FROM users u WHERE u.email = ?", DB_SF_READ },
	{ STMT_USER_GET, "SELECT u.id, u.public_id, u.email, u.username, u.name, u.role, u.status, u.user_group, u.commission_bp, u.settings, DATE_FORMAT(u.created_at, '%Y-%m-%dT%H:%i:%sZ') FROM users u WHERE u.id = ?", DB_SF_READ },
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
	{ STMT_SESSION_AUTH, "SELECT s.id, u.id, u.public_id, u.role, u.status FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > NOW(6)", DB_SF_READ },
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
	};
	return TG_OK;
}
