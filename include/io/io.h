/* io.h: the request I/O seam: FastCGI, CGI and test sinks all look like this */
/* SPDX-License-Identifier: MIT */
#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <sys/types.h>

struct tg_io {
	void *ctx;
	char **envp; /* borrowed until the request finishes */
	/* Read up to n body bytes: count, 0 at end, -1 on error. */
	ssize_t (*read)(void *ctx, void *buf, size_t n);
	/* Write all n bytes: 0, or -1 when the client is gone. */
	int (*write)(void *ctx, const void *buf, size_t n);
	/* Push buffered output to the client: 0 or -1. */
	int (*flush)(void *ctx);
	/* 1 when the client is known gone (nothing read or written); may be NULL. */
	int (*gone)(void *ctx);
};

#endif
