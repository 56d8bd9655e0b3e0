/* zip.c: deflate and inflate of whole buffers (the one file that includes zlib.h) */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <zlib.h>

#include "core/zip.h"

size_t
zip_bound(size_t n)
{
	return n > ULONG_MAX / 2 ? 0 : (size_t)compressBound((uLong)n);
}

int
zip_deflate(
    const void *in, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
	uLongf got = (uLongf)cap;

	if (n > UINT_MAX || cap > UINT_MAX)
		return -1;
	/* Level 6 (zlib's default): text to about a quarter, quickly. */
	if (compress2(out, &got, in, (uLong)n, Z_DEFAULT_COMPRESSION) != Z_OK)
		return -1;
	*outlen = (size_t)got;
	return 0;
}

int
zip_inflate(const unsigned char *in, size_t n, unsigned char *out, size_t cap,
    size_t *outlen)
{
	z_stream z;
	int rc;

	if (n > UINT_MAX || cap > UINT_MAX)
		return -1;
	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		return -1;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	/* One call: a stream that needs more room than cap is refused. */
	rc = inflate(&z, Z_FINISH);
	*outlen = (size_t)z.total_out;
	inflateEnd(&z);
	return rc == Z_STREAM_END ? 0 : -1;
}
