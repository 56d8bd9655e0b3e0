/* prov.c: which wire format each deployment kind speaks */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "prov/prov.h"

/*
 * OpenAI's format and its kin share one set of ops; Anthropic and Gemini
 * each have their own (prov_anthropic.c, prov_gemini.c).
 */
/* clang-format off */
static const struct prov_ops *const kind_ops[PROV__MAX] = {
	[PROV_OPENAI]	  = &prov_openai_ops,
	[PROV_DEEPSEEK]	  = &prov_openai_ops,
	[PROV_OPENROUTER] = &prov_openai_ops,
	[PROV_COMPATIBLE] = &prov_openai_ops,
	[PROV_ANTHROPIC]  = &prov_anthropic_ops,
	[PROV_GEMINI]	  = &prov_gemini_ops,
	[PROV_TEST]	  = &prov_openai_ops, /* its answers are OpenAI's */
};
/* clang-format on */

const struct prov_ops *
prov_ops_of(enum prov_kind kind)
{
	return (unsigned)kind < PROV__MAX && kind_ops[kind] != NULL
	    ? kind_ops[kind]
	    : &prov_openai_ops;
}

int
prov_build(struct arena *a, enum endpoint ep, const struct deployment *rt,
    const json_t *body, int stream, int64_t max_out, const char *secret,
    const char *referer, const char *title, struct prov_call *out)
{
	return prov_ops_of(rt->kind)->build(
	    a, ep, rt, body, stream, max_out, secret, referer, title, out);
}
