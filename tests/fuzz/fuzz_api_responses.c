/* fuzz_api_responses.c: the Responses API codec on hostile requests and on any stream of chunks */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>
#include <jansson.h>

#include "core/arena.h"
#include "core/json.h"
#include "prov/api.h"

/*
 * api.c names every client codec; until the others are merged these stand
 * in (weak: the library's own win once they are there).
 */
__attribute__((weak))
const struct api_ops api_anthropic_ops = {.wire = WIRE_ANTHROPIC};
__attribute__((weak))
const struct api_ops api_gemini_ops = {.wire = WIRE_GEMINI};

static struct arena *arena;

/* Every event: JSON, named by its type, numbered in order. */
struct seen {
	long long next;
	int closed; /* a closing event came: nothing may follow */
};

static int
check_emit(void *arg, const char *event, const char *data, size_t len)
{
	struct seen *s = arg;
	json_t *ev;
	const char *type;

	FUZZ_CHECK(!s->closed);
	FUZZ_CHECK(jx_valid(data, len));
	ev = json_loadb(data, len, 0, NULL);
	FUZZ_CHECK(json_is_object(ev));
	type = jx_str(ev, "type");
	FUZZ_CHECK(type != NULL && event != NULL && strcmp(type, event) == 0);
	FUZZ_CHECK(json_integer_value(json_object_get(ev, "sequence_number")) ==
	    s->next);
	s->next++;
	s->closed = strcmp(type, "response.completed") == 0 ||
	    strcmp(type, "response.incomplete") == 0 ||
	    strcmp(type, "response.failed") == 0;
	json_decref(ev);
	return 0;
}

/* A request: refused with a reason, or a pivot with model and messages. */
static void
check_request(const json_t *o)
{
	struct api_refusal why;
	json_t *p;

	p = api_responses_ops.to_pivot(o, &why);
	if (p == NULL) {
		FUZZ_CHECK(why.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(jx_str(p, "model") != NULL);
	FUZZ_CHECK(json_array_size(json_object_get(p, "messages")) > 0);
	json_decref(p);
}

/*
 * An array is a stream of chunks (an object one chunk), ended well or
 * failed; the whole thing as an answer too.  Odd sizes keep the text on
 * the heap, even ones in the arena, so both are under ASan.
 */
static void
check_stream(const json_t *o, size_t size)
{
	static const struct token_counts u = {1, 2, 0, 0, 0, -1, 1};
	struct api_meta m = {"rid", "prov", "m", 7, 8, &u, NULL};
	struct api_state st;
	struct seen s = {0, 0};
	const json_t *c;
	json_t *a;
	char *text;
	size_t i;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	st.model = "m";
	st.request_id = "rid";
	st.arena = size % 2 ? NULL : arena;
	st.request = o;
	/* -1: past the stream's caps (the emitter never fails) */
	if (json_is_array(o)) {
		json_array_foreach(o, i, c)
			if ((rc = api_responses_ops.chunk(
				 &st, c, check_emit, &s)) == -1)
				break;
	} else
		rc = api_responses_ops.chunk(&st, o, check_emit, &s);
	if (rc == -1 || size % 3 == 0)
		FUZZ_CHECK(api_responses_ops.stream_error(
			       &st, 502, "t", "c", "m", check_emit, &s) == 0);
	else
		FUZZ_CHECK(api_responses_ops.end(&st, &m, check_emit, &s) == 0);
	FUZZ_CHECK(s.closed);
	a = api_responses_ops.answer(o, &m);
	FUZZ_CHECK(a != NULL);
	text = api_dump(a, &m);
	FUZZ_CHECK(text != NULL && jx_valid(text, strlen(text)));
	free(text);
	json_decref(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o;

	if (arena == NULL && (arena = arena_new(0)) == NULL)
		return 0;
	o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (o == NULL)
		return 0;
	check_request(o);
	check_stream(o, size);
	json_decref(o);
	arena_reset(arena);
	return 0;
}
