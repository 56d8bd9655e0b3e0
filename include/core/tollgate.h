/* tollgate.h: project-wide error codes, limits and attributes */
/* SPDX-License-Identifier: MIT */
#ifndef TOLLGATE_H
#define TOLLGATE_H

#include <stddef.h>
#include <stdint.h>

/* The schema version this binary expects; equals the highest schema/NNNN_*.sql. */
#define TG_SCHEMA_VERSION 26

#define TG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TG_NORETURN	__attribute__((noreturn))

/*
 * Result of every module API.  Each value maps to one HTTP status, OpenAI
 * error type and code in the table in resp.c.
 */
enum tg_err {
	TG_OK = 0,
	TG_EINVAL,    /* malformed or invalid input (400) */
	TG_EJSON,     /* body is not acceptable JSON (400) */
	TG_EAUTH,     /* missing or unknown credentials (401) */
	TG_ECREDIT,   /* insufficient credits (402) */
	TG_EPERM,     /* authenticated but not allowed (403) */
	TG_ENOENT,    /* no such route or resource (404) */
	TG_EMETHOD,   /* method not allowed on this path (405) */
	TG_ECONFLICT, /* duplicate or conflicting state (409) */
	TG_ETOOBIG,   /* over a configured size cap (413) */
	TG_EMEDIA,    /* unsupported Content-Type (415) */
	TG_ERATE,     /* rate limited (429) */
	TG_ESYSTEM,   /* internal failure (500) */
	TG_EUPSTREAM, /* provider error (502) */
	TG_EDB,	      /* database unavailable (503) */
	TG_ESCHEMA,   /* database schema is not the expected version (503) */
	TG_ETIMEOUT,  /* provider timeout (504) */
	TG_EUNAVAIL,  /* no provider can serve the request now (503) */
	TG_ERR__MAX
};

#endif
