/* router.c: the route table and the one place every request is dispatched */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "domain/auth.h"
#include "domain/inflight.h"
#include "domain/metrics.h"
#include "http/pipeline.h"
#include "io/db.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "http/handlers.h"
#include "core/json.h"
#include "core/log.h"
#include "http/router.h"
#include "prov/api.h"
#include "core/util.h"

/* clang-format off */
static const struct route routes[] = {
	{ TG_M_GET,  "/",		h_root,		0 },
	{ TG_M_GET,  "/health",		h_health,	0 },
	{ TG_M_GET,  "/openapi.json",	h_openapi,	0 },
	{ TG_M_GET,  "/app",		h_slash,	0 },
	{ TG_M_GET,  "/docs",		h_slash,	0 },
	{ TG_M_GET,  "/redoc",		h_slash,	0 },
	{ TG_M_GET,  "/_debug/sleep",	h_debug_sleep,	RF_DEBUG },
	{ TG_M_GET,  "/_debug/pid",	h_debug_pid,	RF_DEBUG },
	{ TG_M_GET,  "/_debug/crash",	h_debug_crash,	RF_DEBUG },
	{ TG_M_GET,  "/_debug/stats",	h_debug_stats,	RF_DEBUG },
	{ TG_M_POST, "/_debug/echo",	h_debug_echo,	RF_DEBUG | RF_JSON },

	{ TG_M_POST,   "/auth/register",		   h_auth_register,	RF_JSON },
	{ TG_M_POST,   "/auth/login",			   h_auth_login,	RF_JSON },
	{ TG_M_POST,   "/auth/logout",			   h_auth_logout,	RF_AUTH },
	{ TG_M_GET,    "/auth/session",			   h_auth_session,	0 },
	{ TG_M_GET,    "/auth/config",			   h_auth_config,	0 },
	{ TG_M_GET,    "/user/profile",			   h_user_profile,	RF_AUTH },
	{ TG_M_PUT,    "/user/profile",			   h_user_profile_update, RF_AUTH | RF_JSON },
	{ TG_M_DELETE, "/user/account",			   h_user_delete,	RF_AUTH | RF_JSON_OPT },
	{ TG_M_PUT,    "/user/password",		   h_user_password,	RF_AUTH | RF_JSON },
	{ TG_M_GET,    "/user/balance",			   h_user_balance,	RF_AUTH },
	{ TG_M_GET,    "/user/limit",			   h_user_limit,	RF_AUTH },
	{ TG_M_GET,    "/user/monitor",			   h_user_monitor,	RF_AUTH },
	{ TG_M_POST,   "/user/api-keys",		   h_keys_create,	RF_AUTH | RF_KEYS | RF_JSON_OPT },
	{ TG_M_GET,    "/user/api-keys",		   h_keys_list,		RF_AUTH },
	{ TG_M_GET,    "/user/api-keys/usage",		   h_keys_usage,	RF_AUTH },
	{ TG_M_PUT,    "/user/api-keys/{id}",		   h_keys_update,	RF_AUTH | RF_KEYS | RF_JSON },
	{ TG_M_DELETE, "/user/api-keys/{id}",		   h_keys_delete,	RF_AUTH | RF_KEYS },
	{ TG_M_POST,   "/user/api-keys/{id}/rotate",	   h_keys_rotate,	RF_AUTH | RF_KEYS | RF_JSON_OPT },

	{ TG_M_GET,    "/v1/models",			   h_models_list,	RF_AUTH },
	{ TG_M_GET,    "/v1/models/{vendor}/{model}",	   h_models_get,	RF_AUTH },
	{ TG_M_GET,    "/v1/models/{id}",		   h_models_get,	RF_AUTH },
	{ TG_M_GET,    "/models",			   h_models_public,	0 },
	{ TG_M_GET,    "/models/providers",		   h_models_providers,	0 },
	{ TG_M_POST,   "/v1/chat/completions",		   h_chat,		RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/v1/completions",		   h_completions,	RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/v1/embeddings",		   h_embeddings,	RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/v1/quote",			   h_quote,		RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/v1/messages",			   h_messages,		RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/v1/messages/count_tokens",	   h_messages_count,	RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/v1/responses",			   h_responses,		RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/v1beta/models/{target*}",	   h_gemini,		RF_AUTH | RF_JSON },
	{ TG_M_GET,    "/user/usage",			   h_user_usage,	RF_AUTH },
	{ TG_M_GET,    "/user/bill",			   h_user_bill,		RF_AUTH },

	{ TG_M_POST,   "/admin/add_credits",		   h_admin_add_credits,	RF_ADMIN | RF_JSON },
	{ TG_M_GET,    "/admin/balance",		   h_admin_balance,	RF_ADMIN },
	{ TG_M_GET,    "/admin/users",			   h_admin_users,	RF_ADMIN },
	{ TG_M_GET,    "/admin/users/{id}",		   h_admin_user_get,	RF_ADMIN },
	{ TG_M_PUT,    "/admin/users/{id}",		   h_admin_user_update,	RF_ADMIN | RF_JSON },
	{ TG_M_POST,   "/admin/limit",			   h_admin_limit_set,	RF_ADMIN | RF_JSON },
	{ TG_M_GET,    "/admin/limit",			   h_admin_limit_get,	RF_ADMIN },
	{ TG_M_GET,    "/admin/monitor",		   h_admin_monitor,	RF_ADMIN },
	{ TG_M_POST,   "/admin/invites",		   h_admin_invites,	RF_ADMIN | RF_JSON_OPT },
	{ TG_M_GET,    "/admin/audit",			   h_admin_audit,	RF_ADMIN },
	{ TG_M_GET,    "/admin/bill",			   h_admin_bill,	RF_ADMIN },
	{ TG_M_GET,    "/admin/providers",		   h_admin_providers,	RF_ADMIN },
	{ TG_M_POST,   "/admin/providers",		   h_admin_provider_add, RF_ADMIN | RF_JSON },
	{ TG_M_PUT,    "/admin/providers/{id}",		   h_admin_provider_update, RF_ADMIN | RF_JSON },
	{ TG_M_GET,    "/admin/providers/{id}/keys",	   h_admin_ukeys,	RF_ADMIN },
	{ TG_M_POST,   "/admin/providers/{id}/keys",	   h_admin_ukey_add,	RF_ADMIN | RF_JSON },
	{ TG_M_DELETE, "/admin/providers/{id}/keys/{key_id}", h_admin_ukey_delete, RF_ADMIN },
	{ TG_M_PUT,    "/admin/providers/{id}/keys/{key_id}", h_admin_ukey_update, RF_ADMIN | RF_JSON },
	{ TG_M_GET,    "/admin/upstream-keys",		   h_admin_upstream_keys, RF_ADMIN },
	{ TG_M_GET,    "/api/status",			   h_api_status,	RF_ADMIN },
	{ TG_M_POST,   "/admin/models",			   h_admin_model_add,	RF_ADMIN | RF_JSON },
	{ TG_M_POST,   "/admin/models/import",		   h_admin_models_import, RF_ADMIN | RF_JSON },
	{ TG_M_PUT,    "/admin/models/{vendor}/{model}",   h_admin_model_update, RF_ADMIN | RF_JSON },
	{ TG_M_PUT,    "/admin/models/{id}",		   h_admin_model_update, RF_ADMIN | RF_JSON },
	{ TG_M_GET,    "/user/usage/summary",		   h_user_usage_summary, RF_AUTH },
	{ TG_M_GET,    "/user/credits",			   h_user_credits,	RF_AUTH },
	{ TG_M_GET,    "/admin/audit/verify",		   h_admin_audit_verify, RF_ADMIN },
	/* issue 18: compat */
	{ TG_M_POST,   "/api/layers/chat",		   h_layers_chat,	RF_AUTH | RF_JSON },
	{ TG_M_GET,    "/api/keys/list",		   h_seed_keys_list,	RF_AUTH },
	{ TG_M_POST,   "/api/keys/generate",		   h_seed_keys_generate, RF_AUTH | RF_KEYS | RF_JSON_OPT },
	{ TG_M_DELETE, "/api/keys/delete",		   h_seed_keys_delete,	RF_AUTH | RF_KEYS | RF_JSON },
	{ TG_M_GET,    "/api/usage/check",		   h_seed_usage_check,	RF_AUTH },
	{ TG_M_POST,   "/api/keys",			   h_api_keys_create,	RF_ADMIN | RF_JSON },
	{ TG_M_GET,    "/api/keys",			   h_api_keys_list,	RF_ADMIN },
	/* issue 18: s001 */
	{ TG_M_GET,    "/user/api-keys/{id}",		   h_keys_get,		RF_AUTH },
	{ TG_M_POST,   "/admin/refresh-models",		   h_admin_refresh_models, RF_ADMIN | RF_JSON_OPT },
	{ TG_M_GET,    "/admin/cache-status",		   h_admin_cache_status, RF_ADMIN },
	/* issue 18: did */
	{ TG_M_GET,    "/api/v1/usage",			   h_did_usage,		RF_AUTH },
	{ TG_M_GET,    "/api/v1/health",		   h_health,		0 },
	/* issue 18: openrouter */
	{ TG_M_POST,   "/api/v1/openrouter/chat/completions", h_chat,	RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/api/v1/openrouter/completions",   h_completions, RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/api/v1/openrouter/embeddings",	   h_embeddings, RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/api/v1/openrouter/responses",	   h_responses,	RF_AUTH | RF_JSON },
	{ TG_M_POST,   "/api/v1/openrouter/messages",	   h_messages,	RF_AUTH | RF_JSON },
	{ TG_M_GET,    "/api/v1/openrouter/{path*}",	   h_openrouter, RF_AUTH },
	{ TG_M_POST,   "/api/v1/openrouter/{path*}",	   h_openrouter, RF_AUTH },
	{ TG_M_PUT,    "/api/v1/openrouter/{path*}",	   h_openrouter, RF_AUTH },
	{ TG_M_PATCH,  "/api/v1/openrouter/{path*}",	   h_openrouter, RF_AUTH },
	{ TG_M_DELETE, "/api/v1/openrouter/{path*}",	   h_openrouter, RF_AUTH },
	/* issue 18: money */
	{ TG_M_POST,   "/admin/redeem-codes",		   h_admin_redeem_create, RF_ADMIN | RF_JSON },
	{ TG_M_GET,    "/admin/redeem-codes",		   h_admin_redeem_list,	RF_ADMIN },
	{ TG_M_POST,   "/user/redeem",			   h_user_redeem,	RF_AUTH | RF_JSON },
	{ TG_M_GET,    "/user/topups",			   h_user_credits,	RF_AUTH },
	{ TG_M_POST,   "/billing/webhook",		   h_billing_webhook,	0 },
	/* issue 18: convlog */
	{ TG_M_GET,    "/user/conversations",		   h_user_conversations, RF_AUTH },
	{ TG_M_GET,    "/user/conversations/{id}",	   h_user_conversation_get, RF_AUTH },
	{ TG_M_DELETE, "/user/conversations/{id}",	   h_user_conversation_delete, RF_AUTH },
	/* issue 18: testmode */
	{ TG_M_GET,    "/user/sandbox",			   h_user_sandbox,	RF_AUTH },
	/* issue 19: obs: an admin, or an address in [metrics] allow */
	{ TG_M_GET,    "/metrics",			   h_metrics,		0 },
};
/* clang-format on */

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Headers a browser may send cross-origin; later issues' auth headers included. */
#define CORS_ALLOW_HEADERS                                                     \
	"Authorization, Content-Type, X-API-Key, api-key, Idempotency-Key, "   \
	"X-Request-Id, HTTP-Referer, X-Title, anthropic-version, "             \
	"anthropic-beta, x-goog-api-key, x-goog-api-client, x-did, "           \
	"x-did-timestamp, x-did-signature"
#define CORS_EXPOSE_HEADERS                                                    \
	"x-request-id, x-tollgate-cost, x-tollgate-balance, "                  \
	"x-tollgate-provider, retry-after, x-ratelimit-limit-requests, "       \
	"x-ratelimit-remaining-requests, x-ratelimit-reset-requests, "         \
	"x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, "             \
	"x-ratelimit-reset-tokens"

/*
 * Match path against pattern segment by segment; "{name}" captures one
 * non-empty segment, a last "{name*}" the rest of the path, slashes and all
 * (Gemini's "models/{model}:generateContent", whose model ids may hold
 * one).  Returns 1 on a match with captures filled.
 */
static int
match(struct tg_req *r, const char *pat, const char *path)
{
	const char *caps[REQ_MAX_CAPTURES];
	size_t lens[REQ_MAX_CAPTURES], ncap = 0, pn, sn, i;

	while (*pat != '\0' && *path != '\0') {
		if (*pat != '/' || *path != '/')
			return 0;
		pat++;
		path++;
		pn = strcspn(pat, "/");
		sn = strcspn(path, "/");
		if (pn > 2 && pat[0] == '{' && pat[pn - 2] == '*' &&
		    pat[pn] == '\0') {
			sn = strlen(path);
			if (sn == 0 || ncap == REQ_MAX_CAPTURES)
				return 0;
			caps[ncap] = path;
			lens[ncap++] = sn;
		} else if (pn > 1 && pat[0] == '{') {
			if (sn == 0 || ncap == REQ_MAX_CAPTURES)
				return 0;
			caps[ncap] = path;
			lens[ncap++] = sn;
		} else if (pn != sn || strncmp(pat, path, pn) != 0) {
			return 0;
		}
		pat += pn;
		path += sn;
	}
	if (*pat != '\0' || *path != '\0')
		return 0;
	for (i = 0; i < ncap; i++)
		r->captures[i] = arena_strndup(r->arena, caps[i], lens[i]);
	r->ncaptures = ncap;
	return 1;
}

const struct route *
router_routes(size_t *n)
{
	*n = NROUTES;
	return routes;
}

static void
allow_add(char *allow, size_t len, unsigned *seen, enum tg_method m)
{
	if (*seen & (1u << m))
		return;
	*seen |= 1u << m;
	if (*allow != '\0')
		strncat(allow, ", ", len - strlen(allow) - 1);
	strncat(allow, req_method_name(m), len - strlen(allow) - 1);
}

/*
 * The path prefixes other gateways' clients use for ours (seed 004: the
 * OpenAI SDK at http://host/api/v1, its own /api/proxy/...; seed 002:
 * /api/v1/chat/completions): tried only when no route matches the path as
 * it came, so an explicit /api/v1/... route always wins.
 */
/* clang-format off */
static const struct {
	const char *prefix;
	const char *to;
} path_aliases[] = {
	{ "/api/v1/",		"/v1/" },
	{ "/api/proxy/",	"/v1/" },
};
/* clang-format on */

/* The route of (method, path) in the table; *found when only the method differs. */
static const struct route *
match_table(struct tg_req *r, enum tg_method method, const char *path,
    int debug, int *found, char *allow, size_t allowlen, unsigned *seen)
{
	const struct route *rt;
	size_t i;

	for (i = 0; i < NROUTES; i++) {
		rt = &routes[i];
		if ((rt->flags & RF_DEBUG) && !debug)
			continue;
		if (!match(r, rt->pattern, path))
			continue;
		if (rt->method == method ||
		    (method == TG_M_HEAD && rt->method == TG_M_GET))
			return rt;
		*found = 1;
		if (allow != NULL) {
			allow_add(allow, allowlen, seen, rt->method);
			if (rt->method == TG_M_GET)
				allow_add(allow, allowlen, seen, TG_M_HEAD);
		}
	}
	return NULL;
}

/* path with its alias prefix replaced (NULL: it has none), in r's arena. */
static const char *
alias_path(struct tg_req *r, const char *path)
{
	size_t i, n;

	for (i = 0; i < sizeof(path_aliases) / sizeof(path_aliases[0]); i++) {
		n = strlen(path_aliases[i].prefix);
		if (strncmp(path, path_aliases[i].prefix, n) == 0)
			return arena_printf(
			    r->arena, "%s%s", path_aliases[i].to, path + n);
	}
	return NULL;
}

const struct route *
router_match(struct tg_req *r, enum tg_method method, const char *path,
    int debug, enum tg_err *err, char *allow, size_t allowlen)
{
	const struct route *rt;
	const char *alias;
	unsigned seen = 0;
	int found = 0;

	if (allow != NULL && allowlen > 0)
		*allow = '\0';
	rt =
	    match_table(r, method, path, debug, &found, allow, allowlen, &seen);
	if (rt == NULL && !found && (alias = alias_path(r, path)) != NULL)
		rt = match_table(
		    r, method, alias, debug, &found, allow, allowlen, &seen);
	if (rt != NULL)
		return rt;
	if (found && allow != NULL)
		allow_add(allow, allowlen, &seen, TG_M_OPTIONS);
	*err = found ? TG_EMETHOD : TG_ENOENT;
	return NULL;
}

static void
cors(struct tg_req *r, struct tg_resp *resp, const struct conf *c)
{
	const char *origin = req_header(r, "Origin");

	if (!conf_origin_allowed(c, origin))
		return;
	resp_header(resp, "Access-Control-Allow-Origin", origin);
	resp_header(resp, "Vary", "Origin");
	resp_header(resp, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

/* OPTIONS: 204 with Allow; a CORS preflight from an allowed origin gets the rest. */
static void
preflight(struct tg_req *r, struct tg_resp *resp, const struct conf *c,
    const char *allow)
{
	resp->status = 204;
	resp_header(resp, "Allow", allow);
	if (req_header(r, "Access-Control-Request-Method") == NULL ||
	    !conf_origin_allowed(c, req_header(r, "Origin")))
		return;
	resp_header(resp, "Access-Control-Allow-Methods", allow);
	resp_header(resp, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
	resp_header(resp, "Access-Control-Max-Age",
	    arena_printf(r->arena, "%u", c->cors_max_age));
}

/* application/json in UTF-8: any other charset is refused (415). */
static int
is_json_type(const char *ct)
{
	return req_json_type(ct);
}

/*
 * Values a control-plane body may hold: the largest real one (a pricing
 * file import) has under a thousand; 64 KiB of [{},...] has 21845.
 */
#define CONTROL_MAX_ELEMENTS 10000

/* The routes that take prompts, by the pattern's start; everything else small forms. */
static const char *const data_prefixes[] = {
    "/v1/",
    "/v1beta/",
    "/api/layers/",
    "/api/v1/openrouter/",
};

static int
data_plane(const struct route *rt)
{
	size_t i;

	for (i = 0; i < sizeof(data_prefixes) / sizeof(data_prefixes[0]); i++)
		if (strncmp(rt->pattern, data_prefixes[i],
			strlen(data_prefixes[i])) == 0)
			return 1;
	return 0;
}

static uint64_t
body_cap(const struct route *rt, const struct conf *c)
{
	return data_plane(rt) ? c->max_body : c->max_control_body;
}

static enum tg_err
too_big(struct tg_req *r, struct tg_resp *resp, uint64_t cap)
{
	return resp_fail(r, resp, TG_ETOOBIG, NULL,
	    "the request body exceeds the limit of %llu bytes",
	    (unsigned long long)cap);
}

static enum tg_err
load_json(struct tg_req *r, const struct route *rt, struct tg_resp *resp,
    const struct conf *c)
{
	uint64_t cap = body_cap(rt, c);
	char err[256];
	enum tg_err rc;

	if (!is_json_type(req_header(r, "Content-Type")))
		return resp_fail(r, resp, TG_EMEDIA, NULL,
		    "Content-Type must be application/json");
	rc = req_read_body(r, (size_t)cap);
	if (rc == TG_ETOOBIG)
		return too_big(r, resp, cap);
	if (rc != TG_OK)
		return resp_fail(r, resp, TG_EINVAL, NULL,
		    "the request body ended before Content-Length bytes");
	rc = jx_parse(r->body, r->body_len, c->max_json_depth,
	    data_plane(rt) ? (size_t)c->max_json_elements
			   : CONTROL_MAX_ELEMENTS,
	    1, &r->json, err, sizeof(err));
	if (rc != TG_OK)
		return resp_fail(r, resp, rc, NULL, "%s", err);
	arena_defer_json(r->arena, r->json);
	return TG_OK;
}

/* The routes of APIs other than OpenAI's, by the pattern's start. */
/* clang-format off */
static const struct {
	const char *prefix;
	enum wire api;
} route_apis[] = {
	{ "/v1/messages",	WIRE_ANTHROPIC },
	{ "/v1/responses",	WIRE_RESPONSES },
	{ "/v1beta/",		WIRE_GEMINI },
	{ "/api/v1/openrouter/messages",  WIRE_ANTHROPIC },
	{ "/api/v1/openrouter/responses", WIRE_RESPONSES },
};
/* clang-format on */

/* The codec of the API a route's clients speak; NULL for OpenAI's. */
static const struct api_ops *
route_api(const struct route *rt)
{
	size_t i;

	for (i = 0; i < sizeof(route_apis) / sizeof(route_apis[0]); i++)
		if (strncmp(rt->pattern, route_apis[i].prefix,
			strlen(route_apis[i].prefix)) == 0)
			return api_ops_of(route_apis[i].api);
	return NULL;
}

/* What a route asks of the caller's credential. */
static unsigned
route_perms(const struct route *rt, enum tg_method m)
{
	if (rt->flags & RF_ADMIN)
		return PERM_ADMIN;
	if (rt->flags & RF_KEYS)
		return PERM_KEYS;
	return m == TG_M_GET || m == TG_M_HEAD ? PERM_READ : PERM_WRITE;
}

static enum tg_err
dispatch(struct tg_req *r, struct tg_resp *resp, const struct conf *c)
{
	const struct route *rt;
	enum tg_err rc;
	char allow[128];

	rt = router_match(
	    r, r->method, r->path, c->debug_routes, &rc, allow, sizeof(allow));
	if (rt == NULL && rc == TG_EMETHOD && r->method == TG_M_OPTIONS) {
		preflight(r, resp, c, arena_strdup(r->arena, allow));
		return TG_OK;
	}
	if (rt == NULL && rc == TG_EMETHOD) {
		resp_header(resp, "Allow", arena_strdup(r->arena, allow));
		return resp_fail(r, resp, rc, NULL,
		    "%s is not allowed on %s; "
		    "allowed: %s",
		    r->method_name, r->path, allow);
	}
	if (rt == NULL)
		return resp_fail(r, resp, rc, NULL, "no route for %s %s",
		    r->method_name, r->path);
	r->route_ix = (int)(rt - routes); /* issue 19: obs */
	/* From here on its errors are told in the API the client speaks. */
	resp->api = route_api(rt);
	/* Refused on its Content-Length before credentials or a read. */
	if (r->content_length > 0 &&
	    (uint64_t)r->content_length > body_cap(rt, c))
		return too_big(r, resp, body_cap(rt, c));
	if ((rt->flags & (RF_AUTH | RF_ADMIN)) &&
	    (rc = auth_check(r, resp, route_perms(rt, r->method))) != TG_OK)
		return rc;
	if (((rt->flags & RF_JSON) ||
		((rt->flags & RF_JSON_OPT) &&
		    (r->content_length > 0 ||
			is_json_type(req_header(r, "Content-Type"))))) &&
	    (rc = load_json(r, rt, resp, c)) != TG_OK)
		return rc;
	/* Handlers of optional bodies see an empty object, never NULL. */
	if ((rt->flags & RF_JSON_OPT) && r->json == NULL) {
		r->json = json_object();
		arena_defer_json(r->arena, r->json);
	}
	return rt->fn(r, resp);
}

/*
 * issue 19: obs: the answered request into the node's metrics (a few atomic
 * adds; the process's pool and statement figures go at each tick) and the
 * access log.
 */
static void
observe(struct tg_req *r, struct tg_resp *resp, const struct tg_ctx *ctx)
{
	struct log_access_rec la;
	int status = resp->status != 0 ? resp->status : 200;

	(void)ctx;
	metrics_request(r->route_ix, status, r->model);
	metrics_busy(-1);
	/* The path only: a query string may carry a credential. */
	memset(&la, 0, sizeof(la));
	la.method = r->method_name;
	la.path = r->path;
	la.reqid = r->request_id;
	la.client_reqid = r->client_request_id;
	la.user = r->who != NULL ? r->who->user_pub : NULL;
	la.key = r->who != NULL && r->who->key_pub[0] != '\0' ? r->who->key_pub
							      : NULL;
	la.model = r->model;
	la.status = status;
	la.bytes = resp->bytes;
	la.secs = util_now() - r->started;
	la.cost = r->cost;
	log_access(&la);
}

void
router_serve(struct tg_io *io, struct arena *a, const struct tg_ctx *ctx,
    struct http_client *http)
{
	struct tg_req r;
	struct tg_resp resp;
	enum tg_err rc;

	resp_init(&resp);
	metrics_busy(1); /* issue 19: obs */
	rc = req_init(&r, a, io, ctx);
	r.http = http;
	r.route_ix = -1;
	r.cost = -1;
	resp.head_only = r.method == TG_M_HEAD;
	resp_header(&resp, "x-request-id", r.request_id);
	if (r.client_request_id != NULL)
		resp_header(&resp, "x-client-request-id", r.client_request_id);
	cors(&r, &resp, ctx->conf);
	if (rc != TG_OK)
		resp_fail(&r, &resp, rc, NULL, "%s",
		    r.error != NULL ? r.error : "the request is invalid");
	else
		rc = dispatch(&r, &resp, ctx->conf);
	if (rc != TG_OK) {
		if (resp.sent) {
			/* A streaming handler failed after its headers: nothing to fix. */
			log_msg(LOG_WARN,
			    "req=%s %s %s failed after headers (%s)",
			    r.request_id, r.method_name, r.path,
			    resp_err_code(rc));
		} else {
			if (resp_err_status(rc) >= 500)
				log_msg(LOG_ERR, "req=%s %s %s: %s",
				    r.request_id, r.method_name, r.path,
				    resp.errmsg != NULL ? resp.errmsg
							: resp_err_code(rc));
			resp_set_error(&resp, rc);
		}
	}
	if (!resp.sent && resp_send(&r, &resp) == -1)
		log_msg(LOG_INFO, "req=%s client went away", r.request_id);
	/* issue 18: s001: refusals (401, 402, 429) counted for the monitor. */
	inflight_refused(ctx->conf->run_dir, resp.status);
	if (r.db != NULL)
		db_put(ctx->db, r.db);
	observe(&r, &resp, ctx);
	resp_clear(&resp);
}
