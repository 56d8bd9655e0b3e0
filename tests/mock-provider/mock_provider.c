/* mock_provider.c: scripted OpenAI-compatible upstream for the tests */

/*
 * A real HTTP server that stands in for OpenAI, DeepSeek and OpenRouter, so the
 * gateway's tests see real sockets, chunked encoding and SSE. It links neither
 * libtollgate nor anything else of the gateway: it plays a foreign service.
 *
 * Token counting (the gateway's billing tests rely on these exact numbers;
 * README.md repeats them):
 *
 *   words(s)   number of maximal runs of non-whitespace bytes (whitespace is
 *              space, \t, \n, \v, \f, \r) in s, where every "[mock:...]"
 *              block counts as whitespace.
 *   chat       prompt_tokens = sum over messages of (4 + words of the text of
 *              its content). Content may be a string, null, or an array of
 *              parts; only the "text" member of parts counts. Roles, names,
 *              tools and tool_calls count nothing.
 *   completions prompt_tokens = words of every string in "prompt", plus 1 per
 *              integer of a token array; no per-message overhead.
 *   embeddings prompt_tokens = total_tokens, counted as for completions over
 *              "input".
 *   reply      N = words=N directive (default 12); cap = max_completion_tokens,
 *              else max_tokens, else none (legacy completions: default 16);
 *              M = min(N, cap) words: "mock", "reply", "word1", "word2", ...
 *              finish_reason is "length" when N > cap, else "stop".
 *   reasoning  the reasoning directive adds R words (default 6, reasoning=R)
 *              "think1 think2 ..." before the reply; not limited by the cap.
 *   tool call  the fixed arguments {"location": "Paris", "unit": "celsius"}
 *              count as 4 tokens (its 4 words, streamed as 4 fragments).
 *   completion_tokens = M (or 4 for a tool call) + R;
 *   reasoning_tokens = R; total_tokens = prompt_tokens + completion_tokens;
 *   cached_tokens = min(cached=N, prompt_tokens); DeepSeek flavour:
 *   prompt_cache_hit_tokens = cached_tokens, miss = prompt - hit; OpenRouter
 *   flavour: cost = (1000 * prompt + 2000 * completion) nano-USD.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "mock.h"

#define MAX_BODY	  (16u * 1024 * 1024)
#define DEFAULT_KEY	  "sk-mock-0123456789"
#define DEFAULT_WORDS	  12
#define LEGACY_MAX_TOKENS 16
#define EMBED_DIMS	  8
#define BLOCK_SIZE	  (64 * 1024)
#define MAX_XKEYS	  16

enum kind { K_CHAT, K_COMPLETION };

/* A chat or legacy completion call, its counts fixed before any output. */
struct call {
	const struct opts *o;
	enum kind kind;
	const char *model;
	char id[48];
	json_int_t created;
	int stream;
	int include_usage;
	int prompt;
	int nwords;
	int length;
	int reasoning;
	int tool;
	const char *tool_name;
};

static const char *api_key = DEFAULT_KEY;
/* -x KEY=DIRECTIVES: more accepted keys, each with its own script. */
static struct xkey {
	const char *key;
	const char *directives;
} xkeys[MAX_XKEYS];
static int nxkeys;
static FILE *log_fp;
static json_t *log_arr;
/* -n: no request log in memory; a benchmark's millions would cost the mock. */
static int log_keep = 1;
/*
 * -m N: the in-memory log keeps the last N entries (issue 19): a mock left
 * running under `scripts/dev up` grew to gigabytes keeping every request.
 */
#define LOG_MAX_DEFAULT 1000
#define LOG_MAX_LIMIT	10000000
static size_t log_max = LOG_MAX_DEFAULT;
/* Every entry ever logged in memory, dropped ones included (/_mock/health). */
static unsigned long long log_total;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long seq;
static volatile int stopping;

static void
sleep_ms(int ms)
{
	struct timespec ts;

	/* Small slices, so SIGTERM does not wait for a long scripted delay. */
	while (ms > 0 && !__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
		int step = ms > 20 ? 20 : ms;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)step * 1000000L;
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static json_int_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned long
next_seq(void)
{
	return __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
}

/* --- directives ----------------------------------------------------------- */

enum dkind { D_INT, D_OPT, D_STATUS, D_FLAVOR, D_SAFETY };

/* D_INT needs "=N"; D_OPT takes an optional "=N" and defaults to dflt. */
static const struct directive {
	const char *name;
	enum dkind kind;
	size_t off;
	int dflt;
} directives[] = {
    {"latency", D_INT, offsetof(struct opts, latency), 0},
    {"pace", D_INT, offsetof(struct opts, pace), 0},
    {"words", D_INT, offsetof(struct opts, words), 0},
    {"error_at", D_INT, offsetof(struct opts, error_at), 0},
    {"status", D_STATUS, offsetof(struct opts, status), 0},
    {"retry_after", D_INT, offsetof(struct opts, retry_after), 0},
    {"reset", D_OPT, offsetof(struct opts, reset), 1},
    {"reset_at", D_INT, offsetof(struct opts, reset_at), 0},
    {"reset_reused", D_OPT, offsetof(struct opts, reset_reused), 1},
    {"no_usage", D_OPT, offsetof(struct opts, no_usage), 1},
    {"empty_usage", D_OPT, offsetof(struct opts, empty_usage), 1},
    {"corrupt", D_INT, offsetof(struct opts, corrupt), 0},
    {"reasoning", D_OPT, offsetof(struct opts, reasoning), DEFAULT_REASONING},
    {"flavor", D_FLAVOR, offsetof(struct opts, flavor), 0},
    {"cached", D_INT, offsetof(struct opts, cached), 0},
    {"chunk_bytes", D_INT, offsetof(struct opts, chunk_bytes), 0},
    {"cache_read", D_INT, offsetof(struct opts, cached), 0},
    {"cache_write", D_INT, offsetof(struct opts, cache_write), 0},
    {"tool_call", D_OPT, offsetof(struct opts, tool_call), 1},
    {"safety", D_SAFETY, offsetof(struct opts, safety), SAFETY_FINISH},
    {"overloaded", D_OPT, offsetof(struct opts, overloaded), 1},
    {"delta_usage", D_INT, offsetof(struct opts, delta_usage), 0},
};

static void
opts_init(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->words = DEFAULT_WORDS;
	o->error_at = -1;
	o->reset_at = -1;
	o->retry_after = -1;
	o->flavor = FL_OPENAI;
}

static int
parse_int(const char *s, size_t n, int *out)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = (int)v;
	return 0;
}

static int
set_value(struct opts *o, const struct directive *d, const char *v, size_t vn)
{
	int *field = (int *)(void *)((char *)o + d->off);

	switch (d->kind) {
	case D_INT:
		return parse_int(v, vn, field);
	case D_OPT:
		if (v == NULL) {
			*field = d->dflt;
			return 0;
		}
		return parse_int(v, vn, field);
	case D_STATUS:
		if (v != NULL && vn == 9 && strncmp(v, "429_quota", 9) == 0) {
			o->status = 429;
			o->quota = 1;
			return 0;
		}
		if (v != NULL && vn == 14 &&
		    strncmp(v, "403_moderation", 14) == 0) {
			o->status = 403;
			o->moderation = 1;
			return 0;
		}
		if (v != NULL && vn == 11 &&
		    strncmp(v, "403_revoked", 11) == 0) {
			o->status = 403;
			o->revoked = 1;
			return 0;
		}
		if (v == NULL || parse_int(v, vn, field) == -1)
			return -1;
		return *field >= 100 && *field <= 599 ? 0 : -1;
	case D_FLAVOR:
		if (v != NULL && vn == 6 && strncmp(v, "openai", 6) == 0)
			o->flavor = FL_OPENAI;
		else if (v != NULL && vn == 8 && strncmp(v, "deepseek", 8) == 0)
			o->flavor = FL_DEEPSEEK;
		else if (v != NULL && vn == 10 &&
		    strncmp(v, "openrouter", 10) == 0)
			o->flavor = FL_OPENROUTER;
		else
			return -1;
		return 0;
	case D_SAFETY:
		if (v == NULL || (vn == 6 && strncmp(v, "finish", 6) == 0))
			*field = SAFETY_FINISH;
		else if (vn == 6 && strncmp(v, "prompt", 6) == 0)
			*field = SAFETY_PROMPT;
		else
			return -1;
		return 0;
	}
	return -1;
}

