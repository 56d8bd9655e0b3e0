/* mock_openrouter.c: OpenRouter's own API beside its chat: /key, /generation, the key provisioning API, usage.cost scripted */
/* SPDX-License-Identifier: MIT */

/*
 * OpenRouter's shapes (openrouter.ai/docs, API reference):
 *   GET  /key                {"data":{label, usage, limit, limit_remaining,
 *                            is_free_tier, is_provisioning_key, rate_limit}}
 *   GET  /generation?id=ID   {"data":{id, model, total_cost, tokens_prompt,
 *                            tokens_completion, ...}}; 404 when unknown
 *   GET  /keys               {"data":[key...]}           provisioning key only
 *   POST /keys {name, limit} 201 {"data":{hash, name, label, disabled, limit,
 *                            limit_remaining, usage, ...}, "key":"sk-or-v1-.."}
 *   GET  /keys/HASH          {"data":{...}}
 *   PATCH /keys/HASH {name, disabled, limit}  {"data":{...}}
 *   DELETE /keys/HASH        {"deleted":true}
 * Errors are OpenRouter's {"error":{"code":N,"message":...}}.  A query
 * mock_status=N on /key or /generation answers that status instead (a 429
 * with Retry-After: 1), so a pass-through's status can be checked.
 *
 * The provisioning key is MOCK_OR_PROVISIONING_KEY; it opens only /keys,
 * as OpenRouter's opens no completions.  Keys it creates are accepted by
 * every API route (key_accepted) until deleted or disabled.
 *
 * Controls: POST /_mock/or/cost {"cost":"0.000123456789"} makes every
 * OpenRouter-flavoured usage report that cost (at most 10 significant
 * digits, printed as a decimal), {"cost":null} report none, {} the formula
 * again; GET /_mock/or/keys lists the provisioned keys with their secrets'
 * last 4 and every limit each was given, in order; GET /_mock/or/query the
 * query string of the last /key or /generation, every argument.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "mock.h"

#define MAX_OR_KEYS   256
#define MAX_LIMIT_LOG 32

static struct or_key {
	char hash[65];
	char key[74]; /* sk-or-v1- and 64 hex */
	char name[128];
	json_t *limit;	/* number or null */
	json_t *limits; /* every limit set, in order */
	int disabled, deleted;
} or_keys[MAX_OR_KEYS];
static int nor_keys;
static pthread_mutex_t or_mu = PTHREAD_MUTEX_INITIALIZER;

/* The scripted cost: 0 formula, 1 this one, 2 none at all. */
static int cost_mode;
static double cost_value;

static const char *
or_bearer(struct MHD_Connection *conn)
{
	const char *a = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	return a != NULL && strncmp(a, "Bearer ", 7) == 0 ? a + 7 : NULL;
}

static void
or_error(struct reply *r, int status, const char *msg)
{
	reply_json(r, status,
	    json_pack("{s:{s:i,s:s}}", "error", "code", status, "message", msg),
	    "");
}

/* The live key with secret k, or NULL (caller holds or_mu). */
static struct or_key *
by_secret(const char *k)
{
	int i;

	for (i = 0; k != NULL && i < nor_keys; i++)
		if (!or_keys[i].deleted && strcmp(or_keys[i].key, k) == 0)
			return &or_keys[i];
	return NULL;
}

static struct or_key *
by_hash(const char *h)
{
	int i;

	for (i = 0; h != NULL && i < nor_keys; i++)
		if (!or_keys[i].deleted && strcmp(or_keys[i].hash, h) == 0)
			return &or_keys[i];
	return NULL;
}

int
or_key_accepted(const char *key)
{
	struct or_key *k;
	int ok;

	pthread_mutex_lock(&or_mu);
	k = by_secret(key);
	ok = k != NULL && !k->disabled;
	pthread_mutex_unlock(&or_mu);
	return ok;
}

json_t *
or_usage_cost(long long prompt, long long completion)
{
	if (cost_mode == 1)
		return json_real(cost_value);
	if (cost_mode == 2)
		return NULL;
	return json_real((1000.0 * prompt + 2000.0 * completion) / 1e9);
}

/* The query of the last /key or /generation, every argument. */
static json_t *last_query;

static enum MHD_Result
query_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	(void)kind;
	json_object_set_new(cls, k, json_string(v != NULL ? v : ""));
	return MHD_YES;
}

static void
keep_query(struct ctx *c)
{
	json_t *q = json_object();

	MHD_get_connection_values(c->conn, MHD_GET_ARGUMENT_KIND, query_arg, q);
	pthread_mutex_lock(&or_mu);
	json_decref(last_query);
	last_query = q;
	pthread_mutex_unlock(&or_mu);
}

