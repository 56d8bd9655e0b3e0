/* test_sse.c: unit tests for the incremental text/event-stream parser */
#include "test_common.h"

#include "prov/sse.h"

#define BIG_MAX (1024 * 1024)

/* One recorded callback: an event or a comment, with copied bytes. */
struct rec_ev {
	int is_comment;
	char *event; /* NULL when the event had none */
	size_t event_len;
	char *data; /* data, or the comment text */
	size_t data_len;
	char *id; /* NULL when no id had been seen */
	size_t id_len;
	int done;
};

struct rec {
	struct rec_ev *ev;
	size_t n;
	size_t size;
	size_t stop_at; /* return -1 from the stop_at-th call; 0: never */
};

static char *
memdup0(const char *s, size_t n)
{
	char *p;

	if ((p = malloc(n + 1)) == NULL)
		fail_msg("out of memory");
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static int
rec_cb(void *arg, const struct sse_event *ev)
{
	struct rec *r = arg;
	struct rec_ev *e;
	struct rec_ev *nev;

	if (r->n == r->size) {
		r->size = r->size ? r->size * 2 : 16;
		if ((nev = realloc(r->ev, r->size * sizeof(*nev))) == NULL)
			fail_msg("out of memory");
		r->ev = nev;
	}
	e = &r->ev[r->n++];
	memset(e, 0, sizeof(*e));
	e->is_comment = ev->is_comment;
	e->done = sse_is_done(ev);
	if (ev->is_comment) {
		assert_non_null(ev->comment);
		assert_null(ev->data);
		assert_null(ev->event);
		e->data = memdup0(ev->comment, ev->comment_len);
		e->data_len = ev->comment_len;
	} else {
		assert_non_null(ev->data);
		assert_int_equal(ev->data[ev->data_len], '\0');
		assert_null(ev->comment);
		e->data = memdup0(ev->data, ev->data_len);
		e->data_len = ev->data_len;
		if (ev->event != NULL) {
			assert_true(ev->event_len > 0);
			e->event = memdup0(ev->event, ev->event_len);
			e->event_len = ev->event_len;
		} else
			assert_uint_equal(ev->event_len, 0);
		if (ev->id != NULL) {
			e->id = memdup0(ev->id, ev->id_len);
			e->id_len = ev->id_len;
		}
	}
	if (r->stop_at > 0 && r->n == r->stop_at)
		return -1;
	return 0;
}

static void
rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->ev[i].event);
		free(r->ev[i].data);
		free(r->ev[i].id);
	}
	free(r->ev);
	memset(r, 0, sizeof(*r));
}

static int
bytes_eq(const char *a, size_t al, const char *b, size_t bl)
{
	if (a == NULL || b == NULL)
		return a == b;
	return al == bl && memcmp(a, b, al) == 0;
}

/* The two recordings hold the same callbacks in the same order. */
static void
assert_rec_equal(const struct rec *a, const struct rec *b)
{
	size_t i;

	if (a->n != b->n)
		fail_msg("%zu callbacks vs %zu", a->n, b->n);
	for (i = 0; i < a->n; i++) {
		const struct rec_ev *x = &a->ev[i], *y = &b->ev[i];

		if (x->is_comment != y->is_comment ||
		    !bytes_eq(x->event, x->event_len, y->event, y->event_len) ||
		    !bytes_eq(x->data, x->data_len, y->data, y->data_len) ||
		    !bytes_eq(x->id, x->id_len, y->id, y->id_len))
			fail_msg(
			    "callback %zu differs: [%s|%s|%s] vs [%s|%s|%s]", i,
			    x->event ? x->event : "-", x->data,
			    x->id ? x->id : "-", y->event ? y->event : "-",
			    y->data, y->id ? y->id : "-");
	}
}

/* Callback i is an event with this type (NULL: none) and exactly data. */
static void
assert_ev(const struct rec *r, size_t i, const char *event, const char *data,
    size_t data_len)
{
	const struct rec_ev *e;

	if (i >= r->n)
		fail_msg("no callback %zu (only %zu)", i, r->n);
	e = &r->ev[i];
	assert_false(e->is_comment);
	if (event == NULL) {
		if (e->event != NULL)
			fail_msg("event %zu has type \"%s\"", i, e->event);
	} else {
		assert_str(e->event, event);
		assert_uint_equal(e->event_len, strlen(event));
	}
	if (e->data_len != data_len || memcmp(e->data, data, data_len) != 0)
		fail_msg("event %zu data \"%s\" (%zu bytes), want \"%s\" (%zu)",
		    i, e->data, e->data_len, data, data_len);
}

#define ASSERT_EV(r, i, ev, lit)                                               \
	assert_ev((r), (i), (ev), (lit), sizeof(lit) - 1)

static void
assert_comment(const struct rec *r, size_t i, const char *text)
{
	if (i >= r->n)
		fail_msg("no callback %zu (only %zu)", i, r->n);
	assert_true(r->ev[i].is_comment);
	assert_uint_equal(r->ev[i].data_len, strlen(text));
	assert_string_equal(r->ev[i].data, text);
}

/*
 * Feed s in pieces of chunk bytes (0: all at once), then finish; record into
 * r with the given cap.  Returns the first error, or TG_OK.
 */
static enum tg_err
run(const char *s, size_t n, size_t chunk, size_t max, struct rec *r)
{
	struct sse_parser p;
	enum tg_err rc = TG_OK;
	size_t off, k;

	sse_init(&p, max, rec_cb, r);
	for (off = 0; off < n; off += k) {
		k = chunk == 0 || n - off < chunk ? n - off : chunk;
		rc = sse_feed(&p, s + off, k);
		if (rc != TG_OK)
			goto out;
	}
	rc = sse_finish(&p);
out:
	sse_free(&p);
	return rc;
}

/* As run(), but cut at the given sorted offsets. */
static enum tg_err
run_cuts(const char *s, size_t n, const size_t *cuts, size_t ncuts, size_t max,
    struct rec *r)
{
	struct sse_parser p;
	enum tg_err rc = TG_OK;
	size_t off = 0, i;

	sse_init(&p, max, rec_cb, r);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		rc = sse_feed(&p, s + off, end - off);
		if (rc != TG_OK)
			goto out;
		off = end;
	}
	rc = sse_finish(&p);
out:
	sse_free(&p);
	return rc;
}