static void
parse_one(struct opts *o, const char *s, size_t n)
{
	const char *eq;
	size_t i, nn;

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0)
		return;
	eq = memchr(s, '=', n);
	nn = eq != NULL ? (size_t)(eq - s) : n;
	for (i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
		const struct directive *d = &directives[i];

		if (strlen(d->name) != nn || strncmp(d->name, s, nn) != 0)
			continue;
		if (set_value(o, d, eq != NULL ? eq + 1 : NULL,
			eq != NULL ? n - nn - 1 : 0) == 0)
			return;
		break;
	}
	/* The first bad directive wins; a typo in a test must not pass. */
	if (o->err[0] == '\0')
		snprintf(o->err, sizeof(o->err), "mock: bad directive '%.*s'",
		    (int)(n > 80 ? 80 : n), s);
}

/* Applies a comma-separated directive list of length n. */
static void
parse_directives(struct opts *o, const char *s, size_t n)
{
	const char *end = s + n, *comma;

	while (s < end) {
		comma = memchr(s, ',', (size_t)(end - s));
		if (comma == NULL)
			comma = end;
		parse_one(o, s, (size_t)(comma - s));
		s = comma + 1;
	}
}

/* Applies every "[mock:...]" block found in s. */
void
parse_blocks(const char *s, void *arg)
{
	const char *p, *close;

	while ((p = strstr(s, "[mock:")) != NULL) {
		p += 6;
		if ((close = strchr(p, ']')) == NULL)
			return;
		parse_directives(arg, p, (size_t)(close - p));
		s = close + 1;
	}
}

/* --- text walking and counting -------------------------------------------- */

/* Calls fn on every string of v: strings, arrays, and parts' "text". */
void
walk_text(json_t *v, text_fn fn, void *arg)
{
	size_t i;

	if (json_is_string(v))
		fn(json_string_value(v), arg);
	else if (json_is_object(v))
		walk_text(json_object_get(v, "text"), fn, arg);
	for (i = 0; json_is_array(v) && i < json_array_size(v); i++)
		walk_text(json_array_get(v, i), fn, arg);
}

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' ||
	    ch == '\f' || ch == '\r';
}

int
count_words(const char *s)
{
	int n = 0, in = 0;
	const char *close;

	while (*s != '\0') {
		if (strncmp(s, "[mock:", 6) == 0 &&
		    (close = strchr(s, ']')) != NULL) {
			in = 0;
			s = close + 1;
			continue;
		}
		if (is_space(*s))
			in = 0;
		else if (!in) {
			in = 1;
			n++;
		}
		s++;
	}
	return n;
}

void
add_words(const char *s, void *arg)
{
	*(int *)arg += count_words(s);
}

/* Words of every string plus 1 per integer (token arrays). */
static int
count_tokens(json_t *v)
{
	int n = 0;
	size_t i;

	if (json_is_integer(v))
		return 1;
	if (json_is_string(v))
		return count_words(json_string_value(v));
	for (i = 0; json_is_array(v) && i < json_array_size(v); i++)
		n += count_tokens(json_array_get(v, i));
	return n;
}

static int
chat_prompt_tokens(json_t *messages)
{
	int n = 0;
	size_t i;
	json_t *m;

	for (i = 0; i < json_array_size(messages); i++) {
		m = json_array_get(messages, i);
		n += 4;
		walk_text(json_object_get(m, "content"), add_words, &n);
	}
	return n;
}

static json_t *
last_user(json_t *messages)
{
	size_t i;
	json_t *m;
	const char *role;

	for (i = json_array_size(messages); i > 0; i--) {
		m = json_array_get(messages, i - 1);
		role = json_string_value(json_object_get(m, "role"));
		if (role != NULL && strcmp(role, "user") == 0)
			return json_object_get(m, "content");
	}
	return NULL;
}

void
find_tool_phrase(const char *s, void *arg)
{
	if (strstr(s, "call a tool") != NULL)
		*(int *)arg = 1;
}

/* --- replies -------------------------------------------------------------- */

void
add_header(struct reply *r, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (r->nh >= MAX_HEADERS)
		return;
	snprintf(r->hname[r->nh], sizeof(r->hname[0]), "%s", name);
	va_start(ap, fmt);
	vsnprintf(r->hval[r->nh], sizeof(r->hval[0]), fmt, ap);
	va_end(ap);
	r->nh++;
}

/* Sets the body to prefix + JSON of j; takes j. */
void
reply_json(struct reply *r, int status, json_t *j, const char *prefix)
{
	char *s = json_dumps(j, DUMP_FLAGS);
	size_t pl = strlen(prefix), sl = s != NULL ? strlen(s) : 0;

	json_decref(j);
	r->status = status;
	r->ctype = "application/json";
	if ((r->body = malloc(pl + sl + 1)) == NULL) {
		r->drop = 1;
		free(s);
		return;
	}
	memcpy(r->body, prefix, pl);
	if (s != NULL)
		memcpy(r->body + pl, s, sl);
	r->body[pl + sl] = '\0';
	r->len = pl + sl;
	free(s);
}

/* OpenAI error body; OpenRouter's has the status as a numeric code. */
static void
reply_error(struct reply *r, const struct opts *o, int status, const char *type,
    const char *code, const char *param, const char *msg)
{
	json_t *e;

	if (o != NULL && o->flavor == FL_OPENROUTER)
		e = json_pack("{s:i,s:s,s:{}}", "code", status, "message", msg,
		    "metadata");
	else
		e = json_pack("{s:s,s:s,s:s?,s:s?}", "message", msg, "type",
		    type, "param", param, "code", code);
	reply_json(r, status, json_pack("{s:o}", "error", e), "");
}

void
mask_key(const char *k, char *out, size_t outlen)
{
	size_t n = strlen(k);

	/* Like OpenAI: a prefix and the last four; short keys not at all. */
	if (n >= 12)
		snprintf(out, outlen, "%.5s****%s", k, k + n - 4);
	else
		snprintf(out, outlen, "****");
}

/* The last 4 characters of a key (all of a shorter one); NULL for none. */
static const char *
key_label(const char *k)
{
	size_t n = k != NULL ? strlen(k) : 0;

	return n == 0 ? NULL : n > 4 ? k + n - 4 : k;
}

/* The key of "Authorization: Bearer KEY", or NULL. */
static const char *
bearer(struct MHD_Connection *conn)
{
	const char *a = MHD_lookup_connection_value(
	    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

	return a != NULL && strncmp(a, "Bearer ", 7) == 0 ? a + 7 : NULL;
}

static const struct xkey *
xkey_find(const char *key)
{
	int i;

	for (i = 0; key != NULL && i < nxkeys; i++)
		if (strcmp(xkeys[i].key, key) == 0)
			return &xkeys[i];
	return NULL;
}

/* The -k key and every -x key are accepted, whatever the wire. */
int
key_accepted(const char *key)
{
	return key != NULL &&
	    (strcmp(key, api_key) == 0 || xkey_find(key) != NULL ||
		or_key_accepted(key));
}

/* OpenAI's 401 for a missing, wrong or revoked key. */
static void
reply_bad_key(struct reply *r, const struct opts *o, const char *key)
{
	char masked[64], msg[256];

	if (key == NULL || *key == '\0') {
		reply_error(r, o, 401, "invalid_request_error",
		    "invalid_api_key", NULL,
		    "You didn't provide an API key. You need to provide your "
		    "API key in an Authorization header using Bearer auth "
		    "(i.e. Authorization: Bearer YOUR_KEY).");
		return;
	}
	mask_key(key, masked, sizeof(masked));
	snprintf(msg, sizeof(msg),
	    "Incorrect API key provided: %s. You can find your API key at "
	    "https://platform.openai.com/account/api-keys.",
	    masked);
	reply_error(
	    r, o, 401, "invalid_request_error", "invalid_api_key", NULL, msg);
}

/* --- streams -------------------------------------------------------------- */

void
st_add(struct stream *st, char *data, size_t len, int delay)
{
	struct seg *ns;

	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 32;
		if ((ns = realloc(st->segs, st->cap * sizeof(*ns))) == NULL) {
			free(data);
			return;
		}
		st->segs = ns;
	}
	st->segs[st->n].data = data;
	st->segs[st->n].len = len;
	st->segs[st->n].delay = delay;
	st->n++;
}

static void
st_comment(struct stream *st, const char *text)
{
	char *s;

	if (asprintf(&s, ": %s\n\n", text) >= 0)
		st_add(st, s, strlen(s), 0);
}

struct stream *
st_new(const struct opts *o)
{
	struct stream *st = calloc(1, sizeof(*st));

	if (st != NULL) {
		st->pace = o->pace;
		st->chunk_bytes = o->chunk_bytes;
	}
	return st;
}

