/* gsync.c: group commit of fdatasync: threads appending to one file share its flushes */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include "io/gsync.h"

void
gsync_init(struct gsync *g)
{
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->written = g->synced = g->flushes = 0;
	g->busy = 0;
}

void
gsync_destroy(struct gsync *g)
{
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
}

/*
 * The leader flushes for every ticket out when it starts; the threads that
 * wrote meanwhile wait and share its next flush.  A failed flush is not
 * retried (the page may be clean now, hiding the loss): each waiter it
 * covered is told.
 */
int
gsync_wait(struct gsync *g, int fd)
{
	uint64_t mine, upto;
	int rc = 0, failed = 0, err = 0;

	pthread_mutex_lock(&g->mu);
	mine = ++g->written;
	while (g->synced < mine) {
		if (g->busy) {
			pthread_cond_wait(&g->cv, &g->mu);
			continue;
		}
		g->busy = 1;
		upto = g->written;
		g->flushes++;
		pthread_mutex_unlock(&g->mu);
		if ((rc = fdatasync(fd)) == -1)
			err = errno;
		pthread_mutex_lock(&g->mu);
		failed = rc == -1;
		g->synced = upto;
		g->busy = 0;
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	if (failed)
		errno = err;
	return failed ? -1 : 0;
}

uint64_t
gsync_flushes(struct gsync *g)
{
	uint64_t n;

	pthread_mutex_lock(&g->mu);
	n = g->flushes;
	pthread_mutex_unlock(&g->mu);
	return n;
}
