/* h_compat.c: other gateways' routes (seeds 000, 004) as thin adapters over the same services */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/money.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/keys.h"
#include "domain/limits.h"
#include "domain/op.h"
#include "domain/usage.h"
#include "http/chat.h"
#include "http/handlers.h"
#include "http/router.h"
#include "io/db.h"

/* The most bytes of seed 000's message (the chat route's body cap bounds it too). */
#define LAYERS_MAX_NAME 64

/*
 * Seed 000's providerName values and the providers they mean here; any other
 * name is taken as a provider id of this gateway (an operator's own).
 */
/* clang-format off */
static const struct {
	const char *seed;
	const char *provider;
} seed_providers[] = {
	{ "openai",	"openai" },
	{ "gemini",	"google" },
	{ "google",	"google" },
	{ "anthropic",	"anthropic" },
	{ "deepseek",	"deepseek" },
};

static const struct jx_field layers_fields[] = {
	{ "providerName",	JX_STRING,		0 },
	{ "model_name",		JX_STRING,		1 },
	{ "message",		JX_STRING,		1 },
	{ NULL,			0,			0 },
};

static const struct jx_field delete_fields[] = {
	{ "key",		JX_STRING,		1 },
	{ NULL,			0,			0 },
};
/* clang-format on */

/*
 * Seed 000's `user` header names the caller.  The key decides who that is;
 * a `user` that names someone else is refused (401) rather than ignored, so
 * a client sending another user's name with its key learns it at once.
 */
static enum tg_err
seed_user(struct tg_req *r, struct tg_resp *resp, json_t **user)
{
	const char *want = req_header(r, "user"), *name, *email;
	struct db_conn *c;
	struct op op;
	enum tg_err rc;

	*user = NULL;
	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = account_user(c, &op, r->who->user_id, 0, user)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if (want == NULL)
		return TG_OK;
	name = json_string_value(json_object_get(*user, "username"));
	email = json_string_value(json_object_get(*user, "email"));
	if ((name != NULL && strcmp(want, name) == 0) ||
	    (email != NULL && strcasecmp(want, email) == 0))
		return TG_OK;
	return resp_fail_code(r, resp, TG_EAUTH, "user_mismatch", "user",
	    "the 'user' header does not name the owner of this API key");
}

/* providerName as a provider id of this gateway (NULL: none given). */
static enum tg_err
layers_provider(struct tg_req *r, struct tg_resp *resp, const char **out)
{
	const char *p =
	    json_string_value(json_object_get(r->json, "providerName"));
	size_t i, n;

	*out = NULL;
	if (p == NULL)
		return TG_OK;
	for (i = 0; i < sizeof(seed_providers) / sizeof(seed_providers[0]); i++)
		if (strcasecmp(p, seed_providers[i].seed) == 0) {
			*out = seed_providers[i].provider;
			return TG_OK;
		}
	n = strlen(p);
	if (n == 0 || n > LAYERS_MAX_NAME ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n)
		return resp_fail_code(r, resp, TG_EINVAL, "unknown_provider",
		    "providerName",
		    "providerName must be one of openai, gemini, anthropic, "
		    "deepseek or a provider id of this gateway");
	*out = p;
	return TG_OK;
}

/*
 * Seed 000's body as the OpenAI chat request the metered path takes: one user
 * message; providerName becomes the routing preference `provider.only`.
 */
static enum tg_err
layers_request(struct tg_req *r, struct tg_resp *resp)
{
	const char *prov;
	json_t *msg, *body;
	enum tg_err rc;

	if ((rc = resp_check(r, resp, r->json, layers_fields)) != TG_OK ||
	    (rc = layers_provider(r, resp, &prov)) != TG_OK)
		return rc;
	msg = json_object_get(r->json, "message");
	body = json_pack("{s:O, s:[{s:s, s:O}]}", "model",
	    json_object_get(r->json, "model_name"), "messages", "role", "user",
	    "content", msg);
	if (body == NULL)
		return TG_ESYSTEM;
	if (prov != NULL)
		json_object_set_new(
		    body, "provider", json_pack("{s:[s]}", "only", prov));
	arena_defer_json(r->arena, body);
	r->json = body;
	return TG_OK;
}

/* The metered answer (an OpenAI completion in resp->raw) in seed 000's shape. */
static enum tg_err
layers_answer(struct tg_req *r, struct tg_resp *resp)
{
	json_t *o, *u, *content;
	json_int_t in, out;

	o = json_loadb(resp->raw, resp->rawlen, 0, NULL);
	if (o == NULL)
		return TG_ESYSTEM;
	arena_defer_json(r->arena, o);
	content = json_object_get(
	    json_object_get(
		json_array_get(json_object_get(o, "choices"), 0), "message"),
	    "content");
	u = json_object_get(o, "usage");
	in = json_integer_value(json_object_get(u, "prompt_tokens"));
	out = json_integer_value(json_object_get(u, "completion_tokens"));
	resp->raw = NULL;
	resp->rawlen = 0;
	/* "o" takes the reference: a new one either way, so nothing leaks. */
	resp->body = json_pack("{s:o, s:{s:I, s:I, s:I}}", "content",
	    json_is_string(content) ? json_incref(content) : json_string(""),
	    "usage", "inputTokens", in, "outputTokens", out, "totalTokens",
	    in + out);
	return resp->body != NULL ? TG_OK : TG_ESYSTEM;
}

