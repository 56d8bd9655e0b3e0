/* h_chat.c: the metered endpoints: chat, completions, embeddings and the quote */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
#include "domain/inflight.h"
#include "domain/journal.h"
#include "domain/ledger.h"
#include "domain/limits.h"
#include "domain/op.h"
#include "domain/sandbox.h"
#include "domain/usage.h"
#include "http/answer.h"
#include "http/chat.h"
#include "http/conv_cap.h"
#include "http/estimate.h"
#include "http/ctx.h"
#include "http/handlers.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "io/db.h"
#include "store/stmt.h"

/*
 * issue 20: how long a replay waits for its first request's record to leave
 * this node's journal (a write-out comes within a tick, 100 ms).
 */
#define WAIT_REPLAY_MS 250

/* --- replies -------------------------------------------------------------------------- */

/* What the answer says about the metering. */
static void
answer_meta(const struct call *x, struct answer_meta *m)
{
	m->request_id = x->r->request_id;
	m->provider = x->rl.rt != NULL ? x->rl.rt->provider_id : NULL;
	m->model = x->model;
	m->charged = x->charged;
	m->balance_after = x->balance_after;
	m->tokens_charged = x->u.prompt + x->u.completion;
	m->api_key = x->r->who->session || x->r->who->masked[0] == '\0'
	    ? NULL
	    : x->r->who->masked;
}

static void
meter_headers(struct call *x)
{
	resp_header(
	    x->resp, "x-tollgate-cost", answer_usd(x->r->arena, x->charged));
	resp_header(x->resp, "x-tollgate-balance",
	    answer_usd(x->r->arena, x->balance_after));
}

/* --- the handlers --------------------------------------------------------------------- */

static enum tg_err
send_replay(struct call *x, const struct usage_replay *rp)
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
		    x->c, &x->op, sandbox_account(x->r->who), &bal, &res, &od);
		avail = bal + od;
	}
	if (!chat_eps[x->ep].outputs)
		return resp_fail_code(x->r, x->resp, TG_ECREDIT,
		    "insufficient_quota", NULL,
		    "this request needs a hold of $%s but %s $%s is "
		    "available; add credits",
		    answer_usd(a, x->hold),
		    why == SHORT_KEY_LIMIT
			? "under this key's credit limit only"
			: "only",
		    answer_usd(a, avail));
	return resp_fail_code(x->r, x->resp, TG_ECREDIT, "insufficient_quota",
	    NULL,
	    "this request needs a hold of $%s for its worst case (max_tokens "
	    "%lld) but %s $%s is available; add credits, or send a lower "
	    "max_tokens, which may fit",
	    answer_usd(a, x->hold), (long long)x->max_out,
	    why == SHORT_KEY_LIMIT ? "under this key's credit limit only"
				   : "only",
	    answer_usd(a, avail));
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

enum tg_err
chat_prepare(struct call *x, struct tg_req *r, struct tg_resp *resp)
{
	return prepare(x, r, resp, EP_CHAT);
}

/* A provider's answer of another format, as an OpenAI completion (*o). */
static enum tg_err
translate_answer(struct call *x, json_t **o)
{
	json_t *t = json_loadb(x->rl.hr.body, x->rl.hr.body_len, 0, NULL);

	*o = NULL;
	if (json_is_object(t))
		*o = prov_ops_of(x->rl.rt->kind)->answer_to_openai(t, x->model);
	json_decref(t);
	if (*o == NULL)
		return TG_EUPSTREAM;
	arena_defer_json(x->r->arena, *o);
	return TG_OK;
}

/*
 * The answer's usage into x->u, from its text when it can be, else from its
 * tree (*o, loaded or translated).  TG_EUPSTREAM when it cannot be read.
 */
