/* q_sandbox.h: the test-mode sandbox account of a user: its daily grant and its figures */
/* SPDX-License-Identifier: MIT */
#ifndef Q_SANDBOX_H
#define Q_SANDBOX_H

#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* The sandbox of user N is account N + Q_SANDBOX_BASE (schema/0019). */
#define Q_SANDBOX_BASE ((int64_t)1 << 62)

/*
 * Create user_id's sandbox if missing and, once per UTC day, set its balance
 * to amount (nano-USD) with a 'test_grant' ledger entry.  *granted: 1 when
 * this call made today's grant; *balance: the balance after (either may be
 * NULL).
 */
enum tg_err q_sandbox_refill(struct db_conn *, struct arena *, int64_t user_id,
    int64_t amount, int *granted, int64_t *balance);

/* A sandbox's figures; granted "YYYY-MM-DD" or NULL (arena). */
struct sandbox_row {
	int64_t balance, reserved;
	const char *granted;
};
/* user_id's sandbox: TG_ENOENT when it has none yet. */
enum tg_err q_sandbox_get(
    struct db_conn *, struct arena *, int64_t user_id, struct sandbox_row *);

#endif
