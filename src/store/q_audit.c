/* q_audit.c: the audit log and its chain head: the statements (typed queries join them here) */
#include "config.h"

#include "io/db.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_audit_stmts[] = {
	{ STMT_AUDIT_HEAD_LOCK, "SELECT last_id, last_hash, key_check FROM audit_head WHERE id = 1 FOR UPDATE", DB_SF_HOT },
	{ STMT_AUDIT_INSERT, "INSERT INTO audit_log (id, at, actor_user_id, actor_key_id, action, target_type, target_id, ip, request_id, before_json, after_json, prev_hash, row_hash, hash_alg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", DB_SF_HOT },
	{ STMT_AUDIT_HEAD_SET, "UPDATE audit_head SET last_id = ?, last_hash = ?, key_check = COALESCE(key_check, ?) WHERE id = 1", DB_SF_HOT },
	{ STMT_AUDIT_SCAN, "SELECT id, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), actor_user_id, actor_key_id, action, target_type, target_id, ip, request_id, before_json, after_json, prev_hash, row_hash, hash_alg FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", DB_SF_READ },
	{ STMT_AUDIT_LIST, "SELECT id, DATE_FORMAT(at, '%Y-%m-%dT%H:%i:%sZ'), actor_user_id, actor_key_id, action, target_type, target_id, ip, request_id, before_json, after_json FROM audit_log WHERE (? = '' OR action = ?) AND (? = '' OR actor_user_id = ?) AND (? = '' OR target_id = ?) ORDER BY id DESC LIMIT ? OFFSET ?", DB_SF_READ },
	{ STMT_AUDIT_COUNT, "SELECT COUNT(*) FROM audit_log WHERE (? = '' OR action = ?) AND (? = '' OR actor_user_id = ?) AND (? = '' OR target_id = ?)", DB_SF_READ },
	{ STMT_AUDIT_HEAD_GET, "SELECT last_id, last_hash, key_check FROM audit_head WHERE id = 1", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */
