#!/usr/bin/env bash
# t_lighttpd.sh: smoke test of tollgate spawned by lighttpd mod_fastcgi (bin-path).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_db
need_bin
need_cmd lighttpd curl jq
make_tmp

stage_for_www
cp "$stage_bin" "$T/bin/tollgate-prefix"
CONF=$T/root.conf
CONF_PREFIX=$T/prefix.conf
tg_conf "$CONF" "http.www_dir=$T/www" "server.run_dir=$T/wrun" "log.file=$T/wlog/root.log" \
	"server.pid_file="
tg_conf "$CONF_PREFIX" "http.www_dir=$T/www" "server.run_dir=$T/wrun" \
	"log.file=$T/wlog/prefix.log" "server.pid_file=" "server.mount_prefix=/tollgate"
chmod 0644 "$CONF" "$CONF_PREFIX"

start_web start_lighttpd || bail "lighttpd starts"
wait_http "http://127.0.0.1:$PORT/health" || bail "lighttpd answers"

smoke "http://127.0.0.1:$PORT" "lighttpd /"
smoke "http://127.0.0.1:$PORT/tollgate" "lighttpd /tollgate/"

finish
