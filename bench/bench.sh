#!/usr/bin/env bash
# bench.sh: tollgate against a reference path on the same mock, in one run (see BENCHMARKS.md).
# Started by `scripts/dev bench`, which builds an optimised binary and a throwaway MariaDB and
# exports BENCH_BIN, BENCH_MOCK, BENCH_DB_SOCKET/_USER/_PASSWORD/_NAME, BENCH_OUT, BENCH_SRC.
set -eu
T=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
chmod 0755 "$T"
mkdir -p "$T/run" "$T/log" "$T/tmp"
pids=()
cleanup() {
	set +e
	[ -s "$T/run/nginx.pid" ] && kill -QUIT "$(cat "$T/run/nginx.pid")" 2>/dev/null
	[ -s "$T/run/tollgate.pid" ] && kill -TERM "$(cat "$T/run/tollgate.pid")" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 1
	# BENCH_KEEP_LOGS=DIR keeps nginx's, tollgate's and the mock's logs for a post-mortem.
	[ -z "${BENCH_KEEP_LOGS:-}" ] || { mkdir -p "$BENCH_KEEP_LOGS" && cp -r "$T/log/." "$BENCH_KEEP_LOGS/"; }
	rm -rf "$T"
}
trap cleanup EXIT
say() { echo "bench: $*" >&2; }
DURATION=${BENCH_DURATION:-8}
MOCK_KEY=sk-mock-bench-0000
export TOLLGATE_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		ss -ltn "( sport = :$p )" 2>/dev/null | grep -q ":$p" || { echo "$p"; return; }
	done
}

# --- the pieces ----------------------------------------------------------------------------
"$BENCH_MOCK" -p 0 -n -k "$MOCK_KEY" >"$T/log/mock.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^listening on' "$T/log/mock.out" && break; sleep 0.1; done
MOCK_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/log/mock.out")
[ -n "$MOCK_PORT" ] || { say "mock did not start"; exit 1; }

# The floor: a bare FastCGI pass-through (bench/fcgi_pass.c) to the same mock, no metering.
# A thread per kept connection (libfcgi's model): more threads than nginx keeps connections.
"$BENCH_PASS" "$T/run/pass.sock" "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" 64 \
	>"$T/log/pass.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q '^listening on' "$T/log/pass.out" && break; sleep 0.1; done
[ -S "$T/run/pass.sock" ] || { say "the pass-through did not start"; exit 1; }

# What ships (issue 20): tollgate's own defaults for the rows that count: credit leases
# (1.00 USD) and 2 workers x 4 threads; BENCH_LEASE=USD sets a lease (0: none). The exact
# path (lease = 0: a hold and a settle in the database per request) is a row of its own.
LEASE=${BENCH_LEASE-}
conf() {
	cat >"$T/tg.conf" <<CONF
[server]
listen = unix:$T/run/tollgate.sock
listen_mode = 0666
workers = ${1:-2}
threads = ${2:-4}
pid_file = $T/run/tollgate.pid
run_dir = $T/run
[http]
www_dir = $BENCH_SRC/www
[log]
level = warn
file = $T/log/tollgate.log
access_file = ${BENCH_ACCESS_LOG:-off}
[db]
socket = $BENCH_DB_SOCKET
user = $BENCH_DB_USER
password = $BENCH_DB_PASSWORD
name = $BENCH_DB_NAME
pool_size = ${3:-0}
schema_dir = $BENCH_SRC/schema
[chat]
default_max_tokens = 64
[debug]
routes = on
[billing]
${LEASE:+lease = $LEASE}
journal_sync = ${BENCH_JOURNAL_SYNC:-off}
[limits]
# One user drives every stream: the built-in per-user limits would refuse most.
defaults = none
CONF
}
: >"$BENCH_OUT.wrk.log"
conf
TG=("$BENCH_BIN" -c "$T/tg.conf")
"${TG[@]}" migrate >/dev/null
"${TG[@]}" provider add mock openai-compatible "http://127.0.0.1:$MOCK_PORT/v1" >/dev/null
echo "$MOCK_KEY" | "${TG[@]}" provider key-add mock >/dev/null
"${TG[@]}" model add bench/m mock m 1.00 2.00 >/dev/null
# The same mock under its two native wires, for the adapter rows (issue 20): bench/a is
# served by its Anthropic /v1/messages, bench/g by its Gemini generateContent.
"${TG[@]}" provider add mock-anthropic anthropic "http://127.0.0.1:$MOCK_PORT/v1" >/dev/null
echo "$MOCK_KEY" | "${TG[@]}" provider key-add mock-anthropic >/dev/null
"${TG[@]}" model add bench/a mock-anthropic m 1.00 2.00 >/dev/null
"${TG[@]}" provider add mock-gemini gemini "http://127.0.0.1:$MOCK_PORT/v1beta" >/dev/null
echo "$MOCK_KEY" | "${TG[@]}" provider key-add mock-gemini >/dev/null
"${TG[@]}" model add bench/g mock-gemini m 1.00 2.00 >/dev/null
KEY=$("${TG[@]}" admin create-user --email "bench-$$@example.com" --credits 1000000)

start_tg() {
	rm -f "$T/run/tollgate.sock" "$T/run/tollgate.pid"
	setsid "${TG[@]}" serve >>"$T/log/tollgate.out" 2>&1 </dev/null &
	for _ in $(seq 100); do
		[ -S "$T/run/tollgate.sock" ] && [ -s "$T/run/tollgate.pid" ] && break
		sleep 0.1
	done
	sleep 1
}
stop_tg() {
	local m
	m=$(cat "$T/run/tollgate.pid" 2>/dev/null || true)
	[ -n "$m" ] || return 0
	kill -TERM "$m" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
}
start_tg

# nginx: three servers on free ports.  A port found free can be taken before nginx binds it,
# so a failed start picks new ports and tries again.
start_nginx() {
	REF_PORT=$(free_port)
	TG_PORT=$(free_port)
	PASS_PORT=$(free_port)
	cat >"$T/nginx.conf" <<NGX
daemon on;
worker_processes 2;
pid $T/run/nginx.pid;
error_log $T/log/nginx-error.log warn;
worker_rlimit_nofile 8192;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $T/tmp/cb;
    fastcgi_temp_path $T/tmp/fc;
    proxy_temp_path $T/tmp/px;
    uwsgi_temp_path $T/tmp/uw;
    scgi_temp_path $T/tmp/sc;
    upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 64; }
    upstream tollgate { server unix:$T/run/tollgate.sock; keepalive 32; }
    upstream pass { server unix:$T/run/pass.sock; keepalive 32; }
    server {
        listen 127.0.0.1:$REF_PORT;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
    server {
        listen 127.0.0.1:$TG_PORT;
        location / {
            include /etc/nginx/fastcgi_params;
            fastcgi_pass tollgate;
            fastcgi_keep_conn on;
            fastcgi_buffering off;
            fastcgi_read_timeout 300s;
        }
    }
    server {
        listen 127.0.0.1:$PASS_PORT;
        location / {
            include /etc/nginx/fastcgi_params;
            fastcgi_pass pass;
            fastcgi_keep_conn on;
            fastcgi_buffering off;
            fastcgi_read_timeout 300s;
        }
    }
}
NGX
	nginx -p "$T/" -c "$T/nginx.conf" -e "$T/log/nginx-error.log" 2>>"$T/log/nginx-start.err"
}
for try in 1 2 3 4 5; do
	start_nginx && break
	[ "$try" -lt 5 ] || { say "nginx did not start:"; cat "$T/log/nginx-start.err" >&2; exit 1; }
done
REF=http://127.0.0.1:$REF_PORT/v1/chat/completions
TGU=http://127.0.0.1:$TG_PORT/v1/chat/completions
PASS=http://127.0.0.1:$PASS_PORT/v1/chat/completions

# --- the peer: Portkey's open-source gateway (npm @portkey-ai/gateway, Node) -----------------
# Installed from npm into BENCH_PEER_DIR (scripts/dev: var/bench-peer, kept between runs) at a
# pinned version, started on a free port and pointed at the same mock by the headers its
# documentation gives for an OpenAI-compatible custom host. @hono/node-server is held at
# 1.13.5, the version Portkey's own repository pins (patches/@hono+node-server+1.13.5.patch):
# the newer one npm picks for "^1.3.3" makes every streamed chat answer a 500 ("TypeError:
# immutable", Portkey-AI/gateway issue 1389). BENCH_PEER=off leaves the peer out; a missing
# node or npm, or a failed install, skips it with a message and the run goes on.
PEER_VERSION=1.15.2
PEER_HONO=1.13.5
PEER_DIR=${BENCH_PEER_DIR:-$T/peer}
peer=""
peer_skip() {
	peer_why=$*
	say "peer skipped: $*"
}
peer_install() {
	local want
	command -v node >/dev/null && command -v npm >/dev/null || {
		peer_skip "node or npm not installed (apt-get install nodejs npm; Node >= 18)"
		return 1
	}
	node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' || {
		peer_skip "node $(node --version) is older than 18"
		return 1
	}
	mkdir -p "$PEER_DIR" || { peer_skip "cannot create $PEER_DIR"; return 1; }
	want='{"private":true,"dependencies":{"@portkey-ai/gateway":"'$PEER_VERSION'"},"overrides":{"@hono/node-server":"'$PEER_HONO'"}}'
	if [ "$(cat "$PEER_DIR/.installed" 2>/dev/null)" != "$want" ] ||
		[ ! -f "$PEER_DIR/node_modules/@portkey-ai/gateway/build/start-server.js" ]; then
		say "installing @portkey-ai/gateway@$PEER_VERSION into $PEER_DIR"
		echo "$want" >"$PEER_DIR/package.json"
		rm -f "$PEER_DIR/.installed"
		# --ignore-scripts: its one install script is patch-package, with no patches shipped.
		npm install --prefix "$PEER_DIR" --cache "$PEER_DIR/npm-cache" --no-audit --no-fund \
			--ignore-scripts --loglevel=error >"$T/log/peer-npm.log" 2>&1 || {
			peer_skip "npm install failed (see below)"
			tail -5 "$T/log/peer-npm.log" >&2
			return 1
		}
		echo "$want" >"$PEER_DIR/.installed"
	fi
	PEER_JS=$PEER_DIR/node_modules/@portkey-ai/gateway/build/start-server.js
	peer_got=$(node -p "require('$PEER_DIR/node_modules/@portkey-ai/gateway/package.json').version" 2>/dev/null) || true
	[ "$peer_got" = "$PEER_VERSION" ] || { peer_skip "installed version '$peer_got', wanted $PEER_VERSION"; return 1; }
}
# peer_check: one chat completion (200 and the mock's answer) and one stream (events up to
# [DONE]) through the peer before anything is measured.
peer_check() {
	local code
	code=$(curl -s -m 10 -o "$T/peer-check.json" -w '%{http_code}' "${PEER_CURL[@]}" -d "$REF_BODY" "$PEER") || code=000
	[ "$code" = 200 ] && jq -e '.choices[0].message.content | startswith("mock reply")' \
		"$T/peer-check.json" >/dev/null 2>&1 || {
		say "the peer's chat completion answered $code: $(head -c 300 "$T/peer-check.json" 2>/dev/null)"
		return 1
	}
	curl -s -N -m 10 "${PEER_CURL[@]}" -d "$FRB" "$PEER" >"$T/peer-check.sse" || true
	grep -q '^data: {.*"content":"mock"' "$T/peer-check.sse" && grep -q '^data: \[DONE\]' "$T/peer-check.sse" || {
		say "the peer's stream did not come through: $(head -c 300 "$T/peer-check.sse")"
		return 1
	}
}
peer_start() {
	PEER_PORT=$(free_port)
	PEER=http://127.0.0.1:$PEER_PORT/v1/chat/completions
	PEER_HDR=("x-portkey-provider: openai" "x-portkey-custom-host: http://127.0.0.1:$MOCK_PORT/v1")
	PEER_CURL=(-H "Content-Type: application/json" -H "Authorization: Bearer $MOCK_KEY"
		-H "${PEER_HDR[0]}" -H "${PEER_HDR[1]}")
	# --headless: no console UI routes; the request path is the same with or without it.
	node "$PEER_JS" --port="$PEER_PORT" --headless >"$T/log/peer.out" 2>&1 </dev/null &
	pids+=($!)
	for _ in $(seq 100); do
		[ "$(curl -s -m 1 "http://127.0.0.1:$PEER_PORT/" 2>/dev/null)" = "AI Gateway says hey!" ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.2
	done
	return 1
}
peer_why=""

# --- helpers -------------------------------------------------------------------------------
rss_kb() { # RSS of the master and its workers, in KiB
	local m p list
	m=$(cat "$T/run/tollgate.pid" 2>/dev/null || true)
	[ -n "$m" ] || { echo 0; return; }
	list=$m
	for p in $(pgrep -P "$m" || true); do list="$list,$p"; done
	ps -o rss= -p "$list" 2>/dev/null | awk '{s += $1} END {print s + 0}'
}
status_var() {
	mariadb --no-defaults --socket="$BENCH_DB_SOCKET" -u"$BENCH_DB_USER" -p"$BENCH_DB_PASSWORD" -N -B \
		-e "SHOW GLOBAL STATUS LIKE '$1'" | awk '{print $2}'
}
# wrk_run URL KEY BODY CONNS: prints "rps requests non2xx sockerr"
wrk_run() {
	local out
	local th=2
	[ "$4" -ge 2 ] || th=1 # wrk wants at least one connection per thread
	# WRK_S: seconds of this run (the API rounds' shorter runs); else DURATION.
	# WRK_LUA: the script (idem.lua: an Idempotency-Key of its own each request).
	out=$(BENCH_KEY=$2 BENCH_BODY=$3 wrk -t"$th" -c"$4" -d"${WRK_S:-$DURATION}s" --timeout 30s \
		-s "$BENCH_SRC/bench/${WRK_LUA:-post.lua}" "$1" 2>&1)
	echo "$out" >>"$BENCH_OUT.wrk.log"
	awk '
		/Requests\/sec:/ { rps = $2 }
		/requests in/ { req = $1 }
		/^non2xx/ { bad = $2 }
		/^sockerr/ { se = $2 }
		END { printf "%s %s %s %s\n", rps + 0, req + 0, bad + 0, se + 0 }' <<<"$out"
}
# tg_stats FILE: "pid statements background" of each worker that answered /_debug/stats (it
# answers for the process that serves it: ask in parallel, so nginx spreads the requests over
# its connections, until two workers have answered or twelve rounds went by).
tg_stats() {
	: >"$T/stats.json"
	for _ in $(seq 12); do
		seq 32 | xargs -P 16 -I{} sh -c 'curl -s -m 5 "$0"; echo' \
			"http://127.0.0.1:$TG_PORT/_debug/stats" >>"$T/stats.json"
		[ "$(jq -s '[.[] | select(.pid != null) | .pid] | unique | length' "$T/stats.json")" -ge 2 ] && break
	done
	jq -rs '[.[] | select(.pid != null)] | group_by(.pid) | map(max_by(.statements)) | .[] |
		"\(.pid) \(.statements) \(.statements_background)"' "$T/stats.json" >"$1"
}
# stats_delta BEFORE AFTER: "workers request-path write-out" statements between the two, over
# the workers seen both times (one seen only after would count everything it did before the
# run: the figures then print as n/a, as the workers seen are fewer than two).
stats_delta() {
	awk 'NR == FNR {s[$1] = $2; b[$1] = $3; next}
		($1 in s) {n++; bg += $3 - b[$1]; all += $2 - s[$1]} END {print n + 0, all - bg, bg + 0}' "$1" "$2"
}
pct() { sort -n | awk '{a[NR] = $1} END {if (NR == 0) {print 0; exit} i = int(NR * '"$1"' / 100 + 0.999); if (i < 1) i = 1; print a[i]}'; }

BODY='{"model":"bench/m","max_tokens":16,"messages":[{"role":"user","content":"hello there"}]}'
REF_BODY='{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hello there"}]}'
FRB='{"model":"m","stream":true,"messages":[{"role":"user","content":"hello [mock:words=2]"}]}'

# BENCH_HOLD=FILE: set everything up, write the paths, the key and the body to FILE as shell
# assignments, and wait (for profiling a standing stack: perf, strace, lat1 by hand).
if [ -n "${BENCH_HOLD:-}" ]; then
	printf 'REF=%q\nTGU=%q\nPASS=%q\nKEY=%q\nBODY=%q\nREF_BODY=%q\nBENCH_T=%q\nLAT=%q\n' \
		"$REF" "$TGU" "$PASS" "$KEY" "$BODY" "$REF_BODY" "$T" "$BENCH_LAT" >"$BENCH_HOLD"
	say "holding; the stack's variables are in $BENCH_HOLD"
	while :; do sleep 3600; done
fi

# The API rows (issue 20): the Anthropic Messages and Responses APIs inbound (to bench/m, the
# mock's OpenAI wire), the Anthropic and Gemini adapters outbound (chat completions to bench/a
# and bench/g). Each against the reference of its own wire: nginx straight to the mock's
# endpoint that speaks it (the client's side for Messages inbound, the upstream's for the
# adapters; the mock has no Responses endpoint, so Responses inbound takes the chat one).
# The same question each time: one user turn "hello there", at most 16 tokens.
API_ROWS="messages_in responses_in anthropic_out gemini_out"
declare -A API_PATH=([messages_in]=/v1/messages [responses_in]=/v1/responses
	[anthropic_out]=/v1/chat/completions [gemini_out]=/v1/chat/completions)
declare -A API_BODY=(
	[messages_in]='{"model":"bench/m","max_tokens":16,"messages":[{"role":"user","content":"hello there"}]}'
	[responses_in]='{"model":"bench/m","max_output_tokens":16,"input":"hello there"}'
	[anthropic_out]='{"model":"bench/a","max_tokens":16,"messages":[{"role":"user","content":"hello there"}]}'
	[gemini_out]='{"model":"bench/g","max_tokens":16,"messages":[{"role":"user","content":"hello there"}]}')
declare -A API_REF=([messages_in]=anthropic [responses_in]=chat [anthropic_out]=anthropic
	[gemini_out]=gemini)
# The two native references: path, body, and the key header of their wire (a line each).
declare -A NREF_PATH=([anthropic]=/v1/messages [gemini]=/v1beta/models/m:generateContent)
declare -A NREF_BODY=(
	[anthropic]='{"model":"m","max_tokens":16,"messages":[{"role":"user","content":"hello there"}]}'
	[gemini]='{"contents":[{"role":"user","parts":[{"text":"hello there"}]}],"generationConfig":{"maxOutputTokens":16}}')
declare -A NREF_HDR=([anthropic]="x-api-key: $MOCK_KEY
anthropic-version: 2023-06-01" [gemini]="x-goog-api-key: $MOCK_KEY")
# nref_lat NAME: NAME's arguments for bench/lat1 (its headers as -H options)
nref_lat() {
	local h
	printf '%s\n' "ref_$1" "http://127.0.0.1:$REF_PORT${NREF_PATH[$1]}" "$MOCK_KEY" "${NREF_BODY[$1]}"
	while IFS= read -r h; do printf -- '-H\n%s\n' "$h"; done <<<"${NREF_HDR[$1]}"
}
# nref_wrk NAME CONNS, api_wrk ROW CONNS: wrk_run on a native reference or an API row
nref_wrk() {
	BENCH_HEADERS=${NREF_HDR[$1]} wrk_run "http://127.0.0.1:$REF_PORT${NREF_PATH[$1]}" "$MOCK_KEY" \
		"${NREF_BODY[$1]}" "$2"
}
api_wrk() { wrk_run "http://127.0.0.1:$TG_PORT${API_PATH[$1]}" "$KEY" "${API_BODY[$1]}" "$2"; }
if [ "${BENCH_PEER:-on}" = off ]; then
	peer_skip "BENCH_PEER=off"
elif peer_install; then
	if ! peer_start; then
		say "the peer did not start: $(tail -c 600 "$T/log/peer.out")"
		peer_why="did not start"
	elif ! peer_check; then
		peer_why="failed its check"
	else
		peer=portkey
		say "peer: Portkey gateway $PEER_VERSION (node $(node --version)) on port $PEER_PORT"
	fi
	# Installed but not answering as documented is a defect of the run, not a missing tool.
	[ -n "$peer" ] || peer_broken="the peer ($peer_why);"
fi

# --- 1-2: throughput and added latency -------------------------------------------------------
rss_idle=$(rss_kb)
say "warm-up"
wrk_run "$TGU" "$KEY" "$BODY" 4 >/dev/null
wrk_run "$REF" "$MOCK_KEY" "$REF_BODY" 4 >/dev/null
wrk_run "$PASS" "$MOCK_KEY" "$REF_BODY" 4 >/dev/null
for n in anthropic gemini; do nref_wrk $n 4 >/dev/null; done
for r in $API_ROWS; do api_wrk "$r" 4 >/dev/null; done
# the peer's headers for wrk (bench/post.lua), one a line; Node's JIT warms up here too.
PEER_WRK=""
[ -z "$peer" ] || PEER_WRK=$(printf '%s\n' "${PEER_HDR[@]}")
[ -z "$peer" ] || BENCH_HEADERS=$PEER_WRK wrk_run "$PEER" "$MOCK_KEY" "$REF_BODY" 4 >/dev/null
# The API rows' throughput, by path (the rows, chat, chat_ref and the native references):
# the mean req/s over the rounds, the requests and the non-2xx answers.
API_ROUNDS=${BENCH_API_ROUNDS:-4}
declare -A api_rps api_bad api_req
# BENCH_QUICK=1: only the latency at c=1; =2: throughput too; for trying a change quickly.
if [ "${BENCH_QUICK:-}" != 1 ]; then
	say "throughput at c=16, ${DURATION}s each"
	read -r ref_rps ref_req ref_bad _ <<<"$(wrk_run "$REF" "$MOCK_KEY" "$REF_BODY" 16)"
	read -r pass_rps pass_req pass_bad _ <<<"$(wrk_run "$PASS" "$MOCK_KEY" "$REF_BODY" 16)"
	q0=$(status_var Questions)
	tg_stats "$T/stats.before"
	f0=$(status_var Innodb_os_log_fsyncs)
	read -r tg_rps tg_req tg_bad tg_se <<<"$(wrk_run "$TGU" "$KEY" "$BODY" 16)"
	q1=$(status_var Questions)
	tg_stats "$T/stats.after"
	read -r stat_w stat_sync stat_bg <<<"$(stats_delta "$T/stats.before" "$T/stats.after")"
	f1=$(status_var Innodb_os_log_fsyncs)
	rss_c16=$(rss_kb)
	# The API rows next, in API_ROUNDS rounds of DURATION/API_ROUNDS s per path that take
	# turns with the chat path and its reference again (the chat ratio vs_chat divides by),
	# each native reference just before the rows measured against it: on a shared host a
	# block measured a minute later sees another machine, turns spread that over every path.
	api_s=$((DURATION / API_ROUNDS))
	[ "$api_s" -ge 1 ] || api_s=1
	for _ in $(seq "$API_ROUNDS"); do
		for n in chat_ref chat anthropic messages_in anthropic_out gemini gemini_out responses_in; do
			case $n in
			chat_ref) out=$(WRK_S=$api_s wrk_run "$REF" "$MOCK_KEY" "$REF_BODY" 16) ;;
			chat) out=$(WRK_S=$api_s wrk_run "$TGU" "$KEY" "$BODY" 16) ;;
			anthropic | gemini) out=$(WRK_S=$api_s nref_wrk "$n" 16) ;;
			*) out=$(WRK_S=$api_s api_wrk "$n" 16) ;;
			esac
			read -r a_rps a_req a_bad _ <<<"$out"
			api_rps[$n]=$(awk -v s="${api_rps[$n]:-0}" -v a="$a_rps" -v r="$API_ROUNDS" \
				'BEGIN {printf "%.1f", s + a / r}')
			api_req[$n]=$((${api_req[$n]:-0} + a_req))
			api_bad[$n]=$((${api_bad[$n]:-0} + a_bad))
		done
	done
	# The peer last, after tollgate's database counters were read: it does no database work.
	[ -z "$peer" ] || read -r pk_rps pk_req pk_bad _ <<<"$(BENCH_HEADERS=$PEER_WRK wrk_run "$PEER" "$MOCK_KEY" "$REF_BODY" 16)"
fi
# The three paths take turns, 8 rounds of DURATION/8 s each, and each one's latencies are pooled
# over its rounds: a machine that drifts (a virtual one handing memory back to its host, a
# database flushing what the c=16 runs wrote) then weighs on every path alike (bench/lat1.c).
ROUNDS=8
# The peer is a fourth path in the same rounds, with its two headers. Node closes a kept
# connection idle for 5 s: with BENCH_DURATION above 13 s, lat1 reconnects to it once a round.
peer_lat=()
[ -z "$peer" ] || peer_lat=(portkey "$PEER" "$MOCK_KEY" "$REF_BODY" -H "${PEER_HDR[0]}" -H "${PEER_HDR[1]}")
# The API rows and their two native references are more paths in the same rounds.
api_lat=()
mapfile -t -O 0 api_lat < <(nref_lat anthropic; nref_lat gemini)
for r in $API_ROWS; do api_lat+=("$r" "http://127.0.0.1:$TG_PORT${API_PATH[$r]}" "$KEY" "${API_BODY[$r]}"); done
say "latency at c=1, $ROUNDS interleaved rounds of $(awk -v d="$DURATION" -v r=$ROUNDS 'BEGIN {print d / r}')s per path"
"$BENCH_LAT" $ROUNDS "$(awk -v d="$DURATION" -v r=$ROUNDS 'BEGIN {print d / r}')" \
	reference "$REF" "$MOCK_KEY" "$REF_BODY" pass "$PASS" "$MOCK_KEY" "$REF_BODY" \
	tollgate "$TGU" "$KEY" "$BODY" "${peer_lat[@]}" "${api_lat[@]}" >"$T/lat1.out" 2>&1 ||
	{ cat "$T/lat1.out" >&2; exit 1; }
