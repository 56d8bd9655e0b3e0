/* h_openrouter.c: /api/v1/openrouter/{path*}: OpenRouter's API behind tollgate's credentials, chat metered, the rest passed through */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/keypool.h"
#include "domain/openrouter.h"
#include "domain/or_provision.h"
#include "domain/upstream.h"
#include "http/chat.h"
#include "http/ctx.h"
#include "http/handlers.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"
#include "io/db.h"
#include "io/http_client.h"
#include "prov/or_cost.h"

#define OR_PREFIX "/api/v1/openrouter/"
/* What a pass-through relays of one answer: OpenRouter's largest are lists. */
#define OR_PASS_MAX (16u << 20)

/* --- the metered part: chat and completions (h_chat.c's path) --------------- */

/* 1 when the request came by /api/v1/openrouter/. */
static int
or_path(const struct tg_req *r)
{
	return strncmp(r->path, OR_PREFIX, strlen(OR_PREFIX)) == 0;
}

/* Keep only the deployments of the OpenRouter provider. */
static size_t
only_openrouter(struct call *x)
{
	const char *id = or_provider_id(x->r->ctx->conf);
	size_t i, n = 0;

	for (i = 0; i < x->nroutes; i++)
		if (strcmp(x->routes[i].provider_id, id) == 0 &&
		    x->routes[i].kind == PROV_OPENROUTER)
			x->routes[n++] = x->routes[i];
	return x->nroutes = n;
}

enum tg_err
or_routes(struct call *x, enum tg_err rc)
{
	const struct conf *conf = x->r->ctx->conf;

	if (rc == TG_OK && or_path(x->r)) {
		if (x->nroutes == 0 || only_openrouter(x) > 0)
			return TG_OK;
		/* Catalogued, but not on OpenRouter. */
		return TG_ENOENT;
	}
	/*
	 * Only an id the catalogue does not have at all: a model an admin
	 * disabled stays refused, whatever its form.
	 */
	if (rc != TG_ENOENT || !conf->or_passthrough_unknown ||
	    !or_model_id_ok(x->model) ||
	    or_catalogued(x->c, x->r->arena, x->model))
		return rc;
	if (or_deployment(x->c, x->r->arena, conf, x->model, &x->routes[0]) !=
	    TG_OK)
		return TG_ENOENT;
	x->nroutes = 1;
	x->passthrough = 1;
	return TG_OK;
}

int64_t
or_hold(const struct call *x)
{
	/* OpenRouter serves :free variants at no cost: nothing to hold. */
	return or_model_free(x->model) ? 0 : x->r->ctx->conf->or_ceiling_nano;
}

void
or_cost_exact(struct call *x, const char *data, size_t n)
{
	int64_t nano;

	if (x->rl.rt == NULL || x->rl.rt->kind != PROV_OPENROUTER ||
	    data == NULL || n == 0)
		return;
	if (or_usage_cost(data, n, &nano) == 1)
		x->u.upstream_cost = nano;
}

enum tg_err
or_relay_key(struct call *x, const struct deployment *rt, char *secret)
{
	enum tg_err rc;

	if (x->r->ctx->conf->or_provisioning_key_file == NULL ||
	    rt->kind != PROV_OPENROUTER)
		return TG_ENOENT;
	if ((rc = chat_db(x)) == TG_OK)
		rc = or_user_key(x->c, &x->op, x->r->ctx->conf, x->r->http, rt,
		    x->r->who->user_id, secret);
	if (rc == TG_OK) {
		x->rl.ukey_id = 0; /* not a pool key: nothing to report */
		return TG_OK;
	}
	if (rc == TG_ENOENT)
		return rc;
	x->rl.fail = rc == TG_EDB ? TG_EDB : TG_EUNAVAIL;
	x->rl.fail_code = NULL;
	x->rl.fail_msg = x->op.fail.message != NULL
	    ? x->op.fail.message
	    : "this user's OpenRouter key cannot be had";
	return rc;
}

/* --- the pass-through ------------------------------------------------------- */

/* One pass-through: the client's side of the answer. */
struct pass {
	struct tg_req *r;
	struct tg_resp *resp;
	size_t bytes;
	int gone;
	long status;
};

/*
 * The query as the client sent it, less tollgate's own credential
 * (?api_key=, when [auth] allow_query_key is on), which is not OpenRouter's
 * business.
 */
