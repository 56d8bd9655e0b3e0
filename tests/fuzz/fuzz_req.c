/* fuzz_req.c: the request parser: FastCGI params and a body into struct tg_req */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>
#include <jansson.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "http/ctx.h"
#include "http/req.h"
#include "http/router.h"

/* Small, so the too-big paths are reached by small inputs. */
#define FUZZ_MAX_BODY 4096

static struct arena *arena;
static struct conf *plain, *prefixed;

/* The body as the web server hands it over, in pieces of a chosen size. */
struct body {
	const char *p;
	size_t left;
	size_t piece;
	struct buf out; /* what the client is sent */
};

static ssize_t
body_read(void *ctx, void *out, size_t n)
{
	struct body *b = ctx;

	if (n > b->piece)
		n = b->piece;
	if (n > b->left)
		n = b->left;
	memcpy(out, b->p, n);
	b->p += n;
	b->left -= n;
	return (ssize_t)n;
}

static int
body_write(void *ctx, const void *p, size_t n)
{
	struct body *b = ctx;

	return buf_append(&b->out, p, n) == TG_OK ? 0 : -1;
}

static int
body_flush(void *ctx)
{
	return 0;
}

static int
setup(void)
{
	if (arena != NULL)
		return 0;
	plain = conf_defaults();
	prefixed = conf_defaults();
	if (plain == NULL || prefixed == NULL)
		return -1;
	plain->max_body = prefixed->max_body = FUZZ_MAX_BODY;
	free(prefixed->mount_prefix);
	prefixed->mount_prefix = strdup("/tollgate");
	/* Every origin allowed: the client's Origin is echoed in a header. */
	prefixed->cors_any = 1;
	/* No access log; errors (a 5xx from bad input) still on stderr. */
	log_open(NULL, "off", LOG_ERR);
	arena = arena_new(0);
	return 0;
}

/* Params are "KEY=VALUE" lines up to an empty line; the rest is the body. */
static char **
split(char *s, size_t size, const char **body, size_t *body_len)
{
	char **envp = arena_calloc(arena, REQ_MAX_PARAMS + 2, sizeof(char *));
	size_t n = 0;
	char *nl, *end = s + size;

	*body = end;
	*body_len = 0;
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == s) {
			*body = s + 1;
			*body_len = (size_t)(end - s - 1);
			break;
		}
		if (nl != NULL)
			*nl = '\0';
		/* More than the cap is kept, so the cap's refusal is reached. */
		if (n < REQ_MAX_PARAMS + 1)
			envp[n++] = s;
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	return envp;
}

/* A path req_init accepts is absolute, with no "." or ".." segment. */
static void
check_path(const char *path)
{
	const char *p;
	size_t n;

	FUZZ_CHECK(path[0] == '/');
	for (p = path; *p != '\0'; p += n) {
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		FUZZ_CHECK(!(n == 1 && p[0] == '.'));
		FUZZ_CHECK(!(n == 2 && p[0] == '.' && p[1] == '.'));
	}
}

static void
check_body(struct tg_req *r, const struct body *b)
{
	json_t *j = NULL;
	char err[256];
	enum tg_err rc = req_read_body(r, FUZZ_MAX_BODY);

	if (rc != TG_OK) {
		FUZZ_CHECK(rc == TG_ETOOBIG || rc == TG_EINVAL);
		return;
	}
	FUZZ_CHECK(r->body != NULL && r->body[r->body_len] == '\0');
	FUZZ_CHECK(r->body_len <= FUZZ_MAX_BODY);
	if (r->content_length >= 0)
		FUZZ_CHECK(r->body_len == (size_t)r->content_length);
	else
		FUZZ_CHECK(b->left == 0);
	if (jx_parse(r->body, r->body_len, 64, 100000, 1, &j, err,
		sizeof(err)) == TG_OK)
		json_decref(j);
}

