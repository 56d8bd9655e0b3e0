/* h_upstream.c: admin endpoints for providers, their keys, models and prices */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "domain/catalog.h"
#include "store/q_catalog.h"
#include "http/ctx.h"
#include "io/db.h"
#include "http/handlers.h"
#include "core/json.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "domain/op.h"
#include "domain/upstream.h"
#include "store/q_upstream.h"
#include "core/util.h"

/* clang-format off */
static const struct jx_field provider_add_fields[] = {
	{ "id",		JX_STRING,		1 },
	{ "kind",	JX_STRING,		1 },
	{ "base_url",	JX_STRING,		1 },
	{ "name",	JX_STRING | JX_NULL,	0 },
	{ "enabled",	JX_BOOL,		0 },
	{ NULL,		0,			0 },
};

static const struct jx_field provider_update_fields[] = {
	{ "base_url",	JX_STRING,		0 },
	{ "name",	JX_STRING,		0 },
	{ "enabled",	JX_BOOL,		0 },
	{ "reseal",	JX_BOOL,		0 },
	{ NULL,		0,			0 },
};

static const struct jx_field key_add_fields[] = {
	{ "key",		 JX_STRING,		1 },
	{ "label",		 JX_STRING | JX_NULL,	0 },
	{ "requests_per_minute", JX_INT | JX_NULL,	0 },
	{ "requests_per_day",	 JX_INT | JX_NULL,	0 },
	{ "min_interval_ms",	 JX_INT | JX_NULL,	0 },
	{ NULL,			 0,			0 },
};

static const struct jx_field key_update_fields[] = {
	{ "label",		 JX_STRING,		0 },
	{ "enabled",		 JX_BOOL,		0 },
	{ "requests_per_minute", JX_INT | JX_NULL,	0 },
	{ "requests_per_day",	 JX_INT | JX_NULL,	0 },
	{ "min_interval_ms",	 JX_INT,		0 },
	{ NULL,			 0,			0 },
};

static const struct jx_field model_add_fields[] = {
	{ "id",			JX_STRING,		1 },
	{ "provider_id",	JX_STRING,		1 },
	{ "upstream_model",	JX_STRING,		1 },
	{ "input_price",	JX_STRING | JX_NUMBER,	1 },
	{ "output_price",	JX_STRING | JX_NUMBER,	1 },
	{ "cached_input_price",	JX_STRING | JX_NUMBER | JX_NULL, 0 },
	{ "cache_write_price",	JX_STRING | JX_NUMBER | JX_NULL, 0 },
	{ "context_length",	JX_INT,			0 },
	{ "name",		JX_STRING | JX_NULL,	0 },
	{ NULL,			0,			0 },
};

static const struct jx_field model_update_fields[] = {
	{ "provider_id",	JX_STRING,		0 },
	{ "input_price",	JX_STRING | JX_NUMBER,	0 },
	{ "output_price",	JX_STRING | JX_NUMBER,	0 },
	{ "cached_input_price",	JX_STRING | JX_NUMBER,	0 },
	{ "cache_write_price",	JX_STRING | JX_NUMBER,	0 },
	{ "enabled",		JX_BOOL,		0 },
	{ "image_base_tokens",	JX_INT | JX_NULL,	0 },
	{ "image_tile_tokens",	JX_INT | JX_NULL,	0 },
	{ NULL,			0,			0 },
};
/* clang-format on */

/* A catalogue token count: a whole number from 0 to 1000000. */
static int
token_count_ok(const json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 &&
	    json_integer_value(v) <= 1000000;
}

/*
 * The image factors of a model update: both or neither, each a whole number
 * from 0 to 1000000, or both null (none: the model refuses images).  *set 0
 * when the body has neither.
 */
