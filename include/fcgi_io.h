/* fcgi_io.h: the only door to libfcgi, plus plain CGI on stdin/stdout */
#ifndef FCGI_IO_H
#define FCGI_IO_H

#include "io.h"

struct fcgi_slot;

/* Once per process, after our signal handlers are installed; 0 or -1. */
int fcgi_init(void);
/* A request slot accepting on listen_fd; NULL on OOM. */
struct fcgi_slot *fcgi_slot_new(int listen_fd);
void fcgi_slot_free(struct fcgi_slot *);
/* Block for the next request; 0, or -1 on shutdown/interrupt/error. */
int fcgi_accept(struct fcgi_slot *, struct tg_io *io);
/* Finish the current request (flushes and closes per FCGI_KEEP_CONN). */
void fcgi_finish(struct fcgi_slot *);
/* Ask libfcgi to make accepts fail (async-signal-safe). */
void fcgi_shutdown_pending(void);
/* An io for one CGI request: environ, fd 0 and fd 1. */
void cgi_io(struct tg_io *io, char **envp);

#endif
