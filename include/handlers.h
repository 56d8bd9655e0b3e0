/* handlers.h: request handlers, one resource per file (h_*.c) */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "req.h"
#include "resp.h"

/* h_meta.c */
enum tg_err h_health(struct tg_req *, struct tg_resp *);
enum tg_err h_root(struct tg_req *, struct tg_resp *);
enum tg_err h_openapi(struct tg_req *, struct tg_resp *);
/* h_debug.c: test-only routes, present only with debug.routes = on */
enum tg_err h_debug_sleep(struct tg_req *, struct tg_resp *);
enum tg_err h_debug_pid(struct tg_req *, struct tg_resp *);
enum tg_err h_debug_echo(struct tg_req *, struct tg_resp *);
enum tg_err h_debug_crash(struct tg_req *, struct tg_resp *);

#endif
