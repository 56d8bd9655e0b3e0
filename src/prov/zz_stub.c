/* zz_stub.c: temporary: the codecs not merged yet */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "prov/api.h"

const struct api_ops api_gemini_ops = {.wire = WIRE_GEMINI};
