/* store.h: starting the store layer */
/* SPDX-License-Identifier: MIT */
#ifndef STORE_H
#define STORE_H

/*
 * Hand the statement and batch tables to the database layer: once per
 * process, before the first connection (main and the unit tests).
 */
void store_init(void);

#endif
