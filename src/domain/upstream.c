/* upstream.c: providers, their encrypted key pools, deployments and prices */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "domain/audit.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "http/ctx.h"
#include "io/db.h"
#include "store/stmt.h"
#include "core/json.h"
#include "core/money.h"
#include "http/req.h"
#include "domain/upstream.h"
#include "domain/op.h"

/* clang-format off */
static const char *const kind_names[PROV__MAX] = {
	[PROV_OPENAI]	  = "openai",
	[PROV_DEEPSEEK]	  = "deepseek",
	[PROV_OPENROUTER] = "openrouter",
	[PROV_COMPATIBLE] = "openai-compatible",
};
/* clang-format on */

#define ID_MAX		32
#define NAME_MAX_	128
#define URL_MAX		512
#define MODEL_MAX	128
#define LABEL_MAX	128
#define MASTER_FILE_MAX 256

/* The audit actor of r (until this file's services take a struct op). */
static const struct op *
audit_actor(const struct tg_req *r)
{
	struct op *op;

	if (r == NULL || (op = arena_alloc(r->arena, sizeof(*op))) == NULL)
		return NULL;
	req_op((struct tg_req *)r, op);
	return op;
}

int
upstream_kind_parse(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < PROV__MAX; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

const char *
upstream_kind_name(enum prov_kind k)
{
	return (unsigned)k < PROV__MAX ? kind_names[k] : "unknown";
}

#define MASTER_ENV "TOLLGATE_MASTER_KEY"

/* The environment's master key, taken out of it by upstream_master_env_take. */
static char env_key[MASTER_FILE_MAX + 1];
static int env_taken;

void
upstream_master_env_take(void)
{
	char *v = getenv(MASTER_ENV), *entry;

	if (v == NULL)
		return;
	snprintf(env_key, sizeof(env_key), "%s", v);
	env_taken = 1;
	/*
	 * unsetenv only drops the pointer; the bytes stay in the block the
	 * kernel shows as /proc/PID/environ (and forked workers copy), so
	 * wipe "NAME=value" where it lies.
	 */
	entry = v - (sizeof(MASTER_ENV "=") - 1);
	unsetenv(MASTER_ENV);
	crypto_wipe(entry, strlen(entry));
}

int
upstream_master_load(const struct conf *conf,
    unsigned char key[CRYPTO_MASTER_LEN], char *err, size_t errlen)
{
	char buf[MASTER_FILE_MAX + 1];
	const char *env = env_taken ? env_key : getenv(MASTER_ENV);
	struct stat st;
	ssize_t n;
	int fd, rc;

	if (env != NULL && *env != '\0') {
		if (crypto_master_parse(env, key) == 0)
			return 0;
		snprintf(
		    err, errlen, "TOLLGATE_MASTER_KEY is not 64 hex digits");
		return -1;
	}
	if (conf->master_key_file == NULL)
		return 1;
	if ((fd = open(conf->master_key_file, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "master_key_file %s: %s",
		    conf->master_key_file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 0077) != 0) {
		close(fd);
		snprintf(err, errlen,
		    "master_key_file %s is readable by others: chmod 600 it",
		    conf->master_key_file);
		return -1;
	}
	n = read(fd, buf, MASTER_FILE_MAX);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	rc = crypto_master_parse(buf, key);
	crypto_wipe(buf, sizeof(buf));
	if (rc == 0)
		return 0;
	snprintf(err, errlen, "master_key_file %s does not hold 64 hex digits",
	    conf->master_key_file);
	return -1;
}

/* --- validation ------------------------------------------------------------------------ */

static int
valid_id(const char *s)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* Printable ASCII without spaces, at most max bytes. */
static int
valid_token(const char *s, size_t max)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
valid_text(const char *s, size_t max)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/*
 * Only http and https, a host, no credentials in the URL, no query or
 * fragment: the base that provider paths are appended to.
 */
static int
valid_base_url(const char *u)
{
	const char *host;
	size_t hl;

	if (!valid_token(u, URL_MAX))
		return 0;
	if (strncasecmp(u, "https://", 8) == 0)
		host = u + 8;
	else if (strncasecmp(u, "http://", 7) == 0)
		host = u + 7;
	else
		return 0;
	hl = strcspn(host, "/");
	if (hl == 0 || memchr(host, '@', hl) != NULL)
		return 0;
	return strpbrk(u, "?#") == NULL;
}

/*
 * Whether host (an IP literal, [v6] bracketed, or a name; no port) is this
 * machine or a private network: the only places a key may travel to in
 * clear text.  Link-local (169.254/16, fe80::/10) is not: a cloud's metadata
 * service lives there.  Other names are not resolved: only "localhost".
 */
static int
private_host(const char *host, size_t n)
{
	unsigned char a[16];
	char h[64];

	if (n == 0 || n >= sizeof(h))
		return 0;
	memcpy(h, host, n);
	h[n] = '\0';
	if (h[0] == '[' && h[n - 1] == ']') {
		h[n - 1] = '\0';
		if (inet_pton(AF_INET6, h + 1, a) != 1)
			return 0;
		/* ::1, fc00::/7, and IPv4-mapped addresses judged as IPv4 */
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0)
			return 1;
		if ((a[0] & 0xfe) == 0xfc)
			return 1;
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0)
			return 0;
		memmove(a, a + 12, 4);
	} else if (strcasecmp(h, "localhost") == 0) {
		return 1;
	} else if (inet_pton(AF_INET, h, a) != 1) {
		return 0;
	}
	return a[0] == 127 || a[0] == 10 ||
	    (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168);
}

