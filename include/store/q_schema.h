/* q_schema.h: typed queries on the schema version, the migrations and named locks */
/* SPDX-License-Identifier: MIT */
#ifndef Q_SCHEMA_H
#define Q_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct arena;
struct db_conn;

/* The highest migration applied (0: none, or no schema_migrations yet). */
enum tg_err q_schema_version(struct db_conn *, int64_t *out);

/* The migrations applied so far, by version (arena memory). */
struct q_migrations {
	size_t n;
	int64_t *version;
};
enum tg_err q_migration_list(
    struct db_conn *, struct arena *, struct q_migrations *out);
/* Record a migration file as applied. */
enum tg_err q_migration_record(
    struct db_conn *, int64_t version, const char *name);

/* Serialize across processes and hosts (GET_LOCK): TG_ETIMEOUT if held. */
enum tg_err q_lock(struct db_conn *, const char *name, unsigned timeout_s);
void q_unlock(struct db_conn *, const char *name);

#endif
