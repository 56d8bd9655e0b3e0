#!/usr/bin/env bash
# t_status.sh: `tollgate status` (issue 19, observability) reads the master's record from the
# node's metrics file: pid, uptime, generation, workers, slots busy, requests served, worker
# restarts, as text or --json; exit 0 while the master runs for the config's run_dir, 3 (LSB
# "not running") before it starts and after it stops; a crashed worker counts as a restart,
# a reload moves the generation.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq
CONF=$T/tg.conf
mkdir -p "$T/run"
tg_conf "$CONF"
st() { st_rc=0; "$TOLLGATE_BIN" -c "$CONF" status "$@" >"$T/status.out" 2>"$T/status.err" || st_rc=$?; }

st
check "before the start: exit 3 (not running)" test "$st_rc" = 3
check "...and says so" grep -q "not running" "$T/status.out"
st --json
check "--json before the start: exit 3, running false" sh -c \
	"[ $st_rc = 3 ] && jq -e '.running == false' '$T/status.out' >/dev/null"
st --bogus
check "an unknown argument: exit 2" test "$st_rc" = 2

stack_up server.workers=2 server.threads=3
for i in 1 2 3 4 5; do http GET "$URL/health"; done
bg_get sleep "/_debug/sleep?ms=3000"
sleep 0.7
st --json
check "running: exit 0" test "$st_rc" = 0
cp "$T/status.out" "$T/status.json"
j() { jq -e "$1" "$T/status.json" >/dev/null; }
check "pid is the master's ($tg_pid)" j ".running == true and .pid == $tg_pid"
check "2 workers, 6 slots, generation 1" j '.workers == 2 and .slots == 6 and .generation == 1'
check "one slot busy (the sleep)" j '.slots_busy == 1'
check "requests served counted (at least the 5 health checks)" j '.requests_served >= 5'
check "uptime and start time" j '(.uptime_s | . >= 0 and . < 600) and (.started | test("^[0-9-]+T[0-9:]+Z$"))'
check "run_dir named" j ".run_dir == \"$T/run\""
wait "$bg_curl" || true
st
check "the text form: exit 0, the pid, workers and slots" sh -c \
	"[ $st_rc = 0 ] && grep -q 'master pid $tg_pid' '$T/status.out' && grep -Eq 'workers +2' '$T/status.out' && grep -Eq 'slots busy +0 of 6' '$T/status.out'"

# A crashed worker is respawned and counted.
victim=$(children "$tg_pid" | head -n 1)
kill -KILL "$victim"
check "worker count restored to 2" wait_for "2 workers" 10 sh -c "[ \$(pgrep -P $tg_pid | wc -l) -eq 2 ]"
restarted() { st --json; jq -e '.worker_restarts == 1 and .workers == 2' "$T/status.out" >/dev/null; }
check "one worker restart counted" wait_for "restart counted" 5 restarted

# A reload: the next generation.
kill -HUP "$tg_pid"
gen2() { st --json; jq -e '.generation == 2 and .workers == 2' "$T/status.out" >/dev/null; }
check "after SIGHUP: generation 2, 2 workers" wait_for "generation 2" 15 gen2

kill -TERM "$tg_pid"
wait_for "master exit" 15 gone "$tg_pid" || bail "tollgate stops"
st
check "after the stop: exit 3" test "$st_rc" = 3
check "...not running" grep -q "not running" "$T/status.out"
finish