static enum tg_err
answer_counts(struct call *x, json_t **o, struct jx_where *w, int *counted)
{
	const struct prov_ops *ops = relay_ops(x);

	*o = NULL;
	if (x->rl.translate) {
		if (translate_answer(x, o) != TG_OK)
			return TG_EUPSTREAM;
		*counted = ops->answer_usage(*o, &x->u);
		return TG_OK;
	}
	*counted = x->api != NULL
	    ? PU_LOAD_TREE
	    : ops->answer_scan(x->rl.hr.body, x->rl.hr.body_len, w, &x->u);
	if (*counted != PU_LOAD_TREE)
		return TG_OK;
	*o = json_loadb(x->rl.hr.body, x->rl.hr.body_len, 0, NULL);
	if (!json_is_object(*o)) {
		json_decref(*o);
		*o = NULL;
		return TG_EUPSTREAM;
	}
	arena_defer_json(x->r->arena, *o);
	*counted = ops->answer_usage(*o, &x->u);
	return TG_OK;
}

/* The answer as the client's API says it, with the cost; NULL no memory. */
static char *
api_answer(struct call *x, json_t *o, size_t *n)
{
	struct api_meta m;
	json_t *a;
	char *s, *out;

	relay_api_meta(x, &m);
	if (x->rl.native) {
		relay_rename_native(o, x->model);
		x->api->native_answer(o, &m);
		a = json_incref(o);
	} else {
		a = x->api->answer(o, &m);
	}
	s = a != NULL ? api_dump(a, &m) : NULL;
	json_decref(a);
	if (s == NULL)
		return NULL;
	arena_defer(x->r->arena, free, s);
	out = s;
	*n = strlen(out);
	return out;
}

static enum tg_err
finish_nonstream(struct call *x)
{
	json_t *o = NULL;
	struct answer_meta m;
	struct jx_where w;
	char *s = NULL;
	size_t n;
	enum tg_err rc;
	int counted;
	enum usage_status st = US_OK;
	int code = 200;

	if (answer_counts(x, &o, &w, &counted) != TG_OK) {
		x->rl.fail = TG_EUPSTREAM;
		x->rl.fail_msg = "the provider's answer is not JSON";
		meter_settle(x, US_ERROR, 502, x->rl.fail_msg);
		return resp_fail(
		    x->r, x->resp, x->rl.fail, NULL, "%s", x->rl.fail_msg);
	}
	/* issue 18: openrouter: its cost from the text, to the last digit */
	or_cost_exact(x, x->rl.hr.body, x->rl.hr.body_len);
	conv_answer(x, o); /* issue 18: convlog */
	if (counted == PU_NO_COUNTS) {
		x->rl.delivered = 1;
		estimate_answer(x, o); /* the text's bytes, not the JSON's */
	}
	if (req_client_gone(x->r)) {
		/*
		 * Its web server closed on us: recorded so.  The answer is
		 * still kept for an Idempotency-Key's retry.
		 */
		x->rl.client_gone = 1;
		st = US_CLIENT_GONE;
		code = 499;
	}
	if ((rc = meter_settle(x, st, code, NULL)) != TG_OK)
		return rc;
	answer_meta(x, &m);
	if (x->api != NULL)
		s = api_answer(x, o, &n);
	else if (o == NULL)
		s = answer_splice(
		    x->r->arena, &m, x->rl.hr.body, x->rl.hr.body_len, &w, &n);
	else if ((s = answer_with_cost(x->r->arena, &m, o)) != NULL)
		n = strlen(s);
	if (s == NULL)
		return TG_ESYSTEM;
	if (x->api == NULL && answer_rename(&x->rl.named, s, n, x->model)) {
		s = arena_strndup(
		    x->r->arena, x->rl.named.data, x->rl.named.len);
		n = x->rl.named.len;
		if (s == NULL)
			return TG_ESYSTEM;
	}
	/* x (and the deployment) live on the handler's stack: copy. */
	resp_header(x->resp, "x-tollgate-provider",
	    arena_strdup(x->r->arena, x->rl.rt->provider_id));
	meter_headers(x);
	/* issue 20: a settle that waited for this answer and failed: 503. */
	if ((rc = meter_keep_replay(x, 200, "application/json", s, n)) != TG_OK)
		return rc;
	x->resp->raw = s;
	x->resp->rawlen = n;
	return TG_OK;
}

