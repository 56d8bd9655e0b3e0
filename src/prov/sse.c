/* sse.c: incremental text/event-stream parser (WHATWG event-stream rules) */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "prov/sse.h"

/* What the current line sets (struct sse_parser.field). */
enum sse_field {
	SSE_F_OTHER = 0, /* unknown field or retry: ignored */
	SSE_F_DATA,
	SSE_F_EVENT,
	SSE_F_ID,
	SSE_F_COMMENT
};

/* One leading UTF-8 BOM is skipped (WHATWG: one U+FEFF is ignored). */
static const char sse_bom[] = "\xef\xbb\xbf";
#define SSE_BOM_LEN 3

static enum tg_err sse_scan(struct sse_parser *, const char *, size_t);

void
sse_init(struct sse_parser *p, size_t max_event, sse_fn fn, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->arg = arg;
	p->max_event = max_event;
	buf_init(&p->data, max_event);
	buf_init(&p->event, max_event);
	buf_init(&p->val, max_event);
	buf_init(&p->id, max_event);
	p->err = TG_OK;
}

void
sse_free(struct sse_parser *p)
{
	if (p == NULL)
		return;
	buf_free(&p->data);
	buf_free(&p->event);
	buf_free(&p->val);
	buf_free(&p->id);
}

int
sse_is_done(const struct sse_event *ev)
{
	if (ev == NULL || ev->is_comment || ev->data == NULL)
		return 0;
	return ev->data_len >= 6 && memcmp(ev->data, "[DONE]", 6) == 0;
}

/* Make err sticky and give the memory back at once. */
static enum tg_err
sse_fail(struct sse_parser *p, enum tg_err err)
{
	p->err = err;
	sse_free(p);
	return err;
}

/*
 * Append to one of the pending event's buffers, keeping the event's type,
 * data and current line value together within max_event.
 */
static enum tg_err
sse_grow(struct sse_parser *p, struct buf *b, const char *s, size_t n)
{
	size_t used;

	if (n == 0)
		return TG_OK;
	used = p->data.len + p->event.len + p->val.len;
	if (used > p->max_event || n > p->max_event - used)
		return TG_ETOOBIG;
	return buf_append(b, s, n);
}

static void
sse_swap(struct buf *a, struct buf *b)
{
	struct buf t;

	t = *a;
	*a = *b;
	*b = t;
}

static enum tg_err
sse_call(struct sse_parser *p, const struct sse_event *ev)
{
	if (p->fn != NULL && p->fn(p->arg, ev) != 0) {
		p->stopped = 1;
		return TG_ESYSTEM;
	}
	return TG_OK;
}

static int
sse_classify(const struct sse_parser *p)
{
	if (p->name_len == 4 && memcmp(p->name, "data", 4) == 0)
		return SSE_F_DATA;
	if (p->name_len == 5 && memcmp(p->name, "event", 5) == 0)
		return SSE_F_EVENT;
	if (p->name_len == 2 && memcmp(p->name, "id", 2) == 0)
		return SSE_F_ID;
	/* retry only matters to a reconnecting client; we never reconnect. */
	return SSE_F_OTHER;
}

/* A data line starts: join it to earlier ones with "\n". */
static enum tg_err
sse_data_line(struct sse_parser *p)
{
	enum tg_err rc = TG_OK;

	if (p->has_data)
		rc = sse_grow(p, &p->data, "\n", 1);
	p->has_data = 1;
	return rc;
}

/*
 * A blank line: hand the pending event to fn if it had a data line (an
 * event: or id: alone dispatches nothing, per WHATWG), then start afresh.
 */
static enum tg_err
sse_dispatch(struct sse_parser *p)
{
	struct sse_event ev;
	enum tg_err rc = TG_OK;

	if (!p->has_data)
		goto out;
	memset(&ev, 0, sizeof(ev));
	if (p->event.len > 0) {
		ev.event = p->event.data;
		ev.event_len = p->event.len;
	}
	ev.data = p->data.len > 0 ? p->data.data : "";
	ev.data_len = p->data.len;
	if (p->has_id) {
		ev.id = p->id.len > 0 ? p->id.data : "";
		ev.id_len = p->id.len;
	}
	rc = sse_call(p, &ev);
out:
	buf_reset(&p->data);
	buf_reset(&p->event);
	p->has_data = 0;
	return rc;
}

/* The first ':' of a line: the field name is complete. */
static enum tg_err
sse_colon(struct sse_parser *p)
{
	p->in_value = 1;
	if (p->name_len == 0) {
		/* A comment keeps its bytes verbatim: no space is dropped. */
		p->field = SSE_F_COMMENT;
		p->value_started = 1;
		return TG_OK;
	}
	p->field = sse_classify(p);
	if (p->field == SSE_F_DATA)
		return sse_data_line(p);
	return TG_OK;
}

