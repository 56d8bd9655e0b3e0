/* metrics.c: the node's counters for GET /metrics and `tollgate status`, in shared memory */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "domain/inflight.h"
#include "domain/journal.h"
#include "domain/lease.h"
#include "domain/metrics.h"
#include "io/shm.h"
#include "store/q_ledger.h"

#define METRICS_VERSION 2 /* 2: holds batched (issue 20) */

#define ADD(p, n) __atomic_add_fetch((p), (n), __ATOMIC_RELAXED)
#define GET(p)	  __atomic_load_n((p), __ATOMIC_RELAXED)
#define SET(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

const double metrics_bounds[METRICS_BUCKETS] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

struct name {
	uint32_t ready; /* set once name is written, never cleared */
	char name[METRICS_NAME];
};

struct hist {
	uint64_t b[METRICS_BUCKETS + 1]; /* per bucket, not cumulative */
	uint64_t n, us;
};

struct prov {
	uint64_t outcome[MO_N];
	struct hist lat;
	double open_until; /* wall: the provider's keys all rest */
};

/* A process's own figures: gauges while it lives, counters for good. */
struct proc {
	int32_t pid; /* 0: free */
	uint32_t busy;
	uint64_t served, in_use, size, stmts, stmts_bg, hits, misses;
	uint64_t hold_batches, holds_batched; /* issue 20: holdq.h */
	int64_t journal; /* its journal's bytes not yet written out */
};

struct page {
	struct metrics_master m;
	uint64_t restarts;
	uint64_t cell_key[METRICS_CELLS]; /* 0: free */
	uint64_t cell_n[METRICS_CELLS];
	uint64_t cells_lost; /* the table was full */
	struct name model[METRICS_MODELS];
	struct name pname[METRICS_PROVIDERS];
	struct prov prov[METRICS_PROVIDERS + 1]; /* last: "other" */
	struct hist ttft;
	uint64_t tokens[4], charged, rate_limited;
	int64_t holds_open, holds_past_ttl, journal_bytes, leases_open;
	uint64_t node_ms; /* wall ms of the housekeeper's last figures */
	struct proc proc[METRICS_PROCS];
	/* The counters of processes gone, whose slots were taken again. */
	uint64_t gone_served, gone_stmts, gone_stmts_bg, gone_hits, gone_misses;
	uint64_t gone_hold_batches, gone_holds_batched;
};

static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static struct shm *region;
static struct page *pg;
static char dir[4096];
static struct proc *me;
static pid_t me_pid;

