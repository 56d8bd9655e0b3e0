#!/usr/bin/env bash
# t_chat_params.sh: what is forwarded, priced and refused (doc/api-data-plane.md, "What is
# forwarded, priced and refused"):
#   1  one output cap: the hold and the quote use the largest of max_tokens,
#      max_completion_tokens and max_output_tokens; the provider gets exactly one cap, under
#      the name its kind reads, with the value held.
#   2  the parameter table: unknown and billing-relevant parameters are refused (400 naming
#      them, nothing charged, nothing upstream); the common ones reach the provider unchanged;
#      best_of and reasoning.max_tokens are priced; [chat] allow_params lets the operator
#      allow one with a price (free, times, add_usd).
#   3  inputs that are not text: image parts are held by OpenAI's tile formula from the
#      model's catalogue factors (worst case: base + 8 tiles; detail low: base); a model
#      without factors, and audio or file parts, get 400 unsupported_content naming the part.
#
# Upstream is the mock provider, whose request log shows every top-level member it received.
# Catalogue: test/cheap on "mock" (openai-compatible) $1 in / $2 out per million (lib/chat.sh);
# p/oai on an openai-kind provider and p/or on an openrouter-kind one, both on the mock, at the
# same prices.  Commission 5%.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
DEFMAX=256
chat_stack params "chat.default_max_tokens=$DEFMAX"
export LC_ALL=C # ${#body} counts bytes

post() {
	http POST "$URL$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		--data-binary "$3"
}
# mlast EXPR: EXPR holds for the mock's last logged request.
mlast() {
	mock_requests >/dev/null
	jq -e ".[-1] | $1" "$T/mockreq.json" >/dev/null 2>&1
}
# caps_sent: the output caps of the mock's last request, as "name=value ...", sorted.
caps_sent() {
	mock_requests >/dev/null
	jq -r '.[-1].body | to_entries | map(select(.key | test("^max_(tokens|completion_tokens|output_tokens)$")))
		| map("\(.key)=\(.value)") | sort | join(" ")' "$T/mockreq.json" 2>/dev/null || echo "?"
}
is_err_p() { is_err "$1" "$2" && json_is ".error.param == \"$3\""; }

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY
MOCK_ROOT=${MOCK_URL%/v1}
req POST /admin/providers "$AK_ADMIN" "{\"id\":\"oai\",\"kind\":\"openai\",\"base_url\":\"$MOCK_URL\"}"
expect_status "an openai-kind provider on the mock" 201
req POST /admin/providers "$AK_ADMIN" "{\"id\":\"orx\",\"kind\":\"openrouter\",\"base_url\":\"$MOCK_ROOT/api/v1\"}"
expect_status "an openrouter-kind provider on the mock" 201
for p in oai orx; do
	printf '%s\n' "$MOCK_KEY" | tg_cli provider key-add "$p" main >/dev/null 2>&1 || bail "key-add $p"
done
req POST /admin/models "$AK_ADMIN" '{"id":"p/oai","provider_id":"oai","upstream_model":"gpt-x","input_price":"1.00","output_price":"2.00"}'
expect_status "p/oai on oai at 1.00 / 2.00" 201
req POST /admin/models "$AK_ADMIN" '{"id":"p/or","provider_id":"orx","upstream_model":"vendor/m","input_price":"1.00","output_price":"2.00"}'
expect_status "p/or on orx at 1.00 / 2.00" 201