cat "$T/lat1.out" >>"$BENCH_OUT.wrk.log"
lat_of() { # NAME: "requests p50 p99 p999 max non2xx+errors"
	awk -v n="$1" '$1 == n {print $2, $3, $4, $5, $6, $7 + $8}' "$T/lat1.out"
}
read -r ref_req1 ref_p50 ref_p99 ref_p999 ref_max ref_bad1 <<<"$(lat_of reference)"
read -r pass_req1 pass_p50 pass_p99 pass_p999 pass_max pass_bad1 <<<"$(lat_of pass)"
read -r tg_req1 tg_p50 tg_p99 tg_p999 tg_max tg_bad1 <<<"$(lat_of tollgate)"
[ -z "$peer" ] || read -r pk_req1 pk_p50 pk_p99 pk_p999 pk_max pk_bad1 <<<"$(lat_of portkey)"
# A figure measured on error answers compares nothing: say so, and fail the run at the end.
bad_runs=${peer_broken:+ $peer_broken}
peer_bad=()
peer_req=()
[ -z "$peer" ] || peer_bad=("portkey c=1:$pk_bad1" "portkey c=16:${pk_bad:-0}")
[ -z "$peer" ] || peer_req=("portkey c=1:$pk_req1" "portkey c=16:${pk_req:-1}")
for v in "reference c=1:$ref_bad1" "pass-through c=1:$pass_bad1" "tollgate c=1:$tg_bad1" \
	"reference c=16:${ref_bad:-0}" "pass-through c=16:${pass_bad:-0}" "tollgate c=16:${tg_bad:-0}" \
	"${peer_bad[@]}"; do
	[ "${v##*:}" = 0 ] || bad_runs="$bad_runs ${v%%:*} (${v##*:} non-2xx);"
