/* h_money.c: money in: redemption code batches, redeeming a code, the signed payment webhook */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/op.h"
#include "domain/topup.h"
#include "http/ctx.h"
#include "http/handlers.h"
#include "http/pipeline.h"
#include "http/router.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX     200
/*
 * A payment event is a few KiB (Stripe's checkout session: 2 to 6); the
 * signature is checked before the JSON is parsed, over every byte read.
 */
#define WEBHOOK_MAX_BODY  (32 * 1024)
#define WEBHOOK_MAX_ELEMS 2000

/* clang-format off */
static const struct jx_field redeem_fields[] = {
	{ "code",	JX_STRING,	1 },
	{ NULL,		0,		0 },
};
/* clang-format on */

enum tg_err
h_admin_redeem_create(struct tg_req *r, struct tg_resp *resp)
{
	struct redeem_spec s;
	struct db_conn *c;
	struct op op;
	json_t *out;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = topup_batch_check(&op, r->json, &s)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK ||
	    (rc = topup_batch_create(c, &op, &s, &out)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->status = 201;
	resp_header(resp, "Cache-Control", "no-store");
	resp->body = json_incref(out);
	return TG_OK;
}

/* ?limit=&offset= with bounds; 400 on garbage. */
static enum tg_err
page(struct tg_req *r, struct tg_resp *resp, int64_t *limit, int64_t *offset)
{
	const char *v;
	uint64_t n;

	*limit = PAGE_DEFAULT;
	*offset = 0;
	if ((v = req_query(r, "limit")) != NULL) {
		if (util_parse_u64(v, 1, PAGE_MAX, &n) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "limit", "limit is from 1 to %d",
			    PAGE_MAX);
		*limit = (int64_t)n;
	}
	if ((v = req_query(r, "offset")) != NULL) {
		if (util_parse_u64(v, 0, INT32_MAX, &n) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "offset",
			    "offset is a whole number");
		*offset = (int64_t)n;
	}
	return TG_OK;
}

enum tg_err
h_admin_redeem_list(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	struct op op;
	int64_t limit, offset, total;
	json_t *data;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = page(r, resp, &limit, &offset)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = topup_batch_list(c, &op, limit, offset, &data, &total)) !=
		TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_pack("{s:O, s:I, s:I, s:I}", "data", data, "total",
	    (json_int_t)total, "limit", (json_int_t)limit, "offset",
	    (json_int_t)offset);
	return TG_OK;
}

enum tg_err
h_user_redeem(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	struct op op;
	json_t *out;
	enum tg_err rc;

	req_op(r, &op);
	if ((rc = resp_check(r, resp, r->json, redeem_fields)) != TG_OK)
		return rc;
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = topup_redeem(c, &op, r->who->user_id, r->who->user_pub,
		 jx_str(r->json, "code"), &out)) != TG_OK)
		return resp_op(r, resp, &op, rc);
	resp->body = json_incref(out);
	return TG_OK;
}

/* The raw body, capped, for the signature; 413/415/400 rendered. */
static enum tg_err
webhook_body(struct tg_req *r, struct tg_resp *resp)
{
	enum tg_err rc;

	if (r->content_length > WEBHOOK_MAX_BODY)
		return resp_fail(r, resp, TG_ETOOBIG, NULL,
		    "a payment event is at most %d bytes", WEBHOOK_MAX_BODY);
	if (!req_json_type(req_header(r, "Content-Type")))
		return resp_fail(r, resp, TG_EMEDIA, NULL,
		    "Content-Type must be application/json");
	rc = req_read_body(r, WEBHOOK_MAX_BODY);
	if (rc == TG_ETOOBIG)
		return resp_fail(r, resp, rc, NULL,
		    "a payment event is at most %d bytes", WEBHOOK_MAX_BODY);
	if (rc != TG_OK)
		return resp_fail(r, resp, TG_EINVAL, NULL,
		    "the request body ended before Content-Length bytes");
	return TG_OK;
}

static const char *
webhook_sig(struct tg_req *r)
{
	const char *h = req_header(r, "Tollgate-Signature");

	return h != NULL ? h : req_header(r, "Stripe-Signature");
}

/* A verified event, parsed, then credited once (or acknowledged). */
static enum tg_err
webhook_event(struct tg_req *r, struct tg_resp *resp, struct op *op)
{
	const struct conf *cf = r->ctx->conf;
	struct payment p;
	struct db_conn *c;
	json_t *ev, *out;
	char err[256];
	int ignored;
	enum tg_err rc;

	rc = jx_parse(r->body, r->body_len, cf->max_json_depth,
	    WEBHOOK_MAX_ELEMS, 1, &ev, err, sizeof(err));
	if (rc != TG_OK)
		return resp_fail(r, resp, rc, NULL, "%s", err);
	arena_defer_json(r->arena, ev);
	if ((rc = payment_parse(op, ev, &p, &ignored)) != TG_OK)
		return resp_op(r, resp, op, rc);
	if (ignored) {
		/* 2xx, so the provider stops sending it; nothing credited. */
		resp->body = json_pack("{s:b, s:b, s:s, s:s}", "received", 1,
		    "ignored", 1, "event_id", p.event_id, "type", p.type);
		return TG_OK;
	}
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = topup_payment(c, op, &p, &out)) != TG_OK)
		return resp_op(r, resp, op, rc);
	resp->body = json_incref(out);
	return TG_OK;
}

enum tg_err
h_billing_webhook(struct tg_req *r, struct tg_resp *resp)
{
	const struct conf *cf = r->ctx->conf;
	struct op op;
	enum tg_err rc;

	req_op(r, &op);
	if (cf->webhook_secret == NULL || *cf->webhook_secret == '\0')
		return resp_fail_code(r, resp, TG_ENOENT, "webhook_disabled",
		    NULL,
		    "payments are not taken here: [billing] "
		    "webhook_secret_file is not set");
	if ((rc = webhook_body(r, resp)) != TG_OK)
		return rc;
	if ((rc = payment_verify(&op, webhook_sig(r), r->body, r->body_len,
		 cf->webhook_secret, cf->webhook_tolerance,
		 (int64_t)time(NULL))) == TG_OK)
		rc = webhook_event(r, resp, &op);
	else
		rc = resp_op(r, resp, &op, rc);
	/* A provider resends what it was refused: the operator needs the why. */
	if (rc != TG_OK && resp_err_status(rc) < 500)
		log_msg(LOG_WARN, "req=%s payment webhook refused: %s",
		    r->request_id,
		    resp->errcode != NULL ? resp->errcode : resp_err_code(rc));
	return rc;
}
