/* gemini.h: what the two halves of the Gemini adapter share (requests in prov_gemini.c, answers in prov_gemini_read.c) */
/* SPDX-License-Identifier: MIT */
#ifndef PROV_GEMINI_H
#define PROV_GEMINI_H

#include <jansson.h>

#include "prov/prov.h"

/*
 * A tool call's id carries Gemini's thoughtSignature after this mark, so
 * that a client which knows nothing of signatures sends it back with the
 * call on the next turn (thinking models refuse a call without it) and
 * tollgate keeps no state between requests.
 */
#define GEM_SIG_MARK "__thought__"

/* The answer readers (prov_gemini_read.c) for prov_gemini_ops. */
enum prov_usage gem_answer_scan(
    const char *text, size_t len, struct jx_where *w, struct token_counts *u);
enum prov_usage gem_answer_usage(const json_t *answer, struct token_counts *u);
void gem_event(
    const json_t *chunk, struct token_counts *u, struct prov_event *ev);
void gem_strip_usage(json_t *chunk);
size_t gem_text(const json_t *chunk_or_answer, struct buf *sink);
json_t *gem_answer_to_openai(const json_t *answer, const char *model);
int gem_event_to_openai(
    struct prov_xlate *, const char *type, const json_t *ev, json_t *out);
/* An error object {"code","message","status"} in OpenAI's shape (new tree). */
json_t *gem_error_to_openai(const json_t *err);

#endif
