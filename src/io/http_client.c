/* http_client.c: outbound HTTP(S) to providers; the only file using libcurl */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "io/http_client.h"
#include "core/tollgate.h"

#define HTTP_DEF_CONNECT_MS    10000
#define HTTP_DEF_FIRST_BYTE_MS 300000
#define HTTP_DEF_IDLE_MS       300000
#define HTTP_DEF_MAX_BODY      (16 * 1024 * 1024)
#define HTTP_TICK_US	       (200 * 1000)
/*
 * All header lines of one call, interim responses and trailers included.
 * nginx reads upstream headers into a 4-8 KiB buffer; 64 KiB is generous
 * and still stops a provider (or whatever answers in its place) from
 * streaming headers forever.
 */
#define HTTP_MAX_HEADER_BYTES (64 * 1024)
/* Secrets are long; masking shorter words would blank out ordinary text. */
#define HTTP_MASK_MIN 8

struct http_client {
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
};

/* State of one http_perform, shared with the libcurl callbacks. */
struct xfer {
	const struct http_request *req;
	struct http_result *res;
	uint64_t start;		/* monotonic microseconds */
	uint64_t first_rx;	/* first response byte; 0: none yet */
	uint64_t last_rx;	/* last response byte */
	uint64_t last_tick;	/* last on_tick (or the start) */
	unsigned first_byte_ms; /* the effective timeouts */
	unsigned idle_ms;
	size_t max_body;
	size_t hdr_bytes; /* header bytes seen, against HTTP_MAX_HEADER_BYTES */
	long status;	  /* of the response whose headers are being read */
	int final;	  /* the final (non-1xx) response's headers are in */
	int notified;	  /* on_headers has been called */
	char *body;	  /* buffered body when on_data is NULL */
	size_t len;
	size_t size;
	unsigned prereqs;  /* requests libcurl was about to send */
	int no_resend;	   /* libcurl wanted to send the body again: refused */
	enum http_err err; /* set by a callback that stopped the transfer */
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void xfer_fail(struct xfer *, enum http_err, const char *, ...)
    TG_PRINTF(3, 4);

/* Record why a callback stops the transfer; the first reason wins. */
static void
xfer_fail(struct xfer *x, enum http_err err, const char *fmt, ...)
{
	va_list ap;

	if (x->err != HTTP_OK)
		return;
	x->err = err;
	va_start(ap, fmt);
	vsnprintf(x->res->error, sizeof(x->res->error), fmt, ap);
	va_end(ap);
}

int
http_global_init(void)
{
	const curl_version_info_data *v;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	/* CURLOPT_PROTOCOLS_STR, our scheme allowlist, came in 7.85.0. */
	v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || v->version_num < 0x075500) {
		curl_global_cleanup();
		return -1;
	}
	return 0;
}

void
http_global_end(void)
{
	curl_global_cleanup();
}

/*
 * The options of a handle between requests.  NOSIGNAL matters even then:
 * without it, curl_easy_cleanup briefly swaps the process-wide SIGPIPE
 * handler while closing connections, which races with other threads.
 */
static void
idle_options(struct http_client *c)
{
	(void)curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
}

struct http_client *
http_client_new(void)
{
	struct http_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->curl = curl_easy_init()) == NULL) {
		free(c);
		return NULL;
	}
	idle_options(c);
	return c;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

void
http_result_clear(struct http_result *res)
{
	if (res == NULL)
		return;
	free(res->body);
	memset(res, 0, sizeof(*res));
}

/* 1 if the header line p[0..n) is "name:" (any case). */
static int
header_is(const char *p, size_t n, const char *name)
{
	size_t nl = strlen(name);

	return n > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0;
}

/*
 * Copy a header value into dst without its surrounding whitespace.  It
 * stops at the first control byte: the caller may put the value into its
 * own response headers, where a CR would let the upstream inject lines.  A
 * value too long for dst is cut when cut is set, else dropped ("").
 */
