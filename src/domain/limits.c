/* limits.c: rate limits shared by every process on a node: token buckets and in-flight caps */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/log.h"
#include "domain/limits.h"
#include "store/q_limit.h"
#include "io/shm.h"
#include "core/util.h"
#include "io/db.h"
#include "store/q_rule.h"
#include "domain/audit.h"
#include "domain/op.h"

/*
 * Each subject has one token bucket per limit, kept as "used": what it spent
 * and has not yet earned back.  A bucket refills at limit/period per second,
 * so a burst admits exactly the limit and the long-run rate is the limit per
 * period; a new subject starts with a full bucket (used = 0), and a changed
 * limit applies at once.  Everything sits behind one robust lock: a few
 * hundred nanoseconds per request, and a worker killed while holding it does
 * not wedge the others.
 */
#define RATE_VERSION 2
#define NENTRIES     8192 /* subjects a node tracks; the idlest make room */
#define NFLIGHTS     4096 /* requests in flight on a node */
#define PROBES	     32
#define NBUCKETS     6 /* RL_RPM .. RL_TPD */

struct entry {
	uint64_t key; /* 0: free */
	double last;  /* monotonic seconds of the last update */
	double used[NBUCKETS];
	int64_t inflight;
	/* global mode: this node's share of the database's fixed windows */
	int64_t gwin[NBUCKETS];
	double granted[NBUCKETS];
	double consumed[NBUCKETS];
};

struct flight {
	int32_t pid; /* 0: free */
	uint32_t n;
	uint64_t keys[RATE_MAX_SUBJECTS];
};

struct table {
	struct entry e[NENTRIES];
	struct flight f[NFLIGHTS];
};

struct rate {
	struct shm *shm;
	struct table *t;
	int shared;
};

/* clang-format off */
static const struct limit_def {
	const char *name;
	const char *alias;
	double period; /* seconds; 0: not a bucket */
} defs[RL__MAX] = {
	[RL_RPM]  = { "requests_per_minute", "rpm",	   60 },
	[RL_RPH]  = { "requests_per_hour",   "rph",	 3600 },
	[RL_RPD]  = { "requests_per_day",    "rpd",	86400 },
	[RL_TPM]  = { "tokens_per_minute",   "tpm",	   60 },
	[RL_TPH]  = { "tokens_per_hour",     "tph",	 3600 },
	[RL_TPD]  = { "tokens_per_day",	     "tpd",	86400 },
	[RL_CONC] = { "max_concurrent",	     "concurrent",  0 },
};
/* clang-format on */

struct rate *
rate_open(const char *path)
{
	struct rate *r;
	char err[256];

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if (path != NULL &&
	    (r->shm = shm_attach(path, RATE_VERSION, sizeof(struct table), err,
		 sizeof(err))) != NULL) {
		r->shared = 1;
	} else {
		if (path != NULL)
			log_msg(LOG_ERR,
			    "rate limits: %s; counting per process, so a "
			    "limit admits up to limit x workers",
			    err);
		if ((r->shm = shm_private(sizeof(struct table))) == NULL) {
			free(r);
			return NULL;
		}
	}
	r->t = shm_data(r->shm);
	return r;
}

void
rate_close(struct rate *r)
{
	if (r == NULL)
		return;
	shm_detach(r->shm);
	free(r);
}

int
rate_shared(const struct rate *r)
{
	return r->shared;
}

uint64_t
rate_key(char scope, int64_t id)
{
	/* FNV-1a of the scope and the id: never 0 (0 marks a free entry). */
	unsigned char b[9];
	uint64_t h;
	size_t i;

	b[0] = (unsigned char)scope;
	for (i = 0; i < 8; i++)
		b[1 + i] = (unsigned char)((uint64_t)id >> (8 * i));
	h = util_fnv1a(UTIL_FNV_SEED, b, sizeof(b));
	return h != 0 ? h : 1;
}

void
rate_set_min(struct rate_set *a, const struct rate_set *b)
{
	size_t i;

	for (i = 0; i < RL__MAX; i++)
		if (b->v[i] >= 0 && (a->v[i] < 0 || b->v[i] < a->v[i]))
			a->v[i] = b->v[i];
}

