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

#include "io/fcgi_io.h"

/*
 * Kept connections (FCGI_KEEP_CONN, nginx's fastcgi_keep_conn) are never
 * closed by us while the web server may still use them: nginx does not retry
 * a POST it wrote to a cached connection that we closed meanwhile, so such a
 * close turns into a 502.  Instead a finished kept connection is parked in
 * this process's door, and whichever slot leads polls the listening socket and
 * every parked connection together, so parked connections never hold a slot
 * and never starve new ones.  Only one slot polls at a time (the leader);
 * the others wait for the lead, and a slot that parks a connection wakes the
 * leader through a pipe so it polls the new one too.
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

struct fcgi_door {
	pthread_mutex_t lead; /* held by the slot that polls */
	pthread_mutex_t mu;   /* guards kept[] and nkept */
	int listen_fd;
	int wake[2]; /* read end polled by the leader */
	int quit;
	int waiting; /* slots inside fcgi_accept: one of them leads */
	int nslots;
	int kept[KEEP_MAX]; /* oldest first */
	unsigned nkept;
};

struct fcgi_slot {
	FCGX_Request req;
	struct fcgi_door *door;
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

struct fcgi_door *
fcgi_door_new(int listen_fd)
{
	struct fcgi_door *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->listen_fd = listen_fd;
	d->wake[0] = d->wake[1] = -1;
	pthread_mutex_init(&d->lead, NULL);
	pthread_mutex_init(&d->mu, NULL);
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
		close(d->kept[i]);
	if (d->wake[0] != -1) {
		close(d->wake[0]);
		close(d->wake[1]);
	}
	pthread_mutex_destroy(&d->lead);
	pthread_mutex_destroy(&d->mu);
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
		if (recv(d->kept[i], &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0)
			close(d->kept[i]);
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
		old = d->kept[0];
		memmove(d->kept, d->kept + 1, (KEEP_MAX - 1) * sizeof(int));
		d->nkept--;
	}
	d->kept[d->nkept++] = fd;
	pthread_mutex_unlock(&d->mu);
	if (old != -1)
		close(old); /* rare: more kept connections than KEEP_MAX */
	door_wake(d);
}

/*
 * As leader: wait until a parked connection or the listening socket is
 * readable.  Returns the claimed parked fd, -2 for the listening socket, or
 * -1 on interrupt or quit.
 */
static int
door_wait(struct fcgi_door *d)
{
	struct pollfd p[KEEP_MAX + 2];
	char drain[64];
	unsigned i, j, n;
	int fd;

	for (;;) {
		if (__atomic_load_n(&d->quit, __ATOMIC_ACQUIRE))
			return -1;
		p[0] = (struct pollfd){.fd = d->wake[0], .events = POLLIN};
		p[1] = (struct pollfd){.fd = d->listen_fd, .events = POLLIN};
		pthread_mutex_lock(&d->mu);
		for (i = 0; i < d->nkept; i++)
			p[2 + i] =
			    (struct pollfd){.fd = d->kept[i], .events = POLLIN};
		n = 2 + d->nkept;
		pthread_mutex_unlock(&d->mu);
		if (poll(p, n, -1) == -1)
			return -1; /* EINTR: the wake signal of a stop */
		if (p[0].revents != 0)
			while (read(d->wake[0], drain, sizeof(drain)) > 0)
				;
		/* Kept connections first: their requests are already sent. */
		for (i = 2; i < n; i++) {
			if (p[i].revents == 0)
				continue;
			fd = p[i].fd;
			pthread_mutex_lock(&d->mu);
			for (j = 0; j < d->nkept; j++)
				if (d->kept[j] == fd)
					break;
			if (j < d->nkept) {
				memmove(d->kept + j, d->kept + j + 1,
				    (d->nkept - j - 1) * sizeof(int));
				d->nkept--;
			} else
				fd = -1;
			pthread_mutex_unlock(&d->mu);
			if (fd != -1)
				return fd;
		}
		if (p[1].revents != 0)
			return -2;
	}
}

struct fcgi_slot *
fcgi_slot_new(struct fcgi_door *d)
{
	struct fcgi_slot *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	/* FAIL_ACCEPT_ON_INTR: a stop signal must wake a slot blocked in accept. */
	if (FCGX_InitRequest(&s->req, d->listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) !=
	    0) {
		free(s);
		return NULL;
	}
	s->door = d;
	s->next_fd = -1;
	__atomic_add_fetch(&d->nslots, 1, __ATOMIC_RELAXED);
	return s;
}

void
fcgi_slot_free(struct fcgi_slot *s)
{
	if (s == NULL)
		return;
	if (s->accepted)
		FCGX_Finish_r(&s->req);
	if (s->next_fd >= 0)
		close(s->next_fd);
	FCGX_Free(&s->req, 1);
	free(s);
}

static ssize_t
f_read(void *ctx, void *buf, size_t n)
{
	struct fcgi_slot *s = ctx;
	int r;

	if (n > 1 << 30)
		n = 1 << 30;
	r = FCGX_GetStr(buf, (int)n, s->req.in);
	if (r < 0 || (r == 0 && FCGX_GetError(s->req.in) != 0))
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
		    buf, n > 1 << 30 ? 1 << 30 : (int)n, s->req.out);
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

	return FCGX_FFlush(s->req.out) == 0 ? 0 : -1;
}

/*
 * The web server closed the connection, as nginx, Apache and lighttpd do
 * when their client leaves mid-request: seen by poll, nothing consumed.
 */
static int
f_gone(void *ctx)
{
	struct fcgi_slot *s = ctx;
	struct pollfd p = {.fd = s->req.ipcFd, .events = POLLIN | POLLRDHUP};
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
	struct fcgi_door *d = s->door;
	int fd, r;

	for (;;) {
		if ((fd = s->next_fd) >= 0) {
			s->next_fd = -1;
		} else {
			__atomic_add_fetch(&d->waiting, 1, __ATOMIC_ACQ_REL);
			pthread_mutex_lock(&d->lead);
			fd = door_wait(d);
			pthread_mutex_unlock(&d->lead);
			__atomic_sub_fetch(&d->waiting, 1, __ATOMIC_ACQ_REL);
		}
		if (fd == -1)
			return -1;
		/*
		 * libfcgi reads the request from ipcFd when it is set and
		 * accepts otherwise; keepConnection stops its leading finish
		 * from closing the fd we hand it.
		 */
		s->req.ipcFd = fd >= 0 ? fd : -1;
		s->req.keepConnection = 1;
		r = FCGX_Accept_r(&s->req);
		if (r == 0)
			break;
		/*
		 * EAGAIN: another process took the connection, or a parked one
		 * had closed and the accept that libfcgi tries next found none.
		 */
		if (r != -EAGAIN && r != -EWOULDBLOCK && r != -ECONNABORTED)
			return -1;
	}
	s->accepted = 1;
	io->ctx = s;
	io->envp = s->req.envp;
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
	FCGX_Finish_r(&s->req);
	s->accepted = 0;
	if ((fd = s->req.ipcFd) < 0)
		return;
	s->req.ipcFd = -1;
	p = (struct pollfd){.fd = fd, .events = POLLIN};
	if (2 * __atomic_load_n(&d->waiting, __ATOMIC_ACQUIRE) >
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
	return s->next_fd >= 0;
}

void
fcgi_shutdown_pending(struct fcgi_door *d)
{
	FCGX_ShutdownPending();
	if (d != NULL) {
		__atomic_store_n(&d->quit, 1, __ATOMIC_RELEASE);
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
