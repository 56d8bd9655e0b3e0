/* shm.h: a file-backed shared memory region with one robust process-shared lock */
/* SPDX-License-Identifier: MIT */
#ifndef SHM_H
#define SHM_H

#include <stddef.h>
#include <stdint.h>

struct shm;

/*
 * Map path (created if missing, mode 0600, never through a symlink) with
 * size bytes of data.  Every process of this user that maps the same path
 * shares the data, whoever forked it: tollgate's master, Apache or
 * lighttpd.  An existing file must be a regular file with one link, owned
 * by this user, empty or of exactly the mapped size; anything else is
 * refused and left untouched (counted by shm_refused).  Ours with another
 * layout (magic, version) is reset; one left group-accessible is made 0600.
 * The data starts zeroed.  NULL with a reason in err.
 */
struct shm *shm_attach(
    const char *path, uint32_t version, size_t size, char *err, size_t errlen);
/* How many files shm_attach refused in this process (not ours, wrong size). */
unsigned shm_refused(void);
/* Process-private memory with the same interface, when no file can be had. */
struct shm *shm_private(size_t size);
void shm_detach(struct shm *);
void *shm_data(struct shm *);
/*
 * Take the region's lock.  A holder that died (kill -9) does not wedge it:
 * the next taker repairs the lock and goes on (the data may hold one half
 * update, which the counters tolerate).
 */
void shm_lock(struct shm *);
void shm_unlock(struct shm *);

#endif
