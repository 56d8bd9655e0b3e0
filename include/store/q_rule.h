/* q_rule.h: typed queries on rate_limit_rules (defined at the end of store/q_limit.c) */
/* SPDX-License-Identifier: MIT */
#ifndef Q_RULE_H
#define Q_RULE_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

#define Q_LIMITS 7 /* the limits of a rule, in storage order */

/* One rule: a user's (key_id 0) or a key's, for every model ("") or one. */
struct limit_rule {
	int64_t key_id;
	const char *key_pub; /* q_rule_list_keys only */
	const char *model;
	int64_t lim[Q_LIMITS]; /* -1: none */
};

/* The rule of (user, key, model); TG_ENOENT when there is none. */
enum tg_err q_rule_get(struct db_conn *, struct arena *, int64_t user,
    int64_t key, const char *model, struct limit_rule *);
/* Insert or replace the rule (lim -1: none). */
enum tg_err q_rule_set(struct db_conn *, struct arena *, int64_t user,
    int64_t key, const char *model, const int64_t lim[Q_LIMITS]);
/* The key rules of a user's live keys, by key then model. */
enum tg_err q_rule_list_keys(struct db_conn *, struct arena *, int64_t user,
    struct limit_rule **, size_t *n);
/* The user's rule and the key's rules for every model and for model. */
enum tg_err q_rule_in_force(struct db_conn *, struct arena *, int64_t user,
    int64_t key, const char *model, struct limit_rule **, size_t *n);

#endif
