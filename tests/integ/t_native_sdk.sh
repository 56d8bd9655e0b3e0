#!/usr/bin/env bash
# t_native_sdk.sh: the official clients of the three native APIs drive tollgate behind nginx,
# each against a model on every upstream wire of the test stack (test/claude at the mock's
# Anthropic endpoint, test/gemini at its Gemini endpoint, test/cheap at its OpenAI one):
# @anthropic-ai/sdk (messages.create, messages.stream, tools: anthropic.mjs), @google/genai
# (generateContent, generateContentStream, a function call: genai.mjs) and the openai SDK's
# Responses API (responses.create, plain and stream: true, a function call: responses.mjs).
# Each script checks content, tool calls, usage and that the balance moved by exactly the
# cost the answer reported; here, the usage records name their API and provider and the
# ledger reconciles.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb node npm
sdk_install

chat_stack native_sdk
# An admin (for new_user's funding) and one funded user for everything.
cp_admin native_sdk 1
AK=$ADMIN_KEY
new_user sdk $((2 * ONE))
KEY=$UKEY

# sdk SCRIPT: runs one SDK script; its ok/not ok lines count as this test's.
sdk() { node_checks SDK "$SDK_DIR/$1" 120 TOLLGATE_URL="$URL" TOLLGATE_KEY="$KEY"; }
sdk anthropic.mjs
sdk genai.mjs
sdk responses.mjs

# What the database says: each API's records name it and the provider of the model asked.
recs() {
	q "SELECT CONCAT(api, ' ', model_id, ' ', provider_id), COUNT(*) FROM usage_records
		WHERE user_id = $UID_ AND http_status = 200 GROUP BY 1 ORDER BY 1" | tr '\t' ' '
}
recs >"$T/recs"
sed 's/^/# record: /' "$T/recs"
for want in "messages test/claude mock-anthropic" "messages test/gemini mock-gemini" \
	"messages test/cheap mock" "gemini test/claude mock-anthropic" "gemini test/gemini mock-gemini" \
	"gemini test/cheap mock" "responses test/claude mock-anthropic" \
	"responses test/gemini mock-gemini" "responses test/cheap mock"; do
	check "usage records: $want" grep -q "^$want [0-9]" "$T/recs"
done
check "the ledger reconciles, no hold left open" ledger_check "$UPUB"

finish
