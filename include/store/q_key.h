/* q_key.h: typed queries on api_keys */
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

#endif
