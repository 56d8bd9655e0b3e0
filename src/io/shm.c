/* shm.c: a file-backed shared memory region with one robust process-shared lock */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/shm.h"

#define SHM_MAGIC 0x74676c6d /* "tglm" */

struct shm_head {
	uint32_t magic;
	uint32_t version;
	uint64_t size;
	pthread_mutex_t mu;
	/* data follows, 64-byte aligned */
};

#define HEAD_SIZE ((sizeof(struct shm_head) + 63) & ~(size_t)63)

struct shm {
	struct shm_head *h;
	size_t maplen;
	int priv;
};

static int
init_mutex(pthread_mutex_t *mu, int shared)
{
	pthread_mutexattr_t at;
	int rc;

	pthread_mutexattr_init(&at);
	if (shared) {
		pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
		pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
	}
	rc = pthread_mutex_init(mu, &at);
	pthread_mutexattr_destroy(&at);
	return rc == 0 ? 0 : -1;
}

/* Files refused by shm_attach in this process (see shm_refused). */
static unsigned refused;

unsigned
shm_refused(void)
{
	return __atomic_load_n(&refused, __ATOMIC_RELAXED);
}

/*
 * Whether the open file is ours to use: a regular file with one name, owned
 * by this user, and either new (empty: ours to lay out) or of the size we
 * map.  Anything else is someone else's file (a symlink was refused by the
 * open already) and is left exactly as it is.
 */
static int
owned(int fd, const char *path, size_t maplen, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		snprintf(err, errlen,
		    "%s is not a regular file with one link; refusing it "
		    "(remove it if no tollgate uses it)",
		    path);
	else if (st.st_uid != geteuid())
		snprintf(err, errlen,
		    "%s is owned by uid %ld, not by tollgate's uid %ld; "
		    "refusing it (remove it if no tollgate uses it)",
		    path, (long)st.st_uid, (long)geteuid());
	else if (st.st_size != 0 && (size_t)st.st_size != maplen)
		snprintf(err, errlen,
		    "%s is %lld bytes, not the %zu this tollgate maps; "
		    "refusing it (remove it if no tollgate uses it)",
		    path, (long long)st.st_size, maplen);
	else {
		/* An older tollgate made them 0660: only we need them. */
		if ((st.st_mode & 0077) != 0 && fchmod(fd, 0600) == -1) {
			snprintf(err, errlen, "%s: chmod: %s", path,
			    strerror(errno));
			return -1;
		}
		return st.st_size == 0 ? 1 : 0;
	}
	__atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
	return -1;
}

struct shm *
shm_attach(
    const char *path, uint32_t version, size_t size, char *err, size_t errlen)
{
	struct shm *s = NULL;
	size_t maplen = HEAD_SIZE + size;
	void *p = MAP_FAILED;
	int fd, fresh;

	/*
	 * 0600 and never through a symlink: the counters in here are limits
	 * and credit, and a group member (the web server, co-hosted PHP) or a
	 * planted link must not be able to reset them or have us clobber a
	 * file of theirs.
	 */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == ELOOP)
			__atomic_add_fetch(&refused, 1, __ATOMIC_RELAXED);
		snprintf(err, errlen, "%s: %s", path,
		    errno == ELOOP ? "is a symbolic link; refusing it"
				   : strerror(errno));
		return NULL;
	}
	/* One process at a time checks and, if needed, lays out the file. */
	if (flock(fd, LOCK_EX) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if ((fresh = owned(fd, path, maplen, err, errlen)) == -1) {
		close(fd);
		return NULL;
	}
	if (fresh && ftruncate(fd, (off_t)maplen) == -1)
		goto sys;
	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto sys;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto sys;
	s->h = p;
	s->maplen = maplen;
	if (s->h->magic != SHM_MAGIC || s->h->version != version ||
	    s->h->size != size) {
		memset(p, 0, maplen);
		if (init_mutex(&s->h->mu, 1) == -1)
			goto sys;
		s->h->size = size;
		s->h->version = version;
		__atomic_store_n(&s->h->magic, SHM_MAGIC, __ATOMIC_RELEASE);
	}
	flock(fd, LOCK_UN);
	close(fd);
	return s;
sys:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, maplen);
	free(s);
	close(fd);
	return NULL;
}

struct shm *
shm_private(size_t size)
{
	struct shm *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->maplen = HEAD_SIZE + size;
	if ((s->h = calloc(1, s->maplen)) == NULL ||
	    init_mutex(&s->h->mu, 0) == -1) {
		free(s->h);
		free(s);
		return NULL;
	}
	s->priv = 1;
	return s;
}

void
shm_detach(struct shm *s)
{
	if (s == NULL)
		return;
	if (s->priv) {
		pthread_mutex_destroy(&s->h->mu);
		free(s->h);
	} else {
		munmap(s->h, s->maplen);
	}
	free(s);
}

void *
shm_data(struct shm *s)
{
	return (char *)s->h + HEAD_SIZE;
}

void
shm_lock(struct shm *s)
{
	if (pthread_mutex_lock(&s->h->mu) == EOWNERDEAD)
		pthread_mutex_consistent(&s->h->mu);
}

void
shm_unlock(struct shm *s)
{
	pthread_mutex_unlock(&s->h->mu);
}
