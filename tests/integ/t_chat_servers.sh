#!/usr/bin/env bash
# t_chat_servers.sh: chat behind each web server the project supports: nginx and Apache
# mod_proxy_fcgi (standalone tollgate), Apache mod_fcgid and lighttpd (spawned tollgate).
# A non-stream chat works and is charged; a stream of 20 deltas paced 100 ms apart arrives
# as it is produced (the first event at least 1 s before the last), i.e. nothing buffers.
# A server whose package is missing is skipped; with none at all the test is skipped.
# shellcheck disable=SC2317,SC2119,SC2034 # helpers via check/wait_for; render reads variables
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

need_db
need_bin
need_mock
need_cmd curl jq mariadb

have_nginx=0 have_proxy=0 have_fcgid=0 have_lighttpd=0
command -v nginx >/dev/null 2>&1 && have_nginx=1
if command -v apache2 >/dev/null 2>&1; then
	[ -f /usr/lib/apache2/modules/mod_proxy_fcgi.so ] && have_proxy=1
	[ -f /usr/lib/apache2/modules/mod_fcgid.so ] && have_fcgid=1
fi
command -v lighttpd >/dev/null 2>&1 && have_lighttpd=1
[ $((have_nginx + have_proxy + have_fcgid + have_lighttpd)) -gt 0 ] ||
	skip "none of nginx, apache2 (mod_proxy_fcgi, mod_fcgid), lighttpd installed"

make_tmp
chat_backend servers

# --- configs ------------------------------------------------------------------------------
# www-data (spawned mode) must reach the binary, www/, configs, the DB socket and the master
# key; the environment's TOLLGATE_MASTER_KEY need not survive mod_fcgid or lighttpd.
stage_for_www
cp "$stage_bin" "$T/bin/tollgate-prefix"
mkdir -p "$T/fcgid"
chown "$(www_user)" "$T/fcgid"
printf '%s\n' "$TOLLGATE_MASTER_KEY" >"$T/wrun/master.key"
chown "$(www_user)" "$T/wrun/master.key"
chmod 0600 "$T/wrun/master.key"
printf '%s\n' "$TOLLGATE_MASTER_KEY" >"$T/run/master.key"
chmod 0600 "$T/run/master.key"

# Spawned mode (fcgid, lighttpd): the templates run two classes, / and /tollgate/.
CONF=$T/root.conf
CONF_PREFIX=$T/prefix.conf
tg_conf "$CONF" "db.name=$SCRATCH" "http.www_dir=$T/www" "server.run_dir=$T/wrun" \
	"log.file=$T/wlog/root.log" "server.pid_file=" "security.master_key_file=$T/wrun/master.key"
tg_conf "$CONF_PREFIX" "db.name=$SCRATCH" "http.www_dir=$T/www" "server.run_dir=$T/wrun" \
	"log.file=$T/wlog/prefix.log" "server.pid_file=" "server.mount_prefix=/tollgate" \
	"security.master_key_file=$T/wrun/master.key"
chmod 0644 "$CONF" "$CONF_PREFIX"

# Standalone (nginx, proxy_fcgi): one master; the templates' other sockets point at it too.
SA_CONF=$T/sa.conf
SA_SOCK=$T/run/sa.sock
mkdir -p "$T/run/sa"
tg_conf "$SA_CONF" "db.name=$SCRATCH" "server.listen=unix:$SA_SOCK" "server.pid_file=$T/run/sa.pid" \
	"server.run_dir=$T/run/sa" "log.file=$T/log/sa.log" "server.workers=2" "server.threads=4" \
	"security.master_key_file=$T/run/master.key"
if [ $((have_nginx + have_proxy)) -gt 0 ]; then
	start_tollgate sa "$SA_CONF" || bail "standalone tollgate starts"
fi

# The paying user, made with the CLI on the scratch database.
U_EMAIL="servers-$CP_U@example.com"
# (migrate.conf logs to stderr: a root-owned wlog/root.log would lock out www-data.)
KEY=$("$TOLLGATE_BIN" -c "$T/migrate.conf" admin create-user --email "$U_EMAIL" --credits 5 2>"$T/log/create-user.err") || true
key_format "$KEY" || bail "admin create-user prints a key (got '$KEY'; $(head -c 300 "$T/log/create-user.err"))"
UPUB=$(sql "$SCRATCH" -e "SELECT public_id FROM users WHERE email = '$U_EMAIL'")
UID_=$(sql "$SCRATCH" -e "SELECT id FROM users WHERE email = '$U_EMAIL'")

