/* housekeep.h: the worker supervisor's periodic jobs and its own connection */
/* SPDX-License-Identifier: MIT */
#ifndef HOUSEKEEP_H
#define HOUSEKEEP_H

struct tg_ctx;
struct db_conn;
struct arena;

/* Run the jobs that are due (every 100 ms from the supervisor). */
void housekeep_tick(struct tg_ctx *, int busy);
/* The supervisor's own connection and memory (NULL: none to be had). */
struct db_conn *housekeep_db(struct tg_ctx *);
struct arena *housekeep_arena(struct tg_ctx *);
/* Write the journal out; with all, until nothing is left (at exit). */
void housekeep_flush_journal(struct tg_ctx *, int all, int busy);
/* Close idle or old leases; with all, every one of this process's. */
void housekeep_close_leases(struct tg_ctx *, int all);

#endif
