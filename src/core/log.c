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

static int json_lines; /* issue 19: obs: [log] format = json */
static void emit_json(int, enum log_level, const char *, const char *);

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

	if (json_lines) {
		emit_json(fd, lvl, msg, suffix);
		return;
	}
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

/* --- issue 19: obs: [log] format = json ------------------------------------------------ */

void
log_set_json(int on)
{
	json_lines = on;
}

/* Append s as a JSON string (quoted) at line[o]; the new length. */
static size_t
jstr(char *line, size_t room, size_t o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;

	if (o + 2 >= room)
		return o;
	line[o++] = '"';
	for (; s != NULL && *s != '\0' && o + 8 < room; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			line[o++] = '\\';
			line[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* Control bytes, and bytes that may not be UTF-8. */
			memcpy(line + o, "\\u00", 4);
			o += 4;
			line[o++] = hex[c >> 4];
			line[o++] = hex[c & 0xf];
		} else {
			line[o++] = (char)c;
		}
	}
	line[o++] = '"';
	return o;
}

/* Append ,"key":"value" (NULL value: null). */
static size_t
jfield(char *line, size_t room, size_t o, const char *key, const char *v)
{
	int n = snprintf(line + o, room - o, ",\"%s\":", key);

	if (n < 0 || (size_t)n >= room - o)
		return o;
	o += (size_t)n;
	if (v == NULL) {
		n = snprintf(line + o, room - o, "null");
		return n > 0 && (size_t)n < room - o ? o + (size_t)n : o;
	}
	return jstr(line, room, o, v);
}

/* The line's end: "}\n", room kept for it by every writer above. */
static size_t
jclose(char *line, size_t o)
{
	if (o > LOG_LINE_MAX - 3)
		o = LOG_LINE_MAX - 3;
	line[o++] = '}';
	line[o++] = '\n';
	return o;
}

/* The request id a message names ("req=ID ..."), into out. */
static const char *
msg_reqid(const char *msg, char *out, size_t len)
{
	const char *p = strstr(msg, "req=");
	size_t n;

	if (p == NULL || (p != msg && p[-1] != ' '))
		return NULL;
	p += 4;
	n = strcspn(p, " :;,");
	if (n == 0 || n >= len)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return out;
}

static void
emit_json(int fd, enum log_level lvl, const char *msg, const char *suffix)
{
	static const char *const lv[] = {"error", "warn", "info", "debug"};
	char line[LOG_LINE_MAX], ts[21], pid[24], rid[160];
	size_t o;
	int n;

	util_iso8601(ts);
	snprintf(pid, sizeof(pid), "%ld", (long)util_pid());
	n = snprintf(
	    line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\"", ts, lv[lvl]);
	if (n < 0)
		return;
	o = (size_t)n;
	o = jfield(line, sizeof(line) - 3, o, "role", role);
	o = jfield(line, sizeof(line) - 3, o, "pid", pid);
	o = jfield(line, sizeof(line) - 3, o, "request_id",
	    msg_reqid(msg, rid, sizeof(rid)));
	o = jfield(line, sizeof(line) - 3, o, "msg", msg);
	if (suffix != NULL)
		o = jfield(line, sizeof(line) - 3, o, "error", suffix);
	o = jclose(line, o);
	(void)!write(fd, line, o);
}

static void
access_json(int fd, const struct log_access_rec *a)
{
	char line[LOG_LINE_MAX], ts[21];
	size_t o, room = sizeof(line) - 3;
	int n;

	util_iso8601(ts);
	n = snprintf(line, sizeof(line),
	    "{\"ts\":\"%s\",\"level\":\"info\",\"type\":\"access\","
	    "\"status\":%d,\"bytes\":%llu,\"latency_ms\":%.3f,\"cost\":",
	    ts, a->status, a->bytes, a->secs * 1000);
	if (n < 0 || (size_t)n >= room)
		return;
	o = (size_t)n;
	n = a->cost >= 0
	    ? snprintf(line + o, room - o, "%lld", (long long)a->cost)
	    : snprintf(line + o, room - o, "null");
	if (n > 0 && (size_t)n < room - o)
		o += (size_t)n;
	o = jfield(line, room, o, "request_id", a->reqid);
	o = jfield(line, room, o, "client_request_id", a->client_reqid);
	o = jfield(line, room, o, "method", a->method);
	o = jfield(line, room, o, "path", a->path);
	o = jfield(line, room, o, "user", a->user);
	o = jfield(line, room, o, "key", a->key);
	o = jfield(line, room, o, "model", a->model);
	o = jclose(line, o);
	(void)!write(fd, line, o);
}

void
log_access(const struct log_access_rec *a)
{
	char line[LOG_LINE_MAX], ts[21], m[32], p[1024], rid[400];
	int n, fd;

	if (acc_fd == -1)
		return;
	fd = acc_fd == -2 ? STDERR_FILENO : acc_fd;
	if (json_lines) {
		access_json(fd, a);
		return;
	}
	escape(m, sizeof(m), a->method != NULL ? a->method : "-");
	escape(p, sizeof(p), a->path != NULL ? a->path : "-");
	snprintf(rid, sizeof(rid), "%s%s%s", a->reqid != NULL ? a->reqid : "-",
	    a->client_reqid != NULL ? " client_req=" : "",
	    a->client_reqid != NULL ? a->client_reqid : "");
	util_iso8601(ts);
	n = snprintf(line, sizeof(line),
	    "%s tollgate[%ld] access: %s %s %d %llu %.6f req=%s\n", ts,
	    (long)util_pid(), m, p, a->status, a->bytes, a->secs, rid);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(fd, line, (size_t)n);
}
