/* h_usage.c: usage records and bills, as JSON pages or CSV */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "domain/auth.h"
#include "domain/inflight.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "core/buf.h"
#include "io/db.h"
#include "domain/keys.h"
#include "domain/op.h"
#include "http/handlers.h"
#include "core/json.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "domain/usage.h"
#include "core/util.h"

#define USAGE_PAGE_DEFAULT 50
#define USAGE_PAGE_MAX	   1000
#define CSV_MAX		   (32 << 20)

/* "2026-11-25" or "2026-11-25T10:00:00Z" -> "2026-11-25 10:00:00". */
static const char *
sql_time(struct arena *a, const char *s)
{
	static const char date[] = "dddd-dd-dd",
			  full[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i, n = strlen(s);
	const char *shape = n == 10 ? date : n == 20 ? full : NULL;

	if (shape == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i])
				    : s[i] != shape[i])
			return NULL;
	if (n == 10)
		return arena_printf(a, "%s 00:00:00", s);
	return arena_printf(a, "%.10s %.8s", s, s + 11);
}

enum tg_err
usage_when(struct tg_req *r, struct tg_resp *resp, const char *out[2])
{
	static const char *const names[2] = {"from", "to"};
	const char *v;
	size_t i;

	for (i = 0; i < 2; i++) {
		out[i] = NULL;
		if ((v = req_query(r, names[i])) == NULL || *v == '\0')
			continue;
		if ((out[i] = sql_time(r->arena, v)) == NULL)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", names[i],
			    "%s is a UTC date (2026-11-25) or time "
			    "(2026-11-25T10:00:00Z)",
			    names[i]);
	}
	return TG_OK;
}

static enum tg_err
time_filter(struct tg_req *r, struct tg_resp *resp, struct usage_filter *f)
{
	const char *when[2];
	enum tg_err rc;

	if ((rc = usage_when(r, resp, when)) != TG_OK)
		return rc;
	f->from = when[0];
	f->to = when[1];
	return TG_OK;
}

static enum tg_err
status_filter(struct tg_req *r, struct tg_resp *resp, struct usage_filter *f)
{
	const char *v = req_query(r, "status");
	size_t i;

	if (v == NULL || *v == '\0')
		return TG_OK;
	/* Requests still in flight: from shared memory, never a record. */
	if (strcmp(v, "pending") == 0) {
		f->status = "pending";
		return TG_OK;
	}
	for (i = 0; usage_status_names[i] != NULL; i++)
		if (strcmp(v, usage_status_names[i]) == 0) {
			f->status = usage_status_names[i];
			return TG_OK;
		}
	return resp_fail_code(r, resp, TG_EINVAL, "invalid_value", "status",
	    "status is pending, ok, error, client_gone or refused");
}

/* issue 18: ?mode=live|test: the real account's records or the sandbox's. */
static enum tg_err
mode_filter(struct tg_req *r, struct tg_resp *resp, struct usage_filter *f)
{
	const char *v = req_query(r, "mode");

	if (v == NULL || *v == '\0')
		return TG_OK;
	if (strcmp(v, "live") == 0 || strcmp(v, "test") == 0) {
		f->mode = v;
		return TG_OK;
	}
	return resp_fail_code(r, resp, TG_EINVAL, "invalid_value", "mode",
	    "mode is live or test");
}

static enum tg_err
filter(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    struct usage_filter *f)
{
	const char *v;
	uint64_t n;
	struct op op;
	enum tg_err rc;

	memset(f, 0, sizeof(*f));
	f->user_id = r->who->user_id;
	f->limit = USAGE_PAGE_DEFAULT;
	if ((rc = time_filter(r, resp, f)) != TG_OK)
		return rc;
	if ((v = req_query(r, "limit")) != NULL) {
		if (util_parse_u64(v, 1, USAGE_PAGE_MAX, &n) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "limit", "limit is from 1 to %d",
			    USAGE_PAGE_MAX);
		f->limit = (int64_t)n;
	}
	if ((v = req_query(r, "cursor")) != NULL) {
		if (util_parse_u64(v, 1, INT64_MAX, &n) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "cursor",
			    "cursor is the next_cursor of the previous page");
		f->before_id = (int64_t)n;
	}
	if ((v = req_query(r, "model")) != NULL && *v != '\0')
		f->model = v;
	if ((rc = status_filter(r, resp, f)) != TG_OK ||
	    (rc = mode_filter(r, resp, f)) != TG_OK)
		return rc;
	if (!auth_whole_account(r->who)) {
		/* A read-only key reads its own usage only. */
		v = req_query(r, "key_id");
		if (v != NULL && *v != '\0' && strcmp(v, r->who->key_pub) != 0)
			return resp_fail_code(r, resp, TG_EPERM,
			    "insufficient_permissions", "key_id",
			    "a read-only key reads its own usage only: leave "
			    "out key_id or use a dashboard session");
		f->key_id = r->who->key_id;
	} else if ((v = req_query(r, "key_id")) != NULL && *v != '\0') {
		req_op(r, &op);
		rc = key_get(c, &op, r->who->user_id, v, &f->key_id, NULL);
		if (rc == TG_ENOENT)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "key_id",
			    "key_id is not one of your keys");
		if (rc != TG_OK)
			return rc;
	}
	return TG_OK;
}

