/* q_rollup.c: daily usage rollups: the housekeeper's statements and the readers' day span */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_rollup.h"
#include "store/q_row.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_rollup_stmts[] = {
	{ STMT_ROLLUP_MARK_LOCK, "SELECT last_id, seen_id, CAST(seen_at <= NOW(6) - INTERVAL ? SECOND AS SIGNED) FROM usage_rollup_mark WHERE id = 1 FOR UPDATE", DB_SF_HOT },
	/*
	 * A locking read of the source (REPEATABLE READ): a record of the
	 * range still uncommitted is waited for, never passed over.
	 */
	{ STMT_ROLLUP_FILL, "INSERT INTO usage_daily (day, user_id, model_id, api_key_id, mode, status, requests, prompt_tokens, completion_tokens, cached_tokens, base_cost, commission, charge, last_at) SELECT DATE(created_at), user_id, model_id, api_key_id, mode, status, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), SUM(base_cost), SUM(commission), SUM(charge), MAX(created_at) FROM usage_records WHERE id > ? AND id <= ? GROUP BY DATE(created_at), user_id, model_id, api_key_id, mode, status ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests), prompt_tokens = prompt_tokens + VALUES(prompt_tokens), completion_tokens = completion_tokens + VALUES(completion_tokens), cached_tokens = cached_tokens + VALUES(cached_tokens), base_cost = base_cost + VALUES(base_cost), commission = commission + VALUES(commission), charge = charge + VALUES(charge), last_at = GREATEST(last_at, VALUES(last_at))", DB_SF_HOT },
	{ STMT_ROLLUP_MAX_ID, "SELECT CAST(COALESCE(MAX(id), 0) AS SIGNED) FROM usage_records", DB_SF_READ },
	{ STMT_ROLLUP_MARK_SET, "UPDATE usage_rollup_mark SET last_id = ?, seen_id = ?, seen_at = IF(? = 1, NOW(6), seen_at) WHERE id = 1", DB_SF_HOT },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

#define FAR_PAST   "1000-01-01 00:00:00"
#define FAR_FUTURE "9999-12-31 00:00:00"

/* "YYYY-MM-DD HH:MM:SS" to seconds since the epoch; -1: not one. */
static time_t
span_epoch(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != ROLLUP_TIME_LEN - 1 ||
	    sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return (time_t)-1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static void
span_day(time_t t, char out[ROLLUP_TIME_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, ROLLUP_TIME_LEN, "%Y-%m-%d 00:00:00", &tm);
}

void
rollup_span(const char *from, const char *to, struct rollup_span *s)
{
	time_t f, t;

	snprintf(s->from, sizeof(s->from), "%s",
	    from != NULL && *from != '\0' ? from : FAR_PAST);
	snprintf(s->to, sizeof(s->to), "%s",
	    to != NULL && *to != '\0' ? to : FAR_FUTURE);
	f = span_epoch(s->from);
	t = span_epoch(s->to);
	/* A date the parser does not know (or no whole day): all raw. */
	if (f == (time_t)-1 || t == (time_t)-1 || f >= t)
		goto raw;
	span_day(f % 86400 == 0 ? f : f - f % 86400 + 86400, s->fa);
	span_day(t - ((t % 86400) + 86400) % 86400, s->fb);
	if (strcmp(s->fa, s->fb) < 0)
		return;
raw:
	memcpy(s->fa, s->to, sizeof(s->fa));
	memcpy(s->fb, s->to, sizeof(s->fb));
}

size_t
rollup_params(struct db_val *p, const struct db_val *w, size_t nw,
    const struct rollup_span *s)
{
	const char *dates[8] = {
	    s->fa, s->fb, s->fa, s->fb, s->from, s->fa, s->fb, s->to};
	size_t i, n = 0, di = 0;
	int b;

	for (b = 0; b < 3; b++) {
		for (i = 0; i < nw; i++)
			p[n++] = w[i];
		/* DB_STR names its argument twice: no side effect in it. */
		for (i = 0; i < (b < 2 ? 2u : 4u); i++, di++)
			p[n++] = DB_STR(dates[di]);
	}
	return n;
}

enum tg_err
q_rollup_mark_lock(
    struct db_conn *c, struct arena *a, int64_t lag_s, struct rollup_mark *m)
{
	struct db_val p = DB_I64(lag_s);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ROLLUP_MARK_LOCK, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_ENOENT;
	m->last_id = rows.v[0].i;
	m->seen_id = rows.v[1].i;
	m->ripe = rows.v[2].i != 0;
	return TG_OK;
}

enum tg_err
q_rollup_fill(struct db_conn *c, int64_t lo, int64_t hi)
{
	struct db_val p[2] = {DB_I64(lo), DB_I64(hi)};

	return db_exec(c, STMT_ROLLUP_FILL, p, 2, NULL, NULL);
}

enum tg_err
q_rollup_max_id(struct db_conn *c, struct arena *a, int64_t *out)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ROLLUP_MAX_ID, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	*out = rows.nrows > 0 ? rows.v[0].i : 0;
	return TG_OK;
}

enum tg_err
q_rollup_mark_set(
    struct db_conn *c, int64_t last_id, int64_t seen_id, int seen_now)
{
	struct db_val p[3] = {
	    DB_I64(last_id), DB_I64(seen_id), DB_I64(seen_now != 0)};

	return db_exec(c, STMT_ROLLUP_MARK_SET, p, 3, NULL, NULL);
}
