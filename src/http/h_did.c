/* h_did.c: seed 003's usage view: the caller's requests and totals in its request_logs shape */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/usage.h"
#include "http/handlers.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX     1000

/* "YYYY-MM-DDTHH:MM:SS[.ffffff]Z" less ms, as "YYYY-MM-DDTHH:MM:SS.mmmZ". */
static json_t *
time_before(const char *iso, int64_t ms)
{
	struct tm tm;
	int64_t us;
	int frac = 0;
	time_t t;
	char out[40];

	memset(&tm, 0, sizeof(tm));
	if (iso == NULL ||
	    sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d.%6d", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &frac) < 6)
		return json_null();
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	us = (int64_t)timegm(&tm) * 1000000 + frac - (ms > 0 ? ms : 0) * 1000;
	t = (time_t)(us / 1000000);
	gmtime_r(&t, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), sizeof(out) - strlen(out), ".%03dZ",
	    (int)(us % 1000000 / 1000));
	return json_string(out);
}

/* A usage record in seed 003's request_logs names; ours beside them. */
static json_t *
log_json(const json_t *u, const char *did)
{
	const char *st = json_string_value(json_object_get(u, "status"));
	int pending = st != NULL && strcmp(st, "pending") == 0;
	const char *at = json_string_value(json_object_get(u, "created_at"));
	int64_t lat = json_integer_value(json_object_get(u, "latency_ms"));

	/* O?: a request in flight has no tokens, cost, status or latency yet. */
	return json_pack(
	    "{s:O, s:s?, s:O, s:O?, s:O?, s:O?, s:O?, s:s, s:o, s:o, "
	    "s:O?, s:O?, s:O?, s:O?, s:O?}",
	    "id", json_object_get(u, "request_id"), "did", did, "model",
	    json_object_get(u, "model"), "input_tokens",
	    json_object_get(u, "prompt_tokens"), "output_tokens",
	    json_object_get(u, "completion_tokens"), "total_tokens",
	    json_object_get(u, "total_tokens"), "total_cost",
	    json_object_get(u, "cost"), "status",
	    pending				      ? "pending"
		: st != NULL && strcmp(st, "ok") == 0 ? "completed"
						      : "failed",
	    "request_time", time_before(at, lat), "response_time",
	    pending ? json_null() : time_before(at, 0), "error_message",
	    json_object_get(u, "error"), "http_status",
	    json_object_get(u, "http_status"), "endpoint",
	    json_object_get(u, "endpoint"), "latency_ms",
	    json_object_get(u, "latency_ms"), "stream",
	    json_object_get(u, "stream"));
}

static enum tg_err
page(struct tg_req *r, struct tg_resp *resp, struct usage_filter *f)
{
	const char *v, *when[2];
	uint64_t n;
	enum tg_err rc;

	memset(f, 0, sizeof(*f));
	f->user_id = r->who->user_id;
	f->limit = PAGE_DEFAULT;
	/* A read-only key sees its own requests, as on /user/usage. */
	if (!auth_whole_account(r->who))
		f->key_id = r->who->key_id;
	if ((rc = usage_when(r, resp, when)) != TG_OK)
		return rc;
	f->from = when[0];
	f->to = when[1];
	if ((v = req_query(r, "limit")) != NULL &&
	    util_parse_u64(v, 1, PAGE_MAX, &n) == -1)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "limit", "limit is from 1 to %d", PAGE_MAX);
	if (v != NULL)
		f->limit = (int64_t)n;
	if ((v = req_query(r, "cursor")) != NULL &&
	    util_parse_u64(v, 1, INT64_MAX, &n) == -1)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "cursor", "cursor is the next_cursor of the previous page");
	if (v != NULL)
		f->before_id = (int64_t)n;
	if ((v = req_query(r, "model")) != NULL && *v != '\0')
		f->model = v;
	return TG_OK;
}

/*
 * GET /api/v1/usage: the caller's requests, newest first, and the totals of
 * all of them: the same listing and totals as /user/usage and
 * /user/monitor, in the names seed 003's clients read.
 */
enum tg_err
h_did_usage(struct tg_req *r, struct tg_resp *resp)
{
	struct usage_filter f;
	struct db_conn *c;
	json_t *data, *logs, *totals, *u;
	int64_t next;
	size_t i;
	enum tg_err rc;

	if ((rc = page(r, resp, &f)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK ||
	    (rc = usage_list(c, r->arena, &f, &data, &next)) != TG_OK ||
	    (rc = usage_metrics(c, r->arena, r->who->user_id, &totals)) !=
		TG_OK)
		return rc;
	/* The first page starts with what is in flight now, as on /user/usage. */
	if (f.before_id == 0)
		usage_pending(r, &f, data);
	logs = json_array();
	json_array_foreach(data, i, u)
		json_array_append_new(logs, log_json(u, r->who->did));
	resp->body = json_pack("{s:s?, s:s, s:o, s:O, s:o}", "did", r->who->did,
	    "user_id", r->who->user_pub, "data", logs, "totals", totals,
	    "next_cursor",
	    next > 0 ? json_sprintf("%lld", (long long)next) : json_null());
	return TG_OK;
}
