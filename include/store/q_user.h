/* q_user.h: typed queries on users, accounts, sessions, sign-in failures and invites */
#ifndef Q_USER_H
#define Q_USER_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* The user of a live session (STMT_SESSION_AUTH). */
struct session_row {
	int64_t id;
	int64_t user_id;
	const char *user_pub;
	const char *role;
	const char *status;
};

/* The live session whose token hashes to hash; TG_ENOENT. */
enum tg_err q_session_auth(struct db_conn *, struct arena *,
    const unsigned char *hash, size_t hash_len, struct session_row *);

#endif