/* One SSE event; every event after the first waits pace ms. */
void
st_event(struct stream *st, const char *name, json_t *j, const char *sep)
{
	char *js = json_dumps(j, DUMP_FLAGS), *s;
	int n;

	json_decref(j);
	if (js == NULL)
		return;
	if (name != NULL)
		n = asprintf(&s, "event: %s\ndata: %s%s", name, js, sep);
	else
		n = asprintf(&s, "data: %s%s", js, sep);
	if (n >= 0)
		st_add(st, s, (size_t)n, st->ndata++ > 0 ? st->pace : 0);
	free(js);
}

static void
st_data(struct stream *st, json_t *j)
{
	st_event(st, NULL, j, "\n\n");
}

/* A 200 SSE answer with the stream st (NULL: out of memory, drop). */
void
stream_reply_set(struct reply *r, struct stream *st)
{
	if (st == NULL) {
		r->drop = 1;
		return;
	}
	r->status = MHD_HTTP_OK;
	r->ctype = "text/event-stream; charset=utf-8";
	r->st = st;
	add_header(r, "Cache-Control", "no-cache");
}

static void
st_done(struct stream *st)
{
	char *s = strdup("data: [DONE]\n\n");

	if (s != NULL)
		st_add(st, s, strlen(s), st->pace);
}

void
st_free(void *cls)
{
	struct stream *st = cls;
	size_t i;

	for (i = 0; i < st->n; i++)
		free(st->segs[i].data);
	free(st->segs);
	free(st);
}

static ssize_t
st_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct seg *sg;
	size_t n;

	if (__atomic_load_n(&stopping, __ATOMIC_RELAXED))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (st->cur == st->n)
		return st->abort_end ? MHD_CONTENT_READER_END_WITH_ERROR
				     : MHD_CONTENT_READER_END_OF_STREAM;
	sg = &st->segs[st->cur];
	if (!st->delayed) {
		sleep_ms(sg->delay);
		st->delayed = 1;
	}
	n = sg->len - st->off;
	if (st->chunk_bytes > 0 && n > (size_t)st->chunk_bytes)
		n = (size_t)st->chunk_bytes;
	if (n > max)
		n = max;
	memcpy(buf, sg->data + st->off, n);
	st->off += n;
	if (st->off == sg->len) {
		st->cur++;
		st->off = 0;
		st->delayed = 0;
	}
	return (ssize_t)n;
}

/* --- chat and completions ------------------------------------------------- */

/* The i-th word (0-based) of the reply: "mock reply word1 word2 ...". */
void
reply_word(int i, char *out, size_t outlen)
{
	if (i == 0)
		snprintf(out, outlen, "mock");
	else if (i == 1)
		snprintf(out, outlen, "reply");
	else
		snprintf(out, outlen, "word%d", i - 1);
}

/* n words from word(), space-separated; the caller frees. */
char *
join_words(int n, int reasoning)
{
	char *s = calloc(1, (size_t)n * 24 + 1), w[24];
	int i;

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (reasoning)
			snprintf(w, sizeof(w), "think%d", i + 1);
		else
			reply_word(i, w, sizeof(w));
		if (i > 0)
			strcat(s, " ");
		strcat(s, w);
	}
	return s;
}

const char *const tool_args[] = {
    "{\"location\":", " \"Paris\",", " \"unit\":", " \"celsius\"}"};

static const char *
reasoning_key(const struct call *k)
{
	return k->o->flavor == FL_OPENROUTER ? "reasoning"
					     : "reasoning_content";
}

static json_t *
usage_json(const struct call *k)
{
	int comp = (k->tool ? TOOL_WORDS : k->nwords) + k->reasoning;
	int cached = k->o->cached < k->prompt ? k->o->cached : k->prompt;
	json_t *u;

	u = json_pack("{s:i,s:i,s:i,s:{s:i,s:i},s:{s:i,s:i,s:i,s:i}}",
	    "prompt_tokens", k->prompt, "completion_tokens", comp,
	    "total_tokens", k->prompt + comp, "prompt_tokens_details",
	    "cached_tokens", cached, "audio_tokens", 0,
	    "completion_tokens_details", "reasoning_tokens", k->reasoning,
	    "audio_tokens", 0, "accepted_prediction_tokens", 0,
	    "rejected_prediction_tokens", 0);
	/* OpenRouter's name for cache writes; only when scripted. */
	if (k->o->cache_write > 0)
		json_object_set_new(json_object_get(u, "prompt_tokens_details"),
		    "cache_write_tokens",
		    json_integer(k->o->cache_write < k->prompt - cached
			    ? k->o->cache_write
			    : k->prompt - cached));
	if (k->o->flavor == FL_DEEPSEEK) {
		json_object_set_new(
		    u, "prompt_cache_hit_tokens", json_integer(cached));
		json_object_set_new(u, "prompt_cache_miss_tokens",
		    json_integer(k->prompt - cached));
	} else if (k->o->flavor == FL_OPENROUTER) {
		json_t *cost = or_usage_cost(k->prompt, comp);

		if (cost != NULL)
			json_object_set_new(u, "cost", cost);
		json_object_set_new(u, "is_byok", json_false());
	}
	return u;
}

static const char *
finish_reason(const struct call *k)
{
	if (k->tool)
		return "tool_calls";
	return k->length ? "length" : "stop";
}

/* id, object, created, model and the flavour's extra top-level fields. */
static json_t *
base_obj(const struct call *k, const char *object)
{
	json_t *j = json_pack("{s:s,s:s,s:I,s:s}", "id", k->id, "object",
	    object, "created", k->created, "model", k->model);

	if (k->kind == K_CHAT)
		json_object_set_new(
		    j, "system_fingerprint", json_string("fp_mock"));
	if (k->o->flavor == FL_OPENROUTER)
		json_object_set_new(j, "provider", json_string("MockProvider"));
	return j;
}

static json_t *
tool_call_json(const struct call *k, int streaming)
{
	json_t *tc =
	    json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", "call_mock_0", "type",
		"function", "function", "name", k->tool_name, "arguments", "");
	char *args;
	int i;

	if (streaming) {
		json_object_set_new(tc, "index", json_integer(0));
		return tc;
	}
	args = calloc(1, 128);
	for (i = 0; args != NULL && i < TOOL_WORDS; i++)
		strcat(args, tool_args[i]);
	json_object_set_new(json_object_get(tc, "function"), "arguments",
	    json_string(args != NULL ? args : ""));
	free(args);
	return tc;
}

/* A stream chunk with one choice; takes delta (chat) or text (legacy). */
static json_t *
chunk(const struct call *k, json_t *delta, const char *finish)
{
	json_t *j, *choice;

	if (k->kind == K_CHAT) {
		j = base_obj(k, "chat.completion.chunk");
		choice = json_pack("{s:i,s:o,s:n,s:s?}", "index", 0, "delta",
		    delta, "logprobs", "finish_reason", finish);
	} else {
		j = base_obj(k, "text_completion");
		choice = json_pack("{s:O,s:i,s:n,s:s?}", "text",
		    json_object_get(delta, "text"), "index", 0, "logprobs",
		    "finish_reason", finish);
		json_decref(delta);
	}
	if (finish != NULL && k->o->flavor == FL_OPENROUTER)
		json_object_set_new(
		    choice, "native_finish_reason", json_string(finish));
	json_object_set_new(j, "choices", json_pack("[o]", choice));
	if (k->include_usage)
		json_object_set_new(j, "usage", json_null());
	return j;
}

static json_t *
role_delta(const struct call *k)
{
	if (k->tool)
		return json_pack("{s:s,s:n,s:[o]}", "role", "assistant",
		    "content", "tool_calls", tool_call_json(k, 1));
	if (k->reasoning > 0)
		return json_pack("{s:s,s:n,s:s}", "role", "assistant",
		    "content", reasoning_key(k), "");
	return json_pack(
	    "{s:s,s:s,s:n}", "role", "assistant", "content", "", "refusal");
}

/* The deltas after the role chunk: reasoning, then content or tool args. */
static json_t *
deltas(const struct call *k)
{
	json_t *a = json_array(), *d;
	char w[32], word[24];
	int i;

	for (i = 0; i < k->reasoning; i++) {
		snprintf(w, sizeof(w), "%sthink%d", i ? " " : "", i + 1);
		json_array_append_new(
		    a, json_pack("{s:n,s:s}", "content", reasoning_key(k), w));
	}
	for (i = 0; k->tool && i < TOOL_WORDS; i++)
		json_array_append_new(a,
		    json_pack("{s:[{s:i,s:{s:s}}]}", "tool_calls", "index", 0,
			"function", "arguments", tool_args[i]));
	for (i = 0; !k->tool && i < k->nwords; i++) {
		reply_word(i, word, sizeof(word));
		snprintf(w, sizeof(w), "%s%s", i ? " " : "", word);
		d = json_pack(
		    "{s:s}", k->kind == K_CHAT ? "content" : "text", w);
		if (k->reasoning > 0 && k->kind == K_CHAT)
			json_object_set_new(d, reasoning_key(k), json_null());
		json_array_append_new(a, d);
	}
	return a;
}