# --- helpers ------------------------------------------------------------------------------

num() { if [[ ${1:-} =~ ^[0-9]+$ ]]; then echo "$1"; else echo 0; fi; }
balance() { sql "$SCRATCH" -e "SELECT balance FROM accounts WHERE user_id = $UID_" || true; }
# now_us: wall clock in microseconds, without a fork.
now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# timed_sse URL BODY OUT: a streamed chat; every line of the body goes to OUT prefixed with its
# arrival time in microseconds (stamped as curl hands it over; curl -N does not buffer).
# OUT.hdr gets the headers, OUT.start the time the request was sent.
timed_sse() {
	local url=$1 body=$2 out=$3
	now_us >"$out.start"
	curl -sN -m 30 -D "$out.hdr" "${AUTH[@]}" -H 'Content-Type: application/json' \
		--data-binary "$body" "$url" 2>"$out.err" |
		while IFS= read -r line; do
			printf '%s %s\n' "${EPOCHREALTIME/[.,]/}" "${line%$'\r'}"
		done >"$out"
}

# exercise LABEL BASE: the checks behind one server at BASE (http://127.0.0.1:PORT).
exercise() {
	local l=$1 base=$2 b0 b1 c1 c2 out start first last n early gap
	wait_http "$base/health" || {
		not_ok "$l: answers /health"
		dump_logs
		return 0
	}
	b0=$(balance)

	# Non-stream. "hello there": prompt 4 + 2 = 6; default reply 12 words.
	local nb='{"model":"test/cheap","max_tokens":20,"messages":[{"role":"user","content":"hello there"}]}'
	AUTH=(-H "Authorization: Bearer $KEY")
	http POST "$base/v1/chat/completions" "${AUTH[@]}" -H 'Content-Type: application/json' \
		--data-binary "$nb"
	# What every OpenAI client sends; Apache drops it unless told to pass it (CGIPassAuth).
	check "$l: Authorization: Bearer reaches tollgate (not 401)" test "$code" != 401
	if [ "$code" = 401 ]; then
		note "$l: the server dropped Authorization; the other checks use X-API-Key"
		AUTH=(-H "X-API-Key: $KEY")
		http POST "$base/v1/chat/completions" "${AUTH[@]}" -H 'Content-Type: application/json' \
			--data-binary "$nb"
	fi
	check "$l: non-stream chat -> 200" status_is 200
	check "$l: the mock's reply" json_is \
		'.choices[0].message.content == "mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10"'
	check "$l: usage 6 + 12 tokens with cost; gateway_usage" json_is \
		'.usage.prompt_tokens == 6 and .usage.completion_tokens == 12 and (.usage.cost|type) == "number" and .gateway_usage.provider == "mock"'
	c1=$(to_n "$(hdr x-tollgate-cost)")
	check "$l: x-tollgate-cost = the contract's charge ($c1 nano)" test "$c1" = "$(charge_cheap 6 12)"
	check "$l: x-tollgate-provider mock, x-request-id set" \
		test "$(hdr x-tollgate-provider)" = mock -a -n "$(hdr x-request-id)"

	# Stream: role chunk at once, then 20 deltas, the finish and usage chunks and [DONE], each
	# 100 ms after the previous: about 2.3 s from first to last. "count slowly": prompt 6.
	out=$T/sse-$l
	timed_sse "$base/v1/chat/completions" \
		'{"model":"test/cheap","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"count slowly [mock:words=20,pace=100]"}]}' \
		"$out"
	tr -d '\r' <"$out.hdr" >"$out.h"
	# A failed check shows this exchange, not the non-stream one.
	last_req="SSE stream behind $l"
	code=$(sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$out.h" | tail -n 1)
	sed 's/^\([A-Za-z-]*\):/\L\1:/' "$out.h" >"$T/hdr"
	cp "$out" "$T/body"
	cp "$out.err" "$T/curl.err" 2>/dev/null || true
	check "$l: stream -> 200" grep -q '^HTTP/[0-9.]* 200' "$out.h"
	check "$l: stream is text/event-stream" grep -qi '^content-type: *text/event-stream' "$out.h"
	sed -n 's/^[0-9]* data: //p' "$out" >"$out.events"
	check "$l: all 20 deltas arrived in order" test "$(grep -v '^\[DONE\]$' "$out.events" |
		jq -rj '.choices[0].delta.content? // empty' 2>/dev/null)" = \
		"mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10 word11 word12 word13 word14 word15 word16 word17 word18"
	check "$l: the stream ends with [DONE]" test "$(tail -n 1 "$out.events")" = '[DONE]'
	c2=$(to_n "$(grep -v '^\[DONE\]$' "$out.events" | jq -r 'select(.gateway_usage != null) | .gateway_usage.cost' 2>/dev/null | tail -n 1)")
	check "$l: the usage chunk's cost = the contract's charge ($c2 nano)" \
		test "$c2" = "$(charge_cheap 6 20)"

	start=$(cat "$out.start")
	first=$(awk '$2 == "data:" {print $1; exit}' "$out")
	last=$(awk '$2 == "data:" {t = $1} END {print t}' "$out")
	n=$(awk '$2 == "data:"' "$out" | grep -c . || true)
	if [ -z "$first" ] || [ -z "$last" ]; then
		not_ok "$l: no data events to time ($(head -c 300 "$out.err"))"
		return 0
	fi
	gap=$(((last - first) / 1000))
	early=$(awk -v last="$last" '$2 == "data:" && $1 <= last - 1000000' "$out" | grep -c . || true)
	note "$l: $n data events; first after $(((first - start) / 1000)) ms, last $gap ms after the first; $early arrived >= 1 s before the last"
	check "$l: the first event arrives at once (< 1500 ms, the stream takes ~2300)" \
		test $(((first - start) / 1000)) -lt 1500
	check "$l: the first event arrives >= 1 s before the last ($gap ms)" test "$gap" -ge 1000
	check "$l: events trickle in: >= 5 arrived >= 1 s before the last ($early)" test "$early" -ge 5

	wait_for "$l: holds settled" 10 no_open "$UID_" || true
	b1=$(balance)
	check "$l: the balance went down by exactly both charges ($((b0 - b1)) = $c1 + $c2)" \
		test $((b0 - b1)) = $(($(num "$c1") + $(num "$c2")))
}

