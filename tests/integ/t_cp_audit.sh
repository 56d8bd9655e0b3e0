#!/usr/bin/env bash
# t_cp_audit.sh: the audit log on a scratch database of its own (the shared test database's
# chain is appended to by every parallel test): mutations write rows with actor, target, IP
# and request id and without secrets; refused requests write none; `tollgate audit verify`
# passes, then fails after a row is altered directly in the database (each hashed column in
# turn), and passes once restored.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq mariadb
cp_scratch_db audit
stack_up "db.name=$SCRATCH"

nrows() { sql "$SCRATCH" -e 'SELECT COUNT(*) FROM audit_log' 2>/dev/null || echo -1; }
# sqlx ARGS: a statement that must work (a failure is reported, the test goes on).
sqlx() { sql "$SCRATCH" -e "$1" || not_ok "sql: $1"; }
verify() {
	vrc=0
	"$TOLLGATE_BIN" -c "$CONF" audit verify >"$T/verify.out" 2>&1 || vrc=$?
	vout=$(cat "$T/verify.out")
}

check "fresh database: no audit rows" test "$(nrows)" -eq 0
verify
check "verify on an empty chain: exit 0 ($vrc: $vout)" test "$vrc" -eq 0

cp_admin aud 5
AK=$ADMIN_KEY
req GET /user/profile "$AK"
ADMIN_ID=$(jv .id)
cp_register au || bail "register ($code: $(head -c 200 "$T/body"))"
U_KEY=$REG_KEY U_ID=$REG_ID
req PUT /user/profile "$U_KEY" '{"name":"Audited","settings":{"a":1}}' -H 'x-request-id: audit-req-1'
PROFILE_RID=$(hdr x-request-id)
cp_new_key "$U_KEY" '{"name":"k1"}' || not_ok "create key ($code)"
K1=$NEW_KEY K1_ID=$NEW_KEY_ID
req PUT /user/api-keys/"$K1_ID" "$U_KEY" '{"name":"k1b"}'
req POST /user/api-keys/"$K1_ID"/rotate "$U_KEY" '{"grace_seconds":0}'
K1=$(jv .api_key)
req POST /admin/add_credits "$AK" "{\"user_id\":\"$U_ID\",\"amount_usd\":\"2.50\"}"
req POST /admin/limit "$AK" "{\"user_id\":\"$U_ID\",\"rate_limits\":{\"requests_per_day\":100}}"
req POST /admin/invites "$AK" '{"count":1}'
req DELETE /user/api-keys/"$K1_ID" "$U_KEY"

n=$(nrows)
check "mutations wrote audit rows ($n)" test "$n" -ge 9
req GET "/admin/audit?limit=100" "$AK"
expect_status "GET /admin/audit" 200
check "GET /admin/audit total equals the table ($n)" json_is ".total == $n"
cp "$T/body" "$T/audit.json"
for a in user.register key.create credits.add; do
	check "audit has a $a row" jq_file "$T/audit.json" "[.data[] | select(.action == \"$a\")] | length >= 1"
done
check "audit: the register row targets the user, from 127.0.0.1, with a request id" jq_file "$T/audit.json" \
	"[.data[] | select(.action == \"user.register\" and .target_id == \"$U_ID\")][0] | .ip == \"127.0.0.1\" and (.request_id|type==\"string\")"
check "audit: the credits.add row has the admin as actor, before/after balances" jq_file "$T/audit.json" \
	"[.data[] | select(.action == \"credits.add\" and .target_id == \"$U_ID\")][0] | .actor_user_id == \"$ADMIN_ID\" and (.actor_key_id|type==\"string\") and .before != null and .after != null"
# The request id is tollgate's own even when the client sent one (issue 13).
check "audit: the profile update carries its request id ($PROFILE_RID), not the client's" jq_file "$T/audit.json" \
	"([.data[] | select(.request_id == \"$PROFILE_RID\")] | length == 1) and ([.data[] | select(.request_id == \"audit-req-1\")] | length == 0)"
check "audit: key rows target the key id" jq_file "$T/audit.json" \
	"[.data[] | select(.target_id == \"$K1_ID\")] | length >= 3"
check "audit: ids are distinct" jq_file "$T/audit.json" '[.data[].id] | unique | length == (. | length)'
sql "$SCRATCH" -e 'SELECT CONCAT_WS(" ", before_json, after_json) FROM audit_log' >"$T/audit-db.txt" || true
check "audit rows in the database: no password hash" sh -c "! grep -qi 'argon2' '$T/audit-db.txt'"
check "audit rows in the database: no full API key" sh -c "! grep -Eq 'gw_[a-z]+_[A-Za-z0-9]{38}' '$T/audit-db.txt'"
check "audit rows in the database: no password" sh -c "! grep -qF '$CP_PW' '$T/audit-db.txt'"
check "audit rows in the database: no key or token hash fields" sh -c "! grep -Eqi '\"(key_hash|token_hash|password_hash|prev_hash|code_hash)\"' '$T/audit-db.txt'"

# Refused requests write nothing.
before=$(nrows)
req PUT /user/profile "$U_KEY" '{"name":"x","role":"admin"}'
req POST /admin/add_credits "$U_KEY" "{\"user_id\":\"$U_ID\",\"amount_usd\":\"1.00\"}"
req POST /admin/add_credits "$AK" "{\"user_id\":\"$U_ID\",\"amount_usd\":\"-100.00\",\"note\":\"overdraw\"}"
req POST /user/api-keys "$U_KEY" '{"ip_allowlist":["nope"]}'
check "refused requests added no audit rows" test "$(nrows)" -eq "$before"

