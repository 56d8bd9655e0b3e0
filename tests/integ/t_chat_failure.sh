#!/usr/bin/env bash
# t_chat_failure.sh: chat billing on every failure path (doc/api-data-plane.md, DESIGN 5.2-5.4):
# (a) the client goes away mid-stream: charged the prompt plus what was delivered, record
#     client_gone, estimated; the upstream stream is abandoned;
# (b) the worker serving a stream is killed: the hold stays open until it expires, then
#     `tollgate sweep` settles it in full (expired_settled) and the ledger reconciles;
# (c) database down: 503 database_unavailable, nothing sent upstream;
# (d) upstream reset before the first byte: 502 upstream_error, nothing charged, hold released;
#     upstream error or reset after the first byte: the delivered deltas, an error event,
#     [DONE], and only what was delivered is charged.
# shellcheck disable=SC2317,SC2119 # helpers run through check/wait_for; mock_up takes no args
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb

# --- stack: the chat stack plus a second master whose database socket does not exist -------
chat_backend fail
CONF=$T/tg.conf
LOG=$T/log/tollgate.log
SOCK=$T/run/tollgate.sock
# shellcheck disable=SC2034 # used by render (nginx.conf.in)
SOCK_PREFIX=$SOCK
SOCK_NODB=$T/run/nodb.sock
# A killed worker must show as a failure, not as an nginx retry on another worker.
NEXT_UPSTREAM=off
mkdir -p "$T/run/nodb"
# hold_ttl 5 s (the minimum) and no opportunistic sweeps: (b) runs the sweeper itself.
# The estimate policies without a drain (issue 13): a client that leaves is charged what was
# delivered, a cut stream likewise; t_settle_endings.sh covers the defaults (drain, hold).
tg_conf "$CONF" "db.name=$SCRATCH" server.workers=2 server.threads=4 chat.hold_ttl=5 \
	chat.sweep_interval=0 chat.drain_timeout=0 chat.charge_client_gone=estimate \
	chat.charge_cut=estimate
tg_conf "$T/nodb.conf" "db.name=$SCRATCH" "server.listen=unix:$SOCK_NODB" \
	"server.pid_file=$T/run/nodb.pid" "server.run_dir=$T/run/nodb" "log.file=$T/log/nodb.log" \
	"server.mount_prefix=/nodb" "db.socket=$T/run/no-such-mysqld.sock" "server.workers=1"
start_tollgate nodb "$T/nodb.conf" || bail "tollgate (no DB) starts"
start_tollgate tollgate "$CONF" || bail "tollgate starts"
start_web start_nginx || bail "nginx starts"
URL=http://127.0.0.1:$PORT
wait_for "$URL/health" 15 health_ok || bail "$URL/health answers 200"

# --- helpers ------------------------------------------------------------------------------

# n_data FILE: the number of "data:" lines in a raw SSE capture.
n_data() { grep -c '^data: ' "$1" 2>/dev/null || true; }

# funded_user TAG NANO: new_user (noted t_chat_failure), and its account holds exactly NANO.
funded_user() {
	new_user "$1" "$2" t_chat_failure
	check "$1: funded with $F nano" test "$(acct_row "$UID_")" = "$F 0"
}

# usage_row UID: "status stream estimated http_status prompt completion base commission
# charge request_id" of the user's only usage record (newest when several).
usage_row() {
	q "SELECT status, stream, estimated, http_status, prompt_tokens, completion_tokens,
		base_cost, commission, charge, request_id
		FROM usage_records WHERE user_id = $1 ORDER BY id DESC LIMIT 1" | tr '\t' ' '
}

# events_of FILE: the data payloads of a raw SSE capture into FILE.events.
events_of() { sed -n 's/^data: //p' "$1" | tr -d '\r' >"$1.events"; }
# content_of EVENTS: the concatenated content deltas.
content_of() {
	grep -v '^\[DONE\]$' "$1" | jq -rj '.choices[0].delta.content? // empty' 2>/dev/null
}

cp_admin fail 1
AK=$ADMIN_KEY
ONE_USD=1000000000

# --- (a) the client goes away mid-stream --------------------------------------------------
note "=== (a) client disconnect mid-stream"
funded_user gone "$ONE_USD"
mock_clear
# 200 words at one per 100 ms: the full stream would take 20 s; the client leaves after 1 s.
# "tell me a story" is 4 words: prompt_tokens 8.
BODY='{"model":"test/cheap","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"tell me a story [mock:words=200,pace=100]"}]}'
t0=$(now_ms)
rc=0
curl -sN -m 1 -o "$T/gone.sse" -D "$T/gone.hdr" -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json' --data-binary "$BODY" "$URL/v1/chat/completions" \
	2>/dev/null || rc=$?
check "(a) curl gave up after 1 s (exit 28, got $rc)" test "$rc" = 28
check "(a) the stream had started (200 headers)" grep -q '^HTTP/[0-9.]* 200' "$T/gone.hdr"
events_of "$T/gone.sse"
got=$(content_of "$T/gone.sse.events")
delivered=$(echo "$got" | wc -w | tr -d ' ')
note "(a) the client got $delivered words before leaving: '$got'"
check "(a) some deltas reached the client before it left ($delivered)" test "$delivered" -ge 1
check "(a) ...but not the whole reply ($delivered < 200)" test "$delivered" -lt 200
check "(a) no [DONE] reached the client" sh -c "! grep -q '^\[DONE\]$' '$T/gone.sse.events'"
rec_present() { [ "$(n_usage "$UID_")" -ge 1 ] && [ "$(open_holds "$UID_")" = 0 ]; }
wait_for "(a) usage record" 25 rec_present
t_rec=$(($(now_ms) - t0))
note "(a) usage record and settled hold $t_rec ms after the request started"
check "(a) a usage record was written and the hold settled" rec_present
# Relaying on to the end would take 20 s; stopping at the next failed write takes well under 8.
check "(a) the upstream stream was abandoned: settled after $t_rec ms (< 8000; full stream 20000)" \
	test "$t_rec" -lt 8000
check "(a) exactly one usage record" test "$(n_usage "$UID_")" = 1
read -r st stream est hst pt ct base comm chg rid <<<"$(usage_row "$UID_")"
note "(a) record: status $st stream $stream estimated $est http $hst tokens $pt+$ct base $base commission $comm charge $chg"
check "(a) usage status client_gone ($st)" test "$st" = client_gone
check "(a) usage record is a stream, estimated (the upstream never sent usage)" \
	test "$stream" = 1 -a "$est" = 1
check "(a) usage record carries the request's x-request-id" \
	test "$rid" = "$(tr -d '\r' <"$T/gone.hdr" | sed -n 's/^x-request-id: *//Ip' | tail -n 1)"
full=$(charge_cheap 8 200)
check "(a) prompt counted (prompt_tokens $pt >= 1)" test "${pt:-0}" -ge 1
check "(a) delivered completion counted, roughly (1 <= $ct <= 100; client saw $delivered)" \
	test "${ct:-0}" -ge 1 -a "${ct:-0}" -le 100
check "(a) charge > 0 ($chg)" test "${chg:-0}" -gt 0
check "(a) charge < the full 200-word reply's charge ($chg < $full)" test "${chg:-0}" -lt "$full"
check "(a) charge = price of the recorded tokens + 5 % ($chg = $(charge_cheap "${pt:-0}" "${ct:-0}"))" \
	test "$chg" = "$(charge_cheap "${pt:-0}" "${ct:-0}")" -a "$((base + comm))" = "$chg"
read -r bal res <<<"$(acct_row "$UID_")"
check "(a) balance went down by exactly the charge ($F - $bal = $chg), nothing reserved" \
	test $((F - bal)) = "$chg" -a "$res" = 0
check "(a) the mock got the request once" test "$(mock_requests)" = 1
check "(a) ledger reconciles" ledger_check "$UPUB"

# --- (b) kill -9 of the workers while a stream is in flight ------------------------------
note "=== (b) worker killed mid-stream; the sweeper settles the hold"
funded_user crash "$ONE_USD"
BODY='{"model":"test/cheap","max_tokens":150,"stream":true,"messages":[{"role":"user","content":"go on [mock:words=100,pace=100]"}]}'
curl -sN -m 30 -o "$T/crash.sse" -H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' \
	--data-binary "$BODY" "$URL/v1/chat/completions" 2>/dev/null &
