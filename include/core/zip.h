/* zip.h: deflate and inflate of whole buffers (zlib adapter) */
/* SPDX-License-Identifier: MIT */
#ifndef ZIP_H
#define ZIP_H

#include <stddef.h>

/*
 * zlib's format of in[0..n) into out (room for cap bytes); *outlen its size.
 * -1 when it does not fit in cap (or zlib fails).
 */
int zip_deflate(
    const void *in, size_t n, unsigned char *out, size_t cap, size_t *outlen);
/* The bound zip_deflate needs for n bytes, whatever they are. */
size_t zip_bound(size_t n);
/*
 * What zip_deflate made, back into out (room for cap bytes); -1 when it is
 * not whole, is altered or would inflate past cap (a bomb stops there).
 */
int zip_inflate(const unsigned char *in, size_t n, unsigned char *out,
    size_t cap, size_t *outlen);

#endif
