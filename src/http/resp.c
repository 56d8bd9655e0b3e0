/* resp.c: response building, the error table and the one writer of headers */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/json.h"
#include "http/req.h"
#include "domain/op.h"
#include "http/resp.h"
#include "prov/api.h"
#include "core/util.h"

struct err_row {
	int status;
	const char *type;    /* OpenAI error.type */
	const char *code;    /* OpenAI error.code */
	const char *message; /* default when the caller gave none */
};

/* clang-format off */
static const struct err_row errs[TG_ERR__MAX] = {
	[TG_OK]        = { 200, "",			     "",		     "" },
	[TG_EINVAL]    = { 400, "invalid_request_error",     "invalid_request",      "the request is invalid" },
	[TG_EJSON]     = { 400, "invalid_request_error",     "invalid_json",	     "the request body is not valid JSON" },
	[TG_EAUTH]     = { 401, "authentication_error",      "invalid_api_key",      "authentication is required" },
	[TG_ECREDIT]   = { 402, "insufficient_quota",	     "insufficient_credits", "not enough credits" },
	[TG_EPERM]     = { 403, "permission_error",	     "forbidden",	     "this credential may not do that" },
	[TG_ENOENT]    = { 404, "invalid_request_error",     "not_found",	     "no such resource" },
	[TG_EMETHOD]   = { 405, "invalid_request_error",     "method_not_allowed",   "method not allowed on this path" },
	[TG_ECONFLICT] = { 409, "invalid_request_error",     "conflict",	     "the request conflicts with existing state" },
	[TG_ETOOBIG]   = { 413, "invalid_request_error",     "body_too_large",	     "the request body is too large" },
	[TG_EMEDIA]    = { 415, "invalid_request_error",     "unsupported_media_type", "send the body as application/json" },
	[TG_ERATE]     = { 429, "rate_limit_error",	     "rate_limit_exceeded",  "rate limit exceeded" },
	[TG_ESYSTEM]   = { 500, "server_error",		     "internal_error",	     "internal error" },
	[TG_EUPSTREAM] = { 502, "upstream_error",	     "upstream_error",	     "the upstream provider failed" },
	[TG_EDB]       = { 503, "service_unavailable_error", "database_unavailable", "the database is unavailable; try again shortly" },
	[TG_ESCHEMA]   = { 503, "service_unavailable_error", "schema_mismatch",      "the database schema is not the expected version; run tollgate migrate" },
	[TG_ETIMEOUT]  = { 504, "timeout_error",	     "upstream_timeout",     "the upstream provider timed out" },
	[TG_EUNAVAIL]  = { 503, "service_unavailable_error", "provider_unavailable", "no provider can serve this request now" },
};
/* clang-format on */

static const struct err_row *
row(enum tg_err e)
{
	return (unsigned)e < TG_ERR__MAX ? &errs[e] : &errs[TG_ESYSTEM];
}

int
resp_err_status(enum tg_err e)
{
	return row(e)->status;
}

const char *
resp_err_type(enum tg_err e)
{
	return row(e)->type;
}

const char *
resp_err_code(enum tg_err e)
{
	return row(e)->code;
}

void
resp_init(struct tg_resp *r)
{
	memset(r, 0, sizeof(*r));
}

void
resp_clear(struct tg_resp *r)
{
	json_decref(r->body);
	r->body = NULL;
}

void
resp_header(struct tg_resp *r, const char *name, const char *value)
{
	/* A value with CR or LF would let input forge headers: drop it. */
	if (value == NULL || strpbrk(value, "\r\n") != NULL ||
	    r->nheaders == RESP_MAX_HEADERS)
		return;
	r->hname[r->nheaders] = name;
	r->hval[r->nheaders] = value;
	r->nheaders++;
}

enum tg_err
resp_fail(struct tg_req *req, struct tg_resp *r, enum tg_err err,
    const char *param, const char *fmt, ...)
{
	va_list ap;

	r->err = err;
	r->errparam = param;
	if (fmt != NULL) {
		va_start(ap, fmt);
		r->errmsg = arena_vprintf(req->arena, fmt, ap);
		va_end(ap);
	}
	return err;
}

enum tg_err
resp_fail_code(struct tg_req *req, struct tg_resp *r, enum tg_err err,
    const char *code, const char *param, const char *fmt, ...)
{
	va_list ap;

	r->err = err;
	r->errcode = code;
	r->errparam = param;
	va_start(ap, fmt);
	r->errmsg = arena_vprintf(req->arena, fmt, ap);
	va_end(ap);
	return err;
}