done
for v in "reference c=1:$ref_req1" "pass-through c=1:$pass_req1" "tollgate c=1:$tg_req1" \
	"reference c=16:${ref_req:-1}" "pass-through c=16:${pass_req:-1}" "tollgate c=16:${tg_req:-1}" \
	"${peer_req[@]}"; do
	[ "${v##*:}" != 0 ] || bad_runs="$bad_runs ${v%%:*} (no answer at all);"
done
# ratio A B: A / B to 3 places, 0 when B is 0
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }
# The API rows: throughput ratio over their reference's, vs_chat (that ratio over the chat
# path's), added latency (p50 and p99 minus their reference's); a line each for the summary
# and a member each of results.json's "apis".
chat_ratio=$(ratio_of "${api_rps[chat]:-0}" "${api_rps[chat_ref]:-0}")
for n in chat chat_ref anthropic gemini; do
	[ "${api_bad[$n]:-0}" = 0 ] || bad_runs="$bad_runs $n c=16 in the API rounds (${api_bad[$n]} non-2xx);"
	[ "${api_req[$n]:-1}" != 0 ] || bad_runs="$bad_runs $n c=16 in the API rounds (no answer at all);"
done
api_text=""
api_json=""
for r in $API_ROWS; do
	n=${API_REF[$r]}
	read -r a_req1 a_p50 a_p99 _ _ a_bad1 <<<"$(lat_of "$r")"
	if [ "$n" = chat ]; then
		n_rps=${api_rps[chat_ref]:-0} n_p50=$ref_p50 n_p99=$ref_p99
	else
		n_rps=${api_rps[$n]:-0}
		read -r n_req1 n_p50 n_p99 _ _ n_bad1 <<<"$(lat_of "ref_$n")"
		[ "$n_bad1" = 0 ] || bad_runs="$bad_runs reference $n c=1 ($n_bad1 non-2xx);"
		[ "${n_req1:-0}" != 0 ] || bad_runs="$bad_runs reference $n c=1 (no answer at all);"
	fi
	[ "$a_bad1" = 0 ] || bad_runs="$bad_runs $r c=1 ($a_bad1 non-2xx);"
	[ "${api_bad[$r]:-0}" = 0 ] || bad_runs="$bad_runs $r c=16 (${api_bad[$r]} non-2xx);"
	[ "${a_req1:-0}" != 0 ] && [ "${api_req[$r]:-1}" != 0 ] || bad_runs="$bad_runs $r (no answer at all);"
	a_ratio=$(ratio_of "${api_rps[$r]:-0}" "$n_rps")
	a_vs=$(ratio_of "$a_ratio" "$chat_ratio")
	a_add50=$((${a_p50%.*} - ${n_p50%.*}))
	a_add99=$((${a_p99%.*} - ${n_p99%.*}))
	api_text+=$(printf '  %-14s %-9s %8s %8s   ratio %s  vs_chat %s   c=1 p50/p99 %s / %s  added %s / %s' \
		"$r" "$n" "$n_rps" "${api_rps[$r]:-0}" "$a_ratio" "$a_vs" "${a_p50%.*}" "${a_p99%.*}" "$a_add50" "$a_add99")$'\n'
	api_json+="${api_json:+,}\"$r\":{\"reference\":\"$n\",\"reference_rps\":$n_rps,\"rps\":${api_rps[$r]:-0},\"ratio\":$a_ratio,\"vs_chat\":$a_vs,\"p50_us\":${a_p50%.*},\"p99_us\":${a_p99%.*},\"added_p50_us\":$a_add50,\"added_p99_us\":$a_add99,\"requests_c1\":$a_req1}"
done
api_head="API rows (issue 20), c=16 in $API_ROUNDS interleaved rounds with the chat path (${api_rps[chat]:-0} / ${api_rps[chat_ref]:-0} req/s, ratio $chat_ratio): row, reference, their req/s, ratio, vs_chat; c=1 as above:"
[ -z "$bad_runs" ] || say "WARNING: answers that were not 2xx:$bad_runs these figures are not valid"
if [ -n "${BENCH_QUICK:-}" ]; then
	[ "$BENCH_QUICK" = 1 ] || echo "throughput c=16: reference $ref_rps, pass-through $pass_rps" \
		"(ratio $(awk -v a="$pass_rps" -v b="$ref_rps" 'BEGIN {printf "%.3f", a / b}')), tollgate $tg_rps, ratio" \
		"$(awk -v a="$tg_rps" -v b="$ref_rps" 'BEGIN {printf "%.3f", a / b}'), statements per request" \
		"$(awk -v q=$((q1 - q0)) -v n="$tg_req" 'BEGIN {printf "%.3f", q / n}')" \
		"(request path $(awk -v q="$stat_sync" -v n="$tg_req" 'BEGIN {printf "%.3f", q / n}')," \
		"workers seen $stat_w)"
	echo "latency c=1 p50/p99 (us): reference ${ref_p50%.*}/${ref_p99%.*}," \
		"pass-through ${pass_p50%.*}/${pass_p99%.*} (added $((${pass_p50%.*} - ${ref_p50%.*}))/$((${pass_p99%.*} - ${ref_p99%.*})))," \
		"tollgate ${tg_p50%.*}/${tg_p99%.*}, added $((${tg_p50%.*} - ${ref_p50%.*}))/$((${tg_p99%.*} - ${ref_p99%.*}))"
	echo "$api_head"
	printf '%s' "$api_text"
	if [ -n "$peer" ]; then
		[ "$BENCH_QUICK" = 1 ] || echo "peer: Portkey $PEER_VERSION throughput c=16 $pk_rps, tollgate / Portkey" \
			"$(ratio_of "$tg_rps" "$pk_rps")"
		echo "peer: Portkey $PEER_VERSION latency c=1 p50/p99 (us) ${pk_p50%.*}/${pk_p99%.*}," \
			"tollgate / Portkey $(ratio_of "$tg_p50" "$pk_p50") / $(ratio_of "$tg_p99" "$pk_p99")"
	else
		echo "peer: skipped ($peer_why)"
	fi
	[ -z "$bad_runs" ] || exit 1
	exit 0
