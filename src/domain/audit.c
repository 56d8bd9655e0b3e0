/* audit.c: the keyed hash chain of the audit log, written in the caller's transaction */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "io/db.h"
#include "store/q_audit.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/op.h"

#define VERIFY_BATCH 500

/* hash_alg of a row: how row_hash was made from prev_hash and the fields. */
enum { ALG_SHA256 = 1, ALG_HMAC = 2 };

/*
 * The chain's key: HMAC-SHA-256(master key, a fixed label), so it is
 * neither the master key nor usable for anything else; and its check value,
 * which audit_head keeps so a wrong master key is told apart from a
 * tampered row.  Set once per process before any thread writes.
 */
static unsigned char chain_key[CRYPTO_SHA256_LEN];
static unsigned char chain_check[CRYPTO_SHA256_LEN];
static int have_key;

void
audit_set_key(const unsigned char master[CRYPTO_MASTER_LEN])
{
	static const char label[] = "tollgate audit chain v2";
	static const char check[] = "tollgate audit key check";

	if (crypto_hmac_sha256(master, CRYPTO_MASTER_LEN, label,
		sizeof(label) - 1, chain_key) == -1 ||
	    crypto_hmac_sha256(chain_key, sizeof(chain_key), check,
		sizeof(check) - 1, chain_check) == -1) {
		crypto_wipe(chain_key, sizeof(chain_key));
		return;
	}
	have_key = 1;
}

int
audit_keyed(void)
{
	return have_key;
}

enum tg_err
audit_lock(struct db_conn *c)
{
	struct arena *a = arena_new(1024);
	struct audit_head h;
	enum tg_err rc;

	rc = q_audit_head(c, a, 1, &h);
	arena_free(a);
	return rc;
}

enum tg_err
audit_begin(struct db_conn *c)
{
	enum tg_err rc;

	if ((rc = db_begin(c)) != TG_OK)
		return rc;
	return audit_lock(c);
}

/*
 * The canonical form: every field as "<length>:<bytes>;" (NULL as "-;"), so
 * no choice of field contents can make two rows hash alike.
 */
static void
field(struct buf *b, const struct q_text *t)
{
	if (t->s == NULL) {
		buf_puts(b, "-;");
		return;
	}
	buf_printf(b, "%zu:", t->len);
	buf_append(b, t->s, t->len);
	buf_puts(b, ";");
}

/* row_hash under alg: SHA-256 (rows from before the key) or the HMAC. */
static int
row_hash(int alg, const unsigned char prev[CRYPTO_SHA256_LEN],
    const struct audit_row *r, unsigned char out[CRYPTO_SHA256_LEN])
{
	const struct q_text *f[] = {&r->at, &r->actor, &r->actor_key,
	    &r->action, &r->target_type, &r->target_id, &r->ip, &r->request_id,
	    &r->before, &r->after};
	struct buf b;
	size_t i;
	int rc = 0;

	if (alg != ALG_SHA256 && (alg != ALG_HMAC || !have_key))
		return -1;
	buf_init(&b, 64u << 20);
	buf_append(&b, prev, CRYPTO_SHA256_LEN);
	buf_printf(&b, "i%lld;", (long long)r->id);
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		field(&b, f[i]);
	if (b.data == NULL)
		return -1;
	if (alg == ALG_SHA256)
		crypto_sha256(b.data, b.len, out);
	else
		rc = crypto_hmac_sha256(
		    chain_key, sizeof(chain_key), b.data, b.len, out);
	buf_free(&b);
	return rc;
}

/* Whether the head's key check (NULL: no keyed row yet) is this key's. */
static int
check_matches(const struct q_text *kc)
{
	return kc->s != NULL && kc->len == CRYPTO_SHA256_LEN &&
	    crypto_equal(kc->s, chain_check, CRYPTO_SHA256_LEN);
}

/* An optional text field: NULL and "" are stored as SQL NULL. */
static struct q_text
opt_text(const char *s)
{
	return s != NULL && *s != '\0' ? (struct q_text){s, strlen(s)}
				       : (struct q_text){NULL, 0};
}

static struct q_text
text(const char *s)
{
	return (struct q_text){s, strlen(s)};
}

static char *
dump(struct arena *a, json_t *j)
{
	char *s;

	if (j == NULL)
		return NULL;
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	arena_defer_free(a, s);
	return s;
}

