/* q_refresh.c: the catalogue as a model-list refresh sees it: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_refresh.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_refresh_stmts[] = {
	{ STMT_REFRESH_ROWS, "SELECT m.id, m.source = 'refresh', m.input_price, m.output_price, COALESCE(r.input_price, -1), COALESCE(r.output_price, -1), COALESCE(m.refreshed_input_price, -1), COALESCE(m.refreshed_output_price, -1) FROM models m LEFT JOIN model_routes r ON r.model_id = m.id AND r.provider_id = ? ORDER BY m.id FOR UPDATE", 0 },
	{ STMT_REFRESH_MODEL_ADD, "INSERT INTO models (id, name, vendor, context_length, input_price, output_price, price_date, source, refreshed_input_price, refreshed_output_price) VALUES (?, ?, ?, ?, ?, ?, CURRENT_DATE, 'refresh', ?, ?)", 0 },
	{ STMT_REFRESH_ROUTE_ADD, "INSERT INTO model_routes (model_id, provider_id, upstream_model, input_price, output_price) VALUES (?, ?, ?, ?, ?)", 0 },
	{ STMT_REFRESH_MODEL_PRICE, "UPDATE models SET input_price = ?, output_price = ?, refreshed_input_price = ?, refreshed_output_price = ?, price_date = CURRENT_DATE WHERE id = ? AND source = 'refresh'", 0 },
	{ STMT_REFRESH_ROUTE_PRICE, "UPDATE model_routes SET input_price = ?, output_price = ? WHERE model_id = ? AND provider_id = ?", 0 },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_refresh_rows(struct db_conn *c, struct arena *a, const char *provider_id,
    struct q_refresh_row **out, size_t *n)
{
	struct db_val p = DB_STR(provider_id);
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, STMT_REFRESH_ROWS, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if ((*out = arena_calloc(a, rows.nrows + 1, sizeof(**out))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		(*out)[i] = (struct q_refresh_row){v[0].s, v[1].i == 1, v[2].i,
		    v[3].i, v[4].i, v[5].i, v[6].i, v[7].i};
	}
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_refresh_add(struct db_conn *c, struct arena *a, const struct q_refresh_new *m)
{
	struct db_val pm[8] = {DB_STR(m->id), DB_STR(m->name),
	    DB_STR(m->vendor), DB_I64(m->context_length), DB_I64(m->input),
	    DB_I64(m->output), DB_I64(m->input), DB_I64(m->output)};
	struct db_val pr[5] = {DB_STR(m->id), DB_STR(m->provider_id),
	    DB_STR(m->id), DB_I64(m->input), DB_I64(m->output)};
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_REFRESH_MODEL_ADD, pm, 8, NULL, a)) != TG_OK)
		return rc;
	return db_exec(c, STMT_REFRESH_ROUTE_ADD, pr, 5, NULL, a);
}

enum tg_err
q_refresh_price(
    struct db_conn *c, struct arena *a, const struct q_refresh_new *m)
{
	struct db_val pm[5] = {DB_I64(m->input), DB_I64(m->output),
	    DB_I64(m->input), DB_I64(m->output), DB_STR(m->id)};
	struct db_val pr[4] = {DB_I64(m->input), DB_I64(m->output),
	    DB_STR(m->id), DB_STR(m->provider_id)};
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_REFRESH_MODEL_PRICE, pm, 5, NULL, a)) !=
	    TG_OK)
		return rc;
	return db_exec(c, STMT_REFRESH_ROUTE_PRICE, pr, 4, NULL, a);
}