static void
st_error_event(struct stream *st, const struct call *k)
{
	static const char msg[] = "The server had an error while processing "
				  "your request. Sorry about that!";
	json_t *j;

	if (k->o->flavor == FL_OPENROUTER) {
		j = chunk(k,
		    json_pack(
			"{s:s}", k->kind == K_CHAT ? "content" : "text", ""),
		    "error");
		json_object_set_new(j, "error",
		    json_pack("{s:s,s:s}", "code", "server_error", "message",
			"Provider disconnected unexpectedly"));
		json_object_del(j, "usage");
	} else {
		j = json_pack("{s:{s:s,s:s,s:n,s:n}}", "error", "message", msg,
		    "type", "server_error", "param", "code");
	}
	st_data(st, j);
}

/* The whole SSE body, scripted by error_at, reset_at and the flavour. */
static void
build_stream(const struct call *k, struct stream *st)
{
	json_t *d = deltas(k), *fin;
	size_t i, n = json_array_size(d);
	int usage = k->include_usage && !k->o->no_usage;

	if (k->o->flavor == FL_OPENROUTER) {
		st_comment(st, "OPENROUTER PROCESSING");
		st_comment(st, "OPENROUTER PROCESSING");
	} else if (k->o->flavor == FL_DEEPSEEK)
		st_comment(st, "keep-alive");
	if (k->kind == K_CHAT)
		st_data(st, chunk(k, role_delta(k), NULL));
	for (i = 0; i <= n; i++) {
		if ((int)i == k->o->error_at) {
			st_error_event(st, k);
			json_decref(d);
			return;
		}
		if ((int)i == k->o->reset_at) {
			st->abort_end = 1;
			json_decref(d);
			return;
		}
		if (i == n)
			break;
		st_data(st, chunk(k, json_incref(json_array_get(d, i)), NULL));
		if (i == 0 && k->o->flavor == FL_DEEPSEEK)
			st_comment(st, "keep-alive");
	}
	json_decref(d);
	fin = chunk(k,
	    k->kind == K_CHAT ? json_object() : json_pack("{s:s}", "text", ""),
	    finish_reason(k));
	/* DeepSeek puts usage on the finish chunk, the others send one more. */
	if (usage && k->o->flavor == FL_DEEPSEEK)
		json_object_set_new(fin, "usage", usage_json(k));
	st_data(st, fin);
	if (usage && k->o->flavor != FL_DEEPSEEK) {
		fin = base_obj(k,
		    k->kind == K_CHAT ? "chat.completion.chunk"
				      : "text_completion");
		json_object_set_new(fin, "choices", json_array());
		json_object_set_new(fin, "usage", usage_json(k));
		st_data(st, fin);
	}
	st_done(st);
}

static void
stream_reply(const struct call *k, struct reply *r)
{
	struct stream *st = st_new(k->o);

	if (st != NULL)
		build_stream(k, st);
	stream_reply_set(r, st);
}

/*
 * A 200 whose body is not JSON a parser accepts (corrupt=N, non-stream):
 * 1 cut short, 2 a 0xff byte in the message text, 3 a lone surrogate
 * escape there, 4 an integer too big for 64 bits in usage.
 */
void
corrupt_body(
    struct reply *r, int how, const char *text_key, const char *count_key)
{
	char *p = r->body != NULL ? strstr(r->body, text_key) : NULL;
	char *u = r->body != NULL ? strstr(r->body, count_key) : NULL;
	size_t pn = strlen(text_key), un = strlen(count_key);

	if (how == 1 && r->len > 5)
		r->body[r->len -= 5] = '\0';
	else if (how == 2 && p != NULL && p[pn] != '"')
		p[pn] = (char)0xff;
	else if (how == 3 && p != NULL && strlen(p + pn) > 6)
		memcpy(p + pn, "\\ud800", 6);
	else if (how == 4 && u != NULL && strlen(u + un) > 20)
		memcpy(u + un, "99999999999999999999", 20);
}

static void
whole_reply(const struct call *k, struct reply *r)
{
	json_t *j, *msg, *choice;
	char *text = join_words(k->nwords, 0), *rtext;

	if (k->kind == K_CHAT) {
		j = base_obj(k, "chat.completion");
		if (k->tool)
			msg = json_pack("{s:s,s:n,s:[o],s:n,s:[]}", "role",
			    "assistant", "content", "tool_calls",
			    tool_call_json(k, 0), "refusal", "annotations");
		else
			msg = json_pack("{s:s,s:s,s:n,s:[]}", "role",
			    "assistant", "content", text ? text : "", "refusal",
			    "annotations");
		if (k->reasoning > 0) {
			rtext = join_words(k->reasoning, 1);
			json_object_set_new(msg, reasoning_key(k),
			    json_string(rtext ? rtext : ""));
			free(rtext);
		}
		choice = json_pack("{s:i,s:o,s:n,s:s}", "index", 0, "message",
		    msg, "logprobs", "finish_reason", finish_reason(k));
	} else {
		j = base_obj(k, "text_completion");
		choice = json_pack("{s:s,s:i,s:n,s:s}", "text",
		    text ? text : "", "index", 0, "logprobs", "finish_reason",
		    finish_reason(k));
	}
	free(text);
	if (k->o->flavor == FL_OPENROUTER)
		json_object_set_new(choice, "native_finish_reason",
		    json_string(finish_reason(k)));
	json_object_set_new(j, "choices", json_pack("[o]", choice));
	if (!k->o->no_usage)
		json_object_set_new(j, "usage",
		    k->o->empty_usage ? json_object() : usage_json(k));
	/* DeepSeek's queue keep-alive: blank lines before the JSON. */
	reply_json(
	    r, MHD_HTTP_OK, j, k->o->flavor == FL_DEEPSEEK ? "\n\n" : "");
	corrupt_body(r, k->o->corrupt, "\"content\":\"", "\"prompt_tokens\":");
}

/* The 400s OpenAI gives before generating anything; 0, or -1 with r set. */
static int
call_check(struct ctx *c, enum kind kind, struct reply *r)
{
	json_t *b = c->body, *so = json_object_get(b, "stream_options");
	const char *param = NULL, *msg = NULL;

	if (!json_is_string(json_object_get(b, "model"))) {
		param = "model";
		msg = "you must provide a model parameter";
	} else if (kind == K_CHAT &&
	    !json_is_array(json_object_get(b, "messages"))) {
		param = "messages";
		msg = "Missing required parameter: 'messages'.";
	} else if (kind == K_COMPLETION &&
	    json_object_get(b, "prompt") == NULL) {
		param = "prompt";
		msg = "Missing required parameter: 'prompt'.";
	}
	if (msg != NULL) {
		reply_error(r, &c->o, 400, "invalid_request_error",
		    "missing_required_parameter", param, msg);
		return -1;
	}
	if (so != NULL && !json_is_null(so) &&
	    !json_is_true(json_object_get(b, "stream"))) {
		reply_error(r, &c->o, 400, "invalid_request_error",
		    "invalid_value", "stream_options",
		    "The 'stream_options' parameter is only allowed when "
		    "'stream' is enabled.");
		return -1;
	}
	return 0;
}

