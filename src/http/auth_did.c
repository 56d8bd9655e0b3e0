/* auth_did.c: the DID credential: a request signed by the key of a did:key */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/conf.h"
#include "io/db.h"
#include "domain/auth.h"
#include "domain/did.h"
#include "domain/op.h"
#include "http/ctx.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"

/*
 * The body is part of what was signed, so it is read here, before the route
 * parses it: the JSON parser then reads these same bytes (req_read_body
 * keeps them).  The router refused a Content-Length over the route's cap
 * already; the larger cap bounds a body without one, and the route's own
 * is checked again when it reads the body.
 */
static enum tg_err
read_body(struct tg_req *r, struct tg_resp *resp)
{
	const struct conf *c = r->ctx->conf;
	uint64_t cap = c->max_body > c->max_control_body ? c->max_body
							 : c->max_control_body;
	enum tg_err rc = req_read_body(r, (size_t)cap);

	if (rc == TG_ETOOBIG)
		return resp_fail(r, resp, TG_ETOOBIG, NULL,
		    "the request body exceeds the limit of %llu bytes",
		    (unsigned long long)cap);
	if (rc != TG_OK)
		return resp_fail(r, resp, TG_EINVAL, NULL,
		    "the request body ended before Content-Length bytes");
	return TG_OK;
}

enum tg_err
auth_did(struct tg_req *r, struct tg_resp *resp, unsigned perms)
{
	struct did_request q = {req_header(r, "x-did"),
	    req_header(r, "x-did-timestamp"), req_header(r, "x-did-signature"),
	    r->method_name, r->uri, NULL, 0};
	const struct conf *c = r->ctx->conf;
	struct principal *p;
	struct db_conn *db;
	struct op op;
	enum tg_err rc;

	if (!c->did_enabled || r->ctx->did == NULL)
		return resp_fail_code(r, resp, TG_EAUTH, "did_disabled", NULL,
		    "DID authentication is off on this server ([did] enabled): "
		    "send an API key as 'Authorization: Bearer <key>'");
	if (q.did == NULL || q.timestamp == NULL || q.signature == NULL)
		return resp_fail_code(r, resp, TG_EAUTH, "did_missing_header",
		    NULL,
		    "a DID request carries x-did, x-did-timestamp and "
		    "x-did-signature; %s is missing",
		    q.timestamp == NULL ? "x-did-timestamp"
					: "x-did-signature");
	if ((rc = read_body(r, resp)) != TG_OK)
		return rc;
	q.body = r->body;
	q.body_len = r->body_len;
	req_op(r, &op);
	if (did_verify(&op, r->ctx->did, &q, c->did_window,
		(int64_t)time(NULL)) != TG_OK)
		return resp_from_op(r, resp, &op);
	if ((rc = router_db(r, &db)) != TG_OK)
		return resp_fail(r, resp, rc, NULL, NULL);
	p = arena_calloc(r->arena, 1, sizeof(*p));
	if ((rc = did_principal(db, &op, q.did, p)) == TG_OK)
		rc = auth_check_perms(&op, p, perms);
	if (rc != TG_OK)
		return resp_op(r, resp, &op, rc);
	r->who = p;
	r->credential = p->did;
	return TG_OK;
}