void
h_or_mock_query(struct ctx *c, struct reply *r)
{
	json_t *q;

	pthread_mutex_lock(&or_mu);
	q = last_query != NULL ? json_deep_copy(last_query) : json_object();
	pthread_mutex_unlock(&or_mu);
	reply_json(r, 200, q, "");
}

/* mock_status=N in the query: 1 with r set. */
static int
scripted_status(struct ctx *c, struct reply *r)
{
	const char *s = MHD_lookup_connection_value(
	    c->conn, MHD_GET_ARGUMENT_KIND, "mock_status");
	int st = s != NULL ? atoi(s) : 0;

	keep_query(c);
	if (st < 400 || st > 599)
		return 0;
	if (st == 429)
		add_header(r, "Retry-After", "1");
	or_error(r, st, st == 429 ? "Rate limit exceeded" : "Mock: scripted");
	return 1;
}

void
h_or_key(struct ctx *c, struct reply *r)
{
	const char *k = or_bearer(c->conn);
	struct or_key *ok;
	json_t *limit = json_null();

	if (scripted_status(c, r))
		return;
	pthread_mutex_lock(&or_mu);
	if ((ok = by_secret(k)) != NULL)
		limit = json_incref(ok->limit);
	pthread_mutex_unlock(&or_mu);
	reply_json(r, 200,
	    json_pack("{s:{s:s,s:i,s:o,s:o,s:b,s:b,s:{s:i,s:s}}}", "data",
		"label",
		ok != NULL ? "sk-or-v1-...provisioned" : "sk-or-v1-...",
		"usage", 0, "limit", limit, "limit_remaining",
		json_incref(limit), "is_free_tier", 0, "is_provisioning_key", 0,
		"rate_limit", "requests", 20, "interval", "10s"),
	    "");
}

void
h_or_generation(struct ctx *c, struct reply *r)
{
	const char *id =
	    MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "id");

	if (scripted_status(c, r))
		return;
	if (id == NULL || strncmp(id, "gen-", 4) != 0) {
		or_error(r, 404, "Generation not found");
		return;
	}
	reply_json(r, 200,
	    json_pack("{s:{s:s,s:s,s:f,s:i,s:i,s:s}}", "data", "id", id,
		"model", "mock/model", "total_cost", 0.000036, "tokens_prompt",
		12, "tokens_completion", 12, "provider_name", "MockProvider"),
	    "");
}

/* The provisioning key, or the 401 OpenRouter gives any other. */
static int
provisioning(struct ctx *c, struct reply *r)
{
	const char *k = or_bearer(c->conn);

	if (k != NULL && strcmp(k, MOCK_OR_PROVISIONING_KEY) == 0)
		return 1;
	or_error(r, 401, "Only management keys can perform this operation");
	return 0;
}

static json_t *
key_json(const struct or_key *k)
{
	char label[32];

	snprintf(label, sizeof(label), "sk-or-v1-%.3s...%s", k->key + 9,
	    k->key + strlen(k->key) - 4);
	return json_pack("{s:s,s:s,s:s,s:b,s:O,s:O,s:i,s:s}", "hash", k->hash,
	    "name", k->name, "label", label, "disabled", k->disabled, "limit",
	    k->limit, "limit_remaining", k->limit, "usage", 0, "created_at",
	    "2026-01-01T00:00:00Z");
}

/* The request body as JSON (NULL when not an object). */
static json_t *
body_json(struct ctx *c)
{
	json_t *b = json_loadb(
	    c->q->body != NULL ? c->q->body : "", c->q->len, 0, NULL);

	if (!json_is_object(b)) {
		json_decref(b);
		return NULL;
	}
	return b;
}

/* A limit OpenRouter takes: a non-negative number or null. */
static int
limit_ok(const json_t *v)
{
	return v == NULL || json_is_null(v) ||
	    (json_is_number(v) && json_number_value(v) >= 0);
}

static void
set_limit(struct or_key *k, json_t *v)
{
	json_decref(k->limit);
	k->limit = v != NULL ? json_incref(v) : json_null();
	if (json_array_size(k->limits) < MAX_LIMIT_LOG)
		json_array_append(k->limits, k->limit);
}

