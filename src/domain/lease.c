/* lease.c: credit leases: a slice of an account's balance held by one process, carved per request */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "io/db.h"
#include "domain/lease.h"
#include "core/log.h"
#include "io/shm.h"
#include "core/util.h"

#define LEASE_VERSION 4	   /* issue 20: granted, synced, want, prev, span */
#define NLEASES	      1024 /* leases a node holds at once */
#define NCARVES	      4096 /* requests in flight on leases */
#define PROBES	      32

enum { L_OPEN = 0, L_DRAIN, L_CLAIMED };

/* state: L_OPEN, L_DRAIN (no new carves), L_CLAIMED (being closed). */
struct lslot {
	int32_t owner; /* pid; 0: free */
	int32_t state;
	uint64_t user;
	unsigned char id[HOLD_ID_LEN];
	int64_t amount;
	int64_t avail;	 /* not carved */
	int64_t open;	 /* carves not yet returned */
	int64_t pending; /* settled into a journal, not yet in the database */
	int64_t balance; /* the account's balance when the lease was taken */
	double used;	 /* wall seconds of the last carve or return */
	double close_at; /* wall: no carve after this */
	double checked;	 /* wall: pending last compared with the database */
	/*
	 * issue 20: what the node may have out (charges and open holds, that
	 * is amount - avail) is at most granted, and the lease's row says
	 * synced (-1: still its whole amount) >= granted: a crash of the
	 * machine then costs the user at most granted - what was used.
	 */
	int64_t granted;
	int64_t synced;
	int64_t want; /* the largest hold refused for want of grant */
	int64_t prev; /* amount - avail at the last grant round */
	double
	    span; /* seconds of carving a renewal gives (half the row's life) */
};

struct cslot {
	int32_t owner; /* pid; 0: free; -1: orphan (its settle failed) */
	int32_t lease;
	unsigned char id[HOLD_ID_LEN];
	int64_t amount;
};

struct table {
	struct lslot l[NLEASES];
	struct cslot c[NCARVES];
	uint32_t chint; /* where to look for a free carve slot */
};

struct lease_table {
	struct shm *shm;
	struct table *t;
};

