/* test_http_client.c: the libcurl adapter against a scripted local server */
#include "test_common.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>

#include "io/http_client.h"

#define SECRET "sk-test-0123456789abcdef"

/*
 * A one-thread HTTP/1.1 server on 127.0.0.1, port chosen by the kernel.
 * Each test gives it a script; every wait in a script has a timeout, so a
 * misbehaving client fails the test instead of hanging it.
 */
struct srv;
typedef void (*srv_fn)(struct srv *);

struct srv {
	int lfd;
	int port;
	char base[64]; /* "http://127.0.0.1:port" */
	pthread_t th;
	srv_fn fn;
	const char *const *resp; /* canned responses, one per request */
	size_t nresp;
	int nconn;    /* connections accepted */
	int nreq;     /* requests read */
	size_t extra; /* bytes read after the script's last response */
	char *req;    /* the last request, head and body */
	size_t req_len;
	int gate[2];	   /* the client writes a byte to let the script on */
	int gate_open;	   /* the script saw that byte (not a timeout) */
	int last_sent;	   /* the script has sent its last chunk */
	unsigned delay_ms; /* srv_slow: silence before answering */
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
}

/* Wait up to ms for fd to be readable: 1, or 0 on timeout or error. */
static int
wait_in(int fd, int ms)
{
	struct pollfd pfd;

	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, ms) == 1;
}

static int
srv_accept(struct srv *s, int ms)
{
	int fd;

	if (!wait_in(s->lfd, ms))
		return -1;
	if ((fd = accept(s->lfd, NULL, NULL)) == -1)
		return -1;
	s->nconn++;
	return fd;
}

/* Read one request (head, then a Content-Length body): 0, or -1. */
static int
srv_read_req(struct srv *s, int fd, int ms)
{
	size_t size = 8192, len = 0, need = 0, cl;
	char *buf, *nbuf, *eoh, *p;
	ssize_t r;

	if ((buf = malloc(size)) == NULL)
		return -1;
	for (;;) {
		if (need > 0 && len >= need)
			break;
		if (len + 1 >= size) {
			size *= 2;
			if ((nbuf = realloc(buf, size)) == NULL)
				goto err;
			buf = nbuf;
		}
		if (!wait_in(fd, ms))
			goto err;
		if ((r = read(fd, buf + len, size - len - 1)) <= 0)
			goto err;
		len += (size_t)r;
		buf[len] = '\0';
		if (need == 0 && (eoh = strstr(buf, "\r\n\r\n")) != NULL) {
			cl = 0;
			for (p = buf; p < eoh; p = strstr(p, "\r\n") + 2)
				if (strncasecmp(p, "Content-Length:", 15) == 0)
					cl = strtoul(p + 15, NULL, 10);
			need = (size_t)(eoh - buf) + 4 + cl;
		}
	}
	free(s->req);
	s->req = buf;
	s->req_len = len;
	s->nreq++;
	return 0;
err:
	free(buf);
	return -1;
}

static void
srv_send(int fd, const char *str)
{
	size_t len = strlen(str), off = 0;
	ssize_t w;

	while (off < len) {
		if ((w = send(fd, str + off, len - off, MSG_NOSIGNAL)) <= 0)
			return;
		off += (size_t)w;
	}
}

/* One chunk of a chunked body. */
static void
srv_chunk(int fd, const char *str)
{
	char head[32];

	snprintf(head, sizeof(head), "%zx\r\n", strlen(str));
	srv_send(fd, head);
	srv_send(fd, str);
	srv_send(fd, "\r\n");
}

/* Read until the client closes (or ms pass), counting what it sends. */
static void
srv_drain(struct srv *s, int fd, int ms)
{
	char buf[4096];
	ssize_t r;

	while (wait_in(fd, ms)) {
		if ((r = read(fd, buf, sizeof(buf))) <= 0)
			break;
		s->extra += (size_t)r;
	}
}

static void
srv_wait_gate(struct srv *s, int ms)
{
	char c;

	if (wait_in(s->gate[0], ms) && read(s->gate[0], &c, 1) == 1)
		s->gate_open = 1;
}

static void
open_gate(struct srv *s)
{
	if (write(s->gate[1], "x", 1) != 1)
		fail_msg("gate write failed");
}

static void *
srv_main(void *arg)
{
	struct srv *s = arg;

	s->fn(s);
	return NULL;
}

static void
srv_start(struct srv *s, srv_fn fn)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->fn = fn;
	assert_int_equal(pipe(s->gate), 0);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(
	    getsockname(s->lfd, (struct sockaddr *)&sin, &slen), 0);
	s->port = ntohs(sin.sin_port);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
}

/* Start the script once the test has set the srv up. */
static void
srv_run(struct srv *s)
{
	assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void
srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->gate[0]);
	close(s->gate[1]);
}

/* After srv_stop, once the test is done with the stored request. */
static void
srv_free(struct srv *s)
{
	free(s->req);
	s->req = NULL;
}

/*
 * Answer requests with s->resp in order, on as many connections as the
 * client opens one after the other, then wait for the client to close.
 */
static void
srv_canned(struct srv *s)
{
	size_t i = 0;
	int fd = -1;

	while (i < s->nresp) {
		if (fd == -1 && (fd = srv_accept(s, 5000)) == -1)
			return;
		if (srv_read_req(s, fd, 3000) == -1) {
			close(fd);
			fd = -1;
			continue;
		}
		srv_send(fd, s->resp[i++]);
	}
	srv_drain(s, fd, 5000);
	close(fd);
}

