/* h_chat.c: the metered endpoints: chat, completions, embeddings and the quote */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/money.h"
#include "core/util.h"
#include "domain/accounts.h"
#include "domain/auth.h"
#include "domain/catalog.h"
#include "domain/credit.h"
#include "domain/ledger.h"
#include "domain/limits.h"
#include "domain/op.h"
#include "domain/usage.h"
#include "http/chat.h"
#include "http/ctx.h"
#include "http/handlers.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "io/db.h"
#include "store/stmt.h"

#define SWEEP_BATCH    100
#define COST_MARK      "\x01tollgate-cost\x01"
#define COST_MARK_JSON "\"\\u0001tollgate-cost\\u0001\""
/* The gateway_usage member: ids and names are capped far below this. */
#define GATEWAY_USAGE_MAX 4096

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
	    (x->rl.rt != NULL ? jx_quote(b, x->rl.rt->provider_id)
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
	const char *t = x->rl.hr.body, *cost;
	size_t len = x->rl.hr.body_len, uc, n;
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

static enum tg_err
settle(struct call *x, enum usage_status st, int http_status, const char *err)
{
	struct usage_rec rec;
	struct prices p;
	struct db_val cols[LEDGER_USAGE_COLS];
	struct credit_db db = {settle_db, x};
	struct credit_env env = {x->r->ctx->leases, x->r->ctx->journal};
	int64_t charge;
	int policy;
	enum tg_err rc;

	memset(&rec, 0, sizeof(rec));
	if (x->rl.rt != NULL)
		chat_prices_of(x->rl.rt, &p);
	else
		p = x->p;
	x->basis = UB_MEASURED;
	if (!x->u.present && (policy = ending_policy(x, st)) != -1) {
		/* The prompt and the text sent, as the record's counts. */
		x->u.prompt = x->prompt_estimate;
		x->u.completion = chat_estimate_tokens(x->rl.delivered_bytes);
		x->basis = policy == CHARGE_HOLD ? UB_HOLD : UB_ESTIMATED;
		x->estimated = x->basis == UB_ESTIMATED;
	}
	chat_cost(&p, &x->u, x->bp, &rec.cost);
	if (x->basis == UB_HOLD) {
		/* The hold in full, its commission as the hold priced it. */
		rec.cost.charge = x->hold;
		rec.cost.base = x->hold * 10000 / (10000 + (int64_t)x->bp);
		rec.cost.commission = x->hold - rec.cost.base;
	} else if (x->basis == UB_MEASURED && x->rl.rt != NULL &&
	    x->rl.rt->kind == PROV_OPENROUTER && x->u.upstream_cost >= 0) {
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
	rec.hold_id = x->cr.hold_id;
	rec.endpoint = chat_eps[x->ep].name;
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
static void
keep_replay(
    struct call *x, int status, const char *type, const char *body, size_t len)
{
	struct db_val p[6];
	char *refusal = NULL;

	if (x->idem == NULL)
		return;
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
	if (chat_db(x) == TG_OK)
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
	if (chat_db(x) != TG_OK)
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

static enum tg_err
refuse_credit(struct call *x, enum ledger_short why)
{
	int64_t bal = 0, res = 0, od = 0, avail;
	struct arena *a = x->r->arena;

	if (why == SHORT_KEY_LIMIT) {
		avail = chat_key_left(x);
		if (avail < 0)
			avail = 0;
	} else {
		account_balance(
		    x->c, x->r, x->r->who->user_id, &bal, &res, &od);
		avail = bal + od;
	}
	if (!chat_eps[x->ep].outputs)
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
	req_op(r, &x->op);
	if ((rc = chat_parse(x)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &x->c)) != TG_OK ||
	    (rc = chat_payer(x)) != TG_OK)
		return rc;
	return chat_routes(x);
}

static enum tg_err
finish_nonstream(struct call *x)
{
	json_t *o = NULL;
	struct jx_where w;
	char *s = NULL;
	size_t n;
	enum tg_err rc;
	const struct prov_ops *ops = relay_ops(x);
	enum prov_usage counted;

	counted = ops->answer_scan(x->rl.hr.body, x->rl.hr.body_len, &w, &x->u);
	if (counted == PU_LOAD_TREE) {
		o = json_loadb(x->rl.hr.body, x->rl.hr.body_len, 0, NULL);
		if (!json_is_object(o)) {
			json_decref(o);
			x->rl.fail = TG_EUPSTREAM;
			x->rl.fail_msg = "the provider's answer is not JSON";
			settle(x, US_ERROR, 502, x->rl.fail_msg);
			return resp_fail(x->r, x->resp, x->rl.fail, NULL, "%s",
			    x->rl.fail_msg);
		}
		arena_defer_json(x->r->arena, o);
		counted = ops->answer_usage(o, &x->u);
	}
	if (counted == PU_NO_COUNTS) {
		x->rl.delivered = 1;
		x->rl.delivered_bytes = x->rl.hr.body_len;
	}
	if ((rc = settle(x, US_OK, 200, NULL)) != TG_OK)
		return rc;
	s = o == NULL ? splice_usage(x, &w, &n) : dump_with_cost(x, o);
	if (s == NULL)
		return TG_ESYSTEM;
	if (o != NULL)
		n = strlen(s);
	resp_header(x->resp, "x-tollgate-provider", x->rl.rt->provider_id);
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

	if (x->rl.client_gone) {
		st = US_CLIENT_GONE;
		code = 499;
	} else if (x->rl.fail != TG_OK || x->rl.up_error_event) {
		st = US_ERROR;
		code = x->rl.fail != TG_OK ? resp_err_status(x->rl.fail) : 502;
	}
	settle(x, st, code, x->rl.fail_msg);
	if (x->rl.client_gone)
		return TG_OK;
	if (x->rl.fail != TG_OK) {
		relay_send_error(x, x->rl.fail, x->rl.fail_msg);
	} else {
		if (x->rl.usage_chunk != NULL) {
			if ((s = dump_with_cost(x, x->rl.usage_chunk)) != NULL)
				relay_send_event(x, s, strlen(s));
		}
		relay_send_event(x, "[DONE]", 6);
	}
	keep_replay(
	    x, 200, "text/event-stream", x->rl.replay.data, x->rl.replay.len);
	return TG_OK;
}

static enum tg_err
metered(struct tg_req *r, struct tg_resp *resp, enum endpoint ep)
{
	struct call x;
	struct usage_replay rp;
	struct credit_env env = {r->ctx->leases, r->ctx->journal};
	struct credit_ask ask;
	const char *idem;
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
	ask.amount = x.hold;
	ask.idem = x.idem;
	ask.key_limited = x.credit_limit >= 0;
	rc = credit_reserve(&x.op, x.c, &env, &ask, &x.cr);
	if (rc != TG_OK || x.cr.replayed)
		rate_settle(r->ctx->rate, &x.ticket, 0); /* nothing was used */
	if (rc == TG_ECREDIT)
		return refuse_credit(&x, x.cr.short_of);
	if (rc != TG_OK)
		return rc;
	if (x.cr.replayed) {
		if (usage_by_idem(x.c, r->arena, r->who->user_id,
			r->who->key_id, idem, &rp) == TG_OK)
			return replay(&x, &rp);
		return resp_fail_code(r, resp, TG_ECONFLICT,
		    "idempotency_in_progress", NULL,
		    "a request with this Idempotency-Key is still running");
	}
	buf_init(&x.rl.errbody, ERRBODY_MAX);
	buf_init(&x.rl.replay, REPLAY_MAX);
	relay_run(&x);
	if (x.stream && (x.rl.started || x.rl.delivered || x.rl.client_gone)) {
		rc = finish_stream(&x);
	} else if (x.rl.fail == TG_OK && !x.stream) {
		rc = finish_nonstream(&x);
	} else {
		if (x.rl.fail == TG_OK)
			x.rl.fail = TG_EUPSTREAM;
		settle(&x, US_ERROR, resp_err_status(x.rl.fail), x.rl.fail_msg);
		if (x.rl.up_status == 429 && x.rl.hr.retry_after[0] != '\0')
			resp_header(resp, "Retry-After",
			    arena_strdup(r->arena, x.rl.hr.retry_after));
		else if (x.rl.fail == TG_ERATE && x.rl.retry_after > 0)
			resp_header(resp, "Retry-After",
			    arena_printf(
				r->arena, "%lld", (long long)x.rl.retry_after));
		rc = x.rl.fail_code != NULL
		    ? resp_fail_code(r, resp, x.rl.fail, x.rl.fail_code, NULL,
			  "%s",
			  x.rl.fail_msg != NULL ? x.rl.fail_msg
						: "upstream failure")
		    : resp_fail(r, resp, x.rl.fail, NULL, "%s",
			  x.rl.fail_msg != NULL ? x.rl.fail_msg
						: "upstream failure");
		keep_error(&x, rc);
	}
	json_decref(x.rl.usage_chunk);
	http_result_clear(&x.rl.hr);
	buf_free(&x.rl.errbody);
	buf_free(&x.rl.replay);
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
	if ((left = chat_key_left(&x)) >= 0 && left < avail)
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
