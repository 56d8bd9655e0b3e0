#!/usr/bin/env bash
# t_spawn_fcgi.sh: spawned mode under spawn-fcgi (fd 0 is the listening socket), nginx in front.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin spawn-fcgi nginx curl jq

CONF=$T/tg.conf
SOCK=$T/run/spawn.sock
SOCK_PREFIX=$SOCK
SOCK_NODB=$SOCK
# server.listen points elsewhere on purpose: in spawned mode it must be ignored.
tg_conf "$CONF" "server.listen=unix:$T/run/not-used.sock" "server.pid_file="

# -n: spawn-fcgi binds the socket and execs tollgate in place (no fork), so the background pid
# is tollgate itself. The config comes from TOLLGATE_CONF, as under mod_fcgid.
start_bg spawn env TOLLGATE_CONF="$CONF" spawn-fcgi -n -s "$SOCK" -M 0666 -- "$TOLLGATE_BIN"
app=$bg_pid
wait_for "spawn socket" 10 test -S "$SOCK" || bail "spawn-fcgi creates $SOCK"
start_web start_nginx || bail "nginx starts"
URL=http://127.0.0.1:$PORT
wait_for "$URL/health" 15 sh -c "curl -s -o /dev/null -m 2 -w '%{http_code}' $URL/health | grep -q 200" ||
	bail "$URL/health answers 200"

http GET "$URL/health"
check "spawn-fcgi: GET /health is 200" status_is 200
check "spawn-fcgi: database reachable" json_is '.database.reachable == true'
http GET "$URL/_debug/pid"
check "spawn-fcgi: the request is served by the spawned process itself" \
	json_is ".pid == $app"
check "spawn-fcgi: no master, no forked workers" test -z "$(children "$app")"
check "spawn-fcgi: server.listen ignored" test ! -e "$T/run/not-used.sock"
http GET "$URL/no/such/route"
check "spawn-fcgi: unknown path is 404 JSON" json_is '.error.code == "not_found"'

# A few requests in a row on the one slot.
fails=0
for i in $(seq 5); do
	http GET "$URL/health"
	[ "$code" = 200 ] || fails=$((fails + 1))
done
check "spawn-fcgi: 5 sequential requests ($fails failed)" test "$fails" -eq 0

finish
