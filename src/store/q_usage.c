/* q_usage.c: usage records, bills and the monitor: the statements and their typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/arena.h"
#include "io/db.h"
#include "store/q_rollup.h"
#include "store/q_row.h"
#include "store/q_usage.h"
#include "store/stmt.h"

/*
 * issue 19: scale: sums read usage_daily's whole days plus the records the
 * rollup has not reached and the partial days (store/q_rollup.h), in one
 * statement: one snapshot, so the watermark and the rollup agree and the
 * answer is the raw records' to the nano-USD.
 *
 * Each branch summed by day and model before the union (as the bills): the
 * operator's 30 days are ~90 000 usage_daily rows at 10 million records,
 * and a derived table of every one of them cost more than reading them.
 */
#define SUMS_D                                                                 \
	"SELECT DATE_FORMAT(d.day, '%Y-%m-%d') AS day, d.model_id AS "         \
	"model_id, SUM(IF(d.status <> 'refused', d.requests, 0)) AS req, "     \
	"SUM(d.prompt_tokens) AS pt, SUM(d.completion_tokens) AS ct, "         \
	"SUM(d.base_cost) AS base, SUM(d.commission) AS comm, SUM(d.charge) "  \
	"AS chg, SUM(IF(d.status = 'refused', d.requests, 0)) AS ref"
#define SUMS_R                                                                 \
	"SELECT DATE_FORMAT(r.created_at, '%Y-%m-%d'), r.model_id, "           \
	"SUM(r.status <> 'refused'), SUM(r.prompt_tokens), "                   \
	"SUM(r.completion_tokens), SUM(r.base_cost), SUM(r.commission), "      \
	"SUM(r.charge), SUM(r.status = 'refused')"
#define FILTERS(t)                                                             \
	"(? = 0 OR " t ".user_id = ?) AND (? = 0 OR " t                        \
	".api_key_id = ?) AND "                                                \
	"(? = '' OR " t ".model_id = ?) AND (? = '' OR " t ".status = ?) AND " \
	"(? = '' OR " t ".mode = ?)"
#define SUMS_OUTER                                                             \
	"CAST(SUM(x.req) AS SIGNED), CAST(SUM(x.pt) AS SIGNED), "              \
	"CAST(SUM(x.ct) AS SIGNED), CAST(SUM(x.base) AS SIGNED), "             \
	"CAST(SUM(x.comm) AS SIGNED), CAST(SUM(x.chg) AS SIGNED)"
#define DAY_MODEL_UNION                                                        \
	ROLLUP_UNION_BY(SUMS_D, SUMS_R, FILTERS("d"), FILTERS("r"),            \
	    " GROUP BY d.day, d.model_id",                                     \
	    " GROUP BY DATE(r.created_at), r.model_id")
/*
 * The operator's days (every user): usage_daily_model, a few thousand rows
 * for 30 days where usage_daily has one per user, key, model and day.  The
 * user and key filters' parameters are taken and must be 0 (none).
 */
#define FILTERS_SYSTEM(t)                                                      \
	"? = 0 AND ? = 0 AND ? = 0 AND ? = 0 AND (? = '' OR " t                \
	".model_id = ?) AND (? = '' OR " t ".status = ?) AND "                 \
	"(? = '' OR " t ".mode = ?)"
#define SYSTEM_DAY_SQL                                                         \
	"SELECT x.day, x.model_id, " SUMS_OUTER                                \
	", CAST(SUM(x.ref) AS SIGNED) FROM (" ROLLUP_UNION_IN(                 \
	    "usage_daily_model", SUMS_D, SUMS_R, FILTERS_SYSTEM("d"),          \
	    FILTERS("r"), " GROUP BY d.day, d.model_id",                       \
	    " GROUP BY DATE(r.created_at), r.model_id") ") x GROUP BY x.day, " \
							"x.model_id ORDER BY " \
							"1, 2 LIMIT ?"
#define DAY_MODEL_SQL                                                          \
	"SELECT x.day, x.model_id, " SUMS_OUTER                                \
	", CAST(SUM(x.ref) AS SIGNED) FROM (" DAY_MODEL_UNION                  \
	") x GROUP BY x.day, x.model_id ORDER BY 1, 2 LIMIT ?"