fi

# --- 5: memory at c=10 and its growth over a longer run ---------------------------------------
# The gateway's resident memory 5 s into a BENCH_LONG_S (default 30) run at c=10, and at its
# end: what it grew by over that many requests (a leak shows as steady growth; a worker's
# arenas and caches reach their size in the first seconds).
LONG=${BENCH_LONG_S:-30}
say "memory at c=10 over ${LONG}s"
BENCH_KEY=$KEY BENCH_BODY=$BODY wrk -t2 -c10 -d"${LONG}s" --timeout 30s \
	-s "$BENCH_SRC/bench/post.lua" "$TGU" >"$T/long.out" 2>&1 &
long_pid=$!
sleep 5
rss_c10=$(rss_kb)
sleep $((LONG - 6))
rss_long=$(rss_kb)
wait "$long_pid" || true
cat "$T/long.out" >>"$BENCH_OUT.wrk.log"
read -r long_req long_bad <<<"$(awk '/requests in/ {r = $1} /^non2xx/ {b = $2} END {print r + 0, b + 0}' "$T/long.out")"
[ "$long_req" -gt 0 ] && [ "$long_bad" = 0 ] || {
	say "WARNING: the c=10 run had $long_req answers, $long_bad non-2xx"
	bad_runs="$bad_runs tollgate c=10 ($long_req answers, $long_bad non-2xx);"
}

# --- 3: streams: added time to first event, gaps, lost chunks -------------------------------
# sse_probe times each event: the first (time to first event, on 200 short streams, so p99 is
# not just the worst of a few) and the gaps between the next ones (30 streams of 20 chunks
# 20 ms apart, which also show lost chunks).  Reference and tollgate take turns.
say "streams: 200 short ones for the first event, 30 of 20 chunks 20 ms apart for the gaps"
probe() { # probe PORT KEY BODY N [HEADER]... >>FILE
	"$BENCH_PROBE" "$1" /v1/chat/completions "$2" "$3" "$4" "${@:5}" || say "a stream failed on port $1"
}
SB='{"model":"bench/m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello [mock:words=20,pace=20]"}]}'
SRB='{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello [mock:words=20,pace=20]"}]}'
FB='{"model":"bench/m","stream":true,"messages":[{"role":"user","content":"hello [mock:words=2]"}]}'
: >"$T/first.ref"
: >"$T/first.tg"
: >"$T/first.pk"
for i in $(seq 10); do
	probe "$REF_PORT" "$MOCK_KEY" "$FRB" 20 >>"$T/first.ref"
	probe "$TG_PORT" "$KEY" "$FB" 20 >>"$T/first.tg"
	# the peer takes its turn with the same body as the reference, and its two headers
	[ -z "$peer" ] || probe "$PEER_PORT" "$MOCK_KEY" "$FRB" 20 "${PEER_HDR[@]}" >>"$T/first.pk"
done
lost=0
: >"$T/gaps.ref"
: >"$T/gaps.tg"
for i in $(seq 30); do
	probe "$REF_PORT" "$MOCK_KEY" "$SRB" 1 >"$T/s.ref"
	probe "$TG_PORT" "$KEY" "$SB" 1 >"$T/s.tg"
	cat "$T/s.ref" >>"$T/gaps.ref"
	cat "$T/s.tg" >>"$T/gaps.tg"
	a=$(awk '$1 == "content" {print $2}' "$T/s.ref")
	b=$(awk '$1 == "content" {print $2}' "$T/s.tg")
	[ -n "$a" ] && [ "$a" = "$b" ] || lost=$((lost + 1))
done
of() { awk -v k="$1" '$1 == k {print $2}' "$2" | pct "$3"; } # of ttfe|gap FILE PERCENTILE
ttfb_ref50=$(of ttfe "$T/first.ref" 50)
ttfb_ref99=$(of ttfe "$T/first.ref" 99)
ttfb_tg50=$(of ttfe "$T/first.tg" 50)
ttfb_tg99=$(of ttfe "$T/first.tg" 99)
nfirst=$(grep -c '^ttfe' "$T/first.tg" || true)
if [ -n "$peer" ]; then
	pk_ttfe50=$(of ttfe "$T/first.pk" 50)
	pk_ttfe99=$(of ttfe "$T/first.pk" 99)
	pk_nfirst=$(grep -c '^ttfe' "$T/first.pk" || true)
	# a stream with no event, or one whose text did not come (content 0), is an error answer
	pk_sbad=$(awk '$1 == "content" && $2 == 0 {n++} END {print n + 0}' "$T/first.pk")
	[ "$pk_nfirst" = 200 ] && [ "$pk_sbad" = 0 ] ||
		bad_runs="$bad_runs portkey streams ($pk_nfirst of 200 with a first event, $pk_sbad without text);"
fi
gap_ref50=$(of gap "$T/gaps.ref" 50)
gap_ref99=$(of gap "$T/gaps.ref" 99)
gap_tg50=$(of gap "$T/gaps.tg" 50)
gap_tg99=$(of gap "$T/gaps.tg" 99)

# --- 4-5: many streams in flight against a mock that takes 1 s -----------------------------
CONC=${BENCH_STREAMS:-1000}
# threads per worker are capped at 256: spread the slots over 8 workers.
say "$CONC streams in flight, mock latency 1 s (tollgate: 8 workers x $((CONC / 8 + 8)) slots)"
stop_tg
conf 8 $((CONC / 8 + 8)) 16
start_tg
SLOW='{"model":"bench/m","stream":true,"max_tokens":4,"messages":[{"role":"user","content":"hi [mock:latency=1000,words=4]"}]}'
read -r many_rps many_req many_bad many_se <<<"$(BENCH_KEY=$KEY BENCH_BODY=$SLOW \
	wrk_run "$TGU" "$KEY" "$SLOW" "$CONC")"
rss_many=$(rss_kb)

# --- 6: the exact path: no credit leases (lease = 0), so every request holds in the database
# (one synchronous round trip) and settles through the journal, as every request with an
# Idempotency-Key or on a key with a credit limit does with leases on; 2 workers x 4 threads,
# the same mock and the same on-disk MariaDB (innodb_flush_log_at_trx_commit = 1). The
# "keyed" row: the same with an Idempotency-Key of its own on every request (issue 20: its
# answer then goes into the journal's line for the key's replays).
say "the exact path: lease = 0, 2 workers x 4 threads: throughput at c=16, latency at c=1"
stop_tg
lease_bench=$LEASE
LEASE=0
conf 2 4
start_tg
wrk_run "$TGU" "$KEY" "$BODY" 4 >/dev/null
read -r ex_rps ex_req ex_bad _ <<<"$(wrk_run "$TGU" "$KEY" "$BODY" 16)"
read -r ik_rps ik_req ik_bad _ <<<"$(WRK_LUA=idem.lua wrk_run "$TGU" "$KEY" "$BODY" 16)"
"$BENCH_LAT" $ROUNDS "$(awk -v d="$DURATION" -v r=$ROUNDS 'BEGIN {print d / r}')" \
	reference "$REF" "$MOCK_KEY" "$REF_BODY" tollgate "$TGU" "$KEY" "$BODY" \
	keyed "$TGU" "$KEY" "$BODY" -K "bench-$$-$(date +%s)" >"$T/lat1.exact" 2>&1 ||
	{ cat "$T/lat1.exact" >&2; exit 1; }
