/* releases.c: per user, the unused part of exact holds settled into the node's journals and not yet written out */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "domain/releases.h"
#include "io/shm.h"

/*
 * Open addressing, linear probing.  A user's slot is never emptied (that
 * would cut the probe chains of the users after it); a slot whose figure is
 * back at 0 is taken over by the next user that needs one, which is safe: a
 * lookup that stops short of it finds 0, the right figure.
 */
#define SLOTS	     8192 /* users with releases in flight at once, node-wide */
#define RELEASES_VER 1

struct rslot {
	int64_t user; /* 0: never used */
	int64_t amount;
};

struct releases {
	struct shm *shm;
	struct rslot *s;
};

struct releases *
releases_open(const char *path, char *err, size_t errlen)
{
	struct releases *r;
	size_t size = SLOTS * sizeof(struct rslot);

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->shm = path != NULL
	    ? shm_attach(path, RELEASES_VER, size, err, errlen)
	    : shm_private(size);
	if (r->shm == NULL) {
		free(r);
		return NULL;
	}
	r->s = shm_data(r->shm);
	return r;
}

void
releases_close(struct releases *r)
{
	if (r == NULL)
		return;
	shm_detach(r->shm);
	free(r);
}

static size_t
home(int64_t user)
{
	uint64_t h = (uint64_t)user * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) % SLOTS;
}

/* The user's slot (locked); with make, a new one; NULL: none. */
static struct rslot *
find(struct releases *r, int64_t user, int make)
{
	struct rslot *spare = NULL, *s;
	size_t i, k = home(user);

	for (i = 0; i < SLOTS; i++, k = (k + 1) % SLOTS) {
		s = &r->s[k];
		if (s->user == user)
			return s;
		if (s->user == 0)
			break;
		if (spare == NULL && s->amount == 0)
			spare = s;
	}
	if (!make)
		return NULL;
	if (spare == NULL && i < SLOTS)
		spare = &r->s[k];
	if (spare != NULL) {
		spare->user = user;
		spare->amount = 0;
	}
	return spare;
}

int
releases_add(struct releases *r, int64_t user, int64_t amount)
{
	struct rslot *s;

	if (r == NULL || amount == 0 || user <= 0)
		return 0;
	shm_lock(r->shm);
	if ((s = find(r, user, 1)) != NULL)
		s->amount += amount;
	shm_unlock(r->shm);
	return s != NULL ? 0 : -1;
}

int64_t
releases_of(struct releases *r, int64_t user)
{
	struct rslot *s;
	int64_t v = 0;

	if (r == NULL || user <= 0)
		return 0;
	shm_lock(r->shm);
	if ((s = find(r, user, 0)) != NULL)
		v = s->amount;
	shm_unlock(r->shm);
	return v > 0 ? v : 0;
}
