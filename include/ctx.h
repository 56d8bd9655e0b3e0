/* ctx.h: what one worker process shares between its slots */
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
};

/* Build the worker context (DB pool, OpenAPI cache); 0 or -1 (logged). */
int ctx_init(struct tg_ctx *, const struct conf *);
/*
 * Open and close every shared-memory file once, before any worker exists:
 * -1 (logged) when one is refused (shm_attach), so a start fails there.
 */
int ctx_shm_check(const struct conf *);
void ctx_fini(struct tg_ctx *);
/*
 * Housekeeping, every 100 ms from the supervisor: the journal to the
 * database; about once a second idle leases back and request counts out.
 */
/* busy: more than half of the worker's slots are serving requests. */
void ctx_tick(struct tg_ctx *, int busy);

#endif
