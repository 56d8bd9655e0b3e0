/* q_conv.h: typed queries on conversation logs (issue 18: convlog) */
/* SPDX-License-Identifier: MIT */
#ifndef Q_CONV_H
#define Q_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/*
 * The columns of one conversation row as the journal writes it (BATCH_CONV),
 * in this order.
 */
enum conv_col {
	CC_REQUEST_ID,
	CC_USER_ID,
	CC_KEY_ID,
	CC_LEVEL, /* "metadata", "full" */
	CC_API,
	CC_MODEL,
	CC_STREAM,
	CC_STATUS, /* ok, error, client_gone */
	CC_HTTP_STATUS,
	CC_PROMPT,
	CC_COMPLETION,
	CC_CHARGE,
	CC_LATENCY_MS,
	CC_BODY, /* sealed, NULL at the metadata level */
	CC_BODY_BYTES,
	CC_TRUNCATED,
	CC_CREATED, /* "YYYY-MM-DD HH:MM:SS.uuuuuu" UTC */
	CC__MAX
};

/* A listing's filters; strings NULL and numbers 0 mean any. */
struct conv_query {
	int64_t user_id;
	int64_t before_id; /* the cursor */
	const char *from, *to;
	const char *model;
	int64_t limit;
};

/* One conversation as listed or read; strings in the arena. */
struct conv_row {
	int64_t id;
	const char *request_id, *created_at, *level, *api, *model, *status;
	const char *key_pub; /* NULL: a session, or a key since deleted */
	int stream, truncated;
	int64_t http_status, prompt, completion, charge, latency_ms, body_bytes;
	const unsigned char *body; /* q_conv_get only; NULL none */
	size_t body_len;
};

/* Newest first, at most q->limit. */
enum tg_err q_conv_list(struct db_conn *, struct arena *,
    const struct conv_query *, struct conv_row **, size_t *n);
/* One of user_id's by its request id, with its body; TG_ENOENT. */
enum tg_err q_conv_get(struct db_conn *, struct arena *, int64_t user_id,
    const char *request_id, struct conv_row *);
/* TG_ENOENT when user_id has none by that id. */
enum tg_err q_conv_delete(
    struct db_conn *, struct arena *, int64_t user_id, const char *request_id);
/* Every one of user_id's (the account is deleted). */
enum tg_err q_conv_delete_user(
    struct db_conn *, struct arena *, int64_t user_id);
/*
 * At most limit rows older than days, then at most limit of deleted users;
 * *n how many went.
 */
enum tg_err q_conv_purge(struct db_conn *, struct arena *, unsigned days,
    unsigned limit, int64_t *n);
/* The user's own level ("off", "metadata", "full"). */
enum tg_err q_conv_user_set(
    struct db_conn *, struct arena *, int64_t user_id, const char *level);

#endif
