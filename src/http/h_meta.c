/* h_meta.c: service metadata: health, index, OpenAPI document */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/db.h"
#include "io/rundir.h"
#include "domain/limits.h"
#include "http/handlers.h"

/*
 * issue 19 (hosting): what is wrong with server.run_dir for this process,
 * or NULL.  Checked on every probe (two system calls, no database), and
 * also whether this process got the node's rate counters at its start: a
 * run_dir made later does not share them until a restart.
 */
static const char *
run_dir_problem(struct tg_req *r)
{
	const struct tg_ctx *x = r->ctx;
	char why[512];

	if (x->conf->run_dir == NULL)
		return NULL;
	if (rundir_check(x->conf->run_dir, why, sizeof(why)) != RUNDIR_OK)
		return arena_printf(r->arena,
		    "%s; rate limits count per process (a limit admits up to "
		    "limit x processes), no journal, no credit leases",
		    why);
	if (x->rate != NULL && !rate_shared(x->rate))
		return arena_printf(r->arena,
		    "%s was not usable when this process started: its rate "
		    "limits count per process until tollgate is restarted",
		    x->conf->run_dir);
	return NULL;
}

/*
 * Load balancers read the status code: the database down or on another
 * schema is 503.  A run_dir problem is 200 with "status":"degraded" and the
 * reason: the node still serves and bills exactly (its limits are looser),
 * and a 503 there would take every node of one config out at once; monitors
 * alert on any status but "ok".
 */
enum tg_err
h_health(struct tg_req *r, struct tg_resp *resp)
{
	const char *problem = run_dir_problem(r);
	json_t *db;
	int64_t ver = 0;
	enum tg_err rc;

	rc = r->ctx->db != NULL ? db_schema_version(r->ctx->db, &ver) : TG_EDB;
	db = json_pack("{s:b, s:I}", "reachable", rc != TG_EDB,
	    "expected_schema_version", (json_int_t)TG_SCHEMA_VERSION);
	json_object_set_new(db, "schema_version",
	    rc != TG_EDB ? json_integer(ver) : json_null());
	resp->status = rc == TG_OK ? 200 : 503;
	resp->body = json_pack("{s:s, s:s, s:o}", "status",
	    rc == TG_OK && problem != NULL ? "degraded"
		: rc == TG_OK		   ? "ok"
		: rc == TG_ESCHEMA	   ? "schema_mismatch"
					   : "unavailable",
	    "version", PACKAGE_VERSION, "database", db);
	if (problem != NULL)
		json_object_set_new(resp->body, "run_dir",
		    json_pack("{s:s, s:s}", "path", r->ctx->conf->run_dir,
			"problem", problem));
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
