#!/usr/bin/env bash
# t_soak.sh: a long run of mixed traffic with a fault every minute; nothing may grow.
#
# Run by `make soak` (scripts/dev test tests/soak/t_soak.sh: the throwaway MariaDB of
# scripts/dev test, tollgate with two workers of four slots behind nginx, the mock provider).
# SOAK_SECONDS (default 3600) of traffic from SOAK_CLIENTS (4) loops, each picking at random:
# a chat, a streamed chat, control-plane reads, bad input (malformed JSON, duplicate keys,
# a 20 kB header, an unknown route), and now and then a 3 MB chat. Every SOAK_FAULT_EVERY
# seconds (60) one fault, in turn: a worker killed with SIGKILL; provider 500s; provider
# connection resets (before the answer and mid-stream); clients that leave mid-stream.
# Every SOAK_SAMPLE seconds (30) one line to the report ($SOAK_REPORT, default
# soak-report.tsv in the build directory): per worker RSS and open fds, the database's
# Threads_connected and the test user's connections, open holds, requests so far.
# After SOAK_WARMUP seconds (a fifth of the run, at least one sample) the first three samples
# are the baseline; the last three may not exceed it by more than SOAK_RSS_KB (24576) per
# worker, SOAK_FDS (8) fds per worker, SOAK_CONNS (4) connections; open holds never exceed
# SOAK_HOLDS (40). At the end the holds left by killed workers are swept and the books must
# balance for every account (balance + reserved = the ledger, no open hold), and no answer
# may have been a 5xx other than the faults' own.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integ/lib/init.sh" cp chat

: "${SOAK_SECONDS:=3600}" "${SOAK_CLIENTS:=4}" "${SOAK_FAULT_EVERY:=60}" "${SOAK_SAMPLE:=30}"
: "${SOAK_RSS_KB:=24576}" "${SOAK_FDS:=8}" "${SOAK_CONNS:=4}" "${SOAK_HOLDS:=40}"
: "${SOAK_WARMUP:=$((SOAK_SECONDS / 5 > SOAK_SAMPLE ? SOAK_SECONDS / 5 : SOAK_SAMPLE))}"
: "${SOAK_REPORT:=$TOLLGATE_BUILDDIR/soak-report.tsv}"
need_cmd python3
make_tmp
HOLD_TTL=45
NGX_MAX_BODY=16m
chat_stack soak server.workers=2 server.threads=4 http.max_body=8M \
	chat.default_max_tokens=64 "chat.hold_ttl=$HOLD_TTL" chat.sweep_interval=5 \
	chat.drain_timeout=2 upstream.failures_to_open=1000
cp_admin soak 1000000
KEY=$ADMIN_KEY
cp_register soakcp || bail "register a control-plane user ($code)"
CP_KEY=$REG_KEY
python3 -c 'import json; print(json.dumps({"model":"test/cheap","messages":[{"role":"user","content":"w "*1500000}],"max_tokens":8}))' >"$T/large.json"
END=$(($(date +%s) + SOAK_SECONDS))
note "soak: ${SOAK_SECONDS} s, ${SOAK_CLIENTS} clients, a fault every ${SOAK_FAULT_EVERY} s, report $SOAK_REPORT"

# --- traffic ------------------------------------------------------------------------------

# one_request: one request of a random kind; prints "kind status".
one_request() {
	local r=$((RANDOM % 100)) c auth=(-H "Authorization: Bearer $KEY") j=(-H 'Content-Type: application/json')
	local cu=(curl -s -o /dev/null -m 60 -w '%{http_code}')
	if [ "$r" -lt 35 ]; then
		c=$("${cu[@]}" "${auth[@]}" "${j[@]}" --data-binary "{\"model\":\"test/cheap\",$MSGS}" "$URL/v1/chat/completions")
		echo "chat $c"
	elif [ "$r" -lt 60 ]; then
		c=$("${cu[@]}" -N "${auth[@]}" "${j[@]}" --data-binary "{\"model\":\"test/cheap\",\"stream\":true,$MSGS}" "$URL/v1/chat/completions")
		echo "stream $c"
	elif [ "$r" -lt 80 ]; then
		case $((r % 4)) in
		0) c=$("${cu[@]}" -H "Authorization: Bearer $CP_KEY" "$URL/user/balance") ;;
		1) c=$("${cu[@]}" -H "Authorization: Bearer $CP_KEY" "$URL/v1/models") ;;
		2) c=$("${cu[@]}" -H "Authorization: Bearer $CP_KEY" "$URL/user/api-keys") ;;
		*) c=$("${cu[@]}" "$URL/health") ;;
		esac
		echo "control $c"
	elif [ "$r" -lt 98 ]; then
		case $((r % 4)) in
		0) c=$("${cu[@]}" "${auth[@]}" "${j[@]}" --data-binary '{"model":"test/cheap","messages":[' "$URL/v1/chat/completions") ;;
		1) c=$("${cu[@]}" "${auth[@]}" "${j[@]}" --data-binary '{"a":1,"a":2}' "$URL/v1/chat/completions") ;;
		2) c=$("${cu[@]}" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$URL/health") ;;
		*) c=$("${cu[@]}" "$URL/no/such/route") ;;
		esac
		echo "bad $c"
	else
		c=$("${cu[@]}" -H 'Expect:' "${auth[@]}" "${j[@]}" --data-binary "@$T/large.json" "$URL/v1/chat/completions")
		echo "large $c"
	fi
}

