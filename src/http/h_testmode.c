/* h_testmode.c: test mode's own route: the sandbox balance gw_test_ keys pay from */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "domain/auth.h"
#include "domain/op.h"
#include "domain/sandbox.h"
#include "http/handlers.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"

/*
 * GET /user/sandbox: the caller's sandbox, created and given the day's
 * grant when this is its first use of the day.  Any credential of the user
 * reads it (a test key mostly, to see what it has left).
 */
enum tg_err
h_user_sandbox(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *o;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = sandbox_show(c, &op, &o)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_incref(o);
	return TG_OK;
}