#define BILL_WHERE(t)                                                          \
	"(? = 0 OR " t ".user_id = ?) AND " t ".mode = 'live' AND " t          \
	".status <> 'refused'"
/* A bill's branches, each summed by g (model_id or user_id) before the union. */
#define BILL_D(g)                                                              \
	"SELECT d." g                                                          \
	" AS g, SUM(d.requests) AS req, SUM(d.prompt_tokens) AS "              \
	"pt, SUM(d.completion_tokens) AS ct, SUM(d.base_cost) AS base, "       \
	"SUM(d.commission) AS comm, SUM(d.charge) AS chg"
#define BILL_R(g)                                                              \
	"SELECT r." g ", COUNT(*), SUM(r.prompt_tokens), "                     \
	"SUM(r.completion_tokens), SUM(r.base_cost), SUM(r.commission), "      \
	"SUM(r.charge)"
#define BILL_UNION(g)                                                          \
	ROLLUP_UNION_BY(BILL_D(g), BILL_R(g), BILL_WHERE("d"),                 \
	    BILL_WHERE("r"), " GROUP BY d." g, " GROUP BY r." g)
#define BILL_MODELS_SQL                                                        \
	"SELECT x.g, " SUMS_OUTER                                              \
	" FROM (" BILL_UNION("model_id") ") x "                                \
					 "GROUP BY x.g ORDER BY x.g"
#define BILL_USERS_SQL                                                         \
	"SELECT u.public_id, " SUMS_OUTER " FROM (" BILL_UNION(                \
	    "user_id") ") x JOIN users u ON u.id = x.g GROUP BY x.g, "         \
		       "u.public_id ORDER BY "                                 \
		       "SUM(x.chg) DESC, u.public_id LIMIT 10000"
/*
 * A user's every day: usage_daily and the records past the watermark, each
 * branch summed before the union (all time, today, this month).
 */
#define SINCE(day, since, v) "SUM(IF(" day " >= " since ", " v ", 0))"
#define MONTH_START	     "DATE_FORMAT(CURRENT_DATE, '%Y-%m-01')"
#define TOTALS_COLS(day, req, tok, chg, last)                                  \
	"SELECT SUM(" req ") AS req, SUM(" tok ") AS tok, SUM(" chg ") AS "    \
	"chg, " SINCE(day, "CURRENT_DATE", req) " AS req_d, " SINCE(           \
	    day, "CURRENT_DATE", tok) " AS tok_d, " SINCE(day, "CURRENT_DATE", \
	    chg) " AS chg_d, " SINCE(day, MONTH_START,                         \
	    req) " AS req_m, " SINCE(day, MONTH_START,                         \
	    tok) " AS tok_m, " SINCE(day, MONTH_START,                         \
	    chg) " AS chg_m, MAX(" last ") AS last"
#define TOTALS_D_FROM                                                          \
	" FROM usage_daily d WHERE d.user_id = ? AND d.status <> 'refused'"
#define TOTALS_R_FROM                                                          \
	" FROM usage_rollup_mark m JOIN usage_records r ON r.id > "            \
	"m.last_id WHERE m.id = 1 AND r.user_id = ? AND r.status <> "          \
	"'refused'"
#define TOTALS_UNION                                                           \
	TOTALS_COLS("d.day", "d.requests",                                     \
	    "d.prompt_tokens + d.completion_tokens", "d.charge", "d.last_at")  \
	TOTALS_D_FROM " UNION ALL " TOTALS_COLS("r.created_at", "1",           \
	    "r.prompt_tokens + r.completion_tokens", "r.charge",               \
	    "r.created_at") TOTALS_R_FROM
