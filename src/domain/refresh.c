/* refresh.c: the model catalogue refreshed from OpenRouter's model list, never over the operator's prices */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "domain/audit.h"
#include "domain/op.h"
#include "domain/refresh.h"
#include "domain/upstream_impl.h"
#include "io/db.h"
#include "store/q_refresh.h"

#define MODEL_ID_MAX	128
#define MODEL_NAME_MAX	128
#define CONTEXT_DEFAULT 4096
#define CONTEXT_MAX	100000000
/* micro-USD per million = USD per token x 1e12: twelve decimals. */
#define PRICE_DECIMALS 12
#define PRICE_MAX      1000000000000LL /* 1 USD a token */

int
refresh_usd_per_token(const json_t *v, int64_t *out)
{
	const char *s = json_string_value(v), *p;
	int64_t whole = 0, frac = 0;
	int digits = 0, up = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (p = s; *p >= '0' && *p <= '9'; p++)
		if ((whole = whole * 10 + (*p - '0')) > 1)
			return -1;
	if (p == s)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			if (digits < PRICE_DECIMALS) {
				frac = frac * 10 + (*p - '0');
				digits++;
			} else if (*p != '0') {
				up = 1; /* past a micro-USD per million */
			}
		}
		if (digits == 0)
			return -1;
	}
	if (*p != '\0')
		return -1;
	for (; digits < PRICE_DECIMALS; digits++)
		frac *= 10;
	*out = whole * PRICE_MAX + frac + up;
	return *out > PRICE_MAX ? -1 : 0;
}

/* The row of id in rows (sorted by id, byte order), or NULL. */
static struct q_refresh_row *
find(struct q_refresh_row *rows, size_t n, const char *id)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(id, rows[mid].id)) == 0)
			return &rows[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* What a refresh reports, built as it goes. */
struct tally {
	const char *provider_id;
	json_t *added, *updated, *skipped;
	json_t *seen; /* ids met so far: a repeated one is skipped */
	json_int_t unchanged;
};

static void
skip(struct tally *t, const char *id, const char *reason)
{
	json_array_append_new(
	    t->skipped, json_pack("{s:s?, s:s}", "id", id, "reason", reason));
}

/* A list entry as the catalogue would hold it; a reason when it cannot. */
static const char *
entry(const json_t *e, struct q_refresh_new *m, char vendor[MODEL_ID_MAX + 1])
{
	const json_t *pr = json_object_get(e, "pricing");
	const char *slash;
	json_int_t ctx;

	m->id = json_string_value(json_object_get(e, "id"));
	if (!upstream_valid_token(m->id, MODEL_ID_MAX) ||
	    (slash = strchr(m->id, '/')) == NULL || slash == m->id)
		return "invalid_id";
	if (refresh_usd_per_token(json_object_get(pr, "prompt"), &m->input) ==
		-1 ||
	    refresh_usd_per_token(
		json_object_get(pr, "completion"), &m->output) == -1)
		return "no_fixed_price";
	m->name = json_string_value(json_object_get(e, "name"));
	if (m->name == NULL || *m->name == '\0' ||
	    !upstream_valid_text(m->name, MODEL_NAME_MAX))
		m->name = m->id;
	ctx = json_integer_value(json_object_get(e, "context_length"));
	m->context_length =
	    ctx > 0 && ctx <= CONTEXT_MAX ? ctx : CONTEXT_DEFAULT;
	memcpy(vendor, m->id, (size_t)(slash - m->id));
	vendor[slash - m->id] = '\0';
	m->vendor = vendor;
	return NULL;
}

/*
 * A refreshed row the operator repriced since (the model's prices, or its
 * route's on this provider, are no longer what the refresh wrote).
 */
static int
operator_changed(const struct q_refresh_row *r)
{
	return r->input != r->was_input || r->output != r->was_output ||
	    (r->route_input >= 0 &&
		(r->route_input != r->was_input ||
		    r->route_output != r->was_output));
}

static enum tg_err
one(struct db_conn *c, struct op *op, struct q_refresh_row *rows, size_t n,
    const json_t *e, struct tally *t)
{
	char vendor[MODEL_ID_MAX + 1];
	struct q_refresh_new m = {0};
	struct q_refresh_row *row;
	const char *why;
	enum tg_err rc;

	if ((why = entry(e, &m, vendor)) != NULL) {
		skip(t, json_string_value(json_object_get(e, "id")), why);
		return TG_OK;
	}
	if (json_object_get(t->seen, m.id) != NULL) {
		skip(t, m.id, "duplicate");
		return TG_OK;
	}
	json_object_set_new(t->seen, m.id, json_true());
	m.provider_id = t->provider_id;
	if ((row = find(rows, n, m.id)) == NULL) {
		if ((rc = q_refresh_add(c, op->arena, &m)) != TG_OK)
			return rc;
		json_array_append_new(t->added, json_string(m.id));
	} else if (!row->refreshed) {
		if (row->input == m.input && row->output == m.output)
			t->unchanged++;
		else
			skip(t, m.id, "operator_price");
	} else if (operator_changed(row)) {
		skip(t, m.id, "changed_by_operator");
	} else if (row->input == m.input && row->output == m.output) {
		t->unchanged++;
	} else {
		if ((rc = q_refresh_price(c, op->arena, &m)) != TG_OK)
			return rc;
		json_array_append_new(t->updated, json_string(m.id));
	}
	return TG_OK;
}

static json_t *
report_of(const struct tally *t)
{
	return json_pack("{s:O, s:O, s:I, s:O}", "added", t->added, "updated",
	    t->updated, "unchanged", t->unchanged, "skipped", t->skipped);
}

enum tg_err
refresh_models(struct db_conn *c, struct op *op, const char *provider_id,
    const json_t *data, json_t **report)
{
	struct tally t = {provider_id, json_array(), json_array(), json_array(),
	    json_object(), 0};
	struct q_refresh_row *rows;
	json_t *after;
	size_t n, i;
	enum tg_err rc;

	*report = NULL;
	arena_defer_json(op->arena, t.added);
	arena_defer_json(op->arena, t.updated);
	arena_defer_json(op->arena, t.skipped);
	arena_defer_json(op->arena, t.seen);
	if (!json_is_array(data) || json_array_size(data) > REFRESH_MAX_MODELS)
		return op_fail(op, TG_EUPSTREAM, "bad_model_list", NULL,
		    "the provider's model list is not an array of at most %d "
		    "models",
		    REFRESH_MAX_MODELS);
	if ((rc = audit_begin(c)) != TG_OK)
		return rc;
	if ((rc = q_refresh_rows(c, op->arena, provider_id, &rows, &n)) !=
	    TG_OK)
		goto fail;
	for (i = 0; i < json_array_size(data); i++)
		if ((rc = one(c, op, rows, n, json_array_get(data, i), &t)) !=
		    TG_OK)
			goto fail;
	*report = report_of(&t);
	arena_defer_json(op->arena, *report);
	/* The audit row names what changed; unchanged rows are counted. */
	after = json_pack("{s:O, s:O, s:I, s:I}", "added", t.added, "updated",
	    t.updated, "unchanged", t.unchanged, "skipped",
	    (json_int_t)json_array_size(t.skipped));
	arena_defer_json(op->arena, after);
	return audit_commit(c, op->arena, op, "model.refresh", "provider",
	    provider_id, NULL, after);
fail:
	db_rollback(c);
	return rc;
}
