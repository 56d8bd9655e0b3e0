/* upstream.c: providers, their encrypted key pools, deployments and prices */
/* SPDX-License-Identifier: MIT */
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
#include "core/conf.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/money.h"
#include "io/db.h"
#include "store/q_catalog.h"
#include "store/q_upstream.h"
#include "domain/audit.h"
#include "domain/op.h"
#include "domain/upstream.h"
#include "domain/upstream_impl.h"

/* clang-format off */
static const char *const kind_names[PROV__MAX] = {
	[PROV_OPENAI]	  = "openai",
	[PROV_DEEPSEEK]	  = "deepseek",
	[PROV_OPENROUTER] = "openrouter",
	[PROV_COMPATIBLE] = "openai-compatible",
	[PROV_ANTHROPIC]  = "anthropic",
	[PROV_GEMINI]	  = "gemini",
	[PROV_TEST]	  = "test",
};
/* clang-format on */

#define NAME_MAX_	128
#define MODEL_MAX	128
#define MASTER_FILE_MAX 256

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

int
upstream_valid_token(const char *s, size_t max)
{
	size_t i, n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
upstream_valid_text(const char *s, size_t max)
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

	if (!upstream_valid_token(u, URL_MAX))
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
allow_plain_http(const struct op *op)
{
	return op != NULL && op->conf != NULL && op->conf->allow_plain_http;
}

#define PLAIN_HTTP_WHY                                                         \
	"base_url: plain http:// only to loopback and private addresses "      \
	"(10/8, 172.16/12, 192.168/16, fc00::/7, localhost); use https:// "    \
	"or set [security] allow_plain_http = on"

#define BASE_URL_WHY                                                           \
	"base_url: an http:// or https:// URL without credentials, query or "  \
	"fragment"

const char *
upstream_base_url_refusal(const struct op *op, const char *url)
{
	if (!valid_base_url(url))
		return BASE_URL_WHY;
	if (!transport_ok(url, allow_plain_http(op)))
		return PLAIN_HTTP_WHY;
	return NULL;
}

/* A model id: vendor/model (OpenRouter style), or one segment. */
static int
valid_model(const char *s)
{
	return upstream_valid_token(s, MODEL_MAX);
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

/* --- routes ---------------------------------------------------------------------------- */

enum tg_err
upstream_routes(struct db_conn *c, struct arena *a, const char *model,
    struct deployment *out, size_t max, size_t *n)
{
	struct q_route *rt;
	const char *id;
	size_t i, nrt;
	enum tg_err rc;
	int k, enabled;

	*n = 0;
	/* An alias is resolved by the statement that asks for the model. */
	if ((rc = q_model_resolve(c, a, model, &enabled, &id)) != TG_OK)
		return rc;
	if (!enabled)
		return TG_ENOENT;
	if ((rc = q_route_candidates(c, a, id, &rt, &nrt)) != TG_OK)
		return rc;
	for (i = 0; i < nrt && *n < max; i++) {
		if ((k = upstream_kind_parse(rt[i].kind)) == -1)
			continue; /* a kind this build does not speak yet */
		snprintf(out[*n].provider_id, sizeof(out[*n].provider_id), "%s",
		    rt[i].provider_id);
		out[*n].kind = (enum prov_kind)k;
		out[*n].base_url = rt[i].base_url;
		out[*n].upstream_model = rt[i].upstream_model;
		out[*n].input_price = rt[i].input_price;
		out[*n].output_price = rt[i].output_price;
		out[*n].cached_price = rt[i].cached_price;
		out[*n].cache_write_price = rt[i].cache_write_price;
		out[*n].context_length = rt[i].context_length;
		out[*n].model_id = id;
		(*n)++;
	}
	return TG_OK;
}

/* --- providers ------------------------------------------------------------------------- */

static json_t *
provider_json(const struct q_provider *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}", "id", p->id,
	    "kind", p->kind, "name", p->name, "base_url", p->base_url,
	    "enabled", p->enabled, "keys", (json_int_t)p->keys, "models",
	    (json_int_t)p->models);
}

enum tg_err
upstream_providers(
    struct db_conn *c, struct arena *a, const char *id, json_t **out)
{
	struct q_provider *rows;
	json_t *data;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_provider_list(c, a, id, &rows, &n)) != TG_OK)
		return rc;
	if (id != NULL) {
		if (n == 0)
			return TG_ENOENT;
		*out = provider_json(&rows[0]);
		arena_defer_json(a, *out);
		return TG_OK;
	}
	data = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(data, provider_json(&rows[i]));
	*out = json_pack("{s:o}", "data", data);
	arena_defer_json(a, *out);
	return TG_OK;
}

