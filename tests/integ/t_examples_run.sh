#!/usr/bin/env bash
# t_examples_run.sh: the client examples in examples/ run as a user runs them, against tollgate
# behind nginx with the mock provider: curl.sh (the OpenAI paths, the /api/v1 and /api/proxy
# aliases, seed 000's chat and bill) and js_openai.mjs (the openai npm package with seed 002's
# and 004's base URL /api/v1); every request answers and is billed.  python_openai.py needs the
# openai Python package, which Debian does not ship: it is parsed only.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb node npm python3
EX=$TOLLGATE_SRCDIR/examples
sdk_install
chat_stack examples
EMAIL="ex-$$-$RANDOM@example.com"
KEY=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "$EMAIL" --credits 10 2>/dev/null) ||
	bail "admin create-user"
UID_E=$(q "SELECT id FROM users WHERE email = '$EMAIL'")
nrec() { q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_E"; }

note "--- examples/curl.sh"
rc=0
TOLLGATE_URL=$URL TOLLGATE_KEY=$KEY MODEL=test/cheap PROVIDER=mock MODEL_NAME=test/cheap \
	sh "$EX/curl.sh" >"$T/curl.out" 2>"$T/curl.err" || rc=$?
check "curl.sh exits 0 ($rc: $(head -c 200 "$T/curl.err"))" test "$rc" = 0
check "...no error object in any answer" sh -c "! grep -q '\"error\"' '$T/curl.out'"
check "...three chat answers from the mock (v1, api/v1, layers)" \
	test "$(grep -o '"content":"mock reply' "$T/curl.out" | wc -l)" -ge 3
check "...the /api/proxy stream ends with [DONE]" grep -q 'data: \[DONE\]' "$T/curl.out"
check "...seed 000's answer shape (content, usage.inputTokens)" grep -q '"inputTokens"' "$T/curl.out"
check "...seed 000's bill (priceToPay)" grep -q '"priceToPay"' "$T/curl.out"
N1=$(nrec)
check "...each chat is a usage record ($N1 >= 4)" test "$N1" -ge 4

note "--- examples/js_openai.mjs (the openai npm package)"
mkdir -p "$T/js"
cp "$EX/js_openai.mjs" "$T/js/"
ln -s "$SDK_DIR/node_modules" "$T/js/node_modules"
rc=0
(cd "$T/js" && TOLLGATE_URL=$URL TOLLGATE_KEY=$KEY MODEL=test/cheap EMBED_MODEL=test/cheap \
	timeout 120 node js_openai.mjs >"$T/js.out" 2>"$T/js.err") || rc=$?
check "js_openai.mjs exits 0 ($rc: $(head -c 300 "$T/js.err"))" test "$rc" = 0
check "...lists models (five vendor/model ids)" test "$(grep -o "'[a-z0-9.-]*/[^' ]*'" "$T/js.out" | wc -l)" -ge 5
check "...a chat answer and its usage" grep -q 'prompt_tokens' "$T/js.out"
check "...the embedding's dimensions" grep -q '^8 dimensions' "$T/js.out"
check "...chat, stream and embedding billed (3 more records)" test "$(nrec)" = "$((N1 + 3))"

note "--- examples/python_openai.py"
check "python_openai.py parses" python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$EX/python_openai.py"
check "the ledger reconciles" ledger_check "$(q "SELECT public_id FROM users WHERE id = $UID_E")"
finish
