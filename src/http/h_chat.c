/* h_chat.c: the metered endpoints: chat, completions, embeddings and the quote */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "domain/auth.h"
#include "domain/accounts.h"
#include "core/buf.h"
#include "domain/catalog.h"
#include "domain/pricing.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/db.h"
#include "store/stmt.h"
#include "http/handlers.h"
#include "io/http_client.h"
#include "domain/journal.h"
#include "core/json.h"
#include "domain/lease.h"
#include "domain/ledger.h"
#include "core/log.h"
#include "core/money.h"
#include "prov/params.h"
#include "domain/keypool.h"
#include "prov/prov.h"
#include "domain/routing.h"
#include "domain/limits.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "prov/sse.h"
#include "domain/upstream.h"
#include "domain/usage.h"
#include "core/util.h"

#define IDEM_MAX       64
#define REPLAY_MAX     (1 << 20)  /* bytes of an answer kept for replays */
#define ERRBODY_MAX    (64 << 10) /* bytes of an upstream error body read */
#define EVENT_MAX      (4 << 20)  /* one upstream SSE event */
#define SWEEP_BATCH    100
#define COST_MARK      "\x01tollgate-cost\x01"
#define COST_MARK_JSON "\"\\u0001tollgate-cost\\u0001\""
/* The gateway_usage member: ids and names are capped far below this. */
#define GATEWAY_USAGE_MAX 4096

/* clang-format off */
static const struct ep_def {
	const char *name;  /* usage_records.endpoint */
	const char *input; /* the member holding the prompt */
	int input_types;   /* JX_* the input may be */
	int outputs;	   /* produces completion tokens */
} eps[EP__MAX] = {
	[EP_CHAT]	 = { "chat",	    "messages", JX_ARRAY,	     1 },
	[EP_COMPLETIONS] = { "completions", "prompt",	JX_STRING | JX_ARRAY, 1 },
	[EP_EMBEDDINGS]	 = { "embeddings",  "input",	JX_STRING | JX_ARRAY, 0 },
};
/* clang-format on */

/* One metered request: owned by the handler, lives in the request arena. */
struct call {
	struct tg_req *r;
	struct tg_resp *resp;
	struct db_conn *c;
	enum endpoint ep;
	const char *model;
	int stream;
	int want_usage;		 /* the client asked for the usage chunk */
	int64_t max_out;	 /* completion tokens per choice */
	int64_t default_out;	 /* the cap sent upstream: max_out (0: none) */
	int64_t n;		 /* completions held: n, best_of, times */
	int64_t fee;		 /* nano-USD of allowed parameters' fees */
	int64_t prompt_bound;	 /* body bytes + image tokens */
	int64_t images_low;	 /* image parts with detail low */
	int64_t images_full;	 /* other image parts: the most tiles */
	int64_t image_tokens;	 /* what they are held as */
	char image_part[64];	 /* "messages[i].content[j]" of the first */
	int64_t prompt_estimate; /* for answers without usage */
	struct deployment routes[UPSTREAM_MAX_ROUTES];
	size_t nroutes;
	const struct deployment *rt; /* the deployment tried last */
	struct prices p;
	unsigned bp;
	const char *allowed; /* the key's allowed_models (JSON) */
	const char *group;   /* the user's group (limits, commission) */
	struct rate_ticket ticket;
	int64_t credit_limit; /* the key's; < 0 none */
	int64_t hold;
	unsigned char hold_id[HOLD_ID_LEN]; /* or the lease's */
	int held;
	int leased; /* the hold is carve, from a lease */
	struct carve carve;
	const char *idem;
	/* the current attempt */
	int64_t ukey_id;
	int attempts;
	int64_t retry_after; /* s, when every key of a pool must wait */
	double t_attempt;    /* when the current attempt's request went out */
	struct http_result hr;
	long up_status;
	int relaying; /* upstream answered 200 with an event stream */
	struct buf errbody;
	struct sse_parser sse;
	int saw_done;
	int up_error_event;
	/* what reached the client */
	int started; /* SSE headers sent */
	int delivered;
	size_t delivered_bytes;
	int client_gone;
	int replay_over;     /* the answer outgrew REPLAY_MAX: not replayable */
	double t_gone;	     /* when it was found gone: the drain's start */
	int capped;	     /* the stream reached [chat] max_stream_seconds */
	json_t *usage_chunk; /* held back until the cost is known */
	struct usage u;
	double t0, t_first, t_out;
	struct buf replay;
	/* outcome */
	enum tg_err fail;
	const char *fail_code;
	const char *fail_msg;
	int64_t charged;
	int64_t balance_after;
	int estimated;
	enum usage_basis basis;
};

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
		json_array_foreach(v, i, e) n +=
		    text_bytes(e) + (json_is_object(e) ? 16 : 0);
		return n;
	}
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k,
		    e) if (strcmp(k, "role") != 0 && strcmp(k, "type") != 0)
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
	if (!eps[x->ep].outputs)
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

	json_array_foreach(msgs, i, m)
	{
		json_array_foreach(json_object_get(m, "content"), j, part)
		{
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
	struct db_val p = DB_STR(x->model);
	struct db_rows rows;
	enum tg_err rc;
	int64_t base, tile;

	if ((rc = db_exec(x->c, STMT_MODEL_IMAGE, &p, 1, &rows, x->r->arena)) !=
	    TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].type == DBT_NULL ||
	    rows.v[1].type == DBT_NULL)
		return resp_fail_code(x->r, x->resp, TG_EINVAL,
		    "unsupported_content",
		    arena_strdup(x->r->arena, x->image_part),
		    "%s: the model '%s' has no price for images in the "
		    "catalogue, so it does not take image parts",
		    x->image_part, x->model);
	base = rows.v[0].i;
	tile = rows.v[1].i;
	x->image_tokens = x->images_low * base +
	    x->images_full * (base + IMAGE_MAX_TILES * tile);
	x->prompt_bound += x->image_tokens;
	return TG_OK;
}

static enum tg_err
parse_body(struct call *x)
{
	struct tg_req *r = x->r;
	const struct conf *conf = r->ctx->conf;
	const struct ep_def *d = &eps[x->ep];
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

		json_array_foreach(v, i, m) if (!json_is_object(m) ||
		    !json_is_string(
			json_object_get(m, "role"))) return resp_fail_code(r,
		    x->resp, TG_EINVAL, "invalid_value", "messages",
		    "messages[%zu] must be an object with a "
		    "string role",
		    i);
		if ((rc = scan_parts(x, v)) != TG_OK)
			return rc;
	}
	x->prompt_estimate = chat_estimate_tokens(text_bytes(v)) +
	    (json_is_array(v) ? 4 * (int64_t)json_array_size(v) : 0);
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
	json_array_foreach(a, i, e) if (json_is_string(e) &&
	    strcmp(json_string_value(e), model) == 0) ok = 1;
	json_decref(a);
	return ok;
}

