#!/usr/bin/env bash
# t_seed004.sh: the README calls of seed 004 replayed against tollgate (doc/migrate/004.md):
# POST /api/keys {name, rateLimit} and GET /api/keys with an admin's HTTP Basic; the key on
# POST /api/proxy/chat/completions (X-API-Key), the OpenAI SDK's base URL /api/v1 with
# Authorization: Bearer and X-API-Key both, n8n's GET /v1/models with x-api-key, GET
# /api/status with Basic; rateLimit is the key's requests per minute (the third request of a
# key with rateLimit 2 is 429 and reaches no provider); ?api_key= only with
# [auth] allow_query_key = on.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack seed004 auth.allow_query_key=on
export LC_ALL=C

AD_EMAIL="adm-$CP_U@example.com"
AK=$(echo "$CP_PW" | tg_cli admin create-user --email "$AD_EMAIL" --admin --password-stdin \
	--credits 10 2>"$T/log/create.err") || true
key_format "$AK" || bail "admin create-user with a password ($(head -c 300 "$T/log/create.err"))"
AK_ADMIN=$AK
AUTH="Authorization: Basic $(printf '%s:%s' "$AD_EMAIL" "$CP_PW" | base64 -w0)"
AD_UID=$(q "SELECT id FROM users WHERE email = '$AD_EMAIL'")
user client 0
C_EMAIL=$REG_EMAIL C_ID=$U_ID

# --- POST /api/keys and GET /api/keys as in the README ------------------------------------
http POST "$URL/api/keys" -H 'Content-Type: application/json' -H "$AUTH" \
	-d '{"name": "Client App 1", "rateLimit": 100}'
check "POST /api/keys {name, rateLimit} with Basic -> 201 and the key" sh -c \
	"[ $code = 201 ] && jq -e '(.key | startswith(\"gw_live_\")) and .key == .api_key and .name == \"Client App 1\" and .rateLimit == 100' '$T/body' >/dev/null"
K1=$(jv .key) K1_ID=$(jv .id)
check "the key belongs to the admin" eq \
	"$(q "SELECT user_id FROM api_keys WHERE public_id = '$K1_ID'")" "$AD_UID"
check "its rateLimit is the key's requests_per_minute rule" eq \
	"$(q "SELECT r.requests_per_minute FROM rate_limit_rules r JOIN api_keys k ON k.id = r.key_id WHERE k.public_id = '$K1_ID'")" 100
http POST "$URL/api/keys" -H 'Content-Type: application/json' -H "$AUTH" \
	-d "{\"name\": \"for the client\", \"rateLimit\": 2, \"user\": \"$C_EMAIL\"}"
check "POST /api/keys with user (an email) -> 201" status_is 201
K2=$(jv .key) K2_ID=$(jv .id)
check "that key belongs to the client" eq \
	"$(q "SELECT u.public_id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.public_id = '$K2_ID'")" "$C_ID"
fund "$C_ID" 1.00
http GET "$URL/api/keys" -H "$AUTH"
check "GET /api/keys with Basic lists both with owner, name, rateLimit, created, usage" sh -c \
	"[ $code = 200 ] && jq -e '[.data[] | select(.id == \"$K1_ID\" or .id == \"$K2_ID\")] | length == 2 and
	  all(has(\"owner\") and has(\"name\") and has(\"rateLimit\") and has(\"created\") and has(\"requests_used\"))' '$T/body' >/dev/null"
check "the client's key shows its owner's email and rateLimit 2" json_is \
	".data[] | select(.id == \"$K2_ID\") | .owner.email == \"$C_EMAIL\" and .rateLimit == 2 and .imported == false"
check "no listed key is in clear" sh -c "! grep -q '$K1' '$T/body' && ! grep -q '$K2' '$T/body'"

# refusals
n0=$(q "SELECT COUNT(*) FROM api_keys")
http POST "$URL/api/keys" -H 'Content-Type: application/json' -H "$AUTH" -d '{"rateLimit": 5}'
expect_err "POST /api/keys without name" 400 missing_field
http POST "$URL/api/keys" -H 'Content-Type: application/json' -H "$AUTH" -d '{"name":"x","rateLimit":0}'
expect_err "rateLimit 0" 400 invalid_value
http POST "$URL/api/keys" -H 'Content-Type: application/json' -H "$AUTH" -d '{"name":"x","rateLimit":"5"}'
expect_err "rateLimit as a string" 400 invalid_type
http POST "$URL/api/keys" -H 'Content-Type: application/json' -H "$AUTH" -d '{"name":"x","user":"nobody@example.com"}'
expect_err "an unknown user" 404 not_found
http POST "$URL/api/keys" -H 'Content-Type: application/json' -H "X-API-Key: $K2" -d '{"name":"x"}'
expect_err "a non-admin's key" 403 insufficient_permissions
http GET "$URL/api/keys"
expect_err "no credential" 401 missing_api_key
check "none of these created a key" eq "$(q "SELECT COUNT(*) FROM api_keys")" "$n0"

# --- the client's calls --------------------------------------------------------------------
BODY="{\"model\":\"test/cheap\",$MSGS}"
http POST "$URL/api/proxy/chat/completions" -H "X-API-Key: $K1" -H 'Content-Type: application/json' \
	--data-binary "$BODY"
check "POST /api/proxy/chat/completions with X-API-Key -> 200" json_is '.object == "chat.completion"'
# The OpenAI SDK as the README configures it: Bearer and X-API-Key both.
http POST "$URL/api/v1/chat/completions" -H "Authorization: Bearer $K1" -H "X-API-Key: $K1" \
	-H 'Content-Type: application/json' --data-binary "$BODY"
check "POST /api/v1/chat/completions (Bearer + X-API-Key) -> 200" status_is 200
http GET "$URL/v1/models" -H "x-api-key: $K1"
check "n8n's GET /v1/models with x-api-key -> 200 list" json_is '.object == "list" and (.data | length) > 0'
http GET "$URL/api/v1/models" -H "x-api-key: $K1"
check "GET /api/v1/models with x-api-key -> 200" status_is 200
http GET "$URL/api/status" -H "$AUTH"
check "GET /api/status with Basic -> 200" status_is 200
http POST "$URL/api/proxy/chat/completions?api_key=$K1" -H 'Content-Type: application/json' \
	--data-binary "$BODY"
check "?api_key= with [auth] allow_query_key = on -> 200" status_is 200

# --- rateLimit: requests per minute of the key ---------------------------------------------
m0=$(mock_n)
for i in 1 2; do
	http POST "$URL/api/proxy/chat/completions" -H "X-API-Key: $K2" \
		-H 'Content-Type: application/json' --data-binary "$BODY"
	check "the rateLimit-2 key's request $i -> 200" status_is 200
done
http POST "$URL/api/proxy/chat/completions" -H "X-API-Key: $K2" \
	-H 'Content-Type: application/json' --data-binary "$BODY"
check "its 3rd request within the minute -> 429 in the OpenAI shape" sh -c \
	"[ $code = 429 ] && jq -e '.error.type | type == \"string\"' '$T/body' >/dev/null"
check "two requests reached the mock, not three" eq "$(mock_n)" $((m0 + 2))
# Request counts of keys without a cap are written once a second per process (auth_flush).
counted() {
	http GET "$URL/api/keys" -H "$AUTH"
	json_is ".data[] | select(.id == \"$K2_ID\") | .requests_used >= 2"
}
check "GET /api/keys counts the client key's requests (>= 2, within 10 s)" \
	wait_for "the key's request count" 10 counted

check "the client's ledger balances" ledger_check "$C_ID"
finish
