#!/usr/bin/env bash
# t_provider_seal.sh: a provider key opens only for the provider it was sealed to: its id, kind
# and base URL are the AES-GCM associated data (doc/internals.md "Sealed provider keys").
# Repointing base_url through the admin API is refused while keys exist (409) unless the
# request says "reseal": true; a base_url changed behind tollgate's back (SQL) leaves the keys
# closed: 503, nothing charged, no secret in the log.  Plain http:// only to private hosts.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
# No row cache: the SQL edits below must be seen by the next request.
chat_stack seal cache.ttl=0
cp_admin sadm 100
AK=$ADMIN_KEY
BODY='{"model":"test/cheap","max_tokens":16,"messages":[{"role":"user","content":"hello there"}]}'
balance() { req GET /user/balance "$AK"; jv '.balance'; }
mock_hits() { grep -c chat/completions "$T/${1:-mock}.jsonl" 2>/dev/null || echo 0; }

chat "$AK" "$BODY"
check "a chat through the sealed key works (got $code)" status_is 200

# --- the admin API refuses to repoint a provider that has keys ----------------------------
req PUT /admin/providers/mock "$AK" '{"base_url":"http://127.0.0.1:9/v1"}'
expect_err "base_url change while the provider has keys" 409 conflict
check "  the message says how" json_is '.error.message | test("reseal")'
req GET /admin/providers "$AK"
check "  base_url unchanged" json_is ".data[] | select(.id == \"mock\") | .base_url == \"$MOCK_URL\""
req PUT /admin/providers/mock "$AK" '{"name":"Mock renamed"}'
expect_status "a name change is fine" 200
req PUT /admin/providers/mock "$AK" '{"base_url":"https://127.0.0.1:9/v1","reseal":"yes"}'
expect_err "reseal must be a boolean" 400 invalid_type

# --- a base_url changed in the database: the key no longer opens --------------------------
bal0=$(balance)
hits0=$(mock_hits)
sql "$SCRATCH" -e "UPDATE providers SET base_url = 'http://127.0.0.1:$MOCK_PORT/v1/' WHERE id = 'mock'"
chat "$AK" "$BODY"
check "after an SQL repoint the chat is 503 (got $code)" status_is 503
check "  the OpenAI error shape" error_shape
check "  nothing charged ($bal0 -> $(balance))" test "$(balance)" = "$bal0"
check "  the provider never saw a request" test "$(mock_hits)" = "$hits0"
check "  the log says the key does not open" log_has 'does not open'
check "  no secret in the log" sh -c "! grep -q '$MOCK_KEY' '$LOG'"
sql "$SCRATCH" -e "UPDATE providers SET kind = 'openai' WHERE id = 'mock'"
sql "$SCRATCH" -e "UPDATE providers SET base_url = '$MOCK_URL' WHERE id = 'mock'"
chat "$AK" "$BODY"
check "the kind is bound too: openai instead of openai-compatible is 503 (got $code)" status_is 503
sql "$SCRATCH" -e "UPDATE providers SET kind = 'openai-compatible' WHERE id = 'mock'"
chat "$AK" "$BODY"
check "restored: the key opens again (got $code)" status_is 200

# --- reseal: true moves the keys to the new endpoint, with an audit row -------------------
mock_up mock2
req PUT /admin/providers/mock "$AK" "{\"base_url\":\"http://127.0.0.1:$MOCK_PORT/v1\",\"reseal\":true}"
expect_status "base_url change with reseal: true" 200
check "  base_url is the new one" json_is ".base_url == \"http://127.0.0.1:$MOCK_PORT/v1\""
req GET "/admin/audit?action=provider.reseal" "$AK"
check "  an audit row records the reseal" json_is '.total == 1 and (.data[0].after.resealed_keys == 1)'
chat "$AK" "$BODY"
check "a chat after the reseal works (got $code)" status_is 200
check "  and went to the new endpoint" test "$(mock_hits mock2)" = 1

