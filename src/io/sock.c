/* sock.c: listening sockets (unix, IPv4, IPv6) and spawned-mode detection */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "io/sock.h"

static const char *
unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (spec[0] == '/')
		return spec;
	return NULL;
}

static int
listen_unix(const char *path, unsigned mode, unsigned backlog)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_msg(LOG_ERR, "socket path %s is too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	/* Only ever remove a stale socket, never a file someone else owns. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_msg(LOG_ERR, "%s exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
		log_sys(LOG_ERR, "socket");
		return -1;
	}
	/*
	 * The socket is born with its mode: a chmod after bind leaves a window
	 * in which anyone the umask lets in can connect.  The master is one
	 * thread here, so the process-wide umask is ours to borrow.
	 */
	old = umask(~(mode_t)mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1) {
		log_sys(LOG_ERR, "bind %s", path);
		goto err;
	}
	if (listen(fd, (int)backlog) == -1) {
		log_sys(LOG_ERR, "listen %s", path);
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

static int
listen_inet(const char *spec, unsigned backlog)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *port;
	size_t hl;
	int fd = -1, one = 1, rc;

	if (spec[0] == '[') {
		port = strstr(spec, "]:") + 2;
		hl = (size_t)(port - 2 - (spec + 1));
		spec++;
	} else {
		port = strrchr(spec, ':') + 1;
		hl = (size_t)(port - 1 - spec);
	}
	if (hl >= sizeof(host))
		return -1;
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_msg(LOG_ERR, "listen %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, 0)) == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(
			    fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, (int)backlog) == 0)
			break;
		log_sys(LOG_ERR, "bind/listen %s:%s", host, port);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
sock_listen(const char *spec, unsigned mode, unsigned backlog)
{
	const char *path;

	if ((path = unix_path(spec)) != NULL)
		return listen_unix(path, mode, backlog);
	return listen_inet(spec, backlog);
}

void
sock_close(int fd, const char *spec)
{
	const char *path;

	if (fd == -1)
		return;
	close(fd);
	if (spec != NULL && (path = unix_path(spec)) != NULL)
		unlink(path);
}

int
sock_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int
sock_is_listener(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int acc = 0;
	socklen_t alen = sizeof(acc);

	/* The FastCGI spec's test: a socket with no peer (libfcgi OS_IsFcgi). */
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		return 0;
	if (errno != ENOTCONN)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) == 0)
		return acc != 0;
	return 1;
}
