/* conf.c: the INI configuration, parsed through a key table (inih adapter) */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/money.h"
#include "core/util.h"

#ifndef TG_SYSCONFDIR
#define TG_SYSCONFDIR "/usr/local/etc"
#endif
#ifndef TG_PKGDATADIR
#define TG_PKGDATADIR "/usr/local/share/tollgate"
#endif

#define CONF_MAX_LINE 4096

/* The provider layer judges allowed parameters (conf_set_allow_parser). */
static conf_allow_fn allow_parser;

struct parse;
typedef int (*setter_fn)(
    struct parse *, void *field, const char *value, uint64_t min, uint64_t max);

struct conf_key {
	const char *section;
	const char *name;
	setter_fn set;
	size_t off;
	uint64_t min, max;
};

struct parse {
	struct conf *c;
	const char *file;
	unsigned line;
	unsigned errors;
	conf_err_fn errfn;
	void *arg;
	FILE *fp;
	char *linebuf;
	size_t linecap;
};

static void perr(struct parse *p, const char *fmt, ...) TG_PRINTF(2, 3);

static void
perr(struct parse *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->errfn != NULL)
		p->errfn(p->arg, p->file, p->line, msg);
}

static int
set_str(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	char **s = f;

	free(*s);
	*s = *v != '\0' ? strdup(v) : NULL;
	return 0;
}

/* A bounded whole number, with one error message for both widths. */
static int
parse_bounded(
    struct parse *p, const char *v, uint64_t min, uint64_t max, uint64_t *n)
{
	if (util_parse_u64(v, min, max, n) == 0)
		return 0;
	perr(p, "'%s' is not a whole number from %llu to %llu", v,
	    (unsigned long long)min, (unsigned long long)max);
	return -1;
}

static int
set_uint(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	uint64_t n;

	if (parse_bounded(p, v, min, max, &n) == -1)
		return -1;
	*(unsigned *)f = (unsigned)n;
	return 0;
}

static int
set_u64(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	return parse_bounded(p, v, min, max, f);
}

static int
set_size(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	uint64_t n;

	if (util_parse_size(v, &n) == -1 || n < min || n > max) {
		perr(p,
		    "'%s' is not a size from %llu to %llu bytes (K, M, G "
		    "suffixes allowed)",
		    v, (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*(uint64_t *)f = n;
	return 0;
}

static int
set_mode(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 8);
	if (*v == '\0' || *end != '\0' || errno != 0 || n > 0777) {
		perr(p, "'%s' is not an octal file mode such as 0660", v);
		return -1;
	}
	*(unsigned *)f = (unsigned)n;
	return 0;
}

static int
set_bool(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	static const char *const yes[] = {"on", "yes", "true", "1"};
	static const char *const no[] = {"off", "no", "false", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*(int *)f = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*(int *)f = 0;
			return 0;
		}
	}
	perr(p, "'%s' is not on or off", v);
	return -1;
}

static int
set_level(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	int l;

	if ((l = log_level_parse(v)) == -1) {
		perr(p, "'%s' is not one of error, warn, info, debug", v);
		return -1;
	}
	*(int *)f = l;
	return 0;
}

/* issue 19: obs: [log] format, text (0) or json (1). */
static int
set_log_format(
    struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	if (strcmp(v, "text") != 0 && strcmp(v, "json") != 0) {
		perr(p, "'%s' is not one of text, json", v);
		return -1;
	}
	*(int *)f = strcmp(v, "json") == 0;
	return 0;
}

static int
set_registration(
    struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	static const char *const modes[] = {"open", "invite", "closed"};
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(v, modes[i]) == 0) {
			*(int *)f = (int)i;
			return 0;
		}
	perr(p, "'%s' is not one of open, invite, closed", v);
	return -1;
}

static int
set_prefix(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	char **s = f;
	size_t n = strlen(v);

	if (n == 0) {
		free(*s);
		*s = strdup("");
		return 0;
	}
	if (v[0] != '/' || strpbrk(v, "?#% \t") != NULL || strstr(v, "..")) {
		perr(
		    p, "mount prefix '%s' must be a path starting with '/'", v);
		return -1;
	}
	while (n > 0 && v[n - 1] == '/')
		n--;
	free(*s);
	*s = strndup(v, n);
	return 0;
}