/*
 * Once a row is keyed every later one is: an unkeyed row could be anyone's
 * with database access.  A process without the master key, or with another
 * one, may not add to a keyed chain.
 */
static enum tg_err
may_append(const struct audit_head *h)
{
	if (h->key_check.s != NULL && !have_key) {
		log_msg(LOG_ERR,
		    "audit: the chain is keyed and this process has no master "
		    "key ([security] master_key_file or TOLLGATE_MASTER_KEY); "
		    "audited changes are refused");
		return TG_EUNAVAIL;
	}
	if (have_key && h->key_check.s != NULL &&
	    !check_matches(&h->key_check)) {
		log_msg(LOG_ERR,
		    "audit: the master key is not the one the audit chain was "
		    "written with; audited changes are refused");
		return TG_EUNAVAIL;
	}
	return TG_OK;
}

/* Now, UTC, as "YYYY-MM-DD HH:MM:SS.ffffff". */
static void
now_text(char at[32])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(at, 32, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(at + strlen(at), 32 - strlen(at), ".%06ld", ts.tv_nsec / 1000);
}

enum tg_err
audit_append(struct db_conn *c, struct arena *a, const struct op *op,
    const char *action, const char *target_type, const char *target_id,
    json_t *before, json_t *after)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	const struct principal *who = op != NULL ? op->who : NULL;
	struct audit_head head;
	struct audit_row row;
	struct q_text check = {NULL, 0};
	char at[32];
	enum tg_err rc;

	if ((rc = q_audit_head(c, a, 1, &head)) != TG_OK)
		return rc;
	if (head.last_hash.len != CRYPTO_SHA256_LEN)
		return TG_ESYSTEM;
	if ((rc = may_append(&head)) != TG_OK)
		return rc;
	now_text(at);
	row = (struct audit_row){
	    .id = head.last_id + 1,
	    .at = text(at),
	    .actor = opt_text(who != NULL ? who->user_pub : NULL),
	    .actor_key = opt_text(who != NULL ? who->key_pub : NULL),
	    .action = text(action),
	    .target_type = text(target_type),
	    .target_id = opt_text(target_id),
	    .ip = opt_text(op != NULL ? op->addr : NULL),
	    .request_id = opt_text(op != NULL ? op->request_id : NULL),
	    .before = opt_text(dump(a, before)),
	    .after = opt_text(dump(a, after)),
	    .prev = head.last_hash,
	    .hash = {(const char *)hash, CRYPTO_SHA256_LEN},
	    .alg = have_key ? ALG_HMAC : ALG_SHA256,
	};
	if (row_hash(row.alg, (const unsigned char *)head.last_hash.s, &row,
		hash) == -1)
		return TG_ESYSTEM;
	if ((rc = q_audit_insert(c, a, &row)) != TG_OK)
		return rc;
	if (have_key)
		check = (struct q_text){
		    (const char *)chain_check, CRYPTO_SHA256_LEN};
	return q_audit_head_set(c, a, row.id, &row.hash, &check);
}

enum tg_err
audit_commit(struct db_conn *c, struct arena *a, const struct op *op,
    const char *action, const char *target_type, const char *target_id,
    json_t *before, json_t *after)
{
	enum tg_err rc;

	if ((rc = audit_append(c, a, op, action, target_type, target_id, before,
		 after)) != TG_OK)
		return rc;
	return db_commit(c);
}

/* Write the verdict's reason; at: the row the chain breaks at, 0: none. */
static int
say(struct audit_verdict *v, int rc, int64_t at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->broken_at = at;
	return rc;
}

/* 0, or 1 with a reason when the key cannot verify this chain at all. */
static int
verify_key(struct db_conn *c, struct arena *a, struct audit_verdict *v)
{
	struct audit_head h;

	if (q_audit_head(c, a, 0, &h) != TG_OK)
		return say(v, -1, 0, "reading audit_head: %s", db_error(c));
	if (h.key_check.s == NULL)
		return 0;
	if (!have_key)
		return say(v, 1, 0,
		    "audit verify needs the master key: the chain is keyed "
		    "with it ([security] master_key_file or "
		    "TOLLGATE_MASTER_KEY)");
	if (!check_matches(&h.key_check))
		return say(v, 1, 0,
		    "audit chain not verified: the master key is not the one "
		    "the chain was written with");
	return 0;
}