static void
header_value(char *dst, size_t dstsize, const char *v, size_t n, int cut)
{
	size_t i, len;

	dst[0] = '\0';
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	for (len = 0; len < n; len++)
		if (((unsigned char)v[len] < 0x20 && v[len] != '\t') ||
		    v[len] == 0x7f)
			break;
	if (len >= dstsize) {
		if (!cut)
			return;
		len = dstsize - 1;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	for (i = 0; i < len; i++)
		dst[i] = v[i];
	dst[len] = '\0';
}

/* The code of a status line ("HTTP/1.1 200 OK", "HTTP/2 429"), or 0. */
static long
status_code(const char *p, size_t n)
{
	size_t i = 0;
	long code = 0;
	int digits = 0;

	while (i < n && p[i] != ' ')
		i++;
	while (i < n && p[i] == ' ')
		i++;
	for (; i < n && digits < 3 && p[i] >= '0' && p[i] <= '9'; i++) {
		code = code * 10 + (p[i] - '0');
		digits++;
	}
	return digits == 3 ? code : 0;
}

/*
 * Call on_headers once, before the first body byte or at the end when
 * there is no body: only then is the final response known, as 1xx interim
 * responses come first.  0, or -1 when the callback aborts.
 */
static int
notify(struct xfer *x)
{
	const struct http_request *req = x->req;

	if (x->notified)
		return 0;
	x->notified = 1;
	if (req->on_headers == NULL)
		return 0;
	if (req->on_headers(req->arg, x->res->status, x->res->content_type,
		x->res->retry_after) != 0) {
		xfer_fail(x, HTTP_EABORTED, "aborted by the headers callback");
		return -1;
	}
	return 0;
}

/* CURLOPT_HEADERFUNCTION: one complete header line per call. */
static size_t
on_header_line(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	struct http_result *res = x->res;
	size_t n = size * nmemb, len;

	x->last_rx = now_us();
	if (x->first_rx == 0)
		x->first_rx = x->last_rx;
	if (n > HTTP_MAX_HEADER_BYTES - x->hdr_bytes) {
		xfer_fail(x, HTTP_EPROTO, "response headers over %d bytes",
		    HTTP_MAX_HEADER_BYTES);
		return 0;
	}
	x->hdr_bytes += n;
	/* Trailers after a chunked body: the response is already known. */
	if (x->final)
		return n;
	len = n;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		len--;
	if (len == 0) {
		/* The blank line: a 1xx block is interim and forgotten. */
		if (x->status >= 100 && x->status < 200) {
			x->status = 0;
			res->content_type[0] = '\0';
			res->retry_after[0] = '\0';
		} else {
			x->final = 1;
			res->status = x->status;
		}
	} else if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		x->status = status_code(p, len);
		res->content_type[0] = '\0';
		res->retry_after[0] = '\0';
	} else if (header_is(p, len, "Content-Type"))
		header_value(res->content_type, sizeof(res->content_type),
		    p + 13, len - 13, 1);
	else if (header_is(p, len, "Retry-After"))
		/* A cut date or number would mislead: keep all or nothing. */
		header_value(res->retry_after, sizeof(res->retry_after), p + 12,
		    len - 12, 0);
	return n;
}

