#!/usr/bin/env bash
# t_proc_door.sh: a full door makes room by dropping the kept connections the web server has
# closed, never a live one (closing a live one that has a request on its way is a 502).
# fcgi_keep (tests/integ/fcgi_keep.c) speaks FastCGI with FCGI_KEEP_CONN straight to the
# socket: 8 live connections parked first (a web server's keep-alive cache), 248 more parked
# (the door holds 256), every slot asleep so nobody polls the door, the 248 closed, then the
# sleeps' connections parked into the full door; the live connections must still be answered.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx
KEEP=$TOLLGATE_BUILDDIR/tests/integ/fcgi_keep
[ -x "$KEEP" ] || skip "$KEEP not built"
# One process, so every connection meets the same door; 4 slots to put to sleep.
stack_up server.workers=1 server.threads=4

# The queue of connections not yet accepted: a burst larger than it is 502s from the web
# server (a unix socket refuses at once), so the default leaves room (4096, or somaxconn).
max=$(cat /proc/sys/net/core/somaxconn)
want=$((max < 4096 ? max : 4096))
check "the listening socket queues $want connections by default" \
	test "$(ss -Hxl src "$SOCK" 2>/dev/null | awk '{print $4; exit}')" = "$want"

rc=0
"$KEEP" "$SOCK" 8 248 4 >"$T/keep.out" 2>&1 || rc=$?
while read -r line; do note "$line"; done <"$T/keep.out"
check "every request answered 200, the live connections after the full door made room" \
	test "$rc" -eq 0
check "all 8 live connections answered again" \
	grep -q '^live connections asked again: 8 of 8 answered 200$' "$T/keep.out"
check "tollgate logged no error" sh -c "! grep -q ' ERROR ' '$LOG'"
finish
