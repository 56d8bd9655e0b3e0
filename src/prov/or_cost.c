/* or_cost.c: OpenRouter's usage.cost read from the answer's own text, exactly, as nano-USD */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "core/json.h"
#include "core/money.h"
#include "prov/or_cost.h"

#define DIGITS_MAX 64 /* significant digits kept; more is not a price */

/*
 * jansson reads 0.000123456789 as a double: its digits are gone before
 * anyone can count them.  So the literal is read here digit by digit:
 * mantissa digits, the decimal point's place, the exponent, then the value
 * in nano-USD is the digits shifted by (exponent - fraction digits + 9),
 * any digit shifted out below a nano making it one more.
 */
int
or_cost_parse(const char *s, size_t n, int64_t *nano)
{
	char dig[DIGITS_MAX];
	size_t i = 0, nd = 0;
	long exp = 0, e = 0, shift;
	int eneg = 0, point = 0, rest = 0;
	int64_t v = 0;

	if (n == 0 || s[0] == '-')
		return -1;
	for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'); i++) {
		if (s[i] == '.') {
			if (point++)
				return -1;
			continue;
		}
		if (nd == 0 && s[i] == '0') {
			if (point)
				exp--;
			continue;
		}
		if (nd == DIGITS_MAX)
			return -1;
		dig[nd++] = s[i];
		if (point)
			exp--;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		if (i == n)
			return -1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			if ((e = e * 10 + (s[i] - '0')) > 1000)
				return -1;
		exp += eneg ? -e : e;
	}
	if (i != n)
		return -1;
	/* value = digits x 10^exp USD = digits x 10^(exp + 9) nano */
	shift = exp + 9;
	for (i = 0; i < nd; i++) {
		if ((long)(nd - i) + shift <= 0) {
			/* below a nano from here on */
			rest |= dig[i] != '0';
			continue;
		}
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (dig[i] - '0');
	}
	for (; shift > 0; shift--) {
		if (nd == 0)
			break;
		if (v > INT64_MAX / 10)
			return -1;
		v *= 10;
	}
	if (rest)
		v++;
	if (v > MONEY_MAX_USD * NANO_PER_USD)
		return -1;
	*nano = v;
	return 0;
}

int
or_usage_cost(const char *text, size_t len, int64_t *nano)
{
	struct jx_where w, c;
	int64_t v;
	int n;

	if ((n = jx_locate(text, len, "usage", &w)) <= 0)
		return n < 0 ? -1 : 0;
	if (text[w.vs] != '{')
		return 0;
	if ((n = jx_locate(text + w.vs, w.ve - w.vs, "cost", &c)) <= 0)
		return n < 0 ? -1 : 0;
	if (or_cost_parse(text + w.vs + c.vs, c.ve - c.vs, &v) == -1)
		return -1;
	*nano = v;
	return 1;
}
