#!/usr/bin/env bash
# t_estimate.sh: a request that reached the provider but got no usage back is charged an
# estimate close to what it really used, never the hold by mistake nor the whole answer's
# JSON: the prompt counted with the model's own tokenizer ([billing] tokenizer_dir,
# o200k_base for gpt-4o), the completion from the text actually relayed to the client.
# The same request with the mock's usage is the reference (within 3 %); a stream cut after
# the role chunk charges the prompt only; a client that leaves mid-stream is charged what it
# was sent; a non-streamed client that leaves is recorded client_gone, not ok.
# [chat] charge_cut and charge_client_gone are "estimate" here (the policy is theirs).
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
TOKDIR=${TOLLGATE_TOKENIZER_DIR:-$TOLLGATE_BUILDDIR/tokenizers}
[ -f "$TOKDIR/o200k_base.tiktoken" ] && [ -f "$TOKDIR/cl100k_base.tiktoken" ] ||
	skip "no BPE ranks in $TOKDIR (make tokenizers)"
make_tmp
chat_stack estimate server.workers=1 server.threads=4 chat.charge_cut=estimate \
	chat.charge_client_gone=estimate chat.drain_timeout=0 "billing.tokenizer_dir=$TOKDIR"
# A mock whose keys script its answers (a gateway forwards no X-Mock header, and [mock:] blocks
# would be prompt text): one provider per script, each serving model test/NAME as gpt-4o
# (counted with o200k_base), $1 in and $2 out per million tokens.
SCRIPTS="ref=words=2 nousage=words=2,no_usage text=no_usage cut=reset_at=0
	gone=words=200,pace=100,no_usage gonens=words=2,latency=2500"
args=() i=0
for s in $SCRIPTS; do
	i=$((i + 1))
	args+=(-x "sk-mock-${s%%=*}-000$i=${s#*=}")
done
start_bg mockx "$MOCK_BIN" -p 0 -k sk-mock-unused-9999 "${args[@]}"
wait_for "the scripted mock prints its port" 10 mock_has_port mockx || bail "mockx starts"
i=0
for s in $SCRIPTS; do
	i=$((i + 1))
	n=${s%%=*}
	tg_cli provider add "p$n" openai-compatible "http://127.0.0.1:$(mock_port mockx)/v1" "$n" \
		>/dev/null || bail "provider p$n"
	echo "sk-mock-$n-000$i" | tg_cli provider key-add "p$n" k >/dev/null || bail "key p$n"
	tg_cli model add "test/$n" "p$n" gpt-4o 1.00 2.00 >/dev/null || bail "model test/$n"
done
cp_admin estimate 1
AK=$ADMIN_KEY

check "the log says which encodings were loaded" log_has 'tokenizers: o200k_base, cl100k_base'

# 180 words that are 180 o200k tokens (each " word" one token).  The mock counts a message as
# 4 + its words: 6 + 184 = 190 prompt tokens; OpenAI counts 3 + role + content a message and
# 3 for the reply: 6 + 184 + 3 = 193 (within 2 %).
S="the quick brown fox jumps over the lazy dog"
TEXT="$S"
for _ in $(seq 19); do TEXT="$TEXT $S"; done
MSGS="\"messages\":[{\"role\":\"system\",\"content\":\"be terse\"},{\"role\":\"user\",\"content\":\"$TEXT\"}]"
PROMPT=190

# rec: "status basis estimated prompt completion charge" of the user's newest record
rec() {
	q "SELECT status, charge_basis, estimated, prompt_tokens, completion_tokens, charge
		FROM usage_records WHERE user_id = $UID_ ORDER BY id DESC LIMIT 1" | tr '\t' ' '
}
settled() { no_open "$UID_" && [ "$(n_usage "$UID_")" -ge 1 ]; }
# near A B PCT: |A - B| <= PCT % of B
near() { [ $((($1 - $2) * ($1 > $2 ? 1 : -1) * 100)) -le $(($3 * $2)) ]; }

# --- the reference: the provider's usage -------------------------------------------------------
new_user ref "$ONE"
chat "$UKEY" "{\"model\":\"test/ref\",\"max_tokens\":50,$MSGS}"
expect_status "reference: answered" 200
wait_for "reference: settled" 10 settled || true
REAL=$(charge_at 1000 2000 $PROMPT 2)
check "reference: measured, 190 + 2 tokens, charge $REAL ($(rec))" \
	test "$(rec)" = "ok measured 0 $PROMPT 2 $REAL"

# estimated CASE: the newest record is an estimate within 3 % of REAL; notes the figures.
estimated() {
	local st basis est pt ct chg
	read -r st basis est pt ct chg <<<"$(rec)"
	note "$1: $st $basis, prompt $pt completion $ct, charged $chg against $REAL measured"
	check "$1: estimated ($basis $est)" test "$basis $est" = "estimated 1"
	check "$1: prompt $pt within 3 % of the provider's $PROMPT" near "${pt:-0}" $PROMPT 3
	check "$1: completion $ct = the 2 tokens relayed (mock reply)" test "${ct:-0}" = 2
	check "$1: charge $chg within 3 % of $REAL" near "${chg:-0}" "$REAL" 3
	check "$1: balance down by the charge only" test "$(acct_row "$UID_")" = "$((F - chg)) 0"
	check "$1: ledger reconciles" ledger_check "$UPUB"
}

