/* fcgi_io.c: the only door to libfcgi, plus plain CGI on stdin/stdout */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "fcgi_io.h"

/*
 * A slot that keeps a web server connection open (FCGI_KEEP_CONN) serves only
 * that connection.  Idle kept connections could hold every slot while new
 * connections wait unaccepted in the backlog, so a kept connection is given
 * up when others are waiting, and after this long without a next request.
 */
#define KEEP_IDLE_MS 1000

struct fcgi_slot {
	FCGX_Request req;
	int accepted;
	int timed; /* SO_RCVTIMEO set on the kept connection */
};

static void
rcv_timeout(int fd, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* 1 when connections wait in the listen backlog. */
static int
backlog_waiting(int listen_fd)
{
	struct pollfd p = {.fd = listen_fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int
fcgi_init(void)
{
	return FCGX_Init() == 0 ? 0 : -1;
}

struct fcgi_slot *
fcgi_slot_new(int listen_fd)
{
	struct fcgi_slot *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	/* FAIL_ACCEPT_ON_INTR: a stop signal must wake a slot blocked in accept. */
	if (FCGX_InitRequest(&s->req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) !=
	    0) {
		free(s);
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
		FCGX_Finish_r(&s->req);
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

int
fcgi_accept(struct fcgi_slot *s, struct tg_io *io)
{
	if (FCGX_Accept_r(&s->req) < 0) {
		s->accepted = 0;
		return -1;
	}
	s->accepted = 1;
	if (s->timed) {
		/* A request arrived on the kept connection: no limit inside it. */
		rcv_timeout(s->req.ipcFd, 0);
		s->timed = 0;
	}
	io->ctx = s;
	io->envp = s->req.envp;
	io->read = f_read;
	io->write = f_write;
	io->flush = f_flush;
	return 0;
}

void
fcgi_finish(struct fcgi_slot *s)
{
	if (!s->accepted)
		return;
	if (s->req.keepConnection && backlog_waiting(s->req.listen_sock))
		s->req.keepConnection = 0;
	FCGX_Finish_r(&s->req);
	s->accepted = 0;
	s->timed = 0;
	if (s->req.ipcFd >= 0) {
		/* Kept: a read timeout makes libfcgi close it and accept anew. */
		rcv_timeout(s->req.ipcFd, KEEP_IDLE_MS);
		s->timed = 1;
	}
}

void
fcgi_shutdown_pending(void)
{
	FCGX_ShutdownPending();
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
}
