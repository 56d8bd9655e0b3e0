/* metrics.h: the node's counters for GET /metrics and `tollgate status`, in shared memory */
/* SPDX-License-Identifier: MIT */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/*
 * server.run_dir/tollgate-metrics.shm: relaxed atomic counters every process
 * of the node adds to (request, upstream call, settlement), gauges the
 * housekeeper and the master publish, and a slot per process for what only
 * that process knows (slots busy, its database pool, its statements).  A
 * scrape reads the file and nothing else: no statement, no lock held while
 * requests run.  Every table is of fixed size; what does not fit is counted
 * as "other".  Without the file every call is a no-op.
 */
#define METRICS_MODELS	  64   /* by name, then "other" */
#define METRICS_PROVIDERS 32   /* by id, then "other" */
#define METRICS_CELLS	  2048 /* (route, status, model) triples seen */
#define METRICS_PROCS	  128  /* processes publishing their own figures */
#define METRICS_NAME	  64   /* longest model or provider name kept */
#define METRICS_BUCKETS	  13   /* latency buckets, +Inf apart */

enum metrics_outcome {
	MO_OK = 0,
	MO_ERROR,
	MO_TIMEOUT,
	MO_RATE_LIMITED,
	MO_CLIENT_GONE,
	MO_N
};

enum metrics_token { MT_PROMPT = 0, MT_COMPLETION, MT_CACHED, MT_REASONING };

/* Open the file (once per process; NULL run_dir: off).  0 or -1. */
int metrics_open(const char *run_dir);
/* One answered request: its route index (-1: none matched), status, model. */
void metrics_request(int route, int status, const char *model);
/* One upstream attempt: its provider, how it ended, its seconds. */
void metrics_upstream(
    const char *provider, enum metrics_outcome, double seconds);
/* A provider's keys all rest (until: wall time) or one answered (0). */
void metrics_circuit(const char *provider, double until);
void metrics_ttft(double seconds);
void metrics_tokens(const int64_t tokens[4], int64_t charged_nano);
/* A request refused by tollgate's own rate limits. */
void metrics_rate_limited(void);
/* This process's slot: busy +1/-1 around a request. */
void metrics_busy(int delta);
/* This process's database figures, published after each request. */
void metrics_db(unsigned in_use, unsigned size, uint64_t stmts,
    uint64_t stmts_bg, uint64_t cache_hits, uint64_t cache_misses);
/* issue 20: this process's holds taken together (holdq_stats). */
void metrics_holdq(uint64_t batches, uint64_t batched);
/* The housekeeper's figures (-1: unknown, left as they were). */
void metrics_node(int64_t holds_open, int64_t holds_past_ttl,
    int64_t journal_bytes, int64_t leases_open);
struct db_conn;
struct arena;
struct lease_table;
struct journal;
/*
 * The housekeeper's tick: this process's journal backlog, and every few
 * seconds (one process of the node) the open holds, those past their TTL
 * (one statement) and the leases open.
 */
void metrics_housekeep(
    struct db_conn *, struct arena *, struct lease_table *, struct journal *);
/* Whether the housekeeper's figures are older than secs; claims the turn. */
int metrics_node_due(double secs);

/* The master's record of the node, for `tollgate status` and the gauges. */
struct metrics_master {
	int64_t pid; /* 0: no master */
	double started;
	uint64_t generation, workers, slots, restarts;
};
void metrics_master_set(const struct metrics_master *);
/* Count one worker respawned after an exit the master did not ask for. */
void metrics_restart(void);

/* A consistent-enough copy of everything, for the writer. */
struct metrics_snap {
	struct metrics_master m;
	uint64_t busy, served, db_in_use, db_size, stmts, stmts_bg, hits,
	    misses;
	uint64_t hold_batches, holds_batched; /* issue 20 */
	int64_t holds_open, holds_past_ttl, journal_bytes, leases_open;
	uint64_t refused[3]; /* 401, 402, 429 (inflight.c's) */
	uint64_t rate_limited, tokens[4], charged;
	uint64_t ttft[METRICS_BUCKETS + 1], ttft_n, ttft_us;
	size_t ncells;
	struct metrics_cell {
		int route, status,
		    model; /* model -1: "", METRICS_MODELS: other */
		uint64_t n;
	} cells[METRICS_CELLS];
	char models[METRICS_MODELS][METRICS_NAME];
	size_t nprov;
	struct metrics_prov {
		char name[METRICS_NAME];
		uint64_t outcome[MO_N];
		uint64_t lat[METRICS_BUCKETS + 1], lat_n, lat_us;
		int circuit_open;
	} prov[METRICS_PROVIDERS + 1];
};

/* The upper bounds of the latency buckets, in seconds. */
extern const double metrics_bounds[METRICS_BUCKETS];
/* Copy the file into s (zeros without one). */
void metrics_snapshot(struct metrics_snap *s);
/*
 * The exposition (text format 0.0.4) of s into b; routes[i] names route i.
 * TG_OK or TG_ENOMEM / TG_ETOOBIG from the buffer.
 */
int metrics_write(struct buf *b, const struct metrics_snap *s,
    const char *const *routes, size_t nroutes, const char *version);
/* A label value escaped per the format (\\, \", \n) into out. */
void metrics_escape(char *out, size_t len, const char *v);

#endif