/* Fixes every count of a checked request before any output. */
static void
call_init(struct ctx *c, enum kind kind, struct call *k)
{
	json_t *b = c->body, *so, *cap, *tools, *messages;
	int limit = kind == K_COMPLETION ? LEGACY_MAX_TOKENS : -1;
	int phrase = 0;
	const char *prefix;

	memset(k, 0, sizeof(*k));
	k->o = &c->o;
	k->kind = kind;
	k->model = json_string_value(json_object_get(b, "model"));
	messages = json_object_get(b, "messages");
	so = json_object_get(b, "stream_options");
	k->stream = json_is_true(json_object_get(b, "stream"));
	k->include_usage =
	    k->stream && json_is_true(json_object_get(so, "include_usage"));
	if ((cap = json_object_get(b, "max_completion_tokens")) == NULL ||
	    json_is_null(cap))
		cap = json_object_get(b, "max_tokens");
	if (json_is_integer(cap) && json_integer_value(cap) >= 0)
		limit = (int)json_integer_value(cap);
	k->nwords = c->o.words;
	if (limit >= 0 && limit < k->nwords) {
		k->nwords = limit;
		k->length = 1;
	}
	k->reasoning = kind == K_CHAT ? c->o.reasoning : 0;
	k->prompt = kind == K_CHAT ? chat_prompt_tokens(messages)
				   : count_tokens(json_object_get(b, "prompt"));
	tools = json_object_get(b, "tools");
	if (kind == K_CHAT && json_array_size(tools) > 0) {
		walk_text(last_user(messages), find_tool_phrase, &phrase);
		k->tool = phrase || c->o.tool_call;
		k->tool_name = json_string_value(json_object_get(
		    json_object_get(json_array_get(tools, 0), "function"),
		    "name"));
		if (k->tool_name == NULL)
			k->tool_name = "tool";
	}
	if (c->o.flavor == FL_OPENROUTER)
		prefix = "gen-mock";
	else
		prefix = kind == K_CHAT ? "chatcmpl-mock" : "cmpl-mock";
	snprintf(k->id, sizeof(k->id), "%s%lu", prefix, next_seq());
	k->created = (json_int_t)time(NULL);
}

static void
h_generate(struct ctx *c, struct reply *r, enum kind kind)
{
	struct call k;

	if (call_check(c, kind, r) == -1)
		return;
	call_init(c, kind, &k);
	/* A reset_at without a stream has nothing to cut: drop it whole. */
	if (c->o.reset_at >= 0 && !k.stream) {
		r->drop = 1;
		return;
	}
	if (k.stream)
		stream_reply(&k, r);
	else
		whole_reply(&k, r);
}

static void
h_chat(struct ctx *c, struct reply *r)
{
	h_generate(c, r, K_CHAT);
}

static void
h_completions(struct ctx *c, struct reply *r)
{
	h_generate(c, r, K_COMPLETION);
}

/* --- embeddings and models ------------------------------------------------ */

static uint32_t
fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void
b64(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
	    "tuvwxyz0123456789+/";
	size_t i;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		*out++ = tab[(v >> 18) & 63];
		*out++ = tab[(v >> 12) & 63];
		*out++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		*out++ = i + 2 < n ? tab[v & 63] : '=';
	}
	*out = '\0';
}

/* Deterministic vector in [-1, 1], 3 decimals, from a hash of the item. */
static json_t *
embed_vector(json_t *item, int dims, int base64)
{
	char *s = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY), *enc;
	uint32_t h = fnv1a(s != NULL ? s : ""), x;
	unsigned char *raw = malloc((size_t)dims * 4);
	json_t *vec = json_array();
	double v;
	float f;
	int i;

	free(s);
	for (i = 0; raw != NULL && i < dims; i++) {
		x = h ^ ((uint32_t)(i + 1) * 2654435761u);
		x ^= x >> 15;
		x *= 2246822519u;
		x ^= x >> 13;
		v = (double)((int)(x % 2001) - 1000) / 1000.0;
		f = (float)v;
		json_array_append_new(vec, json_real(v));
		memcpy(raw + (size_t)i * 4, &f, 4); /* x86/arm: LE */
	}
	if (base64 && raw != NULL &&
	    (enc = malloc(((size_t)dims * 4 + 2) / 3 * 4 + 1)) != NULL) {
		b64(raw, (size_t)dims * 4, enc);
		json_decref(vec);
		vec = json_string(enc);
		free(enc);
	}
	free(raw);
	return vec;
}

static void
h_embeddings(struct ctx *c, struct reply *r)
{
	json_t *in = json_object_get(c->body, "input"), *items, *data, *it;
	json_t *dj = json_object_get(c->body, "dimensions");
	const char *model =
	    json_string_value(json_object_get(c->body, "model"));
	const char *fmt =
	    json_string_value(json_object_get(c->body, "encoding_format"));
	int dims = EMBED_DIMS, tokens = 0;
	size_t i;

	if (json_is_integer(dj) && json_integer_value(dj) > 0 &&
	    json_integer_value(dj) <= 4096)
		dims = (int)json_integer_value(dj);
	if (model == NULL || in == NULL ||
	    (json_is_array(in) && json_array_size(in) == 0) ||
	    (json_is_string(in) && json_string_length(in) == 0)) {
		reply_error(r, &c->o, 400, "invalid_request_error",
		    "invalid_value", model == NULL ? "model" : "input",
		    model == NULL ? "you must provide a model parameter"
				  : "'$.input' is invalid.");
		return;
	}
	/* A string or a token array is one item; other arrays a list. */
	if (json_is_string(in) ||
	    (json_is_array(in) && json_is_integer(json_array_get(in, 0))))
		items = json_pack("[O]", in);
	else
		items = json_incref(in);
	data = json_array();
	for (i = 0; i < json_array_size(items); i++) {
		it = json_array_get(items, i);
		tokens += count_tokens(it);
		json_array_append_new(data,
		    json_pack("{s:s,s:i,s:o}", "object", "embedding", "index",
			(int)i, "embedding",
			embed_vector(it, dims,
			    fmt != NULL && strcmp(fmt, "base64") == 0)));
	}
	json_decref(items);
	reply_json(r, 200,
	    json_pack("{s:s,s:o,s:s,s:{s:i,s:i}}", "object", "list", "data",
		data, "model", model, "usage", "prompt_tokens", tokens,
		"total_tokens", tokens),
	    "");
}

static const struct model {
	const char *id;
	const char *owner;
	json_int_t created;
} models[] = {
    {"gpt-4o-mini", "system", 1721172741},
    {"gpt-4o", "system", 1715367049},
    {"text-embedding-3-small", "system", 1705948997},
    {"deepseek-chat", "deepseek", 1735689600},
    {"deepseek-reasoner", "deepseek", 1737331200},
    {"openai/gpt-4o", "openai", 1715367049},
    {"mock-model", "mock", 1735689600},
};
#define NMODELS (sizeof(models) / sizeof(models[0]))

static json_t *
model_json(const struct model *m)
{
	return json_pack("{s:s,s:s,s:I,s:s}", "id", m->id, "object", "model",
	    "created", m->created, "owned_by", m->owner);
}

static void
h_models(struct ctx *c, struct reply *r)
{
	json_t *data = json_array();
	size_t i;

	/* OpenRouter's list (under /api/v1) has its own shape. */
	if (strncmp(c->path, "/api/v1/", 8) == 0) {
		json_decref(data);
		h_or_models(c, r);
		return;
	}

	for (i = 0; i < NMODELS; i++)
		json_array_append_new(data, model_json(&models[i]));
	reply_json(
	    r, 200, json_pack("{s:s,s:o}", "object", "list", "data", data), "");
}

static void
h_model(struct ctx *c, struct reply *r)
{
	char msg[256];
	size_t i;

	for (i = 0; i < NMODELS; i++)
		if (strcmp(models[i].id, c->tail) == 0) {
			reply_json(r, 200, model_json(&models[i]), "");
			return;
		}
	snprintf(msg, sizeof(msg),
	    "The model `%.100s` does not exist or you do not have access to "
	    "it.",
	    c->tail);
	reply_error(r, &c->o, 404, "invalid_request_error", "model_not_found",
	    NULL, msg);
}

/* --- the request log ------------------------------------------------------ */

static const char *const logged_headers[] = {"authorization", "x-api-key",
    "x-goog-api-key", "content-type", "x-title", "x-openrouter-title",
    "http-referer", "x-mock", "accept", "accept-encoding", "user-agent",
    "openai-organization", "openai-project", "anthropic-version",
    "anthropic-beta", "x-goog-api-client"};
/* The first three carry keys: logged masked. */
#define SECRET_HEADERS 3
/* The prompt is summarized (n_messages), not copied: it can be large. */
static const char *const unlogged_fields[] = {
    "messages", "prompt", "input", "contents"};

static int
logged_field(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(unlogged_fields) / sizeof(unlogged_fields[0]);
	     i++)
		if (strcmp(name, unlogged_fields[i]) == 0)
			return 0;
	return 1;
}

static json_t *
masked_json(const char *val)
{
	char masked[64];

	mask_key(val, masked, sizeof(masked));
	return json_string(masked);
}

