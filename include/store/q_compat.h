/* q_compat.h: typed queries of the seed-compatibility routes (issue 18): every key, imported keys */
/* SPDX-License-Identifier: MIT */
#ifndef Q_COMPAT_H
#define Q_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* A live key of any user, as seed 004's admin listing shows it. */
struct compat_key_row {
	const char *pub, *name, *owner_email, *owner_pub, *prefix, *last4;
	const char *created, *last_used; /* ISO 8601 UTC; NULL: never */
	int64_t requests_used;
	int64_t rpm; /* the key's own requests_per_minute rule; -1: none */
	int imported;
};

/* Every user's live keys, oldest first, at most limit. */
enum tg_err q_compat_keys_all(struct db_conn *, struct arena *, int64_t limit,
    struct compat_key_row **, size_t *n);
/* Mark a key as brought from another gateway. */
enum tg_err q_compat_key_imported(
    struct db_conn *, struct arena *, int64_t key_id);

#endif