/* --- the table (lock held) ---------------------------------------------------------- */

static void
decay(struct entry *e, const struct rate_set *lim, double now)
{
	double dt = now - e->last;
	size_t i;

	if (dt < 0)
		dt = 0; /* a rebooted clock: keep what is there */
	for (i = 0; i < NBUCKETS; i++) {
		if (lim->v[i] < 0) {
			e->used[i] = 0;
			continue;
		}
		e->used[i] -= (double)lim->v[i] * dt / defs[i].period;
		if (e->used[i] < 0)
			e->used[i] = 0;
	}
	e->last = now;
}

static struct entry *
find(struct table *t, uint64_t key, int create)
{
	size_t i, at = (size_t)(key % NENTRIES), idx;
	struct entry *free_e = NULL, *stale = NULL;

	for (i = 0; i < PROBES; i++) {
		idx = (at + i) % NENTRIES;
		if (t->e[idx].key == key)
			return &t->e[idx];
		if (t->e[idx].key == 0) {
			if (free_e == NULL)
				free_e = &t->e[idx];
			break; /* never deleted: the key is not further on */
		}
		if (t->e[idx].inflight <= 0 &&
		    (stale == NULL || t->e[idx].last < stale->last))
			stale = &t->e[idx];
	}
	if (!create)
		return NULL;
	if (free_e == NULL)
		free_e = stale; /* the idlest gives way; its counts are lost */
	if (free_e == NULL)
		return NULL;
	memset(free_e, 0, sizeof(*free_e));
	free_e->key = key;
	return free_e;
}

/* Give back the in-flight counts of processes that died mid-request. */
static void
reap(struct table *t)
{
	struct entry *e;
	size_t i, j;

	for (i = 0; i < NFLIGHTS; i++) {
		if (t->f[i].pid == 0 || util_pid_alive(t->f[i].pid))
			continue;
		for (j = 0; j < t->f[i].n; j++)
			if ((e = find(t, t->f[i].keys[j], 0)) != NULL &&
			    e->inflight > 0)
				e->inflight--;
		t->f[i].pid = 0;
	}
}

static int
take_flight(struct table *t, const struct rate_subject *s, size_t n)
{
	size_t i, j;

	for (i = 0; i < NFLIGHTS; i++) {
		if (t->f[i].pid != 0)
			continue;
		t->f[i].pid = (int32_t)util_pid();
		t->f[i].n = (uint32_t)n;
		for (j = 0; j < n; j++)
			t->f[i].keys[j] = s[j].key;
		return (int)i;
	}
	return -1;
}

/* Ceiling of a non-negative amount (no libm for one function). */
static int64_t
ceil_s(double x)
{
	int64_t i;

	if (x <= 0)
		return 0;
	i = (int64_t)x;
	return (double)i < x ? i + 1 : i;
}

/* Note the limit closest to refusing, for the headers. */
static void
tightest(struct rate_verdict *v, enum rate_limit i, int64_t cap, double used)
{
	int64_t rem = cap - ceil_s(used);
	int64_t reset =
	    ceil_s(used * defs[i].period / (double)(cap > 0 ? cap : 1));
	int tok = i >= RL_TPM;

	if (rem < 0)
		rem = 0;
	if (!tok && (v->req_limit < 0 || rem < v->req_remaining)) {
		v->req_limit = cap;
		v->req_remaining = rem;
		v->req_reset = reset;
	} else if (tok && (v->tok_limit < 0 || rem < v->tok_remaining)) {
		v->tok_limit = cap;
		v->tok_remaining = rem;
		v->tok_reset = reset;
	}
}

/* An admission starts with nothing taken, no figures and its inputs bounded. */
static void
begin(
    struct rate_ticket *tk, struct rate_verdict *v, size_t *n, int64_t *tokens)
{
	memset(tk, 0, sizeof(*tk));
	memset(v, 0, sizeof(*v));
	tk->flight = -1;
	v->req_limit = v->tok_limit = -1;
	if (*n > RATE_MAX_SUBJECTS)
		*n = RATE_MAX_SUBJECTS;
	if (*tokens < 0)
		*tokens = 0;
}