/* A stream's closing events in the client's API, with the cost. */
static void
api_end(struct call *x)
{
	struct api_meta m;

	relay_api_meta(x, &m);
	if (x->rl.up_error_event)
		return; /* its error event went out as it came */
	if (x->rl.native) {
		x->api->native_end(&x->rl.as, x->rl.held, &m, relay_emit, x);
		return;
	}
	/* DeepSeek's usage rides on the finish chunk: that part first. */
	if (x->rl.usage_chunk != NULL &&
	    json_array_size(json_object_get(x->rl.usage_chunk, "choices")) > 0)
		x->api->chunk(&x->rl.as, x->rl.usage_chunk, relay_emit, x);
	x->api->end(&x->rl.as, &m, relay_emit, x);
}

static enum tg_err
finish_stream(struct call *x)
{
	enum usage_status st = US_OK;
	struct answer_meta m;
	int code = 200;
	char *s;

	if (x->rl.client_gone) {
		st = US_CLIENT_GONE;
		code = 499;
	} else if (x->rl.fail != TG_OK || x->rl.up_error_event) {
		st = US_ERROR;
		code = x->rl.fail != TG_OK ? resp_err_status(x->rl.fail) : 502;
	}
	meter_settle(x, st, code, x->rl.fail_msg);
	if (x->rl.client_gone)
		return TG_OK;
	/*
	 * issue 20: a settle waiting for its answer (an Idempotency-Key's):
	 * the closing events, which carry the cost, go out after its line.
	 */
	x->rl.hold_tail = credit_waits(&x->cr);
	if (x->rl.fail != TG_OK) {
		relay_send_error(x, x->rl.fail, x->rl.fail_msg);
	} else if (x->api != NULL) {
		api_end(x);
	} else {
		if (x->rl.usage_chunk != NULL) {
			answer_meta(x, &m);
			if ((s = answer_with_cost(
				 x->r->arena, &m, x->rl.usage_chunk)) != NULL)
				relay_send_event(x, s, strlen(s));
		}
		relay_send_event(x, "[DONE]", 6);
	}
	/* A failed settle is logged: the stream's events are out already. */
	(void)meter_keep_replay(
	    x, 200, "text/event-stream", x->rl.replay.data, x->rl.replay.len);
	relay_release_tail(x);
	return TG_OK;
}

/* An Idempotency-Key: checked (its first request's answer: replay_idem). */
static enum tg_err
check_idem(struct call *x)
{
	struct tg_req *r = x->r;
	const char *idem;

	if ((idem = req_header(r, "Idempotency-Key")) == NULL)
		return TG_OK;
	if (strlen(idem) == 0 || strlen(idem) > IDEM_MAX ||
	    strspn(idem,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz01"
		"23456789-_.:") != strlen(idem))
		return resp_fail_code(r, x->resp, TG_EINVAL,
		    "invalid_idempotency_key", NULL,
		    "Idempotency-Key must be 1 to %d of A-Z a-z 0-9 - "
		    "_ . :",
		    IDEM_MAX);
	/*
	 * issue 20: no lookup here: the hold finds a used key (its first
	 * hold exists), so a new key's request makes one round trip, not two.
	 */
	x->idem = idem;
	return TG_OK;
}

/*
 * The answer of the request that used the Idempotency-Key first: replayed,
 * or why not.  Its record may still wait in a journal of this node (the
 * settle goes out with its answer within a tick): looked for again after
 * the write-out.
 */
static enum tg_err
replay_idem(struct call *x)
{
	struct tg_req *r = x->r;
	struct usage_replay rp;
	int64_t swept = 0;
	enum tg_err rc;
	int again = 1;

	for (;;) {
		rc = usage_by_idem(x->c, r->arena, r->who->user_id,
		    r->who->key_id, x->idem, &rp);
		if (rc == TG_OK)
			return send_replay(x, &rp);
		if (rc == TG_ECONFLICT)
			return resp_fail_code(r, x->resp, rc,
			    "idempotency_key_used", NULL,
			    "this Idempotency-Key was used by a request whose "
			    "answer was not kept; use a new key");
		if (rc != TG_ENOENT)
			return rc;
		if (again-- == 0 ||
		    journal_wait_user(r->ctx->journal, x->c, r->arena,
			r->who->user_id, WAIT_REPLAY_MS) != 1)
			break;
	}
	/*
	 * Its request died unsettled and the sweeper charged the hold: that is
	 * the key's outcome, told the same way every time (never "still
	 * running", never a second charge).
	 */
	if (ledger_idem_swept(x->c, r->arena, sandbox_account(r->who),
		r->who->key_id, x->idem, &swept) == TG_OK)
		return resp_fail_code(r, x->resp, TG_ECONFLICT,
		    "idempotency_request_interrupted", NULL,
		    "the request with this Idempotency-Key was interrupted "
		    "before it was settled and was charged its hold of $%s; it "
		    "has no answer to replay; send it again with a new key",
		    answer_usd(r->arena, swept));
	return resp_fail_code(r, x->resp, TG_ECONFLICT,
	    "idempotency_in_progress", NULL,
	    "a request with this Idempotency-Key is still running");
}