/* 1 when a route matched: its handler would need a database. */
static int
serve(struct tg_req *r, const struct body *b)
{
	static const char *const headers[] = {"Content-Type", "Origin",
	    "Authorization", "X-API-Key", "Idempotency-Key", "X-Request-Id"};
	static const char *const args[] = {"api_key", "limit", "model", ""};
	const struct route *rt;
	enum tg_err err;
	char allow[128];
	size_t i;

	check_path(r->path);
	FUZZ_CHECK(strlen(r->uri) <= REQ_MAX_URI);
	FUZZ_CHECK(r->content_length <= FUZZ_MAX_BODY);
	FUZZ_CHECK(r->client_request_id == NULL ||
	    strlen(r->client_request_id) <= 128);
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		(void)req_header(r, headers[i]);
	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++)
		(void)req_query(r, args[i]);
	(void)conf_origin_allowed(r->ctx->conf, req_header(r, "Origin"));
	rt = router_match(r, r->method, r->path, 1, &err, allow, sizeof(allow));
	if (rt != NULL && (rt->flags & (RF_JSON | RF_JSON_OPT)))
		check_body(r, b);
	return rt != NULL;
}

/*
 * A request refused before any handler (bad URI, no route, a method not
 * allowed, a preflight), served end to end: a 4xx (or the preflight's 204)
 * in the OpenAI error shape, its headers one clean line each.
 */
static void
check_answer(const struct buf *o, int head_only)
{
	const char *end, *p, *nl;
	json_t *j, *e;
	int status = 0;

	FUZZ_CHECK(o->len > 0);
	end = memmem(o->data, o->len, "\r\n\r\n", 4);
	FUZZ_CHECK(end != NULL);
	FUZZ_CHECK(sscanf(o->data, "Status: %d ", &status) == 1);
	FUZZ_CHECK(status == 204 || (status >= 400 && status < 500));
	for (p = o->data; p < end + 2; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end + 2 - p));
		FUZZ_CHECK(nl != NULL && nl > p && nl[-1] == '\r');
		FUZZ_CHECK(memchr(p, '\r', (size_t)(nl - 1 - p)) == NULL);
		FUZZ_CHECK(memchr(p, '\0', (size_t)(nl - p)) == NULL);
	}
	p = end + 4;
	if (status == 204 || head_only) {
		FUZZ_CHECK(p == o->data + o->len);
		return;
	}
	FUZZ_CHECK(jx_valid(p, (size_t)(o->data + o->len - p)));
	j = json_loadb(p, (size_t)(o->data + o->len - p), 0, NULL);
	e = json_object_get(j, "error");
	FUZZ_CHECK(json_is_string(json_object_get(e, "message")));
	FUZZ_CHECK(json_is_string(json_object_get(e, "type")));
	FUZZ_CHECK(json_object_get(e, "param") != NULL);
	FUZZ_CHECK(json_is_string(json_object_get(e, "code")));
	json_decref(j);
}

/*
 * Input: a flags byte (bit 0: a mount prefix; bits 1-3: the read size),
 * then params and body as split() reads them.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_ctx ctx = {0};
	struct tg_req r;
	struct tg_io io = {0};
	struct body b;
	char *s;
	const char *body;
	size_t body_len;
	enum tg_err rc;
	int routed = 0;

	if (size < 1 || setup() == -1)
		return 0;
	ctx.conf = data[0] & 1 ? prefixed : plain;
	s = arena_alloc(arena, size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	io.envp = split(s, size - 1, &body, &body_len);
	b = (struct body){.p = body,
	    .left = body_len,
	    .piece = 1 + ((data[0] >> 1) & 7) * 512};
	io.ctx = &b;
	io.read = body_read;
	io.write = body_write;
	io.flush = body_flush;
	buf_init(&b.out, 1u << 20);
	rc = req_init(&r, arena, &io, &ctx);
	if (rc == TG_OK)
		routed = serve(&r, &b);
	else
		FUZZ_CHECK(
		    r.error != NULL && (rc == TG_EINVAL || rc == TG_ETOOBIG));
	/* The params stay in the arena: served again from the start. */
	if (!routed) {
		b.p = body;
		b.left = body_len;
		router_serve(&io, arena, &ctx, NULL);
		check_answer(&b.out, r.method == TG_M_HEAD);
	}
	buf_free(&b.out);
	arena_reset(arena);
	return 0;
}
