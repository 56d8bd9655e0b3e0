/* topup.c: money in: redemption code batches and their redemption, payments credited once per event */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/money.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/op.h"
#include "domain/topup.h"
#include "io/db.h"
#include "store/q_money.h"
#include "store/q_user.h"

#define NOTE_MAX 500

/* clang-format off */
static const struct jx_field batch_fields[] = {
	{ "amount",	JX_STRING | JX_NUMBER,	1 },
	{ "count",	JX_INT,			1 },
	{ "uses",	JX_INT,			0 },
	{ "expires_at",	JX_STRING | JX_NULL,	0 },
	{ "note",	JX_STRING | JX_NULL,	0 },
	{ NULL,		0,			0 },
};
/* clang-format on */

/* "2026-11-25T10:11:12Z" (or without Z) into "2026-11-25 10:11:12", in the future. */
static int
future_time(const char *s, char out[20])
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == 'Z')
		end++;
	if (*end != '\0' || tm.tm_year < 70 || tm.tm_year > 1100 ||
	    timegm(&tm) <= time(NULL))
		return -1;
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
	return 0;
}

static enum tg_err
batch_counts(struct op *op, const json_t *body, struct redeem_spec *s)
{
	const json_t *v;

	s->count = json_integer_value(json_object_get(body, "count"));
	if (s->count < 1 || s->count > REDEEM_MAX_CODES)
		return op_fail(op, TG_EINVAL, "invalid_value", "count",
		    "count is 1 to %d codes", REDEEM_MAX_CODES);
	s->uses = 1;
	if ((v = json_object_get(body, "uses")) != NULL)
		s->uses = json_integer_value(v);
	if (s->uses < 1 || s->uses > REDEEM_MAX_USES)
		return op_fail(op, TG_EINVAL, "invalid_value", "uses",
		    "uses (per code, each user once) is 1 to %d",
		    REDEEM_MAX_USES);
	return TG_OK;
}

enum tg_err
topup_batch_check(struct op *op, const json_t *body, struct redeem_spec *s)
{
	const char *t;
	char when[20];
	enum tg_err rc;

	memset(s, 0, sizeof(*s));
	if ((rc = op_check(op, body, batch_fields)) != TG_OK)
		return rc;
	if (money_from_json(json_object_get(body, "amount"), &s->amount) ==
		-1 ||
	    s->amount <= 0)
		return op_fail(op, TG_EINVAL, "invalid_amount", "amount",
		    "amount is a positive USD amount with at most 9 "
		    "decimals, such as \"10.00\"");
	if ((rc = batch_counts(op, body, s)) != TG_OK)
		return rc;
	if ((t = jx_str(body, "expires_at")) != NULL) {
		if (future_time(t, when) == -1)
			return op_fail(op, TG_EINVAL, "invalid_value",
			    "expires_at",
			    "expires_at is a future UTC time like "
			    "2027-01-31T23:59:59Z");
		s->expires = arena_strdup(op->arena, when);
	}
	s->note = jx_str(body, "note");
	if (s->note != NULL && strlen(s->note) > NOTE_MAX)
		return op_fail(op, TG_EINVAL, "invalid_value", "note",
		    "note may be at most %d bytes", NOTE_MAX);
	return TG_OK;
}

static json_t *
opt_str(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
batch_json(struct op *op, const struct batch_row *b)
{
	json_t *j;

	j = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:b, s:o}",
	    "id", b->pub, "amount", money_json(b->amount), "count",
	    (json_int_t)b->count, "uses_per_code", (json_int_t)b->uses, "used",
	    (json_int_t)b->used, "remaining",
	    (json_int_t)(b->count * b->uses - b->used), "note",
	    opt_str(b->note), "created_at", opt_str(b->created), "expires_at",
	    opt_str(b->expires), "expired", b->expired, "created_by",
	    opt_str(b->by));
	arena_defer_json(op->arena, j);
	return j;
}

/* A new code: shown as XXXX-XXXX-XXXX-XXXX, hashed as its 16 characters. */
static enum tg_err
new_code(char shown[REDEEM_CODE_SHOWN + 1], unsigned char h[32])
{
	char raw[REDEEM_CODE_CHARS + 1];
	size_t i, k = 0;

	if (crypto_code32(raw, REDEEM_CODE_CHARS) == -1)
		return TG_ESYSTEM;
	for (i = 0; i < REDEEM_CODE_CHARS; i++) {
		if (i > 0 && i % 4 == 0)
			shown[k++] = '-';
		shown[k++] = raw[i];
	}
	shown[k] = '\0';
	crypto_secret_hash(raw, h);
	crypto_wipe(raw, sizeof(raw));
	return TG_OK;
}

