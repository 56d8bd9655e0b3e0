/* prov_test.h: the built-in test models (test/echo, test/stream): OpenAI answers made here, no upstream */
/* SPDX-License-Identifier: MIT */
#ifndef PROV_TEST_H
#define PROV_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define PROV_TEST_MAX_TEXT (16u << 20) /* bytes of one message's text */

/* What a test answer is made of besides the request. */
struct prov_test_ask {
	const char *id;	   /* "chatcmpl-..." */
	const char *model; /* the catalogue's id the answer names */
	long long created; /* unix seconds */
	int64_t max_words; /* the completion's cap (max_tokens) */
	int stream;	   /* an event stream, else one JSON answer */
	int per_word;	   /* stream one chunk per word (test/stream) */
};

/*
 * The answer to an OpenAI chat request (req): the text of its last user
 * message (string content, or its text parts joined by "\n"; "" when there
 * is none), cut after max_words words (finish_reason "length").  Tokens are
 * words (runs of non-blanks): prompt_tokens those of every message's text,
 * completion_tokens the answer's.  A stream is OpenAI's chunks with the
 * usage in a last chunk without choices, then [DONE].  malloc'd (*len
 * bytes), NULL on failure.
 */
char *prov_test_answer(
    const json_t *req, const struct prov_test_ask *, size_t *len);
/* Words (runs of non-blank bytes) in s[0..n). */
size_t prov_test_words(const char *s, size_t n);

#endif