# stop_last_server PIDFILE: stops the newest server group we own (the one just exercised),
# and whatever tollgate it spawned, so the next server starts clean.
stop_last_server() {
	local pid
	stop_groups "${owned_pgids[-1]}"
	[ -z "${1:-}" ] || rm -f "$1"
	for pid in $(pgrep -f -- "$T/bin/tollgate" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

# --- the servers --------------------------------------------------------------------------

SOCK=$SA_SOCK
SOCK_PREFIX=$SA_SOCK
SOCK_NODB=$SA_SOCK
# POSTs are never retried by nginx anyway; make it explicit.
NEXT_UPSTREAM=off

if [ "$have_nginx" = 1 ]; then
	if start_web start_nginx; then
		exercise nginx "http://127.0.0.1:$PORT"
		stop_last_server "$T/run/nginx.pid"
	else
		not_ok "nginx starts"
		dump_logs
	fi
else
	note "SKIP nginx: not installed"
fi

if [ "$have_proxy" = 1 ]; then
	if start_web start_apache "$integ_dir/apache-proxy_fcgi.conf.in"; then
		exercise proxy_fcgi "http://127.0.0.1:$PORT"
		stop_last_server "$T/run/apache.pid"
	else
		not_ok "apache2 (mod_proxy_fcgi) starts"
		dump_logs
	fi
else
	note "SKIP Apache mod_proxy_fcgi: not installed"
fi

if [ "$have_fcgid" = 1 ]; then
	if start_web start_apache "$integ_dir/apache-fcgid.conf.in"; then
		exercise fcgid "http://127.0.0.1:$PORT"
		stop_last_server "$T/run/apache.pid"
	else
		not_ok "apache2 (mod_fcgid) starts"
		dump_logs
	fi
else
	note "SKIP Apache mod_fcgid: not installed"
fi

if [ "$have_lighttpd" = 1 ]; then
	if start_web start_lighttpd; then
		exercise lighttpd "http://127.0.0.1:$PORT"
		stop_last_server ""
	else
		not_ok "lighttpd starts"
		dump_logs
	fi
else
	note "SKIP lighttpd: not installed"
fi

check "ledger reconciles after every server's requests" ledger_check "$UPUB"

finish