static enum tg_err
batch_codes(struct db_conn *c, struct op *op, int64_t batch_id,
    const struct redeem_spec *s, json_t *codes)
{
	char shown[REDEEM_CODE_SHOWN + 1];
	unsigned char h[CRYPTO_SHA256_LEN];
	int64_t i;
	enum tg_err rc;

	for (i = 0; i < s->count; i++) {
		if ((rc = new_code(shown, h)) != TG_OK ||
		    (rc = q_code_insert(c, op->arena, h, batch_id, s->uses)) !=
			TG_OK)
			return rc;
		json_array_append_new(codes, json_string(shown));
	}
	crypto_wipe(shown, sizeof(shown));
	return TG_OK;
}

enum tg_err
topup_batch_create(
    struct db_conn *c, struct op *op, const struct redeem_spec *s, json_t **out)
{
	char pub[32];
	struct batch_new b = {pub, s->amount, s->count, s->uses, s->note,
	    op->who != NULL ? op->who->user_id : 0, s->expires};
	struct batch_row row;
	json_t *codes, *bj;
	int64_t id;
	enum tg_err rc;

	if (crypto_public_id("rcb_", pub, sizeof(pub)) == -1)
		return TG_ESYSTEM;
	codes = json_array();
	arena_defer_json(op->arena, codes);
	if ((rc = audit_begin(c)) != TG_OK ||
	    (rc = q_batch_insert(c, op->arena, &b, &id)) != TG_OK ||
	    (rc = batch_codes(c, op, id, s, codes)) != TG_OK ||
	    (rc = q_batch_get(c, op->arena, pub, &row)) != TG_OK)
		goto fail;
	bj = batch_json(op, &row);
	/* The codes are secrets: the audit row keeps the batch, not them. */
	if ((rc = audit_commit(c, op->arena, op, "redeem.create",
		 "redeem_batch", pub, NULL, bj)) != TG_OK)
		goto fail;
	*out = json_pack("{s:O, s:O}", "batch", bj, "codes", codes);
	arena_defer_json(op->arena, *out);
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
topup_batch_list(struct db_conn *c, struct op *op, int64_t limit,
    int64_t offset, json_t **data, int64_t *total)
{
	struct batch_row *b;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_batch_list(c, op->arena, limit, offset, &b, &n, total)) !=
	    TG_OK)
		return rc;
	*data = json_array();
	arena_defer_json(op->arena, *data);
	for (i = 0; i < n; i++)
		json_array_append(*data, batch_json(op, &b[i]));
	return TG_OK;
}

/*
 * A code as typed: case, dashes and spaces do not matter, and the letters
 * Crockford's alphabet leaves out read as what they look like (O 0, I L 1).
 * -1 unless exactly REDEEM_CODE_CHARS characters of the alphabet remain.
 */
static int
code_normalize(const char *in, char out[REDEEM_CODE_CHARS + 1])
{
	size_t n = 0;
	int ch;

	for (; *in != '\0'; in++) {
		ch = toupper((unsigned char)*in);
		if (ch == '-' || ch == ' ')
			continue;
		if (ch == 'O')
			ch = '0';
		else if (ch == 'I' || ch == 'L')
			ch = '1';
		if (ch == '\0' || strchr(CRYPTO_CODE32, ch) == NULL ||
		    n == REDEEM_CODE_CHARS)
			return -1;
		out[n++] = (char)ch;
	}
	out[n] = '\0';
	return n == REDEEM_CODE_CHARS ? 0 : -1;
}

/* The subjects a redemption's failures count against. */
struct guess {
	const char *user, *addr;
};

static enum tg_err
guess_open(
    struct db_conn *c, struct op *op, const char *user_pub, struct guess *g)
{
	const struct conf *cf = op->conf;
	int64_t n1, n2, t1, t2, retry = 0;
	enum tg_err rc;

	g->user = arena_printf(op->arena, "code:%s", user_pub);
	g->addr = account_addr_subject(op, "code");
	if ((rc = q_authfail_get(
		 c, op->arena, g->user, cf->login_window, &n1, &t1)) != TG_OK ||
	    (rc = q_authfail_get(
		 c, op->arena, g->addr, cf->login_window, &n2, &t2)) != TG_OK)
		return rc;
	if (n1 >= cf->login_max_failures)
		retry = t1;
	if (n2 >= cf->login_max_failures_per_address && t2 > retry)
		retry = t2;
	if (retry == 0)
		return TG_OK;
	op_fail(op, TG_ERATE, "too_many_attempts", "code",
	    "too many wrong redemption codes; try again in %lld seconds",
	    (long long)retry);
	op->fail.retry_after = retry;
	return TG_ERATE;
}

