#!/usr/bin/env bash
# t_fault_kill.sh: worker kill -9 under mixed streamed and non-streamed load (issue 15), in
# both billing modes (leases off, then on): 20 clients for FAULT_SECONDS (default 10) per
# mode while a worker is killed every 2 s. 24 slots for 20 clients: a wait for a slot
# behind kept connections (t_load_fair's subject, not this test's) would starve the load.
# Afterwards every hold is closed (swept or settled), `tollgate ledger check` passes, and
# every client that got a 200 with a cost was charged exactly that: its usage record (by x-request-id) has that charge.
# FAULT_SECONDS=30 (or more) for the campaign's length; the suite's default stays short.
# On a machine shared by many busy processes each bash client gets few requests in (they are
# processes spawning processes); the checks hold for whatever ran, and the kill count shows.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock curl jq nginx mariadb
SECS=${FAULT_SECONDS:-10}
CLIENTS=${FAULT_CLIENTS:-20}
BASE=(server.workers=2 server.threads=12 chat.hold_ttl=5 chat.sweep_interval=1
	chat.default_max_tokens=64 billing.lease_idle=2)
chat_stack fkill "${BASE[@]}"
cp_admin fkill 1
AK=$ADMIN_KEY
export LC_ALL=C
code=none # no http() of ours in the load: what a failed check shows as the last request

KEYS=()
UIDS=()
for u in 1 2 3 4; do
	new_user "fk$u" "$ONE"
	KEYS+=("$UKEY")
	UIDS+=("$UID_")
done

S_BODY="{\"model\":\"test/cheap\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$(msgs 'go [mock:words=10,pace=60]')}"
N_BODY="{\"model\":\"test/cheap\",$(msgs 'go [mock:words=6,latency=400]')}"

