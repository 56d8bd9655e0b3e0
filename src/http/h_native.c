/* h_native.c: the Anthropic Messages, OpenAI Responses and Gemini APIs, each translated onto the one metered path */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "http/chat.h"
#include "http/estimate.h"
#include "http/handlers.h"
#include "http/req.h"
#include "http/resp.h"
#include "prov/api.h"

#define TARGET_MAX 256 /* bytes of "{model}:{method}" in a Gemini path */

/*
 * The client's body (r->json, in api's format) as the pivot, which becomes
 * r->json; the client's own is *native.  model and stream, when the API
 * puts them in the URL (Gemini), are set on the pivot (stream -1: the
 * body says).
 */
static enum tg_err
to_pivot(struct tg_req *r, struct tg_resp *resp, const struct api_ops *api,
    const char *model, int stream, json_t **native)
{
	struct api_refusal why;
	json_t *pivot, *so;

	memset(&why, 0, sizeof(why));
	if ((pivot = api->to_pivot(r->json, &why)) == NULL &&
	    why.code != NULL && strcmp(why.code, "out_of_memory") == 0)
		return TG_ESYSTEM;
	if (pivot == NULL)
		return resp_fail_code(r, resp, TG_EINVAL,
		    why.code != NULL ? why.code : "invalid_value",
		    why.param != NULL ? arena_strdup(r->arena, why.param)
				      : NULL,
		    "%s",
		    why.msg[0] != '\0' ? why.msg : "the request is not valid");
	arena_defer_json(r->arena, pivot);
	if (model != NULL)
		json_object_set_new(pivot, "model", json_string(model));
	if (stream >= 0)
		json_object_set_new(pivot, "stream", json_boolean(stream));
	if (!json_is_true(json_object_get(pivot, "stream")))
		json_object_del(pivot, "stream_options");
	if (json_is_true(json_object_get(pivot, "stream")) &&
	    !json_is_object(json_object_get(pivot, "stream_options"))) {
		so = json_pack("{s:b}", "include_usage", 1);
		json_object_set_new(pivot, "stream_options", so);
	}
	*native = r->json;
	r->json = pivot;
	return TG_OK;
}

static enum tg_err
metered(struct tg_req *r, struct tg_resp *resp, const struct api_ops *api,
    const char *model, int stream)
{
	json_t *native;
	enum tg_err rc;

	if ((rc = to_pivot(r, resp, api, model, stream, &native)) != TG_OK)
		return rc;
	return chat_metered(r, resp, EP_CHAT, api, native);
}

/*
 * The prompt's tokens as the gateway counts them (the model's tokenizer, or
 * about 4 bytes a token): what a count_tokens call answers.  Free.
 */
static enum tg_err
count(struct tg_req *r, struct tg_resp *resp, const struct api_ops *api,
    const char *model, const char *member)
{
	json_t *native;
	struct call x;
	enum tg_err rc;

	if ((rc = to_pivot(r, resp, api, model, 0, &native)) != TG_OK ||
	    (rc = chat_prepare(&x, r, resp)) != TG_OK)
		return rc;
	resp->body =
	    json_pack("{s:I}", member, (json_int_t)estimate_prompt(&x));
	return resp->body != NULL ? TG_OK : TG_ESYSTEM;
}

enum tg_err
h_messages(struct tg_req *r, struct tg_resp *resp)
{
	return metered(r, resp, &api_anthropic_ops, NULL, -1);
}

enum tg_err
h_messages_count(struct tg_req *r, struct tg_resp *resp)
{
	/* count_tokens takes no max_tokens: the translation needs one. */
	if (json_object_get(r->json, "max_tokens") == NULL)
		json_object_set_new(r->json, "max_tokens", json_integer(1));
	return count(r, resp, &api_anthropic_ops, NULL, "input_tokens");
}

enum tg_err
h_responses(struct tg_req *r, struct tg_resp *resp)
{
	return metered(r, resp, &api_responses_ops, NULL, -1);
}

/* The methods of /v1beta/models/{model}:{method}. */
enum gemini_method { GM_GENERATE, GM_STREAM, GM_COUNT };

/* clang-format off */
static const struct {
	const char *name;
	enum gemini_method m;
} gemini_methods[] = {
	{ "generateContent",	   GM_GENERATE },
	{ "streamGenerateContent", GM_STREAM },
	{ "countTokens",	   GM_COUNT },
};
/* clang-format on */

enum tg_err
h_gemini(struct tg_req *r, struct tg_resp *resp)
{
	const char *target = r->ncaptures > 0 ? r->captures[0] : "";
	const char *colon = strrchr(target, ':'), *alt;
	char *model;
	size_t i;

	if (strlen(target) > TARGET_MAX || colon == NULL || colon == target)
		return resp_fail(r, resp, TG_ENOENT, NULL,
		    "no route for POST %s: the path is "
		    "/v1beta/models/{model}:generateContent",
		    r->path);
	model = arena_strndup(r->arena, target, (size_t)(colon - target));
	for (i = 0; i < sizeof(gemini_methods) / sizeof(gemini_methods[0]); i++)
		if (strcmp(colon + 1, gemini_methods[i].name) == 0)
			break;
	if (i == sizeof(gemini_methods) / sizeof(gemini_methods[0]))
		return resp_fail(r, resp, TG_ENOENT, NULL,
		    "unknown method '%s': generateContent, "
		    "streamGenerateContent and countTokens are served",
		    colon + 1);
	switch (gemini_methods[i].m) {
	case GM_COUNT:
		/* countTokens wraps its request as generateContentRequest. */
		if (json_is_object(
			json_object_get(r->json, "generateContentRequest")))
			r->json =
			    json_object_get(r->json, "generateContentRequest");
		return count(r, resp, &api_gemini_ops, model, "totalTokens");
	case GM_STREAM:
		alt = req_query(r, "alt");
		if (alt == NULL || strcmp(alt, "sse") != 0)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "alt",
			    "streamGenerateContent is served as server-sent "
			    "events only: add ?alt=sse");
		return metered(r, resp, &api_gemini_ops, model, 1);
	case GM_GENERATE:
	default:
		return metered(r, resp, &api_gemini_ops, model, 0);
	}
}
