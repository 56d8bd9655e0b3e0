/* req.c: one HTTP request as seen through FastCGI/CGI params */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "domain/op.h"
#include "http/req.h"
#include "core/util.h"

#define REQ_MAX_PARAM_BYTES (256 * 1024)

/* clang-format off */
static const char *const method_names[TG_M__MAX] = {
	"OTHER",	/* TG_M_OTHER */
	"GET",		/* TG_M_GET */
	"HEAD",		/* TG_M_HEAD */
	"POST",		/* TG_M_POST */
	"PUT",		/* TG_M_PUT */
	"PATCH",	/* TG_M_PATCH */
	"DELETE",	/* TG_M_DELETE */
	"OPTIONS",	/* TG_M_OPTIONS */
};
/* clang-format on */

/* s past spaces and tabs (HTTP's optional whitespace). */
static const char *
skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/*
 * One parameter at s (just past its ';'): its name and value, the value
 * unquoted into val (cut to fit; a charset name is short).  The position
 * after it, or NULL when it is malformed.
 */
static const char *
media_param(const char *s, char *name, size_t nsize, char *val, size_t vsize)
{
	size_t n = 0;

	name[0] = val[0] = '\0';
	s = skip_ows(s);
	for (; *s != '\0' && *s != '=' && *s != ';' && *s != ' ' && *s != '\t';
	     s++)
		if (n + 1 < nsize)
			name[n++] = *s;
	name[n] = '\0';
	s = skip_ows(s);
	if (*s != '=')
		return s;
	s = skip_ows(s + 1);
	n = 0;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			if (*s == '\0')
				return NULL; /* an unterminated quote */
			if (n + 1 < vsize)
				val[n++] = *s;
		}
		s++;
	} else
		for (; *s != '\0' && *s != ';' && *s != ' ' && *s != '\t'; s++)
			if (n + 1 < vsize)
				val[n++] = *s;
	val[n] = '\0';
	return s;
}

int
req_json_type(const char *ct)
{
	static const char json[] = "application/json";
	char name[16], val[16];

	if (ct == NULL || strncasecmp(ct, json, sizeof(json) - 1) != 0)
		return 0;
	for (ct += sizeof(json) - 1;;) {
		ct = skip_ows(ct);
		if (*ct == '\0')
			return 1;
		if (*ct != ';')
			return 0; /* "application/jsonx", "application/json x" */
		ct = media_param(ct + 1, name, sizeof(name), val, sizeof(val));
		if (ct == NULL)
			return 0;
		if (strcasecmp(name, "charset") == 0 &&
		    strcasecmp(val, "utf-8") != 0 &&
		    strcasecmp(val, "utf8") != 0)
			return 0;
	}
}

enum tg_method
req_method_parse(const char *s)
{
	int i;

	if (s == NULL)
		return TG_M_OTHER;
	for (i = 1; i < TG_M__MAX; i++)
		if (strcmp(s, method_names[i]) == 0)
			return (enum tg_method)i;
	return TG_M_OTHER;
}

const char *
req_method_name(enum tg_method m)
{
	return m < TG_M__MAX ? method_names[m] : "OTHER";
}

const char *
req_param(const struct tg_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->keys[i], name) == 0)
			return r->vals[i];
	return NULL;
}

const char *
req_header(const struct tg_req *r, const char *name)
{
	char key[128];
	size_t o = 0;

	/* Content-Type and Content-Length come without the HTTP_ prefix. */
	if (strcasecmp(name, "Content-Type") != 0 &&
	    strcasecmp(name, "Content-Length") != 0) {
		memcpy(key, "HTTP_", 5);
		o = 5;
	}
	for (; *name != '\0' && o < sizeof(key) - 1; name++)
		key[o++] =
		    *name == '-' ? '_' : (char)toupper((unsigned char)*name);
	key[o] = '\0';
	return req_param(r, key);
}

static int
bad_segment(const char *path)
{
	const char *p = path;
	size_t n;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
		p += n;
	}
	return 0;
}

