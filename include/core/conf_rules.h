/* conf_rules.h: the rules a configuration carries: rate limit sets and the parameters an operator allows */
/* SPDX-License-Identifier: MIT */
#ifndef CONF_RULES_H
#define CONF_RULES_H

#include <stddef.h>
#include <stdint.h>

/* The limits a subject may have, in the order of the API's rate_limits names. */
enum rate_limit {
	RL_RPM = 0, /* requests per minute */
	RL_RPH,
	RL_RPD,
	RL_TPM, /* tokens per minute */
	RL_TPH,
	RL_TPD,
	RL_CONC, /* requests in flight at once */
	RL__MAX
};

/* One value per limit; -1 = unlimited. */
struct rate_set {
	int64_t v[RL__MAX];
};

/* "unlimited" everywhere. */
void rate_set_none(struct rate_set *);
/*
 * The built-in limits of a user without a rule or a configured default, so
 * one user cannot take every slot of a small host with long streams:
 * RATE_DEFAULT_RPM requests a minute and max(2, slots / 4) in flight.
 */
#define RATE_DEFAULT_RPM 60
void rate_set_default(struct rate_set *, unsigned slots);
/* Name of a limit as the API spells it ("requests_per_minute"). */
const char *rate_limit_name(enum rate_limit);
/*
 * Parse "requests_per_minute=60, tokens_per_day=100000" (also rpm, rph, rpd,
 * tpm, tph, tpd, concurrent) into out, starting from unlimited; "none" is
 * unlimited.  0 or -1.
 */
int rate_set_parse(
    const char *s, struct rate_set *out, char *err, size_t errlen);

#define PARAMS_MAX_ALLOW 16
#define PARAMS_NAME_MAX	 64

/* How an operator-allowed parameter is priced ([chat] allow_params). */
enum allow_rule {
	ALLOW_FREE = 0, /* forwarded, costs nothing beyond tokens */
	ALLOW_TIMES, /* a whole number that multiplies the completions held */
	ALLOW_ADD,   /* a fixed fee in USD held and charged per request */
};

struct param_allow {
	char name[PARAMS_NAME_MAX + 1];
	enum allow_rule rule;
	int64_t fee; /* nano-USD, ALLOW_ADD */
};

/*
 * Parses [chat] allow_params into out (up to PARAMS_MAX_ALLOW): 0, or -1 with
 * the reason in err.  Which names may be allowed is the provider layer's
 * table, so that layer supplies the parser (params_allow_parse).
 */
typedef int (*conf_allow_fn)(const char *spec, struct param_allow *out,
    size_t *n, char *err, size_t errlen);
/* Once per process before conf_load; without it allow_params is refused. */
void conf_set_allow_parser(conf_allow_fn);

#endif
