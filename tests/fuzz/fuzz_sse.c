/* fuzz_sse.c: the SSE reader: bounded events, the same events however the stream is split */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>

#include "core/buf.h"
#include "prov/sse.h"

/*
 * The input's first byte picks the event cap (small caps reach the
 * too-big paths) and which event the callback stops at; the rest is the
 * stream.
 */
struct run {
	size_t max_event;
	size_t stop_at; /* the callback returns -1 on this call; 0: never */
	size_t calls;
	struct buf log; /* every callback, serialized, to compare runs */
};

static void
log_part(struct run *r, const char *p, size_t n)
{
	char len[32];
	int k;

	k = snprintf(len, sizeof(len), "%zu:", p != NULL ? n : (size_t)-1);
	(void)buf_append(&r->log, len, (size_t)k);
	if (p != NULL && n > 0)
		(void)buf_append(&r->log, p, n);
}

static int
on_event(void *arg, const struct sse_event *ev)
{
	struct run *r = arg;

	r->calls++;
	if (ev->is_comment) {
		FUZZ_CHECK(ev->comment != NULL && ev->data == NULL);
		FUZZ_CHECK(ev->comment_len <= r->max_event);
		FUZZ_CHECK(!sse_is_done(ev));
		log_part(r, "c", 1);
		log_part(r, ev->comment, ev->comment_len);
	} else {
		FUZZ_CHECK(ev->data != NULL && ev->data[ev->data_len] == '\0');
		FUZZ_CHECK(ev->data_len <= r->max_event);
		FUZZ_CHECK(ev->event == NULL || ev->event_len <= r->max_event);
		FUZZ_CHECK(ev->event == NULL || ev->event_len > 0);
		FUZZ_CHECK(ev->id == NULL || ev->id_len <= r->max_event);
		log_part(r, "e", 1);
		log_part(r, ev->event, ev->event_len);
		log_part(r, ev->data, ev->data_len);
		log_part(r, ev->id, ev->id_len);
		log_part(r, sse_is_done(ev) ? "D" : "-", 1);
	}
	return r->calls == r->stop_at ? -1 : 0;
}

/* Parse s whole (seed 0) or in pieces of sizes a small generator draws from seed. */
static enum tg_err
parse(struct run *r, const char *s, size_t n, unsigned seed)
{
	struct sse_parser p;
	enum tg_err rc = TG_OK, frc;
	size_t off = 0, k;
	int whole = seed == 0;

	buf_init(&r->log, 1u << 24);
	r->calls = 0;
	sse_init(&p, r->max_event, on_event, r);
	while (off < n) {
		seed = seed * 1103515245u + 12345u;
		k = whole ? n - off : 1 + (seed >> 16) % 7;
		if (k > n - off)
			k = n - off;
		if ((rc = sse_feed(&p, s + off, k)) != TG_OK)
			break;
		off += k;
	}
	frc = sse_finish(&p);
	if (rc == TG_OK)
		rc = frc;
	else
		FUZZ_CHECK(frc == rc); /* errors are sticky */
	FUZZ_CHECK(p.stopped == (r->stop_at != 0 && r->calls == r->stop_at));
	if (p.stopped)
		FUZZ_CHECK(rc == TG_ESYSTEM);
	/* After the end every call is refused. */
	FUZZ_CHECK(sse_feed(&p, "x", 1) != TG_OK);
	sse_free(&p);
	sse_free(&p);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {1, 7, 64, 4096};
	struct run a = {0}, b = {0};
	enum tg_err ra, rb;
	const char *s = (const char *)data + 1;

	if (size < 1)
		return 0;
	a.max_event = caps[data[0] & 3];
	a.stop_at = (data[0] >> 2) & 7;
	b.max_event = a.max_event;
	b.stop_at = a.stop_at;
	ra = parse(&a, s, size - 1, 0);
	rb = parse(&b, s, size - 1, (unsigned)size);
	FUZZ_CHECK(ra == rb);
	FUZZ_CHECK(a.calls == b.calls);
	FUZZ_CHECK(a.log.len == b.log.len &&
	    (a.log.len == 0 || memcmp(a.log.data, b.log.data, a.log.len) == 0));
	buf_free(&a.log);
	buf_free(&b.log);
	return 0;
}
