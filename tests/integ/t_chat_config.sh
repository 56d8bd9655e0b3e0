#!/usr/bin/env bash
# t_chat_config.sh: the data plane's configuration surface (doc/api-data-plane.md):
#   1  the admin provider API (validation, 409, 201 shape, PUT, 403 for non-admins), upstream
#      keys (only last4 ever shown again; the secret is not in the database in the clear),
#      the provider/genkey CLI and the audit rows they leave;
#   2  POST /admin/models and PUT /admin/models/{vendor}/{model}: price validation, and a
#      price change changes the next charge exactly;
#   3  routing: the cheaper deployment fails (its key is refused), the dearer one serves and is
#      billed; a provider with no key answers 503 and sends nothing upstream;
#   4  a disabled model is 404, a model whose only deployment is disabled is 400;
#   5  [billing] flat_price, [billing] group_commission, [chat] first_byte_timeout;
#   6  no master key, and a wrong master key: 503, nothing upstream, nothing charged, and the
#      log names the problem without printing a key;
#   7  `tollgate sweep` on a clean database.
#
# One scratch database serves three tollgate masters behind one nginx:
#   /          the main instance (TOLLGATE_MASTER_KEY from lib/chat.sh); cp_restart changes
#              its configuration for section 5;
#   /tollgate/ an instance started without any master key (nginx's "prefix" slot);
#   /nodb/     an instance started with a wrong master key (nginx's third slot; its database
#              is reachable, the slot's name comes from nginx.conf.in).
# Mock token counts: system "be terse" + user "hello there" is 12 prompt tokens, the default
# reply 12 words, so a chat costs 12 x input + 12 x output per token, plus commission.
# shellcheck disable=SC2317,SC2119 # helpers run through check/wait_for; mock_up takes no args
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C

DEFMAX=256
RIGHT_MASTER=$TOLLGATE_MASTER_KEY
WRONG_MASTER=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100

# --- stack ----------------------------------------------------------------------------------
chat_backend cfg
CONF=$T/tg.conf
LOG=$T/log/tollgate.log
SOCK=$T/run/tollgate.sock
# shellcheck disable=SC2034 # used by render (nginx.conf.in)
SOCK_PREFIX=$T/run/nm/tollgate.sock
# shellcheck disable=SC2034
SOCK_NODB=$T/run/wk/tollgate.sock
mkdir -p "$T/run/nm" "$T/run/wk"
chmod 0755 "$T/run/nm" "$T/run/wk"
BASE=("db.name=$SCRATCH" "chat.default_max_tokens=$DEFMAX" "chat.sweep_interval=0")
# inst_conf FILE NAME PREFIX: a one-worker instance on its own socket, run dir and log.
inst_conf() {
	tg_conf "$1" "${BASE[@]}" "server.listen=unix:$T/run/$2/tollgate.sock" \
		"server.pid_file=$T/run/$2/tollgate.pid" "server.run_dir=$T/run/$2" \
		"log.file=$T/log/$2.log" "server.mount_prefix=$3" "server.workers=1"
}
inst_conf "$T/nm.conf" nm /tollgate
inst_conf "$T/wk.conf" wk /nodb
unset TOLLGATE_MASTER_KEY
start_tollgate nomaster "$T/nm.conf" || bail "tollgate without a master key starts"
export TOLLGATE_MASTER_KEY=$WRONG_MASTER
start_tollgate wrongkey "$T/wk.conf" || bail "tollgate with a wrong master key starts"
export TOLLGATE_MASTER_KEY=$RIGHT_MASTER
tg_conf "$CONF" "${BASE[@]}"
start_tollgate tollgate "$CONF" || bail "tollgate starts"
start_web start_nginx || bail "nginx starts"
URL=http://127.0.0.1:$PORT
wait_for "$URL/health" 15 health_ok || bail "$URL/health answers 200"
NMURL=$URL/tollgate
WKURL=$URL/nodb

# --- helpers --------------------------------------------------------------------------------

# q: chat.sh's, with the client's complaints kept out of the test's output.
q() { sql "$SCRATCH" -e "$1" 2>>"$T/log/sql.err" || true; }
# body_lacks STRING: the last response body does not contain STRING.
body_lacks() { ! grep -qF -- "$1" "$T/body"; }
# user_db TAG USD: user, and U_DBID (users.id).
user_db() {
	user "$1" "$2"
	U_DBID=$(q "SELECT id FROM users WHERE public_id = '$U_ID'")
}
# chat_at BASE CRED BODY: POST BASE/v1/chat/completions.
chat_at() {
	http POST "$1/v1/chat/completions" -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary "$3"
}
# mreq I EXPR: EXPR holds for the mock's I-th logged request (after mock_n).
mreq() { jq -e ".[$1] | $2" "$T/mockreq.json" >/dev/null 2>&1; }
# last_usage DBID COLUMNS: those columns of the user's newest usage record, space-separated.
last_usage() {
	q "SELECT $2 FROM usage_records WHERE user_id = $1 ORDER BY id DESC LIMIT 1" | tr '\t' ' '
}

cp_admin cfgadm 100
AK_ADMIN=$ADMIN_KEY
req GET /user/profile "$AK_ADMIN"
ADMIN_ID=$(jv '.id // empty')
[ -n "$ADMIN_ID" ] || bail "GET /user/profile of the admin ($code)"

# =========================================================================================
# 7: the sweeper on a clean database (before any request has held anything).
# =========================================================================================
note "=== 7: tollgate sweep on a clean database"
check "no hold exists yet" eq "$(q 'SELECT COUNT(*) FROM holds')" 0
rc=0
sweep_out=$(tg_cli sweep 2>"$T/sweep.err") || rc=$?
check "tollgate sweep exits 0 (got $rc; $(head -c 200 "$T/sweep.err"))" eq "$rc" 0
check "tollgate sweep prints 'settled 0 expired hold(s)' (got '$sweep_out')" \
	eq "$sweep_out" "settled 0 expired hold(s)"

# =========================================================================================
# 1: providers, upstream keys, CLI, audit.
# =========================================================================================
note "=== 1: admin provider API"
user_db plain 1.00
PK=$U_KEY
pa() { req POST /admin/providers "$AK_ADMIN" "$1"; }
n_prov() { q "SELECT COUNT(*) FROM providers WHERE id = '$1'"; }

# Since issue 16 kinds anthropic and gemini are spoken (t_catalog.sh): a vendor without a
# kind of its own is refused.
pa '{"id":"p-x","kind":"mistral","base_url":"https://api.example.com/v1"}'
expect_err "POST /admin/providers kind mistral (not a kind)" 400 invalid_value
check "the refusal lists the kinds, anthropic and gemini among them" \
	json_is '.error.message | test("anthropic") and test("gemini")'
pa '{"id":"p-x","kind":"nonsense","base_url":"https://api.example.com/v1"}'
expect_err "POST /admin/providers kind nonsense" 400 invalid_value
for u in 'ftp://x' 'file:///etc/passwd' 'http://user:pw@host/' 'http://h/?q' 'http://h/v1#frag' \
	'http:///v1' 'api.example.com/v1' 'https://exa mple.com/v1'; do
	pa "{\"id\":\"p-x\",\"kind\":\"openai-compatible\",\"base_url\":\"$u\"}"
	expect_err "POST /admin/providers base_url '$u'" 400 invalid_value
