#!/usr/bin/env bash
# t_seed001.sh: seed 001's README (OpenRouter AI Gateway, FastAPI) replayed against tollgate,
# host and keys substituted: every call it documents answers with the status and the shape
# its clients read; plus what issue 18 added for it: GET /user/api-keys/{id}, DELETE
# /user/account from a session without a body, gateway_usage's seed names, POST
# /admin/refresh-models (OpenRouter's GET /models from the mock), GET /admin/cache-status and
# /admin/monitor's system-wide figures.  Bad input: 4xx in the OpenAI shape, nothing changes.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack seed001
export LC_ALL=C

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY
# The README's model, served by the mock at test/cheap's prices.
tg_cli model add deepseek/deepseek-r1-0528 mock mock-cheap 1.00 2.00 >/dev/null ||
	bail "tollgate model add deepseek/deepseek-r1-0528"

# --- public endpoints ---------------------------------------------------------------------
req GET /health
check "GET /health -> 200 {status}" sh -c "[ $code = 200 ] && jq -e '.status == \"ok\"' '$T/body' >/dev/null"
req GET /models
check "GET /models -> 200 {data:[{id}]}" sh -c "[ $code = 200 ] && jq -e '.data | type == \"array\" and length > 0 and (.[0] | has(\"id\"))' '$T/body' >/dev/null"
req GET /models/providers
check "GET /models/providers -> 200 JSON" sh -c "[ $code = 200 ] && jq -e . '$T/body' >/dev/null"
req GET /
check "GET / -> 200 API information" sh -c "[ $code = 200 ] && jq -e '.name == \"tollgate\"' '$T/body' >/dev/null"

# --- POST /auth/register ------------------------------------------------------------------
cp_register s1 || bail "register ($code: $(head -c 200 "$T/body"))"
UKEY=$REG_KEY UPUB=$REG_ID UEMAIL=$REG_EMAIL
check "POST /auth/register -> 201 with the primary key" key_format "$UKEY"
fund "$UPUB" 1.00

# --- admin endpoints ----------------------------------------------------------------------
req POST /admin/add_credits "$AK_ADMIN" "{\"user_id\":\"$UPUB\",\"amount_usd\":\"0.50\"}"
check "POST /admin/add_credits -> 200 {balance}" sh -c "[ $code = 200 ] && jq -e '.balance == \"1.50\"' '$T/body' >/dev/null"
req GET /admin/balance "$AK_ADMIN"
check "GET /admin/balance -> 200 {data:[{user_id, balance, keys}]}" sh -c "[ $code = 200 ] && jq -e '.data | type == \"array\" and (.[0] | has(\"balance\") and has(\"keys\"))' '$T/body' >/dev/null"
req POST /admin/limit "$AK_ADMIN" "{\"api_key\":\"$UKEY\",\"rate_limits\":{\"requests_per_minute\":60,
	\"requests_per_hour\":1000,\"requests_per_day\":10000,\"tokens_per_minute\":10000,
	\"tokens_per_hour\":100000,\"tokens_per_day\":1000000}}"
check "POST /admin/limit (the README's body) -> 200" status_is 200
req GET /admin/monitor "$AK_ADMIN"
check "GET /admin/monitor -> 200 {users, keys}" sh -c "[ $code = 200 ] && jq -e 'has(\"users\") and has(\"keys\")' '$T/body' >/dev/null"
req GET /admin/monitor "$UKEY"
expect_err "GET /admin/monitor with a user's key" 403 insufficient_permissions

# --- user endpoints -----------------------------------------------------------------------
req GET /user/balance "$UKEY"
check "GET /user/balance -> 200 {balance}" sh -c "[ $code = 200 ] && jq -e '.balance == \"1.50\"' '$T/body' >/dev/null"
req GET /user/monitor "$UKEY"
check "GET /user/monitor -> 200 {usage_metrics, rate_limits}" sh -c "[ $code = 200 ] && jq -e 'has(\"usage_metrics\") and has(\"rate_limits\") and (.api_key | test(\"^gw_live_\"))' '$T/body' >/dev/null"
req GET /user/limit "$UKEY"
check "GET /user/limit -> 200 {rate_limits}, the key's limits as the admin set them" sh -c "[ $code = 200 ] && jq -e '(.rate_limits | has(\"requests_per_minute\")) and .keys[0].rate_limits.tokens_per_day == 1000000' '$T/body' >/dev/null"
req GET /user/profile "$UKEY"
check "GET /user/profile -> 200 {email}" sh -c "[ $code = 200 ] && jq -e '.email == \"$UEMAIL\"' '$T/body' >/dev/null"
req PUT /user/profile "$UKEY" '{"name":"Seed One"}'
check "PUT /user/profile -> 200 {name}" sh -c "[ $code = 200 ] && jq -e '.name == \"Seed One\"' '$T/body' >/dev/null"