static int
valid_port(const char *s)
{
	uint64_t port;

	return util_parse_u64(s, 1, 65535, &port) == 0;
}

static int
set_listen(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	const char *colon;
	int ok;

	if (strncmp(v, "unix:", 5) == 0)
		ok = v[5] == '/' && strlen(v + 5) < 100;
	else if (v[0] == '/')
		ok = strlen(v) < 100;
	else if (v[0] == '[')
		ok = (colon = strstr(v, "]:")) != NULL && colon > v + 1 &&
		    valid_port(colon + 2);
	else
		ok = (colon = strrchr(v, ':')) != NULL && colon > v &&
		    valid_port(colon + 1);
	if (!ok) {
		perr(p,
		    "listen '%s' is not unix:/path, /path, host:port or "
		    "[v6addr]:port (unix paths under 100 bytes)",
		    v);
		return -1;
	}
	return set_str(p, f, v, min, max);
}

static int
set_origins(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	struct conf *c = p->c;
	char *copy, *tok, *save = NULL;
	unsigned i;

	for (i = 0; i < c->ncors_origins; i++)
		free(c->cors_origins[i]);
	c->ncors_origins = 0;
	c->cors_any = 0;
	set_str(p, f, v, min, max);
	if ((copy = strdup(v)) == NULL)
		return -1;
	for (tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		if (strcmp(tok, "*") == 0) {
			c->cors_any = 1;
			continue;
		}
		if (strncmp(tok, "http://", 7) != 0 &&
		    strncmp(tok, "https://", 8) != 0) {
			perr(p,
			    "CORS origin '%s' must start with http:// or "
			    "https://",
			    tok);
			continue;
		}
		if (c->ncors_origins == CONF_MAX_ORIGINS) {
			perr(p, "more than %d CORS origins", CONF_MAX_ORIGINS);
			break;
		}
		c->cors_origins[c->ncors_origins++] = strdup(tok);
	}
	free(copy);
	return 0;
}

/* "2.5" -> 250 basis points: a percentage from 0 to 100 with at most 2 decimals. */
static int
parse_percent(const char *v, unsigned *bp)
{
	int64_t n;

	if (money_parse(v, &n) == -1 || n < 0 || n > 100 * NANO_PER_USD ||
	    n % (NANO_PER_USD / 100) != 0)
		return -1;
	*bp = (unsigned)(n / (NANO_PER_USD / 100));
	return 0;
}

static int
set_percent(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	if (parse_percent(v, f) == 0)
		return 0;
	perr(p, "'%s' is not a percentage from 0 to 100 (at most 2 decimals)",
	    v);
	return -1;
}

