#!/usr/bin/env bash
# t_webhook.sh: POST /billing/webhook (issue 18, money). This script plays the payment
# provider: it signs events as Stripe does (Tollgate-Signature or Stripe-Signature:
# t=UNIX,v1=HEX, HMAC-SHA256 of "t.body" with openssl). A valid event credits its user once
# (ledger entry naming the event, audit row); a replay, also 8 at once, is a 200 with
# duplicate true and credits nothing; bad signatures, tampered bodies, old or future
# timestamps, unknown users, other currencies and oversize bodies are refused with their
# codes and change nothing; several v1 values and two secrets (a rolled secret) verify; the
# webhook is off (404) without a secret file.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin nginx curl jq mariadb openssl
cp_scratch_db webhook
stack_up "db.name=$SCRATCH"

OLD=whsec_old_$RANDOM$RANDOM$RANDOM
NEW=whsec_new_$RANDOM$RANDOM$RANDOM
EVN=0
pids=()

# sign SECRET T BODY: the v1 signature of "T.BODY".
sign() { printf '%s.%s' "$2" "$3" | openssl dgst -sha256 -hmac "$1" -r | cut -d' ' -f1; }
# hook HEADER_VALUE BODY [HEADER_NAME]: POST the body with that signature header.
hook() {
	http POST "$URL/billing/webhook" -H 'Content-Type: application/json' \
		-H "${3:-Tollgate-Signature}: $1" --data-binary "$2"
}
# send SECRET BODY [T]: sign the body now (or at T) and POST it.
send() {
	local t=${3:-$(date +%s)}
	hook "t=$t,v1=$(sign "$1" "$t" "$2")" "$2"
}
# checkout ID CENTS USER [CURRENCY]: a checkout.session.completed event.
checkout() {
	printf '{"id":"%s","type":"checkout.session.completed","data":{"object":{"object":"checkout.session","amount_total":%s,"currency":"%s","payment_status":"paid","metadata":{"user_id":"%s"}}}}' \
		"$1" "$2" "${4:-usd}" "$3"
}
new_id() { echo "evt_t$$_$(date +%s%N)"; }
bal() { q "SELECT balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.public_id = '$1'"; }
n_events() { q "SELECT COUNT(*) FROM billing_events"; }
n_pay() { q "SELECT COUNT(*) FROM ledger_entries WHERE source = 'payment'${1:+ AND source_ref = '$1'}"; }

cp_register payer || bail "register ($code)"
UKEY=$REG_KEY UPUB=$REG_ID UEMAIL=$REG_EMAIL
E0=$(new_id)
send "$OLD" "$(checkout "$E0" 500 "$UPUB")"
expect_err "without [billing] webhook_secret_file the webhook is off" 404 webhook_disabled

printf '%s\n%s\n' "$OLD" "$NEW" >"$T/whsec"
chmod 0600 "$T/whsec"
cp_restart "db.name=$SCRATCH" "billing.webhook_secret_file=$T/whsec"

# --- a valid event, and its replays ---------------------------------------------------------
E1=$(new_id)
B1=$(checkout "$E1" 1234 "$UPUB")
t=$(date +%s)
S1="t=$t,v1=$(sign "$NEW" "$t" "$B1")"
hook "$S1" "$B1"
expect_status "a signed checkout.session.completed of 1234 cents" 200
check "  answered received, not a duplicate, 12.34 for the user" json_is \
	".received == true and .duplicate == false and .event_id == \"$E1\" and .user_id == \"$UPUB\" and .amount == \"12.34\" and (.entry_id | type) == \"number\""
check "  the balance is 12.34" test "$(bal "$UPUB")" = 12340000000
check "  one ledger top-up names the event" test "$(n_pay "$E1")" = 1
check "  one credits.payment audit row" test "$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'credits.payment' AND target_id = '$UPUB' AND after_json LIKE '%$E1%'")" = 1
hook "$S1" "$B1"
check "the same delivery again: 200 duplicate true" json_is '.received == true and .duplicate == true'
send "$NEW" "$B1"
check "the same event signed anew: duplicate true" json_is '.duplicate == true'
check "  credited once" test "$(bal "$UPUB")" = 12340000000
check "  still one entry, one event row" test "$(n_pay "$E1")/$(n_events)" = 1/1