/* Read the request, then say nothing until the client gives up. */
static void
srv_mute(struct srv *s)
{
	int fd;

	if ((fd = srv_accept(s, 5000)) == -1)
		return;
	if (srv_read_req(s, fd, 3000) == 0)
		srv_drain(s, fd, 5000);
	close(fd);
}

/* Headers and one chunk of a stream, then silence until the client goes. */
static void
srv_stall(struct srv *s)
{
	int fd;

	if ((fd = srv_accept(s, 5000)) == -1)
		return;
	if (srv_read_req(s, fd, 3000) == 0) {
		srv_send(fd,
		    "HTTP/1.1 200 OK\r\n"
		    "Content-Type: text/event-stream\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n");
		srv_chunk(fd, "data: 1\n\n");
		srv_drain(s, fd, 5000);
	}
	close(fd);
}

/* An SSE stream whose later chunks wait until the client has the first. */
static void
srv_stream(struct srv *s)
{
	int fd;

	if ((fd = srv_accept(s, 5000)) == -1)
		return;
	if (srv_read_req(s, fd, 3000) == 0) {
		srv_send(fd,
		    "HTTP/1.1 200 OK\r\n"
		    "Content-Type: text/event-stream\r\n"
		    "Cache-Control: no-cache\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n");
		srv_chunk(fd, "data: 1\n\n");
		srv_wait_gate(s, 5000);
		sleep_ms(50);
		srv_chunk(fd, "data: 2\n\n");
		sleep_ms(50);
		s->last_sent = 1;
		srv_chunk(fd, "data: [DONE]\n\n");
		srv_send(fd, "0\r\n\r\n");
		srv_drain(s, fd, 5000);
	}
	close(fd);
}

/* Answer s->resp[0] after s->delay_ms of silence. */
static void
srv_slow(struct srv *s)
{
	int fd;

	if ((fd = srv_accept(s, 5000)) == -1)
		return;
	if (srv_read_req(s, fd, 3000) == 0) {
		sleep_ms(s->delay_ms);
		srv_send(fd, s->resp[0]);
		srv_drain(s, fd, 5000);
	}
	close(fd);
}

/* Read whatever comes (a TLS hello), answer plain HTTP and hang up. */
static void
srv_plain(struct srv *s)
{
	char buf[4096];
	int fd;

	if ((fd = srv_accept(s, 5000)) == -1)
		return;
	if (wait_in(fd, 3000) && read(fd, buf, sizeof(buf)) > 0)
		srv_send(fd, "HTTP/1.1 400 Bad Request\r\n\r\n");
	close(fd);
}

/* Read the request, send s->resp[0] (maybe nothing) and hang up. */
static void
srv_hangup(struct srv *s)
{
	int fd;

	if ((fd = srv_accept(s, 5000)) == -1)
		return;
	if (srv_read_req(s, fd, 3000) == 0)
		srv_send(fd, s->resp[0]);
	close(fd);
}

/* Count connections for a while, answering none. */
static void
srv_none(struct srv *s)
{
	int fd;

	while ((fd = srv_accept(s, 500)) != -1)
		close(fd);
}

/* What the callbacks saw. */
struct seen {
	struct srv *srv;
	int nheaders;
	long status;
	char content_type[128];
	char retry_after[32];
	int ndata;
	int empty_chunk; /* on_data got n == 0 */
	int data_before_headers;
	int first_before_last; /* chunk 1 came before the last was sent */
	char data[4096];
	size_t len;
	int nticks;
	int abort_headers;
	int abort_data;
	int abort_tick;
};

static int
cb_headers(void *arg, long status, const char *ct, const char *ra)
{
	struct seen *w = arg;

	w->nheaders++;
	w->status = status;
	snprintf(w->content_type, sizeof(w->content_type), "%s", ct);
	snprintf(w->retry_after, sizeof(w->retry_after), "%s", ra);
	return w->abort_headers ? -1 : 0;
}

static int
cb_data(void *arg, const char *p, size_t n)
{
	struct seen *w = arg;

	/* Noted, not asserted: a longjmp out of libcurl would wreck it. */
	if (n == 0)
		w->empty_chunk = 1;
	if (w->nheaders == 0)
		w->data_before_headers = 1;
	if (w->ndata++ == 0 && w->srv != NULL) {
		w->first_before_last = !w->srv->last_sent;
		open_gate(w->srv);
	}
	if (n > sizeof(w->data) - 1 - w->len)
		n = sizeof(w->data) - 1 - w->len;
	memcpy(w->data + w->len, p, n);
	w->len += n;
	w->data[w->len] = '\0';
	return w->abort_data ? -1 : 0;
}

static int
cb_tick(void *arg)
{
	struct seen *w = arg;

	w->nticks++;
	return w->abort_tick ? -1 : 0;
}

/* A request with every callback pointed at w. */
static void
hreq_init(
    struct http_request *r, const char *method, const char *url, struct seen *w)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->url = url;
	r->on_headers = cb_headers;
	r->on_tick = cb_tick;
	r->arg = w;
}