/* "vip:2.5, free:10": per-group commission overrides. */
static int
set_groups(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	struct conf *c = p->c;
	char *copy, *tok, *save = NULL, *colon;
	unsigned i, bp;
	int rc = 0;

	for (i = 0; i < c->ngroups; i++)
		free(c->group_names[i]);
	c->ngroups = 0;
	set_str(p, f, v, min, max);
	if ((copy = strdup(v)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if ((colon = strchr(tok, ':')) == NULL || colon == tok ||
		    colon - tok > 64 || parse_percent(colon + 1, &bp) == -1) {
			perr(
			    p, "'%s' is not group:percent (e.g. vip:2.5)", tok);
			rc = -1;
			continue;
		}
		if (c->ngroups == CONF_MAX_GROUPS) {
			perr(p, "more than %d groups", CONF_MAX_GROUPS);
			rc = -1;
			break;
		}
		*colon = '\0';
		c->group_names[c->ngroups] = strdup(tok);
		c->group_bp[c->ngroups++] = bp;
	}
	free(copy);
	return rc;
}

static int
set_limits(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	char err[128];

	set_str(p, f, v, min, max);
	if (rate_set_parse(v, &p->c->limits_default, err, sizeof(err)) == 0)
		return 0;
	perr(p, "%s", err);
	return -1;
}

/* "vip: requests_per_minute=600; free: requests_per_minute=10" */
static int
set_limit_groups(
    struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	struct conf *c = p->c;
	char *copy, *tok, *save = NULL, *colon, *name, err[128];
	unsigned i;
	int rc = 0;

	for (i = 0; i < c->nlimit_groups; i++)
		free(c->limit_group_names[i]);
	c->nlimit_groups = 0;
	set_str(p, f, v, min, max);
	if ((copy = strdup(v)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ";", &save); tok != NULL;
	     tok = strtok_r(NULL, ";", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		if (*tok == '\0')
			continue;
		if ((colon = strchr(tok, ':')) == NULL || colon == tok ||
		    colon - tok > 64) {
			perr(p, "'%s' is not group: name=number, ...", tok);
			rc = -1;
			continue;
		}
		*colon = '\0';
		name = tok;
		name[strcspn(name, " \t")] = '\0';
		if (c->nlimit_groups == CONF_MAX_GROUPS) {
			perr(p, "more than %d groups", CONF_MAX_GROUPS);
			rc = -1;
			break;
		}
		if (rate_set_parse(colon + 1,
			&c->limit_group_sets[c->nlimit_groups], err,
			sizeof(err)) == -1) {
			perr(p, "group %s: %s", name, err);
			rc = -1;
			continue;
		}
		c->limit_group_names[c->nlimit_groups++] = strdup(name);
	}
	free(copy);
	return rc;
}

static int
set_scope(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	if (strcmp(v, "node") == 0 || strcmp(v, "global") == 0) {
		*(int *)f = strcmp(v, "global") == 0;
		return 0;
	}
	perr(p, "'%s' is not node or global", v);
	return -1;
}

/* issue 18: convlog: what of a conversation is kept (enum conv_level). */
static int
set_conv(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	static const char *const names[] = {[CONV_OFF] = "off",
	    [CONV_METADATA] = "metadata",
	    [CONV_FULL] = "full"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i]) == 0) {
			*(int *)f = (int)i;
			return 0;
		}
	perr(p, "'%s' is not off, metadata or full", v);
	return -1;
}

/* An ending's charge without usage: the hold, or an estimate. */
static int
set_charge(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	static const char *const names[] = {
	    [CHARGE_HOLD] = "hold", [CHARGE_ESTIMATE] = "estimate"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i]) == 0) {
			*(int *)f = (int)i;
			return 0;
		}
	perr(p, "'%s' is not hold or estimate", v);
	return -1;
}

/* USD per million tokens -> micro-USD per million; empty = off. */
static int
set_flat(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	int64_t n;

	if (*v == '\0') {
		*(int64_t *)f = -1;
		return 0;
	}
	if (money_parse(v, &n) == -1 || n < 0 || n % 1000 != 0 ||
	    n > 1000000 * NANO_PER_USD) {
		perr(p,
		    "'%s' is not a price in USD per million tokens with at "
		    "most 6 decimals",
		    v);
		return -1;
	}
	*(int64_t *)f = n / 1000;
	return 0;
}

/* A USD amount (up to 9 decimals) as nano-USD; empty or 0: off (0). */
static int
set_usd(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	int64_t n = 0;

	(void)min;
	if (*v != '\0' &&
	    (money_parse(v, &n) == -1 || n < 0 ||
		(uint64_t)n > max * (uint64_t)NANO_PER_USD)) {
		perr(p, "'%s' is not an amount in USD from 0 to %llu", v,
		    (unsigned long long)max);
		return -1;
	}
	*(int64_t *)f = n;
	return 0;
}

/*
 * "rpd=200, rpm=20, min_interval_ms=5000": the limits each imported upstream
 * key gets (seed 004's OpenRouter free tier); a name left out is no limit.
 */
static int
set_key_limits(
    struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	static const char *const names[] = {"rpm", "rpd", "min_interval_ms"};
	struct conf_key_limits lim = {-1, -1, 0};
	int64_t *slot[3] = {&lim.rpm, &lim.rpd, &lim.min_interval_ms};
	char buf[256], *save = NULL, *tok, *eq;
	uint64_t n;
	size_t i;

	if (strlen(v) >= sizeof(buf))
		goto bad;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		if ((eq = strchr(tok, '=')) == NULL)
			goto bad;
		*eq++ = '\0';
		for (i = 0; i < 3 && strcmp(names[i], tok) != 0; i++)
			;
		if (i == 3 || util_parse_u64(eq, 0, 100000000, &n) == -1)
			goto bad;
		*slot[i] = (int64_t)n;
	}
	*(struct conf_key_limits *)f = lim;
	return 0;
