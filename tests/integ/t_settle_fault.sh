#!/usr/bin/env bash
# t_settle_fault.sh: told = charged when the database fails at settlement (issue 15 item 1),
# without leases: the provider answers while MariaDB is dead, so the settle cannot reach it.
# The client must still get the real cost (a stream: the usage chunk's cost and [DONE]; a
# non-streamed answer: 200 with usage and cost), the settlement goes to the local journal,
# and once the database is back the journal is written out: one usage record each, the
# hold settled at tokens x price x (1 + commission), not swept at the full hold, the books
# exact. An Idempotency-Key whose answer could not be kept is not charged twice. Holds live
# 5 s and the sweeper runs every second: a hold whose settlement waits in a journal is
# never swept at its full hold, not by a worker's sweep nor by `tollgate sweep`, and the
# journal of a process killed (-9) during the outage is written out exactly once by the
# next one. With exact_journal on (what ships) a keyed answer is kept through the outage:
# its line carries it, and the key replays once the database is back.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat privdb

test_begin --mock curl jq nginx mariadb
privdb_up
chat_stack sfault server.workers=1 server.threads=4 chat.default_max_tokens=64 \
	chat.hold_ttl=5 chat.sweep_interval=1
cp_admin sfault 1
AK=$ADMIN_KEY
export LC_ALL=C

new_user alice "$ONE"
A_KEY=$UKEY A_PUB=$UPUB A_UID=$UID_

# prompt: system 4 + 2 words, user 4 + 1 word = 11 tokens at the mock
S_BODY="{\"model\":\"test/cheap\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$(msgs 'count [mock:words=20,pace=100]')}"
N_BODY="{\"model\":\"test/cheap\",$(msgs 'hello [mock:words=7,latency=2000]')}"
S_CHARGE=$(charge_cheap 11 20)
N_CHARGE=$(charge_cheap 11 7)
IDEM="sfault-$RANDOM$RANDOM"

# Both requests reserve while the database is up, then it dies before the provider answers.
curl -sSN -m 30 -o "$T/s.sse" -D "$T/s.hdr" "$URL/v1/chat/completions" \
	-H "Authorization: Bearer $A_KEY" -H 'Content-Type: application/json' \
	--data-binary "$S_BODY" 2>"$T/s.err" &
s_pid=$!
owned_pids+=($s_pid)
curl -sS -m 30 -o "$T/n.body" -D "$T/n.hdr" -w '%{http_code}' "$URL/v1/chat/completions" \
	-H "Authorization: Bearer $A_KEY" -H 'Content-Type: application/json' \
	-H "Idempotency-Key: $IDEM" --data-binary "$N_BODY" >"$T/n.code" 2>"$T/n.err" &
n_pid=$!
owned_pids+=($n_pid)
# no_open_not UID: the user's one hold is still open (not swept).
no_open_not() { [ "$(open_holds "$1")" = 1 ]; }
reserved_both() { [ "$(open_holds "$A_UID")" = 2 ]; }
wait_for "both holds reserved" 10 reserved_both || bail "the two requests did not reserve"
sleep 0.5
note "killing MariaDB mid-request"
privdb_kill
wait "$s_pid" || true
wait "$n_pid" || true

# --- what the client was told -----------------------------------------------------------
sed -n 's/^data: //p' "$T/s.sse" >"$T/s.events"
s_usage=$(grep '"usage":{' "$T/s.events" | grep -v '"usage":null' | tail -n 1)
s_cost=$(jq -r '.gateway_usage.cost // empty' <<<"$s_usage" 2>/dev/null || true)
check "stream: ends with [DONE]" sh -c "tail -n 1 '$T/s.events' | grep -qx '\[DONE\]'"
check "stream: the usage chunk says 11 + 20 tokens" \
	jq -e '.usage.prompt_tokens == 11 and .usage.completion_tokens == 20' <<<"${s_usage:-null}"
check "stream: the client is told the real cost ($s_cost = $(usd_of "$S_CHARGE"))" \
	test "$(usd_nano "${s_cost:-x}")" = "$S_CHARGE"
n_code=$(cat "$T/n.code")
check "non-stream: 200 after the provider answered ($n_code: $(head -c 200 "$T/n.body"))" \
	test "$n_code" = 200
n_cost=$(jq -r '.gateway_usage.cost // empty' "$T/n.body" 2>/dev/null || true)
check "non-stream: usage 11 + 7" \
	jq -e '.usage.prompt_tokens == 11 and .usage.completion_tokens == 7' "$T/n.body"