/* CURLOPT_WRITEFUNCTION: body bytes, already de-chunked. */
static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	const struct http_request *req = x->req;
	size_t n = size * nmemb, nsize;
	char *nbody;

	x->last_rx = now_us();
	if (x->first_rx == 0)
		x->first_rx = x->last_rx;
	if (notify(x) == -1)
		return 0;
	if (n == 0)
		return 0;
	if (req->on_data != NULL) {
		if (req->on_data(req->arg, p, n) != 0) {
			xfer_fail(
			    x, HTTP_EABORTED, "aborted by the data callback");
			return 0;
		}
		return n;
	}
	if (n > x->max_body - x->len) {
		xfer_fail(x, HTTP_ETOOBIG, "response body over %zu bytes",
		    x->max_body);
		return 0;
	}
	if (x->len + n + 1 > x->size) {
		/* Double, but never past max_body + 1 (set up not to wrap). */
		nsize = x->size > 0 ? x->size * 2 : 16384;
		if (nsize < x->len + n + 1)
			nsize = x->len + n + 1;
		if (nsize > x->max_body + 1)
			nsize = x->max_body + 1;
		if ((nbody = realloc(x->body, nsize)) == NULL) {
			xfer_fail(x, HTTP_EPROTO, "out of memory");
			return 0;
		}
		x->body = nbody;
		x->size = nsize;
	}
	memcpy(x->body + x->len, p, n);
	x->len += n;
	x->body[x->len] = '\0';
	return n;
}

/*
 * CURLOPT_PREREQFUNCTION: called before each request goes out.  libcurl
 * (7.88) sends a request again on its own when a reused keep-alive
 * connection dies before any response byte ("Connection died, retrying a
 * fresh connect").  The provider may have read, and may bill, the first
 * copy; a resend is the relay's decision, counted as an attempt, never
 * libcurl's: a second call for a request with a body stops the transfer.
 */
static int
on_prereq(void *arg, char *ip, char *local_ip, int port, int local_port)
{
	struct xfer *x = arg;

	(void)ip, (void)local_ip, (void)port, (void)local_port;
	if (x->prereqs++ == 0)
		return CURL_PREREQFUNC_OK;
	x->no_resend = 1;
	return CURL_PREREQFUNC_ABORT;
}

/*
 * CURLOPT_XFERINFOFUNCTION drives on_tick and both of our timeouts: libcurl
 * has no "time to headers" or "silence" limit that fits a stream which may
 * run for many minutes.  curl_easy_perform (7.88) waits on the socket at
 * most 1 s at a time and calls this after each wait, so while the line is
 * silent it runs about once a second (measured: ticks at 0.2 s, then 1.2,
 * 2.2 ...), and on every read while bytes move.  Ticks are held to 200 ms
 * apart; timeouts fire within about a second of their due time.
 */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	struct xfer *x = arg;
	const struct http_request *req = x->req;
	uint64_t now = now_us();

	if (req->on_tick != NULL && now - x->last_tick >= HTTP_TICK_US) {
		x->last_tick = now;
		if (req->on_tick(req->arg) != 0) {
			xfer_fail(
			    x, HTTP_EABORTED, "aborted by the tick callback");
			return 1;
		}
	}
	if (!x->final && now - x->start >= 1000 * (uint64_t)x->first_byte_ms) {
		xfer_fail(x, HTTP_ETIMEOUT, "no response headers within %u ms",
		    x->first_byte_ms);
		return 1;
	}
	if (x->final && now - x->last_rx >= 1000 * (uint64_t)x->idle_ms) {
		xfer_fail(
		    x, HTTP_ETIMEOUT, "response silent for %u ms", x->idle_ms);
		return 1;
	}
	return 0;
}

/* The methods a pass-through (OpenRouter's API) may need. */
static int
method_known(const char *m)
{
	static const char *const known[] = {
	    "GET", "POST", "PUT", "PATCH", "DELETE"};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return 1;
	return 0;
}

/* A body goes up with POST, and with PUT, PATCH or DELETE when there is one. */
static int
sends_body(const struct http_request *req)
{
	return strcmp(req->method, "POST") == 0 ||
	    (strcmp(req->method, "GET") != 0 && req->body_len > 0);
}

/*
 * Refuse what must never reach the network: a scheme other than http or
 * https (file://, gopher:// and friends are SSRF tools), control bytes in
 * the URL, and CR or LF in a header, which libcurl would send verbatim and
 * so let a forwarded value add headers of its own.  The messages never
 * quote the URL or a header, which may hold secrets.
 */
