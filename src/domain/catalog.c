/* catalog.c: providers, models and their prices (micro-USD per million tokens) */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "domain/audit.h"
#include "domain/catalog.h"
#include "io/db.h"
#include "store/q_catalog.h"
#include "store/q_upstream.h"
#include "core/json.h"
#include "core/money.h"
#include "domain/op.h"
#include "domain/upstream.h"
#include "domain/upstream_impl.h"

#define CATALOG_MAX_BYTES (4u << 20)

#define ALIAS_MAX 128 /* model_aliases.alias */

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

static int
seed_providers(struct db_conn *c, const struct op *op, struct arena *a,
    const json_t *list, FILE *out)
{
	const char *why;
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v) {
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
		if (op != NULL &&
		    (why = upstream_base_url_refusal(
			 op, jx_str(v, "base_url"))) != NULL) {
			fprintf(out, "tollgate: provider %s: %s\n",
			    jx_str(v, "id"), why);
			return -1;
		}
		if (q_provider_seed(c, a,
			&(struct q_provider){.id = jx_str(v, "id"),
			    .kind = jx_str(v, "kind"),
			    .name = jx_str(v, "name"),
			    .base_url = jx_str(v, "base_url")}) != TG_OK) {
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
	return q_model_image_seed(c, a, id, base, tile) == TG_OK ? 0 : -1;
}

static int
seed_model(struct db_conn *c, struct arena *a, const json_t *m,
    const char *date, FILE *out, size_t *added)
{
	const char *id = jx_str(m, "id"), *slash;
	int64_t in, outp, cached, write;
	struct q_model_seed ms;
	uint64_t n;
	json_t *r;
	size_t i;
	int rc;

	in = price(json_object_get(m, "input"));
	outp = price(json_object_get(m, "output"));
	cached = json_object_get(m, "cached_input") != NULL
	    ? price(json_object_get(m, "cached_input"))
	    : -1;
	write = json_object_get(m, "cache_write") != NULL
	    ? price(json_object_get(m, "cache_write"))
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
	ms = (struct q_model_seed){.id = id,
	    .name = jx_str(m, "name"),
	    .vendor = id,
	    .vendor_len = (size_t)(slash - id),
	    .date = date,
	    .context_length =
		json_integer_value(json_object_get(m, "context_length")),
	    .input_price = in,
	    .output_price = outp,
	    .cached_price = cached,
	    .cache_write_price = write};
	if (q_model_seed(c, a, &ms, &n) != TG_OK)
		goto fail;
	*added += n;
	if ((rc = seed_image(c, a, m, id, out)) == -2)
		return -1;
	if (rc != 0)
		goto fail;
	json_array_foreach(json_object_get(m, "routes"), i, r) {
		if (jx_str(r, "provider") == NULL ||
		    jx_str(r, "upstream_model") == NULL) {
			fprintf(out,
			    "tollgate: model %s: a route needs provider "
			    "and upstream_model\n",
			    id);
			return -1;
		}
		if (q_route_seed(c, a, &ms, jx_str(r, "provider"),
			jx_str(r, "upstream_model")) != TG_OK)
			goto fail;
	}
	return 0;
fail:
	fprintf(out, "tollgate: model %s: %s\n", id, db_error(c));
	return -1;
}

/*
 * The pricing file's "aliases" ({"alias": "model id"}): each added unless the
 * alias exists (an operator's stays), is a model's id, or names no model.
 */
static int
seed_aliases(
    struct db_conn *c, struct arena *a, const json_t *aliases, FILE *out)
{
	const char *alias;
	uint64_t n;
	json_t *v;

	if (aliases != NULL && !json_is_object(aliases)) {
		fprintf(out, "tollgate: aliases must be an object\n");
		return -1;
	}
	json_object_foreach((json_t *)aliases, alias, v) {
		if (!json_is_string(v) ||
		    !upstream_valid_token(alias, ALIAS_MAX)) {
			fprintf(out,
			    "tollgate: alias %s: a name without spaces "
			    "(at most 128 bytes) and a model id\n",
			    alias);
			return -1;
		}
		if (q_alias_seed(c, a, alias, json_string_value(v), &n) !=
		    TG_OK) {
			fprintf(out, "tollgate: alias %s: %s\n", alias,
			    db_error(c));
			return -1;
		}
	}
	return 0;
}

int
catalog_seed_doc(struct db_conn *c, const struct op *op, struct arena *a,
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
	if ((op != NULL ? audit_begin(c) : db_begin(c)) != TG_OK) {
		fprintf(out, "tollgate: the database is unavailable\n");
		return -1;
	}
	if (seed_providers(c, op, a, json_object_get(doc, "providers"), out) ==
	    -1)
		goto fail;
	json_array_foreach(json_object_get(doc, "models"), i, m) {
		if (seed_model(c, a, m, date, out, added) == -1)
			goto fail;
	}
	if (seed_aliases(c, a, json_object_get(doc, "aliases"), out) == -1)
		goto fail;
	if (op != NULL) {
		after = json_pack("{s:s, s:I, s:I}", "prices_as_of", date,
		    "models",
		    (json_int_t)json_array_size(json_object_get(doc, "models")),
		    "added", (json_int_t)*added);
		arena_defer_json(a, after);
		if (audit_commit(c, a, op, "catalog.import", "catalog", from,
			NULL, after) != TG_OK)
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

/* "a b c" -> ["a","b","c"]; NULL -> []. */
static json_t *
words_json(const char *s)
{
	json_t *l = json_array();
	const char *e;

	while (s != NULL && *s != '\0') {
		e = strchr(s, ' ');
		json_array_append_new(l,
		    json_stringn(s, e != NULL ? (size_t)(e - s) : strlen(s)));
		s = e != NULL ? e + 1 : NULL;
	}
	return l;
}

enum tg_err
catalog_models(
    struct db_conn *c, struct arena *a, const char *id, json_t **data)
{
	struct q_model *ms, *v;
	json_t *m, *pr;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_model_list(c, a, id, &ms, &n)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	for (i = 0; i < n; i++) {
		v = &ms[i];
		pr = json_pack("{s:o, s:o}", "prompt",
		    catalog_price_per_token(v->input_price), "completion",
		    catalog_price_per_token(v->output_price));
		if (v->cached_price >= 0)
			json_object_set_new(pr, "input_cache_read",
			    catalog_price_per_token(v->cached_price));
		/* OpenRouter's name; without one, writes cost the input. */
		json_object_set_new(pr, "input_cache_write",
		    catalog_price_per_token(v->cache_write_price >= 0
			    ? v->cache_write_price
			    : v->input_price));
		m = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:o, s:s}", "id",
		    v->id, "object", "model", "created", (json_int_t)v->created,
		    "owned_by", v->vendor, "name", v->name, "context_length",
		    (json_int_t)v->context_length, "pricing", pr,
		    "pricing_date", v->price_date);
		json_object_set_new(m, "aliases", words_json(v->aliases));
		json_object_set_new(m, "providers", words_json(v->providers));
		json_array_append_new(*data, m);
	}
	return TG_OK;
}

enum tg_err
catalog_providers(struct db_conn *c, struct arena *a, json_t **data)
{
	struct q_provider *ps;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_provider_served(c, a, &ps, &n)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	for (i = 0; i < n; i++)
		json_array_append_new(*data,
		    json_pack("{s:s, s:s, s:s, s:b, s:I}", "id", ps[i].id,
			"name", ps[i].name, "kind", ps[i].kind, "enabled",
			ps[i].enabled, "models", (json_int_t)ps[i].models));
	return TG_OK;
}

enum tg_err
catalog_image_set(struct db_conn *c, struct op *op, const char *model,
    int64_t base, int64_t tile)
{
	int64_t obase, otile;
	json_t *after;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_model_image(c, op->arena, model, &obase, &otile)) !=
		TG_OK ||
	    (rc = q_model_image_set(c, op->arena, model, base, tile)) !=
		TG_OK) {
		db_rollback(c);
		return rc;
	}
	after = base >= 0
	    ? json_pack("{s:I, s:I}", "image_base_tokens", (json_int_t)base,
		  "image_tile_tokens", (json_int_t)tile)
	    : json_pack("{s:n, s:n}", "image_base_tokens", "image_tile_tokens");
	arena_defer_json(op->arena, after);
	return audit_commit(
	    c, op->arena, op, "model.image", "model", model, NULL, after);
}