# --- a whole answer without usage --------------------------------------------------------------
new_user nousage "$ONE"
chat "$UKEY" "{\"model\":\"test/nousage\",\"max_tokens\":50,$MSGS}"
expect_status "no usage: answered" 200
check "no usage: x-tollgate-cost is what was charged" \
	test "$(usd_nano "$(hdr x-tollgate-cost)")" = "$(rec | cut -d' ' -f6)"
wait_for "no usage: settled" 10 settled || true
estimated "no usage"

new_user nousage_sse "$ONE"
chat_sse "$UKEY" "{\"model\":\"test/nousage\",\"max_tokens\":50,\"stream\":true,$MSGS}"
check "no usage, stream: 200 and [DONE]" sh -c "[ '$code' = 200 ] && tail -n 1 '$T/events' | grep -qx '\[DONE\]'"
wait_for "no usage, stream: settled" 10 settled || true
estimated "no usage, stream"

# The completion is the relayed text's tokens: "mock reply word1 ... word10" is 12 words but
# 22 o200k tokens (" word" + digits), as tiktoken counts it (tests/unit/test_tokenize.c).
new_user text "$ONE"
chat "$UKEY" "{\"model\":\"test/text\",\"max_tokens\":50,$MSGS}"
wait_for "12 words: settled" 10 settled || true
check "12 words without usage: 22 completion tokens, from the text only ($(rec))" \
	test "$(rec | cut -d' ' -f5)" = 22

# --- a stream cut after the role chunk: the prompt only ------------------------------------------
new_user cut "$ONE"
chat_sse "$UKEY" "{\"model\":\"test/cut\",\"max_tokens\":50,\"stream\":true,$MSGS}"
wait_for "cut: settled" 10 settled || true
read -r st basis est pt ct chg <<<"$(rec)"
note "cut after the role chunk: $st $basis prompt $pt completion $ct charge $chg"
check "cut: error, estimated ($st $basis)" test "$st $basis" = "error estimated"
check "cut: nothing delivered, no completion tokens ($ct)" test "${ct:-x}" = 0
check "cut: the prompt ($pt) within 3 % of $PROMPT" near "${pt:-0}" $PROMPT 3
check "cut: charge $chg is the prompt's price" test "${chg:-x}" = "$(charge_at 1000 2000 "${pt:-0}" 0)"
check "cut: ledger reconciles" ledger_check "$UPUB"

# --- the client leaves mid-stream (no drain): the prompt and what it was sent --------------------
new_user gone "$ONE"
rc=0
curl -sN -m 1.5 -o "$T/gone.sse" -H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' \
	--data-binary "{\"model\":\"test/gone\",\"max_tokens\":300,\"stream\":true,$MSGS}" \
	"$URL/v1/chat/completions" 2>/dev/null || rc=$?
check "gone: the client gave up (curl exit 28, got $rc)" test "$rc" = 28
wait_for "gone: settled" 15 settled || true
got=$(sed -n 's/^data: //p' "$T/gone.sse" | grep -v '^\[DONE\]$' |
	jq -rj '.choices[0].delta.content? // empty' | wc -w | tr -d ' ')
read -r st basis est pt ct chg <<<"$(rec)"
# m words relayed ("mock reply word1 ...") are 2m - 2 o200k tokens; the client saw some of them,
# tollgate may have relayed a few more before it found the client gone.
note "gone: the client got $got words; record $st $basis prompt $pt completion $ct charge $chg"
check "gone: client_gone, estimated ($st $basis)" test "$st $basis" = "client_gone estimated"
check "gone: completion $ct counts what was relayed (>= $((2 * got - 2)), <= $((2 * got + 10)))" \
	test "${ct:-0}" -ge $((2 * got - 2)) -a "${ct:-0}" -le $((2 * got + 10))
check "gone: charge $chg is the price of $pt + $ct" test "${chg:-x}" = "$(charge_at 1000 2000 "${pt:-0}" "${ct:-0}")"
check "gone: ledger reconciles" ledger_check "$UPUB"

# --- a non-streamed client that leaves: recorded client_gone --------------------------------------
new_user gone_ns "$ONE"
rc=0
curl -s -m 1 -o /dev/null -H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' \
	--data-binary "{\"model\":\"test/gonens\",\"max_tokens\":50,$MSGS}" \
	"$URL/v1/chat/completions" 2>/dev/null || rc=$?
check "gone, not streamed: the client gave up (curl exit 28, got $rc)" test "$rc" = 28
wait_for "gone, not streamed: settled" 15 settled || true
check "gone, not streamed: client_gone, measured: the provider's usage ($(rec))" \
	test "$(rec)" = "client_gone measured 0 $PROMPT 2 $REAL"
check "gone, not streamed: ledger reconciles" ledger_check "$UPUB"

finish
