#!/usr/bin/env bash
# t_apache_fcgid.sh: smoke test of tollgate spawned by Apache mod_fcgid (as www-data).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" browser

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
spawn_confs
printf '#!/bin/sh\nexit 1\n' >"$T/bin/dead"
chmod 0755 "$T/bin/dead"

start_web start_apache "$integ_dir/apache-fcgid.conf.in" || bail "apache2 (mod_fcgid) starts"
wait_http "http://127.0.0.1:$PORT/health" || bail "apache2 answers"

smoke "http://127.0.0.1:$PORT" "fcgid /"
smoke "http://127.0.0.1:$PORT/tollgate" "fcgid /tollgate/"
web_static "http://127.0.0.1:$PORT" "fcgid /"
web_static "http://127.0.0.1:$PORT/tollgate" "fcgid /tollgate/"
web_signin "http://127.0.0.1:$PORT" "fcgid /"
web_signin "http://127.0.0.1:$PORT/tollgate" "fcgid /tollgate/"

# Apache's own refusals are JSON, not its HTML pages (issue 15 item 9).
web_errors "http://127.0.0.1:$PORT" "fcgid /" fcgid
web_down "http://127.0.0.1:$PORT/_dead/health" "fcgid, a backend that dies"

# The spawned processes must be tollgate in spawned mode, running as the server user.
owner=$(ps -o user= -p "$(pgrep -f -- "$T/bin/tollgate" | head -n 1)" 2>/dev/null || true)
check "fcgid: spawned tollgate runs as $(www_user)" test "$owner" = "$(www_user)"

finish
