#!/usr/bin/env bash
# t_catalog.sh: the catalogue of issue 16: direct Anthropic and Google routes beside
# OpenRouter's with cache-read and cache-write prices, model aliases (seeded by migrate, kept
# when an operator changes them, resolved for chat against the mock, judged by allowed_models
# as the catalogue id), the quote's worst case at the cache-write price, provider kinds
# anthropic and gemini, and the usage record's api and cache_write_tokens.
#
# The catalogue is schema/pricing.json as `tollgate migrate` seeds it into a scratch database;
# provider "openai" is pointed at the mock, so an OpenAI model's alias reaches the mock.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack catalog
export LC_ALL=C

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY

# --- the listing: direct routes' prices, cache read and write, aliases ----------------------
http GET "$URL/v1/models" -H "Authorization: Bearer $AK_ADMIN"
check "/v1/models -> 200" status_is 200
for m in anthropic/claude-3.5-haiku anthropic/claude-sonnet-4.5 google/gemini-2.5-flash; do
	check "$m is in the catalogue" json_is "[.data[] | select(.id == \"$m\")] | length == 1"
done
# USD per token: $0.80 in, $4 out, $0.08 read, $1.00 write per million.
check "claude-3.5-haiku: input, output, cache read and cache write (1.25 x input) per token" json_is \
	'.data[] | select(.id == "anthropic/claude-3.5-haiku") | .pricing.prompt == "0.0000008"
	  and .pricing.completion == "0.000004" and .pricing.input_cache_read == "0.00000008"
	  and .pricing.input_cache_write == "0.000001"'
check "claude-sonnet-4.5: cache write \$3.75, cache read \$0.30 per million" json_is \
	'.data[] | select(.id == "anthropic/claude-sonnet-4.5") | .pricing.input_cache_write == "0.00000375"
	  and .pricing.input_cache_read == "0.0000003"'
check "gemini-2.5-flash: cached \$0.075; no cache-write price, so writes at the input price" json_is \
	'.data[] | select(.id == "google/gemini-2.5-flash") | .pricing.input_cache_read == "0.000000075"
	  and .pricing.input_cache_write == .pricing.prompt'
check "aliases listed with their model (claude-3-5-haiku-latest, anthropic/claude-3-5-haiku)" json_is \
	'.data[] | select(.id == "anthropic/claude-3.5-haiku") | .aliases
	  | index("claude-3-5-haiku-latest") != null and index("anthropic/claude-3-5-haiku") != null'
check "every entry has an aliases array" json_is '.data | all(.aliases | type == "array")'
check "every entry names the providers that serve it (an array)" json_is '.data | all(.providers | type == "array")'
check "claude-3.5-haiku is served by the anthropic provider (its direct route)" json_is \
	'.data[] | select(.id == "anthropic/claude-3.5-haiku") | .providers | index("anthropic") != null'
for a in anthropic/claude-3-5-sonnet claude-3-5-sonnet-latest claude-sonnet-4-5 claude-sonnet-4-5-20250929 \
	gpt-4o-mini gpt-4o gpt-5 models/gemini-2.5-flash gemini-2.5-flash gemini-2.5-pro deepseek-chat; do
	check "alias $a is seeded" json_is "[.data[].aliases[]] | index(\"$a\") != null"
done
http GET "$URL/v1/models/claude-3-5-haiku-latest" -H "Authorization: Bearer $AK_ADMIN"
check "GET /v1/models/ALIAS answers the model" json_is '.id == "anthropic/claude-3.5-haiku"'
http GET "$URL/models/providers"
check "providers anthropic and google serve models" json_is \
	'[.data[] | select((.id == "anthropic" and .kind == "anthropic") or (.id == "google" and .kind == "gemini")) | .models > 0] == [true, true]'
routes=$(q "SELECT CONCAT(
	(SELECT upstream_model FROM model_routes WHERE model_id = 'anthropic/claude-3.5-haiku' AND provider_id = 'anthropic'), ' ',
	(SELECT upstream_model FROM model_routes WHERE model_id = 'google/gemini-2.5-flash' AND provider_id = 'google'), ' ',
	(SELECT COUNT(*) FROM model_routes WHERE model_id = 'anthropic/claude-3.5-haiku' AND provider_id = 'openrouter'))")
check "direct routes by the vendors' names beside OpenRouter's ($routes)" \
	eq "$routes" "claude-3-5-haiku-latest gemini-2.5-flash 1"

# --- routing no longer skips kind anthropic: the quote picks the direct deployment ---------
user q 1.00
QK=$U_KEY
QB='{"model":"claude-3-5-haiku-latest","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}'
req POST /v1/quote "$QK" "$QB"
check "quote by alias -> 200" status_is 200
check "quote names the catalogue id, the anthropic deployment and its upstream model" json_is \
	'.model == "anthropic/claude-3.5-haiku" and .provider == "anthropic" and .upstream_model == "claude-3-5-haiku-latest"'
check "quote shows the cache-write price (1.00) beside cached_input (0.08)" json_is \
	'(.prices.cache_write|tonumber) == 1 and (.prices.cached_input|tonumber) == 0.08'
pb=$(jv .prompt_bound)
# The worst case: each prompt token at the cache-write price (1000 nano > 800 input).
check "quote hold: prompt_bound ($pb) x 1000 + 100 x 4000 nano, +5%" \
	eq "$(nano "$(jv .hold)")" "$(hold_at 1000 4000 "$pb" 100)"

# --- an alias's chat reaches the mock as the upstream's name and is billed as its model ----
req PUT /admin/providers/openai "$AK_ADMIN" "{\"base_url\":\"$MOCK_URL\"}"
check "provider openai pointed at the mock ($code)" status_is 200
echo "$MOCK_KEY" | tg_cli provider key-add openai main >/dev/null || bail "key-add openai"
user a 1.00
AK=$U_KEY A_ID=$U_ID
read_balance "$AK"
b0=$BAL
chat "$AK" "{\"model\":\"gpt-4o-mini\",$MSGS}"
check "chat with alias gpt-4o-mini -> 200" status_is 200
check "answered by provider openai" eq "$(hdr x-tollgate-provider)" openai
check "gateway_usage names the catalogue id" json_is '.gateway_usage.model == "openai/gpt-4o-mini"'
mock_requests >/dev/null
check "the mock got the upstream's model name gpt-4o-mini" jq_file "$T/mockreq.json" '.[-1].body.model == "gpt-4o-mini"'
pt=$(jv .usage.prompt_tokens) ct=$(jv .usage.completion_tokens)
# gpt-4o-mini: $0.15 in, $0.60 out per million: 150 and 600 nano a token.
want=$(charge_at 150 600 "$pt" "$ct")
check "charged at gpt-4o-mini's prices ($pt + $ct tokens: $want nano)" eq "$(nano "$(jv .gateway_usage.cost)")" "$want"
read_balance "$AK"
check "the balance moved by the charge" eq $((b0 - BAL)) "$want"
http GET "$URL/user/usage" -H "Authorization: Bearer $AK"
check "usage record: the catalogue id, api chat, no cache writes" json_is \
	'.data[0] | .model == "openai/gpt-4o-mini" and .api == "chat" and .cache_write_tokens == 0'
check "usage_records.api and cache_write_price stored (the input price when none)" \
	eq "$(q "SELECT CONCAT(api, ' ', cache_write_tokens, ' ', cache_write_price) FROM usage_records ORDER BY id DESC LIMIT 1")" "chat 0 150000"

# --- allowed_models judges the catalogue id, never the alias --------------------------------
cp_new_key "$AK" '{"name":"4o-only","allowed_models":["openai/gpt-4o"]}' || bail "restricted key ($code)"
RK=$NEW_KEY
m0=$(mock_n)
chat "$RK" "{\"model\":\"gpt-4o-mini\",$MSGS}"
expect_err "a key allowed only openai/gpt-4o, asking alias gpt-4o-mini" 404 model_not_found
check "nothing went upstream" eq "$(mock_n)" "$m0"
chat "$RK" "{\"model\":\"gpt-4o\",$MSGS}"
check "the same key may use gpt-4o by its alias -> 200" status_is 200
cp_new_key "$AK" '{"name":"alias-listed","allowed_models":["gpt-4o-mini"]}' || bail "alias key ($code)"
chat "$NEW_KEY" "{\"model\":\"openai/gpt-4o-mini\",$MSGS}"
expect_err "an allowed_models naming an alias does not admit its model" 404 model_not_found

# --- the operator's aliases: CLI, never overwritten by migrate ----------------------------
out=$(tg_cli model alias my-mini openai/gpt-4o-mini 2>&1) && rc=0 || rc=$?
check "tollgate model alias my-mini (exit $rc)" test "$rc" = 0
out=$(tg_cli model alias openai/gpt-4o openai/gpt-4o-mini 2>&1) && rc=0 || rc=$?
check "an alias that is a model's id is refused (exit $rc)" test "$rc" != 0
out=$(tg_cli model alias x-nope nope/nothing 2>&1) && rc=0 || rc=$?
check "an alias of no model is refused (exit $rc)" test "$rc" != 0
tg_cli model alias gpt-4o openai/gpt-4o-mini >/dev/null 2>&1 || bail "repoint gpt-4o"
tg_cli migrate >"$T/migrate2.out" 2>&1 || bail "migrate again"
tg_cli model aliases >"$T/aliases.out" 2>&1 || bail "model aliases"
check "model aliases lists my-mini" grep -qx "my-mini	openai/gpt-4o-mini" "$T/aliases.out"
check "a second migrate keeps the operator's gpt-4o -> openai/gpt-4o-mini" \
	grep -qx "gpt-4o	openai/gpt-4o-mini" "$T/aliases.out"
check "the audit log has model.alias" \
	test "$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'model.alias'")" -ge 2
chat "$AK" "{\"model\":\"my-mini\",$MSGS}"
check "chat by the operator's alias -> 200 as openai/gpt-4o-mini" json_is '.gateway_usage.model == "openai/gpt-4o-mini"'
tg_cli model unalias my-mini >/dev/null 2>&1 || bail "unalias"
chat "$AK" "{\"model\":\"my-mini\",$MSGS}"
expect_err "a removed alias" 404 model_not_found

# --- admin: cache_write_price; provider kinds ----------------------------------------------
req PUT /admin/models/anthropic/claude-3.5-haiku "$AK_ADMIN" '{"cache_write_price":"1.10"}'
check "PUT cache_write_price -> 200" status_is 200
check "the listing shows it" json_is '.pricing.input_cache_write == "0.0000011"'
check "its routes got it" eq "$(q "SELECT COUNT(*) FROM model_routes WHERE model_id = 'anthropic/claude-3.5-haiku' AND cache_write_price = 1100000")" 2
req PUT /admin/models/anthropic/claude-3.5-haiku "$AK_ADMIN" '{"cache_write_price":"-1"}'
expect_err "a negative cache_write_price" 400 invalid_price
req POST /admin/models "$AK_ADMIN" '{"id":"t/cw","provider_id":"openai","upstream_model":"cw","input_price":"2.00","output_price":"4.00","cache_write_price":"2.50"}'
check "POST /admin/models with cache_write_price -> 201" json_is '.pricing.input_cache_write == "0.0000025"'
req POST /admin/providers "$AK_ADMIN" '{"id":"ant2","kind":"anthropic","base_url":"https://api.anthropic.com/v1","name":"A2"}'
check "POST /admin/providers kind anthropic -> 201" status_is 201
req POST /admin/providers "$AK_ADMIN" '{"id":"gem2","kind":"gemini","base_url":"https://generativelanguage.googleapis.com/v1beta","name":"G2"}'
check "POST /admin/providers kind gemini -> 201" status_is 201
req POST /admin/providers "$AK_ADMIN" '{"id":"bad","kind":"bogus","base_url":"https://x.example/v1","name":"B"}'
check "an unknown kind -> 400 naming anthropic and gemini" sh -c \
	"[ $code = 400 ] && jq -e '.error.message | test(\"anthropic\") and test(\"gemini\")' '$T/body' >/dev/null"

check "user A's ledger balances" ledger_check "$A_ID"
finish
