/* migrate.h: forward-only schema migrations from schema/NNNN_name.sql */
/* SPDX-License-Identifier: MIT */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <stdio.h>

struct arena;
struct conf;
struct db_conn;

/*
 * Seeds the database from a file of the schema directory once the migrations
 * are applied (the domain's catalog_seed): 0 or -1, reporting to out.
 */
typedef int (*migrate_seed_fn)(
    struct db_conn *, struct arena *, const char *path, FILE *out);
/*
 * Apply pending migrations, printing one line per file to out, then seed from
 * schema_dir/pricing.json when it exists (seed may be NULL); 0 or -1.
 */
int migrate_run(const struct conf *, FILE *out, migrate_seed_fn seed);

#endif
