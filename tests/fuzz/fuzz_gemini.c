/* fuzz_gemini.c: the Gemini adapter on hostile input: requests built, answers and stream chunks translated, usage kept */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>
#include <jansson.h>

#include "core/arena.h"
#include "core/json.h"
#include "prov/prov.h"

static struct arena *arena;
static const struct prov_ops *const g = &prov_gemini_ops;
static const struct deployment dep = {
    .kind = PROV_GEMINI,
    .base_url = "https://generativelanguage.googleapis.com/v1beta",
    .upstream_model = "gemini-2.5-flash",
};

/* Two readings of one usage agree to the token. */
static int
same(const struct token_counts *a, const struct token_counts *b)
{
	return a->prompt == b->prompt && a->completion == b->completion &&
	    a->cached == b->cached && a->reasoning == b->reasoning;
}

static void
check_sane(const struct token_counts *u)
{
	FUZZ_CHECK(u->prompt >= 0 && u->completion >= 0 && u->cached >= 0 &&
	    u->reasoning >= 0 && u->cached <= u->prompt &&
	    u->reasoning <= u->completion && u->cache_write == 0);
}

/*
 * Any object as the pivot and as a Gemini client's body: the request is one
 * JSON object Gemini's shape, with the held cap and nothing else as cap.
 */
static void
check_build(const json_t *o)
{
	struct prov_call c;
	json_t *b;

	FUZZ_CHECK(g->build(arena, EP_CHAT, &dep, o, 1, 321, "k", NULL, NULL,
		       &c) == 0);
	b = json_loadb(c.body, c.body_len, 0, NULL);
	FUZZ_CHECK(json_is_object(b));
	FUZZ_CHECK(json_is_array(json_object_get(b, "contents")));
	FUZZ_CHECK(json_integer_value(
		       json_object_get(json_object_get(b, "generationConfig"),
			   "maxOutputTokens")) == 321);
	FUZZ_CHECK(json_object_get(b, "messages") == NULL);
	json_decref(b);
	FUZZ_CHECK(g->build_native(arena, &dep, o, 0, 654, "k", &c) == 0);
	b = json_loadb(c.body, c.body_len, 0, NULL);
	FUZZ_CHECK(json_is_object(b));
	FUZZ_CHECK(json_integer_value(
		       json_object_get(json_object_get(b, "generationConfig"),
			   "maxOutputTokens")) == 654 ||
	    json_integer_value(json_object_get(
		json_object_get(b, "generation_config"), "maxOutputTokens")) ==
		654);
	json_decref(b);
}

/* A whole answer: translated or refused, its usage the same both ways. */
static void
check_answer(const json_t *o)
{
	struct token_counts un, uo;
	enum prov_usage rn;
	json_t *t;

	rn = g->answer_usage(o, &un);
	FUZZ_CHECK(rn == PU_COUNTS || rn == PU_NO_COUNTS);
	check_sane(&un);
	if ((t = g->answer_to_openai(o, "m")) == NULL)
		return;
	FUZZ_CHECK(json_is_array(json_object_get(t, "choices")));
	FUZZ_CHECK(chat_usage_parse(json_object_get(t, "usage"), &uo) == rn);
	FUZZ_CHECK(rn != PU_COUNTS || same(&un, &uo));
	json_decref(t);
}

/*
 * Each line an event of one stream: every chunk OpenAI's, and the last
 * usage chunk says what the native reader's last usage says.
 */
static void
check_stream(const char *t, size_t len)
{
	struct prov_xlate xl;
	struct token_counts un, uo;
	struct prov_event ev;
	const char *p = t, *e, *end = t + len;
	json_t *o, *out = json_array(), *c;
	size_t i;
	int have = 0, ended = 0, failed = 0;

	memset(&xl, 0, sizeof(xl));
	memset(&un, 0, sizeof(un));
	xl.model = "m";
	for (; p < end; p = e + 1) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			e = end;
		if ((o = json_loadb(p, (size_t)(e - p), 0, NULL)) == NULL)
			continue;
		g->event(o, &un, &ev);
		have |= ev.usage;
		FUZZ_CHECK(g->event_to_openai(&xl, NULL, o, out) == 0);
		json_decref(o);
	}
	json_array_foreach(out, i, c) {
		if (json_object_get(c, "error") != NULL) {
			failed = 1;
			continue;
		}
		FUZZ_CHECK(json_is_array(json_object_get(c, "choices")));
		if (json_array_size(json_object_get(c, "choices")) == 0 &&
		    json_object_get(c, "usage") != NULL) {
			FUZZ_CHECK(chat_usage_parse(json_object_get(c, "usage"),
				       &uo) == PU_COUNTS);
			ended = 1;
		}
	}
	/*
	 * Once the end went out, every later usage followed it (an error
	 * event ends the stream in the relay: what follows is not read).
	 */
	if (ended && have && !failed)
		FUZZ_CHECK(same(&un, &uo));
	json_decref(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	const char *msg;
	json_t *o;

	if (arena == NULL && (arena = arena_new(0)) == NULL)
		return 0;
	msg = g->error_message(arena, t, size);
	FUZZ_CHECK(msg == NULL || strchr(msg, '\n') == NULL);
	if ((o = json_loadb(t, size, 0, NULL)) != NULL) {
		if (json_is_object(o)) {
			check_build(o);
			check_answer(o);
		}
		json_decref(o);
	}
	check_stream(t, size);
	arena_reset(arena);
	return 0;
}
