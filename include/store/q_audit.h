/* q_audit.h: typed queries on the audit log and its chain head */
/* SPDX-License-Identifier: MIT */
#ifndef Q_AUDIT_H
#define Q_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* A column as stored, with its length (hashes are binary); s NULL: SQL NULL. */
struct q_text {
	const char *s;
	size_t len;
};

/* One audit_log row; the fields from at to after are hashed in this order. */
struct audit_row {
	int64_t id;
	struct q_text at; /* "YYYY-MM-DD HH:MM:SS.ffffff" (UTC) */
	struct q_text actor, actor_key, action, target_type, target_id, ip,
	    request_id, before, after;
	struct q_text prev, hash;
	int alg;
};

/* The chain head: the newest row, its hash and the key check (s NULL: none). */
struct audit_head {
	int64_t last_id;
	struct q_text last_hash;
	struct q_text key_check;
};

/* The head, locked FOR UPDATE when lock (TG_ESYSTEM when it is missing). */
enum tg_err q_audit_head(
    struct db_conn *, struct arena *, int lock, struct audit_head *);
enum tg_err q_audit_insert(
    struct db_conn *, struct arena *, const struct audit_row *);
/* Move the head to (last_id, hash); set the key check if it has none. */
enum tg_err q_audit_head_set(struct db_conn *, struct arena *, int64_t last_id,
    const struct q_text *hash, const struct q_text *check);
/* Up to limit rows after after_id, oldest first (hashed fields as stored). */
enum tg_err q_audit_scan(struct db_conn *, struct arena *, int64_t after_id,
    int64_t limit, struct audit_row **rows, size_t *n);

/* The admin listing's filters ("" = any). */
struct audit_filter {
	const char *action, *actor, *target;
	const char *from, *to; /* "YYYY-MM-DD HH:MM:SS", to excluded */
	int64_t limit, offset;
};
/* Rows newest first (at as "YYYY-MM-DDTHH:MM:SSZ"; no hashes) and the total. */
enum tg_err q_audit_list(struct db_conn *, struct arena *,
    const struct audit_filter *, struct audit_row **rows, size_t *n,
    int64_t *total);

#endif