cat "$T/lat1.exact" >>"$BENCH_OUT.wrk.log"
read -r _ xref_p50 xref_p99 _ _ _ <<<"$(awk '$1 == "reference" {print $2, $3, $4, $5, $6, $7 + $8}' "$T/lat1.exact")"
read -r ex_req1 ex_p50 ex_p99 ex_p999 _ ex_bad1 <<<"$(awk '$1 == "tollgate" {print $2, $3, $4, $5, $6, $7 + $8}' "$T/lat1.exact")"
read -r ik_req1 ik_p50 ik_p99 ik_p999 _ ik_bad1 <<<"$(awk '$1 == "keyed" {print $2, $3, $4, $5, $6, $7 + $8}' "$T/lat1.exact")"
for v in "exact c=16:$ex_bad" "exact c=1:$ex_bad1" "keyed c=16:$ik_bad" "keyed c=1:$ik_bad1"; do
	[ "${v##*:}" = 0 ] || bad_runs="$bad_runs ${v%%:*} (${v##*:} non-2xx);"
done
[ "${ex_req:-0}" != 0 ] && [ "${ex_req1:-0}" != 0 ] || bad_runs="$bad_runs exact (no answer at all);"
[ "${ik_req:-0}" != 0 ] && [ "${ik_req1:-0}" != 0 ] || bad_runs="$bad_runs keyed (no answer at all);"
ex_ratio=$(ratio_of "$ex_rps" "$ref_rps")
ex_add50=$((${ex_p50%.*} - ${xref_p50%.*}))
ex_add99=$((${ex_p99%.*} - ${xref_p99%.*}))
ik_ratio=$(ratio_of "$ik_rps" "$ref_rps")
ik_add50=$((${ik_p50%.*} - ${xref_p50%.*}))
ik_add99=$((${ik_p99%.*} - ${xref_p99%.*}))
LEASE=$lease_bench

