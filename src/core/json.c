/* json.c: jansson helpers: strict body parsing with a depth cap */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"

unsigned
jx_depth(const char *t, size_t len)
{
	unsigned depth = 0, max = 0;
	int in_str = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (in_str) {
			if (t[i] == '\\')
				i++;
			else if (t[i] == '"')
				in_str = 0;
			continue;
		}
		switch (t[i]) {
		case '"':
			in_str = 1;
			break;
		case '{':
		case '[':
			if (++depth > max)
				max = depth;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return max;
}

static size_t
skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len &&
	    (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

/* Past the string starting at t[i] == '"'; *esc set when it has escapes. */
static size_t
skip_string(const char *t, size_t len, size_t i, int *esc)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\') {
			*esc = 1;
			i++;
		} else if (t[i] == '"')
			return i + 1;
	}
	return len + 1;
}

/* Past the value starting at t[i]: a string, a container, a number or literal. */
static size_t
skip_value(const char *t, size_t len, size_t i)
{
	size_t depth = 0;
	int esc = 0;

	if (i >= len)
		return len + 1;
	if (t[i] == '"')
		return skip_string(t, len, i, &esc);
	if (t[i] != '{' && t[i] != '[') {
		while (i < len && t[i] != ',' && t[i] != '}' && t[i] != ']' &&
		    t[i] != ' ' && t[i] != '\t' && t[i] != '\n' && t[i] != '\r')
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (t[i] == '"')
			i = skip_string(t, len, i, &esc) - 1;
		else if (t[i] == '{' || t[i] == '[')
			depth++;
		else if ((t[i] == '}' || t[i] == ']') && --depth == 0)
			return i + 1;
	}
	return len + 1;
}

int
jx_locate(const char *t, size_t len, const char *key, struct jx_where *w)
{
	size_t i, ks, ke, vs, klen = strlen(key);
	int n = 0, esc;

	memset(w, 0, sizeof(*w));
	if ((i = skip_ws(t, len, 0)) >= len || t[i] != '{')
		return -1;
	for (i = skip_ws(t, len, i + 1); i < len && t[i] != '}';) {
		if (t[i] != '"')
			return -1;
		ks = i + 1;
		esc = 0;
		if ((i = skip_string(t, len, i, &esc)) > len || esc)
			return -1;
		ke = i - 1; /* the key is t[ks, ke) */
		if ((i = skip_ws(t, len, i)) >= len || t[i] != ':')
			return -1;
		vs = skip_ws(t, len, i + 1);
		if ((i = skip_value(t, len, vs)) > len || i == vs)
			return -1;
		if (ke - ks == klen && memcmp(t + ks, key, klen) == 0) {
			w->vs = vs;
			w->ve = i;
			n++;
		}
		w->members++;
		if ((i = skip_ws(t, len, i)) < len && t[i] == ',')
			i = skip_ws(t, len, i + 1);
		else if (i >= len || t[i] != '}')
			return -1;
	}
	if (i >= len)
		return -1;
	w->close = i;
	return n;
}

/* --- validation without a tree --------------------------------------------------------- */

#define VALID_DEPTH 64

