/* q_did.h: users by their DID: typed queries */
/* SPDX-License-Identifier: MIT */
#ifndef Q_DID_H
#define Q_DID_H

#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* The user of a DID (STMT_DID_USER); strings in the arena or the row cache. */
struct did_user_row {
	int64_t id;
	const char *pub, *role, *status;
};
/* A user made at first contact: no email, no password. */
struct did_user_new {
	const char *did;
	const char *username; /* NULL: none */
	const char *group;
	int64_t credits; /* nano-USD granted */
};

/* TG_ENOENT when no user has this DID. */
enum tg_err q_did_user(
    struct db_conn *, struct arena *, const char *did, struct did_user_row *);
/*
 * Insert the user row of u as pub.  TG_ECONFLICT with *dup "username" when
 * the username is taken, "did" when the DID is (another request won).
 */
enum tg_err q_did_user_insert(struct db_conn *, struct arena *, const char *pub,
    const struct did_user_new *u, int64_t *id, const char **dup);

#endif
