/* pipeline.h: what runs before a handler: the request's database connection, credentials and the 401/403 */
/* SPDX-License-Identifier: MIT */
#ifndef PIPELINE_H
#define PIPELINE_H

#include "core/tollgate.h"

struct tg_req;
struct tg_resp;
struct db_conn;

/*
 * The request's database connection, borrowed from the pool on first use and
 * returned when the request ends.  TG_EDB/TG_ESCHEMA when unavailable.
 */
enum tg_err router_db(struct tg_req *, struct db_conn **);
/*
 * Authenticate r for a route needing perms (PERM_*).  On success sets r->who.
 * Otherwise records the 401/403 in resp and returns its code.
 */
enum tg_err auth_check(struct tg_req *, struct tg_resp *, unsigned perms);
/* TG_OK for auth_whole_account callers; else a 403 naming what it may read. */
enum tg_err auth_need_account(struct tg_req *, struct tg_resp *);
struct op;
/*
 * The result rc of a domain service run with op: when the service recorded
 * why it failed (op->fail), that is rendered (resp_from_op); else rc as it is.
 */
enum tg_err resp_op(
    struct tg_req *, struct tg_resp *, const struct op *, enum tg_err rc);
/* 1 when r carries a credential in a header or the session cookie. */
int auth_offered(struct tg_req *);
/* The raw credential the client sent in a header, or NULL. */
const char *auth_credential(struct tg_req *);
/*
 * Set the dashboard's session cookie to token (HttpOnly, SameSite=Strict,
 * Path the mount prefix, Secure over TLS), or clear it when token is NULL.
 */
void session_cookie(
    struct tg_req *, struct tg_resp *, const char *token, unsigned max_age);
/*
 * issue 18 (did): authenticate r by its x-did, x-did-timestamp and
 * x-did-signature headers (the body read to hash it) for a route needing
 * perms (PERM_*), in http/auth_did.c.  On success sets r->who (key_id 0,
 * like a session); otherwise records the 401 or 403 in resp and returns its
 * code.  401 did_disabled unless [did] enabled = on.
 */
enum tg_err auth_did(struct tg_req *, struct tg_resp *, unsigned perms);

/* issue 18: compat (auth_basic.c) */
/* The base64 of an 'Authorization: Basic' header; NULL: none. */
const char *auth_basic_offered(struct tg_req *);
/*
 * An admin's email and password as the credential: only where perms ask for
 * PERM_ADMIN (else 401) and [auth] basic is on; sets r->who like auth_check.
 */
enum tg_err auth_basic(
    struct tg_req *, struct tg_resp *, unsigned perms, const char *b64);

#endif
