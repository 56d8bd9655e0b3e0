#!/usr/bin/env bash
# t_openai_sdk.sh: the official openai npm package drives tollgate behind nginx: the model
# catalogue and its errors (models.mjs), then metered chat, streams, embeddings, completions
# and the error classes against the mock upstream (chat.mjs).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb node npm

sdk_install

# A scratch database with the seeded catalogue plus the mock provider's test/cheap and
# test/dear (lib/chat.sh), tollgate behind nginx.
chat_stack sdk
# A funded user for everything, and one with balance 0 for the 402.
KEY=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "sdk-$$-$RANDOM@example.com" \
	--credits 10 2>/dev/null) || bail "admin create-user"
POOR_KEY=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "sdk-poor-$$-$RANDOM@example.com" \
	2>/dev/null) || bail "admin create-user (unfunded)"

# sdk SCRIPT: runs one SDK script; its ok/not ok lines count as this test's.
sdk() { node_checks SDK "$SDK_DIR/$1" 300 TOLLGATE_URL="$URL" TOLLGATE_KEY="$KEY" TOLLGATE_POOR_KEY="$POOR_KEY"; }
sdk models.mjs
sdk chat.mjs

finish
