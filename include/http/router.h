/* router.h: the route table and the one place every request is dispatched */
/* SPDX-License-Identifier: MIT */
#ifndef ROUTER_H
#define ROUTER_H

#include "core/tollgate.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"

enum route_flag {
	RF_JSON = 1 << 0,   /* body parsed into req->json (an object) */
	RF_DEBUG = 1 << 1,  /* exists only with debug.routes = on */
	RF_STREAM = 1 << 2, /* handler may write the response itself */
	RF_AUTH = 1 << 3,   /* a key or session; GET needs read, others write */
	RF_ADMIN = 1 << 4,  /* admin permission and the admin role */
	RF_JSON_OPT = 1 << 5, /* like RF_JSON when a body is sent */
	RF_KEYS = 1 << 6 /* with RF_AUTH: a session or the 'keys' permission */
};

typedef enum tg_err (*handler_fn)(struct tg_req *, struct tg_resp *);

struct route {
	enum tg_method method;
	const char *pattern; /* "/v1/models/{id}": {x} captures one segment */
	handler_fn fn;
	unsigned flags;
};

/*
 * Find the route for (method, path).  On a match fills captures (arena
 * copies) and returns it.  Otherwise returns NULL and sets *err to TG_ENOENT
 * or TG_EMETHOD, in which case allow receives the methods that would match
 * ("GET, HEAD, OPTIONS").  Routes flagged RF_DEBUG count only when debug is set.
 */
const struct route *router_match(struct tg_req *, enum tg_method,
    const char *path, int debug, enum tg_err *err, char *allow,
    size_t allowlen);
/* The route table (for the OpenAPI consistency test); count in *n. */
const struct route *router_routes(size_t *n);
/* Serve one request from io end to end, including the access-log line. */
struct http_client;

void router_serve(struct tg_io *, struct arena *, const struct tg_ctx *,
    struct http_client *);

#endif