done
pa '{"id":"Bad Id","kind":"openai","base_url":"https://api.example.com/v1"}'
expect_err "POST /admin/providers id 'Bad Id'" 400 invalid_value
pa '{"id":"p-x","kind":"openai"}'
check "POST /admin/providers without base_url -> 400" is_err_any 400 missing_field invalid_value
pa '{"id":"p-x","kind":"openai","base_url":"https://api.example.com/v1","secret":"x"}'
check "POST /admin/providers with an unknown member -> 400" is_err_any 400 unknown_field invalid_value
check "no provider p-x was created by the refusals" eq "$(n_prov p-x)" 0

pa "{\"id\":\"p-api\",\"kind\":\"openai-compatible\",\"base_url\":\"$MOCK_URL\",\"name\":\"API provider\"}"
expect_status "POST /admin/providers p-api" 201
check "201 shape: exactly {id,kind,name,base_url,enabled,keys,models}" json_is \
	'(keys | sort) == ["base_url","enabled","id","keys","kind","models","name"]'
check "201 values: p-api, openai-compatible, API provider, the URL, enabled, 0 keys, 0 models" json_is \
	".id == \"p-api\" and .kind == \"openai-compatible\" and .name == \"API provider\" and .base_url == \"$MOCK_URL\" and .enabled == true and .keys == 0 and .models == 0"
check "p-api is in the providers table" eq "$(n_prov p-api)" 1
pa '{"id":"p-off","kind":"deepseek","base_url":"https://api.deepseek.com","enabled":false}'
expect_status "POST /admin/providers p-off enabled:false" 201
check "p-off: enabled false, kind deepseek" json_is '.enabled == false and .kind == "deepseek"'
pa '{"id":"p-api","kind":"openai","base_url":"https://api.openai.com/v1"}'
expect_status "POST /admin/providers duplicate id p-api" 409
check "409 has the error shape" error_shape
check "the duplicate did not change p-api (kind still openai-compatible)" \
	eq "$(q "SELECT kind FROM providers WHERE id = 'p-api'")" openai-compatible

req GET /admin/providers "$AK_ADMIN"
expect_status "GET /admin/providers" 200
check "list: p-api as created" json_is \
	"any(.data[]; .id == \"p-api\" and .name == \"API provider\" and .keys == 0 and .models == 0 and .enabled == true)"
check "list: mock (chat_catalog) has 1 key and 2 models" json_is \
	'any(.data[]; .id == "mock" and .keys == 1 and .models == 2)'
check "list: one row per provider in the table" json_is \
	"(.data | length) == $(q 'SELECT COUNT(*) FROM providers')"

req PUT /admin/providers/p-api "$AK_ADMIN" '{"name":"Renamed","enabled":false}'
expect_status "PUT /admin/providers/p-api name + enabled:false" 200
check "PUT answer: name Renamed, enabled false, base_url kept" json_is \
	".id == \"p-api\" and .name == \"Renamed\" and .enabled == false and .base_url == \"$MOCK_URL\""
check "the table says name Renamed, enabled 0" \
	eq "$(q "SELECT name, enabled FROM providers WHERE id = 'p-api'" | tr '\t' ' ')" "Renamed 0"
req PUT /admin/providers/p-api "$AK_ADMIN" '{"name":"Renamed","enabled":false}'
check "PUT with the same values again -> 200 (unchanged is not missing)" \
	sh -c "[ '$code' = 200 ] && jq -e '.name == \"Renamed\"' '$T/body' >/dev/null"
req PUT /admin/providers/p-api "$AK_ADMIN" '{"enabled":true}'
check "PUT enabled:true -> 200, enabled true, name kept" \
	sh -c "[ '$code' = 200 ] && jq -e '.enabled == true and .name == \"Renamed\"' '$T/body' >/dev/null"
req PUT /admin/providers/p-none "$AK_ADMIN" '{"name":"x"}'
expect_status "PUT /admin/providers/p-none (unknown id)" 404
check "404 has the error shape" error_shape
check "the 404 created nothing" eq "$(n_prov p-none)" 0
req PUT /admin/providers/p-api "$AK_ADMIN" '{"base_url":"ftp://x"}'
expect_err "PUT base_url ftp://x" 400 invalid_value
req PUT /admin/providers/p-api "$AK_ADMIN" '{"base_url":"http://user:pw@host/v1"}'
expect_err "PUT base_url with credentials" 400 invalid_value
check "p-api's base_url unchanged by the refused PUTs" \
	eq "$(q "SELECT base_url FROM providers WHERE id = 'p-api'")" "$MOCK_URL"

note "--- non-admin"
req GET /admin/providers "$PK"
expect_err "GET /admin/providers with a user's key" 403 insufficient_permissions
pa_user='{"id":"p-user","kind":"openai","base_url":"https://api.openai.com/v1"}'
req POST /admin/providers "$PK" "$pa_user"
expect_err "POST /admin/providers with a user's key" 403 insufficient_permissions
req PUT /admin/providers/p-api "$PK" '{"name":"Hijacked"}'
expect_err "PUT /admin/providers/p-api with a user's key" 403 insufficient_permissions
req POST /admin/providers/p-api/keys "$PK" '{"key":"sk-user-key-12345678"}'
expect_err "POST /admin/providers/p-api/keys with a user's key" 403 insufficient_permissions
req POST /admin/models "$PK" '{"id":"cfg/user","provider_id":"mock","upstream_model":"m","input_price":"1","output_price":"1"}'
expect_err "POST /admin/models with a user's key" 403 insufficient_permissions
req PUT /admin/models/test/cheap "$PK" '{"input_price":"0.01"}'
expect_err "PUT /admin/models/test/cheap with a user's key" 403 insufficient_permissions
check "403s changed nothing: no p-user, p-api still Renamed, no key, test/cheap still 1.00" \
	eq "$(n_prov p-user)/$(q "SELECT name FROM providers WHERE id='p-api'")/$(q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id='p-api'")/$(q "SELECT input_price FROM model_routes WHERE model_id='test/cheap'")" \
	"0/Renamed/0/1000000"

note "--- upstream keys"
SECRET=sk-cfgtest-Zq8Xw3Secret77Pq9Lm4Tn6Vb2wxyz
SECRET_MID=Secret77Pq9Lm
req POST /admin/providers/p-api/keys "$AK_ADMIN" "{\"key\":\"$SECRET\",\"label\":\"primary\"}"
expect_status "POST /admin/providers/p-api/keys" 201
UK_ID=$(jv '.id // empty')
check "key 201: id, provider_id p-api, label primary, last4 wxyz, enabled" json_is \
	'(.id | type == "string") and .provider_id == "p-api" and .label == "primary" and .last4 == "wxyz" and .enabled == true and (.created_at | type == "string")'
check "key 201: the body does not contain the secret" body_lacks "$SECRET"
check "key 201: nor a middle part of it" body_lacks "$SECRET_MID"
check "key 201: no key/secret member" json_is '(has("key") or has("secret") or has("secret_enc")) | not'
req GET /admin/providers/p-api/keys "$AK_ADMIN"
expect_status "GET /admin/providers/p-api/keys" 200
check "key list: exactly that key, last4 wxyz, label primary" json_is \
	"(.data | length) == 1 and .data[0].id == \"$UK_ID\" and .data[0].last4 == \"wxyz\" and .data[0].label == \"primary\" and .data[0].provider_id == \"p-api\""