/* An https URL, or http to a private host, or any when plain http is allowed. */
static int
transport_ok(const char *u, int allow_plain)
{
	const char *host, *end;
	size_t n;

	if (allow_plain || strncasecmp(u, "http://", 7) != 0)
		return 1;
	host = u + 7;
	n = strcspn(host, "/");
	/* The port goes; a bracketed IPv6 address keeps its colons. */
	if (host[0] == '[') {
		if ((end = memchr(host, ']', n)) == NULL)
			return 0;
		n = (size_t)(end - host) + 1;
	} else if ((end = memchr(host, ':', n)) != NULL) {
		n = (size_t)(end - host);
	}
	return private_host(host, n);
}

static int
allow_plain_http(const struct tg_req *r)
{
	return r->ctx != NULL && r->ctx->conf != NULL &&
	    r->ctx->conf->allow_plain_http;
}

#define PLAIN_HTTP_WHY                                                         \
	"base_url: plain http:// only to loopback and private addresses "      \
	"(10/8, 172.16/12, 192.168/16, fc00::/7, localhost); use https:// "    \
	"or set [security] allow_plain_http = on"

const char *
upstream_base_url_refusal(const struct tg_req *r, const char *url)
{
	if (!valid_base_url(url))
		return "base_url: an http:// or https:// URL without "
		       "credentials, query or fragment";
	if (!transport_ok(url, allow_plain_http(r)))
		return PLAIN_HTTP_WHY;
	return NULL;
}

/* A model id: vendor/model (OpenRouter style), or one segment. */
static int
valid_model(const char *s)
{
	return valid_token(s, MODEL_MAX);
}

int
upstream_price_parse(const json_t *v, int64_t *out)
{
	int64_t nano;

	/* USD per million with at most 6 decimals = whole micro-USD. */
	if (v == NULL || money_from_json(v, &nano) == -1 || nano < 0 ||
	    nano % 1000 != 0 || nano > 1000000LL * NANO_PER_USD)
		return -1;
	*out = nano / 1000;
	return 0;
}

/* --- routes and keys ------------------------------------------------------------------- */

enum tg_err
upstream_routes(struct db_conn *c, struct arena *a, const char *model,
    struct deployment *out, size_t max, size_t *n)
{
	struct db_val p = DB_STR(model);
	struct db_rows rows;
	const struct db_val *v;
	size_t i;
	enum tg_err rc;
	int k;

