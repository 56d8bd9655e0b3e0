/* buf.h: growable byte buffer with a hard cap (curl dynbuf style) */
/* SPDX-License-Identifier: MIT */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>
#include <stdarg.h>

#include "core/tollgate.h"

struct buf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t size;
	size_t cap; /* append past this fails with TG_ETOOBIG */
};

void buf_init(struct buf *, size_t cap);
/* TG_OK, or TG_ETOOBIG (buffer freed) when the cap would be exceeded. */
enum tg_err buf_append(struct buf *, const void *, size_t);
enum tg_err buf_puts(struct buf *, const char *);
enum tg_err buf_printf(struct buf *, const char *, ...) TG_PRINTF(2, 3);
void buf_reset(struct buf *);
/* NULL-safe; leaves the buffer empty and reusable. */
void buf_free(struct buf *);

#endif
