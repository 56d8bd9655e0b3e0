/* h_debug.c: test-only routes (debug.routes = on): slow requests, pids, echo, crash */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http/ctx.h"
#include "io/db.h"
#include "http/handlers.h"
#include "http/req.h"
#include "http/resp.h"
#include "core/util.h"

enum tg_err
h_debug_sleep(struct tg_req *r, struct tg_resp *resp)
{
	struct timespec ts;
	const char *v = req_query(r, "ms");
	uint64_t ms = 0;

	if (v != NULL && util_parse_u64(v, 0, 60000, &ms) == -1)
		return resp_fail(r, resp, TG_EINVAL, "ms",
		    "ms must be a whole number from 0 to 60000");
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	/* Restart after signals: a graceful stop must let this finish. */
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	resp->body = json_pack(
	    "{s:i, s:I}", "pid", (int)getpid(), "slept_ms", (json_int_t)ms);
	return TG_OK;
}

enum tg_err
h_debug_pid(struct tg_req *r, struct tg_resp *resp)
{
	resp->body = json_pack("{s:i}", "pid", (int)getpid());
	return TG_OK;
}

/* This process's database work: the cache tests and the benchmark read it. */
enum tg_err
h_debug_stats(struct tg_req *r, struct tg_resp *resp)
{
	struct db_stats st;

	db_stats(r->ctx->db, &st);
	resp->body = json_pack("{s:i, s:I, s:I, s:I, s:I, s:b}", "pid",
	    (int)getpid(), "statements", (json_int_t)st.executed,
	    "statements_background", (json_int_t)st.executed_bg, "cache_hits",
	    (json_int_t)st.cache_hits, "cache_misses",
	    (json_int_t)st.cache_misses, "cache", st.cache_on);
	return TG_OK;
}

enum tg_err
h_debug_echo(struct tg_req *r, struct tg_resp *resp)
{
	resp->body = json_pack("{s:O}", "echo", r->json);
	return TG_OK;
}

enum tg_err
h_debug_crash(struct tg_req *r, struct tg_resp *resp)
{
	/* Lets the suite exercise the master's respawn and crash-loop guard. */
	abort();
}
