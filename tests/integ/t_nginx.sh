#!/usr/bin/env bash
# t_nginx.sh: smoke test of standalone tollgate behind nginx (root mount, /tollgate/ mount, DB down),
# the dashboard and API reference served from www/ with their headers, and nginx's own errors
# (big header, big body, short body, backend down) as JSON.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" browser

test_begin nginx curl jq

SOCK=$T/run/root.sock
SOCK_PREFIX=$T/run/prefix.sock
SOCK_NODB=$T/run/nodb.sock
mkdir -p "$T/run/root" "$T/run/prefix" "$T/run/nodb" "$T/www"
# nginx's workers (nobody) serve the dashboard from www/: a copy they can read.
cp -R "$TOLLGATE_SRCDIR/www/." "$T/www/"
chmod -R a+rX "$T/www"
WWW_DIR=$T/www

# Three masters: the plain one, one mounted under /tollgate, one whose DB socket is missing.
tg_conf "$T/root.conf" "server.listen=unix:$SOCK" "server.pid_file=$T/run/root.pid" \
	"server.run_dir=$T/run/root" "log.file=$T/log/root.log"
tg_conf "$T/prefix.conf" "server.listen=unix:$SOCK_PREFIX" "server.pid_file=$T/run/prefix.pid" \
	"server.run_dir=$T/run/prefix" "log.file=$T/log/prefix.log" "server.mount_prefix=/tollgate"
tg_conf "$T/nodb.conf" "server.listen=unix:$SOCK_NODB" "server.pid_file=$T/run/nodb.pid" \
	"server.run_dir=$T/run/nodb" "log.file=$T/log/nodb.log" "server.mount_prefix=/nodb" \
	"db.socket=$T/run/no-such-mysqld.sock" "server.workers=1"

start_tollgate root "$T/root.conf" || bail "tollgate (root) starts"
start_tollgate prefix "$T/prefix.conf" || bail "tollgate (prefix) starts"
start_tollgate nodb "$T/nodb.conf" || bail "tollgate (no DB) starts"
start_web start_nginx || bail "nginx starts"
wait_http "http://127.0.0.1:$PORT/health" || bail "nginx answers"

smoke "http://127.0.0.1:$PORT" "nginx /"
smoke "http://127.0.0.1:$PORT/tollgate" "nginx /tollgate/"
web_static "http://127.0.0.1:$PORT" "nginx /"
web_static "http://127.0.0.1:$PORT/tollgate" "nginx /tollgate/"
web_signin "http://127.0.0.1:$PORT" "nginx /"
web_signin "http://127.0.0.1:$PORT/tollgate" "nginx /tollgate/"

http GET "http://127.0.0.1:$PORT/nodb/health"
check "nginx: /health with the DB socket missing is 503" status_is 503
check "nginx: /health says database unreachable" json_is '.database.reachable == false'
check "nginx: /health status is unavailable" json_is '.status == "unavailable"'

# nginx's own refusals are JSON, not its HTML pages (issue 15 item 9). nginx cannot answer a
# body shorter than its Content-Length: after client_body_timeout it closes.
web_errors "http://127.0.0.1:$PORT" "nginx /" close-ok
web_errors "http://127.0.0.1:$PORT/tollgate" "nginx /tollgate/" close-ok
# The /tollgate/ master stops: nginx answers for it.
prefix_pid=$(cat "$T/run/prefix.pid")
kill -TERM "$prefix_pid"
wait_for "the /tollgate/ master exits" 10 gone "$prefix_pid" || bail "tollgate (prefix) stops"
web_down "http://127.0.0.1:$PORT/tollgate/health" "nginx /tollgate/ stopped"
http GET "http://127.0.0.1:$PORT/health"
check "nginx: / still answers 200" status_is 200

finish
