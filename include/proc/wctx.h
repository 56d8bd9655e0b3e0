/* wctx.h: build, tick and tear down the worker context */
/* SPDX-License-Identifier: MIT */
#ifndef WCTX_H
#define WCTX_H

#include "http/ctx.h"

struct conf;

/* Build the worker context (DB pool, OpenAPI cache); 0 or -1 (logged). */
int ctx_init(struct tg_ctx *, const struct conf *);
/*
 * Open and close every shared-memory file once, before any worker exists:
 * -1 (logged) when one is refused (shm_attach), so a start fails there.
 */
int ctx_shm_check(const struct conf *);
void ctx_fini(struct tg_ctx *);
/*
 * Housekeeping, every 100 ms from the supervisor (proc/housekeep.c): the
 * journal to the database; about once a second idle leases back, request
 * counts out and, on [chat] sweep_interval, expired holds settled.
 */
/* busy: more than half of the worker's slots are serving requests. */
void ctx_tick(struct tg_ctx *, int busy);

#endif
