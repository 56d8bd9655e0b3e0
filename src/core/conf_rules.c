/* conf_rules.c: the configuration's rate limit sets: names, defaults and the "name=number, ..." syntax */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf_rules.h"

/* clang-format off */
static const struct limit_name {
	const char *name;
	const char *alias;
} names[RL__MAX] = {
	[RL_RPM]  = { "requests_per_minute", "rpm" },
	[RL_RPH]  = { "requests_per_hour",   "rph" },
	[RL_RPD]  = { "requests_per_day",    "rpd" },
	[RL_TPM]  = { "tokens_per_minute",   "tpm" },
	[RL_TPH]  = { "tokens_per_hour",     "tph" },
	[RL_TPD]  = { "tokens_per_day",	     "tpd" },
	[RL_CONC] = { "max_concurrent",	     "concurrent" },
};
/* clang-format on */

void
rate_set_none(struct rate_set *s)
{
	size_t i;

	for (i = 0; i < RL__MAX; i++)
		s->v[i] = -1;
}

void
rate_set_default(struct rate_set *s, unsigned slots)
{
	rate_set_none(s);
	s->v[RL_RPM] = RATE_DEFAULT_RPM;
	s->v[RL_CONC] = slots / 4 > 2 ? slots / 4 : 2;
}

const char *
rate_limit_name(enum rate_limit l)
{
	return (unsigned)l < RL__MAX ? names[l].name : "limit";
}

int
rate_set_parse(const char *s, struct rate_set *out, char *err, size_t errlen)
{
	char name[32];
	const char *p = s;
	size_t n, i;
	long long v;
	char *end;

	rate_set_none(out);
	/* Spelled out, so a config can say it (an empty value may be dropped). */
	if (strcmp(s, "none") == 0)
		return 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return 0;
		n = strcspn(p, "= \t,");
		if (n == 0 || n >= sizeof(name) || p[n] != '=') {
			snprintf(err, errlen,
			    "'%.40s' is not name=number (e.g. "
			    "requests_per_minute=60)",
			    p);
			return -1;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		for (i = 0; i < RL__MAX; i++)
			if (strcmp(name, names[i].name) == 0 ||
			    strcmp(name, names[i].alias) == 0)
				break;
		if (i == RL__MAX) {
			snprintf(err, errlen, "unknown limit '%s'", name);
			return -1;
		}
		p += n + 1;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (end == p || errno != 0 || v < 0 ||
		    !isdigit((unsigned char)*p)) {
			snprintf(err, errlen, "%s: not a whole number", name);
			return -1;
		}
		out->v[i] = v;
		p = end;
	}
}
