/* sandbox.c: test mode: the sandbox account gw_test_ keys pay from, refilled daily */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "core/conf.h"
#include "core/money.h"
#include "store/q_sandbox.h"
#include "domain/auth.h"
#include "domain/op.h"
#include "domain/sandbox.h"

int64_t
sandbox_account(const struct principal *p)
{
	return p->test ? p->user_id + Q_SANDBOX_BASE : p->user_id;
}

enum tg_err
sandbox_refill(struct db_conn *c, struct op *op, int64_t *balance)
{
	/*
	 * One statement on a test key's request, none on a live one: the
	 * procedure grants at most once a day however many ask at once.
	 */
	return q_sandbox_refill(c, op->arena, op->who->user_id,
	    op->conf->test_credits, NULL, balance);
}

enum tg_err
sandbox_show(struct db_conn *c, struct op *op, json_t **out)
{
	struct sandbox_row s;
	enum tg_err rc;

	if ((rc = sandbox_refill(c, op, NULL)) != TG_OK ||
	    (rc = q_sandbox_get(c, op->arena, op->who->user_id, &s)) != TG_OK)
		return rc;
	*out = json_pack("{s:s, s:o, s:o, s:o, s:o, s:s?, s:s}", "user_id",
	    op->who->user_pub, "balance", money_json(s.balance), "reserved",
	    money_json(s.reserved), "available",
	    money_json(s.balance > 0 ? s.balance : 0), "daily_grant",
	    money_json(op->conf->test_credits), "granted_on", s.granted,
	    "currency", "USD");
	if (*out == NULL)
		return TG_ESYSTEM;
	arena_defer_json(op->arena, *out);
	return TG_OK;
}