#define OUT(v) "CAST(COALESCE(SUM(x." v "), 0) AS SIGNED)"
#define METRICS_SQL                                                                                        \
	"SELECT " OUT("req") ", " OUT("tok") ", " OUT("chg") ", " OUT("req_d") ", " OUT("tok_d") ", " OUT( \
	    "chg_d") ", " OUT("req_m") ", " OUT("tok_m") ", " OUT("chg_m") ","                             \
									   " "                             \
									   "D"                             \
									   "A"                             \
									   "T"                             \
									   "E"                             \
									   "_"                             \
									   "F"                             \
									   "O"                             \
									   "R"                             \
									   "M"                             \
									   "A"                             \
									   "T"                             \
									   "("                             \
									   "M"                             \
									   "A"                             \
									   "X"                             \
									   "("                             \
									   "x"                             \
									   "."                             \
									   "l"                             \
									   "a"                             \
									   "s"                             \
									   "t"                             \
									   ")"                             \
									   ","                             \
									   " "                             \
									   "'"                             \
									   "%"                             \
									   "Y"                             \
									   "-"                             \
									   "%"                             \
									   "m"                             \
									   "-"                             \
									   "%"                             \
									   "d"                             \
									   "T"                             \
									   "%"                             \
									   "H"                             \
									   ":"                             \
									   "%"                             \
									   "i"                             \
									   ":"                             \
									   "%"                             \
									   "s"                             \
									   "Z"                             \
									   "'"                             \
									   ")"                             \
									   " "                             \
									   "F"                             \
									   "R"                             \
									   "O"                             \
									   "M"                             \
									   " "                             \
									   "(" TOTALS_UNION                \
									   ")"                             \
									   " "                             \
									   "x"
#define TOP_MODEL_SQL                                                          \
	"SELECT x.model_id FROM (SELECT d.model_id AS model_id, "              \
	"SUM(d.requests) AS req" TOTALS_D_FROM " GROUP BY d.model_id UNION "   \
	"ALL SELECT r.model_id, COUNT(*)" TOTALS_R_FROM " GROUP BY "           \
	"r.model_id) x GROUP BY x.model_id ORDER BY SUM(x.req) DESC, "         \
	"x.model_id LIMIT 1"

/* issue 19: scale: the operator's monitor reads it too (q_monitor.c). */
const char q_usage_day_model_sql[] = DAY_MODEL_SQL;
const char q_usage_system_day_sql[] = SYSTEM_DAY_SQL;