/* The request's body: whatever follows the blank line. */
static const char *
req_body(const struct srv *s, size_t *len)
{
	const char *eoh;

	assert_non_null(s->req);
	eoh = strstr(s->req, "\r\n\r\n");
	assert_non_null(eoh);
	*len = s->req_len - (size_t)(eoh + 4 - s->req);
	return eoh + 4;
}

/* Only the head of the stored request, as a string. */
static char *
req_head(const struct srv *s)
{
	const char *eoh = strstr(s->req, "\r\n\r\n");
	char *h;

	assert_non_null(eoh);
	h = strndup(s->req, (size_t)(eoh - s->req) + 2);
	assert_non_null(h);
	return h;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Start a srv running fn, answering with resp[] where fn does. */
static void
srv_up(struct srv *s, srv_fn fn, const char *const *resp, size_t nresp)
{
	srv_start(s, fn);
	s->resp = resp;
	s->nresp = nresp;
	srv_run(s);
}

/* One request on a fresh client, which is freed before returning. */
static int
perform_once(struct http_request *r, struct http_result *res)
{
	struct http_client *c;
	int rc;

	assert_non_null(c = http_client_new());
	rc = http_perform(c, r, res);
	http_client_free(c);
	return rc;
}

static void
t_buffered_json(void **state)
{
	static const char json[] = "{\"id\":\"chatcmpl-1\",\"ok\":true}";
	static const char *const resp[] = {
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: 29\r\n\r\n"
	    "{\"id\":\"chatcmpl-1\",\"ok\":true}",
	};
	const char *hdrs[] = {
	    "Content-Type: application/json",
	    "Authorization: Bearer " SECRET,
	};
	/* Over 1 MiB, where libcurl would otherwise send Expect. */
	size_t blen = 2 * 1024 * 1024 + 3, i, got;
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	const char *b;
	char url[128], *body, *head;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_non_null(body = malloc(blen));
	for (i = 0; i < blen; i++)
		body[i] = (char)(i * 7); /* binary, NULs included */
	srv_up(&s, srv_canned, resp, NELEM(resp));
	snprintf(url, sizeof(url), "%s/v1/chat/completions", s.base);
	hreq_init(&r, "POST", url, &w);
	r.headers = hdrs;
	r.nheaders = NELEM(hdrs);
	r.body = body;
	r.body_len = blen;
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);

	assert_int_equal(res.err, HTTP_OK);
	assert_int_equal(res.status, 200);
	assert_str(res.content_type, "application/json; charset=utf-8");
	assert_str(res.retry_after, "");
	assert_str(res.error, "");
	assert_non_null(res.body);
	assert_uint_equal(res.body_len, strlen(json));
	assert_str(res.body, json);
	assert_true(res.ttfb_s > 0);
	assert_true(res.total_s >= res.ttfb_s);
	assert_int_equal(w.nheaders, 1);
	assert_int_equal(w.status, 200);
	assert_int_equal(w.ndata, 0);

	/* What went out: our headers, none of libcurl's extras, the body. */
	assert_int_equal(s.nconn, 1);
	assert_int_equal(s.nreq, 1);
	head = req_head(&s);
	assert_int_equal(
	    strncmp(head, "POST /v1/chat/completions HTTP/1.1\r\n", 36), 0);
	assert_contains(head, "\r\nAuthorization: Bearer " SECRET "\r\n");
	assert_contains(head, "\r\nContent-Type: application/json\r\n");
	assert_null(test_strcasestr(head, "expect:"));
	assert_null(test_strcasestr(head, "accept-encoding:"));
	assert_null(test_strcasestr(head, "x-www-form-urlencoded"));
	free(head);
	b = req_body(&s, &got);
	assert_uint_equal(got, blen);
	assert_memory_equal(b, body, blen);
	srv_free(&s);
	http_result_clear(&res);
	assert_null(res.body);
	assert_int_equal(res.status, 0);
	free(body);
}

static void
t_post_without_content_type(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 204 No Content\r\n\r\n",
	};
	static const char bin[] = "a\0b\r\n\xff{}";
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	const char *b;
	char url[128], *head;
	size_t got;

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_canned, resp, NELEM(resp));
	snprintf(url, sizeof(url), "%s/up", s.base);
	hreq_init(&r, "POST", url, &w);
	r.body = bin;
	r.body_len = sizeof(bin) - 1;
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);
	/* No body: on_headers still runs, once, at the end. */
	assert_int_equal(res.status, 204);
	assert_int_equal(w.nheaders, 1);
	assert_int_equal(w.status, 204);
	assert_non_null(res.body);
	assert_uint_equal(res.body_len, 0);
	assert_str(res.body, "");
	http_result_clear(&res);

	b = req_body(&s, &got);
	assert_uint_equal(got, sizeof(bin) - 1);
	assert_memory_equal(b, bin, got);
	head = req_head(&s);
	/* No Content-Type given: none sent, not libcurl's form type. */
	assert_null(test_strcasestr(head, "content-type"));
	free(head);
	srv_free(&s);
}