# --- API keys -----------------------------------------------------------------------------
cp_new_key "$UKEY" '{"name":"ci","environment":"test","max_requests":1000}' || bail "create a key ($code)"
K2=$NEW_KEY K2_ID=$NEW_KEY_ID
check "POST /user/api-keys -> 201 gw_test_ key" key_format "$K2"
req GET /user/api-keys "$UKEY"
check "GET /user/api-keys -> 200 two keys" sh -c "[ $code = 200 ] && jq -e '.data | length == 2' '$T/body' >/dev/null"
jq -c ".data[] | select(.id == \"$K2_ID\")" "$T/body" >"$T/listed.json"

# GET /user/api-keys/{id}: the key as the listing shows it.
req GET "/user/api-keys/$K2_ID" "$UKEY"
check "GET /user/api-keys/{id} -> 200" status_is 200
check "GET /user/api-keys/{id} is the listing's entry, member for member" \
	same_json "$T/body" "$T/listed.json"
check "GET /user/api-keys/{id}: masked key, no secret" json_is \
	".api_key == \"$(masked_of "$K2")\" and (tostring | contains(\"$K2\") | not)"
cp_register s1other || bail "register a second user ($code)"
OKEY=$REG_KEY OKEY_ID=$REG_KEY_ID
req GET "/user/api-keys/$OKEY_ID" "$UKEY"
expect_err "GET another user's key" 404 not_found
req GET /user/api-keys/key_AAAAAAAAAAAAAAAAAAAA "$UKEY"
expect_err "GET an unknown key id" 404 not_found
# A read-only key sees itself only, as in the listing.
cp_new_key "$UKEY" '{"name":"ro","permissions":["read"]}' || bail "create a read-only key ($code)"
RO=$NEW_KEY RO_ID=$NEW_KEY_ID
req GET "/user/api-keys/$RO_ID" "$RO"
check "a read-only key GETs itself -> 200" sh -c "[ $code = 200 ] && jq -e '.id == \"$RO_ID\"' '$T/body' >/dev/null"
req GET "/user/api-keys/$K2_ID" "$RO"
expect_err "a read-only key GETs a sibling" 404 not_found
req GET /user/api-keys/usage "$UKEY"
check "GET /user/api-keys/usage still answers the usage (not a key id)" sh -c "[ $code = 200 ] && jq -e '.total_keys == 3 and (.keys[0] | has(\"requests_remaining\"))' '$T/body' >/dev/null"
req PUT "/user/api-keys/$K2_ID" "$UKEY" '{"name":"renamed"}'
check "PUT /user/api-keys/{id} -> 200" sh -c "[ $code = 200 ] && jq -e '.name == \"renamed\"' '$T/body' >/dev/null"
req DELETE "/user/api-keys/$K2_ID" "$UKEY"
expect_status "DELETE /user/api-keys/{id}" 204
req GET "/user/api-keys/$K2_ID" "$UKEY"
expect_err "GET a deleted key" 404 not_found

# --- POST /v1/chat/completions: the README's request and gateway_usage --------------------
chat "$UKEY" '{"model":"deepseek/deepseek-r1-0528","messages":[{"role":"user","content":"Hello, how are you?"}],"max_tokens":100,"temperature":0.7}'
check "POST /v1/chat/completions (the README's body) -> 200" status_is 200
check "answer: choices[0].message.content, usage, model" json_is \
	'(.choices[0].message.content | type == "string") and .usage.total_tokens == .usage.prompt_tokens + .usage.completion_tokens and .model == "deepseek/deepseek-r1-0528"'
check "gateway_usage.tokens_charged = usage.total_tokens" json_is '.gateway_usage.tokens_charged == .usage.total_tokens'
check "gateway_usage.user_balance_after = balance_after = x-tollgate-balance" json_is \
	".gateway_usage.user_balance_after == .gateway_usage.balance_after and .gateway_usage.balance_after == \"$(hdr x-tollgate-balance)\""
check "gateway_usage.user_api_key is the caller's key, masked" json_is ".gateway_usage.user_api_key == \"$(masked_of "$UKEY")\""
check "gateway_usage keeps ours (cost, request_id, provider, model)" json_is \
	'.gateway_usage | has("cost") and has("request_id") and .provider == "mock" and .model == "deepseek/deepseek-r1-0528"'
# A session's chat: no key to name.
cp_login "$UEMAIL"
SESSION=$TOKEN
chat "$SESSION" '{"model":"deepseek/deepseek-r1-0528","messages":[{"role":"user","content":"Hi"}],"max_tokens":10}'
check "a session's chat: gateway_usage.user_api_key is null" sh -c "[ $code = 200 ] && jq -e '.gateway_usage | has(\"user_api_key\") and .user_api_key == null' '$T/body' >/dev/null"

# --- DELETE /user/account -----------------------------------------------------------------
is_pw_missing() { [ "$code" = 400 ] && error_shape && json_is '.error.param == "password"'; }
# An API key still needs the password; nothing changes without it.
req DELETE /user/account "$UKEY"
check "DELETE /user/account with a key and no body -> 400 in the OpenAI shape, param password" \
	is_pw_missing
check "...and the account is still there" eq "$(status_of "$UKEY")" 200
req DELETE /user/account "$SESSION" '{"password":"wrong-password-123"}'
expect_err "a session that sends a wrong password" 401 invalid_credentials
check "...and the account is still there" eq "$(status_of "$UKEY")" 200
req DELETE /user/account "$SESSION"
expect_status "DELETE /user/account from a session without a body" 204
check "the account's key is refused after" eq "$(status_of "$UKEY")" 401
check "the session is refused after" eq "$(status_of "$SESSION")" 401
# From the dashboard's cookie (with its CSRF token), without a body.
cp_register s1cookie || bail "register a third user ($code)"
CKEY=$REG_KEY CEMAIL=$REG_EMAIL
req POST /auth/login "" "{\"email\":\"$CEMAIL\",\"password\":\"$CP_PW\",\"cookie\":true}"
CSESS=$(hdr set-cookie | sed -n 's/^tollgate_session=\([^;]*\);.*/\1/p')
CSRF=$(jv '.csrf_token // empty')
http DELETE "$URL/user/account" -H "Cookie: tollgate_session=$CSESS"
expect_err "the cookie without its CSRF token" 403 csrf_failed
check "...and the account is still there" eq "$(status_of "$CKEY")" 200
http DELETE "$URL/user/account" -H "Cookie: tollgate_session=$CSESS" -H "X-CSRF-Token: $CSRF"
expect_status "DELETE /user/account from the cookie session without a body" 204
check "the account's key is refused after" eq "$(status_of "$CKEY")" 401
check "another user's account is untouched" eq "$(status_of "$OKEY")" 200

# --- POST /admin/refresh-models: OpenRouter's GET /models (the mock plays it) -------------
MOCK_ROOT=${MOCK_URL%/v1}
nmodels() { q "SELECT COUNT(*) FROM models"; }
naudit() { q "SELECT COUNT(*) FROM audit_log WHERE action = 'model.refresh'"; }
state() { q "SELECT CONCAT(COUNT(*), ':', COALESCE(SUM(input_price + output_price), 0)) FROM models"; }
price_of() { q "SELECT CONCAT(m.source, ' ', m.input_price, ' ', m.output_price, ' ', COALESCE(r.input_price, '-'), ' ', COALESCE(r.output_price, '-')) FROM models m LEFT JOIN model_routes r ON r.model_id = m.id AND r.provider_id = 'openrouter' WHERE m.id = '$1'"; }
or_list() {
	curl -s -m 5 -X PUT --data-binary "$1" "http://127.0.0.1:$MOCK_PORT/_mock/or-models" | jq -e '.models' >/dev/null ||
		bail "the mock takes an OpenRouter model list"
}
orm() { echo "{\"id\":\"$1\",\"name\":\"$2\",\"context_length\":$3,\"pricing\":{\"prompt\":\"$4\",\"completion\":\"$5\",\"request\":\"0\",\"image\":\"0\"}}"; }

# The seeded "openrouter" provider, pointed at the mock, with the mock's key.
req PUT /admin/providers/openrouter "$AK_ADMIN" "{\"base_url\":\"$MOCK_ROOT/api/v1\"}"
check "the openrouter provider points at the mock" status_is 200
printf '%s\n' "$MOCK_KEY" | tg_cli provider key-add openrouter main >/dev/null 2>&1 || bail "key-add openrouter"
# The mock's own list is OpenRouter's shape.
curl -s -m 5 -H "Authorization: Bearer $MOCK_KEY" "$MOCK_ROOT/api/v1/models" >"$T/body"
check "the mock's GET /api/v1/models is OpenRouter's shape (pricing per token as strings)" json_is \
	'.data[0] | (.id | type == "string") and (.pricing.prompt | type == "string") and (.context_length | type == "number")'

# test/cheap (the operator's, at $1/$2 per million) as OpenRouter prices it: unchanged;
# test/dear at another price: the operator's price stays (skipped); three new models; the
# router (price -1) and a malformed id: skipped.
or_list "[$(orm test/cheap Cheap 8192 0.000001 0.000002),$(orm test/dear Dear 8192 0.000001 0.000002),
	$(orm vendorx/new-one 'Vendor X: New One' 32768 0.0000025 0.00001),
	$(orm vendorx/free:free 'Vendor X: Free' 4096 0 0),
	$(orm vendorx/tiny 'Vendor X: Tiny' 1000 0.0000000000001 0.000000000001),
	$(orm openrouter/auto 'Auto Router' 2000000 -1 -1),
	{\"id\":\"no slash\",\"pricing\":{\"prompt\":\"0\",\"completion\":\"0\"}}]"
n0=$(nmodels) a0=$(naudit) dear0=$(price_of test/dear)
req POST /admin/refresh-models "$AK_ADMIN"
check "POST /admin/refresh-models (no body: the openrouter provider) -> 200" status_is 200
check "added: the three new models" json_is '(.added | sort) == ["vendorx/free:free","vendorx/new-one","vendorx/tiny"]'
check "updated: none; unchanged: test/cheap" json_is '.updated == [] and .unchanged == 1'
check "skipped: test/dear (the operator's price), the router (no fixed price), the bad id" json_is \
	'(.skipped | sort_by(.id // "")) == [{"id":"no slash","reason":"invalid_id"},{"id":"openrouter/auto","reason":"no_fixed_price"},{"id":"test/dear","reason":"operator_price"}]'
check "three catalogue rows more" eq "$(nmodels)" $((n0 + 3))
check "vendorx/new-one at 2.50 / 10.00 per million (micro-USD), with an openrouter route" \
	eq "$(price_of vendorx/new-one)" "refresh 2500000 10000000 2500000 10000000"
check "vendorx/free:free at 0 / 0" eq "$(price_of vendorx/free:free)" "refresh 0 0 0 0"
check "vendorx/tiny: 1e-13 USD a token rounds up to 1 micro-USD per million, never down" \
	eq "$(price_of vendorx/tiny)" "refresh 1 1 1 1"
check "test/dear keeps the operator's prices" eq "$(price_of test/dear)" "$dear0"
check "one audit row model.refresh" eq "$(naudit)" $((a0 + 1))
check "the audit row names the provider and what was added" eq \
	"$(q "SELECT CONCAT(target_id, ' ', JSON_LENGTH(after_json, '$.added')) FROM audit_log WHERE action = 'model.refresh' ORDER BY id DESC LIMIT 1")" "openrouter 3"
req GET /models
check "GET /models lists vendorx/new-one at OpenRouter's per-token price" json_is \
	'.data[] | select(.id == "vendorx/new-one") | .pricing.prompt == "0.0000025"'
req GET /v1/models/vendorx/new-one "$AK_ADMIN"
check "GET /v1/models/vendorx/new-one names the openrouter provider" json_is '.providers == ["openrouter"]'

# Second refresh: new-one's price moved (updated); the operator repriced tiny since the
# first refresh (stays, skipped); free unchanged.
req PUT /admin/models/vendorx/tiny "$AK_ADMIN" '{"input_price":"0.50","output_price":"0.70"}'
check "the operator reprices vendorx/tiny" status_is 200
tiny0=$(price_of vendorx/tiny)
or_list "[$(orm vendorx/new-one 'Vendor X: New One' 32768 0.000003 0.000012),
	$(orm vendorx/free:free 'Vendor X: Free' 4096 0 0),
	$(orm vendorx/tiny 'Vendor X: Tiny' 1000 0.000009 0.000009)]"
req POST /admin/refresh-models "$AK_ADMIN" '{"provider":"openrouter"}'
check "second refresh -> 200" status_is 200
check "updated: vendorx/new-one; unchanged: free; skipped: tiny (changed by the operator)" json_is \
	'.added == [] and .updated == ["vendorx/new-one"] and .unchanged == 1 and .skipped == [{"id":"vendorx/tiny","reason":"changed_by_operator"}]'
check "vendorx/new-one now 3.00 / 12.00, model and route" eq "$(price_of vendorx/new-one)" "refresh 3000000 12000000 3000000 12000000"
check "vendorx/tiny keeps the operator's 0.50 / 0.70" eq "$(price_of vendorx/tiny)" "$tiny0"
check "...which is 500000 / 700000" eq "${tiny0#refresh }" "500000 700000 500000 700000"

# Bad input: a 4xx (502 for a provider that fails) in the OpenAI shape; nothing changes.
s0=$(state) a0=$(naudit)
req POST /admin/refresh-models "$AK_ADMIN" '{"provider":"mock"}'
expect_err "a provider not of kind openrouter" 400 invalid_value
req POST /admin/refresh-models "$AK_ADMIN" '{"provider":"nope"}'
expect_err "an unknown provider" 400 invalid_value
req POST /admin/refresh-models "$AK_ADMIN" '{"provider":"openrouter","force":true}'
expect_err "an unknown member" 400 unknown_field
req POST /admin/refresh-models "$AK_ADMIN" '{"provider":7}'
expect_err "provider not a string" 400 invalid_type
req POST /admin/refresh-models "$OKEY"
expect_err "a user's key" 403 insufficient_permissions
req POST /admin/providers "$AK_ADMIN" '{"id":"ordead","kind":"openrouter","base_url":"http://127.0.0.1:9/api/v1"}'
check "an openrouter provider nobody answers for" status_is 201
req POST /admin/refresh-models "$AK_ADMIN" '{"provider":"ordead"}'
check "its list cannot be read -> 502 in the OpenAI shape" sh -c "[ $code = 502 ]" 
check "...error shape" error_shape
check "the catalogue is as it was (count and prices) after every refusal" eq "$(state)" "$s0"
check "no audit row for a refusal" eq "$(naudit)" "$a0"
curl -s -m 5 -X DELETE "http://127.0.0.1:$MOCK_PORT/_mock/or-models" >/dev/null || true

# --- GET /admin/cache-status: each live worker's row cache, from shared memory ------------
cache_sum() { jq -r ".totals.$1" "$T/body"; }
req GET /admin/cache-status "$AK_ADMIN"
check "GET /admin/cache-status -> 200 {enabled, ttl, epoch, workers, totals}" json_is \
	'.enabled == true and (.ttl | type == "number") and (.epoch | type == "number") and (.workers | type == "array" and length >= 1) and (.totals | has("entries") and has("hits") and has("misses"))'
check "each worker: pid, entries, hits, misses, stale_dropped, started_at" json_is \
	'all(.workers[]; (.pid | type == "number") and (.entries >= 0) and (.hits >= 0) and (.misses >= 0) and (.stale_dropped >= 0) and (.started_at | test("^[0-9-]+T[0-9:]+Z$")))'
check "every listed pid is a live process" sh -c "for p in \$(jq -r '.workers[].pid' '$T/body'); do kill -0 \$p 2>/dev/null || [ -d /proc/\$p ] || exit 1; done"
check "the totals are the workers' sums" json_is \
	'.totals.hits == ([.workers[].hits] | add) and .totals.misses == ([.workers[].misses] | add) and .totals.entries == ([.workers[].entries] | add)'
h0=$(cache_sum hits) e0=$(jv .epoch)
for i in 1 2 3 4 5 6; do status_of "$OKEY" >/dev/null; done
req GET /admin/cache-status "$AK_ADMIN"
check "six requests with one key: hits grew ($h0 -> $(cache_sum hits))" test "$(cache_sum hits)" -gt "$h0"
req PUT /user/profile "$OKEY" '{"name":"moves the epoch"}'
req GET /admin/cache-status "$AK_ADMIN"
check "a change on this node moved the epoch ($e0 -> $(jv .epoch))" test "$(jv .epoch)" -gt "$e0"
req GET /admin/cache-status "$OKEY"
expect_err "GET /admin/cache-status with a user's key" 403 insufficient_permissions

# --- /admin/monitor: system-wide requests, tokens and cost per day and per model -----------
req GET /admin/monitor "$AK_ADMIN"
check "GET /admin/monitor -> 200 with usage {from, to, totals, by_day, by_model, by_day_model}" json_is \
	'.users >= 1 and (.usage | has("from") and has("to") and has("totals") and (.by_day | type == "array") and (.by_model | type == "array") and (.by_day_model | type == "array"))'
check "default range: 30 days up to tomorrow 00:00 UTC" json_is \
	"(.usage.to == \"$(date -u -d tomorrow +%Y-%m-%dT00:00:00Z)\") and (.usage.from == \"$(date -u -d '29 days ago' +%Y-%m-%dT00:00:00Z)\")"
sqlsum=$(q "SELECT CONCAT(COUNT(*), ' ', COALESCE(SUM(prompt_tokens + completion_tokens), 0), ' ', COALESCE(SUM(charge), 0)) FROM usage_records WHERE created_at >= CURRENT_DATE - INTERVAL 29 DAY")
check "totals = every user's records in the database ($sqlsum)" eq \
	"$(jv '.usage.totals | "\(.requests) \(.total_tokens)"') $(nano "$(jv .usage.totals.cost)")" "$sqlsum"
dsql=$(q "SELECT CONCAT(COUNT(*), ' ', SUM(prompt_tokens + completion_tokens), ' ', SUM(charge)) FROM usage_records WHERE model_id = 'deepseek/deepseek-r1-0528'")
check "by_model: deepseek/deepseek-r1-0528 as the database sums it ($dsql)" eq \
	"$(jv '.usage.by_model[] | select(.model == "deepseek/deepseek-r1-0528") | "\(.requests) \(.tokens)"') $(nano "$(jv '.usage.by_model[] | select(.model == "deepseek/deepseek-r1-0528") | .cost')")" "$dsql"
check "by_day: today's line sums every model's" json_is \
	"(.usage.by_day[] | select(.day == \"$(date -u +%F)\") | .requests) == ([.usage.by_day_model[] | select(.day == \"$(date -u +%F)\") | .requests] | add)"
check "the totals are the lines' sums" json_is \
	'.usage.totals.requests == ([.usage.by_day[].requests] | add) and .usage.totals.requests == ([.usage.by_model[].requests] | add)'
req GET "/admin/monitor?from=2001-01-01&to=2001-01-02" "$AK_ADMIN"
check "a range without records: zeros and empty lines" json_is \
	'.usage.totals.requests == 0 and .usage.by_day == [] and .usage.by_model == [] and .usage.from == "2001-01-01T00:00:00Z"'
req GET "/admin/monitor?from=yesterday" "$AK_ADMIN"
expect_err "from not a date" 400 invalid_value
req GET "/admin/monitor?from=2026-02-01&to=2026-01-01" "$AK_ADMIN"
expect_err "from after to" 400 invalid_value
req GET "/admin/monitor?from=2020-01-01&to=2026-01-01" "$AK_ADMIN"
expect_err "more than 366 days" 400 invalid_value

#S001-MORE

finish
