/* fcgi_io.c: the only door to libfcgi, plus plain CGI on stdin/stdout */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "core/util.h"
#include "io/fcgi_io.h"

/*
 * Kept connections (FCGI_KEEP_CONN, nginx's fastcgi_keep_conn) are never
 * closed by us while the web server may still use them: nginx does not retry
 * a POST it wrote to a cached connection that we closed meanwhile, so such a
 * close turns into a 502.  Instead a finished kept connection is parked in
 * this process's door, and whichever slot leads polls the listening socket and
 * every parked connection together, so parked connections never hold a slot.
 * Only one slot polls at a time (the leader); the others wait for the lead,
 * and a slot that parks a connection wakes the leader through a pipe so it
 * polls the new one too.
 *
 * Fairness: the leader takes the source that has been ready longest, the
 * listening socket counted as one source.  Each ready source is stamped the
 * first time a poll sees it ready and the smallest stamp goes first; the
 * listening socket is stamped afresh after each accept.  So a connection
 * waits for at most the sources that were ready before it, never for
 * requests that come later.  (Kept connections first, as before, left the
 * connections nginx opened beyond its cache in the queue for as long as the
 * kept ones had requests: 20 s for 0.9 s of work at 20 clients on 8 slots.)
 *
 * The lane: one more slot that serves what fast() accepts (/health) while
 * every other slot is busy, so a load balancer's probe does not wait for a
 * chat to end.  It leads only when no slot waits for work (a waiting slot
 * wakes it to hand the lead back), and a request it accepts that is not
 * fast goes to the slots, accepted, ahead of anything still in the door:
 * it was the oldest ready.  At most four per slot (HAND_MAX in all) wait so,
 * which bounds what the lane pulls in; while they wait the lane does not lead.
 *
 * Parking costs two wake-ups of the leader per request (the park, then the
 * next request).  While more than half the slots wait for work, a slot that
 * finishes on a kept connection first waits on that connection alone for
 * LINGER_MS: the web server reuses its most recent connection first, so at
 * low load the next request usually comes on it and is served by the same
 * thread with no hand-off, and the leader serves the rest.  Under load slots
 * do not linger: a slot held for one connection is one fewer for the others
 * (measured: a fifth less throughput at 16 connections on 8 slots).
 */
#define KEEP_MAX                                                               \
	256 /* parked connections per process; beyond, the oldest goes */
#define LINGER_MS 2
#define HAND_MAX  64 /* requests the lane may hand to the slots at once */

/* door_wait's answers besides a parked fd (>= 0). */
#define DOOR_QUIT   (-1)
#define DOOR_LISTEN (-2)
#define DOOR_RESIGN (-3) /* the lane gives the lead to a waiting slot */
#define DOOR_HANDED (-4) /* the slot took a request the lane accepted */
#define DOOR_NONE   (-5) /* nothing ready */

enum lead { LEAD_NONE, LEAD_SLOT, LEAD_LANE };

struct kept {
	int fd;
	unsigned long since; /* readiness stamp; 0 while not seen ready */
};

struct fcgi_door {
	pthread_mutex_t mu; /* guards all below but listen_fd and wake */
	pthread_cond_t cv;  /* the lead is free, a request handed, quit */
	int listen_fd;
	int wake[2]; /* read end polled by the leader */
	int quit;
	enum lead leader;
	int waiting; /* slots (not the lane) inside fcgi_accept */
	int nslots;
	unsigned long tick; /* the last readiness stamp given */
	unsigned long listen_since;
	double listen_at;	    /* when listen_since was given */
	struct kept kept[KEEP_MAX]; /* oldest parked first */
	unsigned nkept;
	FCGX_Request *hand[HAND_MAX]; /* accepted by the lane, oldest first */
	unsigned nhand;
	FCGX_Request *spare[HAND_MAX]; /* the lane's next requests */
	unsigned nspare;
	fcgi_fast_fn *fast;
	void *fast_arg;
	double
	    grace; /* s the lane leaves a new connection to other processes */
};

struct fcgi_slot {
	FCGX_Request *req; /* swapped with the door's when handed a request */
	struct fcgi_door *door;
	int lane;
	int accepted;
	int next_fd; /* a kept connection with a request waiting, or -1 */
};

static int
set_flags(int fd, int fl)
{
	int cur = fcntl(fd, F_GETFL);

	return cur == -1 || fcntl(fd, F_SETFL, cur | fl) == -1 ? -1 : 0;
}

