/* ctx.h: what one worker process shares between its slots (built by proc/wctx.c) */
/* SPDX-License-Identifier: MIT */
#ifndef CTX_H
#define CTX_H

#include <time.h>

struct conf;
struct db_pool;
struct db_conn;
struct rate;
struct pool;
struct lease_table;
struct journal;
struct did_cache;

struct tg_ctx {
	const struct conf *conf;
	struct db_pool *db;
	char *openapi; /* serialized document, built at worker start */
	size_t openapi_len;
	time_t started;
	unsigned char master[32]; /* opens upstream keys (CRYPTO_MASTER_LEN) */
	struct rate *rate;	  /* the node's rate counters */
	struct pool *pool;	  /* the node's upstream key health */
	struct lease_table *leases; /* credit leases; NULL: off */
	struct journal *journal;    /* settlements on leases; NULL: in place */
	unsigned ticks;
	struct db_conn *hk; /* the supervisor's connection (ctx_tick) */
	struct arena
	    *hk_arena; /* the supervisor's memory, kept between ticks */
	int have_master;
	struct did_cache *did; /* issue 18: DID signatures seen; NULL: off */
};

#endif
