#!/usr/bin/env bash
# t_settle_endings.sh: how a request that reached the provider is charged when it ends without
# a normal answer (doc/api-data-plane.md "How a charge is computed"): the client leaves
# mid-stream and tollgate drains the upstream to its usage (measured); a stream cut without
# usage is charged by [chat] charge_cut (default: the hold); [chat] max_stream_seconds ends a
# stream with an error event (charged by charge_cut); an upstream timeout after the request
# was sent is not failed over to the next deployment unless [chat] retry_after_timeout = on,
# and is charged by charge_timeout (default: the hold).  Every record says charge_basis.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
cp_scratch_db endings
# mock: the main provider, whose key sk-mock-slowslow1 always waits 7 s before its headers;
# mock2: the second deployment of test/to.
SLOW=sk-mock-slowslow1
start_bg mock "$MOCK_BIN" -p 0 -k "$MOCK_KEY" -x "$SLOW=latency=7000" -l "$T/mock.jsonl"
start_bg mock2 "$MOCK_BIN" -p 0 -k sk-mock-backup02 -l "$T/mock2.jsonl"
has_ports() { mock_has_port mock && mock_has_port mock2; }
wait_for "the mocks print their ports" 10 has_ports || bail "mocks start"
MOCK_PORT=$(mock_port mock) MOCK2_PORT=$(mock_port mock2)
MOCK_URL=http://127.0.0.1:$MOCK_PORT/v1
chat_catalog
tg_cli provider add slow openai-compatible "$MOCK_URL" "Slow" >/dev/null || bail "provider slow"
echo "$SLOW" | tg_cli provider key-add slow k >/dev/null || bail "key slow"
tg_cli provider add backup openai-compatible "http://127.0.0.1:$MOCK2_PORT/v1" "Backup" >/dev/null ||
	bail "provider backup"
echo sk-mock-backup02 | tg_cli provider key-add backup k >/dev/null || bail "key backup"
# The cheaper deployment (slow) is tried first.
tg_cli model add test/to slow m-slow 1.00 2.00 >/dev/null &&
	tg_cli model add test/to backup m-backup 3.00 4.00 >/dev/null || bail "model test/to"
# keepalive 1 s: a client that left while the provider waits is noticed by a comment.
CFG=("db.name=$SCRATCH" server.workers=1 server.threads=4 chat.first_byte_timeout=5
	chat.max_stream_seconds=6 chat.keepalive=1)
stack_up "${CFG[@]}"
cp_admin endings 1
AK=$ADMIN_KEY

settled() { no_open "$UID_" && [ "$(n_usage "$UID_")" -ge 1 ]; }
# rec: "status charge_basis estimated prompt completion charge" of the user's newest record
rec() {
	q "SELECT status, charge_basis, estimated, prompt_tokens, completion_tokens, charge
		FROM usage_records WHERE user_id = $UID_ ORDER BY id DESC LIMIT 1" | tr '\t' ' '
}
last_hold() { q "SELECT amount FROM holds WHERE account_id = $UID_ ORDER BY created_at DESC LIMIT 1"; }

# --- the client leaves; the upstream's usage arrives later: measured -------------------------
new_user gone "$ONE"
# 25 words at one per 100 ms (2.5 s, under the 6 s cap); the client leaves after 1 s.  prompt: 4 + 4 words.
BODY='{"model":"test/cheap","stream":true,"messages":[{"role":"user","content":"tell me a story [mock:words=25,pace=100]"}]}'
rc=0
curl -sN -m 1 -o "$T/gone.sse" -H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' \
	--data-binary "$BODY" "$URL/v1/chat/completions" 2>/dev/null || rc=$?
check "gone: the client gave up after 1 s (curl exit 28, got $rc)" test "$rc" = 28
wait_for "gone: settled" 15 settled || true
C=$(charge_at 1000 2000 8 25)
check "gone: client_gone, measured from the upstream's usage: 8 + 25 tokens, charge $C ($(rec))" \
	test "$(rec)" = "client_gone measured 0 8 25 $C"
check "gone: balance down by exactly the charge" test "$(acct_row "$UID_")" = "$((F - C)) 0"
check "gone: ledger reconciles" ledger_check "$UPUB"

