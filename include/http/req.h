/* req.h: one HTTP request as seen through FastCGI/CGI params */
/* SPDX-License-Identifier: MIT */
#ifndef REQ_H
#define REQ_H

#include <stddef.h>
#include <jansson.h>

#include "core/tollgate.h"
#include "io/io.h"

#define REQ_MAX_PARAMS	 256
#define REQ_MAX_CAPTURES 4
#define REQ_MAX_URI	 8192

enum tg_method {
	TG_M_OTHER = 0,
	TG_M_GET,
	TG_M_HEAD,
	TG_M_POST,
	TG_M_PUT,
	TG_M_PATCH,
	TG_M_DELETE,
	TG_M_OPTIONS,
	TG_M__MAX
};

struct tg_ctx;
struct arena;
struct principal;
struct db_conn;
struct http_client;

struct tg_req {
	struct arena *arena;
	struct tg_io *io;
	const struct tg_ctx *ctx;
	double started;

	enum tg_method method;
	const char *method_name;
	const char *uri;   /* REQUEST_URI as received */
	const char *path;  /* decoded, prefix stripped, no query */
	const char *query; /* raw query string without '?', "" if none */
	const char *remote_addr;
	char request_id[129]; /* tollgate's own, unique */
	/* The client's X-Request-Id (valid), for tracing only; NULL if none. */
	const char *client_request_id;

	const char **keys; /* copied FastCGI params */
	const char **vals;
	size_t nparams;

	const char *captures[REQ_MAX_CAPTURES];
	size_t ncaptures;

	int64_t content_length; /* -1 when absent */
	char *body;		/* NUL-terminated */
	size_t body_len;
	json_t *json;	   /* borrowed from the arena */
	const char *error; /* why req_init refused the request */

	struct principal *who; /* set by auth_check */
	struct db_conn
	    *db; /* borrowed by router_db, returned after the request */
	struct http_client *http; /* the slot's, for upstream calls */
	/* The credential auth_check accepted; by_cookie: from the session cookie. */
	const char *credential;
	int by_cookie;
	/* issue 19: obs: for /metrics and the access log */
	int route_ix;	   /* index in the route table; -1 none matched */
	const char *model; /* a metered request's model (meter.c) */
	int64_t cost;	   /* nano-USD charged; -1 none */
};

/*
 * Fill req from io: copy the params into the arena (at most REQ_MAX_PARAMS),
 * decode the path.  TG_EINVAL for a URI we refuse (NUL, "..", bad escape,
 * too long); TG_ETOOBIG when CONTENT_LENGTH exceeds max_body.
 */
enum tg_err req_init(
    struct tg_req *, struct arena *, struct tg_io *, const struct tg_ctx *);
struct op;
/*
 * The domain's view of this request: its arena, config, actor (r->who, set
 * by auth), address and request id; master key when the worker has one.
 */
void req_op(struct tg_req *, struct op *);
/* A FastCGI param (e.g. "CONTENT_TYPE"); NULL when absent. */
const char *req_param(const struct tg_req *, const char *name);
/* An HTTP request header by its HTTP name ("X-Request-Id"); NULL when absent. */
const char *req_header(const struct tg_req *, const char *name);
/* A query-string argument, decoded into the arena; NULL when absent. */
const char *req_query(const struct tg_req *, const char *name);
/* Read the whole body up to max: TG_OK, TG_ETOOBIG, or TG_EINVAL on a short read. */
enum tg_err req_read_body(struct tg_req *, size_t max);
/*
 * 1 when a Content-Type value names JSON we can read: application/json (any
 * case) whose charset parameter, if any, is UTF-8 ("utf-8" or "utf8", any
 * case, quoted or not).  JSON is UTF-8 (RFC 8259): a body labelled UTF-16 or
 * Latin-1 would be misread, so it is refused, not guessed at.
 */
int req_json_type(const char *ct);
/* Method from its name. */
/* 1 when the request reached the web server over TLS (its HTTPS param). */
int req_tls(const struct tg_req *);
/* 1 when the client is known to have left (its web server closed on us). */
int req_client_gone(const struct tg_req *);
enum tg_method req_method_parse(const char *);
const char *req_method_name(enum tg_method);

#endif
