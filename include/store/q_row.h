/* q_row.h: reading one result column by its type, for the typed queries of store/q_*.c only */
/* SPDX-License-Identifier: MIT */
#ifndef Q_ROW_H
#define Q_ROW_H

#include <stdint.h>

#include "io/db.h"

/* A string column; NULL when SQL NULL (or not a string). */
static inline const char *
q_str(const struct db_val *v)
{
	return v->type == DBT_STR ? v->s : NULL;
}

/* An integer column; dflt when SQL NULL. */
static inline int64_t
q_i64(const struct db_val *v, int64_t dflt)
{
	return v->type == DBT_I64 ? v->i : dflt;
}

/* A string parameter that is SQL NULL when s is NULL or empty. */
static inline struct db_val
q_opt_str(const char *s)
{
	return s != NULL && *s != '\0' ? DB_STR(s) : DB_NULLV;
}

/* A binary parameter of n bytes (hashes). */
static inline struct db_val
q_bin(const void *p, size_t n)
{
	return (struct db_val){.type = DBT_STR, .s = (const char *)p, .len = n};
}

#endif