/* A wrong, expired or used-up code: counted, then the failure as recorded. */
static enum tg_err
guess_miss(struct db_conn *c, struct op *op, const struct guess *g)
{
	(void)q_authfail_hit(c, op->arena, g->user, op->conf->login_window);
	(void)q_authfail_hit(c, op->arena, g->addr, op->conf->login_window);
	return op->fail.err;
}

/* The balance change and its ledger entry, in the caller's transaction. */
static enum tg_err
topup_apply(struct db_conn *c, struct op *op, const struct topup_entry *t,
    int64_t *entry_id)
{
	enum tg_err rc;

	if ((rc = q_account_add(c, op->arena, t->user_id, t->amount)) != TG_OK)
		return rc;
	return q_topup_entry(c, op->arena, t, entry_id);
}

/* Why a code redeems nothing, from what its row says; op records it. */
static enum tg_err
code_refused(struct op *op, enum tg_err rc, const struct code_row *k)
{
	if (rc == TG_ENOENT)
		return op_fail(op, TG_EINVAL, "invalid_code", "code",
		    "this redemption code is not valid; check it and "
		    "try again");
	if (rc != TG_OK)
		return rc;
	if (k->expired)
		return op_fail(op, TG_EINVAL, "code_expired", "code",
		    "this redemption code has expired");
	return op_fail(op, TG_ECONFLICT, "code_used_up", "code",
	    "this redemption code has been used up");
}

struct redeemed {
	struct code_row k;
	int64_t before, after, entry;
};

/* Spend, record, credit: in the caller's audited transaction. */
static enum tg_err
redeem_rows(struct db_conn *c, struct op *op, int64_t user_id,
    const unsigned char h[32], struct redeemed *r)
{
	struct topup_entry t = {user_id, 0, NULL, NULL, "code", NULL};
	int64_t use;
	enum tg_err rc;

	/*
	 * The one decision: the conditional UPDATE spends a use only while
	 * one is left and the batch has not expired.  Only when it spent
	 * nothing is the row read, to say why.
	 */
	rc = q_code_spend(c, op->arena, h);
	if (rc == TG_ENOENT)
		return code_refused(
		    op, q_code_get(c, op->arena, h, &r->k), &r->k);
	if (rc != TG_OK)
		return rc;
	if ((rc = q_code_get(c, op->arena, h, &r->k)) != TG_OK)
		return rc == TG_ENOENT ? TG_ESYSTEM : rc;
	rc = q_code_use(c, op->arena, r->k.batch_id, h, user_id, &use);
	if (rc == TG_ECONFLICT)
		return op_fail(op, TG_ECONFLICT, "code_already_redeemed",
		    "code", "you have redeemed this code before");
	if (rc != TG_OK ||
	    (rc = account_balance(c, op, user_id, &r->before, NULL, NULL)) !=
		TG_OK)
		return rc;
	t.amount = r->k.amount;
	t.dedupe = arena_printf(op->arena, "redeem:%lld", (long long)use);
	t.ref = r->k.batch_pub;
	t.note = arena_printf(op->arena, "redeemed a code of %s", t.ref);
	if ((rc = topup_apply(c, op, &t, &r->entry)) != TG_OK)
		return rc;
	return account_balance(c, op, user_id, &r->after, NULL, NULL);
}

