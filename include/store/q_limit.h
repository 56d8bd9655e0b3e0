/* q_limit.h: the shared rate-limit windows: typed queries */
/* SPDX-License-Identifier: MIT */
#ifndef Q_LIMIT_H
#define Q_LIMIT_H

#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/*
 * Add amount to window win of limit lim of subject if the total stays within
 * cap, in one statement; *taken: whether it did.
 */
enum tg_err q_rate_take(struct db_conn *, struct arena *, uint64_t subject,
    int lim, int64_t win, int64_t amount, int64_t cap, int *taken);
/* Forget the windows of limit lim before win. */
enum tg_err q_rate_prune(
    struct db_conn *, struct arena *, int lim, int64_t before);

#endif
