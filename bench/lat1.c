/* lat1.c: latency at one request at a time, for several paths measured in interleaved rounds */
/*
 * "Added latency" is one path's percentile minus another's, so both must be
 * measured under the same conditions.  On a shared or virtual machine the
 * conditions drift over tens of seconds (memory handed back to the host and
 * faulted in again, a database flushing what an earlier run wrote), and a
 * path measured in its own 8 s block sees a different machine than the next
 * path's block: the tail of whichever ran first absorbed the drift.  This
 * client takes turns instead, ROUNDS rounds of SECONDS per path, and pools
 * each path's latencies over all rounds, so drift lands on every path alike.
 *
 * One kept connection per path (a libcurl easy handle), one request at a
 * time; a request's latency is libcurl's total time.  The first request of
 * each handle opens the connection and is not counted.  Links no project
 * code; built only by `scripts/dev bench`.
 *
 *   lat1 ROUNDS SECONDS NAME URL KEY BODY [-H HEADER]... [-K PREFIX] [NAME URL KEY BODY ...]...
 *
 * -H adds a request header to the path before it (a peer gateway that takes
 * its upstream from headers, as Portkey's does); at most HDRS_MAX a path.
 * -K PREFIX gives each request of the path before it an Idempotency-Key of
 * its own, PREFIX and a counter (the exact path with a key, issue 20).
 *
 * prints per path: NAME requests p50_us p99_us p999_us max_us non2xx errors
 */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATHS_MAX   16
#define HDRS_MAX    8	       /* -H headers of one path */
#define SAMPLES_MAX (1u << 24) /* per path; far above what 10 minutes give */

struct path {
	const char *name;
	CURL *h;
	struct curl_slist *hdr;
	uint32_t *us; /* latencies, microseconds */
	size_t n, cap;
	unsigned long bad, errors;
	int nhdr;
	char *key;	/* -K: the Idempotency-Key header's text, rewritten */
	size_t key_pre; /* its length up to the counter */
	unsigned long seq; /* the counter */
};

