/* status.h: `tollgate status`, the master's record read from the metrics file */
/* SPDX-License-Identifier: MIT */
#ifndef STATUS_H
#define STATUS_H

struct conf;

/*
 * Print the node's master (pid, uptime, generation, workers, slots busy,
 * requests served) as text or, with --json, one JSON object.  Exit 0 when a
 * master runs for this config's run_dir, 3 when none does (LSB status), 4
 * when the file cannot be read, 2 for a bad argument.
 */
int cli_status(const struct conf *, int argc, char **argv);

#endif
