/* auth.c: who is calling: API keys and dashboard sessions, with the key's restrictions */
#include "config.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/arena.h"
#include "domain/auth.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "http/ctx.h"
#include "io/db.h"
#include "store/stmt.h"
#include "core/log.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "core/util.h"

/* Columns of STMT_KEY_AUTH. */
enum {
	KA_ID,
	KA_PUB,
	KA_USER,
	KA_USER_PUB,
	KA_ROLE,
	KA_STATUS,
	KA_ACTIVE,
	KA_PERMS,
	KA_EXPIRES, /* microseconds since the epoch; 0: never */
	KA_IPS,
	KA_REFS,
	KA_MAXREQ,
	KA_USED,
	KA_PREFIX,
	KA_LAST4,
	KA_HASH,
	KA_PREV,
	KA_PREV_UNTIL
};
/* Columns of STMT_SESSION_AUTH. */
enum { SA_ID, SA_USER, SA_USER_PUB, SA_ROLE, SA_STATUS };

#define MISSING_MSG                                                            \
	"no API key: send it as 'Authorization: Bearer <key>' or "             \
	"'X-API-Key: <key>'"
#define INVALID_MSG                                                            \
	"the API key is not valid: check that it was copied whole, or create " \
	"a new one"

const char *
auth_credential(struct tg_req *r)
{
	const char *h;

	if ((h = req_header(r, "Authorization")) != NULL) {
		if (strncasecmp(h, "Bearer ", 7) != 0)
			return "";
		for (h += 7; *h == ' '; h++)
			;
		return h;
	}
	if ((h = req_header(r, "X-API-Key")) != NULL)
		return h;
	/* The older "user" + "api-key" header pair: the user header is ignored. */
	if ((h = req_header(r, "api-key")) != NULL)
		return h;
	return NULL;
}

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
		json_array_foreach(list, i, v)
		{
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
		json_array_foreach(list, i, v)
		{
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

static const char *
str(const struct db_rows *rows, size_t col)
{
	return rows->v[col].type == DBT_STR ? rows->v[col].s : NULL;
}

/* The route's permission against the credential's (issue order: before the cap). */
static enum tg_err
check_perms(struct tg_req *r, struct tg_resp *resp, const struct principal *p,
    unsigned perms)
{
	if ((perms & PERM_ADMIN) && !(p->perms & PERM_ADMIN && p->admin_role))
		return resp_fail_code(r, resp, TG_EPERM,
		    "insufficient_permissions", NULL,
		    "this route needs an admin key of an admin user");
	if ((perms & PERM_KEYS) && !(p->perms & PERM_KEYS))
		return resp_fail_code(r, resp, TG_EPERM,
		    "insufficient_permissions", NULL,
		    "managing API keys needs a dashboard session or a key "
		    "with the 'keys' permission; this key lacks it");
	if ((perms & p->perms & (PERM_READ | PERM_WRITE)) !=
	    (perms & (PERM_READ | PERM_WRITE)))
		return resp_fail_code(r, resp, TG_EPERM,
		    "insufficient_permissions", NULL,
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
auth_need_account(struct tg_req *r, struct tg_resp *resp)
{
	if (auth_whole_account(r->who))
		return TG_OK;
	return resp_fail_code(r, resp, TG_EPERM, "insufficient_permissions",
	    NULL,
	    "a read-only key reads its own key, its own usage (GET "
	    "/user/usage) and the balance: this needs a dashboard session or "
	    "a key with 'write' or 'keys'");
}

static enum tg_err
by_session(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    const unsigned char hash[CRYPTO_SHA256_LEN], struct principal *p)
{
	struct db_val h = {
	    .type = DBT_STR, .s = (const char *)hash, .len = CRYPTO_SHA256_LEN};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_SESSION_AUTH, &h, 1, &rows, r->arena)) !=
	    TG_OK)
		return resp_fail(r, resp, rc, NULL, NULL);
	if (rows.nrows != 1)
		return resp_fail_code(r, resp, TG_EAUTH, "invalid_session",
		    NULL,
		    "the session has expired or was logged out: log in again");
	if (strcmp(str(&rows, SA_STATUS), "active") != 0)
		return resp_fail_code(r, resp, TG_EPERM, "account_suspended",
		    NULL, "this account is %s", str(&rows, SA_STATUS));
	p->user_id = rows.v[SA_USER].i;
	snprintf(
	    p->user_pub, sizeof(p->user_pub), "%s", str(&rows, SA_USER_PUB));
	p->admin_role = strcmp(str(&rows, SA_ROLE), "admin") == 0;
	p->perms = PERM_READ | PERM_WRITE | PERM_KEYS |
	    (p->admin_role ? PERM_ADMIN : 0);
	p->session = 1;
	return TG_OK;
}

/*
 * requests_used and last_used_at of keys without a request cap, counted here
 * and written once a second (or when the table fills) in one statement per
 * key, instead of one UPDATE per request.  A worker killed with -9 loses at
 * most a second of these counts; nothing here is money or a limit.
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

static void
touch_write(struct db_conn *c, struct arena *a, const struct touch *t, size_t n)
{
	struct db_val p[2];
	size_t i;

	for (i = 0; i < n; i++) {
		p[0] = DB_I64(t[i].count);
		p[1] = DB_I64(t[i].key);
		if (db_exec(c, STMT_KEY_TOUCH_N, p, 2, NULL, a) != TG_OK)
			log_msg(LOG_WARN,
			    "could not record %lld request(s) of a key",
			    (long long)t[i].count);
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

	if ((n = touch_take(t, 1)) == 0 || db_get(pool, &c) != TG_OK)
		return;
	if ((a = arena_new(4096)) != NULL) {
		touch_write(c, a, t, n);
		arena_free(a);
	}
	db_put(pool, c);
}

static enum tg_err
by_key(struct tg_req *r, struct tg_resp *resp, struct db_conn *c,
    const unsigned char hash[CRYPTO_SHA256_LEN], struct principal *p,
    unsigned perms)
{
	struct db_val h = {
	    .type = DBT_STR, .s = (const char *)hash, .len = CRYPTO_SHA256_LEN};
	struct db_val params[2] = {h, h};
	struct db_val id;
	struct db_rows rows, touched;
	const struct db_val *kh, *ph;
	const char *origin;
	int64_t now_us;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_AUTH, params, 2, &rows, r->arena)) !=
	    TG_OK)
		return resp_fail(r, resp, rc, NULL, NULL);
	if (rows.nrows != 1)
		return resp_fail_code(
		    r, resp, TG_EAUTH, "invalid_api_key", NULL, INVALID_MSG);
	/*
	 * Found by index; confirm in constant time (defence in depth).  The
	 * row may be a cached copy, so times are compared here, not in SQL: a
	 * rotated-out secret stops at its grace end, not at the copy's.
	 */
	kh = &rows.v[KA_HASH];
	ph = &rows.v[KA_PREV];
	now_us = (int64_t)(util_wall() * 1e6);
	if (!(kh->len == CRYPTO_SHA256_LEN &&
		crypto_equal(kh->s, hash, CRYPTO_SHA256_LEN)) &&
	    !(ph->type == DBT_STR && ph->len == CRYPTO_SHA256_LEN &&
		crypto_equal(ph->s, hash, CRYPTO_SHA256_LEN) &&
		rows.v[KA_PREV_UNTIL].i > now_us))
		return resp_fail_code(
		    r, resp, TG_EAUTH, "invalid_api_key", NULL, INVALID_MSG);
	p->user_id = rows.v[KA_USER].i;
	p->key_id = rows.v[KA_ID].i;
	snprintf(
	    p->user_pub, sizeof(p->user_pub), "%s", str(&rows, KA_USER_PUB));
	snprintf(p->key_pub, sizeof(p->key_pub), "%s", str(&rows, KA_PUB));
	auth_mask(str(&rows, KA_PREFIX), str(&rows, KA_LAST4), p->masked,
	    sizeof(p->masked));
	p->admin_role = strcmp(str(&rows, KA_ROLE), "admin") == 0;
	p->perms = auth_perms_parse(str(&rows, KA_PERMS));
	if (strcmp(str(&rows, KA_STATUS), "active") != 0)
		return resp_fail_code(r, resp, TG_EPERM, "account_suspended",
		    NULL, "the account of this key is %s",
		    str(&rows, KA_STATUS));
	if (rows.v[KA_ACTIVE].i == 0)
		return resp_fail_code(r, resp, TG_EPERM, "key_disabled", NULL,
		    "this API key is disabled: enable it with PUT "
		    "/user/api-keys/%s or use another key",
		    p->key_pub);
	if (rows.v[KA_EXPIRES].i != 0 && rows.v[KA_EXPIRES].i <= now_us)
		return resp_fail_code(r, resp, TG_EPERM, "key_expired", NULL,
		    "this API key has expired: create or rotate a key");
	if (!auth_ip_allowed(str(&rows, KA_IPS), r->remote_addr))
		return resp_fail_code(r, resp, TG_EPERM, "ip_not_allowed", NULL,
		    "this API key may not be used from %s: add the address to "
		    "its ip_allowlist",
		    r->remote_addr != NULL ? r->remote_addr : "this address");
	origin = req_header(r, "Origin");
	if (origin == NULL || *origin == '\0' || strcmp(origin, "null") == 0)
		origin = req_header(r, "Referer");
	if (!auth_referrer_allowed(str(&rows, KA_REFS), origin))
		return resp_fail_code(r, resp, TG_EPERM, "referrer_not_allowed",
		    NULL,
		    "this API key may not be used from this site: add its "
		    "host to the key's referrer_allowlist");
	if ((rc = check_perms(r, resp, p, perms)) != TG_OK)
		return rc;
	if (rows.v[KA_MAXREQ].type == DBT_I64 &&
	    rows.v[KA_USED].i >= rows.v[KA_MAXREQ].i)
		return resp_fail_code(r, resp, TG_EPERM, "request_cap_reached",
		    NULL,
		    "this API key has used all of its %lld requests: raise "
		    "max_requests or use another key",
		    (long long)rows.v[KA_MAXREQ].i);
	if (rows.v[KA_MAXREQ].type != DBT_I64) {
		/* No cap to enforce: the count can wait for the next batch. */
		touch_later(c, r->arena, p->key_id);
		return TG_OK;
	}
	id = DB_I64(p->key_id);
	if ((rc = db_exec(c, STMT_KEY_TOUCH, &id, 1, &touched, r->arena)) !=
	    TG_OK)
		return resp_fail(r, resp, rc, NULL, NULL);
	if (touched.affected != 1)
		return resp_fail_code(r, resp, TG_EPERM, "request_cap_reached",
		    NULL, "this API key has used all of its requests");
	return TG_OK;
}

