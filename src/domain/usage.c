/* usage.c: usage records: one per metered request; listings, totals and bills */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/stmt.h"
#include "core/money.h"
#include "domain/usage.h"
#include "core/util.h"

/* clang-format off */
static const char *const status_names[] = {
	[US_OK]		 = "ok",
	[US_ERROR]	 = "error",
	[US_CLIENT_GONE] = "client_gone",
};
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
}

enum tg_err
usage_by_idem(struct db_conn *c, struct arena *a, int64_t user_id,
    int64_t key_id, const char *idem, struct usage_replay *out)
{
	struct db_val p[3] = {DB_I64(user_id), DB_I64(key_id), DB_STR(idem)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USAGE_BY_IDEM, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_ENOENT;
	if (rows.v[2].type == DBT_NULL)
		return TG_ECONFLICT; /* finished without an answer to replay */
	out->http_status = (int)rows.v[0].i;
	out->type =
	    rows.v[1].type == DBT_NULL ? "application/json" : rows.v[1].s;
	out->body = rows.v[2].s;
	out->len = rows.v[2].len;
	return TG_OK;
}

/* The filter's dates as params: "" means unbounded. */
static void
date_params(const struct usage_filter *f, struct db_val *p)
{
	p[0] = DB_STR(f->from != NULL ? f->from : "");
	p[1] = p[0];
	p[2] = DB_STR(f->to != NULL ? f->to : "");
	p[3] = p[2];
}

static json_t *
opt_json_str(const struct db_val *v)
{
	return v->type == DBT_NULL ? json_null() : json_string(v->s);
}

enum tg_err
usage_list(struct db_conn *c, struct arena *a, const struct usage_filter *f,
    json_t **data, int64_t *next)
{
	struct db_val p[11];
	struct db_rows rows;
	const struct db_val *v;
	json_t *rec;
	size_t i;
	enum tg_err rc;

	p[0] = DB_I64(f->user_id);
	p[1] = DB_I64(f->before_id);
	p[2] = p[1];
	date_params(f, &p[3]);
	p[7] = DB_I64(f->key_id);
	p[8] = p[7];
	p[9] = DB_STR(f->model != NULL ? f->model : "");
	p[10] = p[9];
	/* One more than asked: whether a next page exists. */
	{
		struct db_val q[12];

		memcpy(q, p, sizeof(p));
		q[11] = DB_I64(f->limit + 1);
		if ((rc = db_exec(c, STMT_USAGE_LIST, q, 12, &rows, a)) !=
		    TG_OK)
			return rc;
	}
	*data = json_array();
	arena_defer_json(a, *data);
	*next = 0;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		if ((int64_t)i == f->limit) {
			*next = rows.v[(i - 1) * rows.ncols].i;
			break;
		}
		rec = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, "
				"s:I, s:I, s:o, s:o, s:o, s:s, s:I, s:o, s:I, "
				"s:o, s:b, s:b}",
		    "request_id", v[1].s, "created_at", v[2].s, "endpoint",
		    v[3].s, "model", v[4].s, "provider", opt_json_str(&v[5]),
		    "key_id", opt_json_str(&v[6]), "prompt_tokens",
		    (json_int_t)v[7].i, "completion_tokens", (json_int_t)v[8].i,
		    "cached_tokens", (json_int_t)v[9].i, "reasoning_tokens",
		    (json_int_t)v[10].i, "total_tokens",
		    (json_int_t)(v[7].i + v[8].i), "base_cost",
		    money_json(v[11].i), "commission", money_json(v[12].i),
		    "cost", money_json(v[13].i), "status", v[14].s,
		    "http_status", (json_int_t)v[15].i, "error",
		    opt_json_str(&v[16]), "latency_ms", (json_int_t)v[17].i,
		    "ttft_ms",
		    v[18].type == DBT_NULL ? json_null()
					   : json_integer(v[18].i),
		    "stream", (int)v[19].i, "estimated", (int)v[20].i);
		json_array_append_new(*data, rec);
	}
	return TG_OK;
}

enum tg_err
usage_metrics(struct db_conn *c, struct arena *a, int64_t user_id, json_t **out)
{
	struct db_val p = DB_I64(user_id);
	struct db_rows rows, top;
	const struct db_val *v;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USAGE_METRICS, &p, 1, &rows, a)) != TG_OK ||
	    (rc = db_exec(c, STMT_USAGE_TOP_MODEL, &p, 1, &top, a)) != TG_OK)
		return rc;
	v = rows.v;
	*out = json_pack("{s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:I, s:o, s:I, "
			 "s:o, s:o}",
	    "total_requests", (json_int_t)v[0].i, "total_tokens",
	    (json_int_t)v[1].i, "total_cost", money_json(v[2].i),
	    "requests_today", (json_int_t)v[3].i, "tokens_today",
	    (json_int_t)v[4].i, "cost_today", money_json(v[5].i),
	    "requests_this_month", (json_int_t)v[6].i, "tokens_this_month",
	    (json_int_t)v[7].i, "cost_this_month", money_json(v[8].i),
	    "average_tokens_per_request",
	    (json_int_t)(v[0].i > 0 ? v[1].i / v[0].i : 0), "most_used_model",
	    top.nrows > 0 ? json_string(top.v[0].s) : json_null(),
	    "last_request_time", opt_json_str(&v[9]));
	arena_defer_json(a, *out);
	return TG_OK;
}

enum tg_err
usage_bill(struct db_conn *c, struct arena *a, const struct usage_filter *f,
    json_t **out)
{
	struct db_val p[6];
	struct db_rows rows;
	const struct db_val *v;
	json_t *lines;
	int64_t base = 0, comm = 0, charge = 0;
	size_t i;
	enum tg_err rc;
	int per_user = f->user_id == 0;

	p[0] = DB_I64(f->user_id);
	p[1] = p[0];
	date_params(f, &p[2]);
	if ((rc = db_exec(c, per_user ? STMT_BILL_USERS : STMT_BILL_MODELS, p,
		 6, &rows, a)) != TG_OK)
		return rc;
	lines = json_array();
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		json_array_append_new(lines,
		    json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o}",
			per_user ? "user_id" : "model", v[0].s, "requests",
			(json_int_t)v[1].i, "prompt_tokens", (json_int_t)v[2].i,
			"completion_tokens", (json_int_t)v[3].i, "base_cost",
			money_json(v[4].i), "commission", money_json(v[5].i),
			"charge", money_json(v[6].i)));
		base += v[4].i;
		comm += v[5].i;
		charge += v[6].i;
	}
	*out = json_pack("{s:o, s:{s:o, s:o, s:o}}", "data", lines, "total",
	    "base_cost", money_json(base), "commission", money_json(comm),
	    "charge", money_json(charge));
	arena_defer_json(a, *out);
	return TG_OK;
}
