#!/usr/bin/env bash
# t_cp_admin.sh: admin endpoints: who may call them, add_credits (amounts, notes, overdraft,
# 50 concurrent calls that must sum exactly), balances, users, limits, monitor, audit listing;
# a demoted admin's key, still holding the admin permission, is refused on every admin route.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq mariadb
# A scratch database: this script makes failed logins, and the per-IP failure counter (every
# test connects from 127.0.0.1) would otherwise lock out the logins of the parallel tests.
cp_scratch_db admin
stack_up "db.name=$SCRATCH"

cp_admin adm 100
AK=$ADMIN_KEY
req GET /user/profile "$AK"
check "CLI admin: role admin, email as given" json_is ".role == \"admin\" and .email == \"$ADMIN_EMAIL\""
ADMIN_ID=$(jv .id)
req GET /user/balance "$AK"
check "CLI admin: --credits 100 -> balance 100.00" sh -c "[ \"\$(jq -r .balance '$T/body')\" = 100.00 ]"
cp_login "$ADMIN_EMAIL"
check "CLI admin without --password cannot log in with a guessed one" status_is 401

cp_register nu || bail "register a normal user ($code: $(head -c 200 "$T/body"))"
U_KEY=$REG_KEY U_ID=$REG_ID U_EMAIL=$REG_EMAIL
cp_login "$U_EMAIL"
U_TOK=$TOKEN

# --- every admin route refuses non-admins -------------------------------------------------
routes=(
	"POST /admin/add_credits {\"user_id\":\"$U_ID\",\"amount_usd\":\"1.00\"}"
	"GET /admin/balance"
	"GET /admin/users"
	"GET /admin/users/$U_ID"
	"PUT /admin/users/$U_ID {\"role\":\"admin\"}"
	"POST /admin/limit {\"user_id\":\"$U_ID\",\"rate_limits\":{}}"
	"GET /admin/limit?user_id=$U_ID"
	"GET /admin/monitor"
	"POST /admin/invites {\"count\":1}"
	"GET /admin/audit"
)
for r in "${routes[@]}"; do
	read -r m p b <<<"$r"
	for who in key session; do
		if [ $who = key ]; then c=$U_KEY; else c=$U_TOK; fi
		req "$m" "$p" "$c" "${b:-}"
		expect_err "non-admin $who: $m ${p%%\?*}" 403 insufficient_permissions
	done
done
req GET /user/profile "$U_KEY"
check "the refused PUT /admin/users did not make the user an admin" json_is '.role == "user"'
req GET /user/balance "$U_KEY"
check "the refused add_credits added nothing" sh -c "[ \"\$(jq -r '.balance|tonumber' '$T/body')\" = 0 ]"

# An admin user's key without the admin permission is refused too.
cp_new_key "$AK" '{"name":"plain","permissions":["read","write"]}' || not_ok "admin creates a plain key ($code)"
req GET /admin/monitor "$NEW_KEY"
expect_err "admin user, key without admin permission" 403 insufficient_permissions
# An admin's session carries admin: needs a password; make an admin with one.
pw_admin="adm2-$CP_U@example.com"
printf '%s\n' "$CP_PW" | "$TOLLGATE_BIN" -c "$CONF" admin create-user --email "$pw_admin" --password-stdin \
	--admin >/dev/null 2>&1 || not_ok "admin create-user --password-stdin"
cp_login "$pw_admin"
req GET /admin/monitor "$TOKEN"
expect_status "admin session on GET /admin/monitor" 200

# --- add_credits --------------------------------------------------------------------------
add() { req POST /admin/add_credits "$AK" "$1"; }
add "{\"user_id\":\"$U_ID\",\"amount_usd\":\"10.50\"}"
expect_status "add_credits by user_id 10.50" 200
check "add_credits: user_id, amount, balance, entry_id" json_is \
	".user_id == \"$U_ID\" and .amount == \"10.50\" and .balance == \"10.50\" and (.entry_id != null)"
