/* master.h: the standalone pool supervisor (php-fpm style static pool) */
/* SPDX-License-Identifier: MIT */
#ifndef MASTER_H
#define MASTER_H

struct conf;

/* Bind, fork workers, supervise until stopped; takes ownership of conf. Exit code. */
int master_run(struct conf *);

#endif
