/* q_catalog.c: models and routes: the statements (typed queries join them here) */
#include "config.h"

#include "io/db.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_catalog_stmts[] = {
	{ STMT_MODEL_SEED, "INSERT IGNORE INTO models (id, name, vendor, context_length, input_price, output_price, cached_input_price, price_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", 0 },
	{ STMT_ROUTE_SEED, "INSERT IGNORE INTO model_routes (model_id, provider_id, upstream_model, input_price, output_price, cached_input_price) VALUES (?, ?, ?, ?, ?, ?)", 0 },
	{ STMT_MODEL_LIST, "SELECT m.id, m.name, m.vendor, m.context_length, m.input_price, m.output_price, m.cached_input_price, CAST(UNIX_TIMESTAMP(m.created_at) AS SIGNED), DATE_FORMAT(m.price_date, '%Y-%m-%d') FROM models m WHERE m.enabled = 1 AND (? = '' OR m.id = ?) ORDER BY m.id", DB_SF_READ },
	{ STMT_MODEL_ENABLED, "SELECT enabled FROM models WHERE id = ?", DB_SF_READ | DB_SF_CACHE },
	{ STMT_ROUTE_CANDIDATES, "SELECT r.provider_id, p.kind, p.base_url, r.upstream_model, r.input_price, r.output_price, COALESCE(r.cached_input_price, r.input_price), m.context_length FROM models m JOIN model_routes r ON r.model_id = m.id JOIN providers p ON p.id = r.provider_id WHERE m.id = ? AND m.enabled = 1 AND r.enabled = 1 AND p.enabled = 1 ORDER BY r.input_price + r.output_price, r.priority DESC, r.weight DESC, r.provider_id", DB_SF_READ | DB_SF_CACHE },
	{ STMT_MODEL_UPSERT, "INSERT INTO models (id, name, vendor, context_length, input_price, output_price, cached_input_price, price_date) VALUES (?, ?, ?, ?, ?, ?, ?, CURRENT_DATE) ON DUPLICATE KEY UPDATE enabled = 1", 0 },
	{ STMT_ROUTE_UPSERT, "INSERT INTO model_routes (model_id, provider_id, upstream_model, input_price, output_price, cached_input_price) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE upstream_model = VALUES(upstream_model), input_price = VALUES(input_price), output_price = VALUES(output_price), cached_input_price = VALUES(cached_input_price), enabled = 1", 0 },
	{ STMT_MODEL_UPDATE, "UPDATE models SET input_price = COALESCE(?, input_price), output_price = COALESCE(?, output_price), cached_input_price = COALESCE(?, cached_input_price), enabled = COALESCE(?, enabled), price_date = CURRENT_DATE WHERE id = ?", 0 },
	{ STMT_ROUTE_UPDATE, "UPDATE model_routes SET input_price = COALESCE(?, input_price), output_price = COALESCE(?, output_price), cached_input_price = COALESCE(?, cached_input_price), enabled = COALESCE(?, enabled) WHERE model_id = ? AND (? = '' OR provider_id = ?)", 0 },
	{ STMT_MODEL_IMAGE, "SELECT image_base_tokens, image_tile_tokens FROM models WHERE id = ?", DB_SF_READ },
	{ STMT_MODEL_IMAGE_SEED, "UPDATE models SET image_base_tokens = ?, image_tile_tokens = ? WHERE id = ? AND image_base_tokens IS NULL AND image_tile_tokens IS NULL", 0 },
	{ STMT_MODEL_IMAGE_SET, "UPDATE models SET image_base_tokens = ?, image_tile_tokens = ? WHERE id = ?", 0 },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */
