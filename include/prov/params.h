/* params.h: which request members each endpoint forwards, prices or refuses */
/* SPDX-License-Identifier: MIT */
#ifndef PARAMS_H
#define PARAMS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/conf_rules.h"

/* What the members of one request add to its hold beyond tokens. */
struct param_cost {
	int64_t times; /* product of ALLOW_TIMES values, 1 none */
	int64_t fee;   /* nano-USD, sum of ALLOW_ADD fees */
};

/*
 * Parse "name:free, name:times, name:add_usd=0.02" into out (up to
 * PARAMS_MAX_ALLOW).  0, or -1 with the reason in err.
 */
int params_allow_parse(const char *spec, struct param_allow *out, size_t *n,
    char *err, size_t errlen);
/*
 * Judge every top-level member of body for endpoint ep (an enum endpoint of
 * prov.h) against the table and
 * the operator's allow list: 0 with cost filled, or -1 with *param (the
 * member), *code and msg for a 400.
 */
int params_check(const json_t *body, int ep, const struct param_allow *allow,
    size_t nallow, struct param_cost *cost, const char **param,
    const char **code, char *msg, size_t msglen);
/* The i-th row of the table, for the documentation test: 0, -1 past the end. */
int params_row(size_t i, const char **name, unsigned *eps, const char **rule);

#endif