	*n = 0;
	if ((rc = db_exec(c, STMT_MODEL_ENABLED, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1 || rows.v[0].i != 1)
		return TG_ENOENT;
	if ((rc = db_exec(c, STMT_ROUTE_CANDIDATES, &p, 1, &rows, a)) != TG_OK)
		return rc;
	for (i = 0; i < rows.nrows && *n < max; i++) {
		v = &rows.v[i * rows.ncols];
		if ((k = upstream_kind_parse(v[1].s)) == -1)
			continue; /* a kind this build does not speak yet */
		snprintf(out[*n].provider_id, sizeof(out[*n].provider_id), "%s",
		    v[0].s);
		out[*n].kind = (enum prov_kind)k;
		out[*n].base_url = v[2].s;
		out[*n].upstream_model = v[3].s;
		out[*n].input_price = v[4].i;
		out[*n].output_price = v[5].i;
		out[*n].cached_price = v[6].i;
		out[*n].context_length = v[7].i;
		(*n)++;
	}
	return TG_OK;
}

#define SEAL_V1 1
#define SEAL_V2 2
#define AAD_MAX (ID_MAX * 2 + URL_MAX + 64)

/*
 * A key's associated data.  v1 bound only the provider's id and the key's,
 * so an admin could repoint the provider and have tollgate send the key
 * anywhere; v2 binds the endpoint too: the kind (how the key is sent) and
 * the base URL (where).  Fields are newline-separated and none may hold one
 * (ids and kinds are checked; a URL is a token without controls), so no
 * two endpoints share associated data.  -1 when it does not fit, which a
 * URL longer than any valid one can only do after a change behind
 * tollgate's back: such a key does not open.
 */
static int
key_aad(char *aad, size_t len, int version, const char *provider_id,
    const char *kind, const char *base_url, const char *pub)
{
	int n;

	if (version == SEAL_V1)
		n = snprintf(aad, len, "%s:%s", provider_id, pub);
	else if (version == SEAL_V2)
		n = snprintf(aad, len, "tollgate-ukey-v2\n%s\n%s\n%s\n%s",
		    provider_id, kind, base_url, pub);
	else
		return -1;
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Open a sealed key under the AAD of version for that endpoint; 0 or -1. */
static int
key_open(const unsigned char master[CRYPTO_MASTER_LEN], int version,
    const char *provider_id, const char *kind, const char *base_url,
    const char *pub, const struct db_val *enc, char *secret)
{
	char aad[AAD_MAX];
	size_t n = enc->len;

	if (n < CRYPTO_SEAL_OVERHEAD ||
	    n - CRYPTO_SEAL_OVERHEAD > UPSTREAM_SECRET_MAX)
		return -1;
	if (key_aad(aad, sizeof(aad), version, provider_id, kind, base_url,
		pub) == -1 ||
	    crypto_open(master, aad, strlen(aad), (const unsigned char *)enc->s,
		n, (unsigned char *)secret) == -1)
		return -1;
	secret[n - CRYPTO_SEAL_OVERHEAD] = '\0';
	return 0;
}

#define POOL_MAX 64

enum tg_err
upstream_key_pick(struct db_conn *c, struct arena *a, struct pool *pool,
    const unsigned char master[CRYPTO_MASTER_LEN], const struct deployment *d,
    int64_t *key_id, char secret[UPSTREAM_SECRET_MAX + 1], double *wait_s,
    double *paced)
{
	struct db_val p = DB_STR(d->provider_id);
	struct pool_key keys[POOL_MAX];
	const struct db_val *v;
	struct db_rows rows;
	enum tg_err rc;
	size_t i;
	int pick;

	*wait_s = *paced = -1;
	if ((rc = db_exec(c, STMT_UKEY_POOL, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows == 0)
		return TG_ENOENT;
	for (i = 0; i < rows.nrows && i < POOL_MAX; i++) {
		v = &rows.v[i * rows.ncols];
		keys[i].id = v[0].i;
		keys[i].rpm = v[3].type == DBT_I64 ? v[3].i : -1;
		keys[i].rpd = v[4].type == DBT_I64 ? v[4].i : -1;
		keys[i].min_interval_ms = v[5].i;
	}
	if ((pick = pool_choose(pool, keys, i, wait_s, paced)) < 0)
		return TG_ERATE;
	v = &rows.v[(size_t)pick * rows.ncols];
	/*
	 * Opened for the endpoint it is about to be sent to: sealed for
	 * another (a provider repointed in the database), under another
	 * master key, or altered, it stays shut.
	 */
	if (key_open(master, (int)v[6].i, d->provider_id,
		upstream_kind_name(d->kind), d->base_url, v[1].s, &v[2],
		secret) == -1)
		return TG_EAUTH;
	*key_id = v[0].i;
	return TG_OK;
}

enum tg_err
upstream_key_dead(
    struct db_conn *c, struct arena *a, int64_t key_id, const char *reason)
{
	struct db_val p[2] = {
	    {.type = DBT_STR, .s = reason, .len = strnlen(reason, 255)},
	    DB_I64(key_id)};

	return db_exec(c, STMT_UKEY_DEAD, p, 2, NULL, a);
}

static json_t *
opt_int(const struct db_val *v)
{
	return v->type == DBT_I64 ? json_integer(v->i) : json_null();
}

static json_t *
epoch_iso(double t)
{
	char buf[32];
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0)
		return json_null();
	gmtime_r(&s, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* clang-format off */
static const char *const circuits[] = {
	[PC_CLOSED] = "closed", [PC_OPEN] = "open", [PC_HALF_OPEN] = "half_open",
};
/* clang-format on */

enum tg_err
upstream_key_status(struct db_conn *c, struct arena *a, struct pool *pool,
    const char *provider_id, json_t **data)
{
	struct db_val p[2] = {DB_STR(provider_id != NULL ? provider_id : ""),
	    DB_STR(provider_id != NULL ? provider_id : "")};
	struct pool_state st;
	const struct db_val *v;
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_UKEY_ALL, p, 2, &rows, a)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(a, *data);
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		pool_state(pool, v[0].i, &st);
		json_array_append_new(*data,
		    json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:{s:o, "
			      "s:o, s:I}, s:I, s:I, s:o, s:o, s:s, s:i, s:o, "
			      "s:o}",
			"id", v[1].s, "provider_id", v[2].s, "label", v[3].s,
			"last4", v[4].s, "enabled", (int)v[5].i,
			"disabled_reason",
			v[6].type == DBT_NULL ? json_null()
					      : json_string(v[6].s),
			"disabled_at",
			v[7].type == DBT_NULL ? json_null()
					      : json_string(v[7].s),
			"limits", "requests_per_minute", opt_int(&v[8]),
			"requests_per_day", opt_int(&v[9]), "min_interval_ms",
			(json_int_t)v[10].i, "used_today",
			(json_int_t)st.used_today, "used_this_minute",
			(json_int_t)st.used_minute, "last_used_at",
			epoch_iso(st.last_used), "cooldown_until",
			epoch_iso(st.cooldown_until), "circuit",
			circuits[st.circuit], "consecutive_failures",
			st.failures, "last_error",
			st.last_error[0] != '\0' ? json_string(st.last_error)
						 : json_null(),
			"circuit_open_until",
			st.circuit != PC_CLOSED ? epoch_iso(st.open_until)
						: json_null()));
	}
	return TG_OK;
}

/* --- providers ------------------------------------------------------------------------- */

static json_t *
provider_json(const struct db_val *v)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "id", v[0].s,
	    "kind", v[1].s, "name", v[2].s, "base_url", v[3].s, "enabled",
	    (int)v[4].i, "keys", (json_int_t)v[5].i, "models",
	    (json_int_t)v[6].i);
}

enum tg_err
upstream_providers(
    struct db_conn *c, struct arena *a, const char *id, json_t **out)
{
	struct db_val p[2] = {
	    DB_STR(id != NULL ? id : ""), DB_STR(id != NULL ? id : "")};
	struct db_rows rows;
	json_t *data;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_PROVIDER_ADMIN_LIST, p, 2, &rows, a)) !=
	    TG_OK)
		return rc;
	if (id != NULL) {
		if (rows.nrows == 0)
			return TG_ENOENT;
		*out = provider_json(rows.v);
		arena_defer_json(a, *out);
		return TG_OK;
	}
	data = json_array();
	for (i = 0; i < rows.nrows; i++)
		json_array_append_new(
		    data, provider_json(&rows.v[i * rows.ncols]));
	*out = json_pack("{s:o}", "data", data);
	arena_defer_json(a, *out);
	return TG_OK;
}

