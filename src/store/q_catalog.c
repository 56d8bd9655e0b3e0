/* q_catalog.c: models and routes: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_catalog.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_catalog_stmts[] = {
	{ STMT_MODEL_SEED, "INSERT IGNORE INTO models (id, name, vendor, context_length, input_price, output_price, cached_input_price, cache_write_price, price_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", 0 },
	{ STMT_ROUTE_SEED, "INSERT IGNORE INTO model_routes (model_id, provider_id, upstream_model, input_price, output_price, cached_input_price, cache_write_price) VALUES (?, ?, ?, ?, ?, ?, ?)", 0 },
	{ STMT_MODEL_LIST, "SELECT m.id, m.name, m.vendor, m.context_length, m.input_price, m.output_price, m.cached_input_price, CAST(UNIX_TIMESTAMP(m.created_at) AS SIGNED), DATE_FORMAT(m.price_date, '%Y-%m-%d'), m.cache_write_price, (SELECT GROUP_CONCAT(a.alias ORDER BY a.alias SEPARATOR ' ') FROM model_aliases a WHERE a.model_id = m.id), (SELECT GROUP_CONCAT(r.provider_id ORDER BY r.provider_id SEPARATOR ' ') FROM model_routes r JOIN providers p ON p.id = r.provider_id WHERE r.model_id = m.id AND r.enabled = 1 AND p.enabled = 1) FROM models m WHERE m.enabled = 1 AND (? = '' OR m.id = ? OR m.id = (SELECT a.model_id FROM model_aliases a WHERE a.alias = ?)) ORDER BY m.id", DB_SF_READ },
	{ STMT_MODEL_ENABLED, "SELECT enabled FROM models WHERE id = ?", DB_SF_READ | DB_SF_CACHE },
	{ STMT_ROUTE_CANDIDATES, "SELECT r.provider_id, p.kind, p.base_url, r.upstream_model, r.input_price, r.output_price, COALESCE(r.cached_input_price, r.input_price), m.context_length, COALESCE(r.cache_write_price, r.input_price) FROM models m JOIN model_routes r ON r.model_id = m.id JOIN providers p ON p.id = r.provider_id WHERE m.id = ? AND m.enabled = 1 AND r.enabled = 1 AND p.enabled = 1 ORDER BY r.input_price + r.output_price, r.priority DESC, r.weight DESC, r.provider_id", DB_SF_READ | DB_SF_CACHE },
	{ STMT_MODEL_UPSERT, "INSERT INTO models (id, name, vendor, context_length, input_price, output_price, cached_input_price, cache_write_price, price_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, CURRENT_DATE) ON DUPLICATE KEY UPDATE enabled = 1", 0 },
	{ STMT_ROUTE_UPSERT, "INSERT INTO model_routes (model_id, provider_id, upstream_model, input_price, output_price, cached_input_price, cache_write_price) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE upstream_model = VALUES(upstream_model), input_price = VALUES(input_price), output_price = VALUES(output_price), cached_input_price = VALUES(cached_input_price), cache_write_price = VALUES(cache_write_price), enabled = 1", 0 },
	{ STMT_MODEL_UPDATE, "UPDATE models SET input_price = COALESCE(?, input_price), output_price = COALESCE(?, output_price), cached_input_price = COALESCE(?, cached_input_price), cache_write_price = COALESCE(?, cache_write_price), enabled = COALESCE(?, enabled), price_date = CURRENT_DATE WHERE id = ?", 0 },
	{ STMT_ROUTE_UPDATE, "UPDATE model_routes SET input_price = COALESCE(?, input_price), output_price = COALESCE(?, output_price), cached_input_price = COALESCE(?, cached_input_price), cache_write_price = COALESCE(?, cache_write_price), enabled = COALESCE(?, enabled) WHERE model_id = ? AND (? = '' OR provider_id = ?)", 0 },
	{ STMT_MODEL_IMAGE, "SELECT image_base_tokens, image_tile_tokens FROM models WHERE id = ?", DB_SF_READ },
	{ STMT_MODEL_IMAGE_SEED, "UPDATE models SET image_base_tokens = ?, image_tile_tokens = ? WHERE id = ? AND image_base_tokens IS NULL AND image_tile_tokens IS NULL", 0 },
	{ STMT_MODEL_IMAGE_SET, "UPDATE models SET image_base_tokens = ?, image_tile_tokens = ? WHERE id = ?", 0 },
	/* The model's own id first: an alias never hides a model. */
	{ STMT_MODEL_RESOLVE, "SELECT m.enabled, m.id FROM models m WHERE m.id IN (?, (SELECT a.model_id FROM model_aliases a WHERE a.alias = ?)) ORDER BY m.id <> ? LIMIT 1", DB_SF_READ | DB_SF_CACHE },
	{ STMT_ALIAS_SEED, "INSERT IGNORE INTO model_aliases (alias, model_id) SELECT ?, m.id FROM models m WHERE m.id = ? AND NOT EXISTS (SELECT 1 FROM models x WHERE x.id = ?)", 0 },
	{ STMT_ALIAS_SET, "INSERT INTO model_aliases (alias, model_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE model_id = VALUES(model_id)", 0 },
	{ STMT_ALIAS_DELETE, "DELETE FROM model_aliases WHERE alias = ?", 0 },
	{ STMT_ALIAS_LIST, "SELECT alias, model_id FROM model_aliases ORDER BY model_id, alias", DB_SF_READ },
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
		    v[4].i, v[5].i, v[6].i, v[7].i, v[8].i};
	}
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_model_upsert(struct db_conn *c, struct arena *a, const struct q_model_new *m)
{
	struct db_val p[8] = {DB_STR(m->id), DB_STR(m->name), DB_STR(m->vendor),
	    DB_I64(m->context_length), DB_I64(m->input_price),
	    DB_I64(m->output_price), price_or_null(m->cached_price),
	    price_or_null(m->cache_write_price)};

	return db_exec(c, STMT_MODEL_UPSERT, p, 8, NULL, a);
}

