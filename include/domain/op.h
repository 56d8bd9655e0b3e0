/* op.h: one domain operation: who acts, from where, and why it failed */
/* SPDX-License-Identifier: MIT */
#ifndef OP_H
#define OP_H

#include <stdint.h>
#include <jansson.h>

#include "core/tollgate.h"

struct arena;
struct conf;
struct db_conn;
struct principal;

/*
 * Why a domain service refused or failed.  Services fill it and return its
 * err; only the http layer turns it into a status, headers and a body.
 * Every string lives in the operation's arena or is static.
 */
struct tg_fail {
	enum tg_err err;     /* TG_OK: nothing failed */
	const char *code;    /* OpenAI error.code; NULL: the table's */
	const char *param;   /* the offending member; NULL: none */
	const char *message; /* for the client: never a secret */
	int64_t retry_after; /* seconds for Retry-After; 0: none */
};

/*
 * The caller of a domain service: the HTTP pipeline builds one per request,
 * the CLI one per command.  Services never see a request or a response.
 */
struct op {
	struct arena *arena; /* the operation's memory */
	const struct conf *conf;
	const struct principal *who; /* the actor; NULL: anonymous or CLI */
	const char *addr;	     /* client address; "cli" from the CLI */
	const char *request_id;	     /* for the audit log and usage rows */
	const unsigned char *master; /* opens upstream keys; NULL: none */
	struct tg_fail fail;	     /* set by op_fail */
};

/* Record why the operation failed; returns err (printf-style message). */
enum tg_err op_fail(struct op *, enum tg_err err, const char *code,
    const char *param, const char *fmt, ...) TG_PRINTF(5, 6);
struct jx_field;
/*
 * Check a request body against a field table (jx_check); a failure becomes
 * TG_EINVAL with the field's code and param.  Returns TG_OK or TG_EINVAL.
 */
enum tg_err op_check(
    struct op *, const json_t *body, const struct jx_field *spec);
/* Forget an earlier failure (a service that recovered from one). */
void op_clear(struct op *);

#endif