struct lease_table *
lease_open(const char *path, char *err, size_t errlen)
{
	struct lease_table *lt;

	if ((lt = calloc(1, sizeof(*lt))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((lt->shm = shm_attach(path, LEASE_VERSION, sizeof(struct table),
		 err, errlen)) == NULL) {
		free(lt);
		return NULL;
	}
	lt->t = shm_data(lt->shm);
	return lt;
}

void
lease_close_table(struct lease_table *lt)
{
	if (lt == NULL)
		return;
	shm_detach(lt->shm);
	free(lt);
}

/*
 * The headroom a lease is granted past what it has out: an eighth of it,
 * eight of the largest hold it had to refuse (a burst of requests at once), or
 * three rounds (100 ms each) of its latest spending, whichever is most.
 */
static int64_t
headroom(const struct lslot *l)
{
	int64_t h = l->amount / 8, used = l->amount - l->avail;

	if (8 * l->want > h)
		h = 8 * l->want;
	if (3 * (used - l->prev) > h)
		h = 3 * (used - l->prev);
	return h;
}

static size_t
home(uint64_t user)
{
	return (size_t)(util_fnv1a(0, &user, sizeof(user)) % NLEASES);
}

static int
dead(int32_t pid)
{
	return pid == -1 || (pid > 0 && !util_pid_alive(pid));
}

/* A free carve slot for lease i, or -1.  Locked. */
static int
carve_slot(struct table *t, int i, int64_t amount, struct carve *out)
{
	uint32_t k, j;

	for (k = 0; k < NCARVES; k++) {
		j = (t->chint + k) % NCARVES;
		if (t->c[j].owner != 0)
			continue;
		t->chint = j + 1;
		t->c[j].owner = (int32_t)util_pid();
		t->c[j].lease = i;
		t->c[j].amount = amount;
		if (util_ordered_id(t->c[j].id, HOLD_ID_LEN) == -1) {
			t->c[j].owner = 0;
			return -1;
		}
		out->slot = (int)j;
		out->lease = i;
		out->amount = amount;
		memcpy(out->id, t->c[j].id, HOLD_ID_LEN);
		memcpy(out->lease_id, t->l[i].id, HOLD_ID_LEN);
		t->l[i].avail -= amount;
		t->l[i].open++;
		t->l[i].used = util_wall();
		return 0;
	}
	return -1;
}

int
lease_carve(struct lease_table *lt, uint64_t user, int64_t amount,
    const char *request_id, double min_life, struct carve *out)
{
	struct table *t = lt->t;
	int32_t me = (int32_t)util_pid();
	double now = util_wall();
	size_t k, i;
	int ok = 0, pass;

	(void)request_id;
	shm_lock(lt->shm);
	/*
	 * This process's leases first, then the other processes': a lease
	 * serves the whole node, so a user's credit does not sit idle in one
	 * process while another refuses the user.
	 */
	for (pass = 0; pass < 2 && !ok; pass++)
		for (k = 0, i = home(user); k < PROBES;
		     k++, i = (i + 1) % NLEASES) {
			struct lslot *l = &t->l[i];

			if (l->owner == 0 || (l->owner == me) != (pass == 0) ||
			    l->user != user || l->state != L_OPEN)
				continue;
			if (now + min_life >= l->close_at) {
				l->state =
				    L_DRAIN; /* too old for new requests */
				continue;
			}
			if (l->avail < amount)
				continue;
			if (l->amount - l->avail + amount > l->granted) {
				if (amount > l->want)
					l->want = amount; /* lease_grant_sync */
				continue;
			}
			ok = carve_slot(t, (int)i, amount, out) == 0;
			break;
		}
	shm_unlock(lt->shm);
	return ok;
}

int
lease_add(struct lease_table *lt, uint64_t user,
    const unsigned char id[HOLD_ID_LEN], int64_t amount, int64_t balance,
    double close_at, int64_t first, const char *request_id, struct carve *out)
{
	struct table *t = lt->t;
	size_t k, i;
	int rc = -1;

	(void)request_id;
	shm_lock(lt->shm);
	for (k = 0, i = home(user); k < PROBES; k++, i = (i + 1) % NLEASES) {
		struct lslot *l = &t->l[i];

		if (l->owner != 0)
			continue;
		memset(l, 0, sizeof(*l));
		l->owner = (int32_t)util_pid();
		l->state = L_OPEN;
		l->user = user;
		memcpy(l->id, id, HOLD_ID_LEN);
		l->amount = l->avail = amount;
		l->balance = balance;
		l->close_at = close_at;
		l->span = close_at - util_wall();
		l->want = first;
		l->granted = first + headroom(l);
		if (l->granted > amount)
			l->granted = amount;
		l->synced = -1; /* the row's NULL: the whole amount */
		if (carve_slot(t, (int)i, first, out) == 0) {
			rc = 0;
		} else {
			l->owner = 0; /* the caller closes the lease */
		}
		break;
	}
	shm_unlock(lt->shm);
	return rc;
}

void
lease_return(struct lease_table *lt, const struct carve *cv, int64_t charged)
{
	struct table *t = lt->t;
	struct lslot *l;
	struct cslot *c;

	if (cv->slot < 0 || cv->slot >= NCARVES || cv->lease < 0 ||
	    cv->lease >= NLEASES)
		return;
	shm_lock(lt->shm);
	l = &t->l[cv->lease];
	c = &t->c[cv->slot];
	if (memcmp(c->id, cv->id, HOLD_ID_LEN) == 0 &&
	    memcmp(l->id, cv->lease_id, HOLD_ID_LEN) == 0) {
		if (charged < 0) {
			/*
			 * Not settled (the database failed): the carve stays
			 * as an orphan, charged in full when the lease closes
			 * unless its settle turns out to have committed.
			 */
			c->owner = -1;
		} else {
			if (charged > cv->amount)
				charged = cv->amount;
			l->avail += cv->amount - charged;
			memset(c, 0, sizeof(*c));
		}
		if (l->open > 0)
			l->open--;
		l->used = util_wall();
	}
	shm_unlock(lt->shm);
}

void
lease_drain(struct lease_table *lt, const struct carve *cv)
{
	struct lslot *l;

	if (cv->lease < 0 || cv->lease >= NLEASES)
		return;
	shm_lock(lt->shm);
	l = &lt->t->l[cv->lease];
	if (memcmp(l->id, cv->lease_id, HOLD_ID_LEN) == 0 && l->state == L_OPEN)
		l->state = L_DRAIN;
	shm_unlock(lt->shm);
}

int64_t
lease_available(struct lease_table *lt, uint64_t user, int64_t *balance)
{
	struct table *t = lt->t;
	int64_t sum = 0;
	double newest = -1;
	size_t k, i;

	shm_lock(lt->shm);
	for (k = 0, i = home(user); k < PROBES; k++, i = (i + 1) % NLEASES)
		if (t->l[i].owner != 0 && t->l[i].user == user &&
		    t->l[i].state != L_CLAIMED) {
			sum += t->l[i].avail;
			if (balance != NULL && t->l[i].close_at > newest) {
				newest = t->l[i].close_at;
				*balance = t->l[i].balance;
			}
		}
	shm_unlock(lt->shm);
	return sum;
}

void
lease_journaled(struct lease_table *lt, const struct carve *cv, int delta)
{
	shm_lock(lt->shm);
	if (cv->lease >= 0 && cv->lease < NLEASES &&
	    memcmp(lt->t->l[cv->lease].id, cv->lease_id, HOLD_ID_LEN) == 0)
		lt->t->l[cv->lease].pending += delta;
	shm_unlock(lt->shm);
}

void
lease_flushed(
    struct lease_table *lt, const unsigned char id[HOLD_ID_LEN], int64_t n)
{
	size_t i;

	if (lt == NULL)
		return;
	shm_lock(lt->shm);
	for (i = 0; i < NLEASES; i++)
		if (lt->t->l[i].owner != 0 &&
		    memcmp(lt->t->l[i].id, id, HOLD_ID_LEN) == 0) {
			lt->t->l[i].pending -= n;
			if (lt->t->l[i].pending < 0)
				lt->t->l[i].pending = 0;
			break;
		}
	shm_unlock(lt->shm);
}

/* Carves from lease i whose process is alive.  Locked. */
static int64_t
live_carves(const struct table *t, int i)
{
	int64_t n = 0;
	size_t j;

	for (j = 0; j < NCARVES; j++)
		if (t->c[j].owner != 0 && t->c[j].lease == i &&
		    !dead(t->c[j].owner))
			n++;
	return n;
}

/* Ask the caller to compare lease i's charged with the database's.  Locked. */
static void
check(struct table *t, int i, struct lease_due *out)
{
	size_t j;

	memset(out, 0, sizeof(*out));
	out->lease = i;
	out->check = 1;
	memcpy(out->id, t->l[i].id, HOLD_ID_LEN);
	/* What left avail and was not a carve still out: charged. */
	out->expect = t->l[i].amount - t->l[i].avail;
	for (j = 0; j < NCARVES; j++)
		if (t->c[j].owner != 0 && t->c[j].lease == i)
			out->expect -= t->c[j].amount;
}

void
lease_pending_clear(struct lease_table *lt, const struct lease_due *d)
{
	shm_lock(lt->shm);
	if (memcmp(lt->t->l[d->lease].id, d->id, HOLD_ID_LEN) == 0)
		lt->t->l[d->lease].pending = 0;
	shm_unlock(lt->shm);
}

/* Claim lease i for closing and list the carves that never came back. */
static void
claim(struct table *t, int i, struct lease_due *out)
{
	size_t j;

	t->l[i].owner = (int32_t)util_pid();
	t->l[i].state = L_CLAIMED;
	t->l[i].open = 0;
	memset(out, 0, sizeof(*out));
	out->lease = i;
	memcpy(out->id, t->l[i].id, HOLD_ID_LEN);
	for (j = 0; j < NCARVES; j++) {
		if (t->c[j].owner == 0 || t->c[j].lease != i ||
		    !dead(t->c[j].owner))
			continue;
		if (out->ncarves <
		    sizeof(out->carves) / sizeof(out->carves[0])) {
			memcpy(out->carves[out->ncarves].id, t->c[j].id,
			    HOLD_ID_LEN);
			out->carves[out->ncarves].amount = t->c[j].amount;
		}
		out->ncarves++;
	}
}

unsigned
lease_left(struct lease_table *lt)
{
	int32_t me = (int32_t)util_pid();
	unsigned n = 0;
	size_t i;

	if (lt == NULL)
		return 0;
	shm_lock(lt->shm);
	for (i = 0; i < NLEASES; i++)
		n += lt->t->l[i].owner != 0 &&
		    (lt->t->l[i].owner == me || dead(lt->t->l[i].owner));
	shm_unlock(lt->shm);
	return n;
}

int
lease_next_due(
    struct lease_table *lt, double idle_s, int all, struct lease_due *out)
{
	struct table *t = lt->t;
	int32_t me = (int32_t)util_pid();
	double now = util_wall();
	size_t i;
	int found = 0;

	shm_lock(lt->shm);
	for (i = 0; i < NLEASES && !found; i++) {
		struct lslot *l = &t->l[i];

		if (l->owner == 0)
			continue;
		if (l->owner != me) {
			/*
			 * A dead process's lease: adopt it; close it once the
			 * live processes' carves from it are back.
			 */
			if (dead(l->owner)) {
				l->owner = me;
				l->state = L_DRAIN;
				l->open = live_carves(t, (int)i);
			}
			if (l->owner != me)
				continue;
		}
		if (l->state == L_CLAIMED) {
			/* An earlier close failed (callers close one at a time). */
			claim(t, (int)i, out);
			found = 1;
			continue;
		}
		/* At exit (all), no sibling carves from it any more either. */
		if (all || now >= l->close_at)
			l->state = L_DRAIN;
		/* A carver that died never gives its carve back: recount. */
		if (l->open > 0 && now - l->used >= idle_s)
			l->open = live_carves(t, (int)i);
		if (l->open == 0 && l->pending == 0 &&
		    (all || l->state == L_DRAIN || now - l->used >= idle_s)) {
			claim(t, (int)i, out);
			found = 1;
		} else if (l->open == 0 && l->pending > 0 &&
		    now - l->used >= idle_s && now - l->checked >= 1.0) {
			/*
			 * Lines still pending long after the last use: a
			 * process died between its commit and saying so, or
			 * between counting a line and writing it.  The
			 * database tells: when its charged is what the table
			 * says was charged, nothing is missing.
			 */
			check(t, (int)i, out);
			l->checked = now;
			found = 1;
		}
	}
	shm_unlock(lt->shm);
	return found;
}

void
lease_closed(struct lease_table *lt, const struct lease_due *d)
{
	struct table *t = lt->t;
	size_t j;

	shm_lock(lt->shm);
	if (memcmp(t->l[d->lease].id, d->id, HOLD_ID_LEN) == 0) {
		for (j = 0; j < NCARVES; j++)
			if (t->c[j].owner != 0 && t->c[j].lease == d->lease)
				memset(&t->c[j], 0, sizeof(t->c[j]));
		memset(&t->l[d->lease], 0, sizeof(t->l[d->lease]));
	}
	shm_unlock(lt->shm);
}

void
lease_unclaim(struct lease_table *lt, const struct lease_due *d)
{
	struct table *t = lt->t;

	shm_lock(lt->shm);
	/* Still ours and claimed: the next round (or exit) tries again. */
	if (memcmp(t->l[d->lease].id, d->id, HOLD_ID_LEN) == 0)
		t->l[d->lease].state = L_CLAIMED;
	shm_unlock(lt->shm);
}

/* One closer per process at a time (lease_next_due's rule). */
static pthread_mutex_t closer = PTHREAD_MUTEX_INITIALIZER;

unsigned
lease_sweep(struct lease_table *lt, struct db_conn *c, struct arena *a,
    double idle_s, int all, unsigned max)
{
	struct lease_due *d;
	unsigned n = 0;
	int64_t dead;
	size_t i;
	int settled;
	enum tg_err rc;

	if (lt == NULL || pthread_mutex_trylock(&closer) != 0)
		return 0;
	if ((d = arena_alloc(a, sizeof(*d))) == NULL)
		goto out;
	while (n < max && lease_next_due(lt, idle_s, all, d)) {
		if (d->check) {
			if (ledger_lease_charged(c, a, d->id) == d->expect)
				lease_pending_clear(lt, d);
			n++;
			continue;
		}
		dead = 0;
		for (i = 0; i < d->ncarves; i++) {
			if (i >= sizeof(d->carves) / sizeof(d->carves[0])) {
				dead = INT64_MAX; /* too many to check: all */
				break;
			}
			/* Settled, then its process died before saying so? */
			settled = ledger_carve_settled(c, a, d->carves[i].id);
			if (settled == -1)
				break;
			if (!settled)
				dead += d->carves[i].amount;
		}
		rc = i < d->ncarves && dead != INT64_MAX
		    ? TG_EDB
		    : ledger_lease_close(c, a, d->id, dead, 0);
		if (rc == TG_OK || rc == TG_ECONFLICT || rc == TG_ENOENT) {
			lease_closed(lt, d);
			if (dead > 0)
				log_msg(LOG_WARN,
				    "a lease closed with %zu unfinished "
				    "request(s), charged in full",
				    d->ncarves);
		} else {
			lease_unclaim(lt, d);
			break; /* the database is unwell: later */
		}
		n++;
	}
out:
	pthread_mutex_unlock(&closer);
	return n;
}

#define GRANTS_MAX 64 /* per round (100 ms) */

/*
 * The grants this process's leases need written, under the lock: a new
 * lease's row still says its whole amount (lowered to what the table already
 * holds it to: the row never says less than the table), or a lease short of
 * headroom (raised: the row first, then the table).
 */
static size_t
grants_due(struct table *t, int32_t me, struct lease_grant *g)
{
	double now = util_wall();
	size_t i, n = 0;
	int64_t want;

	for (i = 0; i < NLEASES && n < GRANTS_MAX; i++) {
		struct lslot *l = &t->l[i];

		if (l->owner != me || l->state == L_CLAIMED)
			continue;
		/*
		 * A lease in use whose carving ends within a quarter of its
		 * span: its row's life moved on, so a busy user's credit does
		 * not drain out of it and back in (lease_renewed).
		 */
		if (l->state == L_OPEN && l->span > 0 &&
		    now >= l->close_at - l->span / 4 &&
		    now - l->used < l->span && n + 1 < GRANTS_MAX) {
			memset(&g[n], 0, sizeof(g[n]));
			g[n].lease = (int)i;
			memcpy(g[n].id, l->id, HOLD_ID_LEN);
			g[n].renew = l->span;
			n++;
		}
		want = l->granted;
		if (l->state == L_OPEN && l->granted < l->amount &&
		    l->granted - (l->amount - l->avail) < headroom(l) / 2)
			want = l->amount - l->avail + headroom(l);
		if (want > l->amount)
			want = l->amount;
		l->prev = l->amount - l->avail;
		if (want == l->granted && l->synced == l->granted)
			continue;
		memset(&g[n], 0, sizeof(g[n]));
		g[n].lease = (int)i;
		memcpy(g[n].id, l->id, HOLD_ID_LEN);
		g[n].raise = want > l->granted;
		g[n].value = want;
		n++;
	}
	return n;
}

void
lease_granted(struct lease_table *lt, const struct lease_grant *g)
{
	struct lslot *l;

	shm_lock(lt->shm);
	l = &lt->t->l[g->lease];
	if (memcmp(l->id, g->id, HOLD_ID_LEN) == 0) {
		l->synced = g->value;
		if (g->raise && g->value > l->granted) {
			l->granted = g->value;
			l->want = 0;
		}
	}
	shm_unlock(lt->shm);
}

int
lease_short(struct lease_table *lt, uint64_t user, int64_t amount,
    struct lease_grant *g)
{
	struct table *t = lt->t;
	int32_t me = (int32_t)util_pid();
	size_t k, i;
	int found = 0, pass;

	shm_lock(lt->shm);
	for (pass = 0; pass < 2 && !found; pass++)
		for (k = 0, i = home(user); k < PROBES;
		     k++, i = (i + 1) % NLEASES) {
			struct lslot *l = &t->l[i];

			if (l->owner == 0 || (l->owner == me) != (pass == 0) ||
			    l->user != user || l->state != L_OPEN ||
			    l->avail < amount)
				continue;
			g->lease = (int)i;
			memcpy(g->id, l->id, HOLD_ID_LEN);
			g->value = l->amount - l->avail + amount + headroom(l);
			if (g->value > l->amount)
				g->value = l->amount;
			g->raise = 1;
			found = 1;
			break;
		}
	shm_unlock(lt->shm);
	return found;
}

void
lease_renewed(struct lease_table *lt, const struct lease_grant *g, double t0)
{
	struct lslot *l;

	shm_lock(lt->shm);
	l = &lt->t->l[g->lease];
	/* Not if the closer claimed it meanwhile: it closes as it would. */
	if (memcmp(l->id, g->id, HOLD_ID_LEN) == 0 && l->state != L_CLAIMED) {
		l->state = L_OPEN;
		l->close_at = t0 + l->span;
	}
	shm_unlock(lt->shm);
}

int
lease_drained(struct lease_table *lt, uint64_t user, int64_t amount,
    struct lease_grant *g)
{
	struct table *t = lt->t;
	size_t k, i;
	int found = 0;

	shm_lock(lt->shm);
	for (k = 0, i = home(user); k < PROBES && !found;
	     k++, i = (i + 1) % NLEASES) {
		struct lslot *l = &t->l[i];

		if (l->owner == 0 || l->user != user || l->state != L_DRAIN ||
		    l->avail < amount || l->span <= 0 || dead(l->owner))
			continue;
		memset(g, 0, sizeof(*g));
		g->lease = (int)i;
		memcpy(g->id, l->id, HOLD_ID_LEN);
		g->renew = l->span;
		found = 1;
	}
	shm_unlock(lt->shm);
	return found;
}

int
lease_closing(struct lease_table *lt, uint64_t user)
{
	struct table *t = lt->t;
	size_t k, i;
	int found = 0;

	shm_lock(lt->shm);
	for (k = 0, i = home(user); k < PROBES && !found;
	     k++, i = (i + 1) % NLEASES) {
		struct lslot *l = &t->l[i];

		found = l->owner != 0 && l->user == user &&
		    l->state == L_CLAIMED && !dead(l->owner);
	}
	shm_unlock(lt->shm);
	return found;
}

unsigned
lease_grant_sync(struct lease_table *lt, struct db_conn *c, struct arena *a)
{
	struct lease_grant *g;
	enum tg_err rc;
	size_t i, n;

	if (lt == NULL || (g = arena_alloc(a, GRANTS_MAX * sizeof(*g))) == NULL)
		return 0;
	shm_lock(lt->shm);
	n = grants_due(lt->t, (int32_t)util_pid(), g);
	shm_unlock(lt->shm);
	for (i = 0; i < n; i++) {
		double t0 = util_wall();

		if (g[i].renew > 0) {
			rc = ledger_lease_renew(
			    c, a, g[i].id, (int64_t)(2 * g[i].renew) + 1);
			if (rc == TG_OK)
				lease_renewed(lt, &g[i], t0);
		} else {
			rc = ledger_lease_grant(c, a, g[i].id, g[i].value);
			if (rc == TG_OK)
				lease_granted(lt, &g[i]);
		}
		if (rc != TG_OK && rc != TG_ENOENT)
			break; /* the database is unwell: carve within the grant */
	}
	return (unsigned)i;
}

/* issue 19: obs: leases taken and not yet closed, for /metrics (no lock). */
unsigned
lease_count(struct lease_table *lt)
{
	unsigned i, n = 0;

	if (lt == NULL)
		return 0;
	for (i = 0; i < NLEASES; i++)
		n += __atomic_load_n(&lt->t->l[i].owner, __ATOMIC_RELAXED) != 0;
	return n;
}
