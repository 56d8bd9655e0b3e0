/* holdq.h: the exact holds a process has waiting at once for one account and key, taken together */
/* SPDX-License-Identifier: MIT */
#ifndef HOLDQ_H
#define HOLDQ_H

#include <stdint.h>

#include "core/tollgate.h"
#include "domain/ledger.h"

struct arena;
struct db_conn;

/*
 * ledger_reserve (amount > 0; idem: its Idempotency-Key or NULL), through the
 * process's queue of the account and key: alone when no hold of theirs is
 * in the database from this process; else after it, with every hold that
 * queued meanwhile, in one transaction (ledger_reserve_many).  When their
 * sum does not fit, or a key among them was used, each is tried alone:
 * nothing is refused that would fit alone, and a used key is told as
 * ledger_reserve tells it (*replayed).  *balance: as ledger_reserve's
 * (unchanged when unknown).
 */
enum tg_err holdq_reserve(struct db_conn *, struct arena *, int64_t account,
    int64_t key_id, int64_t amount, const char *idem, unsigned ttl_s,
    unsigned char hold_id[HOLD_ID_LEN], int *replayed, enum ledger_short *why,
    int64_t *balance);

/* This process's figures: transactions of several holds, holds in them. */
void holdq_stats(uint64_t *batches, uint64_t *batched);

#endif
