#!/usr/bin/env bash
# t_audit_keyed.sh: the audit chain is an HMAC-SHA-256 under a key derived from the master key
# (doc/internals.md "Keyed audit chain"): `tollgate audit verify` needs that key, says so
# clearly under a wrong or missing one, and catches a change to any hashed column.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

need_db
need_bin
need_cmd nginx curl jq mariadb
export TOLLGATE_MASTER_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
WRONG=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100
make_tmp
cp_scratch_db akey
stack_up "db.name=$SCRATCH"
cp_admin akadm
AK=$ADMIN_KEY
req POST /admin/providers "$AK" '{"id":"p1","kind":"openai","base_url":"https://api.example.com/v1"}'
expect_status "an audited change: provider add" 201
req PUT /admin/providers/p1 "$AK" '{"name":"P one"}'
expect_status "an audited change with before and after: provider update" 200
ROW=$(sql "$SCRATCH" -e "SELECT MAX(id) FROM audit_log")
check "the row has every hashed column set" test "$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM audit_log
	WHERE id = $ROW AND actor_user_id IS NOT NULL AND actor_key_id IS NOT NULL AND target_id IS NOT NULL
	AND ip IS NOT NULL AND request_id IS NOT NULL AND before_json IS NOT NULL AND after_json IS NOT NULL")" = 1

# verify [ENV...]: tollgate audit verify with the test config; $vrc and $T/v.out.
verify() {
	vrc=0
	env "$@" "$TOLLGATE_BIN" -c "$CONF" audit verify >"$T/v.out" 2>&1 || vrc=$?
}
verify
check "verify with the master key: exit 0 ($vrc: $(head -c 200 "$T/v.out"))" test "$vrc" = 0
check "  it says how many rows are keyed" grep -Eq "ok: $ROW rows \\($ROW keyed" "$T/v.out"
check "every row is keyed (hash_alg 2)" test "$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM audit_log WHERE hash_alg <> 2")" = 0

verify TOLLGATE_MASTER_KEY=$WRONG
check "verify under a wrong master key: exit 1 ($vrc)" test "$vrc" = 1
check "  and says the master key is wrong ($(head -c 200 "$T/v.out"))" grep -qi 'master key is not the one' "$T/v.out"
verify -u TOLLGATE_MASTER_KEY
check "verify without a master key: exit 1 ($vrc)" test "$vrc" = 1
check "  and says it needs one ($(head -c 200 "$T/v.out"))" grep -qi 'needs the master key' "$T/v.out"

# Each hashed column changed on its own (then put back): verify exits 1 and names the row.
sql "$SCRATCH" -e "CREATE TABLE audit_copy AS SELECT * FROM audit_log WHERE id = $ROW"
declare -A change=(
	[at]="at + INTERVAL 1 SECOND" [actor_user_id]="CONCAT(actor_user_id, 'x')"
	[actor_key_id]="CONCAT(actor_key_id, 'x')" [action]="'provider.add'"
	[target_type]="'user'" [target_id]="CONCAT(target_id, 'x')" [ip]="'10.9.9.9'"
	[request_id]="CONCAT(request_id, 'x')" [before_json]="'{\"base_url\":\"http://evil\"}'"
	[after_json]="'{\"name\":\"P two\"}'" [prev_hash]="UNHEX(REPEAT('ab', 32))"
	[row_hash]="UNHEX(REPEAT('cd', 32))" [hash_alg]="1"
)
for col in at actor_user_id actor_key_id action target_type target_id ip request_id before_json after_json prev_hash row_hash hash_alg; do
	sql "$SCRATCH" -e "UPDATE audit_log SET $col = ${change[$col]} WHERE id = $ROW"
	verify
	check "tampered $col: verify exits 1 ($vrc)" test "$vrc" = 1
	check "  naming row $ROW" grep -q "row $ROW" "$T/v.out"
	sql "$SCRATCH" -e "UPDATE audit_log a JOIN audit_copy c ON a.id = c.id SET a.$col = c.$col"
done
verify
check "restored: verify exits 0 again ($vrc: $(head -c 200 "$T/v.out"))" test "$vrc" = 0

# A process without the master key may not append to a keyed chain (it could only write
# rows nobody can tell from forged ones).
env -u TOLLGATE_MASTER_KEY "$TOLLGATE_BIN" -c "$CONF" provider add p2 openai https://api.example.com/v1 \
	>"$T/p2.out" 2>&1 && p2rc=0 || p2rc=$?
check "an audited CLI change without the master key fails ($p2rc)" test "$p2rc" = 1
check "  and says why ($(head -c 200 "$T/p2.out"))" grep -qi 'master key' "$T/p2.out"
check "  nothing was added" test "$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM providers WHERE id = 'p2'")" = 0
verify
check "the chain is still whole ($vrc)" test "$vrc" = 0

finish