enum tg_err
topup_redeem(struct db_conn *c, struct op *op, int64_t user_id,
    const char *user_pub, const char *code, json_t **out)
{
	char norm[REDEEM_CODE_CHARS + 1];
	unsigned char h[CRYPTO_SHA256_LEN];
	struct redeemed r;
	struct guess g;
	json_t *b, *a;
	enum tg_err rc;

	if ((rc = guess_open(c, op, user_pub, &g)) != TG_OK)
		return rc;
	if (code_normalize(code, norm) == -1) {
		code_refused(op, TG_ENOENT, NULL);
		return guess_miss(c, op, &g);
	}
	crypto_secret_hash(norm, h);
	crypto_wipe(norm, sizeof(norm));
	memset(&r, 0, sizeof(r));
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = redeem_rows(c, op, user_id, h, &r)) != TG_OK)
		goto fail;
	b = json_pack("{s:o}", "balance", money_json(r.before));
	a = json_pack("{s:o, s:o, s:s, s:I}", "balance", money_json(r.after),
	    "amount", money_json(r.k.amount), "batch", r.k.batch_pub,
	    "entry_id", (json_int_t)r.entry);
	arena_defer_json(op->arena, b);
	arena_defer_json(op->arena, a);
	if ((rc = audit_commit(c, op->arena, op, "credits.redeem", "user",
		 user_pub, b, a)) != TG_OK)
		goto fail;
	*out = json_pack("{s:o, s:o, s:s, s:I}", "amount",
	    money_json(r.k.amount), "balance", money_json(r.after), "batch_id",
	    r.k.batch_pub, "entry_id", (json_int_t)r.entry);
	arena_defer_json(op->arena, *out);
	return TG_OK;
fail:
	db_rollback(c);
	if (op->fail.err == rc && op->fail.code != NULL &&
	    strcmp(op->fail.code, "code_already_redeemed") != 0)
		return guess_miss(c, op, &g);
	return rc;
}

/* The user a payment names, if active; unknown_user recorded in op. */
static enum tg_err
payment_user(struct db_conn *c, struct op *op, const struct payment *p,
    int64_t *uid, const char **pub)
{
	json_t *u;
	const char *st;
	enum tg_err rc;

	rc = account_find(c, op, p->user_pub,
	    p->user_pub == NULL ? p->email : NULL, NULL, uid);
	if (rc == TG_OK && (rc = account_user(c, op, *uid, 0, &u)) == TG_OK) {
		st = json_string_value(json_object_get(u, "status"));
		*pub = json_string_value(json_object_get(u, "id"));
		if (st != NULL && strcmp(st, "deleted") != 0)
			return TG_OK;
		rc = TG_ENOENT;
	}
	if (rc != TG_ENOENT)
		return rc;
	return op_fail(op, TG_EINVAL, "unknown_user",
	    p->user_pub != NULL ? "data.object.metadata.user_id"
				: "data.object.metadata.email",
	    "the event names no user of this gateway");
}

static json_t *
payment_answer(struct op *op, const struct payment *p, const char *pub, int dup,
    int64_t entry)
{
	json_t *j;

	j = json_pack("{s:b, s:b, s:s, s:s, s:o, s:o}", "received", 1,
	    "duplicate", dup, "event_id", p->event_id, "user_id", pub, "amount",
	    money_json(p->amount), "entry_id",
	    dup ? json_null() : json_integer(entry));
	arena_defer_json(op->arena, j);
	return j;
}

enum tg_err
topup_payment(
    struct db_conn *c, struct op *op, const struct payment *p, json_t **out)
{
	struct topup_entry t = {
	    0, p->amount, NULL, NULL, "payment", p->event_id};
	const char *pub = NULL;
	int64_t before, after, entry;
	json_t *a;
	enum tg_err rc;

	if ((rc = payment_user(c, op, p, &t.user_id, &pub)) != TG_OK)
		return rc;
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	rc = q_event_insert(
	    c, op->arena, p->event_id, p->type, t.user_id, p->amount);
	if (rc == TG_ECONFLICT) {
		/* Delivered before (or right now, by a retry): credited once. */
		db_rollback(c);
		*out = payment_answer(op, p, pub, 1, 0);
		return TG_OK;
	}
	t.dedupe = arena_printf(op->arena, "payment:%s", p->event_id);
	t.note = arena_printf(op->arena, "payment (%s)", p->type);
	if (rc != TG_OK ||
	    (rc = account_balance(c, op, t.user_id, &before, NULL, NULL)) !=
		TG_OK ||
	    (rc = topup_apply(c, op, &t, &entry)) != TG_OK ||
	    (rc = account_balance(c, op, t.user_id, &after, NULL, NULL)) !=
		TG_OK)
		goto fail;
	a = json_pack("{s:o, s:o, s:o, s:s, s:s}", "balance_before",
	    money_json(before), "balance", money_json(after), "amount",
	    money_json(p->amount), "event_id", p->event_id, "event_type",
	    p->type);
	arena_defer_json(op->arena, a);
	if ((rc = audit_commit(c, op->arena, op, "credits.payment", "user", pub,
		 NULL, a)) != TG_OK)
		goto fail;
	*out = payment_answer(op, p, pub, 0, entry);
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}