bad:
	perr(p,
	    "'%s' is not a list of rpm=N, rpd=N, min_interval_ms=N "
	    "(whole numbers up to 100000000)",
	    v);
	return -1;
}

/* "plugins:add_usd=0.02, top_k:free": parameters allowed with a price. */
static int
set_allow(struct parse *p, void *f, const char *v, uint64_t min, uint64_t max)
{
	char err[256];

	set_str(p, f, v, min, max);
	if (allow_parser == NULL)
		snprintf(err, sizeof(err), "no parser for allow_params");
	else if (allow_parser(v, p->c->allow_params, &p->c->nallow_params, err,
		     sizeof(err)) == 0)
		return 0;
	p->c->nallow_params = 0;
	perr(p, "%s", err);
	return -1;
}

void
conf_set_allow_parser(conf_allow_fn fn)
{
	allow_parser = fn;
}

#define CO(f) offsetof(struct conf, f)
#define U32   0xffffffffu

/* clang-format off */
static const struct conf_key keys[] = {
	{ "server", "listen",		 set_listen,  CO(listen),	      0, 0 },
	{ "server", "listen_mode",	 set_mode,    CO(listen_mode),	      0, 0 },
	{ "server", "listen_backlog",	 set_uint,    CO(listen_backlog),     1, 65535 },
	{ "server", "workers",		 set_uint,    CO(workers),	      1, 256 },
	{ "server", "threads",		 set_uint,    CO(threads),	      1, 256 },
	{ "server", "max_requests",	 set_u64,     CO(max_requests),       0, UINT64_MAX },
	{ "server", "graceful_timeout",	 set_uint,    CO(graceful_timeout),   1, 86400 },
	{ "server", "stop_timeout",	 set_uint,    CO(stop_timeout),	      1, 3600 },
	{ "server", "respawn_threshold", set_uint,    CO(respawn_threshold),  1, 1000 },
	{ "server", "respawn_interval",	 set_uint,    CO(respawn_interval),   1, 86400 },
	{ "server", "pid_file",		 set_str,     CO(pid_file),	      0, 0 },
	{ "server", "run_dir",		 set_str,     CO(run_dir),	      0, 0 },
	{ "server", "state_dir",	 set_str,     CO(state_dir),	      0, 0 },
	{ "server", "mount_prefix",	 set_prefix,  CO(mount_prefix),	      0, 0 },
	{ "http",   "max_body",		 set_size,    CO(max_body),	      1024, 1ull << 30 },
	{ "http",   "max_json_depth",	 set_uint,    CO(max_json_depth),     2, 1024 },
	{ "http",   "max_control_body",	 set_size,    CO(max_control_body),   1024, 1ull << 30 },
	{ "http",   "max_json_elements", set_u64,     CO(max_json_elements),  16, 100000000 },
	{ "http",   "cors_origins",	 set_origins, CO(cors_origins_raw),   0, 0 },
	{ "http",   "cors_max_age",	 set_uint,    CO(cors_max_age),	      0, 86400 },
	{ "http",   "www_dir",		 set_str,     CO(www_dir),	      0, 0 },
	{ "log",    "level",		 set_level,   CO(log_level),	      0, 0 },
	{ "log",    "file",		 set_str,     CO(log_file),	      0, 0 },
	{ "log",    "access_file",	 set_str,     CO(access_file),	      0, 0 },
	{ "db",     "host",		 set_str,     CO(db_host),	      0, 0 },
	{ "db",     "port",		 set_uint,    CO(db_port),	      1, 65535 },
	{ "db",     "socket",		 set_str,     CO(db_socket),	      0, 0 },
	{ "db",     "user",		 set_str,     CO(db_user),	      0, 0 },
	{ "db",     "password",		 set_str,     CO(db_password),	      0, 0 },
	{ "db",     "password_file",	 set_str,     CO(db_password_file),   0, 0 },
	{ "db",     "name",		 set_str,     CO(db_name),	      0, 0 },
	{ "db",     "pool_size",	 set_uint,    CO(db_pool_size),	      0, 256 },
	{ "db",     "batch_rows",	 set_uint,    CO(db_batch_rows),      1, 128 },
	{ "db",     "connect_timeout",	 set_uint,    CO(db_connect_timeout), 1, 3600 },
	{ "db",     "read_timeout",	 set_uint,    CO(db_read_timeout),    1, 3600 },
	{ "db",     "write_timeout",	 set_uint,    CO(db_write_timeout),   1, 3600 },
	{ "db",     "schema_dir",	 set_str,     CO(schema_dir),	      0, 0 },
	/* issue 19 (multinode): the read replica. */
	{ "db",     "replica_host",	 set_str,     CO(db_replica_host),    0, 0 },
	{ "db",     "replica_port",	 set_uint,    CO(db_replica_port),    1, 65535 },
	{ "db",     "replica_socket",	 set_str,     CO(db_replica_socket),  0, 0 },
	{ "db",     "replica_user",	 set_str,     CO(db_replica_user),    0, 0 },
	{ "db",     "replica_password_file", set_str, CO(db_replica_password_file), 0, 0 },
	{ "db",     "replica_pool_size", set_uint,  CO(db_replica_pool_size), 1, 64 },
	{ "db",     "replica_max_lag",	 set_uint,    CO(db_replica_max_lag), 0, 86400 },
	{ "auth",   "registration",	 set_registration, CO(registration),  0, 0 },
	{ "auth",   "allow_query_key",	 set_bool,    CO(auth_allow_query_key), 0, 0 },
	{ "auth",   "session_ttl",	 set_uint,    CO(session_ttl),	      60, 2592000 },
	{ "auth",   "login_max_failures", set_uint,   CO(login_max_failures), 1, 1000 },
	{ "auth",   "login_max_failures_per_address", set_uint, CO(login_max_failures_per_address), 1, 100000 },
	{ "auth",   "login_window",	 set_uint,    CO(login_window),	      1, 86400 },
	{ "auth",   "register_per_hour", set_uint,    CO(register_per_hour),  0, 100000 },
	{ "auth",   "max_keys_per_user", set_uint,    CO(max_keys_per_user),  1, 10000 },
	/* issue 18: compat */
	{ "auth",   "basic",		 set_bool,    CO(auth_basic),	      0, 0 },
	{ "chat",   "default_max_tokens", set_uint,   CO(default_max_tokens), 1, 1000000 },
	{ "chat",   "allow_params",	 set_allow,   CO(allow_params_raw),   0, 0 },
	{ "chat",   "hold_ttl",		 set_uint,    CO(hold_ttl),	      5, 86400 },
	{ "chat",   "keepalive",	 set_uint,    CO(keepalive),	      1, 300 },
	{ "chat",   "connect_timeout",	 set_uint,    CO(connect_timeout),    1, 300 },
	{ "chat",   "first_byte_timeout", set_uint,   CO(first_byte_timeout), 1, 3600 },
	{ "chat",   "idle_timeout",	 set_uint,    CO(idle_timeout),	      1, 3600 },
	{ "chat",   "sweep_interval",	 set_uint,    CO(sweep_interval),     0, 86400 },
	{ "chat",   "drain_timeout",	 set_uint,    CO(drain_timeout),      0, 3600 },
	{ "chat",   "max_stream_seconds", set_uint,   CO(max_stream_seconds), 1, 86400 },
	{ "chat",   "retry_after_timeout", set_bool,  CO(retry_after_timeout), 0, 0 },
	{ "chat",   "charge_client_gone", set_charge, CO(charge_client_gone), 0, 0 },
	{ "chat",   "charge_cut",	 set_charge,  CO(charge_cut),	      0, 0 },
	{ "chat",   "charge_timeout",	 set_charge,  CO(charge_timeout),     0, 0 },
	{ "billing", "commission_percent", set_percent, CO(commission_bp),    0, 0 },
	{ "billing", "group_commission", set_groups,  CO(group_commission_raw), 0, 0 },
	{ "billing", "flat_price",	 set_flat,    CO(flat_price),	      0, 0 },
	{ "billing", "lease",		 set_usd,     CO(lease_nano),	      0, 1000 },
	{ "billing", "lease_idle",	 set_uint,    CO(lease_idle),	      1, 3600 },
	{ "billing", "journal_sync",	 set_bool,    CO(journal_sync),	      0, 0 },
	{ "billing", "exact_journal",	 set_bool,    CO(exact_journal),      0, 0 },
	{ "billing", "hold_batch",	 set_bool,    CO(hold_batch),	      0, 0 },
	{ "billing", "tokenizer_dir",	 set_str,     CO(tokenizer_dir),      0, 0 },
	/* issue 18: money */
	{ "billing", "webhook_secret_file", set_str,  CO(webhook_secret_file), 0, 0 },
	{ "billing", "webhook_tolerance", set_uint,   CO(webhook_tolerance),  1, 86400 },
	/* issue 18: testmode */
	{ "billing", "test_credits",	 set_usd,     CO(test_credits),	      0, 1000000 },
	{ "billing", "test_real_models", set_bool,    CO(test_real_models),   0, 0 },
	{ "limits", "defaults",		 set_limits,  CO(limits_defaults_raw), 0, 0 },
	{ "limits", "group_defaults",	 set_limit_groups, CO(limits_groups_raw), 0, 0 },
	{ "limits", "scope",		 set_scope,   CO(limits_global),      0, 0 },
	{ "limits", "global_share",	 set_uint,    CO(global_share),	      1, 100 },
	{ "cache",  "ttl",		 set_uint,    CO(cache_ttl),	      0, 3600 },
	{ "upstream", "failures_to_open", set_uint,   CO(failures_to_open),   1, 1000 },
	{ "upstream", "open_seconds",	 set_uint,    CO(open_seconds),	      1, 3600 },
	{ "security", "master_key_file", set_str,     CO(master_key_file),    0, 0 },
	{ "security", "allow_plain_http", set_bool,   CO(allow_plain_http),   0, 0 },
	{ "debug",  "routes",		 set_bool,    CO(debug_routes),	      0, 0 },
	/* issue 18: did */
	{ "did",    "enabled",		 set_bool,    CO(did_enabled),	      0, 0 },
	{ "did",    "window",		 set_uint,    CO(did_window),	      1, 86400 },
	{ "did",    "group",		 set_str,     CO(did_group),	      0, 0 },
	{ "did",    "initial_credits",	 set_usd,     CO(did_initial_credits), 0, 1000000 },
	/* issue 18: openrouter */
	{ "openrouter", "passthrough_unknown", set_bool, CO(or_passthrough_unknown), 0, 0 },
	{ "openrouter", "passthrough_ceiling", set_usd, CO(or_ceiling_nano), 0, 1000 },
	{ "openrouter", "provisioning_key_file", set_str, CO(or_provisioning_key_file), 0, 0 },
	{ "openrouter", "provider",	 set_str,     CO(or_provider),	      0, 0 },
	{ "upstream", "default_key_limits", set_key_limits, CO(ukey_default_limits), 0, 0 },
	/* issue 18: convlog */
	{ "logging", "conversations",	 set_conv,    CO(conversations),      0, 0 },
	{ "logging", "retention_days",	 set_uint,    CO(retention_days),     1, 36500 },
	/* issue 19: obs */
	{ "metrics", "allow",		 set_str,     CO(metrics_allow),      0, 0 },
	{ "log",    "format",		 set_log_format, CO(log_json),	      0, 0 },
	/* issue 19: usage_records' partitions (tollgate maintain) */
	{ "maintain", "partitions_ahead", set_uint,   CO(maint_ahead),	      1, 120 },
	{ "maintain", "usage_months",	 set_uint,    CO(maint_usage_months), 0, 1200 },
	{ "maintain", "archive",	 set_bool,    CO(maint_archive),      0, 0 },
};
/* clang-format on */