check "non-stream: the client is told the real cost ($n_cost = $(usd_of "$N_CHARGE"))" \
	test "$(usd_nano "${n_cost:-x}")" = "$N_CHARGE"
n_hdr_cost=$(tr -d '\r' <"$T/n.hdr" | sed -n 's/^x-tollgate-cost: //Ip')
check "non-stream: x-tollgate-cost is the real cost ($n_hdr_cost)" \
	test "$(usd_nano "${n_hdr_cost:-x}")" = "$N_CHARGE"
check "the settlements went to the journal" log_has "journal"

# --- the database comes back: the journal is written out, exactly --------------------------
privdb_start || bail "private mariadbd restarts"
recorded() { [ "$(n_usage "$A_UID")" = 2 ]; }
wait_for "the journal is written out" 30 recorded || true
check "two usage records after the write-out ($(n_usage "$A_UID"))" test "$(n_usage "$A_UID")" = 2
check "no hold left open" no_open "$A_UID"
check "nothing swept: both holds settled, not expired_settled" \
	test "$(q "SELECT COUNT(*) FROM holds WHERE account_id = $A_UID AND state = 'settled'")" = 2
check "the stream's record charges tokens x price x 1.05 ($S_CHARGE)" \
	test "$(q "SELECT charge FROM usage_records WHERE user_id = $A_UID AND stream = 1")" = "$S_CHARGE"
check "the non-stream's record charges $N_CHARGE" \
	test "$(q "SELECT charge FROM usage_records WHERE user_id = $A_UID AND stream = 0")" = "$N_CHARGE"
check "balance = funding - both charges" \
	test "$(acct_row "$A_UID")" = "$((ONE - S_CHARGE - N_CHARGE)) 0"
check "the ledger reconciles" ledger_check "$A_PUB"

# --- later: the write-out happened once, and the Idempotency-Key charges nothing more ------
sleep 1.5
check "still two records after more housekeeping ticks" test "$(n_usage "$A_UID")" = 2
n_mock_before=$(n_mock)
chat "$A_KEY" "$N_BODY" -H "Idempotency-Key: $IDEM"
check "the Idempotency-Key again: not a new charge ($code, $(head -c 160 "$T/body"))" \
	sh -c "[ '$code' = 200 ] || [ '$code' = 409 ]"
check "the Idempotency-Key again: nothing sent upstream" test "$(n_mock)" = "$n_mock_before"
check "still two records, the same balance" \
	test "$(n_usage "$A_UID") $(acct_row "$A_UID")" = "2 $((ONE - S_CHARGE - N_CHARGE)) 0"

# --- a process dies with its journal while the database is down ----------------------------
new_user bob "$ONE"
B_KEY=$UKEY B_PUB=$UPUB B_UID=$UID_
curl -sS -m 30 -o "$T/b.body" -w '%{http_code}' "$URL/v1/chat/completions" \
	-H "Authorization: Bearer $B_KEY" -H 'Content-Type: application/json' \
	--data-binary "$N_BODY" >"$T/b.code" 2>"$T/b.err" &
b_pid=$!
owned_pids+=($b_pid)
bob_reserved() { [ "$(open_holds "$B_UID")" = 1 ]; }
wait_for "bob's hold reserved" 10 bob_reserved || bail "bob's request did not reserve"
sleep 0.5
privdb_kill
wait "$b_pid" || true
b_cost=$(jq -r '.gateway_usage.cost // empty' "$T/b.body" 2>/dev/null || true)
check "bob: 200 and the real cost while the database is down ($(cat "$T/b.code"), $b_cost)" \
	test "$(cat "$T/b.code") $(usd_nano "${b_cost:-x}")" = "200 $N_CHARGE"
note "kill -9 tollgate (master and worker) with the settlement in its journal"
kill -KILL -- "-$tg_pid" 2>/dev/null || true
wait_for "tollgate dies" 10 gone "$tg_pid" || true
check "a journal file of the dead worker is left" \
	sh -c "ls '$T/run/journal/'*.j >/dev/null 2>&1"