static enum tg_err
image_factors(struct tg_req *r, struct tg_resp *resp, int64_t *base,
    int64_t *tile, int *set)
{
	const json_t *b = json_object_get(r->json, "image_base_tokens");
	const json_t *t = json_object_get(r->json, "image_tile_tokens");

	*set = b != NULL || t != NULL;
	*base = *tile = -1;
	if (!*set || (json_is_null(b) && json_is_null(t)))
		return TG_OK;
	if (!token_count_ok(b) || !token_count_ok(t))
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    token_count_ok(b) ? "image_tile_tokens"
				      : "image_base_tokens",
		    "image_base_tokens and image_tile_tokens go together, "
		    "each a whole number from 0 to 1000000, or both null");
	*base = json_integer_value(b);
	*tile = json_integer_value(t);
	return TG_OK;
}

#define DEFAULT_CONTEXT 128000

static int
opt_bool(const json_t *b, const char *k, int dflt)
{
	json_t *v = json_object_get(b, k);

	return v == NULL ? dflt : json_is_true(v);
}

/* A price member: absent -> *out = -1; malformed -> the 400. */
static enum tg_err
price(struct tg_req *r, struct tg_resp *resp, const char *k, int64_t *out)
{
	json_t *v = json_object_get(r->json, k);

	*out = -1;
	if (v == NULL || json_is_null(v))
		return TG_OK;
	if (upstream_price_parse(v, out) == -1)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_price", k,
		    "%s is USD per million tokens, at most 6 decimals, such "
		    "as \"2.50\"",
		    k);
	return TG_OK;
}

/* The four prices of a model's body (absent: -1). */
static enum tg_err
prices(struct tg_req *r, struct tg_resp *resp, struct q_prices *pr)
{
	enum tg_err rc;

	if ((rc = price(r, resp, "input_price", &pr->input)) != TG_OK ||
	    (rc = price(r, resp, "output_price", &pr->output)) != TG_OK ||
	    (rc = price(r, resp, "cached_input_price", &pr->cached)) != TG_OK ||
	    (rc = price(r, resp, "cache_write_price", &pr->cache_write)) !=
		TG_OK)
		return rc;
	return TG_OK;
}

/* A failure the service explained in op->fail, or a bare rc. */
static enum tg_err
failed(
    struct tg_req *r, struct tg_resp *resp, enum tg_err rc, const struct op *op)
{
	if (op->fail.err != TG_OK)
		return resp_from_op(r, resp, op);
	return rc;
}

enum tg_err
h_admin_providers(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	enum tg_err rc;

	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = upstream_providers(c, r->arena, NULL, &resp->body)) != TG_OK)
		return rc;
	json_incref(resp->body); /* the arena keeps its own reference */
	return TG_OK;
}