struct conf *
conf_defaults(void)
{
	struct conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->listen = strdup("unix:/run/tollgate/tollgate.sock");
	c->listen_mode = 0660;
	c->test_credits = NANO_PER_USD; /* issue 18: $1.00 a day */
	/* A burst of connections overflows a short queue: a 502, not a wait. */
	c->listen_backlog = 4096; /* (the kernel caps it at somaxconn) */
	c->workers = 2;
	c->threads = 4;
	c->graceful_timeout = 600;
	c->stop_timeout = 5;
	c->respawn_threshold = 10;
	c->respawn_interval = 60;
	c->run_dir = strdup("/run/tollgate");
	c->did_window = 300;
	c->did_group = strdup("did");
	c->mount_prefix = strdup("");
	c->max_body = 8u << 20;
	c->max_json_depth = 64;
	c->max_control_body = 64u << 10;
	c->max_json_elements = 100000;
	c->cors_max_age = 600;
	c->www_dir = strdup(TG_PKGDATADIR "/www");
	c->log_level = LOG_INFO;
	c->db_host = strdup("localhost");
	c->db_port = 3306;
	c->db_user = strdup("tollgate");
	c->db_name = strdup("tollgate");
	c->db_connect_timeout = 3;
	c->db_read_timeout = 30;
	c->db_write_timeout = 30;
	c->db_replica_port = 3306; /* issue 19 (multinode): the read replica */
	c->db_replica_pool_size = 2;
	c->db_replica_max_lag = 5;
	c->maint_ahead = 3;   /* issue 19: months of partitions ahead */
	c->maint_archive = 1; /* retired months are kept as tables */
	c->schema_dir = strdup(TG_PKGDATADIR "/schema");
	c->tokenizer_dir = strdup(TG_PKGDATADIR "/tokenizers");
	c->registration = REG_OPEN;
	c->session_ttl = 43200;
	c->login_max_failures = 10;
	c->login_max_failures_per_address = 50;
	c->login_window = 900;
	c->register_per_hour = 10;
	c->max_keys_per_user = 50;
	c->auth_basic = 1; /* issue 18: compat */
	c->default_max_tokens = 4096;
	c->hold_ttl = 900;
	c->keepalive = 15;
	c->connect_timeout = 10;
	c->first_byte_timeout = 300;
	c->idle_timeout = 300;
	c->sweep_interval = 30;
	c->drain_timeout = 30;
	c->max_stream_seconds = 600;
	c->commission_bp = 500;
	c->flat_price = -1;
	rate_set_default(&c->limits_default, c->workers * c->threads);
	c->global_share = 10;
	c->failures_to_open = 3;
	c->open_seconds = 30;
	c->cache_ttl = 5;
	c->db_batch_rows = 16;
	c->lease_idle = 10;
	c->lease_nano = NANO_PER_USD; /* issue 20: on (lease.c: grants) */
	c->exact_journal = 1; /* issue 20: the exact path's settle, too */
	c->hold_batch = 1;    /* issue 20: and its holds, together */
	c->or_ceiling_nano = NANO_PER_USD / 10;
	c->or_provider = strdup("openrouter");
	c->ukey_default_limits.rpm = c->ukey_default_limits.rpd = -1;
	c->webhook_tolerance = 300; /* issue 18: money */
	c->retention_days = 30;	    /* issue 18: convlog */
	return c;
}

