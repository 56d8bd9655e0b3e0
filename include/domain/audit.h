/* audit.h: the keyed hash chain of the audit log, written in the caller's transaction */
/* SPDX-License-Identifier: MIT */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;
struct op;

/*
 * Key the chain with a key derived from the master key (once per process,
 * before any write).  Without it rows are plain SHA-256 (hash_alg 1), and
 * only until the first keyed row: then appends without the key, or with
 * another, are refused (TG_EUNAVAIL).
 */
void audit_set_key(const unsigned char master[32]);
/* Whether audit_set_key has been called. */
int audit_keyed(void);
/*
 * Lock the chain head: first statement of every audited transaction, so all
 * control-plane writes are ordered the same way and cannot deadlock.
 */
enum tg_err audit_lock(struct db_conn *);
/* Start an audited transaction: db_begin then audit_lock. */
enum tg_err audit_begin(struct db_conn *);
/*
 * Append one row (after audit_lock, before commit).  before/after may be NULL;
 * they must hold no secrets.  Actor, IP and request id come from op (may be
 * NULL for the command line and the system).
 */
enum tg_err audit_append(struct db_conn *, struct arena *, const struct op *op,
    const char *action, const char *target_type, const char *target_id,
    json_t *before, json_t *after);
/* audit_append, then commit: the last step of an audited transaction. */
enum tg_err audit_commit(struct db_conn *, struct arena *, const struct op *op,
    const char *action, const char *target_type, const char *target_id,
    json_t *before, json_t *after);
/*
 * Walk the chain; prints the result to out.  0 intact, 1 broken (or a keyed
 * chain without its key, or under another), -1 error.
 */
int audit_verify(struct db_conn *, FILE *out);
/* What a walk of the chain found (GET /admin/audit/verify). */
struct audit_verdict {
	int64_t rows;	   /* rows verified before the end or the break */
	int64_t keyed;	   /* of them keyed with the master key */
	int64_t broken_at; /* the row the chain breaks at; 0: none or n/a */
	char reason[256];  /* why not intact; "" when intact */
};
/* audit_verify's walk: 0 intact, 1 broken (reason, broken_at), -1 error. */
int audit_check(struct db_conn *, struct audit_verdict *);

#endif
