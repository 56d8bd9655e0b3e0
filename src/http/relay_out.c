/* relay_out.c: the client's side of a relayed answer: events written, the API codecs' emitter, the model named */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/util.h"
#include "http/chat.h"
#include "http/req.h"
#include "http/resp.h"

/* Write to the client; flush at the end of each event, not per piece. */
int
relay_write(struct call *x, const char *p, size_t n, int flush)
{
	if (x->rl.client_gone)
		return -1;
	if (x->idem != NULL && x->rl.replay.len + n <= REPLAY_MAX)
		buf_append(&x->rl.replay, p, n);
	else if (x->idem != NULL)
		x->rl.replay_over = 1; /* kept whole or not at all */
	if (x->rl.hold_tail) {
		if (x->rl.tail.len + n <= x->rl.tail.cap &&
		    buf_append(&x->rl.tail, p, n) == TG_OK)
			return 0;
		/* More than is held back: out in order, the rest as it comes. */
		if (relay_release_tail(x) == -1)
			return -1;
	}
	if (resp_stream_write(x->r, x->resp, p, n, flush) == -1) {
		x->rl.client_gone = 1;
		x->rl.t_gone = util_now();
		return -1;
	}
	x->rl.t_out = util_now();
	return 0;
}

int
relay_release_tail(struct call *x)
{
	int rc = 0;

	if (!x->rl.hold_tail)
		return 0;
	x->rl.hold_tail = 0;
	if (x->rl.tail.len > 0 &&
	    resp_stream_write(
		x->r, x->resp, x->rl.tail.data, x->rl.tail.len, 1) == -1) {
		x->rl.client_gone = 1;
		x->rl.t_gone = util_now();
		rc = -1;
	} else if (x->rl.tail.len > 0) {
		x->rl.t_out = util_now();
	}
	buf_free(&x->rl.tail);
	return rc;
}

int
relay_start(struct call *x)
{
	if (x->rl.started)
		return x->rl.client_gone ? -1 : 0;
	x->rl.started = 1;
	if (x->rl.rt != NULL)
		resp_header(
		    x->resp, "x-tollgate-provider", x->rl.rt->provider_id);
	if (resp_stream_start(x->r, x->resp, "text/event-stream") == -1) {
		x->rl.client_gone = 1;
		x->rl.t_gone = util_now();
		return -1;
	}
	x->rl.t_out = util_now();
	return 0;
}

int
relay_send_event(struct call *x, const char *data, size_t n)
{
	return relay_emit(x, NULL, data, n);
}

int
relay_emit(void *call, const char *event, const char *data, size_t n)
{
	struct call *x = call;

	/*
	 * One flush per event (the first also carries the headers): each
	 * flush is a write the web server wakes up for.
	 */
	if (relay_start(x) == -1)
		return -1;
	if (event != NULL &&
	    (relay_write(x, "event: ", 7, 0) == -1 ||
		relay_write(x, event, strlen(event), 0) == -1 ||
		relay_write(x, "\n", 1, 0) == -1))
		return -1;
	if (relay_write(x, "data: ", 6, 0) == -1 ||
	    relay_write(x, data, n, 0) == -1 ||
	    relay_write(x, "\n\n", 2, 1) == -1)
		return -1;
	return 0;
}

void
relay_api_meta(const struct call *x, struct api_meta *m)
{
	m->request_id = x->r->request_id;
	m->provider = x->rl.rt != NULL ? x->rl.rt->provider_id : NULL;
	m->model = x->model;
	m->charged = x->charged;
	m->balance_after = x->balance_after;
	m->u = &x->u;
	m->request = x->native;
}

/* The OpenAI error shape as one SSE event, then the end marker. */
void
relay_send_error(struct call *x, enum tg_err e, const char *msg)
{
	json_t *o;
	char *s;

	if (x->api != NULL) {
		x->api->stream_error(&x->rl.as, resp_err_status(e),
		    resp_err_type(e), resp_err_code(e), msg, relay_emit, x);
		return;
	}
	o = json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg,
	    "type", resp_err_type(e), "param", "code", resp_err_code(e));
	s = jx_dump(o);
	if (s != NULL)
		relay_send_event(x, s, strlen(s));
	free(s);
	json_decref(o);
	relay_send_event(x, "[DONE]", 6);
}

/* Where each native API names the model of an answer or an event. */
static const char *const native_model_at[][2] = {
    {NULL, "model"},	    /* Anthropic's message */
    {"message", "model"},   /* Anthropic's message_start */
    {NULL, "modelVersion"}, /* Gemini's answer and chunks */
};

int
relay_rename_native(json_t *o, const char *model)
{
	json_t *in;
	size_t i;

	for (i = 0; i < sizeof(native_model_at) / sizeof(native_model_at[0]);
	     i++) {
		in = native_model_at[i][0] == NULL
		    ? o
		    : json_object_get(o, native_model_at[i][0]);
		if (json_is_string(json_object_get(in, native_model_at[i][1])))
			return json_object_set_new(in, native_model_at[i][1],
				   json_string(model)) == 0;
	}
	return 0;
}
