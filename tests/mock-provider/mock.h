/* mock.h: what the mock provider's wire files share */
/* SPDX-License-Identifier: MIT */

/*
 * mock_provider.c holds the server, the directives, the request log and the
 * OpenAI wire; mock_anthropic.c and mock_gemini.c the two native wires. A
 * wire is the set of rules that differ before a handler runs: where the key
 * is, the error body, the text that carries [mock:...] blocks.
 */
#ifndef MOCK_H
#define MOCK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#define MAX_HEADERS	  16
#define DUMP_FLAGS	  (JSON_COMPACT | JSON_REAL_PRECISION(10))
#define DEFAULT_REASONING 6

enum flavor { FL_OPENAI, FL_DEEPSEEK, FL_OPENROUTER };

/* safety[=finish|prompt]: a blocked answer (Gemini SAFETY, Anthropic refusal). */
enum safety { SAFETY_NONE, SAFETY_FINISH, SAFETY_PROMPT };

/* Scripted behaviour of one request; -1 means "not set" for the *_at keys. */
struct opts {
	int latency;
	int pace;
	int words;
	int error_at;
	int status;
	int quota;
	int moderation; /* status=403_moderation */
	int revoked;	/* status=403_revoked */
	int retry_after;
	int reset;
	int reset_at;
	int reset_reused; /* drop a request that came on a kept-alive connection */
	int no_usage;
	int empty_usage;
	int corrupt;
	int reasoning;
	int cached; /* cached=N and cache_read=N */
	int chunk_bytes;
	int flavor;
	int cache_write;
	int tool_call;	 /* call the first tool without the phrase */
	int safety;	 /* enum safety */
	int overloaded;	 /* Anthropic 529, Gemini and OpenAI 503 */
	int delta_usage; /* Anthropic message_delta usage: 1 full, 2 nulls */
	char err[160];
};

/* Upload state, one per HTTP request. */
struct req {
	char *body;
	size_t len;
	size_t cap;
	int too_large;
	json_int_t t_ms; /* arrival (headers read), ms since the epoch */
};

/* One piece of a streamed body, written after delay ms. */
struct seg {
	char *data;
	size_t len;
	int delay;
};

struct stream {
	struct seg *segs;
	size_t n;
	size_t cap;
	size_t cur;
	size_t off;
	int delayed;
	int ndata;
	int pace;
	int chunk_bytes;
	int abort_end; /* drop the connection instead of ending cleanly */
};

/* What to answer; built first, logged, then sent after the latency. */
struct reply {
	int status;
	int drop; /* close the connection without a response */
	const char *ctype;
	char *body;
	size_t len;
	struct stream *st;
	int nh;
	char hname[MAX_HEADERS][48];
	char hval[MAX_HEADERS][96];
};

struct wire;

struct ctx {
	struct MHD_Connection *conn;
	struct req *q;
	const char *method;
	const char *path;
	const char *tail; /* path after a prefix route */
	json_t *body;
	struct opts o;
	const struct wire *wire;
};

/* The checks every API request passes, in the order they run. */
enum wfail { WF_TOO_LARGE, WF_BAD_JSON, WF_BAD_DIRECTIVE };

struct wire {
	/* The API key the request carries, or NULL. */
	const char *(*key)(struct MHD_Connection *conn);
	void (*fail)(
	    struct ctx *c, struct reply *r, enum wfail why, const char *msg);
	/* A missing (NULL) or unknown key. */
	void (*bad_key)(struct ctx *c, struct reply *r, const char *key);
	/* After the key: 1 to go on, 0 with r set (NULL: none). */
	int (*precheck)(struct ctx *c, struct reply *r);
	/* status=..., overloaded. */
	void (*scripted)(struct ctx *c, struct reply *r);
	/* The text whose [mock:...] blocks apply. */
	json_t *(*directive_source)(json_t *body);
	void (*headers)(struct reply *r, const struct opts *o);
	/* The prompt member, logged as n_messages only. */
	const char *prompt_member;
};

extern const struct wire wire_openai, wire_anthropic, wire_gemini;

typedef void (*text_fn)(const char *, void *);

unsigned long next_seq(void);
int key_accepted(const char *key);
void mask_key(const char *k, char *out, size_t outlen);
void parse_blocks(const char *s, void *arg);
void walk_text(json_t *v, text_fn fn, void *arg);
int count_words(const char *s);
void add_words(const char *s, void *arg);
void find_tool_phrase(const char *s, void *arg);
void reply_word(int i, char *out, size_t outlen);
char *join_words(int n, int reasoning);
void add_header(struct reply *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void reply_json(struct reply *r, int status, json_t *j, const char *prefix);
void reply_html_503(struct reply *r);
void retry_headers(struct reply *r, const struct opts *o);
struct stream *st_new(const struct opts *o);
void st_add(struct stream *st, char *data, size_t len, int delay);
void st_free(void *cls);
/* One SSE event: "event: NAME\n" when name, "data: JSON" and sep; takes j. */
void st_event(struct stream *st, const char *name, json_t *j, const char *sep);
void stream_reply_set(struct reply *r, struct stream *st);
/*
 * corrupt=N on a non-stream body: 1 cut short by 5 bytes, 2 a 0xff byte
 * and 3 a lone surrogate escape at the start of the string after
 * text_key, 4 twenty digits after count_key.
 */
void corrupt_body(
    struct reply *r, int how, const char *text_key, const char *count_key);

/* The fixed tool arguments and their fragments (one word each). */
extern const char *const tool_args[];
#define TOOL_WORDS 4

/* The native handlers. */
void h_messages(struct ctx *c, struct reply *r);
void h_count_tokens(struct ctx *c, struct reply *r);
void h_gemini(struct ctx *c, struct reply *r);
/* mock_or_models.c: OpenRouter's GET /api/v1/models and /_mock/or-models. */
void h_or_models(struct ctx *c, struct reply *r);
void h_or_models_set(struct ctx *c, struct reply *r);
void h_or_models_reset(struct ctx *c, struct reply *r);

/* mock_openrouter.c: OpenRouter's /key, /generation, key provisioning. */
#define MOCK_OR_PROVISIONING_KEY "sk-or-prov-mock-0123456789abcdef"
int or_key_accepted(const char *key);
/* usage.cost of an OpenRouter-flavoured answer; NULL: none (scripted). */
json_t *or_usage_cost(long long prompt, long long completion);
void h_or_key(struct ctx *c, struct reply *r);
void h_or_generation(struct ctx *c, struct reply *r);
void h_or_keys_create(struct ctx *c, struct reply *r);
void h_or_keys_list(struct ctx *c, struct reply *r);
void h_or_key_one(struct ctx *c, struct reply *r);
void h_or_mock_cost(struct ctx *c, struct reply *r);
void h_or_mock_keys(struct ctx *c, struct reply *r);
void h_or_mock_query(struct ctx *c, struct reply *r);

#endif /* MOCK_H */
