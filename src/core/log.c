/* log.c: error log and access log, one write(2) per line, reopened on SIGUSR1 */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"

#define LOG_LINE_MAX 2048

volatile int log_level_now = LOG_INFO;

/*
 * The error log is always fd 2: when log.file is set it is dup2'ed there, so
 * messages from libraries land in the same file, and a reopen is one dup2.
 */
static char *err_path;
static char *acc_path;
static int acc_fd = -2; /* -2: same as the error log, -1: off */
static const char *role = "tollgate";

static const char *const level_names[] = {
    "ERROR", /* LOG_ERR */
    "WARN",  /* LOG_WARN */
    "INFO",  /* LOG_INFO */
    "DEBUG", /* LOG_DEBUG */
};

static int
open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

static int
swap_in(const char *path, int target)
{
	int fd;

	if ((fd = open_log(path)) == -1)
		return -1;
	if (target == -1)
		return fd;
	if (dup2(fd, target) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return target;
}

int
log_open(const char *path, const char *access_path, enum log_level lvl)
{
	int fd = -1;

	if (path != NULL && *path != '\0') {
		if (swap_in(path, STDERR_FILENO) == -1)
			return -1;
	}
	if (access_path != NULL && strcmp(access_path, "off") == 0) {
		fd = -1;
	} else if (access_path != NULL && *access_path != '\0') {
		if ((fd = open_log(access_path)) == -1)
			return -1;
	} else {
		fd = -2;
	}
	if (acc_fd >= 0 && fd >= 0) {
		dup2(fd, acc_fd);
		close(fd);
		fd = acc_fd;
	} else if (acc_fd >= 0) {
		close(acc_fd);
	}
	acc_fd = fd;
	free(err_path);
	free(acc_path);
	err_path = path != NULL && *path != '\0' ? strdup(path) : NULL;
	acc_path = fd >= 0 ? strdup(access_path) : NULL;
	log_level_now = lvl;
	return 0;
}

int
log_reopen(void)
{
	int rc = 0;

	if (err_path != NULL && swap_in(err_path, STDERR_FILENO) == -1)
		rc = -1;
	if (acc_path != NULL && acc_fd >= 0 && swap_in(acc_path, acc_fd) == -1)
		rc = -1;
	return rc;
}

void
log_set_role(const char *r)
{
	role = r;
}

int
log_level_parse(const char *s)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* Copy s into dst escaping control characters so input cannot forge lines. */
static size_t
escape(char *dst, size_t room, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char c;

	for (; *s != '\0' && o + 5 < room; s++) {
		c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		} else
			dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return o;
}

static void
emit(int fd, enum log_level lvl, const char *msg, const char *suffix)
{
	char line[LOG_LINE_MAX], ts[21];
	int n;
	size_t o;

	util_iso8601(ts);
	n = snprintf(line, sizeof(line), "%s tollgate[%ld] %s %s: ", ts,
	    (long)util_pid(), level_names[lvl], role);
	if (n < 0)
		return;
	o = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	o += escape(line + o, sizeof(line) - o, msg);
	if (suffix != NULL && o + 2 < sizeof(line)) {
		line[o++] = ':';
		line[o++] = ' ';
		o += escape(line + o, sizeof(line) - o, suffix);
	}
	if (o >= sizeof(line) - 1)
		o = sizeof(line) - 2;
	line[o++] = '\n';
	/* One write per line: concurrent writers with O_APPEND do not interleave. */
	(void)!write(fd, line, o);
}

void
log_msg_(enum log_level lvl, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(STDERR_FILENO, lvl, msg, NULL);
}

void
log_sys_(enum log_level lvl, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], ebuf[256];
	const char *es;
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	es = strerror_r(saved, ebuf, sizeof(ebuf));
	emit(STDERR_FILENO, lvl, msg, es);
	errno = saved;
}

void
log_access(const char *method, const char *path, int status,
    unsigned long long bytes, double secs, const char *reqid)
{
	char line[LOG_LINE_MAX], ts[21], m[32], p[1024];
	int n, fd;

	if (acc_fd == -1)
		return;
	fd = acc_fd == -2 ? STDERR_FILENO : acc_fd;
	escape(m, sizeof(m), method != NULL ? method : "-");
	escape(p, sizeof(p), path != NULL ? path : "-");
	util_iso8601(ts);
	n = snprintf(line, sizeof(line),
	    "%s tollgate[%ld] access: %s %s %d %llu %.6f req=%s\n", ts,
	    (long)util_pid(), m, p, status, bytes, secs,
	    reqid != NULL ? reqid : "-");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(fd, line, (size_t)n);
}
