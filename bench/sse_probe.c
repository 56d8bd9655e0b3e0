/* sse_probe.c: times streamed chat answers event by event (the benchmark's stream figures) */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * sse_probe PORT PATH KEY BODY N [HEADER]...: N streams, one after another,
 * each on a new connection to 127.0.0.1:PORT, with the HEADERs ("Name: value",
 * for a peer gateway that takes its upstream from headers) added to each.  For each stream it prints "ttfe US" (from
 * the request's last byte to the first "data:" event), "gap US" between
 * each two events that carry text (the usage and [DONE] events at the end
 * are not paced tokens), and "content N", the number of those events.  curl
 * cannot time events one by one, and wrk does not read streams event by
 * event.  HTTP/1.0, so that the answer
 * comes unchunked and an event's line is never split by a chunk header.
 */

#define BUF_MAX (1u << 20) /* one stream's answer; the bench's are a few KiB */
#define HDR_MAX 4096	   /* the extra headers together */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
dial(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int fd, one = 1;

	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0) {
			if (w == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One stream; 0 or -1. */
static int
probe(int port, const char *req, size_t reqlen, char *buf)
{
	size_t len = 0, scan = 0;
	double sent, last = 0;
	int fd, events = 0, content = 0, body = 0;
	ssize_t r;
	char *nl;

	if ((fd = dial(port)) == -1 || send_all(fd, req, reqlen) == -1) {
		perror("sse_probe");
		if (fd != -1)
			close(fd);
		return -1;
	}
	sent = now_us();
	while (len < BUF_MAX - 1 &&
	    (r = read(fd, buf + len, BUF_MAX - 1 - len)) > 0) {
		double t = now_us();

		len += (size_t)r;
		buf[len] = '\0';
		/* Events are timed when their line is complete. */
		while ((nl = memchr(buf + scan, '\n', len - scan)) != NULL) {
			char *line = buf + scan;

			scan = (size_t)(nl - buf) + 1;
			if (!body) {
				body = line[0] == '\r' || line[0] == '\n';
				continue;
			}
			if (strncmp(line, "data:", 5) != 0)
				continue;
			*nl = '\0';
			if (events++ == 0)
				printf("ttfe %.0f\n", t - sent);
			if (strstr(line, "\"content\":\"") == NULL)
				continue;
			if (content++ > 0)
				printf("gap %.0f\n", t - last);
			last = t;
		}
	}
	close(fd);
	printf("content %d\n", content);
	return events > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	char *req = NULL, *buf, extra[HDR_MAX];
	int port, n, i, len, bad = 0;
	size_t used = 0;

	if (argc < 6) {
		fprintf(stderr,
		    "usage: sse_probe PORT PATH KEY BODY N [HEADER]...\n");
		return 2;
	}
	port = atoi(argv[1]);
	n = atoi(argv[5]);
	extra[0] = '\0';
	for (i = 6; i < argc; i++) {
		size_t hl = strlen(argv[i]);

		if (used + hl + 3 > sizeof(extra)) {
			fprintf(stderr, "sse_probe: headers too long\n");
			return 2;
		}
		memcpy(extra + used, argv[i], hl);
		memcpy(extra + used + hl, "\r\n", 3);
		used += hl + 2;
	}
	len = asprintf(&req,
	    "POST %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
	    "%s\r\nContent-Type: application/json\r\n%sContent-Length: "
	    "%zu\r\nConnection: close\r\n\r\n%s",
	    argv[2], argv[3], extra, strlen(argv[4]), argv[4]);
	if (len < 0 || (buf = malloc(BUF_MAX)) == NULL)
		return 1;
	for (i = 0; i < n; i++)
		bad += probe(port, req, (size_t)len, buf) != 0;
	free(buf);
	free(req);
	return bad == 0 ? 0 : 1;
}