/* One CSV field: quoted when it holds a comma, quote or line break. */
void
usage_csv_field(struct buf *b, const json_t *v)
{
	const char *s, *p;
	char num[48];
	int formula;

	if (json_is_string(v)) {
		s = json_string_value(v);
	} else if (json_is_integer(v)) {
		snprintf(
		    num, sizeof(num), "%lld", (long long)json_integer_value(v));
		s = num;
	} else if (json_is_boolean(v)) {
		s = json_is_true(v) ? "true" : "false";
	} else {
		s = "";
	}
	/*
	 * A leading = + - @ would be a formula in a spreadsheet, and so would
	 * one after a leading tab or CR, which some strip on import.
	 */
	formula = *s != '\0' && strchr("=+-@\t\r", *s) != NULL;
	if (strpbrk(s, ",\"\r\n") == NULL && !formula) {
		buf_puts(b, s);
		return;
	}
	buf_puts(b, "\"");
	if (formula)
		buf_puts(b, "'");
	for (p = s; *p != '\0'; p++)
		buf_append(b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
	buf_puts(b, "\"");
}

/* clang-format off */
static const char *const csv_cols[] = {
	"created_at", "request_id", "endpoint", "model", "provider", "key_id",
	"prompt_tokens", "completion_tokens", "cached_tokens",
	"reasoning_tokens", "total_tokens", "base_cost", "commission", "cost",
	"status", "http_status", "error", "latency_ms", "ttft_ms", "stream",
	"estimated", "mode", NULL,
};
/* clang-format on */

static enum tg_err
as_csv(struct tg_req *r, struct tg_resp *resp, json_t *data)
{
	struct buf b;
	json_t *rec;
	size_t i, j;
	char *out;

	buf_init(&b, CSV_MAX);
	for (j = 0; csv_cols[j] != NULL; j++)
		buf_printf(&b, "%s%s", j > 0 ? "," : "", csv_cols[j]);
	buf_puts(&b, "\r\n");
	json_array_foreach(data, i, rec) {
		for (j = 0; csv_cols[j] != NULL; j++) {
			if (j > 0)
				buf_puts(&b, ",");
			usage_csv_field(&b, json_object_get(rec, csv_cols[j]));
		}
		buf_puts(&b, "\r\n");
	}
	out = arena_strndup(r->arena, b.data != NULL ? b.data : "", b.len);
	resp->rawlen = b.len;
	buf_free(&b);
	resp->raw = out;
	resp->ctype = "text/csv; charset=utf-8";
	resp_header(resp, "Content-Disposition",
	    "attachment; filename=\"tollgate-usage.csv\"");
	return TG_OK;
}

#define PENDING_MAX 256 /* listed per answer; a user holds few at once */

/*
 * issue 18: s001: the caller's requests in flight on this node (by its
 * filter: key, model, time), as records with status and state "pending",
 * before the finished ones.
 */
void
usage_pending(struct tg_req *r, const struct usage_filter *f, json_t *data)
{
	struct inflight_rec *in;
	const char *sql;
	char at[32];
	time_t t;
	struct tm tm;
	size_t n;

	if ((in = arena_calloc(r->arena, PENDING_MAX, sizeof(*in))) == NULL)
		return;
	n = inflight_list(
	    r->ctx->conf->run_dir, f->user_id, f->key_id, in, PENDING_MAX);
	while (n-- > 0) {
		if (f->model != NULL && strcmp(f->model, in[n].model) != 0)
			continue;
		t = (time_t)in[n].started;
		gmtime_r(&t, &tm);
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		sql = sql_time(r->arena, at);
		if (sql == NULL ||
		    (f->from != NULL && strcmp(sql, f->from) < 0) ||
		    (f->to != NULL && strcmp(sql, f->to) >= 0))
			continue;
		json_array_insert_new(data, 0,
		    json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:n, s:n, s:s, "
			      "s:n}",
			"request_id", in[n].request_id, "status", "pending",
			"state", "pending", "model", in[n].model, "key_id",
			in[n].key_pub[0] != '\0' ? json_string(in[n].key_pub)
						 : json_null(),
			"requested_at", at, "responded_at", "error",
			"created_at", at, "cost"));
	}
}