enum tg_err
upstream_provider_add(struct db_conn *c, struct tg_req *r, const char *id,
    const char *kind, const char *base_url, const char *name, int enabled,
    const char **why)
{
	struct db_val p[5];
	json_t *after;
	enum tg_err rc;

	if (!valid_id(id))
		return *why = "id: 1 to 32 of a-z, 0-9, - and _", TG_EINVAL;
	if (upstream_kind_parse(kind) == -1)
		return *why = "kind: openai, deepseek, openrouter or "
			      "openai-compatible",
		       TG_EINVAL;
	if (!valid_base_url(base_url))
		return *why = "base_url: an http:// or https:// URL without "
			      "credentials, query or fragment",
		       TG_EINVAL;
	if (!transport_ok(base_url, allow_plain_http(r)))
		return *why = PLAIN_HTTP_WHY, TG_EINVAL;
	if (name == NULL || *name == '\0')
		name = id;
	if (!valid_text(name, NAME_MAX_))
		return *why = "name: at most 128 printable characters",
		       TG_EINVAL;
	p[0] = DB_STR(id);
	p[1] = DB_STR(kind);
	p[2] = DB_STR(name);
	p[3] = DB_STR(base_url);
	p[4] = DB_I64(enabled ? 1 : 0);
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_PROVIDER_ADD, p, 5, NULL, r->arena)) !=
	    TG_OK) {
		db_rollback(c);
		if (rc == TG_ECONFLICT)
			*why = "a provider with this id exists";
		return rc;
	}
	after = json_pack("{s:s, s:s, s:s, s:b}", "kind", kind, "name", name,
	    "base_url", base_url, "enabled", enabled);
	arena_defer_json(r->arena, after);
	return audit_commit(c, r->arena, audit_actor(r), "provider.add",
	    "provider", id, NULL, after);
}

/*
 * Seal again each key of provider_id (rows of STMT_UKEY_SEALED) that opens
 * for the old endpoint under its recorded version, as v2 for the new one.
 * only_v1 leaves v2 rows alone.  Inside the caller's transaction.  A key
 * that does not open (another master key) stops it all: TG_ECONFLICT.
 */
