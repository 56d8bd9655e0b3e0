/* catalog.c: providers, models and their prices (micro-USD per million tokens) */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "domain/audit.h"
#include "domain/catalog.h"
#include "io/db.h"
#include "store/stmt.h"
#include "core/json.h"
#include "core/money.h"
#include "http/req.h"
#include "domain/upstream.h"
#include "domain/op.h"

#define CATALOG_MAX_BYTES (4u << 20)

/* Columns of STMT_MODEL_LIST. */
enum {
	MC_ID,
	MC_NAME,
	MC_VENDOR,
	MC_CTX,
	MC_IN,
	MC_OUT,
	MC_CACHED,
	MC_CREATED,
	MC_DATE
};

/* The audit actor of r (until this file's services take a struct op). */
static const struct op *
audit_actor(const struct tg_req *r)
{
	struct op *op;

	if (r == NULL || (op = arena_alloc(r->arena, sizeof(*op))) == NULL)
		return NULL;
	req_op((struct tg_req *)r, op);
	return op;
}

/* "2.50" USD per million tokens -> 2500000 micro-USD; -1 when not a price. */
static int64_t
price(const json_t *v)
{
	int64_t nano;

	if (v == NULL || money_from_json(v, &nano) == -1 || nano < 0 ||
	    nano % 1000 != 0)
		return -1;
	return nano / 1000;
}

static struct db_val
opt_price(int64_t p)
{
	return p >= 0 ? DB_I64(p) : DB_NULLV;
}

static int
seed_providers(struct db_conn *c, const struct tg_req *r, struct arena *a,
    const json_t *list, FILE *out)
{
	struct db_val p[4];
	const char *why;
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
	{
		if (jx_str(v, "id") == NULL || jx_str(v, "kind") == NULL ||
		    jx_str(v, "name") == NULL ||
		    jx_str(v, "base_url") == NULL) {
			fprintf(out,
			    "tollgate: provider %zu lacks id, kind, "
			    "name or base_url\n",
			    i);
			return -1;
		}
		/* From an admin, the same base_url rules as POST /admin/providers. */
		if (r != NULL &&
		    (why = upstream_base_url_refusal(
			 r, jx_str(v, "base_url"))) != NULL) {
			fprintf(out, "tollgate: provider %s: %s\n",
			    jx_str(v, "id"), why);
			return -1;
		}
		p[0] = DB_STR(jx_str(v, "id"));
		p[1] = DB_STR(jx_str(v, "kind"));
		p[2] = DB_STR(jx_str(v, "name"));
		p[3] = DB_STR(jx_str(v, "base_url"));
		if (db_exec(c, STMT_PROVIDER_SEED, p, 4, NULL, a) != TG_OK) {
			fprintf(out, "tollgate: provider %s: %s\n",
			    jx_str(v, "id"), db_error(c));
			return -1;
		}
	}
	return 0;
}

/* A token count of the catalogue: a whole number from 0 to 1000000, else -1. */
static int64_t
token_count(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 &&
		json_integer_value(v) <= 1000000
	    ? json_integer_value(v)
	    : -1;
}

/*
 * The model's image factors (image_base_tokens, image_tile_tokens), both or
 * neither; filled in only where the catalogue has none, like the prices.
 * 0, -1 (database, reported by the caller) or -2 (reported here).
 */
static int
seed_image(struct db_conn *c, struct arena *a, const json_t *m, const char *id,
    FILE *out)
{
	const json_t *bv = json_object_get(m, "image_base_tokens");
	const json_t *tv = json_object_get(m, "image_tile_tokens");
	int64_t base = token_count(bv), tile = token_count(tv);
	struct db_val p[3];

	if (bv == NULL && tv == NULL)
		return 0;
	if (base < 0 || tile < 0) {
		fprintf(out,
		    "tollgate: model %s: image_base_tokens and "
		    "image_tile_tokens go together, each a whole number from "
		    "0 to 1000000\n",
		    id);
		return -2;
	}
	p[0] = DB_I64(base);
	p[1] = DB_I64(tile);
	p[2] = DB_STR(id);
	return db_exec(c, STMT_MODEL_IMAGE_SEED, p, 3, NULL, a) == TG_OK ? 0
									 : -1;
}