client() {
	while [ "$(date +%s)" -lt "$END" ]; do
		one_request
	done >>"$T/traffic.$1"
}

# --- faults -------------------------------------------------------------------------------

# mock_chat DIRECTIVES [stream]: a chat scripted at the mock; prints the status.
mock_chat() {
	local s=${2:+\"stream\":true,}
	curl -s -o /dev/null -m 30 -w '%{http_code}' -H "Authorization: Bearer $KEY" \
		-H 'Content-Type: application/json' --data-binary \
		"{\"model\":\"test/cheap\",$s$(msgs "hello [mock:$1]")}" "$URL/v1/chat/completions"
}

fault() {
	local n=$1 w i
	case $((n % 4)) in
	0)
		w=$(children "$tg_pid" | shuf -n 1)
		note "fault $n: kill -9 worker $w"
		[ -n "$w" ] && kill -KILL "$w"
		;;
	1)
		note "fault $n: 10 provider 500s"
		for i in $(seq 10); do echo "fault500 $(mock_chat status=500)"; done >>"$T/traffic.faults"
		;;
	2)
		note "fault $n: provider resets, before the answer and mid-stream"
		for i in $(seq 5); do
			echo "faultreset $(mock_chat reset)"
			echo "faultreset $(mock_chat reset_at=2 stream)"
		done >>"$T/traffic.faults"
		;;
	3)
		note "fault $n: 10 clients leave mid-stream"
		for i in $(seq 10); do
			curl -s -N -o /dev/null -m 0.6 -H "Authorization: Bearer $KEY" \
				-H 'Content-Type: application/json' --data-binary \
				"{\"model\":\"test/cheap\",\"stream\":true,$(msgs "hello [mock:pace=200]")}" \
				"$URL/v1/chat/completions" &
			owned_pids+=($!)
		done
		wait "${owned_pids[@]: -10}" 2>/dev/null || true
		;;
	esac
}

# --- samples ------------------------------------------------------------------------------

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
dbq() { sql "$SCRATCH" -e "$1" 2>/dev/null || echo -1; }

# sample: one report line; sets S_RSS (largest worker RSS), S_FDS (most fds), S_CONNS
# (the test user's connections), S_HOLDS (open holds).
sample() {
	local w workers="" threads
	S_RSS=0 S_FDS=0
	for w in $(children "$tg_pid"); do
		r=$(rss_kb "$w") f=$(nfds "$w")
		workers+="$w:${r}kB:${f}fd "
		[ "$r" -gt "$S_RSS" ] && S_RSS=$r
		[ "$f" -gt "$S_FDS" ] && S_FDS=$f
	done
	threads=$(dbq "SHOW GLOBAL STATUS LIKE 'Threads_connected'" | awk '{print $2}')
	S_CONNS=$(dbq "SELECT COUNT(*) FROM information_schema.processlist WHERE user = '${TOLLGATE_TEST_DB_USER:-tollgate}' AND db = '$SCRATCH'")
	S_HOLDS=$(dbq "SELECT COUNT(*) FROM holds WHERE state = 'open'")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(($(date +%s) - START))" "$S_RSS" "$S_FDS" \
		"$threads" "$S_CONNS" "$S_HOLDS" "$workers" >>"$SOAK_REPORT"
	printf '%s\t%s\t%s\t%s\n' "$S_RSS" "$S_FDS" "$S_CONNS" "$S_HOLDS" >>"$T/samples"
}

# --- the run ------------------------------------------------------------------------------

START=$(date +%s)
printf 't_s\tmax_worker_rss_kb\tmax_worker_fds\tthreads_connected\ttest_user_conns\topen_holds\tworkers(pid:rss:fds)\n' >"$SOAK_REPORT"
: >"$T/samples"
client_pids=()
for i in $(seq "$SOAK_CLIENTS"); do
	client "$i" &
	client_pids+=($!)
	owned_pids+=($!)
