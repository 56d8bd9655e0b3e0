/* prov_test.c: the built-in test models (test/echo, test/stream): OpenAI answers made here, no upstream */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "prov/prov_test.h"

#define WS " \t\n\r\f\v"

size_t
prov_test_words(const char *s, size_t n)
{
	size_t i, words = 0;
	int in = 0;

	for (i = 0; i < n; i++) {
		if (memchr(WS, s[i], sizeof(WS) - 1) != NULL || s[i] == '\0')
			in = 0;
		else if (!in) {
			in = 1;
			words++;
		}
	}
	return words;
}

/* A message's text: its string content, or its text parts joined by "\n". */
static void
content_text(const json_t *content, struct buf *out)
{
	const json_t *part, *t;
	size_t i;
	int first = 1;

	if (json_is_string(content)) {
		buf_append(out, json_string_value(content),
		    json_string_length(content));
		return;
	}
	json_array_foreach(content, i, part) {
		t = json_object_get(part, "text");
		if (!json_is_string(t))
			continue;
		if (!first)
			buf_append(out, "\n", 1);
		buf_append(out, json_string_value(t), json_string_length(t));
		first = 0;
	}
}

/* The prompt's tokens: the words of every message's text. */
static size_t
prompt_words(const json_t *messages)
{
	const json_t *m;
	struct buf b;
	size_t i, words = 0;

	json_array_foreach(messages, i, m) {
		buf_init(&b, PROV_TEST_MAX_TEXT);
		content_text(json_object_get(m, "content"), &b);
		words += prov_test_words(b.data, b.len);
		buf_free(&b);
	}
	return words;
}

/*
 * The answer: the last user message's text, cut after max_words words
 * (*cut).  NUL-terminated in out.
 */
static void
answer_text(
    const json_t *messages, int64_t max_words, struct buf *out, int *cut)
{
	const json_t *m;
	size_t i = json_array_size(messages), words = 0, k, end = 0;
	int in = 0;

	*cut = 0;
	while (i-- > 0) {
		m = json_array_get(messages, i);
		if (json_is_string(json_object_get(m, "role")) &&
		    strcmp(json_string_value(json_object_get(m, "role")),
			"user") == 0) {
			content_text(json_object_get(m, "content"), out);
			break;
		}
	}
	/* At most max_words words: what max_tokens allows. */
	for (k = 0; k < out->len; k++) {
		if (memchr(WS, out->data[k], sizeof(WS) - 1) != NULL) {
			in = 0;
		} else if (!in && (int64_t)words++ >= max_words) {
			out->len = end; /* the blanks before the cut go too */
			*cut = 1;
			break;
		} else {
			in = 1;
			end = k + 1;
		}
	}
	/* NUL-terminated, the NUL not counted (a text at the cap stays cut). */
	if (buf_append(out, "", 1) == TG_OK)
		out->len--;
}

static json_t *
usage_obj(size_t prompt, size_t completion)
{
	return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)prompt,
	    "completion_tokens", (json_int_t)completion, "total_tokens",
	    (json_int_t)(prompt + completion));
}

/* One "data: {chunk}\n\n" event of choice 0 with delta (stolen). */
static int
put_chunk(struct buf *out, const struct prov_test_ask *a, json_t *delta,
    const char *finish)
{
	json_t *o;
	char *s;
	int rc;

	o = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s?}]}", "id", a->id,
	    "object", "chat.completion.chunk", "created",
	    (json_int_t)a->created, "model", a->model, "choices", "index", 0,
	    "delta", delta, "finish_reason", finish);
	if (o == NULL || (s = jx_dump(o)) == NULL) {
		json_decref(o);
		return -1;
	}
	json_decref(o);
	rc = buf_printf(out, "data: %s\n\n", s) == TG_OK ? 0 : -1;
	free(s);
	return rc;
}

/* The answer's text in content chunks: one, or one per word (test/stream). */
static int
put_text(struct buf *out, const struct prov_test_ask *a, const char *text)
{
	size_t n = strlen(text), k, end;
	int rc = 0;

	for (k = 0; rc == 0 && k < n; k = end) {
		end = n;
		if (a->per_word) {
			/* A word and the blanks after it. */
			end = k + strcspn(text + k, WS);
			end += strspn(text + end, WS);
		}
		rc = put_chunk(out, a,
		    json_pack("{s:s%}", "content", text + k, end - k), NULL);
	}
	return rc;
}

static int
put_stream(struct buf *out, const struct prov_test_ask *a, const char *text,
    int cut, size_t prompt, size_t completion)
{
	json_t *u;
	char *s;
	int rc;

	if (put_chunk(out, a,
		json_pack("{s:s, s:s}", "role", "assistant", "content", ""),
		NULL) == -1 ||
	    put_text(out, a, text) == -1 ||
	    put_chunk(out, a, json_object(), cut ? "length" : "stop") == -1)
		return -1;
	/* Usage last, with no choices, as OpenAI sends it when asked. */
	u = json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", a->id, "object",
	    "chat.completion.chunk", "created", (json_int_t)a->created, "model",
	    a->model, "choices", "usage", usage_obj(prompt, completion));
	if (u == NULL || (s = jx_dump(u)) == NULL) {
		json_decref(u);
		return -1;
	}
	json_decref(u);
	rc = buf_printf(out, "data: %s\n\ndata: [DONE]\n\n", s);
	free(s);
	return rc == TG_OK ? 0 : -1;
}

char *
prov_test_answer(const json_t *req, const struct prov_test_ask *a, size_t *len)
{
	const json_t *messages = json_object_get(req, "messages");
	struct buf text, out;
	size_t prompt, completion;
	json_t *o;
	char *s = NULL;
	int cut;

	buf_init(&text, PROV_TEST_MAX_TEXT);
	buf_init(&out, PROV_TEST_MAX_TEXT * 8);
	prompt = prompt_words(messages);
	answer_text(messages, a->max_words, &text, &cut);
	completion = prov_test_words(text.data, text.len);
	if (a->stream) {
		if (put_stream(&out, a, text.len > 0 ? text.data : "", cut,
			prompt, completion) == 0 &&
		    out.len > 0) {
			s = out.data; /* the buffer's memory is the caller's now */
			*len = out.len;
			out.data = NULL;
		}
	} else {
		o = json_pack(
		    "{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:s}, s:s}], "
		    "s:o}",
		    "id", a->id, "object", "chat.completion", "created",
		    (json_int_t)a->created, "model", a->model, "choices",
		    "index", 0, "message", "role", "assistant", "content",
		    text.len > 0 ? text.data : "", "finish_reason",
		    cut ? "length" : "stop", "usage",
		    usage_obj(prompt, completion));
		if (o != NULL && (s = jx_dump(o)) != NULL)
			*len = strlen(s);
		json_decref(o);
	}
	buf_free(&text);
	buf_free(&out);
	return s;
}
