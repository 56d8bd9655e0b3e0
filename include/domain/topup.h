/* topup.h: money in: redemption codes, signed payment notifications, and the ledger top-ups they make */
/* SPDX-License-Identifier: MIT */
#ifndef TOPUP_H
#define TOPUP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/tollgate.h"

struct db_conn;
struct op;

/* Redemption codes: 16 characters of crypto_code32, shown in groups of 4. */
#define REDEEM_CODE_CHARS 16
#define REDEEM_CODE_SHOWN (REDEEM_CODE_CHARS + REDEEM_CODE_CHARS / 4 - 1)
#define REDEEM_MAX_CODES  1000	 /* per batch */
#define REDEEM_MAX_USES	  100000 /* per code */

/* A batch as POST /admin/redeem-codes asks for it (checked by topup_batch_check). */
struct redeem_spec {
	int64_t amount;	     /* nano-USD per use, > 0 */
	int64_t count;	     /* codes, 1..REDEEM_MAX_CODES */
	int64_t uses;	     /* uses per code, 1..REDEEM_MAX_USES */
	const char *note;    /* NULL: none */
	const char *expires; /* "YYYY-MM-DD HH:MM:SS" UTC; NULL: never */
};
/*
 * The batch's fields from a request body ({amount, count, expires_at?,
 * uses?, note?}); TG_EINVAL recorded in op.
 */
enum tg_err topup_batch_check(
    struct op *, const json_t *body, struct redeem_spec *);
/*
 * Make the batch and its codes in one audited transaction: *out =
 * {batch: BATCH, codes: [...]}; the codes exist nowhere else (only their
 * hashes are stored).  JSON owned by the op's arena.
 */
enum tg_err topup_batch_create(
    struct db_conn *, struct op *, const struct redeem_spec *, json_t **out);
/* The batches, newest first (never a code); JSON owned by the arena. */
enum tg_err topup_batch_list(struct db_conn *, struct op *, int64_t limit,
    int64_t offset, json_t **data, int64_t *total);
/*
 * Redeem code for user_id (public id user_pub): one use of the code spent,
 * its amount added to the account and the ledger (source "code", naming the
 * batch) and an audit row, all in one transaction; each use is spent once
 * under any concurrency, each user redeems a code once.  A wrong, expired or
 * used-up code is recorded in op (400 invalid_code / code_expired, 409
 * code_used_up) and counts against the user and the address like a wrong
 * password; over [auth] login_max_failures (per user) or
 * login_max_failures_per_address within login_window, 429
 * too_many_attempts.  *out = {amount, balance, batch_id, entry_id}.
 */
enum tg_err topup_redeem(struct db_conn *, struct op *, int64_t user_id,
    const char *user_pub, const char *code, json_t **out);

/* A payment notification, as payment.c reads it from a verified event. */
struct payment {
	const char *event_id; /* the provider's, unique per event */
	const char *type;
	int64_t amount;	      /* nano-USD, > 0 */
	const char *user_pub; /* the user by public id, or */
	const char *email;    /* by email */
};
/*
 * Credit a payment once per event id: the event row, the ledger top-up
 * (source "payment", naming the event) and an audit row in one transaction.
 * An event seen before credits nothing: *duplicate = 1.  TG_EINVAL
 * (unknown_user) recorded in op when the user is not there.
 * *out = {received, duplicate, event_id, user_id, amount, entry_id}.
 */
enum tg_err topup_payment(
    struct db_conn *, struct op *, const struct payment *, json_t **out);

/*
 * Check a signature header ("t=UNIX,v1=HEX[,v1=HEX...]", Stripe's scheme)
 * over body: some v1 must be HMAC-SHA256 of "t.body" under one of the
 * secrets (one a line: the old and the new while one is rolled), compared
 * in constant time, and t within tolerance seconds of now.  Failures
 * recorded in op: 400 invalid_signature_header, 401 invalid_signature or
 * timestamp_outside_tolerance.
 */
enum tg_err payment_verify(struct op *, const char *header, const char *body,
    size_t len, const char *secrets, unsigned tolerance, int64_t now);
/*
 * Read the documented event shape (doc/payments.md) into *p.  A type that
 * credits nothing (or a session not paid yet) sets *ignored = 1 and is
 * TG_OK; a shape that cannot be credited is 400 invalid_event or
 * unsupported_currency, recorded in op.  Strings live as long as ev.
 */
enum tg_err payment_parse(
    struct op *, const json_t *ev, struct payment *p, int *ignored);

#endif
