/* journal_impl.h: what journal.c and journal_out.c share: a parsed line, a batch's sums and rows */
/* SPDX-License-Identifier: MIT */
#ifndef JOURNAL_IMPL_H
#define JOURNAL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"
#include "domain/journal.h"
#include "domain/ledger.h"
#include "io/db.h"
#include "store/stmt.h"

struct releases;

/* A kind of record without money: its line's tag, its batch statement. */
struct journal_kind_def {
	char tag;
	size_t cols;
	enum batch batch;
	size_t max; /* rows per transaction */
};
extern const struct journal_kind_def journal_kinds[JK__MAX];

/* One settlement's line, parsed. */
struct line {
	unsigned char lease[HOLD_ID_LEN], carve[HOLD_ID_LEN];
	int64_t user, key, charge;
	int64_t amount; /* hold: what it holds */
	struct db_val usage[LEDGER_USAGE_COLS];
	int open;  /* its lease (hold) was open when written out */
	int exact; /* an exact hold (lease: its id), settled by its procedure */
	int hold;  /* an exact hold (lease: its id), settled in the batch */
	int kept;  /* issue 20: replay[] is its Idempotency-Key's answer */
	struct db_val replay[JOURNAL_REPLAY_COLS];
};

/*
 * The per-lease, per-account and per-key sums of a batch: amount is the
 * lease's charge, the account's reservation taken back, the key's spend;
 * back what goes back to the account's balance (a hold's unused part).
 */
struct sum {
	const unsigned char *id; /* lease */
	int64_t who;		 /* account or key */
	int64_t amount, back;
	int64_t n;
	int open;
};

/* A batch's rows of the kinds without money (kinds[k].cols each). */
struct extras {
	struct db_val *rows[JK__MAX];
	size_t n[JK__MAX];
};

/*
 * One transaction for lines[0..n) and the records without money ex: the
 * money, the rows, the new offset (mark's row).  leases has room for n sums
 * (*nleases of them set: the leases the batch moved), rows for n x
 * LEDGER_USAGE_COLS values; rel's releases come off before the commit.
 */
enum tg_err journal_write_out(struct db_conn *, struct arena *, struct line *,
    size_t n, const struct extras *ex, const char *mark, int64_t new_off,
    struct sum *leases, size_t *nleases, struct db_val *rows,
    struct releases *rel);
/*
 * The exact holds of lines[0..*n) settled one by one by the online settle's
 * procedure; the rest moved to the front (*n of them).  -1 on a database
 * error.
 */
int journal_settle_exact(struct db_conn *, struct arena *, const char *mark,
    struct line *, size_t *n);

#endif
