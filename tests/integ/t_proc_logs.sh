#!/usr/bin/env bash
# t_proc_logs.sh: SIGUSR1 reopens the logs in the master and every worker (logrotate's way).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq
stack_up server.workers=2 server.threads=1 "log.access_file=$T/log/access.log"
ACCESS=$T/log/access.log

http GET "$URL/health"
check "access line written before rotation" log_has "access: GET /health 200" "$ACCESS"
check "access lines stay out of the error log" sh -c "! grep -q 'access: ' '$LOG'"

# logrotate: rename, then signal; until the signal the old files keep receiving lines.
mv "$LOG" "$LOG.1"
mv "$ACCESS" "$ACCESS.1"
kill -USR1 "$tg_pid"
check "new error log created" wait_for "$LOG" 5 test -e "$LOG"
check "new access log created" wait_for "$ACCESS" 5 test -e "$ACCESS"
for i in $(seq 10); do
	http GET "$URL/_debug/pid"
done
# Every worker must have reopened, whichever served the requests above.
for p in $(children "$tg_pid"); do
	check "worker $p holds the new access log, not the rotated one" \
		sh -c "ls -l /proc/$p/fd | grep -q '$ACCESS\$' && ! ls -l /proc/$p/fd | grep -q '$ACCESS.1'"
done
check "requests after the rotation land in the new access log" \
	log_has "access: GET /_debug/pid 200" "$ACCESS"
check "nothing lands in the rotated access log after the signal" \
	sh -c "! grep -q '_debug/pid' '$ACCESS.1'"
check "master writes to the new error log" sh -c "kill -HUP $tg_pid; sleep 0.5; grep -q reloading '$LOG'"

finish
