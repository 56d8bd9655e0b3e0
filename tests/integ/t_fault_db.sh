#!/usr/bin/env bash
# t_fault_db.sh: the database fails under load (issue 15): ten clients send chats, streamed and
# not, while the private MariaDB (lib/privdb.sh) is killed -9 and started again, and then while
# it hangs (SIGSTOP for a few seconds, then SIGCONT); once with exact holds and once with
# leases ([billing] lease).  Every client gets 200 or a clean 503 database_unavailable in the
# OpenAI error shape (no 500, no HTML, nothing cut without an answer, no wait past the
# database timeouts); chats succeed again soon after the server is back; what each 200 said
# it cost is what the ledger charged for it; and afterwards every user's books balance.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat privdb

test_begin --mock curl jq nginx mariadb
privdb_up
CLIENTS=10
LOAD_S=${FAULT_LOAD_S:-16} # seconds of load after the fault (and a quarter before)
# Bounded database waits: a hung server costs a request at most these (plus the connect).
DBT=(db.connect_timeout=2 db.read_timeout=4 db.write_timeout=4)
# Holds of a request that could not settle expire soon and are swept (charged in full).
STACK=(server.workers=2 server.threads=6 chat.default_max_tokens=16 chat.hold_ttl=8
	chat.sweep_interval=2 billing.lease_idle=3 "${DBT[@]}")
chat_stack faultdb "${STACK[@]}"
cp_admin faultdb 1
AK=$ADMIN_KEY
export LC_ALL=C
BODY="{\"model\":\"test/cheap\",\"max_tokens\":16,$(msgs 'hi [mock:latency=150]')}"
SBODY="{\"model\":\"test/cheap\",\"max_tokens\":16,\"stream\":true,$(msgs 'hi [mock:latency=150]')}"
CURL_MAX=40 # past every database timeout: a request this long is a hang

# client I TAG KEY: chats until $T/TAG.stop exists, alternately streamed; one line per request in
# $T/TAG.I.log: start_ms end_ms code streamed, the response in $T/TAG.I.N.{hdr,body}.
client() {
	local i=$1 tag=$2 key=$3 n=0 t0 code s b
	local -a extra
	while [ ! -e "$T/$tag.stop" ]; do
		n=$((n + 1))
		s=$((n % 2))
		b=$BODY extra=()
		[ "$s" = 0 ] || b=$SBODY extra=(-N)
		t0=$(now_ms)
		code=$(curl -s -m "$CURL_MAX" "${extra[@]}" -o "$T/$tag.$i.$n.body" -D "$T/$tag.$i.$n.hdr" \
			-w '%{http_code}' -X POST -H 'Expect:' -H "Authorization: Bearer $key" \
			-H 'Content-Type: application/json' --data-binary "$b" \
			"$URL/v1/chat/completions" 2>/dev/null) || true
		echo "$t0 $(now_ms) ${code:-000} $s $n" >>"$T/$tag.$i.log"
	done
}

# clean_503 FILE: the OpenAI error shape with code database_unavailable.
clean_503() {
	jq -e '(.error | type == "object") and .error.code == "database_unavailable" and
		(.error.message | type == "string") and (.error | has("type") and has("param"))' \
		"$1" >/dev/null 2>&1
}
# good_200 FILE STREAMED: a whole answer: JSON with choices, or an SSE stream ending [DONE].
good_200() {
	if [ "$2" = 1 ]; then
		grep -q '^data: \[DONE\]' "$1"
	else
		jq -e '.choices | length > 0' "$1" >/dev/null 2>&1
	fi
}

# scenario TAG FAULT: CLIENTS clients; FAULT (kill or freeze) hits the server LOAD_S/4 s in;
# the load goes on until LOAD_S s after the server is back.  Sets BACK_MS (when it answered).
scenario() {
	local tag=$1 fault=$2 i pids=() keys=()
	for i in $(seq "$CLIENTS"); do
		new_user "$tag$i" 1000000000
		keys+=("$UKEY")
		echo "$UPUB" >>"$T/$tag.users"
	done
	for i in $(seq "$CLIENTS"); do
		client "$i" "$tag" "${keys[$((i - 1))]}" &
		pids+=($!)
	done
	sleep $((LOAD_S / 4))
	FAULT_MS=$(now_ms)
	case $fault in
	kill)
		privdb_kill || bail "$tag: kill -9 the database"
		sleep 2
		privdb_start || bail "$tag: the database starts again"
		;;
	freeze)
		privdb_freeze
		sleep 4
		privdb_thaw
		;;
	esac
	BACK_MS=$(now_ms)
	note "$tag: the database was away $((BACK_MS - FAULT_MS)) ms"
	sleep "$LOAD_S"
	touch "$T/$tag.stop"
	for i in "${pids[@]}"; do wait "$i" || true; done
}

