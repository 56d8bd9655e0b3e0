/* keys.h: API keys of a user: create, list, update, revoke, rotate */
/* SPDX-License-Identifier: MIT */
#ifndef KEYS_H
#define KEYS_H

#include <stdint.h>
#include <jansson.h>

#include "core/crypto.h"
#include "core/tollgate.h"

struct db_conn;
struct op;

/* What a caller may set on a key; fields not set keep their value. */
struct key_spec {
	const char *name;
	int env;	   /* enum key_env, -1 = unset */
	const char *perms; /* "read,write" (SET literal), NULL = unset */
	const char
	    *expires_at; /* "YYYY-MM-DD HH:MM:SS", "" = clear, NULL = unset */
	int64_t max_requests; /* -1 = unlimited, -2 = unset */
	int64_t credit_limit; /* nano-USD, -1 = none, -2 = unset */
	const char *ips;      /* JSON arrays, NULL = unset */
	const char *refs;
	const char *models;
	int active;  /* -1 = unset */
	int primary; /* -1 = unset */
};

void key_spec_init(struct key_spec *);
/*
 * Validate a create/update body into spec (arena strings).  Returns TG_OK, or
 * TG_EINVAL/TG_EPERM having recorded the error in op.
 */
enum tg_err key_spec_from_json(
    struct op *, const json_t *body, int creating, struct key_spec *);

/*
 * Create a key for user_id inside the caller's transaction (audit locked).
 * secret receives the full key (shown once); *out the KEY object.
 */
enum tg_err key_create(struct db_conn *, struct op *, int64_t user_id,
    const struct key_spec *, char secret[KEY_MAX_LEN], json_t **out);
/* All live keys of user_id as KEY objects ("data" array). */
enum tg_err key_list(
    struct db_conn *, struct op *, int64_t user_id, json_t **out);
/* Keep only the entries of list whose string member field is id. */
void key_list_keep(json_t *list, const char *field, const char *id);
/* One key of user_id by public id: TG_ENOENT when not theirs. */
enum tg_err key_get(struct db_conn *, struct op *, int64_t user_id,
    const char *key_pub, int64_t *key_id, json_t **out);
/*
 * Before creating s for the calling op->who: unset restrictions inherit the
 * caller's; TG_EPERM (recorded in op) when s is wider than the caller.
 */
enum tg_err key_scope_create(struct db_conn *, struct op *, struct key_spec *);
/*
 * Apply spec to the key (transaction and audit inside).  These three refuse
 * (TG_EPERM, recorded in op) a key or a change wider than op->who.
 */
enum tg_err key_update(struct db_conn *, struct op *, int64_t user_id,
    const char *key_pub, const struct key_spec *, json_t **out);
enum tg_err key_revoke(
    struct db_conn *, struct op *, int64_t user_id, const char *key_pub);
/*
 * Revoke user_id's key by its full value (seed 000's DELETE /api/keys/delete),
 * found by the hash of the secret: TG_ENOENT when it is no live key of theirs.
 */
enum tg_err key_revoke_secret(
    struct db_conn *, struct op *, int64_t user_id, const char *key);
/* New secret; the old one stays valid grace seconds. */
enum tg_err key_rotate(struct db_conn *, struct op *, int64_t user_id,
    const char *key_pub, int64_t grace, char secret[KEY_MAX_LEN], json_t **out,
    json_t **prev_until);
/*
 * Key id and owner from a full key or a public key id (any user's: for
 * admins).  TG_ENOENT when unknown.
 */
enum tg_err key_owner(struct db_conn *, struct op *, const char *key,
    int64_t *key_id, int64_t *user_id);
/* Live keys of user_id. */
enum tg_err key_count(
    struct db_conn *, struct op *, int64_t user_id, int64_t *n);
/* Parse a stored JSON array column (never NULL: [] on garbage). */
json_t *key_list_column(const char *);

/* issue 18: compat (keys_compat.c) */
/*
 * Every user's live keys for an admin (seed 004's GET /api/keys): id, name,
 * masked key, owner {id, email}, rateLimit (the key's requests_per_minute
 * rule; null: none), created, last_used, requests_used, imported.
 */
enum tg_err key_list_all(
    struct db_conn *, struct op *, int64_t limit, json_t **out);
/*
 * Store another gateway's key (crypto_key_foreign) for user_id by its hash,
 * marked imported, audited (key.import).  A gw_ key or another format:
 * TG_EINVAL; a key already stored: TG_ECONFLICT (both recorded in op).
 */
enum tg_err key_import(struct db_conn *, struct op *, int64_t user_id,
    const char *key, const char *name, json_t **out);

#endif
