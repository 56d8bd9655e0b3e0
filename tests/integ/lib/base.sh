# base.sh: the harness of the shell integration tests (sourced through lib/init.sh).
#
# A test script does:
#     . "$(dirname "$0")/lib/init.sh" [cp] [chat]
#     test_begin nginx curl jq      (need_db, need_bin, need_cmd ..., make_tmp)
#     ... start things with start_bg / start_daemon, check with http + check ...
#     finish
#
# Environment (from the Makefile, defaults let a script run by hand from the source tree):
#   TOLLGATE_BIN     absolute path of the built binary
#   TOLLGATE_SRCDIR  absolute top source dir (schema/, www/)
#   TOLLGATE_TEST_DB_SOCKET, _USER, _PASSWORD, _NAME   the throwaway MariaDB from scripts/dev test
#
# Every process a test starts is recorded here and killed by the EXIT trap, and the temp dir
# is removed, so a failing or interrupted test leaves nothing running.

set -eu

integ_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TOLLGATE_SRCDIR:=$(cd "$integ_dir/../.." && pwd)}"
: "${TOLLGATE_BIN:=$TOLLGATE_SRCDIR/src/tollgate}"
test_name=$(basename "$0" .sh)

# Counters for the TAP-ish output; finish() turns them into the exit status.
n_ok=0
n_fail=0

# Process groups (one per started server) to kill at exit, newest last.
declare -a owned_pgids=()
# Single pids (processes that are not group leaders) to kill at exit.
declare -a owned_pids=()

# nap SECONDS: a sleep without a process (polls call it every 0.1 s, and a process costs on
# a busy 2-core machine): read times out on a pipe that nobody writes.
exec {nap_fd}<> <(:)
nap() {
	read -r -t "$1" -u "$nap_fd" _ || true
}

# --- output -------------------------------------------------------------------------------

note() { echo "# $*"; }

ok() {
	n_ok=$((n_ok + 1))
	echo "ok - $*"
}

not_ok() {
	n_fail=$((n_fail + 1))
	echo "not ok - $*"
}

# check DESC CMD...: runs CMD (a test expression), prints ok/not ok. On failure the last HTTP
# exchange is shown, because that is nearly always what one needs to see.
check() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc"
		show_last_response
	fi
}

# skip REASON: automake's SKIP status. Only for missing prerequisites, never for failures.
skip() {
	echo "SKIP: $test_name: $*"
	exit 77
}

# bail REASON: the test cannot go on (a server did not start); counts as a failure.
bail() {
	not_ok "$*"
	dump_logs
	finish
}

finish() {
	# The seconds since the script started: scripts/dev test lists the slowest.
	echo "# $test_name: $n_ok passed, $n_fail failed in ${SECONDS}s"
	if [ "$n_fail" -gt 0 ]; then
		exit 1
	fi
	exit 0
}

# --- prerequisites ------------------------------------------------------------------------

need_db() {
	[ -n "${TOLLGATE_TEST_DB_SOCKET:-}" ] ||
		skip "TOLLGATE_TEST_DB_SOCKET unset (run via scripts/dev test)"
	[ -S "$TOLLGATE_TEST_DB_SOCKET" ] ||
		skip "no MariaDB socket at $TOLLGATE_TEST_DB_SOCKET"
	: "${TOLLGATE_TEST_DB_USER:=tollgate}"
	: "${TOLLGATE_TEST_DB_PASSWORD:=}"
	: "${TOLLGATE_TEST_DB_NAME:=tollgate}"
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c not installed"
	done
}

need_bin() {
	[ -x "$TOLLGATE_BIN" ] || skip "tollgate binary $TOLLGATE_BIN not built"
}