static int
seed_model(struct db_conn *c, struct arena *a, const json_t *m,
    const char *date, FILE *out, size_t *added)
{
	const char *id = jx_str(m, "id"), *slash;
	int64_t in, outp, cached;
	struct db_val p[8];
	struct db_rows rows;
	json_t *r;
	size_t i;
	int rc;

	in = price(json_object_get(m, "input"));
	outp = price(json_object_get(m, "output"));
	cached = json_object_get(m, "cached_input") != NULL
	    ? price(json_object_get(m, "cached_input"))
	    : -1;
	if (id == NULL || (slash = strchr(id, '/')) == NULL || slash == id ||
	    jx_str(m, "name") == NULL ||
	    !json_is_integer(json_object_get(m, "context_length")) || in < 0 ||
	    outp < 0) {
		fprintf(out,
		    "tollgate: model %s: needs id vendor/model, name, "
		    "context_length and input/output prices\n",
		    id != NULL ? id : "(no id)");
		return -1;
	}
	p[0] = DB_STR(id);
	p[1] = DB_STR(jx_str(m, "name"));
	p[2] = (struct db_val){
	    .type = DBT_STR, .s = id, .len = (size_t)(slash - id)};
	p[3] = DB_I64(json_integer_value(json_object_get(m, "context_length")));
	p[4] = DB_I64(in);
	p[5] = DB_I64(outp);
	p[6] = opt_price(cached);
	p[7] = DB_STR(date);
	if (db_exec(c, STMT_MODEL_SEED, p, 8, &rows, a) != TG_OK)
		goto fail;
	*added += rows.affected;
	if ((rc = seed_image(c, a, m, id, out)) == -2)
		return -1;
	if (rc != 0)
		goto fail;
	json_array_foreach(json_object_get(m, "routes"), i, r)
	{
		if (jx_str(r, "provider") == NULL ||
		    jx_str(r, "upstream_model") == NULL) {
			fprintf(out,
			    "tollgate: model %s: a route needs provider "
			    "and upstream_model\n",
			    id);
			return -1;
		}
		p[1] = DB_STR(jx_str(r, "provider"));
		p[2] = DB_STR(jx_str(r, "upstream_model"));
		p[3] = DB_I64(in);
		p[4] = DB_I64(outp);
		p[5] = opt_price(cached);
		if (db_exec(c, STMT_ROUTE_SEED, p, 6, NULL, a) != TG_OK)
			goto fail;
	}
	return 0;
fail:
	fprintf(out, "tollgate: model %s: %s\n", id, db_error(c));
	return -1;
}

int
catalog_seed_doc(struct db_conn *c, struct tg_req *r, struct arena *a,
    const json_t *doc, const char *from, FILE *out, size_t *added)
{
	json_t *m, *after;
	const char *date;
	size_t i;

	*added = 0;
	if ((date = jx_str(doc, "prices_as_of")) == NULL ||
	    !json_is_array(json_object_get(doc, "models"))) {
		fprintf(
		    out, "tollgate: %s needs prices_as_of and models\n", from);
		return -1;
	}
	/* From an admin, the import is audited like every other change. */
	if ((r != NULL ? audit_begin(c) : db_begin(c)) != TG_OK) {
		fprintf(out, "tollgate: the database is unavailable\n");
		return -1;
	}
	if (seed_providers(c, r, a, json_object_get(doc, "providers"), out) ==
	    -1)
		goto fail;
	json_array_foreach(json_object_get(doc, "models"), i, m)
	{
		if (seed_model(c, a, m, date, out, added) == -1)
			goto fail;
	}
	if (r != NULL) {
		after = json_pack("{s:s, s:I, s:I}", "prices_as_of", date,
		    "models",
		    (json_int_t)json_array_size(json_object_get(doc, "models")),
		    "added", (json_int_t)*added);
		arena_defer_json(a, after);
		if (audit_commit(c, a, audit_actor(r), "catalog.import",
			"catalog", from, NULL, after) != TG_OK)
			goto fail;
	} else if (db_commit(c) != TG_OK) {
		goto fail;
	}
	return 0;
fail:
	db_rollback(c);
	return -1;
}

