/* migrate.h: forward-only schema migrations from schema/NNNN_name.sql */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <stdio.h>

struct conf;

/* Apply pending migrations, printing one line per file to out; 0 or -1. */
int migrate_run(const struct conf *, FILE *out);

#endif