enum tg_err
q_route_upsert(struct db_conn *c, struct arena *a, const struct q_model_new *m)
{
	struct db_val p[7] = {DB_STR(m->id), DB_STR(m->provider_id),
	    DB_STR(m->upstream_model), DB_I64(m->input_price),
	    DB_I64(m->output_price), price_or_null(m->cached_price),
	    price_or_null(m->cache_write_price)};

	return db_exec(c, STMT_ROUTE_UPSERT, p, 7, NULL, a);
}

/* The SET part of MODEL_UPDATE and ROUTE_UPDATE, then the model's id. */
static void
update_params(
    struct db_val p[6], const char *id, const struct q_prices *pr, int enabled)
{
	p[0] = price_or_null(pr->input);
	p[1] = price_or_null(pr->output);
	p[2] = price_or_null(pr->cached);
	p[3] = price_or_null(pr->cache_write);
	p[4] = enabled >= 0 ? DB_I64(enabled) : DB_NULLV;
	p[5] = DB_STR(id);
}

enum tg_err
q_model_update(struct db_conn *c, struct arena *a, const char *id,
    const struct q_prices *pr, int enabled)
{
	struct db_val p[6];

	update_params(p, id, pr, enabled);
	return db_exec(c, STMT_MODEL_UPDATE, p, 6, NULL, a);
}

enum tg_err
q_route_update(struct db_conn *c, struct arena *a, const char *id,
    const char *provider_id, const struct q_prices *pr, int enabled)
{
	struct db_val p[8];
	struct db_rows rows;

	update_params(p, id, pr, enabled);
	p[6] = DB_STR(provider_id != NULL ? provider_id : "");
	p[7] = p[6];
	return db_exec(c, STMT_ROUTE_UPDATE, p, 8, &rows, a);
}

