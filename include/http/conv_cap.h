/* conv_cap.h: a metered request's conversation record (issue 18: convlog), kept as it goes */
/* SPDX-License-Identifier: MIT */
#ifndef HTTP_CONV_CAP_H
#define HTTP_CONV_CAP_H

#include <jansson.h>

#include "domain/usage.h"

struct call;

/*
 * The answer's text of a stream's event or a whole answer (as the relay
 * reads it: relay_ops), kept at the full level only, within the body cap.
 */
void conv_keep(struct call *, const json_t *chunk_or_answer);
/* A whole answer's text (o NULL: the upstream body, loaded now). */
void conv_answer(struct call *, const json_t *o);
/*
 * The request's record into the journal, at settlement (before the answer
 * is complete, so a crash after it loses nothing answered); nothing at the
 * off level.
 */
void conv_record(struct call *, enum usage_status, int http_status);

#endif
