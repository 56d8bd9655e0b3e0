/* audit.c: the keyed hash chain of the audit log, written in the caller's transaction */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "io/db.h"
#include "store/stmt.h"
#include "core/log.h"
#include "domain/op.h"

#define AUDIT_COLS   14
#define VERIFY_BATCH 500

/* hash_alg of a row: how row_hash was made from prev_hash and the fields. */
enum { ALG_SHA256 = 1, ALG_HMAC = 2 };

/* Columns of STMT_AUDIT_SCAN, which are also the hashed fields in order. */
enum {
	AU_ID,
	AU_AT,
	AU_ACTOR,
	AU_ACTOR_KEY,
	AU_ACTION,
	AU_TTYPE,
	AU_TID,
	AU_IP,
	AU_REQID,
	AU_BEFORE,
	AU_AFTER,
	AU_PREV,
	AU_HASH,
	AU_ALG
};

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
	struct db_rows rows;
	enum tg_err rc;

	rc = db_exec(c, STMT_AUDIT_HEAD_LOCK, NULL, 0, &rows, a);
	if (rc == TG_OK && rows.nrows != 1)
		rc = TG_ESYSTEM;
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
field(struct buf *b, const struct db_val *v)
{
	if (v->type == DBT_NULL) {
		buf_puts(b, "-;");
		return;
	}
	if (v->type == DBT_I64) {
		buf_printf(b, "i%lld;", (long long)v->i);
		return;
	}
	buf_printf(b, "%zu:", v->len);
	buf_append(b, v->s, v->len);
	buf_puts(b, ";");
}

/* row_hash under alg: SHA-256 (rows from before the key) or the HMAC. */
static int
row_hash(int alg, const unsigned char prev[CRYPTO_SHA256_LEN],
    const struct db_val *v, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	struct buf b;
	size_t i;
	int rc = 0;

	if (alg != ALG_SHA256 && (alg != ALG_HMAC || !have_key))
		return -1;
	buf_init(&b, 64u << 20);
	buf_append(&b, prev, CRYPTO_SHA256_LEN);
	for (i = 0; i < n; i++)
		field(&b, &v[i]);
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
check_matches(const struct db_val *kc)
{
	return kc->type != DBT_NULL && kc->len == CRYPTO_SHA256_LEN &&
	    crypto_equal(kc->s, chain_check, CRYPTO_SHA256_LEN);
}

static struct db_val
opt_str(const char *s)
{
	return s != NULL && *s != '\0' ? DB_STR(s) : DB_NULLV;
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

enum tg_err
audit_append(struct db_conn *c, struct arena *a, const struct op *op,
    const char *action, const char *target_type, const char *target_id,
    json_t *before, json_t *after)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct db_val v[AUDIT_COLS];
	struct db_rows head;
	struct timespec ts;
	struct tm tm;
	char at[32];
	int64_t id;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_AUDIT_HEAD_LOCK, NULL, 0, &head, a)) != TG_OK)
		return rc;
	if (head.nrows != 1 || head.v[1].len != CRYPTO_SHA256_LEN)
		return TG_ESYSTEM;
	/*
	 * Once a row is keyed every later one is: an unkeyed row could be
	 * anyone's with database access.  A process without the master key,
	 * or with another one, may not add to a keyed chain.
	 */
	if (head.v[2].type != DBT_NULL && !have_key) {
		log_msg(LOG_ERR,
		    "audit: the chain is keyed and this process has no master "
		    "key ([security] master_key_file or TOLLGATE_MASTER_KEY); "
		    "audited changes are refused");
		return TG_EUNAVAIL;
	}
	if (have_key && head.v[2].type != DBT_NULL &&
	    !check_matches(&head.v[2])) {
		log_msg(LOG_ERR,
		    "audit: the master key is not the one the audit chain was "
		    "written with; audited changes are refused");
		return TG_EUNAVAIL;
	}
	id = head.v[0].i + 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(at + strlen(at), sizeof(at) - strlen(at), ".%06ld",
	    ts.tv_nsec / 1000);
	v[AU_ID] = DB_I64(id);
	v[AU_AT] = DB_STR(at);
	v[AU_ACTOR] =
	    opt_str(op != NULL && op->who != NULL ? op->who->user_pub : NULL);
	v[AU_ACTOR_KEY] =
	    opt_str(op != NULL && op->who != NULL ? op->who->key_pub : NULL);
	v[AU_ACTION] = DB_STR(action);
	v[AU_TTYPE] = DB_STR(target_type);
	v[AU_TID] = opt_str(target_id);
	v[AU_IP] = opt_str(op != NULL ? op->addr : NULL);
	v[AU_REQID] = opt_str(op != NULL ? op->request_id : NULL);
	v[AU_BEFORE] = opt_str(dump(a, before));
	v[AU_AFTER] = opt_str(dump(a, after));
	v[AU_PREV] = (struct db_val){
	    .type = DBT_STR, .s = head.v[1].s, .len = CRYPTO_SHA256_LEN};
	if (row_hash(have_key ? ALG_HMAC : ALG_SHA256,
		(const unsigned char *)head.v[1].s, v, AU_PREV, hash) == -1)
		return TG_ESYSTEM;
	v[AU_HASH] = (struct db_val){
	    .type = DBT_STR, .s = (const char *)hash, .len = CRYPTO_SHA256_LEN};
	v[AU_ALG] = DB_I64(have_key ? ALG_HMAC : ALG_SHA256);
	if ((rc = db_exec(c, STMT_AUDIT_INSERT, v, AUDIT_COLS, NULL, a)) !=
	    TG_OK)
		return rc;
	v[1] = v[AU_HASH];
	v[2] = have_key ? (struct db_val){.type = DBT_STR,
			      .s = (const char *)chain_check,
			      .len = CRYPTO_SHA256_LEN}
			: DB_NULLV;
	return db_exec(c, STMT_AUDIT_HEAD_SET, v, 3, NULL, a);
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

