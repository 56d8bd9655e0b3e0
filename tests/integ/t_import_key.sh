#!/usr/bin/env bash
# t_import_key.sh: `tollgate admin import-key --user EMAIL` (issue 18): another gateway's key
# (OpenRouter's sk-or-v1- + 64 hex; seed 004's 32 hex) read from stdin is stored by its hash
# for the user and works for chat unchanged (Bearer, X-API-Key, api-key), billed to that user;
# `imported: true` in GET /api/keys; an audit row key.import; a gw_ key, an unknown format,
# a key already stored and an unknown user are refused and change nothing; the key is never
# stored in clear (the database is searched for it).
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack importkey
export LC_ALL=C

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY
user a 2.00
A_ID=$U_ID A_EMAIL=$REG_EMAIL A_KEY=$U_KEY
A_UID=$(uid_of "$A_ID")

OR_KEY="sk-or-v1-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
HEX_KEY=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
# import KEY [ARGS...]: the CLI with KEY on stdin; output in $T/import.out, status in $irc.
import() {
	local k=$1
	shift
	irc=0
	printf '%s\n' "$k" | tg_cli admin import-key "$@" >"$T/import.out" 2>&1 || irc=$?
}
nkeys() { q "SELECT COUNT(*) FROM api_keys"; }
naudit() { q "SELECT COUNT(*) FROM audit_log WHERE action = 'key.import'"; }

# --- both formats work for chat -----------------------------------------------------------
import "$OR_KEY" --user "$A_EMAIL" --name "from openrouter"
check "import-key of an sk-or-v1- key -> exit 0, imported true" sh -c \
	"[ $irc = 0 ] && grep -q '\"imported\":true' '$T/import.out'"
import "$HEX_KEY" --user "$A_EMAIL"
check "import-key of a 32-hex key -> exit 0" eq "$irc" 0
check "two audit rows key.import" eq "$(naudit)" 2
check "neither key appears in the CLI's output" sh -c \
	"! grep -q '$OR_KEY' '$T/import.out' && ! grep -q '$HEX_KEY' '$T/import.out'"

BODY="{\"model\":\"test/cheap\",$MSGS}"
read_balance "$A_KEY"
b0=$BAL
chat "$OR_KEY" "$BODY"
check "chat with the imported sk-or-v1- key (Bearer) -> 200" status_is 200
c1=$(nano "$(hdr x-tollgate-cost)")
http POST "$URL/api/v1/chat/completions" -H "X-API-Key: $HEX_KEY" -H 'Content-Type: application/json' \
	--data-binary "$BODY"
check "chat with the imported hex key (X-API-Key, /api/v1) -> 200" status_is 200
c2=$(nano "$(hdr x-tollgate-cost)")
http GET "$URL/v1/models" -H "api-key: $HEX_KEY"
check "GET /v1/models with the hex key as api-key -> 200" status_is 200
read_balance "$A_KEY"
check "both chats were billed to the user ($c1 + $c2 nano)" eq $((b0 - BAL)) $((c1 + c2))
check "their usage records name the user" eq "$(n_usage "$A_UID")" 2

http GET "$URL/api/keys" -H "Authorization: Bearer $AK_ADMIN"
check "GET /api/keys: both imported: true, owned by the user" json_is \
	"[.data[] | select(.imported == true and .owner.email == \"$A_EMAIL\")] | length == 2"
check "  the sk-or-v1- key shows masked (sk-or-v1-xxxx...last4)" json_is \
	".data[] | select(.name == \"from openrouter\") | .key == \"${OR_KEY:0:13}...${OR_KEY: -4}\""

req GET /user/api-keys "$A_KEY"
check "GET /user/api-keys: imported true for the two, false for the gw_ key" json_is \
	'([.data[] | select(.imported == true)] | length) == 2 and ([.data[] | select(.imported == false)] | length) == 1'

# --- never in clear -----------------------------------------------------------------------
sql "$SCRATCH" -e "SELECT * FROM api_keys" >"$T/keys.dump"
sql "$SCRATCH" -e "SELECT * FROM audit_log" >"$T/audit.dump"
check "api_keys holds neither key in clear" sh -c \
	"! grep -q '$OR_KEY' '$T/keys.dump' && ! grep -q '$HEX_KEY' '$T/keys.dump' && ! grep -q '${OR_KEY:9}' '$T/keys.dump'"
check "nor does the audit log" sh -c "! grep -q '$OR_KEY' '$T/audit.dump' && ! grep -q '$HEX_KEY' '$T/audit.dump'"
check "the stored hash is the key's SHA-256" eq \
	"$(q "SELECT COUNT(*) FROM api_keys WHERE key_hash = UNHEX(SHA2('$HEX_KEY', 256)) AND imported = 1")" 1
check "nor the tollgate log" sh -c "! grep -rq '$HEX_KEY' '$T/log/'"

# --- refusals change nothing --------------------------------------------------------------
k0=$(nkeys) a0=$(naudit)
import "$A_KEY" --user "$A_EMAIL"
check "a gw_ key -> refused (exit 1, says it needs no import)" sh -c \
	"[ $irc = 1 ] && grep -q 'tollgate key' '$T/import.out'"
import "sk-or-v1-abc" --user "$A_EMAIL"
check "a short sk-or-v1- key -> refused as an unknown format" sh -c \
	"[ $irc = 1 ] && grep -q 'format' '$T/import.out'"
import "$(echo "$HEX_KEY" | tr a-f A-F)" --user "$A_EMAIL"
check "upper-case hex -> refused" eq "$irc" 1
import "sk-proj-0123456789abcdef0123456789abcdef" --user "$A_EMAIL"
check "another vendor's key -> refused" eq "$irc" 1
import "$OR_KEY" --user "$A_EMAIL"
check "the same key twice -> refused" sh -c "[ $irc = 1 ] && grep -q 'already' '$T/import.out'"
import "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" --user "nobody-$CP_U@example.com"
check "an unknown user -> refused" sh -c "[ $irc = 1 ] && grep -q 'no user' '$T/import.out'"
import "$HEX_KEY"
check "no --user -> usage, exit 2" eq "$irc" 2
import ""  --user "$A_EMAIL"
check "nothing on stdin -> exit 2" eq "$irc" 2
check "no key was added by the refusals" eq "$(nkeys)" "$k0"
check "no audit row was added by the refusals" eq "$(naudit)" "$a0"
chat "sk-or-v1-$(printf '%064d' 0)" "$BODY"
expect_err "a well-formed sk-or-v1- key that was never imported" 401 invalid_api_key

check "user A's ledger balances" ledger_check "$A_ID"
finish
