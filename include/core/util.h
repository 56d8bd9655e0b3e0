/* util.h: small helpers: randomness, ids, time, number and size parsing */
/* SPDX-License-Identifier: MIT */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

/* Cryptographically random bytes for identifiers, never for secrets; 0 or -1. */
int util_random(void *, size_t);
/*
 * n (>= 8) bytes: the wall clock's milliseconds (6 bytes, big-endian), then
 * random; for ids that key index rows.  0 or -1.
 */
int util_ordered_id(void *, size_t);
/* 32 lowercase hex characters + NUL into out[33], time-ordered; 0 or -1. */
int util_request_id(char out[33]);
/* A client request id we keep: 1-128 of [A-Za-z0-9._:-]. */
int util_request_id_ok(const char *);
/*
 * Whether process pid runs: 1 when it exists and is no zombie (a killed
 * process whose parent died too stays one until init reaps it).
 */
int util_pid_alive(int pid);
/* This process's id, without a system call after the first (reset on fork). */
int util_pid(void);
/* Monotonic seconds. */
double util_now(void);
/* Wall-clock seconds since the epoch (shared by processes and machines). */
double util_wall(void);
#define UTIL_FNV_SEED 1469598103934665603ULL
/* FNV-1a of n bytes, continuing from h (start with UTIL_FNV_SEED). */
uint64_t util_fnv1a(uint64_t h, const void *p, size_t n);
/* "2026-11-25T10:11:12Z" into out[21]. */
void util_iso8601(char out[21]);
/* A wall-clock time t as SQL's DATETIME(6) in UTC: "YYYY-MM-DD HH:MM:SS.uuuuuu". */
#define UTIL_SQL_TIME_LEN 27
void util_sql_time(double t, char out[UTIL_SQL_TIME_LEN]);
/* Decimal unsigned with bounds; 0 or -1. */
int util_parse_u64(const char *, uint64_t min, uint64_t max, uint64_t *out);
/* Size with optional K, M, G suffix (powers of 1024); 0 or -1. */
int util_parse_size(const char *, uint64_t *out);
/* Percent-decode src (n bytes) into dst (n+1 bytes); -1 on bad escape or NUL. */
int util_pct_decode(const char *src, size_t n, char *dst);
/* Case-insensitive ASCII comparison of the first n bytes. */
int util_strncaseeq(const char *, const char *, size_t);
/* The reason phrase for an HTTP status ("Not Found"). */
const char *util_http_reason(int status);
/*
 * The longest prefix of s (NUL-terminated, UTF-8) of at most max bytes that
 * ends on a character boundary: cutting there never splits a character.
 */
size_t util_utf8_cut(const char *s, size_t max);

#endif