enum tg_err
catalog_alias_set(
    struct db_conn *c, struct op *op, const char *alias, const char *model)
{
	int enabled;
	const char *id;
	json_t *after;
	enum tg_err rc;

	if (!upstream_valid_token(alias, ALIAS_MAX))
		return op_fail(op, TG_EINVAL, "invalid_value", "alias", "%s",
		    "alias: 1 to 128 printable characters, no spaces");
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	/* An alias that is a model's id would never be used: refused. */
	if (q_model_resolve(c, op->arena, alias, &enabled, &id) == TG_OK &&
	    strcmp(id, alias) == 0) {
		db_rollback(c);
		return op_fail(op, TG_ECONFLICT, "alias_is_model", "alias",
		    "'%s' is a model's id", alias);
	}
	if ((rc = q_model_enabled(c, op->arena, model, &enabled)) != TG_OK ||
	    (rc = q_alias_set(c, op->arena, alias, model)) != TG_OK) {
		db_rollback(c);
		return rc == TG_ENOENT ? op_fail(op, TG_EINVAL, "invalid_value",
					     "model", "no model '%s'", model)
				       : rc;
	}
	after = json_pack("{s:s}", "model_id", model);
	arena_defer_json(op->arena, after);
	return audit_commit(
	    c, op->arena, op, "model.alias", "alias", alias, NULL, after);
}

enum tg_err
catalog_alias_remove(struct db_conn *c, struct op *op, const char *alias)
{
	uint64_t n;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_alias_delete(c, op->arena, alias, &n)) == TG_OK && n == 0)
		rc = TG_ENOENT;
	if (rc != TG_OK) {
		db_rollback(c);
		return rc;
	}
	return audit_commit(
	    c, op->arena, op, "model.unalias", "alias", alias, NULL, NULL);
}

enum tg_err
catalog_aliases(struct db_conn *c, struct arena *a, json_t **data)
{
	struct q_alias *al;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_alias_list(c, a, &al, &n)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	for (i = 0; i < n; i++)
		json_array_append_new(*data,
		    json_pack("{s:s, s:s}", "alias", al[i].alias, "model",
			al[i].model_id));
	return TG_OK;
}
