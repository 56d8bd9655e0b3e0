/* q_payer.h: who pays for a metered request: typed reads of the user and key */
/* SPDX-License-Identifier: MIT */
#ifndef Q_PAYER_H
#define Q_PAYER_H

#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* The payer of a request; strings in the arena (or the row cache). */
struct payer_row {
	int64_t commission_bp; /* the user's own; < 0: the group's */
	const char *group;     /* users.user_group; NULL: none */
	const char *allowed;   /* the key's allowed_models (JSON); NULL: any */
	int64_t credit_limit;  /* the key's; < 0: none */
	const char *conv_log;  /* issue 18: users.conversation_log */
};

/* The user user_id and key key_id (0: none); TG_ENOENT when no such user. */
enum tg_err q_payer_get(struct db_conn *, struct arena *, int64_t key_id,
    int64_t user_id, struct payer_row *out);
/* What key_id has spent (nano-USD); TG_ENOENT when no such key. */
enum tg_err q_key_spent(
    struct db_conn *, struct arena *, int64_t key_id, int64_t *spent);

#endif
