/* convlog.c: conversation logs (issue 18): a record sealed in the worker, written by the journal, read by its owner */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/money.h"
#include "core/util.h"
#include "core/zip.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/convlog.h"
#include "domain/journal.h"
#include "domain/op.h"
#include "io/db.h"
#include "store/q_conv.h"

/* The sealing key's purpose (crypto_derive): never the master key itself. */
#define CONV_PURPOSE "conversations v1"
#define LEN_BYTES    4 /* the request's length, before it in the plaintext */

static const char *const level_names[] = {
    [CONV_OFF] = "off", [CONV_METADATA] = "metadata", [CONV_FULL] = "full"};

const char *
convlog_level_name(enum conv_level l)
{
	return (unsigned)l <= CONV_FULL ? level_names[l] : "off";
}

int
convlog_level_parse(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i <= CONV_FULL; i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

enum conv_level
convlog_level(const struct conf *f, const char *user_level)
{
	int u = convlog_level_parse(user_level);

	if (u < 0)
		u = CONV_OFF;
	return u < f->conversations ? (enum conv_level)u
				    : (enum conv_level)f->conversations;
}

/* The associated data: a sealed body opens for its own row only. */
static char *
conv_aad(struct arena *a, const char *request_id, int64_t user_id)
{
	return arena_printf(
	    a, "conversation:%s:%lld", request_id, (long long)user_id);
}

/*
 * The bodies, each cut at cap (whole characters), as LEN_BYTES of the
 * request's length, the request, the answer; deflated then sealed into
 * *out.  -1 when it does not fit CONVLOG_SEALED_MAX (or fails).
 */
static int
seal_bodies(const struct convlog_rec *r, const unsigned char key[32],
    struct arena *a, size_t cap, unsigned char **out, size_t *outlen,
    size_t *plain, int *cut)
{
	size_t rn = r->request_len, an = r->answer_len, n, zn;
	unsigned char *p, *z, *s;
	const char *aad;

	if (rn > cap)
		rn = util_utf8_cut(r->request, cap);
	if (an > cap)
		an = util_utf8_cut(r->answer, cap);
	*cut = rn < r->request_len || an < r->answer_len || r->answer_cut;
	n = LEN_BYTES + rn + an;
	if ((p = arena_alloc(a, n)) == NULL ||
	    (z = arena_alloc(a, zip_bound(n))) == NULL)
		return -1;
	p[0] = (unsigned char)(rn >> 24);
	p[1] = (unsigned char)(rn >> 16);
	p[2] = (unsigned char)(rn >> 8);
	p[3] = (unsigned char)rn;
	memcpy(p + LEN_BYTES, r->request, rn);
	if (an > 0)
		memcpy(p + LEN_BYTES + rn, r->answer, an);
	if (zip_deflate(p, n, z, zip_bound(n), &zn) == -1 ||
	    zn + CRYPTO_SEAL_OVERHEAD > CONVLOG_SEALED_MAX ||
	    (s = arena_alloc(a, zn + CRYPTO_SEAL_OVERHEAD)) == NULL)
		return -1;
	aad = conv_aad(a, r->request_id, r->user_id);
	if (crypto_seal(key, aad, strlen(aad), z, zn, s) == -1)
		return -1;
	*out = s;
	*outlen = zn + CRYPTO_SEAL_OVERHEAD;
	*plain = rn + an;
	return 0;
}

/* "YYYY-MM-DD HH:MM:SS.uuuuuu", UTC, of a wall-clock time, in a. */
static char *
sql_time(struct arena *a, double t)
{
	char at[UTIL_SQL_TIME_LEN];

	util_sql_time(t, at);
	return arena_strdup(a, at);
}

/* The full level's body into cols, halving the caps while it is too big. */
static void
body_cols(const struct convlog_rec *r, const unsigned char *master,
    struct arena *a, struct db_val *cols)
{
	unsigned char key[CRYPTO_MASTER_LEN], *s;
	size_t cap, n, plain;
	int cut = 0;

	cols[CC_BODY] = DB_NULLV;
	if (master == NULL || crypto_derive(master, CONV_PURPOSE, key) == -1)
		return;
	/* Text deflates to a quarter; only noise needs the smaller caps. */
	for (cap = CONVLOG_BODY_MAX; cap >= 1024; cap /= 2)
		if (seal_bodies(r, key, a, cap, &s, &n, &plain, &cut) == 0) {
			cols[CC_BODY] = (struct db_val){
			    .type = DBT_STR, .s = (const char *)s, .len = n};
			cols[CC_BODY_BYTES] = DB_I64((int64_t)plain);
			cols[CC_TRUNCATED] = DB_I64(cut);
			break;
		}
	crypto_wipe(key, sizeof(key));
}

enum tg_err
convlog_write(struct journal *j, const unsigned char *master, struct arena *a,
    const struct convlog_rec *r)
{
	struct db_val cols[CC__MAX];

	if (j == NULL || r->level == CONV_OFF)
		return r->level == CONV_OFF ? TG_OK : TG_ESYSTEM;
	cols[CC_REQUEST_ID] = DB_STR(r->request_id);
	cols[CC_USER_ID] = DB_I64(r->user_id);
	cols[CC_KEY_ID] = DB_I64(r->key_id);
	cols[CC_LEVEL] = DB_STR(convlog_level_name(r->level));
	cols[CC_API] = DB_STR(r->api != NULL ? r->api : "chat");
	cols[CC_MODEL] = DB_STR(r->model != NULL ? r->model : "");
	cols[CC_STREAM] = DB_I64(r->stream != 0);
	cols[CC_STATUS] = DB_STR(r->status);
	cols[CC_HTTP_STATUS] = DB_I64(r->http_status);
	cols[CC_PROMPT] = DB_I64(r->prompt);
	cols[CC_COMPLETION] = DB_I64(r->completion);
	cols[CC_CHARGE] = DB_I64(r->charge);
	cols[CC_LATENCY_MS] = DB_I64(r->latency_ms);
	cols[CC_BODY] = DB_NULLV;
	cols[CC_BODY_BYTES] = DB_I64(0);
	cols[CC_TRUNCATED] = DB_I64(0);
	cols[CC_CREATED] = DB_STR(sql_time(a, r->started));
	if (r->level == CONV_FULL)
		body_cols(r, master, a, cols);
	if (cols[CC_CREATED].s == NULL ||
	    journal_append_kind(j, JK_CONV, cols, CC__MAX) == -1) {
		log_msg(LOG_ERR, "req=%s its conversation record is lost",
		    r->request_id);
		return TG_ESYSTEM;
	}
	return TG_OK;
}

/* --- reading ------------------------------------------------------------------------------- */

static json_t *
row_json(const struct conv_row *r)
{
	return json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:b, s:s?, s:I, "
			 "s:{s:I, s:I, s:I}, s:o, s:I, s:s?, s:b, s:I}",
	    "id", r->request_id, "created_at", r->created_at, "level", r->level,
	    "api", r->api, "model", r->model, "stream", r->stream, "status",
	    r->status, "http_status", (json_int_t)r->http_status, "usage",
	    "prompt_tokens", (json_int_t)r->prompt, "completion_tokens",
	    (json_int_t)r->completion, "total_tokens",
	    (json_int_t)(r->prompt + r->completion), "cost",
	    money_json(r->charge), "latency_ms", (json_int_t)r->latency_ms,
	    "api_key_id", r->key_pub, "truncated", r->truncated, "body_bytes",
	    (json_int_t)r->body_bytes);
}

