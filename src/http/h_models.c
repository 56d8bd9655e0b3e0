/* h_models.c: the model catalogue, in the OpenAI list shape with OpenRouter-style pricing */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "core/arena.h"
#include "domain/catalog.h"
#include "http/handlers.h"
#include "http/router.h"

static enum tg_err
list(struct tg_req *r, json_t **data)
{
	struct db_conn *c;
	enum tg_err rc;

	if ((rc = router_db(r, &c)) != TG_OK)
		return rc;
	return catalog_models(c, r->arena, "", data);
}

enum tg_err
h_models_list(struct tg_req *r, struct tg_resp *resp)
{
	json_t *data;
	enum tg_err rc;

	if ((rc = list(r, &data)) != TG_OK)
		return rc;
	resp->body = json_pack("{s:s, s:O}", "object", "list", "data", data);
	return TG_OK;
}

enum tg_err
h_models_get(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	const char *id;
	json_t *data;
	enum tg_err rc;

	/* "vendor/model" arrives as two path segments. */
	id = r->ncaptures == 2
	    ? arena_printf(r->arena, "%s/%s", r->captures[0], r->captures[1])
	    : r->captures[0];
	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = catalog_models(c, r->arena, id, &data)) != TG_OK)
		return rc;
	if (json_array_size(data) != 1)
		return resp_fail_code(r, resp, TG_ENOENT, "model_not_found",
		    "model",
		    "the model '%s' does not exist; GET /v1/models "
		    "lists the available ones",
		    id);
	resp->body = json_incref(json_array_get(data, 0));
	return TG_OK;
}

enum tg_err
h_models_public(struct tg_req *r, struct tg_resp *resp)
{
	json_t *data;
	enum tg_err rc;

	if ((rc = list(r, &data)) != TG_OK)
		return rc;
	resp->body = json_pack("{s:O}", "data", data);
	resp_header(resp, "Cache-Control", "public, max-age=60");
	return TG_OK;
}

enum tg_err
h_models_providers(struct tg_req *r, struct tg_resp *resp)
{
	struct db_conn *c;
	json_t *data;
	enum tg_err rc;

	if ((rc = router_db(r, &c)) != TG_OK ||
	    (rc = catalog_providers(c, r->arena, &data)) != TG_OK)
		return rc;
	resp->body = json_pack("{s:O}", "data", data);
	return TG_OK;
}
