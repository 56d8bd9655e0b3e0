/* json.h: jansson helpers: strict body parsing with depth cap */
/* SPDX-License-Identifier: MIT */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <jansson.h>

#include "core/tollgate.h"

/* Deepest nesting of objects/arrays in text (strings skipped). */
unsigned jx_depth(const char *text, size_t len);
/* Deepest nesting jx_count follows (the maximum of [http] max_json_depth). */
#define JX_MAX_DEPTH 1024
/*
 * Parse text into *out (new reference) rejecting duplicate keys, nesting
 * deeper than maxdepth and anything but an object when want_object.
 * On error returns TG_EJSON with a human message in err, or TG_ETOOBIG
 * when the text holds more than maxelems values (counted before jansson
 * allocates anything).
 */
enum tg_err jx_parse(const char *text, size_t len, unsigned maxdepth,
    size_t maxelems, int want_object, json_t **out, char *err, size_t errlen);
/* Types a request field may have (a mask). */
enum jx_type {
	JX_STRING = 1 << 0,
	JX_INT = 1 << 1,
	JX_REAL = 1 << 2,
	JX_BOOL = 1 << 3,
	JX_NULL = 1 << 4,
	JX_ARRAY = 1 << 5,
	JX_OBJECT = 1 << 6,
	JX_NUMBER = JX_INT | JX_REAL
};

struct jx_field {
	const char *name;
	unsigned types; /* JX_* mask */
	int required;
};

/*
 * Check obj against a NULL-terminated field table: every member must be
 * listed ("unknown_field") with an allowed type ("invalid_type"), required
 * ones present ("missing_field").  On failure returns TG_EINVAL and sets
 * *code, *param and msg.
 */
enum tg_err jx_check(const json_t *obj, const struct jx_field *spec,
    const char **code, const char **param, char *msg, size_t msglen);
/* The string member k of o, or NULL (absent or not a string). */
const char *jx_str(const json_t *o, const char *k);
/* A JSON string of s; bytes that are not UTF-8 become '?'. New reference. */
json_t *jx_string_lossy(const char *s);
/*
 * Where a top-level member sits in the text of an object that has already
 * been parsed, so a few members can be spliced into the provider's own
 * bytes instead of re-serializing the document.
 */
struct jx_where {
	size_t vs, ve;	/* the member's value is text[vs, ve) */
	size_t close;	/* offset of the object's closing brace */
	size_t members; /* top-level members */
};
/*
 * How many top-level members of the object text are named key (the last
 * one's value goes to *w), or -1 when text is not an object or a top-level
 * key is written with escapes (which a byte comparison cannot judge).
 */
int jx_locate(
    const char *text, size_t len, const char *key, struct jx_where *w);
/*
 * Whether text is one well-formed JSON value (RFC 8259: UTF-8, escapes,
 * numbers, nesting up to 64), without building anything.  Stricter than
 * the RFC where jansson is, so that valid here means jansson would load it
 * too: no \u0000, no lone surrogates, no number out of its range.
 */
int jx_valid(const char *text, size_t len);
enum jx_scan { JX_SCAN_OK = 0, JX_SCAN_BAD, JX_SCAN_DEEP, JX_SCAN_MANY };
/*
 * The same scan, counting values (each scalar, array and object; keys not)
 * into *elems and stopping at the first past maxelems (JX_SCAN_MANY) or at
 * nesting past maxdepth (JX_SCAN_DEEP).  Numbers of any length are taken by
 * their syntax, as jansson takes them, so a malformed text (JX_SCAN_BAD)
 * fails in jansson no later than here.
 */
enum jx_scan jx_count(const char *text, size_t len, unsigned maxdepth,
    size_t maxelems, size_t *elems);
/* Append s to b as a JSON string, quotes included; TG_OK or TG_ESYSTEM. */
struct buf;
enum tg_err jx_quote(struct buf *b, const char *s);
/* json_dumps with compact output; caller frees; NULL on OOM. */
char *jx_dump(const json_t *);

#endif
