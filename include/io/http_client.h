/* http_client.h: outbound HTTP(S) to providers (the libcurl adapter) */
/* SPDX-License-Identifier: MIT */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include <stddef.h>

/*
 * One client per request slot.  It keeps its connections (keep-alive), DNS
 * cache and TLS sessions between requests, so a slot reuses them; it is not
 * safe to use one client from two threads at once.
 */
struct http_client;

/*
 * Call once per process before any thread starts (curl_global_init is not
 * thread-safe) and before http_client_new.  0, or -1 when libcurl fails to
 * initialise or is older than 7.85 (no CURLOPT_PROTOCOLS_STR).
 */
int http_global_init(void);
/* Pair of http_global_init, after every client is freed. */
void http_global_end(void);

/* A new client, owned by the caller; NULL when out of memory. */
struct http_client *http_client_new(void);
/* Close its connections and free it; NULL-safe. */
void http_client_free(struct http_client *);

enum http_err {
	HTTP_OK = 0,
	HTTP_ECONNECT, /* no connection, or reset before any response byte */
	HTTP_ETIMEOUT, /* connect, first-byte or idle timeout */
	HTTP_EABORTED, /* a callback said stop */
	HTTP_ETOOBIG,  /* body over max_body */
	HTTP_EPROTO    /* bad URL/scheme/header, TLS, bad response, other */
};

struct http_request {
	/* GET, POST, PUT, PATCH or DELETE; anything else is HTTP_EPROTO */
	const char *method;
	/*
	 * Only http:// and https:// (any case) are accepted, else HTTP_EPROTO
	 * without any I/O.  Redirects are never followed.
	 */
	const char *url;
	/*
	 * "Name: value" strings, sent verbatim; one holding CR or LF fails
	 * the request with HTTP_EPROTO before any I/O (header injection).
	 * Without a Content-Type here a POST goes out with none at all
	 * (not libcurl's form default).  Asking for a Content-Encoding
	 * relays the encoded bytes: nothing is decoded.
	 */
	const char *const *headers;
	size_t nheaders;
	const char *body; /* POST body (may be binary); NULL with 0 is empty */
	size_t body_len;
	unsigned connect_timeout_ms; /* 0 = 10000 */
	/*
	 * Max wait for the final response's headers, counted from the start
	 * of http_perform (so it also bounds connect and upload); 0 = 300000.
	 */
	unsigned first_byte_timeout_ms;
	/* Max silence once the headers are in; 0 = 300000. */
	unsigned idle_timeout_ms;
	/* Cap for buffered bodies (when on_data is NULL); 0 = 16 MiB. */
	size_t max_body;
	/*
	 * Called once, with the final (non-1xx) response's status and its
	 * Content-Type and Retry-After ("" when absent), before the first
	 * on_data, or at the end when the response has no body.  Not called
	 * when the transfer fails before any body byte.  Return 0 to go on,
	 * -1 to abort.  May be NULL.
	 */
	int (*on_headers)(void *arg, long status, const char *content_type,
	    const char *retry_after);
	/*
	 * Called for each body chunk (n > 0) as it arrives; NULL buffers
	 * the body into result->body.  -1 aborts.
	 */
	int (*on_data)(void *arg, const char *p, size_t n);
	/*
	 * Called about every 200 ms while the transfer runs (before and
	 * during the body), so the caller can send keep-alive comments to
	 * its own client or notice that it left: -1 aborts.  May be NULL.
	 * Approximate: libcurl's progress rhythm sets it.  Calls are at
	 * least 200 ms apart, but while the connection is silent libcurl
	 * 7.88 runs the progress check only about once a second, so ticks
	 * (and the two timeouts above) come about 1 s apart then.
	 */
	int (*on_tick)(void *arg);
	void *arg;
};

struct http_result {
	enum http_err err;
	/* The final response's status, kept if the body fails; 0 if none */
	long status;
	char content_type[128]; /* "" if none; cut to fit, stops at a CTL */
	char retry_after[32];	/* "" if none or too long to hold */
	/*
	 * Buffered body, only when on_data is NULL and err is HTTP_OK:
	 * malloc'd and NUL-terminated ("" when empty), freed by
	 * http_result_clear.  NULL otherwise.
	 */
	char *body;
	size_t body_len;
	/*
	 * Why err != HTTP_OK, "" when it is.  Never holds request header
	 * values or URL credentials: words of 8 bytes or more from them are
	 * masked as "***".
	 */
	char error[256];
	double ttfb_s; /* seconds until the first response byte; 0 if none */
	int sent;      /* the request was written to the server */
	/*
	 * With HTTP_ECONNECT: a reused keep-alive connection closed after the
	 * request was written, before any response byte.  libcurl would send
	 * the body again on a fresh connection by itself; it is refused, so
	 * the caller decides whether to resend, and counts it: the server
	 * may have read (and billed) the first copy.  sent is 1.
	 */
	int conn_died;
	double total_s; /* seconds the whole call took */
};

/*
 * Perform one request on c, calling req's callbacks from this thread (they
 * must not use c).  res is overwritten entirely: pass a fresh or cleared
 * one.  An HTTP error status is not a failure: a 429 or 500 is HTTP_OK with
 * that status.  Returns 0 when res->err == HTTP_OK, else -1.  Logs nothing.
 */
int http_perform(struct http_client *c, const struct http_request *req,
    struct http_result *res);
/* Free res->body and zero res; NULL-safe. */
void http_result_clear(struct http_result *res);

#endif
