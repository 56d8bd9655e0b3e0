# chat_lib.sh: data-plane test helpers: the mock provider, a provider and models registered
# with the CLI, chat requests.  Source after lib.sh and cp_lib.sh; see doc/api-data-plane.md.

: "${TOLLGATE_BUILDDIR:=$TOLLGATE_SRCDIR}"
MOCK_BIN=$TOLLGATE_BUILDDIR/tests/mock-provider/mock-provider
MOCK_KEY=sk-mock-0123456789
# A fixed master key for the suite; tollgate reads it from the environment.
export TOLLGATE_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

need_mock() {
	[ -x "$MOCK_BIN" ] || skip "mock provider $MOCK_BIN not built"
}

# mock_up [NAME]: starts a mock provider logging to $T/NAME.jsonl; sets MOCK_URL (with /v1)
# and MOCK_PORT.
mock_up() {
	local name=${1:-mock}
	start_bg "$name" "$MOCK_BIN" -p 0 -k "$MOCK_KEY" -l "$T/$name.jsonl"
	mock_pid=$bg_pid
	mock_port_of() { sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/log/$name.out"; }
	mock_has_port() { [ -n "$(mock_port_of)" ]; }
	wait_for "mock provider prints its port" 10 mock_has_port || bail "mock provider starts"
	MOCK_PORT=$(mock_port_of)
	MOCK_URL=http://127.0.0.1:$MOCK_PORT/v1
}

# tg_cli ARGS...: tollgate with the test config ($CONF, else $T/migrate.conf).
tg_cli() {
	"$TOLLGATE_BIN" -c "${CONF:-$T/migrate.conf}" "$@"
}

# chat_catalog: registers provider "mock" (openai-compatible at $MOCK_URL) with the mock's
# key and two models: test/cheap ($1 in / $2 out per million) and test/dear ($10 / $30).
chat_catalog() {
	tg_cli provider add mock openai-compatible "$MOCK_URL" "Mock provider" >/dev/null ||
		bail "tollgate provider add"
	echo "$MOCK_KEY" | tg_cli provider key-add mock main >/dev/null || bail "tollgate provider key-add"
	tg_cli model add test/cheap mock mock-cheap 1.00 2.00 0.50 8192 >/dev/null ||
		bail "tollgate model add test/cheap"
	tg_cli model add test/dear mock mock-dear 10.00 30.00 >/dev/null ||
		bail "tollgate model add test/dear"
}

# chat_stack SUFFIX [section.key=value ...]: scratch DB, mock provider, catalogue, tollgate
# behind nginx.  Sets everything stack_up and mock_up set.
chat_stack() {
	local suffix=$1
	shift
	need_db
	need_bin
	need_mock
	need_cmd curl jq nginx mariadb
	cp_scratch_db "$suffix"
	mock_up
	chat_catalog
	stack_up "db.name=$SCRATCH" "$@"
}

# chat CRED BODY [curl args...]: POST /v1/chat/completions.
chat() {
	local cred=$1 body=$2
	shift 2
	http POST "$URL/v1/chat/completions" -H "Authorization: Bearer $cred" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# chat_sse CRED BODY [curl args...]: a streamed chat into $T/sse (raw) and $T/events (the data
# payloads, one per line); $sse_rc is curl's exit status, $T/hdr the response headers.
chat_sse() {
	local cred=$1 body=$2
	shift 2
	sse_rc=0
	rm -f "$T/sse" "$T/hdr.raw"
	curl -sSN -m "${CURL_TIMEOUT:-30}" -o "$T/sse" -D "$T/hdr.raw" "$URL/v1/chat/completions" \
		-H "Authorization: Bearer $cred" -H 'Content-Type: application/json' \
		--data-binary "$body" "$@" 2>"$T/curl.err" || sse_rc=$?
	touch "$T/sse" "$T/hdr.raw"
	tr -d '\r' <"$T/hdr.raw" | sed 's/^\([^:]*\):/\L\1:/' >"$T/hdr"
	sed -n 's/^data: //p' "$T/sse" >"$T/events"
	code=$(sed -n 's/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$T/hdr" | tail -n 1)
	last_req="SSE $body -> rc $sse_rc"
	cp "$T/sse" "$T/body"
}

# mock_requests: the mock's request log as a JSON array in $T/mockreq.json; prints its length.
mock_requests() {
	curl -s -m 5 "http://127.0.0.1:$MOCK_PORT/_mock/requests" >"$T/mockreq.json"
	jq length "$T/mockreq.json"
}

# balance_of CRED: the available balance (decimal string).
balance_of() {
	curl -s -m 10 -H "Authorization: Bearer $1" "$URL/user/balance" | jq -r .available
}

# ledger_check USER_PUBLIC_ID: true when the user's ledger reconciles (sum of entries =
# balance + reserved) and no hold is open; prints the figures.
ledger_check() {
	local row
	row=$(sql "$SCRATCH" -e "SELECT a.balance, a.reserved,
		(SELECT COALESCE(SUM(e.amount),0) FROM ledger_entries e WHERE e.account_id = a.user_id),
		(SELECT COUNT(*) FROM holds h WHERE h.account_id = a.user_id AND h.state = 'open')
		FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.public_id = '$1'")
	note "ledger of $1: balance reserved sum open = $row"
	echo "$row" | awk -F'\t' '{ exit !($1 + $2 == $3 && $4 == 0) }'
}
