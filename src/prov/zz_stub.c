/* zz_stub.c: temporary */
/* SPDX-License-Identifier: MIT */
#include "config.h"
#include "prov/api.h"
const struct api_ops api_anthropic_ops = {.wire = WIRE_ANTHROPIC};
const struct api_ops api_gemini_ops = {.wire = WIRE_GEMINI};
const struct api_ops api_responses_ops = {.wire = WIRE_RESPONSES};
