/* test_common.h: cmocka shim, memory-backed request io and temp-file helpers */
#ifndef TEST_COMMON_H
#define TEST_COMMON_H

#include "config.h"

/* cmocka 1.x needs these before cmocka.h; 2.x includes them itself. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include <time.h>

#include "core/arena.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/io.h"
#include "http/req.h"
#include "http/resp.h"

/* cmocka 2.x has typed asserts; map them onto 1.x's generic ones. */
#ifndef assert_uint_equal
#define assert_uint_equal(a, b) assert_int_equal((a), (b))
#endif

/* assert_string_equal() crashes on NULL in cmocka 1.x: check first. */
#define assert_str(a, b)                                                       \
	do {                                                                   \
		const char *a_ = (a);                                          \
		assert_non_null(a_);                                           \
		assert_string_equal(a_, (b));                                  \
	} while (0)

/* a contains b. */
#define assert_contains(a, b)                                                  \
	do {                                                                   \
		const char *h_ = (a);                                          \
		assert_non_null(h_);                                           \
		if (strstr(h_, (b)) == NULL)                                   \
			fail_msg("\"%s\" does not contain \"%s\"", h_, (b));   \
	} while (0)

#define assert_not_contains(a, b)                                              \
	do {                                                                   \
		const char *h_ = (a);                                          \
		assert_non_null(h_);                                           \
		if (strstr(h_, (b)) != NULL)                                   \
			fail_msg("\"%s\" contains \"%s\"", h_, (b));           \
	} while (0)

/* Unbuffered stdio so the harness sees cmocka's lines in order. */
static inline void
test_init(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
}

/* Case-insensitive strstr for ASCII. */
static inline const char *
test_strcasestr(const char *h, const char *n)
{
	size_t nl = strlen(n);

	for (; *h != '\0'; h++)
		if (strncasecmp(h, n, nl) == 0)
			return h;
	return NULL;
}

/*
 * A temporary file holding content with the given mode; the path goes into
 * path (at least 64 bytes).  The caller unlinks it.
 */
static inline void
test_tmpfile(char *path, size_t pathlen, const char *content, mode_t mode)
{
	const char *dir;
	size_t len;
	int fd;

	if ((dir = getenv("TMPDIR")) == NULL || *dir == '\0')
		dir = "/tmp";
	snprintf(path, pathlen, "%s/tollgate-test-XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1)
		fail_msg("mkstemp %s failed", path);
	len = strlen(content);
	if (write(fd, content, len) != (ssize_t)len)
		fail_msg("write %s failed", path);
	if (fchmod(fd, mode) == -1)
		fail_msg("fchmod %s failed", path);
	close(fd);
}

/*
 * A memory-backed tg_io: an environment built with mem_io_env, a body that
 * read() hands out (at most chunk bytes per call when chunk > 0), and every
 * write captured NUL-terminated in out.
 */
#define MEM_IO_MAX_ENV 512

struct mem_io {
	struct tg_io io;
	char *env[MEM_IO_MAX_ENV + 1];
	size_t nenv;
	const char *in;
	size_t inlen;
	size_t inpos;
	size_t chunk;
	int read_fail;
	char *out;
	size_t outlen;
	size_t outsize;
	int write_fail;
	unsigned nflush;
};

static inline ssize_t
mem_io_read(void *ctx, void *dst, size_t n)
{
	struct mem_io *m = ctx;
	size_t left;

	if (m->read_fail)
		return -1;
	left = m->inlen - m->inpos;
	if (n > left)
		n = left;
	if (m->chunk > 0 && n > m->chunk)
		n = m->chunk;
	memcpy(dst, m->in + m->inpos, n);
	m->inpos += n;
	return (ssize_t)n;
}

static inline int
mem_io_write(void *ctx, const void *src, size_t n)
{
	struct mem_io *m = ctx;

	if (m->write_fail)
		return -1;
	if (m->outlen + n + 1 > m->outsize) {
		size_t nsize = (m->outlen + n + 1) * 2;
		char *p;

		if ((p = realloc(m->out, nsize)) == NULL)
			fail_msg("out of memory");
		m->out = p;
		m->outsize = nsize;
	}
	memcpy(m->out + m->outlen, src, n);
	m->outlen += n;
	m->out[m->outlen] = '\0';
	return 0;
}

static inline int
mem_io_flush(void *ctx)
{
	struct mem_io *m = ctx;

	m->nflush++;
	return m->write_fail ? -1 : 0;
}

static inline void
mem_io_init(struct mem_io *m)
{
	memset(m, 0, sizeof(*m));
	m->io.ctx = m;
	m->io.envp = m->env;
	m->io.read = mem_io_read;
	m->io.write = mem_io_write;
	m->io.flush = mem_io_flush;
	m->in = "";
}

/* Add "name=value" to the environment. */
static inline void
mem_io_env(struct mem_io *m, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *s;

	assert_true(m->nenv < MEM_IO_MAX_ENV);
	if ((s = malloc(len)) == NULL)
		fail_msg("out of memory");
	snprintf(s, len, "%s=%s", name, value);
	m->env[m->nenv++] = s;
	m->env[m->nenv] = NULL;
}

/* The params nginx's fastcgi_params sends for method and uri. */
static inline void
mem_io_request(struct mem_io *m, const char *method, const char *uri)
{
	const char *q = strchr(uri, '?');

	mem_io_env(m, "GATEWAY_INTERFACE", "CGI/1.1");
	mem_io_env(m, "SERVER_PROTOCOL", "HTTP/1.1");
	mem_io_env(m, "REQUEST_METHOD", method);
	mem_io_env(m, "REQUEST_URI", uri);
	mem_io_env(m, "QUERY_STRING", q != NULL ? q + 1 : "");
	mem_io_env(m, "REMOTE_ADDR", "127.0.0.1");
	mem_io_env(m, "REMOTE_PORT", "54321");
	mem_io_env(m, "SERVER_NAME", "localhost");
	mem_io_env(m, "SERVER_PORT", "80");
}

/* The body read() returns; data must outlive the request. */
static inline void
mem_io_body(struct mem_io *m, const char *data, size_t len)
{
	m->in = data;
	m->inlen = len;
	m->inpos = 0;
}

static inline void
mem_io_free(struct mem_io *m)
{
	size_t i;

	for (i = 0; i < m->nenv; i++)
		free(m->env[i]);
	free(m->out);
	memset(m, 0, sizeof(*m));
}

/* The captured response body (after the blank line), or NULL if none. */
static inline const char *
mem_io_resp_body(const struct mem_io *m)
{
	const char *p;

	if (m->out == NULL || (p = strstr(m->out, "\r\n\r\n")) == NULL)
		return NULL;
	return p + 4;
}

/*
 * Copy the value of response header name (case-insensitive) into val;
 * 1 when found, 0 when not.
 */
static inline int
mem_io_header(const struct mem_io *m, const char *name, char *val, size_t vlen)
{
	const char *p, *end, *eol, *v;
	size_t nl = strlen(name), n;

	if (m->out == NULL || (end = strstr(m->out, "\r\n\r\n")) == NULL)
		return 0;
	for (p = m->out; p < end; p = eol + 2) {
		if ((eol = strstr(p, "\r\n")) == NULL)
			return 0;
		if (strncasecmp(p, name, nl) != 0 || p[nl] != ':')
			continue;
		for (v = p + nl + 1; *v == ' ' || *v == '\t'; v++)
			continue;
		n = (size_t)(eol - v);
		if (n >= vlen)
			n = vlen - 1;
		memcpy(val, v, n);
		val[n] = '\0';
		return 1;
	}
	return 0;
}

/* The numeric status from the "Status: NNN" line, or -1. */
static inline int
mem_io_status(const struct mem_io *m)
{
	char v[64];

	if (!mem_io_header(m, "Status", v, sizeof(v)))
		return -1;
	return atoi(v);
}

/* The response body parsed as JSON (new reference), failing if it is not. */
static inline json_t *
mem_io_json(const struct mem_io *m)
{
	const char *body = mem_io_resp_body(m);
	json_error_t je;
	json_t *j;

	if (body == NULL)
		fail_msg("no header/body separator in output: %s",
		    m->out != NULL ? m->out : "(nothing)");
	if ((j = json_loads(body, 0, &je)) == NULL)
		fail_msg("body is not JSON (%s): %s", je.text, body);
	return j;
}

/* 1 if s is exactly 32 lowercase hex digits. */
static inline int
test_is_hex32(const char *s)
{
	size_t i;

	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[32] == '\0';
}

/*
 * The fixture most request-level tests share: default config, a context with
 * no database, an arena, a memory io and a request wired to them.  Tests may
 * point conf->mount_prefix at a literal; teardown puts the owned one back.
 */
struct fix {
	struct conf *conf;
	char *saved_prefix;
	struct tg_ctx ctx;
	struct arena *arena;
	struct mem_io io;
	struct tg_req req;
	struct tg_resp resp;
	char allow[128];
	enum tg_err err;
};

static inline int
fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->conf = conf_defaults();
	f->saved_prefix = f->conf->mount_prefix;
	f->ctx.conf = f->conf;
	f->ctx.started = time(NULL);
	f->arena = arena_new(4096);
	mem_io_init(&f->io);
	f->req.arena = f->arena;
	f->req.io = &f->io.io;
	f->req.ctx = &f->ctx;
	resp_init(&f->resp);
	*state = f;
	return 0;
}

static inline int
fix_teardown(void **state)
{
	struct fix *f = *state;

	f->conf->mount_prefix = f->saved_prefix;
	resp_clear(&f->resp);
	mem_io_free(&f->io);
	arena_free(f->arena);
	conf_free(f->conf);
	free(f);
	return 0;
}

#endif
