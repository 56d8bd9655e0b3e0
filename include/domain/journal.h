/* journal.h: settled requests on leases, written to a local file first and to the database in batches */
/* SPDX-License-Identifier: MIT */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "domain/ledger.h"

/*
 * A request carved from a lease settles by appending one line to its
 * process's journal (server.run_dir/journal/) before the answer goes out: a
 * crash of the process loses nothing that was answered.  So does a request on
 * an exact hold whose settle could not reach the database: the client is told
 * what it costs, and the journal settles it when the database is back.  The process's
 * supervisor writes the journal to the database every tick, many requests
 * per transaction: multi-row INSERTs of usage records and ledger entries, one
 * UPDATE per lease, account and key, and the file's new offset (the
 * journal_marks row) in the same transaction, so a replay after a crash
 * writes each line exactly once.  A process holds an exclusive flock on its
 * file while it lives; a file whose lock can be taken belongs to a dead
 * process, and is written out and removed by whoever finds it.
 */
struct journal;
struct db_conn;
struct arena;
struct db_val;
struct lease_table;

/*
 * Three kinds of record.  A carve (JR_CARVE): lease_id and carve_id, a
 * charge within the carve.  An exact hold settled through the journal
 * (JR_HOLD, issue 20: the exact path's settle off the request path): lease_id
 * is the hold's id, amount what it holds; the write-out closes it in the
 * batch's transaction (charge and release entries, the account's and the
 * key's share, the usage record), once: a hold no longer open moves nothing.
 * An exact hold whose settle could not reach the database (JR_EXACT):
 * lease_id is the hold's id; written out by the same procedure as the online
 * settle (ledger_settle_usage), which is idempotent by the hold id.
 */
enum journal_as { JR_CARVE, JR_EXACT, JR_HOLD };
struct journal_rec {
	unsigned char lease_id[HOLD_ID_LEN];
	unsigned char carve_id[HOLD_ID_LEN];
	int64_t user_id, key_id;
	int64_t charge; /* within the carve or hold: overruns settle in place */
	int64_t amount; /* JR_HOLD: the hold's amount */
	const struct db_val *usage; /* LEDGER_USAGE_COLS, as usage_params */
	enum journal_as as;
	/*
	 * issue 20: JR_HOLD only: NULL, or JOURNAL_REPLAY_COLS values (the
	 * HTTP status, the content type, the body): the answer an
	 * Idempotency-Key replays, written with the usage record in one INSERT.
	 */
	const struct db_val *replay;
};
#define JOURNAL_REPLAY_COLS 3

/*
 * This process's journal under dir (created); NULL with err.  With sync, each
 * line reaches the disk (fdatasync) before journal_append returns.
 */
struct journal *journal_open(
    const char *dir, int sync, char *err, size_t errlen);
/*
 * issue 20: dead processes' files are also looked for in dir (where the
 * journal was before server.state_dir: run_dir/journal), and written out.
 */
void journal_also_adopt(struct journal *, const char *dir);
/* At exit, after a last journal_flush: removes the file when all is written. */
void journal_close(struct journal *, struct db_conn *, struct arena *);
/*
 * Append one settled request; 0 when written, -1 (nothing written) else,
 * also for a line too long to be read back whole (a replay's answer of over
 * about 120 KiB).  With sync, concurrent appends share their fdatasync
 * (group commit).
 */
int journal_append(struct journal *, const struct journal_rec *);
/* The fdatasync calls made so far (group commit: at most one per append). */
uint64_t journal_flushes(struct journal *);
/* Records that move no money, each a line of its own kind (issue 18). */
enum journal_kind {
	JK_CONV,    /* a conversation record: BATCH_CONV's columns */
	JK_REFUSED, /* a refused request's usage record: BATCH_REFUSED's */
	JK__MAX
};
/*
 * One record of kind k: n columns (its batch statement's) as a line of its
 * kind, written out in the transaction of the batch it falls in, like a
 * settlement, but never synced on its own.  0 when written; -1 (nothing
 * written) when n is not the kind's, the line is too long to be read back
 * whole (about 240 KiB) or cannot be written.
 */
int journal_append_kind(
    struct journal *, enum journal_kind k, const struct db_val *cols, size_t n);
/*
 * Write every complete line not yet written, this process's and those of dead
 * processes, to the database; tells the lease table how many lines of each
 * lease went out.  Returns the lines written, -1 on a database error (the
 * rest is retried next time).  One thread at a time.
 */
int journal_flush(
    struct journal *, struct db_conn *, struct arena *, struct lease_table *);

/*
 * The exact holds whose settlement sits in a journal under dir (this node's,
 * any process's) not yet written out (past its journal_marks offset): the
 * sweeper must not charge them in full.  Sorted ids in *ids (arena), *n of
 * them; -1 when it cannot tell (the database, or more unwritten than it reads
 * at once): then sweep nothing now.
 */
int journal_pending_holds(const char *const *dirs, struct db_conn *,
    struct arena *, unsigned char (**ids)[HOLD_ID_LEN], size_t *n);
/*
 * issue 20: a reservation refused for want of credit while settlements of
 * the same user wait in this node's journals (any process's), whose releases
 * would have made room: waits up to wait_ms for them to be written out.
 * 1 when there were some and none is left (reserve again), 0 else.
 */
int journal_wait_user(struct journal *, struct db_conn *, struct arena *,
    int64_t user_id, unsigned wait_ms);

/*
 * issue 20: the node's table of exact holds' releases (releases.h) in the
 * file path (NULL: this process's own), kept by appends and write-outs.
 */
void journal_releases(struct journal *, const char *path);
/* The user's releases not yet in the database: add them to its balance. */
int64_t journal_released(struct journal *, int64_t user_id);

/* issue 19: obs: bytes of this process's journal not yet in the database. */
int64_t journal_backlog(struct journal *);

#endif
