/* api_gemini.h: what the Gemini codec's files share (api_gemini*.c); the rest of tollgate uses api.h */
/* SPDX-License-Identifier: MIT */
#ifndef API_GEMINI_H
#define API_GEMINI_H

#include <stddef.h>
#include <jansson.h>

#include "core/json.h"
#include "prov/api.h"

/* Caps on what a request may hold (the body's element cap comes first). */
#define GEM_MAX_CONTENTS 4096
#define GEM_MAX_PARTS	 1024
#define GEM_MAX_TOOLS	 64
#define GEM_MAX_DECLS	 512
#define GEM_MAX_STOP	 5 /* Gemini's own limit */
#define GEM_MAX_LIST	 64
#define GEM_MAX_NAME	 128
#define GEM_SCHEMA_DEPTH 64
/* Text joined from parts (a body is smaller than this). */
#define GEM_MAX_TEXT (64u << 20)
/* A stream's candidates (CHAT_MAX_N) and the calls it buffers. */
#define GEM_MAX_CAND  16
#define GEM_MAX_CALLS 128
#define GEM_MAX_ARGS  (4u << 20)
/*
 * api_refusal has no room for a param built from indexes, so the message
 * takes the first GEM_PARAM_AT bytes of why->msg and the param the rest.
 */
#define GEM_PARAM_AT 160

/* A member an object of the API may hold, and its types (JX_*). */
struct gfield {
	const char *name;
	unsigned types;
};

/* The member of o named camel or its snake_case (proto-JSON reads both). */
json_t *gem_mem(const json_t *o, const char *camel);
/* Fill *why (a 400: code, param, message); -1 always. */
int gem_refuse(struct api_refusal *why, const char *code, const char *param,
    const char *fmt, ...) TG_PRINTF(4, 5);
/* Whether *why is still empty (nothing refused yet). */
int gem_why_empty(const struct api_refusal *why);
/* The JX_* type of a value. */
unsigned gem_type_of(const json_t *v);
/*
 * o (at path where) is an object whose members are all in spec, once
 * each, of an allowed type, with required present (NULL: none); 0 or -1.
 */
int gem_check(struct api_refusal *why, const json_t *o, const char *where,
    const struct gfield *spec, const char *required);
/* json_object_set_new / json_array_append_new, -1 (refused) out of memory. */
int gem_put(struct api_refusal *why, json_t *o, const char *k, json_t *v);
int gem_push(struct api_refusal *why, json_t *a, json_t *v);
/* An array at p of at most cap elements (and one or more when nonempty). */
int gem_capped(struct api_refusal *why, const json_t *a, size_t cap,
    const char *p, int nonempty);
/* A function or tool name of 1 to GEM_MAX_NAME bytes. */
int gem_name_ok(struct api_refusal *why, const json_t *n, const char *p);
/*
 * A copy of schema s: Gemini's OpenAPI-subset Schema converted to JSON
 * Schema (lower-case types, nullable as a "null" type), or a JSON Schema
 * (json) as it is; NULL refused.
 */
json_t *gem_schema(
    struct api_refusal *why, const json_t *s, const char *p, int json);
/*
 * systemInstruction (NULL: none) and contents as the pivot's messages,
 * appended to msgs: functionCalls as tool_calls with ids, each
 * functionResponse as the tool message of the call it answers.
 */
int gem_messages(
    struct api_refusal *why, const json_t *si, const json_t *cs, json_t *msgs);
/* A generateContent body as the pivot (api_gemini_ops.to_pivot). */
json_t *api_gemini_to_pivot(const json_t *in, struct api_refusal *why);

#endif
