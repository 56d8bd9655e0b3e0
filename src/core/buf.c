/* buf.c: growable byte buffer with a hard cap */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

void
buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	b->cap = cap;
}

enum tg_err
buf_append(struct buf *b, const void *p, size_t n)
{
	size_t want;
	char *d;

	if (n > b->cap || b->len > b->cap - n) {
		buf_free(b);
		return TG_ETOOBIG;
	}
	if (b->len + n + 1 > b->size) {
		want = b->size ? b->size : 256;
		while (want < b->len + n + 1)
			want *= 2;
		if (want > b->cap + 1)
			want = b->cap + 1;
		if ((d = realloc(b->data, want)) == NULL) {
			buf_free(b);
			return TG_ESYSTEM;
		}
		b->data = d;
		b->size = want;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return TG_OK;
}

enum tg_err
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

enum tg_err
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[512], *p;
	int n;
	enum tg_err rc;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return TG_ESYSTEM;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	if ((p = malloc((size_t)n + 1)) == NULL)
		return TG_ESYSTEM;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rc = buf_append(b, p, (size_t)n);
	free(p);
	return rc;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->size = 0;
}
