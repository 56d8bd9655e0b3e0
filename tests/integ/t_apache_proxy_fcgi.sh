#!/usr/bin/env bash
# t_apache_proxy_fcgi.sh: smoke test of standalone tollgate behind Apache mod_proxy_fcgi.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" browser

need_db
need_bin
need_cmd apache2 curl jq
[ -f /usr/lib/apache2/modules/mod_proxy_fcgi.so ] || skip "mod_proxy_fcgi not installed"
make_tmp

SOCK=$T/run/root.sock
SOCK_PREFIX=$T/run/prefix.sock
mkdir -p "$T/run/root" "$T/run/prefix" "$T/www"
# The error documents (www/errors) must be readable by the server user.
cp -R "$TOLLGATE_SRCDIR/www/." "$T/www/"
chmod -R a+rX "$T/www"

tg_conf "$T/root.conf" "server.listen=unix:$SOCK" "server.pid_file=$T/run/root.pid" \
	"server.run_dir=$T/run/root" "log.file=$T/log/root.log"
tg_conf "$T/prefix.conf" "server.listen=unix:$SOCK_PREFIX" "server.pid_file=$T/run/prefix.pid" \
	"server.run_dir=$T/run/prefix" "log.file=$T/log/prefix.log" "server.mount_prefix=/tollgate"

start_tollgate root "$T/root.conf" || bail "tollgate (root) starts"
start_tollgate prefix "$T/prefix.conf" || bail "tollgate (prefix) starts"
start_web start_apache "$integ_dir/apache-proxy_fcgi.conf.in" || bail "apache2 (mod_proxy_fcgi) starts"
wait_http "http://127.0.0.1:$PORT/health" || bail "apache2 answers"

smoke "http://127.0.0.1:$PORT" "proxy_fcgi /"
smoke "http://127.0.0.1:$PORT/tollgate" "proxy_fcgi /tollgate/"
web_static "http://127.0.0.1:$PORT" "proxy_fcgi /"
web_static "http://127.0.0.1:$PORT/tollgate" "proxy_fcgi /tollgate/"
web_signin "http://127.0.0.1:$PORT" "proxy_fcgi /"
web_signin "http://127.0.0.1:$PORT/tollgate" "proxy_fcgi /tollgate/"

# Apache's own refusals are JSON, not its HTML pages (issue 15 item 9).
web_errors "http://127.0.0.1:$PORT" "proxy_fcgi /"
prefix_pid=$(cat "$T/run/prefix.pid")
kill -TERM "$prefix_pid"
wait_for "the /tollgate/ master exits" 10 gone "$prefix_pid" || bail "tollgate (prefix) stops"
web_down "http://127.0.0.1:$PORT/tollgate/health" "proxy_fcgi /tollgate/ stopped"

finish
