/* chat.h: one metered request, shared by h_chat.c, chat_req.c and relay.c */
/* SPDX-License-Identifier: MIT */
#ifndef HTTP_CHAT_H
#define HTTP_CHAT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/buf.h"
#include "domain/credit.h"
#include "domain/limits.h"
#include "domain/op.h"
#include "domain/pricing.h"
#include "domain/upstream.h"
#include "domain/usage.h"
#include "io/http_client.h"
#include "prov/api.h"
#include "prov/prov.h"
#include "prov/sse.h"

struct tg_req;
struct tg_resp;
struct db_conn;

#define IDEM_MAX    64
#define REPLAY_MAX  (1 << 20)  /* bytes of an answer kept for replays */
#define ERRBODY_MAX (64 << 10) /* bytes of an upstream error body read */
#define EVENT_MAX   (4 << 20)  /* one upstream SSE event */

/* What each metered endpoint reads and produces. */
struct ep_def {
	const char *name;  /* usage_records.endpoint */
	const char *input; /* the member holding the prompt */
	int input_types;   /* JX_* the input may be */
	int outputs;	   /* produces completion tokens */
};
extern const struct ep_def chat_eps[EP__MAX];

/*
 * The relay's state (relay.c): the deployment and key being tried, the
 * upstream's answer, and what reached the client.
 */
struct relay {
	const struct deployment *rt; /* the deployment tried last */
	int64_t ukey_id;
	int attempts;
	int64_t retry_after; /* s, when every key of a pool must wait */
	double t_attempt;    /* when the current attempt's request went out */
	struct http_result hr;
	long up_status;
	int relaying; /* upstream answered 200 with an event stream */
	struct buf errbody;
	struct sse_parser sse;
	int saw_done;
	int up_error_event;
	/* what reached the client */
	int started; /* SSE headers sent */
	int delivered;
	size_t delivered_bytes;
	struct buf *said; /* the text relayed, for estimates (estimate.c) */
	int client_gone;
	int replay_over;     /* the answer outgrew REPLAY_MAX: not replayable */
	double t_gone;	     /* when it was found gone: the drain's start */
	int capped;	     /* the stream reached [chat] max_stream_seconds */
	json_t *usage_chunk; /* held back until the cost is known */
	int native;    /* this attempt: the client's own API goes upstream */
	int translate; /* this attempt: the provider's events become chunks */
	struct prov_xlate xl;
	struct api_state as; /* the client's side of a stream (x->api) */
	json_t *held;	     /* native closing events waiting for the cost */
	struct buf named;    /* a chunk renamed to the model asked for */
	double t_first, t_out;
	struct buf replay;
	/*
	 * issue 20: a stream whose settle waits for its answer (an
	 * Idempotency-Key's): its closing events are held here until its
	 * journal line, which carries them, is written (relay_release_tail).
	 */
	struct buf tail;
	int hold_tail;
	/* how it failed */
	enum tg_err fail;
	const char *fail_code;
	const char *fail_msg;
	/*
	 * The most telling failure of the attempts so far: when every
	 * deployment fails, the client hears this one, not merely the last
	 * (a later deployment without keys must not hide a provider's 429).
	 */
	struct {
		int rank; /* 0: none yet */
		enum tg_err fail;
		const char *code;
		const char *msg;
		int64_t retry_after; /* s; 0 none */
	} best;
};

/* One metered request: owned by the handler, lives in the request arena. */
struct call {
	struct tg_req *r;
	struct tg_resp *resp;
	struct db_conn *c;
	enum endpoint ep;
	const char *model;
	int stream;
	int want_usage;		 /* the client asked for the usage chunk */
	int64_t max_out;	 /* completion tokens per choice */
	int64_t default_out;	 /* the cap sent upstream: max_out (0: none) */
	int64_t n;		 /* completions held: n, best_of, times */
	int64_t fee;		 /* nano-USD of allowed parameters' fees */
	int64_t prompt_bound;	 /* body bytes + image tokens */
	int64_t images_low;	 /* image parts with detail low */
	int64_t images_full;	 /* other image parts: the most tiles */
	int64_t image_tokens;	 /* what they are held as */
	char image_part[64];	 /* "messages[i].content[j]" of the first */
	int64_t prompt_estimate; /* for answers without usage */
	struct deployment routes[UPSTREAM_MAX_ROUTES];
	size_t nroutes;
	struct prices p;
	unsigned bp;
	const char *allowed; /* the key's allowed_models (JSON) */
	const char *group;   /* the user's group (limits, commission) */
	struct rate_ticket ticket;
	int64_t credit_limit; /* the key's; < 0 none */
	int64_t hold;	      /* the worst case, reserved as credit */
	struct op op;	      /* the request as the domain sees it */
	struct credit cr;     /* the reservation */
	const char *idem;
	struct token_counts u; /* as the provider reported it */
	double t0;
	int64_t charged;
	int64_t balance_after;
	int estimated;
	enum usage_basis basis;
	const struct api_ops *api; /* the client's API; NULL: OpenAI's */
	json_t *native;		   /* its body in that API (api != NULL) */
	struct relay rl;	   /* the provider's side */
	/* issue 18: openrouter */
	int passthrough; /* an uncatalogued OpenRouter id: billed by usage.cost */
	/* issue 18: convlog (conv_cap.c) */
	int conv;	       /* enum conv_level in force for this request */
	struct buf *conv_text; /* the answer's text at the full level */
};