static int
on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		keys[i].set(p, (char *)p->c + keys[i].off, value, keys[i].min,
		    keys[i].max);
		/* Errors are counted in p; keep parsing to report them all. */
		return 1;
	}
	if (*section == '\0')
		perr(p, "key '%s' must be inside a section such as [server]",
		    name);
	else
		perr(p, "unknown key '%s' in section [%s]", name, section);
	return 1;
}

/* inih reads line by line through us, so we know the line number. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t n;

	if ((n = getline(&p->linebuf, &p->linecap, p->fp)) == -1)
		return NULL;
	p->line++;
	if (n > num - 3) {
		perr(p, "line too long (at most %d characters)", num - 3);
		str[0] = '\n';
		str[1] = '\0';
		return str;
	}
	memcpy(str, p->linebuf, (size_t)n + 1);
	return str;
}

static int
read_secret_file(struct parse *p, const char *key, const char *path, char **out)
{
	struct stat st;
	FILE *fp;
	char buf[512];
	size_t n;

	if ((fp = fopen(path, "re")) == NULL) {
		perr(p, "%s %s: %s", key, path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 0007) != 0) {
		perr(p, "%s %s is readable by others; chmod o-rwx it", key,
		    path);
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	free(*out);
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

struct conf *
conf_load(const char *path, conf_err_fn errfn, void *arg)
{
	struct parse p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.file = path;
	p.errfn = errfn;
	p.arg = arg;
	if ((p.c = conf_defaults()) == NULL)
		return NULL;
	p.c->path = strdup(path);
	if ((p.fp = fopen(path, "re")) == NULL) {
		perr(&p, "cannot open: %s", strerror(errno));
		goto out;
	}
#if HAVE_DECL_INI_MAX_LINE && HAVE_DECL_INI_USE_STACK &&                       \
    HAVE_DECL_INI_INITIAL_ALLOC
	/* Lists of origins outgrow inih's default 200-byte line. */
	ini_use_stack = 0;
	ini_initial_alloc = CONF_MAX_LINE;
	ini_max_line = CONF_MAX_LINE;