add "{\"email\":\"$U_EMAIL\",\"amount_usd\":0.25}"
check "add_credits by email, JSON number 0.25 -> balance 10.75" sh -c "[ $code = 200 ] && jq -e '.balance == \"10.75\"' '$T/body' >/dev/null"
# Registration stores the email lower-cased: an admin typing it with capitals finds the user.
add "{\"email\":\"$(printf '%s' "$U_EMAIL" | tr '[:lower:]' '[:upper:]')\",\"amount_usd\":\"0.25\"}"
check "add_credits by the email in capitals -> 200, balance 11.00" sh -c "[ $code = 200 ] && jq -e '.balance == \"11.00\"' '$T/body' >/dev/null"
add "{\"email\":\"$U_EMAIL\",\"amount_usd\":\"-0.25\",\"note\":\"undo the capitals test\"}"
check "  taken back: balance 10.75" sh -c "[ $code = 200 ] && jq -e '.balance == \"10.75\"' '$T/body' >/dev/null"
add "{\"api_key\":\"$U_KEY\",\"amount_usd\":\"0.000000001\"}"
check "add_credits by api_key, 1 nano -> 10.750000001" sh -c "[ $code = 200 ] && jq -e '.balance == \"10.750000001\"' '$T/body' >/dev/null"
req GET /user/balance "$U_KEY"
check "user sees balance 10.750000001" json_is '.balance == "10.750000001" and .available == "10.750000001" and (.reserved|tonumber) == 0'
# Refused amounts, on a user of their own (an accepted one must not disturb U's arithmetic).
cp_register amt || not_ok "register the amounts user ($code)"
AMT_ID=$REG_ID AMT_KEY=$REG_KEY
for bad in '"1.0000000001"' '1000000001' '"1000000000.01"' '"abc"' '"1e3"' '""' 'null' 'true' '" 1.00"'; do
	add "{\"user_id\":\"$AMT_ID\",\"amount_usd\":$bad}"
	check "add_credits amount_usd $bad -> 400" status_is 400
done
add "{\"user_id\":\"$AMT_ID\",\"amount_usd\":\"1000000000\"}"
check "add_credits amount_usd \"1000000000\" (the maximum) -> 200" status_is 200
req GET /user/balance "$AMT_KEY"
check "amounts user: only the maximum was added" json_is '.balance == "1000000000.00"'
add "{\"user_id\":\"usr_ZZZZZZZZZZZZZZZZZZZZ\",\"amount_usd\":\"1.00\"}"
expect_err "add_credits to a missing user" 404 not_found
add '{"amount_usd":"1.00"}'
check "add_credits without a target -> 400" status_is 400
add "{\"user_id\":\"$U_ID\",\"amount_usd\":\"1.00\",\"bogus\":1}"
expect_err "add_credits with an unknown field" 400 unknown_field
add "{\"user_id\":\"$U_ID\",\"amount_usd\":\"-1.00\"}"
expect_err "negative add_credits without a note" 400 note_required
add "{\"user_id\":\"$U_ID\",\"amount_usd\":\"-1.00\",\"note\":\"\"}"
expect_err "negative add_credits with an empty note" 400 note_required
add "{\"user_id\":\"$U_ID\",\"amount_usd\":\"-0.750000001\",\"note\":\"refund test\"}"
check "negative add_credits with a note -> 200, balance 10.00" sh -c "[ $code = 200 ] && jq -e '.balance == \"10.00\" and .amount == \"-0.750000001\"' '$T/body' >/dev/null"
add "{\"user_id\":\"$U_ID\",\"amount_usd\":\"-10.01\",\"note\":\"too much\"}"
expect_err "negative add_credits below the overdraft limit (0)" 409 insufficient_balance
req GET /user/balance "$U_KEY"
check "balance unchanged (10.00) after the refused debit" json_is '.balance == "10.00"'
add "{\"user_id\":\"$U_ID\",\"amount_usd\":\"-10.00\",\"note\":\"to zero\"}"
check "debit exactly to 0 -> 200, balance 0.00" sh -c "[ $code = 200 ] && jq -e '.balance|tonumber == 0' '$T/body' >/dev/null"

# --- 50 concurrent add_credits sum exactly ------------------------------------------------
cp_register par || bail "register the user for the parallel test ($code)"
P_KEY=$REG_KEY P_ID=$REG_ID
add "{\"user_id\":\"$P_ID\",\"amount_usd\":\"1.23\"}"
req GET /user/balance "$P_KEY"
start=$(jv .balance)
check "parallel: start balance 1.23" test "$start" = 1.23
declare -a pids=()
for i in $(seq 50); do
	curl -s -m 60 -o "$T/par.$i.body" -w '%{http_code}\n' -X POST -H 'Expect:' \
		-H "Authorization: Bearer $AK" -H 'Content-Type: application/json' \
		--data-binary "{\"user_id\":\"$P_ID\",\"amount_usd\":\"0.01\",\"note\":\"par $i\"}" \
		"$URL/admin/add_credits" >"$T/par.$i.code" 2>"$T/par.$i.err" &
	pids+=($!)
	owned_pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
n200=$(cat "$T"/par.*.code | grep -c '^200$' || true)
for i in $(seq 50); do
	c=$(cat "$T/par.$i.code" 2>/dev/null)
	[ "$c" = 200 ] || note "parallel call $i: $c $(head -c 300 "$T/par.$i.body" 2>/dev/null) $(cat "$T/par.$i.err" 2>/dev/null)"