int
fcgi_init(void)
{
	return FCGX_Init() == 0 ? 0 : -1;
}

static FCGX_Request *
req_new(int listen_fd)
{
	FCGX_Request *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	/* FAIL_ACCEPT_ON_INTR: a stop signal must wake a slot blocked in accept. */
	if (FCGX_InitRequest(r, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

static void
req_free(FCGX_Request *r)
{
	if (r == NULL)
		return;
	FCGX_Free(r, 1);
	free(r);
}

struct fcgi_door *
fcgi_door_new(int listen_fd)
{
	struct fcgi_door *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->listen_fd = listen_fd;
	d->wake[0] = d->wake[1] = -1;
	pthread_mutex_init(&d->mu, NULL);
	pthread_cond_init(&d->cv, NULL);
	/* Leaders only accept when poll says so; another process may win. */
	if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) == -1 ||
	    set_flags(listen_fd, O_NONBLOCK) == -1) {
		fcgi_door_free(d);
		return NULL;
	}
	return d;
}

void
fcgi_door_free(struct fcgi_door *d)
{
	unsigned i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nkept; i++)
		close(d->kept[i].fd);
	for (i = 0; i < d->nhand; i++)
		req_free(d->hand[i]);
	for (i = 0; i < d->nspare; i++)
		req_free(d->spare[i]);
	if (d->wake[0] != -1) {
		close(d->wake[0]);
		close(d->wake[1]);
	}
	pthread_mutex_destroy(&d->mu);
	pthread_cond_destroy(&d->cv);
	free(d);
}

static void
door_wake(struct fcgi_door *d)
{
	char c = 0;

	(void)!write(d->wake[1], &c, 1);
}

/*
 * With the door full, drop the connections the web server has closed (they
 * read as end of file) before any live one: closing a live one that has a
 * request on its way resets it, and the web server answers 502.
 */