void
rate_admit(struct rate *r, const struct rate_subject *s, size_t n,
    int64_t tokens, struct rate_ticket *tk, struct rate_verdict *v)
{
	struct table *t = r->t;
	struct entry *e[RATE_MAX_SUBJECTS];
	double now = util_now(), need, wait;
	size_t j, i;
	int reaped = 0;

	begin(tk, v, &n, &tokens);
	shm_lock(r->shm);
again:
	for (j = 0; j < n; j++) {
		e[j] = find(t, s[j].key, 1);
		if (e[j] != NULL)
			decay(e[j], &s[j].lim, now);
	}
	for (j = 0; j < n; j++) {
		if (e[j] == NULL)
			continue; /* the table is full: this subject goes uncounted */
		for (i = 0; i < RL__MAX; i++) {
			if (s[j].lim.v[i] < 0)
				continue;
			if (i == RL_CONC) {
				if (e[j]->inflight + 1 <= s[j].lim.v[i])
					continue;
				if (!reaped) {
					reaped = 1;
					reap(t);
					goto again;
				}
				wait = 1;
			} else {
				need = i >= RL_TPM ? (double)tokens : 1;
				if (e[j]->used[i] + need <=
				    (double)s[j].lim.v[i])
					continue;
				/* Earned back at limit/period per second. */
				wait = (e[j]->used[i] + need -
					   (double)s[j].lim.v[i]) *
				    defs[i].period /
				    (double)(s[j].lim.v[i] > 0 ? s[j].lim.v[i]
							       : 1);
				if (need > (double)s[j].lim.v[i])
					wait = defs[i].period; /* never fits */
			}
			v->ok = 0;
			v->what = s[j].what;
			v->hit = (enum rate_limit)i;
			v->hit_limit = s[j].lim.v[i];
			v->retry_after = ceil_s(wait) > 0 ? ceil_s(wait) : 1;
			goto figures;
		}
	}
	v->ok = 1;
	for (j = 0; j < n; j++) {
		if (e[j] == NULL)
			continue;
		for (i = 0; i < NBUCKETS; i++)
			if (s[j].lim.v[i] >= 0)
				e[j]->used[i] +=
				    i >= RL_TPM ? (double)tokens : 1;
		e[j]->inflight++;
	}
	tk->flight = take_flight(t, s, n);
	tk->taken = 1;
	tk->n = n;
	tk->tokens = tokens;
	for (j = 0; j < n; j++) {
		tk->keys[j] = s[j].key;
		tk->lim[j] = s[j].lim;
	}
figures:
	for (j = 0; j < n; j++)
		for (i = 0; e[j] != NULL && i < NBUCKETS; i++)
			if (s[j].lim.v[i] >= 0)
				tightest(v, (enum rate_limit)i, s[j].lim.v[i],
				    e[j]->used[i]);
	shm_unlock(r->shm);
}

/* --- global mode ---------------------------------------------------------------------- */

static void
roll_global(struct entry *e, size_t i, int64_t w)
{
	if (e->gwin[i] != w) {
		e->gwin[i] = w;
		e->granted[i] = e->consumed[i] = 0;
	}
}

/* The share of a limit one database round trip takes: chunk_pct of it, at least 1. */
static int64_t
chunk_of(int64_t lim, unsigned pct)
{
	int64_t c = lim * (int64_t)pct / 100;

	return c < 1 ? 1 : c;
}

