/* util.c: small helpers: randomness, ids, time, number and size parsing */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "core/util.h"

/*
 * Each request takes three ids (its own, a hold's or a carve's), and each
 * RAND_bytes call costs about a microsecond in locks and a getpid().  Ids
 * come from a per-thread pool filled 256 bytes at a time instead.  Secrets
 * (keys, salts, nonces) never come from here: crypto.c asks RAND_bytes
 * itself.  A pool inherited through fork is refilled before use, so two
 * processes never hand out the same bytes (OpenSSL 3 reseeds after fork).
 */
#define ID_POOL_BYTES 256
static __thread struct {
	unsigned char b[ID_POOL_BYTES];
	size_t left;
	int pid;
} id_pool;

int
util_random(void *p, size_t n)
{
	if (n > ID_POOL_BYTES / 4)
		return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
	if (id_pool.left < n || id_pool.pid != util_pid()) {
		if (RAND_bytes(id_pool.b, sizeof(id_pool.b)) != 1)
			return -1;
		id_pool.left = sizeof(id_pool.b);
		id_pool.pid = util_pid();
	}
	memcpy(p, id_pool.b + sizeof(id_pool.b) - id_pool.left, n);
	id_pool.left -= n;
	return 0;
}

/*
 * Random ids keyed index rows at random pages: usage_keys (one row per
 * request, forever) and the ledger's dedupe keys outgrow a small buffer
 * pool, and then every write-out read and wrote a page or two per row.
 * With the time first, new rows go in at the end of those indexes; 80
 * random bits a millisecond keep ids unique and unguessable.
 */
int
util_ordered_id(void *p, size_t n)
{
	unsigned char *b = p;
	struct timespec ts;
	uint64_t ms;
	int i;

	if (n < 8)
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (8 * (5 - i)));
	return util_random(b + 6, n - 6);
}

int
util_request_id(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];
	size_t i;

	if (util_ordered_id(r, sizeof(r)) == -1)
		return -1;
	for (i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 0xf];
	}
	out[32] = '\0';
	return 0;
}

int
util_request_id_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 128)
			return 0;
		if (!isalnum((unsigned char)s[n]) &&
		    strchr("._:-", s[n]) == NULL)
			return 0;
	}
	return n > 0;
}

/*
 * kill(pid, 0) says a zombie lives: /proc says what it is.  Not on a
 * request's path: the sweeps and a table full of others' slots ask.
 */
int
util_pid_alive(int pid)
{
	char path[32], buf[128], *p;
	ssize_t n;
	int fd;

	if (pid <= 0 || (kill((pid_t)pid, 0) == -1 && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno != ENOENT; /* no /proc: trust kill() */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return 1;
	return p[2] != 'Z' && p[2] != 'X';
}

static int my_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void
forget_pid(void)
{
	my_pid = 0;
}

static void
watch_fork(void)
{
	pthread_atfork(NULL, NULL, forget_pid);
}

/* getpid() is a system call each time; the lease and log paths ask per request. */
int
util_pid(void)
{
	int p = __atomic_load_n(&my_pid, __ATOMIC_RELAXED);

	if (p == 0) {
		pthread_once(&pid_once, watch_fork);
		p = (int)getpid();
		__atomic_store_n(&my_pid, p, __ATOMIC_RELAXED);
	}
	return p;
}

double
util_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
util_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t
util_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

void
util_iso8601(char out[21])
{
	struct tm tm;
	time_t t = time(NULL);

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
util_sql_time(double t, char out[UTIL_SQL_TIME_LEN])
{
	struct tm tm;
	time_t s = (time_t)t;
	long us = (long)((t - (double)s) * 1e6);

	if (us < 0 || us > 999999)
		us = 0;
	gmtime_r(&s, &tm);
	/* 19 bytes of seconds, then "." and 6 digits: 26 and the NUL. */
	strftime(out, UTIL_SQL_TIME_LEN, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out + 19, UTIL_SQL_TIME_LEN - 19, ".%06ld", us);
}

int
util_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
util_pct_decode(const char *src, size_t n, char *dst)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (src[i] == '\0')
			return -1;
		if (src[i] != '%') {
			dst[o++] = src[i];
			continue;
		}
		if (i + 2 >= n)
			return -1;
		if ((hi = hexval((unsigned char)src[i + 1])) < 0 ||
		    (lo = hexval((unsigned char)src[i + 2])) < 0)
			return -1;
		if (hi == 0 && lo == 0)
			return -1;
		dst[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	dst[o] = '\0';
	return 0;
}

int
util_strncaseeq(const char *a, const char *b, size_t n)
{
	return strncasecmp(a, b, n) == 0;
}

struct reason {
	int status;
	const char *text;
};

static const struct reason reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {301, "Moved Permanently"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {409, "Conflict"},
    {413, "Content Too Large"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
};

const char *
util_http_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	return "Unknown";
}

size_t
util_utf8_cut(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	/* s[max] is the first byte left out: back off its continuations. */
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}
