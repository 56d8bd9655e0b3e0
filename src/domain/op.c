/* op.c: recording why a domain operation failed, in the operation's arena */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdarg.h>

#include "core/arena.h"
#include "core/json.h"
#include "domain/op.h"

enum tg_err
op_fail(struct op *op, enum tg_err err, const char *code, const char *param,
    const char *fmt, ...)
{
	va_list ap;

	op->fail.err = err;
	op->fail.code = code;
	op->fail.param = param;
	op->fail.message = NULL;
	if (fmt != NULL) {
		va_start(ap, fmt);
		op->fail.message = arena_vprintf(op->arena, fmt, ap);
		va_end(ap);
	}
	return err;
}

enum tg_err
op_check(struct op *op, const json_t *body, const struct jx_field *spec)
{
	const char *code, *param;
	char msg[256];

	if (jx_check(body, spec, &code, &param, msg, sizeof(msg)) != TG_OK)
		return op_fail(op, TG_EINVAL, code, param, "%s", msg);
	return TG_OK;
}

void
op_clear(struct op *op)
{
	op->fail = (struct tg_fail){0};
}
