/* conv_cap.c: a metered request's conversation record (issue 18: convlog): the answer's text kept, the record journaled */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/convlog.h"
#include "http/chat.h"
#include "http/conv_cap.h"
#include "http/ctx.h"
#include "http/req.h"

static void
text_free(void *p)
{
	buf_free(p);
}

/* The text's buffer at the full level (NULL else, or no memory). */
static struct buf *
text_of(struct call *x)
{
	struct buf *b;

	if (x->conv != CONV_FULL)
		return NULL;
	if (x->conv_text != NULL)
		return x->conv_text;
	if ((b = arena_alloc(x->r->arena, sizeof(*b))) == NULL)
		return NULL;
	/* One byte over the cap: a longer text is seen as cut. */
	buf_init(b, CONVLOG_BODY_MAX + 2);
	arena_defer(x->r->arena, text_free, b);
	return x->conv_text = b;
}

void
conv_keep(struct call *x, const json_t *o)
{
	const struct prov_ops *ops;
	struct buf *b;

	if (x->conv != CONV_FULL || o == NULL || (b = text_of(x)) == NULL)
		return;
	if ((ops = relay_ops(x)) != NULL && ops->text != NULL)
		ops->text(o, b);
}

void
conv_answer(struct call *x, const json_t *o)
{
	json_t *t = NULL;

	if (x->conv != CONV_FULL)
		return;
	if (o == NULL) {
		/* Read without a tree while the usage was sought. */
		t = json_loadb(x->rl.hr.body, x->rl.hr.body_len, 0, NULL);
		o = t;
	}
	conv_keep(x, o);
	json_decref(t);
}

void
conv_record(struct call *x, enum usage_status st, int http_status)
{
	static int warned;
	struct tg_req *r = x->r;
	struct convlog_rec rec;

	if (x->conv == CONV_OFF)
		return;
	if (r->ctx->journal == NULL) {
		if (!warned++)
			log_msg(LOG_WARN,
			    "[logging] conversations needs the journal "
			    "([server] run_dir): none is kept");
		return;
	}
	memset(&rec, 0, sizeof(rec));
	rec.level = (enum conv_level)x->conv;
	rec.request_id = r->request_id;
	rec.user_id = r->who->user_id;
	rec.key_id = r->who->key_id;
	rec.api = x->api != NULL ? x->api->name : chat_eps[x->ep].name;
	rec.model = x->model;
	rec.status = usage_status_names[st];
	rec.stream = x->stream;
	rec.http_status = http_status;
	rec.prompt = x->u.prompt;
	rec.completion = x->u.completion;
	rec.charge = x->charged;
	rec.latency_ms = (int64_t)((util_now() - x->t0) * 1000);
	rec.started = util_wall() - (util_now() - x->t0);
	rec.request = r->body != NULL ? r->body : "";
	rec.request_len = r->body != NULL ? r->body_len : 0;
	if (x->conv_text != NULL && x->conv_text->len > 0) {
		rec.answer = x->conv_text->data;
		rec.answer_len = x->conv_text->len;
	}
	rec.answer_cut = rec.answer_len > CONVLOG_BODY_MAX;
	convlog_write(r->ctx->journal,
	    r->ctx->have_master ? r->ctx->master : NULL, r->arena, &rec);
}