check "key list: the secret is not in the body" body_lacks "$SECRET_MID"
req GET /admin/providers "$AK_ADMIN"
check "provider list: p-api now has 1 key" json_is 'any(.data[]; .id == "p-api" and .keys == 1)'
read -r enc_len enc_instr enc_hexinstr enc_last4 <<<"$(q "SELECT LENGTH(secret_enc), INSTR(secret_enc, '$SECRET_MID'),
	INSTR(HEX(secret_enc), HEX('$SECRET_MID')), last4 FROM upstream_keys WHERE public_id = '$UK_ID'" | tr '\t' ' ')"
note "secret_enc: $enc_len bytes; instr $enc_instr; hex instr $enc_hexinstr; last4 $enc_last4"
check "DB: secret_enc is nonce + ciphertext + tag (${#SECRET} + 28 bytes; got $enc_len)" \
	eq "$enc_len" $((${#SECRET} + 28))
check "DB: secret_enc does not contain the secret's bytes (INSTR 0; got $enc_instr)" eq "$enc_instr" 0
check "DB: HEX(secret_enc) does not contain HEX of the secret (got $enc_hexinstr)" eq "$enc_hexinstr" 0
check "DB: last4 column is wxyz" eq "$enc_last4" wxyz
check "DB: no audit row carries the secret" eq "$(q "SELECT COUNT(*) FROM audit_log WHERE
	INSTR(COALESCE(after_json, ''), '$SECRET_MID') > 0 OR INSTR(COALESCE(before_json, ''), '$SECRET_MID') > 0")" 0
req POST /admin/providers/p-api/keys "$AK_ADMIN" '{"key":"short"}'
expect_err "key of 5 characters" 400 invalid_value
req POST /admin/providers/p-api/keys "$AK_ADMIN" '{"key":"sk-has a-space-123"}'
expect_err "key with a space" 400 invalid_value
req POST /admin/providers/p-api/keys "$AK_ADMIN" '{"label":"nokey"}'
check "key missing -> 400" is_err_any 400 missing_field invalid_value
req POST /admin/providers/p-none/keys "$AK_ADMIN" '{"key":"sk-orphan-key-12345678"}'
expect_status "POST /admin/providers/p-none/keys (unknown provider)" 404
check "404 has the error shape" error_shape
req GET /admin/providers/p-none/keys "$AK_ADMIN"
expect_status "GET /admin/providers/p-none/keys (unknown provider)" 404
check "refused keys stored nothing (p-api 1 key, p-none 0)" \
	eq "$(q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id = 'p-api'")/$(q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id = 'p-none'")" 1/0
req DELETE "/admin/providers/mock/keys/$UK_ID" "$AK_ADMIN"
expect_status "DELETE p-api's key through provider mock" 404
check "  the key is still there" eq "$(q "SELECT COUNT(*) FROM upstream_keys WHERE public_id = '$UK_ID'")" 1
req DELETE "/admin/providers/p-api/keys/$UK_ID" "$AK_ADMIN"
expect_status "DELETE /admin/providers/p-api/keys/$UK_ID" 200
check "DELETE answer {id, deleted:true}" json_is ".id == \"$UK_ID\" and .deleted == true"
req GET /admin/providers/p-api/keys "$AK_ADMIN"
check "after DELETE the key list is empty" json_is '(.data | length) == 0'
check "after DELETE the row is gone" eq "$(q "SELECT COUNT(*) FROM upstream_keys WHERE public_id = '$UK_ID'")" 0
req DELETE "/admin/providers/p-api/keys/$UK_ID" "$AK_ADMIN"
expect_status "DELETE it again" 404

note "--- CLI"
rc=0
gk=$(tg_cli genkey 2>"$T/genkey.err") || rc=$?
check "genkey exits 0 ($rc)" eq "$rc" 0
check "genkey prints 64 hex digits on one line (got '$gk')" \
	sh -c "[ \"\$(printf '%s\n' '$gk' | wc -l)\" = 1 ] && printf '%s' '$gk' | grep -Eqx '[0-9a-fA-F]{64}'"
gk2=$(tg_cli genkey 2>/dev/null || true)
check "genkey twice gives two different keys" test -n "$gk2" -a "$gk" != "$gk2"
rc=0
tg_cli provider list >"$T/plist.out" 2>"$T/plist.err" || rc=$?
check "provider list exits 0 ($rc)" eq "$rc" 0
check "provider list: every line is a JSON object with id, kind, base_url" \
	sh -c "jq -e -s 'length > 0 and all(.[]; (.id|type==\"string\") and (.kind|type==\"string\") and (.base_url|type==\"string\"))' '$T/plist.out' >/dev/null"
check "provider list: one line per provider ($(q 'SELECT COUNT(*) FROM providers'))" \
	eq "$(grep -c . "$T/plist.out")" "$(q 'SELECT COUNT(*) FROM providers')"
check "provider list: p-api with its new name" \
	sh -c "jq -e -s 'any(.[]; .id == \"p-api\" and .name == \"Renamed\")' '$T/plist.out' >/dev/null"
SECRET2=sk-cfgcli-Hk5Rt9CliSecret42Yu7Jd3abcd
rc=0
printf '%s\n' "$SECRET2" | tg_cli provider key-add p-api from-cli >"$T/kadd.out" 2>"$T/kadd.err" || rc=$?
check "provider key-add (secret on stdin) exits 0 ($rc; $(head -c 200 "$T/kadd.err"))" eq "$rc" 0
check "key-add prints one JSON line: p-api, label from-cli, last4 abcd" \
	sh -c "[ \"\$(grep -c . '$T/kadd.out')\" = 1 ] && jq -e '.provider_id == \"p-api\" and .label == \"from-cli\" and .last4 == \"abcd\"' '$T/kadd.out' >/dev/null"
check "key-add output does not contain the secret" sh -c "! grep -qF 'CliSecret42' '$T/kadd.out' '$T/kadd.err'"
CLI_UK=$(jq -r '.id // empty' "$T/kadd.out" 2>/dev/null || true)
check "DB: the stdin secret is stored sealed (${#SECRET2} + 28 bytes, not in the clear)" \
	eq "$(q "SELECT LENGTH(secret_enc), INSTR(HEX(secret_enc), HEX('CliSecret42')), label FROM upstream_keys WHERE public_id = '$CLI_UK'" | tr '\t' ' ')" \
	"$((${#SECRET2} + 28)) 0 from-cli"
rc=0
tg_cli provider key-add p-api empty </dev/null >/dev/null 2>"$T/kadd-empty.err" || rc=$?
check "key-add with nothing on stdin exits 1 ($rc)" eq "$rc" 1
# Ten times: the message must be the same readable sentence every time.
nm_rcs="" nm_bad=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	rc=0
	printf '%s\n' "sk-nomaster-key-123456" | env -u TOLLGATE_MASTER_KEY "$TOLLGATE_BIN" -c "$CONF" \
		provider key-add p-api nomaster >/dev/null 2>"$T/kadd-nm.err" || rc=$?
	nm_rcs="$nm_rcs$rc"
	if ! grep -qi 'master' "$T/kadd-nm.err" || LC_ALL=C grep -q '[^[:print:][:space:]]' "$T/kadd-nm.err"; then
		nm_bad=$((nm_bad + 1))
		note "key-add without a master key said: $(od -c "$T/kadd-nm.err" | head -n 3 | tr '\n' ' ')"
	fi
done
check "key-add without any master key exits 1 (10 runs: $nm_rcs)" eq "$nm_rcs" 1111111111
check "  and says 'no master key' in plain text every time ($nm_bad of 10 runs did not)" eq "$nm_bad" 0
check "the refused CLI key-adds stored nothing (p-api has 1 key)" \
	eq "$(q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id = 'p-api'")" 1
rc=0
tg_cli provider key-list p-api >"$T/klist.out" 2>/dev/null || rc=$?
check "provider key-list p-api: one JSON line with last4 abcd, no secret" \
	sh -c "[ $rc = 0 ] && [ \"\$(grep -c . '$T/klist.out')\" = 1 ] && jq -e '.last4 == \"abcd\"' '$T/klist.out' >/dev/null && ! grep -qF CliSecret42 '$T/klist.out'"
rc=0
tg_cli provider add p-cli-bad openai-compatible 'ftp://x' >/dev/null 2>"$T/padd.err" || rc=$?
check "provider add with base_url ftp://x exits 1 ($rc)" eq "$rc" 1
check "  and adds nothing" eq "$(n_prov p-cli-bad)" 0

note "--- audit"
req GET "/admin/audit?action=provider.add" "$AK_ADMIN"
expect_status "GET /admin/audit?action=provider.add" 200
check "audit: provider.add rows only" json_is '(.data | length) > 0 and all(.data[]; .action == "provider.add")'
check "audit: provider.add for p-api by the admin ($ADMIN_ID)" json_is \
	"any(.data[]; .target_id == \"p-api\" and .actor_user_id == \"$ADMIN_ID\" and .target_type == \"provider\")"
check "audit: provider.add for p-off and for mock (CLI) too" json_is \
	'any(.data[]; .target_id == "p-off") and any(.data[]; .target_id == "mock")'
check "audit: the refused p-x and the duplicate left no provider.add row" json_is \
	'([.data[] | select(.target_id == "p-x")] | length) == 0 and ([.data[] | select(.target_id == "p-api")] | length) == 1'
req GET "/admin/audit?action=upstream_key.add" "$AK_ADMIN"
expect_status "GET /admin/audit?action=upstream_key.add" 200
check "audit: upstream_key.add for $UK_ID (API) and $CLI_UK (CLI)" json_is \
	"any(.data[]; .target_id == \"$UK_ID\" and .actor_user_id == \"$ADMIN_ID\") and any(.data[]; .target_id == \"$CLI_UK\")"
check "audit: the upstream_key.add rows do not carry either secret" \
	sh -c "! grep -qF '$SECRET_MID' '$T/body' && ! grep -qF CliSecret42 '$T/body'"
req GET "/admin/audit?action=upstream_key.delete" "$AK_ADMIN"
check "audit: upstream_key.delete for $UK_ID" json_is "any(.data[]; .target_id == \"$UK_ID\")"
req GET "/admin/audit?action=provider.update" "$AK_ADMIN"
check "audit: provider.update for p-api" json_is 'any(.data[]; .target_id == "p-api")'
rc=0
tg_cli audit verify >"$T/audit.out" 2>&1 || rc=$?
check "tollgate audit verify: the chain holds after all this ($(head -c 100 "$T/audit.out"))" eq "$rc" 0

# =========================================================================================
# 2: models and prices.
# =========================================================================================
note "=== 2: POST /admin/models, PUT /admin/models/{vendor}/{model}"
pm() { req POST /admin/models "$AK_ADMIN" "$1"; }
n_model() { q "SELECT COUNT(*) FROM models WHERE id = '$1'"; }
for p in abc -1 1.0000001 "" "1e3"; do
	pm "{\"id\":\"cfg/price\",\"provider_id\":\"mock\",\"upstream_model\":\"mock-price\",\"input_price\":\"$p\",\"output_price\":\"2.00\"}"
	check "POST /admin/models input_price \"$p\" -> 400 invalid_price (param input_price)" \
		sh -c "[ '$code' = 400 ] && jq -e '.error.code == \"invalid_price\" and .error.param == \"input_price\"' '$T/body' >/dev/null"
done
pm '{"id":"cfg/price","provider_id":"mock","upstream_model":"mock-price","input_price":"1.00","output_price":"abc"}'
check "output_price abc -> 400 invalid_price (param output_price)" \
	sh -c "[ '$code' = 400 ] && jq -e '.error.code == \"invalid_price\" and .error.param == \"output_price\"' '$T/body' >/dev/null"
pm '{"id":"cfg/price","provider_id":"mock","upstream_model":"mock-price","input_price":"1.00","output_price":"2.00","cached_input_price":"-1"}'
check "cached_input_price -1 -> 400 invalid_price" is_err 400 invalid_price
pm '{"id":"cfg/price","provider_id":"p-none","upstream_model":"mock-price","input_price":"1.00","output_price":"2.00"}'
check "unknown provider_id -> 400" is_err_any 400 invalid_value
check "the refused model adds created nothing" eq "$(n_model cfg/price)" 0
pm '{"id":"cfg/price","provider_id":"mock","upstream_model":"mock-price","input_price":"1.00","output_price":"2.00","context_length":4096,"name":"Price test"}'
expect_status "POST /admin/models cfg/price 1.00 / 2.00" 201
check "model 201: id, name, context_length, per-token pricing 0.000001 / 0.000002" json_is \
	'.id == "cfg/price" and .name == "Price test" and .context_length == 4096 and .pricing.prompt == "0.000001" and .pricing.completion == "0.000002"'
check "DB: the deployment on mock with upstream model mock-price at 1000000 / 2000000 micro-USD" \
	eq "$(q "SELECT provider_id, upstream_model, input_price, output_price FROM model_routes WHERE model_id = 'cfg/price'" | tr '\t' ' ')" \
	"mock mock-price 1000000 2000000"

user_db m 1.00
MK=$U_KEY M_ID=$U_ID M_DB=$U_DBID
read_balance "$MK"
b0=$BAL
chat "$MK" "{\"model\":\"cfg/price\",$MSGS}"
c=$(charge_at 1000 2000 12 12)
expect_status "chat cfg/price at 1.00 / 2.00" 200
check "  charged $c nano (x-tollgate-cost $(hdr x-tollgate-cost))" eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
read_balance "$MK"
check "  balance down by exactly $c" eq "$(minus "$b0" "$BAL")" "$c"
mock_n >/dev/null
check "  the upstream got model mock-price" mreq -1 '.body.model == "mock-price"'
req PUT /admin/models/cfg/price "$AK_ADMIN" '{"input_price":"abc"}'
expect_err "PUT input_price abc" 400 invalid_price
req PUT /admin/models/cfg/price "$AK_ADMIN" '{"output_price":"1.0000001"}'
expect_err "PUT output_price 1.0000001" 400 invalid_price
req PUT /admin/models/cfg/price "$AK_ADMIN" '{"output_price":"-1"}'
expect_err "PUT output_price -1" 400 invalid_price
check "the refused PUTs changed no price" \
	eq "$(q "SELECT input_price, output_price FROM model_routes WHERE model_id = 'cfg/price'" | tr '\t' ' ')" "1000000 2000000"
req PUT /admin/models/cfg/price "$AK_ADMIN" '{"input_price":"5.00","output_price":"7.50"}'
expect_status "PUT /admin/models/cfg/price 5.00 / 7.50" 200
check "PUT answer: pricing 0.000005 / 0.0000075" json_is \
	'.id == "cfg/price" and .pricing.prompt == "0.000005" and .pricing.completion == "0.0000075"'
req POST /v1/quote "$MK" "{\"model\":\"cfg/price\",$MSGS}"
check "quote after PUT: prices 5.00 / 7.50" json_is \
	'(.prices.input|tostring|tonumber) == 5 and (.prices.output|tostring|tonumber) == 7.5'
read_balance "$MK"
b0=$BAL
chat "$MK" "{\"model\":\"cfg/price\",$MSGS}"
c=$(charge_at 5000 7500 12 12)
expect_status "chat cfg/price after the PUT" 200
check "  charged at the new prices: $c nano (header $(hdr x-tollgate-cost))" eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
read_balance "$MK"
check "  balance down by exactly $c" eq "$(minus "$b0" "$BAL")" "$c"
check "  usage record: prices 5000000 / 7500000, charge $c" \
	eq "$(last_usage "$M_DB" 'input_price, output_price, charge')" "5000000 7500000 $c"
req PUT /admin/models/cfg/nope "$AK_ADMIN" '{"input_price":"1.00"}'
expect_err "PUT /admin/models/cfg/nope" 404 model_not_found
check "M: the ledger reconciles" ledger_check "$M_ID"

# =========================================================================================
# 3: routing and failover.
# =========================================================================================
note "=== 3: routing and failover"
for p in p-bad p-good p-nokey; do
	pa "{\"id\":\"$p\",\"kind\":\"openai-compatible\",\"base_url\":\"$MOCK_URL\"}"
	[ "$code" = 201 ] || bail "POST /admin/providers $p ($code: $(head -c 200 "$T/body"))"
done
req POST /admin/providers/p-bad/keys "$AK_ADMIN" '{"key":"sk-wrong-key-0000","label":"refused"}'
expect_status "p-bad gets a key the mock refuses" 201
BAD_UK=$(jv .id)
printf '%s\n' "$MOCK_KEY" | tg_cli provider key-add p-good main >"$T/kgood.out" 2>&1 ||
	bail "tollgate provider key-add p-good ($(head -c 200 "$T/kgood.out"))"
GOOD_UK=$(jq -r '.id // empty' "$T/kgood.out" 2>/dev/null || true)
GOOD_UK_DB=$(q "SELECT id FROM upstream_keys WHERE public_id = '$GOOD_UK'")
pm '{"id":"cfg/fo","provider_id":"p-bad","upstream_model":"fo-bad","input_price":"1.00","output_price":"2.00"}'
expect_status "cfg/fo on p-bad at 1.00 / 2.00" 201
pm '{"id":"cfg/fo","provider_id":"p-good","upstream_model":"fo-good","input_price":"4.00","output_price":"6.00"}'
expect_status "cfg/fo on p-good at 4.00 / 6.00" 201
check "cfg/fo has two deployments" eq "$(q "SELECT COUNT(*) FROM model_routes WHERE model_id = 'cfg/fo'")" 2

user_db f 1.00
FK=$U_KEY F_ID=$U_ID F_DB=$U_DBID
read_balance "$FK"
b0=$BAL
mock_clear
chat "$FK" "{\"model\":\"cfg/fo\",$MSGS}"
c=$(charge_at 4000 6000 12 12)
expect_status "chat cfg/fo: the cheaper deployment is refused, the dearer one serves" 200
check "  x-tollgate-provider: p-good ($(hdr x-tollgate-provider))" eq "$(hdr x-tollgate-provider)" p-good
check "  gateway_usage.provider p-good" json_is '.gateway_usage.provider == "p-good"'
check "  the mock's reply (12 words)" json_is '.usage.completion_tokens == 12'
check "  the upstream got two requests" eq "$(mock_n)" 2
check "  first: p-bad's model fo-bad with the refused key -> 401" mreq 0 \
	'.body.model == "fo-bad" and .status == 401 and .headers.authorization == "Bearer sk-wr****0000"'
check "  second: p-good's model fo-good with the right key -> 200" mreq 1 \
	'.body.model == "fo-good" and .status == 200 and .headers.authorization == "Bearer sk-mo****6789"'
check "  charged at p-good's prices: $c nano (header $(hdr x-tollgate-cost))" eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
read_balance "$FK"
check "  balance down by exactly $c, nothing reserved" eq "$(minus "$b0" "$BAL")/$RES" "$c/0"
read -r u_att u_prov u_um u_in u_out u_base u_comm u_chg u_uk u_st <<<"$(last_usage "$F_DB" \
	'attempts, provider_id, upstream_model, input_price, output_price, base_cost, commission, charge, upstream_key_id, status')"
note "usage: attempts $u_att provider $u_prov model $u_um prices $u_in/$u_out base $u_base comm $u_comm charge $u_chg ukey $u_uk status $u_st"
check "  usage record: attempts 2 (got $u_att)" eq "$u_att" 2
check "  usage record: provider_id p-good, upstream_model fo-good" eq "$u_prov/$u_um" p-good/fo-good
check "  usage record: p-good's prices 4000000 / 6000000" eq "$u_in/$u_out" 4000000/6000000
check "  usage record: base 120000 + commission 6000 = $c, status ok" eq "$u_base/$u_comm/$u_chg/$u_st" "120000/6000/$c/ok"
check "  usage record: upstream_key_id is p-good's key ($GOOD_UK_DB)" eq "$u_uk" "$GOOD_UK_DB"

# A key the provider refuses (401) is taken out of rotation, with the reason.
req GET "/admin/upstream-keys?provider_id=p-bad" "$AK_ADMIN"
check "  p-bad's refused key is now disabled, the reason recorded" json_is \
	".data | length == 1 and .[0].id == \"$BAD_UK\" and .[0].enabled == false and (.[0].disabled_reason | test(\"401\"))"
req PUT "/admin/providers/p-bad/keys/$BAD_UK" "$AK_ADMIN" '{"enabled":true}'
check "  an admin can put it back (PUT enabled:true clears the reason)" json_is \
	'.enabled == true and .disabled_reason == null'

# The same failover for a stream: nothing reached the client before p-good answered.
mock_clear
read_balance "$FK"
b0=$BAL
chat_sse "$FK" "{\"model\":\"cfg/fo\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$(msgs 'hello there [mock:words=5]')}"
c=$(charge_at 4000 6000 12 5)
sse_content() { grep -v '^\[DONE\]$' "$T/events" | jq -rj '.choices[0]?.delta?.content // empty' 2>/dev/null || true; }
check "stream cfg/fo: 200, curl ok (rc $sse_rc)" eq "$code/$sse_rc" 200/0
check "  x-tollgate-provider: p-good ($(hdr x-tollgate-provider))" eq "$(hdr x-tollgate-provider)" p-good
check "  the upstream got two requests (401, then 200)" \
	sh -c "[ \"\$(curl -s -m 5 http://127.0.0.1:$MOCK_PORT/_mock/requests | jq -c '[.[].status]')\" = '[401,200]' ]"
check "  the 5-word reply arrives ('$(sse_content)')" eq "$(sse_content)" "mock reply word1 word2 word3"
note "stream events with an error member: $(grep '"error"' "$T/events" | head -c 300)"
check "  no error event" sh -c "! grep -q '\"error\"' '$T/events'"
check "  [DONE] is the last event" eq "$(tail -n 1 "$T/events")" "[DONE]"
read_balance "$FK"
check "  charged at p-good's prices: $c nano (by $(minus "$b0" "$BAL")), nothing reserved" \
	eq "$(minus "$b0" "$BAL")/$RES" "$c/0"
note "stream usage record: $(last_usage "$F_DB" 'attempts, provider_id, status, http_status, charge, error')"
check "  usage record: attempts 2, p-good, status ok, charge $c" \
	eq "$(last_usage "$F_DB" 'attempts, provider_id, status, charge')" "2 p-good ok $c"

req PUT /admin/providers/p-bad "$AK_ADMIN" '{"enabled":false}'
expect_status "PUT /admin/providers/p-bad enabled:false" 200
mock_clear
read_balance "$FK"
b0=$BAL
chat "$FK" "{\"model\":\"cfg/fo\",$MSGS}"
c=$(charge_at 4000 6000 12 12)
expect_status "chat cfg/fo with p-bad disabled" 200
check "  one upstream request, to fo-good" sh -c "[ \"\$(curl -s -m 5 http://127.0.0.1:$MOCK_PORT/_mock/requests | jq -c '[.[].body.model]')\" = '[\"fo-good\"]' ]"
check "  usage record: attempts 1, provider p-good" eq "$(last_usage "$F_DB" 'attempts, provider_id')" "1 p-good"
read_balance "$FK"
check "  charged $c" eq "$(minus "$b0" "$BAL")" "$c"

pm '{"id":"cfg/nokey","provider_id":"p-nokey","upstream_model":"nk","input_price":"1.00","output_price":"2.00"}'
expect_status "cfg/nokey on p-nokey (which has no key)" 201
mock_clear
read_balance "$FK"
b0=$BAL
chat "$FK" "{\"model\":\"cfg/nokey\",$MSGS}"
expect_err "chat cfg/nokey" 503 provider_unavailable
check "  nothing sent upstream" eq "$(mock_n)" 0
read_balance "$FK"
check "  balance unchanged, nothing reserved" eq "$BAL/$RES" "$b0/0"

pm '{"id":"cfg/skip","provider_id":"p-nokey","upstream_model":"sk-nokey","input_price":"1.00","output_price":"2.00"}'
pm '{"id":"cfg/skip","provider_id":"mock","upstream_model":"sk-mock","input_price":"10.00","output_price":"30.00"}'
expect_status "cfg/skip: cheap on p-nokey, dear on mock" 201
mock_clear
read_balance "$FK"
b0=$BAL
chat "$FK" "{\"model\":\"cfg/skip\",$MSGS}"
c=$(charge_at 10000 30000 12 12)
expect_status "chat cfg/skip: the keyless deployment is skipped" 200
check "  x-tollgate-provider: mock" eq "$(hdr x-tollgate-provider)" mock
check "  one upstream request, model sk-mock" sh -c "[ \"\$(curl -s -m 5 http://127.0.0.1:$MOCK_PORT/_mock/requests | jq -c '[.[].body.model]')\" = '[\"sk-mock\"]' ]"
read_balance "$FK"
check "  charged at mock's deployment prices: $c" eq "$(minus "$b0" "$BAL")" "$c"
check "  usage record: provider mock, prices 10000000 / 30000000, charge $c" \
	eq "$(last_usage "$F_DB" 'provider_id, input_price, output_price, charge')" "mock 10000000 30000000 $c"
check "F: the ledger reconciles" ledger_check "$F_ID"

# =========================================================================================
# 3b: provider kinds: OpenRouter's own cost and attribution; DeepSeek's usage on the finish chunk.
# =========================================================================================
note "=== 3b: OpenRouter and DeepSeek kinds"
MOCK_ROOT=${MOCK_URL%/v1}
pa "{\"id\":\"orx\",\"kind\":\"openrouter\",\"base_url\":\"$MOCK_ROOT/api/v1\"}"
expect_status "an openrouter provider on the mock" 201
pa "{\"id\":\"dsx\",\"kind\":\"deepseek\",\"base_url\":\"$MOCK_ROOT\"}"
expect_status "a deepseek provider on the mock" 201
for p in orx dsx; do
	printf '%s\n' "$MOCK_KEY" | tg_cli provider key-add "$p" main >/dev/null 2>&1 || bail "key-add $p"
done
# Catalogue prices far above what the mock's OpenRouter flavour reports ($1 / $2 per million).
pm '{"id":"cfg/or","provider_id":"orx","upstream_model":"vendor/or-model","input_price":"10.00","output_price":"30.00"}'
expect_status "cfg/or on orx at 10.00 / 30.00" 201
pm '{"id":"cfg/ds","provider_id":"dsx","upstream_model":"deepseek-chat","input_price":"1.00","output_price":"2.00"}'
expect_status "cfg/ds on dsx at 1.00 / 2.00" 201
user_db kinds 1.00
K_KEY=$U_KEY K_ID=$U_ID K_DB=$U_DBID
read_balance "$K_KEY"
k0=$BAL
m=$(mock_n)
http POST "$URL/v1/chat/completions" -H "Authorization: Bearer $K_KEY" -H 'Content-Type: application/json' \
	-H 'HTTP-Referer: https://app.example.com/' -H 'X-Title: Example App' \
	--data-binary "{\"model\":\"cfg/or\",$(msgs 'hello there [mock:flavor=openrouter]')}"
expect_status "OpenRouter chat" 200
# The mock's OpenRouter flavour charges 1000 x prompt + 2000 x completion nano-USD: 12 + 12.
orc=$(charge_at 1000 2000 12 12)
check "OpenRouter: charged its reported usage.cost + 5% ($orc nano), not the catalogue price" \
	eq "$(nano "$(hdr x-tollgate-cost)")" "$orc"
check "  usage.cost says the same" eq "$(jq '.usage.cost * 1e9 | round' "$T/body" 2>/dev/null)" "$orc"
check "  OpenRouter's own usage.cost is replaced, not repeated (one cost key in the text)" \
	eq "$(grep -o '"cost":' "$T/body" | wc -l)" 2
check "  the record keeps OpenRouter's figure (24000+12000... upstream_cost 36000)" \
	eq "$(last_usage "$K_DB" 'upstream_cost, base_cost, charge')" "36000 36000 $orc"
read_balance "$K_KEY"
check "  the balance dropped by exactly that" eq "$(minus "$k0" "$BAL")" "$orc"
mock_n >/dev/null
check "OpenRouter got the client's HTTP-Referer and X-Title" \
	mreq "$m" '(.headers["http-referer"] == "https://app.example.com/") and (.headers["x-title"] == "Example App")'
check "OpenRouter was asked for usage accounting (usage.include)" mreq "$m" '.body.usage.include == true'
check "OpenRouter got the deployment's model name" mreq "$m" '.body.model == "vendor/or-model"'
m=$(mock_n)
chat_at "$URL" "$K_KEY" "{\"model\":\"cfg/ds\",$(msgs 'hello there [mock:flavor=deepseek,cached=4]')}"
expect_status "DeepSeek chat" 200
dsc=$(( (12 - 4) * 1000 + 12 * 2000 + 4 * 1000 ))   # no cached price: cached tokens at input
dsc=$((dsc + (dsc * 500 + 9999) / 10000))
check "DeepSeek: cache-hit tokens read from prompt_cache_hit_tokens (record cached 4)" \
	eq "$(last_usage "$K_DB" 'cached_tokens, charge')" "4 $dsc"
# The cost is spliced into the provider's own bytes, which here start with two blank lines.
check "DeepSeek: the answer (blank lines first) carries usage.cost = $dsc nano and gateway_usage" \
	eq "$(jq -r '[(.usage.cost * 1e9 | round), .gateway_usage.model, .usage.prompt_cache_hit_tokens] | join(" ")' \
		"$T/body" 2>/dev/null)" "$dsc cfg/ds 4"
mock_n >/dev/null
check "DeepSeek got max_tokens (not max_completion_tokens)" mreq "$m" '.body.max_tokens > 0 and (.body.max_completion_tokens == null)'
chat_sse "$K_KEY" "{\"model\":\"cfg/ds\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$(msgs 'hello there [mock:flavor=deepseek]')}"
check "DeepSeek stream with include_usage: 200, clean end" eq "$code/$sse_rc" 200/0
check "  exactly one chunk carries usage, with the cost" \
	test "$(grep -v '^\[DONE\]$' "$T/events" | jq -s '[.[] | select(.usage != null)] | length == 1 and (.[0].usage.cost | type == "number") and .[0].gateway_usage.cost != null')" = true
check "  the content is whole" eq "$(grep -v '^\[DONE\]$' "$T/events" | jq -rj '.choices[0]?.delta?.content // empty')" \
	"mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10"
check "  [DONE] last" eq "$(tail -n 1 "$T/events")" "[DONE]"
chat_sse "$K_KEY" "{\"model\":\"cfg/ds\",\"stream\":true,$(msgs 'hello there [mock:flavor=deepseek]')}"
check "DeepSeek stream without include_usage: no chunk carries usage" \
	test "$(grep -v '^\[DONE\]$' "$T/events" | jq -s '[.[] | select(has("usage"))] | length')" = 0
check "K: the ledger reconciles" ledger_check "$K_ID"

# =========================================================================================
# 4: disabled model, disabled deployment.
# =========================================================================================
note "=== 4: disabled model and deployment"
pm '{"id":"cfg/dis","provider_id":"mock","upstream_model":"dis","input_price":"1.00","output_price":"2.00"}'
expect_status "cfg/dis added" 201
pm '{"id":"cfg/dep","provider_id":"mock","upstream_model":"dep","input_price":"1.00","output_price":"2.00"}'
expect_status "cfg/dep added" 201
user_db d 1.00
DK=$U_KEY D_ID=$U_ID
chat "$DK" "{\"model\":\"cfg/dis\",$MSGS}"
expect_status "chat cfg/dis while enabled" 200
chat "$DK" "{\"model\":\"cfg/dep\",$MSGS}"
expect_status "chat cfg/dep while its deployment is enabled" 200
req PUT /admin/models/cfg/dis "$AK_ADMIN" '{"enabled":false}'
expect_status "PUT /admin/models/cfg/dis enabled:false" 200
check "PUT answer: id cfg/dis, enabled false" json_is '.id == "cfg/dis" and .enabled == false'
req PUT /admin/models/cfg/dep "$AK_ADMIN" '{"provider_id":"mock","enabled":false}'
expect_status "PUT /admin/models/cfg/dep provider_id mock enabled:false" 200
check "DB: cfg/dep stays enabled, its deployment is disabled" \
	eq "$(q "SELECT m.enabled, r.enabled FROM models m JOIN model_routes r ON r.model_id = m.id WHERE m.id = 'cfg/dep'" | tr '\t' ' ')" "1 0"
read_balance "$DK"
b0=$BAL
m0=$(mock_n)
chat "$DK" "{\"model\":\"cfg/dis\",$MSGS}"
expect_err "chat the disabled model cfg/dis" 404 model_not_found
req POST /v1/quote "$DK" "{\"model\":\"cfg/dis\",$MSGS}"
expect_err "quote the disabled model" 404 model_not_found
req GET /v1/models "$DK"
check "GET /v1/models no longer lists cfg/dis" json_is '(.data | length) > 0 and all(.data[]; .id != "cfg/dis")'
chat "$DK" "{\"model\":\"cfg/dep\",$MSGS}"
expect_err "chat cfg/dep (its only deployment disabled)" 400 model_not_priced
check "neither sent anything upstream" eq "$(mock_n)" "$m0"
read_balance "$DK"
check "neither held or charged anything" eq "$BAL/$RES" "$b0/0"
req PUT /admin/models/cfg/dis "$AK_ADMIN" '{"enabled":true}'
expect_status "PUT /admin/models/cfg/dis enabled:true" 200
chat "$DK" "{\"model\":\"cfg/dis\",$MSGS}"
expect_status "chat cfg/dis once re-enabled" 200
check "D: the ledger reconciles" ledger_check "$D_ID"

# =========================================================================================
# 5: configuration.
# =========================================================================================
note "=== 5a: [billing] flat_price = 3.00"
cp_restart "${BASE[@]}" "billing.flat_price=3.00"
user_db fl 1.00
LK=$U_KEY L_ID=$U_ID L_DB=$U_DBID
c=$(charge_at 3000 3000 12 12)
req POST /v1/quote "$LK" "{\"model\":\"test/dear\",$MSGS}"
check "quote under flat_price: test/dear input, output and cached at 3.00" json_is \
	'(.prices.input|tostring|tonumber) == 3 and (.prices.output|tostring|tonumber) == 3 and (.prices.cached_input|tostring|tonumber) == 3'
for mdl in test/cheap test/dear cfg/price; do
	read_balance "$LK"
	b0=$BAL
	chat "$LK" "{\"model\":\"$mdl\",$MSGS}"
	expect_status "flat: chat $mdl" 200
	check "  charged (12+12) x 3000 + 5% = $c nano (header $(hdr x-tollgate-cost))" \
		eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
	read_balance "$LK"
	check "  balance down by exactly $c" eq "$(minus "$b0" "$BAL")" "$c"
	check "  usage record: prices 3000000 / 3000000, base 72000, commission 3600" \
		eq "$(last_usage "$L_DB" 'model_id, input_price, output_price, base_cost, commission, charge')" \
		"$mdl 3000000 3000000 72000 3600 $c"
done
check "FL: the ledger reconciles" ledger_check "$L_ID"

note "=== 5b: [billing] group_commission = vip:2, [chat] first_byte_timeout = 1"
cp_restart "${BASE[@]}" "billing.group_commission=vip:2" "chat.first_byte_timeout=1"
user_db vip 1.00
VK=$U_KEY V_ID=$U_ID V_DB=$U_DBID
req PUT "/admin/users/$V_ID" "$AK_ADMIN" '{"group":"vip"}'
expect_status "PUT /admin/users/{id} group vip" 200
check "  the user's group is vip" json_is '.group == "vip" or .user.group == "vip"'
req POST /v1/quote "$VK" "{\"model\":\"test/cheap\",$MSGS}"
check "quote: commission_percent 2 for the vip" json_is '(.commission_percent|tostring|tonumber) == 2'
read_balance "$VK"
b0=$BAL
chat "$VK" "{\"model\":\"test/cheap\",$MSGS}"
c=$(charge_at 1000 2000 12 12 200)
expect_status "vip: chat test/cheap" 200
check "vip: base 36000 + 2% = $c nano (header $(hdr x-tollgate-cost))" eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
read_balance "$VK"
check "vip: balance down by exactly $c" eq "$(minus "$b0" "$BAL")" "$c"
check "vip: usage record commission_bp 200, commission 720, charge $c" \
	eq "$(last_usage "$V_DB" 'commission_bp, commission, charge')" "200 720 $c"
user_db other 1.00
OK_=$U_KEY O_ID=$U_ID
req PUT "/admin/users/$O_ID" "$AK_ADMIN" '{"group":"bronze"}'
expect_status "PUT /admin/users/{id} group bronze (not configured)" 200
read_balance "$OK_"
b0=$BAL
chat "$OK_" "{\"model\":\"test/cheap\",$MSGS}"
c=$(charge_at 1000 2000 12 12 500)
expect_status "bronze: chat test/cheap" 200
read_balance "$OK_"
check "bronze (no group_commission entry) pays the default 5%: $c" eq "$(minus "$b0" "$BAL")" "$c"
check "VIP: the ledger reconciles" ledger_check "$V_ID"

user_db slow 1.00
SK=$U_KEY S_ID=$U_ID S_DB=$U_DBID
read_balance "$SK"
b0=$BAL
m0=$(mock_n)
t0=$(date +%s%N)
# An upstream far slower than the timeout, so that a busy machine's delays (seen: 1.5 s over
# the second) cannot pass for the upstream's answer.
chat "$SK" "{\"model\":\"test/cheap\",$(msgs 'hello there [mock:latency=8000]')}"
ms=$((($(date +%s%N) - t0) / 1000000))
expect_err "first_byte_timeout 1 s, upstream latency 8 s" 504 upstream_timeout
check "  answered before the upstream would have ($ms ms < 7000)" test "$ms" -lt 7000
check "  the upstream was called" test "$(mock_n)" -gt "$m0"
read_balance "$SK"
# The request went out before the timeout: the provider may bill it, so it is charged by
# [chat] charge_timeout, the hold by default (issue 13; it was charged 0).
hold=$(q "SELECT amount FROM holds WHERE account_id = $S_DB ORDER BY created_at DESC LIMIT 1")
check "  charged the hold ($hold), nothing reserved" eq "$(minus "$b0" "$BAL")/$RES" "$hold/0"
check "  usage record: status error, charge_basis hold, charge the hold" \
	eq "$(last_usage "$S_DB" 'status, charge_basis, charge')" "error hold $hold"
check "SLOW: the ledger reconciles" ledger_check "$S_ID"
chat "$SK" "{\"model\":\"test/cheap\",$MSGS}"
expect_status "  a prompt upstream is still served under first_byte_timeout 1" 200

# =========================================================================================
# 6: no master key; a wrong master key.
# =========================================================================================
note "=== 6: no master key / a wrong one"
http GET "$NMURL/health"
expect_status "no-master instance: /health" 200
check "no-master instance: the log says there is no master key" log_has 'no master key' "$T/log/nm.log"
user_db nm 1.00
NK=$U_KEY N_ID=$U_ID N_DB=$U_DBID
read_balance "$NK"
b0=$BAL
m0=$(mock_n)
chat_at "$NMURL" "$NK" "{\"model\":\"test/cheap\",$MSGS}"
expect_err "no master key: chat" 503 provider_unavailable
chat_at "$NMURL" "$NK" "{\"model\":\"test/cheap\",\"stream\":true,$MSGS}"
expect_err "no master key: streamed chat" 503 provider_unavailable
check "no master key: the mock got nothing" eq "$(mock_n)" "$m0"
read_balance "$NK"
check "no master key: balance unchanged, nothing reserved" eq "$BAL/$RES" "$b0/0"
check "no master key: no usage record" eq "$(n_usage "$N_DB")" 0
http POST "$NMURL/v1/quote" -H "Authorization: Bearer $NK" -H 'Content-Type: application/json' \
	--data-binary "{\"model\":\"test/cheap\",$MSGS}"
check "no master key: /v1/quote still answers 200 (no upstream call)" \
	sh -c "[ '$code' = 200 ] && jq -e '.model == \"test/cheap\"' '$T/body' >/dev/null"
http POST "$NMURL/admin/providers/p-api/keys" -H "Authorization: Bearer $AK_ADMIN" \
	-H 'Content-Type: application/json' --data-binary '{"key":"sk-nomaster-api-12345678"}'
expect_status "no master key: POST /admin/providers/p-api/keys" 503
check "  stored nothing" eq "$(q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id = 'p-api'")" 1

read_balance "$NK"
b0=$BAL
m0=$(mock_n)
chat_at "$WKURL" "$NK" "{\"model\":\"test/cheap\",$MSGS}"
expect_err "wrong master key: chat" 503 provider_unavailable
check "wrong master key: the mock got nothing" eq "$(mock_n)" "$m0"
read_balance "$NK"
check "wrong master key: balance unchanged, nothing reserved" eq "$BAL/$RES" "$b0/0"
check "N: the ledger reconciles" ledger_check "$N_ID"
wk_named() { grep -Eqi 'master key' "$T/log/wk.log"; }
wait_for "the wrong-key instance to log" 5 wk_named || true
note "wrong-key log: $(grep -i 'master' "$T/log/wk.log" | tail -n 2 | tr '\n' '|')"
check "wrong master key: the log names the problem (a key does not open with this master key)" \
	log_has 'does not open with this master key' "$T/log/wk.log"
for f in wk nm tollgate; do
	check "$f.log prints no master key (neither the wrong nor the right one)" \
		sh -c "! grep -qiF '$WRONG_MASTER' '$T/log/$f.log' && ! grep -qiF '$RIGHT_MASTER' '$T/log/$f.log'"
	check "$f.log prints no 64-hex-digit string" sh -c "! grep -Eq '[0-9a-fA-F]{64}' '$T/log/$f.log'"
	check "$f.log prints no upstream secret" \
		sh -c "! grep -qF '$MOCK_KEY' '$T/log/$f.log' && ! grep -qF '$SECRET_MID' '$T/log/$f.log' && ! grep -qF CliSecret42 '$T/log/$f.log'"
done

finish