static int
check_request(const struct http_request *req, struct http_result *res)
{
	const char *why = NULL, *p;
	size_t i;

	if (req->method == NULL || !method_known(req->method))
		why = "unsupported method";
	else if (req->url == NULL ||
	    (strncasecmp(req->url, "http://", 7) != 0 &&
		strncasecmp(req->url, "https://", 8) != 0))
		why = "only http:// and https:// URLs are allowed";
	else if (req->nheaders > 0 && req->headers == NULL)
		why = "missing request headers";
	if (why == NULL)
		for (p = req->url; *p != '\0'; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
				why = "control byte or space in the URL";
				break;
			}
	for (i = 0; why == NULL && i < req->nheaders; i++)
		if (req->headers[i] == NULL)
			why = "missing request header";
		else if (strpbrk(req->headers[i], "\r\n") != NULL)
			why = "CR or LF in a request header";
	if (why == NULL)
		return 0;
	res->err = HTTP_EPROTO;
	snprintf(res->error, sizeof(res->error), "%s", why);
	return -1;
}

/*
 * curl_slist_append copies each header, the provider key's Authorization
 * among them, and curl_slist_free_all frees without clearing: clear our
 * copies first.  (libcurl's own request buffer is beyond our reach.)
 */
static void
free_headers(struct curl_slist *l)
{
	struct curl_slist *t;

	for (t = l; t != NULL; t = t->next)
		explicit_bzero(t->data, strlen(t->data));
	curl_slist_free_all(l);
}

/*
 * The caller's headers plus our own: "Expect:" so libcurl never waits for
 * a 100 Continue on big bodies, and for a POST without a Content-Type,
 * "Content-Type:" so libcurl does not claim a form.  The list goes to
 * *out, owned by the caller; 0, or -1 when out of memory.
 */
static int
build_headers(const struct http_request *req, struct curl_slist **out)
{
	struct curl_slist *l = NULL, *t;
	int ctype = 0;
	size_t i;

	for (i = 0; i < req->nheaders; i++) {
		if (header_is(req->headers[i], strlen(req->headers[i]),
			"Content-Type"))
			ctype = 1;
		if ((t = curl_slist_append(l, req->headers[i])) == NULL)
			goto err;
		l = t;
	}
	if ((t = curl_slist_append(l, "Expect:")) == NULL)
		goto err;
	l = t;
	if (sends_body(req) && !ctype) {
		if ((t = curl_slist_append(l, "Content-Type:")) == NULL)
			goto err;
		l = t;
	}
	*out = l;
	return 0;
err:
	free_headers(l);
	return -1;
}

/* Every option of one request, on a handle fresh from curl_easy_reset. */
static CURLcode
setup(struct http_client *c, const struct http_request *req, struct xfer *x,
    struct curl_slist *hl)
{
	CURL *h = c->curl;
	unsigned connect_ms;
	CURLcode cc;

#define SET(opt, val)                                                          \
	do {                                                                   \
		if ((cc = curl_easy_setopt(h, (opt), (val))) != CURLE_OK)      \
			goto out;                                              \
	} while (0)

	connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
						 : HTTP_DEF_CONNECT_MS;
	SET(CURLOPT_URL, req->url);
	/* Belt and braces with check_request: libcurl parses the URL too. */
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	/* A 3xx is the provider's answer; following it is an SSRF hole. */
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	/* Signals are process-wide and we run one transfer per thread. */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TCP_NODELAY, 1L);
	/* Notice dead pooled connections and half-open streams. */
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_TCP_KEEPIDLE, 30L);
	SET(CURLOPT_TCP_KEEPINTVL, 15L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	if (hl != NULL)
		SET(CURLOPT_HTTPHEADER, hl);
	/* Our headers (keys) go to the origin only, never to a proxy. */
	SET(CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE);
	/* A proxy's CONNECT reply is not the provider's response. */
	SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	/*
	 * CURLOPT_ACCEPT_ENCODING stays unset: we relay bytes as they come
	 * and must not be made to inflate a compression bomb.
	 */
	if (sends_body(req)) {
		/*
		 * CURLOPT_POSTFIELDS (not copied: req->body outlives the
		 * transfer) lets libcurl send a body under 64 KiB in the same
		 * write as the headers: one segment, one wake-up of the
		 * provider's side.  The silent resend is refused by on_prereq.
		 */
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SET(CURLOPT_POSTFIELDS, req->body_len > 0 ? req->body : "");
		SET(CURLOPT_PREREQFUNCTION, on_prereq);
		SET(CURLOPT_PREREQDATA, x);
	} else
		SET(CURLOPT_HTTPGET, 1L);
	/* PUT, PATCH, DELETE: the same transfer under their own name. */
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
		SET(CURLOPT_CUSTOMREQUEST, req->method);
	SET(CURLOPT_HEADERFUNCTION, on_header_line);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_XFERINFOFUNCTION, on_progress);
	SET(CURLOPT_XFERINFODATA, x);
	SET(CURLOPT_NOPROGRESS, 0L);
	/* Refuse an announced oversized body before reading any of it. */
	if (req->on_data == NULL)
		SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body);
out:
#undef SET
	return cc;
}

/*
 * Map libcurl's result (when no callback of ours stopped the transfer), and
 * note whether the request went out.
 */
static void
classify(struct http_client *c, struct xfer *x, CURLcode cc)
{
	struct http_result *res = x->res;
	const char *detail;
	long sent = 0;

	/* Whether the request went out: a timeout after it may be billed. */
	if (curl_easy_getinfo(c->curl, CURLINFO_REQUEST_SIZE, &sent) ==
		CURLE_OK &&
	    sent > 0)
		res->sent = 1;
	if (x->err != HTTP_OK) {
		res->err = x->err;
		return;
	}
	if (cc == CURLE_OK)
		return;
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		res->err = HTTP_ECONNECT;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		res->err = HTTP_ETIMEOUT;
		break;
	case CURLE_FILESIZE_EXCEEDED:
		/* The Content-Length said so before any body byte came. */
		res->err = HTTP_ETOOBIG;
		snprintf(res->error, sizeof(res->error),
		    "response body over %zu bytes", x->max_body);
		return;
	case CURLE_ABORTED_BY_CALLBACK:
		if (x->no_resend) {
			/* Gone after the request went out, before any answer. */
			res->err = HTTP_ECONNECT;
			res->conn_died = res->sent = 1;
			snprintf(res->error, sizeof(res->error),
			    "a kept-alive connection closed after the request "
			    "was sent, before any answer; not sent again");
			return;
		}
		res->err = HTTP_EPROTO;
		break;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		/* Dropped before answering is as good as not connected. */
		res->err = x->first_rx == 0 ? HTTP_ECONNECT : HTTP_EPROTO;
		break;
	default:
		res->err = HTTP_EPROTO;
		break;
	}
	detail = c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(cc);
	snprintf(res->error, sizeof(res->error), "%s", detail);
}

/* Replace each occurrence of s[0..n) in the string err by "***". */
static void
mask(char *err, const char *s, size_t n)
{
	char *p;
	size_t elen;

	if (n < HTTP_MASK_MIN)
		return;
	elen = strlen(err);
	while ((p = memmem(err, elen, s, n)) != NULL) {
		/* n >= HTTP_MASK_MIN > 3: the string only shrinks. */
		memmove(p + 3, p + n, elen - (size_t)(p - err) - n + 1);
		memcpy(p, "***", 3);
		elen -= n - 3;
	}
}

/* Mask s[0..n) and each of its words (split at bytes in seps). */
static void
mask_words(char *err, const char *s, size_t n, const char *seps)
{
	size_t i, w;

	mask(err, s, n);
	for (i = 0; i < n; i = w + 1) {
		for (w = i; w < n && strchr(seps, s[w]) == NULL; w++)
			continue;
		mask(err, s + i, w - i);
	}
}

