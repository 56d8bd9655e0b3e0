/* h_seed001.c: seed 001's operator routes: the model refresh from OpenRouter and the cache status */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/json.h"
#include "domain/op.h"
#include "domain/refresh.h"
#include "domain/upstream.h"
#include "http/ctx.h"
#include "http/handlers.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"
#include "io/cache.h"
#include "io/db.h"
#include "io/http_client.h"

#define OR_KIND		   "openrouter"
#define LIST_MAX_BODY	   (16u << 20) /* OpenRouter's list is ~1 MiB */
#define LIST_FIRST_BYTE_MS 30000
#define LIST_IDLE_MS	   30000
#define AUTH_HEADER_MAX	   (UPSTREAM_SECRET_MAX + 32)

/* clang-format off */
static const struct jx_field refresh_fields[] = {
	{ "provider",	JX_STRING,	0 },
	{ NULL,		0,		0 },
};
/* clang-format on */

/*
 * The provider to refresh from: the one named (it must be of kind
 * openrouter), else the first enabled provider of that kind.
 */
static enum tg_err
or_provider(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    const char *named, struct deployment *d)
{
	json_t *all, *p = NULL, *v;
	enum tg_err rc;
	size_t i;

	if (named != NULL) {
		if ((rc = upstream_providers(c, r->arena, named, &p)) ==
		    TG_ENOENT)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "provider", "no such provider");
		if (rc != TG_OK)
			return rc;
		if (strcmp(jx_str(p, "kind"), OR_KIND) != 0)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "provider",
			    "the provider is not of kind openrouter");
	} else {
		if ((rc = upstream_providers(c, r->arena, NULL, &all)) != TG_OK)
			return rc;
		json_array_foreach(json_object_get(all, "data"), i, v) {
			if (strcmp(jx_str(v, "kind"), OR_KIND) == 0 &&
			    json_is_true(json_object_get(v, "enabled"))) {
				p = v;
				break;
			}
		}
		if (p == NULL)
			return resp_fail_code(r, resp, TG_ECONFLICT,
			    "no_provider", NULL,
			    "no enabled provider of kind openrouter: add one "
			    "first (POST /admin/providers)");
	}
	memset(d, 0, sizeof(*d));
	snprintf(d->provider_id, sizeof(d->provider_id), "%s", jx_str(p, "id"));
	d->kind = (enum prov_kind)upstream_kind_parse(OR_KIND);
	d->base_url = arena_strdup(r->arena, jx_str(p, "base_url"));
	return TG_OK;
}

/*
 * "Authorization: Bearer KEY" for the provider's key, "" when its pool has
 * none (OpenRouter's model list is public).
 */
static enum tg_err
or_auth(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    const struct deployment *d, char out[AUTH_HEADER_MAX])
{
	char secret[UPSTREAM_SECRET_MAX + 1];
	double wait = 0, paced = 0;
	int64_t kid;
	enum tg_err rc;

	*out = '\0';
	rc = upstream_key_pick(c, r->arena, r->ctx->pool, r->ctx->master, d,
	    &kid, secret, &wait, &paced);
	if (rc == TG_ENOENT)
		return TG_OK;
	if (rc != TG_OK)
		return resp_fail(r, resp, rc == TG_EDB ? TG_EDB : TG_EUNAVAIL,
		    NULL, "no key of provider %s is available now",
		    d->provider_id);
	snprintf(out, AUTH_HEADER_MAX, "Authorization: Bearer %s", secret);
	crypto_wipe(secret, sizeof(secret));
	return TG_OK;
}

