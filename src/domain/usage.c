/* usage.c: usage records: one per metered request; listings, totals and bills */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_monitor.h"
#include "store/q_usage.h"
#include "core/money.h"
#include "domain/journal.h"
#include "domain/usage.h"
#include "core/util.h"

/* clang-format off */
static const char *const status_names[] = {
	[US_OK]		 = "ok",
	[US_ERROR]	 = "error",
	[US_CLIENT_GONE] = "client_gone",
	[US_REFUSED]	 = "refused",
};
const char *const usage_status_names[] = {
    "ok", "error", "client_gone", "refused", NULL};
static const char *const basis_names[] = {
	[UB_MEASURED]  = "measured",
	[UB_ESTIMATED] = "estimated",
	[UB_HOLD]      = "hold",
};
/* clang-format on */

static struct db_val
opt_str(const char *s)
{
	return s != NULL ? DB_STR(s) : DB_NULLV;
}

void
usage_params(const struct usage_rec *u, int64_t charged,
    struct db_val p[LEDGER_USAGE_COLS])
{
	const char *err = u->error;

	p[0] = DB_STR(u->request_id);
	p[1] = DB_I64(u->user_id);
	p[2] = DB_I64(u->key_id);
	p[3] = u->hold_id != NULL ? (struct db_val){.type = DBT_STR,
					.s = (const char *)u->hold_id,
					.len = HOLD_ID_LEN}
				  : DB_NULLV;
	p[4] = DB_STR(u->endpoint);
	p[5] = DB_STR(u->model);
	p[6] = opt_str(u->provider);
	p[7] = u->upstream_key_id > 0 ? DB_I64(u->upstream_key_id) : DB_NULLV;
	p[8] = opt_str(u->upstream_model);
	p[9] = DB_I64(u->u.prompt);
	p[10] = DB_I64(u->u.completion);
	p[11] = DB_I64(u->u.cached);
	p[12] = DB_I64(u->u.reasoning);
	p[13] = DB_I64(u->p.input);
	p[14] = DB_I64(u->p.output);
	p[15] = DB_I64(u->p.cached);
	p[16] = DB_I64(u->commission_bp);
	p[17] = DB_I64(u->cost.base);
	p[18] = DB_I64(u->cost.commission);
	p[19] = DB_I64(charged);
	p[20] = DB_STR(status_names[u->status]);
	p[21] = DB_I64(u->http_status);
	p[22] = err != NULL ? (struct db_val){.type = DBT_STR,
				  .s = err,
				  .len = util_utf8_cut(err, 500)}
			    : DB_NULLV;
	p[23] = DB_I64(u->latency_ms);
	p[24] = u->ttft_ms >= 0 ? DB_I64(u->ttft_ms) : DB_NULLV;
	p[25] = DB_I64(u->stream);
	p[26] = DB_I64(u->estimated);
	p[27] = DB_I64(u->attempts > 255 ? 255 : u->attempts);
	p[28] = opt_str(u->idem_key);
	p[29] = u->u.upstream_cost >= 0 ? DB_I64(u->u.upstream_cost) : DB_NULLV;
	p[30] = DB_I64(u->overrun);
	p[31] = DB_STR(basis_names[u->basis]);
	p[32] = opt_str(u->client_request_id);
	p[33] = DB_STR(u->api != NULL ? u->api : u->endpoint);
	p[34] = DB_I64(u->u.cache_write);
	p[35] = DB_I64(u->p.cache_write > 0 ? u->p.cache_write : u->p.input);
}

/* The columns of BATCH_REFUSED. */
enum refused_col {
	RC_REQUEST_ID,
	RC_CLIENT_REQUEST_ID,
	RC_USER_ID,
	RC_KEY_ID,
	RC_ENDPOINT,
	RC_API,
	RC_MODEL,
	RC_STATUS,
	RC_HTTP_STATUS,
	RC_ERROR,
	RC_LATENCY_MS,
	RC_STREAM,
	RC_CREATED,
	RC__MAX
};

enum tg_err
usage_refused(struct journal *j, const struct usage_rec *u, double at)
{
	struct db_val cols[RC__MAX];
	char when[UTIL_SQL_TIME_LEN];
	const char *model = u->model != NULL ? u->model : "";

	if (j == NULL)
		return TG_ESYSTEM;
	util_sql_time(at, when);
	cols[RC_REQUEST_ID] = DB_STR(u->request_id);
	cols[RC_CLIENT_REQUEST_ID] = opt_str(u->client_request_id);
	cols[RC_USER_ID] = DB_I64(u->user_id);
	cols[RC_KEY_ID] = DB_I64(u->key_id);
	cols[RC_ENDPOINT] = DB_STR(u->endpoint);
	cols[RC_API] = DB_STR(u->api != NULL ? u->api : u->endpoint);
	/* The id as asked, cut to the column: it may be anything the client sent. */
	cols[RC_MODEL] = (struct db_val){
	    .type = DBT_STR, .s = model, .len = util_utf8_cut(model, 128)};
	cols[RC_STATUS] = DB_STR(status_names[US_REFUSED]);
	cols[RC_HTTP_STATUS] = DB_I64(u->http_status);
	cols[RC_ERROR] = u->error != NULL
	    ? (struct db_val){.type = DBT_STR,
		  .s = u->error,
		  .len = util_utf8_cut(u->error, 500)}
	    : DB_NULLV;
	cols[RC_LATENCY_MS] = DB_I64(u->latency_ms);
	cols[RC_STREAM] = DB_I64(u->stream != 0);
	cols[RC_CREATED] = DB_STR(when);
	return journal_append_kind(j, JK_REFUSED, cols, RC__MAX) == 0
	    ? TG_OK
	    : TG_ESYSTEM;
}

enum tg_err
usage_by_idem(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, const char *idem, struct usage_replay *out)
{
	struct replay_row r;
	enum tg_err rc;

	if ((rc = q_usage_by_idem(c, a, user_id, key_id, idem, &r)) != TG_OK)
		return rc;
	if (r.body == NULL)
		return TG_ECONFLICT; /* finished without an answer to replay */
	out->http_status = (int)r.http_status;
	out->type = r.type == NULL ? "application/json" : r.type;
	out->body = r.body;
	out->len = r.len;
	return TG_OK;
}

/* The filter's dates as params: "" means unbounded. */
static void
query_of(const struct usage_filter *f, struct usage_query *q)
{
	*q = (struct usage_query){
	    .user_id = f->user_id,
	    .before_id = f->before_id,
	    .from = f->from != NULL ? f->from : "",
	    .to = f->to != NULL ? f->to : "",
	    .key_id = f->key_id,
	    .model = f->model != NULL ? f->model : "",
	    .status = f->status != NULL ? f->status : "",
	    .limit = f->limit,
	    .mode = f->mode != NULL ? f->mode : "",
	};
}

static json_t *
opt(const char *s)
{
	return s == NULL ? json_null() : json_string(s);
}

static json_t *
record_json(const struct usage_row *v)
{
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, "
	    "s:I, s:o, s:o, s:o, s:s, s:I, s:o, s:I, s:o, s:b, "
	    "s:b, s:s, s:I}",
	    "request_id", v->request_id, "created_at", v->created_at,
	    "endpoint", v->endpoint, "model", v->model, "provider",
	    opt(v->provider), "key_id", opt(v->key_pub), "prompt_tokens",
	    (json_int_t)v->prompt, "completion_tokens",
	    (json_int_t)v->completion, "cached_tokens", (json_int_t)v->cached,
	    "reasoning_tokens", (json_int_t)v->reasoning, "total_tokens",
	    (json_int_t)(v->prompt + v->completion), "base_cost",
	    money_json(v->base_cost), "commission", money_json(v->commission),
	    "cost", money_json(v->charge), "status", v->status, "http_status",
	    (json_int_t)v->http_status, "error", opt(v->error), "latency_ms",
	    (json_int_t)v->latency_ms, "ttft_ms",
	    v->ttft_ms < 0 ? json_null() : json_integer(v->ttft_ms), "stream",
	    v->stream, "estimated", v->estimated, "api",
	    v->api != NULL ? v->api : v->endpoint, "cache_write_tokens",
	    (json_int_t)v->cache_write);

	/* issue 18: who paid: the real account (live) or the sandbox (test). */
	json_object_set_new(
	    o, "mode", json_string(v->mode != NULL ? v->mode : "live"));
	return o;
}

/*
 * issue 18: s001: seed 003's request-log view of a finished record: state
 * completed (ok), refused (a 429 or 402 before any upstream call) or
 * failed (error, client_gone), responded_at (when the
 * record was written) and requested_at (that less the latency).
 */
static void
add_states(json_t *o, const struct usage_row *v)
{
	char at[32];
	struct tm tm;
	time_t t;

	json_object_set_new(o, "state",
	    json_string(strcmp(v->status, "ok") == 0	? "completed"
		    : strcmp(v->status, "refused") == 0 ? "refused"
							: "failed"));
	json_object_set_new(o, "responded_at", json_string(v->created_at));
	memset(&tm, 0, sizeof(tm));
	if (sscanf(v->created_at, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year,
		&tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
		&tm.tm_sec) != 6) {
		json_object_set_new(o, "requested_at", json_null());
		return;
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) - (time_t)((v->latency_ms + 999) / 1000);
	gmtime_r(&t, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(o, "requested_at", json_string(at));
}

enum tg_err
usage_list(struct db_conn *c, struct arena *a, const struct usage_filter *f,
    json_t **data, int64_t *next)
{
	struct usage_query q;
	struct usage_row *rows;
	json_t *o;
	size_t i, n;
	enum tg_err rc;

	query_of(f, &q);
	/* One more than asked: whether a next page exists. */
	q.limit = f->limit + 1;
	if ((rc = q_usage_list(c, a, &q, &rows, &n)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	*next = 0;
	for (i = 0; i < n; i++) {
		if ((int64_t)i == f->limit) {
			*next = rows[i - 1].id;
			break;
		}
		json_array_append_new(*data, o = record_json(&rows[i]));
		add_states(o, &rows[i]);
	}
	return TG_OK;
}

/* A summary's lines: 366 days of a few dozen models fit. */
#define SUMMARY_LINES_MAX 20000

/* The summary's JSON (totals, by_day lines) of n day lines. */
static enum tg_err
usage_summary_of(
    struct arena *a, const struct day_row *d, size_t n, json_t **out)
{
	json_t *days = json_array();
	int64_t req = 0, pt = 0, ct = 0, base = 0, comm = 0, charge = 0;
	int64_t refused = 0;
	size_t i;

	/* Refused requests (429, 402) are counted apart: none was served. */
	for (i = 0; i < n; i++) {
		json_array_append_new(days,
		    json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "day", d[i].day,
			"model", d[i].model, "requests",
			(json_int_t)d[i].requests, "refused",
			(json_int_t)d[i].refused, "tokens",
			(json_int_t)(d[i].prompt + d[i].completion), "cost",
			money_json(d[i].charge)));
		req += d[i].requests;
		refused += d[i].refused;
		pt += d[i].prompt;
		ct += d[i].completion;
		base += d[i].base_cost;
		comm += d[i].commission;
		charge += d[i].charge;
	}
	*out = json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}, s:o}",
	    "totals", "requests", (json_int_t)req, "refused",
	    (json_int_t)refused, "prompt_tokens", (json_int_t)pt,
	    "completion_tokens", (json_int_t)ct, "total_tokens",
	    (json_int_t)(pt + ct), "base_cost", money_json(base), "commission",
	    money_json(comm), "cost", money_json(charge), "by_day", days);
	if (*out == NULL)
		return TG_ESYSTEM;
	arena_defer_json(a, *out);
	return TG_OK;
}

enum tg_err
usage_summary(struct db_conn *c, struct arena *a, const struct usage_filter *f,
    json_t **out)
{
	struct usage_query q;
	struct day_row *d;
	size_t n;
	enum tg_err rc;

	query_of(f, &q);
	q.limit = SUMMARY_LINES_MAX;
	if ((rc = q_usage_summary(c, a, &q, &d, &n)) != TG_OK)
		return rc;
	return usage_summary_of(a, d, n, out);
}

/* One line of a fold: a day's or a model's sums. */
struct sums {
	const char *name;
	int64_t requests, refused, tokens, charge;
};

/* Add d to the line of name in lines (n so far, at most max). */
static void
sum_into(
    struct sums *lines, size_t *n, const char *name, const struct day_row *d)
{
	size_t i;

	for (i = 0; i < *n && strcmp(lines[i].name, name) != 0; i++)
		;
	if (i == *n)
		lines[(*n)++] = (struct sums){name, 0, 0, 0, 0};
	lines[i].requests += d->requests;
	lines[i].refused += d->refused;
	lines[i].tokens += d->prompt + d->completion;
	lines[i].charge += d->charge;
}

