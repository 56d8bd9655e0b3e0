/* keys_compat.c: other gateways' keys (issue 18): imported by hash, and the admin's list of every key */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/keys.h"
#include "domain/op.h"
#include "io/db.h"
#include "store/q_compat.h"
#include "store/q_key.h"

/* Characters of an imported key shown in listings: the scheme and a few. */
#define FOREIGN_SHOWN 4

static json_t *
opt(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

enum tg_err
key_list_all(struct db_conn *c, struct op *op, int64_t limit, json_t **out)
{
	struct compat_key_row *k;
	char masked[64];
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_compat_keys_all(c, op->arena, limit, &k, &n)) != TG_OK)
		return rc;
	*out = json_array();
	for (i = 0; i < n; i++) {
		auth_mask(k[i].prefix, k[i].last4, masked, sizeof(masked));
		json_array_append_new(*out,
		    json_pack("{s:s, s:o, s:s, s:{s:s, s:s}, s:o, s:o, s:o, "
			      "s:I, s:b}",
			"id", k[i].pub, "name", opt(k[i].name), "key", masked,
			"owner", "id", k[i].owner_pub, "email",
			k[i].owner_email, "rateLimit",
			k[i].rpm >= 0 ? json_integer(k[i].rpm) : json_null(),
			"created", opt(k[i].created), "last_used",
			opt(k[i].last_used), "requests_used",
			(json_int_t)k[i].requests_used, "imported",
			k[i].imported));
	}
	arena_defer_json(op->arena, *out);
	return TG_OK;
}

/* The insert of an imported key: its hash, a prefix and last4 to show. */
static enum tg_err
insert(struct db_conn *c, struct op *op, int64_t user_id, const char *key,
    const char *name, const char *pub)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	char prefix[24], last4[5];
	size_t n = strlen(key), plen;
	struct key_write w;

	plen =
	    strncmp(key, FOREIGN_OR_PREFIX, sizeof(FOREIGN_OR_PREFIX) - 1) == 0
	    ? sizeof(FOREIGN_OR_PREFIX) - 1 + FOREIGN_SHOWN
	    : FOREIGN_SHOWN;
	snprintf(prefix, sizeof(prefix), "%.*s", (int)plen, key);
	memcpy(last4, key + n - 4, 5);
	crypto_secret_hash(key, hash);
	w = (struct key_write){
	    .pub = pub,
	    .user_id = user_id,
	    .hash = hash,
	    .prefix = prefix,
	    .last4 = last4,
	    .env = crypto_key_env_name(KEY_LIVE),
	    .name = name != NULL ? name : "imported",
	    .perms = "read,write",
	    .max_requests = -1,
	    .credit_limit = -1,
	    .ips = "[]",
	    .refs = "[]",
	    .models = "[]",
	};
	return q_key_insert(c, op->arena, &w);
}

enum tg_err
key_import(struct db_conn *c, struct op *op, int64_t user_id, const char *key,
    const char *name, json_t **out)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct key_auth_row k;
	struct key_row row;
	char pub[32];
	enum tg_err rc;

	if (strncmp(key, "gw_", 3) == 0)
		return op_fail(op, TG_EINVAL, "invalid_value", "key",
		    "this is a tollgate key (gw_...): it needs no import");
	if (!crypto_key_foreign(key))
		return op_fail(op, TG_EINVAL, "invalid_value", "key",
		    "the key's format is not one tollgate imports: "
		    "sk-or-v1- and 64 hex digits, or 32 hex digits (lower "
		    "case)");
	crypto_secret_hash(key, hash);
	rc = q_key_auth(c, op->arena, hash, sizeof(hash), &k);
	if (rc == TG_OK)
		return op_fail(op, TG_ECONFLICT, "key_exists", "key",
		    "this key is already in use here");
	if (rc != TG_ENOENT)
		return rc;
	if (crypto_public_id("key_", pub, sizeof(pub)) == -1)
		return TG_ESYSTEM;
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = insert(c, op, user_id, key, name, pub)) != TG_OK ||
	    (rc = q_key_get(c, op->arena, user_id, pub, &row)) != TG_OK ||
	    (rc = q_compat_key_imported(c, op->arena, row.id)) != TG_OK)
		goto fail;
	*out = json_pack("{s:s, s:s, s:b}", "id", pub, "name",
	    row.name != NULL ? row.name : "", "imported", 1);
	arena_defer_json(op->arena, *out);
	if ((rc = audit_commit(c, op->arena, op, "key.import", "api_key", pub,
		 NULL, *out)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}