# --- a row sealed the old way (v1: provider_id:key_pub) still opens; reseal upgrades it -----
if python3 -c 'import cryptography' 2>/dev/null; then
	hex=$(python3 - "$TOLLGATE_MASTER_KEY" "$MOCK_KEY" <<'PY'
import os, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key, secret = bytes.fromhex(sys.argv[1]), sys.argv[2].encode()
n = os.urandom(12)
print((n + AESGCM(key).encrypt(n, secret, b"mock:uk_v1oldrow")).hex())
PY
)
	sql "$SCRATCH" -e "UPDATE upstream_keys SET enabled = 0 WHERE provider_id = 'mock';
		INSERT INTO upstream_keys (public_id, provider_id, label, secret_enc, seal_version, last4)
		VALUES ('uk_v1oldrow', 'mock', 'v1', UNHEX('$hex'), 1, '6789')"
	chat "$AK" "$BODY"
	check "a v1 row still opens (got $code)" status_is 200
	tg_cli provider reseal >"$T/reseal.out" 2>&1
	check "tollgate provider reseal (rc $?)" grep -q 'resealed 1' "$T/reseal.out"
	check "  the row is v2 now" test "$(sql "$SCRATCH" -e "SELECT seal_version FROM upstream_keys WHERE public_id = 'uk_v1oldrow'")" = 2
	chat "$AK" "$BODY"
	check "  and opens (got $code)" status_is 200
	sql "$SCRATCH" -e "UPDATE providers SET base_url = 'http://127.0.0.1:9/v1' WHERE id = 'mock'"
	chat "$AK" "$BODY"
	check "  and is bound to the base URL now (got $code)" status_is 503
else
	note "python3 cryptography missing: the v1 row checks are skipped"
fi

# --- plain http only to loopback and private addresses ------------------------------------
padd() { req POST /admin/providers "$AK" "{\"id\":\"$1\",\"kind\":\"openai-compatible\",\"base_url\":\"$2\"}"; }
padd ext1 "http://example.com/v1"
expect_err "http://example.com refused" 400 invalid_value
check "  the message names allow_plain_http" json_is '.error.message | test("allow_plain_http")'
padd ext2 "http://169.254.169.254/v1"
expect_err "http:// to link-local (cloud metadata) refused" 400 invalid_value
padd ext3 "http://8.8.8.8:80/v1"
expect_err "http:// to a public address refused" 400 invalid_value
padd loc1 "http://127.0.0.1:9/v1"
expect_status "http://127.0.0.1 allowed" 201
padd loc2 "http://localhost:9/v1"
expect_status "http://localhost allowed" 201
padd loc3 "http://10.1.2.3/v1"
expect_status "http://10.1.2.3 allowed" 201
padd loc4 "http://[::1]:9/v1"
expect_status "http://[::1] allowed" 201
padd sec1 "https://example.com/v1"
expect_status "https://example.com allowed" 201
req PUT /admin/providers/sec1 "$AK" '{"base_url":"http://example.com/v1"}'
expect_err "an update to http://example.com refused" 400 invalid_value
req PUT /admin/providers/sec1 "$AK" '{"base_url":"https://api.example.com/v1"}'
expect_status "a keyless provider may be repointed" 200
req POST /admin/models/import "$AK" '{"prices_as_of":"2026-11-01","providers":[{"id":"imp1","kind":"openai-compatible","name":"I","base_url":"http://example.com/v1"}],"models":[]}'
expect_err "a pricing-file import with an http://example.com provider" 400 invalid_pricing_file
check "  the provider was not added" test "$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM providers WHERE id = 'imp1'")" = 0
cp_restart "db.name=$SCRATCH" cache.ttl=0 security.allow_plain_http=on
padd ext1 "http://example.com/v1"
expect_status "with allow_plain_http = on, http://example.com is allowed" 201

finish
