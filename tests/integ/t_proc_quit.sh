#!/usr/bin/env bash
# t_proc_quit.sh: SIGQUIT lets an in-flight request finish, then the master exits.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq
stack_up server.workers=2

bg_get sleep "/_debug/sleep?ms=2000"
sleep 0.5
kill -QUIT "$tg_pid"
wait "$bg_curl" || true
check "in-flight request completes with 200 (got $(cat "$T/sleep.code"))" \
	test "$(cat "$T/sleep.code")" = 200
check "in-flight request body is the sleep answer" jq_file "$T/sleep.body" '.slept_ms == 2000'
check "master exits after the request" wait_for "master exit" 10 gone "$tg_pid"
check "no tollgate process left" wait_for "group gone" 5 sh -c "! kill -0 -- -$tg_pid"
check "log shows the worker exiting normally" log_has "exited with code 0"

finish
