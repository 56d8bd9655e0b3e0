#!/usr/bin/env bash
# t_topups.sh: GET /user/topups (issue 18, money): every top-up of the account (by an admin,
# from the command line, a redeemed code, a signed payment) and every adjustment, newest
# first, with where it came from; paged by cursor; only the caller's own; not for a
# read-only key; GET /user/credits still answers the same listing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin nginx curl jq mariadb openssl
cp_scratch_db topups
SECRET=whsec_topups_$RANDOM$RANDOM
printf '%s\n' "$SECRET" >"$T/whsec"
chmod 0600 "$T/whsec"
stack_up "db.name=$SCRATCH" "billing.webhook_secret_file=$T/whsec"

cp_admin tadm 0
AK=$ADMIN_KEY
req GET /user/profile "$AK"
ADMIN_ID=$(jv .id)

# The user, made on the command line with 3.00: the first entry, by the operator.
EMAIL="tu-$CP_U@example.com"
UK=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "$EMAIL" --credits 3 2>"$T/log/cu.err") ||
	bail "admin create-user ($(head -c 200 "$T/log/cu.err"))"
req GET /user/profile "$UK"
UPUB=$(jv .id)

req POST /admin/add_credits "$AK" "{\"user_id\":\"$UPUB\",\"amount_usd\":\"10.00\",\"note\":\"welcome\"}"
expect_status "an admin top-up of 10.00" 200
req POST /admin/add_credits "$AK" "{\"user_id\":\"$UPUB\",\"amount_usd\":\"-1.50\",\"note\":\"refund fee\"}"
expect_status "an admin adjustment of -1.50" 200
req POST /admin/redeem-codes "$AK" '{"amount":"4.00","count":1}'
BATCH=$(jv .batch.id) CODE=$(jv '.codes[0]')
req POST /user/redeem "$UK" "{\"code\":\"$CODE\"}"
expect_status "a redeemed code of 4.00" 200
EV="evt_topups_$$"
body="{\"id\":\"$EV\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":{\"amount_total\":725,\"currency\":\"usd\",\"payment_status\":\"paid\",\"metadata\":{\"email\":\"$EMAIL\"}}}}"
t=$(date +%s)
sig=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
http POST "$URL/billing/webhook" -H 'Content-Type: application/json' -H "Stripe-Signature: t=$t,v1=$sig" --data-binary "$body"
check "a payment of 7.25" json_is '.duplicate == false and .amount == "7.25"'

# --- the listing --------------------------------------------------------------------------------
req GET /user/topups "$UK"
expect_status "GET /user/topups" 200
check "five entries, newest first (ids descending)" json_is '(.data | length == 5) and ([.data[].id] == ([.data[].id] | sort | reverse)) and .next_cursor == null'
check "  the payment: topup, source payment, its event, no admin" json_is \
	".data[0] | .kind == \"topup\" and .source == \"payment\" and .reference == \"$EV\" and .amount == \"7.25\" and .who == null"
check "  the code: topup, source code, its batch" json_is \
	".data[1] | .kind == \"topup\" and .source == \"code\" and .reference == \"$BATCH\" and .amount == \"4.00\" and .who == null"
check "  the adjustment: adjust, source admin, its note and admin" json_is \
	".data[2] | .kind == \"adjust\" and .source == \"admin\" and .amount == \"-1.50\" and .note == \"refund fee\" and .who == \"$ADMIN_ID\" and .reference == null"
check "  the admin's top-up: topup, source admin, note welcome" json_is \
	".data[3] | .kind == \"topup\" and .source == \"admin\" and .amount == \"10.00\" and .note == \"welcome\" and .who == \"$ADMIN_ID\""
check "  the command line's: topup, source operator, no admin" json_is \
	".data[4] | .kind == \"topup\" and .source == \"operator\" and .amount == \"3.00\" and .who == null"
check "  they add up to the balance (22.75)" json_is '[.data[].amount | tonumber] | add == 22.75'
req GET /user/balance "$UK"
check "  which is the balance" json_is '.balance == "22.75"'
cp "$T/body" "$T/balance.json"
req GET /user/topups "$UK"
cp "$T/body" "$T/topups.json"
req GET /user/credits "$UK"
check "GET /user/credits still answers the same listing" same_json "$T/body" "$T/topups.json"

# --- pages --------------------------------------------------------------------------------------
req GET "/user/topups?limit=2" "$UK"
check "limit=2: two entries and a cursor" json_is '(.data | length == 2) and (.next_cursor | type == "string")'
C1=$(jv .next_cursor)
ids=$(jv '[.data[].id] | join(",")')
req GET "/user/topups?limit=2&cursor=$C1" "$UK"
check "  the next page: two more and a cursor" json_is '(.data | length == 2) and (.next_cursor | type == "string")'
ids2=$(jv '[.data[].id] | join(",")')
C2=$(jv .next_cursor)
req GET "/user/topups?limit=2&cursor=$C2" "$UK"
check "  the last page: one, no cursor" json_is '(.data | length == 1) and .next_cursor == null'
ids3=$(jv '[.data[].id] | join(",")')
all=$(jq -r '[.data[].id] | join(",")' "$T/topups.json")
check "  the three pages are the listing, in order ($ids,$ids2,$ids3)" test "$ids,$ids2,$ids3" = "$all"
req GET "/user/topups?limit=0" "$UK"
expect_err "limit=0" 400 invalid_value
req GET "/user/topups?limit=1001" "$UK"
expect_err "limit=1001" 400 invalid_value
req GET "/user/topups?cursor=abc" "$UK"
expect_err "a cursor that is not one" 400 invalid_value

# --- whose -----------------------------------------------------------------------------------
cp_register other || bail "register ($code)"
req GET /user/topups "$REG_KEY"
check "another user sees none of it" json_is '.data == [] and .next_cursor == null'
cp_new_key "$UK" '{"name":"ro","permissions":["read"]}' || bail "a read-only key ($code)"
req GET /user/topups "$NEW_KEY"
expect_err "a read-only key" 403 insufficient_permissions
req GET /user/topups
expect_err "no credential" 401 missing_api_key

check "the ledger reconciles (and tollgate ledger check)" ledger_check "$UPUB"

finish
