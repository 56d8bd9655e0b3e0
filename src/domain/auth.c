/* auth.c: who is calling: API keys and dashboard sessions, with the key's restrictions */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/util.h"
#include "io/db.h"
#include "store/q_key.h"
#include "store/q_user.h"
#include "domain/auth.h"
#include "domain/op.h"

#define INVALID_MSG                                                            \
	"the API key is not valid: check that it was copied whole, or create " \
	"a new one"

void
auth_mask(const char *prefix, const char *last4, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s...%s", prefix, last4);
}

/* Parse "addr[/bits]" into 16 bytes (IPv4 mapped into ::ffff:0:0/96). */
static int
parse_net(const char *s, unsigned char addr[16], int *bits)
{
	char buf[64], *slash;
	struct in_addr v4;
	long b;
	char *end;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	*bits = -1;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		if (strspn(slash, "0123456789") != strlen(slash) ||
		    *slash == '\0' || strlen(slash) > 3)
			return -1;
		b = strtol(slash, &end, 10);
		if (b > 128)
			return -1;
		*bits = (int)b;
	}
	if (inet_pton(AF_INET, buf, &v4) == 1) {
		if (*bits > 32)
			return -1;
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &v4, 4);
		*bits = *bits < 0 ? 128 : *bits + 96;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		if (*bits < 0)
			*bits = 128;
		return 0;
	}
	return -1;
}

int
auth_cidr_valid(const char *s)
{
	unsigned char a[16];
	int bits;

	return parse_net(s, a, &bits) == 0;
}