/* 0, or 1 with a message when the key cannot verify this chain at all. */
static int
verify_key(struct db_conn *c, struct arena *a, FILE *out)
{
	struct db_rows rows;

	if (db_exec(c, STMT_AUDIT_HEAD_GET, NULL, 0, &rows, a) != TG_OK ||
	    rows.nrows != 1) {
		fprintf(out, "tollgate: reading audit_head: %s\n", db_error(c));
		return -1;
	}
	if (rows.v[2].type == DBT_NULL)
		return 0;
	if (!have_key) {
		fprintf(out,
		    "audit verify needs the master key: the chain is keyed "
		    "with it ([security] master_key_file or "
		    "TOLLGATE_MASTER_KEY)\n");
		return 1;
	}
	if (!check_matches(&rows.v[2])) {
		fprintf(out,
		    "audit chain not verified: the master key is not the one "
		    "the chain was written with\n");
		return 1;
	}
	return 0;
}

int
audit_verify(struct db_conn *c, FILE *out)
{
	unsigned char prev[CRYPTO_SHA256_LEN] = {0}, h[CRYPTO_SHA256_LEN];
	struct arena *a = arena_new(64 * 1024);
	struct db_val p[2];
	struct db_rows rows;
	int64_t last = 0, n = 0, keyed = 0;
	size_t i;
	const struct db_val *v;
	int rc = -1, alg;

	if ((rc = verify_key(c, a, out)) != 0)
		goto out;
	rc = -1;
	for (;;) {
		p[0] = DB_I64(last);
		p[1] = DB_I64(VERIFY_BATCH);
		if (db_exec(c, STMT_AUDIT_SCAN, p, 2, &rows, a) != TG_OK) {
			fprintf(out, "tollgate: reading audit_log: %s\n",
			    db_error(c));
			goto out;
		}
		for (i = 0; i < rows.nrows; i++) {
			v = &rows.v[i * rows.ncols];
			if (v[AU_ID].i != last + 1) {
				fprintf(out,
				    "audit chain broken at row %lld: "
				    "row %lld is missing\n",
				    (long long)v[AU_ID].i, (long long)last + 1);
				rc = 1;
				goto out;
			}
			alg = (int)v[AU_ALG].i;
			if (alg == ALG_HMAC && !have_key) {
				fprintf(out,
				    "audit verify needs the master key: row "
				    "%lld is keyed with it\n",
				    (long long)v[AU_ID].i);
				rc = 1;
				goto out;
			}
			/* Keyed rows only ever follow unkeyed ones. */
			if (alg != ALG_HMAC && keyed > 0) {
				fprintf(out,
				    "audit chain broken at row %lld: an "
				    "unkeyed row after keyed rows\n",
				    (long long)v[AU_ID].i);
				rc = 1;
				goto out;
			}
			if (v[AU_PREV].len != CRYPTO_SHA256_LEN ||
			    memcmp(v[AU_PREV].s, prev, CRYPTO_SHA256_LEN) !=
				0 ||
			    row_hash(alg, prev, v, AU_PREV, h) == -1 ||
			    v[AU_HASH].len != CRYPTO_SHA256_LEN ||
			    memcmp(v[AU_HASH].s, h, CRYPTO_SHA256_LEN) != 0) {
				fprintf(out,
				    "audit chain broken at row %lld: "
				    "its hash does not match its contents or "
				    "its predecessor\n",
				    (long long)v[AU_ID].i);
				rc = 1;
				goto out;
			}
			memcpy(prev, h, sizeof(prev));
			last = v[AU_ID].i;
			keyed += alg == ALG_HMAC;
			n++;
		}
		arena_reset(a);
		if (rows.nrows < VERIFY_BATCH)
			break;
	}
	/* The head names the newest row: dropping the newest rows shows here. */
	if (db_exec(c, STMT_AUDIT_HEAD_GET, NULL, 0, &rows, a) != TG_OK ||
	    rows.nrows != 1) {
		fprintf(out, "tollgate: reading audit_head: %s\n", db_error(c));
		goto out;
	}
	if (rows.v[0].i != last || rows.v[1].len != CRYPTO_SHA256_LEN ||
	    memcmp(rows.v[1].s, prev, CRYPTO_SHA256_LEN) != 0) {
		fprintf(out,
		    "audit chain broken at row %lld: the newest row "
		    "should be %lld; rows are missing at the end\n",
		    (long long)last + 1, (long long)rows.v[0].i);
		rc = 1;
		goto out;
	}
	fprintf(out,
	    "audit chain ok: %lld rows (%lld keyed with the master key, "
	    "%lld unkeyed from before it)\n",
	    (long long)n, (long long)keyed, (long long)(n - keyed));
	rc = 0;
out:
	arena_free(a);
	return rc;
}
