#!/usr/bin/env bash
# t_cli.sh: command line contract: CGI mode, -t, version, TOLLGATE_CONF.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin jq

tg_conf "$T/good.conf"
# Line numbers matter below: the bad value is on a known line.
cat >"$T/bad.conf" <<'CONF'
# bad.conf: one invalid value on line 4
[server]
threads = 2
workers = banana
CONF

# --- CGI mode: fd 0 is not a socket and REQUEST_METHOD is set -----------------------------
cgi() {
	env -i PATH="$PATH" REQUEST_METHOD="$1" REQUEST_URI="$2" SERVER_PROTOCOL=HTTP/1.1 \
		GATEWAY_INTERFACE=CGI/1.1 TOLLGATE_CONF="$T/good.conf" \
		timeout 10 "$TOLLGATE_BIN" </dev/null >"$T/cgi.out" 2>"$T/cgi.err"
}
rc=0
cgi GET /health || rc=$?
tr -d '\r' <"$T/cgi.out" >"$T/cgi.txt"
# Headers end at the first empty line; the rest is the body.
sed -n '/^$/,$p' "$T/cgi.txt" | sed 1d >"$T/cgi.body"
check "CGI: exits 0" test "$rc" -eq 0
check "CGI: Status: 200 header" grep -q '^Status: 200' "$T/cgi.txt"
check "CGI: JSON content type" grep -qi '^Content-Type: application/json' "$T/cgi.txt"
check "CGI: x-request-id header" grep -qi '^x-request-id: ' "$T/cgi.txt"
check "CGI: body is the health JSON" jq_file "$T/cgi.body" '.status == "ok" and .database.reachable == true'
cgi GET /no/such/route || true
check "CGI: unknown path gives Status: 404" grep -q '^Status: 404' "$T/cgi.out"

# --- -t -------------------------------------------------------------------------------------
rc=0
"$TOLLGATE_BIN" -t -c "$T/bad.conf" >"$T/t.out" 2>"$T/t.err" || rc=$?
check "-t on a broken config exits 1 (got $rc)" test "$rc" -eq 1
check "-t prints file:line: message" grep -Eq "^$T/bad.conf:4: .+" "$T/t.err"
rc=0
"$TOLLGATE_BIN" -t -c "$T/good.conf" >"$T/t.out" 2>&1 || rc=$?
check "-t on a good config exits 0 (got $rc)" test "$rc" -eq 0
check "-t on a good config says so" grep -q "configuration file $T/good.conf test is successful" "$T/t.out"

# --- version ----------------------------------------------------------------------------------
rc=0
out=$("$TOLLGATE_BIN" version 2>&1) || rc=$?
check "version exits 0" test "$rc" -eq 0
check "version prints 'tollgate X.Y.Z' ($out)" sh -c "echo '$out' | grep -Eqx 'tollgate [0-9]+\.[0-9]+\.[0-9]+'"

# --- TOLLGATE_CONF when there is no -c ------------------------------------------------------
rc=0
TOLLGATE_CONF=$T/bad.conf "$TOLLGATE_BIN" -t >"$T/e.out" 2>&1 || rc=$?
check "TOLLGATE_CONF=bad: -t exits 1" test "$rc" -eq 1
check "TOLLGATE_CONF=bad: the error names that file" grep -q "^$T/bad.conf:4:" "$T/e.out"
rc=0
TOLLGATE_CONF=$T/good.conf "$TOLLGATE_BIN" -t >"$T/e.out" 2>&1 || rc=$?
check "TOLLGATE_CONF=good: -t exits 0" test "$rc" -eq 0
check "TOLLGATE_CONF=good: names that file" grep -q "$T/good.conf" "$T/e.out"
rc=0
TOLLGATE_CONF=$T/bad.conf "$TOLLGATE_BIN" -t -c "$T/good.conf" >"$T/e.out" 2>&1 || rc=$?
check "-c wins over TOLLGATE_CONF" test "$rc" -eq 0

finish