int
catalog_seed(struct db_conn *c, struct arena *a, const char *path, FILE *out)
{
	json_error_t je;
	json_t *doc;
	size_t added;
	int rc;

	if ((doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		fprintf(out, "tollgate: %s: %s\n", path, je.text);
		return -1;
	}
	rc = catalog_seed_doc(c, NULL, a, doc, path, out, &added);
	if (rc == 0)
		fprintf(out,
		    "catalog: %zu of %zu models added from %s (prices as of "
		    "%s)\n",
		    added, json_array_size(json_object_get(doc, "models")),
		    path, jx_str(doc, "prices_as_of"));
	json_decref(doc);
	return rc;
}

json_t *
catalog_price_per_token(int64_t micro)
{
	char buf[40];
	int n;

	/* micro-USD per million tokens is 1e-12 USD per token: 12 decimals. */
	n = snprintf(buf, sizeof(buf), "%" PRId64 ".%012" PRId64,
	    micro / (int64_t)1000000000000, micro % (int64_t)1000000000000);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	return json_string(buf);
}

json_t *
catalog_price_per_million(int64_t micro)
{
	char buf[40];

	/* micro-USD per million: 6 decimals, at least 2 shown. */
	money_format(micro * 1000, buf, sizeof(buf));
	return json_string(buf);
}

enum tg_err
catalog_models(
    struct db_conn *c, struct arena *a, const char *id, json_t **data)
{
	struct db_val p[2] = {DB_STR(id), DB_STR(id)};
	struct db_rows rows;
	const struct db_val *v;
	json_t *m, *pr;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_MODEL_LIST, p, 2, &rows, a)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		pr = json_pack("{s:o, s:o}", "prompt",
		    catalog_price_per_token(v[MC_IN].i), "completion",
		    catalog_price_per_token(v[MC_OUT].i));
		if (v[MC_CACHED].type == DBT_I64)
			json_object_set_new(pr, "input_cache_read",
			    catalog_price_per_token(v[MC_CACHED].i));
		m = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:o, s:s}", "id",
		    v[MC_ID].s, "object", "model", "created",
		    (json_int_t)v[MC_CREATED].i, "owned_by", v[MC_VENDOR].s,
		    "name", v[MC_NAME].s, "context_length",
		    (json_int_t)v[MC_CTX].i, "pricing", pr, "pricing_date",
		    v[MC_DATE].s);
		json_array_append_new(*data, m);
	}
	return TG_OK;
}

enum tg_err
catalog_providers(struct db_conn *c, struct arena *a, json_t **data)
{
	struct db_rows rows;
	const struct db_val *v;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_PROVIDER_LIST, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		json_array_append_new(*data,
		    json_pack("{s:s, s:s, s:s, s:b, s:I}", "id", v[0].s, "name",
			v[1].s, "kind", v[2].s, "enabled", (int)v[3].i,
			"models", (json_int_t)v[4].i));
	}
	return TG_OK;
}

enum tg_err
catalog_image_set(struct db_conn *c, struct tg_req *r, const char *model,
    int64_t base, int64_t tile)
{
	struct db_val p[3] = {base >= 0 ? DB_I64(base) : DB_NULLV,
	    tile >= 0 ? DB_I64(tile) : DB_NULLV, DB_STR(model)};
	struct db_rows rows;
	json_t *after;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_MODEL_IMAGE, &p[2], 1, &rows, r->arena)) !=
		TG_OK ||
	    (rows.nrows == 0 && (rc = TG_ENOENT) != TG_OK) ||
	    (rc = db_exec(c, STMT_MODEL_IMAGE_SET, p, 3, NULL, r->arena)) !=
		TG_OK) {
		db_rollback(c);
		return rc;
	}
	after = base >= 0
	    ? json_pack("{s:I, s:I}", "image_base_tokens", (json_int_t)base,
		  "image_tile_tokens", (json_int_t)tile)
	    : json_pack("{s:n, s:n}", "image_base_tokens", "image_tile_tokens");
	arena_defer_json(r->arena, after);
	return audit_commit(c, r->arena, audit_actor(r), "model.image", "model",
	    model, NULL, after);
}