static const char *
pass_query(struct arena *a, const char *q)
{
	char *out, *o;
	const char *p, *e;
	size_t n;

	if (q == NULL || *q == '\0')
		return "";
	if ((out = arena_alloc(a, strlen(q) + 2)) == NULL)
		return NULL;
	o = out;
	*o++ = '?';
	for (p = q; *p != '\0'; p = *e == '&' ? e + 1 : e) {
		e = p + strcspn(p, "&");
		n = (size_t)(e - p);
		if (n == 0 || (n >= 8 && strncmp(p, "api_key=", 8) == 0) ||
		    (n == 7 && strncmp(p, "api_key", 7) == 0))
			continue;
		if (o > out + 1)
			*o++ = '&';
		memcpy(o, p, n);
		o += n;
	}
	*o = '\0';
	return o == out + 1 ? "" : out;
}

/* A client header worth forwarding: one line, short. */
static const char *
fwd_header(struct tg_req *r, const char *name)
{
	const char *v = req_header(r, name);
	size_t i;

	if (v == NULL || *v == '\0' || strlen(v) > 256)
		return NULL;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return NULL;
	return arena_printf(r->arena, "%s: %s", name, v);
}

static int
pass_headers(void *arg, long status, const char *ctype, const char *retry_after)
{
	struct pass *p = arg;

	p->status = status;
	p->resp->status = (int)status;
	if (retry_after != NULL && *retry_after != '\0')
		resp_header(p->resp, "Retry-After",
		    arena_strdup(p->r->arena, retry_after));
	if (resp_stream_start(p->r, p->resp,
		ctype != NULL && *ctype != '\0'
		    ? arena_strdup(p->r->arena, ctype)
		    : "application/octet-stream") == -1) {
		p->gone = 1;
		return -1;
	}
	return 0;
}

static int
pass_data(void *arg, const char *d, size_t n)
{
	struct pass *p = arg;

	if (p->bytes + n > OR_PASS_MAX) {
		log_msg(LOG_WARN, "req=%s OpenRouter answer over %u bytes: cut",
		    p->r->request_id, OR_PASS_MAX);
		return -1;
	}
	p->bytes += n;
	/* Flushed as it comes: OpenRouter's own streams pass here too. */
	if (resp_stream_write(p->r, p->resp, d, n, 1) == -1) {
		p->gone = 1;
		return -1;
	}
	return 0;
}

/* How the key did, for the pool: a client's 4xx says nothing of it. */
static enum pool_outcome
pass_outcome(const struct http_result *hr)
{
	if (hr->err != HTTP_OK || hr->status >= 500)
		return PO_FAIL;
	if (hr->status == 429)
		return PO_RATE;
	return hr->status >= 200 && hr->status < 300 ? PO_OK : PO_NEUTRAL;
}

/* A Retry-After in seconds (0: none or not seconds). */
static int64_t
retry_after(const char *v)
{
	uint64_t n;

	return v != NULL && util_parse_u64(v, 0, 86400, &n) == 0 ? (int64_t)n
								 : 0;
}

/* The key to send: the user's own (provisioning), else one of the pool's. */
static enum tg_err
pass_key(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    const struct deployment *d, char *secret, int64_t *key_id)
{
	double wait = -1, paced = -1;
	struct op op;
	enum tg_err rc;

	*key_id = 0;
	req_op(r, &op);
	rc = or_user_key(
	    c, &op, r->ctx->conf, r->http, d, r->who->user_id, secret);
	if (rc == TG_OK)
		return TG_OK;
	if (rc != TG_ENOENT)
		return resp_from_op(r, resp, &op);
	rc = upstream_key_pick(c, r->arena, r->ctx->pool, r->ctx->master, d,
	    key_id, secret, &wait, &paced);
	if (rc == TG_ERATE) {
		resp_header(resp, "Retry-After",
		    arena_printf(r->arena, "%lld",
			(long long)(wait > 0 ? wait + 1 : 60)));
		return resp_fail_code(r, resp, TG_ERATE,
		    "upstream_rate_limited", NULL,
		    "every OpenRouter key is rate limited or cooling down");
	}
	if (rc != TG_OK)
		return resp_fail(r, resp, rc == TG_EDB ? TG_EDB : TG_EUNAVAIL,
		    NULL, "no OpenRouter key is available");
	return TG_OK;
}

