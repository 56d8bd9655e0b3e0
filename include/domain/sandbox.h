/* sandbox.h: test mode: the sandbox account gw_test_ keys pay from, refilled daily */
/* SPDX-License-Identifier: MIT */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdint.h>
#include <jansson.h>

#include "core/tollgate.h"

struct db_conn;
struct op;
struct principal;

/*
 * The account a principal's requests pay from: its user's, or for a test key
 * (gw_test_) the user's sandbox, an account row of its own (schema/0019).
 */
int64_t sandbox_account(const struct principal *);
/*
 * Give op->who's user its sandbox if it has none, and its daily grant
 * ([billing] test_credits) on the first call of a UTC day.  *balance (may be
 * NULL): the sandbox's balance after.
 */
enum tg_err sandbox_refill(struct db_conn *, struct op *, int64_t *balance);
/*
 * GET /user/sandbox: op->who's sandbox (refilled first) as {balance,
 * reserved, available, daily_grant, granted_on, currency}; JSON in the arena.
 */
enum tg_err sandbox_show(struct db_conn *, struct op *, json_t **out);

#endif