crash_curl=$!
owned_pids+=("$crash_curl")
in_flight() { [ "$(open_holds "$UID_")" = 1 ] && [ "$(n_data "$T/crash.sse")" -ge 3 ]; }
wait_for "(b) stream in flight" 10 in_flight
check "(b) the stream is in flight: a hold is open and deltas arrive" in_flight
victims=$(children "$tg_pid" | tr '\n' ' ')
note "(b) killing every worker of master $tg_pid: $victims"
for v in $victims; do kill -KILL "$v" 2>/dev/null || true; done
wait "$crash_curl" || true
events_of "$T/crash.sse"
check "(b) the client's stream was cut (no [DONE])" sh -c "! grep -q '^\[DONE\]$' '$T/crash.sse.events'"
hold=$(q "SELECT state, amount, COALESCE(charged, -1), expires_at > NOW(6)
	FROM holds WHERE account_id = $UID_" | tr '\t' ' ')
read -r hstate hamount hcharged hlive <<<"$hold"
note "(b) hold after the kill: state $hstate amount $hamount charged $hcharged live $hlive"
check "(b) the dead worker's hold is still open" test "$hstate" = open
read -r bal res <<<"$(acct_row "$UID_")"
check "(b) its amount is still reserved ($res = $hamount; balance $bal = $F - $hamount)" \
	test "$res" = "$hamount" -a "$bal" = $((F - hamount))
if [ "$hlive" = 1 ]; then
	src=0
	tg_cli sweep >"$T/log/sweep1.out" 2>&1 || src=$?
	check "(b) tollgate sweep before the TTL: exit 0 ($src)" test "$src" = 0
	# On a loaded machine the hold may expire while the sweep runs: then it may take it.
	# What it must never do is settle a hold before its expiry.
	check "(b) ...and it leaves the unexpired hold open (it never settles one before its expiry)" \
		test "$(q "SELECT state = 'open' OR settled_at >= expires_at FROM holds WHERE account_id = $UID_")" = 1
	early=$(q "SELECT state FROM holds WHERE account_id = $UID_")
	[ "$early" = open ] || note "(b) the hold expired while the early sweep ran; it settled it as expired"
else
	note "(b) the hold expired before the early sweep could run; skipped that check"
fi
hold_expired() { [ "$(q "SELECT expires_at < NOW(6) FROM holds WHERE account_id = $UID_")" = 1 ]; }
wait_for "(b) hold expiry (hold_ttl 5 s)" 15 hold_expired
check "(b) the hold expires within hold_ttl" hold_expired
if [ "${early:-open}" = open ]; then
	check "(b) still open after expiry until a sweep runs (sweep_interval 0)" \
		test "$(q "SELECT state FROM holds WHERE account_id = $UID_")" = open
fi
src=0
tg_cli sweep >"$T/log/sweep2.out" 2>&1 || src=$?
check "(b) tollgate sweep after the TTL: exit 0 ($src; $(head -c 200 "$T/log/sweep2.out"))" test "$src" = 0
hold=$(q "SELECT state, amount, COALESCE(charged, -1), settled_at IS NOT NULL
	FROM holds WHERE account_id = $UID_" | tr '\t' ' ')
read -r hstate hamount hcharged hsettled <<<"$hold"
note "(b) hold after the sweep: $hold"
check "(b) swept hold is expired_settled ($hstate)" test "$hstate" = expired_settled
check "(b) charged in full: the worst case it held ($hcharged = $hamount)" \
	test "$hcharged" = "$hamount" -a "$hsettled" = 1
read -r bal res <<<"$(acct_row "$UID_")"
check "(b) balance $F - $hamount = $bal, nothing reserved ($res)" \
	test "$bal" = $((F - hamount)) -a "$res" = 0
check "(b) ledger reconciles" ledger_check "$UPUB"
src=0
tg_cli sweep >"$T/log/sweep3.out" 2>&1 || src=$?
check "(b) a second sweep changes nothing" \
	test "$src" = 0 -a "$(acct_row "$UID_")" = "$bal 0" -a \
	"$(q "SELECT COUNT(*) FROM ledger_entries WHERE account_id = $UID_ AND kind = 'charge'")" = 1
check "(b) the master replaced the workers" \
	wait_for "2 workers" 10 sh -c "[ \$(pgrep -P $tg_pid | wc -l) -eq 2 ]"
wait_for "$URL/health" 10 health_ok || true
chat "$UKEY" '{"model":"test/cheap","max_tokens":20,"messages":[{"role":"user","content":"still there?"}]}'
check "(b) chat works again after the crash" status_is 200
check "(b) ...and is charged normally: prompt 6, reply 12 words" \
	test "$(to_n "$(hdr x-tollgate-cost)")" = "$(charge_cheap 6 12)"

# --- (c) database down --------------------------------------------------------------------
note "=== (c) database unreachable"
funded_user nodb "$ONE_USD"
mock_clear
http POST "$URL/nodb/v1/chat/completions" -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}'
expect_err "(c) chat with the database down" 503 database_unavailable
check "(c) the 503 is JSON" content_type_json
http POST "$URL/nodb/v1/chat/completions" -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
expect_err "(c) streamed chat with the database down" 503 database_unavailable
check "(c) the streamed 503 is JSON, not an event stream" content_type_json
check "(c) nothing was sent upstream" test "$(mock_requests)" = 0
check "(c) the user's money is untouched" test "$(acct_row "$UID_")" = "$F 0"

# --- (d) upstream failures ----------------------------------------------------------------
note "=== (d) upstream reset before the first byte"
funded_user rst "$ONE_USD"
mock_clear
chat "$UKEY" '{"model":"test/cheap","max_tokens":20,"messages":[{"role":"user","content":"hi [mock:reset]"}]}'
expect_err "(d) upstream reset before any byte" 502 upstream_error
check "(d) ...nothing charged, hold released" test "$(acct_row "$UID_")" = "$F 0"
chat "$UKEY" '{"model":"test/cheap","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi [mock:reset]"}]}'
expect_err "(d) streamed: upstream reset before any byte" 502 upstream_error
two_records() { [ "$(n_usage "$UID_")" -ge 2 ] && [ "$(open_holds "$UID_")" = 0 ]; }
wait_for "(d) two usage records" 10 two_records || true
check "(d) ...nothing charged, hold released" test "$(acct_row "$UID_")" = "$F 0"
check "(d) the upstream was called" test "$(mock_requests)" -ge 2
check "(d) no open hold" test "$(open_holds "$UID_")" = 0
check "(d) two usage records, status error, http 502, charge 0" \
	test "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND status = 'error'
		AND http_status = 502 AND charge = 0")" = 2 -a "$(n_usage "$UID_")" = 2
check "(d) both holds settled with charge 0" \
	test "$(q "SELECT COUNT(*) FROM holds WHERE account_id = $UID_ AND state = 'settled'
		AND charged = 0")" = 2
check "(d) ledger reconciles" ledger_check "$UPUB"

note "=== (d) a 200 whose body is not JSON"
# The answer is checked without building a tree (jx_valid) and spliced; what it refuses goes
# to the full parse, which must refuse the same: each of these is a 502, nothing charged.
funded_user bad "$ONE_USD"
for how in 1 2 3 4; do
	chat "$UKEY" "{\"model\":\"test/cheap\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"hi [mock:corrupt=$how]\"}]}"
	expect_err "(d) corrupt answer $how: 502" 502 upstream_error
	check "(d) corrupt answer $how: says the answer is not JSON" json_is '.error.message | test("not JSON")'
done
bad_records() { [ "$(n_usage "$UID_")" -ge 4 ] && [ "$(open_holds "$UID_")" = 0 ]; }
wait_for "(d) four usage records" 10 bad_records || true
check "(d) corrupt answers: nothing charged, no hold left" test "$(acct_row "$UID_")" = "$F 0"
check "(d) corrupt answers: four records, error, http 502, charge 0" \
	test "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND status = 'error'
		AND http_status = 502 AND charge = 0")" = 4
chat "$UKEY" '{"model":"test/cheap","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}'
expect_status "(d) the same user's next, sound answer" 200
check "(d) ...is charged and carries usage.cost" json_is '(.usage.cost | type == "number") and .usage.cost > 0'
# An empty usage object takes the splice too: our cost is its only member, no stray comma.
chat "$UKEY" '{"model":"test/cheap","max_tokens":20,"messages":[{"role":"user","content":"hi [mock:empty_usage]"}]}'
expect_status "(d) an answer with usage {}" 200
check "(d) ...gets usage {cost} and gateway_usage, as valid JSON" json_is \
	'(.usage | keys) == ["cost"] and (.usage.cost | type == "number") and (.gateway_usage.cost | type == "string")'

# after_first_byte TAG DIRECTIVE: a 20-word stream that the upstream breaks after 5 deltas.
after_first_byte() {
	local tag=$1 dir=$2 n full
	note "=== (d) upstream $dir after the first byte"
	funded_user "$tag" "$ONE_USD"
	mock_clear
	# "tell me" is 2 words: prompt_tokens 6.
	chat_sse "$UKEY" "{\"model\":\"test/cheap\",\"max_tokens\":50,\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"tell me [mock:words=20,$dir]\"}]}"
	check "$tag: 200 (the stream had started)" status_is 200
	check "$tag: the body ends cleanly (curl exit $sse_rc)" test "$sse_rc" = 0
	check "$tag: the 5 delivered deltas reached the client" \
		test "$(content_of "$T/events")" = "mock reply word1 word2 word3"
	n=$(grep -c . "$T/events" || true)
	check "$tag: the last event is [DONE], once" \
		test "$(tail -n 1 "$T/events")" = '[DONE]' -a "$(grep -c '^\[DONE\]$' "$T/events")" = 1
	check "$tag: the event before [DONE] is an OpenAI error" sh -c \
		"sed -n '$((n - 1))p' '$T/events' | jq -e '(.error.message|type) == \"string\"' >/dev/null"
	check "$tag: no content after the first error event" sh -c \
		"grep -v '^\[DONE\]\$' '$T/events' | jq -se '(map(has(\"error\")) | index(true)) as \$i |
			\$i != null and ([.[\$i:][] | .choices[0]?.delta?.content? // empty | select(. != \"\")] | length == 0)' >/dev/null"
	check "$tag: no chunk claims finish_reason stop" sh -c \
		"! grep -v '^\[DONE\]\$' '$T/events' | jq -e 'select(.choices[0].finish_reason == \"stop\")' 2>/dev/null | grep -q ."
	settled_one() { [ "$(n_usage "$UID_")" -ge 1 ] && [ "$(open_holds "$UID_")" = 0 ]; }
	wait_for "$tag: usage record" 10 settled_one || true
	check "$tag: one usage record" test "$(n_usage "$UID_")" = 1
	read -r st stream est hst pt ct base comm chg rid <<<"$(usage_row "$UID_")"
	note "$tag: record: status $st stream $stream estimated $est http $hst tokens $pt+$ct charge $chg"
	check "$tag: usage status error, not ok ($st)" test "$st" = error
	check "$tag: usage record is a stream, estimated (no upstream usage)" test "$stream" = 1 -a "$est" = 1
	full=$(charge_cheap 6 20)
	check "$tag: delivered completion counted (1 <= $ct <= 19)" test "${ct:-0}" -ge 1 -a "${ct:-0}" -le 19
	check "$tag: charged something, less than the full reply ($chg in 1..$((full - 1)))" \
		test "${chg:-0}" -gt 0 -a "${chg:-0}" -lt "$full"
	check "$tag: charge = price of the recorded tokens + 5 %" \
		test "$chg" = "$(charge_cheap "${pt:-0}" "${ct:-0}")" -a "$((base + comm))" = "$chg"
	read -r bal res <<<"$(acct_row "$UID_")"
	check "$tag: balance down by exactly the charge ($((F - bal)) = $chg), nothing reserved" \
		test $((F - bal)) = "$chg" -a "$res" = 0
	check "$tag: the mock got the request once" test "$(mock_requests)" = 1
	check "$tag: ledger reconciles" ledger_check "$UPUB"
}

after_first_byte midErr error_at=5
after_first_byte midRst reset_at=5

finish
