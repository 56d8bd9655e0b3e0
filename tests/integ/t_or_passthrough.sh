#!/usr/bin/env bash
# t_or_passthrough.sh: seed 003's /api/v1/openrouter/{path*} and seed 004's uncatalogued
# OpenRouter ids (doc/openrouter.md).  Chat through the pass-through is metered and billed
# exactly from OpenRouter's usage.cost plus commission, streamed or not; /models, /key,
# /generation pass through unbilled with status, content type, body and query kept, a 404
# and a 429 of OpenRouter's kept; an uncatalogued id is 404 model_not_found while
# [openrouter] passthrough_unknown is off, served with a hold of passthrough_ceiling when on,
# charged the hold when OpenRouter reports no cost, and nothing for a :free model.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
chat_backend orpass
OR_URL=http://127.0.0.1:$MOCK_PORT/api/v1
# The catalogue's own "openrouter" provider points at openrouter.ai: [openrouter] provider
# names the one on the mock.
tg_cli provider add ormock openrouter "$OR_URL" "OpenRouter (mock)" >/dev/null || bail "provider ormock"
echo "$MOCK_KEY" | tg_cli provider key-add ormock main >/dev/null || bail "key main"
stack_up "db.name=$SCRATCH" openrouter.provider=ormock
cp_admin orpass 1
AK=$ADMIN_KEY
new_user orpu $((5 * ONE))
UNKNOWN=vendorx/some-model-1.5