static void
t_streaming(void **state)
{
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_stream, NULL, 0);
	w.srv = &s;
	snprintf(url, sizeof(url), "%s/v1/chat/completions", s.base);
	hreq_init(&r, "POST", url, &w);
	r.body = "{\"stream\":true}";
	r.body_len = strlen(r.body);
	r.on_data = cb_data;
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);

	assert_int_equal(res.err, HTTP_OK);
	assert_int_equal(res.status, 200);
	assert_str(res.content_type, "text/event-stream");
	assert_null(res.body);
	assert_uint_equal(res.body_len, 0);
	assert_int_equal(w.nheaders, 1);
	assert_int_equal(w.status, 200);
	assert_str(w.content_type, "text/event-stream");
	assert_false(w.data_before_headers);
	assert_false(w.empty_chunk);
	/* Relayed as it came: the first chunk before the last was sent. */
	assert_true(s.gate_open);
	assert_true(w.first_before_last);
	assert_true(w.ndata > 1);
	assert_str(w.data, "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n");
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_data_abort(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	};
	struct http_request r;
	struct http_result res;
	struct http_client *c;
	struct srv s, s2;
	struct seen w;
	char url[128];
	double t0;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.abort_data = 1;
	srv_up(&s, srv_stall, NULL, 0);
	snprintf(url, sizeof(url), "%s/stream", s.base);
	hreq_init(&r, "GET", url, &w);
	r.on_data = cb_data;
	assert_non_null(c = http_client_new());
	t0 = now_s();
	assert_int_equal(http_perform(c, &r, &res), -1);
	assert_true(now_s() - t0 < 1.0);
	assert_int_equal(res.err, HTTP_EABORTED);
	assert_int_equal(res.status, 200);
	assert_int_equal(w.ndata, 1);
	assert_int_equal(w.nheaders, 1);
	assert_true(res.error[0] != '\0');
	http_result_clear(&res);

	/* The client is still good for the next request. */
	srv_up(&s2, srv_canned, resp, NELEM(resp));
	snprintf(url, sizeof(url), "%s/again", s2.base);
	memset(&w, 0, sizeof(w));
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(http_perform(c, &r, &res), 0);
	assert_int_equal(res.status, 200);
	assert_str(res.body, "ok");
	http_result_clear(&res);
	http_client_free(c);
	srv_stop(&s);
	srv_stop(&s2);
	srv_free(&s);
	srv_free(&s2);
}

static void
t_headers_abort(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 500 Internal Server Error\r\n"
	    "Content-Type: text/html\r\nContent-Length: 5\r\n\r\nboom!",
	};
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	w.abort_headers = 1;
	srv_up(&s, srv_canned, resp, NELEM(resp));
	snprintf(url, sizeof(url), "%s/x", s.base);
	hreq_init(&r, "GET", url, &w);
	r.on_data = cb_data;
	assert_int_equal(perform_once(&r, &res), -1);
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_EABORTED);
	assert_int_equal(res.status, 500);
	assert_int_equal(w.nheaders, 1);
	assert_int_equal(w.status, 500);
	assert_str(w.content_type, "text/html");
	assert_int_equal(w.ndata, 0);
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_redirect_not_followed(void **state)
{
	static char loc[256];
	static const char *resp[1];
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_start(&s, srv_canned);
	snprintf(loc, sizeof(loc),
	    "HTTP/1.1 302 Found\r\nLocation: %s/elsewhere\r\n"
	    "Content-Length: 0\r\n\r\n",
	    s.base);
	resp[0] = loc;
	s.resp = resp;
	s.nresp = 1;
	srv_run(&s);
	snprintf(url, sizeof(url), "%s/start", s.base);
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_OK);
	assert_int_equal(res.status, 302);
	assert_int_equal(w.status, 302);
	assert_int_equal(s.nconn, 1);
	assert_int_equal(s.nreq, 1);
	assert_uint_equal(s.extra, 0);
	srv_free(&s);
	http_result_clear(&res);
}

/*
 * The OpenRouter pass-through's methods: PATCH with a body goes out as
 * PATCH with it (no form Content-Type), DELETE without one as a bare
 * DELETE.
 */
static void
t_other_methods(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\n\r\n{}",
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"};
	static const char *const hdrs[] = {"Content-Type: application/json"};
	struct http_request r;
	struct http_result res;
	struct http_client *c;
	struct srv s;
	struct seen w;
	const char *b;
	char url[128], *head;
	size_t n;

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_canned, resp, NELEM(resp));
	snprintf(url, sizeof(url), "%s/api/v1/keys/abc", s.base);
	assert_non_null(c = http_client_new());
	hreq_init(&r, "PATCH", url, &w);
	r.headers = hdrs;
	r.nheaders = 1;
	r.body = "{\"limit\":5}";
	r.body_len = strlen(r.body);
	assert_int_equal(http_perform(c, &r, &res), 0);
	assert_int_equal(res.status, 200);
	head = req_head(&s);
	assert_int_equal(strncmp(head, "PATCH /api/v1/keys/abc ", 23), 0);
	free(head);
	b = req_body(&s, &n);
	assert_int_equal(n, strlen("{\"limit\":5}"));
	assert_int_equal(memcmp(b, "{\"limit\":5}", n), 0);
	http_result_clear(&res);
	hreq_init(&r, "DELETE", url, &w);
	assert_int_equal(http_perform(c, &r, &res), 0);
	assert_int_equal(res.status, 200);
	head = req_head(&s);
	assert_int_equal(strncmp(head, "DELETE /api/v1/keys/abc ", 24), 0);
	assert_not_contains(head, "Content-Length: 1");
	free(head);
	http_result_clear(&res);
	http_client_free(c);
	srv_stop(&s);
	srv_free(&s);
}