void
h_or_keys_create(struct ctx *c, struct reply *r)
{
	static unsigned long seq;
	json_t *b, *name;
	struct or_key *k;
	unsigned long n;
	int i;

	if (!provisioning(c, r))
		return;
	b = body_json(c);
	name = json_object_get(b, "name");
	if (!json_is_string(name) || !limit_ok(json_object_get(b, "limit"))) {
		or_error(r, 400, "name (string) is required; limit a number");
		json_decref(b);
		return;
	}
	pthread_mutex_lock(&or_mu);
	if (nor_keys == MAX_OR_KEYS) {
		pthread_mutex_unlock(&or_mu);
		or_error(r, 500, "Mock: too many keys");
		json_decref(b);
		return;
	}
	k = &or_keys[nor_keys++];
	memset(k, 0, sizeof(*k));
	n = ++seq;
	for (i = 0; i < 8; i++)
		snprintf(k->hash + i * 8, 9, "%08lx", n * 2654435761ul + i);
	snprintf(k->key, sizeof(k->key), "sk-or-v1-");
	for (i = 0; i < 8; i++)
		snprintf(k->key + 9 + i * 8, 9, "%08lx",
		    (n * 40503ul + (unsigned long)i * 7919ul) ^ 0x5bd1e995ul);
	snprintf(k->name, sizeof(k->name), "%s", json_string_value(name));
	k->limits = json_array();
	set_limit(k, json_object_get(b, "limit"));
	reply_json(r, 201,
	    json_pack("{s:o,s:s}", "data", key_json(k), "key", k->key), "");
	pthread_mutex_unlock(&or_mu);
	json_decref(b);
}

void
h_or_keys_list(struct ctx *c, struct reply *r)
{
	json_t *a = json_array();
	int i;

	if (!provisioning(c, r)) {
		json_decref(a);
		return;
	}
	pthread_mutex_lock(&or_mu);
	for (i = 0; i < nor_keys; i++)
		if (!or_keys[i].deleted)
			json_array_append_new(a, key_json(&or_keys[i]));
	pthread_mutex_unlock(&or_mu);
	reply_json(r, 200, json_pack("{s:o}", "data", a), "");
}

/* GET, PATCH and DELETE /keys/HASH. */
void
h_or_key_one(struct ctx *c, struct reply *r)
{
	struct or_key *k;
	json_t *b = NULL, *v;

	if (!provisioning(c, r))
		return;
	if (strcmp(c->method, "PATCH") == 0 &&
	    ((b = body_json(c)) == NULL ||
		!limit_ok(json_object_get(b, "limit")))) {
		or_error(r, 400, "the body must be an object; limit a number");
		json_decref(b);
		return;
	}
	pthread_mutex_lock(&or_mu);
	if ((k = by_hash(c->tail)) == NULL) {
		or_error(r, 404, "Key not found");
	} else if (strcmp(c->method, "DELETE") == 0) {
		k->deleted = 1;
		reply_json(r, 200, json_pack("{s:b}", "deleted", 1), "");
	} else {
		if (b != NULL && json_object_get(b, "limit") != NULL)
			set_limit(k, json_object_get(b, "limit"));
		if (b != NULL &&
		    json_is_boolean(v = json_object_get(b, "disabled")))
			k->disabled = json_is_true(v);
		if (b != NULL && json_is_string(v = json_object_get(b, "name")))
			snprintf(k->name, sizeof(k->name), "%s",
			    json_string_value(v));
		reply_json(r, 200, json_pack("{s:o}", "data", key_json(k)), "");
	}
	pthread_mutex_unlock(&or_mu);
	json_decref(b);
}

void
h_or_mock_cost(struct ctx *c, struct reply *r)
{
	json_t *b = body_json(c), *v = json_object_get(b, "cost");

	pthread_mutex_lock(&or_mu);
	if (v == NULL) {
		cost_mode = 0;
	} else if (json_is_null(v)) {
		cost_mode = 2;
	} else if (json_is_string(v)) {
		cost_mode = 1;
		cost_value = strtod(json_string_value(v), NULL);
	}
	pthread_mutex_unlock(&or_mu);
	json_decref(b);
	reply_json(r, 200, json_pack("{s:i}", "cost_mode", cost_mode), "");
}

void
h_or_mock_keys(struct ctx *c, struct reply *r)
{
	json_t *a = json_array();
	int i;

	pthread_mutex_lock(&or_mu);
	for (i = 0; i < nor_keys; i++)
		json_array_append_new(a,
		    json_pack("{s:s,s:s,s:s,s:O,s:O,s:b,s:b}", "hash",
			or_keys[i].hash, "name", or_keys[i].name, "last4",
			or_keys[i].key + strlen(or_keys[i].key) - 4, "limit",
			or_keys[i].limit, "limits", or_keys[i].limits,
			"disabled", or_keys[i].disabled, "deleted",
			or_keys[i].deleted));
	pthread_mutex_unlock(&or_mu);
	reply_json(r, 200, json_pack("{s:o}", "data", a), "");
}
