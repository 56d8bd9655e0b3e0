/* h_conv.c: the caller's conversation logs (issue 18: convlog): list, read, delete */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/util.h"
#include "domain/accounts.h"
#include "domain/auth.h"
#include "domain/convlog.h"
#include "domain/op.h"
#include "http/ctx.h"
#include "http/handlers.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "io/db.h"

#define CONV_PAGE_DEFAULT 50
#define CONV_PAGE_MAX	  200

/*
 * Another user's conversation looks exactly like a missing one: an admin
 * reads no one's (decided: the bodies are the user's; doc/api-data-plane.md).
 */
static enum tg_err
not_found(struct tg_req *r, struct tg_resp *resp)
{
	return resp_fail_code(r, resp, TG_ENOENT, "not_found", "id",
	    "no conversation with this id");
}

static enum tg_err
list_query(struct tg_req *r, struct tg_resp *resp, struct convlog_query *q)
{
	const char *v, *when[2];
	uint64_t n;
	enum tg_err rc;

	memset(q, 0, sizeof(*q));
	q->limit = CONV_PAGE_DEFAULT;
	if ((rc = usage_when(r, resp, when)) != TG_OK)
		return rc;
	q->from = when[0];
	q->to = when[1];
	if ((v = req_query(r, "limit")) != NULL) {
		if (util_parse_u64(v, 1, CONV_PAGE_MAX, &n) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "limit", "limit is from 1 to %d",
			    CONV_PAGE_MAX);
		q->limit = (int64_t)n;
	}
	if ((v = req_query(r, "cursor")) != NULL) {
		if (util_parse_u64(v, 1, INT64_MAX, &n) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "cursor",
			    "cursor is the next_cursor of the previous page");
		q->before_id = (int64_t)n;
	}
	if ((v = req_query(r, "model")) != NULL && *v != '\0') {
		if (strlen(v) > 128)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "model",
			    "model is at most 128 bytes");
		q->model = v;
	}
	return TG_OK;
}

/* What is kept for this user now: the operator's, theirs, the lower. */
static json_t *
levels(struct tg_req *r, const char *mine)
{
	return json_pack("{s:s, s:s, s:s}", "operator",
	    convlog_level_name((enum conv_level)r->ctx->conf->conversations),
	    "user", mine != NULL ? mine : "off", "effective",
	    convlog_level_name(convlog_level(r->ctx->conf, mine)));
}

enum tg_err
h_user_conversations(struct tg_req *r, struct tg_resp *resp)
{
	struct convlog_query q;
	struct op op;
	struct db_conn *c;
	json_t *data, *u;
	int64_t next;
	enum tg_err rc;

	/* Prompts of every key: the whole account's, not a read-only key's. */
	if ((rc = auth_need_account(r, resp)) != TG_OK ||
	    (rc = list_query(r, resp, &q)) != TG_OK)
		return rc;
	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = convlog_list(c, &op, &q, &data, &next)) != TG_OK ||
	    (rc = account_user(c, &op, r->who->user_id, 1, &u)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O, s:o, s:o}", "data", data, "next_cursor",
	    next > 0 ? json_sprintf("%lld", (long long)next) : json_null(),
	    "logging",
	    levels(
		r, json_string_value(json_object_get(u, "conversation_log"))));
	return TG_OK;
}

enum tg_err
h_user_conversation_get(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	json_t *o;
	enum tg_err rc;

	if ((rc = auth_need_account(r, resp)) != TG_OK)
		return rc;
	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	rc = convlog_get(c, &op, r->captures[0], &o);
	if (rc == TG_ENOENT)
		return not_found(r, resp);
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_incref(o);
	return TG_OK;
}

enum tg_err
h_user_conversation_delete(struct tg_req *r, struct tg_resp *resp)
{
	struct op op;
	struct db_conn *c;
	enum tg_err rc;

	if ((rc = auth_need_account(r, resp)) != TG_OK)
		return rc;
	req_op(r, &op);
	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	rc = convlog_delete(c, &op, r->captures[0]);
	if (rc == TG_ENOENT)
		return not_found(r, resp);
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->status = 204;
	return TG_OK;
}