enum tg_err
h_admin_provider_add(struct tg_req *r, struct tg_resp *resp)
{
	const char *id = jx_str(r->json, "id");
	struct db_conn *c;
	struct op op;
	enum tg_err rc;

	if ((rc = resp_check(r, resp, r->json, provider_add_fields)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK)
		return rc;
	req_op(r, &op);
	rc = upstream_provider_add(c, &op, id, jx_str(r->json, "kind"),
	    jx_str(r->json, "base_url"), jx_str(r->json, "name"),
	    opt_bool(r->json, "enabled", 1));
	if (rc != TG_OK)
		return failed(r, resp, rc, &op);
	if ((rc = upstream_providers(c, r->arena, id, &resp->body)) != TG_OK)
		return rc;
	json_incref(resp->body);
	resp->status = 201;
	return TG_OK;
}

enum tg_err
h_admin_provider_update(struct tg_req *r, struct tg_resp *resp)
{
	const char *id = r->captures[0];
	struct db_conn *c;
	struct op op;
	enum tg_err rc;

	if ((rc = resp_check(r, resp, r->json, provider_update_fields)) !=
		TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK)
		return rc;
	req_op(r, &op);
	rc = upstream_provider_update(c, &op, id, jx_str(r->json, "base_url"),
	    jx_str(r->json, "name"), opt_bool(r->json, "enabled", -1),
	    opt_bool(r->json, "reseal", 0) == 1, op.master);
	if (rc == TG_ENOENT)
		return resp_fail(r, resp, rc, NULL, "no provider '%s'", id);
	if (rc != TG_OK)
		return failed(r, resp, rc, &op);
	if ((rc = upstream_providers(c, r->arena, id, &resp->body)) != TG_OK)
		return rc;
	json_incref(resp->body);
	return TG_OK;
}

/* Add to each key of list what the pool and today's records say of it. */
static void
with_status(json_t *list, json_t *status)
{
	json_t *k, *st;
	size_t i, j;

	json_array_foreach(list, i, k) {
		json_array_foreach(status, j, st) {
			if (json_equal(json_object_get(k, "id"),
				json_object_get(st, "id"))) {
				json_object_update_missing(k, st);
				break;
			}
		}
	}
}

enum tg_err
h_admin_ukeys(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	json_t *out, *status;
	enum tg_err rc;

	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	rc = upstream_keys(c, r->arena, r->captures[0], &out);
	if (rc == TG_ENOENT)
		return resp_fail(
		    r, resp, rc, NULL, "no provider '%s'", r->captures[0]);
	if (rc != TG_OK ||
	    (rc = upstream_key_status(
		 c, r->arena, r->ctx->pool, r->captures[0], &status)) != TG_OK)
		return rc;
	/* The dashboard's provider page: health, circuit, cool-down, use. */
	with_status(json_object_get(out, "data"), status);
	resp->body = json_incref(out);
	return TG_OK;
}

/*
 * A key's limits from the body: null or absent = none; set_* (if not NULL)
 * say which were given.  Spacing above an hour is refused as a typo.
 */
static enum tg_err
key_limits(struct tg_req *r, struct tg_resp *resp, struct pool_key *lim,
    int *set_rpm, int *set_rpd)
{
	static const char *const names[] = {
	    "requests_per_minute", "requests_per_day", "min_interval_ms"};
	int64_t *dst[3] = {&lim->rpm, &lim->rpd, &lim->min_interval_ms};
	int64_t max[3] = {1000000, 100000000, 3600000};
	json_t *v;
	size_t i;

	lim->id = 0;
	lim->rpm = lim->rpd = -1;
	lim->min_interval_ms = -1;
	for (i = 0; i < 3; i++) {
		v = json_object_get(r->json, names[i]);
		if (i == 0 && set_rpm != NULL)
			*set_rpm = v != NULL;
		if (i == 1 && set_rpd != NULL)
			*set_rpd = v != NULL;
		if (v == NULL || json_is_null(v))
			continue;
		if (json_integer_value(v) < 0 || json_integer_value(v) > max[i])
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", names[i],
			    "%s is a whole number from 0 to %lld", names[i],
			    (long long)max[i]);
		*dst[i] = json_integer_value(v);
	}
	return TG_OK;
}

enum tg_err
h_admin_ukey_update(struct tg_req *r, struct tg_resp *resp)
{
	struct pool_key lim;
	struct q_ukey_change ch;
	struct db_conn *c;
	struct op op;
	json_t *v;
	int set_rpm, set_rpd, enabled = -1;
	enum tg_err rc;

	if ((rc = resp_check(r, resp, r->json, key_update_fields)) != TG_OK ||
	    (rc = key_limits(r, resp, &lim, &set_rpm, &set_rpd)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((v = json_object_get(r->json, "enabled")) != NULL)
		enabled = json_is_true(v);
	ch = (struct q_ukey_change){.pub = r->captures[1],
	    .provider_id = r->captures[0],
	    .label = jx_str(r->json, "label"),
	    .enabled = enabled,
	    .set_rpm = set_rpm,
	    .set_rpd = set_rpd,
	    .rpm = lim.rpm,
	    .rpd = lim.rpd,
	    .min_interval_ms = lim.min_interval_ms};
	req_op(r, &op);
	rc = upstream_key_update(c, &op, r->ctx->pool, &ch, &resp->body);
	if (rc == TG_ENOENT)
		return resp_fail(r, resp, rc, NULL,
		    "provider '%s' has no key '%s'", r->captures[0],
		    r->captures[1]);
	if (rc != TG_OK)
		return failed(r, resp, rc, &op);
	json_incref(resp->body);
	return rc;
}

/* Every upstream key with this node's view of its health and use. */
enum tg_err
h_admin_upstream_keys(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	json_t *data;
	enum tg_err rc;

	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = upstream_key_status(c, r->arena, r->ctx->pool,
		 req_query(r, "provider_id"), &data)) != TG_OK)
		return rc;
	resp->body = json_pack("{s:O}", "data", data);
	return TG_OK;
}