static json_t *
log_headers(const struct ctx *c)
{
	json_t *h = json_object();
	const char *val;
	char masked[64];
	size_t i;

	for (i = 0; i < sizeof(logged_headers) / sizeof(logged_headers[0]);
	     i++) {
		val = MHD_lookup_connection_value(
		    c->conn, MHD_HEADER_KIND, logged_headers[i]);
		if (val == NULL)
			continue;
		if (i == 0 && strncmp(val, "Bearer ", 7) == 0) {
			mask_key(val + 7, masked, sizeof(masked));
			json_object_set_new(h, logged_headers[i],
			    json_sprintf("Bearer %s", masked));
		} else if (i == 0)
			json_object_set_new(
			    h, logged_headers[i], json_string("****"));
		else if (i < SECRET_HEADERS)
			json_object_set_new(
			    h, logged_headers[i], masked_json(val));
		else
			json_object_set_new(h, logged_headers[i],
			    json_stringn(val, strlen(val)));
	}
	return h;
}

/* Gemini's ?alt= and ?key= (masked), or NULL when neither was sent. */
static json_t *
log_query(const struct ctx *c)
{
	const char *alt =
	    MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "alt");
	const char *key =
	    MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, "key");
	json_t *q;

	if (alt == NULL && key == NULL)
		return NULL;
	q = json_object();
	if (alt != NULL)
		json_object_set_new(q, "alt", json_string(alt));
	if (key != NULL)
		json_object_set_new(q, "key", masked_json(key));
	return q;
}

/* A content part's kind: its "type", else its first member (Gemini). */
static const char *
part_kind(json_t *p)
{
	const char *type = json_string_value(json_object_get(p, "type")), *key;
	json_t *v;

	if (type != NULL)
		return type;
	if (json_is_true(json_object_get(p, "thought")))
		return "thought";
	json_object_foreach(p, key, v)
		if (strcmp(key, "thoughtSignature") != 0)
			return key;
	return "?";
}

/*
 * "role:kind,kind" per message, e.g. "user:text,image_url",
 * "assistant:tool_use", "tool:string", "model:functionCall": what a
 * translation sent, without the text. Anthropic/OpenAI content, Gemini parts.
 */
