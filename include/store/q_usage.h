/* q_usage.h: typed queries on usage records, bills and the monitor */
/* SPDX-License-Identifier: MIT */
#ifndef Q_USAGE_H
#define Q_USAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* The answer kept for an Idempotency-Key; body NULL: none was kept. */
struct replay_row {
	int64_t http_status;
	const char *type; /* NULL: none stored */
	const char *body;
	size_t len;
};
/* TG_ENOENT when no request with this key has finished. */
enum tg_err q_usage_by_idem(struct db_conn *, struct arena *, int64_t user,
    int64_t key, const char *idem, struct replay_row *);

/* A listing's filters; strings "" and numbers 0 mean any. */
struct usage_query {
	int64_t user_id;
	int64_t before_id;
	const char *from, *to;
	int64_t key_id;
	const char *model;
	const char *status; /* ok, error, client_gone */
	int64_t limit;
	/* issue 18: testmode */
	const char *mode; /* live, test; "": both */
};
/* One usage record as listed; strings NULL: SQL NULL. */
struct usage_row {
	int64_t id;
	const char *request_id, *created_at, *endpoint, *model, *provider,
	    *key_pub;
	int64_t prompt, completion, cached, reasoning;
	int64_t base_cost, commission, charge;
	const char *status;
	int64_t http_status;
	const char *error;
	int64_t latency_ms;
	int64_t ttft_ms; /* -1: none */
	int stream, estimated;
	const char *api;     /* the API the client spoke */
	int64_t cache_write; /* prompt tokens written to a cache */
	/* issue 18: testmode */
	const char *mode; /* live, test (a gw_test_ key's: the sandbox paid) */
};
/* Records newest first, at most q->limit. */
enum tg_err q_usage_list(struct db_conn *, struct arena *,
    const struct usage_query *, struct usage_row **, size_t *n);

/* One day's use of one model (a summary's line). */
struct day_row {
	const char *day; /* "YYYY-MM-DD" (UTC) */
	const char *model;
	int64_t requests, prompt, completion, base_cost, commission, charge;
	int64_t refused; /* issue 18: refusals, not in requests */
};
/*
 * Per day and model in [from, to) (both required), oldest first, at most
 * q->limit lines: one GROUP BY, never a query per record.
 */
enum tg_err q_usage_summary(struct db_conn *, struct arena *,
    const struct usage_query *, struct day_row **, size_t *n);
/*
 * issue 19: scale: the same with statement stmt: STMT_USAGE_SUMMARY (SQL
 * q_usage_day_model_sql: user_id 0 is every user) or STMT_MONITOR_BY_DAY
 * (q_usage_system_day_sql: every user from usage_daily_model; the user and
 * key must be 0).
 */
enum tg_err q_usage_day_model(struct db_conn *, struct arena *, unsigned stmt,
    const struct usage_query *, struct day_row **, size_t *n);
extern const char q_usage_day_model_sql[];
extern const char q_usage_system_day_sql[];

/* A user's totals: all time, today and this month. */
struct usage_totals {
	int64_t requests, tokens, cost;
	int64_t requests_today, tokens_today, cost_today;
	int64_t requests_month, tokens_month, cost_month;
	const char *last;      /* "YYYY-MM-DDTHH:MM:SSZ"; NULL: none */
	const char *top_model; /* NULL: none */
};
enum tg_err q_usage_totals(
    struct db_conn *, struct arena *, int64_t user, struct usage_totals *);

/* One line of a bill: per model, or per user (user 0: every user). */
struct bill_row {
	const char *name; /* model id or user public id */
	int64_t requests, prompt, completion, base_cost, commission, charge;
};
enum tg_err q_usage_bill(struct db_conn *, struct arena *, int per_user,
    const struct usage_query *, struct bill_row **, size_t *n);

/* The operator's counts and sums across the node's users. */
struct monitor_row {
	int64_t users, active_users, keys, active_keys, balance, reserved;
};
enum tg_err q_admin_monitor(
    struct db_conn *, struct arena *, struct monitor_row *);
/* Charges past their hold in the last day: how many and how much. */
enum tg_err q_monitor_overrun(
    struct db_conn *, struct arena *, int64_t *count, int64_t *sum);

#endif
