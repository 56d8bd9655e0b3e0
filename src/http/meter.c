/* meter.c: the meter of a metered request: limits admission, the charge, its settlement, the answer kept for replays */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/accounts.h"
#include "domain/auth.h"
#include "domain/credit.h"
#include "domain/limits.h"
#include "domain/metrics.h"
#include "domain/usage.h"
#include "http/chat.h"
#include "http/conv_cap.h"
#include "http/ctx.h"
#include "http/estimate.h"
#include "http/req.h"
#include "http/resp.h"
#include "io/db.h"
#include "store/stmt.h"

/* --- rate limits ---------------------------------------------------------------------- */

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
enum tg_err
meter_admit(struct call *x)
{
	struct tg_req *r = x->r;
	struct rate_subject s[3];
	struct rate_verdict vd;
	size_t n;
	int has_model;
	enum tg_err rc;

	r->model = x->model; /* issue 19: obs: the request's model label */
	if (r->ctx->rate == NULL)
		return TG_OK;
	if ((rc = limits_in_force(x->c, &x->op, r->who->user_id, r->who->key_id,
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
		struct rate_db rdb = {x->c, r->arena};
		struct rate_take take = {
		    rate_take_db, &rdb, r->ctx->conf->global_share};

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
	metrics_rate_limited(); /* issue 19: obs */
	resp_header(x->resp, "Retry-After",
	    arena_printf(r->arena, "%lld", (long long)vd.retry_after));
	return resp_fail_code(r, x->resp, TG_ERATE, "rate_limit_exceeded", NULL,
	    "rate limit reached: %s of this %s is %lld; retry after %lld s",
	    rate_limit_name(vd.hit), vd.what, (long long)vd.hit_limit,
	    (long long)vd.retry_after);
}

/* --- settling ------------------------------------------------------------------------- */

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
	if ((x->rl.up_status != 0 && x->rl.up_status != 200) ||
	    (!x->rl.hr.sent && !x->rl.delivered))
		return -1;
	if (st == US_CLIENT_GONE)
		return f->charge_client_gone; /* the drain saw no usage */
	if (x->rl.capped ||
	    (x->stream && st == US_ERROR && x->rl.up_status == 200))
		return f->charge_cut; /* cut, error event or at the cap */
	if (x->rl.hr.err == HTTP_ETIMEOUT && x->rl.hr.sent && !x->rl.delivered)
		return f->charge_timeout;
	/* A whole answer without usage: what was delivered. */
	return x->rl.delivered ? CHARGE_ESTIMATE : -1;
}

/* The connection credit_settle asks for when it settles in place. */
static enum tg_err
settle_db(void *arg, struct db_conn **out)
{
	struct call *x = arg;
	enum tg_err rc;

	if ((rc = chat_db(x)) == TG_OK)
		*out = x->c;
	return rc;
}

/*
 * What the request costs at the prices of the deployment that answered (*p):
 * measured, estimated or the hold in full (ending_policy).
 */
static void
cost_of(
    struct call *x, enum usage_status st, struct prices *p, struct cost *cost)
{
	int policy;

	if (x->rl.rt != NULL)
		chat_prices_of(x->rl.rt, p);
	else
		*p = x->p;
	x->basis = UB_MEASURED;
	if (!x->u.present && (policy = ending_policy(x, st)) != -1) {
		/* The prompt and the text sent, as the record's counts. */
		x->u.prompt = estimate_prompt(x);
		x->u.completion = estimate_completion(x);
		x->basis = policy == CHARGE_HOLD ? UB_HOLD : UB_ESTIMATED;
		x->estimated = x->basis == UB_ESTIMATED;
	}
	chat_cost(p, &x->u, x->bp, cost);
	/*
	 * issue 18: openrouter.  A pass-through has no catalogue price: what
	 * OpenRouter did not say it charged is charged as the hold.
	 */
	if (x->passthrough && x->u.upstream_cost < 0 &&
	    (x->u.present || x->basis != UB_MEASURED))
		x->basis = UB_HOLD;
	if (x->basis == UB_HOLD) {
		/* The hold in full, its commission as the hold priced it. */
		cost->charge = x->hold;
		cost->base = x->hold * 10000 / (10000 + (int64_t)x->bp);
		cost->commission = x->hold - cost->base;
	} else if (x->basis == UB_MEASURED && x->rl.rt != NULL &&
	    x->rl.rt->kind == PROV_OPENROUTER && x->u.upstream_cost >= 0) {
		/* OpenRouter says what it charged: that is the base price. */
		chat_cost_of_base(x->u.upstream_cost, x->bp, cost);
	} else if (x->fee > 0 && cost->base > 0) {
		/* An allowed parameter's fee, once something was billed. */
		chat_cost_of_base(cost->base + x->fee, x->bp, cost);
	}
}

/*
 * issue 19: obs: a settled request's time to first token, tokens and charge
 * into the node's metrics, its model and cost onto the request (access log).
 */
static void
observe_settled(struct call *x, enum tg_err rc)
{
	int64_t tok[4];

	x->r->model = x->model;
	if (x->rl.t_first > 0)
		metrics_ttft(x->rl.t_first - x->t0);
	if (rc != TG_OK)
		return;
	x->r->cost = x->cr.charged;
	tok[MT_PROMPT] = x->u.prompt;
	tok[MT_COMPLETION] = x->u.completion;
	tok[MT_CACHED] = x->u.cached;
	tok[MT_REASONING] = x->u.reasoning;
	metrics_tokens(tok, x->cr.charged);
}

enum tg_err
meter_settle(
    struct call *x, enum usage_status st, int http_status, const char *err)
{
	struct usage_rec rec;
	struct prices p;
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit_db db = {settle_db, x};
	struct credit_env env = {x->r->ctx->leases, x->r->ctx->journal};
	int64_t charge;
	enum tg_err rc;

	memset(&rec, 0, sizeof(rec));
	cost_of(x, st, &p, &rec.cost);
	rec.request_id = x->r->request_id;
	rec.client_request_id = x->r->client_request_id;
	rec.user_id = x->r->who->user_id;
	rec.key_id = x->r->who->key_id;
	rec.hold_id = x->cr.hold_id;
	rec.endpoint = chat_eps[x->ep].name;
	rec.api = x->api != NULL ? x->api->name : NULL;
	rec.model = x->model;
	rec.provider = x->rl.rt != NULL ? x->rl.rt->provider_id : NULL;
	rec.upstream_key_id = x->rl.ukey_id;
	rec.upstream_model = x->rl.rt != NULL ? x->rl.rt->upstream_model : NULL;
	rec.u = x->u;
	rec.p = p;
	rec.commission_bp = x->bp;
	rec.status = st;
	rec.http_status = http_status;
	rec.error = err;
	if (err == NULL && x->passthrough && x->basis == UB_HOLD)
		rec.error = "OpenRouter reported no usage.cost: charged the "
			    "hold"; /* issue 18: openrouter */
	rec.latency_ms = (int64_t)((util_now() - x->t0) * 1000);
	rec.ttft_ms =
	    x->rl.t_first > 0 ? (int64_t)((x->rl.t_first - x->t0) * 1000) : -1;
	rec.stream = x->stream;
	rec.estimated = x->estimated;
	rec.basis = x->basis;
	rec.attempts = x->rl.attempts;
	rec.idem_key = x->idem;
	/*
	 * The real charge, never capped at the hold: a provider that used
	 * more than the hold priced is paid, so the user pays it too; the
	 * overrun is recorded, audited and shown on the monitor.
	 */
	charge = rec.cost.charge < 0 ? 0 : rec.cost.charge;
	rec.overrun = charge > x->hold ? charge - x->hold : 0;
	usage_params(&rec, charge, cols);
	rc = credit_settle(&x->op, &db, &env, &x->cr, charge, cols);
	x->charged = x->cr.charged;
	x->balance_after = x->cr.balance_after;
	observe_settled(x, rc);
	conv_record(x, st, http_status); /* issue 18: convlog */
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
	return TG_OK;
}

/* Store the replayable answer (Idempotency-Key) on the usage record. */
enum tg_err
meter_keep_replay(
    struct call *x, int status, const char *type, const char *body, size_t len)
{
	struct db_val p[6];
	struct credit_db db = {settle_db, x};
	struct credit_env env = {x->r->ctx->leases, x->r->ctx->journal};
	char *refusal = NULL;
	enum tg_err rc;

	if (x->idem == NULL)
		return TG_OK;
	if (len > REPLAY_MAX || x->rl.replay_over) {
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
			return meter_finish(x);
		}
		json_decref(o);
		arena_defer_free(x->r->arena, refusal);
		body = refusal;
		len = strlen(refusal);
		type = "application/json";
		status = 409;
	}
	/*
	 * issue 20: into the settle's line when it waits for this answer; a
	 * settle that could go neither there nor to the database (nor to a
	 * line of its own) is the request's failure, as it was in place.
	 */
	rc = credit_keep(&x->op, &db, &env, &x->cr, status, type, body, len);
	if (rc != TG_ENOENT) {
		if (rc != TG_OK)
			log_msg(LOG_ERR,
			    "req=%s settling failed (%s); hold left to the "
			    "sweeper",
			    x->r->request_id, resp_err_code(rc));
		return rc;
	}
	p[0] = (struct db_val){.type = DBT_STR, .s = body, .len = len};
	p[1] = DB_STR(type);
	p[2] = DB_I64(status);
	p[3] = DB_I64(x->r->who->user_id);
	p[4] = DB_I64(x->r->who->key_id);
	p[5] = DB_STR(x->idem);
	if (chat_db(x) == TG_OK)
		db_exec(x->c, STMT_USAGE_SET_REPLAY, p, 6, NULL, x->r->arena);
	return TG_OK;
}

/*
 * issue 20: a settle still waiting for its answer (the request ended without
 * one to keep) is written now, before the answer goes out.
 */
enum tg_err
meter_finish(struct call *x)
{
	struct credit_db db = {settle_db, x};
	struct credit_env env = {x->r->ctx->leases, x->r->ctx->journal};
	enum tg_err rc;

	if ((rc = credit_settle_pending(&x->op, &db, &env, &x->cr)) != TG_OK)
		log_msg(LOG_ERR,
		    "req=%s settling failed (%s); hold left to the sweeper",
		    x->r->request_id, resp_err_code(rc));
	return rc;
}

/* A failed request replays its error too: the key has been used. */
void
meter_keep_error(struct call *x, enum tg_err rc)
{
	char *s;

	if (x->idem == NULL)
		return;
	resp_set_error(x->resp, rc);
	if ((s = jx_dump(x->resp->body)) == NULL)
		return;
	(void)meter_keep_replay(
	    x, resp_err_status(rc), "application/json", s, strlen(s));
	free(s);
}

enum tg_err
meter_refused(struct call *x, enum tg_err rc)
{
	struct usage_rec rec;

	if (rc != TG_ERATE && rc != TG_ECREDIT)
		return rc;
	memset(&rec, 0, sizeof(rec));
	rec.request_id = x->r->request_id;
	rec.client_request_id = x->r->client_request_id;
	rec.user_id = x->r->who->user_id;
	rec.key_id = x->r->who->key_id;
	rec.endpoint = chat_eps[x->ep].name;
	rec.api = x->api != NULL ? x->api->name : NULL;
	rec.model = x->model;
	rec.http_status = resp_err_status(rc);
	rec.error = x->resp->errmsg;
	rec.latency_ms = (int64_t)((util_now() - x->t0) * 1000);
	rec.stream = x->stream;
	/* Without a journal (no run_dir) the node's refusal count still has it. */
	if (x->r->ctx->journal != NULL &&
	    usage_refused(x->r->ctx->journal, &rec, util_wall()) != TG_OK)
		log_msg(LOG_WARN,
		    "req=%s its refusal is not in the request log",
		    x->r->request_id);
	return rc;
}
