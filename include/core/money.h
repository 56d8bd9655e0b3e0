/* money.h: exact USD amounts as integer nano-USD, parsed and printed as decimals */
/* SPDX-License-Identifier: MIT */
#ifndef MONEY_H
#define MONEY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/tollgate.h"

#define NANO_PER_USD 1000000000LL
/* The largest amount accepted from outside: one billion USD. */
#define MONEY_MAX_USD 1000000000LL

/*
 * Parse "12.5", "-3", "0.000000001" (at most 9 decimals, |x| <= MONEY_MAX_USD)
 * into nano-USD.  0 or -1.
 */
int money_parse(const char *s, int64_t *out);
/*
 * Parse a JSON amount: a decimal string, an integer, or a real (printed with
 * 9 decimals first, so the literal, not the binary double, decides).  0 or -1.
 */
int money_from_json(const json_t *, int64_t *out);
/* "12.50", "-0.000001234": at least 2, at most 9 decimals; out >= 32 bytes. */
void money_format(int64_t nano, char *out, size_t outlen);
/* A new JSON string of the amount. */
json_t *money_json(int64_t nano);

#endif
