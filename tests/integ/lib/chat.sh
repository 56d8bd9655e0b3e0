# chat.sh: data-plane test helpers: the mock provider, a provider and models registered
# with the CLI, chat requests, users with money, the database's view of money.  Loaded after
# cp.sh (lib/init.sh cp chat); see doc/api-data-plane.md.

: "${TOLLGATE_BUILDDIR:=$TOLLGATE_SRCDIR}"
MOCK_BIN=$TOLLGATE_BUILDDIR/tests/mock-provider/mock-provider
MOCK_KEY=sk-mock-0123456789
# A fixed master key for the suite; tollgate reads it from the environment.
export TOLLGATE_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff

need_mock() {
	[ -x "$MOCK_BIN" ] || skip "mock provider $MOCK_BIN not built"
}

# mock_up [NAME]: starts a mock provider logging to $T/NAME.jsonl; sets MOCK_URL (with /v1),
# MOCK_ANTHROPIC_URL, MOCK_GEMINI_URL and MOCK_PORT.
mock_up() {
	local name=${1:-mock}
	start_bg "$name" "$MOCK_BIN" -p 0 -k "$MOCK_KEY" -l "$T/$name.jsonl"
	mock_pid=$bg_pid
	wait_for "mock provider prints its port" 10 mock_has_port "$name" || bail "mock provider starts"
	MOCK_PORT=$(mock_port "$name")
	MOCK_URL=http://127.0.0.1:$MOCK_PORT/v1
	# The same mock as Anthropic (base + /messages) and as Gemini (base + /models/M:...).
	MOCK_ANTHROPIC_URL=http://127.0.0.1:$MOCK_PORT/v1
	MOCK_GEMINI_URL=http://127.0.0.1:$MOCK_PORT/v1beta
}