# 8 deliveries of one event at once: one credit.
E2=$(new_id)
B2=$(checkout "$E2" 100 "$UPUB")
t=$(date +%s)
S2="t=$t,v1=$(sign "$NEW" "$t" "$B2")"
for i in $(seq 8); do
	curl -s -m 30 -o "$T/dup-$i.json" -H 'Content-Type: application/json' \
		-H "Tollgate-Signature: $S2" --data-binary "$B2" "$URL/billing/webhook" &
	pids+=($!)
done
wait "${pids[@]}" || true
pids=()
nfirst=$(cat "$T"/dup-*.json | jq -s '[.[] | select(.duplicate == false)] | length')
ndup=$(cat "$T"/dup-*.json | jq -s '[.[] | select(.duplicate == true)] | length')
check "8 deliveries of one event at once: one credited ($nfirst), 7 duplicates ($ndup)" test "$nfirst/$ndup" = 1/7
check "  the balance went up by 1.00 once" test "$(bal "$UPUB")" = 13340000000

# --- Stripe-Signature, topup.succeeded with a USD string, the user by email -------------------
E3=$(new_id)
B3="{\"id\":\"$E3\",\"type\":\"topup.succeeded\",\"data\":{\"object\":{\"amount\":\"5.000000001\",\"currency\":\"USD\",\"metadata\":{\"email\":\"$UEMAIL\"}}}}"
t=$(date +%s)
hook "t=$t,v1=$(sign "$OLD" "$t" "$B3")" "$B3" Stripe-Signature
check "Stripe-Signature, topup.succeeded, amount \"5.000000001\", by email, the older secret" json_is \
	'.duplicate == false and .amount == "5.000000001"'
check "  the balance is exact to the nano-USD" test "$(bal "$UPUB")" = 18340000001

# --- several v1 values ------------------------------------------------------------------------
E4=$(new_id)
B4=$(checkout "$E4" 1 "$UPUB")
t=$(date +%s)
hook "t=$t,v1=$(sign wrong "$t" "$B4"),v0=abc,v1=$(sign "$NEW" "$t" "$B4")" "$B4"
check "a header with a wrong v1, a v0 and the right v1: credited" json_is '.duplicate == false and .amount == "0.01"'