privdb_start || bail "private mariadbd restarts"
bob_expired() {
	[ "$(q "SELECT COUNT(*) FROM holds WHERE account_id = $B_UID AND state = 'open' AND expires_at < NOW(6)")" = 1 ]
}
wait_for "bob's hold is past its 5 s" 15 bob_expired || true
check "bob's hold is past its time, still open" bob_expired
tg_cli sweep >"$T/sweep.out" 2>&1 || true
check "tollgate sweep leaves the journaled hold alone ($(cat "$T/sweep.out"))" no_open_not "$B_UID"
start_tollgate tollgate "$CONF" || bail "tollgate restarts"
bob_recorded() { [ "$(n_usage "$B_UID")" = 1 ] && no_open "$B_UID"; }
wait_for "the dead worker's journal is written out" 30 bob_recorded || true
check "bob: one usage record, the hold settled (not swept) at $N_CHARGE" \
	test "$(q "SELECT COUNT(*), MAX(u.charge), MAX(h.state) FROM usage_records u JOIN holds h ON h.id = u.hold_id WHERE u.user_id = $B_UID" | tr '\t' ' ')" = "1 $N_CHARGE settled"
check "bob: balance = funding - $N_CHARGE" test "$(acct_row "$B_UID")" = "$((ONE - N_CHARGE)) 0"
check "bob's ledger reconciles" ledger_check "$B_PUB"
sleep 1.5
check "bob: still one record (written out once)" test "$(n_usage "$B_UID")" = 1
check "alice: unchanged" test "$(n_usage "$A_UID") $(acct_row "$A_UID")" = "2 $((ONE - S_CHARGE - N_CHARGE)) 0"

# --- exact_journal on (what ships): a keyed answer is kept through the outage (issue 20) ----
# Its settle goes into the journal's line with its answer, not near the database: once the
# database is back, the record and the answer are written out together, and the key replays.
kill -TERM "$tg_pid" 2>/dev/null || true
wait_for "tollgate stops" 15 gone "$tg_pid" || bail "tollgate stops for a restart"
sed -i 's/^exact_journal = off$/exact_journal = on/' "$CONF"
check "the configuration now says exact_journal = on" grep -qx 'exact_journal = on' "$CONF"
start_tollgate tollgate "$CONF" || bail "tollgate restarts"
new_user carol "$ONE"
C_KEY=$UKEY C_PUB=$UPUB C_UID=$UID_
IDEM2="sfault-on-$RANDOM$RANDOM"
curl -sS -m 30 -o "$T/c.body" -w '%{http_code}' "$URL/v1/chat/completions" \
	-H "Authorization: Bearer $C_KEY" -H 'Content-Type: application/json' \
	-H "Idempotency-Key: $IDEM2" --data-binary "$N_BODY" >"$T/c.code" 2>"$T/c.err" &
c_pid=$!
owned_pids+=($c_pid)
carol_reserved() { [ "$(open_holds "$C_UID")" = 1 ]; }
wait_for "carol's hold reserved" 10 carol_reserved || bail "carol's request did not reserve"
sleep 0.5
privdb_kill
wait "$c_pid" || true
c_cost=$(jq -r '.gateway_usage.cost // empty' "$T/c.body" 2>/dev/null || true)
check "carol: 200 and the real cost while the database is down ($(cat "$T/c.code"), $c_cost)" \
	test "$(cat "$T/c.code") $(usd_nano "${c_cost:-x}")" = "200 $N_CHARGE"
privdb_start || bail "private mariadbd restarts"
carol_recorded() { [ "$(n_usage "$C_UID")" = 1 ] && no_open "$C_UID"; }
wait_for "carol's line written out" 30 carol_recorded || true
check "carol: one record with its answer, the hold settled at $N_CHARGE" \
	test "$(q "SELECT COUNT(*), MAX(u.charge), SUM(u.response IS NOT NULL), MAX(h.state) FROM usage_records u JOIN holds h ON h.id = u.hold_id WHERE u.user_id = $C_UID" | tr '\t' ' ')" = "1 $N_CHARGE 1 settled"
n_mock_before=$(n_mock)
chat "$C_KEY" "$N_BODY" -H "Idempotency-Key: $IDEM2"
check "carol's key again: the answer replayed ($code), the same body" \
	test "$code $(hdr x-idempotent-replay)" = "200 true" -a "$(jq -c . "$T/body")" = "$(jq -c . "$T/c.body")"
check "carol's key again: nothing sent upstream" test "$(n_mock)" = "$n_mock_before"
check "carol: balance = funding - $N_CHARGE" test "$(acct_row "$C_UID")" = "$((ONE - N_CHARGE)) 0"
check "carol's ledger reconciles" ledger_check "$C_PUB"
finish
