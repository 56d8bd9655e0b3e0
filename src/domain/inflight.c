/* inflight.c: the node's requests in flight and its refusals, in shared memory (no statement) */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "domain/inflight.h"
#include "io/shm.h"

#define INFLIGHT_VERSION 1

struct slot {
	int32_t pid; /* 0: free */
	uint32_t pad_;
	struct inflight_rec rec;
};

struct page {
	uint64_t refused[3]; /* 401, 402, 429 */
	struct slot s[INFLIGHT_SLOTS];
};

/*
 * One mapping per process, opened on first use; a shared mapping stays
 * shared in a forked child, whose pid then names its own slots.
 */
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static struct shm *region;
static int region_failed;

static struct page *
page(const char *run_dir)
{
	char path[4096], err[256];
	struct page *p = NULL;

	if (run_dir == NULL)
		return NULL;
	pthread_mutex_lock(&open_mu);
	if (region == NULL && !region_failed) {
		snprintf(
		    path, sizeof(path), "%s/tollgate-inflight.shm", run_dir);
		if ((region = shm_attach(path, INFLIGHT_VERSION,
			 sizeof(struct page), err, sizeof(err))) == NULL) {
			region_failed = 1;
			log_msg(LOG_WARN,
			    "requests in flight are not listed: %s", err);
		}
	}
	if (region != NULL)
		p = shm_data(region);
	pthread_mutex_unlock(&open_mu);
	return p;
}

static int
alive(int32_t pid)
{
	return util_pid_alive(pid);
}

int
inflight_begin(const char *run_dir, const struct inflight_rec *rec)
{
	struct page *p = page(run_dir);
	int i, got = -1;

	if (p == NULL)
		return -1;
	shm_lock(region);
	/*
	 * A free slot first; only when there is none, one a dead process left
	 * (kill(pid, 0) is a system call per slot, too dear for every request).
	 */
	for (i = 0; i < INFLIGHT_SLOTS && got < 0; i++)
		if (p->s[i].pid == 0)
			got = i;
	for (i = 0; i < INFLIGHT_SLOTS && got < 0; i++)
		if (!alive(p->s[i].pid))
			got = i;
	if (got >= 0) {
		p->s[got].rec = *rec;
		p->s[got].pid = (int32_t)util_pid();
	}
	shm_unlock(region);
	return got;
}

void
inflight_end(const char *run_dir, int slot)
{
	struct page *p = page(run_dir);

	if (p == NULL || slot < 0 || slot >= INFLIGHT_SLOTS)
		return;
	shm_lock(region);
	if (p->s[slot].pid == (int32_t)util_pid())
		p->s[slot].pid = 0;
	shm_unlock(region);
}

size_t
inflight_list(const char *run_dir, int64_t user_id, int64_t key_id,
    struct inflight_rec *out, size_t max)
{
	struct page *p = page(run_dir);
	struct inflight_rec t;
	size_t n = 0, i, j;

	if (p == NULL)
		return 0;
	shm_lock(region);
	for (i = 0; i < INFLIGHT_SLOTS && n < max; i++)
		if (p->s[i].pid != 0 && p->s[i].rec.user_id == user_id &&
		    (key_id == 0 || p->s[i].rec.key_id == key_id) &&
		    alive(p->s[i].pid))
			out[n++] = p->s[i].rec;
	shm_unlock(region);
	/* Newest first, as the records are listed (n is small). */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && out[j].started > out[j - 1].started; j--) {
			t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

void
inflight_refused(const char *run_dir, int status)
{
	int k = status == 401 ? 0 : status == 402 ? 1 : status == 429 ? 2 : -1;
	struct page *p;

	if (k < 0 || (p = page(run_dir)) == NULL)
		return;
	__atomic_add_fetch(&p->refused[k], 1, __ATOMIC_RELAXED);
}

void
inflight_refusals(const char *run_dir, uint64_t out[3])
{
	struct page *p = page(run_dir);
	int k;

	for (k = 0; k < 3; k++)
		out[k] = p != NULL
		    ? __atomic_load_n(&p->refused[k], __ATOMIC_RELAXED)
		    : 0;
}

/* issue 19: obs: the requests in flight (holding credit) on this node now. */
size_t
inflight_count(const char *run_dir)
{
	struct page *p = page(run_dir);
	size_t n = 0, i;

	if (p == NULL)
		return 0;
	shm_lock(region);
	for (i = 0; i < INFLIGHT_SLOTS; i++)
		n += p->s[i].pid != 0 && alive(p->s[i].pid);
	shm_unlock(region);
	return n;
}