# --- refusals that change nothing --------------------------------------------------------------
before=$(bal "$UPUB")
nev=$(n_events)
E5=$(new_id)
B5=$(checkout "$E5" 99900 "$UPUB")
t=$(date +%s)
good=$(sign "$NEW" "$t" "$B5")
bad=$(echo "$good" | tr '0-9a-f' '1-9a-f0')
hook "t=$t,v1=$bad" "$B5"
expect_err "a wrong signature" 401 invalid_signature
hook "t=$t,v1=$good" "$(checkout "$E5" 99999 "$UPUB")"
expect_err "the signature of another body (amount changed)" 401 invalid_signature
hook "t=$((t + 1)),v1=$good" "$B5"
expect_err "another timestamp than the signed one" 401 invalid_signature
hook "t=$t,v1=$(sign not-the-secret "$t" "$B5")" "$B5"
expect_err "signed with another secret" 401 invalid_signature
http POST "$URL/billing/webhook" -H 'Content-Type: application/json' --data-binary "$B5"
expect_err "no signature header" 400 invalid_signature_header
hook "v1=$good" "$B5"
expect_err "no t=" 400 invalid_signature_header
hook "t=$t" "$B5"
expect_err "no v1=" 400 invalid_signature_header
hook "t=$t,v1=xyz" "$B5"
expect_err "a v1 that is not 64 hex digits" 400 invalid_signature_header
send "$NEW" "$B5" $(($(date +%s) - 301))
expect_err "signed 301 s ago (tolerance 300)" 401 timestamp_outside_tolerance
send "$NEW" "$B5" $(($(date +%s) + 400))
expect_err "signed 400 s in the future" 401 timestamp_outside_tolerance
send "$NEW" "$(checkout "$(new_id)" 500 usr_nosuchuser00000000)"
expect_err "an unknown user" 400 unknown_user
send "$NEW" "$(checkout "$(new_id)" 500 "$UPUB" eur)"
expect_err "currency eur" 400 unsupported_currency
send "$NEW" "$(checkout "$(new_id)" 0 "$UPUB")"
expect_err "amount_total 0" 400 invalid_event
send "$NEW" "$(checkout "$(new_id)" 12.5 "$UPUB")"
expect_err "amount_total 12.5 (not whole cents)" 400 invalid_event
send "$NEW" "{\"id\":\"$(new_id)\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":{\"amount_total\":100,\"currency\":\"usd\"}}}"
expect_err "no user named" 400 invalid_event
send "$NEW" "{\"id\":\"bad id!\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":{}}}"
expect_err "an event id with a space" 400 invalid_event
send "$NEW" '{"id":"evt_x", "id":"evt_y"}'
expect_err "signed, but a duplicate key" 400 invalid_json
send "$NEW" 'not json'
expect_err "signed, but not JSON" 400 invalid_json
http POST "$URL/billing/webhook" -H 'Content-Type: text/plain' -H "Tollgate-Signature: t=$t,v1=$good" --data-binary "$B5"
expect_err "Content-Type text/plain" 415 unsupported_media_type
big="{\"id\":\"$(new_id)\",\"pad\":\"$(head -c 40000 /dev/zero | tr '\0' x)\"}"
send "$NEW" "$big"
expect_err "a 40 KB body (cap 32 KiB)" 413 body_too_large
check "none of them credited or recorded anything" test "$(bal "$UPUB")/$(n_events)" = "$before/$nev"

# --- acknowledged, not credited ----------------------------------------------------------------
send "$NEW" "{\"id\":\"$(new_id)\",\"type\":\"payment_intent.created\",\"data\":{\"object\":{\"amount\":100,\"currency\":\"usd\"}}}"
check "another event type: 200 ignored (the provider stops resending)" json_is '.received == true and .ignored == true'
send "$NEW" "{\"id\":\"$(new_id)\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":{\"amount_total\":100,\"currency\":\"usd\",\"payment_status\":\"unpaid\",\"metadata\":{\"user_id\":\"$UPUB\"}}}}"
check "a checkout not paid yet: 200 ignored" json_is '.ignored == true'
check "  nothing credited" test "$(bal "$UPUB")/$(n_events)" = "$before/$nev"

# --- the history ----------------------------------------------------------------------------
req GET /user/topups "$UKEY"
check "GET /user/topups lists the 4 payments, newest first, naming their events" json_is \
	"[.data[] | select(.source == \"payment\")] | length == 4 and .[0].reference == \"$E4\" and .[3].reference == \"$E1\""

# --- a rolled secret: the old one retired ------------------------------------------------------
printf '%s\n' "$NEW" >"$T/whsec"
cp_restart "db.name=$SCRATCH" "billing.webhook_secret_file=$T/whsec"
send "$OLD" "$(checkout "$(new_id)" 100 "$UPUB")"
expect_err "after the old secret is retired, its signature" 401 invalid_signature
send "$NEW" "$(checkout "$(new_id)" 100 "$UPUB")"
check "  the new one verifies" json_is '.duplicate == false'

check "the secrets are in no log" sh -c "! grep -r -q -e '$OLD' -e '$NEW' '$T/log'"
check "the ledger reconciles (and tollgate ledger check)" ledger_check "$UPUB"
check "the audit chain verifies" tg_cli audit verify

finish