/* A 400 with invalid_value and why. */
static enum tg_err
invalid(struct op *op, const char *why)
{
	return op_fail(op, TG_EINVAL, "invalid_value", NULL, "%s", why);
}

enum tg_err
upstream_provider_add(struct db_conn *c, struct op *op, const char *id,
    const char *kind, const char *base_url, const char *name, int enabled)
{
	json_t *after;
	enum tg_err rc;

	if (!valid_id(id))
		return invalid(op, "id: 1 to 32 of a-z, 0-9, - and _");
	if (upstream_kind_parse(kind) == -1 || strcmp(kind, "test") == 0)
		return invalid(op,
		    "kind: openai, deepseek, openrouter, "
		    "openai-compatible, anthropic or gemini");
	if (!valid_base_url(base_url))
		return invalid(op, BASE_URL_WHY);
	if (!transport_ok(base_url, allow_plain_http(op)))
		return invalid(op, PLAIN_HTTP_WHY);
	if (name == NULL || *name == '\0')
		name = id;
	if (!upstream_valid_text(name, NAME_MAX_))
		return invalid(op, "name: at most 128 printable characters");
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_provider_add(c, op->arena,
		 &(struct q_provider){
		     id, kind, name, base_url, enabled, 0, 0})) != TG_OK) {
		db_rollback(c);
		if (rc == TG_ECONFLICT)
			return op_fail(op, rc, NULL, NULL,
			    "a provider with this id exists");
		return rc;
	}
	after = json_pack("{s:s, s:s, s:s, s:b}", "kind", kind, "name", name,
	    "base_url", base_url, "enabled", enabled);
	arena_defer_json(op->arena, after);
	return audit_commit(
	    c, op->arena, op, "provider.add", "provider", id, NULL, after);
}

/*
 * A new base_url for provider id, now at endpoint e: its keys are sealed to
 * the endpoint, so they move only on request (reseal) and with the master
 * key.  *nkeys: keys resealed.
 */
static enum tg_err
move_keys(struct db_conn *c, struct op *op, const char *id,
    const struct q_endpoint *e, const char *base_url, int reseal,
    const unsigned char *master, int64_t *nkeys)
{
	struct q_ukey_sealed *keys;
	struct seal_move m = {id, e->kind, e->base_url, e->kind, base_url};
	const char *why = NULL;
	size_t n;
	enum tg_err rc;

	if ((rc = q_ukey_sealed(c, op->arena, id, &keys, &n)) != TG_OK)
		return rc;
	if (n > 0 && !reseal)
		return op_fail(op, TG_ECONFLICT, NULL, NULL,
		    "provider %s has %zu key(s) sealed to its base_url; send "
		    "\"reseal\": true to re-encrypt them for the new one, or "
		    "delete them and add them again",
		    id, n);
	if (n > 0 && master == NULL)
		return op_fail(op, TG_ECONFLICT, NULL, NULL,
		    "no master key is configured, so the provider's keys "
		    "cannot be resealed");
	if (n > 0 &&
	    (rc = seal_again(
		 c, op->arena, master, &m, keys, n, 0, nkeys, &why)) != TG_OK &&
	    why != NULL)
		return op_fail(op, rc, NULL, NULL, "%s", why);
	return rc;
}

/* What a provider update changed, for the audit row. */
static json_t *
update_after(const char *base_url, const char *name, int enabled, int64_t n)
{
	json_t *after = json_object();

	if (base_url != NULL)
		json_object_set_new(after, "base_url", json_string(base_url));
	if (name != NULL)
		json_object_set_new(after, "name", json_string(name));
	if (enabled >= 0)
		json_object_set_new(after, "enabled", json_boolean(enabled));
	if (n > 0)
		json_object_set_new(after, "resealed_keys", json_integer(n));
	return after;
}