#endif
	rc = ini_parse_stream(reader, &p, on_pair, &p);
	if (rc > 0) {
		/* inih only reports its first syntax error's line. */
		p.line = (unsigned)rc;
		perr(&p, "syntax error: expected [section] or key = value");
	} else if (rc < 0) {
		perr(&p, "cannot parse the file");
	}
	p.line = 0;
	/* issue 20: no state_dir: the journal stays in run_dir, as before. */
	if (p.c->state_dir == NULL && p.c->run_dir != NULL)
		p.c->state_dir = strdup(p.c->run_dir);
	/* No [limits] defaults line: the built-in ones, sized by the slots. */
	if (p.c->limits_defaults_raw == NULL)
		rate_set_default(
		    &p.c->limits_default, p.c->workers * p.c->threads);
	if (p.c->db_password_file != NULL)
		read_secret_file(&p, "db.password_file", p.c->db_password_file,
		    &p.c->db_password);
	/* issue 19 (multinode): the replica's password. */
	if (p.c->db_replica_password_file != NULL)
		read_secret_file(&p, "db.replica_password_file",
		    p.c->db_replica_password_file, &p.c->db_replica_password);
	/* issue 18: money: the webhook's secrets, one a line. */
	if (p.c->webhook_secret_file != NULL)
		read_secret_file(&p, "billing.webhook_secret_file",
		    p.c->webhook_secret_file, &p.c->webhook_secret);
