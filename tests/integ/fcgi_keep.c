/* fcgi_keep.c: a FastCGI client that fills tollgate's door with kept connections (t_proc_door) */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * fcgi_keep SOCKET LIVE OTHERS SLOTS: talks FastCGI with FCGI_KEEP_CONN, as
 * nginx does with fastcgi_keep_conn, straight to tollgate's socket.
 *
 *   1. LIVE connections ask for /health and stay open: parked first, they
 *      are the oldest in the door, like the web server's keep-alive cache;
 *   2. OTHERS more connections each ask for /health and stay open, so the
 *      door holds LIVE + OTHERS parked connections;
 *   3. SLOTS connections ask for /_debug/sleep?ms=1500: every slot is busy,
 *      so no slot polls the door;
 *   4. the OTHERS connections are closed by us, as a web server closes the
 *      ones beyond its keep-alive cache;
 *   5. the sleeps end and their connections are parked into the full door;
 *   6. every live connection, still open on our side, asks for /health
 *      again and must be answered 200.  A door that makes room by closing its
 *      oldest connections closes live ones instead of dead ones.
 *
 * Prints one line per step; exits 0 when every answer was 200.
 */

#define REC_MAX 65535

static int
dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
header(unsigned char *h, int type, size_t len)
{
	h[0] = 1; /* FCGI_VERSION_1 */
	h[1] = (unsigned char)type;
	h[2] = 0;
	h[3] = 1; /* request id 1 */
	h[4] = (unsigned char)(len >> 8);
	h[5] = (unsigned char)len;
	h[6] = 0;
	h[7] = 0;
}

static size_t
param(unsigned char *p, const char *name, const char *value)
{
	size_t n = strlen(name), v = strlen(value);

	/* Every name and value here is under 128 bytes: one length byte. */
	p[0] = (unsigned char)n;
	p[1] = (unsigned char)v;
	memcpy(p + 2, name, n);
	memcpy(p + 2 + n, value, v);
	return 2 + n + v;
}

/* Send one GET request for uri (a path with an optional query). */
static int
send_get(int fd, const char *uri)
{
	unsigned char buf[2048], *p = buf, *params;
	char path[256];
	const char *q = strchr(uri, '?');
	size_t plen;

	snprintf(path, sizeof(path), "%.*s",
	    (int)(q != NULL ? q - uri : (long)strlen(uri)), uri);
	header(p, 1, 8); /* FCGI_BEGIN_REQUEST */
	p += 8;
	memcpy(p, "\0\1\1\0\0\0\0\0", 8); /* responder, FCGI_KEEP_CONN */
	p += 8;
	params = p + 8;
	plen = param(params, "REQUEST_METHOD", "GET");
	plen += param(params + plen, "REQUEST_URI", uri);
	plen += param(params + plen, "DOCUMENT_URI", path);
	plen += param(params + plen, "SCRIPT_NAME", path);
	plen += param(params + plen, "QUERY_STRING", q != NULL ? q + 1 : "");
	plen += param(params + plen, "SERVER_PROTOCOL", "HTTP/1.1");
	plen += param(params + plen, "REMOTE_ADDR", "127.0.0.1");
	plen += param(params + plen, "SERVER_NAME", "localhost");
	plen += param(params + plen, "SERVER_PORT", "80");
	plen += param(params + plen, "HTTP_HOST", "localhost");
	header(p, 4, plen); /* FCGI_PARAMS */
	p = params + plen;
	header(p, 4, 0);
	p += 8;
	header(p, 5, 0); /* FCGI_STDIN, empty */
	p += 8;
	return write(fd, buf, (size_t)(p - buf)) == p - buf ? 0 : -1;
}

static int
read_full(int fd, unsigned char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read records up to FCGI_END_REQUEST; the HTTP status, or -1. */
static int
read_answer(int fd)
{
	static unsigned char body[REC_MAX + 256];
	unsigned char h[8];
	size_t len;
	int status = 200; /* no Status header: 200 */
	char *s;

	for (;;) {
		if (read_full(fd, h, 8) == -1)
			return -1;
		len = (size_t)h[4] << 8 | h[5];
		if (read_full(fd, body, len + h[6]) == -1)
			return -1;
		body[len] = '\0';
		if (h[1] == 3) /* FCGI_END_REQUEST */
			return status;
		if (h[1] == 6 && (s = strstr((char *)body, "Status: ")) != NULL)
			status = atoi(s + 8);
	}
}

static int
get(int fd, const char *uri)
{
	return send_get(fd, uri) == -1 ? -1 : read_answer(fd);
}

int
main(int argc, char **argv)
{
	int *live, *others, *sleepers, i, nlive, n, slots, st, bad = 0, ok = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: fcgi_keep SOCKET LIVE OTHERS SLOTS\n");
		return 2;
	}
	/* A connection the door closed must fail a step, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	nlive = atoi(argv[2]);
	n = atoi(argv[3]);
	slots = atoi(argv[4]);
	live = calloc((size_t)nlive, sizeof(int));
	others = calloc((size_t)n, sizeof(int));
	sleepers = calloc((size_t)slots, sizeof(int));
	if (live == NULL || others == NULL || sleepers == NULL)
		return 1;
	for (i = 0; i < nlive; i++)
		if ((live[i] = dial(argv[1])) == -1 ||
		    get(live[i], "/health") != 200)
			bad++;
	printf("%d live connections asked once and kept open: %d failed\n",
	    nlive, bad);
	for (i = 0; i < n; i++)
		if ((others[i] = dial(argv[1])) == -1 ||
		    get(others[i], "/health") != 200)
			bad++;
	printf("%d more connections asked once and kept open: %d failed so "
	       "far\n",
	    n, bad);
	for (i = 0; i < slots; i++)
		if ((sleepers[i] = dial(argv[1])) == -1 ||
		    send_get(sleepers[i], "/_debug/sleep?ms=1500") == -1)
			bad++;
	usleep(500 * 1000); /* every slot is asleep now */
	for (i = 0; i < n; i++)
		if (others[i] != -1)
			close(others[i]);
	printf("%d slots asleep; the %d connections closed on our side\n",
	    slots, n);
	for (i = 0; i < slots; i++) {
		st = sleepers[i] != -1 ? read_answer(sleepers[i]) : -1;
		if (st != 200)
			bad++;
	}
	printf(
	    "the sleeps answered and were parked: %d failures so far\n", bad);
	for (i = 0; i < nlive; i++)
		ok += live[i] != -1 && get(live[i], "/health") == 200;
	printf(
	    "live connections asked again: %d of %d answered 200\n", ok, nlive);
	for (i = 0; i < nlive; i++)
		if (live[i] != -1)
			close(live[i]);
	for (i = 0; i < slots; i++)
		if (sleepers[i] != -1)
			close(sleepers[i]);
	free(live);
	free(others);
	free(sleepers);
	return bad == 0 && ok == nlive ? 0 : 1;
}
