/* money.c: exact USD amounts as integer nano-USD, parsed and printed as decimals */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/money.h"

int
money_parse(const char *s, int64_t *out)
{
	int64_t whole = 0, frac = 0;
	int neg = 0, digits = 0, fdigits = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; isdigit((unsigned char)*s); s++, digits++) {
		whole = whole * 10 + (*s - '0');
		if (whole > MONEY_MAX_USD)
			return -1;
	}
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++, fdigits++) {
			if (fdigits == 9)
				return -1;
			frac = frac * 10 + (*s - '0');
		}
		if (fdigits == 0)
			return -1;
	}
	if (*s != '\0' || digits == 0)
		return -1;
	for (; fdigits < 9; fdigits++)
		frac *= 10;
	if (whole == MONEY_MAX_USD && frac > 0)
		return -1;
	*out = (whole * NANO_PER_USD + frac) * (neg ? -1 : 1);
	return 0;
}

int
money_from_json(const json_t *j, int64_t *out)
{
	char buf[64];
	double d;
	int prec;

	if (json_is_string(j))
		return money_parse(json_string_value(j), out);
	if (json_is_integer(j)) {
		if (json_integer_value(j) > MONEY_MAX_USD ||
		    json_integer_value(j) < -MONEY_MAX_USD)
			return -1;
		*out = (int64_t)json_integer_value(j) * NANO_PER_USD;
		return 0;
	}
	if (json_is_real(j)) {
		d = json_real_value(j);
		if (!(d <= (double)MONEY_MAX_USD &&
			d >= -(double)MONEY_MAX_USD))
			return -1;
		/*
		 * The literal the client wrote is (nearly always) the shortest
		 * decimal that reads back as the same double: find it, so that
		 * 8388608.3 is 8388608.3, not the double's 8388608.30000000075.
		 */
		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		/* Exponent forms (tiny amounts): nine decimals decide. */
		if (strpbrk(buf, "eE") != NULL)
			snprintf(buf, sizeof(buf), "%.9f", d);
		return money_parse(buf, out);
	}
	return -1;
}

void
money_format(int64_t nano, char *out, size_t outlen)
{
	uint64_t a = nano < 0 ? (uint64_t)0 - (uint64_t)nano : (uint64_t)nano;
	char frac[16];
	int n;

	snprintf(frac, sizeof(frac), "%09" PRIu64, a % (uint64_t)NANO_PER_USD);
	/* Trim trailing zeros down to two decimals. */
	for (n = 9; n > 2 && frac[n - 1] == '0'; n--)
		frac[n - 1] = '\0';
	snprintf(out, outlen, "%s%" PRIu64 ".%s", nano < 0 ? "-" : "",
	    a / (uint64_t)NANO_PER_USD, frac);
}

json_t *
money_json(int64_t nano)
{
	char buf[40];

	money_format(nano, buf, sizeof(buf));
	return json_string(buf);
}