static void
door_drop_closed(struct fcgi_door *d)
{
	unsigned i, n = 0;
	char c;

	for (i = 0; i < d->nkept; i++) {
		if (recv(d->kept[i].fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
			close(d->kept[i].fd);
		else
			d->kept[n++] = d->kept[i];
	}
	d->nkept = n;
}

/* Park a kept connection between requests. */
static void
door_park(struct fcgi_door *d, int fd)
{
	int old = -1;

	pthread_mutex_lock(&d->mu);
	if (d->nkept == KEEP_MAX)
		door_drop_closed(d);
	if (d->nkept == KEEP_MAX) {
		old = d->kept[0].fd;
		memmove(
		    d->kept, d->kept + 1, (KEEP_MAX - 1) * sizeof(struct kept));
		d->nkept--;
	}
	d->kept[d->nkept++] = (struct kept){.fd = fd};
	pthread_mutex_unlock(&d->mu);
	if (old != -1)
		close(old); /* rare: more kept connections than KEEP_MAX */
	door_wake(d);
}

/*
 * With mu: ms the lane still leaves the listening socket ready since
 * listen_at to other processes (it does not poll it meanwhile), else -1.
 */
static int
lane_hold(const struct fcgi_door *d, int lane)
{
	double left = d->grace - (util_now() - d->listen_at);

	return lane && d->listen_since != 0 && left > 0 ? (int)(left * 1000) + 1
							: -1;
}

/*
 * The poll set: the wake pipe, the listening socket (unless the lane holds
 * off), the parked fds.
 */
static unsigned
door_pollset(struct fcgi_door *d, struct pollfd *p, int hold)
{
	unsigned i;

	p[0] = (struct pollfd){.fd = d->wake[0], .events = POLLIN};
	p[1] = (struct pollfd){
	    .fd = d->listen_fd, .events = hold >= 0 ? 0 : POLLIN};
	for (i = 0; i < d->nkept; i++)
		p[2 + i] =
		    (struct pollfd){.fd = d->kept[i].fd, .events = POLLIN};
	return 2 + d->nkept;
}

static struct kept *
kept_of(struct fcgi_door *d, int fd)
{
	unsigned j;

	for (j = 0; j < d->nkept; j++)
		if (d->kept[j].fd == fd)
			return &d->kept[j];
	return NULL;
}

/* Stamps what the poll found ready (with mu): a source not ready loses its. */
static void
door_stamp(struct fcgi_door *d, const struct pollfd *p, unsigned n)
{
	struct kept *k;
	unsigned i;

	if (p[1].events == 0)
		; /* not polled: the lane's hold; what was seen stays */
	else if (p[1].revents == 0)
		d->listen_since = 0;
	else if (d->listen_since == 0) {
		d->listen_since = ++d->tick;
		d->listen_at = util_now();
	}
	for (i = 2; i < n; i++) {
		if ((k = kept_of(d, p[i].fd)) == NULL)
			continue; /* dropped since the poll began */
		if (p[i].revents == 0)
			k->since = 0;
		else if (k->since == 0)
			k->since = ++d->tick;
	}
}

/*
 * With mu: the source ready longest: a parked fd (claimed: out of the door),
 * DOOR_LISTEN, or DOOR_NONE when nothing is.  The lane of one of several
 * processes leaves the listening socket to the others' idle slots for the
 * grace: what it accepts waits for this process's busy slots.
 */
static int
door_pick(struct fcgi_door *d, int lane)
{
	unsigned long best = lane_hold(d, lane) >= 0 ? 0 : d->listen_since;
	unsigned j, at = KEEP_MAX;
	int fd;

	for (j = 0; j < d->nkept; j++)
		if (d->kept[j].since != 0 &&
		    (best == 0 || d->kept[j].since < best)) {
			best = d->kept[j].since;
			at = j;
		}
	if (best == 0)
		return DOOR_NONE;
	if (at == KEEP_MAX) {
		d->listen_since = 0; /* after this accept, behind the others */
		return DOOR_LISTEN;
	}
	fd = d->kept[at].fd;
	memmove(d->kept + at, d->kept + at + 1,
	    (d->nkept - at - 1) * sizeof(struct kept));
	d->nkept--;
	return fd;
}

/*
 * As leader (without mu): wait until a parked connection or the listening
 * socket is readable.  Returns the claimed parked fd, DOOR_LISTEN, DOOR_QUIT
 * on interrupt or quit, or for the lane DOOR_RESIGN when a slot waits.
 */
static int
door_wait(struct fcgi_door *d, int lane)
{
	struct pollfd p[KEEP_MAX + 2];
	char drain[64];
	unsigned n;
	int fd, hold, r;

	for (;;) {
		pthread_mutex_lock(&d->mu);
		fd = d->quit		     ? DOOR_QUIT
		    : lane && d->waiting > 0 ? DOOR_RESIGN
					     : DOOR_NONE;
		hold = lane_hold(d, lane);
		n = door_pollset(d, p, hold);
		pthread_mutex_unlock(&d->mu);
		if (fd != DOOR_NONE)
			return fd;
		if ((r = poll(p, n, hold)) == -1)
			return DOOR_QUIT; /* EINTR: the wake signal of a stop */
		if (p[0].revents != 0)
			while (read(d->wake[0], drain, sizeof(drain)) > 0)
				;
		pthread_mutex_lock(&d->mu);
		if (r > 0)
			door_stamp(d, p, n);
		fd = lane && d->waiting > 0 ? DOOR_RESIGN : door_pick(d, lane);
		pthread_mutex_unlock(&d->mu);
		if (fd != DOOR_NONE)
			return fd; /* else the wake pipe or the hold: again */
	}
}

/* With mu: a slot takes the oldest request the lane handed over. */
static void
door_take_handed(struct fcgi_door *d, struct fcgi_slot *s)
{
	d->spare[d->nspare++] = s->req;
	s->req = d->hand[0];
	memmove(d->hand, d->hand + 1, (d->nhand - 1) * sizeof(*d->hand));
	d->nhand--;
	pthread_cond_broadcast(&d->cv); /* the lane may lead again */
}

/* Whether s may take the lead now (with mu). */
static int
may_lead(const struct fcgi_door *d, const struct fcgi_slot *s)
{
	if (d->leader != LEAD_NONE)
		return 0;
	return !s->lane || (d->waiting == 0 && d->nspare > 0);
}

/*
 * Wait for work: a request handed over by the lane (DOOR_HANDED, s->req is
 * it), a parked fd, DOOR_LISTEN or DOOR_QUIT.
 */
static int
door_enter(struct fcgi_slot *s)
{
	struct fcgi_door *d = s->door;
	int fd;

	pthread_mutex_lock(&d->mu);
	if (!s->lane) {
		__atomic_add_fetch(&d->waiting, 1, __ATOMIC_ACQ_REL);
		if (d->leader == LEAD_LANE)
			door_wake(d); /* take the lead back from the lane */
	}
	for (;;) {
		/* At a stop the lane serves what it handed and no slot took. */
		if ((!s->lane || d->quit) && d->nhand > 0) {
			door_take_handed(d, s);
			fd = DOOR_HANDED;
			break;
		}
		if (d->quit) {
			fd = DOOR_QUIT;
			break;
		}
		if (!may_lead(d, s)) {
			pthread_cond_wait(&d->cv, &d->mu);
			continue;
		}
		d->leader = s->lane ? LEAD_LANE : LEAD_SLOT;
		pthread_mutex_unlock(&d->mu);
		fd = door_wait(d, s->lane);
		pthread_mutex_lock(&d->mu);
		d->leader = LEAD_NONE;
		pthread_cond_broadcast(&d->cv);
		/* A stop: once more round, for what the lane handed over. */
		if (fd != DOOR_RESIGN && (fd != DOOR_QUIT || !d->quit))
			break;
	}
	if (!s->lane)
		__atomic_sub_fetch(&d->waiting, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&d->mu);
	return fd;
}

static struct fcgi_slot *
slot_new(struct fcgi_door *d, int lane)
{
	struct fcgi_slot *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->req = req_new(d->listen_fd)) == NULL) {
		free(s);
		return NULL;
	}
	s->door = d;
	s->lane = lane;
	s->next_fd = -1;
	return s;
}