static enum tg_err
load_payer(struct call *x)
{
	struct db_val p[2] = {
	    DB_I64(x->r->who->key_id), DB_I64(x->r->who->user_id)};
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;

	if ((rc = db_exec(x->c, STMT_CHAT_PAYER, p, 2, &rows, x->r->arena)) !=
	    TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_EAUTH;
	v = rows.v;
	x->bp = v[0].type == DBT_NULL
	    ? conf_group_commission(x->r->ctx->conf, v[1].s)
	    : (unsigned)v[0].i;
	x->allowed = v[2].type == DBT_NULL ? NULL : v[2].s;
	x->group = v[1].type == DBT_NULL ? NULL : v[1].s;
	x->credit_limit = v[3].type == DBT_NULL ? -1 : v[3].i;
	return TG_OK;
}

/*
 * What the key's credit limit leaves (-1: no limit).  Read when needed, not
 * with the payer: spent moves with every request, the payer row is a copy.
 */
static int64_t
key_left(struct call *x)
{
	struct db_val p = DB_I64(x->r->who->key_id);
	struct db_rows rows;

	if (x->credit_limit < 0)
		return -1;
	if (db_exec(x->c, STMT_KEY_SPENT, &p, 1, &rows, x->r->arena) != TG_OK ||
	    rows.nrows != 1)
		return 0;
	return x->credit_limit > rows.v[0].i ? x->credit_limit - rows.v[0].i
					     : 0;
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

	if (route_prefs_parse(json_object_get(x->r->json, "provider"), &rp,
		&param, msg, sizeof(msg)) != TG_OK)
		return resp_fail_code(x->r, x->resp, TG_EINVAL, "invalid_value",
		    param, "%s", msg);
	for (i = 0; i < x->nroutes; i++)
		ttft[i] = x->r->ctx->pool != NULL
		    ? pool_latency(
			  x->r->ctx->pool, x->model, x->routes[i].provider_id)
		    : -1;
	x->nroutes = route_apply(x->routes, x->nroutes, &rp, ttft);
	if (x->nroutes == 0)
		return resp_fail_code(x->r, x->resp, TG_EINVAL, "no_deployment",
		    "provider",
		    "no deployment of '%s' matches the provider preferences "
		    "(order, only, ignore, max_price)",
		    x->model);
	return TG_OK;
}

static enum tg_err
load_routes(struct call *x)
{
	struct tg_req *r = x->r;
	int64_t flat = r->ctx->conf->flat_price;
	enum tg_err rc;
	size_t i;

	if (!model_allowed(x->allowed, x->model))
		return resp_fail_code(r, x->resp, TG_ENOENT, "model_not_found",
		    "model", "this API key may not use model '%s'", x->model);
	rc = upstream_routes(x->c, r->arena, x->model, x->routes,
	    UPSTREAM_MAX_ROUTES, &x->nroutes);
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
	if (flat >= 0)
		for (i = 0; i < x->nroutes; i++)
			x->routes[i].input_price = x->routes[i].output_price =
			    x->routes[i].cached_price = flat;
	if ((rc = order_routes(x)) != TG_OK)
		return rc;
	/* Hold for the dearest deployment failover could reach. */
	x->p.input = x->p.output = x->p.cached = 0;
	for (i = 0; i < x->nroutes; i++) {
		if (x->routes[i].input_price > x->p.input)
			x->p.input = x->routes[i].input_price;
		if (x->routes[i].output_price > x->p.output)
			x->p.output = x->routes[i].output_price;
	}
	x->p.cached = x->p.input;
	if (x->images_low + x->images_full > 0 &&
	    (rc = price_images(x)) != TG_OK)
		return rc;
	x->hold = chat_hold(&x->p, x->prompt_bound, x->max_out, x->n, x->bp);
	if (x->fee > 0) {
		struct cost fee;

		chat_cost_of_base(x->fee, x->bp, &fee);
		x->hold = x->hold > INT64_MAX - fee.charge
		    ? INT64_MAX
		    : x->hold + fee.charge;
	}
	return TG_OK;
}

static void
prices_of(const struct deployment *rt, struct prices *p)
{
	p->input = rt->input_price;
	p->output = rt->output_price;
	p->cached = rt->cached_price;
}

/* --- the database connection ---------------------------------------------------------- */

/*
 * A request needs the database before the upstream call (key, hold) and after
 * it (settle), not during it: a stream may last minutes, and a connection held
 * that long per request would cap the streams in flight at the pools' size.
 * So the connection goes back to the pool while the provider works.
 */
static enum tg_err
db_again(struct call *x)
{
	return router_db(x->r, &x->c);
}

static void
db_release(struct call *x)
{
	if (x->r->db != NULL) {
		db_put(x->r->ctx->db, x->r->db);
		x->r->db = NULL;
	}
	x->c = NULL;
}

/* --- rate limits ---------------------------------------------------------------------- */

/*
 * Global limits: take amount of a window's allowance in the database if the
 * total stays within cap (one statement; MariaDB reports 1 row for an insert,
 * 2 for a change and 0 when the guard left the row as it was).
 */
static int64_t
take_share(void *arg, uint64_t subject, int lim, int64_t win, int64_t amount,
    int64_t cap)
{
	struct call *x = arg;
	struct db_val p[5] = {DB_I64((int64_t)subject), DB_I64(lim),
	    DB_I64(win), DB_I64(amount), DB_I64(cap)};
	struct db_rows rows;

	if (amount > cap)
		return 0;
	if (db_exec(x->c, STMT_RATE_TAKE, p, 5, &rows, x->r->arena) != TG_OK)
		return 0; /* the database decides nothing: refuse */
	return rows.affected > 0 ? amount : 0;
}

static void
rate_headers(struct call *x, const struct rate_verdict *v)
{
	struct arena *a = x->r->arena;

	if (v->req_limit >= 0) {
		resp_header(x->resp, "x-ratelimit-limit-requests",
		    arena_printf(a, "%lld", (long long)v->req_limit));
		resp_header(x->resp, "x-ratelimit-remaining-requests",
		    arena_printf(a, "%lld", (long long)v->req_remaining));
		resp_header(x->resp, "x-ratelimit-reset-requests",
		    arena_printf(a, "%llds", (long long)v->req_reset));
	}
	if (v->tok_limit >= 0) {
		resp_header(x->resp, "x-ratelimit-limit-tokens",
		    arena_printf(a, "%lld", (long long)v->tok_limit));
		resp_header(x->resp, "x-ratelimit-remaining-tokens",
		    arena_printf(a, "%lld", (long long)v->tok_remaining));
		resp_header(x->resp, "x-ratelimit-reset-tokens",
		    arena_printf(a, "%llds", (long long)v->tok_reset));
	}
}

/*
 * Count the request against its user and its key on this node.  A user
 * without a rule of its own gets its group's defaults from the config; a key
 * is limited by its own rule and, being counted under its user too, never
 * gets past the user's.
 */
static enum tg_err
admit(struct call *x)
{
	struct tg_req *r = x->r;
	struct rate_subject s[3];
	struct rate_verdict vd;
	size_t n;
	int has_model;
	enum tg_err rc;

	if (r->ctx->rate == NULL)
		return TG_OK;
	if ((rc = limits_in_force(x->c, r, r->who->user_id, r->who->key_id,
		 x->model, x->group, &s[0].lim, &s[1].lim, &s[2].lim,
		 &has_model)) != TG_OK)
		return rc;
	s[0].key = rate_key('u', r->who->user_id);
	s[0].what = "user";
	n = 1;
	if (r->who->key_id != 0) {
		s[n].key = rate_key('k', r->who->key_id);
		s[n++].what = "API key";
		if (has_model) {
			/* The key's own limits for this model: a third count. */
			s[n].key = rate_key('k', r->who->key_id) ^
			    rate_key('m',
				(int64_t)util_fnv1a(
				    UTIL_FNV_SEED, x->model, strlen(x->model)));
			s[n++].what = "API key for this model";
		}
	}
	if (r->ctx->conf->limits_global) {
		struct rate_take take = {
		    take_share, x, r->ctx->conf->global_share};

		rate_admit_global(r->ctx->rate, s, n,
		    x->prompt_bound + x->n * x->max_out, &take, &x->ticket,
		    &vd);
	} else {
		rate_admit(r->ctx->rate, s, n,
		    x->prompt_bound + x->n * x->max_out, &x->ticket, &vd);
	}
	rate_headers(x, &vd);
	if (vd.ok)
		return TG_OK;
	resp_header(x->resp, "Retry-After",
	    arena_printf(r->arena, "%lld", (long long)vd.retry_after));
	return resp_fail_code(r, x->resp, TG_ERATE, "rate_limit_exceeded", NULL,
	    "rate limit reached: %s of this %s is %lld; retry after %lld s",
	    rate_limit_name(vd.hit), vd.what, (long long)vd.hit_limit,
	    (long long)vd.retry_after);
}

/* --- replies -------------------------------------------------------------------------- */

static char *
usd(struct arena *a, int64_t nano)
{
	char s[40];

	money_format(nano, s, sizeof(s));
	return arena_strdup(a, s);
}

/* The gateway_usage member (no comma): what tollgate adds beside usage. */
static enum tg_err
put_gateway_usage(struct call *x, struct buf *b, const char *cost)
{
	if (buf_printf(b,
		"\"gateway_usage\":{\"cost\":\"%s\",\"balance_after\":\"%s\","
		"\"request_id\":",
		cost, usd(x->r->arena, x->balance_after)) != TG_OK ||
	    jx_quote(b, x->r->request_id) != TG_OK ||
	    buf_puts(b, ",\"provider\":") != TG_OK ||
	    (x->rt != NULL ? jx_quote(b, x->rt->provider_id)
			   : buf_puts(b, "null")) != TG_OK ||
	    buf_puts(b, ",\"model\":") != TG_OK ||
	    jx_quote(b, x->model) != TG_OK || buf_puts(b, "}") != TG_OK)
		return TG_ESYSTEM;
	return TG_OK;
}

/*
 * Serialize o (an object) with usage.cost as an exact JSON number, and
 * gateway_usage: jansson prints reals in binary-float form, so a marker
 * string is replaced by the decimal; gateway_usage is text, as in the
 * splice below.
 */
static char *
dump_with_cost(struct call *x, json_t *o)
{
	json_t *u = json_object_get(o, "usage");
	const char *cost = usd(x->r->arena, x->charged), *m, *rest;
	char *s, *out = NULL;
	struct buf g;

	if (json_is_object(u))
		json_object_set_new(u, "cost", json_string(COST_MARK));
	json_object_del(o, "gateway_usage");
	buf_init(&g, GATEWAY_USAGE_MAX);
	if (buf_puts(&g, json_object_size(o) ? "," : "") != TG_OK ||
	    put_gateway_usage(x, &g, cost) != TG_OK || (s = jx_dump(o)) == NULL)
		goto out;
	if ((m = strstr(s, COST_MARK_JSON)) != NULL) {
		rest = m + strlen(COST_MARK_JSON);
	} else {
		/* A compact dump of an object ends with its closing brace. */
		m = rest = s + strlen(s) - 1;
		cost = "";
	}
	out = arena_printf(x->r->arena, "%.*s%s%.*s%s}", (int)(m - s), s, cost,
	    (int)(strlen(rest) - 1), rest, g.data);
	free(s);
out:
	buf_free(&g);
	return out;
}

/*
 * The provider's answer with usage.cost and gateway_usage spliced into its
 * own bytes, instead of re-serializing the whole document; NULL when out of
 * memory.
 */
static char *
splice_usage(struct call *x, const struct jx_where *w, size_t *outlen)
{
	const char *t = x->hr.body, *cost;
	size_t len = x->hr.body_len, uc, n;
	struct jx_where m;
	struct buf g;
	char *out = NULL, *p;

	uc = w->ve - 1; /* the usage object's closing brace */
	cost = usd(x->r->arena, x->charged);
	buf_init(&g, GATEWAY_USAGE_MAX);
	/* A comma before our cost unless the usage object has no members. */
	jx_locate(t + w->vs, w->ve - w->vs, "cost", &m);
	if (buf_printf(&g, "%s\"cost\":%s", m.members ? "," : "", cost) !=
	    TG_OK)
		goto out;
	n = g.len; /* the usage member's part; gateway_usage follows */
	if (buf_puts(&g, ",") != TG_OK ||
	    put_gateway_usage(x, &g, cost) != TG_OK)
		goto out;
	*outlen = len + g.len;
	p = out = arena_alloc(x->r->arena, *outlen + 1);
	memcpy(p, t, uc);
	memcpy(p += uc, g.data, n);
	memcpy(p += n, t + uc, w->close - uc);
	memcpy(p += w->close - uc, g.data + n, g.len - n);
	memcpy(p += g.len - n, t + w->close, len - w->close);
	out[*outlen] = '\0';
out:
	buf_free(&g);
	return out;
}

static void
meter_headers(struct call *x)
{
	resp_header(x->resp, "x-tollgate-cost", usd(x->r->arena, x->charged));
	resp_header(
	    x->resp, "x-tollgate-balance", usd(x->r->arena, x->balance_after));
}

/* Write to the client; flush at the end of each event, not per piece. */
static int
client_write(struct call *x, const char *p, size_t n, int flush)
{
	if (x->client_gone)
		return -1;
	if (x->idem != NULL && x->replay.len + n <= REPLAY_MAX)
		buf_append(&x->replay, p, n);
	else if (x->idem != NULL)
		x->replay_over = 1; /* kept whole or not at all */
	if (resp_stream_write(x->r, x->resp, p, n, flush) == -1) {
		x->client_gone = 1;
		x->t_gone = util_now();
		return -1;
	}
	x->t_out = util_now();
	return 0;
}

static int
start_stream(struct call *x)
{
	if (x->started)
		return x->client_gone ? -1 : 0;
	x->started = 1;
	if (x->rt != NULL)
		resp_header(x->resp, "x-tollgate-provider", x->rt->provider_id);
	if (resp_stream_start(x->r, x->resp, "text/event-stream") == -1) {
		x->client_gone = 1;
		x->t_gone = util_now();
		return -1;
	}
	x->t_out = util_now();
	return 0;
}

static int
send_event(struct call *x, const char *data, size_t n)
{
	/*
	 * One flush per event (the first also carries the headers): each
	 * flush is a write the web server wakes up for.
	 */
	if (start_stream(x) == -1 || client_write(x, "data: ", 6, 0) == -1 ||
	    client_write(x, data, n, 0) == -1 ||
	    client_write(x, "\n\n", 2, 1) == -1)
		return -1;
	return 0;
}

/* The OpenAI error shape as one SSE event, then the end marker. */
static void
send_error_event(struct call *x, enum tg_err e, const char *msg)
{
	json_t *o = json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message",
	    msg, "type", resp_err_type(e), "param", "code", resp_err_code(e));
	char *s = jx_dump(o);

	if (s != NULL)
		send_event(x, s, strlen(s));
	free(s);
	json_decref(o);
	send_event(x, "[DONE]", 6);
}

