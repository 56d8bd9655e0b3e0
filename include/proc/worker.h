/* worker.h: a worker process: slots accepting and serving requests */
/* SPDX-License-Identifier: MIT */
#ifndef WORKER_H
#define WORKER_H

struct conf;

/*
 * Serve on listen_fd with conf->threads slots (1 when spawned) until told to
 * stop or max_requests is reached.  served, if not NULL, is a counter in
 * memory the master can read after the worker dies.  Returns the exit code.
 */
int worker_run(
    const struct conf *, int listen_fd, int spawned, unsigned long *served);
/* Serve one CGI request from the environment; exit code. */
int worker_cgi(const struct conf *);

#endif