/*
 * The same figures in the compact camelCase form of the OpenRouter key
 * aggregators that older clients poll.
 */
enum tg_err
h_api_status(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	json_t *data, *k, *keys;
	int64_t total = 0, avail = 0;
	size_t i;
	enum tg_err rc;
	char ts[21];

	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = upstream_key_status(
		 c, r->arena, r->ctx->pool, NULL, &data)) != TG_OK)
		return rc;
	keys = json_array();
	json_array_foreach(data, i, k) {
		int ok = json_is_true(json_object_get(k, "enabled")) &&
		    json_is_null(json_object_get(k, "cooldown_until")) &&
		    strcmp(jx_str(k, "circuit"), "open") != 0;
		json_t *lim = json_object_get(k, "limits");

		total += json_integer_value(json_object_get(k, "used_today"));
		avail += ok;
		json_array_append_new(keys,
		    json_pack("{s:s, s:s, s:s, s:b, s:O, s:O, s:O, s:O, s:O, "
			      "s:O, s:O}",
			"id", jx_str(k, "id"), "provider",
			jx_str(k, "provider_id"), "key",
			arena_printf(r->arena, "...%s", jx_str(k, "last4")),
			"available", ok, "dailyUsage",
			json_object_get(k, "used_today"), "dailyLimit",
			json_object_get(lim, "requests_per_day"), "minuteUsage",
			json_object_get(k, "used_this_minute"), "minuteLimit",
			json_object_get(lim, "requests_per_minute"), "lastUsed",
			json_object_get(k, "last_used_at"), "cooldownUntil",
			json_object_get(k, "cooldown_until"), "lastError",
			json_object_get(k, "last_error")));
	}
	util_iso8601(ts);
	resp->body = json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "status",
	    avail > 0 ? "ok" : "degraded", "timestamp", ts, "totalKeys",
	    (json_int_t)json_array_size(data), "availableKeys",
	    (json_int_t)avail, "totalDailyUsage", (json_int_t)total, "keys",
	    keys);
	return TG_OK;
}

enum tg_err
h_admin_ukey_add(struct tg_req *r, struct tg_resp *resp)
{
	struct pool_key lim;
	struct db_conn *c;
	struct op op;
	enum tg_err rc;

	if ((rc = resp_check(r, resp, r->json, key_add_fields)) != TG_OK)
		return rc;
	if (!r->ctx->have_master)
		return resp_fail(r, resp, TG_EUNAVAIL, NULL,
		    "no master key is configured ([security] "
		    "master_key_file), so provider keys cannot be stored");
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((rc = key_limits(r, resp, &lim, NULL, NULL)) != TG_OK)
		return rc;
	req_op(r, &op);
	rc = upstream_key_add(c, &op, r->ctx->master, r->captures[0],
	    jx_str(r->json, "key"), jx_str(r->json, "label"), &lim,
	    &resp->body);
	if (rc == TG_ENOENT)
		return resp_fail(
		    r, resp, rc, NULL, "no provider '%s'", r->captures[0]);
	if (rc != TG_OK)
		return failed(r, resp, rc, &op);
	json_incref(resp->body);
	resp->status = 201;
	return TG_OK;
}

enum tg_err
h_admin_ukey_delete(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	struct op op;
	enum tg_err rc;

	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	req_op(r, &op);
	rc = upstream_key_remove(c, &op, r->captures[0], r->captures[1], 1);
	if (rc == TG_ENOENT)
		return resp_fail(r, resp, rc, NULL,
		    "provider '%s' has no key '%s'", r->captures[0],
		    r->captures[1]);
	if (rc != TG_OK)
		return rc;
	resp->body =
	    json_pack("{s:s, s:b}", "id", r->captures[1], "deleted", 1);
	return TG_OK;
}