static int
in_net(const unsigned char net[16], int bits, const unsigned char a[16])
{
	int full = bits / 8, rest = bits % 8;

	if (memcmp(net, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((net[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

int
auth_net_within(const char *inner, const char *outer)
{
	unsigned char in[16], out[16];
	int ibits, obits;

	if (parse_net(inner, in, &ibits) == -1 ||
	    parse_net(outer, out, &obits) == -1)
		return 0;
	return ibits >= obits && in_net(out, obits, in);
}

/*
 * The allowlist in a key column: *list NULL when there is no restriction
 * (absent, "" or []).  A column that does not parse as an array returns -1:
 * callers deny, so a damaged row never lifts a restriction.
 */
static int
load_list(const char *json, json_t **list)
{
	json_t *j;

	*list = NULL;
	if (json == NULL || *json == '\0')
		return 0;
	if ((j = json_loads(json, 0, NULL)) == NULL || !json_is_array(j)) {
		json_decref(j);
		return -1;
	}
	if (json_array_size(j) == 0) {
		json_decref(j);
		return 0;
	}
	*list = j;
	return 0;
}

int
auth_ip_allowed(const char *allowlist, const char *addr)
{
	unsigned char a[16], net[16];
	json_t *list, *v;
	size_t i;
	int bits, abits, ok = 0;

	if (load_list(allowlist, &list) == -1)
		return 0;
	if (list == NULL)
		return 1;
	if (addr != NULL && parse_net(addr, a, &abits) == 0)
		json_array_foreach(list, i, v) {
			if (json_is_string(v) &&
			    parse_net(json_string_value(v), net, &bits) == 0 &&
			    in_net(net, bits, a))
				ok = 1;
		}
	json_decref(list);
	return ok;
}

/* The host of "scheme://host[:port]/..." (lower case) into out. */
static int
url_host(const char *url, char *out, size_t outlen)
{
	const char *p = strstr(url, "://"), *end, *at;
	size_t n, i;

	p = p != NULL ? p + 3 : url;
	/* "user:pass@host": the host is what follows the last '@' of the authority. */
	end = p + strcspn(p, "/?#");
	for (at = p; at < end; at++)
		if (*at == '@')
			p = at + 1;
	if ((end = p + strcspn(p, ":/?#")) == p)
		return -1;
	n = (size_t)(end - p);
	if (n >= outlen)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
	out[n] = '\0';
	return 0;
}

static int
host_matches(const char *pat, const char *host)
{
	size_t pl, hl;

	if (strncmp(pat, "*.", 2) == 0) {
		pl = strlen(pat + 1);
		hl = strlen(host);
		/* "*.a.com" matches "x.a.com" and deeper, not "a.com" itself. */
		return hl > pl && strcasecmp(host + hl - pl, pat + 1) == 0;
	}
	return strcasecmp(pat, host) == 0;
}

int
auth_host_within(const char *inner, const char *outer)
{
	if (strcasecmp(inner, outer) == 0)
		return 1;
	/* "*.a.com" covers "x.a.com" and "*.x.a.com"; only itself covers it. */
	if (strncmp(inner, "*.", 2) == 0)
		return strncmp(outer, "*.", 2) == 0 &&
		    host_matches(outer, inner + 2);
	return host_matches(outer, inner);
}

int
auth_referrer_allowed(const char *allowlist, const char *url)
{
	char host[256];
	json_t *list, *v;
	size_t i;
	int ok = 0;

	if (load_list(allowlist, &list) == -1)
		return 0;
	if (list == NULL)
		return 1;
	if (url != NULL && url_host(url, host, sizeof(host)) == 0)
		json_array_foreach(list, i, v) {
			if (json_is_string(v) &&
			    host_matches(json_string_value(v), host))
				ok = 1;
		}
	json_decref(list);
	return ok;
}

unsigned
auth_perms_parse(const char *set)
{
	unsigned p = 0;

	if (set == NULL)
		return 0;
	if (strstr(set, "read") != NULL)
		p |= PERM_READ;
	if (strstr(set, "write") != NULL)
		p |= PERM_WRITE;
	if (strstr(set, "admin") != NULL)
		p |= PERM_ADMIN;
	if (strstr(set, "keys") != NULL)
		p |= PERM_KEYS;
	return p;
}

enum tg_err
auth_check_perms(struct op *op, const struct principal *p, unsigned perms)
{
	if ((perms & PERM_ADMIN) && !(p->perms & PERM_ADMIN && p->admin_role))
		return op_fail(op, TG_EPERM, "insufficient_permissions", NULL,
		    "this route needs an admin key of an admin user");
	if ((perms & PERM_KEYS) && !(p->perms & PERM_KEYS))
		return op_fail(op, TG_EPERM, "insufficient_permissions", NULL,
		    "managing API keys needs a dashboard session or a key "
		    "with the 'keys' permission; this key lacks it");
	if ((perms & p->perms & (PERM_READ | PERM_WRITE)) !=
	    (perms & (PERM_READ | PERM_WRITE)))
		return op_fail(op, TG_EPERM, "insufficient_permissions", NULL,
		    "this API key lacks the '%s' permission needed here",
		    perms & PERM_WRITE ? "write" : "read");
	return TG_OK;
}

int
auth_whole_account(const struct principal *p)
{
	return p->session || (p->perms & (PERM_WRITE | PERM_KEYS)) != 0;
}

enum tg_err
auth_by_session(struct op *op, struct db_conn *c,
    const unsigned char hash[CRYPTO_SHA256_LEN], struct principal *p)
{
	struct session_row s;
	enum tg_err rc;

	rc = q_session_auth(c, op->arena, hash, CRYPTO_SHA256_LEN, &s);
	if (rc == TG_ENOENT)
		return op_fail(op, TG_EAUTH, "invalid_session", NULL,
		    "the session has expired or was logged out: log in again");
	if (rc != TG_OK)
		return op_fail(op, rc, NULL, NULL, NULL);
	if (strcmp(s.status, "active") != 0)
		return op_fail(op, TG_EPERM, "account_suspended", NULL,
		    "this account is %s", s.status);
	p->user_id = s.user_id;
	snprintf(p->user_pub, sizeof(p->user_pub), "%s", s.user_pub);
	p->admin_role = strcmp(s.role, "admin") == 0;
	p->perms = PERM_READ | PERM_WRITE | PERM_KEYS |
	    (p->admin_role ? PERM_ADMIN : 0);
	p->session = 1;
	snprintf(p->session_expires, sizeof(p->session_expires), "%s",
	    s.expires != NULL ? s.expires : "");
	return TG_OK;
}

/* Its purpose in the HMAC, so the token can key nothing else by accident. */
#define CSRF_LABEL "tollgate csrf v1"

int
auth_csrf(const char *token, char out[AUTH_CSRF_LEN + 1])
{
	unsigned char mac[CRYPTO_SHA256_LEN];

	*out = '\0';
	if (crypto_hmac_sha256(token, strlen(token), CSRF_LABEL,
		sizeof(CSRF_LABEL) - 1, mac) == -1)
		return -1;
	crypto_hex(mac, sizeof(mac), out);
	crypto_wipe(mac, sizeof(mac));
	return 0;
}

int
auth_csrf_ok(const char *token, const char *given)
{
	char want[AUTH_CSRF_LEN + 1];
	int ok;

	if (given == NULL || strlen(given) != AUTH_CSRF_LEN)
		return 0;
	ok = auth_csrf(token, want) == 0 &&
	    crypto_equal(want, given, AUTH_CSRF_LEN);
	crypto_wipe(want, sizeof(want));
	return ok;
}

/*
 * requests_used and last_used_at of keys without a request cap, counted here
 * and written once a second (or when the table fills) in one statement per
 * key, instead of one UPDATE per request.  A worker killed with -9 loses at
 * most a second of these counts; nothing here is money or a limit.  A write
 * that fails (the database is down or restarting) puts its counts back for
 * the next one: an outage delays them, it does not drop them.
 */
#define TOUCH_SLOTS    256
#define TOUCH_INTERVAL 1.0

static struct {
	pthread_mutex_t mu;
	double last;
	size_t n;
	struct touch {
		int64_t key, count;
	} t[TOUCH_SLOTS];
} touches = {.mu = PTHREAD_MUTEX_INITIALIZER};

/*
 * Put counts the database did not take back into the table.  Only when the
 * table is full of other keys are they dropped (logged).  A write lost after
 * the server committed it is counted twice: a count, not money.
 */
static void
touch_keep(const struct touch *t, size_t n)
{
	int64_t lost = 0;
	size_t i, j;

	pthread_mutex_lock(&touches.mu);
	for (i = 0; i < n; i++) {
		for (j = 0; j < touches.n && touches.t[j].key != t[i].key; j++)
			;
		if (j == TOUCH_SLOTS) {
			lost += t[i].count;
			continue;
		}
		if (j == touches.n)
			touches.t[touches.n++] = (struct touch){t[i].key, 0};
		touches.t[j].count += t[i].count;
	}
	pthread_mutex_unlock(&touches.mu);
	if (lost > 0)
		log_msg(LOG_WARN, "could not record %lld request(s) of keys",
		    (long long)lost);
}

/* Write the counts; those not written go back (touch_keep). */
static void
touch_write(struct db_conn *c, struct arena *a, const struct touch *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (q_key_touch_n(c, a, t[i].key, t[i].count) != TG_OK)
			break; /* the rest would fail alike: all wait */
	if (i < n) {
		log_msg(LOG_WARN,
		    "request counts of %zu key(s) not written; kept for the "
		    "next try",
		    n - i);
		touch_keep(t + i, n - i);
	}
}

/* Take the pending counts if due (or force); returns how many. */
static size_t
touch_take(struct touch *out, int force)
{
	size_t n = 0;
	double now = util_now();

	pthread_mutex_lock(&touches.mu);
	if (force || touches.n == TOUCH_SLOTS ||
	    now - touches.last >= TOUCH_INTERVAL) {
		n = touches.n;
		memcpy(out, touches.t, n * sizeof(*out));
		touches.n = 0;
		touches.last = now;
	}
	pthread_mutex_unlock(&touches.mu);
	return n;
}

static void
touch_later(struct db_conn *c, struct arena *a, int64_t key)
{
	struct touch *out;
	size_t i, n;

	pthread_mutex_lock(&touches.mu);
	for (i = 0; i < touches.n && touches.t[i].key != key; i++)
		;
	if (i < TOUCH_SLOTS) {
		if (i == touches.n)
			touches.t[touches.n++] = (struct touch){key, 0};
		touches.t[i].count++;
	}
	pthread_mutex_unlock(&touches.mu);
	if ((out = arena_alloc(a, sizeof(touches.t))) == NULL)
		return;
	if ((n = touch_take(out, 0)) > 0)
		touch_write(c, a, out, n);
	if (i == TOUCH_SLOTS) { /* it did not fit: now it does */
		out[0] = (struct touch){key, 1};
		touch_write(c, a, out, 1);
	}
}

void
auth_flush(struct db_pool *pool)
{
	struct touch t[TOUCH_SLOTS];
	struct db_conn *c;
	struct arena *a;
	size_t n;

	if ((n = touch_take(t, 1)) == 0)
		return;
	if (db_get(pool, &c) != TG_OK) {
		touch_keep(t, n); /* the database is away: next time */
		return;
	}
	if ((a = arena_new(4096)) != NULL) {
		touch_write(c, a, t, n);
		arena_free(a);
	} else
		touch_keep(t, n);
	db_put(pool, c);
}

/*
 * Found by index; confirm in constant time (defence in depth).  The row may
 * be a cached copy, so times are compared here, not in SQL: a rotated-out
 * secret stops at its grace end, not at the copy's.
 */
static int
secret_matches(const struct key_auth_row *k,
    const unsigned char hash[CRYPTO_SHA256_LEN], int64_t now_us)
{
	return (k->hash_len == CRYPTO_SHA256_LEN &&
		   crypto_equal(k->hash, hash, CRYPTO_SHA256_LEN)) ||
	    (k->prev != NULL && k->prev_len == CRYPTO_SHA256_LEN &&
		crypto_equal(k->prev, hash, CRYPTO_SHA256_LEN) &&
		k->prev_until_us > now_us);
}

/* The key's own restrictions: status, expiry, addresses and sites. */
static enum tg_err
key_usable(struct op *op, const struct key_auth_row *k, const char *key_pub,
    const char *origin, int64_t now_us)
{
	if (strcmp(k->status, "active") != 0)
		return op_fail(op, TG_EPERM, "account_suspended", NULL,
		    "the account of this key is %s", k->status);
	if (!k->active)
		return op_fail(op, TG_EPERM, "key_disabled", NULL,
		    "this API key is disabled: enable it with PUT "
		    "/user/api-keys/%s or use another key",
		    key_pub);
	if (k->expires_us != 0 && k->expires_us <= now_us)
		return op_fail(op, TG_EPERM, "key_expired", NULL,
		    "this API key has expired: create or rotate a key");
	if (!auth_ip_allowed(k->ips, op->addr))
		return op_fail(op, TG_EPERM, "ip_not_allowed", NULL,
		    "this API key may not be used from %s: add the address to "
		    "its ip_allowlist",
		    op->addr != NULL ? op->addr : "this address");
	if (!auth_referrer_allowed(k->refs, origin))
		return op_fail(op, TG_EPERM, "referrer_not_allowed", NULL,
		    "this API key may not be used from this site: add its "
		    "host to the key's referrer_allowlist");
	return TG_OK;
}

/* Count the request against the key's cap, or later when it has none. */
static enum tg_err
key_count(struct op *op, struct db_conn *c, const struct key_auth_row *k)
{
	enum tg_err rc;

	if (k->has_max && k->requests_used >= k->max_requests)
		return op_fail(op, TG_EPERM, "request_cap_reached", NULL,
		    "this API key has used all of its %lld requests: raise "
		    "max_requests or use another key",
		    (long long)k->max_requests);
	if (!k->has_max) {
		/* No cap to enforce: the count can wait for the next batch. */
		touch_later(c, op->arena, k->id);
		return TG_OK;
	}
	if ((rc = q_key_touch(c, op->arena, k->id)) == TG_EPERM)
		return op_fail(op, TG_EPERM, "request_cap_reached", NULL,
		    "this API key has used all of its requests");
	if (rc != TG_OK)
		return op_fail(op, rc, NULL, NULL, NULL);
	return TG_OK;
}

enum tg_err
auth_by_key(struct op *op, struct db_conn *c,
    const unsigned char hash[CRYPTO_SHA256_LEN], const char *origin,
    unsigned perms, struct principal *p)
{
	struct key_auth_row k;
	int64_t now_us;
	enum tg_err rc;

	rc = q_key_auth(c, op->arena, hash, CRYPTO_SHA256_LEN, &k);
	if (rc == TG_ENOENT)
		return op_fail(
		    op, TG_EAUTH, "invalid_api_key", NULL, INVALID_MSG);
	if (rc != TG_OK)
		return op_fail(op, rc, NULL, NULL, NULL);
	now_us = (int64_t)(util_wall() * 1e6);
	if (!secret_matches(&k, hash, now_us))
		return op_fail(
		    op, TG_EAUTH, "invalid_api_key", NULL, INVALID_MSG);
	p->user_id = k.user_id;
	p->key_id = k.id;
	snprintf(p->user_pub, sizeof(p->user_pub), "%s", k.user_pub);
	snprintf(p->key_pub, sizeof(p->key_pub), "%s", k.pub);
	auth_mask(k.prefix, k.last4, p->masked, sizeof(p->masked));
	p->admin_role = strcmp(k.role, "admin") == 0;
	p->perms = auth_perms_parse(k.perms);
	/* issue 18: a gw_test_ key pays from its user's sandbox only. */
	p->test = strncmp(k.prefix, "gw_test_", 8) == 0;
	if ((rc = key_usable(op, &k, p->key_pub, origin, now_us)) != TG_OK ||
	    (rc = auth_check_perms(op, p, perms)) != TG_OK)
		return rc;
	return key_count(op, c, &k);
}