# test_begin [--mock] CMD...: the usual start of a test: a database, the binary, (the mock
# provider,) the commands CMD, then the temp dir $T with its cleanup trap.
test_begin() {
	need_db
	need_bin
	if [ "${1:-}" = --mock ]; then
		shift
		need_mock
	fi
	[ $# -eq 0 ] || need_cmd "$@"
	make_tmp
}

# --- temp dir and cleanup -----------------------------------------------------------------

# alive_group PGID: true while any process of the group exists.
alive_group() {
	kill -0 -- "-$1" 2>/dev/null
}

# any_alive PGID...: true while any of the groups has a process left.
any_alive() {
	local pg
	for pg in "$@"; do
		alive_group "$pg" && return 0
	done
	return 1
}

# stop_groups PGID...: SIGTERM to every group at once, up to 5 s for all of them to go, then
# SIGKILL for whatever is left (a hung server must not hang the test).
stop_groups() {
	local pg i
	for pg in "$@"; do
		kill -TERM -- "-$pg" 2>/dev/null || true
	done
	for i in $(seq 50); do
		any_alive "$@" || return 0
		nap 0.1
	done
	for pg in "$@"; do
		alive_group "$pg" || continue
		echo "# cleanup: process group $pg ignored SIGTERM for 5s; SIGKILL"
		kill -KILL -- "-$pg" 2>/dev/null || true
	done
	sleep 0.2
}

cleanup() {
	local rc=$? pid
	set +e
	[ ${#owned_pgids[@]} -eq 0 ] || stop_groups "${owned_pgids[@]}"
	for pid in "${owned_pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	# Sanitizer builds: a report from any process (workers are respawned, so the test itself may
	# have passed) fails the test. Leak reports appear at exit, hence after stopping.
	if [ -n "${T:-}" ] && [ -d "$T" ] && sanitizer_reports; then
		[ "$rc" -ne 0 ] || rc=1
	fi
	# Anything still running from our temp dir (a daemon that left its group, a spawned
	# backend): name it in the log, then kill it by pid. The path is unique to this test.
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		for pid in $(pgrep -f -- "$T/" 2>/dev/null); do
			[ "$pid" = "$$" ] && continue
			echo "# cleanup: killing leftover $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
			kill -KILL "$pid" 2>/dev/null
		done
		if [ -n "${KEEP_TMP:-}" ]; then
			echo "# kept $T"
		else
			rm -rf "$T"
		fi
	fi
	exit "$rc"
}

# sanitizer_reports: prints "not ok" with the first lines of each ASan/UBSan/LSan report
# found in the logs (stderr of tollgate and of the web servers that spawn it); true if any.
sanitizer_reports() {
	local f found=1
	for f in "$T"/log/* "$T"/wlog/*; do
		[ -f "$f" ] || continue
		if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error: |SUMMARY: [A-Za-z]+Sanitizer' "$f"; then
			echo "not ok - sanitizer report in $(basename "$f")"
			grep -E -A 25 'ERROR: [A-Za-z]+Sanitizer|runtime error: ' "$f" | head -n 60 | sed 's/^/#   /'
			found=0
		fi
	done
	return "$found"
}

# make_tmp: creates $T (world-traversable, since nginx/Apache/lighttpd workers run as another
# user and must reach sockets and files in it) and installs the cleanup trap.
make_tmp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/tg-$test_name.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	chmod 0755 "$T"
	mkdir -p "$T/run" "$T/log" "$T/tmp"
	chmod 0755 "$T/run" "$T/log"
}

# --- processes ----------------------------------------------------------------------------

# start_bg NAME CMD...: runs CMD in the background in its own session (so the whole process
# tree, e.g. a tollgate master and its workers, can be killed as one group), stdout/stderr to
# $T/log/NAME.out. Sets $bg_pid. setsid does not fork here (a background job of a
# non-interactive shell is not a group leader), so bg_pid is the command itself.
start_bg() {
	local name=$1
	shift
	setsid "$@" >>"$T/log/$name.out" 2>&1 </dev/null {nap_fd}<&- &
	bg_pid=$!
	owned_pgids+=("$bg_pid")
}

# own_daemon PIDFILE: a server that forked itself into the background (nginx, apache2) and
# wrote PIDFILE; record its group (daemons call setsid, so pgid = pid) for cleanup.
own_daemon() {
	local pidfile=$1 pid
	wait_for "pid file $pidfile" 10 test -s "$pidfile" || return 1
	pid=$(cat "$pidfile")
	owned_pgids+=("$(ps -o pgid= -p "$pid" | tr -d ' ')")
}

# wait_for DESC SECONDS CMD...: polls CMD every 0.1 s; false once SECONDS of wall time have
# passed (wall time, not a count of tries: CMD itself may be slow, e.g. a curl with -m).
wait_for() {
	local desc=$1 secs=$2 deadline
	shift 2
	deadline=$((SECONDS + secs))
	while :; do
		if "$@" 2>/dev/null; then
			return 0
		fi
		[ "$SECONDS" -lt "$deadline" ] || break
		nap 0.1
	done
	note "timed out after ${secs}s waiting for $desc"
	return 1
}

# gone PID: true once PID no longer exists (or is a zombie of ours).
gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	case $st in Z*) return 0 ;; esac
	return 1
}

# children PID: pids of the direct children of PID, one per line (the workers of a master).
children() {
	pgrep -P "$1" 2>/dev/null | sort -n || true
}

# has_children PID: true when PID has at least one child process.
has_children() {
	[ -n "$(children "$1")" ]
}

# --- ports --------------------------------------------------------------------------------

port_in_use() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
	else
		# No ss on a minimal machine: a successful connect means someone listens.
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# free_port: prints a loopback TCP port nobody listens on, outside the kernel's ephemeral
# range (so no outgoing connection holds it). Random, so parallel tests (make -j) rarely
# collide; start_web retries with another port when one does.
free_port() {
	local p i lo=32768 hi=60999 base=10000 span
	if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
		read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	fi
	if [ "$lo" -gt 12000 ]; then
		span=$((lo - base))
	else
		base=$((hi + 1))
		span=$((65535 - hi))
	fi
	for i in $(seq 200); do
		p=$((base + (RANDOM * 32768 + RANDOM) % span))
		if ! port_in_use "$p"; then
			echo "$p"
			return 0
		fi
	done
	echo "free_port: no free port found" >&2
	return 1
}

# start_web FUNC [ARGS...]: picks $PORT and runs FUNC (start_nginx, start_apache, ...); when
# the port was taken in the meantime (another test), tries again with a new one.
start_web() {
	local try
	for try in 1 2 3; do
		PORT=$(free_port)
		if "$@"; then
			return 0
		fi
		grep -qis 'address already in use' "$T"/log/*.out "$T"/log/*error* "$T"/wlog/*error* ||
			return 1
		note "port $PORT was taken; retrying"
		sleep 0.2
	done
	return 1
}

# --- files --------------------------------------------------------------------------------

# render IN OUT: copies template IN to OUT replacing each @NAME@ with the value of shell
# variable NAME (an unset one is an error, so a typo cannot produce a half-empty config).
render() {
	local in=$1 out=$2 name val
	local -a expr=()
	for name in $(grep -o '@[A-Za-z_][A-Za-z0-9_]*@' "$in" | tr -d @ | sort -u); do
		if [ -z "${!name+set}" ]; then
			echo "render: $in: @$name@ has no value" >&2
			return 1
		fi
		val=${!name}
		val=${val//\\/\\\\}
		val=${val//|/\\|}
		val=${val//&/\\&}
		expr+=(-e "s|@$name@|$val|g")
	done
	sed "${expr[@]}" "$in" >"$out"
}

# tg_conf FILE [section.key=value ...]: writes a tollgate config for the test DB. Later
# assignments override earlier ones; an empty value drops the key (back to the default).
# Every test connects from 127.0.0.1 and many share one database, so the built-in
# registration throttle and per-user limits are off unless a test sets them, and so are the
# credit leases and the exact holds' settling through the journal (both on by default: tests
# of the exact path read balances right after a chat; t_leases, t_exact_journal and others
# turn them on).
tg_conf() {
	local file=$1 item key sec
	shift
	local -A val=()
	local -a order=()
	for item in \
		"server.listen=unix:$T/run/tollgate.sock" \
		"server.listen_mode=0666" \
		"server.workers=2" \
		"server.threads=2" \
		"server.pid_file=$T/run/tollgate.pid" \
		"server.run_dir=$T/run" \
		"server.graceful_timeout=30" \
		"server.stop_timeout=3" \
		"http.max_body=65536" \
		"http.www_dir=$TOLLGATE_SRCDIR/www" \
		"log.level=info" \
		"log.file=$T/log/tollgate.log" \
		"db.socket=${TOLLGATE_TEST_DB_SOCKET:-}" \
		"db.user=${TOLLGATE_TEST_DB_USER:-tollgate}" \
		"db.password=${TOLLGATE_TEST_DB_PASSWORD:-}" \
		"db.name=${TOLLGATE_TEST_DB_NAME:-tollgate}" \
		"db.connect_timeout=2" \
		"db.schema_dir=$TOLLGATE_SRCDIR/schema" \
		"debug.routes=on" \
		"auth.register_per_hour=0" \
		"limits.defaults=none" \
		"billing.lease=0" \
		"billing.exact_journal=off" \
		"$@"; do
		key=${item%%=*}
		[ -n "${val[$key]+set}" ] || order+=("$key")
		val[$key]=${item#*=}
	done
	{
		echo "# $file: generated by $test_name"
		for sec in server http log db auth chat billing limits cache upstream security debug \
			did openrouter logging metrics; do
			echo "[$sec]"
			for key in "${order[@]}"; do
				[ "${key%%.*}" = "$sec" ] || continue
				[ -n "${val[$key]}" ] || continue
				echo "${key#*.} = ${val[$key]}"
			done
		done
	} >"$file"
}

# --- tollgate -----------------------------------------------------------------------------

# start_tollgate NAME CONF: standalone master in the background; waits for its socket.
# Sets $tg_pid (the master).
start_tollgate() {
	local name=$1 conf=$2 sock
	sock=$(sed -n 's/^listen = unix://p' "$conf")
	start_bg "$name" "$TOLLGATE_BIN" -c "$conf" serve
	tg_pid=$bg_pid
	if ! wait_for "$name socket $sock" 15 test -S "$sock"; then
		return 1
	fi
	# The socket exists once bound; the workers must exist too.
	wait_for "$name workers" 10 has_children "$tg_pid"
}

# --- HTTP ---------------------------------------------------------------------------------

# npm_install SRC DIR WHAT: the dependencies of SRC/package.json installed once into DIR, with
# the scripts SRC/*.mjs beside them. Under a lock: two tests started at once must not run npm
# in one directory together. npm's registry is reachable in CI; without it the test skips (a
# missing prerequisite, like a missing web server).
npm_install() {
	local src=$1 dir=$2 what=$3 dep fd missing=""
	need_cmd node npm flock jq
	mkdir -p "$dir"
	exec {fd}>"$dir/.lock"
	flock -w 600 "$fd" || skip "the npm install in $dir stays locked"
	for dep in $(jq -r '.dependencies | keys[]' "$src/package.json"); do
		[ -f "$dir/node_modules/$dep/package.json" ] || missing="$missing $dep"
	done
	if [ -n "$missing" ] || ! cmp -s "$src/package.json" "$dir/package.json"; then
		cp "$src/package.json" "$dir/package.json"
		if ! (cd "$dir" && timeout 300 npm install --no-audit --no-fund --loglevel=error \
			>"$T/npm.log" 2>&1); then
			tail -n 20 "$T/npm.log"
			rm -f "$dir/package.json" # the next run tries again
			exec {fd}>&-
			skip "npm install of $what failed"
		fi
	fi
	cp "$src"/*.mjs "$dir/"
	exec {fd}>&-
}

# node_checks KIND SCRIPT SECONDS [VAR=VALUE...]: runs a node script with those variables; its
# ok/not ok lines count as this test's, and so does its running to the end.
node_checks() {
	local kind=$1 script=$2 secs=$3 out rc
	shift 3
	out=$T/$kind-$(basename "${script%.mjs}").out
	if env "$@" timeout "$secs" node "$script" >"$out" 2>&1; then
		rc=0
	else
		rc=$?
	fi
	cat "$out"
	n_ok=$((n_ok + $(grep -c '^ok - ' "$out" || true)))
	n_fail=$((n_fail + $(grep -c '^not ok - ' "$out" || true)))
	check "the $kind script $(basename "$script") ran to the end (exit $rc)" test "$rc" -eq 0
}

# http METHOD URL [curl args...]: one request; sets $code, $T/body, $T/hdr (headers of the
# final response, lower-cased names). $code is 000 when the connection failed.
http() {
	local method=$1 url=$2
	shift 2
	last_req="$method $url"
	# Emptied, not removed and touched: every process here costs, and a run makes thousands
	# of requests on a busy 2-core machine.
	: >"$T/body"
	: >"$T/hdr.raw"
	if [ "$method" = HEAD ]; then
		set -- -I "$@"
	else
		set -- -X "$method" "$@"
	fi
	code=$(curl -sS -m "${CURL_TIMEOUT:-10}" -H 'Expect:' -o "$T/body" -D "$T/hdr.raw" \
		-w '%{http_code}' "$@" "$url" 2>"$T/curl.err") || true
	[ -n "$code" ] || code=000
	hdr_norm
}

# hdr_norm: the last header block of $T/hdr.raw (a 100 Continue may precede it) into $T/hdr,
# CRs stripped, header names in lower case; $hdr_status is that block's status code. In the
# shell: the awk (or tr and sed) it replaces was one more process a request, about 4 ms of
# CPU each, thousands a run.
hdr_norm() {
	local line name buf=""
	hdr_status=""
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line//$'\r'/}
		if [[ $line == HTTP/* ]]; then
			buf=""
			hdr_status=${line#* }
			hdr_status=${hdr_status%% *}
		elif [[ $line == *:* ]]; then
			name=${line%%:*}
			line=${name,,}${line#"$name"}
		fi
		buf+=$line$'\n'
	done <"$T/hdr.raw"
	printf '%s' "$buf" >"$T/hdr"
}

# hdr NAME: value of response header NAME (case-insensitive), empty when absent.
hdr() {
	# Shell only (no process): checks call it thousands of times in a run.
	local name=${1,,} line val="" found=""
	[ -f "$T/hdr" ] || return 0
	while IFS= read -r line; do
		if [[ $line == "$name:"* ]]; then
			val=${line#"$name:"}
			val=${val#"${val%%[! ]*}"}
			found=1
		fi
	done <"$T/hdr"
	[ -z "$found" ] || printf '%s\n' "$val"
	return 0
}

show_last_response() {
	[ -n "${last_req:-}" ] || return 0
	echo "#   last request: $last_req -> $code"
	[ -s "$T/curl.err" ] && sed 's/^/#   curl: /' "$T/curl.err"
	[ -f "$T/hdr" ] && sed 's/^/#   < /' "$T/hdr"
	[ -f "$T/body" ] && head -c 600 "$T/body" | sed 's/^/#   | /'
	echo
}

# Predicates over the last response, for check().
status_is() { [ "$code" = "$1" ]; }
json_is() { jq -e "$1" "$T/body" >/dev/null 2>&1; }
# jq_file FILE EXPR: EXPR is true on the JSON in FILE (quiet).
jq_file() { jq -e "$2" "$1" >/dev/null 2>&1; }
body_is_json() { jq -e . "$T/body" >/dev/null 2>&1; }
# same_json FILE1 FILE2: both hold one JSON value and the two are equal, members in any order
# (false when either is missing or not JSON, so that two failures never compare equal).
same_json() { jq -e -n --slurpfile a "$1" --slurpfile b "$2" '$a | length == 1 and . == $b' >/dev/null 2>&1; }
content_type_json() { hdr content-type | grep -qi '^application/json'; }
header_has() { hdr "$1" | grep -q -- "$2"; }
ERROR_SHAPE='(.error.message|type=="string") and (.error.type|type=="string") and (.error.code|type=="string")'
error_shape() {
	json_is "$ERROR_SHAPE"
}

# big_json FILE BYTES: a syntactically valid JSON object of about BYTES bytes.
big_json() {
	{
		printf '{"x":"'
		head -c "$2" /dev/zero | tr '\0' 'a'
		printf '"}'
	} >"$1"
}

# smoke BASE LABEL: the checks every web server setup must pass, against BASE (e.g.
# http://127.0.0.1:PORT or http://127.0.0.1:PORT/tollgate).
smoke() {
	local base=$1 l=$2 rid

	http GET "$base/health"
	check "$l: GET /health is 200" status_is 200
	check "$l: /health says database reachable" json_is '.database.reachable == true'
	check "$l: /health is JSON" content_type_json
	rid=$(hdr x-request-id)
	check "$l: x-request-id on a 200" test -n "$rid"

	http GET "$base/"
	check "$l: GET / names tollgate" json_is '.name == "tollgate"'

	http GET "$base/no/such/route"
	check "$l: unknown path is 404" status_is 404
	check "$l: 404 has the OpenAI error shape" error_shape
	check "$l: 404 code is not_found" json_is '.error.code == "not_found"'
	check "$l: x-request-id on a 404" test -n "$(hdr x-request-id)"

	http POST "$base/health" -H 'Content-Type: application/json' --data-binary '{}'
	check "$l: POST /health is 405" status_is 405
	check "$l: 405 has Allow with GET" header_has allow 'GET'
	check "$l: 405 code is method_not_allowed" json_is '.error.code == "method_not_allowed"'

	big_json "$T/big.json" 70000
	http POST "$base/_debug/echo" -H 'Content-Type: application/json' --data-binary "@$T/big.json"
	check "$l: body over max_body is 413" status_is 413
	check "$l: 413 is tollgate's JSON, not a server page" json_is '.error.code == "body_too_large"'

	http POST "$base/_debug/echo" -H 'Content-Type: application/json' --data-binary '{"a": [1, 2'
	check "$l: malformed JSON is 400" status_is 400
	check "$l: malformed JSON code is invalid_json" json_is '.error.code == "invalid_json"'

	http POST "$base/_debug/echo" -H 'Content-Type: application/json' --data-binary '{"a":1,"a":2}'
	check "$l: duplicate keys are 400" status_is 400
	check "$l: duplicate keys have the error shape" error_shape

	http POST "$base/_debug/echo" -H 'Content-Type: application/json' --data-binary '{"a":[1,2],"b":"x"}'
	check "$l: valid JSON is echoed (200)" status_is 200
	check "$l: echo body matches" json_is '.echo.a[1] == 2 and .echo.b == "x"'

	# Our x-request-id is always our own (issue 13); the client's comes back beside it.
	http GET "$base/health" -H 'x-request-id: abc-123'
	check "$l: client x-request-id abc-123 echoed as x-client-request-id" \
		test "$(hdr x-client-request-id)" = abc-123
	check "$l: x-request-id is tollgate's own ($(hdr x-request-id))" \
		sh -c '[ -n "$1" ] && [ "$1" != abc-123 ]' _ "$(hdr x-request-id)"
}

# --- the web server's own errors (issue 15 item 9) -----------------------------------------

# json_error_quick LABEL MS: the last response is an OpenAI-shaped JSON error, with a JSON
# content type, answered within MS milliseconds ($http_ms).
json_error_quick() {
	check "$1: content-type is application/json ($(hdr content-type))" content_type_json
	check "$1: a JSON body" sh -c '[ -s "$1" ] && jq -e . "$1" >/dev/null 2>&1' _ "$T/body"
	check "$1: the OpenAI error shape" error_shape
	check "$1: param is present" json_is '.error | has("param")'
	check "$1: answered in ${http_ms} ms (< $2)" test "$http_ms" -lt "$2"
}

# timed_http METHOD URL [curl args...]: http, with its wall time in $http_ms.
timed_http() {
	local t0
	t0=$(now_ms)
	http "$@"
	http_ms=$(($(now_ms) - t0))
}

# short_body HOST PORT PATH: a POST whose Content-Length says 100 and whose body is 7 bytes;
# the socket stays open for writing. Sets $code (000 when the server closed without an
# answer), $T/hdr, $T/body and $http_ms (until the server answered or closed).
short_body() {
	python3 - "$1" "$2" "$3" "$T" <<'PYEOF'
import socket, sys, time
host, port, path, t = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port))
t0 = time.time()
s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
           "Content-Length: 100\r\n\r\n{\"a\":1}" % (path, host)).encode())
s.settimeout(60)
data = b""
try:
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 2:
        x = s.recv(65536)
        if not x:
            break
        data += x
    # The rest of the body, briefly: a server that answered may not close at once.
    s.settimeout(1)
    while True:
        x = s.recv(65536)
        if not x:
            break
        data += x
except OSError:
    pass
ms = int((time.time() - t0) * 1000)
head, _, body = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
code = lines[0].split()[1] if lines[0].startswith("HTTP/") else "000"
with open(t + "/hdr", "w") as f:
    for l in lines[1:]:
        k, _, v = l.partition(":")
        f.write("%s: %s\n" % (k.lower(), v.strip()))
open(t + "/body", "wb").write(body)
print(code, ms)
PYEOF
}

# web_errors BASE LABEL [FLAG...]: the web server's own refusals are OpenAI-shaped JSON and
# quick: a 20 kB header, a 2 MB body (over the server's limit in the test configs) and a
# body shorter than its Content-Length. Flags name what a server can only do otherwise:
#   close-ok    a short body may be closed without an answer, quickly (nginx closes after
#               client_body_timeout; it has no answer for that)
#   fcgid       mod_fcgid maps a failed body read to 400 (over LimitRequestBody) and 500
#               (read timeout): still JSON and quick, but not 413 and 408
web_errors() {
	local base=$1 l=$2 hostport path r flags=" ${*:3} "
	timed_http GET "$base/health" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
	check "$l: a 20 kB header is refused with a 4xx (got $code)" \
		sh -c 'case $1 in 400|413|431|494) exit 0;; esac; exit 1' _ "$code"
	json_error_quick "$l: 20 kB header" 5000
	head -c 2000000 /dev/zero | tr '\0' ' ' >"$T/2mb.body"
	timed_http POST "$base/_debug/echo" -H 'Content-Type: application/json' -H 'Expect:' \
		--data-binary "@$T/2mb.body"
	if [[ $flags == *" fcgid "* ]]; then
		check "$l: a 2 MB body is 413 or (mod_fcgid) 400 (got $code)" \
			sh -c 'case $1 in 400|413) exit 0;; esac; exit 1' _ "$code"
	else
		check "$l: a 2 MB body is 413 (got $code)" status_is 413
	fi
	# Quick means well before any body timeout (60 s): the 2 MB upload itself took over 5 s
	# on a loaded 2-core machine.
	json_error_quick "$l: 2 MB body" 15000
	hostport=${base#http://}
	path=/${hostport#*/}
	[ "$path" = "/$hostport" ] && path=/
	hostport=${hostport%%/*}
	r=$(short_body "${hostport%:*}" "${hostport##*:}" "${path%/}/_debug/echo")
	code=${r% *} http_ms=${r#* }
	note "$l: a short body: status $code after $http_ms ms"
	if [ "$code" = 000 ] && [[ $flags == *" close-ok "* ]]; then
		check "$l: a short body: closed in ${http_ms} ms (< 12000)" test "$http_ms" -lt 12000
		check "$l: a short body: nothing but JSON was sent" test ! -s "$T/body"
	else
		if [[ $flags == *" fcgid "* ]]; then
			check "$l: a short body is a 4xx or (mod_fcgid) 500 (got $code)" \
				sh -c 'case $1 in 4??|500) exit 0;; esac; exit 1' _ "$code"
		else
			check "$l: a short body is a 4xx (got $code)" \
				sh -c 'case $1 in 4??) exit 0;; esac; exit 1' _ "$code"
		fi
		json_error_quick "$l: a short body" 15000
	fi
}

# web_down URL LABEL: URL's backend is not running: a 5xx in the OpenAI shape, quickly.
web_down() {
	timed_http GET "$1"
	check "$2: backend down is 502 or 503 (got $code)" \
		sh -c 'case $1 in 500|502|503) exit 0;; esac; exit 1' _ "$code"
	json_error_quick "$2: backend down" 5000
}

# --- logs ---------------------------------------------------------------------------------

# dump_logs: prints every log under $T/log (for a failed start).
dump_logs() {
	local f
	[ -n "${T:-}" ] || return 0
	for f in "$T"/log/* "$T"/wlog/*; do
		[ -f "$f" ] || continue
		echo "# ---- $f (last 40 lines)"
		tail -n 40 "$f" | sed 's/^/#   /'
	done
}

# web_static BASE LABEL: the dashboard (www/app) and the API reference (www/docs, www/redoc)
# served statically by the web server at BASE/app/ etc., with the security headers of
# contract 17 on those paths only, while the API at BASE still answers JSON. A viewer whose
# files are not in the checkout yet is noted, not checked.
web_static() {
	local base=$1 l=$2 www=${WWW_DIR:-$TOLLGATE_SRCDIR/www} d mnt
	mnt=$(echo "$base" | sed -E 's#^https?://[^/]+##')
	local csp="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

	http GET "$base/app/"
	check "$l: GET /app/ is 200" status_is 200
	check "$l: /app/ is text/html" header_has content-type '^text/html'
	check "$l: /app/ is www/app/index.html" cmp -s "$T/body" "$www/app/index.html"
	check "$l: /app/ has the dashboard's CSP" test "$(hdr content-security-policy | tr -d '\r')" = "$csp"
	check "$l: /app/ has X-Content-Type-Options nosniff" header_has x-content-type-options '^nosniff'
	check "$l: /app/ has Referrer-Policy same-origin" header_has referrer-policy '^same-origin'
	check "$l: /app/ has X-Frame-Options DENY" header_has x-frame-options '^DENY'
	check "$l: /app/ is revalidated (Cache-Control no-cache)" header_has cache-control '^no-cache'

	http GET "$base/app/js/main.js"
	check "$l: GET /app/js/main.js is 200" status_is 200
	# A module script of another type is refused by browsers.
	check "$l: main.js is JavaScript" header_has content-type '^\(text\|application\)/javascript'
	check "$l: main.js is www/app/js/main.js" cmp -s "$T/body" "$www/app/js/main.js"
	check "$l: main.js has the CSP too" header_has content-security-policy "^default-src 'none'"
	check "$l: main.js may be cached (max-age)" header_has cache-control 'max-age=[1-9]'

	for d in docs redoc; do
		if [ ! -f "$www/$d/index.html" ]; then
			note "$l: www/$d/index.html not in this checkout; /$d/ not checked"
			continue
		fi
		http GET "$base/$d/"
		check "$l: GET /$d/ is 200" status_is 200
		check "$l: /$d/ is text/html" header_has content-type '^text/html'
		check "$l: /$d/ has the CSP" header_has content-security-policy "^default-src 'none'"
	done

	http GET "$base/health"
	check "$l: /health is still tollgate's JSON" content_type_json
	check "$l: /health has no dashboard CSP" test -z "$(hdr content-security-policy)"

	# tollgate (not the web server) answers the bare paths with their slash, under the mount.
	for d in app docs redoc; do
		http GET "$base/$d"
		check "$l: GET /$d is 301" status_is 301
		check "$l: /$d redirects to /$d/" test "$(hdr location | tr -d '\r')" = "$mnt/$d/"
	done
}

# web_signin BASE LABEL: a browser signs in to the dashboard at BASE/app/ (through this web
# server, under its mount) with a user made through the API: tests/browser/signin_smoke.mjs.
# Needs lib/browser.sh (init.sh ... browser); without chromium, node or the npm packages it
# notes why and checks nothing, so the server checks of the test still count.
web_signin() {
	local base=$1 l=$2
	if [ -z "${web_browser_ok:-}" ]; then
		if (browser_setup) >"$T/browser-setup.out" 2>&1; then
			browser_setup >/dev/null 2>&1
			web_browser_ok=yes
		else
			web_browser_ok=no
			note "no browser sign-in: $(grep -h '^SKIP' "$T/browser-setup.out" | tail -n 1)"
		fi
	fi
	[ "$web_browser_ok" = yes ] || return 0
	URL=$base APP=$base/app/ SMOKE_LABEL="$l" SMOKE_PW="Pw-$RANDOM-$RANDOM-x" \
		SMOKE_EMAIL="smoke-$RANDOM$RANDOM-$(echo "$l" | tr -c 'a-z0-9' '-')@example.com" \
		web_signin_run
}

web_signin_run() {
	export SMOKE_EMAIL SMOKE_PW SMOKE_LABEL
	browser_run signin_smoke.mjs
}

# --- web-server users ---------------------------------------------------------------------

# www_user: the user Apache and lighttpd run as (and so the spawned tollgate): www-data when
# we are root, else ourselves (an unprivileged server cannot switch user).
www_user() {
	if [ "$(id -u)" -eq 0 ] && id www-data >/dev/null 2>&1; then
		echo www-data
	else
		id -un
	fi
}

# stage_for_www: copies the binary and www/ into $T, so a server that runs as www-data can
# reach them even when the source tree is not traversable by that user (e.g. under /root).
# Sets $stage_bin. The binary is copied with a distinct name per instance by the caller.
stage_for_www() {
	mkdir -p "$T/bin" "$T/www"
	cp "$TOLLGATE_BIN" "$T/bin/tollgate"
	chmod 0755 "$T/bin" "$T/bin/tollgate"
	if [ -d "$TOLLGATE_SRCDIR/www" ]; then
		cp -R "$TOLLGATE_SRCDIR/www/." "$T/www/"
	fi
	chmod -R a+rX "$T/www"
	# run/ holds the shared-memory file and log/ the tollgate log; the spawned processes
	# write both as the server user.
	mkdir -p "$T/wrun" "$T/wlog"
	chown "$(www_user)" "$T/wrun" "$T/wlog"
	stage_bin=$T/bin/tollgate
}

# --- web servers --------------------------------------------------------------------------

# start_nginx: renders nginx.conf.in (needs PORT SOCK SOCK_PREFIX SOCK_NODB) and starts nginx
# with its prefix, config and startup error log inside $T.
start_nginx() {
	mkdir -p "$T/nginx"
	# nginx's default; a test may set "off" to see a failure instead of a retry.
	: "${NEXT_UPSTREAM:=error timeout}"
	# What nginx itself takes in a body; a test of large bodies raises it.
	: "${NGX_MAX_BODY:=1m}"
	# What it serves at /app/, /docs/, /redoc/; a test copies www/ into $T when the checkout
	# may not be readable by nginx's workers (nobody).
	: "${WWW_DIR:=$TOLLGATE_SRCDIR/www}"
	render "$integ_dir/nginx.conf.in" "$T/nginx/nginx.conf"
	if ! nginx -t -q -p "$T/nginx/" -e "$T/log/nginx-error.log" -c "$T/nginx/nginx.conf" \
		>>"$T/log/nginx.out" 2>&1; then
		return 1
	fi
	nginx -p "$T/nginx/" -e "$T/log/nginx-error.log" -c "$T/nginx/nginx.conf" \
		>>"$T/log/nginx.out" 2>&1 || return 1
	own_daemon "$T/run/nginx.pid"
}

# start_apache TEMPLATE: renders an httpd.conf (needs PORT and the template's variables) and
# starts apache2 with only that file (-f), so nothing from /etc/apache2 is read.
start_apache() {
	WWW_USER=$(www_user)
	WWW_GROUP=$(id -gn "$WWW_USER")
	mkdir -p "$T/apache"
	render "$1" "$T/apache/httpd.conf"
	if ! apache2 -t -f "$T/apache/httpd.conf" >>"$T/log/apache.out" 2>&1; then
		return 1
	fi
	apache2 -f "$T/apache/httpd.conf" -k start >>"$T/log/apache.out" 2>&1 || return 1
	own_daemon "$T/run/apache.pid"
}

# start_lighttpd: renders lighttpd.conf.in and runs lighttpd in the foreground (-D) in its own
# process group, so the backends it spawns die with it.
start_lighttpd() {
	WWW_USER=$(www_user)
	WWW_GROUP=$(id -gn "$WWW_USER")
	mkdir -p "$T/lighttpd" "$T/wtmp"
	chown "$WWW_USER" "$T/wtmp"
	render "$integ_dir/lighttpd.conf.in" "$T/lighttpd/lighttpd.conf"
	if ! lighttpd -tt -f "$T/lighttpd/lighttpd.conf" >>"$T/log/lighttpd.out" 2>&1; then
		return 1
	fi
	start_bg lighttpd lighttpd -D -f "$T/lighttpd/lighttpd.conf"
	# It binds at startup; an exit instead (port taken) is a failed start.
	wait_for "lighttpd on port $PORT" 10 lighttpd_up "$bg_pid"
}

lighttpd_up() {
	gone "$1" && return 2
	port_in_use "$PORT"
}

# wait_http URL: until URL answers at all (any HTTP status), at most 15 s.
wait_http() {
	wait_for "$1" 15 sh -c "curl -s -o /dev/null -m 2 -w '%{http_code}' '$1' | grep -qv '^000$'"
}

# spawn_confs: $CONF (served at /) and $CONF_PREFIX (at /tollgate) for a tollgate the web
# server spawns as its user (after stage_for_www): logs in $T/wlog, no pid file, readable by
# that user. Spawned mode ignores server.listen; the password is inline because www-data
# cannot read a root-only password file.
spawn_confs() {
	CONF=$T/root.conf
	CONF_PREFIX=$T/prefix.conf
	tg_conf "$CONF" "http.www_dir=$T/www" "server.run_dir=$T/wrun" "log.file=$T/wlog/root.log" \
		"server.pid_file="
	tg_conf "$CONF_PREFIX" "http.www_dir=$T/www" "server.run_dir=$T/wrun" \
		"log.file=$T/wlog/prefix.log" "server.pid_file=" "server.mount_prefix=/tollgate"
	chmod 0644 "$CONF" "$CONF_PREFIX"
}

# --- standalone tollgate behind nginx (process tests) -------------------------------------

# stack_up [section.key=value ...]: one standalone master with config $T/tg.conf (overrides
# as for tg_conf) behind nginx; sets $URL, $CONF, $tg_pid and $LOG. Bails when it won't start.
stack_up() {
	need_cmd nginx
	CONF=$T/tg.conf
	LOG=$T/log/tollgate.log
	SOCK=$T/run/tollgate.sock
	SOCK_PREFIX=$SOCK
	SOCK_NODB=$SOCK
	tg_conf "$CONF" "$@"
	start_tollgate tollgate "$CONF" || bail "tollgate starts"
	start_web start_nginx || bail "nginx starts"
	URL=http://127.0.0.1:$PORT
	wait_for "$URL/health" 15 health_ok || bail "$URL/health answers 200"
}

health_ok() {
	[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$URL/health")" = 200 ]
}

# nworkers: the number of live children of the master.
nworkers() {
	children "$tg_pid" | wc -l
}

# log_has REGEX [FILE]: true when the tollgate log (or FILE) has a line matching REGEX.
log_has() {
	grep -Eq -- "$1" "${2:-$LOG}"
}

# bg_get NAME PATH: a background GET whose status and body land in $T/NAME.code and
# $T/NAME.body; sets $bg_curl (wait on it).
bg_get() {
	curl -s -m "${CURL_TIMEOUT:-15}" -o "$T/$1.body" -w '%{http_code}' "$URL$2" \
		>"$T/$1.code" 2>/dev/null &
	bg_curl=$!
	owned_pids+=("$bg_curl")
}

# now_ms: wall clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
