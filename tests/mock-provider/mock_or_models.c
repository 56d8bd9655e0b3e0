/* mock_or_models.c: OpenRouter's model list (GET /api/v1/models) and a control to change it */
/* SPDX-License-Identifier: MIT */

/*
 * OpenRouter answers GET /api/v1/models with {"data":[MODEL...]}, each model
 * with its id, name, created, description, context_length, architecture,
 * pricing (USD per token, as decimal strings: "0.00000015"; "0" for the
 * :free models, "-1" for the router whose price varies) and top_provider.
 * PUT /_mock/or-models with a JSON array replaces the list (a test changes
 * prices between two refreshes); DELETE /_mock/or-models restores it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"

static pthread_mutex_t or_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *or_list; /* NULL: the built-in list */

static json_t *
or_model(const char *id, const char *name, int ctx, const char *prompt,
    const char *completion)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:i, s:{s:s, s:[s], s:[s]}, "
			 "s:{s:s, s:s, s:s, s:s}, s:{s:i, s:b}}",
	    "id", id, "name", name, "created", 1721260800, "description",
	    "A model served by the mock as OpenRouter lists it.",
	    "context_length", ctx, "architecture", "modality", "text->text",
	    "input_modalities", "text", "output_modalities", "text", "pricing",
	    "prompt", prompt, "completion", completion, "request", "0", "image",
	    "0", "top_provider", "context_length", ctx, "is_moderated", 0);
}

static json_t *
or_default(void)
{
	return json_pack("[o, o, o, o]",
	    or_model("openai/gpt-4o-mini", "OpenAI: GPT-4o-mini", 128000,
		"0.00000015", "0.0000006"),
	    or_model("mistralai/mistral-nemo", "Mistral: Mistral Nemo", 131072,
		"0.000000035", "0.00000008"),
	    or_model("meta-llama/llama-3.3-70b-instruct:free",
		"Meta: Llama 3.3 70B Instruct (free)", 131072, "0", "0"),
	    or_model("openrouter/auto", "Auto Router", 2000000, "-1", "-1"));
}

void
h_or_models(struct ctx *c, struct reply *r)
{
	json_t *list;

	(void)c;
	pthread_mutex_lock(&or_mu);
	list = or_list != NULL ? json_deep_copy(or_list) : or_default();
	pthread_mutex_unlock(&or_mu);
	reply_json(r, 200, json_pack("{s:o}", "data", list), "");
}

void
h_or_models_set(struct ctx *c, struct reply *r)
{
	json_t *list = json_loadb(
	    c->q->body != NULL ? c->q->body : "", c->q->len, 0, NULL);

	if (!json_is_array(list)) {
		json_decref(list);
		reply_json(r, 400,
		    json_pack("{s:s}", "error", "a JSON array of models"), "");
		return;
	}
	pthread_mutex_lock(&or_mu);
	json_decref(or_list);
	or_list = list;
	pthread_mutex_unlock(&or_mu);
	reply_json(r, 200,
	    json_pack("{s:I}", "models", (json_int_t)json_array_size(list)),
	    "");
}

void
h_or_models_reset(struct ctx *c, struct reply *r)
{
	(void)c;
	pthread_mutex_lock(&or_mu);
	json_decref(or_list);
	or_list = NULL;
	pthread_mutex_unlock(&or_mu);
	reply_json(r, 200, json_pack("{s:b}", "reset", 1), "");
}
