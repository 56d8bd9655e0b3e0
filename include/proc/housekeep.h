/* housekeep.h: the worker supervisor's periodic jobs and its own connection */
/* SPDX-License-Identifier: MIT */
#ifndef HOUSEKEEP_H
#define HOUSEKEEP_H

struct tg_ctx;
struct db_conn;
struct arena;
struct conf;

/* Run the jobs that are due (every 100 ms from the supervisor). */
void housekeep_tick(struct tg_ctx *, int busy);
/* The supervisor's own connection and memory (NULL: none to be had). */
struct db_conn *housekeep_db(struct tg_ctx *);
struct arena *housekeep_arena(struct tg_ctx *);
/* Write the journal out; with all, until nothing is left (at exit). */
void housekeep_flush_journal(struct tg_ctx *, int all, int busy);
/* Close idle or old leases; with all, every one of this process's. */
void housekeep_close_leases(struct tg_ctx *, int all);
/* At exit: the journal out and every lease closed that this process can close. */
void housekeep_stop_leases(struct tg_ctx *);
/*
 * issue 20: where journals are: dirs[0] state_dir/journal, dirs[1] the old
 * place run_dir/journal when that differs (else NULL), dirs[2] NULL.  In a.
 */
void housekeep_journal_dirs(
    const struct conf *, struct arena *, const char *dirs[3]);

#endif
