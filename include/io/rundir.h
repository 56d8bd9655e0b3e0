/* rundir.h: is server.run_dir usable (shared counters, journal), and making it at start */
/* SPDX-License-Identifier: MIT */
#ifndef RUNDIR_H
#define RUNDIR_H

#include <stddef.h>

/*
 * server.run_dir holds the node's shared-memory files and journal.  When it
 * is missing or not writable tollgate still serves, but rate limits count
 * per process, and there is no journal and no credit lease: so `-t` and
 * /health report it (issue 19).
 */
enum rundir_state {
	RUNDIR_OK,     /* a directory this process can write and search */
	RUNDIR_ABSENT, /* missing, and its parent lets this process create it */
	RUNDIR_BAD,    /* anything else; why says what */
};

/* The state of dir for this process (uid), with a reason unless RUNDIR_OK. */
enum rundir_state rundir_check(const char *dir, char *why, size_t len);
/*
 * Create dir (mode 0700, one level) when it is missing and its parent is
 * writable; 0 when dir is usable afterwards, else -1 with a reason.
 */
int rundir_make(const char *dir, char *why, size_t len);
/*
 * 1 when dir is in memory (tmpfs, ramfs): what is there is gone after a
 * crash or reboot of the machine, so the journal (server.state_dir) should
 * not be (issue 20).
 */
int rundir_volatile(const char *dir);

#endif
