/* fcgi_io.h: the only door to libfcgi, plus plain CGI on stdin/stdout */
/* SPDX-License-Identifier: MIT */
#ifndef FCGI_IO_H
#define FCGI_IO_H

#include "io/io.h"

struct fcgi_door;
struct fcgi_slot;

/* Once per process, after our signal handlers are installed; 0 or -1. */
int fcgi_init(void);
/*
 * The process's door on listen_fd (made non-blocking): the slots' shared
 * accept and the connections the web server keeps open between requests.
 */
struct fcgi_door *fcgi_door_new(int listen_fd);
/* Closes the parked connections; after every slot has stopped. */
void fcgi_door_free(struct fcgi_door *);
/* A request slot accepting through the door; NULL on OOM. */
struct fcgi_slot *fcgi_slot_new(struct fcgi_door *);
/* Whether a request (its FastCGI params) may take the fast lane. */
typedef int fcgi_fast_fn(char **envp, void *arg);
/*
 * The door's fast lane, after its slots: a slot that accepts only while every
 * other slot is busy, serves the requests fast() accepts and hands the others
 * to the slots (they take them before anything else).  It takes a new
 * connection only after grace_ms, so that other processes sharing the
 * listening socket serve it when they have a slot free.  NULL on OOM.
 */
struct fcgi_slot *fcgi_lane_new(
    struct fcgi_door *, fcgi_fast_fn *fast, void *arg, unsigned grace_ms);
void fcgi_slot_free(struct fcgi_slot *);
/* Block for the next request; 0, or -1 on shutdown/interrupt/error. */
int fcgi_accept(struct fcgi_slot *, struct tg_io *io);
/* Finish the current request: flush, then close or (FCGI_KEEP_CONN) park. */
void fcgi_finish(struct fcgi_slot *);
/*
 * 1 when fcgi_finish found the next request already sent on its connection,
 * or the lane handed over a request that a slot must serve.
 */
int fcgi_has_next(const struct fcgi_slot *);
/* Make accepts fail from now on and wake the polling slot. */
void fcgi_shutdown_pending(struct fcgi_door *);
/* An io for one CGI request: environ, fd 0 and fd 1. */
void cgi_io(struct tg_io *io, char **envp);

#endif