/* clang-format off */
const struct stmt_row q_usage_stmts[] = {
	{ STMT_ADMIN_MONITOR, "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM users WHERE status = 'active'), (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL), (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND is_active = 1), CAST(COALESCE((SELECT SUM(balance) FROM accounts WHERE user_id = owner_id), 0) AS SIGNED), CAST(COALESCE((SELECT SUM(reserved) FROM accounts WHERE user_id = owner_id), 0) AS SIGNED)", DB_SF_READ },
	{ STMT_MONITOR_OVERRUN, "SELECT COUNT(*), CAST(COALESCE(SUM(overrun), 0) AS SIGNED) FROM usage_overruns WHERE created_at >= NOW(6) - INTERVAL 1 DAY", DB_SF_READ | DB_SF_REPLICA },
	{ STMT_USAGE_SET_REPLAY, "UPDATE usage_records SET response = ?, response_type = ?, http_status = ? WHERE user_id = ? AND api_key_id = ? AND idem_key = ?", DB_SF_HOT },
	{ STMT_USAGE_BY_IDEM, "SELECT http_status, response_type, response FROM usage_records WHERE user_id = ? AND api_key_id = ? AND idem_key = ?", DB_SF_READ },
	{ STMT_USAGE_LIST, "SELECT r.id, r.request_id, DATE_FORMAT(r.created_at, '%Y-%m-%dT%H:%i:%s.%fZ'), r.endpoint, r.model_id, r.provider_id, k.public_id, r.prompt_tokens, r.completion_tokens, r.cached_tokens, r.reasoning_tokens, r.base_cost, r.commission, r.charge, r.status, r.http_status, r.error, r.latency_ms, r.ttft_ms, r.stream, r.estimated, r.api, r.cache_write_tokens, r.mode FROM usage_records r LEFT JOIN api_keys k ON k.id = r.api_key_id WHERE r.user_id = ? AND (? = 0 OR r.id < ?) AND (? = '' OR r.created_at >= ?) AND (? = '' OR r.created_at < ?) AND (? = 0 OR r.api_key_id = ?) AND (? = '' OR r.model_id = ?) AND (? = '' OR r.status = ?) AND (? = '' OR r.mode = ?) ORDER BY r.id DESC LIMIT ?", DB_SF_READ | DB_SF_REPLICA },
	{ STMT_USAGE_SUMMARY, q_usage_day_model_sql, DB_SF_READ | DB_SF_REPLICA },
	{ STMT_USAGE_METRICS, METRICS_SQL, DB_SF_READ | DB_SF_REPLICA },
	{ STMT_USAGE_TOP_MODEL, TOP_MODEL_SQL, DB_SF_READ | DB_SF_REPLICA },
	{ STMT_BILL_MODELS, BILL_MODELS_SQL, DB_SF_READ | DB_SF_REPLICA },
	{ STMT_BILL_USERS, BILL_USERS_SQL, DB_SF_READ | DB_SF_REPLICA },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

enum tg_err
q_usage_by_idem(struct db_conn *c, struct arena *a, int64_t user, int64_t key,
    const char *idem, struct replay_row *r)
{
	struct db_val p[3] = {DB_I64(user), DB_I64(key), DB_STR(idem)};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USAGE_BY_IDEM, p, 3, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_ENOENT;
	r->http_status = rows.v[0].i;
	r->type = q_str(&rows.v[1]);
	r->body = q_str(&rows.v[2]);
	r->len = r->body != NULL ? rows.v[2].len : 0;
	return TG_OK;
}

static void
usage_row(const struct db_val *v, struct usage_row *u)
{
	*u = (struct usage_row){
	    .id = v[0].i,
	    .request_id = q_str(&v[1]),
	    .created_at = q_str(&v[2]),
	    .endpoint = q_str(&v[3]),
	    .model = q_str(&v[4]),
	    .provider = q_str(&v[5]),
	    .key_pub = q_str(&v[6]),
	    .prompt = v[7].i,
	    .completion = v[8].i,
	    .cached = v[9].i,
	    .reasoning = v[10].i,
	    .base_cost = v[11].i,
	    .commission = v[12].i,
	    .charge = v[13].i,
	    .status = q_str(&v[14]),
	    .http_status = v[15].i,
	    .error = q_str(&v[16]),
	    .latency_ms = v[17].i,
	    .ttft_ms = q_i64(&v[18], -1),
	    .stream = (int)v[19].i,
	    .estimated = (int)v[20].i,
	    .api = q_str(&v[21]),
	    .cache_write = v[22].i,
	    .mode = q_str(&v[23]),
	};
}

enum tg_err
q_usage_list(struct db_conn *c, struct arena *a, const struct usage_query *q,
    struct usage_row **out, size_t *n)
{
	const char *mode = q->mode != NULL ? q->mode : "";
	struct db_val p[16] = {DB_I64(q->user_id), DB_I64(q->before_id),
	    DB_I64(q->before_id), DB_STR(q->from), DB_STR(q->from),
	    DB_STR(q->to), DB_STR(q->to), DB_I64(q->key_id), DB_I64(q->key_id),
	    DB_STR(q->model), DB_STR(q->model), DB_STR(q->status),
	    DB_STR(q->status), DB_STR(mode), DB_STR(mode), DB_I64(q->limit)};
	struct db_rows rows;
	struct usage_row *u;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USAGE_LIST, p, 16, &rows, a)) != TG_OK)
		return rc;
	if ((u = arena_calloc(a, rows.nrows + 1, sizeof(*u))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++)
		usage_row(&rows.v[i * rows.ncols], &u[i]);
	*out = u;
	*n = rows.nrows;
	return TG_OK;
}

/* A summary's condition values: FILTERS' order. */
static void
filter_params(const struct usage_query *q, struct db_val w[10])
{
	const char *mode = q->mode != NULL ? q->mode : "";

	w[0] = w[1] = DB_I64(q->user_id);
	w[2] = w[3] = DB_I64(q->key_id);
	w[4] = w[5] = DB_STR(q->model);
	w[6] = w[7] = DB_STR(q->status);
	w[8] = w[9] = DB_STR(mode);
}

