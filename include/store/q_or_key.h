/* q_or_key.h: or_user_keys: each user's own OpenRouter key (provisioning): statements and typed queries */
/* SPDX-License-Identifier: MIT */
#ifndef Q_OR_KEY_H
#define Q_OR_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct arena;
struct db_conn;

/* A user's OpenRouter key as stored: its secret sealed (enc, enc_len). */
struct q_or_key {
	int64_t user_id;
	const char *provider_id;
	const char *hash; /* OpenRouter's id of the key */
	const char *enc;
	size_t enc_len;
	const char *last4;
	int64_t limit_nano;  /* -1: never set */
	int64_t synced_nano; /* -1: never synced */
};

/* A key whose limit is behind its user's balance, or whose user is gone. */
struct q_or_stale {
	int64_t user_id;
	const char *hash;
	int64_t spendable; /* balance + overdraft, nano-USD, >= 0 */
	int deleted;	   /* the user is deleted: the key goes */
};

/* The user's key at provider_id: TG_ENOENT when there is none. */
enum tg_err q_or_key_get(struct db_conn *, struct arena *, int64_t user_id,
    const char *provider_id, struct q_or_key *out);
/* Store k unless the user has a key already (*won = 0 then). */
enum tg_err q_or_key_insert(
    struct db_conn *, struct arena *, const struct q_or_key *k, int *won);
/*
 * Up to max keys of provider_id that need a sync or a delete, and were not
 * synced or claimed in the last every_ms.
 */
enum tg_err q_or_key_stale(struct db_conn *, struct arena *,
    const char *provider_id, unsigned every_ms, size_t max,
    struct q_or_stale **out, size_t *n);
/*
 * The user's key claimed for a sync (*won = 1) unless synced or claimed in
 * the last every_ms, by this process or any other of any node.
 */
enum tg_err q_or_key_claim(struct db_conn *, struct arena *, int64_t user_id,
    const char *provider_id, unsigned every_ms, int *won);
/* The limit set at OpenRouter and the balance it came from. */
enum tg_err q_or_key_synced(struct db_conn *, struct arena *, int64_t user_id,
    int64_t limit_nano, int64_t synced_nano);
enum tg_err q_or_key_delete(struct db_conn *, struct arena *, int64_t user_id);

#endif
