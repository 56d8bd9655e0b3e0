/* q_payer.c: who pays for a metered request: the user, account and key in one read: the statements (typed queries join them here) */
#include "config.h"

#include "io/db.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_payer_stmts[] = {
	{ STMT_CHAT_PAYER, "SELECT u.commission_bp, u.user_group, k.allowed_models, k.credit_limit FROM users u LEFT JOIN api_keys k ON k.id = ? WHERE u.id = ?", DB_SF_READ | DB_SF_CACHE },
	{ STMT_KEY_SPENT, "SELECT spent FROM api_keys WHERE id = ?", DB_SF_READ },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */
