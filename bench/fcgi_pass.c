/* fcgi_pass.c: the benchmark's floor, a bare FastCGI responder that forwards each body to one URL */
/*
 * The speed issue puts tollgate's budget on top of "a bare FastCGI
 * pass-through": the web server, the FastCGI hop, libcurl to the provider
 * and back, with nothing metered.  This program is that pass-through, so the
 * benchmark measures the floor in the same run instead of quoting it: per
 * request it reads the body, POSTs it with the client's Authorization to the
 * upstream URL on a kept libcurl handle, and relays status and body.  No
 * JSON, no database, no keys.  Like the mock provider it links no project
 * code; it is built only by `scripts/dev bench`.
 *
 * libfcgi's model is a thread per connection: a thread waits on its kept
 * connection for the next request, and a connection the web server opens
 * while every thread waits on another stays unaccepted, its request with
 * it.  So there must be more threads than the web server keeps connections
 * (nginx: keepalive plus concurrency); tollgate's door has no such limit.
 *
 *   fcgi_pass SOCKET URL [THREADS]
 */
#include <curl/curl.h>
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BODY_MAX    (1u << 20) /* request bodies, as tollgate's default cap */
#define ANSWER_MAX  (4u << 20)
#define THREADS_MAX 256

static int listen_fd;
static const char *upstream;

struct answer {
	char *p;
	size_t len, cap;
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = sz * n;
	char *np;

	if (a->len + len > ANSWER_MAX)
		return 0; /* libcurl fails the transfer */
	if (a->len + len > a->cap) {
		a->cap = (a->len + len) * 2;
		if ((np = realloc(a->p, a->cap)) == NULL)
			return 0;
		a->p = np;
	}
	memcpy(a->p + a->len, p, len);
	a->len += len;
	return len;
}

/* One request: 0, or -1 when the answer could not be produced (a 502 went out). */
static int
serve(FCGX_Request *r, CURL *h, char *body, struct answer *a)
{
	const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->envp);
	const char *auth = FCGX_GetParam("HTTP_AUTHORIZATION", r->envp);
	struct curl_slist *hl = NULL, *t;
	char hdr[512];
	long status = 0;
	size_t want = cl != NULL ? strtoul(cl, NULL, 10) : 0;
	int got, rc = -1;

	if (want > BODY_MAX ||
	    (got = FCGX_GetStr(body, (int)want, r->in)) != (int)want) {
		FCGX_FPrintF(r->out, "Status: 413\r\n\r\n");
		return -1;
	}
	a->len = 0;
	hl = curl_slist_append(NULL, "Content-Type: application/json");
	if (hl != NULL && (t = curl_slist_append(hl, "Expect:")) != NULL)
		hl = t;
	if (hl != NULL && auth != NULL && strlen(auth) < sizeof(hdr) - 16) {
		snprintf(hdr, sizeof(hdr), "Authorization: %s", auth);
		if ((t = curl_slist_append(hl, hdr)) != NULL)
			hl = t;
	}
	curl_easy_setopt(h, CURLOPT_URL, upstream);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)want);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	if (curl_easy_perform(h) == CURLE_OK &&
	    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) {
		/* libfcgi's own printf knows no %zu: format here. */
		int n = snprintf(hdr, sizeof(hdr),
		    "Status: %ld\r\nContent-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n",
		    status, a->len);

		FCGX_PutStr(hdr, n, r->out);
		FCGX_PutStr(a->p, (int)a->len, r->out);
		rc = 0;
	} else
		FCGX_FPrintF(r->out, "Status: 502\r\n\r\n");
	curl_slist_free_all(hl);
	return rc;
}

static void *
worker(void *arg)
{
	FCGX_Request r;
	struct answer a = {NULL, 0, 0};
	char *body = malloc(BODY_MAX + 1);
	CURL *h = curl_easy_init();

	(void)arg;
	if (body == NULL || h == NULL ||
	    FCGX_InitRequest(&r, listen_fd, 0) != 0)
		goto out;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	while (FCGX_Accept_r(&r) >= 0) {
		(void)serve(&r, h, body, &a);
		FCGX_Finish_r(&r);
	}
out:
	curl_easy_cleanup(h);
	free(body);
	free(a.p);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t tid[THREADS_MAX];
	int i, n = argc > 3 ? atoi(argv[3]) : 8;

	if (argc < 3 || n < 1 || n > THREADS_MAX) {
		fprintf(stderr, "usage: fcgi_pass SOCKET URL [THREADS 1-%d]\n",
		    THREADS_MAX);
		return 2;
	}
	upstream = argv[2];
	signal(SIGPIPE, SIG_IGN); /* a web server that hangs up is not fatal */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || FCGX_Init() != 0)
		return 1;
	/*
	 * libfcgi turns SIGTERM into a "stop after this request" flag, which
	 * threads blocked in accept never see: the benchmark stops us with it.
	 */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	if ((listen_fd = FCGX_OpenSocket(argv[1], 128)) < 0) {
		perror("fcgi_pass: listen");
		return 1;
	}
	chmod(argv[1], 0666);
	for (i = 0; i < n; i++)
		if (pthread_create(&tid[i], NULL, worker, NULL) != 0)
			return 1;
	printf("listening on %s\n", argv[1]);
	fflush(stdout);
	for (i = 0; i < n; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