enum tg_err
q_usage_summary(struct db_conn *c, struct arena *a, const struct usage_query *q,
    struct day_row **out, size_t *n)
{
	return q_usage_day_model(c, a, STMT_USAGE_SUMMARY, q, out, n);
}

enum tg_err
q_usage_day_model(struct db_conn *c, struct arena *a, unsigned stmt,
    const struct usage_query *q, struct day_row **out, size_t *n)
{
	struct db_val w[10], p[3 * 10 + 8 + 1];
	struct rollup_span span;
	const struct db_val *v;
	struct db_rows rows;
	struct day_row *d;
	size_t i, np;
	enum tg_err rc;

	filter_params(q, w);
	rollup_span(q->from, q->to, &span);
	np = rollup_params(p, w, 10, &span);
	p[np++] = DB_I64(q->limit);
	if ((rc = db_exec(c, stmt, p, np, &rows, a)) != TG_OK)
		return rc;
	if ((d = arena_calloc(a, rows.nrows + 1, sizeof(*d))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		d[i] = (struct day_row){q_str(&v[0]), q_str(&v[1]), v[2].i,
		    v[3].i, v[4].i, v[5].i, v[6].i, v[7].i, v[8].i};
	}
	*out = d;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_usage_totals(
    struct db_conn *c, struct arena *a, int64_t user, struct usage_totals *t)
{
	struct db_val p[2] = {DB_I64(user), DB_I64(user)};
	struct db_rows rows, top;
	const struct db_val *v;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USAGE_METRICS, p, 2, &rows, a)) != TG_OK ||
	    (rc = db_exec(c, STMT_USAGE_TOP_MODEL, p, 2, &top, a)) != TG_OK)
		return rc;
	v = rows.v;
	*t = (struct usage_totals){
	    .requests = v[0].i,
	    .tokens = v[1].i,
	    .cost = v[2].i,
	    .requests_today = v[3].i,
	    .tokens_today = v[4].i,
	    .cost_today = v[5].i,
	    .requests_month = v[6].i,
	    .tokens_month = v[7].i,
	    .cost_month = v[8].i,
	    .last = q_str(&v[9]),
	    .top_model = top.nrows > 0 ? top.v[0].s : NULL,
	};
	return TG_OK;
}

enum tg_err
q_usage_bill(struct db_conn *c, struct arena *a, int per_user,
    const struct usage_query *q, struct bill_row **out, size_t *n)
{
	struct db_val w[2] = {DB_I64(q->user_id), DB_I64(q->user_id)};
	struct db_val p[3 * 2 + 8];
	struct rollup_span span;
	const struct db_val *v;
	struct db_rows rows;
	struct bill_row *b;
	size_t i, np;
	enum tg_err rc;

	rollup_span(q->from, q->to, &span);
	np = rollup_params(p, w, 2, &span);
	if ((rc = db_exec(c, per_user ? STMT_BILL_USERS : STMT_BILL_MODELS, p,
		 np, &rows, a)) != TG_OK)
		return rc;
	if ((b = arena_calloc(a, rows.nrows + 1, sizeof(*b))) == NULL)
		return TG_ESYSTEM;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		b[i] = (struct bill_row){q_str(&v[0]), v[1].i, v[2].i, v[3].i,
		    v[4].i, v[5].i, v[6].i};
	}
	*out = b;
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_admin_monitor(struct db_conn *c, struct arena *a, struct monitor_row *m)
{
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ADMIN_MONITOR, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	v = rows.v;
	*m = (struct monitor_row){
	    v[0].i, v[1].i, v[2].i, v[3].i, v[4].i, v[5].i};
	return TG_OK;
}

enum tg_err
q_monitor_overrun(
    struct db_conn *c, struct arena *a, int64_t *count, int64_t *sum)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_MONITOR_OVERRUN, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	*count = rows.v[0].i;
	*sum = rows.v[1].i;
	return TG_OK;
}
