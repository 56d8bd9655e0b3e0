#!/usr/bin/env bash
# t_proc_crash.sh: a worker killed with SIGKILL mid-request is logged, replaced, and service goes on.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq
# nginx retries an idempotent GET on a fresh connection when a kept-alive upstream connection
# dies before the response header, so the client would get the sleep from another worker.
# The LLM routes are POSTs, which nginx never retries; show the crash as the client sees it.
NEXT_UPSTREAM=off
# One slot per worker, so a sleeping worker cannot answer /_debug/pid: the one that does is
# the other worker, which tells us which pid holds the sleep.
stack_up server.workers=2 server.threads=1

before=$(children "$tg_pid" | tr '\n' ' ')
check "2 workers at start" test "$(nworkers)" -eq 2

bg_get sleep "/_debug/sleep?ms=3000"
sleep 0.5
http GET "$URL/_debug/pid"
free=$(jq -r .pid "$T/body" 2>/dev/null || echo "")
victim=""
for p in $before; do
	[ "$p" = "$free" ] || victim=$p
done
check "found the worker serving the sleep (free $free, busy $victim)" test -n "$victim" -a -n "$free"
[ -n "$victim" ] || finish

kill -KILL "$victim"
wait "$bg_curl" || true
sleep_code=$(cat "$T/sleep.code" 2>/dev/null || echo 000)
check "the in-flight request fails with 502 (got $sleep_code)" test "$sleep_code" = 502

check "worker count restored to 2" wait_for "2 workers" 10 sh -c "[ \$(pgrep -P $tg_pid | wc -l) -eq 2 ]"
after=$(children "$tg_pid" | tr '\n' ' ')
check "the killed pid is gone from the pool" sh -c "! echo ' $after' | grep -q ' $victim '"
check "a new worker pid appeared ($before -> $after)" test "$before" != "$after"
check "master logs the exit on signal 9" \
	wait_for "exit log" 5 log_has "worker $victim exited on signal 9"

fails=0
for i in $(seq 10); do
	http GET "$URL/health"
	[ "$code" = 200 ] || fails=$((fails + 1))
done
check "10 requests after the crash all succeed ($fails failed)" test "$fails" -eq 0
check "master is still the same process" kill -0 "$tg_pid"

finish
