#!/usr/bin/env bash
# t_did.sh: DID signature authentication (issue 18, seed 003; doc/api-data-plane.md "DID
# identity"): a request signed by the Ed25519 key of a did:key is a credential.  Valid
# requests pass (padded or unpadded signature); another key's signature, a timestamp out of
# the window, a replay (also through the other worker), a body or query changed after
# signing are refused with their codes; eight racing first requests of a new DID make one
# user with one grant; a DID user's chat is metered and recorded exactly; GET /api/v1/usage
# shows it in seed 003's names; with [did] enabled = off every DID request is 401 did_disabled.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb python3 openssl basenc
python3 -c 'import cryptography' 2>/dev/null || skip "python3-cryptography not installed"
SIGN="python3 $integ_dir/lib/did_sign.py"
# 2 x 4 slots: the eight first requests of one DID run at once.  The replay through another
# worker runs last, after a restart with one slot per worker (see there).
BASE=(server.workers=2 did.enabled=on did.initial_credits=1.00)
chat_stack did "${BASE[@]}" server.threads=4
cp_admin adm 100
AK=$ADMIN_KEY

# --- helpers ------------------------------------------------------------------------------

# did_req KEYFILE METHOD URI [BODY] [TS] [extra curl args...]: a request signed by KEYFILE's
# key with its own DID; sets $code, $T/body, $T/hdr; $SIG the signature sent.
did_req() {
	local key=$1 m=$2 uri=$3 body=${4:-} ts=${5:-$(date +%s)}
	local -a a=()
	shift $(($# < 5 ? $# : 5))
	printf '%s' "$body" >"$T/signed.body"
	SIG=$(did_sig "$key" "$ts" "$m" "$uri" "$T/signed.body")
	[ -z "$body" ] || a+=(-H 'Content-Type: application/json' --data-binary "$body")
	[ -s "$key.did" ] || $SIGN did "$key" >"$key.did"
	http "$m" "$URL$uri" -H "x-did: $(cat "$key.did")" -H "x-did-timestamp: $ts" \
		-H "x-did-signature: $SIG" "${a[@]}" "$@"
}

# did_sig KEYFILE TS METHOD URI [BODYFILE] [--pad]: what `did_sign.py sign` prints, made by
# the openssl command: a python3 that loads cryptography costs 0.4 s of CPU a signature, and
# this test signs about thirty times (a check below holds the two to the same signature).
did_sig() {
	local key=$1 ts=$2 m=$3 uri=$4 body=${5:-} pad=${6:-} h s tmp=$1.tmp.$BASHPID
	if [ ! -s "$key.der" ]; then
		# PKCS#8 DER of an Ed25519 key: a fixed 16-byte prefix, then the 32-byte seed.
		printf '302E020100300506032B657004220420%s' "$(tr a-f A-F <"$key")" |
			basenc --base16 -d >"$tmp"
		mv -f "$tmp" "$key.der"
	fi
	h=$(sha256sum <"${body:-/dev/null}")
	printf '%s\n%s\n%s\n%s' "$ts" "$m" "$uri" "${h%% *}" >"$tmp"
	s=$(openssl pkeyutl -sign -rawin -keyform DER -inkey "$key.der" -in "$tmp" | basenc --base64url -w0)
	rm -f "$tmp"
	[ "$pad" = --pad ] || s=${s%%=*}
	echo "$s"
}

# raw_req DID TS SIG METHOD URI [BODY]: a request with these three headers as they are.
raw_req() {
	local -a a=()
	[ -z "${6:-}" ] || a+=(-H 'Content-Type: application/json' --data-binary "$6")
	http "$4" "$URL$5" -H "x-did: $1" -H "x-did-timestamp: $2" -H "x-did-signature: $3" "${a[@]}"
}

# did_uid DID: users.id of the DID's user ("" when none).
did_uid() { q "SELECT id FROM users WHERE did = '$1'"; }

# --- a valid request, first contact -------------------------------------------------------

$SIGN new "$T/a.key" >/dev/null
DID_A=$($SIGN did "$T/a.key")
$SIGN new "$T/b.key" >/dev/null
note "DID A $DID_A"

did_req "$T/a.key" GET /api/v1/usage
check "signed GET /api/v1/usage -> 200 ($code $(head -c 200 "$T/body"))" status_is 200
check "the answer names the DID and its user" json_is ".did == \"$DID_A\" and (.user_id | startswith(\"usr_\"))"
check "no requests yet: data [] and totals 0" json_is '.data == [] and .totals.total_requests == 0'
UPUB_A=$(jv .user_id)
UID_A=$(did_uid "$DID_A")
check "first contact made one user for the DID" test "$(q "SELECT COUNT(*) FROM users WHERE did = '$DID_A'")" = 1
check "in [did] group 'did', no password that can match" \
	test "$(q "SELECT CONCAT(user_group, ' ', password_hash, ' ', role) FROM users WHERE id = $UID_A")" = "did ! user"
check "initial credits 1.00 as one topup in the ledger" \
	test "$(q "SELECT CONCAT(COUNT(*), ' ', SUM(amount)) FROM ledger_entries WHERE account_id = $UID_A AND kind = 'topup'")" = "1 1000000000"
check "balance 1.00" test "$(acct_row "$UID_A")" = "1000000000 0"
check "audited: user.register and credits.add for the user" \
	test "$(q "SELECT COUNT(*) FROM audit_log WHERE target_id = '$UPUB_A' AND action IN ('user.register', 'credits.add')")" = 2

did_req "$T/a.key" GET "/api/v1/usage?limit=5" "" "" 
check "padless signature, second request -> 200" status_is 200
ts=$(date +%s)
SIGP=$(did_sig "$T/a.key" "$ts" GET /api/v1/usage "" --pad)
raw_req "$DID_A" "$ts" "$SIGP" GET /api/v1/usage
check "padded signature (==) -> 200 ($code)" status_is 200
check "still one user for the DID" test "$(q "SELECT COUNT(*) FROM users WHERE did = '$DID_A'")" = 1
# The openssl signer and the Python one (the reference) agree, padded and not, with a body.
printf '{"model":"x"}' >"$T/ref.body"
check "did_sig signs as did_sign.py does" test \
	"$(did_sig "$T/a.key" 1700000000 POST /v1/chat/completions "$T/ref.body") $SIGP" = \
	"$($SIGN sign "$T/a.key" 1700000000 POST /v1/chat/completions "$T/ref.body") $($SIGN sign "$T/a.key" "$ts" GET /api/v1/usage "" --pad)"

# --- refusals -----------------------------------------------------------------------------

ts=$(date +%s)
SIGB=$(did_sig "$T/b.key" "$ts" GET /api/v1/usage)
raw_req "$DID_A" "$ts" "$SIGB" GET /api/v1/usage
expect_err "A's DID with B's signature" 401 did_bad_signature
did_req "$T/a.key" GET /api/v1/usage "" $(($(date +%s) - 400))
expect_err "timestamp 400 s old" 401 did_timestamp_out_of_window
did_req "$T/a.key" GET /api/v1/usage "" $(($(date +%s) + 400))
expect_err "timestamp 400 s ahead" 401 did_timestamp_out_of_window
raw_req "$DID_A" "$(date +%s)000" "$SIGB" GET /api/v1/usage
expect_err "timestamp in ms (far ahead)" 401 did_timestamp_out_of_window
check "the message says to send seconds" json_is '.error.message | test("milliseconds")'
raw_req "$DID_A" "soon" "$SIGB" GET /api/v1/usage
expect_err "timestamp not digits" 401 did_bad_timestamp
raw_req "did:key:zQ3shMQnkqiyfujhRPGFFqSEeD2yV9kUcmyBiu2fT2BXfFPMH" "$ts" "$SIGB" GET /api/v1/usage
expect_err "a secp256k1 did:key" 401 invalid_did
raw_req "did:example:123" "$ts" "$SIGB" GET /api/v1/usage
expect_err "seed 003's did:example:123" 401 invalid_did
raw_req "$DID_A" "$ts" "${SIGB:0:40}" GET /api/v1/usage
expect_err "a signature cut short" 401 did_bad_signature
http GET "$URL/api/v1/usage" -H "x-did: $DID_A" -H "x-did-timestamp: $ts"
expect_err "no x-did-signature" 401 did_missing_header
check "the message names it" json_is '.error.message | test("x-did-signature")'

# Query and body changed after signing.
ts=$(date +%s)
SIGQ=$(did_sig "$T/a.key" "$ts" GET "/api/v1/usage?limit=1")
raw_req "$DID_A" "$ts" "$SIGQ" GET "/api/v1/usage?limit=2"
expect_err "query string changed after signing" 401 did_bad_signature
raw_req "$DID_A" "$ts" "$SIGQ" GET "/api/v1/usage?limit=1"
check "the same, as signed -> 200 ($code)" status_is 200

before=$(acct_row "$UID_A")
mock_clear
BODY="{\"model\":\"test/cheap\",$MSGS,\"max_tokens\":20}"
printf '%s' "$BODY" >"$T/chat.body"
ts=$(date +%s)
TSC=$ts
SIGC=$(did_sig "$T/a.key" "$ts" POST /v1/chat/completions "$T/chat.body")
raw_req "$DID_A" "$ts" "$SIGC" POST /v1/chat/completions "${BODY/hello there/hello thera}"
expect_err "body changed after signing" 401 did_bad_signature
raw_req "$DID_A" "$ts" "$SIGC" POST /v1/chat/completions "${BODY/\"max_tokens\":20/\"max_tokens\": 20}"
expect_err "body re-spaced after signing (the raw bytes are signed)" 401 did_bad_signature
check "refusals reached no upstream" test "$(mock_n)" = 0
check "refusals changed no money" test "$(acct_row "$UID_A")" = "$before"

# --- metered chat -------------------------------------------------------------------------

raw_req "$DID_A" "$ts" "$SIGC" POST /v1/chat/completions "$BODY"
check "the signed chat -> 200 ($code $(head -c 200 "$T/body"))" status_is 200
c1=$(charge_cheap 12 12)
check "x-tollgate-cost = $c1 nano (12 in, 12 out, +5%)" eq "$(nano "$(hdr x-tollgate-cost)")" "$c1"
check "gateway_usage.cost the same" eq "$(jn .gateway_usage.cost)" "$c1"
check "balance 1.00 - cost, nothing reserved" test "$(acct_row "$UID_A")" = "$((1000000000 - c1)) 0"
check "one usage record, the DID user's, no key" \
	test "$(q "SELECT CONCAT(COUNT(*), ' ', COALESCE(MAX(api_key_id), 0), ' ', SUM(charge), ' ', MAX(prompt_tokens), ' ', MAX(completion_tokens)) FROM usage_records WHERE user_id = $UID_A")" = "1 0 $c1 12 12"
check "the ledger reconciles" ledger_check "$UPUB_A"
raw_req "$DID_A" "$ts" "$SIGC" POST /v1/chat/completions "$BODY"
expect_err "the chat's signature again" 401 did_replay
check "the replay was not charged" test "$(acct_row "$UID_A")" = "$((1000000000 - c1)) 0"

# A stream, signed the same way: metered as exactly.
SBODY="{\"model\":\"test/cheap\",$MSGS,\"max_tokens\":20,\"stream\":true,\"stream_options\":{\"include_usage\":true}}"
printf '%s' "$SBODY" >"$T/stream.body"
ts=$(date +%s)
curl -sSN -m 30 -o "$T/sse" -w '%{http_code}' -H "x-did: $DID_A" -H "x-did-timestamp: $ts" \
	-H "x-did-signature: $(did_sig "$T/a.key" "$ts" POST /v1/chat/completions "$T/stream.body")" \
	-H 'Content-Type: application/json' --data-binary "$SBODY" "$URL/v1/chat/completions" \
	>"$T/sse.code" 2>"$T/sse.err" || true
check "a signed stream -> 200 ending in [DONE] ($(cat "$T/sse.code"))" \
	sh -c "[ \"\$(cat '$T/sse.code')\" = 200 ] && grep -q '^data: \\[DONE\\]' '$T/sse'"
check "the stream cost the same again" test "$(acct_row "$UID_A")" = "$((1000000000 - 2 * c1)) 0"
check "two usage records, the ledger reconciles" \
	sh -c "[ \"\$1\" = 2 ] && [ \"\$2\" = $((2 * c1)) ]" _ \
	"$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_A")" \
	"$(q "SELECT SUM(charge) FROM usage_records WHERE user_id = $UID_A")"
check "  (tollgate ledger check)" ledger_check "$UPUB_A"

did_req "$T/a.key" GET /api/v1/usage
check "usage lists the chat in seed 003's names" \
	json_is ".data | length == 2 and (.[1] | .did == \"$DID_A\" and .model == \"test/cheap\" and .input_tokens == 12 and .output_tokens == 12 and .status == \"completed\" and (.request_time | test(\"Z$\")) and (.response_time >= .request_time))"
check "its total_cost is the charge" eq "$(jn '.data[1].total_cost')" "$c1"
check "the stream's record is newest, marked stream" json_is '.data[0].stream == true and .data[0].status == "completed"'
check "totals: 2 requests, 48 tokens, the cost" json_is '.totals.total_requests == 2 and .totals.total_tokens == 48'
check "totals cost" eq "$(jn .totals.total_cost)" "$((2 * c1))"

# A refusal (402 here) is in the log too, as seed 003's "failed", and not in the totals.
did_req "$T/a.key" POST /v1/chat/completions "{\"model\":\"test/dear\",\"max_tokens\":100000,$MSGS}"
expect_err "a chat dearer than the balance" 402 insufficient_quota
R402=$(hdr x-request-id)
logged_402() { did_req "$T/a.key" GET /api/v1/usage; json_is "[.data[] | select(.id == \"$R402\")] | length == 1"; }
check "the refusal is listed by /api/v1/usage" wait_for "the refused record" 10 logged_402
check "...as failed, http 402, with its reason, cost 0" json_is \
	"[.data[] | select(.id == \"$R402\")][0] | .status == \"failed\" and .http_status == 402 and (.error_message | test(\"credit\")) and (.total_cost | tonumber) == 0"
check "...the totals still 2 requests" json_is '.totals.total_requests == 2'

# A DID is a credential like a key: it calls the API, it does not manage keys.
did_req "$T/a.key" POST /user/api-keys '{"name":"x"}'
expect_err "a DID user may not create keys" 403 insufficient_permissions
did_req "$T/a.key" GET /user/balance
check "a DID user reads its balance ($code)" status_is 200

# --- eight first requests at once ---------------------------------------------------------

$SIGN new "$T/c.key" >/dev/null
DID_C=$($SIGN did "$T/c.key")
ts=$(date +%s)
# One curl sends the eight at once (--parallel-immediate: eight connections from the start).
args=()
for i in 1 2 3 4 5 6 7 8; do
	[ "$i" = 1 ] || args+=(--next)
	args+=(-s -m 30 -o "$T/race.$i.body" -w '%{http_code}\n' -H "x-did: $DID_C"
		-H "x-did-timestamp: $ts"
		-H "x-did-signature: $(did_sig "$T/c.key" "$ts" GET "/api/v1/usage?i=$i")"
		"$URL/api/v1/usage?i=$i")
done
curl -Z --parallel-immediate --parallel-max 8 "${args[@]}" >"$T/race.codes" 2>/dev/null || true
n200=$(grep -c '^200$' "$T/race.codes" || true)
check "8 racing first requests -> 8 x 200 (got $(tr '\n' ' ' <"$T/race.codes"))" test "$n200" = 8
check "one user for the DID" test "$(q "SELECT COUNT(*) FROM users WHERE did = '$DID_C'")" = 1
UID_C=$(did_uid "$DID_C")
check "one grant: one topup of 1.00, balance 1.00" \
	test "$(q "SELECT CONCAT(COUNT(*), ' ', SUM(amount)) FROM ledger_entries WHERE account_id = $UID_C")" = "1 1000000000"
check "every answer names the one user" \
	test "$(jq -r .user_id "$T"/race.*.body | sort -u | wc -l)" = 1
check "one user.register in the audit log" \
	test "$(q "SELECT COUNT(*) FROM audit_log a JOIN users u ON u.public_id = a.target_id WHERE u.id = $UID_C AND a.action = 'user.register'")" = 1

# --- an API key wins over x-did; health is open -------------------------------------------

http GET "$URL/api/v1/usage" -H "Authorization: Bearer $AK" -H "x-did: $DID_A"
check "a key with x-did: the key's user ($code)" json_is '.did == null and (.user_id | startswith("usr_"))'
http GET "$URL/api/v1/health"
check "GET /api/v1/health, no credential -> 200 ok" json_is '.status == "ok"'

# --- off (one CGI request with a config that says so) ------------------------------------

tg_conf "$T/off.conf" "db.name=$SCRATCH" "${BASE[@]}" did.enabled=off
ts=$(date +%s)
env REQUEST_METHOD=GET REQUEST_URI=/api/v1/usage "HTTP_X_DID=$DID_A" "HTTP_X_DID_TIMESTAMP=$ts" \
	"HTTP_X_DID_SIGNATURE=$(did_sig "$T/a.key" "$ts" GET /api/v1/usage)" \
	"$TOLLGATE_BIN" -c "$T/off.conf" </dev/null >"$T/off.out" 2>"$T/off.err" || true
check "[did] enabled = off: a signed request -> 401 ($(head -n 1 "$T/off.out" | tr -d '\r'))" \
	grep -q '^Status: 401' "$T/off.out"
tr -d '\r' <"$T/off.out" | sed '1,/^$/d' >"$T/body"
check "  with code did_disabled, the message naming DID" \
	json_is '.error.code == "did_disabled" and (.error.message | test("DID"))'
env REQUEST_METHOD=GET REQUEST_URI=/api/v1/usage "HTTP_AUTHORIZATION=Bearer $AK" \
	"$TOLLGATE_BIN" -c "$T/off.conf" </dev/null >"$T/off2.out" 2>>"$T/off.err" || true
check "  keys still work there" grep -q '^Status: 200' "$T/off2.out"

# --- replay through the other worker ------------------------------------------------------

# One slot per worker: a worker busy with /_debug/sleep cannot take a request, so the other
# one does.
cp_restart "db.name=$SCRATCH" "${BASE[@]}" server.threads=1
workers=$(children "$tg_pid" | tr '\n' ' ')
raw_req "$DID_A" "$TSC" "$SIGC" POST /v1/chat/completions "$BODY"
expect_err "after a restart the chat's signature is still a replay (the table is a file)" 401 did_replay
# busy_other PID: keeps a worker other than PID asleep; true once it is so.
busy_other() {
	local i free
	for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
		bg_get sleep "/_debug/sleep?ms=4000"
		sleep 0.8
		http GET "$URL/_debug/pid"
		free=$(jv .pid)
		[ "$free" = "$1" ] && return 0
		wait "$bg_curl" || true
	done
	return 1
}
bg_get sleep "/_debug/sleep?ms=2500"
sleep 0.4
http GET "$URL/_debug/pid"
W1=$(jv .pid)
ts=$(date +%s)
SIGR=$(did_sig "$T/a.key" "$ts" GET "/api/v1/usage?r=1")
raw_req "$DID_A" "$ts" "$SIGR" GET "/api/v1/usage?r=1"
check "a signed request served while the other worker sleeps -> 200 ($code)" status_is 200
wait "$bg_curl" || true
note "workers $workers; the request went to $W1"
if busy_other "$W1"; then
	raw_req "$DID_A" "$ts" "$SIGR" GET "/api/v1/usage?r=1"
	expect_err "its replay, while $W1 sleeps (so through the other worker)" 401 did_replay
	wait "$bg_curl" || true
else
	not_ok "could not put worker $W1 to sleep for the replay"
fi

finish