out:
	if (p.fp != NULL)
		fclose(p.fp);
	free(p.linebuf);
	if (p.errors > 0) {
		conf_free(p.c);
		return NULL;
	}
	return p.c;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->db_password != NULL)
		explicit_bzero(c->db_password, strlen(c->db_password));
	/* issue 19 (multinode): not a key, so freed here. */
	if (c->db_replica_password != NULL) {
		explicit_bzero(
		    c->db_replica_password, strlen(c->db_replica_password));
		free(c->db_replica_password);
	}
	if (c->webhook_secret != NULL) {
		explicit_bzero(c->webhook_secret, strlen(c->webhook_secret));
		free(c->webhook_secret);
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].set == set_str || keys[i].set == set_listen ||
		    keys[i].set == set_prefix || keys[i].set == set_origins ||
		    keys[i].set == set_groups || keys[i].set == set_limits ||
		    keys[i].set == set_limit_groups || keys[i].set == set_allow)
			free(*(char **)((char *)c + keys[i].off));
	for (i = 0; i < c->ncors_origins; i++)
		free(c->cors_origins[i]);
	for (i = 0; i < c->ngroups; i++)
		free(c->group_names[i]);
	for (i = 0; i < c->nlimit_groups; i++)
		free(c->limit_group_names[i]);
	free(c->path);
	free(c);
}

const struct rate_set *
conf_group_limits(const struct conf *c, const char *group)
{
	unsigned i;

	for (i = 0; group != NULL && i < c->nlimit_groups; i++)
		if (strcmp(c->limit_group_names[i], group) == 0)
			return &c->limit_group_sets[i];
	return &c->limits_default;
}

unsigned
conf_group_commission(const struct conf *c, const char *group)
{
	unsigned i;

	for (i = 0; group != NULL && i < c->ngroups; i++)
		if (strcmp(c->group_names[i], group) == 0)
			return c->group_bp[i];
	return c->commission_bp;
}

const char *
conf_default_path(void)
{
	const char *e;

	if ((e = getenv("TOLLGATE_CONF")) != NULL && *e != '\0')
		return e;
	return TG_SYSCONFDIR "/tollgate.conf";
}

int
conf_key_at(size_t i, const char **section, const char **name)
{
	if (i >= sizeof(keys) / sizeof(keys[0]))
		return -1;
	*section = keys[i].section;
	*name = keys[i].name;
	return 0;
}

int
conf_origin_allowed(const struct conf *c, const char *origin)
{
	unsigned i;

	if (origin == NULL || *origin == '\0')
		return 0;
	if (c->cors_any)
		return 1;
	for (i = 0; i < c->ncors_origins; i++)
		if (strcasecmp(c->cors_origins[i], origin) == 0)
			return 1;
	return 0;
}