done
next_fault=$((START + SOAK_FAULT_EVERY))
next_sample=$START
nfault=0
max_holds=0
while [ "$(date +%s)" -lt "$END" ]; do
	now=$(date +%s)
	if [ "$now" -ge "$next_sample" ]; then
		sample
		[ "$S_HOLDS" -gt "$max_holds" ] && max_holds=$S_HOLDS
		[ "$((now - START))" -lt "$SOAK_WARMUP" ] || echo >>"$T/after_warmup"
		next_sample=$((now + SOAK_SAMPLE))
	fi
	if [ "$now" -ge "$next_fault" ]; then
		fault "$nfault"
		nfault=$((nfault + 1))
		next_fault=$((now + SOAK_FAULT_EVERY))
	fi
	sleep 1
done
wait "${client_pids[@]}" 2>/dev/null || true
sample
cat "$T"/traffic.* >"$T/all"
note "requests: $(wc -l <"$T/all"); by kind and status: $(sort "$T/all" | uniq -c | sort -rn | awk '{printf "%s %s x%s, ", $2, $3, $1}')"
cat "$SOAK_REPORT" | sed 's/^/#   /'

# --- verdicts -----------------------------------------------------------------------------

# The samples after warm-up: baseline = the largest of the first three, end = the smallest
# of the last three (a spike at one sample is not growth).
n=$(wc -l <"$T/samples")
k=$(wc -l <"$T/after_warmup" 2>/dev/null || echo 0)
check "at least 6 samples after warm-up ($k of $n)" test "$k" -ge 6
first=$((n - k + 1))
col() { sed -n "${first},\$p" "$T/samples" | cut -f "$1"; }
base_of() { col "$1" | head -3 | sort -n | tail -1; }
end_of() { col "$1" | tail -3 | sort -n | head -1; }
for spec in "1 RSS_kB $SOAK_RSS_KB" "2 fds $SOAK_FDS" "3 db_connections $SOAK_CONNS"; do
	read -r c name bound <<<"$spec"
	b=$(base_of "$c") e=$(end_of "$c")
	check "$name: after warm-up $b, at the end $e (may grow by < $bound)" test "$((e - b))" -lt "$bound"
done
check "open holds never above $SOAK_HOLDS (most: $max_holds)" test "$max_holds" -le "$SOAK_HOLDS"
# A worker killed mid-request costs its in-flight requests a 502 (JSON from nginx); nothing
# else may be a 5xx: at most SOAK_CLIENTS x 2 per kill.
total=$(grep -cv '^fault' "$T/all" || true)
n5=$(grep -v '^fault' "$T/all" | grep -cE ' 5[0-9][0-9]$' || true)
kills=$(((nfault + 3) / 4))
check "traffic 5xx: $n5 of $total, with $kills worker kills (at most $((kills * SOAK_CLIENTS * 2)))" \
	test "$n5" -le "$((kills * SOAK_CLIENTS * 2))"
check "no 000 (a connection that got no answer) in the traffic" \
	sh -c '! grep -v "^fault" "$1" | grep -q " 000$"' _ "$T/all"
check "some of every kind answered 200" sh -c 'for k in chat stream control large; do grep -q "^$k 200$" "$1" || exit 1; done' _ "$T/all"
check "faults ran ($nfault)" test "$nfault" -ge 1

# The books: holds of killed workers are swept once their TTL has passed; then every account
# balances and none has an open hold.
sleep $((HOLD_TTL + 2))
tg_cli sweep >/dev/null 2>&1 || true
no_open_hold() { [ "$(q "SELECT COUNT(*) FROM holds WHERE state = 'open'")" = 0 ]; }
check "no open hold after the sweep" wait_for "no open hold" 30 no_open_hold
bad=$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM accounts a WHERE a.balance + a.reserved <>
	(SELECT COALESCE(SUM(e.amount),0) FROM ledger_entries e WHERE e.account_id = a.user_id)
	OR a.reserved <> 0")
check "books: every account balances (balance + reserved = ledger, nothing reserved): $bad off" test "$bad" = 0
if tg_cli ledger check >"$T/ledger-check.out" 2>&1; then
	ok "tollgate ledger check passes"
elif grep -qi 'unknown command\|usage' "$T/ledger-check.out"; then
	note "tollgate ledger check not in this build"
else
	not_ok "tollgate ledger check: $(head -c 300 "$T/ledger-check.out")"
fi
http GET "$URL/health"
check "still healthy" status_is 200

finish