static enum tg_err
reseal_rows(struct db_conn *c, struct arena *a,
    const unsigned char master[CRYPTO_MASTER_LEN], const char *provider_id,
    const char *okind, const char *ourl, const char *nkind, const char *nurl,
    const struct db_rows *rows, int only_v1, int64_t *n, const char **why)
{
	unsigned char sealed[UPSTREAM_SECRET_MAX + CRYPTO_SEAL_OVERHEAD];
	char secret[UPSTREAM_SECRET_MAX + 1], aad[AAD_MAX];
	const struct db_val *v;
	struct db_val p[2];
	size_t i, len;
	enum tg_err rc = TG_OK;

	*n = 0;
	for (i = 0; i < rows->nrows; i++) {
		v = &rows->v[i * rows->ncols];
		if (only_v1 && v[3].i != SEAL_V1)
			continue;
		if (key_open(master, (int)v[3].i, provider_id, okind, ourl,
			v[1].s, &v[2], secret) == -1) {
			*why = arena_printf(a,
			    "key %s of provider %s does not open with this "
			    "master key for its present endpoint; delete it "
			    "and add it again",
			    v[1].s, provider_id);
			rc = TG_ECONFLICT;
			break;
		}
		len = strlen(secret);
		if (key_aad(aad, sizeof(aad), SEAL_V2, provider_id, nkind, nurl,
			v[1].s) == -1 ||
		    crypto_seal(
			master, aad, strlen(aad), secret, len, sealed) == -1) {
			rc = TG_ESYSTEM;
			break;
		}
		p[0] = (struct db_val){.type = DBT_STR,
		    .s = (const char *)sealed,
		    .len = len + CRYPTO_SEAL_OVERHEAD};
		p[1] = DB_I64(v[0].i);
		if ((rc = db_exec(c, STMT_UKEY_RESEAL, p, 2, NULL, a)) != TG_OK)
			break;
		(*n)++;
	}
	crypto_wipe(secret, sizeof(secret));
	return rc;
}

enum tg_err
upstream_provider_update(struct db_conn *c, struct tg_req *r, const char *id,
    const char *base_url, const char *name, int enabled, int reseal,
    const unsigned char *master, const char **why)
{
	struct db_val p[4], q = DB_STR(id);
	struct db_rows rows, prov;
	int64_t nkeys = 0;
	json_t *before, *after;
	enum tg_err rc;

	if (base_url != NULL && !valid_base_url(base_url))
		return *why = "base_url: an http:// or https:// URL without "
			      "credentials, query or fragment",
		       TG_EINVAL;
	if (base_url != NULL && !transport_ok(base_url, allow_plain_http(r)))
		return *why = PLAIN_HTTP_WHY, TG_EINVAL;
	if (name != NULL && (*name == '\0' || !valid_text(name, NAME_MAX_)))
		return *why = "name: 1 to 128 printable characters", TG_EINVAL;
	p[0] = base_url != NULL ? DB_STR(base_url) : DB_NULLV;
	p[1] = name != NULL ? DB_STR(name) : DB_NULLV;
	p[2] = enabled >= 0 ? DB_I64(enabled) : DB_NULLV;
	p[3] = DB_STR(id);
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_PROVIDER_LOCK, &q, 1, &prov, r->arena)) !=
	    TG_OK)
		goto fail;
	if (prov.nrows == 1 && base_url != NULL &&
	    strcmp(base_url, prov.v[1].s) != 0) {
		/* Keys are sealed to the endpoint: they move only on request. */
		if ((rc = db_exec(
			 c, STMT_UKEY_SEALED, &q, 1, &rows, r->arena)) != TG_OK)
			goto fail;
		if (rows.nrows > 0 && !reseal) {
			*why = arena_printf(r->arena,
			    "provider %s has %zu key(s) sealed to its "
			    "base_url; send \"reseal\": true to re-encrypt "
			    "them for the new one, or delete them and add "
			    "them again",
			    id, rows.nrows);
			rc = TG_ECONFLICT;
			goto fail;
		}
		if (rows.nrows > 0 && master == NULL) {
			*why = "no master key is configured, so the provider's "
			       "keys cannot be resealed";
			rc = TG_ECONFLICT;
			goto fail;
		}
		if (rows.nrows > 0 &&
		    (rc = reseal_rows(c, r->arena, master, id, prov.v[0].s,
			 prov.v[1].s, prov.v[0].s, base_url, &rows, 0, &nkeys,
			 why)) != TG_OK)
			goto fail;
	}
	if ((rc = db_exec(c, STMT_PROVIDER_UPDATE, p, 4, &rows, r->arena)) !=
	    TG_OK)
		goto fail;
	if (rows.affected == 0) {
		/* Unchanged or missing: tell them apart. */
		db_rollback(c);
		return upstream_providers(c, r->arena, id, &after);
	}
	after = json_object();
	if (base_url != NULL)
		json_object_set_new(after, "base_url", json_string(base_url));
	if (name != NULL)
		json_object_set_new(after, "name", json_string(name));
	if (enabled >= 0)
		json_object_set_new(after, "enabled", json_boolean(enabled));
	if (nkeys > 0)
		json_object_set_new(
		    after, "resealed_keys", json_integer(nkeys));
	arena_defer_json(r->arena, after);
	before =
	    json_pack("{s:s}", "base_url", prov.nrows == 1 ? prov.v[1].s : "");
	arena_defer_json(r->arena, before);
	return audit_commit(c, r->arena, audit_actor(r),
	    nkeys > 0 ? "provider.reseal" : "provider.update", "provider", id,
	    before, after);
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
upstream_reseal_v1(struct db_conn *c, struct tg_req *r,
    const unsigned char master[CRYPTO_MASTER_LEN], int64_t *total,
    const char **why)
{
	struct db_rows provs, prov, rows;
	struct db_val p[2] = {DB_STR(""), DB_STR("")}, q;
	json_t *after;
	int64_t n;
	size_t i;
	enum tg_err rc;

	*total = 0;
	if ((rc = db_exec(
		 c, STMT_PROVIDER_ADMIN_LIST, p, 2, &provs, r->arena)) != TG_OK)
		return rc;
	for (i = 0; i < provs.nrows; i++) {
		q = DB_STR(provs.v[i * provs.ncols].s);
		if ((rc = audit_begin(c)) != TG_OK)
			return rc;
		if ((rc = db_exec(c, STMT_PROVIDER_LOCK, &q, 1, &prov,
			 r->arena)) != TG_OK ||
		    prov.nrows != 1 ||
		    (rc = db_exec(c, STMT_UKEY_SEALED, &q, 1, &rows,
			 r->arena)) != TG_OK ||
		    (rc = reseal_rows(c, r->arena, master, q.s, prov.v[0].s,
			 prov.v[1].s, prov.v[0].s, prov.v[1].s, &rows, 1, &n,
			 why)) != TG_OK) {
			db_rollback(c);
			if (rc != TG_OK)
				return rc;
			continue;
		}
		if (n == 0) {
			db_rollback(c);
			continue;
		}
		after = json_pack("{s:s, s:I, s:i}", "base_url", prov.v[1].s,
		    "resealed_keys", (json_int_t)n, "seal_version", SEAL_V2);
		arena_defer_json(r->arena, after);
		if ((rc = audit_commit(c, r->arena, audit_actor(r),
			 "provider.reseal", "provider", q.s, NULL, after)) !=
		    TG_OK)
			return rc;
		*total += n;
	}
	return TG_OK;
}