static json_t *
message_shape(json_t *messages)
{
	json_t *a = json_array(), *m, *ct;
	const char *role;
	char buf[256];
	size_t i, j, n;

	for (i = 0; i < json_array_size(messages); i++) {
		m = json_array_get(messages, i);
		role = json_string_value(json_object_get(m, "role"));
		n = (size_t)snprintf(buf, sizeof(buf), "%s:", role ? role : "");
		if ((ct = json_object_get(m, "content")) == NULL)
			ct = json_object_get(m, "parts");
		if (json_is_string(ct) && n < sizeof(buf))
			n += (size_t)snprintf(
			    buf + n, sizeof(buf) - n, "string");
		for (j = 0; j < json_array_size(ct) && n < sizeof(buf); j++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
			    j ? "," : "", part_kind(json_array_get(ct, j)));
		if (json_object_get(m, "tool_calls") != NULL && n < sizeof(buf))
			snprintf(buf + n, sizeof(buf) - n, "%stool_calls",
			    json_is_string(ct) || json_array_size(ct) ? ","
								      : "");
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

/* cache_control members anywhere in v (Anthropic prompt caching). */
static int
count_cache_control(json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;
	int n = 0;

	json_object_foreach(v, key, x)
		n += (strcmp(key, "cache_control") == 0) +
		    count_cache_control(x);
	for (i = 0; json_is_array(v) && i < json_array_size(v); i++)
		n += count_cache_control(json_array_get(v, i));
	return n;
}

static json_t *
log_entry(const struct ctx *c, const struct reply *r)
{
	json_t *e, *b = json_object(), *v, *q;
	const char *key, *member;
	const struct wire *w = c->wire != NULL ? c->wire : &wire_openai;
	int n;

	json_object_foreach(c->body, key, v)
		if (logged_field(key))
			json_object_set(b, key, v);
	member = w->prompt_member;
	if ((v = json_object_get(c->body, member)) != NULL) {
		json_object_set_new(b, "n_messages",
		    json_integer((json_int_t)json_array_size(v)));
		json_object_set_new(b, "has_tools",
		    json_boolean(json_object_get(c->body, "tools") != NULL));
		json_object_set_new(b, "shape", message_shape(v));
	}
	if ((n = count_cache_control(c->body)) > 0)
		json_object_set_new(b, "n_cache_control", json_integer(n));
	e = json_pack("{s:I,s:I,s:s,s:s,s:s?,s:o,s:o,s:I,s:i}", "ts",
	    c->q->t_ms / 1000, "t_ms", c->q->t_ms, "method", c->method, "path",
	    c->path, "key_label", key_label(w->key(c->conn)), "headers",
	    log_headers(c), "body", b, "body_bytes", (json_int_t)c->q->len,
	    "status", r->drop ? 0 : r->status);
	if ((q = log_query(c)) != NULL)
		json_object_set_new(e, "query", q);
	return e;
}

static void
log_request(const struct ctx *c, const struct reply *r)
{
	json_t *e;
	char *line;

	if (!log_keep && log_fp == NULL)
		return;
	e = log_entry(c, r);
	line = json_dumps(e, DUMP_FLAGS);
	pthread_mutex_lock(&log_mu);
	if (log_keep) {
		json_array_append(log_arr, e);
		log_total++;
		/* The oldest go first; the pointer shift is cheap at this size. */
		while (json_array_size(log_arr) > log_max)
			json_array_remove(log_arr, 0);
	}
	if (log_fp != NULL && line != NULL) {
		fprintf(log_fp, "%s\n", line);
		fflush(log_fp);
	}
	pthread_mutex_unlock(&log_mu);
	free(line);
	json_decref(e);
}

static void
h_log_get(struct ctx *c, struct reply *r)
{
	json_t *copy;

	pthread_mutex_lock(&log_mu);
	copy = json_deep_copy(log_arr);
	pthread_mutex_unlock(&log_mu);
	reply_json(r, 200, copy, "");
}

static void
h_log_clear(struct ctx *c, struct reply *r)
{
	pthread_mutex_lock(&log_mu);
	json_array_clear(log_arr);
	if (log_fp != NULL && ftruncate(fileno(log_fp), 0) == -1)
		fprintf(stderr, "mock-provider: truncate log: %s\n",
		    strerror(errno));
	pthread_mutex_unlock(&log_mu);
	reply_json(r, 200, json_pack("{s:b}", "cleared", 1), "");
}

static void
h_health(struct ctx *c, struct reply *r)
{
	unsigned long long total;
	size_t n;

	pthread_mutex_lock(&log_mu);
	n = json_array_size(log_arr);
	total = log_total;
	pthread_mutex_unlock(&log_mu);
	reply_json(r, 200,
	    json_pack("{s:s,s:I,s:I,s:I}", "status", "ok", "requests",
		(json_int_t)n, "requests_total", (json_int_t)total, "log_max",
		(json_int_t)log_max),
	    "");
}

/* --- routing -------------------------------------------------------------- */

typedef void (*handler_fn)(struct ctx *, struct reply *);

static const struct route {
	const char *method;
	const char *path;
	int prefix; /* path is a prefix; the rest goes to ctx.tail */
	/* An API route (key, log, scripts) names its wire; NULL: /_mock. */
	const struct wire *wire;
	handler_fn fn;
} routes[] = {
    {"POST", "/chat/completions", 0, &wire_openai, h_chat},
    {"POST", "/completions", 0, &wire_openai, h_completions},
    {"POST", "/embeddings", 0, &wire_openai, h_embeddings},
    {"GET", "/models", 0, &wire_openai, h_models},
    {"GET", "/models/", 1, &wire_openai, h_model},
    {"POST", "/messages", 0, &wire_anthropic, h_messages},
    {"POST", "/messages/count_tokens", 0, &wire_anthropic, h_count_tokens},
    {"POST", "/models/", 1, &wire_gemini, h_gemini},
    {"GET", "/_mock/requests", 0, NULL, h_log_get},
    {"DELETE", "/_mock/requests", 0, NULL, h_log_clear},
    {"GET", "/_mock/health", 0, NULL, h_health},
    {"PUT", "/_mock/or-models", 0, NULL, h_or_models_set},
    {"DELETE", "/_mock/or-models", 0, NULL, h_or_models_reset},
    /* mock_openrouter.c */
    {"GET", "/key", 0, &wire_openai, h_or_key},
    {"GET", "/generation", 0, &wire_openai, h_or_generation},
    {"GET", "/keys", 0, NULL, h_or_keys_list},
    {"POST", "/keys", 0, NULL, h_or_keys_create},
    {"GET", "/keys/", 1, NULL, h_or_key_one},
    {"PATCH", "/keys/", 1, NULL, h_or_key_one},
    {"DELETE", "/keys/", 1, NULL, h_or_key_one},
    {"POST", "/_mock/or/cost", 0, NULL, h_or_mock_cost},
    {"GET", "/_mock/or/keys", 0, NULL, h_or_mock_keys},
    {"GET", "/_mock/or/query", 0, NULL, h_or_mock_query},
};

/*
 * OpenAI's (and Anthropic's) /v1, OpenRouter's /api/v1, Gemini's /v1beta
 * and DeepSeek's bare paths all work.
 */
static const char *
strip_prefix(const char *url)
{
	static const char *const pre[] = {"/api/v1/", "/v1/", "/v1beta/"};
	size_t i;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
		if (strncmp(url, pre[i], strlen(pre[i])) == 0)
			return url + strlen(pre[i]) - 1;
	return url;
}

static const struct route *
route_find(
    const char *path, const char *method, int *path_known, const char **tail)
{
	size_t i, n;

	*path_known = 0;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		n = strlen(routes[i].path);
		if (routes[i].prefix) {
			/* "/models/" needs an id after it. */
			if (strncmp(path, routes[i].path, n) != 0 ||
			    path[n] == '\0')
				continue;
		} else if (strcmp(path, routes[i].path) != 0)
			continue;
		*path_known = 1;
		if (strcmp(method, routes[i].method) == 0) {
			*tail = path + n;
			return &routes[i];
		}
	}
	return NULL;
}

/* --- request handling ----------------------------------------------------- */

/* The text that may carry [mock:...] blocks for this endpoint. */
static json_t *
directive_source(json_t *body)
{
	if (json_object_get(body, "messages") != NULL)
		return last_user(json_object_get(body, "messages"));
	if (json_object_get(body, "prompt") != NULL)
		return json_object_get(body, "prompt");
	return json_object_get(body, "input");
}

static const struct err_status {
	int status;
	const char *type;
	const char *code;
	const char *msg;
} err_statuses[] = {
    {400, "invalid_request_error", NULL, "Mock: scripted bad request."},
    {402, "insufficient_quota", "insufficient_balance", "Insufficient Balance"},
    {403, "invalid_request_error", "unsupported_country_region_territory",
	"Country, region, or territory not supported"},
    {404, "invalid_request_error", "model_not_found",
	"The model does not exist or you do not have access to it."},
    {408, "server_error", "timeout", "Request timed out."},
    {429, "requests", "rate_limit_exceeded",
	"Rate limit reached for requests. Please try again later."},
    {500, "server_error", NULL,
	"The server had an error while processing your request. Sorry "
	"about that!"},
    {502, "server_error", "bad_gateway", "Bad gateway."},
    {504, "server_error", "timeout", "Gateway timeout."},
};

static const char html_503[] =
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title>"
    "</head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable"
    "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/* status=503 on every wire: a proxy in front of the provider answers. */
void
reply_html_503(struct reply *r)
{
	r->status = 503;
	r->ctype = "text/html";
	r->body = strdup(html_503);
	r->len = r->body != NULL ? strlen(r->body) : 0;
}

void
retry_headers(struct reply *r, const struct opts *o)
{
	if (o->retry_after >= 0) {
		add_header(r, "Retry-After", "%d", o->retry_after);
		add_header(r, "retry-after-ms", "%d", o->retry_after * 1000);
	}
}

static void
scripted_error(struct ctx *c, struct reply *r)
{
	const struct opts *o = &c->o;
	size_t i;
	char msg[64];

	retry_headers(r, o);
	if (o->status == 503 || (o->status == 0 && o->overloaded)) {
		if (o->status == 503)
			reply_html_503(r);
		else
			reply_error(r, o, 503, "server_error", NULL, NULL,
			    "The engine is currently overloaded, please try "
			    "again later.");
		return;
	}
	if (o->status == 401) {
		/* As for a wrong key: a revoked key gets the same answer. */
		reply_bad_key(r, o, bearer(c->conn));
		return;
	}
	if (o->status == 403 && o->moderation) {
		/* OpenRouter's moderation refusal: the input, not the key. */
		reply_json(r, 403,
		    json_pack("{s:{s:i, s:s, s:{s:[s], s:s, s:s, s:s}}}",
			"error", "code", 403, "message",
			"openai/gpt-4o requires moderation on OpenAI. Your "
			"input was flagged for \"harassment\". No credits were "
			"charged.",
			"metadata", "reasons", "harassment", "flagged_input",
			"...", "provider_name", "OpenAI", "model_slug",
			"openai/gpt-4o"),
		    "");
		return;
	}
	if (o->status == 403 && o->revoked) {
		reply_error(r, o, 403, "invalid_request_error",
		    "account_deactivated", NULL,
		    "This key's account has been deactivated "
		    "(account_deactivated).");
		return;
	}
	if (o->status == 429 && o->quota) {
		reply_error(r, o, 429, "insufficient_quota",
		    "insufficient_quota", NULL,
		    "You exceeded your current quota, please check your plan "
		    "and billing details.");
		return;
	}
	if (o->status == 429) {
		/* x-ratelimit-* go out with every reply; these say "empty". */
		add_header(r, "x-ratelimit-remaining-requests", "0");
		add_header(r, "x-ratelimit-reset-requests", "%ds",
		    o->retry_after >= 0 ? o->retry_after : 1);
	}
	for (i = 0; i < sizeof(err_statuses) / sizeof(err_statuses[0]); i++)
		if (err_statuses[i].status == o->status) {
			reply_error(r, o, o->status, err_statuses[i].type,
			    err_statuses[i].code, NULL, err_statuses[i].msg);
			return;
		}
	snprintf(msg, sizeof(msg), "Mock: scripted status %d.", o->status);
	reply_error(r, o, o->status,
	    o->status >= 500 ? "server_error" : "invalid_request_error", NULL,
	    NULL, msg);
}

static void
openai_fail(struct ctx *c, struct reply *r, enum wfail why, const char *msg)
{
	switch (why) {
	case WF_TOO_LARGE:
		reply_error(r, &c->o, 413, "invalid_request_error",
		    "request_too_large", NULL,
		    "Request body too large (limit 16 MiB).");
		break;
	case WF_BAD_JSON:
		reply_error(r, &c->o, 400, "invalid_request_error", NULL, NULL,
		    "We could not parse the JSON body of your request. "
		    "The OpenAI API expects a JSON payload.");
		break;
	case WF_BAD_DIRECTIVE:
		reply_error(r, &c->o, 400, "invalid_request_error",
		    "invalid_value", "X-Mock", msg);
		break;
	}
}

static void
openai_bad_key(struct ctx *c, struct reply *r, const char *key)
{
	reply_bad_key(r, &c->o, key);
}

/* Checks in the provider's order: size, JSON, key, then the directives. */
static int
api_checks(struct ctx *c, struct reply *r)
{
	const struct wire *w = c->wire;
	json_error_t jerr;

	if (c->q->too_large) {
		w->fail(c, r, WF_TOO_LARGE, NULL);
		return 0;
	}
	if (strcmp(c->method, "POST") == 0) {
		c->body = json_loadb(
		    c->q->body != NULL ? c->q->body : "", c->q->len, 0, &jerr);
		if (!json_is_object(c->body)) {
			w->fail(c, r, WF_BAD_JSON, NULL);
			return 0;
		}
		walk_text(w->directive_source(c->body), parse_blocks, &c->o);
	}
	if (!key_accepted(w->key(c->conn))) {
		w->bad_key(c, r, w->key(c->conn));
		return 0;
	}
	if (w->precheck != NULL && !w->precheck(c, r))
		return 0;
	if (c->o.err[0] != '\0') {
		w->fail(c, r, WF_BAD_DIRECTIVE, c->o.err);
		return 0;
	}
	return 1;
}

static void
common_headers(struct reply *r, const struct opts *o)
{
	unsigned long id = next_seq();

	add_header(r, "x-request-id", "req_mock_%lu", id);
	add_header(r, "openai-processing-ms", "%d", o->latency);
	add_header(r, "openai-version", "2020-10-01");
	add_header(r, "x-ratelimit-limit-requests", "5000");
	add_header(r, "x-ratelimit-limit-tokens", "160000");
	add_header(r, "x-ratelimit-remaining-tokens", "159976");
	add_header(r, "x-ratelimit-reset-tokens", "6m0s");
	if (o->flavor == FL_OPENROUTER)
		add_header(r, "X-Generation-Id", "gen-mock%lu", id);
	if (o->status != 429) {
		add_header(r, "x-ratelimit-remaining-requests", "4999");
		add_header(r, "x-ratelimit-reset-requests", "12ms");
	}
}

const struct wire wire_openai = {
    .key = bearer,
    .fail = openai_fail,
    .bad_key = openai_bad_key,
    .precheck = NULL,
    .scripted = scripted_error,
    .directive_source = directive_source,
    .headers = common_headers,
    .prompt_member = "messages",
};

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct reply *r)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int i;

	if (r->drop) {
		free(r->body);
		if (r->st != NULL)
			st_free(r->st);
		return MHD_NO; /* MHD closes the connection unanswered */
	}
	if (r->st != NULL)
		resp = MHD_create_response_from_callback(
		    MHD_SIZE_UNKNOWN, BLOCK_SIZE, st_read, r->st, st_free);
	else
		resp = MHD_create_response_from_buffer(
		    r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		if (r->st != NULL)
			st_free(r->st);
		else
			free(r->body);
		return MHD_NO;
	}
	if (r->ctype != NULL)
		MHD_add_response_header(
		    resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
	for (i = 0; i < r->nh; i++)
		MHD_add_response_header(resp, r->hname[i], r->hval[i]);
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * Requests served before this one on its connection (counted in the
 * connection's socket context, see on_connection), then counts this one.
 * Not 0: the client kept the connection alive and reused it.
 */
static int
conn_served(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;
	int *n;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci == NULL || (n = ci->socket_context) == NULL)
		return 0;
	return (*n)++;
}

/* MHD_OPTION_NOTIFY_CONNECTION: a request counter per connection. */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = calloc(1, sizeof(int));
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
	}
}