mock_cost() {
	curl -s -m 5 -X POST -H 'Content-Type: application/json' --data-binary "$1" \
		"http://127.0.0.1:$MOCK_PORT/_mock/or/cost" >/dev/null || bail "mock cost control"
}
# or_req METHOD PATH [JSON]: a request to /api/v1/openrouter/PATH with the user's key.
or_req() { req "$1" "/api/v1/openrouter/$2" "$UKEY" "${@:3}"; }
# last_mock: the mock's last logged request in $T/last.json.
last_mock() { mock_requests >/dev/null; jq '.[-1]' "$T/mockreq.json" >"$T/last.json"; }
usage_count() { q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_"; }
# rec FIELDS: the user's last usage record's FIELDS, tab-separated.
rec() { q "SELECT $1 FROM usage_records WHERE user_id = $UID_ ORDER BY id DESC LIMIT 1"; }

note "--- passthrough_unknown off (the default)"
chat "$UKEY" "{\"model\":\"$UNKNOWN\",$MSGS}"
expect_err "/v1/chat/completions: an uncatalogued id is 404 model_not_found" 404 model_not_found
or_req POST chat/completions "{\"model\":\"$UNKNOWN\",$MSGS}"
expect_err "/api/v1/openrouter/chat/completions: the same" 404 model_not_found

note "--- unmetered paths pass through"
or_req GET models
expect_status "GET models: 200" 200
check "...content type kept (application/json)" content_type_json
check "...OpenRouter's body (its model list)" json_is '.data | length > 0'
last_mock
check "...upstream got GET /api/v1/models" jq_file "$T/last.json" '.method == "GET" and .path == "/api/v1/models"'
check "...with the provider's key, not the client's (last 4 of the pool key)" \
	jq_file "$T/last.json" ".key_label == \"${MOCK_KEY: -4}\""
or_req GET key
expect_status "GET key: 200" 200
check "...its data" json_is '.data | has("limit") and has("usage") and has("rate_limit")'
or_req GET "generation?id=gen-abc123&extra=1"
expect_status "GET generation?id=gen-...: 200" 200
check "...the generation asked for" json_is '.data.id == "gen-abc123"'
or_query() { curl -s -m 5 "http://127.0.0.1:$MOCK_PORT/_mock/or/query" >"$T/query.json"; }
or_query
check "...query kept" jq_file "$T/query.json" '.id == "gen-abc123" and .extra == "1"'
or_req GET "generation?id=nope"
expect_status "an unknown generation: OpenRouter's 404 kept" 404
check "...in OpenRouter's own error shape" json_is '.error.code == 404'
check "...content type kept" content_type_json
http GET "$URL/api/v1/openrouter/generation?id=gen-q&api_key=$UKEY" -H "Authorization: Bearer $UKEY"
or_query
check "tollgate's own ?api_key= never goes upstream" \
	jq_file "$T/query.json" '.id == "gen-q" and (has("api_key") | not)'
or_req GET "key?mock_status=429"
expect_status "OpenRouter's 429 kept" 429
check "...with its Retry-After" test "$(hdr retry-after)" = 1
# The key cools down for that second, as for a 429 of a chat.
key_ok() { or_req GET key; [ "$code" = 200 ]; }
wait_for "the pool key serves again" 10 key_ok
req GET /api/v1/openrouter/models ""
expect_status "no credential: 401" 401
or_req GET keys
expect_status "the provisioning API is not passed through: 403" 403
or_req POST responses '{"model":"x/y","input":"hi"}'
expect_err "POST responses is metered (the /v1 path): an unknown id is 404 model_not_found" 404 model_not_found
or_req POST messages '{"model":"x/y","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'
check "POST messages is metered too, its error in Anthropic's shape" \
	json_is '.type == "error" and .error.type == "not_found_error"'
or_req POST credits/coinbase '{"amount":10,"sender":"0x0","chain_id":1}'
expect_err "a write tollgate does not meter (POST credits/coinbase) is refused" 403 passthrough_unmetered
or_req DELETE "generation?id=gen-1"
expect_err "...as is any DELETE" 403 passthrough_unmetered
check "nothing billed, no usage record for the unmetered calls" test "$(usage_count)" = 0
check "balance untouched" test "$(acct_row "$UID_")" = "$F 0"

note "--- passthrough_unknown on"
cp_restart "db.name=$SCRATCH" openrouter.provider=ormock openrouter.passthrough_unknown=on openrouter.passthrough_ceiling=0.25
HOLD=250000000

# usage.cost with 12 decimals: 123456.789 nano-USD, charged 123457 (rounded up) + 5%.
mock_cost '{"cost":"0.000123456789"}'
or_req POST chat/completions "{\"model\":\"$UNKNOWN\",$(msgs 'hello there [mock:flavor=openrouter]')}"
expect_status "metered chat through the pass-through: 200" 200
check "...OpenRouter was asked for usage accounting" \
	sh -c 'curl -s -m 5 "http://127.0.0.1:$1/_mock/requests" | jq -e ".[-1].body.usage.include == true" >/dev/null' _ "$MOCK_PORT"
WANT=$(with_commission 123457)
check "...x-tollgate-cost is usage.cost + 5% exactly ($(hdr x-tollgate-cost) = $(usd_of "$WANT"))" \
	usd_eq "$(hdr x-tollgate-cost)" "$(usd_of "$WANT")"
check "...the record: base 123457, charge $WANT, upstream_cost 123457, measured" \
	test "$(rec 'base_cost, charge, upstream_cost, charge_basis' | tr '\t' ' ')" = "123457 $WANT 123457 measured"
check "...the balance moved by the charge exactly" test "$(acct_row "$UID_")" = "$((F - WANT)) 0"
SPENT=$WANT

# streamed, through /v1/chat/completions (seed 004), the mock's own cost formula.
mock_cost '{}'
curl -sSN -m 30 -o "$T/sse" -D "$T/hdr.raw" "$URL/v1/chat/completions" -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json' --data-binary \
	"{\"model\":\"$UNKNOWN\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$(msgs 'hi [mock:flavor=openrouter]')}" \
	2>"$T/curl.err" || true
sed -n 's/^data: //p' "$T/sse" >"$T/events"
check "a streamed uncatalogued chat ends with [DONE]" test "$(tail -n 1 "$T/events")" = "[DONE]"
COST=$(grep -v '^\[DONE\]' "$T/events" | jq -rs '[.[] | select(.usage.cost != null)][-1].usage.cost')
UP=$(rec upstream_cost)
WANT=$(with_commission "$UP")
check "...the usage chunk's cost is the charge ($COST = $(usd_of "$WANT"))" \
	test "$(awk -v c="$COST" 'BEGIN { printf "%.0f", c * 1e9 }')" = "$WANT"
check "...OpenRouter's usage.cost recorded ($UP nano)" test "$UP" -gt 0
check "...charged usage.cost + 5% ($WANT), measured, stream" \
	test "$(rec 'charge, charge_basis, stream' | tr '\t' ' ')" = "$WANT measured 1"
SPENT=$((SPENT + WANT))
check "...the balance moved by both charges exactly" test "$(acct_row "$UID_")" = "$((F - SPENT)) 0"

# streamed through the pass-through path
curl -sSN -m 30 -o "$T/sse2" "$URL/api/v1/openrouter/chat/completions" -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json' --data-binary \
	"{\"model\":\"$UNKNOWN\",\"stream\":true,$(msgs 'hi again [mock:flavor=openrouter]')}" 2>"$T/curl.err" || true
check "a streamed chat through /api/v1/openrouter ends with [DONE]" \
	test "$(sed -n 's/^data: //p' "$T/sse2" | tail -n 1)" = "[DONE]"
UP=$(rec upstream_cost)
WANT=$(with_commission "$UP")
check "...charged its usage.cost ($UP) + 5%" test "$(rec 'charge, charge_basis' | tr '\t' ' ')" = "$WANT measured"
SPENT=$((SPENT + WANT))

# Embeddings through the pass-through are metered too.
or_req POST embeddings "{\"model\":\"$UNKNOWN\",\"input\":\"hello there\"}"
expect_status "POST embeddings through the pass-through: 200" 200
check "...a usage record for it" test "$(rec 'endpoint, provider_id' | tr '\t' ' ')" = "embeddings ormock"
SPENT=$((SPENT + $(rec charge)))

# The Responses and Anthropic Messages APIs through the pass-through: metered, OpenRouter only.
mock_cost '{"cost":"0.0000025"}'
or_req POST responses "{\"model\":\"$UNKNOWN\",\"input\":\"hi [mock:flavor=openrouter]\"}"
expect_status "POST responses through the pass-through: 200" 200
check "...a Responses API answer" json_is '.object == "response" and .status == "completed"'
WANT=$(with_commission 2500)
check "...the record: api responses, ormock, charged usage.cost 2500 + 5% = $WANT" \
	test "$(rec 'api, provider_id, charge, upstream_cost' | tr '\t' ' ')" = "responses ormock $WANT 2500"
check "...sent to OpenRouter's chat completions" \
	sh -c 'curl -s -m 5 "http://127.0.0.1:$1/_mock/requests" | jq -e ".[-1].path == \"/api/v1/chat/completions\"" >/dev/null' _ "$MOCK_PORT"
SPENT=$((SPENT + WANT))
or_req POST messages "{\"model\":\"$UNKNOWN\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"hi [mock:flavor=openrouter]\"}]}"
expect_status "POST messages through the pass-through: 200" 200
check "...an Anthropic Messages answer" json_is '.type == "message" and .role == "assistant"'
check "...the record: api messages, ormock, charged usage.cost 2500 + 5%" \
	test "$(rec 'api, provider_id, charge' | tr '\t' ' ')" = "messages ormock $WANT"
SPENT=$((SPENT + WANT))
mock_cost '{}'

# No usage.cost in the answer: the hold is charged, and the record says so.
mock_cost '{"cost":null}'
chat "$UKEY" "{\"model\":\"$UNKNOWN\",$(msgs 'no cost [mock:flavor=openrouter]')}"
expect_status "an answer without usage.cost: 200" 200
check "...charged the hold ($HOLD), basis hold" test "$(rec 'charge, charge_basis' | tr '\t' ' ')" = "$HOLD hold"
check "...the record says why" test "$(rec error)" = "OpenRouter reported no usage.cost: charged the hold"
SPENT=$((SPENT + HOLD))
check "balance after six charges" test "$(acct_row "$UID_")" = "$((F - SPENT)) 0"

# The hold is the ceiling: a user with less than that is refused before any upstream call.
new_user orpoor 200000000
n0=$(n_mock)
chat "$UKEY" "{\"model\":\"$UNKNOWN\",$MSGS}"
expect_err "\$0.20 available, a ceiling of \$0.25: 402" 402 insufficient_quota
check "...no upstream call" test "$(n_mock)" = "$n0"

# :free: no hold, cost 0, commission 0; even a user with no money.
mock_cost '{"cost":"0"}'
cp_register orfree || bail "register orfree"
UKEY=$REG_KEY UPUB=$REG_ID
UID_=$(uid_of "$UPUB")
chat "$UKEY" "{\"model\":\"meta-llama/llama-4-scout:free\",$(msgs 'free [mock:flavor=openrouter]')}"
expect_status "a :free model with a balance of 0: 200" 200
check "...charged 0" test "$(rec 'charge, commission' | tr '\t' ' ')" = "0 0"
check "...balance still 0" test "$(acct_row "$UID_")" = "0 0"
mock_cost '{}'

# A catalogued model an admin disabled is refused, even with OpenRouter's form (a funded
# user: were it passed through, it would be served).
new_user orpu2 "$ONE"
tg_cli model add vendorx/disabled-model mock mock-cheap 1.00 2.00 >/dev/null || bail "model vendorx/disabled-model"
req PUT /admin/models/vendorx/disabled-model "$AK" '{"enabled":false}'
expect_status "the admin disables vendorx/disabled-model" 200
n0=$(n_mock)
chat "$UKEY" "{\"model\":\"vendorx/disabled-model\",$MSGS}"
expect_err "a disabled catalogued model is not passed through to OpenRouter: 404" 404 model_not_found
check "...no upstream call" test "$(n_mock)" = "$n0"
or_req POST chat/completions "{\"model\":\"test/cheap\",$MSGS}"
expect_err "/api/v1/openrouter: a model catalogued elsewhere, not on OpenRouter: 404" 404 model_not_found

# Not an OpenRouter id: refused as before.
chat "$UKEY" "{\"model\":\"no-slash-model\",$MSGS}"
expect_err "an id without vendor/ is not passed through: 404" 404 model_not_found
# A catalogued model keeps its catalogue price on /v1.
chat "$UKEY" "{\"model\":\"test/cheap\",$MSGS}"
expect_status "test/cheap still served by its own deployment" 200
check "...provider mock" test "$(hdr x-tollgate-provider)" = mock
check "ledger reconciles" ledger_check "$UPUB"
finish
