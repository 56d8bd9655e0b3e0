/* catalog_csv.c: seed 000's pricing CSV (provider, model, price_per_token) into the catalogue */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/arena.h"
#include "domain/catalog.h"
#include "domain/op.h"
#include "domain/upstream.h"
#include "store/q_catalog.h"

#define CSV_MAX_LINE 1024
#define CSV_MAX_ROWS 10000
/* The dearest price per token taken: $1 (a million dollars per million). */
#define CSV_MAX_PRICE 1.0
#define CSV_CONTEXT   128000

/* Seed 000's provider names, the provider ids here, and the vendor of its model ids. */
/* clang-format off */
static const struct {
	const char *seed, *provider, *vendor;
} csv_providers[] = {
	{ "openai",	"openai",	"openai" },
	{ "gemini",	"google",	"google" },
	{ "google",	"google",	"google" },
	{ "anthropic",	"anthropic",	"anthropic" },
	{ "deepseek",	"deepseek",	"deepseek" },
};
/* clang-format on */

struct csv_row {
	char provider[65], model[129], id[129], upstream[129];
	int64_t price; /* micro-USD per million tokens (= pico-USD per token) */
};

/* Split line in place at commas into at most n fields, quotes and blanks trimmed. */
static size_t
split(char *line, char **f, size_t n)
{
	size_t k = 0, len;
	char *p = line, *e;

	line[strcspn(line, "\r\n")] = '\0';
	while (k < n) {
		e = strchr(p, ',');
		if (e != NULL)
			*e = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		len = strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			p[--len] = '\0';
		if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
			p[len - 1] = '\0';
			p++;
		}
		f[k++] = p;
		if (e == NULL)
			break;
		p = e + 1;
	}
	return k;
}

/* The columns' positions from the header; -1 when one is missing. */
static int
header(char *line, int col[3])
{
	static const char *const names[] = {
	    "provider", "model", "price_per_token"};
	char *f[16];
	size_t n = split(line, f, 16), i, j;

	for (j = 0; j < 3; j++) {
		col[j] = -1;
		for (i = 0; i < n; i++)
			if (strcasecmp(f[i], names[j]) == 0)
				col[j] = (int)i;
		if (col[j] < 0)
			return -1;
	}
	return 0;
}

/* A price per token in USD (decimal or 2.5e-06) in pico-USD; -1 when not one. */
static int64_t
price_of(const char *s)
{
	char *end;
	double v;

	if (*s == '\0')
		return -1;
	v = strtod(s, &end);
	if (*end != '\0' || !(v >= 0) || v > CSV_MAX_PRICE)
		return -1;
	return (int64_t)(v * 1e12 + 0.5); /* v >= 0: rounds to nearest */
}

/* One data line into *r: 0, or -1 with why. */
static int
row_of(char *line, const int col[3], struct csv_row *r, const char **why)
{
	char *f[16];
	size_t n = split(line, f, 16), i;
	const char *prov, *model, *vendor = NULL;

	if ((size_t)col[0] >= n || (size_t)col[1] >= n || (size_t)col[2] >= n)
		return *why = "too few columns", -1;
	prov = f[col[0]];
	model = f[col[1]];
	for (i = 0; i < sizeof(csv_providers) / sizeof(csv_providers[0]); i++)
		if (strcasecmp(prov, csv_providers[i].seed) == 0) {
			prov = csv_providers[i].provider;
			vendor = csv_providers[i].vendor;
		}
	if (*prov == '\0' || strlen(prov) >= sizeof(r->provider))
		return *why = "no provider", -1;
	if (*model == '\0' || strlen(model) + 66 >= sizeof(r->id))
		return *why = "no model, or a model name too long", -1;
	if ((r->price = price_of(f[col[2]])) < 0)
		return *why = "price_per_token is no price in USD from 0 to 1",
		       -1;
	snprintf(r->provider, sizeof(r->provider), "%s", prov);
	snprintf(r->upstream, sizeof(r->upstream), "%s", model);
	/* "gpt-4o" of openai is catalogue id openai/gpt-4o; "x/y" stays. */
	snprintf(r->id, sizeof(r->id), "%s%s%s",
	    strchr(model, '/') != NULL ? "" : (vendor != NULL ? vendor : prov),
	    strchr(model, '/') != NULL ? "" : "/", model);
	return 0;
}

/* Every row read and checked (provider known) before any is written. */
static int
read_rows(struct db_conn *c, struct op *op, FILE *in, FILE *out,
    struct csv_row **rows, size_t *n)
{
	char line[CSV_MAX_LINE];
	const char *why = NULL;
	json_t *prov;
	size_t lineno = 1, cap = 64;
	int col[3], bad = 0;

	*n = 0;
	if (fgets(line, sizeof(line), in) == NULL || header(line, col) == -1) {
		fprintf(out,
		    "tollgate: the CSV's first line must name the "
		    "columns provider, model, price_per_token\n");
		return -1;
	}
	*rows = arena_calloc(op->arena, cap, sizeof(**rows));
	while (fgets(line, sizeof(line), in) != NULL) {
		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (*n == cap) {
			struct csv_row *m;

			if (cap >= CSV_MAX_ROWS) {
				fprintf(out, "tollgate: more than %d rows\n",
				    CSV_MAX_ROWS);
				return -1;
			}
			m = arena_calloc(op->arena, cap * 2, sizeof(*m));
			memcpy(m, *rows, cap * sizeof(*m));
			*rows = m;
			cap *= 2;
		}
		if (row_of(line, col, &(*rows)[*n], &why) == -1 ||
		    (why = NULL,
			upstream_providers(c, op->arena, (*rows)[*n].provider,
			    &prov) != TG_OK)) {
			fprintf(out, "tollgate: line %zu: %s\n", lineno,
			    why != NULL ? why : "no such provider here");
			bad = 1;
			continue;
		}
		(*n)++;
	}
	return bad ? -1 : 0;
}

int
catalog_import_csv(
    struct db_conn *c, struct op *op, FILE *in, FILE *out, size_t *added)
{
	struct csv_row *rows;
	struct q_prices pr;
	size_t n, i;
	enum tg_err rc;

	*added = 0;
	if (read_rows(c, op, in, out, &rows, &n) == -1) {
		fprintf(out, "tollgate: nothing imported\n");
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* One price per token: seed 000 charges input and output alike. */
		pr = (struct q_prices){rows[i].price, rows[i].price, -1, -1};
		rc = upstream_model_add(c, op, rows[i].id, NULL,
		    rows[i].provider, rows[i].upstream, &pr, CSV_CONTEXT);
		if (rc != TG_OK) {
			fprintf(out, "tollgate: %s: %s\n", rows[i].id,
			    op->fail.message != NULL ? op->fail.message
						     : "not added");
			return -1;
		}
		(*added)++;
	}
	fprintf(out, "imported %zu models from the CSV\n", *added);
	return 0;
}