static enum MHD_Result
dispatch(struct MHD_Connection *conn, struct req *q, const char *url,
    const char *method)
{
	struct ctx c;
	struct reply r;
	const struct route *rt;
	const struct xkey *xk;
	const char *x;
	int known, reused;
	char msg[160];
	enum MHD_Result ret;

	memset(&c, 0, sizeof(c));
	memset(&r, 0, sizeof(r));
	reused = conn_served(conn);
	c.conn = conn;
	c.q = q;
	c.method = method;
	c.path = url;
	opts_init(&c.o);
	rt = route_find(
	    strncmp(url, "/_mock/", 7) == 0 ? url : strip_prefix(url), method,
	    &known, &c.tail);
	if (rt == NULL) {
		snprintf(
		    msg, sizeof(msg), "Invalid URL (%s %.100s)", method, url);
		reply_error(&r, NULL, known ? 405 : 404,
		    "invalid_request_error", NULL, NULL, msg);
		return send_reply(conn, &r);
	}
	if (rt->wire == NULL) {
		rt->fn(&c, &r);
		return send_reply(conn, &r);
	}
	c.wire = rt->wire;
	/* A -x key's script goes first, as if it led the X-Mock header. */
	if ((xk = xkey_find(c.wire->key(conn))) != NULL)
		parse_directives(&c.o, xk->directives, strlen(xk->directives));
	if ((x = MHD_lookup_connection_value(
		 conn, MHD_HEADER_KIND, "X-Mock")) != NULL)
		parse_directives(&c.o, x, strlen(x));
	if (api_checks(&c, &r)) {
		if ((c.o.reset && c.o.reset_at < 0) ||
		    (c.o.reset_reused && reused))
			r.drop = 1;
		else if (c.o.status != 0 || c.o.overloaded)
			c.wire->scripted(&c, &r);
		else
			rt->fn(&c, &r);
	}
	c.wire->headers(&r, &c.o);
	log_request(&c, &r);
	sleep_ms(c.o.latency);
	ret = send_reply(conn, &r);
	json_decref(c.body);
	return ret;
}

static void
body_append(struct req *q, const char *data, size_t n)
{
	char *nb;
	size_t ncap;

	if (q->too_large || q->len + n > MAX_BODY) {
		/* Keep reading so the 413 goes to a client still listening. */
		q->too_large = 1;
		return;
	}
	if (q->len + n + 1 > q->cap) {
		ncap = q->cap ? q->cap : 4096;
		while (ncap < q->len + n + 1)
			ncap *= 2;
		if ((nb = realloc(q->body, ncap)) == NULL) {
			q->too_large = 1;
			return;
		}
		q->body = nb;
		q->cap = ncap;
	}
	memcpy(q->body + q->len, data, n);
	q->len += n;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct req *q = *con_cls;

	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL)
			return MHD_NO;
		q->t_ms = now_ms();
		*con_cls = q;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		body_append(q, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(conn, q, url, method);
}

static void
on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	if (q != NULL) {
		free(q->body);
		free(q);
		*con_cls = NULL;
	}
}

/* --- main ----------------------------------------------------------------- */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mock-provider [-p PORT] [-a ADDR] [-k KEY] "
	    "[-x KEY=DIRECTIVES]... [-l LOGFILE] [-n] [-m MAX]\n");
	exit(2);
}

/* -x KEY=DIRECTIVES: the first '=' ends KEY; a bad directive fails now. */
static int
add_xkey(char *arg)
{
	char *eq = strchr(arg, '=');
	const char *err;
	struct opts o;

	if (eq == NULL || eq == arg) {
		fprintf(stderr,
		    "mock-provider: -x %s: expected KEY=DIRECTIVES\n", arg);
		return -1;
	}
	*eq = '\0';
	if (nxkeys == MAX_XKEYS) {
		fprintf(stderr, "mock-provider: more than %d -x options\n",
		    MAX_XKEYS);
		return -1;
	}
	if (xkey_find(arg) != NULL) {
		fprintf(stderr, "mock-provider: -x %s given twice\n", arg);
		return -1;
	}
	opts_init(&o);
	parse_directives(&o, eq + 1, strlen(eq + 1));
	if (o.err[0] != '\0') {
		err = strncmp(o.err, "mock: ", 6) == 0 ? o.err + 6 : o.err;
		fprintf(stderr, "mock-provider: -x %s: %s\n", arg, err);
		return -1;
	}
	xkeys[nxkeys].key = arg;
	xkeys[nxkeys].directives = eq + 1;
	nxkeys++;
	return 0;
}

/* The log tells keys apart by their last 4 characters: they must differ. */
static int
labels_distinct(void)
{
	const char *ki, *kj;
	int i, j;

	for (i = -1; i < nxkeys; i++)
		for (j = i + 1; j < nxkeys; j++) {
			ki = i < 0 ? api_key : xkeys[i].key;
			kj = xkeys[j].key;
			if (strcmp(ki, kj) == 0 ||
			    strcmp(key_label(ki), key_label(kj)) != 0)
				continue;
			fprintf(stderr,
			    "mock-provider: keys %s and %s end alike; the "
			    "request log could not tell them apart\n",
			    ki, kj);
			return 0;
		}
	return 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	const char *addr = "127.0.0.1";
	sigset_t set;
	int ch, sig;
	long port = 0, max;
	char *end;

	while ((ch = getopt(argc, argv, "p:a:k:x:l:m:nh")) != -1) {
		switch (ch) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end != '\0' || port < 0 || port > 65535)
				usage();
			break;
		case 'a':
			addr = optarg;
			break;
		case 'k':
			api_key = optarg;
			break;
		case 'x':
			if (add_xkey(optarg) == -1)
				return 2;
			break;
		case 'l':
			if ((log_fp = fopen(optarg, "a")) == NULL) {
				fprintf(stderr, "mock-provider: %s: %s\n",
				    optarg, strerror(errno));
				return 1;
			}
			break;
		case 'n':
			log_keep = 0;
			break;
		case 'm':
			errno = 0;
			max = strtol(optarg, &end, 10);
			if (*end != '\0' || errno != 0 || max < 1 ||
			    max > LOG_MAX_LIMIT)
				usage();
			log_max = (size_t)max;
			break;
		default:
			usage();
		}
	}
	if (*api_key == '\0') {
		fprintf(stderr, "mock-provider: -k needs a key\n");
		return 2;
	}
	if (!labels_distinct())
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "mock-provider: bad IPv4 address %s\n", addr);
		return 2;
	}
	log_arr = json_array();
	/* Block the stop signals in every thread; main collects them below. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * poll(), not select(): the benchmark holds 1000+ connections, past
	 * FD_SETSIZE; and room for them in the connection limit and backlog.
	 */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
		MHD_USE_ERROR_LOG,
	    (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)8192,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)4096, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "mock-provider: cannot listen on %s:%ld\n",
		    addr, port);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("listening on %s:%u\n", addr,
	    info != NULL ? (unsigned int)info->port : (unsigned int)port);
	fflush(stdout);
	while (sigwait(&set, &sig) != 0)
		;
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	MHD_stop_daemon(d);
	if (log_fp != NULL)
		fclose(log_fp);
	json_decref(log_arr);
	return 0;
}