done
check "parallel: all 50 add_credits -> 200 ($n200)" test "$n200" -eq 50
nentries=$(cat "$T"/par.*.body | jq -r .entry_id 2>/dev/null | sort -u | grep -vc '^null$' || true)
check "parallel: 50 distinct entry_ids ($nentries)" test "$nentries" -eq 50
req GET /user/balance "$P_KEY"
check "parallel: balance exactly 1.73 (start 1.23 + 50 x 0.01; got $(jv .balance))" \
	test "$(jv .balance)" = 1.73
req GET "/admin/audit?action=credits.add&target=$P_ID&limit=100" "$AK"
expect_status "GET /admin/audit filtered" 200
check "audit: 51 credits.add rows for the user (1 + 50; total $(jv .total))" json_is '.total == 51'
check "audit: every returned row is credits.add for the user" json_is \
	"(.data|length) == 51 and (.data | all(.action == \"credits.add\" and .target_id == \"$P_ID\"))"
check "audit: actor is the admin, rows have the full shape" json_is \
	".data | all(.actor_user_id == \"$ADMIN_ID\" and has(\"id\") and has(\"at\") and has(\"actor_key_id\") and has(\"target_type\") and has(\"ip\") and has(\"request_id\") and has(\"before\") and has(\"after\"))"
check "audit: ip is the client's (127.0.0.1)" json_is '.data | all(.ip == "127.0.0.1")'
check "audit: 51 distinct request ids" json_is '[.data[].request_id] | unique | length == 51'

# --- audit listing of other actions; no secrets -------------------------------------------
req GET "/admin/audit?action=user.register&target=$U_ID" "$AK"
check "audit: one user.register row for the user" json_is ".total == 1 and .data[0].target_id == \"$U_ID\""
req GET "/admin/audit?limit=200" "$AK"
check "audit: no password hashes in before/after" sh -c "! grep -q 'argon2' '$T/body'"
check "audit: no full API keys in before/after" sh -c "! grep -Eq 'gw_[a-z]+_[A-Za-z0-9]{38}' '$T/body'"
req GET "/admin/audit?limit=2&offset=0" "$AK"
check "audit: limit=2 returns 2 rows and the total" json_is '(.data|length) == 2 and .total > 2'
req GET "/admin/audit?limit=1000000" "$AK"
check "audit: an absurd limit is refused or capped" sh -c "[ $code = 400 ] || { [ $code = 200 ] && jq -e '(.data|length) <= 1000' '$T/body' >/dev/null; }"

# --- balances, users ----------------------------------------------------------------------
req GET "/admin/balance?limit=3&offset=0" "$AK"
expect_status "GET /admin/balance" 200
check "admin balance: shape" json_is '(.data|length) <= 3 and .limit == 3 and .offset == 0 and (.total|type=="number")
	and (.data | all(has("user_id") and has("email") and has("balance") and has("reserved") and has("keys")))'
req GET "/admin/users?q=nu-$CP_U" "$AK"
expect_status "GET /admin/users?q=" 200
check "admin users: q finds the user" json_is ".data | map(.id) | index(\"$U_ID\") != null"
req GET /admin/users/"$U_ID" "$AK"
check "GET /admin/users/{id} -> 200, the user" sh -c "[ $code = 200 ] && jq -e '.id == \"$U_ID\" and .email == \"$U_EMAIL\"' '$T/body' >/dev/null"
check "  no password hash in it" sh -c "! grep -qi 'argon2\|password' '$T/body'"
req GET /admin/users/usr_ZZZZZZZZZZZZZZZZZZZZ "$AK"
expect_err "GET /admin/users/{missing}" 404 not_found

req PUT /admin/users/"$U_ID" "$AK" '{"status":"suspended"}'
expect_status "suspend the user" 200
req GET /user/balance "$U_KEY"
expect_err "suspended user's key" 403 account_suspended
cp_login "$U_EMAIL"
check "suspended user's login is refused (401/403)" sh -c "[ $code = 401 ] || [ $code = 403 ]"
req PUT /admin/users/"$U_ID" "$AK" '{"status":"active"}'
req GET /user/balance "$U_KEY"
expect_status "reactivated user's key" 200
req PUT /admin/users/"$U_ID" "$AK" '{"status":"deleted"}'
check "PUT status deleted -> 400" status_is 400
req PUT /admin/users/"$U_ID" "$AK" '{"role":"root"}'
check "PUT role root -> 400" status_is 400
req PUT /admin/users/"$U_ID" "$AK" '{"balance":"99.00"}'
expect_err "PUT /admin/users balance" 400 unknown_field
req PUT /admin/users/"$U_ID" "$AK" '{"group":"vip","commission_percent":12.5}'
expect_status "PUT group+commission" 200
req GET /user/profile "$U_KEY"
check "user sees group vip" json_is '.group == "vip"'