/* --- keys ------------------------------------------------------------------------------ */

static json_t *
key_json(const struct db_val *v)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s?, s:o, s:o, s:I, "
			 "s:s?}",
	    "id", v[0].s, "provider_id", v[1].s, "label", v[2].s, "last4",
	    v[3].s, "enabled", (int)v[4].i, "created_at", v[5].s,
	    "last_used_at", v[6].type == DBT_NULL ? NULL : v[6].s,
	    "requests_per_minute",
	    v[7].type == DBT_I64 ? json_integer(v[7].i) : json_null(),
	    "requests_per_day",
	    v[8].type == DBT_I64 ? json_integer(v[8].i) : json_null(),
	    "min_interval_ms", (json_int_t)v[9].i, "disabled_reason",
	    v[10].type == DBT_NULL ? NULL : v[10].s);
}

enum tg_err
upstream_keys(
    struct db_conn *c, struct arena *a, const char *provider_id, json_t **out)
{
	struct db_val p = DB_STR(provider_id);
	struct db_rows rows;
	json_t *data;
	size_t i;
	enum tg_err rc;

	if ((rc = upstream_providers(c, a, provider_id, &data)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_UKEY_LIST, &p, 1, &rows, a)) != TG_OK)
		return rc;
	data = json_array();
	for (i = 0; i < rows.nrows; i++)
		json_array_append_new(data, key_json(&rows.v[i * rows.ncols]));
	*out = json_pack("{s:o}", "data", data);
	arena_defer_json(a, *out);
	return TG_OK;
}