/* The upstream request: our key, the client's body type and its wishes. */
static size_t
pass_request_headers(struct tg_req *r, const char *secret, const char **h)
{
	static const char *const fwd[] = {
	    "Content-Type", "Accept", "HTTP-Referer", "X-Title"};
	const char *v;
	size_t i, n = 0;

	h[n++] = arena_printf(r->arena, "Authorization: Bearer %s", secret);
	for (i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		if ((v = fwd_header(r, fwd[i])) != NULL)
			h[n++] = v;
	return n;
}

static enum tg_err
pass_send(struct tg_req *r, struct tg_resp *resp, const struct deployment *d,
    const char *secret, int64_t key_id)
{
	const struct conf *conf = r->ctx->conf;
	const char *h[8], *q = pass_query(r->arena, r->query);
	struct pass p = {r, resp, 0, 0, 0};
	struct http_request hq;
	struct http_result hr;
	size_t blen = strlen(d->base_url);

	while (blen > 0 && d->base_url[blen - 1] == '/')
		blen--;
	memset(&hq, 0, sizeof(hq));
	memset(&hr, 0, sizeof(hr));
	/* HEAD is answered as GET without its body (resp.head_only). */
	hq.method = r->method == TG_M_HEAD ? "GET" : r->method_name;
	hq.url = arena_printf(r->arena, "%.*s/%s%s", (int)blen, d->base_url,
	    r->captures[0], q != NULL ? q : "");
	hq.headers = h;
	hq.nheaders = pass_request_headers(r, secret, h);
	hq.body = r->body;
	hq.body_len = r->body_len;
	hq.connect_timeout_ms = conf->connect_timeout * 1000;
	hq.first_byte_timeout_ms = conf->first_byte_timeout * 1000;
	hq.idle_timeout_ms = conf->idle_timeout * 1000;
	hq.on_headers = pass_headers;
	hq.on_data = pass_data;
	hq.arg = &p;
	http_perform(r->http, &hq, &hr);
	crypto_wipe((char *)h[0], strlen(h[0]));
	if (key_id != 0)
		keypool_report(r->ctx->pool, key_id, pass_outcome(&hr),
		    retry_after(hr.retry_after),
		    hr.err != HTTP_OK
			? hr.error
			: arena_printf(r->arena, "HTTP %ld", hr.status));
	if (resp->sent || p.gone)
		return TG_OK; /* its status and body went as they came */
	return resp_fail(r, resp,
	    hr.err == HTTP_ETIMEOUT ? TG_ETIMEOUT : TG_EUPSTREAM, NULL,
	    "OpenRouter did not answer: %s", hr.error);
}

/*
 * Any method on /api/v1/openrouter/{path*} but the metered ones: forwarded
 * to the OpenRouter provider's base URL with the path and the query, with an
 * OpenRouter key of tollgate's (or the user's own); the answer's status,
 * type and body come back as they are, unbilled.
 */
enum tg_err
h_openrouter(struct tg_req *r, struct tg_resp *resp)
{
	char secret[UPSTREAM_SECRET_MAX + 1];
	struct deployment d;
	struct db_conn *c;
	int64_t key_id;
	enum tg_err rc;

	/* The provisioning API is the operator's, never a user's. */
	if (strcmp(r->captures[0], "keys") == 0 ||
	    strncmp(r->captures[0], "keys/", 5) == 0)
		return resp_fail(r, resp, TG_EPERM, NULL,
		    "OpenRouter's key management is not passed through");
	/*
	 * The writes that buy inference are routes of their own, metered.  The
	 * rest buy credits or manage OpenRouter's account (credits/coinbase,
	 * auth/keys): they would spend or bind the operator's account unbilled,
	 * and a per-user key would not fence them, its limit following a
	 * balance they never lower.  Only reads pass unmetered.
	 */
	if (r->method != TG_M_GET && r->method != TG_M_HEAD)
		return resp_fail_code(r, resp, TG_EPERM,
		    "passthrough_unmetered", NULL,
		    "%s /api/v1/openrouter/%s would spend unmetered; the "
		    "writes served here are POST chat/completions, "
		    "completions, embeddings, responses and messages",
		    r->method_name, r->captures[0]);
	if (!r->ctx->have_master)
		return resp_fail(r, resp, TG_EUNAVAIL, NULL,
		    "the gateway has no master key configured, so it cannot "
		    "use provider keys; see [security] master_key_file");
	if (r->content_length > 0 || r->method != TG_M_GET) {
		rc = req_read_body(r, (size_t)r->ctx->conf->max_body);
		if (rc == TG_ETOOBIG)
			return resp_fail(r, resp, rc, NULL,
			    "the request body exceeds the limit of %llu bytes",
			    (unsigned long long)r->ctx->conf->max_body);
		if (rc != TG_OK)
			return resp_fail(r, resp, TG_EINVAL, NULL,
			    "the request body ended before Content-Length "
			    "bytes");
	}
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if (or_deployment(c, r->arena, r->ctx->conf, NULL, &d) != TG_OK)
		return resp_fail(r, resp, TG_EUNAVAIL, NULL,
		    "no OpenRouter provider is configured (provider '%s')",
		    or_provider_id(r->ctx->conf));
	if ((rc = pass_key(r, resp, c, &d, secret, &key_id)) != TG_OK)
		return rc;
	/* No connection held while OpenRouter works. */
	db_put(r->ctx->db, r->db);
	r->db = NULL;
	rc = pass_send(r, resp, &d, secret, key_id);
	crypto_wipe(secret, sizeof(secret));
	return rc;
}
