/* chat_req.c: a metered request read and checked; who pays, at what price, through which deployments */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/json.h"
#include "domain/auth.h"
#include "domain/convlog.h"
#include "domain/keypool.h"
#include "domain/routing.h"
#include "http/chat.h"
#include "http/ctx.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "io/db.h"
#include "prov/params.h"
#include "store/q_payer.h"
#include "store/q_catalog.h"
#include "store/stmt.h"

/* clang-format off */
const struct ep_def chat_eps[EP__MAX] = {
	[EP_CHAT]	 = { "chat",	    "messages", JX_ARRAY,	     1 },
	[EP_COMPLETIONS] = { "completions", "prompt",	JX_STRING | JX_ARRAY, 1 },
	[EP_EMBEDDINGS]	 = { "embeddings",  "input",	JX_STRING | JX_ARRAY, 0 },
};
/* clang-format on */

/* --- request validation --------------------------------------------------------------- */

static int
is_pos_int(const json_t *v, int64_t max)
{
	return json_is_integer(v) && json_integer_value(v) >= 1 &&
	    json_integer_value(v) <= max;
}

/* Bytes of text the upstream will read as the prompt, for estimates. */
static size_t
text_bytes(const json_t *v)
{
	size_t i, n = 0;
	const char *k;
	json_t *e;

	if (json_is_string(v))
		return json_string_length(v);
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			n += text_bytes(e) + (json_is_object(e) ? 16 : 0);
		return n;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e)
			if (strcmp(k, "role") != 0 && strcmp(k, "type") != 0)
				n += text_bytes(e);
	}
	return n;
}

/* x->max_out: the largest output cap the client sent, else the default. */
static enum tg_err
read_caps(struct call *x)
{
	struct tg_req *r = x->r;
	json_t *v;
	size_t i;

	x->max_out = 0;
	for (i = 0; i < PROV_OUT_CAPS; i++) {
		v = json_object_get(r->json, prov_out_caps[i]);
		if (v == NULL || json_is_null(v))
			continue;
		if (!is_pos_int(v, CHAT_MAX_TOKENS_CAP))
			return resp_fail_code(r, x->resp, TG_EINVAL,
			    "invalid_value", prov_out_caps[i],
			    "%s must be a whole number from 1 to %d",
			    prov_out_caps[i], CHAT_MAX_TOKENS_CAP);
		if (json_integer_value(v) > x->max_out)
			x->max_out = json_integer_value(v);
	}
	/*
	 * OpenRouter's reasoning budget: the provider is sent a cap at least
	 * this large, so it is held like one.
	 */
	v = json_object_get(r->json, "reasoning");
	if (v != NULL && !json_is_null(v) && !json_is_object(v))
		return resp_fail_code(r, x->resp, TG_EINVAL, "invalid_type",
		    "reasoning", "reasoning must be an object");
	v = json_object_get(v, "max_tokens");
	if (v != NULL && !json_is_null(v)) {
		if (!is_pos_int(v, CHAT_MAX_TOKENS_CAP))
			return resp_fail_code(r, x->resp, TG_EINVAL,
			    "invalid_value", "reasoning.max_tokens",
			    "reasoning.max_tokens must be a whole number from "
			    "1 to %d",
			    CHAT_MAX_TOKENS_CAP);
		if (json_integer_value(v) > x->max_out)
			x->max_out = json_integer_value(v);
	}
	if (!chat_eps[x->ep].outputs)
		x->max_out = 0;
	else if (x->max_out == 0)
		x->max_out = r->ctx->conf->default_max_tokens;
	/* The provider is always told the cap that was held. */
	x->default_out = x->max_out;
	return TG_OK;
}

/* Content part types of chat messages tollgate can price. */
/* clang-format off */
static const struct part_def {
	const char *type;
	int image; /* priced by the model's image factors */
} part_defs[] = {
	{ "text",	 0 },
	{ "input_text",	 0 },
	{ "refusal",	 0 },
	{ "image_url",	 1 },
	{ "input_image", 1 },
};
/* clang-format on */

/* An image part's detail is "low" (image_url.detail, or detail beside it). */
static int
image_low(const json_t *part)
{
	const json_t *d = json_object_get(part, "detail"), *u;

	if ((u = json_object_get(part, "image_url")) != NULL &&
	    json_is_object(u))
		d = json_object_get(u, "detail");
	return json_is_string(d) && strcmp(json_string_value(d), "low") == 0;
}