/* Whole, one byte per feed and in 2/3/7-byte pieces give the same events. */
static void
run_all_ways(const char *s, size_t n, struct rec *r)
{
	static const size_t chunks[] = {1, 2, 3, 7};
	struct rec o;
	size_t i;

	memset(r, 0, sizeof(*r));
	assert_int_equal(run(s, n, 0, BIG_MAX, r), TG_OK);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		memset(&o, 0, sizeof(o));
		assert_int_equal(run(s, n, chunks[i], BIG_MAX, &o), TG_OK);
		assert_rec_equal(r, &o);
		rec_free(&o);
	}
}

#define RUN(lit, r) run_all_ways((lit), sizeof(lit) - 1, (r))

static void
t_single_event(void **state)
{
	struct rec r;

	RUN("data: hello\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "hello");
	assert_null(r.ev[0].id);
	assert_false(r.ev[0].done);
	rec_free(&r);
}

static void
t_line_endings(void **state)
{
	static const char *const streams[] = {
	    "event: e\ndata: a\ndata: b\n\ndata: c\n\n",
	    "event: e\r\ndata: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n",
	    "event: e\rdata: a\rdata: b\r\rdata: c\r\r",
	    "event: e\r\ndata: a\rdata: b\n\r\ndata: c\r\r\n",
	};
	struct rec r;
	size_t i;

	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		run_all_ways(streams[i], strlen(streams[i]), &r);
		if (r.n != 2)
			fail_msg("stream %zu: %zu events", i, r.n);
		ASSERT_EV(&r, 0, "e", "a\nb");
		ASSERT_EV(&r, 1, NULL, "c");
		rec_free(&r);
	}
}

/* A CR ending one feed and an LF starting the next are one line end. */
static void
t_crlf_split_across_feeds(void **state)
{
	static const char s[] = "data: a\r\ndata: b\r\n\r\n";
	size_t cuts[3];
	struct rec r;

	/* A phantom blank line would dispatch "a" and "b" separately. */
	memset(&r, 0, sizeof(r));
	cuts[0] = 8; /* right after the first \r */
	assert_int_equal(
	    run_cuts(s, sizeof(s) - 1, cuts, 1, BIG_MAX, &r), TG_OK);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "a\nb");
	rec_free(&r);

	/* Every CRLF split, the final blank line's too. */
	cuts[0] = 8;
	cuts[1] = 17;
	cuts[2] = 19;
	assert_int_equal(
	    run_cuts(s, sizeof(s) - 1, cuts, 3, BIG_MAX, &r), TG_OK);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "a\nb");
	rec_free(&r);
}

/* CR CR is two line ends, in one feed or across two. */
static void
t_lone_cr(void **state)
{
	struct rec r;
	size_t cut = 8;

	RUN("data: a\r\rdata: b\r\r", &r);
	assert_uint_equal(r.n, 2);
	ASSERT_EV(&r, 0, NULL, "a");
	ASSERT_EV(&r, 1, NULL, "b");
	rec_free(&r);

	assert_int_equal(
	    run_cuts("data: a\r\rdata: b\r\r", 18, &cut, 1, BIG_MAX, &r),
	    TG_OK);
	assert_uint_equal(r.n, 2);
	rec_free(&r);

	/* CR, then CRLF: line end plus blank line, not two blank lines. */
	RUN("data: a\r\r\ndata: b\n\n", &r);
	assert_uint_equal(r.n, 2);
	ASSERT_EV(&r, 0, NULL, "a");
	ASSERT_EV(&r, 1, NULL, "b");
	rec_free(&r);
}

static void
t_bom_skipped(void **state)
{
	struct rec r;

	/* Without skipping, the field would be "\xef\xbb\xbf" "event". */
	RUN("\xef\xbb\xbf"
	    "event: e\ndata: x\n\n",
	    &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, "e", "x");
	rec_free(&r);

	RUN("\xef\xbb\xbf"
	    "data: x\n\n",
	    &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "x");
	rec_free(&r);
}

