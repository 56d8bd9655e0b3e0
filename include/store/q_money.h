/* q_money.h: redemption codes, payment events and top-up entries: typed queries */
/* SPDX-License-Identifier: MIT */
#ifndef Q_MONEY_H
#define Q_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* A batch of redemption codes as it is made. */
struct batch_new {
	const char *pub;     /* "rcb_..." */
	int64_t amount;	     /* nano-USD per use */
	int64_t count;	     /* codes */
	int64_t uses;	     /* uses per code */
	const char *note;    /* NULL: none */
	int64_t created_by;  /* users.id; 0: the command line */
	const char *expires; /* "YYYY-MM-DD HH:MM:SS" UTC; NULL: never */
};
enum tg_err q_batch_insert(
    struct db_conn *, struct arena *, const struct batch_new *, int64_t *id);
enum tg_err q_code_insert(struct db_conn *, struct arena *,
    const unsigned char hash[32], int64_t batch_id, int64_t uses);

/* A batch as GET /admin/redeem-codes lists it (never its codes). */
struct batch_row {
	const char *pub;
	int64_t amount, count, uses, used;
	const char *note;    /* NULL: none */
	const char *created; /* "YYYY-MM-DDTHH:MM:SSZ" */
	const char *expires; /* NULL: never */
	int expired;
	const char *by; /* the admin's public id; NULL: none */
};
/* Batches newest first; *total of them all. */
enum tg_err q_batch_list(struct db_conn *, struct arena *, int64_t limit,
    int64_t offset, struct batch_row **out, size_t *n, int64_t *total);
/* One batch by public id; TG_ENOENT. */
enum tg_err q_batch_get(
    struct db_conn *, struct arena *, const char *pub, struct batch_row *out);

/* A code as its redemption finds it. */
struct code_row {
	int64_t batch_id;
	int64_t uses_left;
	const char *batch_pub;
	int64_t amount;
	int expired;
};
/* The code with this hash; TG_ENOENT when none. */
enum tg_err q_code_get(struct db_conn *, struct arena *,
    const unsigned char hash[32], struct code_row *out);
/* Spend one use of the code if it has one and has not expired; TG_ENOENT if not. */
enum tg_err q_code_spend(
    struct db_conn *, struct arena *, const unsigned char hash[32]);
/* Record user's use of the code; TG_ECONFLICT when the user used it before. */
enum tg_err q_code_use(struct db_conn *, struct arena *, int64_t batch_id,
    const unsigned char hash[32], int64_t user_id, int64_t *use_id);

/* Record a payment event; TG_ECONFLICT when its id was recorded before. */
enum tg_err q_event_insert(struct db_conn *, struct arena *,
    const char *event_id, const char *type, int64_t user_id, int64_t amount);

/* A top-up's ledger entry, with where it came from. */
struct topup_entry {
	int64_t user_id;
	int64_t amount;	    /* nano-USD, > 0 */
	const char *dedupe; /* unique: a retry credits nothing twice */
	const char *note;   /* NULL: none */
	const char *source; /* "code", "payment" */
	const char *ref;    /* the batch's public id, the event id */
};
enum tg_err q_topup_entry(struct db_conn *, struct arena *,
    const struct topup_entry *, int64_t *entry_id);

#endif
