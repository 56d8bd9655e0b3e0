/* auth.h: who is calling: API keys and dashboard sessions, with the key's restrictions */
/* SPDX-License-Identifier: MIT */
#ifndef AUTH_H
#define AUTH_H

#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct db_pool;
struct op;

/* Bits in the order of the api_keys.permissions SET ('read','write','admin','keys'). */
enum perm {
	PERM_READ = 1 << 0,
	PERM_WRITE = 1 << 1,
	PERM_ADMIN = 1 << 2,
	PERM_KEYS = 1 << 3 /* create, change, rotate and delete API keys */
};

struct principal {
	int64_t user_id;	  /* internal */
	char user_pub[32];	  /* usr_... */
	int admin_role;		  /* the user's role is admin */
	int64_t key_id;		  /* internal; 0 for a session */
	char key_pub[32];	  /* key_...; "" for a session */
	char masked[64];	  /* gw_live_Ab3x...wxyz, or "" */
	unsigned perms;		  /* PERM_* */
	int session;		  /* authenticated by a dashboard session */
	char session_expires[24]; /* a session's end, ISO 8601 UTC; else "" */
	/* issue 18: compat */
	int basic; /* authenticated by HTTP Basic (an admin's password) */
	/* issue 18 (did): the did:key that signed the request; else NULL */
	const char *did;
	/* issue 18: testmode */
	int test; /* a gw_test_ key: the sandbox pays, test/... models answer */
};

/* A CSRF token in hex: HMAC-SHA256 keyed by the session token. */
#define AUTH_CSRF_LEN 64

/*
 * The CSRF token of a session token.  Derived, not stored: any worker checks
 * it without the database, only the holder of the token (the browser that
 * got the cookie and /auth/session's answer) knows it, and it dies with the
 * session.  -1 (out "") when the HMAC fails.
 */
int auth_csrf(const char *token, char out[AUTH_CSRF_LEN + 1]);
/* 1 when given (NULL: absent) is the CSRF token of token, in constant time. */
int auth_csrf_ok(const char *token, const char *given);

/*
 * The principal of an API key by the SHA-256 of its secret, checked against
 * the key's restrictions (status, expiry, op->addr, origin: the Origin or
 * Referer of the request, NULL: none) and perms (PERM_*); counts the request.
 * Failures (401/403 reasons) are recorded in op->fail.
 */
enum tg_err auth_by_key(struct op *, struct db_conn *,
    const unsigned char hash[32], const char *origin, unsigned perms,
    struct principal *);
/* The principal of a dashboard session by the SHA-256 of its token. */
enum tg_err auth_by_session(struct op *, struct db_conn *,
    const unsigned char hash[32], struct principal *);
/* TG_OK when p holds perms (PERM_*); else the 403 in op->fail. */
enum tg_err auth_check_perms(
    struct op *, const struct principal *p, unsigned perms);
/*
 * 1 when the caller sees the whole account (a session, or a key with write
 * or keys); a read-only key sees its own key, its own usage and the balance.
 */
int auth_whole_account(const struct principal *);
/* Write the request counts still pending (at worker exit). */
void auth_flush(struct db_pool *);
/* Mask a key for display: "gw_live_Ab3x...wxyz" from prefix and last4. */
void auth_mask(const char *prefix, const char *last4, char *out, size_t outlen);
/* 1 if addr (text) is inside one entry of a JSON array of addresses/CIDRs. */
int auth_ip_allowed(const char *allowlist_json, const char *addr);
/* 1 if the host of url matches one pattern of a JSON array ("a.com", "*.a.com"). */
int auth_referrer_allowed(const char *allowlist_json, const char *url);
/* 1 if every address of inner (address or CIDR) is inside outer. */
int auth_net_within(const char *inner, const char *outer);
/* 1 if every host matched by pattern inner is matched by pattern outer. */
int auth_host_within(const char *inner, const char *outer);
/* PERM_* bits of a permissions SET literal ("read,write,keys"). */
unsigned auth_perms_parse(const char *set);
/* 1 if s is a valid IPv4/IPv6 address or CIDR. */
int auth_cidr_valid(const char *s);

#endif