static void
t_bom_only_one_at_start(void **state)
{
	struct rec r;

	/* A second BOM is part of the field name: unknown, ignored. */
	RUN("\xef\xbb\xbf\xef\xbb\xbf"
	    "data: x\n\ndata: y\n\n",
	    &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "y");
	rec_free(&r);

	/* Inside a value it is data. */
	RUN("data: \xef\xbb\xbfx\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "\xef\xbb\xbfx");
	rec_free(&r);

	/* After the first line it is not skipped either. */
	RUN("data: a\n\n\xef\xbb\xbf"
	    "data: b\n\ndata: c\n\n",
	    &r);
	assert_uint_equal(r.n, 2);
	ASSERT_EV(&r, 0, NULL, "a");
	ASSERT_EV(&r, 1, NULL, "c");
	rec_free(&r);
}

/* The first bytes of a BOM that turn out not to be one are kept. */
static void
t_bom_partial(void **state)
{
	struct rec r;

	/* "\xef" "data" is an unknown field. */
	RUN("\xef"
	    "data: x\n\ndata: y\n\n",
	    &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "y");
	rec_free(&r);

	/* "\xef\xbb:" is a field named "\xef\xbb", not a comment. */
	RUN("\xef\xbb: c\ndata: y\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "y");
	rec_free(&r);

	/* A partial BOM then a line end: a nameless line, nothing else. */
	RUN("\xef\xbb\ndata: y\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "y");
	rec_free(&r);

	/* A stream of only part of a BOM, and only a BOM. */
	RUN("\xef\xbb", &r);
	assert_uint_equal(r.n, 0);
	rec_free(&r);
	RUN("\xef\xbb\xbf", &r);
	assert_uint_equal(r.n, 0);
	rec_free(&r);
}

static void
t_space_after_colon(void **state)
{
	struct rec r;

	RUN("data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\ndata: \n\n", &r);
	assert_uint_equal(r.n, 5);
	ASSERT_EV(&r, 0, NULL, "x");
	ASSERT_EV(&r, 1, NULL, "x");
	ASSERT_EV(&r, 2, NULL, " x");
	ASSERT_EV(&r, 3, NULL, "\tx");
	ASSERT_EV(&r, 4, NULL, "");
	rec_free(&r);

	/* The same for event: */
	RUN("event:a\ndata: 1\n\nevent:  b\ndata: 2\n\n", &r);
	assert_uint_equal(r.n, 2);
	ASSERT_EV(&r, 0, "a", "1");
	ASSERT_EV(&r, 1, " b", "2");
	rec_free(&r);
}

static void
t_colon_in_value(void **state)
{
	struct rec r;

	RUN("data: {\"a\":\"b: c\"}:\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "{\"a\":\"b: c\"}:");
	rec_free(&r);
}

static void
t_multiline_data(void **state)
{
	struct rec r;

	RUN("data: a\ndata: b\ndata:c\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "a\nb\nc");
	rec_free(&r);

	/* JSON split over lines is joined, then is one document. */
	RUN("data: {\ndata: \"k\": 1\ndata: }\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "{\n\"k\": 1\n}");
	rec_free(&r);
}

static void
t_empty_data(void **state)
{
	struct rec r;

	/* One empty data line is an event with empty data. */
	RUN("data:\n\ndata\n\ndata: \n\n", &r);
	assert_uint_equal(r.n, 3);
	ASSERT_EV(&r, 0, NULL, "");
	ASSERT_EV(&r, 1, NULL, "");
	ASSERT_EV(&r, 2, NULL, "");
	rec_free(&r);

	RUN("data\ndata\n\ndata: a\ndata\n\ndata:\ndata: b\n\n", &r);
	assert_uint_equal(r.n, 3);
	ASSERT_EV(&r, 0, NULL, "\n");
	ASSERT_EV(&r, 1, NULL, "a\n");
	ASSERT_EV(&r, 2, NULL, "\nb");
	rec_free(&r);
}

static void
t_no_data_no_dispatch(void **state)
{
	struct rec r;

	RUN("event: ping\n\nid: 1\n\nretry: 5\n\nfoo: bar\n\n\n\n", &r);
	assert_uint_equal(r.n, 0);
	rec_free(&r);

	/* The type of an undispatched event does not leak into the next. */
	RUN("event: ping\n\ndata: x\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "x");
	rec_free(&r);
}

static void
t_event_type(void **state)
{
	struct rec r;

	RUN("event: message_start\ndata: {}\n\ndata: plain\n\n"
	    "event: a\nevent: b\ndata: 1\n\nevent: a\nevent\ndata: 2\n\n"
	    "event: a\nevent:\ndata: 3\n\n",
	    &r);
	assert_uint_equal(r.n, 5);
	ASSERT_EV(&r, 0, "message_start", "{}");
	ASSERT_EV(&r, 1, NULL, "plain");
	ASSERT_EV(&r, 2, "b", "1");
	ASSERT_EV(&r, 3, NULL, "2");
	ASSERT_EV(&r, 4, NULL, "3");
	rec_free(&r);

	/* event: after data in the same block still names it. */
	RUN("data: 4\nevent: late\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, "late", "4");
	rec_free(&r);
}

static void
t_comments(void **state)
{
	struct rec r;

	RUN(": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\n"
	    "data: {\"a\":1}\n\n: keep-alive\n\n:\n\n:no-space\n",
	    &r);
	assert_uint_equal(r.n, 6);
	assert_comment(&r, 0, " OPENROUTER PROCESSING");
	assert_comment(&r, 1, " OPENROUTER PROCESSING");
	ASSERT_EV(&r, 2, NULL, "{\"a\":1}");
	assert_comment(&r, 3, " keep-alive");
	assert_comment(&r, 4, "");
	assert_comment(&r, 5, "no-space");
	rec_free(&r);

	/* A comment inside an event neither splits nor ends it. */
	RUN("data: a\n: ping\ndata: b\n\n", &r);
	assert_uint_equal(r.n, 2);
	assert_comment(&r, 0, " ping");
	ASSERT_EV(&r, 1, NULL, "a\nb");
	rec_free(&r);

	/* "::" and colons inside a comment stay verbatim. */
	RUN("::a: b\n", &r);
	assert_uint_equal(r.n, 1);
	assert_comment(&r, 0, ":a: b");
	rec_free(&r);
}

static void
t_unknown_fields(void **state)
{
	struct rec r;

	RUN("foo: bar\nretry: 10\nretry\nData: no\nDATA: no\ndata : no\n"
	    " data: no\nx\ndata: yes\nevents: no\nevent : no\nid : no\n\n"
	    "event: unknown_type\ndata: z\n\n",
	    &r);
	assert_uint_equal(r.n, 2);
	ASSERT_EV(&r, 0, NULL, "yes");
	assert_null(r.ev[0].id);
	ASSERT_EV(&r, 1, "unknown_type", "z");
	rec_free(&r);
}

static void
t_id(void **state)
{
	struct rec r;

	RUN("data: 0\n\nid: 42\ndata: 1\n\ndata: 2\n\nid: 7\n\ndata: 3\n\n"
	    "id\ndata: 4\n\nid: a\0b\ndata: 5\n\nid:x\ndata: 6\n\n",
	    &r);
	assert_uint_equal(r.n, 7);
	assert_null(r.ev[0].id);
	assert_str(r.ev[1].id, "42");
	/* The last event id persists across events. */
	assert_str(r.ev[2].id, "42");
	/* ... and is set even by an event that is not dispatched. */
	assert_str(r.ev[3].id, "7");
	assert_str(r.ev[4].id, "");
	assert_uint_equal(r.ev[4].id_len, 0);
	/* An id with NUL is ignored. */
	assert_str(r.ev[5].id, "");
	assert_str(r.ev[6].id, "x");
	rec_free(&r);
}

static void
t_nul_in_data(void **state)
{
	struct rec r;

	RUN("data: a\0b\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "a\0b");
	rec_free(&r);
}

static void
t_several_events_one_feed(void **state)
{
	static const char s[] = "data: 1\n\ndata: 2\n\nevent: x\ndata: 3\n\n"
				"data: 4\n\n";
	struct sse_parser p;
	struct rec r;

	memset(&r, 0, sizeof(r));
	sse_init(&p, BIG_MAX, rec_cb, &r);
	assert_int_equal(sse_feed(&p, s, sizeof(s) - 1), TG_OK);
	/* All four are out before EOF. */
	assert_uint_equal(r.n, 4);
	assert_int_equal(sse_finish(&p), TG_OK);
	assert_uint_equal(r.n, 4);
	ASSERT_EV(&r, 0, NULL, "1");
	ASSERT_EV(&r, 1, NULL, "2");
	ASSERT_EV(&r, 2, "x", "3");
	ASSERT_EV(&r, 3, NULL, "4");
	sse_free(&p);
	rec_free(&r);
}

/* Events come out as soon as their blank line is in, byte by byte. */
static void
t_one_byte_per_feed(void **state)
{
	static const char s[] = "event: a\r\ndata: 1\r\n\r\n: c\rdata: 2\n\n";
	size_t i, want[sizeof(s) - 1];
	struct sse_parser p;
	struct rec r;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < sizeof(s) - 1; i++)
		want[i] = i < 19 ? 0 : i < 24 ? 1 : i < 33 ? 2 : 3;
	sse_init(&p, BIG_MAX, rec_cb, &r);
	for (i = 0; i < sizeof(s) - 1; i++) {
		assert_int_equal(sse_feed(&p, s + i, 1), TG_OK);
		if (r.n != want[i])
			fail_msg("after byte %zu: %zu callbacks, want %zu", i,
			    r.n, want[i]);
	}
	assert_int_equal(sse_finish(&p), TG_OK);
	assert_uint_equal(r.n, 3);
	ASSERT_EV(&r, 0, "a", "1");
	assert_comment(&r, 1, " c");
	ASSERT_EV(&r, 2, NULL, "2");
	sse_free(&p);
	rec_free(&r);
}

static void
t_split_utf8(void **state)
{
	/* 2-, 3- and 4-byte characters, then cut inside each of them. */
	static const char s[] =
	    "data: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"
	    "\n\n";
	static const size_t cuts[] = {10, 13, 14, 17, 18, 19, 21};
	struct rec r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(run_cuts(s, sizeof(s) - 1, cuts,
			     sizeof(cuts) / sizeof(cuts[0]), BIG_MAX, &r),
	    TG_OK);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	rec_free(&r);

	/* Invalid UTF-8 passes through untouched: we never decode. */
	RUN("data: \xff\xfe\xc3\n\n", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "\xff\xfe\xc3");
	rec_free(&r);
}

static void
t_eof_without_blank_line(void **state)
{
	static const char *const streams[] = {"data: 1\n\ndata: x",
	    "data: 1\n\ndata: x\n", "data: 1\n\ndata: x\r",
	    "data: 1\n\ndata: x\r\n", "data: 1\r\rdata: x"};
	struct sse_parser p;
	struct rec r;
	size_t i;

	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
		memset(&r, 0, sizeof(r));
		sse_init(&p, BIG_MAX, rec_cb, &r);
		assert_int_equal(
		    sse_feed(&p, streams[i], strlen(streams[i])), TG_OK);
		/* Pending until EOF ... */
		assert_uint_equal(r.n, 1);
		assert_int_equal(sse_finish(&p), TG_OK);
		/* ... then dispatched. */
		if (r.n != 2)
			fail_msg("stream %zu: %zu events", i, r.n);
		ASSERT_EV(&r, 0, NULL, "1");
		ASSERT_EV(&r, 1, NULL, "x");
		sse_free(&p);
		rec_free(&r);
	}

	/* An unterminated last line of each kind. */
	RUN("data: a\ndata: b", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "a\nb");
	rec_free(&r);
	RUN("data: a\nevent: e", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, "e", "a");
	rec_free(&r);
	RUN("data: a\n: bye", &r);
	assert_uint_equal(r.n, 2);
	assert_comment(&r, 0, " bye");
	ASSERT_EV(&r, 1, NULL, "a");
	rec_free(&r);
	RUN("data", &r);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "");
	rec_free(&r);

	/* Nothing pending: nothing at EOF. */
	RUN("event: e\nid: 3", &r);
	assert_uint_equal(r.n, 0);
	rec_free(&r);
	RUN("", &r);
	assert_uint_equal(r.n, 0);
	rec_free(&r);
	RUN("data: a\n\n", &r);
	assert_uint_equal(r.n, 1);
	rec_free(&r);
}

/* protocols.md 1.6, verbatim. */
static const char openai_stream[] =
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":"
    "1735689600,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":\"fp_"
    "abc\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":"
    "null}],\"usage\":null}\n"
    "\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",...,"
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"logprobs\":"
    "null,\"finish_reason\":null}],\"usage\":null}\n"
    "\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",...,"
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo!\"},\"logprobs\":"
    "null,\"finish_reason\":null}],\"usage\":null}\n"
    "\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",...,"
    "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_"
    "reason\":\"stop\"}],\"usage\":null}\n"
    "\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",...,"
    "\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":"
    "10,\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}\n"
    "\n"
    "data: [DONE]\n"
    "\n";

static void
t_openai_example(void **state)
{
	static const size_t lens[] = {262, 156, 156, 143, 234, 6};
	struct rec r, b;
	size_t i;

	memset(&b, 0, sizeof(b));
	RUN(openai_stream, &r);
	assert_int_equal(
	    run(openai_stream, sizeof(openai_stream) - 1, 1, BIG_MAX, &b),
	    TG_OK);
	assert_rec_equal(&r, &b);
	assert_uint_equal(r.n, 6);
	for (i = 0; i < 6; i++) {
		assert_false(r.ev[i].is_comment);
		assert_null(r.ev[i].event);
		assert_int_equal(r.ev[i].done, i == 5);
		if (i < 5 &&
		    strncmp(r.ev[i].data, "{\"id\":\"chatcmpl-1\"", 18))
			fail_msg("event %zu: %s", i, r.ev[i].data);
	}
	for (i = 0; i < 6; i++)
		assert_uint_equal(r.ev[i].data_len, lens[i]);
	assert_non_null(strstr(r.ev[1].data, "\"content\":\"Hel\""));
	assert_non_null(strstr(r.ev[2].data, "\"content\":\"lo!\""));
	assert_non_null(strstr(r.ev[3].data, "\"finish_reason\":\"stop\""));
	assert_non_null(strstr(r.ev[4].data, "\"total_tokens\":29"));
	ASSERT_EV(&r, 5, NULL, "[DONE]");
	/* Each data payload is one line of JSON: no newline crept in. */
	for (i = 0; i < 5; i++)
		assert_null(memchr(r.ev[i].data, '\n', r.ev[i].data_len));
	rec_free(&r);
	rec_free(&b);
}

static void
t_anthropic_stream(void **state)
{
	static const char s[] =
	    "event: message_start\n"
	    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
	    "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
	    "event: content_block_start\n"
	    "data: {\"type\":\"content_block_start\",\"index\":0,"
	    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	    "event: ping\n"
	    "data: {\"type\": \"ping\"}\n\n"
	    "event: content_block_delta\n"
	    "data: {\"type\":\"content_block_delta\",\"index\":0,"
	    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
	    "event: content_block_stop\n"
	    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
	    "event: message_delta\n"
	    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n"
	    "event: message_stop\n"
	    "data: {\"type\":\"message_stop\"}\n\n";
	static const char *const names[] = {"message_start",
	    "content_block_start", "ping", "content_block_delta",
	    "content_block_stop", "message_delta", "message_stop"};
	char want[64];
	struct rec r;
	size_t i;

	RUN(s, &r);
	assert_uint_equal(r.n, 7);
	for (i = 0; i < 7; i++) {
		assert_str(r.ev[i].event, names[i]);
		assert_false(r.ev[i].done);
		/* data.type equals the event name. */
		snprintf(want, sizeof(want), "\"type\":\"%s\"", names[i]);
		if (i != 2)
			assert_non_null(strstr(r.ev[i].data, want));
	}
	ASSERT_EV(&r, 2, "ping", "{\"type\": \"ping\"}");
	ASSERT_EV(&r, 6, "message_stop", "{\"type\":\"message_stop\"}");
	rec_free(&r);

	/* A mid-stream error event. */
	RUN("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
	    "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
	    &r);
	assert_uint_equal(r.n, 1);
	assert_str(r.ev[0].event, "error");
	rec_free(&r);
}

/* Gemini alt=sse separates with \r\n\r\n; DeepSeek sends keep-alives. */
static void
t_gemini_deepseek_framing(void **state)
{
	struct rec r;

	RUN("data: {\"candidates\":[1]}\r\n\r\ndata: {\"candidates\":[2]}"
	    "\r\n\r\n",
	    &r);
	assert_uint_equal(r.n, 2);
	ASSERT_EV(&r, 0, NULL, "{\"candidates\":[1]}");
	ASSERT_EV(&r, 1, NULL, "{\"candidates\":[2]}");
	rec_free(&r);

	RUN(": keep-alive\n\n: keep-alive\n\ndata: {\"x\":1}\n\n"
	    "data: [DONE]\n\n",
	    &r);
	assert_uint_equal(r.n, 4);
	assert_comment(&r, 0, " keep-alive");
	assert_comment(&r, 1, " keep-alive");
	ASSERT_EV(&r, 2, NULL, "{\"x\":1}");
	assert_true(r.ev[3].done);
	rec_free(&r);
}

static void
t_is_done(void **state)
{
	struct sse_event ev;

	memset(&ev, 0, sizeof(ev));
	assert_false(sse_is_done(NULL));
	assert_false(sse_is_done(&ev));
	ev.data = "[DONE]";
	ev.data_len = 6;
	assert_true(sse_is_done(&ev));
	ev.data_len = 5;
	assert_false(sse_is_done(&ev));
	ev.data = "[DONE] ";
	ev.data_len = 7;
	assert_true(sse_is_done(&ev));
	ev.data = "[done]";
	ev.data_len = 6;
	assert_false(sse_is_done(&ev));
	ev.data = " [DONE]";
	ev.data_len = 7;
	assert_false(sse_is_done(&ev));
	ev.data = "{\"x\":\"[DONE]\"}";
	ev.data_len = strlen(ev.data);
	assert_false(sse_is_done(&ev));
	memset(&ev, 0, sizeof(ev));
	ev.is_comment = 1;
	ev.comment = "[DONE]";
	ev.comment_len = 6;
	assert_false(sse_is_done(&ev));
}

/* fn returning -1 stops the parser; the rest is dropped. */
static void
t_callback_stop(void **state)
{
	static const char s[] = "data: 1\n\ndata: [DONE]\n\ndata: 3\n\n";
	struct sse_parser p;
	struct rec r;

	memset(&r, 0, sizeof(r));
	r.stop_at = 2;
	sse_init(&p, BIG_MAX, rec_cb, &r);
	assert_int_equal(sse_feed(&p, s, sizeof(s) - 1), TG_ESYSTEM);
	assert_int_equal(p.stopped, 1);
	assert_int_equal(p.err, TG_ESYSTEM);
	assert_uint_equal(r.n, 2);
	assert_true(r.ev[1].done);
	/* Sticky: no more callbacks. */
	assert_int_equal(sse_feed(&p, s, sizeof(s) - 1), TG_ESYSTEM);
	assert_int_equal(sse_finish(&p), TG_ESYSTEM);
	assert_uint_equal(r.n, 2);
	sse_free(&p);
	rec_free(&r);

	/* A stop from a comment, and a stop from the EOF dispatch. */
	memset(&r, 0, sizeof(r));
	r.stop_at = 1;
	assert_int_equal(
	    run(": x\ndata: 1\n\n", 13, 0, BIG_MAX, &r), TG_ESYSTEM);
	assert_uint_equal(r.n, 1);
	rec_free(&r);
	r.stop_at = 1;
	sse_init(&p, BIG_MAX, rec_cb, &r);
	assert_int_equal(sse_feed(&p, "data: 1", 7), TG_OK);
	assert_int_equal(sse_finish(&p), TG_ESYSTEM);
	assert_int_equal(p.stopped, 1);
	assert_uint_equal(r.n, 1);
	sse_free(&p);
	rec_free(&r);
}

static void
t_lifecycle(void **state)
{
	struct sse_parser p;
	struct rec r;

	sse_free(NULL);
	/* Init and free without use; free twice. */
	sse_init(&p, 64, rec_cb, &r);
	sse_free(&p);
	sse_free(&p);

	/* A NULL callback only parses. */
	sse_init(&p, 64, NULL, NULL);
	assert_int_equal(sse_feed(&p, "data: x\n\n: c\n", 13), TG_OK);
	assert_int_equal(sse_finish(&p), TG_OK);
	sse_free(&p);

	/* Zero-length feeds, NULL included. */
	memset(&r, 0, sizeof(r));
	sse_init(&p, 64, rec_cb, &r);
	assert_int_equal(sse_feed(&p, NULL, 0), TG_OK);
	assert_int_equal(sse_feed(&p, "data: x\n", 8), TG_OK);
	assert_int_equal(sse_feed(&p, "", 0), TG_OK);
	assert_int_equal(sse_feed(&p, "\n", 1), TG_OK);
	assert_uint_equal(r.n, 1);
	/* After finish, the parser refuses more. */
	assert_int_equal(sse_finish(&p), TG_OK);
	assert_int_equal(sse_feed(&p, "data: y\n\n", 9), TG_EINVAL);
	assert_int_equal(sse_finish(&p), TG_EINVAL);
	assert_uint_equal(r.n, 1);
	assert_null(p.data.data);
	sse_free(&p);
	rec_free(&r);
}

/* Bytes held by the parser's buffers. */
static size_t
held(const struct sse_parser *p)
{
	return p->data.size + p->event.size + p->val.size + p->id.size;
}

/* A 1 MiB data line against a 64 KiB cap, fed in 4 KiB reads. */
static void
t_max_event_cap(void **state)
{
	const size_t max = 64 * 1024, total = 1024 * 1024, rd = 4096;
	struct sse_parser p;
	struct rec r;
	enum tg_err rc = TG_OK;
	size_t off, k;
	char *s;

	if ((s = malloc(total)) == NULL)
		fail_msg("out of memory");
	memcpy(s, "data: ", 6);
	memset(s + 6, 'a', total - 6);
	memset(&r, 0, sizeof(r));
	sse_init(&p, max, rec_cb, &r);
	for (off = 0; off < total; off += k) {
		k = total - off < rd ? total - off : rd;
		rc = sse_feed(&p, s + off, k);
		if (rc != TG_OK)
			break;
		assert_true(p.data.size <= max + 1);
		assert_true(held(&p) <= max + 1);
	}
	assert_int_equal(rc, TG_ETOOBIG);
	/* Refused in the read that crossed the cap, not at the end. */
	assert_true(off <= max + 6);
	assert_true(off + rd > max + 6);
	assert_uint_equal(r.n, 0);
	/* The memory is given back at once, and the error sticks. */
	assert_uint_equal(held(&p), 0);
	assert_int_equal(sse_feed(&p, "\n\n", 2), TG_ETOOBIG);
	assert_int_equal(sse_finish(&p), TG_ETOOBIG);
	assert_uint_equal(r.n, 0);
	sse_free(&p);

	/* The same in one read. */
	assert_int_equal(run(s, total, 0, max, &r), TG_ETOOBIG);
	assert_uint_equal(r.n, 0);
	rec_free(&r);
	free(s);
}

/* An 8 MB single line of each kind stays within the cap. */
static void
t_huge_line(void **state)
{
	const size_t max = 64 * 1024, total = 8 * 1024 * 1024;
	static const char *const heads[] = {"data: ", ": ", "event: ", "id: "};
	struct sse_parser p;
	struct rec r;
	enum tg_err rc = TG_OK;
	size_t i, off, k, hl, peak;
	char *s;

	if ((s = malloc(total)) == NULL)
		fail_msg("out of memory");
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		hl = strlen(heads[i]);
		memcpy(s, heads[i], hl);
		memset(s + hl, 'z', total - hl);
		memset(&r, 0, sizeof(r));
		sse_init(&p, max, rec_cb, &r);
		peak = 0;
		for (off = 0; off < total; off += k) {
			k = total - off < 65536 ? total - off : 65536;
			rc = sse_feed(&p, s + off, k);
			if (rc != TG_OK)
				break;
			if (held(&p) > peak)
				peak = held(&p);
		}
		if (rc != TG_ETOOBIG || peak > max + 1)
			fail_msg("\"%s\": rc %d, %zu bytes held", heads[i],
			    (int)rc, peak);
		assert_uint_equal(r.n, 0);
		sse_free(&p);
		rec_free(&r);
	}

	/* An unknown field costs nothing, however long: no error. */
	memcpy(s, "x-pad: ", 7);
	memset(s + 7, 'z', total - 7);
	memset(&r, 0, sizeof(r));
	sse_init(&p, max, rec_cb, &r);
	for (off = 0; off < total; off += 65536) {
		assert_int_equal(sse_feed(&p, s + off, 65536), TG_OK);
		assert_uint_equal(held(&p), 0);
	}
	/* So does an unterminated field name. */
	assert_int_equal(sse_feed(&p, "\ndata: ok\n\n", 11), TG_OK);
	memset(s, 'n', total);
	assert_int_equal(sse_feed(&p, s, total), TG_OK);
	assert_int_equal(sse_feed(&p, "\ndata: ok2\n\n", 12), TG_OK);
	assert_int_equal(sse_finish(&p), TG_OK);
	assert_uint_equal(r.n, 2);
	ASSERT_EV(&r, 0, NULL, "ok");
	ASSERT_EV(&r, 1, NULL, "ok2");
	sse_free(&p);
	rec_free(&r);
	free(s);
}

/* The cap is per event: its exact size passes, one byte more does not. */
static void
t_max_event_boundary(void **state)
{
	struct rec r;
	char s[256];

	memset(&r, 0, sizeof(r));
	/* 16 bytes of data fits 16. */
	snprintf(s, sizeof(s), "data: 0123456789abcdef\n\n");
	assert_int_equal(run(s, strlen(s), 0, 16, &r), TG_OK);
	assert_uint_equal(r.n, 1);
	rec_free(&r);
	/* 17 does not. */
	snprintf(s, sizeof(s), "data: 0123456789abcdefg\n\n");
	assert_int_equal(run(s, strlen(s), 1, 16, &r), TG_ETOOBIG);
	assert_uint_equal(r.n, 0);
	rec_free(&r);
	/* Joined lines count with their "\n": 8 + 1 + 7 = 16 fits ... */
	snprintf(s, sizeof(s), "data: 01234567\ndata: 0123456\n\n");
	assert_int_equal(run(s, strlen(s), 0, 16, &r), TG_OK);
	assert_uint_equal(r.n, 1);
	rec_free(&r);
	/* ... 8 + 1 + 8 does not. */
	snprintf(s, sizeof(s), "data: 01234567\ndata: 01234567\n\n");
	assert_int_equal(run(s, strlen(s), 0, 16, &r), TG_ETOOBIG);
	rec_free(&r);
	/* The type counts too: 4 + 12. */
	snprintf(s, sizeof(s), "event: abcd\ndata: 0123456789ab\n\n");
	assert_int_equal(run(s, strlen(s), 0, 16, &r), TG_OK);
	assert_uint_equal(r.n, 1);
	rec_free(&r);
	snprintf(s, sizeof(s), "event: abcd\ndata: 0123456789abc\n\n");
	assert_int_equal(run(s, strlen(s), 0, 16, &r), TG_ETOOBIG);
	rec_free(&r);
	/* Many events of nearly the cap: it resets per event. */
	snprintf(s, sizeof(s), "%s",
	    "data: 0123456789abcdef\n\nevent: e\ndata: 0123456789abcde\n\n"
	    "data: 0123456789abcdef\n\n:0123456789abcdef\n");
	assert_int_equal(run(s, strlen(s), 3, 16, &r), TG_OK);
	assert_uint_equal(r.n, 4);
	rec_free(&r);
	/* A comment over the cap. */
	snprintf(s, sizeof(s), ": 0123456789abcdefg\n");
	assert_int_equal(run(s, strlen(s), 0, 16, &r), TG_ETOOBIG);
	assert_uint_equal(r.n, 0);
	rec_free(&r);
	/* Events before the oversized one were delivered. */
	snprintf(s, sizeof(s), "data: a\n\ndata: 0123456789abcdefg\n\n");
	assert_int_equal(run(s, strlen(s), 0, 16, &r), TG_ETOOBIG);
	assert_uint_equal(r.n, 1);
	ASSERT_EV(&r, 0, NULL, "a");
	rec_free(&r);
}

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

static size_t
rnd_n(size_t n)
{
	return rnd() % n;
}

static void
put(struct buf *b, const void *s, size_t n)
{
	if (buf_append(b, s, n) != TG_OK)
		fail_msg("test buffer full");
}

/* Random value bytes: ASCII, colons, spaces, UTF-8, NUL; no CR or LF. */
static size_t
rnd_value(char *v, size_t max)
{
	static const char *const pieces[] = {"a", "Z", "0", " ", ":", "{\"",
	    "\":", "}", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\t",
	    "[DONE]", "data", "event:", "\xef\xbb\xbf", "\0"};
	size_t n = 0, k, len, want = rnd_n(12);

	while (want-- > 0) {
		k = rnd_n(sizeof(pieces) / sizeof(pieces[0]));
		len = pieces[k][0] == '\0' ? 1 : strlen(pieces[k]);
		if (n + len > max)
			break;
		memcpy(v + n, pieces[k], len);
		n += len;
	}
	return n;
}

static void
expect(struct rec *r, int comment, const char *event, const char *data,
    size_t dlen, const char *id, size_t idlen)
{
	struct sse_event ev;
	char *copy;

	/* The parser hands out NUL-terminated bytes; so must we. */
	copy = memdup0(data, dlen);
	memset(&ev, 0, sizeof(ev));
	if (comment) {
		ev.is_comment = 1;
		ev.comment = copy;
		ev.comment_len = dlen;
	} else {
		ev.event = event;
		ev.event_len = event != NULL ? strlen(event) : 0;
		ev.data = copy;
		ev.data_len = dlen;
		ev.id = id;
		ev.id_len = idlen;
	}
	rec_cb(r, &ev);
	free(copy);
}

/*
 * Put one line and a random line end into b.  After a lone CR, an empty
 * line must not end in a lone LF: that would be the CR's own CRLF.
 */
static void
put_line(struct buf *b, const char *s, size_t n, int *last_cr)
{
	size_t k;

	put(b, s, n);
	k = n == 0 && *last_cr ? 1 + rnd_n(2) : rnd_n(3);
	if (k == 0)
		put(b, "\n", 1);
	else if (k == 1)
		put(b, "\r", 1);
	else
		put(b, "\r\n", 2);
	*last_cr = k == 1;
}

/*
 * A random event stream into b, and the callbacks it must give into want:
 * comments, unknown fields, ids, event types, 0-3 data lines written with
 * or without the space, mixed line ends, maybe a BOM and maybe no final
 * blank line.
 */
static void
gen_stream(struct buf *b, struct rec *want)
{
	static const char *const names[] = {
	    "message_start", "ping", "error", "content_block_delta", "x"};
	char line[256], val[128], data[1024], id[32];
	const char *ev;
	size_t nev, e, nd, d, vl, dl, ll, idl = 0;
	int last_cr = 0, has_id = 0, has_data, last;

	if (rnd_n(4) == 0)
		put(b, "\xef\xbb\xbf", 3);
	nev = 1 + rnd_n(6);
	for (e = 0; e < nev; e++) {
		last = e + 1 == nev;
		ev = NULL;
		dl = 0;
		has_data = 0;
		if (rnd_n(3) == 0) {
			vl = rnd_value(val, sizeof(val));
			line[0] = ':';
			memcpy(line + 1, val, vl);
			put_line(b, line, vl + 1, &last_cr);
			expect(want, 1, NULL, val, vl, NULL, 0);
		}
		if (rnd_n(4) == 0)
			put_line(b, rnd_n(2) ? "retry: 10" : "x-unknown", 9,
			    &last_cr);
		if (rnd_n(2) == 0) {
			ev = names[rnd_n(5)];
			ll = (size_t)snprintf(line, sizeof(line), "event:%s%s",
			    rnd_n(2) ? " " : "", ev);
			put_line(b, line, ll, &last_cr);
		}
		if (rnd_n(4) == 0) {
			idl = (size_t)snprintf(
			    id, sizeof(id), "%u", (unsigned)rnd_n(100000));
			ll = (size_t)snprintf(line, sizeof(line), "id: %s", id);
			put_line(b, line, ll, &last_cr);
			has_id = 1;
		}
		nd = rnd_n(4);
		for (d = 0; d < nd; d++) {
			int space = (int)rnd_n(2);

			if (has_data)
				data[dl++] = '\n';
			has_data = 1;
			if (rnd_n(8) == 0) {
				put_line(b, "data", 4, &last_cr);
				continue;
			}
			vl = rnd_value(val, sizeof(val));
			memcpy(line, space ? "data: " : "data:", 6);
			ll = space ? 6 : 5;
			memcpy(line + ll, val, vl);
			put_line(b, line, ll + vl, &last_cr);
			/* "data:" + " x" loses the space, "data: " + " x" not. */
			if (!space && vl > 0 && val[0] == ' ') {
				memcpy(data + dl, val + 1, vl - 1);
				dl += vl - 1;
			} else {
				memcpy(data + dl, val, vl);
				dl += vl;
			}
		}
		if (!last || rnd_n(3) != 0)
			put_line(b, "", 0, &last_cr);
		else if (nd > 0 && rnd_n(2) == 0) {
			/* Drop the last line end too. */
			if (b->data[b->len - 1] == '\n' && b->len > 1 &&
			    b->data[b->len - 2] == '\r')
				b->len -= 2;
			else
				b->len--;
		}
		if (has_data)
			expect(want, 0, ev, data, dl, has_id ? id : NULL, idl);
	}
}

static void
t_random_streams(void **state)
{
	size_t it, i, ncuts, cuts[16];
	struct rec want, whole, split;
	struct buf b;

	buf_init(&b, 1 << 20);
	for (it = 0; it < 500; it++) {
		memset(&want, 0, sizeof(want));
		memset(&whole, 0, sizeof(whole));
		memset(&split, 0, sizeof(split));
		buf_reset(&b);
		gen_stream(&b, &want);
		assert_int_equal(run(b.data, b.len, 0, BIG_MAX, &whole), TG_OK);
		assert_rec_equal(&want, &whole);
		ncuts = rnd_n(sizeof(cuts) / sizeof(cuts[0]));
		for (i = 0; i < ncuts; i++)
			cuts[i] = rnd_n(b.len + 1);
		/* Sort the cut points (insertion sort). */
		for (i = 1; i < ncuts; i++) {
			size_t j, v = cuts[i];

			for (j = i; j > 0 && cuts[j - 1] > v; j--)
				cuts[j] = cuts[j - 1];
			cuts[j] = v;
		}
		assert_int_equal(
		    run_cuts(b.data, b.len, cuts, ncuts, BIG_MAX, &split),
		    TG_OK);
		assert_rec_equal(&whole, &split);
		rec_free(&split);
		if (it % 10 == 0) {
			assert_int_equal(
			    run(b.data, b.len, 1, BIG_MAX, &split), TG_OK);
			assert_rec_equal(&whole, &split);
			rec_free(&split);
		}
		rec_free(&want);
		rec_free(&whole);
	}
	buf_free(&b);
}

/*
 * Random bytes, heavy in the syntax the parser cares about, random caps and
 * stop points: never a crash, and splitting never changes the outcome.
 */
static void
t_fuzz(void **state)
{
	static const char *const toks[] = {"data", "event", "id", "retry", ":",
	    " ", "\r", "\n", "\r\n", "x", "\xef\xbb\xbf", "\xef", "[DONE]",
	    "\0", "\xff"};
	static const size_t caps[] = {0, 1, 8, 64, 1024, BIG_MAX};
	size_t it, ntok, k, len, i, ncuts, cuts[8], stop;
	struct rec a, c;
	enum tg_err ra, rc;
	char s[4096];

	for (it = 0; it < 3000; it++) {
		len = 0;
		ntok = rnd_n(300);
		while (ntok-- > 0) {
			if (rnd_n(8) == 0) {
				s[len++] = (char)rnd_n(256);
			} else {
				k = rnd_n(sizeof(toks) / sizeof(toks[0]));
				i = toks[k][0] == '\0' ? 1 : strlen(toks[k]);
				memcpy(s + len, toks[k], i);
				len += i;
			}
		}
		k = caps[rnd_n(sizeof(caps) / sizeof(caps[0]))];
		stop = rnd_n(4) == 0 ? 1 + rnd_n(5) : 0;
		memset(&a, 0, sizeof(a));
		memset(&c, 0, sizeof(c));
		a.stop_at = c.stop_at = stop;
		ra = run(s, len, 0, k, &a);
		ncuts = rnd_n(sizeof(cuts) / sizeof(cuts[0]));
		for (i = 0; i < ncuts; i++)
			cuts[i] = rnd_n(len + 1);
		for (i = 1; i < ncuts; i++) {
			size_t j, v = cuts[i];

			for (j = i; j > 0 && cuts[j - 1] > v; j--)
				cuts[j] = cuts[j - 1];
			cuts[j] = v;
		}
		rc = run_cuts(s, len, cuts, ncuts, k, &c);
		assert_int_equal(ra, rc);
		assert_rec_equal(&a, &c);
		rec_free(&c);
		c.stop_at = stop;
		rc = run(s, len, 1, k, &c);
		assert_int_equal(ra, rc);
		assert_rec_equal(&a, &c);
		rec_free(&a);
		rec_free(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_single_event),
	    cmocka_unit_test(t_line_endings),
	    cmocka_unit_test(t_crlf_split_across_feeds),
	    cmocka_unit_test(t_lone_cr),
	    cmocka_unit_test(t_bom_skipped),
	    cmocka_unit_test(t_bom_only_one_at_start),
	    cmocka_unit_test(t_bom_partial),
	    cmocka_unit_test(t_space_after_colon),
	    cmocka_unit_test(t_colon_in_value),
	    cmocka_unit_test(t_multiline_data),
	    cmocka_unit_test(t_empty_data),
	    cmocka_unit_test(t_no_data_no_dispatch),
	    cmocka_unit_test(t_event_type),
	    cmocka_unit_test(t_comments),
	    cmocka_unit_test(t_unknown_fields),
	    cmocka_unit_test(t_id),
	    cmocka_unit_test(t_nul_in_data),
	    cmocka_unit_test(t_several_events_one_feed),
	    cmocka_unit_test(t_one_byte_per_feed),
	    cmocka_unit_test(t_split_utf8),
	    cmocka_unit_test(t_eof_without_blank_line),
	    cmocka_unit_test(t_openai_example),
	    cmocka_unit_test(t_anthropic_stream),
	    cmocka_unit_test(t_gemini_deepseek_framing),
	    cmocka_unit_test(t_is_done),
	    cmocka_unit_test(t_callback_stop),
	    cmocka_unit_test(t_lifecycle),
	    cmocka_unit_test(t_max_event_cap),
	    cmocka_unit_test(t_huge_line),
	    cmocka_unit_test(t_max_event_boundary),
	    cmocka_unit_test(t_random_streams),
	    cmocka_unit_test(t_fuzz),
	};

	test_init();
	return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
