#!/usr/bin/env bash
# t_settle_idem.sh: Idempotency-Key is scoped by user and key (doc/api-data-plane.md): two
# users' dashboard sessions (no API key) sending the same key each get their own answer and
# are each charged once; a stream too long to keep (over 1 MiB) is never replayed cut short:
# the later request with its key gets 409 idempotency_not_replayable.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack idem server.workers=1 server.threads=4
cp_admin idem 1
AK=$ADMIN_KEY
export LC_ALL=C

bal_of() { q "SELECT balance FROM accounts WHERE user_id = $1"; }
# session_user TAG: new_user funded with a dollar, logged in; sets TOK, UID_, UPUB
session_user() {
	new_user "$1" "$ONE"
	cp_login "$REG_EMAIL"
	[ -n "$TOKEN" ] || bail "$1: login ($code)"
	TOK=$TOKEN
}
session_user alice
A_TOK=$TOK A_UID=$UID_ A_PUB=$UPUB
session_user bob
B_TOK=$TOK B_UID=$UID_ B_PUB=$UPUB

K="idem-shared-$CP_U"
# prompt: 4 + 1 word
A_BODY='{"model":"test/cheap","messages":[{"role":"user","content":"alpha [mock:words=3]"}]}'
B_BODY='{"model":"test/cheap","messages":[{"role":"user","content":"beta [mock:words=5]"}]}'
CA=$(charge_cheap 5 3)
CB=$(charge_cheap 5 5)

chat "$A_TOK" "$A_BODY" -H "Idempotency-Key: $K"
expect_status "alice's session, key $K" 200
check "alice: her own answer (3 words)" json_is '.usage.completion_tokens == 3 and .choices[0].message.content == "mock reply word1"'
A_ID=$(jv .id)
chat "$B_TOK" "$B_BODY" -H "Idempotency-Key: $K"
expect_status "bob's session, the same key $K" 200
check "bob: not a replay of alice's answer" test "$(hdr x-idempotent-replay)" != true
check "bob: his own answer (5 words, id $(jv .id) != $A_ID)" \
	json_is ".usage.completion_tokens == 5 and .id != \"$A_ID\""
chat "$A_TOK" "$A_BODY" -H "Idempotency-Key: $K"
check "alice again: her answer replayed" sh -c "[ '$code' = 200 ] && [ '$(hdr x-idempotent-replay)' = true ] && jq -e '.id == \"$A_ID\"' '$T/body' >/dev/null"
chat "$B_TOK" "$B_BODY" -H "Idempotency-Key: $K"
check "bob again: his answer replayed, not alice's" sh -c "[ '$code' = 200 ] && [ '$(hdr x-idempotent-replay)' = true ] && jq -e '.usage.completion_tokens == 5' '$T/body' >/dev/null"
check "alice charged once ($CA): one record, balance $((ONE - CA))" \
	test "$(n_usage "$A_UID") $(bal_of "$A_UID")" = "1 $((ONE - CA))"
check "bob charged once ($CB): one record, balance $((ONE - CB))" \
	test "$(n_usage "$B_UID") $(bal_of "$B_UID")" = "1 $((ONE - CB))"
check "alice's ledger reconciles" ledger_check "$A_PUB"
check "bob's ledger reconciles" ledger_check "$B_PUB"

# --- a stream over 1 MiB is not kept for replays ---------------------------------------------
K2="idem-long-$CP_U"
LONG='{"model":"test/cheap","max_tokens":20000,"stream":true,"messages":[{"role":"user","content":"go [mock:words=12000]"}]}'
chat_sse "$A_TOK" "$LONG" -H "Idempotency-Key: $K2"
check "long stream: 200, over 1 MiB ($(wc -c <"$T/sse") bytes), ends with [DONE]" \
	sh -c "[ '$code' = 200 ] && [ \$(wc -c <'$T/sse') -gt 1048576 ] && tail -n 1 '$T/events' | grep -qx '\[DONE\]'"
n=$(n_usage "$A_UID")
chat_sse "$A_TOK" "$LONG" -H "Idempotency-Key: $K2"
check "long stream replay: 409, not a stream cut at 1 MiB ($code, $(wc -c <"$T/sse") bytes)" test "$code" = 409
check "long stream replay: code idempotency_not_replayable" jq -e '.error.code == "idempotency_not_replayable"' "$T/sse"
check "long stream replay: nothing new charged" test "$(n_usage "$A_UID")" = "$n"
finish