# --- the table and the JSON ------------------------------------------------------------------
ratio=$(awk -v a="$tg_rps" -v b="$ref_rps" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
add50=$((${tg_p50%.*} - ${ref_p50%.*}))
add99=$((${tg_p99%.*} - ${ref_p99%.*}))
pass_ratio=$(awk -v a="$pass_rps" -v b="$ref_rps" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
padd50=$((${pass_p50%.*} - ${ref_p50%.*}))
padd99=$((${pass_p99%.*} - ${ref_p99%.*}))
sttfb50=$(( ${ttfb_tg50%.*} - ${ttfb_ref50%.*} ))
sttfb99=$(( ${ttfb_tg99%.*} - ${ttfb_ref99%.*} ))
qpr=$(awk -v q=$((q1 - q0)) -v n="$tg_req" 'BEGIN {printf "%.2f", (n > 0 ? q / n : 0)}')
# The request path's own statements (synchronous) and the write-out's (batched, asynchronous),
# from tollgate's counters; n/a unless both workers answered after the run.
sync_pr=n/a
bg_pr=n/a
if [ "$stat_w" = 2 ]; then
	sync_pr=$(awk -v q="$stat_sync" -v n="$tg_req" 'BEGIN {printf "%.3f", (n > 0 ? q / n : 0)}')
	bg_pr=$(awk -v q="$stat_bg" -v n="$tg_req" 'BEGIN {printf "%.3f", (n > 0 ? q / n : 0)}')
fi
fpr=$(awk -v f=$((f1 - f0)) -v n="$tg_req" 'BEGIN {printf "%.2f", (n > 0 ? f / n : 0)}')
cat <<TABLE

measure                                   reference      tollgate
throughput, c=16 (req/s)                  $ref_rps      $tg_rps   ratio $ratio
latency p50 / p99, c=1 (us)               ${ref_p50%.*} / ${ref_p99%.*}      ${tg_p50%.*} / ${tg_p99%.*}   added $add50 / $add99
latency p99.9 / max, c=1 (us)             $ref_p999 / $ref_max      $tg_p999 / $tg_max   ($ROUNDS interleaved rounds; requests $ref_req1 / $tg_req1)
bare FastCGI pass-through (the floor):
  throughput, c=16 (req/s)                $ref_rps      $pass_rps   ratio $pass_ratio
  latency p50 / p99, c=1 (us)             ${ref_p50%.*} / ${ref_p99%.*}      ${pass_p50%.*} / ${pass_p99%.*}   added $padd50 / $padd99
  latency p99.9 / max, c=1 (us)           $ref_p999 / $ref_max      $pass_p999 / $pass_max
  tollgate over the pass-through (us)     -              p50 $((${tg_p50%.*} - ${pass_p50%.*})) / p99 $((${tg_p99%.*} - ${pass_p99%.*}))
stream first event p50 / p99 (us)        ${ttfb_ref50%.*} / ${ttfb_ref99%.*}      ${ttfb_tg50%.*} / ${ttfb_tg99%.*}   added $sttfb50 / $sttfb99 ($nfirst streams)
stream gaps p50 / p99 (us; 20 ms paced)   ${gap_ref50%.*} / ${gap_ref99%.*}      ${gap_tg50%.*} / ${gap_tg99%.*}   added $((${gap_tg50%.*} - ${gap_ref50%.*})) / $((${gap_tg99%.*} - ${gap_ref99%.*}))
streams with lost chunks                  -              $lost of 30
$CONC streams in flight (1 s each)        -              $many_req done in ${DURATION}s, non-2xx $many_bad, socket errors $many_se
resident memory idle / c=16 / $CONC (KiB)   -              $rss_idle / $rss_c16 / $rss_many
resident memory c=10 at 5 s / ${LONG} s (KiB)    -              $rss_c10 / $rss_long (grew $((rss_long - rss_c10)) over $long_req requests)
SQL statements per request                -              $qpr (credit leases: ${LEASE:-the default, 1.00})
  on the request path / by the write-out  -              $sync_pr / $bg_pr
redo-log fsyncs per request               -              $fpr
non-2xx during the c=16 runs              $ref_bad              $tg_bad (socket errors $tg_se; pass-through $pass_bad)
the exact path (lease = 0, 2 x 4; the rows above are what ships: leases ${LEASE:-1.00}, 2 x 4):
  throughput, c=16 (req/s)                $ref_rps      $ex_rps   ratio $ex_ratio
  latency p50 / p99, c=1 (us)             ${xref_p50%.*} / ${xref_p99%.*}      ${ex_p50%.*} / ${ex_p99%.*}   added $ex_add50 / $ex_add99 (p99.9 $ex_p999; requests $ex_req1)
  with an Idempotency-Key each: c=16      $ref_rps      $ik_rps   ratio $ik_ratio
  ... latency p50 / p99, c=1 (us)         ${xref_p50%.*} / ${xref_p99%.*}      ${ik_p50%.*} / ${ik_p99%.*}   added $ik_add50 / $ik_add99 (p99.9 $ik_p999; requests $ik_req1)
$api_head
$api_text
TABLE
# The peer: its own figures, and tollgate's over them (rps: higher is better for tollgate;
# latency: lower is).
if [ -n "$peer" ]; then
	pk_rps_ratio=$(ratio_of "$tg_rps" "$pk_rps")
	pk_p50_ratio=$(ratio_of "$tg_p50" "$pk_p50")
	pk_p99_ratio=$(ratio_of "$tg_p99" "$pk_p99")
	cat <<TABLE
peer: Portkey gateway $PEER_VERSION (Node $(node --version), one process, no nginx in front; no database, no metering)
                                          Portkey        tollgate
  throughput, c=16 (req/s)                $pk_rps      $tg_rps   tollgate / Portkey $pk_rps_ratio
  latency p50 / p99, c=1 (us)             ${pk_p50%.*} / ${pk_p99%.*}      ${tg_p50%.*} / ${tg_p99%.*}   tollgate / Portkey $pk_p50_ratio / $pk_p99_ratio
  latency p99.9 / max, c=1 (us)           $pk_p999 / $pk_max      $tg_p999 / $tg_max   (requests $pk_req1 / $tg_req1)
  stream first event p50 / p99 (us)       ${pk_ttfe50%.*} / ${pk_ttfe99%.*}      ${ttfb_tg50%.*} / ${ttfb_tg99%.*}   ($pk_nfirst streams)
  non-2xx, c=16 / c=1                     $pk_bad / $pk_bad1
TABLE
	peer_json='"portkey_version":"'$PEER_VERSION'","hono_node_server":"'$PEER_HONO'","node":"'$(node --version)'","portkey_rps":'$pk_rps',"portkey_p50_us":'${pk_p50%.*}',"portkey_p99_us":'${pk_p99%.*}',"portkey_p999_us":'$pk_p999',"portkey_ttfe_p50_us":'${pk_ttfe50%.*}',"portkey_ttfe_p99_us":'${pk_ttfe99%.*}',"portkey_requests_c1":'$pk_req1',"portkey_non2xx":'$((pk_bad + pk_bad1))',"tollgate_rps_ratio":'$pk_rps_ratio',"p50_ratio":'$pk_p50_ratio',"p99_ratio":'$pk_p99_ratio
else
	echo "peer: skipped ($peer_why)"
	peer_json='"skipped":"'${peer_why//\"/\'}'","portkey_version":"'$PEER_VERSION'"'
fi
cat >"$BENCH_OUT" <<JSON
{"date":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","machine":"$(nproc) cores, $(awk '/MemTotal/ {printf "%d MiB", $2 / 1024}' /proc/meminfo), $(uname -r)",
 "duration_s":$DURATION,"lease_usd":"${LEASE:-default}","config":"what ships: tollgate's defaults (leases 1.00, 2 workers x 4 threads) unless BENCH_LEASE is set",
 "throughput":{"reference_rps":$ref_rps,"tollgate_rps":$tg_rps,"ratio":$ratio,"tollgate_non2xx":$tg_bad},
 "latency_c1_us":{"reference_p50":${ref_p50%.*},"reference_p99":${ref_p99%.*},"tollgate_p50":${tg_p50%.*},"tollgate_p99":${tg_p99%.*},"added_p50":$add50,"added_p99":$add99,"reference_p999":$ref_p999,"tollgate_p999":$tg_p999,"rounds":$ROUNDS,"reference_requests":$ref_req1,"tollgate_requests":$tg_req1},
 "pass_through":{"rps":$pass_rps,"ratio":$pass_ratio,"p50_us":${pass_p50%.*},"p99_us":${pass_p99%.*},"added_p50_us":$padd50,"added_p99_us":$padd99,"p999_us":$pass_p999,"non2xx":$pass_bad},
 "stream_first_event_us":{"reference_p50":${ttfb_ref50%.*},"reference_p99":${ttfb_ref99%.*},"tollgate_p50":${ttfb_tg50%.*},"tollgate_p99":${ttfb_tg99%.*},"added_p50":$sttfb50,"added_p99":$sttfb99,"streams":$nfirst,"streams_with_lost_chunks":$lost},
 "stream_gaps_us":{"reference_p50":${gap_ref50%.*},"reference_p99":${gap_ref99%.*},"tollgate_p50":${gap_tg50%.*},"tollgate_p99":${gap_tg99%.*}},
 "many_streams":{"in_flight":$CONC,"completed":$many_req,"non2xx":$many_bad,"socket_errors":$many_se},
 "rss_kib":{"idle":$rss_idle,"c16":$rss_c16,"many_streams":$rss_many,"c10_at_5s":$rss_c10,"c10_at_end":$rss_long,"c10_seconds":$LONG,"c10_requests":$long_req},
 "db_per_request":{"statements":$qpr,"request_path":"$sync_pr","write_out":"$bg_pr","redo_fsyncs":$fpr},
 "exact":{"lease_usd":"0","workers":2,"threads":4,"rps":$ex_rps,"ratio":$ex_ratio,"reference_p50_us":${xref_p50%.*},"reference_p99_us":${xref_p99%.*},"p50_us":${ex_p50%.*},"p99_us":${ex_p99%.*},"p999_us":$ex_p999,"added_p50_us":$ex_add50,"added_p99_us":$ex_add99,"requests_c1":$ex_req1,"non2xx":$((ex_bad + ex_bad1))},
 "exact_keyed":{"lease_usd":"0","workers":2,"threads":4,"rps":$ik_rps,"ratio":$ik_ratio,"p50_us":${ik_p50%.*},"p99_us":${ik_p99%.*},"p999_us":$ik_p999,"added_p50_us":$ik_add50,"added_p99_us":$ik_add99,"requests_c1":$ik_req1,"non2xx":$((ik_bad + ik_bad1))},
 "apis":{"rounds":$API_ROUNDS,"chat_rps":${api_rps[chat]:-0},"chat_reference_rps":${api_rps[chat_ref]:-0},"chat_ratio":$chat_ratio,$api_json},
 "peer":{$peer_json}}
JSON
say "results in $BENCH_OUT"
[ -z "$bad_runs" ] || { say "FAILED: non-2xx answers in:$bad_runs"; exit 1; }
