/* json.c: jansson helpers: strict body parsing with a depth cap */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

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

enum tg_err
jx_parse(const char *text, size_t len, unsigned maxdepth, int want_object,
    json_t **out, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j;
	unsigned d;

	*out = NULL;
	if (len == 0) {
		snprintf(err, errlen,
		    "the request body is empty; send a JSON "
		    "object");
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