# judge TAG: every answer of the scenario is 200 (whole) or a clean 503; none took longer
# than the database timeouts allow; the last 200s came soon after the server was back.
judge() {
	local tag=$1 f t0 t1 code s n bad=0 slow=0 n200=0 n503=0 late=0 first_ok=0 longest=0
	for f in "$T/$tag".*.log; do
		while read -r t0 t1 code s n; do
			local base=${f%.log}.$n
			[ $((t1 - t0)) -le "$longest" ] || longest=$((t1 - t0))
			[ $((t1 - t0)) -lt $(((CURL_MAX - 5) * 1000)) ] || slow=$((slow + 1))
			case $code in
			200)
				if good_200 "$base.body" "$s"; then n200=$((n200 + 1)); else
					bad=$((bad + 1))
					note "$tag: a 200 without a whole answer: $(head -c 300 "$base.body")"
				fi
				if [ "$t0" -ge "$BACK_MS" ] && { [ "$first_ok" = 0 ] || [ "$t1" -lt "$first_ok" ]; }; then
					first_ok=$t1
				fi
				;;
			503)
				if clean_503 "$base.body"; then n503=$((n503 + 1)); else
					bad=$((bad + 1))
					note "$tag: a 503 not in the OpenAI shape: $(head -c 300 "$base.body")"
				fi
				# Failures that started long after the server was back are not the fault's.
				[ "$t0" -lt $((BACK_MS + RECOVER_MS)) ] || late=$((late + 1))
				;;
			*)
				bad=$((bad + 1))
				note "$tag: status $code ($((t1 - t0)) ms): $(head -c 300 "$base.body")"
				;;
			esac
		done <"$f"
	done
	note "$tag: $n200 x 200, $n503 x 503, longest $longest ms, first 200 begun after recovery ended $((first_ok - BACK_MS)) ms after it"
	check "$tag: every answer is a whole 200 or a clean 503 database_unavailable ($bad others)" test "$bad" = 0
	check "$tag: no request hung past the database timeouts ($slow)" test "$slow" = 0
	check "$tag: some chats were served ($n200)" test "$n200" -gt 0
	check "$tag: no 503 for requests begun $RECOVER_MS ms after the database was back ($late)" \
		test "$late" = 0
}
# How soon after the server is back every request must succeed again: generous (the box is
# shared); a pool that does not notice its connections died misses it.
RECOVER_MS=10000

# told_is_charged TAG: each 200 non-streamed answer's x-tollgate-cost is the charge of its
# usage record (found by x-request-id), and each 503 has none that charges.
told_is_charged() {
	local tag=$1 h rid cost ch bad=0 n=0
	for h in "$T/$tag".*.hdr; do
		rid=$(tr -d '\r' <"$h" | sed -n 's/^[Xx]-[Rr]equest-[Ii]d: //p' | tail -n 1)
		[ -n "$rid" ] || continue
		cost=$(tr -d '\r' <"$h" | sed -n 's/^[Xx]-[Tt]ollgate-[Cc]ost: //p' | tail -n 1)
		ch=$(q "SELECT charge FROM usage_records WHERE request_id = '$rid'")
		if grep -q '^HTTP/[0-9.]* 503' "$h"; then
			[ -z "$ch" ] || [ "$ch" = 0 ] || {
				bad=$((bad + 1))
				note "$tag: $rid answered 503 but charged $ch"
			}
		elif [ -n "$cost" ]; then
			n=$((n + 1))
			[ "$(usd_nano "$cost")" = "$ch" ] || {
				bad=$((bad + 1))
				note "$tag: $rid told $cost, charged '${ch}'"
			}
		fi
	done
	check "$tag: what $n answers said they cost is what was charged ($bad differ)" test "$bad" = 0
}

# books TAG: no hold left open (the sweeper closes what could not settle), then each user's
# ledger reconciles (lib/chat.sh ledger_check), and what each user lost is what their usage
# records charged, give or take the holds the sweeper charged in full: each user has one
# client, so at most the request in flight at the fault (two holds of slack).  A hold or a
# lease the database committed for a request that was told 503 must not be charged.
HOLD_MAX=200000 # a chat's worst-case hold here is about 0.0002 USD
books() {
	local tag=$1 u bad=0 lost=0 uid row
	all_closed() { [ "$(q "SELECT COUNT(*) FROM holds WHERE state = 'open'")" = 0 ]; }
	wait_for "$tag: every hold and lease closed" 60 all_closed || true
	while read -r u; do
		ledger_check "$u" >/dev/null || {
			bad=$((bad + 1))
			ledger_check "$u" || true
		}
		uid=$(uid_of "$u")
		row=$(q "SELECT 1000000000 - a.balance - a.reserved - (SELECT COALESCE(SUM(r.charge), 0)
			FROM usage_records r WHERE r.user_id = a.user_id) FROM accounts a WHERE a.user_id = $uid")
		if [ -z "$row" ] || [ "$row" -lt 0 ] || [ "$row" -gt $((2 * HOLD_MAX)) ]; then
			lost=$((lost + 1))
			note "$tag: $u lost $row nano more than its usage records charged:"
			q "SELECT LOWER(HEX(id)), lease, amount, charged, granted, state FROM holds
				WHERE account_id = $uid AND (lease = 1 OR state <> 'settled')" | sed 's/^/#   /'
		fi
	done <"$T/$tag.users"
	check "$tag: every user's books balance ($bad do not)" test "$bad" = 0
	check "$tag: no user lost more than the holds in flight at the fault ($lost did)" test "$lost" = 0
}

run_mode() {
	local mode=$1
	scenario "$mode-kill" kill
	judge "$mode-kill"
	scenario "$mode-freeze" freeze
	judge "$mode-freeze"
	told_is_charged "$mode-kill"
	told_is_charged "$mode-freeze"
	books "$mode-kill"
	books "$mode-freeze"
}

run_mode exact
cp_restart "db.name=$SCRATCH" "${STACK[@]}" billing.lease=1.00
run_mode lease

grep -E 'database|connection' "$LOG" | sed 's/^[^]]*] //;s/req=[0-9a-f]* //' | sort | uniq -c |
	sort -rn | head -n 12 | sed 's/^/# log: /'
finish