/* Where verify_chain is: the hash so far, rows seen and keyed rows. */
struct walk {
	unsigned char prev[CRYPTO_SHA256_LEN];
	int64_t last, n, keyed;
};

/* 0 when row r continues the chain w (which it then extends), else 1. */
static int
verify_row(const struct audit_row *r, struct walk *w, struct audit_verdict *v)
{
	unsigned char h[CRYPTO_SHA256_LEN];
	long long id = (long long)r->id;

	if (r->id != w->last + 1)
		return say(v, 1, r->id,
		    "audit chain broken at row %lld: row %lld is missing", id,
		    (long long)w->last + 1);
	if (r->alg == ALG_HMAC && !have_key)
		return say(v, 1, 0,
		    "audit verify needs the master key: row %lld is keyed "
		    "with it",
		    id);
	/* Keyed rows only ever follow unkeyed ones. */
	if (r->alg != ALG_HMAC && w->keyed > 0)
		return say(v, 1, r->id,
		    "audit chain broken at row %lld: an unkeyed row after "
		    "keyed rows",
		    id);
	if (r->prev.len != CRYPTO_SHA256_LEN ||
	    memcmp(r->prev.s, w->prev, CRYPTO_SHA256_LEN) != 0 ||
	    row_hash(r->alg, w->prev, r, h) == -1 ||
	    r->hash.len != CRYPTO_SHA256_LEN ||
	    memcmp(r->hash.s, h, CRYPTO_SHA256_LEN) != 0)
		return say(v, 1, r->id,
		    "audit chain broken at row %lld: its hash does not match "
		    "its contents or its predecessor",
		    id);
	memcpy(w->prev, h, sizeof(w->prev));
	w->last = r->id;
	w->keyed += r->alg == ALG_HMAC;
	w->n++;
	return 0;
}

/* Walk every row in batches: 0 intact so far, 1 broken, -1 error. */
static int
verify_chain(
    struct db_conn *c, struct arena *a, struct walk *w, struct audit_verdict *v)
{
	struct audit_row *rows;
	size_t i, n;

	for (;;) {
		if (q_audit_scan(c, a, w->last, VERIFY_BATCH, &rows, &n) !=
		    TG_OK)
			return say(
			    v, -1, 0, "reading audit_log: %s", db_error(c));
		for (i = 0; i < n; i++)
			if (verify_row(&rows[i], w, v) != 0)
				return 1;
		arena_reset(a);
		if (n < VERIFY_BATCH)
			return 0;
	}
}

int
audit_check(struct db_conn *c, struct audit_verdict *v)
{
	struct arena *a = arena_new(64 * 1024);
	struct walk w = {{0}, 0, 0, 0};
	struct audit_head h;
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = verify_key(c, a, v)) != 0 ||
	    (rc = verify_chain(c, a, &w, v)) != 0)
		goto out;
	/* The head names the newest row: dropping the newest rows shows here. */
	if (q_audit_head(c, a, 0, &h) != TG_OK) {
		rc = say(v, -1, 0, "reading audit_head: %s", db_error(c));
		goto out;
	}
	if (h.last_id != w.last || h.last_hash.len != CRYPTO_SHA256_LEN ||
	    memcmp(h.last_hash.s, w.prev, CRYPTO_SHA256_LEN) != 0) {
		rc = say(v, 1, w.last + 1,
		    "audit chain broken at row %lld: the newest row "
		    "should be %lld; rows are missing at the end",
		    (long long)w.last + 1, (long long)h.last_id);
		goto out;
	}
	rc = 0;
out:
	v->rows = w.n;
	v->keyed = w.keyed;
	arena_free(a);
	return rc;
}

int
audit_verify(struct db_conn *c, FILE *out)
{
	struct audit_verdict v;
	int rc = audit_check(c, &v);

	if (rc < 0)
		fprintf(out, "tollgate: %s\n", v.reason);
	else if (rc > 0)
		fprintf(out, "%s\n", v.reason);
	else
		fprintf(out,
		    "audit chain ok: %lld rows (%lld keyed with the master "
		    "key, %lld unkeyed from before it)\n",
		    (long long)v.rows, (long long)v.keyed,
		    (long long)(v.rows - v.keyed));
	return rc;
}
