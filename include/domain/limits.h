/* limits.h: rate limits shared by every process on a node: token buckets and in-flight caps */
/* SPDX-License-Identifier: MIT */
#ifndef RATE_H
#define RATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/conf_rules.h"

#define RATE_MAX_SUBJECTS 3

/* Who a request counts against: a user, a key. */
struct rate_subject {
	uint64_t key; /* rate_key() */
	struct rate_set lim;
	const char *what; /* "user", "API key": for the 429 message */
};

/* What admission took, handed back at settlement. */
struct rate_ticket {
	int taken;
	int global;	/* admitted against the database's windows */
	int64_t win[6]; /* their windows (RL_RPM .. RL_TPD) */
	int flight;	/* in-flight slot, or -1 */
	size_t n;
	uint64_t keys[RATE_MAX_SUBJECTS];
	struct rate_set lim[RATE_MAX_SUBJECTS];
	int64_t tokens;
};

/* The answer of an admission, and the figures for the x-ratelimit-* headers. */
struct rate_verdict {
	int ok;
	const char *what;    /* subject that refused */
	enum rate_limit hit; /* its limit that refused */
	int64_t hit_limit;   /* and that limit's value */
	int64_t retry_after; /* seconds */
	/* the request and token limits closest to refusing (-1: none) */
	int64_t req_limit, req_remaining, req_reset;
	int64_t tok_limit, tok_remaining, tok_reset;
};

struct rate;

/*
 * Attach the node's counters at path (a file in server.run_dir); with NULL or
 * on failure (logged), counters private to this process.  NULL only on OOM.
 */
struct rate *rate_open(const char *path);
void rate_close(struct rate *);
/* 1 when the counters are shared with the node's other processes. */
int rate_shared(const struct rate *);

/* The counter key of a subject ('u' user, 'k' API key) and its id. */
uint64_t rate_key(char scope, int64_t id);
/* The tighter of a and b, limit by limit, into a. */
void rate_set_min(struct rate_set *a, const struct rate_set *b);

/*
 * Admit one request of `tokens` tokens (the hold's estimate) for every
 * subject at once, or for none: a refusal changes nothing.  The verdict also
 * carries the header figures.
 */
void rate_admit(struct rate *, const struct rate_subject *, size_t n,
    int64_t tokens, struct rate_ticket *, struct rate_verdict *);
/*
 * Global mode (several machines, one database): fixed windows counted in the
 * database.  fn takes amount of subject's limit lim (RL_*) in window win if
 * the total stays within cap, and returns what it took (0: none).  Each node
 * takes chunk_pct of a limit per round trip and admits from its share, so a
 * request costs a round trip only when the share runs out.
 */
struct rate_take {
	int64_t (*fn)(void *arg, uint64_t subject, int lim, int64_t win,
	    int64_t amount, int64_t cap);
	void *arg;
	unsigned chunk_pct;
};
void rate_admit_global(struct rate *, const struct rate_subject *, size_t n,
    int64_t tokens, const struct rate_take *, struct rate_ticket *,
    struct rate_verdict *);
/* The shares of global limits from the database (rate_take's fn and arg). */
struct db_conn;
struct arena;
struct rate_db {
	struct db_conn *c;
	struct arena *a;
};
int64_t rate_take_db(void *arg, uint64_t subject, int lim, int64_t win,
    int64_t amount, int64_t cap);
/* Delete the global windows before the previous one, at unix time now. */
void rate_prune(struct db_conn *, struct arena *, int64_t now);
/* The request ended: give back its in-flight slot and the unused tokens. */
void rate_settle(struct rate *, struct rate_ticket *, int64_t real_tokens);
/* What subject key has used now (requests and tokens still counted, in flight). */
void rate_usage(struct rate *, uint64_t key, const struct rate_set *lim,
    struct rate_set *used);

/* Limit rules (rate_limit_rules); the rest of limits.c is above. */
#include <jansson.h>

#include "core/tollgate.h"

struct db_conn;
struct op;
/*
 * The limits of (user_id, key_id, model) as a rate_limits object (nulls);
 * model "" or NULL: the rule for every model.
 */
enum tg_err limits_get(struct db_conn *, struct op *, int64_t user_id,
    int64_t key_id, const char *model, json_t **out);
/* Store the limits from a rate_limits object (audited). */
enum tg_err limits_set(struct db_conn *, struct op *, int64_t user_id,
    int64_t key_id, const char *model, const char *target, const json_t *limits,
    json_t **out);
/*
 * The rate limits in force: the user's rule, else its group's defaults from
 * the config; the key's own rule (none: unlimited); and the key's rule for
 * model ("" or NULL: none; *has_model says whether there is one).
 */
enum tg_err limits_in_force(struct db_conn *, struct op *, int64_t user_id,
    int64_t key_id, const char *model, const char *group, struct rate_set *user,
    struct rate_set *key, struct rate_set *key_model, int *has_model);
/* Key-level limits of a user: [{key_id, model, rate_limits}]. */
enum tg_err limits_of_keys(
    struct db_conn *, struct op *, int64_t user_id, json_t **out);
/* The names of the limits of a rule, in storage order. */
const char *const *limits_names(size_t *n);

#endif
