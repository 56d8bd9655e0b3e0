#!/usr/bin/env bash
# t_apache_fcgid.sh: smoke test of tollgate spawned by Apache mod_fcgid (as www-data).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_db
need_bin
need_cmd apache2 curl jq
[ -f /usr/lib/apache2/modules/mod_fcgid.so ] || skip "mod_fcgid not installed"
make_tmp

# www-data must reach the binary, www/, the configs and the DB socket; see stage_for_www.
stage_for_www
cp "$stage_bin" "$T/bin/tollgate-prefix"
# mod_fcgid binds its per-process sockets here as the server user.
mkdir -p "$T/fcgid"
chown "$(www_user)" "$T/fcgid"
CONF=$T/root.conf
CONF_PREFIX=$T/prefix.conf
# Spawned mode ignores server.listen; the password is inline because www-data cannot read a
# root-only password file.
tg_conf "$CONF" "http.www_dir=$T/www" "server.run_dir=$T/wrun" "log.file=$T/wlog/root.log" \
	"server.pid_file="
tg_conf "$CONF_PREFIX" "http.www_dir=$T/www" "server.run_dir=$T/wrun" \
	"log.file=$T/wlog/prefix.log" "server.pid_file=" "server.mount_prefix=/tollgate"
chmod 0644 "$CONF" "$CONF_PREFIX"

start_web start_apache "$integ_dir/apache-fcgid.conf.in" || bail "apache2 (mod_fcgid) starts"
wait_http "http://127.0.0.1:$PORT/health" || bail "apache2 answers"

smoke "http://127.0.0.1:$PORT" "fcgid /"
smoke "http://127.0.0.1:$PORT/tollgate" "fcgid /tollgate/"

# The spawned processes must be tollgate in spawned mode, running as the server user.
owner=$(ps -o user= -p "$(pgrep -f -- "$T/bin/tollgate" | head -n 1)" 2>/dev/null || true)
check "fcgid: spawned tollgate runs as $(www_user)" test "$owner" = "$(www_user)"

finish
