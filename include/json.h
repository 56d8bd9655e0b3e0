/* json.h: jansson helpers: strict body parsing with depth cap */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>
#include <jansson.h>

#include "tollgate.h"

/* Deepest nesting of objects/arrays in text (strings skipped). */
unsigned jx_depth(const char *text, size_t len);
/*
 * Parse text into *out (new reference) rejecting duplicate keys, nesting
 * deeper than maxdepth and anything but an object when want_object.
 * On error returns TG_EJSON with a human message in err.
 */
enum tg_err jx_parse(const char *text, size_t len, unsigned maxdepth,
    int want_object, json_t **out, char *err, size_t errlen);
/* A JSON string of s; bytes that are not UTF-8 become '?'. New reference. */
json_t *jx_string_lossy(const char *s);
/* json_dumps with compact output; caller frees; NULL on OOM. */
char *jx_dump(const json_t *);

#endif