static enum tg_err
copy_params(struct tg_req *r, char **envp)
{
	size_t n = 0, bytes = 0, i;
	const char *eq;

	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		n++;
	if (n > REQ_MAX_PARAMS) {
		r->error = "too many request headers";
		return TG_EINVAL;
	}
	r->keys = arena_calloc(r->arena, n + 1, sizeof(char *));
	r->vals = arena_calloc(r->arena, n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		if ((eq = strchr(envp[i], '=')) == NULL)
			continue;
		bytes += strlen(envp[i]);
		if (bytes > REQ_MAX_PARAM_BYTES) {
			r->error = "request headers are too large";
			return TG_EINVAL;
		}
		/* FCGX params are borrowed until finish: copy them. */
		r->keys[r->nparams] =
		    arena_strndup(r->arena, envp[i], (size_t)(eq - envp[i]));
		r->vals[r->nparams] = arena_strdup(r->arena, eq + 1);
		r->nparams++;
	}
	return TG_OK;
}

static enum tg_err
set_path(struct tg_req *r, const struct conf *c)
{
	const char *uri = r->uri, *q;
	size_t plen, mlen;
	char *path;

	if (strlen(uri) > REQ_MAX_URI) {
		r->error = "the request URI is too long";
		return TG_EINVAL;
	}
	q = uri + strcspn(uri, "?#");
	plen = (size_t)(q - uri);
	r->query = *q == '?'
	    ? arena_strndup(r->arena, q + 1, strcspn(q + 1, "#"))
	    : "";
	path = arena_alloc(r->arena, plen + 2);
	if (util_pct_decode(uri, plen, path) == -1 || path[0] != '/' ||
	    bad_segment(path)) {
		r->path = "/";
		r->error = "the request path is malformed";
		return TG_EINVAL;
	}
	mlen = c->mount_prefix != NULL ? strlen(c->mount_prefix) : 0;
	if (mlen > 0 && strncmp(path, c->mount_prefix, mlen) == 0 &&
	    (path[mlen] == '/' || path[mlen] == '\0')) {
		path += mlen;
		if (*path == '\0')
			path = (char *)"/";
	}
	r->path = path;
	return TG_OK;
}

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

/* Plain CGI callers may omit REQUEST_URI: rebuild it from its parts. */
static const char *
cgi_uri(struct tg_req *r)
{
	const char *qs = nz(req_param(r, "QUERY_STRING"));
	const char *uri;

	uri =
	    arena_printf(r->arena, "%s%s%s%s", nz(req_param(r, "SCRIPT_NAME")),
		nz(req_param(r, "PATH_INFO")), *qs != '\0' ? "?" : "", qs);
	return *uri != '\0' ? uri : "/";
}

enum tg_err
req_init(struct tg_req *r, struct arena *a, struct tg_io *io,
    const struct tg_ctx *ctx)
{
	const struct conf *c = ctx->conf;
	const char *v;
	enum tg_err rc;
	uint64_t cl;

	memset(r, 0, sizeof(*r));
	r->arena = a;
	r->io = io;
	r->ctx = ctx;
	r->started = util_now();
	r->content_length = -1;
	r->path = "/";
	r->query = "";
	r->method_name = "-";
	/* An id first, so even a refused request can be traced. */
	if (util_request_id(r->request_id) == -1)
		strcpy(r->request_id, "-");
	if ((rc = copy_params(r, io->envp)) != TG_OK)
		goto out;
	if ((v = req_param(r, "REQUEST_METHOD")) != NULL)
		r->method_name = v;
	r->method = req_method_parse(v);
	r->remote_addr = req_param(r, "REMOTE_ADDR");
	/*
	 * Our id stays ours: it is unique (usage_records.request_id), and a
	 * client's id may repeat.  The client's is kept for tracing only.
	 */
	if ((v = req_header(r, "X-Request-Id")) != NULL &&
	    util_request_id_ok(v))
		r->client_request_id = v;
	if ((r->uri = req_param(r, "REQUEST_URI")) == NULL)
		r->uri = cgi_uri(r);
	if ((rc = set_path(r, c)) != TG_OK)
		goto out;
	if ((v = req_param(r, "CONTENT_LENGTH")) != NULL && *v != '\0') {
		if (util_parse_u64(v, 0, INT64_MAX, &cl) == -1) {
			r->error = "Content-Length is not a number";
			rc = TG_EINVAL;
			goto out;
		}
		r->content_length = (int64_t)cl;
		if (cl > c->max_body) {
			r->error = arena_printf(a,
			    "the request body of %llu bytes "
			    "exceeds the limit of %llu bytes",
			    (unsigned long long)cl,
			    (unsigned long long)c->max_body);
			rc = TG_ETOOBIG;
			goto out;
		}
	}
	rc = TG_OK;
out:
	return rc;
}

