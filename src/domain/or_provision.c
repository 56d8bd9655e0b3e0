/* or_provision.c: per-user OpenRouter keys through OpenRouter's provisioning API */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "core/conf.h"
#include "domain/or_provision.h"

enum tg_err
or_user_key(struct db_conn *c, struct op *op, const struct conf *conf,
    struct http_client *http, const struct deployment *d, int64_t user_id,
    char secret[UPSTREAM_SECRET_MAX + 1])
{
	if (conf->or_provisioning_key_file == NULL)
		return TG_ENOENT;
	return TG_ENOENT;
}