static void
t_refused_without_io(void **state)
{
	const char *bad_hdr[] = {"X-Forward: a\r\nX-Injected: 1"};
	const char *lf_hdr[] = {"X-Forward: a\nX-Injected: 1"};
	struct http_request r;
	struct http_result res;
	struct http_client *c;
	struct srv s;
	struct seen w;
	char url[8][160];
	size_t i;

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_none, NULL, 0);
	snprintf(url[0], sizeof(url[0]), "ftp://127.0.0.1:%d/x", s.port);
	snprintf(url[1], sizeof(url[1]), "file:///etc/passwd");
	snprintf(url[2], sizeof(url[2]), "FILE:///etc/passwd");
	snprintf(url[3], sizeof(url[3]), "gopher://127.0.0.1:%d/", s.port);
	snprintf(url[4], sizeof(url[4]), " %s/", s.base);
	snprintf(url[5], sizeof(url[5]), "%s/a b", s.base);
	snprintf(url[6], sizeof(url[6]), "%s/\r\nX: y", s.base);
	snprintf(url[7], sizeof(url[7]), "127.0.0.1:%d/", s.port);
	assert_non_null(c = http_client_new());
	for (i = 0; i < NELEM(url); i++) {
		hreq_init(&r, "GET", url[i], &w);
		assert_int_equal(http_perform(c, &r, &res), -1);
		assert_int_equal(res.err, HTTP_EPROTO);
		assert_int_equal(res.status, 0);
		assert_null(res.body);
		assert_true(res.error[0] != '\0');
		http_result_clear(&res);
	}
	snprintf(url[0], sizeof(url[0]), "%s/", s.base);
	/* PUT, PATCH and DELETE go out (t_other_methods); others never do. */
	hreq_init(&r, "TRACE", url[0], &w);
	assert_int_equal(http_perform(c, &r, &res), -1);
	assert_int_equal(res.err, HTTP_EPROTO);
	hreq_init(&r, "CONNECT", url[0], &w);
	assert_int_equal(http_perform(c, &r, &res), -1);
	assert_int_equal(res.err, HTTP_EPROTO);
	hreq_init(&r, "POST", url[0], &w);
	r.headers = bad_hdr;
	r.nheaders = 1;
	assert_int_equal(http_perform(c, &r, &res), -1);
	assert_int_equal(res.err, HTTP_EPROTO);
	assert_not_contains(res.error, "Injected");
	r.headers = lf_hdr;
	assert_int_equal(http_perform(c, &r, &res), -1);
	assert_int_equal(res.err, HTTP_EPROTO);
	hreq_init(&r, "GET", NULL, &w);
	assert_int_equal(http_perform(c, &r, &res), -1);
	assert_int_equal(res.err, HTTP_EPROTO);
	http_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.nconn, 0);
	assert_int_equal(w.nheaders, 0);
	assert_int_equal(w.nticks, 0);
	srv_free(&s);
}

/* A port nobody listens on: bound once, then closed. */
static int
closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	int fd, port;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void
t_connect_refused(void **state)
{
	const char *hdrs[] = {"Authorization: Bearer " SECRET};
	struct http_request r;
	struct http_result res;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	snprintf(
	    url, sizeof(url), "http://127.0.0.1:%d/v1/models", closed_port());
	hreq_init(&r, "GET", url, &w);
	r.headers = hdrs;
	r.nheaders = 1;
	assert_int_equal(perform_once(&r, &res), -1);
	assert_int_equal(res.err, HTTP_ECONNECT);
	assert_int_equal(res.status, 0);
	assert_null(res.body);
	assert_true(res.error[0] != '\0');
	assert_not_contains(res.error, SECRET);
	assert_int_equal(w.nheaders, 0);
	assert_true(res.ttfb_s == 0);
	http_result_clear(&res);
}

/*
 * libcurl names the host in its errors: when a secret happens to equal it,
 * the secret must still not show.  A contrived value, but the only way to
 * make libcurl print something a request header holds.
 */
static void
t_error_hides_secrets(void **state)
{
	const char *hdrs[] = {"Authorization: Bearer 127.0.0.1"};
	struct http_request r;
	struct http_result res;
	struct seen w;
	char url[128];
	int port = closed_port();

	(void)state;
	memset(&w, 0, sizeof(w));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	hreq_init(&r, "POST", url, &w);
	r.headers = hdrs;
	r.nheaders = 1;
	assert_int_equal(perform_once(&r, &res), -1);
	assert_int_equal(res.err, HTTP_ECONNECT);
	assert_not_contains(res.error, "127.0.0.1");
	assert_contains(res.error, "***");
	http_result_clear(&res);

	/* A key in the query string (Gemini's ?key=) likewise. */
	snprintf(url, sizeof(url),
	    "http://127.0.0.1:%d/v1?alt=sse&key=127.0.0.1", port);
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(perform_once(&r, &res), -1);
	assert_int_equal(res.err, HTTP_ECONNECT);
	assert_not_contains(res.error, "127.0.0.1");
	http_result_clear(&res);
}