/* What this node lacks of each global limit (want), found under the lock. */
static void
global_wants(struct rate *r, const struct rate_subject *s, size_t n,
    int64_t tokens, unsigned chunk_pct, const int64_t w[NBUCKETS],
    int64_t want[][NBUCKETS])
{
	struct entry *e;
	int64_t need;
	size_t j, i;

	shm_lock(r->shm);
	for (j = 0; j < n; j++) {
		if ((e = find(r->t, s[j].key, 1)) == NULL)
			continue;
		for (i = 0; i < NBUCKETS; i++) {
			if (s[j].lim.v[i] < 0)
				continue;
			roll_global(e, i, w[i]);
			need = i >= RL_TPM ? tokens : 1;
			if (e->consumed[i] + (double)need <= e->granted[i])
				continue;
			want[j][i] = chunk_of(s[j].lim.v[i], chunk_pct);
			if (want[j][i] < need)
				want[j][i] = need;
		}
	}
	shm_unlock(r->shm);
}

/* Fetch the shares from the database, without the lock: want becomes got. */
static void
global_fetch(const struct rate_subject *s, size_t n, int64_t tokens,
    const struct rate_take *take, const int64_t w[NBUCKETS],
    int64_t want[][NBUCKETS])
{
	int64_t got, need;
	size_t j, i;

	for (j = 0; j < n; j++)
		for (i = 0; i < NBUCKETS; i++) {
			if (want[j][i] == 0)
				continue;
			need = i >= RL_TPM ? tokens : 1;
			got = take->fn(take->arg, s[j].key, (int)i, w[i],
			    want[j][i], s[j].lim.v[i]);
			/* Near the end of a window a whole share may not fit. */
			if (got <= 0 && want[j][i] > need)
				got = take->fn(take->arg, s[j].key, (int)i,
				    w[i], need, s[j].lim.v[i]);
			want[j][i] = got > 0 ? got : 0;
		}
}

/* The first limit the request does not fit, into v (under the lock). */
static void
global_judge(struct table *t, const struct rate_subject *s, size_t n,
    int64_t tokens, const int64_t w[NBUCKETS], double now,
    struct rate_verdict *v)
{
	struct entry *e;
	int64_t need;
	size_t j, i;

	v->ok = 1;
	for (j = 0; j < n && v->ok; j++) {
		if ((e = find(t, s[j].key, 1)) == NULL)
			continue;
		for (i = 0; i < RL__MAX; i++) {
			if (s[j].lim.v[i] < 0)
				continue;
			if (i == RL_CONC) {
				if (e->inflight + 1 <= s[j].lim.v[i])
					continue;
				reap(t);
				if (e->inflight + 1 <= s[j].lim.v[i])
					continue;
				v->retry_after = 1;
			} else {
				roll_global(e, i, w[i]);
				need = i >= RL_TPM ? tokens : 1;
				if (e->consumed[i] + (double)need <=
				    e->granted[i])
					continue;
				/* The database has no more in this window. */
				v->retry_after = (int64_t)((double)(w[i] + 1) *
							 defs[i].period -
						     now) +
				    1;
			}
			v->ok = 0;
			v->what = s[j].what;
			v->hit = (enum rate_limit)i;
			v->hit_limit = s[j].lim.v[i];
			break;
		}
	}
}

/* Count an admitted request and fill its ticket (under the lock). */
static void
global_count(struct table *t, const struct rate_subject *s, size_t n,
    int64_t tokens, const int64_t w[NBUCKETS], struct rate_ticket *tk)
{
	struct entry *e;
	size_t j, i;

	for (j = 0; j < n; j++) {
		if ((e = find(t, s[j].key, 1)) == NULL)
			continue;
		for (i = 0; i < NBUCKETS; i++)
			if (s[j].lim.v[i] >= 0)
				e->consumed[i] +=
				    i >= RL_TPM ? (double)tokens : 1;
		e->inflight++;
		tk->keys[j] = s[j].key;
		tk->lim[j] = s[j].lim;
	}
	tk->flight = take_flight(t, s, n);
	tk->taken = 1;
	tk->global = 1;
	tk->n = n;
	tk->tokens = tokens;
	for (i = 0; i < NBUCKETS; i++)
		tk->win[i] = w[i];
}

void
rate_admit_global(struct rate *r, const struct rate_subject *s, size_t n,
    int64_t tokens, const struct rate_take *take, struct rate_ticket *tk,
    struct rate_verdict *v)
{
	struct table *t = r->t;
	struct entry *e;
	int64_t want[RATE_MAX_SUBJECTS][NBUCKETS], w[NBUCKETS];
	double now = util_wall();
	size_t j, i;

