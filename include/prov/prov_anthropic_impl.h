/* prov_anthropic_impl.h: what the Anthropic adapter's two files share (usage, readers) */
/* SPDX-License-Identifier: MIT */
#ifndef PROV_ANTHROPIC_IMPL_H
#define PROV_ANTHROPIC_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/buf.h"
#include "domain/pricing.h"
#include "prov/prov.h"

struct arena;
struct jx_where;

/*
 * Anthropic's usage in its own terms.  input excludes the cache reads and
 * writes (the total is the sum of the three); output includes thinking.
 */
struct anth_usage {
	int64_t input;
	int64_t cache_write; /* cache_creation_input_tokens */
	int64_t cache_read;  /* cache_read_input_tokens */
	int64_t output;
	int64_t thinking; /* output_tokens_details.thinking_tokens, if sent */
	int seen;	  /* some count was read */
};

/*
 * Fold a usage object into u, field by field, the last non-null value
 * winning (message_start, then every message_delta, are cumulative).
 */
void anth_usage_merge(struct anth_usage *u, const json_t *usage);
/* u in OpenAI's terms (prompt = input + cache reads + cache writes). */
void anth_usage_counts(const struct anth_usage *u, struct token_counts *out);
/* The reverse, for a caller that keeps only token_counts between events. */
void anth_usage_of_counts(const struct token_counts *c, struct anth_usage *u);
/* u as an OpenAI usage object (a new tree), NULL out of memory. */
json_t *anth_usage_openai(const struct anth_usage *u);
/* OpenAI's finish_reason for a stop_reason (unknown or NULL: "stop"). */
const char *anth_finish_reason(const char *stop_reason);

/* The native readers (prov_anthropic_stream.c). */
enum prov_usage anth_answer_scan(
    const char *t, size_t len, struct jx_where *w, struct token_counts *u);
enum prov_usage anth_answer_usage(const json_t *answer, struct token_counts *u);
void anth_event(const json_t *o, struct token_counts *u, struct prov_event *ev);
void anth_strip_usage(json_t *chunk);
size_t anth_text(const json_t *o, struct buf *sink);
json_t *anth_answer_to_openai(const json_t *answer, const char *model);
int anth_event_to_openai(
    struct prov_xlate *xl, const char *type, const json_t *ev, json_t *out);

#endif