# mock_port NAME: the port a mock started as NAME (start_bg NAME) says it listens on.
mock_port() { sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/log/$1.out"; }
mock_has_port() { [ -n "$(mock_port "$1")" ]; }
# n_mock [NAME]: the number of requests in the log file $T/NAME.jsonl (default mock).
n_mock() { jq -s length "$T/${1:-mock}.jsonl" 2>/dev/null || echo 0; }
# mock_n: the number of requests the mock has logged ("" when it does not answer).
mock_n() { mock_requests || true; }
# mock_clear: empties the mock's request log.
mock_clear() { curl -s -m 5 -X DELETE "http://127.0.0.1:$MOCK_PORT/_mock/requests" >/dev/null || true; }

# sdk_install: the official SDKs of tests/client/package.json, installed once per build tree
# into $SDK_DIR (tests/client-cache) with the scripts tests/client/*.mjs beside them.
sdk_install() {
	SDK_DIR=${TOLLGATE_BUILDDIR:-$TOLLGATE_SRCDIR}/tests/client-cache
	npm_install "$TOLLGATE_SRCDIR/tests/client" "$SDK_DIR" "the SDKs in tests/client/package.json"
}

# tg_cli ARGS...: tollgate with the test config ($CONF, else $T/migrate.conf).
tg_cli() {
	"$TOLLGATE_BIN" -c "${CONF:-$T/migrate.conf}" "$@"
}

# chat_catalog: registers provider "mock" (openai-compatible at $MOCK_URL) with the mock's
# key and two models: test/cheap ($1 in / $2 out per million) and test/dear ($10 / $30); and
# the same mock under the two native wires: provider "mock-anthropic" (kind anthropic, at
# $MOCK_ANTHROPIC_URL: /v1/messages) with test/claude ($3 in / $15 out / $0.30 cache read per
# million), and "mock-gemini" (kind gemini, at $MOCK_GEMINI_URL: /v1beta/models/...) with
# test/gemini ($0.30 / $2.50 / $0.075).
chat_catalog() {
	# A test that starts its mock itself sets MOCK_PORT (and MOCK_URL) only.
	: "${MOCK_ANTHROPIC_URL:=http://127.0.0.1:$MOCK_PORT/v1}"
	: "${MOCK_GEMINI_URL:=http://127.0.0.1:$MOCK_PORT/v1beta}"
	tg_cli provider add mock openai-compatible "$MOCK_URL" "Mock provider" >/dev/null ||
		bail "tollgate provider add"
	echo "$MOCK_KEY" | tg_cli provider key-add mock main >/dev/null || bail "tollgate provider key-add"
	tg_cli model add test/cheap mock mock-cheap 1.00 2.00 0.50 8192 >/dev/null ||
		bail "tollgate model add test/cheap"
	tg_cli model add test/dear mock mock-dear 10.00 30.00 >/dev/null ||
		bail "tollgate model add test/dear"
	tg_cli provider add mock-anthropic anthropic "$MOCK_ANTHROPIC_URL" "Mock provider, Anthropic wire" \
		>/dev/null || bail "tollgate provider add mock-anthropic"
	echo "$MOCK_KEY" | tg_cli provider key-add mock-anthropic main >/dev/null ||
		bail "tollgate provider key-add mock-anthropic"
	tg_cli model add test/claude mock-anthropic mock-claude 3.00 15.00 0.30 200000 >/dev/null ||
		bail "tollgate model add test/claude"
	tg_cli provider add mock-gemini gemini "$MOCK_GEMINI_URL" "Mock provider, Gemini wire" \
		>/dev/null || bail "tollgate provider add mock-gemini"
	echo "$MOCK_KEY" | tg_cli provider key-add mock-gemini main >/dev/null ||
		bail "tollgate provider key-add mock-gemini"
	tg_cli model add test/gemini mock-gemini mock-gemini 0.30 2.50 0.075 1000000 >/dev/null ||
		bail "tollgate model add test/gemini"
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
	chat_backend "$suffix"
	stack_up "db.name=$SCRATCH" "$@"
}

# chat_backend SUFFIX: what chat_stack puts behind tollgate: a scratch database (cp_scratch_db
# SUFFIX), a mock provider (mock_up) and the catalogue on it (chat_catalog).
chat_backend() {
	cp_scratch_db "$1"
	mock_up
	chat_catalog
}

# chat CRED BODY [curl args...]: POST /v1/chat/completions.
chat() {
	local cred=$1 body=$2
	shift 2
	http POST "$URL/v1/chat/completions" -H "Authorization: Bearer $cred" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# chat_burst TAG N CRED BODY [curl args...]: N chats at once (one curl each, in the
# background); the i-th's status, headers, body and curl errors in $T/TAG.i.code, .hdr,
# .body, .err. Returns when all have ended.
chat_burst() {
	local tag=$1 n=$2 cred=$3 body=$4 i p
	local -a pids=()
	shift 4
	for i in $(seq "$n"); do
		curl -s -m 90 "$@" -o "$T/$tag.$i.body" -D "$T/$tag.$i.hdr" \
			-w '%{http_code}\n' -X POST -H 'Expect:' -H "Authorization: Bearer $cred" \
			-H 'Content-Type: application/json' --data-binary "$body" \
			"$URL/v1/chat/completions" >"$T/$tag.$i.code" 2>"$T/$tag.$i.err" &
		pids+=($!)
		owned_pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
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
	hdr_norm
	sed -n 's/^data: //p' "$T/sse" >"$T/events"
	code=$hdr_status
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
# balance + reserved) and no hold is open; prints the figures.  `tollgate ledger check` is
# the authority: it must pass too, for every user of the database (its output is noted).
ledger_check() {
	local row lc lc_rc=0
	row=$(sql "$SCRATCH" -e "SELECT a.balance, a.reserved,
		(SELECT COALESCE(SUM(e.amount),0) FROM ledger_entries e WHERE e.account_id = a.user_id),
		(SELECT COUNT(*) FROM holds h WHERE h.account_id = a.user_id AND h.state = 'open')
		FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.public_id = '$1'")
	note "ledger of $1: balance reserved sum open = $row"
	lc=$(tg_cli ledger check 2>&1) || lc_rc=$?
	[ "$lc_rc" = 0 ] || note "tollgate ledger check: exit $lc_rc: $(echo "$lc" | tr '\n' ' ')"
	echo "$row" | awk -F'\t' '{ exit !($1 + $2 == $3 && $4 == 0) }' && [ "$lc_rc" = 0 ]
}

# MSGS: the "messages" member of the usual chat body (12 prompt tokens at the mock).
MSGS='"messages":[{"role":"system","content":"be terse"},{"role":"user","content":"hello there"}]'
# msgs TEXT: the "messages" member of a chat body: system "be terse", user TEXT.
msgs() { echo "\"messages\":[{\"role\":\"system\",\"content\":\"be terse\"},{\"role\":\"user\",\"content\":\"$1\"}]"; }

# --- users with money ---------------------------------------------------------------------

# fund USER_PUBLIC_ID USD: admin add_credits (with $AK_ADMIN) of the decimal string USD.
fund() {
	req POST /admin/add_credits "$AK_ADMIN" "{\"user_id\":\"$1\",\"amount_usd\":\"$2\"}"
	[ "$code" = 200 ] || bail "admin add_credits $2 to $1 ($code: $(head -c 200 "$T/body"))"
}
# user TAG USD: registers a user (funded with fund when USD is not 0); sets U_KEY, U_ID.
user() {
	cp_register "$1" || bail "register user $1 ($code: $(head -c 200 "$T/body"))"
	U_KEY=$REG_KEY U_ID=$REG_ID
	[ "$2" = 0 ] || fund "$U_ID" "$2"
}
# new_user TAG NANO [NOTE]: registers a user and funds it (with $AK) with NANO nano-USD;
# sets UKEY, UPUB, UID_ (users.id) and F (the funding).
new_user() {
	cp_register "$1" || bail "$1: register ($code)"
	UKEY=$REG_KEY UPUB=$REG_ID
	UID_=$(uid_of "$UPUB")
	req POST /admin/add_credits "$AK" "{\"user_id\":\"$UPUB\",\"amount_usd\":\"$(usd_of "$2")\"${3:+,\"note\":\"$3\"}}"
	[ "$code" = 200 ] || bail "$1: fund ($code: $(head -c 200 "$T/body"))"
	F=$2
}
# read_balance CRED: GET /user/balance; sets BAL, RES, AVAIL in nano-USD (see nano).
read_balance() {
	local j b="" r="" v=""
	j=$(curl -s -m 10 -H "Authorization: Bearer $1" "$URL/user/balance" || true)
	# One jq for the three (tests call this hundreds of times; a jq costs 20-30 ms of CPU).
	read -r b r v < <(jq -r '"\(.balance) \(.reserved) \(.available)"' <<<"$j" 2>/dev/null || true)
	BAL=$(nano "$b")
	RES=$(nano "$r")
	AVAIL=$(nano "$v")
}

# --- the database's view (the scratch database $SCRATCH; UID is users.id) -----------------

# q SQL: one statement on the scratch database; empty output when it fails.
q() { sql "$SCRATCH" -e "$1" || true; }
# uid_of PUBLIC_ID: users.id of a user.
uid_of() { q "SELECT id FROM users WHERE public_id = '$1'"; }
# acct_row UID: "balance reserved" of the account, in nano-USD.
acct_row() { q "SELECT balance, reserved FROM accounts WHERE user_id = $1" | tr '\t' ' '; }
# open_holds UID: the number of open holds; no_open UID: there are none.
open_holds() { q "SELECT COUNT(*) FROM holds WHERE account_id = $1 AND state = 'open'"; }
no_open() { [ "$(open_holds "$1")" = 0 ]; }
# lease_lock UID: a session holds UID's open lease rows locked (FOR UPDATE, up to 120 s), so
# the journal's write-outs for them block at their first statement while answers still go
# out (carving and the journal need no SQL); lease_unlock ends it. Fails without an open lease.
LEASE_LOCKQ="SELECT SLEEP(120) AS journal_lock"
lease_lock_id() { q "SELECT id FROM information_schema.processlist WHERE info = '$LEASE_LOCKQ'"; }
lease_locked() { [ -n "$(lease_lock_id)" ]; }
lease_unlocked() { [ -z "$(lease_lock_id)" ]; }
lease_lock() {
	local ids
	ids=$(q "SELECT GROUP_CONCAT(CONCAT('0x', HEX(id))) FROM holds WHERE account_id = $1 AND lease = 1 AND state = 'open'")
	check "user $1 has an open lease ($ids)" test -n "$ids" -a "$ids" != NULL || return 1
	sql "$SCRATCH" -e "START TRANSACTION; SELECT COUNT(*) FROM holds WHERE id IN ($ids) FOR UPDATE; $LEASE_LOCKQ" \
		>/dev/null 2>&1 &
	owned_pids+=($!)
	check "a session holds the lease rows locked" wait_for "the lock" 10 lease_locked
}
lease_unlock() {
	q "KILL $(lease_lock_id)"
	check "the lock is released" wait_for "the lock released" 10 lease_unlocked
}
# n_usage UID: the number of usage records; n_usage_pub PUBLIC_ID: the same by public id.
# journals_of "PID...": the names of those processes' journal files in $T/run/journal.
journals_of() {
	local v jf
	for v in $1; do
		for jf in "$T/run/journal/$v"-*.j; do
			[ ! -e "$jf" ] || basename "$jf"
		done
	done
}
n_usage() { q "SELECT COUNT(*) FROM usage_records WHERE user_id = $1"; }
# usage_sum UID: "COUNT SUM" of its served requests' records (refusals, 429 and 402, are
# records of their own with charge 0); recorded UID N: at least N of them.
usage_sum() { q "SELECT COUNT(*), COALESCE(SUM(charge), 0) FROM usage_records WHERE user_id = $1 AND status <> 'refused'" | tr '\t' ' '; }
recorded() { [ "$(usage_sum "$1" | cut -d' ' -f1)" -ge "$2" ]; }

n_usage_pub() {
	sql "$SCRATCH" -e "SELECT COUNT(*) FROM usage_records r JOIN users u ON u.id = r.user_id
		WHERE u.public_id = '$1' AND r.status <> 'refused'" 2>/dev/null || echo "?"
}
# n_refused_pub PUBLIC_ID: that user's refused records (429 or 402 before any upstream call,
# charge 0), written by the journal's write-out a moment after the answer.
n_refused_pub() {
	sql "$SCRATCH" -e "SELECT COUNT(*) FROM usage_records r JOIN users u ON u.id = r.user_id
		WHERE u.public_id = '$1' AND r.status = 'refused' AND r.charge = 0" 2>/dev/null || echo "?"
}