enum tg_err
auth_check(struct tg_req *r, struct tg_resp *resp, unsigned perms)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct principal *p;
	struct db_conn *c;
	const char *cred;
	enum tg_err rc;

	cred = auth_credential(r);
	if (cred == NULL && req_query(r, "api_key") != NULL) {
		if (!r->ctx->conf->auth_allow_query_key)
			return resp_fail_code(r, resp, TG_EAUTH,
			    "missing_api_key", "api_key",
			    "API keys in the URL are disabled here: "
			    "send the key in a header, 'Authorization: Bearer "
			    "<key>'");
		cred = req_query(r, "api_key");
	}
	if (cred == NULL)
		return resp_fail_code(
		    r, resp, TG_EAUTH, "missing_api_key", NULL, MISSING_MSG);
	/* The format and checksum are checked before any database work. */
	if (strncmp(cred, "gws_", 4) != 0 && crypto_key_check(cred) < 0)
		return resp_fail_code(
		    r, resp, TG_EAUTH, "invalid_api_key", NULL, INVALID_MSG);
	if (strncmp(cred, "gws_", 4) == 0 &&
	    strlen(cred) != 4 + TOKEN_RANDOM_LEN)
		return resp_fail_code(r, resp, TG_EAUTH, "invalid_session",
		    NULL, "the session token is not valid: log in again");
	if ((rc = router_db(r, &c)) != TG_OK)
		return resp_fail(r, resp, rc, NULL, NULL);
	crypto_secret_hash(cred, hash);
	p = arena_calloc(r->arena, 1, sizeof(*p));
	if (strncmp(cred, "gws_", 4) == 0)
		rc = by_session(r, resp, c, hash, p);
	else
		rc = by_key(r, resp, c, hash, p, perms);
	if (rc != TG_OK)
		return rc;
	r->who = p;
	return check_perms(r, resp, p, perms);
}
