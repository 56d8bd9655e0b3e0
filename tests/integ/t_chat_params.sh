#!/usr/bin/env bash
# t_chat_params.sh: what is forwarded, priced and refused (doc/api-data-plane.md, "What is
# forwarded, priced and refused"):
#   1  one output cap: the hold and the quote use the largest of max_tokens,
#      max_completion_tokens and max_output_tokens; the provider gets exactly one cap, under
#      the name its kind reads, with the value held.
#
# Upstream is the mock provider, whose request log shows every top-level member it received.
# Catalogue: test/cheap on "mock" (openai-compatible) $1 in / $2 out per million (chat_lib.sh);
# p/oai on an openai-kind provider and p/or on an openrouter-kind one, both on the mock, at the
# same prices.  Commission 5%.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cp_lib.sh"
. "$(dirname "$0")/chat_lib.sh"

make_tmp
DEFMAX=256
chat_stack params "chat.default_max_tokens=$DEFMAX"
export LC_ALL=C # ${#body} counts bytes

eq() { [ "$1" = "$2" ]; }
nano() {
	if [[ ${1:-} =~ ^-?[0-9]+([.][0-9]+)?$ ]]; then usd_nano "$1"; else echo "?${1:-}"; fi
}
minus() {
	if [[ $1 =~ ^-?[0-9]+$ && $2 =~ ^-?[0-9]+$ ]]; then echo $(($1 - $2)); else echo "?"; fi
}
jn() { nano "$(jv "$1")"; }
# hold_of BYTES MAX_OUT [N]: the hold at $1 / $2 per million plus 5%, in nano-USD.
hold_of() {
	local base=$(($1 * 1000 + ${3:-1} * $2 * 2000))
	echo $((base + (base * 500 + 9999) / 10000))
}
acct() {
	local j
	j=$(curl -s -m 10 -H "Authorization: Bearer $1" "$URL/user/balance" || true)
	BAL=$(nano "$(jq -r .balance <<<"$j" 2>/dev/null || true)")
	RES=$(nano "$(jq -r .reserved <<<"$j" 2>/dev/null || true)")
}
fund() {
	req POST /admin/add_credits "$AK_ADMIN" "{\"user_id\":\"$1\",\"amount_usd\":\"$2\"}"
	[ "$code" = 200 ] || bail "admin add_credits $2 to $1 ($code: $(head -c 200 "$T/body"))"
}
# user TAG USD: registers and funds a user; sets U_KEY, U_ID.
user() {
	cp_register "$1" || bail "register user $1 ($code: $(head -c 200 "$T/body"))"
	U_KEY=$REG_KEY U_ID=$REG_ID
	[ "$2" = 0 ] || fund "$U_ID" "$2"
}
n_usage() {
	sql "$SCRATCH" -e "SELECT COUNT(*) FROM usage_records r JOIN users u ON u.id = r.user_id
		WHERE u.public_id = '$1'" 2>/dev/null || echo "?"
}
post() {
	http POST "$URL$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		--data-binary "$3"
}
mock_clear() { curl -s -m 5 -X DELETE "http://127.0.0.1:$MOCK_PORT/_mock/requests" >/dev/null || true; }
# mlast EXPR: EXPR holds for the mock's last logged request.
mlast() {
	mock_requests >/dev/null
	jq -e ".[-1] | $1" "$T/mockreq.json" >/dev/null 2>&1
}
# caps_sent: the output caps of the mock's last request, as "name=value ...", sorted.
caps_sent() {
	mock_requests >/dev/null
	jq -r '.[-1].body | to_entries | map(select(.key | test("^max_(tokens|completion_tokens|output_tokens)$")))
		| map("\(.key)=\(.value)") | sort | join(" ")' "$T/mockreq.json" 2>/dev/null || echo "?"
}
is_err_p() { is_err "$1" "$2" && json_is ".error.param == \"$3\""; }

MSGS='"messages":[{"role":"system","content":"be terse"},{"role":"user","content":"hello there"}]'

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY
MOCK_ROOT=${MOCK_URL%/v1}
req POST /admin/providers "$AK_ADMIN" "{\"id\":\"oai\",\"kind\":\"openai\",\"base_url\":\"$MOCK_URL\"}"
expect_status "an openai-kind provider on the mock" 201
req POST /admin/providers "$AK_ADMIN" "{\"id\":\"orx\",\"kind\":\"openrouter\",\"base_url\":\"$MOCK_ROOT/api/v1\"}"
expect_status "an openrouter-kind provider on the mock" 201
for p in oai orx; do
	printf '%s\n' "$MOCK_KEY" | tg_cli provider key-add "$p" main >/dev/null 2>&1 || bail "key-add $p"
