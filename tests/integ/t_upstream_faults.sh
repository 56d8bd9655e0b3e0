#!/usr/bin/env bash
# t_upstream_faults.sh: what the client is told matches what it is charged when the provider
# fails. A kept-alive connection that dies under a request is never resent silently (the
# record counts every request the provider saw); when every deployment fails the client hears
# the most telling failure (the provider's 429 with its Retry-After, not "no key" from a
# deployment tried after it); the provider's 429 is told apart from the client's own limit;
# resets, 5xx, 429, cut streams and corrupt JSON each leave the books exact, failures at 0.
# One worker with one slot, so consecutive requests share the slot's kept-alive connection.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
chat_backend faults
# test/cheap has a second, dearer deployment whose provider has no key at all: tried after
# the mock's, it fails with "no provider key" whatever the mock said.
tg_cli provider add nokeys openai-compatible "$MOCK_URL" "Provider without keys" >/dev/null ||
	bail "provider nokeys"
tg_cli model add test/cheap nokeys mock-cheap-2 5.00 6.00 >/dev/null || bail "model test/cheap on nokeys"
stack_up "db.name=$SCRATCH" server.workers=1 server.threads=1 upstream.failures_to_open=3 \
	upstream.open_seconds=20
cp_admin faults 1
AK=$ADMIN_KEY
new_user ufault 1000000000
F0=$F

# last_rec: the newest usage record of the user: attempts charge status http_status.
last_rec() {
	q "SELECT attempts, charge, status, http_status FROM usage_records WHERE user_id = $UID_
		ORDER BY id DESC LIMIT 1" | tr '\t' ' '
}
# spent: nano-USD the user has paid so far (funding less balance); sum_charge: the records' sum.
spent() { read_balance "$UKEY" && minus "$F0" "$BAL"; }
sum_charge() { q "SELECT COALESCE(SUM(charge), 0) FROM usage_records WHERE user_id = $UID_"; }
# books DESC: the ledger reconciles, nothing is held, and the user paid exactly the records.
books() {
	check "$1: the ledger reconciles, no hold open" ledger_check "$UPUB"
	check "$1: paid $(spent) = the records' charges $(sum_charge)" eq "$(spent)" "$(sum_charge)"
}
# warm: one plain chat, so the slot holds a kept-alive connection to the mock (and a success
# keeps the key's circuit closed between the faults below).
warm() {
	chat "$UKEY" "{\"model\":\"test/dear\",$MSGS}"
	[ "$code" = 200 ] || not_ok "warm-up chat ($code: $(head -c 200 "$T/body"))"
}
body() { echo "{\"model\":\"$1\",$(msgs "hello there [mock:$2]")}"; }

# --- a kept-alive connection dies after the request went out: counted, never silent --------
for mode in plain stream; do
	warm
	mock_clear
	s0=$(spent)
	if [ $mode = stream ]; then
		chat_sse "$UKEY" "{\"model\":\"test/dear\",\"stream\":true,$(msgs 'hello there [mock:reset_reused]')}"
		check "$mode: reused connection dropped: the stream still ends with [DONE]" \
			sh -c '[ "$1" = 200 ] && [ "$(tail -n 1 "$2")" = "[DONE]" ]' _ "$code" "$T/events"
	else
		chat "$UKEY" "$(body test/dear reset_reused)"
		expect_status "$mode: reused connection dropped: the answer still comes" 200
	fi
	n=$(mock_requests)
	check "$mode: the mock saw the dropped request and one answered ($n)" \
		jq -e 'length == 2 and .[0].status == 0 and .[1].status == 200' "$T/mockreq.json"
	rec=$(last_rec)
	check "$mode: the record counts every request the provider saw (attempts $rec; mock $n)" \
		eq "${rec%% *}" "$n"
	check "$mode: charged once, what the record says" eq "$(minus "$(spent)" "$s0")" "$(echo "$rec" | cut -d' ' -f2)"
	books "$mode reset_reused"
done
check "the resend is logged" grep -q 'kept-alive connection that closed before any answer' \
	"$T/log/tollgate.log"

# --- every deployment fails: the most telling failure is what the client hears ------------
warm
mock_clear
chat "$UKEY" "$(body test/cheap status=429,retry_after=4)"
# The key's rest began before this answer came: it is over by this second + 1 + 4.
rest_end=$(($(date +%s) + 5))
check "429 then a deployment without keys -> 429 upstream_rate_limited (not 503)" \
	is_err 429 upstream_rate_limited