/* Length of the UTF-8 sequence at t[i] (a lead byte >= 0x80), 0 if malformed. */
static size_t
utf8_seq(const unsigned char *t, size_t len, size_t i)
{
	unsigned c = t[i], cp, min;
	size_t n, k;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (len - i < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((t[i + k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (t[i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* The 4 hex digits at t[i], or -1. */
static long
hex4(const unsigned char *t, size_t len, size_t i)
{
	long v = 0;
	size_t k;

	if (len - i < 4 || i > len)
		return -1;
	for (k = 0; k < 4; k++) {
		unsigned c = t[i + k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v |= (c | 0x20) - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* Past the string at t[i] == '"', or 0 when it is not well-formed. */
static size_t
valid_string(const unsigned char *t, size_t len, size_t i)
{
	long cp, lo;
	size_t n;

	for (i++; i < len;) {
		unsigned c = t[i];

		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c >= 0x80) {
			if ((n = utf8_seq(t, len, i)) == 0)
				return 0;
			i += n;
			continue;
		}
		if (c != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return 0;
		c = t[i + 1];
		if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
		    c == 'n' || c == 'r' || c == 't') {
			i += 2;
			continue;
		}
		if (c != 'u' || (cp = hex4(t, len, i + 2)) <= 0 ||
		    (cp >= 0xdc00 && cp <= 0xdfff))
			return 0; /* jansson refuses \u0000 and a lone low half */
		i += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (len - i < 6 || t[i] != '\\' || t[i + 1] != 'u' ||
			    (lo = hex4(t, len, i + 2)) < 0xdc00 || lo > 0xdfff)
				return 0;
			i += 6;
		}
	}
	return 0;
}

static size_t
digits(const unsigned char *t, size_t len, size_t i)
{
	while (i < len && t[i] >= '0' && t[i] <= '9')
		i++;
	return i;
}

/* Past the number at t[i] by its grammar alone (no range check), or 0. */
static size_t
number_syntax(const unsigned char *t, size_t len, size_t i)
{
	size_t s;

	if (i < len && t[i] == '-')
		i++;
	if (i >= len || t[i] < '0' || t[i] > '9')
		return 0;
	i = t[i] == '0' ? i + 1 : digits(t, len, i);
	if (i < len && t[i] == '.') {
		if ((s = digits(t, len, i + 1)) == i + 1)
			return 0;
		i = s;
	}
	if (i < len && (t[i] == 'e' || t[i] == 'E')) {
		if (++i < len && (t[i] == '+' || t[i] == '-'))
			i++;
		if ((s = digits(t, len, i)) == i)
			return 0;
		i = s;
	}
	return i;
}

/*
 * Past the number at t[i], or 0.  Its value is read the way jansson reads
 * it (strtoll, or strtod for a fraction or exponent) so that what jansson
 * refuses as out of range is refused here too.
 */
static size_t
valid_number(const unsigned char *t, size_t len, size_t i)
{
	char tok[64];
	size_t start = i, end;
	double d;

	if ((end = number_syntax(t, len, i)) == 0)
		return 0;
	if (end - start >= sizeof(tok))
		return 0; /* longer than any answer's number: the caller asks jansson */
	memcpy(tok, t + start, end - start);
	tok[end - start] = '\0';
	errno = 0;
	if (strpbrk(tok, ".eE") != NULL) {
		d = strtod(tok, NULL);
		if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
			return 0;
	} else if ((void)strtoll(tok, NULL, 10), errno == ERANGE)
		return 0;
	return end;
}

/* true, false or null at t[i]: the index past it, or 0. */
static size_t
valid_literal(const unsigned char *t, size_t len, size_t i)
{
	const char *w = t[i] == 't' ? "true" : t[i] == 'f' ? "false" : "null";
	size_t n = strlen(w);

	if (len - i < n || memcmp(t + i, w, n) != 0)
		return 0;
	return i + n;
}

/*
 * The validating scan behind jx_valid and jx_count.  It builds nothing and
 * counts each value (scalar or container) into *elems, stopping at the
 * first one past maxelems.  lenient takes a number of any length on its
 * syntax alone: jansson reads those, so the count must not end before it.
 */
static enum jx_scan
scan(const char *text, size_t len, unsigned maxdepth, size_t maxelems,
    int lenient, size_t *elems)
{
	const unsigned char *t = (const unsigned char *)text;
	char close[JX_MAX_DEPTH];
	size_t i = skip_ws(text, len, 0), depth = 0, s;
	enum { VALUE, KEY, AFTER } want = VALUE;

	*elems = 0;
	if (maxdepth > JX_MAX_DEPTH)
		maxdepth = JX_MAX_DEPTH;
	for (;;) {
		if (want == AFTER) {
			i = skip_ws(text, len, i);
			if (depth == 0)
				return i == len ? JX_SCAN_OK : JX_SCAN_BAD;
			if (i >= len)
				return JX_SCAN_BAD;
			if (t[i] == ',') {
				i = skip_ws(text, len, i + 1);
				want = close[depth - 1] == '}' ? KEY : VALUE;
			} else if (t[i] == close[depth - 1]) {
				depth--;
				i++;
			} else
				return JX_SCAN_BAD;
			continue;
		}
		if (i >= len)
			return JX_SCAN_BAD;
		if (want == KEY) {
			if (t[i] != '"' || (i = valid_string(t, len, i)) == 0)
				return JX_SCAN_BAD;
			i = skip_ws(text, len, i);
			if (i >= len || t[i] != ':')
				return JX_SCAN_BAD;
			i = skip_ws(text, len, i + 1);
			want = VALUE;
			continue;
		}
		if (++*elems > maxelems)
			return JX_SCAN_MANY;
		want = AFTER;
		switch (t[i]) {
		case '{':
		case '[':
			if (depth == maxdepth)
				return JX_SCAN_DEEP;
			close[depth++] = t[i] == '{' ? '}' : ']';
			i = skip_ws(text, len, i + 1);
			if (i < len && t[i] == close[depth - 1]) {
				depth--;
				i++;
			} else
				want = close[depth - 1] == '}' ? KEY : VALUE;
			break;
		case '"':
			if ((i = valid_string(t, len, i)) == 0)
				return JX_SCAN_BAD;
			break;
		case 't':
		case 'f':
		case 'n':
			if ((i = valid_literal(t, len, i)) == 0)
				return JX_SCAN_BAD;
			break;
		default:
			if ((s = valid_number(t, len, i)) == 0 && lenient)
				s = number_syntax(t, len, i);
			if (s == 0)
				return JX_SCAN_BAD;
			i = s;
			break;
		}
	}
}

int
jx_valid(const char *text, size_t len)
{
	size_t n;

	return scan(text, len, VALID_DEPTH, SIZE_MAX, 0, &n) == JX_SCAN_OK;
}

enum jx_scan
jx_count(const char *text, size_t len, unsigned maxdepth, size_t maxelems,
    size_t *elems)
{
	return scan(text, len, maxdepth, maxelems, 1, elems);
}

enum tg_err
jx_quote(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;
	char u[7] = "\\u00";

	if (buf_append(b, "\"", 1) != TG_OK)
		return TG_ESYSTEM;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		if (buf_append(b, run, (size_t)(s - run)) != TG_OK)
			return TG_ESYSTEM;
		run = s + 1;
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};

			if (buf_append(b, e, 2) != TG_OK)
				return TG_ESYSTEM;
			continue;
		}
		u[4] = hex[c >> 4];
		u[5] = hex[c & 0xf];
		if (buf_append(b, u, 6) != TG_OK)
			return TG_ESYSTEM;
	}
	if (buf_append(b, run, (size_t)(s - run)) != TG_OK ||
	    buf_append(b, "\"", 1) != TG_OK)
		return TG_ESYSTEM;
	return TG_OK;
}

enum tg_err
jx_parse(const char *text, size_t len, unsigned maxdepth, size_t maxelems,
    int want_object, json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;
	const char *nul;
	unsigned d;
	size_t n;

	*out = NULL;
	if (len == 0) {
		snprintf(err, errlen,
		    "the request body is empty; send a JSON "
		    "object");
		return TG_EJSON;
	}
	/*
	 * No raw NUL byte is JSON, and jansson takes one after a number as
	 * the number's end and reads on, past where jx_count stops: the
	 * element cap below would not hold.
	 */
	if ((nul = memchr(text, '\0', len)) != NULL) {
		snprintf(err, errlen, "invalid JSON: a NUL byte at offset %zu",
		    (size_t)(nul - text));
		return TG_EJSON;
	}
	/* Checked before parsing so a deep body costs no recursion. */
	if ((d = jx_depth(text, len)) > maxdepth) {
		snprintf(err, errlen,
		    "JSON nesting depth %u exceeds the limit "
		    "of %u",
		    d, maxdepth);
		return TG_EJSON;
	}
	/*
	 * Counted before jansson allocates: 8 MiB of [{},{},...] is 2.8 million
	 * objects, hundreds of MiB.  Malformed text under the bound goes on to
	 * jansson for its message; the scan is no stricter than jansson, so
	 * jansson stops where it did, having built fewer than maxelems values.
	 */
	if (jx_count(text, len, maxdepth, maxelems, &n) == JX_SCAN_MANY) {
		snprintf(err, errlen,
		    "the request body has more than %zu JSON values, "
		    "the limit of %zu",
		    maxelems, maxelems);
		return TG_ETOOBIG;
	}
	/* No JSON_ALLOW_NUL: C strings downstream would be cut at \\u0000. */
	j = json_loadb(text, len,
	    JSON_REJECT_DUPLICATES | (want_object ? 0 : JSON_DECODE_ANY), &je);
	if (j == NULL) {
		if (strstr(je.text, "duplicate") != NULL)
			snprintf(err, errlen,
			    "invalid JSON: %s (line %d, column "
			    "%d); each key may appear once",
			    je.text, je.line, je.column);
		else
			snprintf(err, errlen,
			    "invalid JSON: %s (line %d, column "
			    "%d)",
			    je.text, je.line, je.column);
		return TG_EJSON;
	}
	if (want_object && !json_is_object(j)) {
		json_decref(j);
		snprintf(err, errlen, "the request body must be a JSON object");
		return TG_EJSON;
	}
	*out = j;
	return TG_OK;
}

json_t *
jx_string_lossy(const char *s)
{
	json_t *j;
	char *copy;
	size_t i;

	if ((j = json_string(s)) != NULL)
		return j;
	/* Not UTF-8 (an echoed path, say): keep ASCII, mark the rest. */
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

char *
jx_dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

static unsigned
type_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		return JX_STRING;
	case JSON_INTEGER:
		return JX_INT;
	case JSON_REAL:
		return JX_REAL;
	case JSON_TRUE:
	case JSON_FALSE:
		return JX_BOOL;
	case JSON_NULL:
		return JX_NULL;
	case JSON_ARRAY:
		return JX_ARRAY;
	default:
		return JX_OBJECT;
	}
}

static const char *
type_names(unsigned t)
{
	if (t & JX_STRING)
		return "a string";
	if ((t & JX_NUMBER) == JX_NUMBER)
		return "a number";
	if (t & JX_INT)
		return "an integer";
	if (t & JX_BOOL)
		return "true or false";
	if (t & JX_ARRAY)
		return "an array";
	return "an object";
}

enum tg_err
jx_check(const json_t *obj, const struct jx_field *spec, const char **code,
    const char **param, char *msg, size_t msglen)
{
	const struct jx_field *f;
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		for (f = spec; f->name != NULL && strcmp(f->name, key) != 0;
		     f++)
			;
		*param = f->name;
		if (f->name == NULL) {
			*code = "unknown_field";
			*param = key;
			snprintf(msg, msglen, "unknown field '%.64s'", key);
			return TG_EINVAL;
		}
		if (!(type_of(v) & f->types)) {
			*code = "invalid_type";
			snprintf(msg, msglen, "'%s' must be %s%s", f->name,
			    type_names(f->types),
			    f->types & JX_NULL ? " or null" : "");
			return TG_EINVAL;
		}
	}
	for (f = spec; f->name != NULL; f++)
		if (f->required && json_object_get(obj, f->name) == NULL) {
			*code = "missing_field";
			*param = f->name;
			snprintf(msg, msglen, "'%s' is required", f->name);
			return TG_EINVAL;
		}
	return TG_OK;
}

const char *
jx_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}
