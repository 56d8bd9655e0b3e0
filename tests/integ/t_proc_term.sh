#!/usr/bin/env bash
# t_proc_term.sh: SIGTERM stops the master and all workers fast, even with a request in flight.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq
# stop_timeout = 3: an in-flight request may delay the stop by at most that.
stack_up server.workers=2 server.stop_timeout=3

bg_get sleep "/_debug/sleep?ms=20000"
sleep 0.5
start=$SECONDS
kill -TERM "$tg_pid"
check "master exits within stop_timeout + 2s" wait_for "master exit" 5 gone "$tg_pid"
check "no tollgate process left" wait_for "group gone" 2 sh -c "! kill -0 -- -$tg_pid"
note "stopped after about $((SECONDS - start))s"
wait "$bg_curl" || true
check "the cut request did not get a 200" test "$(cat "$T/sleep.code")" != 200

# Idle: the stop must be near-immediate.
start_tollgate tollgate2 "$CONF" || bail "tollgate restarts"
kill -TERM "$tg_pid"
check "idle master exits within 2s" wait_for "idle master exit" 2 gone "$tg_pid"
check "idle: no tollgate process left" wait_for "group gone" 2 sh -c "! kill -0 -- -$tg_pid"

finish