const char *
req_query(const struct tg_req *r, const char *name)
{
	const char *p = r->query, *amp, *eq;
	size_t nlen = strlen(name), vlen, i;
	char *out, *plus;

	while (p != NULL && *p != '\0') {
		amp = strchr(p, '&');
		eq =
		    memchr(p, '=', amp != NULL ? (size_t)(amp - p) : strlen(p));
		if (eq != NULL && (size_t)(eq - p) == nlen &&
		    strncmp(p, name, nlen) == 0) {
			vlen = amp != NULL ? (size_t)(amp - eq - 1)
					   : strlen(eq + 1);
			/* '+' means space in a query; an encoded %2B stays '+'. */
			plus = arena_strndup(r->arena, eq + 1, vlen);
			for (i = 0; i < vlen; i++)
				if (plus[i] == '+')
					plus[i] = ' ';
			out = arena_alloc(r->arena, vlen + 1);
			if (util_pct_decode(plus, vlen, out) == -1)
				return NULL;
			return out;
		}
		p = amp != NULL ? amp + 1 : NULL;
	}
	return NULL;
}

/*
 * A body of known length is read straight into one arena block of its size:
 * growing a buffer by doubling and copying it into the arena would cost up
 * to three times the body at once.
 */
static enum tg_err
read_sized(struct tg_req *r, size_t want)
{
	char *p = arena_alloc(r->arena, want + 1);
	size_t got = 0;
	ssize_t n;

	while (got < want) {
		n = r->io->read(r->io->ctx, p + got, want - got);
		if (n <= 0)
			return TG_EINVAL;
		got += (size_t)n;
	}
	p[got] = '\0';
	r->body = p;
	r->body_len = got;
	return TG_OK;
}

enum tg_err
req_read_body(struct tg_req *r, size_t max)
{
	struct buf b;
	char chunk[16384];
	size_t want;
	ssize_t n;
	enum tg_err rc = TG_OK;

	/* Read before (a signed request's hash): still within this cap. */
	if (r->body != NULL)
		return r->body_len > max ? TG_ETOOBIG : TG_OK;
	if (r->content_length > (int64_t)max)
		return TG_ETOOBIG;
	if (r->content_length >= 0)
		return read_sized(r, (size_t)r->content_length);
	/*
	 * Without a length (a chunked upload) read until EOF, failing one byte
	 * past the cap; memory grows with what arrives, not with the cap.
	 */
	want = max + 1;
	buf_init(&b, max);
	while (b.len < want) {
		n = r->io->read(r->io->ctx, chunk,
		    want - b.len < sizeof(chunk) ? want - b.len
						 : sizeof(chunk));
		if (n < 0) {
			rc = TG_EINVAL;
			goto out;
		}
		if (n == 0)
			break;
		if ((rc = buf_append(&b, chunk, (size_t)n)) != TG_OK)
			goto out;
	}
	r->body_len = b.len;
	r->body = arena_strndup(r->arena, b.data != NULL ? b.data : "", b.len);
out:
	buf_free(&b);
	return rc;
}

void
req_op(struct tg_req *r, struct op *op)
{
	*op = (struct op){
	    .arena = r->arena,
	    .conf = r->ctx != NULL ? r->ctx->conf : NULL,
	    .who = r->who,
	    .addr = r->remote_addr,
	    .request_id = r->request_id,
	    .master =
		r->ctx != NULL && r->ctx->have_master ? r->ctx->master : NULL,
	};
}

int
req_client_gone(const struct tg_req *r)
{
	return r->io != NULL && r->io->gone != NULL && r->io->gone(r->io->ctx);
}

int
req_tls(const struct tg_req *r)
{
	const char *v = req_param(r, "HTTPS");

	/* nginx sets "on" or "", Apache and lighttpd "on"; some set "1". */
	if (v != NULL && (strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0))
		return 1;
	v = req_param(r, "REQUEST_SCHEME");
	return v != NULL && strcasecmp(v, "https") == 0;
}