enum tg_err
resp_from_op(struct tg_req *req, struct tg_resp *r, const struct op *op)
{
	const struct tg_fail *f = &op->fail;

	if (f->retry_after > 0)
		resp_header(r, "Retry-After",
		    arena_printf(
			req->arena, "%lld", (long long)f->retry_after));
	r->err = f->err;
	r->errcode = f->code;
	r->errparam = f->param;
	r->errmsg = f->message;
	return f->err;
}

enum tg_err
resp_check(struct tg_req *req, struct tg_resp *r, const json_t *body,
    const struct jx_field *spec)
{
	const char *code, *param;
	char msg[256];

	if (jx_check(body, spec, &code, &param, msg, sizeof(msg)) != TG_OK)
		return resp_fail_code(
		    req, r, TG_EINVAL, code, param, "%s", msg);
	return TG_OK;
}

void
resp_set_error(struct tg_resp *r, enum tg_err e)
{
	const struct err_row *x = row(e);
	json_t *inner;

	resp_clear(r);
	r->raw = NULL;
	r->status = x->status;
	/* Messages may echo input: never let bad UTF-8 cost the body. */
	inner = json_pack("{s:o, s:s, s:o, s:s}", "message",
	    jx_string_lossy(r->errmsg != NULL ? r->errmsg : x->message), "type",
	    x->type, "param",
	    r->errparam != NULL ? jx_string_lossy(r->errparam) : json_null(),
	    "code", r->errcode != NULL ? r->errcode : x->code);
	if (r->api != NULL) {
		/* The client's own API's error shape, OpenAI's members kept. */
		r->body = r->api->error(x->status, x->type,
		    r->errcode != NULL ? r->errcode : x->code,
		    json_string_value(json_object_get(inner, "param")),
		    json_string_value(json_object_get(inner, "message")));
		if (r->body != NULL) {
			json_decref(inner);
			return;
		}
	}
	r->body = json_pack("{s:o}", "error", inner);
}

int
resp_send(struct tg_req *req, struct tg_resp *r)
{
	struct buf h;
	char *body = NULL;
	size_t blen = 0, i;
	int status = r->status != 0 ? r->status : 200, rc = -1;

	buf_init(&h, 64 * 1024);
	if (r->body != NULL) {
		if ((body = jx_dump(r->body)) == NULL)
			goto out;
		blen = strlen(body);
	} else if (r->raw != NULL) {
		blen = r->rawlen;
	}
	buf_printf(&h, "Status: %d %s\r\n", status, util_http_reason(status));
	if (r->body != NULL || r->raw != NULL)
		buf_printf(&h, "Content-Type: %s\r\n",
		    r->ctype != NULL ? r->ctype : "application/json");
	if (status != 204 && status != 304)
		buf_printf(&h, "Content-Length: %zu\r\n", blen);
	for (i = 0; i < r->nheaders; i++)
		buf_printf(&h, "%s: %s\r\n", r->hname[i], r->hval[i]);
	if (buf_puts(&h, "\r\n") != TG_OK)
		goto out;
	r->sent = 1;
	if (req->io->write(req->io->ctx, h.data, h.len) == -1)
		goto out;
	if (!r->head_only && blen > 0 && status != 204) {
		if (req->io->write(
			req->io->ctx, body != NULL ? body : r->raw, blen) == -1)
			goto out;
		r->bytes += blen;
	}
	rc = 0;
out:
	free(body);
	buf_free(&h);
	return rc;
}

int
resp_stream_start(struct tg_req *req, struct tg_resp *r, const char *ctype)
{
	struct buf h;
	size_t i;
	int status = r->status != 0 ? r->status : 200, rc = -1;

	buf_init(&h, 64 * 1024);
	buf_printf(&h, "Status: %d %s\r\n", status, util_http_reason(status));
	buf_printf(&h, "Content-Type: %s\r\n", ctype);
	/* No proxy in between may hold events back or transform them. */
	buf_puts(&h, "Cache-Control: no-cache, no-transform\r\n");
	buf_puts(&h, "X-Accel-Buffering: no\r\n");
	for (i = 0; i < r->nheaders; i++)
		buf_printf(&h, "%s: %s\r\n", r->hname[i], r->hval[i]);
	if (buf_puts(&h, "\r\n") != TG_OK)
		goto out;
	r->sent = 1;
	r->status = status;
	/* Not flushed: they leave with the stream's first flushed write. */
	if (req->io->write(req->io->ctx, h.data, h.len) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&h);
	return rc;
}

int
resp_stream_write(
    struct tg_req *req, struct tg_resp *r, const void *p, size_t n, int flush)
{
	if (req->io->write(req->io->ctx, p, n) == -1)
		return -1;
	r->bytes += n;
	return flush ? req->io->flush(req->io->ctx) : 0;
}