/*
 * Content parts of every message: images are counted for the hold (bytes do
 * not bound their tokens), a part tollgate cannot price is refused by name.
 */
static enum tg_err
scan_parts(struct call *x, const json_t *msgs)
{
	const struct part_def *pd;
	const json_t *m, *part;
	const char *type;
	size_t i, j, k;

	json_array_foreach(msgs, i, m) {
		json_array_foreach(json_object_get(m, "content"), j, part) {
			type = json_string_value(json_object_get(part, "type"));
			for (k = 0, pd = NULL; type != NULL &&
			     k < sizeof(part_defs) / sizeof(part_defs[0]);
			     k++)
				if (strcmp(part_defs[k].type, type) == 0)
					pd = &part_defs[k];
			if (pd == NULL) {
				char where[64];

				snprintf(where, sizeof(where),
				    "messages[%zu].content[%zu]", i, j);
				return resp_fail_code(x->r, x->resp, TG_EINVAL,
				    "unsupported_content",
				    arena_strdup(x->r->arena, where),
				    "%s: a %s part is not supported; the "
				    "gateway prices text and image parts only "
				    "(audio and file parts have no price in "
				    "the catalogue)",
				    where, type != NULL ? type : "typeless");
			}
			if (!pd->image)
				continue;
			if (x->images_low + x->images_full == 0)
				snprintf(x->image_part, sizeof(x->image_part),
				    "messages[%zu].content[%zu]", i, j);
			if (image_low(part))
				x->images_low++;
			else
				x->images_full++;
		}
	}
	return TG_OK;
}

/*
 * The image parts' tokens by OpenAI's tile formula with the model's factors,
 * worst case: fit in 2048x2048, short side 768, so at most 2 x 4 tiles of
 * 512; detail low is the base alone.  Into prompt_bound, so the hold and the
 * rate limit count them.
 */
#define IMAGE_MAX_TILES 8

static enum tg_err
price_images(struct call *x)
{
	enum tg_err rc;
	int64_t base, tile;

	rc = q_model_image(x->c, x->r->arena, x->model, &base, &tile);
	if (rc != TG_OK && rc != TG_ENOENT)
		return rc;
	if (rc == TG_ENOENT || base < 0 || tile < 0)
		return resp_fail_code(x->r, x->resp, TG_EINVAL,
		    "unsupported_content",
		    arena_strdup(x->r->arena, x->image_part),
		    "%s: the model '%s' has no price for images in the "
		    "catalogue, so it does not take image parts",
		    x->image_part, x->model);
	x->image_tokens = x->images_low * base +
	    x->images_full * (base + IMAGE_MAX_TILES * tile);
	x->prompt_bound += x->image_tokens;
	return TG_OK;
}

/* stream, stream_options, and how many completions: n, best_of. */
static enum tg_err
parse_counts(struct call *x)
{
	struct tg_req *r = x->r;
	json_t *b = r->json, *v;

	v = json_object_get(b, "stream");
	if (v != NULL && !json_is_boolean(v))
		return resp_fail_code(r, x->resp, TG_EINVAL, "invalid_type",
		    "stream", "stream must be true or false");
	x->stream = json_is_true(v) && x->ep != EP_EMBEDDINGS;
	v = json_object_get(b, "stream_options");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v))
			return resp_fail_code(r, x->resp, TG_EINVAL,
			    "invalid_type", "stream_options",
			    "stream_options must be an object");
		if (!x->stream)
			return resp_fail_code(r, x->resp, TG_EINVAL,
			    "invalid_value", "stream_options",
			    "stream_options is only allowed with stream: true");
		x->want_usage =
		    json_is_true(json_object_get(v, "include_usage"));
	}
	v = json_object_get(b, "n");
	x->n = 1;
	if (v != NULL && !json_is_null(v)) {
		if (!is_pos_int(v, CHAT_MAX_N))
			return resp_fail_code(r, x->resp, TG_EINVAL,
			    "invalid_value", "n",
			    "n must be a whole number from 1 to %d",
			    CHAT_MAX_N);
		x->n = json_integer_value(v);
	}
	/* best_of: the provider generates (and bills) that many. */
	v = json_object_get(b, "best_of");
	if (v != NULL && !json_is_null(v)) {
		if (!is_pos_int(v, CHAT_MAX_N))
			return resp_fail_code(r, x->resp, TG_EINVAL,
			    "invalid_value", "best_of",
			    "best_of must be a whole number from 1 to %d",
			    CHAT_MAX_N);
		if (json_integer_value(v) > x->n)
			x->n = json_integer_value(v);
	}
	return TG_OK;
}

