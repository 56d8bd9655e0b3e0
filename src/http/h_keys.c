/* h_keys.c: the caller's API keys */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "domain/auth.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/db.h"
#include "domain/op.h"
#include "http/handlers.h"
#include "core/json.h"
#include "domain/keys.h"
#include "domain/audit.h"
#include "http/router.h"

#define ROTATE_MAX_GRACE 604800

/* clang-format off */
static const struct jx_field rotate_fields[] = {
	{ "grace_seconds",	JX_INT,	0 },
	{ NULL,			0,	0 },
};
/* clang-format on */

/* Another user's key looks exactly like a missing one. */
static enum tg_err
not_found(struct tg_req *r, struct tg_resp *resp)
{
	return resp_fail_code(
	    r, resp, TG_ENOENT, "not_found", "id", "no API key with this id");
}

enum tg_err
h_keys_create(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	char secret[KEY_MAX_LEN];
	struct key_spec s;
	struct db_conn *c;
	json_t *key;
	int64_t n;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = key_spec_from_json(&op, r->json, 1, &s)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	/* Counted under the audit lock, so parallel creates cannot overshoot. */
	if ((rc = key_count(c, &op, r->who->user_id, &n)) != TG_OK)
		goto fail;
	if (n >= (int64_t)r->ctx->conf->max_keys_per_user) {
		rc = resp_fail_code(r, resp, TG_ECONFLICT, "too_many_keys",
		    NULL,
		    "this account has %lld keys, the most allowed: delete one "
		    "first",
		    (long long)n);
		goto fail;
	}
	if ((rc = key_scope_create(c, &op, &s)) != TG_OK ||
	    (rc = key_create(c, &op, r->who->user_id, &s, secret, &key)) !=
		TG_OK)
		goto fail;
	if ((rc = db_commit(c)) != TG_OK)
		goto fail;
	resp->status = 201;
	resp_header(resp, "Cache-Control", "no-store");
	resp->body = json_pack("{s:s, s:O}", "api_key", secret, "key", key);
	crypto_wipe(secret, sizeof(secret));
	return TG_OK;
fail:
	db_rollback(c);
	return resp_op(r, resp, &op, rc);
}

enum tg_err
h_keys_list(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *list;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = key_list(c, &op, r->who->user_id, &list)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	/* A read-only key sees itself, not the account's other keys. */
	if (!auth_whole_account(r->who))
		key_list_keep(list, "id", r->who->key_pub);
	resp->body = json_pack("{s:O}", "data", list);
	return TG_OK;
}

/*
 * One key by id, as the listing shows it: another user's id, a revoked or
 * an unknown one is the same 404, and a read-only key sees only itself.
 */
enum tg_err
h_keys_get(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *key;
	enum tg_err rc;

	req_op(r, &op);
	if (!auth_whole_account(r->who) &&
	    strcmp(r->captures[0], r->who->key_pub) != 0)
		return not_found(r, resp);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	rc = key_get(c, &op, r->who->user_id, r->captures[0], NULL, &key);
	if (rc == TG_ENOENT)
		return not_found(r, resp);
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_incref(key);
	return TG_OK;
}

enum tg_err
h_keys_update(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct key_spec s;
	struct db_conn *c;
	json_t *key;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = key_spec_from_json(&op, r->json, 0, &s)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	rc = key_update(c, &op, r->who->user_id, r->captures[0], &s, &key);
	if (rc == TG_ENOENT)
		return not_found(r, resp);
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_incref(key);
	return TG_OK;
}

enum tg_err
h_keys_delete(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	rc = key_revoke(c, &op, r->who->user_id, r->captures[0]);
	if (rc == TG_ENOENT)
		return not_found(r, resp);
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->status = 204;
	return TG_OK;
}

enum tg_err
h_keys_rotate(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	char secret[KEY_MAX_LEN];
	struct db_conn *c;
	json_t *key, *until, *g;
	int64_t grace = 0;
	enum tg_err rc;

	req_op(r, &op);
	if (r->json != NULL) {
		if ((rc = resp_check(r, resp, r->json, rotate_fields)) != TG_OK)
			return rc;
		if ((g = json_object_get(r->json, "grace_seconds")) != NULL)
			grace = json_integer_value(g);
		if (grace < 0 || grace > ROTATE_MAX_GRACE)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "grace_seconds",
			    "grace_seconds is from 0 to %d", ROTATE_MAX_GRACE);
	}
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	rc = key_rotate(c, &op, r->who->user_id, r->captures[0], grace, secret,
	    &key, &until);
	if (rc == TG_ENOENT)
		return not_found(r, resp);
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp_header(resp, "Cache-Control", "no-store");
	resp->body = json_pack("{s:s, s:O, s:O}", "api_key", secret, "key", key,
	    "previous_key_valid_until", until);
	crypto_wipe(secret, sizeof(secret));
	return TG_OK;
}

enum tg_err
h_keys_usage(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *list, *out, *k, *mr;
	size_t i;
	int64_t used, max;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = key_list(c, &op, r->who->user_id, &list)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	if (!auth_whole_account(r->who))
		key_list_keep(list, "id", r->who->key_pub);
	out = json_array();
	json_array_foreach(list, i, k) {
		used = json_integer_value(json_object_get(k, "requests_used"));
		mr = json_object_get(k, "max_requests");
		max = json_is_integer(mr) ? json_integer_value(mr) : -1;
		json_array_append_new(out,
		    json_pack("{s:O, s:O, s:O, s:O, s:O, s:I, s:O, s:o, s:o, "
			      "s:O, s:O, s:O}",
			"key_id", json_object_get(k, "id"), "api_key",
			json_object_get(k, "api_key"), "key_name",
			json_object_get(k, "name"), "is_active",
			json_object_get(k, "is_active"), "is_primary",
			json_object_get(k, "is_primary"), "requests_used",
			(json_int_t)used, "max_requests", mr,
			"requests_remaining",
			max < 0 ? json_null()
				: json_integer(max > used ? max - used : 0),
			"usage_percentage",
			max <= 0
			    ? json_real(0)
			    : json_real((double)(used * 10000 / max) / 100.0),
			"environment_tag", json_object_get(k, "environment"),
			"created_at", json_object_get(k, "created_at"),
			"last_used_at", json_object_get(k, "last_used_at")));
	}
	resp->body = json_pack("{s:s, s:I, s:o}", "user_id", r->who->user_pub,
	    "total_keys", (json_int_t)json_array_size(list), "keys", out);
	return TG_OK;
}
