/* estimate.h: token estimates for requests the provider sent no usage for */
/* SPDX-License-Identifier: MIT */
#ifndef HTTP_ESTIMATE_H
#define HTTP_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct call;

/*
 * The prompt's tokens: the model's tokenizer over the request's text (chat:
 * OpenAI's 3 a message, the role, the name's 1, and 3 for the reply), or
 * x->prompt_estimate (about 4 bytes a token) without one.  Counted only
 * when asked, once the usage is known to be missing.
 */
int64_t estimate_prompt(const struct call *);
/* The completion's tokens: the text relayed (estimate_keep), else by bytes. */
int64_t estimate_completion(const struct call *);
/* A stream event relayed: its text bytes (n) counted and kept to tokenize. */
void estimate_keep(struct call *, const json_t *chunk, size_t n);
/* A whole answer without usage: its text (not its JSON) counted and kept. */
void estimate_answer(struct call *, const json_t *answer);

#endif