enum tg_err
convlog_list(struct db_conn *c, struct op *op, const struct convlog_query *q,
    json_t **data, int64_t *next)
{
	struct conv_query cq = {op->who->user_id, q->before_id, q->from, q->to,
	    q->model, q->limit + 1};
	struct conv_row *rows;
	size_t i, n;
	enum tg_err rc;

	/* One more than asked: whether a next page exists. */
	if ((rc = q_conv_list(c, op->arena, &cq, &rows, &n)) != TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(op->arena, *data);
	*next = 0;
	for (i = 0; i < n; i++) {
		if ((int64_t)i == q->limit) {
			*next = rows[i - 1].id;
			break;
		}
		json_array_append_new(*data, row_json(&rows[i]));
	}
	return TG_OK;
}

/* The sealed body of r opened into o's "request" and "answer". */
static enum tg_err
open_body(struct op *op, const struct conv_row *r, json_t *o)
{
	unsigned char key[CRYPTO_MASTER_LEN], *z, *p;
	size_t zn, pn, rn, cap = 2 * CONVLOG_BODY_MAX + LEN_BYTES;
	const char *aad;
	int ok;

	if (r->body == NULL || r->body_len < CRYPTO_SEAL_OVERHEAD)
		return TG_OK; /* metadata only */
	if (op->master == NULL)
		return op_fail(op, TG_EUNAVAIL, "no_master_key", NULL,
		    "the gateway has no master key configured, so it cannot "
		    "open conversation bodies");
	zn = r->body_len - CRYPTO_SEAL_OVERHEAD;
	if ((z = arena_alloc(op->arena, zn + 1)) == NULL ||
	    (p = arena_alloc(op->arena, cap)) == NULL ||
	    crypto_derive(op->master, CONV_PURPOSE, key) == -1)
		return TG_ESYSTEM;
	aad = conv_aad(op->arena, r->request_id, op->who->user_id);
	ok = crypto_open(key, aad, strlen(aad), r->body, r->body_len, z) == 0 &&
	    zip_inflate(z, zn, p, cap, &pn) == 0 && pn >= LEN_BYTES;
	crypto_wipe(key, sizeof(key));
	if (ok) {
		rn = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
		    (size_t)p[2] << 8 | p[3];
		ok = rn <= pn - LEN_BYTES;
	}
	if (!ok)
		return op_fail(op, TG_ESYSTEM, "conversation_unreadable", NULL,
		    "this conversation's body cannot be opened (another "
		    "master key, or altered)");
	json_object_set_new(
	    o, "request", json_stringn((const char *)p + LEN_BYTES, rn));
	json_object_set_new(o, "answer",
	    json_stringn(
		(const char *)p + LEN_BYTES + rn, pn - LEN_BYTES - rn));
	return TG_OK;
}

enum tg_err
convlog_get(
    struct db_conn *c, struct op *op, const char *request_id, json_t **out)
{
	struct conv_row r;
	json_t *o;
	enum tg_err rc;

	if ((rc = q_conv_get(c, op->arena, op->who->user_id, request_id, &r)) !=
	    TG_OK)
		return rc;
	if ((o = row_json(&r)) == NULL)
		return TG_ESYSTEM;
	arena_defer_json(op->arena, o);
	json_object_set_new(o, "request", json_null());
	json_object_set_new(o, "answer", json_null());
	if ((rc = open_body(op, &r, o)) != TG_OK)
		return rc;
	*out = o;
	return TG_OK;
}

enum tg_err
convlog_delete(struct db_conn *c, struct op *op, const char *request_id)
{
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_conv_delete(c, op->arena, op->who->user_id, request_id)) !=
	    TG_OK)
		goto fail;
	/* Neither body goes in the audit log: only which one went. */
	if ((rc = audit_commit(c, op->arena, op, "conversation.delete",
		 "conversation", request_id, NULL, NULL)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
convlog_check_level(struct op *op, const json_t *body)
{
	const json_t *v = json_object_get(body, "conversation_log");

	if (v == NULL || convlog_level_parse(json_string_value(v)) >= 0)
		return TG_OK;
	return op_fail(op, TG_EINVAL, "invalid_value", "conversation_log",
	    "conversation_log is off, metadata or full");
}

enum tg_err
convlog_set_level(
    struct db_conn *c, struct op *op, int64_t user_id, const json_t *body)
{
	const json_t *v = json_object_get(body, "conversation_log");
	enum tg_err rc;

	if (v == NULL)
		return TG_OK;
	if ((rc = convlog_check_level(op, body)) != TG_OK)
		return rc;
	return q_conv_user_set(c, op->arena, user_id, json_string_value(v));
}

enum tg_err
convlog_purge(struct db_conn *c, struct arena *a, unsigned days, unsigned limit,
    int64_t *n)
{
	return q_conv_purge(c, a, days, limit, n);
}