enum tg_err
chat_parse(struct call *x)
{
	struct tg_req *r = x->r;
	const struct conf *conf = r->ctx->conf;
	const struct ep_def *d = &chat_eps[x->ep];
	json_t *b = r->json, *v;
	struct param_cost pc;
	const char *param = NULL, *code = NULL;
	char msg[256];
	enum tg_err rc;

	v = json_object_get(b, "model");
	if (v == NULL)
		return resp_fail_code(r, x->resp, TG_EINVAL, "missing_field",
		    "model",
		    "model is required, such as \"openai/gpt-4o-mini\"");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > 128)
		return resp_fail_code(r, x->resp, TG_EINVAL, "invalid_type",
		    "model", "model must be a model id string");
	x->model = json_string_value(v);
	if (params_check(b, x->ep, conf->allow_params, conf->nallow_params, &pc,
		&param, &code, msg, sizeof(msg)) != 0)
		return resp_fail_code(
		    r, x->resp, TG_EINVAL, code, param, "%s", msg);
	v = json_object_get(b, d->input);
	if (v == NULL)
		return resp_fail_code(r, x->resp, TG_EINVAL, "missing_field",
		    d->input, "%s is required", d->input);
	if (!((d->input_types & JX_ARRAY) && json_is_array(v)) &&
	    !((d->input_types & JX_STRING) && json_is_string(v)))
		return resp_fail_code(r, x->resp, TG_EINVAL, "invalid_type",
		    d->input, "%s must be %s", d->input,
		    d->input_types == JX_ARRAY ? "an array"
					       : "a string or an array");
	if (json_is_array(v) && json_array_size(v) == 0)
		return resp_fail_code(r, x->resp, TG_EINVAL, "invalid_value",
		    d->input, "%s must not be empty", d->input);
	if (x->ep == EP_CHAT) {
		size_t i;
		json_t *m;

		json_array_foreach(v, i, m)
			if (!json_is_object(m) ||
			    !json_is_string(json_object_get(m, "role")))
				return resp_fail_code(r, x->resp, TG_EINVAL,
				    "invalid_value", "messages",
				    "messages[%zu] must be an object with a "
				    "string role",
				    i);
		if ((rc = scan_parts(x, v)) != TG_OK)
			return rc;
	}
	x->prompt_estimate = chat_estimate_tokens(text_bytes(v)) +
	    (json_is_array(v) ? 4 * (int64_t)json_array_size(v) : 0);
	if ((rc = parse_counts(x)) != TG_OK)
		return rc;
	x->n *= pc.times;
	x->fee = pc.fee;
	if ((rc = read_caps(x)) != TG_OK)
		return rc;
	x->prompt_bound = (int64_t)r->body_len;
	return TG_OK;
}

/* --- who pays, and at what price ------------------------------------------------------ */

static int
model_allowed(const char *allowed, const char *model)
{
	json_t *a, *e;
	size_t i;
	int ok = 0;

	if (allowed == NULL || *allowed == '\0')
		return 1;
	if ((a = json_loads(allowed, 0, NULL)) == NULL || !json_is_array(a) ||
	    json_array_size(a) == 0) {
		ok = a != NULL && json_is_array(a); /* [] = every model */
		json_decref(a);
		return ok;
	}
	json_array_foreach(a, i, e)
		if (json_is_string(e) &&
		    strcmp(json_string_value(e), model) == 0)
			ok = 1;
	json_decref(a);
	return ok;
}

enum tg_err
chat_payer(struct call *x)
{
	struct payer_row pr;
	enum tg_err rc;

	rc = q_payer_get(
	    x->c, x->r->arena, x->r->who->key_id, x->r->who->user_id, &pr);
	if (rc == TG_ENOENT)
		return TG_EAUTH;
	if (rc != TG_OK)
		return rc;
	x->bp = pr.commission_bp < 0
	    ? conf_group_commission(x->r->ctx->conf, pr.group)
	    : (unsigned)pr.commission_bp;
	x->allowed = pr.allowed;
	x->group = pr.group;
	x->credit_limit = pr.credit_limit;
	x->conv = convlog_level(x->r->ctx->conf, pr.conv_log); /* issue 18 */
	return TG_OK;
}

