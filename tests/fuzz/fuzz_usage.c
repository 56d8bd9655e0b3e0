/* fuzz_usage.c: the usage scanner read from text agrees with the usage read from a tree */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>
#include <jansson.h>

#include "core/arena.h"
#include "core/json.h"
#include "http/answer.h"
#include "prov/prov.h"

static struct arena *arena;

/*
 * The money property: a non-streamed answer's usage is read from its text
 * (answer_scan) unless that says PU_LOAD_TREE; then from a tree, as
 * finish_nonstream in h_chat.c does.  Whatever the text path reads must be
 * what the tree says, to the token.
 */
static void
check_scan(const struct prov_ops *ops, const char *t, size_t len)
{
	struct token_counts ut, uo;
	struct answer_meta m = {"req-1", "prov", "model", 12345, 678, 0, NULL};
	struct jx_where w;
	enum prov_usage st, so;
	json_t *o, *spliced;
	char *s;
	size_t n;

	st = ops->answer_scan(t, len, &w, &ut);
	if (st == PU_LOAD_TREE)
		return;
	FUZZ_CHECK(st == PU_COUNTS || st == PU_NO_COUNTS);
	FUZZ_CHECK(w.vs < w.ve && w.ve <= w.close && w.close < len);
	o = json_loadb(t, len, 0, NULL);
	FUZZ_CHECK(json_is_object(o));
	so = ops->answer_usage(o, &uo);
	FUZZ_CHECK(so == st);
	FUZZ_CHECK(ut.present == uo.present && ut.prompt == uo.prompt &&
	    ut.completion == uo.completion && ut.cached == uo.cached &&
	    ut.reasoning == uo.reasoning && uo.upstream_cost == -1 &&
	    ut.upstream_cost == -1);
	FUZZ_CHECK(ut.prompt >= 0 && ut.completion >= 0 && ut.cached >= 0 &&
	    ut.reasoning >= 0);
	/*
	 * The splice the answer then gets is valid JSON and the provider's
	 * answer plus usage.cost and gateway_usage, nothing else changed.
	 */
	s = answer_splice(arena, &m, t, len, &w, &n);
	FUZZ_CHECK(s != NULL && jx_valid(s, n));
	spliced = json_loadb(s, n, 0, NULL);
	FUZZ_CHECK(json_is_object(spliced));
	FUZZ_CHECK(json_is_object(json_object_get(spliced, "gateway_usage")));
	FUZZ_CHECK(json_is_number(
	    json_object_get(json_object_get(spliced, "usage"), "cost")));
	json_object_del(spliced, "gateway_usage");
	json_object_del(json_object_get(spliced, "usage"), "cost");
	FUZZ_CHECK(json_equal(o, spliced));
	json_decref(spliced);
	json_decref(o);
}

/* A stream event and an error body: any shape is read without harm. */
static void
check_event(const struct prov_ops *ops, const char *t, size_t len)
{
	struct token_counts u;
	struct prov_event ev;
	json_t *o;
	const char *msg;

	msg = ops->error_message(arena, t, len);
	FUZZ_CHECK(msg == NULL || strchr(msg, '\n') == NULL);
	if ((o = json_loadb(t, len, 0, NULL)) == NULL)
		return;
	memset(&u, 0, sizeof(u));
	memset(&ev, 0, sizeof(ev));
	ops->event(o, &u, &ev);
	FUZZ_CHECK(u.prompt >= 0 && u.completion >= 0);
	FUZZ_CHECK(!ev.choices_array ||
	    ev.nchoices == json_array_size(json_object_get(o, "choices")));
	if (ev.strip) {
		ops->strip_usage(o);
		FUZZ_CHECK(json_object_get(o, "usage") == NULL);
	}
	json_decref(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct prov_ops *ops = &prov_openai_ops;
	const char *t = (const char *)data;

	if (arena == NULL && (arena = arena_new(0)) == NULL)
		return 0;
	check_scan(ops, t, size);
	check_event(ops, t, size);
	arena_reset(arena);
	return 0;
}