# Promotion: role admin, but the user's existing key lacks the admin permission.
req PUT /admin/users/"$U_ID" "$AK" '{"role":"admin"}'
expect_status "promote the user" 200
req GET /admin/monitor "$U_KEY"
expect_err "promoted user's old (read,write) key on /admin" 403 insufficient_permissions
# 'admin' comes only from a credential that holds it (issue 13): not from the user's old key.
req POST /user/api-keys "$U_KEY" '{"name":"adm","permissions":["read","write","admin"]}'
expect_err "promoted user's key without admin may not create an admin key" 403 insufficient_permissions
cp_login "$U_EMAIL"
cp_new_key "$TOKEN" '{"name":"adm","permissions":["read","write","admin"]}' || true
check "promoted user's session may create an admin key" status_is 201
req GET /admin/monitor "$NEW_KEY"
expect_status "promoted user's admin key on /admin/monitor" 200
UADM=$NEW_KEY
req PUT /admin/users/"$U_ID" "$AK" '{"role":"user"}'
req GET /admin/monitor "$UADM"
expect_err "demoted user's admin key" 403 insufficient_permissions
# The demoted user's key still lists 'admin' in its permissions: the admin role is what is
# missing, and every admin route must see that, and what the key asked must change nothing.
req GET /user/balance "$U_KEY"
bal_before=$(jv .balance)
for r in "${routes[@]}"; do
	read -r m p b <<<"$r"
	req "$m" "$p" "$UADM" "${b:-}"
	expect_err "demoted user's admin key: $m ${p%%\?*}" 403 insufficient_permissions
done
req GET /user/profile "$UADM"
check "the demoted user's key did not promote its user again" json_is '.role == "user"'
req GET /user/balance "$U_KEY"
check "the demoted user's key added no credits ($bal_before)" json_is ".balance == \"$bal_before\""

# --- limits -------------------------------------------------------------------------------
req POST /admin/limit "$AK" "{\"user_id\":\"$U_ID\",\"rate_limits\":{\"requests_per_minute\":60,\"tokens_per_day\":100000}}"
expect_status "POST /admin/limit user" 200
check "limit: stored values, missing = null" json_is '(.rate_limits // .) == {"requests_per_minute":60,"requests_per_hour":null,"requests_per_day":null,"tokens_per_minute":null,"tokens_per_hour":null,"tokens_per_day":100000,"max_concurrent":null}'
req GET "/admin/limit?user_id=$U_ID" "$AK"
check "GET /admin/limit?user_id= returns them" json_is '(.rate_limits // .) | .requests_per_minute == 60 and .tokens_per_day == 100000 and .requests_per_hour == null'
req GET /user/limit "$U_KEY"
check "GET /user/limit shows them" json_is '.rate_limits.requests_per_minute == 60 and .rate_limits.tokens_per_day == 100000'
cp_new_key "$U_KEY" '{"name":"limited"}' || not_ok "create a key to limit ($code)"
LK_ID=$NEW_KEY_ID
req POST /admin/limit "$AK" "{\"api_key\":\"$NEW_KEY\",\"rate_limits\":{\"requests_per_hour\":5}}"
expect_status "POST /admin/limit api_key" 200
req GET /user/limit "$U_KEY"
check "GET /user/limit lists the key's own limits" json_is \
	"[.keys[] | select(.key_id == \"$LK_ID\")][0].rate_limits.requests_per_hour == 5"
req POST /admin/limit "$AK" "{\"user_id\":\"$U_ID\",\"rate_limits\":{\"requests_per_minute\":-1}}"
check "limit -1 -> 400" status_is 400
req POST /admin/limit "$AK" "{\"user_id\":\"$U_ID\",\"rate_limits\":{\"requests_per_fortnight\":1}}"
expect_err "unknown limit field" 400 unknown_field
req POST /admin/limit "$AK" "{\"user_id\":\"$U_ID\",\"rate_limits\":{}}"
check "empty rate_limits -> 200, all unlimited" sh -c "[ $code = 200 ] && jq -e '[(.rate_limits // .) | .requests_per_minute, .requests_per_hour, .requests_per_day, .tokens_per_minute, .tokens_per_hour, .tokens_per_day] | all(. == null)' '$T/body' >/dev/null"

# --- monitor ------------------------------------------------------------------------------
req GET /admin/monitor "$AK"
expect_status "GET /admin/monitor" 200
check "admin monitor: shape" json_is '(.users|type=="number") and (.active_users|type=="number")
	and (.keys|type=="number") and (.active_keys|type=="number") and (.total_balance|type=="string")
	and (.total_reserved|type=="string") and (.timestamp|type=="string") and .users >= 3 and .active_users <= .users and .active_keys <= .keys'

finish
