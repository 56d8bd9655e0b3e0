/* q_catalog.c: models and routes: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_catalog.h"
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

static struct db_val
price_or_null(int64_t p)
{
	return p >= 0 ? DB_I64(p) : DB_NULLV;
}

enum tg_err
q_model_enabled(
    struct db_conn *c, struct arena *a, const char *id, int *enabled)
{
	struct db_val p = DB_STR(id);
	struct db_rows rows;
	enum tg_err rc;

	*enabled = 0;
	if ((rc = db_exec(c, STMT_MODEL_ENABLED, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_ENOENT;
	*enabled = rows.nrows == 1 && rows.v[0].i == 1;
	return TG_OK;
}

enum tg_err
q_route_candidates(struct db_conn *c, struct arena *a, const char *model,
    struct q_route **out, size_t *n)
{
	struct db_val p = DB_STR(model);
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, STMT_ROUTE_CANDIDATES, &p, 1, &rows, a)) != TG_OK)
		return rc;
	*out = arena_calloc(a, rows.nrows + 1, sizeof(**out));
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		(*out)[i] = (struct q_route){v[0].s, v[1].s, v[2].s, v[3].s,
		    v[4].i, v[5].i, v[6].i, v[7].i};
	}
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_model_upsert(struct db_conn *c, struct arena *a, const struct q_model_new *m)
{
	struct db_val p[7] = {DB_STR(m->id), DB_STR(m->name), DB_STR(m->vendor),
	    DB_I64(m->context_length), DB_I64(m->input_price),
	    DB_I64(m->output_price), price_or_null(m->cached_price)};

	return db_exec(c, STMT_MODEL_UPSERT, p, 7, NULL, a);
}

enum tg_err
q_route_upsert(struct db_conn *c, struct arena *a, const struct q_model_new *m)
{
	struct db_val p[6] = {DB_STR(m->id), DB_STR(m->provider_id),
	    DB_STR(m->upstream_model), DB_I64(m->input_price),
	    DB_I64(m->output_price), price_or_null(m->cached_price)};

	return db_exec(c, STMT_ROUTE_UPSERT, p, 6, NULL, a);
}

/* The SET part of MODEL_UPDATE and ROUTE_UPDATE, then the model's id. */
static void
update_params(struct db_val p[5], const char *id, int64_t input, int64_t output,
    int64_t cached, int enabled)
{
	p[0] = price_or_null(input);
	p[1] = price_or_null(output);
	p[2] = price_or_null(cached);
	p[3] = enabled >= 0 ? DB_I64(enabled) : DB_NULLV;
	p[4] = DB_STR(id);
}

enum tg_err
q_model_update(struct db_conn *c, struct arena *a, const char *id,
    int64_t input, int64_t output, int64_t cached, int enabled)
{
	struct db_val p[5];

	update_params(p, id, input, output, cached, enabled);
	return db_exec(c, STMT_MODEL_UPDATE, p, 5, NULL, a);
}

enum tg_err
q_route_update(struct db_conn *c, struct arena *a, const char *id,
    const char *provider_id, int64_t input, int64_t output, int64_t cached,
    int enabled)
{
	struct db_val p[7];
	struct db_rows rows;

	update_params(p, id, input, output, cached, enabled);
	p[5] = DB_STR(provider_id != NULL ? provider_id : "");
	p[6] = p[5];
	return db_exec(c, STMT_ROUTE_UPDATE, p, 7, &rows, a);
}

enum tg_err
q_model_list(struct db_conn *c, struct arena *a, const char *id,
    struct q_model **out, size_t *n)
{
	struct db_val p[2] = {DB_STR(id), DB_STR(id)};
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, STMT_MODEL_LIST, p, 2, &rows, a)) != TG_OK)
		return rc;
	*out = arena_calloc(a, rows.nrows + 1, sizeof(**out));
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		(*out)[i] = (struct q_model){.id = v[0].s,
		    .name = v[1].s,
		    .vendor = v[2].s,
		    .context_length = v[3].i,
		    .input_price = v[4].i,
		    .output_price = v[5].i,
		    .cached_price = v[6].type == DBT_I64 ? v[6].i : -1,
		    .created = v[7].i,
		    .price_date = v[8].s};
	}
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_model_image(struct db_conn *c, struct arena *a, const char *id, int64_t *base,
    int64_t *tile)
{
	struct db_val p = DB_STR(id);
	struct db_rows rows;
	enum tg_err rc;

	*base = *tile = -1;
	if ((rc = db_exec(c, STMT_MODEL_IMAGE, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	if (rows.v[0].type != DBT_NULL && rows.v[1].type != DBT_NULL) {
		*base = rows.v[0].i;
		*tile = rows.v[1].i;
	}
	return TG_OK;
}

enum tg_err
q_model_image_set(struct db_conn *c, struct arena *a, const char *id,
    int64_t base, int64_t tile)
{
	struct db_val p[3] = {base >= 0 ? DB_I64(base) : DB_NULLV,
	    tile >= 0 ? DB_I64(tile) : DB_NULLV, DB_STR(id)};

	return db_exec(c, STMT_MODEL_IMAGE_SET, p, 3, NULL, a);
}

enum tg_err
q_model_image_seed(struct db_conn *c, struct arena *a, const char *id,
    int64_t base, int64_t tile)
{
	struct db_val p[3] = {DB_I64(base), DB_I64(tile), DB_STR(id)};

	return db_exec(c, STMT_MODEL_IMAGE_SEED, p, 3, NULL, a);
}

enum tg_err
q_model_seed(struct db_conn *c, struct arena *a, const struct q_model_seed *m,
    uint64_t *added)
{
	struct db_val p[8] = {DB_STR(m->id), DB_STR(m->name),
	    {.type = DBT_STR, .s = m->vendor, .len = m->vendor_len},
	    DB_I64(m->context_length), DB_I64(m->input_price),
	    DB_I64(m->output_price), price_or_null(m->cached_price),
	    DB_STR(m->date)};
	struct db_rows rows;
	enum tg_err rc;

	*added = 0;
	if ((rc = db_exec(c, STMT_MODEL_SEED, p, 8, &rows, a)) == TG_OK)
		*added = rows.affected;
	return rc;
}

enum tg_err
q_route_seed(struct db_conn *c, struct arena *a, const struct q_model_seed *m,
    const char *provider_id, const char *upstream_model)
{
	struct db_val p[6] = {DB_STR(m->id), DB_STR(provider_id),
	    DB_STR(upstream_model), DB_I64(m->input_price),
	    DB_I64(m->output_price), price_or_null(m->cached_price)};

	return db_exec(c, STMT_ROUTE_SEED, p, 6, NULL, a);
}