/*
 * Reserve the worst case.  A request whose Idempotency-Key already holds
 * replays that request's answer, or is told it still runs (*answered).
 */
static enum tg_err
reserve(struct call *x, int *answered)
{
	struct tg_req *r = x->r;
	struct credit_env env = {r->ctx->leases, r->ctx->journal};
	struct credit_ask ask = {
	    x->hold, x->idem, x->credit_limit >= 0, x->idem != NULL};
	enum tg_err rc;

	rc = credit_reserve(&x->op, x->c, &env, &ask, &x->cr);
	if (rc != TG_OK || x->cr.replayed)
		rate_settle(r->ctx->rate, &x->ticket, 0); /* nothing was used */
	if (rc == TG_ECREDIT)
		return refuse_credit(x, x->cr.short_of);
	if (rc != TG_OK || !x->cr.replayed)
		return rc;
	*answered = 1;
	return replay_idem(x);
}

/* No answer came: settle what the attempts cost, and say why. */
static enum tg_err
finish_failed(struct call *x)
{
	struct tg_req *r = x->r;
	const char *msg;
	enum tg_err rc;

	if (x->rl.fail == TG_OK)
		x->rl.fail = TG_EUPSTREAM;
	meter_settle(x, US_ERROR, resp_err_status(x->rl.fail), x->rl.fail_msg);
	if (x->rl.up_status == 429 && x->rl.hr.retry_after[0] != '\0')
		resp_header(x->resp, "Retry-After",
		    arena_strdup(r->arena, x->rl.hr.retry_after));
	else if ((x->rl.fail == TG_ERATE || x->rl.fail == TG_EUNAVAIL) &&
	    x->rl.retry_after > 0)
		resp_header(x->resp, "Retry-After",
		    arena_printf(
			r->arena, "%lld", (long long)x->rl.retry_after));
	msg = x->rl.fail_msg != NULL ? x->rl.fail_msg : "upstream failure";
	rc = x->rl.fail_code != NULL
	    ? resp_fail_code(
		  r, x->resp, x->rl.fail, x->rl.fail_code, NULL, "%s", msg)
	    : resp_fail(r, x->resp, x->rl.fail, NULL, "%s", msg);
	meter_keep_error(x, rc);
	return rc;
}

/*
 * issue 18: s001: the request is listed as pending (GET /user/usage) from its
 * hold to its settlement, from shared memory: no statement.
 */
static int
in_flight(const struct call *x)
{
	struct inflight_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.user_id = x->r->who->user_id;
	rec.key_id = x->r->who->key_id;
	rec.started = util_wall();
	snprintf(
	    rec.request_id, sizeof(rec.request_id), "%.47s", x->r->request_id);
	snprintf(rec.model, sizeof(rec.model), "%s", x->model);
	snprintf(rec.key_pub, sizeof(rec.key_pub), "%s", x->r->who->key_pub);
	return inflight_begin(x->r->ctx->conf->run_dir, &rec);
}

/*
 * A metered request: parse and prepare, admit (limits), reserve credit, relay
 * to the provider, then shape the answer, settle and respond.
 */