enum tg_err
upstream_key_add(struct db_conn *c, struct tg_req *r,
    const unsigned char master[CRYPTO_MASTER_LEN], const char *provider_id,
    const char *secret, const char *label, const struct pool_key *lim,
    json_t **out, const char **why)
{
	unsigned char sealed[UPSTREAM_SECRET_MAX + CRYPTO_SEAL_OVERHEAD];
	char pub[ID_MAX + 1], aad[AAD_MAX], last4[5];
	struct db_val p[8];
	struct db_val q;
	struct db_rows rows;
	json_t *prov, *after;
	size_t n = secret != NULL ? strlen(secret) : 0;
	enum tg_err rc;

	if (!valid_token(secret, UPSTREAM_SECRET_MAX) || n < 8)
		return *why = "key: 8 to 1024 printable characters without "
			      "spaces",
		       TG_EINVAL;
	if (label == NULL)
		label = "";
	if (!valid_text(label, LABEL_MAX))
		return *why = "label: at most 128 printable characters",
		       TG_EINVAL;
	if ((rc = upstream_providers(c, r->arena, provider_id, &prov)) != TG_OK)
		return rc;
	if (crypto_public_id("uk_", pub, sizeof(pub)) == -1)
		return TG_ESYSTEM;
	snprintf(last4, sizeof(last4), "%s", secret + n - 4);
	p[0] = DB_STR(pub);
	p[1] = DB_STR(provider_id);
	p[2] = DB_STR(label);
	p[3] = (struct db_val){.type = DBT_STR,
	    .s = (const char *)sealed,
	    .len = n + CRYPTO_SEAL_OVERHEAD};
	p[4] = DB_STR(last4);
	p[5] = lim != NULL && lim->rpm >= 0 ? DB_I64(lim->rpm) : DB_NULLV;
	p[6] = lim != NULL && lim->rpd >= 0 ? DB_I64(lim->rpd) : DB_NULLV;
	p[7] = DB_I64(
	    lim != NULL && lim->min_interval_ms > 0 ? lim->min_interval_ms : 0);
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	/* Sealed to the endpoint as it is now; the audit lock holds it so. */
	q = DB_STR(provider_id);
	if ((rc = db_exec(c, STMT_PROVIDER_LOCK, &q, 1, &rows, r->arena)) !=
	    TG_OK)
		goto fail;
	if (rows.nrows != 1) {
		rc = TG_ENOENT;
		goto fail;
	}
	if (key_aad(aad, sizeof(aad), SEAL_V2, provider_id, rows.v[0].s,
		rows.v[1].s, pub) == -1 ||
	    crypto_seal(master, aad, strlen(aad), secret, n, sealed) == -1) {
		rc = TG_ESYSTEM;
		goto fail;
	}
	if ((rc = db_exec(c, STMT_UKEY_INSERT, p, 8, NULL, r->arena)) != TG_OK)
		goto fail;
	after = json_pack("{s:s, s:s, s:s}", "provider_id", provider_id,
	    "label", label, "last4", last4);
	arena_defer_json(r->arena, after);
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "upstream_key.add",
		 "upstream_key", pub, NULL, after)) != TG_OK)
		return rc;
	q = DB_STR(pub);
	if ((rc = db_exec(c, STMT_UKEY_GET, &q, 1, &rows, r->arena)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ESYSTEM;
	*out = key_json(rows.v);
	arena_defer_json(r->arena, *out);
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
upstream_key_remove(struct db_conn *c, struct tg_req *r,
    const char *provider_id, const char *key_pub, int del)
{
	struct db_val p[3] = {DB_STR(key_pub),
	    DB_STR(provider_id != NULL ? provider_id : ""),
	    DB_STR(provider_id != NULL ? provider_id : "")};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, del ? STMT_UKEY_DELETE : STMT_UKEY_DISABLE, p, 3,
		 &rows, r->arena)) != TG_OK)
		goto fail;
	if (rows.affected == 0) {
		rc = TG_ENOENT;
		goto fail;
	}
	return audit_commit(c, r->arena, audit_actor(r),
	    del ? "upstream_key.delete" : "upstream_key.disable",
	    "upstream_key", key_pub, NULL, NULL);
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
upstream_key_update(struct db_conn *c, struct tg_req *r,
    const char *provider_id, const char *key_pub, const char *label,
    int enabled, int set_rpm, int64_t rpm, int set_rpd, int64_t rpd,
    int64_t min_interval_ms, json_t **out)
{
	struct db_val p[11], q;
	struct db_rows rows;
	json_t *after;
	enum tg_err rc;

	if (label != NULL && !valid_text(label, LABEL_MAX))
		return TG_EINVAL;
	p[0] = label != NULL ? DB_STR(label) : DB_NULLV;
	p[1] = enabled >= 0 ? DB_I64(enabled) : DB_NULLV;
	p[2] = DB_I64(enabled == 1);
	p[3] = DB_I64(enabled == 1);
	p[4] = DB_I64(set_rpm);
	p[5] = rpm >= 0 ? DB_I64(rpm) : DB_NULLV;
	p[6] = DB_I64(set_rpd);
	p[7] = rpd >= 0 ? DB_I64(rpd) : DB_NULLV;
	p[8] = min_interval_ms >= 0 ? DB_I64(min_interval_ms) : DB_NULLV;
	p[9] = DB_STR(key_pub);
	p[10] = DB_STR(provider_id);
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_UKEY_UPDATE, p, 11, &rows, r->arena)) !=
	    TG_OK)
		goto fail;
	q = DB_STR(key_pub);
	if ((rc = db_exec(c, STMT_UKEY_GET, &q, 1, &rows, r->arena)) != TG_OK)
		goto fail;
	if (rows.nrows != 1 || strcmp(rows.v[1].s, provider_id) != 0) {
		rc = TG_ENOENT;
		goto fail;
	}
	*out = key_json(rows.v);
	arena_defer_json(r->arena, *out);
	if (enabled == 1 && r->ctx != NULL && r->ctx->pool != NULL)
		pool_heal(r->ctx->pool, rows.v[11].i);
	after = json_deep_copy(*out);
	arena_defer_json(r->arena, after);
	return audit_commit(c, r->arena, audit_actor(r), "upstream_key.update",
	    "upstream_key", key_pub, NULL, after);