struct fcgi_slot *
fcgi_slot_new(struct fcgi_door *d)
{
	struct fcgi_slot *s;

	if ((s = slot_new(d, 0)) != NULL)
		__atomic_add_fetch(&d->nslots, 1, __ATOMIC_RELAXED);
	return s;
}

struct fcgi_slot *
fcgi_lane_new(
    struct fcgi_door *d, fcgi_fast_fn *fast, void *arg, unsigned grace_ms)
{
	struct fcgi_slot *s;
	unsigned n = (unsigned)__atomic_load_n(&d->nslots, __ATOMIC_RELAXED);

	if ((s = slot_new(d, 1)) == NULL)
		return NULL;
	/*
	 * Four handed requests per slot: the lane reaches a probe behind a
	 * burst of new connections in the listening socket's queue (which it
	 * can only take in order) while the slots are busy.
	 */
	n = n < 1 ? 1 : n > HAND_MAX / 4 ? HAND_MAX : 4 * n;
	pthread_mutex_lock(&d->mu);
	d->fast = fast;
	d->fast_arg = arg;
	d->grace = grace_ms / 1000.0;
	while (d->nspare < n && (d->spare[d->nspare] = req_new(d->listen_fd)))
		d->nspare++;
	pthread_mutex_unlock(&d->mu);
	if (d->nspare == 0) {
		fcgi_slot_free(s);
		return NULL;
	}
	return s;
}

void
fcgi_slot_free(struct fcgi_slot *s)
{
	if (s == NULL)
		return;
	if (s->accepted)
		FCGX_Finish_r(s->req);
	if (s->next_fd >= 0)
		close(s->next_fd);
	req_free(s->req);
	free(s);
}

static ssize_t
f_read(void *ctx, void *buf, size_t n)
{
	struct fcgi_slot *s = ctx;
	int r;

	if (n > 1 << 30)
		n = 1 << 30;
	r = FCGX_GetStr(buf, (int)n, s->req->in);
	if (r < 0 || (r == 0 && FCGX_GetError(s->req->in) != 0))
		return -1;
	return r;
}

static int
f_write(void *ctx, const void *buf, size_t n)
{
	struct fcgi_slot *s = ctx;
	int r;

	while (n > 0) {
		r = FCGX_PutStr(
		    buf, n > 1 << 30 ? 1 << 30 : (int)n, s->req->out);
		if (r < 0)
			return -1;
		buf = (const char *)buf + r;
		n -= (size_t)r;
	}
	return 0;
}

static int
f_flush(void *ctx)
{
	struct fcgi_slot *s = ctx;

	return FCGX_FFlush(s->req->out) == 0 ? 0 : -1;
}

/*
 * The lane keeps a request fast() accepts, and any once the worker stops (no
 * slot may be left to take it); it hands the others to the slots.
 */
