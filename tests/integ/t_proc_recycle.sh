#!/usr/bin/env bash
# t_proc_recycle.sh: server.max_requests recycles workers (exit code 0, new pids, no errors).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq
stack_up server.workers=2 server.threads=1 server.max_requests=5

fails=0
: >"$T/pids"
for i in $(seq 20); do
	http GET "$URL/_debug/pid"
	if [ "$code" = 200 ]; then
		jq -r .pid "$T/body" >>"$T/pids"
	else
		fails=$((fails + 1))
	fi
done
distinct=$(sort -u "$T/pids" | wc -l)
check "20 requests, no errors across recycling ($fails failed)" test "$fails" -eq 0
check "more distinct worker pids ($distinct) than workers (2)" test "$distinct" -gt 2
check "log shows workers exiting with code 0 after 5 requests" \
	log_has "exited with code 0 after [0-9.]+s, 5 requests"
check "pool back at 2 workers" wait_for "2 workers" 10 sh -c "[ \$(pgrep -P $tg_pid | wc -l) -eq 2 ]"

finish