/* POST /api/layers/chat: seed 000's one-message chat, metered as /v1/chat/completions. */
enum tg_err
h_layers_chat(struct tg_req *r, struct tg_resp *resp)
{
	json_t *user;
	enum tg_err rc;

	if ((rc = seed_user(r, resp, &user)) != TG_OK ||
	    (rc = layers_request(r, resp)) != TG_OK ||
	    (rc = chat_metered(r, resp, EP_CHAT, NULL, NULL)) != TG_OK)
		return rc;
	/* A replayed error (Idempotency-Key) stays as it was sent. */
	if (resp->status != 0 && resp->status != 200)
		return TG_OK;
	return layers_answer(r, resp);
}

/* GET /api/keys/list: the caller's keys, as GET /user/api-keys lists them. */
enum tg_err
h_seed_keys_list(struct tg_req *r, struct tg_resp *resp)
{
	json_t *user;
	enum tg_err rc;

	if ((rc = seed_user(r, resp, &user)) != TG_OK)
		return rc;
	return h_keys_list(r, resp);
}

/* POST /api/keys/generate {name?}: a new key, as POST /user/api-keys makes it. */
enum tg_err
h_seed_keys_generate(struct tg_req *r, struct tg_resp *resp)
{
	json_t *user;
	enum tg_err rc;

	if ((rc = seed_user(r, resp, &user)) != TG_OK)
		return rc;
	return h_keys_create(r, resp);
}

/* DELETE /api/keys/delete {key}: revoke one of the caller's keys by its value. */
enum tg_err
h_seed_keys_delete(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	json_t *user;
	struct op op;
	enum tg_err rc;

	if ((rc = seed_user(r, resp, &user)) != TG_OK ||
	    (rc = resp_check(r, resp, r->json, delete_fields)) != TG_OK)
		return rc;
	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	rc = key_revoke_secret(c, &op, r->who->user_id,
	    json_string_value(json_object_get(r->json, "key")));
	/* Another user's key looks exactly like a missing one. */
	if (rc == TG_ENOENT)
		return resp_fail_code(r, resp, TG_ENOENT, "not_found", "key",
		    "no API key of this account has this value");
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:b}", "deleted", 1);
	return TG_OK;
}

/* The bill's money as an exact JSON number (seed 000 sends numbers). */
static const char *
money_num(struct arena *a, const json_t *v)
{
	const char *s = json_string_value(v);

	return arena_strdup(a, s != NULL ? s : "0");
}

/* GET /api/usage/check: the bill of every key of the caller, in seed 000's shape. */
enum tg_err
h_seed_usage_check(struct tg_req *r, struct tg_resp *resp)
{
	struct usage_filter f;
	struct db_conn *c;
	json_t *user, *bill, *line, *t, *name;
	json_int_t in = 0, out = 0;
	char *s, *text;
	size_t i;
	enum tg_err rc;

	if ((rc = seed_user(r, resp, &user)) != TG_OK ||
	    (rc = auth_need_account(r, resp)) != TG_OK)
		return rc;
	memset(&f, 0, sizeof(f));
	f.user_id = r->who->user_id;
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = usage_bill(c, r->arena, &f, &bill)) != TG_OK)
		return rc;
	json_array_foreach(json_object_get(bill, "data"), i, line) {
		in +=
		    json_integer_value(json_object_get(line, "prompt_tokens"));
		out += json_integer_value(
		    json_object_get(line, "completion_tokens"));
	}
	t = json_object_get(bill, "total");
	name = json_object_get(user, "username");
	if (!json_is_string(name))
		name = json_object_get(user, "email");
	if ((s = json_dumps(name, JSON_ENCODE_ANY)) == NULL)
		return TG_ESYSTEM;
	text = arena_printf(r->arena,
	    "{\"priceToPay\":{\"username\":%s,\"total_input_tokens\":%lld,"
	    "\"total_output_tokens\":%lld,\"total_tokens\":%lld,"
	    "\"base_price\":%s,\"commission_5_percent\":%s,"
	    "\"final_price\":%s}}",
	    s, (long long)in, (long long)out, (long long)(in + out),
	    money_num(r->arena, json_object_get(t, "base_cost")),
	    money_num(r->arena, json_object_get(t, "commission")),
	    money_num(r->arena, json_object_get(t, "charge")));
	free(s);
	if (text == NULL)
		return TG_ESYSTEM;
	resp->raw = text;
	resp->rawlen = strlen(text);
	resp->ctype = "application/json";
	return TG_OK;
}

