/* migrate.c: forward-only schema migrations from schema/NNNN_name.sql */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "io/db.h"
#include "store/q_schema.h"
#include "store/migrate.h"

#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_BYTES (4u << 20)
#define MIGRATE_LOCK	  "tollgate_migrate"

static const char create_table[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INT UNSIGNED NOT NULL PRIMARY KEY,"
    " name VARCHAR(255) NOT NULL,"
    " applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/* "0001_init.sql" -> 1; -1 for names that are not migrations. */
static int
file_version(const char *name)
{
	size_t n = strlen(name), i;

	if (n < 10 || strcmp(name + n - 4, ".sql") != 0 || name[4] != '_')
		return -1;
	for (i = 0; i < 4; i++)
		if (!isdigit((unsigned char)name[i]))
			return -1;
	for (i = 5; i < n - 4; i++)
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '_')
			return -1;
	return atoi(name);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp;
	char *p = NULL;
	size_t n;

	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	if ((p = malloc(MIGRATE_MAX_BYTES + 1)) == NULL)
		goto out;
	n = fread(p, 1, MIGRATE_MAX_BYTES + 1, fp);
	if (n > MIGRATE_MAX_BYTES || ferror(fp)) {
		free(p);
		p = NULL;
		errno = EFBIG;
		goto out;
	}
	p[n] = '\0';
	*len = n;
out:
	fclose(fp);
	return p;
}

/* Sorted migration file names from dir; count in *n; NULL on error. */
static char **
list_files(const char *dir, size_t *n, FILE *out)
{
	DIR *d;
	struct dirent *e;
	char **names;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		fprintf(out, "tollgate: schema directory %s: %s\n", dir,
		    strerror(errno));
		return NULL;
	}
	names = calloc(MIGRATE_MAX_FILES, sizeof(*names));
	while (
	    names != NULL && (e = readdir(d)) != NULL && *n < MIGRATE_MAX_FILES)
		if (file_version(e->d_name) > 0)
			names[(*n)++] = strdup(e->d_name);
	closedir(d);
	if (names != NULL)
		qsort(names, *n, sizeof(*names), cmp_names);
	return names;
}

static int
applied(const struct q_migrations *m, int version)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (m->version[i] == version)
			return 1;
	return 0;
}

static int
apply(struct db_conn *c, const char *dir, const char *name, FILE *out)
{
	char path[4096], err[512];
	char *sql;
	size_t len;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((sql = slurp(path, &len)) == NULL) {
		fprintf(out, "tollgate: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* MariaDB commits DDL implicitly: a file is applied, then recorded. */
	if (db_run_script(c, sql, len, err, sizeof(err)) != TG_OK) {
		fprintf(out, "tollgate: %s failed: %s\n", name, err);
		goto out;
	}
	if (q_migration_record(c, file_version(name), name) != TG_OK)
		fprintf(out, "tollgate: recording %s failed: %s\n", name,
		    db_error(c));
	else {
		fprintf(out, "applied %s\n", name);
		rc = 0;
	}
out:
	free(sql);
	return rc;
}

/* The shipped price list, when the schema directory has one. */
static int
seed_catalog(struct db_conn *c, struct arena *a, const char *dir, FILE *out,
    migrate_seed_fn seed)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/pricing.json", dir);
	if (seed == NULL || access(path, R_OK) == -1)
		return 0;
	return seed(c, a, path, out);
}

int
migrate_run(const struct conf *conf, FILE *out, migrate_seed_fn seed)
{
	struct db_conn *c = NULL;
	struct q_migrations rows;
	struct arena *a = arena_new(4096);
	char err[512], **names = NULL;
	size_t n = 0, i, done = 0;
	int rc = -1, locked = 0;
	int64_t top = 0;

	if ((names = list_files(conf->schema_dir, &n, out)) == NULL)
		goto out;
	if ((c = db_admin_connect(conf, err, sizeof(err))) == NULL) {
		fprintf(
		    out, "tollgate: cannot connect to the database: %s\n", err);
		goto out;
	}
	if (q_lock(c, MIGRATE_LOCK, 60) != TG_OK) {
		fprintf(out, "tollgate: another migration holds the lock\n");
		goto out;
	}
	locked = 1;
	if (db_run_script(c, create_table, sizeof(create_table) - 1, err,
		sizeof(err)) != TG_OK) {
		fprintf(out, "tollgate: creating schema_migrations: %s\n", err);
		goto out;
	}
	if (q_migration_list(c, a, &rows) != TG_OK) {
		fprintf(out, "tollgate: reading schema_migrations: %s\n",
		    db_error(c));
		goto out;
	}
	for (i = 0; i < rows.n; i++)
		if (rows.version[i] > top)
			top = rows.version[i];
	if (top > TG_SCHEMA_VERSION) {
		fprintf(out,
		    "tollgate: the database is at schema version %lld, "
		    "newer than this tollgate (%d); upgrade tollgate\n",
		    (long long)top, TG_SCHEMA_VERSION);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (file_version(names[i]) > TG_SCHEMA_VERSION) {
			/* Said, not silent: a migration added without
			 * raising the version would otherwise never run. */
			fprintf(out,
			    "tollgate: skipping %s: newer than this "
			    "tollgate (schema version %d)\n",
			    names[i], TG_SCHEMA_VERSION);
			continue;
		}
		if (applied(&rows, file_version(names[i])))
			continue;
		if (apply(c, conf->schema_dir, names[i], out) == -1)
			goto out;
		done++;
	}
	if (done == 0)
		fprintf(out, "schema is up to date (version %d)\n",
		    TG_SCHEMA_VERSION);
	if (seed_catalog(c, a, conf->schema_dir, out, seed) == -1)
		goto out;
	rc = 0;
out:
	if (locked)
		q_unlock(c, MIGRATE_LOCK);
	db_admin_close(c);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	arena_free(a);
	return rc;
}
