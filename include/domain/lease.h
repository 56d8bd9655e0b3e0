/* lease.h: credit leases: a slice of an account's balance held by one process, carved per request */
/* SPDX-License-Identifier: MIT */
#ifndef LEASE_H
#define LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "domain/ledger.h"

/*
 * A lease is a hold in the database (holds.lease = 1) for more than one
 * request: taking it is one CALL, and the process that took it then carves
 * each request's hold from it in shared memory, with no SQL.  Each request
 * still settles exactly (its own charge, ledger entry and usage record)
 * against the lease.  The table lives in a file in server.run_dir, so when a
 * process dies (kill -9, crash) another process of the node finds its leases,
 * charges in full the holds that never settled (as the sweeper does for a
 * plain hold) and returns the rest.
 */
struct lease_table;

#define LEASE_REQ_LEN 40 /* request ids are at most 32 characters */

/* One request's hold carved from a lease. */
struct carve {
	int slot;			     /* in the carve table; -1: none */
	int lease;			     /* lease index */
	unsigned char lease_id[HOLD_ID_LEN]; /* the lease's hold id */
	unsigned char id[HOLD_ID_LEN]; /* this carve's id (ledger dedupe) */
	int64_t amount;
};

/* Map (create) the node's lease file; NULL with err when it cannot be had. */
struct lease_table *lease_open(const char *path, char *err, size_t errlen);
void lease_close_table(struct lease_table *);

/*
 * Carve amount for user_id from a lease this process holds that has room and
 * time left (at least min_life seconds before it must be closed).  1 when
 * carved (*out filled), 0 when this process has no lease that fits.
 */
int lease_carve(struct lease_table *, uint64_t user_id, int64_t amount,
    const char *request_id, double min_life, struct carve *out);
/*
 * Record a lease just taken in the database (amount for user_id, whose
 * balance was then `balance`; carving ends at close_at, wall seconds) and
 * carve `first` from it.  -1 when the table is
 * full (the caller closes the lease at once).
 */
int lease_add(struct lease_table *, uint64_t user_id,
    const unsigned char id[HOLD_ID_LEN], int64_t amount, int64_t balance,
    double close_at, int64_t first, const char *request_id, struct carve *out);
/* A carve settled and charged `charged`: the rest goes back to its lease. */
void lease_return(struct lease_table *, const struct carve *, int64_t charged);
/* No more carves from cv's lease (it closes when its carves are back). */
void lease_drain(struct lease_table *, const struct carve *);
/*
 * What the node's leases of user_id still have uncarved; *balance (may be
 * NULL) receives the account's balance when the newest of them was taken.
 */
int64_t lease_available(
    struct lease_table *, uint64_t user_id, int64_t *balance);
/* A carve's settlement went into (+1) or failed to go into (-1) a journal. */
void lease_journaled(struct lease_table *, const struct carve *, int delta);
/* n journal lines of lease id reached the database. */
void lease_flushed(
    struct lease_table *, const unsigned char id[HOLD_ID_LEN], int64_t n);

/* A lease to close in the database: what never settled is charged in full. */
struct lease_due {
	int lease;
	unsigned char id[HOLD_ID_LEN];
	/*
	 * check: not to close but to compare: when the database's charged for
	 * the lease is expect, its pending lines are all in (lease_pending_clear)
	 */
	int check;
	int64_t expect;
	/* carves of a dead process, to charge in full unless they settled */
	size_t ncarves;
	struct {
		unsigned char id[HOLD_ID_LEN];
		int64_t amount;
	} carves[256]; /* more than a process has slots */
};
/*
 * The next lease due for closing: one of this process's that is idle (no
 * carve open, unused for idle_s seconds), past its close time or, with all
 * set, any of its leases without an open carve; one whose close failed
 * before; or one whose process died, which this process adopts.  0 when
 * none.  One thread of a process at a time.
 */
int lease_next_due(
    struct lease_table *, double idle_s, int all, struct lease_due *out);
struct db_conn;
struct arena;
/*
 * Leases still open that this process could close at its exit: its own and
 * dead processes' (a sibling's lines may still be pending on them).
 */
unsigned lease_left(struct lease_table *);
/*
 * Close up to max leases due (lease_next_due) in the database, charging the
 * carves that never settled.  Returns how many; one thread of a process at a
 * time (another caller returns 0 at once).
 */
unsigned lease_sweep(struct lease_table *, struct db_conn *, struct arena *,
    double idle_s, int all, unsigned max);
/* The database has every line of a checked lease: nothing is pending. */
void lease_pending_clear(struct lease_table *, const struct lease_due *);
/* The database closed it (or it was already closed): free its slot. */
void lease_closed(struct lease_table *, const struct lease_due *);
/* Give back a due lease that could not be closed now (retried later). */
void lease_unclaim(struct lease_table *, const struct lease_due *);

/* issue 19: obs: the leases the node holds now. */
unsigned lease_count(struct lease_table *);
/* issue 20: a grant to write to a lease's row; raise: then to carve with. */
struct lease_grant {
	int lease;
	unsigned char id[HOLD_ID_LEN];
	int64_t value;
	int raise;
	double renew; /* > 0: not a grant but a renewal of this many seconds */
};
/*
 * A lease of user_id with room for amount but not the grant (lease_carve
 * refused it): 1 with the grant that would let it carve, to write to the
 * lease's row and then apply with lease_granted; 0 when there is none.
 */
int lease_short(struct lease_table *, uint64_t user_id, int64_t amount,
    struct lease_grant *);
/*
 * A lease of user_id that stopped carving (its span ran out) but has room
 * for amount, and whose process lives: 1 with a renewal to write to its row
 * (ledger_lease_renew) and apply with lease_renewed, begun at wall time t0.
 */
int lease_drained(struct lease_table *, uint64_t user_id, int64_t amount,
    struct lease_grant *);
void lease_renewed(struct lease_table *, const struct lease_grant *, double t0);
/*
 * A lease of user_id that a live process of the node is closing (claimed:
 * its close is under way, or failed while the database was away and waits
 * for the closer's next round): 1 when there is one.  Its credit is the
 * user's again once the close is written.
 */
int lease_closing(struct lease_table *, uint64_t user_id);
/* A grant now in the lease's row: applied to the table (raised if so). */
void lease_granted(struct lease_table *, const struct lease_grant *);
/*
 * issue 20: write the grants this process's leases need to their rows
 * (0023_lease_grant.sql), each a statement of its own; the count written.
 */
unsigned lease_grant_sync(
    struct lease_table *, struct db_conn *, struct arena *);

#endif
