/* gsync.h: group commit of fdatasync: threads appending to one file share its flushes */
/* SPDX-License-Identifier: MIT */
#ifndef GSYNC_H
#define GSYNC_H

#include <pthread.h>
#include <stdint.h>

/*
 * A line's ticket is taken once its write() is done; one thread's fdatasync
 * covers every ticket taken before it began, the others wait for it instead
 * of flushing again.
 */
struct gsync {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t written; /* tickets handed out */
	uint64_t synced;  /* every ticket up to here is on the disk */
	int busy;	  /* an fdatasync is under way */
	uint64_t flushes; /* fdatasync calls made */
};

void gsync_init(struct gsync *);
void gsync_destroy(struct gsync *);
/*
 * Return once what this thread wrote to fd before the call is on the disk.
 * The caller keeps fd open and the same for all threads meanwhile.  -1 when
 * the flush that covered it failed (errno set): the data may not survive a
 * crash of the machine.
 */
int gsync_wait(struct gsync *, int fd);
/* The fdatasync calls made so far. */
uint64_t gsync_flushes(struct gsync *);

#endif
