/* did.c: DID identity: did:key parsing, signed requests, the replay cache, first contact */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "io/db.h"
#include "io/shm.h"
#include "store/q_did.h"
#include "domain/accounts.h"
#include "domain/auth.h"
#include "domain/did.h"
#include "domain/op.h"

#define DID_KEY_PREFIX "did:key:z"

int
did_key_parse(const char *did, unsigned char key[CRYPTO_ED25519_KEY_LEN])
{
	unsigned char raw[2 + CRYPTO_ED25519_KEY_LEN + 1];
	size_t n = sizeof(DID_KEY_PREFIX) - 1;
	int len;

	if (strlen(did) > DID_MAX || strncmp(did, DID_KEY_PREFIX, n) != 0)
		return -1;
	/* One byte of room more than a key: a longer value is refused. */
	len = crypto_base58_decode(did + n, raw, sizeof(raw));
	/* The multicodec varint of ed25519-pub (0xed) is 0xed 0x01. */
	if (len != 2 + CRYPTO_ED25519_KEY_LEN || raw[0] != 0xed ||
	    raw[1] != 0x01)
		return -1;
	memcpy(key, raw + 2, CRYPTO_ED25519_KEY_LEN);
	return 0;
}

char *
did_signed_text(struct arena *a, const char *timestamp, const char *method,
    const char *uri, const void *body, size_t n)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];

	crypto_sha256(body != NULL ? body : "", body != NULL ? n : 0, h);
	crypto_hex(h, sizeof(h), hex);
	return arena_printf(a, "%s\n%s\n%s\n%s", timestamp, method, uri, hex);
}

/*
 * Signatures seen within the window, in a table every worker of the node
 * maps, behind its robust lock.  A slot holds a keyed hash of a signature
 * and the time after which the window refuses that signature anyway; from
 * then on the slot is free again.  The hash is keyed by a secret made when
 * the file is, so no client can aim its signatures at one corner of the
 * table.  When every slot a signature may take is in use it is refused
 * (did_replay_cache_full), never let through unremembered.
 */
#define CACHE_VERSION 1
#define PROBES	      64

struct slot {
	unsigned char h[CRYPTO_SHA256_LEN];
	int64_t until; /* Unix s; 0: never used */
};

struct table {
	char secret[48]; /* base62, NUL-terminated; "" until made */
	struct slot s[];
};

struct did_cache {
	struct shm *shm;
	struct table *t;
	size_t slots;
};

