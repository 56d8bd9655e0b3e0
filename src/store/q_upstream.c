/* q_upstream.c: providers and their upstream keys: the statements (typed queries join them here) */
#include "config.h"

#include "io/db.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_upstream_stmts[] = {
	{ STMT_PROVIDER_SEED, "INSERT IGNORE INTO providers (id, kind, name, base_url) VALUES (?, ?, ?, ?)", 0 },
	{ STMT_PROVIDER_LIST, "SELECT p.id, p.name, p.kind, p.enabled, (SELECT COUNT(*) FROM model_routes r WHERE r.provider_id = p.id AND r.enabled = 1) FROM providers p ORDER BY p.id", DB_SF_READ },
	{ STMT_UKEY_PICK, "SELECT id, public_id, secret_enc FROM upstream_keys WHERE provider_id = ? AND enabled = 1 AND secret_enc IS NOT NULL ORDER BY RAND() LIMIT 1", DB_SF_READ },
	{ STMT_PROVIDER_ADMIN_LIST, "SELECT p.id, p.kind, p.name, p.base_url, p.enabled, (SELECT COUNT(*) FROM upstream_keys k WHERE k.provider_id = p.id AND k.enabled = 1), (SELECT COUNT(*) FROM model_routes r WHERE r.provider_id = p.id AND r.enabled = 1) FROM providers p WHERE (? = '' OR p.id = ?) ORDER BY p.id", DB_SF_READ },
	{ STMT_PROVIDER_ADD, "INSERT INTO providers (id, kind, name, base_url, enabled) VALUES (?, ?, ?, ?, ?)", 0 },
	{ STMT_PROVIDER_UPDATE, "UPDATE providers SET base_url = COALESCE(?, base_url), name = COALESCE(?, name), enabled = COALESCE(?, enabled) WHERE id = ?", 0 },
	{ STMT_UKEY_INSERT, "INSERT INTO upstream_keys (public_id, provider_id, label, secret_enc, seal_version, last4, rpm_limit, rpd_limit, min_interval_ms) VALUES (?, ?, ?, ?, 2, ?, ?, ?, ?)", 0 },
	{ STMT_UKEY_GET, "SELECT public_id, provider_id, label, last4, enabled, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(last_used_at, '%Y-%m-%dT%H:%i:%sZ'), rpm_limit, rpd_limit, min_interval_ms, disabled_reason, id FROM upstream_keys WHERE public_id = ?", DB_SF_READ },
	{ STMT_UKEY_LIST, "SELECT public_id, provider_id, label, last4, enabled, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(last_used_at, '%Y-%m-%dT%H:%i:%sZ'), rpm_limit, rpd_limit, min_interval_ms, disabled_reason FROM upstream_keys WHERE provider_id = ? ORDER BY id", DB_SF_READ },
	{ STMT_UKEY_DELETE, "DELETE FROM upstream_keys WHERE public_id = ? AND (? = '' OR provider_id = ?)", 0 },
	{ STMT_UKEY_DISABLE, "UPDATE upstream_keys SET enabled = 0 WHERE public_id = ? AND (? = '' OR provider_id = ?) AND enabled = 1", 0 },
	{ STMT_UKEY_POOL, "SELECT id, public_id, secret_enc, rpm_limit, rpd_limit, min_interval_ms, seal_version FROM upstream_keys WHERE provider_id = ? AND enabled = 1 AND secret_enc IS NOT NULL ORDER BY id LIMIT 64", DB_SF_READ | DB_SF_CACHE },
	{ STMT_UKEY_DEAD, "UPDATE upstream_keys SET enabled = 0, disabled_reason = ?, disabled_at = NOW(6) WHERE id = ? AND enabled = 1", 0 },
	{ STMT_UKEY_ALL, "SELECT k.id, k.public_id, k.provider_id, k.label, k.last4, k.enabled, k.disabled_reason, DATE_FORMAT(k.disabled_at, '%Y-%m-%dT%H:%i:%sZ'), k.rpm_limit, k.rpd_limit, k.min_interval_ms FROM upstream_keys k WHERE (? = '' OR k.provider_id = ?) ORDER BY k.provider_id, k.id", DB_SF_READ },
	{ STMT_UKEY_UPDATE, "UPDATE upstream_keys SET label = COALESCE(?, label), enabled = COALESCE(?, enabled), disabled_reason = IF(? = 1, NULL, disabled_reason), disabled_at = IF(? = 1, NULL, disabled_at), rpm_limit = IF(? = 1, ?, rpm_limit), rpd_limit = IF(? = 1, ?, rpd_limit), min_interval_ms = COALESCE(?, min_interval_ms) WHERE public_id = ? AND provider_id = ?", 0 },
	{ STMT_PROVIDER_LOCK, "SELECT kind, base_url FROM providers WHERE id = ? FOR UPDATE", 0 },
	{ STMT_UKEY_SEALED, "SELECT id, public_id, secret_enc, seal_version FROM upstream_keys WHERE provider_id = ? AND secret_enc IS NOT NULL ORDER BY id FOR UPDATE", 0 },
	{ STMT_UKEY_RESEAL, "UPDATE upstream_keys SET secret_enc = ?, seal_version = 2 WHERE id = ?", 0 },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */
