/* relay.c: the upstream call: keys and deployments tried in turn, a stream relayed to the client */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/keypool.h"
#include "domain/metrics.h"
#include "http/answer.h"
#include "http/chat.h"
#include "http/ctx.h"
#include "http/estimate.h"
#include "http/req.h"
#include "http/resp.h"
#include "prov/prov_test.h"

/* --- relaying a stream ---------------------------------------------------------------- */

/* The provider of the deployment tried last: how to read its answers. */
const struct prov_ops *
relay_ops(const struct call *x)
{
	if (x->rl.translate)
		return &prov_openai_ops;
	return prov_ops_of(x->rl.rt != NULL ? x->rl.rt->kind : PROV_OPENAI);
}

/* The provider's own format, whatever the client reads: its error bodies. */
static const struct prov_ops *
upstream_ops(const struct call *x)
{
	return prov_ops_of(x->rl.rt != NULL ? x->rl.rt->kind : PROV_OPENAI);
}

/*
 * A write that failed because the client left is no reason to stop reading:
 * the upstream's usage, at the end of its stream, is what the request cost
 * (it bills reasoning the client never saw).  on_tick bounds the drain.
 */
static int
draining(struct call *x, int rc)
{
	return rc == -1 && x->rl.client_gone &&
		x->r->ctx->conf->drain_timeout > 0
	    ? 0
	    : rc;
}

/*
 * One OpenAI chunk to the client: its own bytes (data, n) when there are
 * some and the client speaks OpenAI, else serialized, or through the
 * client's API's codec.
 */
static int
send_chunk(struct call *x, json_t *o, const char *data, size_t n)
{
	const json_t *e;
	char *s;
	int rc;

	if (x->api != NULL) {
		if ((e = json_object_get(o, "error")) == NULL)
			return x->api->chunk(&x->rl.as, o, relay_emit, x);
		return x->api->stream_error(&x->rl.as, 502,
		    json_is_string(json_object_get(e, "type"))
			? json_string_value(json_object_get(e, "type"))
			: "upstream_error",
		    json_string_value(json_object_get(e, "code")),
		    json_is_string(json_object_get(e, "message"))
			? json_string_value(json_object_get(e, "message"))
			: "the provider's stream failed",
		    relay_emit, x);
	}
	if (data != NULL)
		return relay_send_event(x, data, n);
	if ((s = jx_dump(o)) == NULL)
		return -1;
	rc = relay_send_event(x, s, strlen(s));
	free(s);
	return rc;
}

/*
 * One OpenAI chunk from the provider (data: its bytes) or from a translator
 * (data NULL): its usage read, and relayed unless it is the usage chunk.
 */
static int
on_chunk(struct call *x, json_t *o, const char *data, size_t n)
{
	struct prov_event pe;
	int rc = 0;

	prov_openai_ops.event(o, &x->u, &pe);
	if (pe.error)
		x->rl.up_error_event = 1;
	/* A translator's last chunk carries the usage: the stream is whole. */
	if (x->rl.translate && pe.usage && pe.nchoices == 0)
		x->rl.saw_done = 1;
	if (x->rl.client_gone)
		return 0; /* draining: only the usage matters now */
	if (x->rl.t_first == 0 && pe.nchoices > 0)
		x->rl.t_first = util_now();
	if (pe.usage && pe.choices_array) {
		/*
		 * The usage chunk (OpenAI's has no choices; DeepSeek's is the
		 * finish chunk): after settling, with the cost, if wanted.
		 */
		if (x->want_usage || x->api != NULL) {
			estimate_keep(x, o, pe.delta_bytes);
			json_decref(x->rl.usage_chunk);
			x->rl.usage_chunk = json_incref(o);
			return 0;
		}
		if (pe.nchoices == 0)
			return 0;
	}
	estimate_keep(x, o, pe.delta_bytes);
	if (!x->want_usage && pe.strip) {
		prov_openai_ops.strip_usage(o);
		data = NULL;
	}
	/* The model the client asked for, not the provider's own name. */
	if (data == NULL && x->api == NULL)
		json_object_set_new(o, "model", json_string(x->model));
	else if (data != NULL &&
	    answer_rename(&x->rl.named, data, n, x->model)) {
		data = x->rl.named.data;
		n = x->rl.named.len;
	}
	rc = send_chunk(x, o, data, n);
	if (rc == 0)
		x->rl.delivered = 1;
	return rc;
}

/*
 * One event of a provider that speaks the client's own API: relayed as it
 * came (but naming the model the client asked for), its usage read; the
 * closing ones wait for the cost.
 */
static int
on_native(struct call *x, const struct sse_event *ev, json_t *o)
{
	const char *type =
	    ev->event != NULL && ev->event_len > 0 ? ev->event : NULL;
	struct prov_event pe;
	char *s;
	int rc;

	upstream_ops(x)->event(o, &x->u, &pe);
	if (pe.error)
		x->rl.up_error_event = 1;
	if (x->rl.client_gone)
		return 0;
	if (x->rl.t_first == 0 && pe.nchoices > 0)
		x->rl.t_first = util_now();
	estimate_keep(x, o, pe.delta_bytes);
	if (x->api->native_hold != NULL && x->api->native_hold(type, o)) {
		relay_rename_native(o, x->model);
		json_array_append_new(x->rl.held,
		    json_pack("{s:s?, s:O}", "event", type, "data", o));
		x->rl.saw_done = 1; /* its closing events came */
		/* The client gets them once settled: an answer came. */
		x->rl.delivered = 1;
		return 0;
	}
	if (relay_rename_native(o, x->model) && (s = jx_dump(o)) != NULL) {
		rc = relay_emit(x, type, s, strlen(s));
		free(s);
	} else {
		rc = relay_emit(x, type, ev->data, ev->data_len);
	}
	if (rc == 0)
		x->rl.delivered = 1;
	return rc;
}

static int
on_event(void *arg, const struct sse_event *ev)
{
	struct call *x = arg;
	json_t *o, *chunks = NULL, *c;
	size_t i;
	int rc = 0;

	if (ev->is_comment)
		return 0; /* ours go out on their own clock */
	if (!x->rl.translate && !x->rl.native && sse_is_done(ev)) {
		x->rl.saw_done = 1;
		return 0; /* sent after settling */
	}
	if ((o = json_loadb(ev->data, ev->data_len, 0, NULL)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		/* Not ours to judge: an OpenAI client gets it as it came. */
		if (x->rl.translate || x->rl.native || x->api != NULL)
			return 0;
		return draining(x, relay_send_event(x, ev->data, ev->data_len));
	}
	if (x->rl.native) {
		rc = on_native(x, ev, o);
	} else if (!x->rl.translate) {
		rc = on_chunk(
		    x, o, x->api == NULL ? ev->data : NULL, ev->data_len);
		/* issue 18: openrouter: its cost from the text, exactly */
		or_cost_exact(x, ev->data, ev->data_len);
	} else if ((chunks = json_array()) == NULL ||
	    upstream_ops(x)->event_to_openai(&x->rl.xl,
		ev->event != NULL && ev->event_len > 0 ? ev->event : NULL, o,
		chunks) == -1) {
		rc = -1;
	} else {
		for (i = 0; rc == 0 && i < json_array_size(chunks); i++) {
			c = json_array_get(chunks, i);
			rc = on_chunk(x, c, NULL, 0);
		}
	}
	json_decref(chunks);
	json_decref(o);
	return draining(x, rc);
}

static int
on_headers(void *arg, long status, const char *ctype, const char *retry_after)
{
	struct call *x = arg;

	x->rl.up_status = status;
	x->rl.relaying = x->stream && status == 200 && ctype != NULL &&
	    strncmp(ctype, "text/event-stream", 17) == 0;
	if (x->rl.relaying)
		sse_init(&x->rl.sse, EVENT_MAX, on_event, x);
	return 0;
}

static int
on_data(void *arg, const char *p, size_t n)
{
	struct call *x = arg;

	if (!x->rl.relaying) {
		/* An error body (or a non-stream answer to a stream): keep some. */
		if (x->rl.errbody.len + n <= ERRBODY_MAX)
			buf_append(&x->rl.errbody, p, n);
		return 0;
	}
	if (sse_feed(&x->rl.sse, p, n) != TG_OK)
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
		x->rl.capped = 1;
		return -1;
	}
	if (x->rl.client_gone)
		return now - x->rl.t_gone < f->drain_timeout ? 0 : -1;
	if (now - (x->rl.started ? x->rl.t_out : x->t0) < ka)
		return 0;
	/* Proxies and clients drop silent connections; a comment keeps it. */
	if (relay_start(x) == -1 ||
	    relay_write(x, ": keep-alive\n\n", 14, 1) == -1)
		return draining(x, -1); /* gone while the provider works */
	return 0;
}

/* --- the upstream call ---------------------------------------------------------------- */

/* Error message of an upstream error body, short and single-line. */
static const char *
upstream_message(struct call *x)
{
	return upstream_ops(x)->error_message(
	    x->r->arena, x->rl.errbody.data, x->rl.errbody.len);
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
    /* Google answers a bad key with 400 INVALID_ARGUMENT, reason this. */
    {PROV_GEMINI, "API_KEY_INVALID"},
    {PROV_ANTHROPIC, "authentication_error"},
};

/* A 401, or a 403 whose body says the key is invalid or revoked. */
static int
key_refused(struct call *x)
{
	size_t i;

	if (x->rl.up_status == 401)
		return 1;
	/* errbody's data is NUL-terminated when not empty. */
	if ((x->rl.up_status != 403 &&
		!(x->rl.up_status == 400 && x->rl.rt != NULL &&
		    x->rl.rt->kind == PROV_GEMINI)) ||
	    x->rl.rt == NULL || x->rl.errbody.len == 0)
		return 0;
	for (i = 0; i < sizeof(key_refusals) / sizeof(key_refusals[0]); i++)
		if ((key_refusals[i].kind == PROV__MAX ||
			key_refusals[i].kind == x->rl.rt->kind) &&
		    strcasestr(x->rl.errbody.data, key_refusals[i].pattern) !=
			NULL)
			return 1;
	return 0;
}

/* Turn a failed attempt into the client's error. */
static void
attempt_error(struct call *x)
{
	const char *m = upstream_message(x);
	struct arena *a = x->r->arena;

	x->rl.fail_code = NULL;
	if (x->rl.hr.err == HTTP_ETIMEOUT) {
		x->rl.fail = TG_ETIMEOUT;
		x->rl.fail_msg = "the provider did not answer in time";
	} else if (x->rl.hr.err != HTTP_OK) {
		x->rl.fail = TG_EUPSTREAM;
		x->rl.fail_msg = "the provider could not be reached";
	} else if (x->rl.up_status == 429) {
		/*
		 * The provider's limit, not the client's own (that one is
		 * rate_limit_exceeded): a client must not back off its own
		 * rate for it, and a spent quota will not pass with waiting.
		 */
		x->rl.fail = TG_ERATE;
		x->rl.fail_code = x->rl.errbody.len > 0 &&
			strstr(x->rl.errbody.data, "insufficient_quota") != NULL
		    ? "upstream_quota_exceeded"
		    : "upstream_rate_limited";
		x->rl.fail_msg = arena_printf(a,
		    "the provider is rate limiting requests%s%s",
		    x->rl.hr.retry_after[0] != '\0' ? "; retry after " : "",
		    x->rl.hr.retry_after[0] != '\0'
			? arena_printf(a, "%s s", x->rl.hr.retry_after)
			: "");
	} else if ((x->rl.up_status == 400 || x->rl.up_status == 413 ||
		       x->rl.up_status == 422) &&
	    !key_refused(x)) {
		/* The client's request: its own words come back. */
		x->rl.fail = TG_EINVAL;
		x->rl.fail_code = "upstream_error";
		x->rl.fail_msg = m != NULL
		    ? arena_printf(
			  a, "the provider rejected the request: %s", m)
		    : "the provider rejected the request";
	} else if (key_refused(x)) {
		x->rl.fail = TG_EUPSTREAM;
		x->rl.fail_code = "upstream_error";
		x->rl.fail_msg =
		    "the provider refused the gateway's credentials";
	} else if (x->rl.up_status == 403) {
		/* Moderation, region, model access: this request, as said. */
		x->rl.fail = TG_EPERM;
		x->rl.fail_code = "upstream_refused";
		x->rl.fail_msg = m != NULL
		    ? arena_printf(a, "the provider refused the request: %s", m)
		    : "the provider refused the request";
	} else if (x->rl.up_status == 200) {
		x->rl.fail = TG_EUPSTREAM;
		x->rl.fail_msg = "the provider's answer could not be read";
	} else {
		x->rl.fail = TG_EUPSTREAM;
		x->rl.fail_msg = arena_printf(
		    a, "the provider failed with HTTP %ld", x->rl.up_status);
	}
}