# =========================================================================================
# 1: one output cap.
# =========================================================================================
note "=== 1: one output cap"
user one 1.00
OK1=$U_KEY
QB="{\"model\":\"test/cheap\",\"max_completion_tokens\":1,\"max_tokens\":32000,$MSGS}"
req POST /v1/quote "$OK1" "$QB"
expect_status "quote with max_completion_tokens 1 and max_tokens 32000" 200
check "  quote.max_tokens is the largest cap, 32000 (got $(jv .max_tokens))" json_is '.max_tokens == 32000'
want=$(hold_cheap ${#QB} 32000)
check "  hold = ${#QB} x 1000 + 32000 x 2000, + 5% = $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
QB="{\"model\":\"test/cheap\",\"max_tokens\":10,\"max_output_tokens\":5000,$MSGS}"
req POST /v1/quote "$OK1" "$QB"
want=$(hold_cheap ${#QB} 5000)
check "quote: max_output_tokens 5000 over max_tokens 10: hold $want nano (got $(jv .hold))" \
	eq "$(jv .max_tokens)/$(jn .hold)" "5000/$want"
for f in max_tokens max_completion_tokens max_output_tokens; do
	req POST /v1/quote "$OK1" "{\"model\":\"test/cheap\",\"$f\":0,$MSGS}"
	check "quote: $f 0 -> 400 invalid_value naming $f" is_err_p 400 invalid_value "$f"
done

# A balance that covers one token's hold but not 32000's: refused, nothing charged.
user low 0.01
LK=$U_KEY LID=$U_ID
read_balance "$LK"
l0=$BAL
mock_clear
post /v1/chat/completions "$LK" "{\"model\":\"test/cheap\",\"max_completion_tokens\":1,\"max_tokens\":32000,$MSGS}"
expect_err "chat with max_completion_tokens 1, max_tokens 32000 on \$0.01 (hold \$0.064)" 402 insufficient_quota
check "  nothing went upstream" eq "$(mock_requests)" 0
read_balance "$LK"
check "  balance unchanged, nothing reserved" eq "$BAL/$RES" "$l0/0"
check "  no usage record of a served request" eq "$(n_usage_pub "$LID")" 0
one_refused() { [ "$(n_refused_pub "$LID")" = 1 ]; }
check "  one refused record (charge 0) in its log" wait_for "the refused record" 10 one_refused

# What the provider gets: exactly one cap, the held value, under the kind's name.
mock_clear
post /v1/chat/completions "$OK1" "{\"model\":\"p/oai\",\"max_completion_tokens\":1,\"max_tokens\":300,$MSGS}"
expect_status "openai kind: chat with max_completion_tokens 1, max_tokens 300" 200
check "  upstream got only max_completion_tokens=300 (got '$(caps_sent)')" eq "$(caps_sent)" "max_completion_tokens=300"
post /v1/chat/completions "$OK1" "{\"model\":\"p/oai\",\"max_output_tokens\":40,\"max_tokens\":20,$MSGS}"
expect_status "openai kind: chat with max_output_tokens 40, max_tokens 20" 200
check "  upstream got only max_completion_tokens=40 (got '$(caps_sent)')" eq "$(caps_sent)" "max_completion_tokens=40"
post /v1/chat/completions "$OK1" "{\"model\":\"p/oai\",$MSGS}"
check "openai kind, no cap: the default $DEFMAX as max_completion_tokens (got '$(caps_sent)')" \
	eq "$(caps_sent)" "max_completion_tokens=$DEFMAX"
post /v1/completions "$OK1" '{"model":"p/oai","prompt":"hello there","max_completion_tokens":70,"max_tokens":3}'
expect_status "openai kind: completions with max_completion_tokens 70, max_tokens 3" 200
check "  upstream got only max_tokens=70 (got '$(caps_sent)')" eq "$(caps_sent)" "max_tokens=70"
post /v1/chat/completions "$OK1" "{\"model\":\"p/or\",\"max_completion_tokens\":1,\"max_tokens\":300,$MSGS}"
expect_status "openrouter kind: chat with max_completion_tokens 1, max_tokens 300" 200
check "  upstream got only max_tokens=300 (got '$(caps_sent)')" eq "$(caps_sent)" "max_tokens=300"
post /v1/chat/completions "$OK1" "{\"model\":\"test/cheap\",\"max_completion_tokens\":9,\"max_output_tokens\":33,\"stream\":true,$MSGS}"
expect_status "compatible kind, stream: max_completion_tokens 9, max_output_tokens 33" 200
check "  upstream got only max_tokens=33 (got '$(caps_sent)')" eq "$(caps_sent)" "max_tokens=33"

# =========================================================================================
# 2: the parameter table.
# =========================================================================================
note "=== 2: forwarded, priced, refused"
user refuse 1.00
RK=$U_KEY RID=$U_ID
read_balance "$RK"
r0=$BAL
mock_clear
# refused PARAM VALUE [PATH MODEL_AND_INPUT]: 400 unsupported_parameter naming PARAM.
refused() {
	local path=${3:-/v1/chat/completions} rest=${4:-"\"model\":\"test/cheap\",$MSGS"}
	post "$path" "$RK" "{$rest,\"$1\":$2}"
	check "$path with $1: $2 -> 400 unsupported_parameter, param $1, named in the message" \
		sh -c "[ '$code' = 400 ] && jq -e '.error.code == \"unsupported_parameter\" and .error.param == \"$1\" and .error.type == \"invalid_request_error\" and (.error.message | contains(\"$1\"))' '$T/body' >/dev/null"
}
refused models '["test/dear","other/model"]'
refused route '"fallback"'
refused plugins '[{"id":"web"}]'
refused web_search_options '{}'
refused service_tier '"auto"'
refused service_tier '"priority"'
refused service_tier '"flex"'
refused modalities '["text","audio"]'
refused audio '{"voice":"alloy","format":"wav"}'
refused prediction '{"type":"content","content":"hello"}'
refused some_new_thing 1
refused echo true
refused dimensions 8
refused best_of 2
refused tools '[]' /v1/completions '"model":"test/cheap","prompt":"hello"'
refused temperature 0.5 /v1/embeddings '"model":"test/cheap","input":"hello"'
refused max_tokens 5 /v1/embeddings '"model":"test/cheap","input":"hello"'
req POST /v1/quote "$RK" "{\"model\":\"test/cheap\",$MSGS,\"plugins\":[{\"id\":\"web\"}]}"
check "quote with plugins -> 400 unsupported_parameter too" is_err_p 400 unsupported_parameter plugins
check "refusals: nothing went upstream" eq "$(mock_requests)" 0
read_balance "$RK"
check "refusals: balance unchanged, nothing reserved" eq "$BAL/$RES" "$r0/0"
check "refusals: no usage record" eq "$(n_usage_pub "$RID")" 0

# Forwarded as is: the common sampling and control parameters reach the provider unchanged.
FWD='{"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.1,"top_a":0.2,"repetition_penalty":1.1,
"frequency_penalty":0.2,"presence_penalty":0.3,"stop":["zzz"],"seed":7,"logit_bias":{"50256":-100},
"logprobs":true,"top_logprobs":2,"user":"end-user","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
"tool_choice":"auto","parallel_tool_calls":false,"response_format":{"type":"text"},"reasoning_effort":"low",
"reasoning":{"effort":"low"},"verbosity":"low","metadata":{"k":"v"},"store":false,"service_tier":"default",
"modalities":["text"],"transforms":["middle-out"],"usage":{"include":true},"min_tokens":1,"seed":7}'
FWD=$(jq -c . <<<"$FWD")
mock_clear
post /v1/chat/completions "$RK" "$(jq -c ". + {\"model\":\"test/cheap\",$MSGS}" <<<"$FWD")"
expect_status "chat with $(jq 'length' <<<"$FWD") forwarded parameters" 200
mock_requests >/dev/null
check "  every one reached the provider unchanged" \
	jq -e --argjson p "$FWD" '.[-1].body as $b | $p | to_entries | all(.value == $b[.key])' "$T/mockreq.json"
check "  and provider (tollgate's own) did not" mlast '.body | has("provider") | not'
post /v1/completions "$RK" '{"model":"test/cheap","prompt":"hello","echo":true,"suffix":"end","logprobs":2,"temperature":0.1}'
expect_status "completions with echo, suffix, logprobs, temperature" 200
check "  they reached the provider unchanged" mlast \
	'.body.echo == true and .body.suffix == "end" and .body.logprobs == 2 and .body.temperature == 0.1'
post /v1/embeddings "$RK" '{"model":"test/cheap","input":"hello","encoding_format":"float","dimensions":4,"user":"u"}'
expect_status "embeddings with encoding_format, dimensions, user" 200
check "  they reached the provider unchanged" mlast \
	'.body.encoding_format == "float" and .body.dimensions == 4 and .body.user == "u"'

# Priced: best_of multiplies the hold (completions), reasoning.max_tokens counts as a cap.
QB='{"model":"test/cheap","prompt":"hello there","max_tokens":10,"best_of":3,"n":2}'
req POST /v1/quote "$RK" "$QB"
want=$(hold_cheap ${#QB} 10 3)
check "quote: completions with n 2, best_of 3 hold 3 completions: $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
req POST /v1/quote "$RK" '{"model":"test/cheap","prompt":"hi","best_of":17}'
check "quote: best_of 17 -> 400 invalid_value" is_err_p 400 invalid_value best_of
QB="{\"model\":\"test/cheap\",\"max_tokens\":10,\"reasoning\":{\"max_tokens\":2000},$MSGS}"
req POST /v1/quote "$RK" "$QB"
want=$(hold_cheap ${#QB} 2000)
check "quote: reasoning.max_tokens 2000 over max_tokens 10 holds 2000: $want nano (got $(jv .hold))" \
	eq "$(jv .max_tokens)/$(jn .hold)" "2000/$want"
req POST /v1/quote "$RK" "{\"model\":\"test/cheap\",\"reasoning\":\"high\",$MSGS}"
check "quote: reasoning not an object -> 400 invalid_type" is_err_p 400 invalid_type reasoning
req POST /v1/quote "$RK" "{\"model\":\"test/cheap\",\"reasoning\":{\"max_tokens\":0},$MSGS}"
check "quote: reasoning.max_tokens 0 -> 400 invalid_value" is_err_p 400 invalid_value reasoning.max_tokens
mock_clear
post /v1/chat/completions "$RK" "{\"model\":\"p/or\",\"max_tokens\":10,\"reasoning\":{\"max_tokens\":2000},$MSGS}"
expect_status "openrouter chat with max_tokens 10 and reasoning.max_tokens 2000" 200
check "  upstream: max_tokens=2000, the reasoning object unchanged" mlast \
	'.body.max_tokens == 2000 and .body.reasoning == {"max_tokens":2000}'

# [chat] allow_params: the operator allows parameters, each with its price.
# (and, for the rate limit check below, a default of 25000 tokens a minute per user)
cp_restart "db.name=$SCRATCH" "chat.default_max_tokens=$DEFMAX" \
	"chat.allow_params=plugins:add_usd=0.02, my_mult:times, route:free" "limits.defaults=tpm=25000"
user allow 1.00
WK=$U_KEY WID=$U_ID
read_balance "$WK"
w0=$BAL
QB="{\"model\":\"test/cheap\",\"max_tokens\":10,\"plugins\":[{\"id\":\"web\"}],$MSGS}"
req POST /v1/quote "$WK" "$QB"
base=$((${#QB} * 1000 + 10 * 2000 + 20000000))
want=$((base + (base * 500 + 9999) / 10000))
check "allow_params plugins:add_usd=0.02: the quote holds \$0.02 more: $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
mock_clear
post /v1/chat/completions "$WK" "{\"model\":\"test/cheap\",\"plugins\":[{\"id\":\"web\"}],$MSGS}"
expect_status "chat with an allowed plugins" 200
check "  plugins reached the provider unchanged" mlast '.body.plugins == [{"id":"web"}]'
base=$((12 * 1000 + 12 * 2000 + 20000000))
want=$((base + (base * 500 + 9999) / 10000))
read_balance "$WK"
check "  charged tokens + \$0.02 + 5%: $want nano (charged $(minus "$w0" "$BAL"))" eq "$(minus "$w0" "$BAL")" "$want"
QB="{\"model\":\"test/cheap\",\"max_tokens\":10,\"my_mult\":3,$MSGS}"
req POST /v1/quote "$WK" "$QB"
want=$(hold_cheap ${#QB} 10 3)
check "allow_params my_mult:times: my_mult 3 holds 3 completions: $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
req POST /v1/quote "$WK" "{\"model\":\"test/cheap\",\"my_mult\":0,$MSGS}"
check "  my_mult 0 -> 400 invalid_value" is_err_p 400 invalid_value my_mult
req POST /v1/quote "$WK" "{\"model\":\"test/cheap\",\"route\":\"fallback\",$MSGS}"
expect_status "allow_params route:free: route accepted" 200
post /v1/chat/completions "$WK" "{\"model\":\"test/cheap\",\"models\":[\"x/y\"],$MSGS}"
check "models, not allowed, is still refused" is_err_p 400 unsupported_parameter models

# Item 1 again: the token rate limit counts the cap held, the largest one.
user tpm 1.00
TK=$U_KEY
mock_clear
post /v1/chat/completions "$TK" "{\"model\":\"test/cheap\",\"max_completion_tokens\":1,\"max_tokens\":30000,$MSGS}"
expect_err "tpm 25000: max_completion_tokens 1 with max_tokens 30000 counts 30000" 429 rate_limit_exceeded
check "  x-ratelimit-limit-tokens: 25000" eq "$(hdr x-ratelimit-limit-tokens)" 25000
check "  nothing went upstream" eq "$(mock_requests)" 0
post /v1/chat/completions "$TK" "{\"model\":\"test/cheap\",\"max_completion_tokens\":1,\"max_tokens\":300,$MSGS}"
expect_status "tpm 25000: max_tokens 300 fits" 200

# =========================================================================================
# 3: inputs that are not text.
# =========================================================================================
note "=== 3: images, audio, files"
check "migrate seeded openai/gpt-4o's image factors (85 / 170) from pricing.json" \
	eq "$(sql "$SCRATCH" -e "SELECT image_base_tokens, image_tile_tokens FROM models WHERE id = 'openai/gpt-4o'" 2>/dev/null | tr '\t' ' ')" "85 170"
check "  and gpt-4o-mini's (2833 / 5667)" \
	eq "$(sql "$SCRATCH" -e "SELECT image_base_tokens, image_tile_tokens FROM models WHERE id = 'openai/gpt-4o-mini'" 2>/dev/null | tr '\t' ' ')" "2833 5667"
# test/cheap gets gpt-4o's factors; test/dear has none.
check "test/cheap gets image factors 85 / 170" \
	sql "$SCRATCH" -e "UPDATE models SET image_base_tokens = 85, image_tile_tokens = 170 WHERE id = 'test/cheap'"
user image 1.00
IK=$U_KEY IID=$U_ID
# img DETAIL: an image_url part (DETAIL "" for none).
img() {
	if [ -n "$1" ]; then
		echo "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/cat.png\",\"detail\":\"$1\"}}"
	else
		echo '{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}'
	fi
}
# parts PART...: the system message and a user message with a text part and PARTs.
parts() {
	local p='{"type":"text","text":"what is this"}' x
	for x in "$@"; do p="$p,$x"; done
	echo "\"messages\":[{\"role\":\"system\",\"content\":\"be terse\"},{\"role\":\"user\",\"content\":[$p]}]"
}
QB="{\"model\":\"test/cheap\",\"max_tokens\":10,$(parts)}"
req POST /v1/quote "$IK" "$QB"
want=$(hold_cheap ${#QB} 10)
check "quote: text parts only: the hold of the bytes ($want nano, got $(jv .hold))" eq "$(jn .hold)" "$want"
QB="{\"model\":\"test/cheap\",\"max_tokens\":10,$(parts "$(img low)")}"
req POST /v1/quote "$IK" "$QB"
want=$(hold_cheap $((${#QB} + 85)) 10)
check "quote: an image with detail low adds the base, 85 tokens: $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
check "  quote.image_tokens = 85" json_is '.image_tokens == 85'
for d in high auto ""; do
	QB="{\"model\":\"test/cheap\",\"max_tokens\":10,$(parts "$(img "$d")")}"
	req POST /v1/quote "$IK" "$QB"
	want=$(hold_cheap $((${#QB} + 85 + 8 * 170)) 10)
	check "quote: an image with detail '${d:-(none)}' holds base + 8 tiles, 1445 tokens: $want nano (got $(jv .hold))" \
		eq "$(jv .image_tokens)/$(jn .hold)" "1445/$want"
done
QB="{\"model\":\"test/cheap\",\"max_tokens\":10,$(parts "$(img low)" '{"type":"input_image","image_url":"https://example.com/x.png"}')}"
req POST /v1/quote "$IK" "$QB"
want=$(hold_cheap $((${#QB} + 85 + 1445)) 10)
check "quote: a low image and an input_image part: 85 + 1445 tokens: $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"

# The catalogue import carries the factors: both or neither; never over an operator's.
imp() {
	echo "{\"prices_as_of\":\"2026-11-01\",\"models\":[{\"id\":\"$1\",\"name\":\"$1\",\"context_length\":1000,\"input\":\"1.00\",\"output\":\"2.00\",$2\"routes\":[{\"provider\":\"mock\",\"upstream_model\":\"m\"}]}]}"
}
req POST /admin/models/import "$AK_ADMIN" "$(imp img/half '"image_base_tokens":50,')"
expect_err "import: image_base_tokens without image_tile_tokens" 400 invalid_pricing_file
check "  the message names the columns" json_is '.error.message | test("image_tile_tokens")'
req POST /admin/models/import "$AK_ADMIN" "$(imp img/neg '"image_base_tokens":-1,"image_tile_tokens":1,')"
expect_err "import: a negative image_base_tokens" 400 invalid_pricing_file
req POST /admin/models/import "$AK_ADMIN" "$(imp img/imp '"image_base_tokens":100,"image_tile_tokens":200,')"
expect_status "import img/imp with image factors 100 / 200" 200
QB="{\"model\":\"img/imp\",\"max_tokens\":10,$(parts "$(img high)")}"
req POST /v1/quote "$IK" "$QB"
want=$(hold_cheap $((${#QB} + 100 + 8 * 200)) 10)
check "quote on the imported model: 100 + 8 x 200 = 1700 image tokens, $want nano (got $(jv .hold))" \
	eq "$(jv .image_tokens)/$(jn .hold)" "1700/$want"
req POST /admin/models/import "$AK_ADMIN" "$(imp img/imp '"image_base_tokens":1,"image_tile_tokens":1,')"
req POST /v1/quote "$IK" "$QB"
check "  a second import does not overwrite them (still 1700)" json_is '.image_tokens == 1700'
check "  the refused imports added nothing" \
	eq "$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM models WHERE id IN ('img/half', 'img/neg')")" 0

read_balance "$IK"
i0=$BAL
mock_clear
BODY="{\"model\":\"test/cheap\",\"max_tokens\":10,$(parts "$(img high)")}"
post /v1/chat/completions "$IK" "$BODY"
expect_status "chat with an image on a model with image factors" 200
check "  the image part reached the provider" mlast '.body.n_messages == 2'
read_balance "$IK"
i1=$BAL
check "  charged what the provider reported (balance moved)" test "$i1" != "$i0"

# A model without image factors: 400 naming the part, nothing charged, nothing upstream.
mock_clear
for body in "{\"model\":\"test/dear\",$(parts "$(img low)")}" \
	"{\"model\":\"test/cheap\",$(parts '{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}')}" \
	"{\"model\":\"test/cheap\",$(parts '{"type":"file","file":{"file_id":"file-1"}}')}" \
	"{\"model\":\"test/cheap\",$(parts '{"type":"video_url","video_url":{"url":"https://example.com/v.mp4"}}')}"; do
	post /v1/chat/completions "$IK" "$body"
	check "$(jq -c '[.model, .messages[1].content[1].type]' <<<"$body"): 400 unsupported_content, param messages[1].content[1]" \
		sh -c "[ '$code' = 400 ] && jq -e '.error.code == \"unsupported_content\" and .error.param == \"messages[1].content[1]\" and (.error.message | contains(\"messages[1].content[1]\"))' '$T/body' >/dev/null"
done
req POST /v1/quote "$IK" "{\"model\":\"test/dear\",$(parts "$(img low)")}"
check "quote of an image on test/dear: 400 unsupported_content" is_err_p 400 unsupported_content "messages[1].content[1]"
check "refused content: nothing went upstream" eq "$(mock_requests)" 0
read_balance "$IK"
check "refused content: balance unchanged, nothing reserved" eq "$BAL/$RES" "$i1/0"
check "refused content: one usage record (the image chat's) only" eq "$(n_usage_pub "$IID")" 1

# An operator sets or changes a model's factors with PUT /admin/models/{id}: both or neither.
QB="{\"model\":\"test/dear\",\"max_tokens\":10,$(parts "$(img low)")}"
for bad in '{"image_base_tokens":85}' '{"image_base_tokens":-1,"image_tile_tokens":170}' \
	'{"image_base_tokens":85,"image_tile_tokens":1000001}' '{"image_base_tokens":"85","image_tile_tokens":170}'; do
	req PUT /admin/models/test/dear "$AK_ADMIN" "$bad"
	check "PUT /admin/models/test/dear $bad -> 400" is_err_any 400 invalid_value invalid_type
done
req POST /v1/quote "$IK" "$QB"
check "  the refused PUTs changed nothing: images on test/dear still refused" is_err_p 400 unsupported_content "messages[1].content[1]"
req PUT /admin/models/test/dear "$AK_ADMIN" '{"image_base_tokens":70,"image_tile_tokens":140}'
expect_status "PUT /admin/models/test/dear image factors 70 / 140" 200
check "  the audit log has the change" \
	eq "$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM audit_log WHERE action = 'model.image' AND target_id = 'test/dear'" 2>/dev/null)" 1
req POST /v1/quote "$IK" "$QB"
want=$((${#QB} * 10000 + 70 * 10000 + 10 * 30000))
want=$((want + (want * 500 + 9999) / 10000))
check "  a low image on test/dear now holds 70 tokens at \$10/M: $want nano (got $(jv .hold))" \
	eq "$(jv .image_tokens)/$(jn .hold)" "70/$want"
req PUT /admin/models/test/dear "$AK_ADMIN" '{"image_base_tokens":null,"image_tile_tokens":null}'
expect_status "PUT /admin/models/test/dear image factors null (none)" 200
req POST /v1/quote "$IK" "$QB"
check "  images on test/dear are refused again" is_err_p 400 unsupported_content "messages[1].content[1]"

finish