# --- the client leaves while the provider waits, then the provider fails: nothing billed ----
new_user gonefail "$ONE"
BODY='{"model":"test/cheap","stream":true,"messages":[{"role":"user","content":"hi [mock:latency=4000,status=500]"}]}'
curl -sN -m 1 -o /dev/null -H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' \
	--data-binary "$BODY" "$URL/v1/chat/completions" 2>/dev/null || true
wait_for "gonefail: settled" 15 settled || true
check "gonefail: client_gone, the provider's 500 billed nothing: charge 0 ($(rec))" \
	sh -c "[ \"\$(echo '$(rec)' | cut -d' ' -f1,2,6)\" = 'client_gone measured 0' ]"
check "gonefail: balance untouched" test "$(acct_row "$UID_")" = "$F 0"

# --- a stream cut without usage: the hold ----------------------------------------------------
new_user cut "$ONE"
BODY='{"model":"test/cheap","max_tokens":50,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi [mock:words=10,reset_at=3]"}]}'
chat_sse "$UKEY" "$BODY"
check "cut: 200, an error event then [DONE]" sh -c "[ '$code' = 200 ] && tail -n 1 '$T/events' | grep -qx '\[DONE\]' && tail -n 2 '$T/events' | head -n 1 | jq -e .error >/dev/null"
wait_for "cut: settled" 15 settled || true
H=$(last_hold)
check "cut: error, charged the hold $H by charge_cut ($(rec))" \
	sh -c "[ \"\$(echo '$(rec)' | cut -d' ' -f1-3,6)\" = 'error hold 0 $H' ]"
check "cut: balance down by exactly the hold" test "$(acct_row "$UID_")" = "$((F - H)) 0"
check "cut: ledger reconciles" ledger_check "$UPUB"

# --- max_stream_seconds (6 s): a 15 s stream is ended ---------------------------------------
new_user cap "$ONE"
BODY='{"model":"test/cheap","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"hi [mock:words=150,pace=100]"}]}'
t0=$(now_ms)
chat_sse "$UKEY" "$BODY"
t=$(($(now_ms) - t0))
check "cap: the stream ended after $t ms (6000 <= t < 11000; the full stream is 15000)" \
	test "$t" -ge 6000 -a "$t" -lt 11000
check "cap: an error event saying why, then [DONE]" sh -c "tail -n 1 '$T/events' | grep -qx '\[DONE\]' && tail -n 2 '$T/events' | head -n 1 | jq -e '.error.message | test(\"max_stream_seconds\")' >/dev/null"
wait_for "cap: settled" 15 settled || true
H=$(last_hold)
check "cap: error, charged the hold $H ($(rec))" \
	sh -c "[ \"\$(echo '$(rec)' | cut -d' ' -f1-3,6)\" = 'error hold 0 $H' ]"
check "cap: ledger reconciles" ledger_check "$UPUB"

# --- an upstream timeout after the request was sent is not failed over ----------------------
new_user to "$ONE"
BODY='{"model":"test/to","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}'
req POST /v1/chat/completions "$UKEY" "$BODY"
expect_err "timeout: the first deployment timed out after the request went out: 504" 504 upstream_timeout
check "timeout: the slow deployment got the request" test "$(n_mock mock)" -ge 1
check "timeout: the second deployment got no request ($(n_mock mock2))" test "$(n_mock mock2)" = 0
wait_for "timeout: settled" 15 settled || true
H=$(last_hold)
check "timeout: charged the hold $H by charge_timeout ($(rec))" \
	sh -c "[ \"\$(echo '$(rec)' | cut -d' ' -f1-3,6)\" = 'error hold 0 $H' ]"
check "timeout: ledger reconciles" ledger_check "$UPUB"

cp_restart "${CFG[@]}" chat.retry_after_timeout=on
new_user retry "$ONE"
req POST /v1/chat/completions "$UKEY" "$BODY"
expect_status "retry_after_timeout on: the second deployment answers" 200
check "retry: served by backup" test "$(hdr x-tollgate-provider)" = backup
check "retry: the second deployment got the request ($(n_mock mock2))" test "$(n_mock mock2)" = 1
wait_for "retry: settled" 15 settled || true
C=$(charge_at 3000 4000 5 12)
check "retry: measured at the backup's prices: 5 + 12 tokens, $C ($(rec))" \
	test "$(rec)" = "ok measured 0 5 12 $C"

finish