enum tg_err
h_user_usage(struct tg_req *r, struct tg_resp *resp)
{
	struct usage_filter f;
	struct db_conn *c;
	const char *fmt = req_query(r, "format");
	json_t *data;
	int64_t next;
	enum tg_err rc;

	if (fmt != NULL && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "format", "format is json or csv");
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = filter(r, resp, c, &f)) != TG_OK)
		return rc;
	if (fmt != NULL && strcmp(fmt, "csv") == 0 &&
	    req_query(r, "limit") == NULL)
		f.limit = USAGE_PAGE_MAX;
	if (f.status != NULL && strcmp(f.status, "pending") == 0) {
		data = json_array();
		arena_defer_json(r->arena, data);
		next = 0;
	} else if ((rc = usage_list(c, r->arena, &f, &data, &next)) != TG_OK)
		return rc;
	/* The first page starts with what is in flight now. */
	if ((f.status == NULL || strcmp(f.status, "pending") == 0) &&
	    f.before_id == 0 && (fmt == NULL || strcmp(fmt, "csv") != 0))
		usage_pending(r, &f, data);
	if (fmt != NULL && strcmp(fmt, "csv") == 0)
		return as_csv(r, resp, data);
	resp->body = json_pack("{s:O, s:o}", "data", data, "next_cursor",
	    next > 0 ? json_sprintf("%lld", (long long)next) : json_null());
	return TG_OK;
}

#define SUMMARY_DAYS_DEFAULT 30
#define SUMMARY_DAYS_MAX     366

/* "YYYY-MM-DD HH:MM:SS" (as sql_time makes it) -> seconds since the epoch. */
static time_t
sql_epoch(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return (time_t)-1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static const char *
epoch_sql(struct arena *a, time_t t)
{
	struct tm tm;
	char out[32];

	gmtime_r(&t, &tm);
	strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S", &tm);
	return arena_strdup(a, out);
}

static json_t *
iso_json(const char *sql)
{
	return json_sprintf("%.10sT%.8sZ", sql, sql + 11);
}

/*
 * A summary's range: [from, to), by default the 30 days up to the end of
 * today (UTC); at most 366 days, so one answer stays bounded.
 */
static enum tg_err
summary_range(struct tg_req *r, struct tg_resp *resp, struct usage_filter *f)
{
	time_t from, to, now = time(NULL);

	if (f->to == NULL)
		f->to = epoch_sql(r->arena, now - now % 86400 + 86400);
	to = sql_epoch(f->to);
	if (f->from == NULL)
		f->from = epoch_sql(
		    r->arena, to - (time_t)SUMMARY_DAYS_DEFAULT * 86400);
	from = sql_epoch(f->from);
	if (from == (time_t)-1 || to == (time_t)-1 || from >= to)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "from", "from is a valid date before to");
	if (to - from > (time_t)SUMMARY_DAYS_MAX * 86400)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value", "to",
		    "a summary covers at most %d days", SUMMARY_DAYS_MAX);
	return TG_OK;
}

enum tg_err
h_user_usage_summary(struct tg_req *r, struct tg_resp *resp)
{
	struct usage_filter f;
	struct db_conn *c;
	json_t *out;
	enum tg_err rc;

	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = filter(r, resp, c, &f)) != TG_OK ||
	    (rc = summary_range(r, resp, &f)) != TG_OK ||
	    (rc = usage_summary(c, r->arena, &f, &out)) != TG_OK)
		return rc;
	json_object_set_new(out, "from", iso_json(f.from));
	json_object_set_new(out, "to", iso_json(f.to));
	resp->body = json_incref(out);
	return TG_OK;
}

static enum tg_err
bill(struct tg_req *r, struct tg_resp *resp, int64_t user_id)
{
	struct usage_filter f;
	struct db_conn *c;
	json_t *out;
	enum tg_err rc;

	memset(&f, 0, sizeof(f));
	f.user_id = user_id;
	if ((rc = time_filter(r, resp, &f)) != TG_OK ||
	    (rc = router_db(r, &c)) != TG_OK ||
	    (rc = usage_bill(c, r->arena, &f, &out)) != TG_OK)
		return rc;
	resp->body = json_incref(out);
	return TG_OK;
}

enum tg_err
h_user_bill(struct tg_req *r, struct tg_resp *resp)
{
	enum tg_err rc;

	/* Every key's charges: the whole account. */
	if ((rc = auth_need_account(r, resp)) != TG_OK)
		return rc;
	return bill(r, resp, r->who->user_id);
}

enum tg_err
h_admin_bill(struct tg_req *r, struct tg_resp *resp)
{
	return bill(r, resp, 0);
}

enum tg_err
usage_system(
    struct tg_req *r, struct tg_resp *resp, struct db_conn *c, json_t **out)
{
	struct usage_filter f;
	uint64_t refused[3];
	enum tg_err rc;

	memset(&f, 0, sizeof(f));
	if ((rc = time_filter(r, resp, &f)) != TG_OK ||
	    (rc = summary_range(r, resp, &f)) != TG_OK ||
	    (rc = usage_system_summary(c, r->arena, &f, out)) != TG_OK)
		return rc;
	json_object_set_new(*out, "from", iso_json(f.from));
	json_object_set_new(*out, "to", iso_json(f.to));
	/* Refused requests on this node (shared memory, not per range). */
	inflight_refusals(r->ctx->conf->run_dir, refused);
	json_object_set_new(*out, "refused",
	    json_pack("{s:I, s:I, s:I, s:s}", "unauthenticated_401",
		(json_int_t)refused[0], "insufficient_credit_402",
		(json_int_t)refused[1], "rate_limited_429",
		(json_int_t)refused[2], "scope", "node"));
	return TG_OK;
}