int
metrics_open(const char *run_dir)
{
	char path[4200], err[256];

	if (run_dir == NULL)
		return -1;
	pthread_mutex_lock(&open_mu);
	if (region == NULL) {
		snprintf(
		    path, sizeof(path), "%s/tollgate-metrics.shm", run_dir);
		region = shm_attach(path, METRICS_VERSION, sizeof(struct page),
		    err, sizeof(err));
		if (region == NULL)
			log_msg(LOG_WARN, "no metrics: %s", err);
		else {
			snprintf(dir, sizeof(dir), "%s", run_dir);
			__atomic_store_n(
			    &pg, shm_data(region), __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&open_mu);
	return region != NULL ? 0 : -1;
}

static struct page *
page(void)
{
	return __atomic_load_n(&pg, __ATOMIC_ACQUIRE);
}

/* The slot of name in t (n long), claimed if new; n when it does not fit. */
static size_t
name_slot(struct name *t, size_t n, const char *name)
{
	size_t i, len = strlen(name);

	if (len >= METRICS_NAME)
		return n;
	for (i = 0; i < n && __atomic_load_n(&t[i].ready, __ATOMIC_ACQUIRE);
	     i++)
		if (strcmp(t[i].name, name) == 0)
			return i;
	if (i == n)
		return n;
	shm_lock(region);
	for (i = 0; i < n && t[i].ready; i++)
		if (strcmp(t[i].name, name) == 0)
			break;
	if (i < n && !t[i].ready) {
		memcpy(t[i].name, name, len + 1);
		__atomic_store_n(&t[i].ready, 1, __ATOMIC_RELEASE);
	}
	shm_unlock(region);
	return i;
}

static void
observe(struct hist *h, double s)
{
	size_t i;

	if (s < 0)
		s = 0;
	for (i = 0; i < METRICS_BUCKETS && s > metrics_bounds[i]; i++)
		;
	ADD(&h->b[i], 1);
	ADD(&h->us, (uint64_t)(s * 1e6));
	ADD(&h->n, 1);
}

void
metrics_request(int route, int status, const char *model)
{
	struct page *p = page();
	uint64_t key, want = 0;
	size_t m, i, h;

	if (p == NULL)
		return;
	m = model == NULL || *model == '\0'
	    ? 0
	    : 1 + name_slot(p->model, METRICS_MODELS, model);
	if (status < 0 || status > 999)
		status = 0;
	key = (uint64_t)1 << 63 | (uint64_t)(route + 1) << 32 |
	    (uint64_t)status << 8 | m;
	h = (size_t)util_fnv1a(UTIL_FNV_SEED, &key, sizeof(key));
	for (i = 0; i < METRICS_CELLS; i++) {
		size_t c = (h + i) % METRICS_CELLS;
		uint64_t k = GET(&p->cell_key[c]);

		want = 0;
		if (k == 0 &&
		    __atomic_compare_exchange_n(&p->cell_key[c], &want, key, 0,
			__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			k = key;
		else if (k == 0)
			k = want; /* someone else took it first */
		if (k == key) {
			ADD(&p->cell_n[c], 1);
			return;
		}
	}
	ADD(&p->cells_lost, 1);
}

static struct prov *
prov_of(struct page *p, const char *provider)
{
	return &p->prov[name_slot(
	    p->pname, METRICS_PROVIDERS, provider != NULL ? provider : "")];
}

void
metrics_upstream(const char *provider, enum metrics_outcome o, double seconds)
{
	struct page *p = page();
	struct prov *v;

	if (p == NULL || o >= MO_N)
		return;
	v = prov_of(p, provider);
	ADD(&v->outcome[o], 1);
	observe(&v->lat, seconds);
}

void
metrics_circuit(const char *provider, double until)
{
	struct page *p = page();
	struct prov *v;

	if (p == NULL)
		return;
	v = prov_of(p, provider);
	/* One writer at a time is not needed: the last word wins. */
	if (until == 0 && v->open_until == 0)
		return;
	v->open_until = until;
}

void
metrics_ttft(double seconds)
{
	struct page *p = page();

	if (p != NULL)
		observe(&p->ttft, seconds);
}

void
metrics_tokens(const int64_t tokens[4], int64_t charged_nano)
{
	struct page *p = page();
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < 4; i++)
		if (tokens[i] > 0)
			ADD(&p->tokens[i], (uint64_t)tokens[i]);
	if (charged_nano > 0)
		ADD(&p->charged, (uint64_t)charged_nano);
}

void
metrics_rate_limited(void)
{
	struct page *p = page();

	if (p != NULL)
		ADD(&p->rate_limited, 1);
}

static int
alive(int32_t pid)
{
	return util_pid_alive(pid);
}

/* Keep a dead process's counters before its slot is taken again. */
static void
retire(struct page *p, struct proc *s)
{
	p->gone_served += s->served;
	p->gone_stmts += s->stmts;
	p->gone_stmts_bg += s->stmts_bg;
	p->gone_hits += s->hits;
	p->gone_misses += s->misses;
	p->gone_hold_batches += s->hold_batches;
	p->gone_holds_batched += s->holds_batched;
	memset(s, 0, sizeof(*s));
}

/* This process's slot, claimed on first use (a forked child takes its own). */
static struct proc *
mine(struct page *p)
{
	pid_t pid = (pid_t)util_pid();
	size_t i;

	if (__atomic_load_n(&me_pid, __ATOMIC_ACQUIRE) == pid)
		return me;
	pthread_mutex_lock(&open_mu);
	if (me_pid != pid) {
		me = NULL;
		shm_lock(region);
		for (i = 0; i < METRICS_PROCS && me == NULL; i++) {
			if (p->proc[i].pid != 0 && alive(p->proc[i].pid))
				continue;
			retire(p, &p->proc[i]);
			p->proc[i].pid = (int32_t)pid;
			me = &p->proc[i];
		}
		shm_unlock(region);
		__atomic_store_n(&me_pid, pid, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&open_mu);
	return me;
}

void
metrics_busy(int delta)
{
	struct page *p = page();
	struct proc *s;

	if (p == NULL || (s = mine(p)) == NULL)
		return;
	ADD(&s->busy, (uint32_t)delta);
	if (delta < 0)
		ADD(&s->served, 1);
}

void
metrics_db(unsigned in_use, unsigned size, uint64_t stmts, uint64_t stmts_bg,
    uint64_t cache_hits, uint64_t cache_misses)
{
	struct page *p = page();
	struct proc *s;

	if (p == NULL || (s = mine(p)) == NULL)
		return;
	SET(&s->in_use, in_use);
	SET(&s->size, size);
	SET(&s->stmts, stmts);
	SET(&s->stmts_bg, stmts_bg);
	SET(&s->hits, cache_hits);
	SET(&s->misses, cache_misses);
}

void
metrics_holdq(uint64_t batches, uint64_t batched)
{
	struct page *p = page();
	struct proc *s;

	if (p == NULL || (s = mine(p)) == NULL)
		return;
	SET(&s->hold_batches, batches);
	SET(&s->holds_batched, batched);
}

void
metrics_node(int64_t holds_open, int64_t holds_past_ttl, int64_t journal_bytes,
    int64_t leases_open)
{
	struct page *p = page();

	if (p == NULL)
		return;
	if (holds_open >= 0)
		SET(&p->holds_open, holds_open);
	if (holds_past_ttl >= 0)
		SET(&p->holds_past_ttl, holds_past_ttl);
	if (journal_bytes >= 0)
		SET(&p->journal_bytes, journal_bytes);
	if (leases_open >= 0)
		SET(&p->leases_open, leases_open);
}

int
metrics_node_due(double secs)
{
	struct page *p = page();
	uint64_t now = (uint64_t)(util_wall() * 1000), last;

	if (p == NULL)
		return 0;
	last = GET(&p->node_ms);
	if (now - last < (uint64_t)(secs * 1000) && now >= last)
		return 0;
	/* One process of the node takes the turn. */
	return __atomic_compare_exchange_n(
	    &p->node_ms, &last, now, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

/*
 * Seconds between the node's figures that take a statement (holds past
 * their TTL: what the sweeper is for, so a slow gauge is enough).
 */
#define NODE_EVERY_S 30

void
metrics_housekeep(struct db_conn *c, struct arena *a,
    struct lease_table *leases, struct journal *j)
{
	struct page *p = page();
	struct proc *s;
	int64_t open = -1, past = -1;

	if (p == NULL)
		return;
	if ((s = mine(p)) != NULL)
		SET(&s->journal, journal_backlog(j));
	if (leases != NULL)
		metrics_node(-1, -1, -1, (int64_t)lease_count(leases));
	/* One process of the node takes the turn: one statement each 30 s. */
	if (c == NULL || !metrics_node_due(NODE_EVERY_S))
		return;
	/*
	 * Only the count past TTL is kept: holds_open is the node's own, from
	 * the in-flight table at scrape time.
	 */
	if (q_holds_gauge(c, a, &open, &past) == TG_OK)
		metrics_node(-1, past, -1, -1);
}

void
metrics_master_set(const struct metrics_master *m)
{
	struct page *p = page();

	if (p == NULL)
		return;
	shm_lock(region);
	p->m = *m;
	shm_unlock(region);
}

void
metrics_restart(void)
{
	struct page *p = page();

	if (p != NULL)
		ADD(&p->restarts, 1);
}

static void
copy_hist(const struct hist *h, uint64_t *b, uint64_t *n, uint64_t *us)
{
	size_t i;

	for (i = 0; i <= METRICS_BUCKETS; i++)
		b[i] = GET(&h->b[i]);
	*n = GET(&h->n);
	*us = GET(&h->us);
}

static void
snap_procs(struct page *p, struct metrics_snap *s)
{
	const struct proc *q;
	size_t i;

	s->served = p->gone_served;
	s->stmts = p->gone_stmts;
	s->stmts_bg = p->gone_stmts_bg;
	s->hits = p->gone_hits;
	s->misses = p->gone_misses;
	s->hold_batches = p->gone_hold_batches;
	s->holds_batched = p->gone_holds_batched;
	for (i = 0; i < METRICS_PROCS; i++) {
		q = &p->proc[i];
		if (q->pid == 0)
			continue;
		s->served += GET(&q->served);
		s->stmts += GET(&q->stmts);
		s->stmts_bg += GET(&q->stmts_bg);
		s->hits += GET(&q->hits);
		s->misses += GET(&q->misses);
		s->hold_batches += GET(&q->hold_batches);
		s->holds_batched += GET(&q->holds_batched);
		if (!alive(q->pid))
			continue; /* its counters stay; its gauges went with it */
		s->busy += GET(&q->busy);
		s->journal_bytes += GET(&q->journal);
		s->db_in_use += GET(&q->in_use);
		s->db_size += GET(&q->size);
	}
}

static void
snap_tables(struct page *p, struct metrics_snap *s)
{
	double now = util_wall();
	uint64_t k;
	size_t i;

	for (i = 0; i < METRICS_MODELS; i++)
		if (__atomic_load_n(&p->model[i].ready, __ATOMIC_ACQUIRE))
			memcpy(s->models[i], p->model[i].name, METRICS_NAME);
	for (i = 0; i < METRICS_CELLS; i++) {
		if ((k = GET(&p->cell_key[i])) == 0)
			continue;
		s->cells[s->ncells].route = (int)((k >> 32) & 0x7fffffff) - 1;
		s->cells[s->ncells].status = (int)((k >> 8) & 0xffffff);
		s->cells[s->ncells].model = (int)(k & 0xff) - 1;
		s->cells[s->ncells++].n = GET(&p->cell_n[i]);
	}
	for (i = 0; i <= METRICS_PROVIDERS; i++) {
		struct metrics_prov *d = &s->prov[s->nprov];
		const struct prov *v = &p->prov[i];
		size_t o;

		if (i < METRICS_PROVIDERS &&
		    !__atomic_load_n(&p->pname[i].ready, __ATOMIC_ACQUIRE))
			continue;
		snprintf(d->name, sizeof(d->name), "%s",
		    i < METRICS_PROVIDERS ? p->pname[i].name : "other");
		for (o = 0; o < MO_N; o++)
			d->outcome[o] = GET(&v->outcome[o]);
		copy_hist(&v->lat, d->lat, &d->lat_n, &d->lat_us);
		d->circuit_open = v->open_until > now;
		if (i < METRICS_PROVIDERS || d->lat_n > 0)
			s->nprov++;
	}
}

void
metrics_snapshot(struct metrics_snap *s)
{
	struct page *p = page();
	int i;

	memset(s, 0, sizeof(*s));
	if (p == NULL)
		return;
	shm_lock(region);
	s->m = p->m;
	snap_procs(p, s);
	shm_unlock(region);
	s->m.restarts = GET(&p->restarts);
	snap_tables(p, s);
	copy_hist(&p->ttft, s->ttft, &s->ttft_n, &s->ttft_us);
	for (i = 0; i < 4; i++)
		s->tokens[i] = GET(&p->tokens[i]);
	s->charged = GET(&p->charged);
	s->rate_limited = GET(&p->rate_limited);
	s->holds_past_ttl = GET(&p->holds_past_ttl);
	s->journal_bytes += GET(&p->journal_bytes);
	s->leases_open = GET(&p->leases_open);
	inflight_refusals(dir, s->refused);
	/* This node's holds: its metered requests between hold and settle. */
	s->holds_open = (int64_t)inflight_count(dir);
}

/* --- the text exposition format ------------------------------------------------------- */

void
metrics_escape(char *out, size_t len, const char *v)
{
	size_t o = 0;

	for (; v != NULL && *v != '\0' && o + 3 < len; v++) {
		if (*v == '\\' || *v == '"') {
			out[o++] = '\\';
			out[o++] = *v;
		} else if (*v == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *v;
		}
	}
	if (len > 0)
		out[o] = '\0';
}

static int
head(struct buf *b, const char *name, const char *type, const char *help)
{
	return (int)buf_printf(
	    b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
scalar(struct buf *b, const char *name, const char *type, const char *help,
    uint64_t v)
{
	int rc = head(b, name, type, help);

	if (rc != 0)
		return rc;
	return (int)buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A histogram's lines: labels (already escaped, "" none) before "le". */
static int
hist(struct buf *b, const char *name, const char *labels, const uint64_t *bk,
    uint64_t n, uint64_t us)
{
	uint64_t cum = 0;
	size_t i;
	int rc = 0;

	for (i = 0; i <= METRICS_BUCKETS && rc == 0; i++) {
		cum += bk[i];
		if (i < METRICS_BUCKETS)
			rc = buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n",
			    name, labels, *labels != '\0' ? "," : "",
			    metrics_bounds[i], (unsigned long long)cum);
		else
			rc = buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
			    name, labels, *labels != '\0' ? "," : "",
			    (unsigned long long)n);
	}
	if (rc == 0)
		rc = buf_printf(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n",
		    name, *labels ? "{" : "", labels, *labels ? "}" : "",
		    (double)us / 1e6, name, *labels ? "{" : "", labels,
		    *labels ? "}" : "", (unsigned long long)n);
	return rc;
}

static int
write_requests(struct buf *b, const struct metrics_snap *s,
    const char *const *routes, size_t nroutes)
{
	char route[512], model[2 * METRICS_NAME + 8];
	const struct metrics_cell *c;
	size_t i;
	int rc;

	rc = head(b, "tollgate_requests_total", "counter",
	    "Requests answered, by route pattern, HTTP status and model.");
	for (i = 0; i < s->ncells && rc == 0; i++) {
		c = &s->cells[i];
		metrics_escape(route, sizeof(route),
		    c->route >= 0 && (size_t)c->route < nroutes
			? routes[c->route]
			: "unmatched");
		metrics_escape(model, sizeof(model),
		    c->model < 0		     ? ""
			: c->model >= METRICS_MODELS ? "other"
						     : s->models[c->model]);
		rc = buf_printf(b,
		    "tollgate_requests_total{route=\"%s\",status=\"%d\","
		    "model=\"%s\"} %llu\n",
		    route, c->status, model, (unsigned long long)c->n);
	}
	return rc;
}

static const char *const outcome_names[MO_N] = {
    "ok", "error", "timeout", "rate_limited", "client_gone"};

static int
write_upstream(struct buf *b, const struct metrics_snap *s)
{
	char p[2 * METRICS_NAME + 8], l[3 * METRICS_NAME];
	size_t i, o;
	int rc;

	rc = head(b, "tollgate_upstream_requests_total", "counter",
	    "Upstream attempts, by provider and outcome.");
	for (i = 0; i < s->nprov && rc == 0; i++) {
		metrics_escape(p, sizeof(p), s->prov[i].name);
		for (o = 0; o < MO_N && rc == 0; o++)
			rc = buf_printf(b,
			    "tollgate_upstream_requests_total{provider=\"%s\","
			    "outcome=\"%s\"} %llu\n",
			    p, outcome_names[o],
			    (unsigned long long)s->prov[i].outcome[o]);
	}
	if (rc == 0)
		rc = head(b, "tollgate_upstream_latency_seconds", "histogram",
		    "Upstream attempt duration, by provider.");
	for (i = 0; i < s->nprov && rc == 0; i++) {
		metrics_escape(p, sizeof(p), s->prov[i].name);
		snprintf(l, sizeof(l), "provider=\"%s\"", p);
		rc = hist(b, "tollgate_upstream_latency_seconds", l,
		    s->prov[i].lat, s->prov[i].lat_n, s->prov[i].lat_us);
	}
	if (rc == 0)
		rc = head(b, "tollgate_provider_circuit_open", "gauge",
		    "1 while every key of the provider rests.");
	for (i = 0; i < s->nprov && rc == 0; i++) {
		metrics_escape(p, sizeof(p), s->prov[i].name);
		rc = buf_printf(b,
		    "tollgate_provider_circuit_open{provider=\"%s\"} %d\n", p,
		    s->prov[i].circuit_open);
	}
	return rc;
}

static int
write_money(struct buf *b, const struct metrics_snap *s)
{
	static const char *const kinds[4] = {
	    "prompt", "completion", "cached", "reasoning"};
	static const int codes[3] = {401, 402, 429};
	int rc, i;

	rc = head(b, "tollgate_ttft_seconds", "histogram",
	    "Time from the request to its first token.");
	if (rc == 0)
		rc = hist(b, "tollgate_ttft_seconds", "", s->ttft, s->ttft_n,
		    s->ttft_us);
	if (rc == 0)
		rc = head(b, "tollgate_tokens_total", "counter",
		    "Tokens settled, by kind.");
	for (i = 0; i < 4 && rc == 0; i++)
		rc = buf_printf(b, "tollgate_tokens_total{kind=\"%s\"} %llu\n",
		    kinds[i], (unsigned long long)s->tokens[i]);
	if (rc == 0)
		rc = scalar(b, "tollgate_charged_nano_usd_total", "counter",
		    "Nano-USD charged at settlement.", s->charged);
	if (rc == 0)
		rc = scalar(b, "tollgate_rate_limited_total", "counter",
		    "Requests refused by tollgate's own rate limits.",
		    s->rate_limited);
	if (rc == 0)
		rc = head(b, "tollgate_refused_total", "counter",
		    "Answers 401, 402 and 429.");
	for (i = 0; i < 3 && rc == 0; i++)
		rc = buf_printf(b,
		    "tollgate_refused_total{status=\"%d\"} %llu\n", codes[i],
		    (unsigned long long)s->refused[i]);
	return rc;
}

static int
write_node(struct buf *b, const struct metrics_snap *s)
{
	/* clang-format off */
	const struct { const char *name, *type, *help; uint64_t v; } rows[] = {
	    { "tollgate_holds_open", "gauge", "Credit holds of this node's requests in flight.", (uint64_t)s->holds_open },
	    { "tollgate_holds_past_ttl", "gauge", "Holds past their TTL in the database (each 30 s).", (uint64_t)s->holds_past_ttl },
	    { "tollgate_leases_open", "gauge", "Credit leases this node holds.", (uint64_t)s->leases_open },
	    { "tollgate_journal_backlog_bytes", "gauge", "Journal bytes not yet written out.", (uint64_t)s->journal_bytes },
	    { "tollgate_db_pool_in_use", "gauge", "Database connections lent out.", s->db_in_use },
	    { "tollgate_db_pool_size", "gauge", "Database connections allowed.", s->db_size },
	    { "tollgate_cache_hits_total", "counter", "Row cache hits.", s->hits },
	    { "tollgate_cache_misses_total", "counter", "Row cache misses.", s->misses },
	    { "tollgate_hold_batches_total", "counter", "Transactions of several exact holds.", s->hold_batches },
	    { "tollgate_holds_batched_total", "counter", "Exact holds taken in those transactions.", s->holds_batched },
	    { "tollgate_worker_restarts_total", "counter", "Workers respawned after an unasked exit.", s->m.restarts },
	    { "tollgate_workers", "gauge", "Workers of the master's generation.", s->m.workers },
	    { "tollgate_slots_busy", "gauge", "Request slots serving a request.", s->busy },
	    { "tollgate_slots", "gauge", "Request slots of the master's workers.", s->m.slots },
	    { "tollgate_up", "gauge", "1: this scrape was answered.", 1 },
	};
	/* clang-format on */
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]) && rc == 0; i++)
		rc = scalar(
		    b, rows[i].name, rows[i].type, rows[i].help, rows[i].v);
	if (rc == 0)
		rc = head(b, "tollgate_db_statements_total", "counter",
		    "Statements sent to the database, by path.");
	if (rc == 0)
		rc = buf_printf(b,
		    "tollgate_db_statements_total{path=\"request\"} %llu\n"
		    "tollgate_db_statements_total{path=\"background\"} %llu\n",
		    (unsigned long long)(s->stmts - s->stmts_bg),
		    (unsigned long long)s->stmts_bg);
	return rc;
}

int
metrics_write(struct buf *b, const struct metrics_snap *s,
    const char *const *routes, size_t nroutes, const char *version)
{
	char v[128];
	int rc;

	metrics_escape(v, sizeof(v), version);
	rc = write_requests(b, s, routes, nroutes);
	if (rc == 0)
		rc = write_upstream(b, s);
	if (rc == 0)
		rc = write_money(b, s);
	if (rc == 0)
		rc = write_node(b, s);
	if (rc == 0)
		rc = head(b, "tollgate_build_info", "gauge",
		    "The running build (always 1).");
	if (rc == 0)
		rc =
		    buf_printf(b, "tollgate_build_info{version=\"%s\"} 1\n", v);
	return rc;
}
