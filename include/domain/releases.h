/* releases.h: per user, the unused part of exact holds settled into the node's journals and not yet written out */
/* SPDX-License-Identifier: MIT */
#ifndef RELEASES_H
#define RELEASES_H

#include <stddef.h>
#include <stdint.h>

/*
 * issue 20: an exact hold settled through the journal stays reserved in the
 * database until its line is written out; what it will give back (its amount
 * less its charge) is counted here, node-wide (server.run_dir), so that the
 * balance an answer tells is the one the database will have.  The journal
 * adds a line's part once it is written and takes a batch's parts off before
 * the batch commits (back on if it fails): a balance read meanwhile may come
 * out low for an instant, never high.  A part whose line a crash lost stays
 * counted; one never counted (a crash between the line and its part) makes
 * the user's figure negative: read as 0, so the figure errs low.
 */
struct releases;

/* The table in the file path, or process-private when path is NULL. */
struct releases *releases_open(const char *path, char *err, size_t errlen);
void releases_close(struct releases *);
/* Adds amount (negative: takes it off) to the user's figure; 0, or -1 full. */
int releases_add(struct releases *, int64_t user_id, int64_t amount);
/* The user's figure, at least 0; 0 without a table. */
int64_t releases_of(struct releases *, int64_t user_id);

#endif
