#!/usr/bin/env bash
# t_proc_reload.sh: SIGHUP with a broken config keeps serving; with a valid one applies it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl jq
# A killed worker must show as an error, not as nginx retrying the GET elsewhere.
NEXT_UPSTREAM=off
stack_up server.workers=2

before=$(children "$tg_pid" | tr '\n' ' ')
cp "$CONF" "$T/good.conf"

# Broken: the old config must keep serving and the error must be logged.
sed 's/^workers = 2$/workers = banana/' "$T/good.conf" >"$CONF"
grep -q 'banana' "$CONF" || bail "could not write the broken config"
kill -HUP "$tg_pid"
check "broken config: error logged with file:line" \
	wait_for "reload error" 5 log_has "$CONF:[0-9]+:.*banana"
sleep 1
fails=0
for i in $(seq 5); do
	http GET "$URL/health"
	[ "$code" = 200 ] || fails=$((fails + 1))
done
check "broken config: still serving ($fails of 5 failed)" test "$fails" -eq 0
check "broken config: master alive" kill -0 "$tg_pid"
check "broken config: workers untouched" test "$(children "$tg_pid" | tr '\n' ' ')" = "$before"

# Valid and changed: workers 2 -> 3, a new generation replaces the old one.
sed 's/^workers = 2$/workers = 3/' "$T/good.conf" >"$CONF"
kill -HUP "$tg_pid"
# The old generation drains while the new one starts, so wait for the final state: exactly
# 3 workers, none of them from before.
reloaded() {
	local now p
	now=$(children "$tg_pid")
	[ "$(echo "$now" | grep -c .)" -eq 3 ] || return 1
	for p in $before; do
		echo "$now" | grep -qx "$p" && return 1
	done
	return 0
}
check "valid config: 3 new workers replace the old 2" wait_for "new generation" 15 reloaded
note "workers before: $before; after: $(children "$tg_pid" | tr '\n' ' ')"
http GET "$URL/health"
check "valid config: serving after reload" status_is 200

# A reload lets in-flight requests finish on the old generation.
bg_get slow "/_debug/sleep?ms=2000"
sleep 0.5
kill -HUP "$tg_pid"
wait "$bg_curl" || true
check "a request in flight during a reload completes with 200 ($(cat "$T/slow.code"))" \
	test "$(cat "$T/slow.code")" = 200

# ...but only for graceful_timeout: a worker still busy after it is killed.
sed 's/^graceful_timeout = .*/graceful_timeout = 2/' "$CONF" >"$T/short.conf"
cp "$T/short.conf" "$CONF"
kill -HUP "$tg_pid"
wait_for "short grace applied" 10 log_has "reloaded: generation 4" || true
bg_get stuck "/_debug/sleep?ms=20000"
sleep 0.5
kill -HUP "$tg_pid"
check "an old worker busy past graceful_timeout is killed" \
	wait_for "overdue kill" 10 log_has "still busy 2s after the reload; killing it"
wait "$bg_curl" || true
check "its request ends with an error, not a hang ($(cat "$T/stuck.code"))" \
	test "$(cat "$T/stuck.code")" != 200 -a "$(cat "$T/stuck.code")" != 000
http GET "$URL/health"
check "serving after the forced reload" status_is 200

finish