	begin(tk, v, &n, &tokens);
	memset(want, 0, sizeof(want));
	for (i = 0; i < NBUCKETS; i++)
		w[i] = (int64_t)(now / defs[i].period);
	global_wants(r, s, n, tokens, take->chunk_pct, w, want);
	global_fetch(s, n, tokens, take, w, want);
	shm_lock(r->shm);
	for (j = 0; j < n; j++) {
		if ((e = find(t, s[j].key, 1)) == NULL)
			continue;
		for (i = 0; i < NBUCKETS; i++)
			if (want[j][i] > 0) {
				roll_global(e, i, w[i]);
				e->granted[i] += (double)want[j][i];
			}
	}
	global_judge(t, s, n, tokens, w, now, v);
	if (v->ok)
		global_count(t, s, n, tokens, w, tk);
	shm_unlock(r->shm);
}

int64_t
rate_take_db(void *arg, uint64_t subject, int lim, int64_t win, int64_t amount,
    int64_t cap)
{
	struct rate_db *d = arg;
	int taken;

	if (amount > cap)
		return 0;
	if (q_rate_take(d->c, d->a, subject, lim, win, amount, cap, &taken) !=
	    TG_OK)
		return 0; /* the database decides nothing: refuse */
	return taken ? amount : 0;
}

void
rate_prune(struct db_conn *c, struct arena *a, int64_t now)
{
	size_t i;

	/* Windows before the previous one are history. */
	for (i = 0; i < NBUCKETS; i++)
		q_rate_prune(c, a, (int)i, now / (int64_t)defs[i].period - 1);
}

void
rate_settle(struct rate *r, struct rate_ticket *tk, int64_t real_tokens)
{
	struct table *t;
	struct entry *e;
	double now = util_now(), back;
	size_t j, i;

	if (r == NULL || !tk->taken)
		return;
	t = r->t;
	if (real_tokens < 0)
		real_tokens = 0;
	back = (double)(tk->tokens - real_tokens);
	shm_lock(r->shm);
	for (j = 0; j < tk->n; j++) {
		if ((e = find(t, tk->keys[j], 0)) == NULL)
			continue;
		if (!tk->global)
			decay(e, &tk->lim[j], now);
		/* The hold guessed high (or low): count what was really used. */
		for (i = RL_TPM; i < NBUCKETS; i++) {
			if (tk->lim[j].v[i] < 0)
				continue;
			if (tk->global) {
				/* This node may reuse what it took and did not use. */
				if (e->gwin[i] == tk->win[i]) {
					e->consumed[i] -= back;
					if (e->consumed[i] < 0)
						e->consumed[i] = 0;
				}
				continue;
			}
			e->used[i] -= back;
			if (e->used[i] < 0)
				e->used[i] = 0;
		}
		if (e->inflight > 0)
			e->inflight--;
	}
	if (tk->flight >= 0 && tk->flight < NFLIGHTS)
		t->f[tk->flight].pid = 0;
	shm_unlock(r->shm);
	tk->taken = 0;
}

void
rate_usage(struct rate *r, uint64_t key, const struct rate_set *lim,
    struct rate_set *used)
{
	struct entry *e;
	size_t i;

	rate_set_none(used);
	shm_lock(r->shm);
	if ((e = find(r->t, key, 0)) != NULL) {
		decay(e, lim, util_now());
		for (i = 0; i < NBUCKETS; i++)
			used->v[i] = lim->v[i] >= 0 ? ceil_s(e->used[i]) : 0;
		used->v[RL_CONC] = e->inflight;
	} else {
		for (i = 0; i < RL__MAX; i++)
			used->v[i] = 0;
	}
	shm_unlock(r->shm);
}

/*
 * Limit rules (rate_limit_rules): what an operator sets per user, per key and
 * per key and model, and the rules in force for a request.
 */