struct did_cache *
did_cache_open(const char *path, size_t slots)
{
	size_t size = sizeof(struct table) + slots * sizeof(struct slot);
	struct did_cache *d;
	char err[256];

	if (slots < PROBES || (d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->slots = slots;
	if (path == NULL ||
	    (d->shm = shm_attach(
		 path, CACHE_VERSION, size, err, sizeof(err))) == NULL) {
		if (path != NULL)
			log_msg(LOG_ERR,
			    "DID replay cache: %s; each process remembers "
			    "only its own signatures",
			    err);
		if ((d->shm = shm_private(size)) == NULL) {
			free(d);
			return NULL;
		}
	}
	d->t = shm_data(d->shm);
	return d;
}

void
did_cache_close(struct did_cache *d)
{
	if (d == NULL)
		return;
	shm_detach(d->shm);
	free(d);
}

enum cache_verdict { CV_NEW, CV_SEEN, CV_FULL, CV_ERROR };

/* Remember sig until until (Unix s), unless it is there already. */
static enum cache_verdict
cache_take(struct did_cache *d, const unsigned char *sig, size_t n,
    int64_t until, int64_t now)
{
	struct table *t = d->t;
	struct slot *free_slot = NULL, *s;
	unsigned char h[CRYPTO_SHA256_LEN];
	enum cache_verdict v = CV_FULL;
	uint64_t at;
	size_t i;

	shm_lock(d->shm);
	if (t->secret[0] == '\0' &&
	    crypto_base62(t->secret, sizeof(t->secret) - 1) == -1) {
		t->secret[0] = '\0';
		v = CV_ERROR;
		goto out;
	}
	if (crypto_hmac_sha256(t->secret, strlen(t->secret), sig, n, h) == -1) {
		v = CV_ERROR;
		goto out;
	}
	memcpy(&at, h, sizeof(at));
	/* Every probe is looked at: a match may sit past a freed slot. */
	for (i = 0; i < PROBES; i++) {
		s = &t->s[(at + i) % d->slots];
		if (s->until >= now && memcmp(s->h, h, sizeof(h)) == 0) {
			v = CV_SEEN;
			goto out;
		}
		if (s->until < now && free_slot == NULL)
			free_slot = s;
	}
	if (free_slot != NULL) {
		memcpy(free_slot->h, h, sizeof(h));
		free_slot->until = until;
		v = CV_NEW;
	}
out:
	shm_unlock(d->shm);
	return v;
}

/*
 * Unix seconds: digits, at most 15 (milliseconds, a common slip, parse and
 * are then told apart by the window); else -1.
 */
static int64_t
parse_time(const char *s)
{
	size_t n = strlen(s), i;
	int64_t v = 0;

	if (n == 0 || n > 15)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The signature's bytes: base64url of 64 bytes (86 characters, 88 padded). */
static int
parse_signature(const char *s, unsigned char sig[CRYPTO_ED25519_SIG_LEN])
{
	return strlen(s) <= 88 &&
		crypto_base64url_decode(s, sig, CRYPTO_ED25519_SIG_LEN) ==
		    CRYPTO_ED25519_SIG_LEN
	    ? 0
	    : -1;
}

static enum tg_err
check_time(
    struct op *op, const char *ts, unsigned window, int64_t now, int64_t *t)
{
	if ((*t = parse_time(ts)) < 0)
		return op_fail(op, TG_EAUTH, "did_bad_timestamp", NULL,
		    "x-did-timestamp is the signing time in Unix seconds "
		    "(digits only)");
	if (*t < now - (int64_t)window || *t > now + (int64_t)window)
		return op_fail(op, TG_EAUTH, "did_timestamp_out_of_window",
		    NULL,
		    "x-did-timestamp is %lld s away from the server's clock; "
		    "at most %u s are accepted: sign again with the current "
		    "time%s",
		    (long long)(*t > now ? *t - now : now - *t), window,
		    *t / 1000 > now - (int64_t)window &&
			    *t / 1000 < now + (int64_t)window
			? " in seconds, not milliseconds"
			: "");
	return TG_OK;
}

static enum tg_err
check_replay(struct op *op, struct did_cache *d, const unsigned char *sig,
    int64_t until, int64_t now)
{
	switch (cache_take(d, sig, CRYPTO_ED25519_SIG_LEN, until, now)) {
	case CV_NEW:
		return TG_OK;
	case CV_SEEN:
		return op_fail(op, TG_EAUTH, "did_replay", NULL,
		    "this signature was used before: sign each request anew "
		    "(a new timestamp makes a new signature)");
	case CV_FULL:
		log_msg(LOG_WARN,
		    "DID replay cache: no free slot for a "
		    "signature; refused it");
		return op_fail(op, TG_EAUTH, "did_replay_cache_full", NULL,
		    "the server cannot remember more signatures right now, so "
		    "it cannot tell this one from a replay; retry shortly");
	default:
		return op_fail(op, TG_ESYSTEM, NULL, NULL, NULL);
	}
}

enum tg_err
did_verify(struct op *op, struct did_cache *d, const struct did_request *q,
    unsigned window, int64_t now)
{
	unsigned char key[CRYPTO_ED25519_KEY_LEN], sig[CRYPTO_ED25519_SIG_LEN];
	const char *text;
	int64_t t;
	enum tg_err rc;

	if (did_key_parse(q->did, key) == -1)
		return op_fail(op, TG_EAUTH, "invalid_did", NULL,
		    "x-did must be a did:key of an Ed25519 key "
		    "(did:key:z6Mk...: multibase base58btc, multicodec "
		    "0xed01, 32 bytes)");
	if ((rc = check_time(op, q->timestamp, window, now, &t)) != TG_OK)
		return rc;
	if (parse_signature(q->signature, sig) == -1)
		return op_fail(op, TG_EAUTH, "did_bad_signature", NULL,
		    "x-did-signature must be the base64url Ed25519 signature "
		    "(64 bytes) of the request");
	text = did_signed_text(
	    op->arena, q->timestamp, q->method, q->uri, q->body, q->body_len);
	if (!crypto_ed25519_verify(key, text, strlen(text), sig))
		return op_fail(op, TG_EAUTH, "did_bad_signature", NULL,
		    "x-did-signature does not verify with the key of x-did "
		    "over TIMESTAMP\\nMETHOD\\nPATH_WITH_QUERY\\n"
		    "HEX_SHA256_OF_BODY");
	/* After the window the timestamp alone refuses it: forget it then. */
	return check_replay(op, d, sig, t + (int64_t)window, now);
}

/* The username of a DID: "did-" and the end of its key's base58. */
static const char *
did_username(struct op *op, const char *did)
{
	size_t n = strlen(did);

	return arena_printf(op->arena, "did-%s", did + (n > 28 ? n - 28 : 0));
}

/*
 * Create the user, or find that another request just did: the insert of
 * the second waits on the first's unique key and then fails on it, so
 * there is one user and one grant however many race.
 */
static enum tg_err
first_contact(struct db_conn *c, struct op *op, const char *did)
{
	struct did_user_new u = {did, did_username(op, did),
	    op->conf->did_group, op->conf->did_initial_credits};
	const char *which = NULL;
	enum tg_err rc;

	if ((rc = account_register_allowed(c, op)) != TG_OK)
		return rc;
	rc = account_create_did(c, op, &u, &which);
	if (rc == TG_ECONFLICT && which != NULL &&
	    strcmp(which, "username") == 0) {
		/* A registered user took the name: the DID goes without one. */
		u.username = NULL;
		rc = account_create_did(c, op, &u, &which);
	}
	if (rc == TG_OK)
		account_register_count(c, op);
	return rc == TG_ECONFLICT ? TG_OK : rc;
}

enum tg_err
did_principal(
    struct db_conn *c, struct op *op, const char *did, struct principal *p)
{
	struct did_user_row u;
	enum tg_err rc;

	rc = q_did_user(c, op->arena, did, &u);
	if (rc == TG_ENOENT) {
		if ((rc = first_contact(c, op, did)) != TG_OK)
			return op->fail.err != TG_OK
			    ? op->fail.err
			    : op_fail(op, rc, NULL, NULL, NULL);
		rc = q_did_user(c, op->arena, did, &u);
	}
	if (rc != TG_OK)
		return op_fail(
		    op, rc == TG_ENOENT ? TG_ESYSTEM : rc, NULL, NULL, NULL);
	if (strcmp(u.status, "active") != 0)
		return op_fail(op, TG_EPERM, "account_suspended", NULL,
		    "the account of this DID is %s", u.status);
	p->user_id = u.id;
	snprintf(p->user_pub, sizeof(p->user_pub), "%s", u.pub);
	p->admin_role = strcmp(u.role, "admin") == 0;
	/* A credential like a key: it calls models; only an admin's does more. */
	p->perms = PERM_READ | PERM_WRITE |
	    (p->admin_role ? PERM_ADMIN | PERM_KEYS : 0);
	p->key_id = 0;
	p->did = arena_strdup(op->arena, did);
	return TG_OK;
}
