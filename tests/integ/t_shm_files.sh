#!/usr/bin/env bash
# t_shm_files.sh: tollgate's shared-memory files and FastCGI socket are its own: the files are
# created 0600, a symlink or a file of the wrong size or owner in their place makes the start
# fail with a clear log line and is left untouched, and the socket has listen_mode from the
# moment it exists (umask at bind, not chmod after).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin stat timeout
mkdir -p "$T/run"
CONF=$T/tg.conf
LOG=$T/log/tollgate.log
tg_conf "$CONF" server.listen_mode=0660 server.workers=1

# start_fails DESC: serve must exit non-zero within 15 s (124 would be: it kept running).
start_fails() {
	local rc=0
	: >"$LOG"
	timeout 15 "$TOLLGATE_BIN" -c "$CONF" serve >"$T/log/serve.out" 2>&1 || rc=$?
	check "$1: serve exits non-zero at start (rc $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
	check "  and leaves no socket" test ! -e "$T/run/tollgate.sock"
}

# A symlink where the rate file goes: the target is never opened for writing.
printf 'precious\n' >"$T/target"
ln -s "$T/target" "$T/run/tollgate-rate.shm"
start_fails "a symlinked tollgate-rate.shm"
check "  the target is untouched" test "$(cat "$T/target")" = precious
check "  the target keeps its size" test "$(stat -c %s "$T/target")" = 9
check "  the log names the file and why" log_has 'tollgate-rate.shm.*symbolic link'
rm -f "$T/run/tollgate-rate.shm"

# A file of the wrong size: refused, not truncated.
head -c 123 /dev/urandom >"$T/run/tollgate-pool.shm"
cp "$T/run/tollgate-pool.shm" "$T/pool.copy"
start_fails "a tollgate-pool.shm of 123 bytes"
check "  the file is unchanged" cmp -s "$T/run/tollgate-pool.shm" "$T/pool.copy"
check "  the log says the size is wrong" log_has 'tollgate-pool.shm.*123 bytes'
rm -f "$T/run/tollgate-pool.shm"

# A file someone else owns (only testable as root: chown to nobody).
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	: >"$T/run/tollgate-rate.shm"
	chown nobody "$T/run/tollgate-rate.shm"
	start_fails "a tollgate-rate.shm owned by nobody"
	check "  the log says the owner is wrong" log_has 'tollgate-rate.shm.*owned by'
	check "  the file keeps its owner and size" test "$(stat -c '%U %s' "$T/run/tollgate-rate.shm")" = "nobody 0"
	rm -f "$T/run/tollgate-rate.shm"
else
	note "not root: the foreign-owner case is skipped"
fi

# A clean start: every shm file 0600 and ours, the socket 0660.
start_tollgate tollgate "$CONF" || bail "tollgate starts"
for f in rate pool cache; do
	p=$T/run/tollgate-$f.shm
	wait_for "$p" 10 test -f "$p" || true
	check "tollgate-$f.shm is 0600 ($(stat -c %a "$p" 2>/dev/null))" test "$(stat -c %a "$p" 2>/dev/null)" = 600
	check "  owned by us" test "$(stat -c %u "$p" 2>/dev/null)" = "$(id -u)"
done
check "the socket is 0660 ($(stat -c %a "$T/run/tollgate.sock"))" test "$(stat -c %a "$T/run/tollgate.sock")" = 660
kill -TERM "$tg_pid"
wait_for "master exit" 10 gone "$tg_pid" || true

# The mode comes from the umask at bind: no chmod of the socket after it exists.
if command -v strace >/dev/null 2>&1 && strace -o /dev/null true 2>/dev/null; then
	start_bg straced strace -f -o "$T/strace.out" -e trace=umask,bind,chmod,fchmodat \
		"$TOLLGATE_BIN" -c "$CONF" serve
	wait_for "socket under strace" 15 test -S "$T/run/tollgate.sock" || true
	sleep 0.5
	# The master is strace's child; it stops on SIGTERM and strace with it.
	kill -TERM "$(children "$bg_pid" | head -1)" 2>/dev/null || true
	wait_for "straced master exit" 10 gone "$bg_pid" || true
	check "the socket is bound once" test "$(grep -c 'bind(.*tollgate.sock' "$T/strace.out")" = 1
	check "  with umask 0117 set just before" sh -c "grep -B1 'bind(.*tollgate.sock' '$T/strace.out' | head -1 | grep -q 'umask(0117)'"
	check "  and never chmod-ed" sh -c "! grep -Eq 'chmod(at)?\\(.*tollgate.sock' '$T/strace.out'"
else
	note "no working strace: the umask-at-bind check is skipped"
fi

# A file left 0660 by an older tollgate (right size, ours) is taken and tightened.
chmod 0660 "$T/run/tollgate-rate.shm"
start_tollgate tollgate "$CONF" || bail "tollgate starts over an old 0660 file"
check "an old 0660 tollgate-rate.shm is now 0600" test "$(stat -c %a "$T/run/tollgate-rate.shm")" = 600

finish