done
req POST /admin/models "$AK_ADMIN" '{"id":"p/oai","provider_id":"oai","upstream_model":"gpt-x","input_price":"1.00","output_price":"2.00"}'
expect_status "p/oai on oai at 1.00 / 2.00" 201
req POST /admin/models "$AK_ADMIN" '{"id":"p/or","provider_id":"orx","upstream_model":"vendor/m","input_price":"1.00","output_price":"2.00"}'
expect_status "p/or on orx at 1.00 / 2.00" 201

# =========================================================================================
# 1: one output cap.
# =========================================================================================
note "=== 1: one output cap"
user one 1.00
OK1=$U_KEY
QB="{\"model\":\"test/cheap\",\"max_completion_tokens\":1,\"max_tokens\":32000,$MSGS}"
req POST /v1/quote "$OK1" "$QB"
expect_status "quote with max_completion_tokens 1 and max_tokens 32000" 200
check "  quote.max_tokens is the largest cap, 32000 (got $(jv .max_tokens))" json_is '.max_tokens == 32000'
want=$(hold_of ${#QB} 32000)
check "  hold = ${#QB} x 1000 + 32000 x 2000, + 5% = $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
QB="{\"model\":\"test/cheap\",\"max_tokens\":10,\"max_output_tokens\":5000,$MSGS}"
req POST /v1/quote "$OK1" "$QB"
want=$(hold_of ${#QB} 5000)
check "quote: max_output_tokens 5000 over max_tokens 10: hold $want nano (got $(jv .hold))" \
	eq "$(jv .max_tokens)/$(jn .hold)" "5000/$want"
for f in max_tokens max_completion_tokens max_output_tokens; do
	req POST /v1/quote "$OK1" "{\"model\":\"test/cheap\",\"$f\":0,$MSGS}"
	check "quote: $f 0 -> 400 invalid_value naming $f" is_err_p 400 invalid_value "$f"
done

# A balance that covers one token's hold but not 32000's: refused, nothing charged.
user low 0.01
LK=$U_KEY LID=$U_ID
acct "$LK"
l0=$BAL
mock_clear
post /v1/chat/completions "$LK" "{\"model\":\"test/cheap\",\"max_completion_tokens\":1,\"max_tokens\":32000,$MSGS}"
expect_err "chat with max_completion_tokens 1, max_tokens 32000 on \$0.01 (hold \$0.064)" 402 insufficient_quota
check "  nothing went upstream" eq "$(mock_requests)" 0
acct "$LK"
check "  balance unchanged, nothing reserved" eq "$BAL/$RES" "$l0/0"
check "  no usage record" eq "$(n_usage "$LID")" 0

# What the provider gets: exactly one cap, the held value, under the kind's name.
mock_clear
post /v1/chat/completions "$OK1" "{\"model\":\"p/oai\",\"max_completion_tokens\":1,\"max_tokens\":300,$MSGS}"
expect_status "openai kind: chat with max_completion_tokens 1, max_tokens 300" 200
check "  upstream got only max_completion_tokens=300 (got '$(caps_sent)')" eq "$(caps_sent)" "max_completion_tokens=300"
post /v1/chat/completions "$OK1" "{\"model\":\"p/oai\",\"max_output_tokens\":40,\"max_tokens\":20,$MSGS}"
expect_status "openai kind: chat with max_output_tokens 40, max_tokens 20" 200
check "  upstream got only max_completion_tokens=40 (got '$(caps_sent)')" eq "$(caps_sent)" "max_completion_tokens=40"
post /v1/chat/completions "$OK1" "{\"model\":\"p/oai\",$MSGS}"
check "openai kind, no cap: the default $DEFMAX as max_completion_tokens (got '$(caps_sent)')" \
	eq "$(caps_sent)" "max_completion_tokens=$DEFMAX"
post /v1/completions "$OK1" '{"model":"p/oai","prompt":"hello there","max_completion_tokens":70,"max_tokens":3}'
expect_status "openai kind: completions with max_completion_tokens 70, max_tokens 3" 200
check "  upstream got only max_tokens=70 (got '$(caps_sent)')" eq "$(caps_sent)" "max_tokens=70"
post /v1/chat/completions "$OK1" "{\"model\":\"p/or\",\"max_completion_tokens\":1,\"max_tokens\":300,$MSGS}"
expect_status "openrouter kind: chat with max_completion_tokens 1, max_tokens 300" 200
check "  upstream got only max_tokens=300 (got '$(caps_sent)')" eq "$(caps_sent)" "max_tokens=300"
post /v1/chat/completions "$OK1" "{\"model\":\"test/cheap\",\"max_completion_tokens\":9,\"max_output_tokens\":33,\"stream\":true,$MSGS}"
expect_status "compatible kind, stream: max_completion_tokens 9, max_output_tokens 33" 200
check "  upstream got only max_tokens=33 (got '$(caps_sent)')" eq "$(caps_sent)" "max_tokens=33"

finish