enum tg_err
upstream_provider_update(struct db_conn *c, struct op *op, const char *id,
    const char *base_url, const char *name, int enabled, int reseal,
    const unsigned char *master)
{
	struct q_endpoint e = {NULL, NULL};
	uint64_t affected;
	int64_t nkeys = 0;
	json_t *before, *after;
	enum tg_err rc;

	if (base_url != NULL && !valid_base_url(base_url))
		return invalid(op, BASE_URL_WHY);
	if (base_url != NULL && !transport_ok(base_url, allow_plain_http(op)))
		return invalid(op, PLAIN_HTTP_WHY);
	if (name != NULL &&
	    (*name == '\0' || !upstream_valid_text(name, NAME_MAX_)))
		return invalid(op, "name: 1 to 128 printable characters");
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_provider_lock(c, op->arena, id, &e)) != TG_OK &&
	    rc != TG_ENOENT)
		goto fail;
	if (rc == TG_OK && base_url != NULL &&
	    strcmp(base_url, e.base_url) != 0 &&
	    (rc = move_keys(c, op, id, &e, base_url, reseal, master, &nkeys)) !=
		TG_OK)
		goto fail;
	if ((rc = q_provider_update(c, op->arena, id, base_url, name, enabled,
		 &affected)) != TG_OK)
		goto fail;
	if (affected == 0) {
		/* Unchanged or missing: tell them apart. */
		db_rollback(c);
		return upstream_providers(c, op->arena, id, &after);
	}
	after = update_after(base_url, name, enabled, nkeys);
	arena_defer_json(op->arena, after);
	before = json_pack(
	    "{s:s}", "base_url", e.base_url != NULL ? e.base_url : "");
	arena_defer_json(op->arena, before);
	return audit_commit(c, op->arena, op,
	    nkeys > 0 ? "provider.reseal" : "provider.update", "provider", id,
	    before, after);
fail:
	db_rollback(c);
	return rc;
}

/* --- models ---------------------------------------------------------------------------- */

enum tg_err
upstream_model_add(struct db_conn *c, struct op *op, const char *model,
    const char *name, const char *provider_id, const char *upstream_model,
    const struct q_prices *pr, int64_t context)
{
	struct q_model_new m;
	const char *slash;
	char vendor[65];
	json_t *prov, *after;
	enum tg_err rc;

	if (!valid_model(model))
		return invalid(op, "id: a model id such as vendor/model");
	if (!valid_model(upstream_model))
		return invalid(op, "upstream_model: the provider's model name");
	if (name == NULL || *name == '\0')
		name = model;
	if (!upstream_valid_text(name, NAME_MAX_))
		return invalid(op, "name: at most 128 printable characters");
	if (context <= 0 || context > 100000000)
		return invalid(op, "context_length: 1 to 100000000");
	if ((rc = upstream_providers(c, op->arena, provider_id, &prov)) !=
	    TG_OK)
		return rc == TG_ENOENT
		    ? invalid(op, "provider_id: no such provider")
		    : rc;
	slash = strchr(model, '/');
	snprintf(vendor, sizeof(vendor), "%.*s",
	    slash != NULL ? (int)(slash - model) : 0, model);
	m = (struct q_model_new){model, name, vendor, provider_id,
	    upstream_model, context, pr->input, pr->output, pr->cached,
	    pr->cache_write};
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_model_upsert(c, op->arena, &m)) != TG_OK ||
	    (rc = q_route_upsert(c, op->arena, &m)) != TG_OK) {
		db_rollback(c);
		return rc;
	}
	after = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "provider_id",
	    provider_id, "upstream_model", upstream_model, "input_price",
	    (json_int_t)pr->input, "output_price", (json_int_t)pr->output,
	    "cached_input_price", (json_int_t)pr->cached, "cache_write_price",
	    (json_int_t)pr->cache_write);
	arena_defer_json(op->arena, after);
	return audit_commit(
	    c, op->arena, op, "model.add", "model", model, NULL, after);
}

enum tg_err
upstream_model_update(struct db_conn *c, struct op *op, const char *model,
    const char *provider_id, const struct q_prices *pr, int enabled)
{
	json_t *after;
	int on;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_model_enabled(c, op->arena, model, &on)) != TG_OK)
		goto fail;
	if (provider_id == NULL &&
	    (rc = q_model_update(c, op->arena, model, pr, enabled)) != TG_OK)
		goto fail;
	if ((rc = q_route_update(
		 c, op->arena, model, provider_id, pr, enabled)) != TG_OK)
		goto fail;
	after = json_pack("{s:I, s:I, s:I, s:I, s:i, s:s?}", "input_price",
	    (json_int_t)pr->input, "output_price", (json_int_t)pr->output,
	    "cached_input_price", (json_int_t)pr->cached, "cache_write_price",
	    (json_int_t)pr->cache_write, "enabled", enabled, "provider_id",
	    provider_id);
	arena_defer_json(op->arena, after);
	return audit_commit(
	    c, op->arena, op, "model.update", "model", model, NULL, after);
fail:
	db_rollback(c);
	return rc;
}