static void
t_first_byte_timeout(void **state)
{
	const char *hdrs[] = {"Authorization: Bearer " SECRET};
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];
	double t0, dt;

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_mute, NULL, 0);
	snprintf(url, sizeof(url), "%s/v1/chat/completions", s.base);
	hreq_init(&r, "POST", url, &w);
	r.headers = hdrs;
	r.nheaders = 1;
	r.body = "{}";
	r.body_len = 2;
	r.first_byte_timeout_ms = 300;
	t0 = now_s();
	assert_int_equal(perform_once(&r, &res), -1);
	dt = now_s() - t0;
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_ETIMEOUT);
	assert_int_equal(res.status, 0);
	assert_true(dt >= 0.3);
	/* The progress callback runs about once a second while silent. */
	assert_true(dt < 2.0);
	assert_int_equal(w.nheaders, 0);
	assert_not_contains(res.error, SECRET);
	assert_int_equal(s.nreq, 1);
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_idle_timeout(void **state)
{
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];
	double t0, dt;

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_stall, NULL, 0);
	snprintf(url, sizeof(url), "%s/stream", s.base);
	hreq_init(&r, "GET", url, &w);
	r.on_data = cb_data;
	r.idle_timeout_ms = 300;
	t0 = now_s();
	assert_int_equal(perform_once(&r, &res), -1);
	dt = now_s() - t0;
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_ETIMEOUT);
	assert_int_equal(res.status, 200);
	assert_int_equal(w.nheaders, 1);
	assert_int_equal(w.ndata, 1);
	assert_str(w.data, "data: 1\n\n");
	assert_true(dt >= 0.3);
	assert_true(dt < 2.0);
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_ticks(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	};
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_start(&s, srv_slow);
	s.resp = resp;
	s.delay_ms = 1500;
	srv_run(&s);
	snprintf(url, sizeof(url), "%s/slow", s.base);
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);
	assert_int_equal(res.status, 200);
	assert_str(res.body, "ok");
	assert_true(w.nticks >= 1);
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_tick_abort(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	};
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];
	double t0, dt;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.abort_tick = 1;
	srv_start(&s, srv_slow);
	s.resp = resp;
	s.delay_ms = 3000;
	srv_run(&s);
	snprintf(url, sizeof(url), "%s/slow", s.base);
	hreq_init(&r, "GET", url, &w);
	t0 = now_s();
	assert_int_equal(perform_once(&r, &res), -1);
	dt = now_s() - t0;
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_EABORTED);
	assert_int_equal(w.nticks, 1);
	assert_true(dt < 2.0);
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_too_big(void **state)
{
	static char big[2048];
	static const char *resp[1];
	static const char *const chunked[] = {
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "40\r\n012345678901234567890123456789012345678901234567890123456789"
	    "0123\r\n"
	    "40\r\n012345678901234567890123456789012345678901234567890123456789"
	    "0123\r\n"
	    "0\r\n\r\n",
	};
	static const char *const exact[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
	    "0123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789"
	    "01234567890123456789",
	};
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	/* Announced with Content-Length. */
	snprintf(big, sizeof(big),
	    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n%01000d", 0);
	resp[0] = big;
	srv_up(&s, srv_canned, resp, 1);
	snprintf(url, sizeof(url), "%s/big", s.base);
	hreq_init(&r, "GET", url, &w);
	r.max_body = 100;
	assert_int_equal(perform_once(&r, &res), -1);
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_ETOOBIG);
	assert_null(res.body);
	assert_uint_equal(res.body_len, 0);
	srv_free(&s);
	http_result_clear(&res);

	/* Unannounced: chunked, found out while reading. */
	srv_up(&s, srv_canned, chunked, 1);
	snprintf(url, sizeof(url), "%s/big", s.base);
	hreq_init(&r, "GET", url, &w);
	r.max_body = 100;
	assert_int_equal(perform_once(&r, &res), -1);
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_ETOOBIG);
	assert_null(res.body);
	srv_free(&s);
	http_result_clear(&res);

	/* Exactly max_body is fine. */
	srv_up(&s, srv_canned, exact, 1);
	snprintf(url, sizeof(url), "%s/exact", s.base);
	hreq_init(&r, "GET", url, &w);
	r.max_body = 100;
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);
	assert_uint_equal(res.body_len, 100);
	assert_uint_equal(strlen(res.body), 100);
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_rate_limited(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 429 Too Many Requests\r\n"
	    "content-type: application/json\r\n"
	    "retry-after:  7 \r\n"
	    "Content-Length: 2\r\n\r\n{}",
	};
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_canned, resp, NELEM(resp));
	/* The scheme is matched in any case. */
	snprintf(url, sizeof(url), "HTTP://127.0.0.1:%d/v1/messages", s.port);
	hreq_init(&r, "POST", url, &w);
	r.body = "{}";
	r.body_len = 2;
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_OK);
	assert_int_equal(res.status, 429);
	assert_str(res.retry_after, "7");
	assert_str(res.content_type, "application/json");
	assert_str(res.body, "{}");
	assert_int_equal(w.status, 429);
	assert_str(w.retry_after, "7");
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_interim_ignored(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 103 Early Hints\r\n"
	    "Content-Type: text/html\r\n"
	    "Retry-After: 99\r\n"
	    "Link: </style.css>; rel=preload\r\n\r\n"
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 2\r\n\r\nhi",
	};
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_canned, resp, NELEM(resp));
	snprintf(url, sizeof(url), "%s/", s.base);
	hreq_init(&r, "GET", url, &w);
	r.on_data = cb_data;
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);
	assert_int_equal(res.status, 200);
	assert_str(res.content_type, "text/plain");
	assert_str(res.retry_after, "");
	assert_int_equal(w.nheaders, 1);
	assert_int_equal(w.status, 200);
	assert_str(w.content_type, "text/plain");
	assert_str(w.data, "hi");
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_header_values_capped(void **state)
{
	static char resp_buf[4096];
	static const char *resp[1];
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128], longct[301];

	(void)state;
	memset(&w, 0, sizeof(w));
	memset(longct, 'x', sizeof(longct) - 1);
	longct[sizeof(longct) - 1] = '\0';
	snprintf(resp_buf, sizeof(resp_buf),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json; p=%s\r\n"
	    "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT and then some\r\n"
	    "Content-Length: 0\r\n\r\n",
	    longct);
	resp[0] = resp_buf;
	srv_up(&s, srv_canned, resp, 1);
	snprintf(url, sizeof(url), "%s/", s.base);
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);
	srv_free(&s);
	/* Cut to fit: the media type, which comes first, survives. */
	assert_uint_equal(
	    strlen(res.content_type), sizeof(res.content_type) - 1);
	assert_true(
	    strncmp(res.content_type, "application/json; p=xxx", 23) == 0);
	/* A cut date would mislead: dropped. */
	assert_str(res.retry_after, "");
	http_result_clear(&res);

	/* A control byte ends the value: it may be relayed as a header. */
	snprintf(resp_buf, sizeof(resp_buf),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\x01X-Evil: 1\r\n"
	    "Retry-After: 120\r\n"
	    "Content-Length: 0\r\n\r\n");
	srv_up(&s, srv_canned, resp, 1);
	snprintf(url, sizeof(url), "%s/", s.base);
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(perform_once(&r, &res), 0);
	srv_stop(&s);
	srv_free(&s);
	assert_str(res.content_type, "text/plain");
	assert_str(res.retry_after, "120");
	http_result_clear(&res);
}

