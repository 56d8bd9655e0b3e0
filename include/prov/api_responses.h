/* api_responses.h: the Responses API codec's two halves (api_responses.c, api_responses_in.c) */
/* SPDX-License-Identifier: MIT */
#ifndef API_RESPONSES_H
#define API_RESPONSES_H

#include <jansson.h>

#include "prov/api.h"

/*
 * A Responses API request (the client's body) as an OpenAI chat request, a
 * new tree; NULL with *why filled (a 400) when it breaks the API's rules or
 * asks what the stateless subset cannot do (store, previous_response_id,
 * hosted tools, files).  api_responses_ops.to_pivot.
 */
json_t *responses_to_pivot(const json_t *in, struct api_refusal *why);

#endif