static json_t *
sums_json(const struct sums *lines, size_t n, const char *key)
{
	json_t *out = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(out,
		    json_pack("{s:s, s:I, s:I, s:I, s:o}", key, lines[i].name,
			"requests", (json_int_t)lines[i].requests, "refused",
			(json_int_t)lines[i].refused, "tokens",
			(json_int_t)lines[i].tokens, "cost",
			money_json(lines[i].charge)));
	return out;
}

enum tg_err
usage_system_summary(struct db_conn *c, struct arena *a,
    const struct usage_filter *f, json_t **out)
{
	struct usage_query q;
	struct day_row *d;
	struct sums *days, *models;
	size_t i, n, nd = 0, nm = 0;
	enum tg_err rc;

	query_of(f, &q);
	q.limit = SUMMARY_LINES_MAX;
	if ((rc = q_monitor_by_day(c, a, &q, &d, &n)) != TG_OK)
		return rc;
	if ((days = arena_calloc(a, n + 1, sizeof(*days))) == NULL ||
	    (models = arena_calloc(a, n + 1, sizeof(*models))) == NULL)
		return TG_ESYSTEM;
	/* Lines come by day, so a day's are together; models repeat. */
	for (i = 0; i < n; i++) {
		sum_into(days, &nd, d[i].day, &d[i]);
		sum_into(models, &nm, d[i].model, &d[i]);
	}
	if ((rc = usage_summary_of(a, d, n, out)) != TG_OK)
		return rc;
	json_object_set_new(
	    *out, "by_day_model", json_incref(json_object_get(*out, "by_day")));
	json_object_set_new(*out, "by_day", sums_json(days, nd, "day"));
	json_object_set_new(*out, "by_model", sums_json(models, nm, "model"));
	return TG_OK;
}

enum tg_err
usage_metrics(struct db_conn *c, struct arena *a, int64_t user_id, json_t **out)
{
	struct usage_totals t;
	enum tg_err rc;

	if ((rc = q_usage_totals(c, a, user_id, &t)) != TG_OK)
		return rc;
	*out = json_pack("{s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:I, s:o, s:I, "
			 "s:o, s:o}",
	    "total_requests", (json_int_t)t.requests, "total_tokens",
	    (json_int_t)t.tokens, "total_cost", money_json(t.cost),
	    "requests_today", (json_int_t)t.requests_today, "tokens_today",
	    (json_int_t)t.tokens_today, "cost_today", money_json(t.cost_today),
	    "requests_this_month", (json_int_t)t.requests_month,
	    "tokens_this_month", (json_int_t)t.tokens_month, "cost_this_month",
	    money_json(t.cost_month), "average_tokens_per_request",
	    (json_int_t)(t.requests > 0 ? t.tokens / t.requests : 0),
	    "most_used_model", opt(t.top_model), "last_request_time",
	    opt(t.last));
	arena_defer_json(a, *out);
	return TG_OK;
}

enum tg_err
usage_bill(struct db_conn *c, struct arena *a, const struct usage_filter *f,
    json_t **out)
{
	struct usage_query q;
	struct bill_row *b;
	json_t *lines;
	int64_t base = 0, comm = 0, charge = 0;
	size_t i, n;
	enum tg_err rc;
	int per_user = f->user_id == 0;

	query_of(f, &q);
	if ((rc = q_usage_bill(c, a, per_user, &q, &b, &n)) != TG_OK)
		return rc;
	lines = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(lines,
		    json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o}",
			per_user ? "user_id" : "model", b[i].name, "requests",
			(json_int_t)b[i].requests, "prompt_tokens",
			(json_int_t)b[i].prompt, "completion_tokens",
			(json_int_t)b[i].completion, "base_cost",
			money_json(b[i].base_cost), "commission",
			money_json(b[i].commission), "charge",
			money_json(b[i].charge)));
		base += b[i].base_cost;
		comm += b[i].commission;
		charge += b[i].charge;
	}
	*out = json_pack("{s:o, s:{s:o, s:o, s:o}}", "data", lines, "total",
	    "base_cost", money_json(base), "commission", money_json(comm),
	    "charge", money_json(charge));
	arena_defer_json(a, *out);
	return TG_OK;
}