enum tg_err
h_admin_model_add(struct tg_req *r, struct tg_resp *resp)
{
	const char *id = jx_str(r->json, "id");
	int64_t ctxlen = DEFAULT_CONTEXT;
	struct q_prices pr;
	struct db_conn *c;
	struct op op;
	json_t *v;
	enum tg_err rc;

	if ((rc = resp_check(r, resp, r->json, model_add_fields)) != TG_OK ||
	    (rc = prices(r, resp, &pr)) != TG_OK)
		return rc;
	if ((v = json_object_get(r->json, "context_length")) != NULL)
		ctxlen = json_integer_value(v);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	req_op(r, &op);
	rc = upstream_model_add(c, &op, id, jx_str(r->json, "name"),
	    jx_str(r->json, "provider_id"), jx_str(r->json, "upstream_model"),
	    &pr, ctxlen);
	if (rc != TG_OK)
		return failed(r, resp, rc, &op);
	if ((rc = catalog_models(c, r->arena, id, &v)) != TG_OK)
		return rc;
	resp->body = json_incref(json_array_get(v, 0));
	resp->status = 201;
	return TG_OK;
}

enum tg_err
h_admin_model_update(struct tg_req *r, struct tg_resp *resp)
{
	const char *id = r->captures[0];
	int64_t base, tile;
	struct q_prices pr;
	struct db_conn *c;
	struct op op;
	json_t *v;
	int image;
	enum tg_err rc;

	if (r->ncaptures == 2)
		id = arena_printf(
		    r->arena, "%s/%s", r->captures[0], r->captures[1]);
	if ((rc = resp_check(r, resp, r->json, model_update_fields)) != TG_OK ||
	    (rc = prices(r, resp, &pr)) != TG_OK ||
	    (rc = image_factors(r, resp, &base, &tile, &image)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK)
		return rc;
	req_op(r, &op);
	rc = upstream_model_update(c, &op, id, jx_str(r->json, "provider_id"),
	    &pr, opt_bool(r->json, "enabled", -1));
	if (rc == TG_OK && image)
		rc = catalog_image_set(c, &op, id, base, tile);
	if (rc == TG_ENOENT)
		return resp_fail_code(
		    r, resp, rc, "model_not_found", NULL, "no model '%s'", id);
	if (rc != TG_OK)
		return rc;
	/* A disabled model is not in the public listing: answer the input. */
	if ((rc = catalog_models(c, r->arena, id, &v)) != TG_OK)
		return rc;
	resp->body = json_array_size(v) > 0
	    ? json_incref(json_array_get(v, 0))
	    : json_pack("{s:s, s:b}", "id", id, "enabled", 0);
	return TG_OK;
}

enum tg_err
h_admin_models_import(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	struct op op;
	char *msg = NULL;
	size_t len = 0, added = 0;
	FILE *out;
	enum tg_err rc;
	int ok;

	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	/* catalog_seed_doc reports like `tollgate migrate` does: capture it. */
	if ((out = open_memstream(&msg, &len)) == NULL)
		return TG_ESYSTEM;
	req_op(r, &op);
	ok = catalog_seed_doc(c, &op, r->arena, r->json,
		 "POST /admin/models/import", out, &added) == 0;
	fclose(out);
	if (!ok) {
		rc = resp_fail_code(r, resp, TG_EINVAL, "invalid_pricing_file",
		    NULL, "%.*s", (int)strcspn(msg != NULL ? msg : "", "\n"),
		    msg != NULL
			? msg + (strncmp(msg, "tollgate: ", 10) == 0 ? 10 : 0)
			: "");
		free(msg);
		return rc;
	}
	free(msg);
	resp->body =
	    json_pack("{s:I, s:I, s:s}", "added", (json_int_t)added, "models",
		(json_int_t)json_array_size(json_object_get(r->json, "models")),
		"prices_as_of", jx_str(r->json, "prices_as_of"));
	return TG_OK;
}