static int
lane_keeps(struct fcgi_slot *s)
{
	struct fcgi_door *d = s->door;
	int keep;

	pthread_mutex_lock(&d->mu);
	keep = d->quit || d->nspare == 0 || d->fast(s->req->envp, d->fast_arg);
	if (!keep) {
		d->hand[d->nhand++] = s->req;
		s->req = d->spare[--d->nspare];
		pthread_cond_broadcast(&d->cv);
	}
	pthread_mutex_unlock(&d->mu);
	return keep;
}

/*
 * The web server closed the connection, as nginx, Apache and lighttpd do
 * when their client leaves mid-request: seen by poll, nothing consumed.
 */
static int
f_gone(void *ctx)
{
	struct fcgi_slot *s = ctx;
	struct pollfd p = {.fd = s->req->ipcFd, .events = POLLIN | POLLRDHUP};
	char c;

	if (p.fd < 0 || poll(&p, 1, 0) != 1)
		return 0;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return 1;
	return (p.revents & POLLIN) &&
	    recv(p.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

int
fcgi_accept(struct fcgi_slot *s, struct tg_io *io)
{
	int fd, r;

	for (;;) {
		if ((fd = s->next_fd) >= 0)
			s->next_fd = -1;
		else if ((fd = door_enter(s)) == DOOR_HANDED)
			break;
		if (fd == DOOR_QUIT)
			return -1;
		/*
		 * libfcgi reads the request from ipcFd when it is set and
		 * accepts otherwise; keepConnection stops its leading finish
		 * from closing the fd we hand it.
		 */
		s->req->ipcFd = fd >= 0 ? fd : -1;
		s->req->keepConnection = 1;
		r = FCGX_Accept_r(s->req);
		if (r == 0 && (!s->lane || lane_keeps(s)))
			break;
		/*
		 * EAGAIN: another process took the connection, or a parked one
		 * had closed and the accept that libfcgi tries next found none.
		 */
		if (r != 0 && r != -EAGAIN && r != -EWOULDBLOCK &&
		    r != -ECONNABORTED)
			return -1;
	}
	s->accepted = 1;
	io->ctx = s;
	io->envp = s->req->envp;
	io->read = f_read;
	io->write = f_write;
	io->flush = f_flush;
	io->gone = f_gone;
	return 0;
}

void
fcgi_finish(struct fcgi_slot *s)
{
	struct fcgi_door *d = s->door;
	struct pollfd p;
	int fd;

	if (!s->accepted)
		return;
	FCGX_Finish_r(s->req);
	s->accepted = 0;
	if ((fd = s->req->ipcFd) < 0)
		return;
	s->req->ipcFd = -1;
	p = (struct pollfd){.fd = fd, .events = POLLIN};
	/* The lane never lingers: the next request may not be a fast one. */
	if (!s->lane &&
	    2 * __atomic_load_n(&d->waiting, __ATOMIC_ACQUIRE) >
		__atomic_load_n(&d->nslots, __ATOMIC_RELAXED) &&
	    !__atomic_load_n(&d->quit, __ATOMIC_ACQUIRE) &&
	    poll(&p, 1, LINGER_MS) == 1) {
		s->next_fd = fd;
		return;
	}
	door_park(d, fd);
}

int
fcgi_has_next(const struct fcgi_slot *s)
{
	struct fcgi_door *d = s->door;
	int n;

	if (s->next_fd >= 0)
		return 1;
	pthread_mutex_lock(&d->mu);
	n = d->nhand > 0;
	pthread_mutex_unlock(&d->mu);
	return n;
}

void
fcgi_shutdown_pending(struct fcgi_door *d)
{
	FCGX_ShutdownPending();
	if (d != NULL) {
		pthread_mutex_lock(&d->mu);
		__atomic_store_n(&d->quit, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&d->cv);
		pthread_mutex_unlock(&d->mu);
		door_wake(d);
	}
}

static ssize_t
c_read(void *ctx, void *buf, size_t n)
{
	ssize_t r;

	do
		r = read(STDIN_FILENO, buf, n);
	while (r == -1 && errno == EINTR);
	return r;
}

static int
c_write(void *ctx, const void *buf, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = write(STDOUT_FILENO, buf, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		buf = (const char *)buf + r;
		n -= (size_t)r;
	}
	return 0;
}

static int
c_flush(void *ctx)
{
	return 0;
}

void
cgi_io(struct tg_io *io, char **envp)
{
	io->ctx = NULL;
	io->envp = envp;
	io->read = c_read;
	io->write = c_write;
	io->flush = c_flush;
	io->gone = NULL;
}