/*
 * What the key's credit limit leaves (-1: no limit).  Read when needed, not
 * with the payer: spent moves with every request, the payer row is a copy.
 */
int64_t
chat_key_left(struct call *x)
{
	int64_t spent;

	if (x->credit_limit < 0)
		return -1;
	if (q_key_spent(x->c, x->r->arena, x->r->who->key_id, &spent) != TG_OK)
		return 0;
	return x->credit_limit > spent ? x->credit_limit - spent : 0;
}

/*
 * The client's `provider` preferences (OpenRouter's routing object) and the
 * measured latencies decide the order deployments are tried in.
 */
static enum tg_err
order_routes(struct call *x)
{
	struct route_prefs rp;
	double ttft[UPSTREAM_MAX_ROUTES];
	const char *param = NULL;
	char msg[160];
	size_t i;

	if (routing_prefs_parse(json_object_get(x->r->json, "provider"), &rp,
		&param, msg, sizeof(msg)) != TG_OK)
		return resp_fail_code(x->r, x->resp, TG_EINVAL, "invalid_value",
		    param, "%s", msg);
	for (i = 0; i < x->nroutes; i++)
		ttft[i] = x->r->ctx->pool != NULL
		    ? keypool_latency(
			  x->r->ctx->pool, x->model, x->routes[i].provider_id)
		    : -1;
	x->nroutes = routing_apply(x->routes, x->nroutes, &rp, ttft);
	if (x->nroutes == 0)
		return resp_fail_code(x->r, x->resp, TG_EINVAL, "no_deployment",
		    "provider",
		    "no deployment of '%s' matches the provider preferences "
		    "(order, only, ignore, max_price)",
		    x->model);
	return TG_OK;
}

/*
 * Legacy completions and embeddings exist in OpenAI's format only: a
 * deployment whose provider speaks another (Anthropic, Gemini) is left out.
 */
static enum tg_err
keep_speaking(struct call *x)
{
	size_t i, n = 0;

	if (x->ep == EP_CHAT)
		return TG_OK;
	for (i = 0; i < x->nroutes; i++)
		if (prov_ops_of(x->routes[i].kind)->wire == WIRE_OPENAI)
			x->routes[n++] = x->routes[i];
	x->nroutes = n;
	if (n > 0)
		return TG_OK;
	return resp_fail_code(x->r, x->resp, TG_EINVAL, "unsupported_endpoint",
	    "model",
	    "the model '%s' is served only by providers without %s; use "
	    "/v1/chat/completions",
	    x->model, x->ep == EP_EMBEDDINGS ? "embeddings" : "completions");
}

/*
 * issue 18: the test models (provider kind test) answer test keys (gw_test_)
 * only, and test keys reach real models only with [billing]
 * test_real_models (paid from the sandbox).  The deployments a caller may
 * not use are left out; none left is said as the caller should hear it.
 */
static enum tg_err
test_gate(struct call *x)
{
	const struct principal *who = x->r->who;
	int real_ok = !who->test || x->r->ctx->conf->test_real_models;
	size_t i, n = 0, tests = 0;

	for (i = 0; i < x->nroutes; i++) {
		tests += x->routes[i].kind == PROV_TEST;
		if (x->routes[i].kind == PROV_TEST ? who->test : real_ok)
			x->routes[n++] = x->routes[i];
	}
	x->nroutes = n;
	if (n > 0 && (tests == 0 || x->ep == EP_CHAT))
		return TG_OK;
	if (n > 0)
		return resp_fail_code(x->r, x->resp, TG_EINVAL,
		    "unsupported_endpoint", "model",
		    "the test model '%s' answers /v1/chat/completions only",
		    x->model);
	if (tests > 0)
		return resp_fail_code(x->r, x->resp, TG_ENOENT,
		    "model_not_found", "model",
		    "the model '%s' does not exist or is not available; "
		    "GET /v1/models lists them (the test models answer "
		    "test keys, gw_test_..., only)",
		    x->model);
	return resp_fail_code(x->r, x->resp, TG_EPERM, "test_key_real_model",
	    "model",
	    "a test key (gw_test_...) may use the test models test/echo and "
	    "test/stream only: this gateway does not let test keys reach "
	    "real models ([billing] test_real_models is off); use a live key "
	    "for '%s'",
	    x->model);
}

