/* q_key.c: API keys: the statements (typed queries join them here) */
#include "config.h"

#include "io/db.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_key_stmts[] = {
	{ STMT_KEY_INSERT, "INSERT INTO api_keys (public_id, user_id, key_hash, prefix, last4, name, environment, permissions, is_primary, expires_at, max_requests, credit_limit, ip_allowlist, referrer_allowlist, allowed_models) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 0 },
	{ STMT_KEY_AUTH, "SELECT k.id, k.public_id, k.user_id, u.public_id, u.role, u.status, k.is_active, k.permissions, CAST(COALESCE(UNIX_TIMESTAMP(k.expires_at), 0) * 1000000 AS SIGNED), k.ip_allowlist, k.referrer_allowlist, k.max_requests, k.requests_used, k.prefix, k.last4, k.key_hash, k.prev_hash, CAST(COALESCE(UNIX_TIMESTAMP(k.prev_valid_until), 0) * 1000000 AS SIGNED) FROM api_keys k JOIN users u ON u.id = k.user_id WHERE (k.key_hash = ? OR k.prev_hash = ?) AND k.revoked_at IS NULL", DB_SF_READ | DB_SF_CACHE },
	{ STMT_KEY_TOUCH, "UPDATE api_keys SET requests_used = requests_used + 1, last_used_at = NOW(6) WHERE id = ? AND (max_requests IS NULL OR requests_used < max_requests)", DB_SF_HOT },
	{ STMT_KEY_TOUCH_N, "UPDATE api_keys SET requests_used = requests_used + ?, last_used_at = NOW(6) WHERE id = ?", DB_SF_HOT },
	{ STMT_KEY_LIST, "SELECT k.id, k.public_id, k.name, k.prefix, k.last4, k.environment, k.permissions, k.is_active, k.is_primary, DATE_FORMAT(k.expires_at, '%Y-%m-%dT%H:%i:%sZ'), k.max_requests, k.requests_used, k.credit_limit, k.spent, k.ip_allowlist, k.referrer_allowlist, k.allowed_models, DATE_FORMAT(k.created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(k.last_used_at, '%Y-%m-%dT%H:%i:%sZ') FROM api_keys k WHERE k.user_id = ? AND k.revoked_at IS NULL ORDER BY k.id", DB_SF_READ },
	{ STMT_KEY_GET, "SELECT k.id, k.public_id, k.name, k.prefix, k.last4, k.environment, k.permissions, k.is_active, k.is_primary, DATE_FORMAT(k.expires_at, '%Y-%m-%dT%H:%i:%sZ'), k.max_requests, k.requests_used, k.credit_limit, k.spent, k.ip_allowlist, k.referrer_allowlist, k.allowed_models, DATE_FORMAT(k.created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(k.last_used_at, '%Y-%m-%dT%H:%i:%sZ') FROM api_keys k WHERE k.public_id = ? AND k.user_id = ? AND k.revoked_at IS NULL", DB_SF_READ },
	{ STMT_KEY_UPDATE, "UPDATE api_keys SET name = ?, permissions = ?, expires_at = ?, max_requests = ?, credit_limit = ?, ip_allowlist = ?, referrer_allowlist = ?, allowed_models = ?, is_active = ?, is_primary = ? WHERE id = ?", 0 },
	{ STMT_KEY_CLEAR_PRIMARY, "UPDATE api_keys SET is_primary = 0 WHERE user_id = ? AND id <> ? AND is_primary = 1", 0 },
	{ STMT_KEY_REVOKE, "UPDATE api_keys SET revoked_at = NOW(6), is_active = 0, prev_hash = NULL WHERE id = ? AND revoked_at IS NULL", 0 },
	{ STMT_KEY_REVOKE_ALL, "UPDATE api_keys SET revoked_at = NOW(6), is_active = 0, prev_hash = NULL WHERE user_id = ? AND revoked_at IS NULL", 0 },
	{ STMT_KEY_ROTATE, "UPDATE api_keys SET prev_hash = IF(? > 0, key_hash, NULL), prev_valid_until = IF(? > 0, NOW(6) + INTERVAL ? SECOND, NULL), key_hash = ?, prefix = ?, last4 = ? WHERE id = ?", 0 },
	{ STMT_KEY_PREV_UNTIL, "SELECT DATE_FORMAT(prev_valid_until, '%Y-%m-%dT%H:%i:%sZ') FROM api_keys WHERE id = ?", DB_SF_READ },
	{ STMT_KEY_COUNT_ACTIVE, "SELECT COUNT(*) FROM api_keys WHERE user_id = ? AND revoked_at IS NULL", DB_SF_READ },
	{ STMT_KEY_OWNER, "SELECT id, user_id FROM api_keys WHERE public_id = ? AND revoked_at IS NULL", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */
