/* inflight.h: the node's requests in flight and its refusals, in shared memory (no statement) */
/* SPDX-License-Identifier: MIT */
#ifndef INFLIGHT_H
#define INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

/*
 * server.run_dir/tollgate-inflight.shm: a slot per metered request between
 * its hold and its settlement (so GET /user/usage shows it "pending" without
 * a statement), and the node's count of refused requests (401, 402, 429).
 * Opened on first use by each process; a dead process's slots are not listed
 * and are taken again.  Without the file everything is a no-op.
 */
#define INFLIGHT_SLOTS 1024

struct inflight_rec {
	int64_t user_id, key_id;
	double started; /* util_wall() */
	char request_id[48];
	char model[128];
	char key_pub[32]; /* "" for a session */
};

/* Record a request in flight; its slot (for inflight_end) or -1. */
int inflight_begin(const char *run_dir, const struct inflight_rec *);
void inflight_end(const char *run_dir, int slot);
/*
 * The user's requests in flight on this node (key_id 0: every key's),
 * newest first, at most max; how many.
 */
size_t inflight_list(const char *run_dir, int64_t user_id, int64_t key_id,
    struct inflight_rec *out, size_t max);
/* issue 19: obs: how many requests are in flight on this node. */
size_t inflight_count(const char *run_dir);
/* Count a refusal when status is 401, 402 or 429. */
void inflight_refused(const char *run_dir, int status);
/* The counts of 401, 402 and 429 answers since the file was made. */
void inflight_refusals(const char *run_dir, uint64_t out[3]);

#endif
