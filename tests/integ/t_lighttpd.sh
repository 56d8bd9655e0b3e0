#!/usr/bin/env bash
# t_lighttpd.sh: smoke test of tollgate spawned by lighttpd mod_fastcgi (bin-path).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" browser

test_begin lighttpd curl jq

stage_for_www
cp "$stage_bin" "$T/bin/tollgate-prefix"
spawn_confs

start_web start_lighttpd || bail "lighttpd starts"
wait_http "http://127.0.0.1:$PORT/health" || bail "lighttpd answers"

smoke "http://127.0.0.1:$PORT" "lighttpd /"
smoke "http://127.0.0.1:$PORT/tollgate" "lighttpd /tollgate/"
web_static "http://127.0.0.1:$PORT" "lighttpd /"
web_static "http://127.0.0.1:$PORT/tollgate" "lighttpd /tollgate/"
web_signin "http://127.0.0.1:$PORT" "lighttpd /"
web_signin "http://127.0.0.1:$PORT/tollgate" "lighttpd /tollgate/"

# lighttpd's own refusals are JSON, not its HTML pages (issue 15 item 9).
# lighttpd closes a body shorter than its Content-Length after server.max-read-idle, unanswered.
web_errors "http://127.0.0.1:$PORT" "lighttpd /" close-ok
for f in "$TOLLGATE_SRCDIR"/www/errors/*.json; do
	check "www/errors: $(basename "${f%.json}").html (lighttpd's name) is the same as the .json" \
		cmp -s "$f" "${f%.json}.html"
done
web_down "http://127.0.0.1:$PORT/_dead/health" "lighttpd, a backend not running"

finish