static void
t_header_flood(void **state)
{
	static char *resp_buf;
	static const char *resp[1];
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128], *p;
	size_t size = 128 * 1024;
	int i;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_non_null(resp_buf = malloc(size));
	p = resp_buf + sprintf(resp_buf, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < 100; i++)
		p += sprintf(p, "X-Filler-%03d: %01000d\r\n", i, 0);
	sprintf(p, "Content-Length: 0\r\n\r\n");
	resp[0] = resp_buf;
	srv_up(&s, srv_canned, resp, 1);
	snprintf(url, sizeof(url), "%s/", s.base);
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(perform_once(&r, &res), -1);
	srv_stop(&s);
	srv_free(&s);
	assert_int_equal(res.err, HTTP_EPROTO);
	assert_contains(res.error, "headers");
	assert_int_equal(w.nheaders, 0);
	http_result_clear(&res);
	free(resp_buf);
}

static void
t_keepalive_reuse(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 11\r\n\r\n{\"data\":[]}",
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 8\r\n\r\n{\"n\":2}\n",
	};
	struct http_request r;
	struct http_result res;
	struct http_client *c;
	struct srv s;
	struct seen w;
	char url[128], *head;

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_canned, resp, NELEM(resp));
	assert_non_null(c = http_client_new());
	snprintf(url, sizeof(url), "%s/v1/models", s.base);
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(http_perform(c, &r, &res), 0);
	assert_str(res.body, "{\"data\":[]}");
	http_result_clear(&res);
	snprintf(url, sizeof(url), "%s/v1/embeddings", s.base);
	hreq_init(&r, "POST", url, &w);
	r.body = "{}";
	r.body_len = 2;
	assert_int_equal(http_perform(c, &r, &res), 0);
	assert_str(res.body, "{\"n\":2}\n");
	http_result_clear(&res);
	http_client_free(c);
	srv_stop(&s);
	assert_int_equal(s.nreq, 2);
	assert_int_equal(s.nconn, 1);
	head = req_head(&s);
	assert_int_equal(
	    strncmp(head, "POST /v1/embeddings HTTP/1.1\r\n", 30), 0);
	free(head);
	srv_free(&s);
}

/*
 * Answer the first request, read the second on the same kept-alive
 * connection and close it unanswered (the server dropped the connection as
 * idle just as the request went out); then answer on any new connection.
 */
static void
srv_reuse_drop(struct srv *s)
{
	int fd;

	if ((fd = srv_accept(s, 5000)) == -1)
		return;
	if (srv_read_req(s, fd, 3000) == 0)
		srv_send(fd, s->resp[0]);
	if (srv_read_req(s, fd, 3000) == -1) {
		close(fd);
		return;
	}
	close(fd);
	/* libcurl 7.88 would come back at once with the same body. */
	if ((fd = srv_accept(s, 1000)) == -1)
		return;
	if (srv_read_req(s, fd, 3000) == 0)
		srv_send(fd, s->resp[0]);
	close(fd);
}

/*
 * A POST on a reused connection that closes before any answer is not sent
 * again behind the caller's back (the server may have read and billed the
 * first copy): HTTP_ECONNECT, conn_died and sent, and the server saw it once.
 */