/* --- seed 004: an admin's keys with a rate limit ------------------------------------------ */

/* The most keys GET /api/keys lists; the rest are in GET /admin/users/{id}. */
#define API_KEYS_MAX 1000
/* The largest rateLimit (requests per minute) taken. */
#define RATE_LIMIT_MAX 1000000

/* clang-format off */
static const struct jx_field api_key_fields[] = {
	{ "name",		JX_STRING,		1 },
	{ "rateLimit",		JX_INT | JX_NULL,	0 },
	{ "user",		JX_STRING,		0 },
	{ NULL,			0,			0 },
};
/* clang-format on */

/* The owner of the new key: body.user (an email or usr_ id), else the caller. */
static enum tg_err
api_key_owner(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    struct op *op, int64_t *uid)
{
	const char *u = jx_str(r->json, "user");
	enum tg_err rc;

	*uid = r->who->user_id;
	if (u == NULL)
		return TG_OK;
	rc = strncmp(u, "usr_", 4) == 0
	    ? account_find(c, op, u, NULL, NULL, uid)
	    : account_find(c, op, NULL, u, NULL, uid);
	if (rc == TG_ENOENT)
		return resp_fail_code(r, resp, TG_ENOENT, "not_found", "user",
		    "no user with this email or id");
	return rc != TG_OK ? resp_op(r, resp, op, rc) : TG_OK;
}

/* The key's requests_per_minute rule, through the limits service. */
static enum tg_err
api_key_limit(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    int64_t uid, const char *pub, json_int_t rpm)
{
	json_t *lim, *out;
	int64_t kid, owner;
	struct op op;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = key_owner(c, &op, pub, &kid, &owner)) != TG_OK)
		return rc;
	lim = json_pack("{s:I}", "requests_per_minute", rpm);
	if (lim == NULL)
		return TG_ESYSTEM;
	arena_defer_json(r->arena, lim);
	rc = limits_set(c, &op, uid, kid, NULL, pub, lim, &out);
	return rc != TG_OK ? resp_op(r, resp, &op, rc) : TG_OK;
}

/* POST /api/keys {name, rateLimit?, user?}: seed 004's admin key creation. */
enum tg_err
h_api_keys_create(struct tg_req *r, struct tg_resp *resp)
{
	char secret[KEY_MAX_LEN];
	const json_t *rl = json_object_get(r->json, "rateLimit");
	json_int_t rpm = json_is_integer(rl) ? json_integer_value(rl) : 0;
	struct key_spec s;
	struct db_conn *c;
	json_t *key, *spec;
	struct op op;
	int64_t uid;
	enum tg_err rc;

	if ((rc = resp_check(r, resp, r->json, api_key_fields)) != TG_OK)
		return rc;
	if (json_is_integer(rl) && (rpm < 1 || rpm > RATE_LIMIT_MAX))
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "rateLimit", "rateLimit is requests per minute, 1 to %d",
		    RATE_LIMIT_MAX);
	req_op(r, &op);
	/* The key service's own checks of the name (its only member here). */
	if ((spec = json_pack(
		 "{s:O}", "name", json_object_get(r->json, "name"))) == NULL)
		return TG_ESYSTEM;
	arena_defer_json(r->arena, spec);
	key_spec_init(&s);
	if ((rc = key_spec_from_json(&op, spec, 1, &s)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = api_key_owner(r, resp, c, &op, &uid)) != TG_OK)
		return rc;
	if ((rc = audit_begin(c)) != TG_OK ||
	    (rc = key_create(c, &op, uid, &s, secret, &key)) != TG_OK ||
	    (rc = db_commit(c)) != TG_OK) {
		db_rollback(c);
		return resp_op(r, resp, &op, rc);
	}
	if (rpm > 0 &&
	    (rc = api_key_limit(r, resp, c, uid, jx_str(key, "id"), rpm)) !=
		TG_OK)
		return rc;
	resp->status = 201;
	resp_header(resp, "Cache-Control", "no-store");
	resp->body = json_pack("{s:s, s:s, s:O, s:O, s:o, s:O}", "key", secret,
	    "api_key", secret, "id", json_object_get(key, "id"), "name",
	    json_object_get(key, "name"), "rateLimit",
	    rpm > 0 ? json_integer(rpm) : json_null(), "created_at",
	    json_object_get(key, "created_at"));
	crypto_wipe(secret, sizeof(secret));
	return TG_OK;
}

/* GET /api/keys: every user's keys for an admin, with owner, rateLimit and usage. */
enum tg_err
h_api_keys_list(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	json_t *list;
	struct op op;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = key_list_all(c, &op, API_KEYS_MAX, &list)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O}", "data", list);
	return TG_OK;
}