/*
 * h_chat.c: one metered request, for every API: r->json is the request in
 * OpenAI's chat format (the pivot); api and native (the client's body in its
 * API) when the client speaks another (NULL, NULL: OpenAI's).
 */
enum tg_err chat_metered(struct tg_req *, struct tg_resp *, enum endpoint,
    const struct api_ops *api, json_t *native);
/* The same request's preparation alone (count_tokens): parsed, paid, routed. */
enum tg_err chat_prepare(struct call *, struct tg_req *, struct tg_resp *);

/* chat_req.c: the request, read and checked; who pays and where it goes */
enum tg_err chat_parse(struct call *);
enum tg_err chat_payer(struct call *);
enum tg_err chat_routes(struct call *);
int64_t chat_key_left(struct call *);
void chat_prices_of(const struct deployment *, struct prices *);
/*
 * The database connection, borrowed for a step (key, hold, settle) and given
 * back while the provider works.
 */
enum tg_err chat_db(struct call *);
void chat_db_release(struct call *);

/* meter.c: limits admission, settling and the answers kept for replays */
/* Count the request against its user's and key's limits (429 when over). */
enum tg_err meter_admit(struct call *);
/* Price what the request used and settle its credit, with its usage record. */
enum tg_err meter_settle(
    struct call *, enum usage_status, int http_status, const char *err);
/*
 * Keep the answer on the usage record for an Idempotency-Key's replays;
 * issue 20: an error when the settle that waited for it failed (its hold is
 * left to the sweeper).
 */
enum tg_err meter_keep_replay(
    struct call *, int status, const char *type, const char *body, size_t len);
/* The same for a failed request: its error is replayed too. */
void meter_keep_error(struct call *, enum tg_err);
/*
 * issue 20: the end of a metered request, before its answer goes out: a
 * settle that waited for an answer to keep and got none is written.
 */
enum tg_err meter_finish(struct call *);
/*
 * issue 18: a request refused before any upstream call with rc (TG_ERATE,
 * TG_ECREDIT; others are not refusals and pass) goes to its owner's request
 * log as a record with status refused, through the journal.  Returns rc.
 */
enum tg_err meter_refused(struct call *, enum tg_err rc);

/*
 * issue 18: openrouter (h_openrouter.c).  The deployments after the
 * catalogue's answer rc: on /api/v1/openrouter/ only the OpenRouter
 * provider's; an uncatalogued OpenRouter id with [openrouter]
 * passthrough_unknown on gets that provider (x->passthrough).  Returns rc,
 * or TG_OK for a pass-through.
 */
enum tg_err or_routes(struct call *, enum tg_err rc);
/* A pass-through's hold: passthrough_ceiling, 0 for a :free model. */
int64_t or_hold(const struct call *);
/* usage.cost read exactly from the provider's text (data, n), if it has one. */
void or_cost_exact(struct call *, const char *data, size_t n);
/*
 * The user's own key for rt (provisioning on, rt the OpenRouter provider)
 * into secret: TG_OK, TG_ENOENT (use the pool), or a failure with x->rl.fail
 * set.
 */
enum tg_err or_relay_key(
    struct call *, const struct deployment *rt, char *secret);

/* relay.c: the attempts over x->routes, until one answers or none is left */
void relay_run(struct call *);
/*
 * How to read the answers of the deployment tried last: its provider's
 * ops, or OpenAI's when they are translated to it.
 */
const struct prov_ops *relay_ops(const struct call *);
/* relay_out.c: the client's side */
/* The stream's headers, once (-1: the client is gone). */
int relay_start(struct call *);
/* n bytes to the client, kept for replays; flush ends an event (-1: gone). */
int relay_write(struct call *, const char *p, size_t n, int flush);
/* The closing events held back (hold_tail) to the client now (-1: gone). */
int relay_release_tail(struct call *);
/* One SSE event to the client (-1: the client is gone). */
int relay_send_event(struct call *, const char *data, size_t n);
/* The same with an event name (NULL none): an api_emit_fn, arg the call. */
int relay_emit(void *call, const char *event, const char *data, size_t n);
/*
 * A native answer or event (Anthropic's, Gemini's) made to name model, the
 * catalogue id the client asked for: 1 if it named one, else 0.
 */
int relay_rename_native(json_t *, const char *model);
/* What a client API's codec is told about the metering. */
void relay_api_meta(const struct call *, struct api_meta *);
/* The OpenAI error shape as one SSE event, then the end marker. */
void relay_send_error(struct call *, enum tg_err, const char *msg);

#endif
