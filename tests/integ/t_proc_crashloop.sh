#!/usr/bin/env bash
# t_proc_crashloop.sh: workers that keep crashing are respawned with back-off, not in a spin.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq
NEXT_UPSTREAM=off
stack_up server.workers=1 server.threads=1 server.respawn_threshold=3 \
	server.respawn_interval=60

# Two crashes: under the threshold, each worker is replaced at once.
for i in 1 2; do
	http GET "$URL/_debug/crash"
	check "crash $i: the client gets 502 (got $code)" status_is 502
	check "crash $i: a worker is back" wait_for "worker" 5 has_children "$tg_pid"
	wait_for "healthy" 5 health_ok || true
done
check "abnormal exits are logged with the signal" \
	log_has "exited on signal 6 \\(SIGABRT"
check "no back-off below the threshold" sh -c "! grep -q 'crash loop' '$LOG'"

# The third crash within the interval trips the guard.
http GET "$URL/_debug/crash"
check "crash 3: 502 (got $code)" status_is 502
check "the crash-loop guard is logged" \
	wait_for "crash loop log" 5 log_has "crash loop: 3 abnormal worker exits in 60s; delaying respawn by 1s"
# The back-off delays the respawn, then the pool is whole again.
check "the pool recovers after the back-off" wait_for "healthy" 15 health_ok
check "one worker again" test "$(nworkers)" -eq 1

# A fourth crash doubles the delay.
http GET "$URL/_debug/crash"
check "a repeated crash doubles the back-off" \
	wait_for "2s back-off" 5 log_has "delaying respawn by 2s"
check "and still recovers" wait_for "healthy" 15 health_ok
check "the master never died" kill -0 "$tg_pid"

finish
