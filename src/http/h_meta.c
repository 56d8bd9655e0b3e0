/* h_meta.c: service metadata: health, index, OpenAPI document */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/db.h"
#include "http/handlers.h"

enum tg_err
h_health(struct tg_req *r, struct tg_resp *resp)
{
	json_t *db;
	int64_t ver = 0;
	enum tg_err rc;

	rc = r->ctx->db != NULL ? db_schema_version(r->ctx->db, &ver) : TG_EDB;
	db = json_pack("{s:b, s:I}", "reachable", rc != TG_EDB,
	    "expected_schema_version", (json_int_t)TG_SCHEMA_VERSION);
	json_object_set_new(db, "schema_version",
	    rc != TG_EDB ? json_integer(ver) : json_null());
	/* Load balancers read the status code: anything but ok is 503. */
	resp->status = rc == TG_OK ? 200 : 503;
	resp->body = json_pack("{s:s, s:s, s:o}", "status",
	    rc == TG_OK		   ? "ok"
		: rc == TG_ESCHEMA ? "schema_mismatch"
				   : "unavailable",
	    "version", PACKAGE_VERSION, "database", db);
	resp_header(resp, "Cache-Control", "no-store");
	return TG_OK;
}

enum tg_err
h_root(struct tg_req *r, struct tg_resp *resp)
{
	const char *p = r->ctx->conf->mount_prefix;

	/* Links only to routes that exist; later endpoints add theirs. */
	resp->body = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "name",
	    "tollgate", "version", PACKAGE_VERSION, "description",
	    "metered OpenAI-compatible LLM gateway", "links", "health",
	    arena_printf(r->arena, "%s/health", p), "openapi",
	    arena_printf(r->arena, "%s/openapi.json", p));
	return TG_OK;
}

enum tg_err
h_openapi(struct tg_req *r, struct tg_resp *resp)
{
	if (r->ctx->openapi == NULL)
		return resp_fail(r, resp, TG_ESYSTEM, NULL,
		    "the OpenAPI document could not be loaded; check "
		    "http.www_dir");
	resp->raw = r->ctx->openapi;
	resp->rawlen = r->ctx->openapi_len;
	return TG_OK;
}

/*
 * /app, /docs and /redoc without their slash: the web server serves the
 * directories, this sends a bare path there whichever server it is.
 */
enum tg_err
h_slash(struct tg_req *r, struct tg_resp *resp)
{
	resp->status = 301;
	resp_header(resp, "Location",
	    arena_printf(
		r->arena, "%s%s/", r->ctx->conf->mount_prefix, r->path));
	resp->body = json_pack("{s:s}", "location",
	    arena_printf(
		r->arena, "%s%s/", r->ctx->conf->mount_prefix, r->path));
	return TG_OK;
}