/* Value bytes of the current line (no CR or LF among them). */
static enum tg_err
sse_value(struct sse_parser *p, const char *s, size_t n)
{
	switch (p->field) {
	case SSE_F_DATA:
		return sse_grow(p, &p->data, s, n);
	case SSE_F_EVENT:
	case SSE_F_ID:
	case SSE_F_COMMENT:
		return sse_grow(p, &p->val, s, n);
	default:
		/* Unknown fields cost no memory however long they are. */
		return TG_OK;
	}
}

/* A line end (CR, LF or CRLF): act on the line just read. */
static enum tg_err
sse_end_line(struct sse_parser *p)
{
	struct sse_event ev;
	enum tg_err rc = TG_OK;

	if (!p->in_value) {
		if (p->name_len == 0) {
			rc = sse_dispatch(p);
			goto out;
		}
		/* No colon: the whole line is the field name, the value "". */
		switch (sse_classify(p)) {
		case SSE_F_DATA:
			rc = sse_data_line(p);
			break;
		case SSE_F_EVENT:
			buf_reset(&p->event);
			break;
		case SSE_F_ID:
			buf_reset(&p->id);
			p->has_id = 1;
			break;
		default:
			break;
		}
		goto out;
	}
	switch (p->field) {
	case SSE_F_EVENT:
		sse_swap(&p->event, &p->val);
		break;
	case SSE_F_ID:
		/* WHATWG: an id containing NUL is ignored. */
		if (p->val.len == 0 ||
		    memchr(p->val.data, '\0', p->val.len) == NULL) {
			sse_swap(&p->id, &p->val);
			p->has_id = 1;
		}
		break;
	case SSE_F_COMMENT:
		memset(&ev, 0, sizeof(ev));
		ev.is_comment = 1;
		ev.comment = p->val.len > 0 ? p->val.data : "";
		ev.comment_len = p->val.len;
		rc = sse_call(p, &ev);
		break;
	default:
		break;
	}
out:
	buf_reset(&p->val);
	p->name_len = 0;
	p->field = SSE_F_OTHER;
	p->in_value = 0;
	p->value_started = 0;
	return rc;
}

/* The byte-level state machine, past the BOM check. */
static enum tg_err
sse_scan(struct sse_parser *p, const char *s, size_t n)
{
	size_t i = 0, j;
	enum tg_err rc = TG_OK;
	char c;

	while (i < n) {
		c = s[i];
		if (p->skip_lf) {
			/* CR then LF, even across feeds, is one line end. */
			p->skip_lf = 0;
			if (c == '\n') {
				i++;
				continue;
			}
		}
		if (c == '\r' || c == '\n') {
			p->skip_lf = c == '\r';
			i++;
			rc = sse_end_line(p);
			if (rc != TG_OK)
				goto out;
			continue;
		}
		if (!p->in_value) {
			i++;
			if (c == ':') {
				rc = sse_colon(p);
				if (rc != TG_OK)
					goto out;
			} else if (p->name_len < sizeof(p->name))
				p->name[p->name_len++] = c;
			continue;
		}
		if (!p->value_started) {
			p->value_started = 1;
			if (c == ' ') {
				i++;
				continue;
			}
		}
		for (j = i; j < n && s[j] != '\r' && s[j] != '\n'; j++)
			continue;
		rc = sse_value(p, s + i, j - i);
		if (rc != TG_OK)
			goto out;
		i = j;
	}
out:
	return rc;
}

enum tg_err
sse_feed(struct sse_parser *p, const char *s, size_t n)
{
	enum tg_err rc = TG_OK;
	size_t i = 0;

	if (p->err != TG_OK)
		return p->err;
	if (p->finished)
		return TG_EINVAL;
	if (n == 0)
		return TG_OK;
	while (!p->started && i < n) {
		if (s[i] == sse_bom[p->bom]) {
			i++;
			p->bom++;
			if (p->bom == SSE_BOM_LEN)
				p->started = 1;
			continue;
		}
		/* Not a BOM after all: the bytes matched so far are text. */
		p->started = 1;
		rc = sse_scan(p, sse_bom, (size_t)p->bom);
		if (rc != TG_OK)
			goto out;
	}
	rc = sse_scan(p, s + i, n - i);
out:
	if (rc != TG_OK)
		return sse_fail(p, rc);
	return TG_OK;
}

enum tg_err
sse_finish(struct sse_parser *p)
{
	enum tg_err rc = TG_OK;

	if (p->err != TG_OK)
		return p->err;
	if (p->finished)
		return TG_EINVAL;
	p->finished = 1;
	if (!p->started) {
		p->started = 1;
		rc = sse_scan(p, sse_bom, (size_t)p->bom);
		if (rc != TG_OK)
			goto out;
	}
	/* Lenient EOF (see sse.h): end the last line, dispatch what is left. */
	if (p->in_value || p->name_len > 0) {
		rc = sse_end_line(p);
		if (rc != TG_OK)
			goto out;
	}
	rc = sse_dispatch(p);
out:
	if (rc != TG_OK)
		return sse_fail(p, rc);
	sse_free(p);
	return TG_OK;
}