enum tg_err
q_model_list(struct db_conn *c, struct arena *a, const char *id,
    struct q_model **out, size_t *n)
{
	struct db_val p[3] = {DB_STR(id), DB_STR(id), DB_STR(id)};
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, STMT_MODEL_LIST, p, 3, &rows, a)) != TG_OK)
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
		    .price_date = v[8].s,
		    .cache_write_price = v[9].type == DBT_I64 ? v[9].i : -1,
		    .aliases = v[10].type == DBT_STR ? v[10].s : NULL,
		    .providers = v[11].type == DBT_STR ? v[11].s : NULL};
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
	struct db_val p[9] = {DB_STR(m->id), DB_STR(m->name),
	    {.type = DBT_STR, .s = m->vendor, .len = m->vendor_len},
	    DB_I64(m->context_length), DB_I64(m->input_price),
	    DB_I64(m->output_price), price_or_null(m->cached_price),
	    price_or_null(m->cache_write_price), DB_STR(m->date)};
	struct db_rows rows;
	enum tg_err rc;

	*added = 0;
	if ((rc = db_exec(c, STMT_MODEL_SEED, p, 9, &rows, a)) == TG_OK)
		*added = rows.affected;
	return rc;
}

enum tg_err
q_route_seed(struct db_conn *c, struct arena *a, const struct q_model_seed *m,
    const char *provider_id, const char *upstream_model)
{
	struct db_val p[7] = {DB_STR(m->id), DB_STR(provider_id),
	    DB_STR(upstream_model), DB_I64(m->input_price),
	    DB_I64(m->output_price), price_or_null(m->cached_price),
	    price_or_null(m->cache_write_price)};

	return db_exec(c, STMT_ROUTE_SEED, p, 7, NULL, a);
}

enum tg_err
q_model_resolve(struct db_conn *c, struct arena *a, const char *name,
    int *enabled, const char **id)
{
	struct db_val p[3] = {DB_STR(name), DB_STR(name), DB_STR(name)};
	struct db_rows rows;
	enum tg_err rc;

	*enabled = 0;
	*id = name;
	if ((rc = db_exec(c, STMT_MODEL_RESOLVE, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_ENOENT;
	*enabled = rows.v[0].i == 1;
	*id = rows.v[1].s;
	return TG_OK;
}

enum tg_err
q_alias_seed(struct db_conn *c, struct arena *a, const char *alias,
    const char *model, uint64_t *added)
{
	struct db_val p[3] = {DB_STR(alias), DB_STR(model), DB_STR(alias)};
	struct db_rows rows;
	enum tg_err rc;

	*added = 0;
	if ((rc = db_exec(c, STMT_ALIAS_SEED, p, 3, &rows, a)) == TG_OK)
		*added = rows.affected;
	return rc;
}

enum tg_err
q_alias_set(
    struct db_conn *c, struct arena *a, const char *alias, const char *model)
{
	struct db_val p[2] = {DB_STR(alias), DB_STR(model)};

	return db_exec(c, STMT_ALIAS_SET, p, 2, NULL, a);
}

enum tg_err
q_alias_delete(
    struct db_conn *c, struct arena *a, const char *alias, uint64_t *n)
{
	struct db_val p = DB_STR(alias);
	struct db_rows rows;
	enum tg_err rc;

	*n = 0;
	if ((rc = db_exec(c, STMT_ALIAS_DELETE, &p, 1, &rows, a)) == TG_OK)
		*n = rows.affected;
	return rc;
}

enum tg_err
q_alias_list(
    struct db_conn *c, struct arena *a, struct q_alias **out, size_t *n)
{
	struct db_rows rows;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, STMT_ALIAS_LIST, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	*out = arena_calloc(a, rows.nrows + 1, sizeof(**out));
	for (i = 0; i < rows.nrows; i++)
		(*out)[i] =
		    (struct q_alias){rows.v[i * 2].s, rows.v[i * 2 + 1].s};
	*n = rows.nrows;
	return TG_OK;
}