# The chain.
verify
check "audit verify: exit 0 ($vrc)" test "$vrc" -eq 0
check "audit verify: 'audit chain ok: $n rows' ($vout)" sh -c "echo \"\$1\" | grep -qx 'audit chain ok: $n rows (0 keyed with the master key, $n unkeyed from before it)'" _ "$vout"

mid=$(sql "$SCRATCH" -e "SELECT id FROM audit_log WHERE action = 'credits.add' ORDER BY id LIMIT 1")
[ -n "$mid" ] || bail "a credits.add row in audit_log"
orig=$(sql "$SCRATCH" -e "SELECT HEX(after_json) FROM audit_log WHERE id = $mid")
orig_actor=$(sql "$SCRATCH" -e "SELECT HEX(actor_user_id) FROM audit_log WHERE id = $mid")
sqlx "UPDATE audit_log SET after_json = '{\"balance\":\"1000000.00\"}' WHERE id = $mid"
verify
check "tampered after_json: verify exits 1 ($vrc)" test "$vrc" -eq 1
check "tampered after_json: 'audit chain broken at row $mid' ($vout)" \
	sh -c "echo \"\$1\" | grep -q '^audit chain broken at row $mid: '" _ "$vout"
sqlx "UPDATE audit_log SET after_json = UNHEX('$orig') WHERE id = $mid"
verify
check "restored row: verify exits 0 again ($vrc: $vout)" test "$vrc" -eq 0

sqlx "UPDATE audit_log SET actor_user_id = 'usr_XXXXXXXXXXXXXXXXXXXX' WHERE id = $mid"
verify
check "tampered actor: verify exits 1 at row $mid ($vout)" \
	sh -c "[ $vrc -eq 1 ] && echo \"\$1\" | grep -q '^audit chain broken at row $mid: '" _ "$vout"
sqlx "UPDATE audit_log SET actor_user_id = UNHEX('$orig_actor') WHERE id = $mid"

# Every column the row hash covers, one at a time: a chain that left one out could be
# rewritten there unseen (a mutant that dropped before_json from the hash passed the checks
# above). Each is changed to another value (a NULL one to a value), verify must exit 1 at
# that row, then the original is put back and verify passes again.
for col_new in "at:at + INTERVAL 1 SECOND" "actor_user_id:'usr_XXXXXXXXXXXXXXXXXXXX'" \
	"actor_key_id:'key_XXXXXXXXXXXXXXXXXXXX'" "action:'credits.remove'" \
	"target_type:'api_key'" "target_id:'usr_YYYYYYYYYYYYYYYYYYYY'" "ip:'10.9.8.7'" \
	"request_id:'forged-request-id'" "before_json:'{\"balance\":\"1000000.00\"}'" \
	"after_json:'{\"balance\":\"1000000.00\"}'"; do
	col=${col_new%%:*} new=${col_new#*:}
	saved=$(sql "$SCRATCH" -e "SELECT IFNULL(HEX($col), 'NULL') FROM audit_log WHERE id = $mid")
	sqlx "UPDATE audit_log SET $col = $new WHERE id = $mid"
	check "tampered $col: the row really changed" test \
		"$(sql "$SCRATCH" -e "SELECT HEX($col) FROM audit_log WHERE id = $mid")" != "$saved"
	verify
	check "tampered $col: verify exits 1 at row $mid ($vrc: $vout)" \
		sh -c "[ $vrc -eq 1 ] && echo \"\$1\" | grep -q '^audit chain broken at row $mid: '" _ "$vout"
	if [ "$col" = at ]; then
		sqlx "UPDATE audit_log SET at = at - INTERVAL 1 SECOND WHERE id = $mid"
	elif [ "$saved" = NULL ]; then
		sqlx "UPDATE audit_log SET $col = NULL WHERE id = $mid"
	else
		sqlx "UPDATE audit_log SET $col = UNHEX('$saved') WHERE id = $mid"
	fi
	verify
	check "restored $col: verify exits 0 ($vrc: $vout)" test "$vrc" -eq 0
done

sqlx "CREATE TABLE audit_saved AS SELECT * FROM audit_log WHERE id = $((mid + 1))"
sqlx "DELETE FROM audit_log WHERE id = $((mid + 1))"
verify
check "deleted row: verify exits 1 ($vrc: $vout)" test "$vrc" -eq 1
check "deleted row: reported at or after row $mid" \
	sh -c "echo \"\$1\" | grep -Eq '^audit chain broken at row [0-9]+: '" _ "$vout"
sqlx "INSERT INTO audit_log SELECT * FROM audit_saved; DROP TABLE audit_saved"
verify
check "re-inserted row: verify exits 0 ($vrc: $vout)" test "$vrc" -eq 0

# Dropping the newest row leaves an intact prefix; audit_head still names the lost row.
last=$(sql "$SCRATCH" -e "SELECT MAX(id) FROM audit_log")
sqlx "CREATE TABLE audit_saved AS SELECT * FROM audit_log WHERE id = $last"
sqlx "DELETE FROM audit_log WHERE id = $last"
verify
check "deleted newest row: verify exits 1 ($vrc: $vout)" \
	sh -c "[ $vrc -eq 1 ] && echo \"\$1\" | grep -q '^audit chain broken at row $last: '" _ "$vout"
sqlx "INSERT INTO audit_log SELECT * FROM audit_saved; DROP TABLE audit_saved"
verify
check "re-inserted newest row: verify exits 0 ($vrc: $vout)" test "$vrc" -eq 0

# Appending still works after all that, and the chain stays valid.
req PUT /user/profile "$U_KEY" '{"name":"after"}'
verify
check "a new mutation extends a valid chain ($vout)" sh -c "[ $vrc -eq 0 ] && echo \"\$1\" | grep -qx 'audit chain ok: $((n + 1)) rows (0 keyed with the master key, $((n + 1)) unkeyed from before it)'" _ "$vout"

finish