enum tg_err
chat_metered(struct tg_req *r, struct tg_resp *resp, enum endpoint ep,
    const struct api_ops *api, json_t *native)
{
	struct call x;
	int answered = 0, slot;
	enum tg_err rc;

	if ((rc = prepare(&x, r, resp, ep)) != TG_OK)
		return rc;
	x.api = api;
	x.native = native;
	x.rl.as.model = x.model;
	x.rl.as.request_id = r->request_id;
	x.rl.as.created = (long long)time(NULL); /* x.t0 is monotonic */
	x.rl.as.arena = r->arena;
	x.rl.as.request = native;
	if (api != NULL) {
		if ((x.rl.held = json_array()) == NULL)
			return TG_ESYSTEM;
		arena_defer_json(r->arena, x.rl.held);
	}
	if (!r->ctx->have_master)
		return resp_fail(r, resp, TG_EUNAVAIL, NULL,
		    "the gateway has no master key configured, so it cannot "
		    "use provider keys; see [security] master_key_file");
	if ((rc = check_idem(&x)) != TG_OK)
		return rc;
	if ((rc = meter_admit(&x)) != TG_OK)
		return meter_refused(&x, rc);
	if ((rc = reserve(&x, &answered)) != TG_OK || answered)
		return meter_refused(&x, rc);
	slot = in_flight(&x);
	buf_init(&x.rl.errbody, ERRBODY_MAX);
	buf_init(&x.rl.replay, REPLAY_MAX);
	buf_init(&x.rl.tail, REPLAY_MAX + EVENT_MAX);
	buf_init(&x.rl.named, REPLAY_MAX + EVENT_MAX);
	relay_run(&x);
	if (x.stream && (x.rl.started || x.rl.delivered || x.rl.client_gone))
		rc = finish_stream(&x);
	else if (x.rl.fail == TG_OK && !x.stream)
		rc = finish_nonstream(&x);
	else
		rc = finish_failed(&x);
	(void)meter_finish(&x); /* logged; the answer stands as before */
	inflight_end(r->ctx->conf->run_dir, slot);
	json_decref(x.rl.usage_chunk);
	if (api != NULL && api->release != NULL)
		api->release(&x.rl.as); /* however the stream ended */
	http_result_clear(&x.rl.hr);
	buf_free(&x.rl.errbody);
	buf_free(&x.rl.replay);
	buf_free(&x.rl.tail);
	buf_free(&x.rl.named);
	return rc;
}

enum tg_err
h_chat(struct tg_req *r, struct tg_resp *resp)
{
	return chat_metered(r, resp, EP_CHAT, NULL, NULL);
}

enum tg_err
h_completions(struct tg_req *r, struct tg_resp *resp)
{
	return chat_metered(r, resp, EP_COMPLETIONS, NULL, NULL);
}

enum tg_err
h_embeddings(struct tg_req *r, struct tg_resp *resp)
{
	return chat_metered(r, resp, EP_EMBEDDINGS, NULL, NULL);
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
	/* A test key's sandbox exists (and has today's grant) once asked. */
	if (r->who->test && (rc = sandbox_refill(x.c, &x.op, NULL)) != TG_OK)
		return rc;
	if ((rc = account_balance(x.c, &x.op, sandbox_account(r->who), &bal,
		 &res, &od)) != TG_OK)
		return rc;
	avail = bal + od;
	if ((left = chat_key_left(&x)) >= 0 && left < avail)
		avail = left;
	resp->body = json_pack(
	    "{s:s, s:s, s:s, s:{s:o, s:o, s:o, s:o}, s:s, s:I, s:I, s:I, s:s, "
	    "s:s, s:b}",
	    "model", x.model, "provider", x.routes[0].provider_id,
	    "upstream_model", x.routes[0].upstream_model, "prices", "input",
	    catalog_price_per_million(x.routes[0].input_price), "output",
	    catalog_price_per_million(x.routes[0].output_price), "cached_input",
	    catalog_price_per_million(x.routes[0].cached_price), "cache_write",
	    catalog_price_per_million(x.routes[0].cache_write_price),
	    "commission_percent",
	    arena_printf(r->arena, "%u.%02u", x.bp / 100, x.bp % 100),
	    "max_tokens", (json_int_t)x.max_out, "prompt_bound",
	    (json_int_t)x.prompt_bound, "image_tokens",
	    (json_int_t)x.image_tokens, "hold", answer_usd(r->arena, x.hold),
	    "available", answer_usd(r->arena, avail), "fits", avail >= x.hold);
	return TG_OK;
}
