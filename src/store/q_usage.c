/* q_usage.c: usage records, bills and the monitor: the statements (typed queries join them here) */
#include "config.h"

#include "io/db.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_usage_stmts[] = {
	{ STMT_ADMIN_MONITOR, "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM users WHERE status = 'active'), (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL), (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND is_active = 1), CAST(COALESCE((SELECT SUM(balance) FROM accounts), 0) AS SIGNED), CAST(COALESCE((SELECT SUM(reserved) FROM accounts), 0) AS SIGNED)", DB_SF_READ },
	{ STMT_MONITOR_OVERRUN, "SELECT COUNT(*), CAST(COALESCE(SUM(overrun), 0) AS SIGNED) FROM usage_records WHERE overrun > 0 AND created_at >= NOW(6) - INTERVAL 1 DAY", DB_SF_READ },
	{ STMT_USAGE_SET_REPLAY, "UPDATE usage_records SET response = ?, response_type = ?, http_status = ? WHERE user_id = ? AND api_key_id = ? AND idem_key = ?", DB_SF_HOT },
	{ STMT_USAGE_BY_IDEM, "SELECT http_status, response_type, response FROM usage_records WHERE user_id = ? AND api_key_id = ? AND idem_key = ?", DB_SF_READ },
	{ STMT_USAGE_LIST, "SELECT r.id, r.request_id, DATE_FORMAT(r.created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), r.endpoint, r.model_id, r.provider_id, k.public_id, r.prompt_tokens, r.completion_tokens, r.cached_tokens, r.reasoning_tokens, r.base_cost, r.commission, r.charge, r.status, r.http_status, r.error, r.latency_ms, r.ttft_ms, r.stream, r.estimated FROM usage_records r LEFT JOIN api_keys k ON k.id = r.api_key_id WHERE r.user_id = ? AND (? = 0 OR r.id < ?) AND (? = '' OR r.created_at >= ?) AND (? = '' OR r.created_at < ?) AND (? = 0 OR r.api_key_id = ?) AND (? = '' OR r.model_id = ?) ORDER BY r.id DESC LIMIT ?", DB_SF_READ },
	{ STMT_USAGE_METRICS, "SELECT COUNT(*), CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS SIGNED), CAST(COALESCE(SUM(charge), 0) AS SIGNED), CAST(COALESCE(SUM(created_at >= CURRENT_DATE), 0) AS SIGNED), CAST(COALESCE(SUM(IF(created_at >= CURRENT_DATE, prompt_tokens + completion_tokens, 0)), 0) AS SIGNED), CAST(COALESCE(SUM(IF(created_at >= CURRENT_DATE, charge, 0)), 0) AS SIGNED), CAST(COALESCE(SUM(created_at >= DATE_FORMAT(CURRENT_DATE, '%Y-%m-01')), 0) AS SIGNED), CAST(COALESCE(SUM(IF(created_at >= DATE_FORMAT(CURRENT_DATE, '%Y-%m-01'), prompt_tokens + completion_tokens, 0)), 0) AS SIGNED), CAST(COALESCE(SUM(IF(created_at >= DATE_FORMAT(CURRENT_DATE, '%Y-%m-01'), charge, 0)), 0) AS SIGNED), DATE_FORMAT(MAX(created_at), '%Y-%m-%dT%H:%i:%sZ') FROM usage_records WHERE user_id = ?", DB_SF_READ },
	{ STMT_USAGE_TOP_MODEL, "SELECT model_id FROM usage_records WHERE user_id = ? GROUP BY model_id ORDER BY COUNT(*) DESC, model_id LIMIT 1", DB_SF_READ },
	{ STMT_BILL_MODELS, "SELECT r.model_id, COUNT(*), CAST(SUM(r.prompt_tokens) AS SIGNED), CAST(SUM(r.completion_tokens) AS SIGNED), CAST(SUM(r.base_cost) AS SIGNED), CAST(SUM(r.commission) AS SIGNED), CAST(SUM(r.charge) AS SIGNED) FROM usage_records r WHERE (? = 0 OR r.user_id = ?) AND (? = '' OR r.created_at >= ?) AND (? = '' OR r.created_at < ?) GROUP BY r.model_id ORDER BY r.model_id", DB_SF_READ },
	{ STMT_BILL_USERS, "SELECT u.public_id, COUNT(*), CAST(SUM(r.prompt_tokens) AS SIGNED), CAST(SUM(r.completion_tokens) AS SIGNED), CAST(SUM(r.base_cost) AS SIGNED), CAST(SUM(r.commission) AS SIGNED), CAST(SUM(r.charge) AS SIGNED) FROM usage_records r JOIN users u ON u.id = r.user_id WHERE (? = 0 OR r.user_id = ?) AND (? = '' OR r.created_at >= ?) AND (? = '' OR r.created_at < ?) GROUP BY r.user_id, u.public_id ORDER BY SUM(r.charge) DESC, u.public_id LIMIT 10000", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */
