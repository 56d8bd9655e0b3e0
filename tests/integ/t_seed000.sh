#!/usr/bin/env bash
# t_seed000.sh: the clients of seed 000 (doc/migrate/000.md) against tollgate unchanged:
# POST /api/layers/chat {providerName, model_name, message} with the `user` and `api-key`
# headers answers {content, usage{inputTokens, outputTokens, totalTokens}} and is metered
# exactly like the same chat on /v1/chat/completions; providerName picks the deployment of a
# model with two; a `user` header naming someone else is 401; /api/keys/generate|list|delete
# (delete by the key's value, only the caller's own); /api/usage/check answers priceToPay from
# the bill service, to the nano-USD. Every bad input: 4xx in the OpenAI shape, nothing changes.
#
# Catalogue (lib/chat.sh): test/cheap ($1 in / $2 out per million) on provider "mock"; here
# also on "mock-anthropic" (the mock's Anthropic wire) at the same prices.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack seed000
export LC_ALL=C

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY
tg_cli model add test/cheap mock-anthropic mock-claude 1.00 2.00 0.50 8192 >/dev/null ||
	bail "a second deployment of test/cheap"

user a 5.00
AK=$U_KEY A_ID=$U_ID A_USER=a_$CP_U A_EMAIL=$REG_EMAIL
A_UID=$(uid_of "$A_ID")
user b 1.00
BK=$U_KEY

# layers CRED USER BODY: seed 000's chat call (USER empty: no user header).
layers() {
	local -a h=(-H "api-key: $1" -H 'Content-Type: application/json')
	[ -z "$2" ] || h+=(-H "user: $2")
	http POST "$URL/api/layers/chat" "${h[@]}" --data-binary "$3"
}
# seed GET|POST|DELETE PATH CRED USER [BODY]: a seed 000 key or usage call.
seed() {
	local -a h=(-H "api-key: $3" -H "user: $4")
	[ $# -lt 5 ] || h+=(-H 'Content-Type: application/json' --data-binary "$5")
	http "$1" "$URL$2" "${h[@]}"
}
# state: what a refused call must not change (balance, usage records, holds, upstream calls).
state() { echo "$(acct_row "$A_UID") $(n_usage "$A_UID") $(open_holds "$A_UID") $(mock_n)"; }

# --- the chat, metered like /v1/chat/completions ------------------------------------------
chat "$AK" '{"model":"test/cheap","provider":{"only":["mock"]},"messages":[{"role":"user","content":"hello there"}]}'
check "the same chat on /v1/chat/completions -> 200" status_is 200
c_v1=$(nano "$(hdr x-tollgate-cost)")
pt_v1=$(jv .usage.prompt_tokens) ct_v1=$(jv .usage.completion_tokens)
read_balance "$AK"
b0=$BAL
n0=$(n_usage "$A_UID")
layers "$AK" "$A_USER" '{"providerName":"mock","model_name":"test/cheap","message":"hello there"}'
check "seed 000's README call -> 200" status_is 200
check "the answer is {content, usage{inputTokens, outputTokens, totalTokens}}" json_is \
	'(keys == ["content","usage"]) and (.content | startswith("mock reply")) and
	 (.usage | keys == ["inputTokens","outputTokens","totalTokens"]) and
	 .usage.totalTokens == .usage.inputTokens + .usage.outputTokens'
check "its tokens are those of /v1 ($pt_v1 + $ct_v1)" json_is \
	".usage.inputTokens == $pt_v1 and .usage.outputTokens == $ct_v1"
check "it costs what /v1 cost ($c_v1 nano)" eq "$(nano "$(hdr x-tollgate-cost)")" "$c_v1"
check "by the provider asked for (mock)" eq "$(hdr x-tollgate-provider)" mock
read_balance "$AK"
check "the balance moved by that cost" eq $((b0 - BAL)) "$c_v1"
check "its usage record: endpoint chat, test/cheap, the charge" eq \
	"$(q "SELECT CONCAT(endpoint, ' ', model_id, ' ', charge) FROM usage_records WHERE user_id = $A_UID ORDER BY id DESC LIMIT 1")" \
	"chat test/cheap $c_v1"
check "usage records: $((n0 + 1))" eq "$(n_usage "$A_UID")" $((n0 + 1))
check "no hold left open" no_open "$A_UID"

layers "$AK" "$A_USER" '{"providerName":"mock-anthropic","model_name":"test/cheap","message":"hello there"}'
check "providerName mock-anthropic -> 200 by that provider" sh -c \
	"[ $code = 200 ] && [ '$(hdr x-tollgate-provider)' = mock-anthropic ]"
mock_requests >/dev/null
check "it went upstream over the Anthropic wire" jq_file "$T/mockreq.json" '.[-1].path == "/v1/messages"'
layers "$AK" "$A_EMAIL" '{"model_name":"test/cheap","message":"hi"}'
check "the user header may be the email; providerName may be left out -> 200" status_is 200
layers "$AK" "" '{"model_name":"test/cheap","message":"hi"}'
check "no user header -> 200 (the key says who)" status_is 200
layers "$AK" "$A_USER" '{"model_name":"gpt-4o-mini","message":"hi","providerName":"mock"}'
expect_err "a model the provider does not serve" 400 no_deployment

# --- refusals change nothing --------------------------------------------------------------
s0=$(state)
layers "$AK" "b_$CP_U" '{"providerName":"mock","model_name":"test/cheap","message":"hi"}'
expect_err "a user header naming another user" 401 user_mismatch
layers "$AK" "nobody" '{"providerName":"mock","model_name":"test/cheap","message":"hi"}'
expect_err "a user header naming no user" 401 user_mismatch
layers "$AK" "$A_USER" '{"providerName":"No Such!","model_name":"test/cheap","message":"hi"}'
expect_err "an unknown providerName" 400 unknown_provider
layers "$AK" "$A_USER" '{"providerName":"nosuchprovider","model_name":"test/cheap","message":"hi"}'
check "a providerName no deployment has -> 400" is_err_any 400 no_deployment unknown_provider
layers "$AK" "$A_USER" '{"providerName":"mock","message":"hi"}'
expect_err "no model_name" 400 missing_field
layers "$AK" "$A_USER" '{"providerName":"mock","model_name":"test/cheap"}'
expect_err "no message" 400 missing_field
layers "$AK" "$A_USER" '{"providerName":"mock","model_name":"test/cheap","message":7}'
expect_err "a message that is no string" 400 invalid_type
layers "$AK" "$A_USER" '{"providerName":"mock","model_name":"test/cheap","message":"hi","x":1}'
expect_err "an unknown member" 400 unknown_field
layers "$AK" "$A_USER" '{"model_name":"no/such-model","message":"hi"}'
expect_err "an unknown model" 404 model_not_found
layers "gw_live_notakey" "$A_USER" '{"model_name":"test/cheap","message":"hi"}'
expect_err "a bad api-key" 401 invalid_api_key
check "none of them changed balance, records, holds or reached the mock" eq "$(state)" "$s0"

# --- keys: generate, list, delete by value ------------------------------------------------
seed POST /api/keys/generate "$AK" "$A_USER" '{"name":"seed-key"}'
check "POST /api/keys/generate -> 201 with the new key" sh -c \
	"[ $code = 201 ] && jq -e '.api_key | startswith(\"gw_live_\")' '$T/body' >/dev/null"
K2=$(jv .api_key)
seed POST /api/keys/generate "$AK" "$A_USER"
check "POST /api/keys/generate without a body -> 201" status_is 201
K3=$(jv .api_key)
seed GET /api/keys/list "$AK" "$A_USER"
check "GET /api/keys/list -> 3 keys, seed-key among them, none in clear" sh -c \
	"[ $code = 200 ] && jq -e '(.data | length) == 3 and ([.data[].name] | index(\"seed-key\") != null)' '$T/body' >/dev/null &&
	 ! grep -q '$K2' '$T/body'"
layers "$K2" "$A_USER" '{"model_name":"test/cheap","message":"hi"}'
check "the generated key chats -> 200" status_is 200
seed DELETE /api/keys/delete "$AK" "b_$CP_U" "{\"key\":\"$K3\"}"
expect_err "delete with another user's name" 401 user_mismatch
seed DELETE /api/keys/delete "$AK" "$A_USER" "{\"key\":\"$BK\"}"
expect_err "delete another user's key by its value" 404 not_found
http GET "$URL/user/balance" -H "Authorization: Bearer $BK"
check "that key still works" status_is 200
seed DELETE /api/keys/delete "$AK" "$A_USER" '{"key":"gw_live_garbage"}'
expect_err "delete a value that is no key" 404 not_found
seed DELETE /api/keys/delete "$AK" "$A_USER" '{}'
expect_err "delete without key" 400 missing_field
seed DELETE /api/keys/delete "$AK" "$A_USER" "{\"key\":\"$K3\"}"
check "DELETE /api/keys/delete {key} -> 200" status_is 200
check "the audit log has its key.revoke" test \
	"$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'key.revoke'")" -ge 1
layers "$K3" "$A_USER" '{"model_name":"test/cheap","message":"hi"}'
expect_err "the deleted key no longer works" 401 invalid_api_key
seed DELETE /api/keys/delete "$AK" "$A_USER" "{\"key\":\"$K3\"}"
expect_err "deleting it twice" 404 not_found
seed GET /api/keys/list "$AK" "$A_USER"
check "the list has 2 keys left" json_is '(.data | length) == 2'

