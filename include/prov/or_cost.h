/* or_cost.h: OpenRouter's usage.cost read from the answer's own text, exactly, as nano-USD */
/* SPDX-License-Identifier: MIT */
#ifndef PROV_OR_COST_H
#define PROV_OR_COST_H

#include <stddef.h>
#include <stdint.h>

/*
 * A JSON number literal (s, n bytes: "0.000123456789", "1.5e-7", "3") as
 * nano-USD, rounded up to a whole nano-USD (a part of one is still a cost):
 * decimal digits, no floating point.  0, or -1 when it is not a non-negative
 * number of at most 1e9 USD.
 */
int or_cost_parse(const char *s, size_t n, int64_t *nano);
/*
 * usage.cost of an answer or stream chunk (text, len: one JSON object) into
 * *nano: 1 when found and read, 0 when there is none, -1 when it is not a
 * number or cannot be judged (a key written with escapes).  *nano is
 * written only on 1.
 */
int or_usage_cost(const char *text, size_t len, int64_t *nano);

#endif