static const char *const rule_names[] = {
    "requests_per_minute",
    "requests_per_hour",
    "requests_per_day",
    "tokens_per_minute",
    "tokens_per_hour",
    "tokens_per_day",
    "max_concurrent",
};
#define NRULES (sizeof(rule_names) / sizeof(rule_names[0]))
_Static_assert(NRULES == Q_LIMITS && NRULES == RL__MAX,
    "the limits of a rule, the store and the counters agree");

/* A rate_limits object; lim NULL: no rule (every limit null). */
static json_t *
rule_json(const int64_t *lim)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < NRULES; i++)
		json_object_set_new(o, rule_names[i],
		    lim != NULL && lim[i] >= 0 ? json_integer(lim[i])
					       : json_null());
	return o;
}

enum tg_err
limits_get(struct db_conn *c, struct op *op, int64_t user_id, int64_t key_id,
    const char *model, json_t **out)
{
	struct limit_rule r;
	enum tg_err rc;

	rc = q_rule_get(
	    c, op->arena, user_id, key_id, model != NULL ? model : "", &r);
	if (rc != TG_OK && rc != TG_ENOENT)
		return rc;
	*out = rule_json(rc == TG_OK ? r.lim : NULL);
	arena_defer_json(op->arena, *out);
	return TG_OK;
}

enum tg_err
limits_of_keys(struct db_conn *c, struct op *op, int64_t user_id, json_t **out)
{
	struct limit_rule *r;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_rule_list_keys(c, op->arena, user_id, &r, &n)) != TG_OK)
		return rc;
	*out = json_array();
	arena_defer_json(op->arena, *out);
	for (i = 0; i < n; i++)
		json_array_append_new(*out,
		    json_pack("{s:s, s:s?, s:o}", "key_id", r[i].key_pub,
			"model", *r[i].model != '\0' ? r[i].model : NULL,
			"rate_limits", rule_json(r[i].lim)));
	return TG_OK;
}

enum tg_err
limits_set(struct db_conn *c, struct op *op, int64_t user_id, int64_t key_id,
    const char *model, const char *target, const json_t *limits, json_t **out)
{
	int64_t lim[NRULES];
	json_t *before, *v;
	size_t i;
	enum tg_err rc;

	if (model == NULL)
		model = "";
	for (i = 0; i < NRULES; i++) {
		v = json_object_get(limits, rule_names[i]);
		lim[i] = json_is_integer(v) ? json_integer_value(v) : -1;
	}
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	if ((rc = limits_get(c, op, user_id, key_id, model, &before)) != TG_OK)
		goto fail;
	if ((rc = q_rule_set(c, op->arena, user_id, key_id, model, lim)) !=
	    TG_OK)
		goto fail;
	if ((rc = limits_get(c, op, user_id, key_id, model, out)) != TG_OK)
		goto fail;
	if (*model != '\0')
		target = arena_printf(op->arena, "%s %s", target, model);
	if ((rc = audit_commit(c, op->arena, op, "limits.set",
		 key_id != 0 ? "api_key" : "user", target, before, *out)) !=
	    TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

const char *const *
limits_names(size_t *n)
{
	*n = NRULES;
	return rule_names;
}

enum tg_err
limits_in_force(struct db_conn *c, struct op *op, int64_t user_id,
    int64_t key_id, const char *model, const char *group, struct rate_set *user,
    struct rate_set *key, struct rate_set *key_model, int *has_model)
{
	struct rate_set *dst;
	struct limit_rule *r;
	size_t i, j, n;
	enum tg_err rc;

	*user = *conf_group_limits(op->conf, group);
	rate_set_none(key);
	rate_set_none(key_model);
	*has_model = 0;
	if ((rc = q_rule_in_force(c, op->arena, user_id, key_id,
		 model != NULL ? model : "", &r, &n)) != TG_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (r[i].key_id == 0) {
			dst = user;
		} else if (*r[i].model == '\0') {
			dst = key;
		} else {
			dst = key_model;
			*has_model = 1;
		}
		for (j = 0; j < RL__MAX; j++)
			dst->v[j] = r[i].lim[j];
	}
	return TG_OK;
}
