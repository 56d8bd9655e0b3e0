/* keypool.h: upstream key health and per-key limits, shared by a node's processes */
/* SPDX-License-Identifier: MIT */
#ifndef KEYPOOL_H
#define KEYPOOL_H

#include <stddef.h>
#include <stdint.h>

struct pool;

/* One upstream key of a provider's pool, as the database has it. */
struct pool_key {
	int64_t id;
	int64_t rpm;		 /* requests per minute; -1 none */
	int64_t rpd;		 /* requests per UTC day; -1 none */
	int64_t min_interval_ms; /* spacing between requests; 0 none */
};

/* How an attempt with a key went. */
enum pool_outcome {
	PO_OK = 0, /* answered (any 2xx) */
	PO_NEUTRAL, /* the client's fault (400, 404, 413, 422): says nothing of the key */
	PO_RATE, /* 429: cool down for Retry-After, or a back-off */
	PO_AUTH, /* 401/403: the key is dead; the caller disables it */
	PO_FAIL, /* 5xx, timeout, reset: counts towards the circuit breaker */
};

enum pool_circuit { PC_CLOSED = 0, PC_OPEN, PC_HALF_OPEN };

/* What a node knows of a key now. */
struct pool_state {
	int64_t used_today;
	int64_t used_minute;
	double last_used;      /* epoch seconds, 0 never */
	double cooldown_until; /* epoch seconds, 0 none */
	enum pool_circuit circuit;
	double open_until; /* when an open circuit lets one probe through */
	int failures;	   /* consecutive */
	char last_error[160];
};

#define POOL_OPEN_MAX_S                                                        \
	600 /* the open period doubles while probes fail, up to this */

/*
 * The node's pool state at path (a file in server.run_dir), else per process;
 * fails_to_open consecutive failures open a key's circuit for open_s seconds.
 */
struct pool *keypool_open(
    const char *path, unsigned fails_to_open, unsigned open_s);
void keypool_close(struct pool *);

/*
 * Pick a key of keys[0..n) to use now: healthy (not cooling down, circuit
 * closed or due a probe), within its per-minute and per-day counts and its
 * spacing, least recently used first; and count the use.  The index, or -1
 * with *wait_s the seconds until one is usable (-1 if none will be today)
 * and *paced the seconds until a healthy key's spacing or minute lets it
 * go (-1: none is merely paced).  -2 instead of -1 when every key waits
 * for its open circuit's probe: the provider is failing, not busy.
 */
int keypool_choose(struct pool *, const struct pool_key *keys, size_t n,
    double *wait_s, double *paced);
/* Record the outcome of an attempt with key_id (error: short, no secrets). */
void keypool_report(struct pool *, int64_t key_id, enum pool_outcome,
    int64_t retry_after_s, const char *error);
void keypool_state(struct pool *, int64_t key_id, struct pool_state *);
/* Note a deployment's time to first token (ms); smoothed per node. */
void keypool_latency_note(
    struct pool *, const char *model, const char *provider, double ms);
/* Its smoothed time to first token in ms, or -1 when never measured. */
double keypool_latency(struct pool *, const char *model, const char *provider);
/* An admin put the key back: forget its cool-down, circuit and last error. */
void keypool_heal(struct pool *, int64_t key_id);

#endif
