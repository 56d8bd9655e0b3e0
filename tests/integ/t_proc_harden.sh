#!/usr/bin/env bash
# t_proc_harden.sh: processes that hold secrets keep them in: no core files (RLIMIT_CORE 0,
# not dumpable) and TOLLGATE_MASTER_KEY gone from the environment once read, in the master,
# its workers, and a CGI process.  Keys still open (a chat works).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack harden server.workers=2
need_cmd prlimit

# env_clean PID: /proc/PID/environ (the block the kernel shows) has no master key, name or value.
env_clean() {
	! tr '\0' '\n' <"/proc/$1/environ" | grep -q -e TOLLGATE_MASTER_KEY -e "$TOLLGATE_MASTER_KEY"
}
core_zero() { [ "$(prlimit --core -o SOFT,HARD --noheadings -p "$1" | tr -s ' ' | sed 's/^ //')" = "0 0" ]; }

check "the master's environment has no TOLLGATE_MASTER_KEY" env_clean "$tg_pid"
check "the master may write no core ($(prlimit --core -o SOFT,HARD --noheadings -p "$tg_pid"))" core_zero "$tg_pid"
for w in $(children "$tg_pid"); do
	check "worker $w: no TOLLGATE_MASTER_KEY in /proc/$w/environ" env_clean "$w"
	check "worker $w: RLIMIT_CORE 0" core_zero "$w"
	check "worker $w: /proc/$w/limits agrees" grep -Eq '^Max core file size +0 +0 ' "/proc/$w/limits"
done

cp_admin hadm 10
chat "$ADMIN_KEY" '{"model":"test/cheap","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}'
check "the key still opens: a chat is 200 (got $code)" status_is 200

# A worker respawned after the key left the environment still opens keys.
w=$(children "$tg_pid" | head -1)
kill -KILL "$w"
wait_for "a new worker" 10 sh -c "[ \$(pgrep -P $tg_pid | wc -l) -eq 2 ] && ! pgrep -P $tg_pid | grep -qx $w"
chat "$ADMIN_KEY" '{"model":"test/cheap","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}'
check "after a respawn a chat is still 200 (got $code)" status_is 200
chat "$ADMIN_KEY" '{"model":"test/cheap","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}'
check "  and again, whichever worker answers (got $code)" status_is 200

# CGI mode: the process's environ and limits are read while it serves a slow request.
# (PR_SET_DUMPABLE is not visible to root, who may read any process; the code sets it with
# RLIMIT_CORE in main() before anything else.)
env REQUEST_METHOD=GET "REQUEST_URI=/_debug/sleep?ms=1500" "$TOLLGATE_BIN" -c "$CONF" \
	>"$T/cgi.out" 2>"$T/cgi.err" </dev/null &
cgi=$!
owned_pids+=("$cgi")
sleep 0.7
check "CGI process: no TOLLGATE_MASTER_KEY in its environ" env_clean "$cgi"
check "CGI process: RLIMIT_CORE 0" core_zero "$cgi"
wait "$cgi" || true
check "  and it answered the request" grep -q 'slept' "$T/cgi.out"

finish
