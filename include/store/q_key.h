/* q_key.h: typed queries on api_keys */
/* SPDX-License-Identifier: MIT */
#ifndef Q_KEY_H
#define Q_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* A live key found by the hash of its secret (STMT_KEY_AUTH), with its user. */
struct key_auth_row {
	int64_t id;
	const char *pub;
	int64_t user_id;
	const char *user_pub;
	const char *role;   /* the user's */
	const char *status; /* the user's */
	int active;
	const char *perms;  /* SET literal */
	int64_t expires_us; /* microseconds since the epoch; 0: never */
	const char *ips;    /* JSON arrays or NULL */
	const char *refs;
	int has_max; /* max_requests is set */
	int64_t max_requests;
	int64_t requests_used;
	const char *prefix;
	const char *last4;
	const char *hash; /* binary, hash_len bytes */
	size_t hash_len;
	const char *prev; /* binary or NULL */
	size_t prev_len;
	int64_t prev_until_us; /* 0: none */
};

/* The live key whose current or previous secret hashes to hash; TG_ENOENT. */
enum tg_err q_key_auth(struct db_conn *, struct arena *,
    const unsigned char *hash, size_t hash_len, struct key_auth_row *);
/* Count one request of a capped key: TG_OK, TG_EPERM when the cap is reached. */
enum tg_err q_key_touch(struct db_conn *, struct arena *, int64_t key_id);
/* Count n requests of a key without a cap. */
enum tg_err q_key_touch_n(
    struct db_conn *, struct arena *, int64_t key_id, int64_t n);

/* A live key as listed (STMT_KEY_LIST, STMT_KEY_GET); strings NULL: SQL NULL. */
struct key_row {
	int64_t id;
	const char *pub, *name, *prefix, *last4, *env, *perms;
	int active, primary;
	const char *expires;  /* "YYYY-MM-DDTHH:MM:SSZ"; NULL: never */
	int64_t max_requests; /* -1: no cap */
	int64_t requests_used;
	int64_t credit_limit; /* nano-USD; -1: none */
	int64_t spent;
	const char *ips, *refs, *models; /* JSON arrays as stored */
	const char *created, *last_used;
	int imported; /* issue 18: compat: brought from another gateway */
};

/* What a key is written with (insert and update). */
struct key_write {
	int64_t id;	 /* update: the key */
	const char *pub; /* insert: the new key's */
	int64_t user_id;
	const unsigned char *hash;	  /* insert: CRYPTO_SHA256_LEN bytes */
	const char *prefix, *last4, *env; /* insert */
	const char *name, *perms;
	int active, primary;
	const char *expires;  /* "YYYY-MM-DD HH:MM:SS"; NULL or "": never */
	int64_t max_requests; /* -1: none */
	int64_t credit_limit; /* -1: none */
	const char *ips, *refs, *models;
};

enum tg_err q_key_insert(
    struct db_conn *, struct arena *, const struct key_write *);
/* The user's live key by public id; TG_ENOENT. */
enum tg_err q_key_get(struct db_conn *, struct arena *, int64_t user,
    const char *pub, struct key_row *);
/* The user's live keys, oldest first. */
enum tg_err q_key_list(struct db_conn *, struct arena *, int64_t user,
    struct key_row **, size_t *n);
/* Write every field of w but the insert-only ones. */
enum tg_err q_key_update(
    struct db_conn *, struct arena *, const struct key_write *);
/* The user's other keys stop being primary. */
enum tg_err q_key_clear_primary(
    struct db_conn *, struct arena *, int64_t user, int64_t keep);
enum tg_err q_key_revoke(struct db_conn *, struct arena *, int64_t id);
enum tg_err q_key_revoke_all(struct db_conn *, struct arena *, int64_t user);
/*
 * A new secret (hash, prefix, last4); the old one stays valid grace seconds
 * (0: not at all), and *prev_until says until when (NULL: not).
 */
enum tg_err q_key_rotate(struct db_conn *, struct arena *, int64_t id,
    int64_t grace, const unsigned char *hash, size_t hash_len,
    const char *prefix, const char *last4, const char **prev_until);
enum tg_err q_key_count_active(
    struct db_conn *, struct arena *, int64_t user, int64_t *n);
/* Id and owner of a live key by public id; TG_ENOENT. */
enum tg_err q_key_owner(struct db_conn *, struct arena *, const char *pub,
    int64_t *id, int64_t *user);

#endif