#define KEY_DIGITS 16 /* the counter's width: the header's length stays */

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One request; 1 with its latency in *us, 0 when it failed. */
static int
one(struct path *p, uint32_t *us)
{
	curl_off_t t = 0;
	long code = 0;

	/* A key of its own: the header's text is libcurl's to read at perform. */
	if (p->key != NULL)
		snprintf(p->key + p->key_pre, KEY_DIGITS + 1, "%0*lu",
		    KEY_DIGITS, ++p->seq % 10000000000000000ul);
	if (curl_easy_perform(p->h) != CURLE_OK) {
		p->errors++;
		return 0;
	}
	curl_easy_getinfo(p->h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(p->h, CURLINFO_TOTAL_TIME_T, &t);
	if (code < 200 || code > 299)
		p->bad++;
	*us = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	return 1;
}

static int
record(struct path *p, uint32_t us)
{
	uint32_t *n;

	if (p->n == p->cap) {
		if (p->cap == SAMPLES_MAX)
			return 0;
		p->cap = p->cap ? p->cap * 2 : 65536;
		if ((n = realloc(p->us, p->cap * sizeof(*n))) == NULL)
			return -1;
		p->us = n;
	}
	p->us[p->n++] = us;
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least q of all at or below it. */
static uint32_t
pct(const struct path *p, double q)
{
	size_t i;

	if (p->n == 0)
		return 0;
	i = (size_t)(q * (double)p->n + 0.999999);
	if (i < 1)
		i = 1;
	if (i > p->n)
		i = p->n;
	return p->us[i - 1];
}

static int
setup(struct path *p, char **arg)
{
	char auth[512];

	p->name = arg[0];
	if ((p->h = curl_easy_init()) == NULL)
		return -1;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", arg[2]);
	p->hdr = curl_slist_append(p->hdr, "Content-Type: application/json");
	p->hdr = curl_slist_append(p->hdr, auth);
	p->hdr = curl_slist_append(p->hdr, "Expect:");
	curl_easy_setopt(p->h, CURLOPT_URL, arg[1]);
	curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, p->hdr);
	curl_easy_setopt(p->h, CURLOPT_POSTFIELDS, arg[3]);
	curl_easy_setopt(p->h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(p->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(p->h, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(p->h, CURLOPT_NOSIGNAL, 1L);
	return 0;
}

/* -H HEADER after a path: one more header for it; 0 or -1 (too many). */
static int
add_header(struct path *p, const char *h)
{
	struct curl_slist *n;

	if (p->nhdr == HDRS_MAX || (n = curl_slist_append(p->hdr, h)) == NULL)
		return -1;
	p->hdr = n;
	p->nhdr++;
	return curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, p->hdr) == CURLE_OK
	    ? 0
	    : -1;
}

/* -K PREFIX after a path: an Idempotency-Key per request; 0 or -1. */
static int
add_key(struct path *p, const char *prefix)
{
	struct curl_slist *n;
	char h[256];
	int len;

	len = snprintf(
	    h, sizeof(h), "Idempotency-Key: %s-%0*d", prefix, KEY_DIGITS, 0);
	if (p->key != NULL || len < 0 || (size_t)len >= sizeof(h) ||
	    (n = curl_slist_append(p->hdr, h)) == NULL)
		return -1;
	p->hdr = n;
	while (n->next != NULL)
		n = n->next;
	p->key = n->data;
	p->key_pre = (size_t)len - KEY_DIGITS;
	return curl_easy_setopt(p->h, CURLOPT_HTTPHEADER, p->hdr) == CURLE_OK
	    ? 0
	    : -1;
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: lat1 ROUNDS SECONDS NAME URL KEY BODY "
	    "[-H HEADER]... [-K PREFIX] [NAME URL KEY BODY [-H HEADER]... "
	    "[-K PREFIX]]...\n");
	return 2;
}

/* The paths and their headers from argv[3...]; their count, or -1. */
static int
parse_paths(struct path *paths, int argc, char **argv)
{
	int np = 0, a = 3;

	while (a < argc) {
		if (strcmp(argv[a], "-H") == 0 || strcmp(argv[a], "-K") == 0) {
			if (np == 0 || a + 1 >= argc ||
			    (argv[a][1] == 'H'
				    ? add_header(&paths[np - 1], argv[a + 1])
				    : add_key(&paths[np - 1], argv[a + 1])) ==
				-1)
				return -1;
			a += 2;
			continue;
		}
		if (np == PATHS_MAX || a + 4 > argc ||
		    setup(&paths[np], &argv[a]) == -1)
			return -1;
		np++;
		a += 4;
	}
	return np > 0 ? np : -1;
}

int
main(int argc, char **argv)
{
	struct path paths[PATHS_MAX];
	int np, i, r, rounds;
	double secs, end;
	uint32_t us;

	if (argc < 7)
		return usage();
	rounds = atoi(argv[1]);
	secs = atof(argv[2]);
	if (rounds < 1 || rounds > 1000 || !(secs > 0 && secs <= 600)) {
		fprintf(
		    stderr, "lat1: ROUNDS 1-1000, SECONDS above 0 up to 600\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(paths, 0, sizeof(paths));
	if ((np = parse_paths(paths, argc, argv)) == -1)
		return usage();
	for (i = 0; i < np; i++)
		one(&paths[i], &us); /* opens the kept connection */
	for (r = 0; r < rounds; r++)
		for (i = 0; i < np; i++)
			for (end = now_s() + secs; now_s() < end;)
				if (one(&paths[i], &us) &&
				    record(&paths[i], us) == -1) {
					fprintf(
					    stderr, "lat1: out of memory\n");
					return 1;
				}
	for (i = 0; i < np; i++) {
		struct path *p = &paths[i];

		qsort(p->us, p->n, sizeof(*p->us), cmp_u32);
		printf("%s %zu %u %u %u %u %lu %lu\n", p->name, p->n,
		    pct(p, 0.50), pct(p, 0.99), pct(p, 0.999),
		    p->n ? p->us[p->n - 1] : 0, p->bad, p->errors);
		curl_easy_cleanup(p->h);
		curl_slist_free_all(p->hdr);
		free(p->us);
	}
	curl_global_cleanup();
	return 0;
}
