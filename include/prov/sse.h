/* sse.h: incremental text/event-stream parser for relaying provider streams */
/* SPDX-License-Identifier: MIT */
#ifndef SSE_H
#define SSE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/tollgate.h"

/*
 * One dispatched event, or one comment line (is_comment).  Every pointer is
 * borrowed from the parser and valid only during the callback.  The parser
 * never decodes: all text is the upstream's bytes, NUL-terminated for
 * convenience but possibly holding NULs inside, so use the lengths.
 */
struct sse_event {
	const char
	    *event; /* "event:" type; NULL if none or empty ("message") */
	size_t event_len;
	const char
	    *data; /* data lines joined with "\n"; "" if one empty line */
	size_t data_len;
	const char *id; /* last event id seen so far; NULL if none yet */
	size_t id_len;
	int is_comment;	     /* a ":" line: only comment/comment_len are set */
	const char *comment; /* the bytes after the ':', verbatim */
	size_t comment_len;
};

/* Called per event or comment: return 0 to go on, -1 to stop the parser. */
typedef int (*sse_fn)(void *arg, const struct sse_event *);

/*
 * Parser state, embedded by the caller.  Callers may read stopped and err;
 * everything else is private to sse.c.
 */
struct sse_parser {
	sse_fn fn;
	void *arg;
	size_t max_event;
	struct buf data;   /* joined data of the pending event */
	struct buf event;  /* type of the pending event */
	struct buf val;	   /* value of the current event:, id: or ":" line */
	struct buf id;	   /* last event id */
	char name[6];	   /* first bytes of the current line's field name */
	size_t name_len;   /* saturates at sizeof(name): longer is unknown */
	int field;	   /* what the current line sets, once past its ':' */
	int in_value;	   /* past the first ':' of the current line */
	int value_started; /* the one optional space after ':' is decided */
	int has_data;	   /* the pending event has had a data line */
	int has_id;	   /* an id line has been seen */
	int skip_lf;	   /* the last byte was CR: a next LF ends nothing */
	int bom;	   /* UTF-8 BOM bytes matched at the stream start */
	int started;	   /* the stream start is past the BOM check */
	int finished;	   /* sse_finish has run */
	int stopped;	   /* fn returned nonzero */
	enum tg_err err;   /* sticky: once set, every call returns it */
};

/*
 * Set up p to call fn(arg, event) for each event.  max_event caps the bytes
 * one pending event may hold (its type, its joined data and the line being
 * read, together), and an id; memory stays within a small multiple of it.
 * Cannot fail; pair with sse_free().
 */
void sse_init(struct sse_parser *p, size_t max_event, sse_fn fn, void *arg);
/*
 * Parse n more bytes of the stream, split anywhere (inside a CRLF, a UTF-8
 * character or the BOM), calling fn 0..n times.  TG_OK; TG_ETOOBIG when an
 * event outgrows max_event; TG_ESYSTEM when out of memory or when fn asked to
 * stop (then p->stopped is 1).  After an error the buffers are freed, the rest
 * of the input is dropped and every later call returns the same error.
 */
enum tg_err sse_feed(struct sse_parser *p, const char *bytes, size_t n);
/*
 * End of stream.  An unterminated last line is processed and an event still
 * pending without its closing blank line is dispatched: the WHATWG spec
 * discards it, but openai-node and js-genai process it and some upstreams end
 * that way (protocols.md 6.3).  A truncated stream is for the caller to judge
 * from the payload ([DONE], message_stop).  Call once; later sse_feed and
 * sse_finish calls return TG_EINVAL.  Returns as sse_feed.
 */
enum tg_err sse_finish(struct sse_parser *p);
/* Release the buffers; NULL-safe, and safe after an error or sse_finish. */
void sse_free(struct sse_parser *p);
/*
 * 1 if ev is the OpenAI-style end marker, a data payload starting with
 * "[DONE]" (openai-node's test), else 0.  Comments never are.
 */
int sse_is_done(const struct sse_event *ev);

#endif