static void
t_reused_conn_dies(void **state)
{
	static const char *const resp[] = {
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 8\r\n\r\n{\"n\":1}\n",
	};
	struct http_request r;
	struct http_result res;
	struct http_client *c;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_reuse_drop, resp, NELEM(resp));
	assert_non_null(c = http_client_new());
	snprintf(url, sizeof(url), "%s/v1/chat/completions", s.base);
	hreq_init(&r, "POST", url, &w);
	r.body = "{\"a\":1}";
	r.body_len = 7;
	assert_int_equal(http_perform(c, &r, &res), 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.conn_died, 0);
	http_result_clear(&res);
	assert_int_equal(http_perform(c, &r, &res), -1);
	assert_int_equal(res.err, HTTP_ECONNECT);
	assert_int_equal(res.conn_died, 1);
	assert_int_equal(res.sent, 1);
	http_result_clear(&res);
	http_client_free(c);
	srv_stop(&s);
	/*
	 * 3 when libcurl resends on its own.  (libcurl 7.88 opens the fresh
	 * connection before it asks to rewind: nconn may be 2, with nothing
	 * sent on it.)
	 */
	assert_int_equal(s.nreq, 2);
	srv_free(&s);
}

static void
t_tls_to_plain_server(void **state)
{
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	srv_up(&s, srv_plain, NULL, 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/v1/models", s.port);
	hreq_init(&r, "GET", url, &w);
	assert_int_equal(perform_once(&r, &res), -1);
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_EPROTO);
	assert_int_equal(res.status, 0);
	assert_true(res.error[0] != '\0');
	assert_int_equal(s.nconn, 1);
	srv_free(&s);
	http_result_clear(&res);
}

static void
t_hangup(void **state)
{
	static const char *const nothing[] = {""};
	static const char *const cut[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":",
	};
	struct http_request r;
	struct http_result res;
	struct srv s;
	struct seen w;
	char url[128];

	(void)state;
	memset(&w, 0, sizeof(w));
	/* Closed before any response byte: as good as no connection. */
	srv_up(&s, srv_hangup, nothing, 1);
	snprintf(url, sizeof(url), "%s/v1/chat/completions", s.base);
	hreq_init(&r, "POST", url, &w);
	r.body = "{}";
	r.body_len = 2;
	assert_int_equal(perform_once(&r, &res), -1);
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_ECONNECT);
	assert_int_equal(res.status, 0);
	srv_free(&s);
	http_result_clear(&res);

	/* Closed mid-body: a broken response, not a connect failure. */
	srv_up(&s, srv_hangup, cut, 1);
	snprintf(url, sizeof(url), "%s/v1/chat/completions", s.base);
	hreq_init(&r, "POST", url, &w);
	r.body = "{}";
	r.body_len = 2;
	assert_int_equal(perform_once(&r, &res), -1);
	srv_stop(&s);
	assert_int_equal(res.err, HTTP_EPROTO);
	assert_int_equal(res.status, 200);
	assert_null(res.body);
	srv_free(&s);
	http_result_clear(&res);
}

/*
 * A listener that never accepts, its backlog full: the kernel drops the
 * next SYN, so the connect hangs as with an unreachable host.
 */
static void
t_connect_timeout(void **state)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct http_request r;
	struct http_result res;
	struct seen w;
	char url[128];
	int lfd, fill[8], i;
	double t0, dt;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_true((lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	for (i = 0; i < (int)NELEM(fill); i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fill[i] >= 0);
		(void)connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	sleep_ms(50);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sin.sin_port));
	hreq_init(&r, "GET", url, &w);
	r.connect_timeout_ms = 300;
	t0 = now_s();
	assert_int_equal(perform_once(&r, &res), -1);
	dt = now_s() - t0;
	for (i = 0; i < (int)NELEM(fill); i++)
		close(fill[i]);
	close(lfd);
	assert_int_equal(res.err, HTTP_ETIMEOUT);
	assert_true(dt >= 0.25);
	assert_true(dt < 2.0);
	http_result_clear(&res);
}

static void
t_null_safe(void **state)
{
	(void)state;
	http_client_free(NULL);
	http_result_clear(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_buffered_json),
	    cmocka_unit_test(t_post_without_content_type),
	    cmocka_unit_test(t_streaming),
	    cmocka_unit_test(t_data_abort),
	    cmocka_unit_test(t_headers_abort),
	    cmocka_unit_test(t_redirect_not_followed),
	    cmocka_unit_test(t_refused_without_io),
	    cmocka_unit_test(t_other_methods),
	    cmocka_unit_test(t_connect_refused),
	    cmocka_unit_test(t_error_hides_secrets),
	    cmocka_unit_test(t_first_byte_timeout),
	    cmocka_unit_test(t_idle_timeout),
	    cmocka_unit_test(t_ticks),
	    cmocka_unit_test(t_tick_abort),
	    cmocka_unit_test(t_too_big),
	    cmocka_unit_test(t_rate_limited),
	    cmocka_unit_test(t_interim_ignored),
	    cmocka_unit_test(t_header_values_capped),
	    cmocka_unit_test(t_header_flood),
	    cmocka_unit_test(t_keepalive_reuse),
	    cmocka_unit_test(t_reused_conn_dies),
	    cmocka_unit_test(t_tls_to_plain_server),
	    cmocka_unit_test(t_hangup),
	    cmocka_unit_test(t_connect_timeout),
	    cmocka_unit_test(t_null_safe),
	};
	int rc;

	test_init();
	if (http_global_init() == -1) {
		fprintf(stderr, "http_global_init failed\n");
		return 1;
	}
	rc = cmocka_run_group_tests_name("http_client", tests, NULL, NULL);
	http_global_end();
	return rc;
}