/* --- relaying a stream ---------------------------------------------------------------- */

/* The provider of the deployment tried last: how to read its answers. */
static const struct prov_ops *
ops_of(const struct call *x)
{
	return prov_ops_of(x->rt != NULL ? x->rt->kind : PROV_OPENAI);
}

/*
 * A write that failed because the client left is no reason to stop reading:
 * the upstream's usage, at the end of its stream, is what the request cost
 * (it bills reasoning the client never saw).  on_tick bounds the drain.
 */
static int
draining(struct call *x, int rc)
{
	return rc == -1 && x->client_gone && x->r->ctx->conf->drain_timeout > 0
	    ? 0
	    : rc;
}

static int
on_event(void *arg, const struct sse_event *ev)
{
	struct call *x = arg;
	const struct prov_ops *ops = ops_of(x);
	struct prov_event pe;
	json_t *o;
	char *s;
	int rc = 0;

	if (ev->is_comment)
		return 0; /* ours go out on their own clock */
	if (sse_is_done(ev)) {
		x->saw_done = 1;
		return 0; /* sent after settling */
	}
	if ((o = json_loadb(ev->data, ev->data_len, 0, NULL)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		/* Not ours to judge: relay as it came. */
		return draining(x, send_event(x, ev->data, ev->data_len));
	}
	ops->event(o, &x->u, &pe);
	if (pe.error)
		x->up_error_event = 1;
	if (x->client_gone)
		goto out; /* draining: only the usage matters now */
	if (x->t_first == 0 && pe.nchoices > 0)
		x->t_first = util_now();
	if (pe.usage && pe.choices_array) {
		/*
		 * The usage chunk (OpenAI's has no choices; DeepSeek's is the
		 * finish chunk): after settling, with the cost, if wanted.
		 */
		if (x->want_usage) {
			x->delivered_bytes += pe.delta_bytes;
			json_decref(x->usage_chunk);
			x->usage_chunk = json_incref(o);
			goto out;
		}
		if (pe.nchoices == 0)
			goto out;
	}
	x->delivered_bytes += pe.delta_bytes;
	if (!x->want_usage && pe.strip) {
		ops->strip_usage(o);
		if ((s = jx_dump(o)) == NULL) {
			rc = -1;
			goto out;
		}
		rc = send_event(x, s, strlen(s));
		free(s);
	} else {
		rc = send_event(x, ev->data, ev->data_len);
	}
	if (rc == 0)
		x->delivered = 1;
out:
	json_decref(o);
	return draining(x, rc);
}

static int
on_headers(void *arg, long status, const char *ctype, const char *retry_after)
{
	struct call *x = arg;

	x->up_status = status;
	x->relaying = x->stream && status == 200 && ctype != NULL &&
	    strncmp(ctype, "text/event-stream", 17) == 0;
	if (x->relaying)
		sse_init(&x->sse, EVENT_MAX, on_event, x);
	return 0;
}

static int
on_data(void *arg, const char *p, size_t n)
{
	struct call *x = arg;

	if (!x->relaying) {
		/* An error body (or a non-stream answer to a stream): keep some. */
		if (x->errbody.len + n <= ERRBODY_MAX)
			buf_append(&x->errbody, p, n);
		return 0;
	}
	if (sse_feed(&x->sse, p, n) != TG_OK)
		return -1; /* the client left, or an event outgrew EVENT_MAX */
	return 0;
}

static int
on_tick(void *arg)
{
	struct call *x = arg;
	const struct conf *f = x->r->ctx->conf;
	unsigned ka = f->keepalive;
	double now = util_now();

	if (!x->stream)
		return 0;
	/* Keep-alive comments must not keep a stream alive forever. */
	if (now - x->t0 >= f->max_stream_seconds) {
		x->capped = 1;
		return -1;
	}
	if (x->client_gone)
		return now - x->t_gone < f->drain_timeout ? 0 : -1;
	if (now - (x->started ? x->t_out : x->t0) < ka)
		return 0;
	/* Proxies and clients drop silent connections; a comment keeps it. */
	if (start_stream(x) == -1 ||
	    client_write(x, ": keep-alive\n\n", 14, 1) == -1)
		return draining(x, -1); /* gone while the provider works */
	return 0;
}

/* --- the upstream call ---------------------------------------------------------------- */

/* Error message of an upstream error body, short and single-line. */
static const char *
upstream_message(struct call *x)
{
	return ops_of(x)->error_message(
	    x->r->arena, x->errbody.data, x->errbody.len);
}

/*
 * What a provider says in a 403 when the key itself is invalid or revoked, per
 * kind (PROV__MAX: any).  Any other 403 (moderation, region, model access,
 * quota) refuses the request, not the shared key: it must not disable it.
 */
static const struct key_refusal {
	enum prov_kind kind;
	const char *pattern; /* in the error body, case-insensitive */
} key_refusals[] = {
    {PROV__MAX, "invalid_api_key"},
    {PROV__MAX, "account_deactivated"},
    {PROV__MAX, "api key revoked"},
    {PROV__MAX, "key has been revoked"},
    {PROV_OPENAI, "invalid_organization"},
    {PROV_OPENROUTER, "User not found"},
    {PROV_OPENROUTER, "key is disabled"},
    {PROV_OPENROUTER, "key disabled"},
    {PROV_DEEPSEEK, "Authentication Fails"},
};

/* A 401, or a 403 whose body says the key is invalid or revoked. */
static int
key_refused(struct call *x)
{
	size_t i;

	if (x->up_status == 401)
		return 1;
	/* errbody's data is NUL-terminated when not empty. */
	if (x->up_status != 403 || x->rt == NULL || x->errbody.len == 0)
		return 0;
	for (i = 0; i < sizeof(key_refusals) / sizeof(key_refusals[0]); i++)
		if ((key_refusals[i].kind == PROV__MAX ||
			key_refusals[i].kind == x->rt->kind) &&
		    strcasestr(x->errbody.data, key_refusals[i].pattern) !=
			NULL)
			return 1;
	return 0;
}

/* Whether another deployment may succeed where this one failed. */
static int
retryable(struct call *x)
{
	/*
	 * A timeout after the request went out is not failed over unless
	 * configured: the provider may be working on it, and billing it.
	 */
	if (x->hr.err != HTTP_OK)
		return x->hr.err == HTTP_ECONNECT ||
		    (x->hr.err == HTTP_ETIMEOUT &&
			(!x->hr.sent || x->r->ctx->conf->retry_after_timeout));
	/* A 403 that is not about the key refuses the request anywhere. */
	return x->up_status == 429 || x->up_status >= 500 ||
	    x->up_status == 401 || x->up_status == 404 ||
	    (x->up_status == 403 && key_refused(x));
}

/* Turn a failed attempt into the client's error. */
static void
attempt_error(struct call *x)
{
	const char *m = upstream_message(x);
	struct arena *a = x->r->arena;

	x->fail_code = NULL;
	if (x->hr.err == HTTP_ETIMEOUT) {
		x->fail = TG_ETIMEOUT;
		x->fail_msg = "the provider did not answer in time";
	} else if (x->hr.err != HTTP_OK) {
		x->fail = TG_EUPSTREAM;
		x->fail_msg = "the provider could not be reached";
	} else if (x->up_status == 429) {
		x->fail = TG_ERATE;
		x->fail_msg = arena_printf(a,
		    "the provider is rate limiting requests%s%s",
		    x->hr.retry_after[0] != '\0' ? "; retry after " : "",
		    x->hr.retry_after[0] != '\0'
			? arena_printf(a, "%s s", x->hr.retry_after)
			: "");
	} else if (x->up_status == 400 || x->up_status == 413 ||
	    x->up_status == 422) {
		/* The client's request: its own words come back. */
		x->fail = TG_EINVAL;
		x->fail_code = "upstream_error";
		x->fail_msg = m != NULL
		    ? arena_printf(
			  a, "the provider rejected the request: %s", m)
		    : "the provider rejected the request";
	} else if (key_refused(x)) {
		x->fail = TG_EUPSTREAM;
		x->fail_code = "upstream_error";
		x->fail_msg = "the provider refused the gateway's credentials";
	} else if (x->up_status == 403) {
		/* Moderation, region, model access: this request, as said. */
		x->fail = TG_EPERM;
		x->fail_code = "upstream_refused";
		x->fail_msg = m != NULL
		    ? arena_printf(a, "the provider refused the request: %s", m)
		    : "the provider refused the request";
	} else if (x->up_status == 200) {
		x->fail = TG_EUPSTREAM;
		x->fail_msg = "the provider's answer could not be read";
	} else {
		x->fail = TG_EUPSTREAM;
		x->fail_msg = arena_printf(
		    a, "the provider failed with HTTP %ld", x->up_status);
	}
}

static void
reset_attempt(struct call *x)
{
	http_result_clear(&x->hr);
	memset(&x->hr, 0, sizeof(x->hr));
	buf_reset(&x->errbody);
	if (x->relaying)
		sse_free(&x->sse);
	x->relaying = 0;
	x->up_status = 0;
	x->saw_done = 0;
	/* A failed deployment's error must not outlive a later success. */
	x->fail = TG_OK;
	x->fail_code = NULL;
	x->fail_msg = NULL;
}

#define SPACING_WAIT_S 10 /* longest wait for a key inside one request */

static void
nap(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9) + 1000000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* How the attempt went, for the key's health. */
static enum pool_outcome
outcome(struct call *x)
{
	long st = x->up_status;

	if (x->capped)
		return PO_NEUTRAL; /* our cap, not the key's fault */
	if (x->relaying && (x->delivered || x->u.present))
		return x->hr.err == HTTP_OK || x->client_gone ? PO_OK : PO_FAIL;
	if (x->hr.err == HTTP_EABORTED)
		return PO_NEUTRAL; /* our client left */
	if (x->hr.err != HTTP_OK && x->hr.err != HTTP_ETOOBIG)
		return PO_FAIL;
	if (st >= 200 && st < 300)
		return PO_OK;
	if (st == 429)
		return PO_RATE;
	if (st == 401 || st == 403)
		return key_refused(x) ? PO_AUTH : PO_NEUTRAL;
	return st >= 500 ? PO_FAIL : PO_NEUTRAL;
}

/* Retry-After in whole seconds (an HTTP date counts as unknown: 0). */
static int64_t
retry_after_s(const char *v)
{
	uint64_t n;

	return v != NULL && util_parse_u64(v, 0, 86400, &n) == 0 ? (int64_t)n
								 : 0;
}

/* Tell the pool; a key the provider refuses is taken out for good. */
static enum pool_outcome
report(struct call *x)
{
	enum pool_outcome o = outcome(x);
	const char *m = upstream_message(x), *err = NULL;
	struct arena *a = x->r->arena;

	/*
	 * A refusal of the key (401/403) may quote part of it back: its reason
	 * keeps the status only, as it is logged and shown to admins.
	 */
	if (o == PO_AUTH)
		m = NULL;
	if (o != PO_OK)
		err = x->hr.err != HTTP_OK
		    ? arena_printf(a, "%s", x->hr.error)
		    : arena_printf(a, "HTTP %ld%s%.*s", x->up_status,
			  m != NULL ? ": " : "",
			  m != NULL ? (int)util_utf8_cut(m, 120) : 0,
			  m != NULL ? m : "");
	pool_report(x->r->ctx->pool, x->ukey_id, o,
	    retry_after_s(x->hr.retry_after), err);
	if (o == PO_OK)
		pool_latency_note(x->r->ctx->pool, x->model, x->rt->provider_id,
		    x->stream && x->t_first > x->t_attempt
			? (x->t_first - x->t_attempt) * 1000
			: x->hr.ttfb_s * 1000);
	if (o == PO_AUTH) {
		log_msg(LOG_WARN,
		    "req=%s provider %s refused upstream key %lld (%s); "
		    "disabled",
		    x->r->request_id, x->rt->provider_id, (long long)x->ukey_id,
		    err);
		if (db_again(x) == TG_OK)
			upstream_key_dead(x->c, a, x->ukey_id, err);
	}
	return o;
}

/*
 * One attempt on route rt.  Returns 0 when the call is over (success, or a
 * failure after bytes reached the client), 1 to try the next deployment.
 */
static int
attempt_key(struct call *x, const struct deployment *rt)
{
	const struct conf *conf = x->r->ctx->conf;
	char secret[UPSTREAM_SECRET_MAX + 1];
	struct http_request hq;
	struct prov_call pc;
	enum pool_outcome o;
	enum tg_err rc;
	double wait, paced;
	int built;

	reset_attempt(x);
	x->rt = rt;
	for (;;) {
		if ((rc = db_again(x)) != TG_OK)
			break;
		rc = upstream_key_pick(x->c, x->r->arena, x->r->ctx->pool,
		    x->r->ctx->master, rt, &x->ukey_id, secret, &wait, &paced);
		/*
		 * A healthy key free again within seconds (its spacing, the
		 * end of its minute) is worth the wait; the client would only
		 * retry.  A sick key is not waited for.
		 */
		if (rc != TG_ERATE || paced <= 0 || paced > SPACING_WAIT_S ||
		    util_now() - x->t0 + paced > SPACING_WAIT_S * 2)
			break;
		db_release(x);
		nap(paced);
	}
	if (rc == TG_ERATE) {
		/* Every key is cooling down or at its own limits. */
		x->fail = TG_ERATE;
		x->fail_code = NULL;
		x->retry_after = wait > 0 ? (int64_t)wait + 1 : 60;
		x->fail_msg = arena_printf(x->r->arena,
		    "every key of the provider is rate limited or cooling "
		    "down; retry after %lld s",
		    (long long)x->retry_after);
		return 1;
	}
	if (rc != TG_OK) {
		if (rc == TG_EAUTH)
			log_msg(LOG_ERR,
			    "req=%s provider %s: a key does not open with "
			    "this master key",
			    x->r->request_id, rt->provider_id);
		x->fail = rc == TG_EDB ? TG_EDB : TG_EUNAVAIL;
		x->fail_code = NULL;
		x->fail_msg = "no provider key is available for this model";
		return 1;
	}
	built = prov_build(x->r->arena, x->ep, rt, x->r->json, x->stream,
	    x->default_out, secret, req_header(x->r, "HTTP-Referer"),
	    req_header(x->r, "X-Title"), &pc);
	crypto_wipe(secret, sizeof(secret));
	if (built == -1) {
		x->fail = TG_ESYSTEM;
		return 0;
	}
	x->attempts++;
	memset(&hq, 0, sizeof(hq));
	hq.method = "POST";
	hq.url = pc.url;
	hq.headers = pc.headers;
	hq.nheaders = pc.nheaders;
	hq.body = pc.body;
	hq.body_len = pc.body_len;
	hq.connect_timeout_ms = conf->connect_timeout * 1000;
	hq.first_byte_timeout_ms = conf->first_byte_timeout * 1000;
	hq.idle_timeout_ms = conf->idle_timeout * 1000;
	hq.max_body = x->r->ctx->conf->max_body * 4;
	hq.on_headers = x->stream ? on_headers : NULL;
	hq.on_data = x->stream ? on_data : NULL;
	hq.on_tick = on_tick;
	hq.arg = x;
	db_release(x);
	x->t_attempt = util_now();
	http_perform(x->r->http, &hq, &x->hr);
	crypto_wipe(pc.secret_header, strlen(pc.secret_header));
	if (!x->stream) {
		x->up_status = x->hr.status;
		if (x->hr.body != NULL && x->hr.status != 200)
			buf_append(&x->errbody, x->hr.body,
			    x->hr.body_len < ERRBODY_MAX ? x->hr.body_len
							 : ERRBODY_MAX);
	}
	o = report(x);
	if (!x->stream) {
		if (x->hr.err == HTTP_OK && x->hr.status == 200)
			return 0;
		attempt_error(x);
		return o == PO_RATE || o == PO_AUTH ? 2 : retryable(x);
	}
	if (x->capped) {
		x->fail = TG_ETIMEOUT;
		x->fail_code = NULL;
		x->fail_msg = arena_printf(x->r->arena,
		    "the stream reached its longest allowed duration "
		    "(max_stream_seconds %u)",
		    conf->max_stream_seconds);
		return 0;
	}
	if (x->relaying) {
		if (x->hr.err == HTTP_OK)
			sse_finish(&x->sse);
		if (x->client_gone)
			return 0;
		if (x->delivered || x->u.present) {
			if (x->hr.err != HTTP_OK ||
			    (!x->saw_done && !x->up_error_event)) {
				attempt_error(x);
				x->fail_msg = "the provider's stream broke off";
			}
			return 0;
		}
	}
	if (x->hr.err == HTTP_OK && x->up_status == 200 && !x->relaying) {
		x->fail = TG_EUPSTREAM;
		x->fail_msg =
		    "the provider did not answer with an event stream";
		return 0;
	}
	attempt_error(x);
	/* A client that left while we drained is not tried for elsewhere. */
	if (x->client_gone)
		return 0;
	return (o == PO_RATE || o == PO_AUTH) && !x->delivered ? 2
							       : retryable(x);
}

#define KEY_TRIES                                                              \
	3 /* keys of one deployment tried before the next deployment */

/* Try rt with up to KEY_TRIES of its keys; 0 when the call is over, 1 next. */
static int
attempt(struct call *x, const struct deployment *rt)
{
	int i, rc = 1;

	for (i = 0; i < KEY_TRIES; i++)
		if ((rc = attempt_key(x, rt)) != 2)
			return rc;
	return 1;
}

/* --- settling ------------------------------------------------------------------------- */

/*
 * Settle a carve through the journal: one line in a local file before the
 * answer goes out; the supervisor writes it to the database within 100 ms.
 */
static enum tg_err
journal_settle(struct call *x, const struct db_val *cols, int64_t charge)
{
	struct lease_table *lt = x->r->ctx->leases;
	struct journal_rec jr;
	int64_t balance = 0;

	memcpy(jr.lease_id, x->carve.lease_id, HOLD_ID_LEN);
	memcpy(jr.carve_id, x->carve.id, HOLD_ID_LEN);
	jr.user_id = x->r->who->user_id;
	jr.key_id = x->r->who->key_id;
	jr.charge = charge;
	jr.usage = cols;
	lease_journaled(lt, &x->carve, 1);
	if (journal_append(x->r->ctx->journal, &jr) == -1) {
		lease_journaled(lt, &x->carve, -1);
		return TG_ESYSTEM; /* settle in place instead */
	}
	x->charged = charge;
	lease_return(lt, &x->carve, charge);
	if (x->r->ctx->rate != NULL)
		rate_settle(
		    x->r->ctx->rate, &x->ticket, x->u.prompt + x->u.completion);
	/* The balance as of the newest lease, with what the leases hold. */
	x->balance_after =
	    lease_available(lt, (uint64_t)x->r->who->user_id, &balance);
	x->balance_after += balance;
	x->held = 0;
	return TG_OK;
}

/*
 * How a request that ended without the provider's usage is charged
 * (enum conf_charge), or -1 for nothing: the provider confirmed nothing was
 * billed (an error status, no connection) or nothing reached it.  A request
 * that reached the provider is never charged 0 without that confirmation.
 */
static int
ending_policy(struct call *x, enum usage_status st)
{
	const struct conf *f = x->r->ctx->conf;

	/* The provider answered an error status, or never got the request. */
	if ((x->up_status != 0 && x->up_status != 200) ||
	    (!x->hr.sent && !x->delivered))
		return -1;
	if (st == US_CLIENT_GONE)
		return f->charge_client_gone; /* the drain saw no usage */
	if (x->capped || (x->stream && st == US_ERROR && x->up_status == 200))
		return f->charge_cut; /* cut, error event or at the cap */
	if (x->hr.err == HTTP_ETIMEOUT && x->hr.sent && !x->delivered)
		return f->charge_timeout;
	/* A whole answer without usage: what was delivered. */
	return x->delivered ? CHARGE_ESTIMATE : -1;
}

static enum tg_err
settle(struct call *x, enum usage_status st, int http_status, const char *err)
{
	struct usage_rec rec;
	struct prices p;
	struct db_val cols[LEDGER_USAGE_COLS];
	int64_t charge, overrun = 0;
	int policy;
	enum tg_err rc;

	memset(&rec, 0, sizeof(rec));
	if (x->rt != NULL)
		prices_of(x->rt, &p);
	else
		p = x->p;
	x->basis = UB_MEASURED;
	if (!x->u.present && (policy = ending_policy(x, st)) != -1) {
		/* The prompt and the text sent, as the record's counts. */
		x->u.prompt = x->prompt_estimate;
		x->u.completion = chat_estimate_tokens(x->delivered_bytes);
		x->basis = policy == CHARGE_HOLD ? UB_HOLD : UB_ESTIMATED;
		x->estimated = x->basis == UB_ESTIMATED;
	}
	chat_cost(&p, &x->u, x->bp, &rec.cost);
	if (x->basis == UB_HOLD) {
		/* The hold in full, its commission as the hold priced it. */
		rec.cost.charge = x->hold;
		rec.cost.base = x->hold * 10000 / (10000 + (int64_t)x->bp);
		rec.cost.commission = x->hold - rec.cost.base;
	} else if (x->basis == UB_MEASURED && x->rt != NULL &&
	    x->rt->kind == PROV_OPENROUTER && x->u.upstream_cost >= 0) {
		/* OpenRouter says what it charged: that is the base price. */
		chat_cost_of_base(x->u.upstream_cost, x->bp, &rec.cost);
	} else if (x->fee > 0 && rec.cost.base > 0) {
		/* An allowed parameter's fee, once something was billed. */
		chat_cost_of_base(rec.cost.base + x->fee, x->bp, &rec.cost);
	}
	rec.request_id = x->r->request_id;
	rec.client_request_id = x->r->client_request_id;
	rec.user_id = x->r->who->user_id;
	rec.key_id = x->r->who->key_id;
	rec.hold_id = x->hold_id;
	rec.endpoint = eps[x->ep].name;
	rec.model = x->model;
	rec.provider = x->rt != NULL ? x->rt->provider_id : NULL;
	rec.upstream_key_id = x->ukey_id;
	rec.upstream_model = x->rt != NULL ? x->rt->upstream_model : NULL;
	rec.u = x->u;
	rec.p = p;
	rec.commission_bp = x->bp;
	rec.status = st;
	rec.http_status = http_status;
	rec.error = err;
	rec.latency_ms = (int64_t)((util_now() - x->t0) * 1000);
	rec.ttft_ms =
	    x->t_first > 0 ? (int64_t)((x->t_first - x->t0) * 1000) : -1;
	rec.stream = x->stream;
	rec.estimated = x->estimated;
	rec.basis = x->basis;
	rec.attempts = x->attempts;
	rec.idem_key = x->idem;
	/*
	 * The real charge, never capped at the hold: a provider that used
	 * more than the hold priced is paid, so the user pays it too; the
	 * overrun is recorded, audited and shown on the monitor.
	 */
	charge = rec.cost.charge < 0 ? 0 : rec.cost.charge;
	rec.overrun = charge > x->hold ? charge - x->hold : 0;
	usage_params(&rec, charge, cols);
	/* An overrun moves the balance itself: settled in place, not journaled. */
	if (x->leased && x->r->ctx->journal != NULL && rec.overrun == 0 &&
	    journal_settle(x, cols, charge) == TG_OK)
		return TG_OK;
	if ((rc = db_again(x)) == TG_OK && x->leased)
		rc = ledger_lease_charge(x->c, x->r->arena, x->carve.lease_id,
		    x->carve.id, charge, x->hold, cols, &x->charged,
		    &x->balance_after, &overrun);
	else if (rc == TG_OK)
		rc = ledger_settle_usage(x->c, x->r->arena, x->hold_id, charge,
		    cols, &x->charged, &x->balance_after, &overrun);
	if (x->leased) {
		/* The rest of the carve goes back to the lease, at once. */
		lease_return(x->r->ctx->leases, &x->carve,
		    rc == TG_OK ? x->charged : -1);
		/*
		 * The balance went below what the lease was taken against:
		 * no more carves from it; the next request reserves exactly.
		 */
		if (rc == TG_OK && overrun > 0)
			lease_drain(x->r->ctx->leases, &x->carve);
		if (rc == TG_OK)
			x->balance_after += lease_available(x->r->ctx->leases,
			    (uint64_t)x->r->who->user_id, NULL);
	}
	if (rc == TG_OK && overrun > 0) {
		log_msg(LOG_WARN,
		    "req=%s charged %lld nano-USD past its hold of %lld",
		    x->r->request_id, (long long)overrun, (long long)x->hold);
		if (ledger_audit_overrun(x->c, x->r->arena, x->r->who->user_pub,
			x->r->request_id, x->hold, x->charged,
			overrun) != TG_OK)
			log_msg(LOG_ERR,
			    "req=%s the overrun's audit row failed",
			    x->r->request_id);
	}
	if (x->r->ctx->rate != NULL)
		rate_settle(
		    x->r->ctx->rate, &x->ticket, x->u.prompt + x->u.completion);
	if (rc != TG_OK) {
		/* The sweeper will take the hold: log what we could not record. */
		log_msg(LOG_ERR,
		    "req=%s settling failed (%s); hold left to the sweeper",
		    x->r->request_id, resp_err_code(rc));
		return rc;
	}
	x->held = 0;
	return TG_OK;
}

/* Store the replayable answer (Idempotency-Key) on the usage record. */
static void
keep_replay(
    struct call *x, int status, const char *type, const char *body, size_t len)
{
	struct db_val p[6];
	char *refusal = NULL;

	if (x->idem == NULL)
		return;
	if (len > REPLAY_MAX || x->replay_over) {
		/*
		 * Never a replay cut short: the key's later requests are told
		 * that this answer is not kept (still one charge).
		 */
		json_t *o = json_pack("{s:{s:s, s:s, s:n, s:s}}", "error",
		    "message",
		    "the answer to this Idempotency-Key was too long to keep "
		    "for replays; send the request again with a new key",
		    "type", "invalid_request_error", "param", "code",
		    "idempotency_not_replayable");

		if (o == NULL || (refusal = jx_dump(o)) == NULL) {
			json_decref(o);
			return;
		}
		json_decref(o);
		arena_defer_free(x->r->arena, refusal);
		body = refusal;
		len = strlen(refusal);
		type = "application/json";
		status = 409;
	}
	p[0] = (struct db_val){.type = DBT_STR, .s = body, .len = len};
	p[1] = DB_STR(type);
	p[2] = DB_I64(status);
	p[3] = DB_I64(x->r->who->user_id);
	p[4] = DB_I64(x->r->who->key_id);
	p[5] = DB_STR(x->idem);
	if (db_again(x) == TG_OK)
		db_exec(x->c, STMT_USAGE_SET_REPLAY, p, 6, NULL, x->r->arena);
}

/* A failed request replays its error too: the key has been used. */
static void
keep_error(struct call *x, enum tg_err rc)
{
	char *s;

	if (x->idem == NULL)
		return;
	resp_set_error(x->resp, rc);
	if ((s = jx_dump(x->resp->body)) == NULL)
		return;
	keep_replay(x, resp_err_status(rc), "application/json", s, strlen(s));
	free(s);
}

/* Global limits: windows before the previous one are history. */
static void
prune_windows(struct call *x, int64_t now)
{
	static const int64_t periods[] = {60, 3600, 86400, 60, 3600, 86400};
	struct db_val p[2];
	size_t i;

	for (i = 0; i < sizeof(periods) / sizeof(periods[0]); i++) {
		p[0] = DB_I64((int64_t)i);
		p[1] = DB_I64(now / periods[i] - 1);
		db_exec(x->c, STMT_RATE_PRUNE, p, 2, NULL, x->r->arena);
	}
}

static void
maybe_sweep(struct call *x)
{
	static int64_t last; /* per process; a race only sweeps twice */
	unsigned every = x->r->ctx->conf->sweep_interval, n = 0;
	int64_t now = (int64_t)util_now();

	if (every == 0 ||
	    now - __atomic_load_n(&last, __ATOMIC_RELAXED) < every)
		return;
	__atomic_store_n(&last, now, __ATOMIC_RELAXED);
	if (db_again(x) != TG_OK)
		return;
	if (ledger_sweep(x->c, x->r->arena, SWEEP_BATCH, &n) == TG_OK && n > 0)
		log_msg(LOG_INFO, "swept %u expired hold(s)", n);
	if (x->r->ctx->conf->limits_global)
		prune_windows(x, now);
}

/* --- the handlers --------------------------------------------------------------------- */

static enum tg_err
replay(struct call *x, const struct usage_replay *rp)
{
	resp_header(x->resp, "x-idempotent-replay", "true");
	x->resp->status = rp->http_status;
	x->resp->raw = rp->body;
	x->resp->rawlen = rp->len;
	x->resp->ctype = rp->type;
	return TG_OK;
}

/*
 * The hold from a lease of this process (lease.h): carved without SQL, or
 * from a lease taken now in one call.  TG_ENOENT when this request takes its
 * own exact hold: no leases, an Idempotency-Key, a key with a credit limit,
 * a hold over a quarter of a lease, or a user who cannot spare a lease.
 */
static enum tg_err
lease_hold(struct call *x)
{
	const struct conf *f = x->r->ctx->conf;
	struct lease_table *lt = x->r->ctx->leases;
	uint64_t user = (uint64_t)x->r->who->user_id;
	unsigned char id[HOLD_ID_LEN];
	unsigned ttl = f->hold_ttl * 2 > 86400 ? 86400 : f->hold_ttl * 2;
	int64_t balance = 0;
	enum tg_err rc;

	if (lt == NULL || x->idem != NULL || x->credit_limit >= 0 ||
	    x->hold <= 0 || x->hold > f->lease_nano / 4)
		return TG_ENOENT;
	if (!lease_carve(lt, user, x->hold, x->r->request_id, 0, &x->carve)) {
		rc = ledger_lease_take(x->c, x->r->arena, x->r->who->user_id,
		    f->lease_nano, ttl, id, &balance);
		if (rc == TG_ECREDIT)
			return TG_ENOENT; /* near the limit: exact holds */
		if (rc != TG_OK)
			return rc;
		/*
		 * Carving stops at half the lease's time: a request started
		 * before then (at most hold_ttl long) ends before it expires.
		 */
		if (lease_add(lt, user, id, f->lease_nano, balance,
			util_wall() + ttl / 2.0, x->hold, x->r->request_id,
			&x->carve) == -1) {
			ledger_lease_close(x->c, x->r->arena, id, 0, 0);
			return TG_ENOENT;
		}
	}
	x->leased = 1;
	memcpy(x->hold_id, x->carve.lease_id, HOLD_ID_LEN);
	return TG_OK;
}

static enum tg_err
refuse_credit(struct call *x, enum ledger_short why)
{
	int64_t bal = 0, res = 0, od = 0, avail;
	struct arena *a = x->r->arena;

	if (why == SHORT_KEY_LIMIT) {
		avail = key_left(x);
		if (avail < 0)
			avail = 0;
	} else {
		account_balance(
		    x->c, x->r, x->r->who->user_id, &bal, &res, &od);
		avail = bal + od;
	}
	if (!eps[x->ep].outputs)
		return resp_fail_code(x->r, x->resp, TG_ECREDIT,
		    "insufficient_quota", NULL,
		    "this request needs a hold of $%s but %s $%s is "
		    "available; add credits",
		    usd(a, x->hold),
		    why == SHORT_KEY_LIMIT
			? "under this key's credit limit only"
			: "only",
		    usd(a, avail));
	return resp_fail_code(x->r, x->resp, TG_ECREDIT, "insufficient_quota",
	    NULL,
	    "this request needs a hold of $%s for its worst case (max_tokens "
	    "%lld) but %s $%s is available; add credits, or send a lower "
	    "max_tokens, which may fit",
	    usd(a, x->hold), (long long)x->max_out,
	    why == SHORT_KEY_LIMIT ? "under this key's credit limit only"
				   : "only",
	    usd(a, avail));
}

static enum tg_err
prepare(
    struct call *x, struct tg_req *r, struct tg_resp *resp, enum endpoint ep)
{
	enum tg_err rc;

	memset(x, 0, sizeof(*x));
	x->r = r;
	x->resp = resp;
	x->ep = ep;
	x->t0 = r->started > 0 ? r->started : util_now();
	if ((rc = parse_body(x)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &x->c)) != TG_OK ||
	    (rc = load_payer(x)) != TG_OK)
		return rc;
	return load_routes(x);
}