check "  with the provider's Retry-After: 4 (got '$(hdr retry-after)')" test "$(hdr retry-after)" = 4
check "  the error type is rate_limit_error" json_is '.error.type == "rate_limit_error"'
# The key rests for Retry-After; a request meanwhile is refused by the pool, not by the
# client's own limit: upstream_rate_limited too, with when to come back.
chat "$UKEY" "$(body test/dear words=2)"
check "while the provider's key rests: 429 upstream_rate_limited, not rate_limit_exceeded" \
	is_err 429 upstream_rate_limited
check "  with a Retry-After of 1..5 s (got '$(hdr retry-after)')" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" -le 5 ]' _ "$(hdr retry-after)"
check "  the 429 record: error, charge 0" \
	test "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND http_status = 429 AND charge = 0")" = 2
books "429 with Retry-After and the resting key"
# Until the rest is over, not a fixed 4 s after the checks above (they took a part of it).
rest_over() { [ "$(date +%s)" -ge "$rest_end" ]; }
wait_for "the key's rest to end" 15 rest_over || true
warm
chat "$UKEY" "$(body test/cheap status=429_quota)"
check "a spent provider quota -> 429 upstream_quota_exceeded" is_err 429 upstream_quota_exceeded
books "quota 429"
sleep 1.5 # the key's back-off after a 429 without Retry-After
warm
chat "$UKEY" "$(body test/cheap status=500)"
check "500 then a deployment without keys -> 502 upstream_error (not 503)" is_err 502 upstream_error
books "500"

# --- single faults: each failure costs 0, the books stay exact -----------------------------
# fault DESC DIRECTIVES STATUS CODE: a non-streamed chat on test/dear that fails.
fault() {
	local n rec
	warm
	mock_clear
	s0=$(spent)
	chat "$UKEY" "$(body test/dear "$2")"
	check "$1 -> $3 $4" is_err "$3" "$4"
	check "  answered in JSON" content_type_json
	n=$(mock_requests)
	rec=$(last_rec)
	check "  the record counts every request the provider saw (attempts ${rec%% *}, mock $n)" \
		eq "${rec%% *}" "$n"
	check "  costs 0 (paid $(minus "$(spent)" "$s0"))" eq "$(minus "$(spent)" "$s0")" 0
	books "$1"
}
fault "a reset before any answer" reset 502 upstream_error
fault "a 502 from the provider" status=502 502 upstream_error
fault "a 503 HTML page" status=503 502 upstream_error
fault "a 429 with Retry-After" status=429,retry_after=1 429 upstream_rate_limited
sleep 1.5
fault "corrupt JSON (cut short)" corrupt=1 502 upstream_error
fault "corrupt JSON (a 0xff byte)" corrupt=2 502 upstream_error
# A stream cut after some text: charged by [chat] charge_cut, and told so in the record.
warm
s0=$(spent)
chat_sse "$UKEY" "{\"model\":\"test/dear\",\"stream\":true,$(msgs 'hello there [mock:reset_at=3]')}"
check "cut stream: an error event, then [DONE]" \
	sh -c '[ "$(tail -n 1 "$1")" = "[DONE]" ] && grep -q "\"error\"" "$1"' _ "$T/events"
rec=$(last_rec)
check "cut stream: paid what the record charges ($rec)" \
	eq "$(minus "$(spent)" "$s0")" "$(echo "$rec" | cut -d' ' -f2)"
books "cut stream"

# --- an open circuit is told apart: 503 provider_circuit_open, with when it is tried again ---
# Last of the upstream cases: the circuit stays open for open_seconds (20, so that a slow
# machine cannot outlast it between the requests below); nothing after this calls the mock.
warm
for i in 1 2 3; do
	chat "$UKEY" "$(body test/dear status=500)"
	[ "$code" = 502 ] || not_ok "failure $i towards the circuit ($code)"
done
n0=$(n_mock)
chat "$UKEY" "$(body test/dear words=2)"
check "three failures open the circuit: 503 provider_circuit_open" is_err 503 provider_circuit_open
check "  with Retry-After until the probe, 1..21 s (got '$(hdr retry-after)')" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" -le 21 ]' _ "$(hdr retry-after)"
chat "$UKEY" "$(body test/cheap words=2)"
check "  and over a deployment without keys, the open circuit is what is told" \
	is_err 503 provider_circuit_open
check "  the provider was not called ($(($(n_mock) - n0)))" test "$(n_mock)" = "$n0"
check "  both cost 0" test "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND http_status = 503 AND charge = 0")" = 2
books "open circuit"

# --- a JSON body in another charset is refused on the data plane too ----------------------
s0=$(spent)
http POST "$URL/v1/chat/completions" -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json; charset=utf-16' --data-binary "$(body test/dear words=2)"
expect_err "chat completions with charset=utf-16" 415 unsupported_media_type
check "  nothing charged" eq "$(minus "$(spent)" "$s0")" 0
books "all"
finish