# client N MODE: requests until $T/MODE.stop exists; one line per request in $T/MODE/N.log:
# "request_id code cost stream" (cost "-" when the client was told none)
client() {
	local n=$1 mode=$2 i=0 key body s rid code cost tt
	set +e # a client records what it got and goes on
	while [ ! -e "$T/$mode.stop" ]; do
		key=${KEYS[$(((n + i) % ${#KEYS[@]}))]}
		s=$(((n + i) % 2))
		i=$((i + 1))
		if [ "$s" = 1 ]; then body=$S_BODY; else body=$N_BODY; fi
		rm -f "$T/$mode/$n.hdr" "$T/$mode/$n.body"
		echo "start $i $(date +%s)" >>"$T/$mode/$n.err"
		code=$(curl -sS -N -m 20 -o "$T/$mode/$n.body" -D "$T/$mode/$n.hdr" -w '%{http_code} %{time_total}' \
			"$URL/v1/chat/completions" -H "Authorization: Bearer $key" \
			-H 'Content-Type: application/json' --data-binary "$body" 2>/dev/null) || true
		tt=${code#* }
		code=${code%% *}
		rid=$(tr -d '\r' <"$T/$mode/$n.hdr" 2>/dev/null | sed -n 's/^x-request-id: //Ip' | tail -n 1)
		cost=-
		if [ "$code" = 200 ] && [ "$s" = 1 ]; then
			# told only when the stream ended whole: the usage chunk, then [DONE]
			if tail -n 3 "$T/$mode/$n.body" | grep -q '^data: \[DONE\]'; then
				cost=$(sed -n 's/^data: //p' "$T/$mode/$n.body" |
					jq -r 'select(.gateway_usage != null) | .gateway_usage.cost' 2>/dev/null | tail -n 1)
			fi
		elif [ "$code" = 200 ]; then
			cost=$(jq -r '.gateway_usage.cost // empty' "$T/$mode/$n.body" 2>/dev/null || true)
		fi
		echo "${rid:--} ${code:-000} ${cost:--} $s ${tt:-0}" >>"$T/$mode/$n.log"
	done
}

# run_mode MODE: the load and the killer, then the books
run_mode() {
	local mode=$1 end i klast=0 kills=0 victim bad=0 told=0 rid rcode cost s got lc t0
	local -a cpids=()
	mkdir -p "$T/$mode"
	t0=$(date +%s)
	end=$((t0 + SECS))
	for i in $(seq "$CLIENTS"); do
		client "$i" "$mode" 2>>"$T/$mode/$i.err" &
		cpids+=($!)
		owned_pids+=($!)
	done
	# SECS of load, and on until two workers were killed under it (a busy machine can starve
	# the killer's rounds; up to 30 s more), then the clients stop.
	while [ "$(date +%s)" -lt "$end" ] ||
		{ [ "$kills" -lt 2 ] && [ "$(date +%s)" -lt $((end + 30)) ]; }; do
		sleep 2
		victim=$(children "$tg_pid" | shuf -n 1 2>/dev/null || true)
		[ -n "$victim" ] || continue
		kill -KILL "$victim" 2>/dev/null && kills=$((kills + 1))
		klast=$(date +%s)
	done
	touch "$T/$mode.stop"
	for i in "${cpids[@]}"; do wait "$i" || true; done
	cat "$T/$mode"/*.log >"$T/$mode.all"
	note "$mode: client 1's stderr: $(tail -c 300 "$T/$mode/1.err" | tr '\n' ' ')"
	note "$mode: $(wc -l <"$T/$mode.all") requests in $(($(date +%s) - t0)) s, $kills workers killed," \
		"codes: $(cut -d' ' -f2 "$T/$mode.all" | sort | uniq -c | tr '\n' ' ')"
	note "$mode: slowest request $(cut -d' ' -f5 "$T/$mode.all" | sort -n | tail -n 1) s," \
		"$(date +%s) now, the killer's last round at $klast"
	check "$mode: workers were killed ($kills)" test "$kills" -ge 2
	check "$mode: most requests answered 200" \
		test "$(grep -c ' 200 ' "$T/$mode.all")" -gt "$(($(wc -l <"$T/$mode.all") / 2))"
	all_closed() {
		[ "$(q "SELECT COUNT(*) FROM holds WHERE state = 'open'")" = 0 ]
	}
	wait_for "$mode: every hold and lease closed (swept, settled or returned)" 40 all_closed || true
	check "$mode: no hold left open" all_closed
	lc=0
	tg_cli ledger check >"$T/$mode.lc" 2>&1 || lc=$?
	check "$mode: tollgate ledger check passes ($(tr '\n' ' ' <"$T/$mode.lc"))" test "$lc" = 0
	# told = charged, request by request
	while read -r rid rcode cost s _; do
		[ "$rcode" = 200 ] && [ "$cost" != - ] && [ "$rid" != - ] || continue
		told=$((told + 1))
		got=$(q "SELECT charge FROM usage_records WHERE request_id = '$rid'")
		if [ "$got" != "$(usd_nano "$cost")" ]; then
			bad=$((bad + 1))
			[ "$bad" -gt 5 ] || note "$mode: $rid told $cost, charged '${got}'"
		fi
	done <"$T/$mode.all"
	check "$mode: every client told a cost was charged exactly that ($told told, $bad not)" \
		test "$told" -gt 0 -a "$bad" = 0
}

run_mode exact

# --- leases on: the same, with the journal between the answer and the database -----------
kill -TERM "$tg_pid" 2>/dev/null || true
wait_for "tollgate stops" 15 gone "$tg_pid" || bail "tollgate stops"
tg_conf "$CONF" "db.name=$SCRATCH" "${BASE[@]}" billing.lease=0.02
start_tollgate tollgate "$CONF" || bail "tollgate restarts with leases"
wait_for "$URL/health" 15 health_ok || bail "health with leases"
run_mode leased
check "leased: requests were carved from leases" \
	test "$(q "SELECT COUNT(*) FROM usage_records u JOIN holds h ON h.id = u.hold_id WHERE h.lease = 1")" -gt 0
finish