static enum tg_err
finish_nonstream(struct call *x)
{
	json_t *o = NULL;
	struct jx_where w;
	char *s = NULL;
	size_t n;
	enum tg_err rc;
	const struct prov_ops *ops = ops_of(x);
	enum prov_usage counted;

	counted = ops->answer_scan(x->hr.body, x->hr.body_len, &w, &x->u);
	if (counted == PU_LOAD_TREE) {
		o = json_loadb(x->hr.body, x->hr.body_len, 0, NULL);
		if (!json_is_object(o)) {
			json_decref(o);
			x->fail = TG_EUPSTREAM;
			x->fail_msg = "the provider's answer is not JSON";
			settle(x, US_ERROR, 502, x->fail_msg);
			return resp_fail(
			    x->r, x->resp, x->fail, NULL, "%s", x->fail_msg);
		}
		arena_defer_json(x->r->arena, o);
		counted = ops->answer_usage(o, &x->u);
	}
	if (counted == PU_NO_COUNTS) {
		x->delivered = 1;
		x->delivered_bytes = x->hr.body_len;
	}
	if ((rc = settle(x, US_OK, 200, NULL)) != TG_OK)
		return rc;
	s = o == NULL ? splice_usage(x, &w, &n) : dump_with_cost(x, o);
	if (s == NULL)
		return TG_ESYSTEM;
	if (o != NULL)
		n = strlen(s);
	resp_header(x->resp, "x-tollgate-provider", x->rt->provider_id);
	meter_headers(x);
	keep_replay(x, 200, "application/json", s, n);
	x->resp->raw = s;
	x->resp->rawlen = n;
	return TG_OK;
}