/* GET base_url/models into *data (OpenRouter's "data" array, deferred). */
static enum tg_err
fetch_list(struct tg_req *r, struct tg_resp *resp, const struct deployment *d,
    char *auth, json_t **data)
{
	const char *hdrs[2] = {"Accept: application/json", auth};
	struct http_request hq;
	struct http_result hr;
	size_t bl = strlen(d->base_url);
	json_t *doc = NULL;
	enum tg_err rc = TG_OK;

	memset(&hq, 0, sizeof(hq));
	hq.method = "GET";
	hq.url = arena_printf(r->arena, "%.*s/models",
	    (int)(bl > 0 && d->base_url[bl - 1] == '/' ? bl - 1 : bl),
	    d->base_url);
	hq.headers = hdrs;
	hq.nheaders = *auth != '\0' ? 2 : 1;
	hq.connect_timeout_ms = r->ctx->conf->connect_timeout * 1000;
	hq.first_byte_timeout_ms = LIST_FIRST_BYTE_MS;
	hq.idle_timeout_ms = LIST_IDLE_MS;
	hq.max_body = LIST_MAX_BODY;
	http_perform(r->http, &hq, &hr);
	crypto_wipe(auth, strlen(auth));
	if (hr.err != HTTP_OK || hr.status != 200)
		rc = resp_fail(r, resp, TG_EUPSTREAM, NULL,
		    "the provider's model list failed: %s",
		    hr.err != HTTP_OK
			? hr.error
			: arena_printf(r->arena, "HTTP %ld", hr.status));
	else if ((doc = json_loadb(hr.body, hr.body_len, 0, NULL)) == NULL ||
	    !json_is_array(json_object_get(doc, "data")))
		rc = resp_fail(r, resp, TG_EUPSTREAM, NULL,
		    "the provider's model list is not OpenRouter's "
		    "{\"data\":[...]}");
	http_result_clear(&hr);
	if (doc != NULL)
		arena_defer_json(r->arena, doc);
	*data = json_object_get(doc, "data");
	return rc;
}

enum tg_err
h_admin_refresh_models(struct tg_req *r, struct tg_resp *resp)
{
	char auth[AUTH_HEADER_MAX];
	struct deployment d;
	struct db_conn *c;
	struct op op;
	json_t *data, *report;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json, refresh_fields)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK ||
	    (rc = or_provider(r, resp, c, jx_str(r->json, "provider"), &d)) !=
		TG_OK ||
	    (rc = or_auth(r, resp, c, &d, auth)) != TG_OK)
		return rc;
	/* No database connection is held while the provider answers. */
	db_put(r->ctx->db, r->db);
	r->db = NULL;
	if ((rc = fetch_list(r, resp, &d, auth, &data)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((rc = refresh_models(c, &op, d.provider_id, data, &report)) !=
	    TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_incref(report);
	return TG_OK;
}

/* A wall-clock time as ISO 8601 UTC. */
static json_t *
iso_of(double t)
{
	char s[24];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

/*
 * Each live process's row cache on this node: its entries, hits, misses and
 * the copies it dropped for a newer epoch, from the epoch file's counters
 * (no database work); the node's epoch.
 */
enum tg_err
h_admin_cache_status(struct tg_req *r, struct tg_resp *resp)
{
	struct cache *cache = db_cache(r->ctx->db);
	struct cache_worker *w;
	json_int_t te = 0, th = 0, tm = 0;
	json_t *list = json_array();
	size_t i, n;

	w = arena_calloc(r->arena, CACHE_WORKERS, sizeof(*w));
	n = w != NULL ? cache_workers(cache, w, CACHE_WORKERS) : 0;
	for (i = 0; i < n; i++) {
		json_array_append_new(list,
		    json_pack("{s:i, s:I, s:I, s:I, s:I, s:o}", "pid", w[i].pid,
			"entries", (json_int_t)w[i].entries, "hits",
			(json_int_t)w[i].hits, "misses",
			(json_int_t)w[i].misses, "stale_dropped",
			(json_int_t)w[i].bumps_seen, "started_at",
			iso_of(w[i].started)));
		te += (json_int_t)w[i].entries;
		th += (json_int_t)w[i].hits;
		tm += (json_int_t)w[i].misses;
	}
	resp->body = json_pack("{s:b, s:i, s:I, s:o, s:{s:I, s:I, s:I}}",
	    "enabled", cache != NULL, "ttl", (int)r->ctx->conf->cache_ttl,
	    "epoch", (json_int_t)cache_epoch(cache), "workers", list, "totals",
	    "entries", te, "hits", th, "misses", tm);
	return TG_OK;
}
