/* resp.h: response building, the error table and the one writer of headers */
/* SPDX-License-Identifier: MIT */
#ifndef RESP_H
#define RESP_H

#include <stddef.h>
#include <jansson.h>

#include "core/tollgate.h"

#define RESP_MAX_HEADERS 32

struct tg_req;
struct api_ops;

struct tg_resp {
	int status;	 /* 0 = 200 */
	json_t *body;	 /* owned by the response until sent */
	const char *raw; /* or a ready body (arena/static) */
	size_t rawlen;
	const char *ctype;
	const char *hname[RESP_MAX_HEADERS];
	const char *hval[RESP_MAX_HEADERS];
	size_t nheaders;

	enum tg_err err; /* set by resp_fail */
	const char *errmsg;
	const char *errparam;
	const char *errcode;	   /* overrides the table's code when set */
	const struct api_ops *api; /* errors in this API's shape; NULL OpenAI */

	int sent;		  /* headers written */
	int head_only;		  /* HEAD: no body */
	unsigned long long bytes; /* body bytes written */
};

void resp_init(struct tg_resp *);
/* Release what the response still owns (NULL-safe body). */
void resp_clear(struct tg_resp *);
/* Add a header; name and value must live as long as the request (arena). */
void resp_header(struct tg_resp *, const char *name, const char *value);
/* Record an error for the router to render; returns err so handlers can `return resp_fail(...)`. */
enum tg_err resp_fail(struct tg_req *, struct tg_resp *, enum tg_err err,
    const char *param, const char *fmt, ...) TG_PRINTF(5, 6);
/* resp_fail with a specific OpenAI error.code ("key_expired"). */
enum tg_err resp_fail_code(struct tg_req *, struct tg_resp *, enum tg_err err,
    const char *code, const char *param, const char *fmt, ...) TG_PRINTF(6, 7);
struct jx_field;
/*
 * Check a request body against a field table (jx_check); a failure becomes
 * the 400 in resp.  Returns TG_OK or TG_EINVAL.
 */
enum tg_err resp_check(struct tg_req *, struct tg_resp *, const json_t *body,
    const struct jx_field *spec);
struct op;
/*
 * Render a domain service's failure (op->fail): the error, its code and
 * param, and Retry-After when set.  Returns op->fail.err.
 */
enum tg_err resp_from_op(struct tg_req *, struct tg_resp *, const struct op *);
/* HTTP status for an error code. */
int resp_err_status(enum tg_err);
/* OpenAI error "type" and "code" for an error code. */
const char *resp_err_type(enum tg_err);
const char *resp_err_code(enum tg_err);
/* Turn resp into the OpenAI error body for err (uses errmsg/errparam if set). */
void resp_set_error(struct tg_resp *, enum tg_err);
/*
 * Start a streamed body: status, headers (no length) and ctype, buffered
 * until the first resp_stream_write that flushes.  0, or -1 when the client
 * is gone.
 */
int resp_stream_start(struct tg_req *, struct tg_resp *, const char *ctype);
/* Write n bytes of a started stream, flushing if asked; 0 or -1 (gone). */
int resp_stream_write(
    struct tg_req *, struct tg_resp *, const void *p, size_t n, int flush);
/* Write status, headers and body to req->io; 0 or -1 (client gone). */
int resp_send(struct tg_req *, struct tg_resp *);

#endif