static enum tg_err
finish_stream(struct call *x)
{
	enum usage_status st = US_OK;
	int code = 200;
	char *s;

	if (x->client_gone) {
		st = US_CLIENT_GONE;
		code = 499;
	} else if (x->fail != TG_OK || x->up_error_event) {
		st = US_ERROR;
		code = x->fail != TG_OK ? resp_err_status(x->fail) : 502;
	}
	settle(x, st, code, x->fail_msg);
	if (x->client_gone)
		return TG_OK;
	if (x->fail != TG_OK) {
		send_error_event(x, x->fail, x->fail_msg);
	} else {
		if (x->usage_chunk != NULL) {
			if ((s = dump_with_cost(x, x->usage_chunk)) != NULL)
				send_event(x, s, strlen(s));
		}
		send_event(x, "[DONE]", 6);
	}
	keep_replay(x, 200, "text/event-stream", x->replay.data, x->replay.len);
	return TG_OK;
}

static enum tg_err
metered(struct tg_req *r, struct tg_resp *resp, enum endpoint ep)
{
	struct call x;
	struct usage_replay rp;
	enum ledger_short why = SHORT_NONE;
	const char *idem;
	size_t i;
	int replayed = 0, more;
	enum tg_err rc;

	if ((rc = prepare(&x, r, resp, ep)) != TG_OK)
		return rc;
	if (!r->ctx->have_master)
		return resp_fail(r, resp, TG_EUNAVAIL, NULL,
		    "the gateway has no master key configured, so it cannot "
		    "use provider keys; see [security] master_key_file");
	if ((idem = req_header(r, "Idempotency-Key")) != NULL) {
		if (strlen(idem) == 0 || strlen(idem) > IDEM_MAX ||
		    strspn(idem,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01"
			"23456789-_.:") != strlen(idem))
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_idempotency_key", NULL,
			    "Idempotency-Key must be 1 to %d of A-Z a-z 0-9 - "
			    "_ . :",
			    IDEM_MAX);
		x.idem = idem;
		if ((rc = usage_by_idem(x.c, r->arena, r->who->user_id,
			 r->who->key_id, idem, &rp)) == TG_OK)
			return replay(&x, &rp);
		if (rc == TG_ECONFLICT)
			return resp_fail_code(r, resp, rc,
			    "idempotency_key_used", NULL,
			    "this Idempotency-Key was used by a request whose "
			    "answer was not kept; use a new key");
	}
	if ((rc = admit(&x)) != TG_OK)
		return rc;
	if ((rc = lease_hold(&x)) == TG_ENOENT)
		rc = ledger_reserve(x.c, r->arena, r->who->user_id,
		    r->who->key_id, x.hold, x.idem, r->ctx->conf->hold_ttl,
		    x.hold_id, &replayed, &why);
	if (rc != TG_OK || replayed)
		rate_settle(r->ctx->rate, &x.ticket, 0); /* nothing was used */
	if (rc == TG_ECREDIT)
		return refuse_credit(&x, why);
	if (rc != TG_OK)
		return rc;
	if (replayed) {
		if (usage_by_idem(x.c, r->arena, r->who->user_id,
			r->who->key_id, idem, &rp) == TG_OK)
			return replay(&x, &rp);
		return resp_fail_code(r, resp, TG_ECONFLICT,
		    "idempotency_in_progress", NULL,
		    "a request with this Idempotency-Key is still running");
	}
	x.held = 1;
	buf_init(&x.errbody, ERRBODY_MAX);
	buf_init(&x.replay, REPLAY_MAX);
	for (i = 0, more = 1; i < x.nroutes && more; i++)
		more = attempt(&x, &x.routes[i]);
	if (x.relaying)
		sse_free(&x.sse);
	x.relaying = 0;
	if (x.stream && (x.started || x.delivered || x.client_gone)) {
		rc = finish_stream(&x);
	} else if (x.fail == TG_OK && !x.stream) {
		rc = finish_nonstream(&x);
	} else {
		if (x.fail == TG_OK)
			x.fail = TG_EUPSTREAM;
		settle(&x, US_ERROR, resp_err_status(x.fail), x.fail_msg);
		if (x.up_status == 429 && x.hr.retry_after[0] != '\0')
			resp_header(resp, "Retry-After",
			    arena_strdup(r->arena, x.hr.retry_after));
		else if (x.fail == TG_ERATE && x.retry_after > 0)
			resp_header(resp, "Retry-After",
			    arena_printf(
				r->arena, "%lld", (long long)x.retry_after));
		rc = x.fail_code != NULL
		    ? resp_fail_code(r, resp, x.fail, x.fail_code, NULL, "%s",
			  x.fail_msg != NULL ? x.fail_msg : "upstream failure")
		    : resp_fail(r, resp, x.fail, NULL, "%s",
			  x.fail_msg != NULL ? x.fail_msg : "upstream failure");
		keep_error(&x, rc);
	}
	json_decref(x.usage_chunk);
	http_result_clear(&x.hr);
	buf_free(&x.errbody);
	buf_free(&x.replay);
	maybe_sweep(&x);
	return rc;
}

