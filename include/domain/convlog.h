/* convlog.h: conversation logs (issue 18): kept through the journal, sealed, listed to their owner */
/* SPDX-License-Identifier: MIT */
#ifndef CONVLOG_H
#define CONVLOG_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/conf.h"
#include "core/crypto.h"
#include "core/tollgate.h"

struct op;
struct db_conn;
struct arena;
struct journal;

/*
 * What is kept of a request, by the lower of the operator's [logging]
 * conversations and the user's own conversation_log (both default off):
 * metadata (model, times, tokens, cost, status, request id, key), or full
 * (also the request's body and the answer's text).  Bodies are capped at
 * CONVLOG_BODY_MAX bytes each (cut at a character; the row says truncated),
 * deflated and sealed (AES-256-GCM under a key derived from the master key,
 * bound to the request id and the user) in the worker, and reach the
 * database through the journal's write-out: no statement on the request
 * path, and an answered request's record survives a crash of its process.
 */
#define CONVLOG_BODY_MAX   (64u << 10)
#define CONVLOG_SEALED_MAX (96u << 10) /* else the caps are halved */

/* The level in force: user_level ("off", "metadata", "full"; NULL off). */
enum conv_level convlog_level(const struct conf *, const char *user_level);
/* "off", "metadata", "full". */
const char *convlog_level_name(enum conv_level);
/* -1 when s is none of them. */
int convlog_level_parse(const char *s);

/* One finished request, as the meter saw it. */
struct convlog_rec {
	enum conv_level level; /* CONV_METADATA or CONV_FULL */
	const char *request_id;
	int64_t user_id, key_id;
	const char *api, *model, *status; /* status: ok, error, client_gone */
	int stream;
	int64_t http_status, prompt, completion, charge, latency_ms;
	double started; /* wall clock, Unix seconds */
	const char *request;
	size_t request_len; /* the body the client sent */
	const char *answer;
	size_t answer_len; /* the answer's text (a stream's, assembled) */
	int answer_cut;	   /* the text outgrew its buffer */
};

/*
 * One line in the journal for r (master: the master key; NULL writes no
 * body).  TG_ESYSTEM when it cannot be written (logged; the request is not
 * failed for it).
 */
enum tg_err convlog_write(struct journal *, const unsigned char *master,
    struct arena *, const struct convlog_rec *r);

/* A listing: the owner's, newest first; strings NULL/"" and 0 mean any. */
struct convlog_query {
	int64_t before_id;
	const char *from, *to, *model;
	int64_t limit;
};
/* op->who's conversations, metadata only; *next the cursor (0: the end). */
enum tg_err convlog_list(struct db_conn *, struct op *,
    const struct convlog_query *, json_t **data, int64_t *next);
/*
 * One of op->who's, with its bodies opened (op->master); TG_ENOENT for
 * another user's or none (never told apart).
 */
enum tg_err convlog_get(
    struct db_conn *, struct op *, const char *request_id, json_t **out);
/* Delete one of op->who's (audited); TG_ENOENT as convlog_get. */
enum tg_err convlog_delete(
    struct db_conn *, struct op *, const char *request_id);
/*
 * The user's own level from a profile body's "conversation_log" (absent:
 * TG_OK, nothing done); inside the caller's transaction.  TG_EINVAL in op.
 */
enum tg_err convlog_set_level(
    struct db_conn *, struct op *, int64_t user_id, const json_t *body);
/* Check a profile body's "conversation_log" before a transaction starts. */
enum tg_err convlog_check_level(struct op *, const json_t *body);
/*
 * Retention: at most limit rows older than days and limit of deleted
 * accounts; *n how many went.
 */
enum tg_err convlog_purge(struct db_conn *, struct arena *, unsigned days,
    unsigned limit, int64_t *n);

#endif