# --- usage/check: the bill, exact ---------------------------------------------------------
# usd_num X: a JSON number's text (maybe 3.78e-05) in nano-USD.
usd_num() { usd_nano "$(LC_ALL=C printf '%.9f' "$1")"; }
seed GET /api/usage/check "$AK" "$A_USER"
check "GET /api/usage/check -> 200 priceToPay" json_is \
	"(.priceToPay | keys == [\"base_price\",\"commission_5_percent\",\"final_price\",\"total_input_tokens\",\"total_output_tokens\",\"total_tokens\",\"username\"]) and .priceToPay.username == \"$A_USER\""
cp "$T/body" "$T/check.json"
row=$(q "SELECT SUM(prompt_tokens), SUM(completion_tokens), SUM(base_cost), SUM(commission), SUM(charge)
	FROM usage_records WHERE user_id = $A_UID")
read -r rin rout rbase rcomm rcost <<<"$row"
note "usage records: in $rin out $rout base $rbase commission $rcomm cost $rcost"
check "tokens are the records' ($rin + $rout)" jq_file "$T/check.json" \
	".priceToPay.total_input_tokens == $rin and .priceToPay.total_output_tokens == $rout and .priceToPay.total_tokens == $((rin + rout))"
check "base_price is the records' base ($rbase nano)" eq "$(usd_num "$(jq -r .priceToPay.base_price "$T/check.json")")" "$rbase"
check "commission_5_percent is the records' commission ($rcomm nano)" \
	eq "$(usd_num "$(jq -r .priceToPay.commission_5_percent "$T/check.json")")" "$rcomm"
check "final_price is what the balance lost ($rcost nano)" \
	eq "$(usd_num "$(jq -r .priceToPay.final_price "$T/check.json")")" "$rcost"
read_balance "$AK"
check "... which is 5 USD less the balance" eq $((5000000000 - BAL)) "$rcost"
check "the money members are JSON numbers, as seed 000 sends them" jq_file "$T/check.json" \
	'[.priceToPay.base_price, .priceToPay.commission_5_percent, .priceToPay.final_price] | all(type == "number")'
http GET "$URL/api/usage/check" -H "api-key: $BK" -H "user: b_$CP_U"
check "a user without usage: zeros" json_is \
	'.priceToPay.total_tokens == 0 and .priceToPay.final_price == 0'
http GET "$URL/api/usage/check" -H "api-key: $BK" -H "user: $A_USER"
expect_err "usage/check naming another user" 401 user_mismatch
http GET "$URL/api/usage/check" -H "user: $A_USER"
expect_err "usage/check with the user header alone" 401 missing_api_key

# --- tollgate model import FILE.csv: seed 000's pricing table --------------------------------
printf 'provider,model,price_per_token\nmock,csv-model,0.000003\ngemini,gemini-9-test,1e-07\n' >"$T/good.csv"
printf 'provider,model,price_per_token\nmock,csv-bad-1,0.000001\nmock,csv-bad-2,-1\nnosuch,csv-bad-3,0.1\n' >"$T/bad.csv"
printf 'vendor,name,cost\nmock,x,1\n' >"$T/nohdr.csv"
m0=$(q "SELECT COUNT(*) FROM models")
tg_cli model import "$T/bad.csv" >"$T/imp.out" 2>&1 && irc=0 || irc=$?
check "a CSV with a negative price and an unknown provider -> exit 1 naming both lines" sh -c \
	"[ $irc = 1 ] && grep -q 'line 3' '$T/imp.out' && grep -q 'line 4' '$T/imp.out'"
tg_cli model import "$T/nohdr.csv" >"$T/imp.out" 2>&1 && irc=0 || irc=$?
check "a CSV without the columns -> exit 1" eq "$irc" 1
check "neither added a model (not even the good row)" eq "$(q "SELECT COUNT(*) FROM models")" "$m0"
tg_cli model import "$T/good.csv" >"$T/imp.out" 2>&1 && irc=0 || irc=$?
check "the good CSV -> exit 0, 2 models added" sh -c "[ $irc = 0 ] && grep -q '^2 models added' '$T/imp.out'"
check "gemini -> google/gemini-9-test on provider google at \$0.10/M in and out" eq \
	"$(q "SELECT CONCAT(provider_id, ' ', upstream_model, ' ', input_price, ' ', output_price) FROM model_routes WHERE model_id = 'google/gemini-9-test'")" \
	"google gemini-9-test 100000 100000"
read_balance "$AK"
b0=$BAL
layers "$AK" "$A_USER" '{"providerName":"mock","model_name":"mock/csv-model","message":"hello there"}'
check "chat with the CSV's model -> 200" status_is 200
pt=$(jv .usage.inputTokens) ct=$(jv .usage.outputTokens)
want=$(charge_at 3000 3000 "$pt" "$ct")
check "charged at the CSV's \$0.000003 a token ($pt + $ct: $want nano)" eq "$(nano "$(hdr x-tollgate-cost)")" "$want"
read_balance "$AK"
check "the balance moved by it" eq $((b0 - BAL)) "$want"

check "user A's ledger balances" ledger_check "$A_ID"
finish