enum tg_err
h_chat(struct tg_req *r, struct tg_resp *resp)
{
	return metered(r, resp, EP_CHAT);
}

enum tg_err
h_completions(struct tg_req *r, struct tg_resp *resp)
{
	return metered(r, resp, EP_COMPLETIONS);
}

enum tg_err
h_embeddings(struct tg_req *r, struct tg_resp *resp)
{
	return metered(r, resp, EP_EMBEDDINGS);
}

enum tg_err
h_quote(struct tg_req *r, struct tg_resp *resp)
{
	struct call x;
	int64_t bal, res, od, avail, left;
	enum tg_err rc;
	enum endpoint ep = EP_CHAT;

	/* A body with prompt or input quotes those endpoints. */
	if (json_object_get(r->json, "messages") == NULL) {
		if (json_object_get(r->json, "prompt") != NULL)
			ep = EP_COMPLETIONS;
		else if (json_object_get(r->json, "input") != NULL)
			ep = EP_EMBEDDINGS;
	}
	if ((rc = prepare(&x, r, resp, ep)) != TG_OK)
		return rc;
	if ((rc = account_balance(x.c, r, r->who->user_id, &bal, &res, &od)) !=
	    TG_OK)
		return rc;
	avail = bal + od;
	if ((left = key_left(&x)) >= 0 && left < avail)
		avail = left;
	resp->body = json_pack(
	    "{s:s, s:s, s:s, s:{s:o, s:o, s:o}, s:s, s:I, s:I, s:I, s:s, s:s, "
	    "s:b}",
	    "model", x.model, "provider", x.routes[0].provider_id,
	    "upstream_model", x.routes[0].upstream_model, "prices", "input",
	    catalog_price_per_million(x.routes[0].input_price), "output",
	    catalog_price_per_million(x.routes[0].output_price), "cached_input",
	    catalog_price_per_million(x.routes[0].cached_price),
	    "commission_percent",
	    arena_printf(r->arena, "%u.%02u", x.bp / 100, x.bp % 100),
	    "max_tokens", (json_int_t)x.max_out, "prompt_bound",
	    (json_int_t)x.prompt_bound, "image_tokens",
	    (json_int_t)x.image_tokens, "hold", usd(r->arena, x.hold),
	    "available", usd(r->arena, avail), "fits", avail >= x.hold);
	return TG_OK;
}