fail:
	db_rollback(c);
	return rc;
}

/* --- models ---------------------------------------------------------------------------- */

enum tg_err
upstream_model_add(struct db_conn *c, struct tg_req *r, const char *model,
    const char *name, const char *provider_id, const char *upstream_model,
    int64_t input, int64_t output, int64_t cached, int64_t context,
    const char **why)
{
	struct db_val m[7], rt[6];
	const char *slash;
	char vendor[65];
	json_t *prov, *after;
	enum tg_err rc;

	if (!valid_model(model))
		return *why = "id: a model id such as vendor/model", TG_EINVAL;
	if (!valid_model(upstream_model))
		return *why = "upstream_model: the provider's model name",
		       TG_EINVAL;
	if (name == NULL || *name == '\0')
		name = model;
	if (!valid_text(name, NAME_MAX_))
		return *why = "name: at most 128 printable characters",
		       TG_EINVAL;
	if (context <= 0 || context > 100000000)
		return *why = "context_length: 1 to 100000000", TG_EINVAL;
	if ((rc = upstream_providers(c, r->arena, provider_id, &prov)) !=
	    TG_OK) {
		if (rc == TG_ENOENT)
			*why = "provider_id: no such provider";
		return rc == TG_ENOENT ? TG_EINVAL : rc;
	}
	slash = strchr(model, '/');
	snprintf(vendor, sizeof(vendor), "%.*s",
	    slash != NULL ? (int)(slash - model) : 0, model);
	m[0] = DB_STR(model);
	m[1] = DB_STR(name);
	m[2] = DB_STR(vendor);
	m[3] = DB_I64(context);
	m[4] = DB_I64(input);
	m[5] = DB_I64(output);
	m[6] = cached >= 0 ? DB_I64(cached) : DB_NULLV;
	rt[0] = DB_STR(model);
	rt[1] = DB_STR(provider_id);
	rt[2] = DB_STR(upstream_model);
	rt[3] = DB_I64(input);
	rt[4] = DB_I64(output);
	rt[5] = m[6];
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_MODEL_UPSERT, m, 7, NULL, r->arena)) !=
		TG_OK ||
	    (rc = db_exec(c, STMT_ROUTE_UPSERT, rt, 6, NULL, r->arena)) !=
		TG_OK) {
		db_rollback(c);
		return rc;
	}
	after = json_pack("{s:s, s:s, s:I, s:I, s:I}", "provider_id",
	    provider_id, "upstream_model", upstream_model, "input_price",
	    (json_int_t)input, "output_price", (json_int_t)output,
	    "cached_input_price", (json_int_t)cached);
	arena_defer_json(r->arena, after);
	return audit_commit(c, r->arena, audit_actor(r), "model.add", "model",
	    model, NULL, after);
}

enum tg_err
upstream_model_update(struct db_conn *c, struct tg_req *r, const char *model,
    const char *provider_id, int64_t input, int64_t output, int64_t cached,
    int enabled)
{
	struct db_val p[7];
	struct db_rows rows;
	json_t *after;
	enum tg_err rc;

	p[0] = input >= 0 ? DB_I64(input) : DB_NULLV;
	p[1] = output >= 0 ? DB_I64(output) : DB_NULLV;
	p[2] = cached >= 0 ? DB_I64(cached) : DB_NULLV;
	p[3] = enabled >= 0 ? DB_I64(enabled) : DB_NULLV;
	p[4] = DB_STR(model);
	p[5] = DB_STR(provider_id != NULL ? provider_id : "");
	p[6] = p[5];
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_MODEL_ENABLED, &p[4], 1, &rows, r->arena)) !=
		TG_OK ||
	    (rows.nrows == 0 && (rc = TG_ENOENT) != TG_OK))
		goto fail;
	if (provider_id == NULL &&
	    (rc = db_exec(c, STMT_MODEL_UPDATE, p, 5, NULL, r->arena)) != TG_OK)
		goto fail;
	if ((rc = db_exec(c, STMT_ROUTE_UPDATE, p, 7, &rows, r->arena)) !=
	    TG_OK)
		goto fail;
	after = json_pack("{s:I, s:I, s:I, s:i, s:s?}", "input_price",
	    (json_int_t)input, "output_price", (json_int_t)output,
	    "cached_input_price", (json_int_t)cached, "enabled", enabled,
	    "provider_id", provider_id);
	arena_defer_json(r->arena, after);
	return audit_commit(c, r->arena, audit_actor(r), "model.update",
	    "model", model, NULL, after);
fail:
	db_rollback(c);
	return rc;
}
