#!/usr/bin/env bash
# t_idem_sweep.sh: an Idempotency-Key whose worker died mid-stream (kill -9) and whose hold
# the sweeper then charged in full is not stuck at 409 idempotency_in_progress forever
# (issue 15 item 4): once swept, the key answers 409 idempotency_request_interrupted, saying
# the request was interrupted and what it was charged, the same every time; nothing is sent
# upstream again and the user is charged once (the hold).
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock curl jq nginx mariadb
chat_stack isweep server.workers=1 server.threads=2 chat.hold_ttl=5 chat.sweep_interval=1 \
	chat.default_max_tokens=64
cp_admin isweep 1
AK=$ADMIN_KEY
export LC_ALL=C

new_user alice "$ONE"
A_KEY=$UKEY A_PUB=$UPUB A_UID=$UID_
IDEM="isweep-$RANDOM$RANDOM"
BODY="{\"model\":\"test/cheap\",\"stream\":true,$(msgs 'count [mock:words=40,pace=200]')}"

curl -sSN -m 30 -o "$T/s.sse" "$URL/v1/chat/completions" -H "Authorization: Bearer $A_KEY" \
	-H 'Content-Type: application/json' -H "Idempotency-Key: $IDEM" \
	--data-binary "$BODY" 2>"$T/s.err" &
s_pid=$!
owned_pids+=($s_pid)
streaming() { grep -q '"content"' "$T/s.sse" 2>/dev/null; }
wait_for "the stream has begun" 10 streaming || bail "no stream"
victim=$(children "$tg_pid" | head -n 1)
note "kill -9 worker $victim mid-stream"
kill -KILL "$victim"
wait "$s_pid" || true

chat "$A_KEY" "$BODY" -H "Idempotency-Key: $IDEM"
check "before the sweep: 409 idempotency_in_progress ($code)" \
	sh -c "[ '$code' = 409 ] && jq -e '.error.code == \"idempotency_in_progress\"' '$T/body' >/dev/null"
swept() { [ "$(q "SELECT COUNT(*) FROM holds WHERE account_id = $A_UID AND state = 'expired_settled'")" = 1 ]; }
wait_for "the sweeper charges the dead request's hold" 30 swept || true
check "the hold was swept" swept
HOLD=$(q "SELECT charged FROM holds WHERE account_id = $A_UID")

chat "$A_KEY" "$BODY" -H "Idempotency-Key: $IDEM"
check "after the sweep: not idempotency_in_progress ($code: $(head -c 240 "$T/body"))" \
	sh -c "! jq -e '.error.code == \"idempotency_in_progress\"' '$T/body' >/dev/null"
check "after the sweep: 409 idempotency_request_interrupted, an OpenAI error" \
	sh -c "[ '$code' = 409 ] && jq -e '.error.code == \"idempotency_request_interrupted\" and .error.type == \"invalid_request_error\" and has(\"error\") and (.error | has(\"param\"))' '$T/body' >/dev/null"
check "the message says what it was charged (\$$(usd_of "$HOLD"))" \
	sh -c "jq -r .error.message '$T/body' | grep -q 'interrupted' &&
		[ \"\$(jq -r .error.message '$T/body' | grep -o '\\\$[0-9.]*' | head -n 1 | tr -d '\$')\" != '' ]"
msg_cost=$(jq -r .error.message "$T/body" | grep -o '\$[0-9.]*' | head -n 1 | tr -d '$')
check "the charge told is the hold charged ($msg_cost)" test "$(usd_nano "${msg_cost:-x}")" = "$HOLD"
cp "$T/body" "$T/first.body"
first_code=$code
chat "$A_KEY" "$BODY" -H "Idempotency-Key: $IDEM"
check "again: the same status and error" \
	sh -c "[ '$code' = '$first_code' ] && jq -e --slurpfile f '$T/first.body' '.error == \$f[0].error' '$T/body' >/dev/null"
check "upstream got the request once ($(n_mock))" test "$(n_mock)" = 1
check "charged once: the hold, balance = funding - $HOLD" \
	test "$(acct_row "$A_UID")" = "$((ONE - HOLD)) 0"
check "one hold, no open one" test "$(q "SELECT COUNT(*) FROM holds WHERE account_id = $A_UID")" = 1
check "the ledger reconciles" ledger_check "$A_PUB"
# another key still works
chat "$A_KEY" "{\"model\":\"test/cheap\",$(msgs 'hi [mock:words=3]')}" -H "Idempotency-Key: $IDEM-2"
expect_status "a new key" 200
finish