static void
reset_attempt(struct call *x)
{
	http_result_clear(&x->rl.hr);
	memset(&x->rl.hr, 0, sizeof(x->rl.hr));
	buf_reset(&x->rl.errbody);
	if (x->rl.relaying)
		sse_free(&x->rl.sse);
	x->rl.relaying = 0;
	x->rl.up_status = 0;
	x->rl.saw_done = 0;
	/* A failed deployment's error must not outlive a later success. */
	x->rl.fail = TG_OK;
	x->rl.fail_code = NULL;
	x->rl.fail_msg = NULL;
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
	long st = x->rl.up_status;

	if (x->rl.capped)
		return PO_NEUTRAL; /* our cap, not the key's fault */
	if (x->rl.relaying && (x->rl.delivered || x->u.present))
		return x->rl.hr.err == HTTP_OK || x->rl.client_gone ? PO_OK
								    : PO_FAIL;
	if (x->rl.hr.err == HTTP_EABORTED)
		return PO_NEUTRAL; /* our client left */
	if (x->rl.hr.conn_died)
		return PO_NEUTRAL; /* a stale kept-alive connection, not the key */
	if (x->rl.hr.err != HTTP_OK && x->rl.hr.err != HTTP_ETOOBIG)
		return PO_FAIL;
	if (st >= 200 && st < 300)
		return PO_OK;
	if (st == 429)
		return PO_RATE;
	if (st == 401 || st == 403 || st == 400)
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

/*
 * issue 19: obs: the attempt into the node's metrics: its provider, how it
 * ended and how long it took; an answer closes the provider's circuit gauge.
 */
static void
observe_attempt(struct call *x, enum pool_outcome o)
{
	enum metrics_outcome mo = MO_ERROR;

	if (x->rl.client_gone || x->rl.hr.err == HTTP_EABORTED)
		mo = MO_CLIENT_GONE;
	else if (o == PO_OK)
		mo = MO_OK;
	else if (o == PO_RATE)
		mo = MO_RATE_LIMITED;
	else if (x->rl.hr.err == HTTP_ETIMEOUT)
		mo = MO_TIMEOUT;
	metrics_upstream(x->rl.rt->provider_id, mo,
	    x->rl.t_attempt > 0 ? util_now() - x->rl.t_attempt : 0);
	if (o == PO_OK)
		metrics_circuit(x->rl.rt->provider_id, 0);
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
		err = x->rl.hr.err != HTTP_OK
		    ? arena_printf(a, "%s", x->rl.hr.error)
		    : arena_printf(a, "HTTP %ld%s%.*s", x->rl.up_status,
			  m != NULL ? ": " : "",
			  m != NULL ? (int)util_utf8_cut(m, 120) : 0,
			  m != NULL ? m : "");
	keypool_report(x->r->ctx->pool, x->rl.ukey_id, o,
	    retry_after_s(x->rl.hr.retry_after), err);
	observe_attempt(x, o);
	if (o == PO_OK)
		keypool_latency_note(x->r->ctx->pool, x->model,
		    x->rl.rt->provider_id,
		    x->stream && x->rl.t_first > x->rl.t_attempt
			? (x->rl.t_first - x->rl.t_attempt) * 1000
			: x->rl.hr.ttfb_s * 1000);
	if (o == PO_AUTH) {
		log_msg(LOG_WARN,
		    "req=%s provider %s refused upstream key %lld (%s); "
		    "disabled",
		    x->r->request_id, x->rl.rt->provider_id,
		    (long long)x->rl.ukey_id, err);
		if (chat_db(x) == TG_OK)
			upstream_key_dead(x->c, a, x->rl.ukey_id, err);
	}
	return o;
}

/* What the end of an attempt asks for next. */
enum relay_next {
	RN_STOP = 0,	    /* over: an answer, or a failure the client sees */
	RN_NEXT_DEPLOYMENT, /* another deployment may succeed */
	RN_NEXT_KEY,	    /* this key failed: another of the deployment's */
};

/* Why an attempt failed before anything reached the client. */
enum attempt_failure {
	AF_KEY_RATE,	  /* the key is rate limited (429) */
	AF_KEY_REFUSED,	  /* the provider refused the key (401, 403 on it) */
	AF_CONN_DIED,	  /* a kept-alive connection closed as it was used */
	AF_CONNECT,	  /* no connection */
	AF_TIMEOUT_RETRY, /* a timeout before the request went out, or allowed */
	AF_TIMEOUT_SENT, /* a timeout the provider may be working (billing) on */
	AF_TRANSPORT,	 /* any other transport failure */
	AF_RATE,	 /* 429 the key's health did not count */
	AF_SERVER,	 /* 5xx */
	AF_OVERLOADED,	 /* the provider says try again (Anthropic's 529) */
	AF_NOT_FOUND,	 /* 404: the deployment lacks the model */
	AF_UNAUTHORIZED, /* 401, 403 on the key, the pool's health aside */
	AF_ANSWERED,	 /* another status: the request's own answer */
	AF__MAX
};

/*
 * Which failures move on, and to what (nginx's proxy_next_upstream): a 403
 * that is not about the key, a rejected request or a timeout after the
 * request went out would fail, or bill, the same anywhere.  A kept-alive
 * connection that closed under the request is the race every keep-alive
 * client loses now and then (the server dropped it as idle): the request
 * goes again on a fresh connection, as one more attempt, counted and
 * logged, since the provider may have read the first copy.
 */
/* clang-format off */
static const enum relay_next next_upstream[AF__MAX] = {
	[AF_KEY_RATE]	   = RN_NEXT_KEY,
	[AF_KEY_REFUSED]   = RN_NEXT_KEY,
	[AF_CONN_DIED]	   = RN_NEXT_KEY,
	[AF_CONNECT]	   = RN_NEXT_DEPLOYMENT,
	[AF_TIMEOUT_RETRY] = RN_NEXT_DEPLOYMENT,
	[AF_TIMEOUT_SENT]  = RN_STOP,
	[AF_TRANSPORT]	   = RN_STOP,
	[AF_RATE]	   = RN_NEXT_DEPLOYMENT,
	[AF_SERVER]	   = RN_NEXT_DEPLOYMENT,
	[AF_OVERLOADED]	   = RN_NEXT_KEY,
	[AF_NOT_FOUND]	   = RN_NEXT_DEPLOYMENT,
	[AF_UNAUTHORIZED]  = RN_NEXT_DEPLOYMENT,
	[AF_ANSWERED]	   = RN_STOP,
};
/* clang-format on */

static enum attempt_failure
classify(struct call *x, enum pool_outcome o)
{
	long st = x->rl.up_status;

	if (o == PO_RATE)
		return AF_KEY_RATE;
	if (o == PO_AUTH)
		return AF_KEY_REFUSED;
	if (x->rl.hr.err == HTTP_ECONNECT && x->rl.hr.conn_died)
		return AF_CONN_DIED;
	if (x->rl.hr.err == HTTP_ECONNECT)
		return AF_CONNECT;
	/*
	 * A timeout after the request went out is not failed over unless
	 * configured: the provider may be working on it, and billing it.
	 */
	if (x->rl.hr.err == HTTP_ETIMEOUT)
		return !x->rl.hr.sent || x->r->ctx->conf->retry_after_timeout
		    ? AF_TIMEOUT_RETRY
		    : AF_TIMEOUT_SENT;
	if (x->rl.hr.err != HTTP_OK)
		return AF_TRANSPORT;
	if (st == 429)
		return AF_RATE;
	if (upstream_ops(x)->retryable != NULL &&
	    upstream_ops(x)->retryable(
		st, x->rl.errbody.data, x->rl.errbody.len))
		return AF_OVERLOADED;
	if (st >= 500)
		return AF_SERVER;
	if (st == 404)
		return AF_NOT_FOUND;
	/* Their outcome made these AF_KEY_REFUSED already. */
	if (st == 401 || ((st == 403 || st == 400) && key_refused(x)))
		return AF_UNAUTHORIZED;
	return AF_ANSWERED;
}

/*
 * A key of rt into secret, waiting for one that is free again within seconds
 * (its spacing, the end of its minute): the client would only retry.  A sick
 * key is not waited for.  Otherwise the client's error is set.
 */
static enum tg_err
pick_key(struct call *x, const struct deployment *rt, char *secret)
{
	double wait, paced;
	enum tg_err rc;

	/* issue 18: openrouter: the user's own OpenRouter key, if provisioned */
	if ((rc = or_relay_key(x, rt, secret)) != TG_ENOENT)
		return rc;
	for (;;) {
		if ((rc = chat_db(x)) != TG_OK)
			break;
		rc = upstream_key_pick(x->c, x->r->arena, x->r->ctx->pool,
		    x->r->ctx->master, rt, &x->rl.ukey_id, secret, &wait,
		    &paced);
		if (rc != TG_ERATE || paced <= 0 || paced > SPACING_WAIT_S ||
		    util_now() - x->t0 + paced > SPACING_WAIT_S * 2)
			break;
		chat_db_release(x);
		nap(paced);
	}
	if (rc == TG_ERATE) {
		/* Every key is cooling down or at its own limits. */
		x->rl.fail = TG_ERATE;
		x->rl.fail_code = "upstream_rate_limited";
		x->rl.retry_after = wait > 0 ? (int64_t)wait + 1 : 60;
		x->rl.fail_msg = arena_printf(x->r->arena,
		    "every key of the provider is rate limited or cooling "
		    "down; retry after %lld s",
		    (long long)x->rl.retry_after);
	} else if (rc == TG_EUNAVAIL) {
		/* Failing, not busy: 503, and when the next probe goes. */
		x->rl.fail = TG_EUNAVAIL;
		x->rl.fail_code = "provider_circuit_open";
		metrics_circuit(rt->provider_id,
		    util_wall() + (wait > 0 ? wait : 1)); /* issue 19: obs */
		x->rl.retry_after = wait > 0 ? (int64_t)wait + 1 : 1;
		x->rl.fail_msg = arena_printf(x->r->arena,
		    "the provider failed repeatedly and is rested; it is "
		    "tried again in %lld s",
		    (long long)x->rl.retry_after);
	} else if (rc != TG_OK) {
		if (rc == TG_EAUTH)
			log_msg(LOG_ERR,
			    "req=%s provider %s: a key does not open with "
			    "this master key",
			    x->r->request_id, rt->provider_id);
		x->rl.fail = rc == TG_EDB ? TG_EDB : TG_EUNAVAIL;
		x->rl.fail_code = NULL;
		x->rl.retry_after = 0;
		x->rl.fail_msg = "no provider key is available for this model";
	}
	return rc;
}

/* Send the request built in pc and read the answer (x->rl.hr). */
static void
send_request(struct call *x, struct prov_call *pc)
{
	const struct conf *conf = x->r->ctx->conf;
	struct http_request hq;

	x->rl.attempts++;
	memset(&hq, 0, sizeof(hq));
	hq.method = "POST";
	hq.url = pc->url;
	hq.headers = pc->headers;
	hq.nheaders = pc->nheaders;
	hq.body = pc->body;
	hq.body_len = pc->body_len;
	hq.connect_timeout_ms = conf->connect_timeout * 1000;
	hq.first_byte_timeout_ms = conf->first_byte_timeout * 1000;
	hq.idle_timeout_ms = conf->idle_timeout * 1000;
	hq.max_body = conf->max_body * 4;
	hq.on_headers = x->stream ? on_headers : NULL;
	hq.on_data = x->stream ? on_data : NULL;
	hq.on_tick = on_tick;
	hq.arg = x;
	chat_db_release(x);
	x->rl.t_attempt = util_now();
	http_perform(x->r->http, &hq, &x->rl.hr);
	crypto_wipe(pc->secret_header, strlen(pc->secret_header));
	if (!x->stream) {
		x->rl.up_status = x->rl.hr.status;
		if (x->rl.hr.body != NULL && x->rl.hr.status != 200)
			buf_append(&x->rl.errbody, x->rl.hr.body,
			    x->rl.hr.body_len < ERRBODY_MAX ? x->rl.hr.body_len
							    : ERRBODY_MAX);
	}
}

#define OVERLOAD_NAP_S 0.5 /* before trying an overloaded provider again */

/* Where a failed attempt goes next; an overloaded provider gets a breath. */
static enum relay_next
next_after(struct call *x, enum pool_outcome o)
{
	enum attempt_failure af = classify(x, o);

	if (af == AF_OVERLOADED)
		nap(OVERLOAD_NAP_S);
	return next_upstream[af];
}

/* How a stream's attempt ended: RN_STOP once the client saw anything. */
static enum relay_next
stream_ended(struct call *x, enum pool_outcome o)
{
	if (x->rl.capped) {
		x->rl.fail = TG_ETIMEOUT;
		x->rl.fail_code = NULL;
		x->rl.fail_msg = arena_printf(x->r->arena,
		    "the stream reached its longest allowed duration "
		    "(max_stream_seconds %u)",
		    x->r->ctx->conf->max_stream_seconds);
		return RN_STOP;
	}
	if (x->rl.relaying) {
		if (x->rl.hr.err == HTTP_OK)
			sse_finish(&x->rl.sse);
		if (x->rl.client_gone)
			return RN_STOP;
		if (x->rl.delivered || x->u.present) {
			if (x->rl.hr.err != HTTP_OK ||
			    (!x->rl.saw_done && !x->rl.up_error_event)) {
				attempt_error(x);
				x->rl.fail_msg =
				    "the provider's stream broke off";
			}
			return RN_STOP;
		}
	}
	if (x->rl.hr.err == HTTP_OK && x->rl.up_status == 200 &&
	    !x->rl.relaying) {
		x->rl.fail = TG_EUPSTREAM;
		x->rl.fail_msg =
		    "the provider did not answer with an event stream";
		return RN_STOP;
	}
	attempt_error(x);
	/* A client that left while we drained is not tried for elsewhere. */
	if (x->rl.client_gone)
		return RN_STOP;
	return next_after(x, o);
}

/*
 * How this attempt speaks: natively when the client's API is the
 * provider's own, translated when the provider's is not OpenAI's, else
 * as OpenAI; a translator's state starts afresh.
 */
static void
speak(struct call *x, const struct deployment *rt)
{
	const struct prov_ops *ops = prov_ops_of(rt->kind);

	x->rl.native = x->api != NULL && ops->wire == x->api->wire &&
	    ops->build_native != NULL && x->native != NULL;
	x->rl.translate = !x->rl.native && ops->wire != WIRE_OPENAI;
	memset(&x->rl.xl, 0, sizeof(x->rl.xl));
	x->rl.xl.model = x->model;
	x->rl.xl.created = (long long)time(NULL);
	if (x->rl.held != NULL)
		json_array_clear(x->rl.held);
}

/*
 * issue 18: a test model (provider kind test) answers here, without a key or
 * a connection; its answer, or its event stream, is read like a provider's.
 */
static enum relay_next
test_attempt(struct call *x, const struct deployment *rt)
{
	struct prov_test_ask ask = {
	    .id = arena_printf(x->r->arena, "chatcmpl-%s", x->r->request_id),
	    .model = x->model,
	    .created = (long long)time(NULL),
	    .max_words = x->max_out,
	    .stream = x->stream,
	    .per_word = strcmp(rt->upstream_model, "stream") == 0,
	};
	size_t n = 0;
	char *s;

	speak(x, rt);
	x->rl.attempts++;
	x->rl.t_attempt = util_now();
	if (x->ep != EP_CHAT || ask.id == NULL ||
	    (s = prov_test_answer(x->r->json, &ask, &n)) == NULL) {
		x->rl.fail = x->ep != EP_CHAT ? TG_EINVAL : TG_ESYSTEM;
		x->rl.fail_msg = "the test models answer chat completions only";
		return RN_STOP;
	}
	x->rl.hr.sent = 1;
	x->rl.hr.status = x->rl.up_status = 200;
	if (!x->stream) {
		x->rl.hr.body = s; /* freed by http_result_clear */
		x->rl.hr.body_len = n;
		return RN_STOP;
	}
	on_headers(x, 200, "text/event-stream", NULL);
	if (on_data(x, s, n) == -1)
		x->rl.hr.err = HTTP_EABORTED; /* the client left */
	free(s);
	return stream_ended(x, PO_OK);
}

/* One attempt on route rt with one of its keys. */
static enum relay_next
attempt_key(struct call *x, const struct deployment *rt)
{
	const struct prov_ops *ops = prov_ops_of(rt->kind);
	char secret[UPSTREAM_SECRET_MAX + 1];
	struct prov_call pc;
	enum pool_outcome o;
	int built;

	reset_attempt(x);
	x->rl.rt = rt;
	if (rt->kind == PROV_TEST)
		return test_attempt(x, rt);
	if (pick_key(x, rt, secret) != TG_OK)
		return RN_NEXT_DEPLOYMENT;
	speak(x, rt);
	built = x->rl.native
	    ? ops->build_native(x->r->arena, rt, x->native, x->stream,
		  x->default_out, secret, &pc)
	    : prov_build(x->r->arena, x->ep, rt, x->r->json, x->stream,
		  x->default_out, secret, req_header(x->r, "HTTP-Referer"),
		  req_header(x->r, "X-Title"), &pc);
	crypto_wipe(secret, sizeof(secret));
	if (built == -1) {
		x->rl.fail = TG_ESYSTEM;
		return RN_STOP;
	}
	send_request(x, &pc);
	if (x->rl.hr.conn_died)
		log_msg(LOG_WARN,
		    "req=%s provider %s: attempt %d sent on a kept-alive "
		    "connection that closed before any answer; the provider "
		    "may have read it",
		    x->r->request_id, rt->provider_id, x->rl.attempts);
	o = report(x);
	if (x->stream)
		return stream_ended(x, o);
	if (x->rl.hr.err == HTTP_OK && x->rl.hr.status == 200)
		return RN_STOP;
	attempt_error(x);
	return next_after(x, o);
}

#define KEY_TRIES 3 /* keys of one deployment tried before the next one */

/*
 * How much a failed attempt tells the client, higher more: the provider's
 * 429 (it says when to come back), its other 4xx (about this request), its
 * 5xx or a failed connection; then our own refusals, which reach no
 * provider: every key resting (with when to come back), and last no key.
 */
static int
failure_rank(struct call *x)
{
	long st = x->rl.up_status;

	if (x->rl.fail == TG_OK)
		return 0;
	/* The gateway's key refused: a pool without it, as "no key". */
	if (x->rl.hr.err == HTTP_OK && (st == 401 || key_refused(x)))
		return 1;
	if (x->rl.hr.err == HTTP_OK && st == 429)
		return 5;
	if (x->rl.hr.err == HTTP_OK && st >= 400 && st < 500)
		return 4;
	if (x->rl.hr.err != HTTP_OK || st != 0)
		return 3;
	if (x->rl.fail_code != NULL && x->rl.retry_after > 0)
		return 2; /* upstream_rate_limited, provider_circuit_open */
	return 1;
}

/* Keep the attempt's failure if it tells more than those before it. */
static void
note_failure(struct call *x)
{
	int rank = failure_rank(x);

	/* The later of equals: what the last deployment tried said. */
	if (rank == 0 || rank < x->rl.best.rank)
		return;
	x->rl.best.rank = rank;
	x->rl.best.fail = x->rl.fail;
	x->rl.best.code = x->rl.fail_code;
	x->rl.best.msg = x->rl.fail_msg;
	x->rl.best.retry_after = x->rl.up_status == 429
	    ? retry_after_s(x->rl.hr.retry_after)
	    : x->rl.retry_after;
}

/*
 * Every deployment failed in a way another might not have: answer with the
 * most telling failure.  Only the message changes: what the attempts cost
 * follows the last one, as before (an error status or no connection: 0).
 */
static void
tell_best(struct call *x)
{
	if (x->rl.fail == TG_OK || x->rl.best.rank <= failure_rank(x))
		return;
	x->rl.fail = x->rl.best.fail;
	x->rl.fail_code = x->rl.best.code;
	x->rl.fail_msg = x->rl.best.msg;
	x->rl.retry_after = x->rl.best.retry_after;
}

void
relay_run(struct call *x)
{
	enum relay_next next = RN_NEXT_DEPLOYMENT;
	size_t i;
	int k;

	for (i = 0; i < x->nroutes && next != RN_STOP; i++)
		for (k = 0, next = RN_NEXT_KEY;
		     k < KEY_TRIES && next == RN_NEXT_KEY; k++) {
			next = attempt_key(x, &x->routes[i]);
			note_failure(x);
		}
	/* A stop is that attempt's own answer (and charge): said as is. */
	if (next != RN_STOP)
		tell_best(x);
	if (x->rl.relaying)
		sse_free(&x->rl.sse);
	x->rl.relaying = 0;
}