/*
 * libcurl's messages name hosts and ports, not headers, but the error text
 * ends up in logs: make sure no header value (an API key), URL password or
 * query parameter (Gemini takes ?key=) is in it, whatever libcurl says.
 */
static void
scrub(char *err, const struct http_request *req)
{
	const char *h, *v, *u, *e, *at;
	size_t i;

	for (i = 0; i < req->nheaders && req->headers != NULL; i++) {
		if ((h = req->headers[i]) == NULL)
			continue;
		v = strchr(h, ':');
		v = v != NULL ? v + 1 : h;
		mask_words(err, v, strlen(v), " \t,;=");
	}
	if (req->url == NULL || (u = strstr(req->url, "://")) == NULL)
		return;
	u += 3;
	e = u + strcspn(u, "/?#");
	if ((at = memchr(u, '@', (size_t)(e - u))) != NULL)
		mask_words(err, u, (size_t)(at - u), ":");
	if ((u = strchr(e, '?')) != NULL)
		mask_words(err, u + 1, strcspn(u + 1, "#"), "&=");
}

int
http_perform(struct http_client *c, const struct http_request *req,
    struct http_result *res)
{
	struct xfer x;
	struct curl_slist *hl = NULL;
	uint64_t end;
	CURLcode cc;

	assert(c != NULL && req != NULL && res != NULL);
	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	x.req = req;
	x.res = res;
	x.start = x.last_tick = now_us();
	x.first_byte_ms = req->first_byte_timeout_ms > 0
	    ? req->first_byte_timeout_ms
	    : HTTP_DEF_FIRST_BYTE_MS;
	x.idle_ms =
	    req->idle_timeout_ms > 0 ? req->idle_timeout_ms : HTTP_DEF_IDLE_MS;
	x.max_body = req->max_body > 0 ? req->max_body : HTTP_DEF_MAX_BODY;
	/* Room for the NUL: the buffer never grows past max_body + 1. */
	if (x.max_body == SIZE_MAX)
		x.max_body--;
	if (check_request(req, res) == -1)
		goto out;
	if (build_headers(req, &hl) == -1) {
		res->err = HTTP_EPROTO;
		snprintf(res->error, sizeof(res->error), "out of memory");
		goto out;
	}
	c->errbuf[0] = '\0';
	if ((cc = setup(c, req, &x, hl)) != CURLE_OK) {
		res->err = HTTP_EPROTO;
		snprintf(res->error, sizeof(res->error), "libcurl option: %s",
		    curl_easy_strerror(cc));
		goto out;
	}
	cc = curl_easy_perform(c->curl);
	/* No body came: on_headers is still owed its one call. */
	if (cc == CURLE_OK && x.err == HTTP_OK)
		(void)notify(&x);
	classify(c, &x, cc);
out:
	/*
	 * Forget the options now, not before the next call: the handle must
	 * not hold pointers into this frame or the caller's memory while it
	 * sits idle.  Connections, DNS and TLS session caches survive.
	 */
	curl_easy_reset(c->curl);
	idle_options(c);
	free_headers(hl);
	end = now_us();
	res->total_s = (double)(end - x.start) / 1e6;
	if (x.first_rx != 0)
		res->ttfb_s = (double)(x.first_rx - x.start) / 1e6;
	if (res->err != HTTP_OK) {
		free(x.body);
		scrub(res->error, req);
		return -1;
	}
	if (req->on_data != NULL)
		return 0;
	/* An empty body is still a string, so callers need no NULL case. */
	if (x.body == NULL)
		x.body = calloc(1, 1);
	if (x.body == NULL) {
		res->err = HTTP_EPROTO;
		snprintf(res->error, sizeof(res->error), "out of memory");
		return -1;
	}
	res->body = x.body;
	res->body_len = x.len;
	return 0;
}
