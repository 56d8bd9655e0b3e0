/* or_provision.c: per-user OpenRouter keys through OpenRouter's provisioning API */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/money.h"
#include "domain/accounts.h"
#include "domain/op.h"
#include "domain/openrouter.h"
#include "domain/or_provision.h"
#include "io/db.h"
#include "io/http_client.h"
#include "store/q_or_key.h"

#define PKEY_MAX      256 /* bytes of a provisioning key */
#define PROV_BODY_MAX (64u << 10)
#define PROV_TIMEOUT  20000 /* ms of one provisioning call */
#define SYNC_BATCH    16    /* keys one housekeeping round syncs */
/*
 * Every worker process runs the housekeeping round (every 2 s), and a node
 * may have dozens: a key is synced at most once in SYNC_EVERY_MS by all of
 * them together, claimed in the database first.  Under the round's period,
 * so that a single worker still syncs on each of its rounds.
 */
#define SYNC_EVERY_MS 1500

/* The provisioning key from its file, first line; 0 or -1. */
static int
pkey_read(const struct conf *conf, char *out, size_t len)
{
	FILE *fp;
	size_t n;

	if ((fp = fopen(conf->or_provisioning_key_file, "r")) == NULL)
		return -1;
	if (fgets(out, (int)len, fp) == NULL)
		out[0] = '\0';
	fclose(fp);
	n = strcspn(out, "\r\n \t");
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* What the key's seal is bound to: the user, the provider, its endpoint. */
static void
aad_of(char *aad, size_t len, const struct deployment *d, int64_t user_id)
{
	snprintf(aad, len, "tollgate-or-user-key\n%s\n%s\n%lld", d->provider_id,
	    d->base_url, (long long)user_id);
}

/* One provisioning call: its answer buffered in *hr (clear it after). */
static void
pcall(struct http_client *http, struct arena *a, const char *method,
    const char *base, const char *path, const char *pkey, const char *body,
    struct http_result *hr)
{
	size_t blen = strlen(base);
	struct http_request q;
	char *auth;
	const char *h[2];

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	auth = arena_printf(a, "Authorization: Bearer %s", pkey);
	h[0] = auth;
	h[1] = "Content-Type: application/json";
	memset(&q, 0, sizeof(q));
	memset(hr, 0, sizeof(*hr));
	q.method = method;
	q.url = arena_printf(a, "%.*s/%s", (int)blen, base, path);
	q.headers = h;
	q.nheaders = body != NULL ? 2 : 1;
	q.body = body;
	q.body_len = body != NULL ? strlen(body) : 0;
	q.first_byte_timeout_ms = PROV_TIMEOUT;
	q.idle_timeout_ms = PROV_TIMEOUT;
	q.max_body = PROV_BODY_MAX;
	http_perform(http, &q, hr);
	if (auth != NULL)
		crypto_wipe(auth, strlen(auth));
}

/* The answer's JSON object when the status is 2xx, else NULL (owned). */
static json_t *
answer_of(const struct http_result *hr)
{
	json_t *o;

	if (hr->err != HTTP_OK || hr->status < 200 || hr->status > 299 ||
	    hr->body == NULL)
		return NULL;
	o = json_loadb(hr->body, hr->body_len, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A USD amount as a JSON number literal for OpenRouter's limit. */
static const char *
usd_literal(struct arena *a, int64_t nano)
{
	char s[48];

	money_format(nano < 0 ? 0 : nano, s, sizeof(s));
	return arena_strdup(a, s);
}

/* The user's spendable balance (balance + overdraft, never below 0). */
static int64_t
spendable(struct db_conn *c, struct op *op, int64_t user_id)
{
	int64_t bal = 0, res = 0, od = 0;

	if (account_balance(c, op, user_id, &bal, &res, &od) != TG_OK)
		return 0;
	return bal + od > 0 ? bal + od : 0;
}

/* Open a stored key into secret; TG_EAUTH when it does not open. */
static enum tg_err
key_open(const struct op *op, const struct deployment *d,
    const struct q_or_key *k, char *secret)
{
	char aad[512];

	aad_of(aad, sizeof(aad), d, k->user_id);
	if (k->enc_len < CRYPTO_SEAL_OVERHEAD ||
	    k->enc_len - CRYPTO_SEAL_OVERHEAD > UPSTREAM_SECRET_MAX ||
	    crypto_open(op->master, aad, strlen(aad),
		(const unsigned char *)k->enc, k->enc_len,
		(unsigned char *)secret) == -1)
		return TG_EAUTH;
	secret[k->enc_len - CRYPTO_SEAL_OVERHEAD] = '\0';
	return TG_OK;
}

/* Seal secret and store it as the user's key; *won 0 when another was first. */
static enum tg_err
key_store(struct db_conn *c, struct op *op, const struct deployment *d,
    int64_t user_id, const char *hash, const char *secret, int64_t limit,
    int *won)
{
	unsigned char sealed[UPSTREAM_SECRET_MAX + CRYPTO_SEAL_OVERHEAD];
	size_t n = strlen(secret);
	struct q_or_key k;
	char aad[512];

	aad_of(aad, sizeof(aad), d, user_id);
	if (n > UPSTREAM_SECRET_MAX ||
	    crypto_seal(op->master, aad, strlen(aad), secret, n, sealed) == -1)
		return TG_ESYSTEM;
	memset(&k, 0, sizeof(k));
	k.user_id = user_id;
	k.provider_id = d->provider_id;
	k.hash = hash;
	k.enc = (const char *)sealed;
	k.enc_len = n + CRYPTO_SEAL_OVERHEAD;
	k.last4 = n >= 4 ? secret + n - 4 : secret;
	k.limit_nano = k.synced_nano = limit;
	return q_or_key_insert(c, op->arena, &k, won);
}

/*
 * A new key for the user at OpenRouter (POST /keys {name, limit}), its limit
 * the user's spendable balance, stored sealed.  Two first requests at once
 * both create one: the second to store deletes its own and uses the first's.
 */
static enum tg_err
key_create(struct db_conn *c, struct op *op, struct http_client *http,
    const struct deployment *d, const char *pkey, int64_t user_id, char *secret)
{
	struct http_result hr;
	struct q_or_key k;
	int64_t lim = spendable(c, op, user_id);
	const char *key, *hash;
	json_t *o;
	int won = 0;
	enum tg_err rc;

	pcall(http, op->arena, "POST", d->base_url, "keys", pkey,
	    arena_printf(op->arena,
		"{\"name\":\"tollgate user %lld\",\"limit\":%s}",
		(long long)user_id, usd_literal(op->arena, lim)),
	    &hr);
	o = answer_of(&hr);
	key = json_string_value(json_object_get(o, "key"));
	hash = json_string_value(
	    json_object_get(json_object_get(o, "data"), "hash"));
	if (key == NULL || hash == NULL || strlen(key) > UPSTREAM_SECRET_MAX) {
		rc = op_fail(op, TG_EUPSTREAM, "provisioning_failed", NULL,
		    "OpenRouter did not create a key for this user (%s)",
		    hr.err != HTTP_OK
			? "no answer"
			: arena_printf(op->arena, "HTTP %ld", hr.status));
		goto out;
	}
	snprintf(secret, UPSTREAM_SECRET_MAX + 1, "%s", key);
	hash = arena_strdup(op->arena, hash);
	if ((rc = key_store(c, op, d, user_id, hash, secret, lim, &won)) !=
		TG_OK ||
	    won)
		goto out;
	/* Another request stored one first: ours goes, theirs serves. */
	http_result_clear(&hr);
	pcall(http, op->arena, "DELETE", d->base_url,
	    arena_printf(op->arena, "keys/%s", hash), pkey, NULL, &hr);
	if ((rc = q_or_key_get(c, op->arena, user_id, d->provider_id, &k)) ==
	    TG_OK)
		rc = key_open(op, d, &k, secret);
out:
	json_decref(o);
	if (hr.body != NULL)
		crypto_wipe(hr.body, hr.body_len);
	http_result_clear(&hr);
	return rc;
}

enum tg_err
or_user_key(struct db_conn *c, struct op *op, const struct conf *conf,
    struct http_client *http, const struct deployment *d, int64_t user_id,
    char secret[UPSTREAM_SECRET_MAX + 1])
{
	char pkey[PKEY_MAX];
	struct q_or_key k;
	enum tg_err rc;

	if (conf->or_provisioning_key_file == NULL ||
	    d->kind != PROV_OPENROUTER ||
	    strcmp(d->provider_id, or_provider_id(conf)) != 0)
		return TG_ENOENT;
	if (op->master == NULL)
		return op_fail(op, TG_EUNAVAIL, NULL, NULL,
		    "the gateway has no master key to seal OpenRouter keys");
	rc = q_or_key_get(c, op->arena, user_id, d->provider_id, &k);
	if (rc == TG_OK) {
		if ((rc = key_open(op, d, &k, secret)) != TG_OK)
			return op_fail(op, TG_EUNAVAIL, NULL, NULL,
			    "this user's OpenRouter key does not open with "
			    "the master key");
		return TG_OK;
	}
	if (rc != TG_ENOENT)
		return rc;
	if (pkey_read(conf, pkey, sizeof(pkey)) == -1)
		return op_fail(op, TG_EUNAVAIL, NULL, NULL,
		    "the OpenRouter provisioning key cannot be read "
		    "([openrouter] provisioning_key_file)");
	rc = key_create(c, op, http, d, pkey, user_id, secret);
	crypto_wipe(pkey, sizeof(pkey));
	return rc;
}

/*
 * One key brought in line: a deleted user's key deleted at OpenRouter (and
 * here), else its limit set to what OpenRouter says it used plus the
 * user's spendable balance, so that what is left on it is that balance.
 */
static void
sync_one(struct db_conn *c, struct arena *a, struct http_client *http,
    const struct deployment *d, const char *pkey, const struct q_or_stale *s)
{
	struct http_result hr;
	const char *base = d->base_url;
	const char *path = arena_printf(a, "keys/%s", s->hash);
	int64_t used = 0;
	json_t *o, *u;
	int won;

	if (q_or_key_claim(c, a, s->user_id, d->provider_id, SYNC_EVERY_MS,
		&won) != TG_OK ||
	    !won)
		return; /* another process has it, or had it just now */
	if (s->deleted) {
		pcall(http, a, "DELETE", base, path, pkey, NULL, &hr);
		if (hr.err == HTTP_OK &&
		    (hr.status == 200 || hr.status == 204 || hr.status == 404))
			q_or_key_delete(c, a, s->user_id);
		http_result_clear(&hr);
		return;
	}
	pcall(http, a, "GET", base, path, pkey, NULL, &hr);
	if (hr.err == HTTP_OK && hr.status == 404) {
		/* Gone at OpenRouter: a new one is made on next use. */
		q_or_key_delete(c, a, s->user_id);
		http_result_clear(&hr);
		return;
	}
	o = answer_of(&hr);
	http_result_clear(&hr);
	if (o == NULL)
		return;
	u = json_object_get(json_object_get(o, "data"), "usage");
	if (u != NULL && (money_from_json(u, &used) == -1 || used < 0))
		used = 0;
	json_decref(o);
	pcall(http, a, "PATCH", base, path, pkey,
	    arena_printf(
		a, "{\"limit\":%s}", usd_literal(a, used + s->spendable)),
	    &hr);
	if ((o = answer_of(&hr)) != NULL)
		q_or_key_synced(
		    c, a, s->user_id, used + s->spendable, s->spendable);
	json_decref(o);
	http_result_clear(&hr);
}

void
or_provision_sync(struct db_conn *c, struct arena *a, const struct conf *conf,
    struct http_client *http)
{
	struct q_or_stale *rows;
	struct deployment d;
	char pkey[PKEY_MAX];
	size_t n, i;

	if (conf->or_provisioning_key_file == NULL || http == NULL ||
	    or_deployment(c, a, conf, NULL, &d) != TG_OK ||
	    q_or_key_stale(c, a, d.provider_id, SYNC_EVERY_MS, SYNC_BATCH,
		&rows, &n) != TG_OK ||
	    n == 0)
		return;
	if (pkey_read(conf, pkey, sizeof(pkey)) == -1) {
		log_msg(LOG_WARN,
		    "openrouter: the provisioning key file "
		    "cannot be read; user keys not synced");
		return;
	}
	for (i = 0; i < n; i++)
		sync_one(c, a, http, &d, pkey, &rows[i]);
	crypto_wipe(pkey, sizeof(pkey));
}
