/* usage.h: usage records: one per metered request; listings, totals and bills */
/* SPDX-License-Identifier: MIT */
#ifndef USAGE_H
#define USAGE_H

#include <stdint.h>
#include <jansson.h>

#include "domain/pricing.h"
#include "domain/ledger.h"
#include "core/tollgate.h"

struct db_conn;
struct arena;

enum usage_status { US_OK = 0, US_ERROR, US_CLIENT_GONE, US_REFUSED };
/* usage_records.charge_basis: how the charge was computed. */
enum usage_basis { UB_MEASURED = 0, UB_ESTIMATED, UB_HOLD };

/* Everything a usage record holds; strings borrowed. */
struct usage_rec {
	const char *request_id;
	const char *client_request_id; /* NULL if none */
	int64_t user_id;
	int64_t key_id;
	const unsigned char *hold_id; /* HOLD_ID_LEN or NULL */
	const char *endpoint;	      /* chat, completions, embeddings */
	/* the API the client spoke: chat, messages, responses, gemini...; NULL:
	 * the endpoint's */
	const char *api;
	const char *model;
	const char *provider; /* NULL when none was reached */
	int64_t upstream_key_id;
	const char *upstream_model;
	struct token_counts u;
	struct prices p;
	unsigned commission_bp;
	struct cost cost; /* charge is replaced by what settling charged */
	int64_t overrun;  /* charged past the hold (nano-USD) */
	enum usage_status status;
	int http_status;
	const char *error;
	int64_t latency_ms;
	int64_t ttft_ms; /* < 0: none */
	int stream;
	int estimated; /* basis == UB_ESTIMATED */
	enum usage_basis basis;
	int attempts;
	const char *idem_key;
	const char *response; /* kept for replays when idem_key is set */
	size_t response_len;
	const char *response_type;
};

/*
 * The record as the columns ledger_settle_usage stores, charged being the
 * amount charged.
 */
void usage_params(const struct usage_rec *, int64_t charged,
    struct db_val p[LEDGER_USAGE_COLS]);

struct journal;
/*
 * issue 18: a metered request refused before any upstream call (a rate
 * limit's 429, a 402 for want of credit) as a usage record with status
 * refused, charge 0, at wall-clock time at: a line of the journal, written
 * out in its batches (no statement here).  TG_ESYSTEM when it is lost.
 */
enum tg_err usage_refused(
    struct journal *, const struct usage_rec *, double at);

/* A finished request with this Idempotency-Key, for a replay. */
struct usage_replay {
	int http_status;
	const char *type;
	const char *body;
	size_t len;
};
/*
 * The user's (user_id, key_id: 0 for a session) finished request with this
 * Idempotency-Key; TG_ENOENT when none has finished.
 */
enum tg_err usage_by_idem(struct db_conn *, struct arena *, int64_t user_id,
    int64_t key_id, const char *idem, struct usage_replay *out);

/* Filters of a listing; NULL/0 = any. */
struct usage_filter {
	int64_t user_id;  /* 0: every user (admin bill) */
	const char *from; /* "YYYY-MM-DD[THH:MM:SSZ]" */
	const char *to;
	int64_t key_id;
	const char *model;
	const char *status; /* "ok", "error", "client_gone"; NULL: any */
	int64_t before_id;  /* cursor: records older than this id */
	int64_t limit;
	/* issue 18: testmode */
	const char *mode; /* "live", "test"; NULL: both */
};
/* Records newest first; *next = id for the next page, 0 at the end. */
enum tg_err usage_list(struct db_conn *, struct arena *,
    const struct usage_filter *, json_t **data, int64_t *next);
/* The status filter's values, NULL-terminated. */
extern const char *const usage_status_names[];
/*
 * Totals and per-day, per-model lines of the user's records in [from, to)
 * (both required); the JSON of GET /user/usage/summary less its range.
 */
enum tg_err usage_summary(struct db_conn *, struct arena *,
    const struct usage_filter *, json_t **out);
/*
 * Every user's records in [f->from, f->to) (both required; no other filter)
 * for the operator's monitor: {totals, by_day:[{day, requests, tokens,
 * cost}], by_model:[{model, ...}], by_day_model:[{day, model, ...}]}, from
 * one GROUP BY.
 */
enum tg_err usage_system_summary(struct db_conn *, struct arena *,
    const struct usage_filter *, json_t **out);
/* The monitor's usage_metrics object for a user. */
enum tg_err usage_metrics(
    struct db_conn *, struct arena *, int64_t user_id, json_t **out);
/* Base, commission and charge per model (user_id) or per user (0). */
enum tg_err usage_bill(struct db_conn *, struct arena *,
    const struct usage_filter *, json_t **out);

#endif