enum tg_err
chat_routes(struct call *x)
{
	struct tg_req *r = x->r;
	int64_t flat = r->ctx->conf->flat_price;
	enum tg_err rc;
	size_t i;

	rc = upstream_routes(x->c, r->arena, x->model, x->routes,
	    UPSTREAM_MAX_ROUTES, &x->nroutes);
	/* issue 18: openrouter: its path, and uncatalogued OpenRouter ids */
	rc = or_routes(x, rc);
	/*
	 * An alias means its model from here on: the key's allowed models,
	 * the limits, the record and the answer all see the catalogue's id.
	 */
	if (rc == TG_OK && x->nroutes > 0)
		x->model = x->routes[0].model_id;
	if (!model_allowed(x->allowed, x->model))
		return resp_fail_code(r, x->resp, TG_ENOENT, "model_not_found",
		    "model", "this API key may not use model '%s'", x->model);
	if (rc == TG_ENOENT)
		return resp_fail_code(r, x->resp, TG_ENOENT, "model_not_found",
		    "model",
		    "the model '%s' does not exist or is not available; "
		    "GET /v1/models lists them",
		    x->model);
	if (rc != TG_OK)
		return rc;
	if (x->nroutes == 0)
		return resp_fail_code(r, x->resp, TG_EINVAL, "model_not_priced",
		    "model",
		    "the model '%s' has no priced deployment; an "
		    "administrator must add one before it can be used",
		    x->model);
	if ((rc = test_gate(x)) != TG_OK || (rc = keep_speaking(x)) != TG_OK)
		return rc;
	if (flat >= 0)
		for (i = 0; i < x->nroutes; i++)
			x->routes[i].input_price = x->routes[i].output_price =
			    x->routes[i].cached_price =
				x->routes[i].cache_write_price = flat;
	if ((rc = order_routes(x)) != TG_OK)
		return rc;
	/* Hold for the dearest deployment failover could reach. */
	x->p.input = x->p.output = x->p.cached = x->p.cache_write = 0;
	for (i = 0; i < x->nroutes; i++) {
		if (x->routes[i].input_price > x->p.input)
			x->p.input = x->routes[i].input_price;
		if (x->routes[i].output_price > x->p.output)
			x->p.output = x->routes[i].output_price;
		if (x->routes[i].cache_write_price > x->p.cache_write)
			x->p.cache_write = x->routes[i].cache_write_price;
	}
	x->p.cached = x->p.input;
	if (x->images_low + x->images_full > 0 && !x->passthrough &&
	    (rc = price_images(x)) != TG_OK)
		return rc;
	x->hold = chat_hold(&x->p, x->prompt_bound, x->max_out, x->n, x->bp);
	if (x->passthrough)
		x->hold = or_hold(x); /* issue 18: openrouter */
	if (x->fee > 0) {
		struct cost fee;

		chat_cost_of_base(x->fee, x->bp, &fee);
		x->hold = x->hold > INT64_MAX - fee.charge
		    ? INT64_MAX
		    : x->hold + fee.charge;
	}
	return TG_OK;
}

void
chat_prices_of(const struct deployment *rt, struct prices *p)
{
	p->input = rt->input_price;
	p->output = rt->output_price;
	p->cached = rt->cached_price;
	p->cache_write = rt->cache_write_price;
}

/* --- the database connection ---------------------------------------------------------- */

/*
 * A request needs the database before the upstream call (key, hold) and after
 * it (settle), not during it: a stream may last minutes, and a connection held
 * that long per request would cap the streams in flight at the pools' size.
 * So the connection goes back to the pool while the provider works.
 */
enum tg_err
chat_db(struct call *x)
{
	return router_db(x->r, &x->c);
}

void
chat_db_release(struct call *x)
{
	if (x->r->db != NULL) {
		db_put(x->r->ctx->db, x->r->db);
		x->r->db = NULL;
	}
	x->c = NULL;
}
