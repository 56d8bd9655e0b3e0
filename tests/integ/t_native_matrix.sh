#!/usr/bin/env bash
# t_native_matrix.sh: the translation matrix of issue 16 over real sockets (curl, nginx,
# tollgate, the mock provider speaking three wires): each inbound API (chat completions,
# Anthropic messages, OpenAI responses, Gemini generateContent) x each upstream kind (openai:
# test/cheap, anthropic: test/claude, gemini: test/gemini), streamed and not, plain, with tools
# and with an image. Each answer is read in its own API's terms: content, tool call, finish
# reason, usage, the cost it announces; the balance must move by exactly the charge computed
# here from the mock's deterministic counts (tests/mock-provider/README.md) and the prices
# chat_catalog sets; the usage record names the API and the provider. Then the cache and
# thinking prices: an Anthropic answer with cache writes and reads charged at the three prices
# to the nano-dollar, a Gemini answer whose thoughts are charged as output. ledger_check last.
# shellcheck disable=SC2317 # helpers run through check
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
chat_stack matrix

# Prices in nano-USD per token (chat_catalog's USD per million / 1000): input, output, cache
# read, cache write. test/claude's cache-write price is set below (Anthropic's 1.25 x input).
declare -A P_IN=([test/cheap]=1000 [test/claude]=3000 [test/gemini]=300)
declare -A P_OUT=([test/cheap]=2000 [test/claude]=15000 [test/gemini]=2500)
declare -A P_CR=([test/cheap]=500 [test/claude]=300 [test/gemini]=75)
declare -A P_CW=([test/cheap]=1000 [test/claude]=3750 [test/gemini]=300)
declare -A PROV=([test/cheap]=mock [test/claude]=mock-anthropic [test/gemini]=mock-gemini)
MODELS="test/cheap test/claude test/gemini"
APIS="chat messages responses gemini"

# The cache-write price of test/claude (Anthropic's 1.25 x input) and image sizes for the
# three models (a model without them refuses image parts), set the way an admin would.
model_prices() {
	local m
	cp_admin matrix 1
	AK=$ADMIN_KEY
	for m in $MODELS; do
		req PUT "/admin/models/$m" "$AK" '{"image_base_tokens":85,"image_tile_tokens":170}'
		[ "$code" = 200 ] || bail "PUT /admin/models/$m image tokens ($code $(head -c 300 "$T/body"))"
	done
	req PUT /admin/models/test/claude "$AK" '{"cache_write_price":"3.75"}'
	check "PUT /admin/models/test/claude cache_write_price 3.75" [ "$code" = 200 ]
}
model_prices
# One buyer for everything: 5 USD covers every hold below many times over.
new_user buyer $((5 * ONE))
BAL_PREV=$(q "SELECT balance FROM accounts WHERE user_id = $UID_")

# --- requests -----------------------------------------------------------------------------

TOOL='{"name":"get_weather","description":"the weather in a city","parameters":{"type":"object","properties":{"location":{"type":"string"},"unit":{"type":"string"}},"required":["location"]}}'
# A 1x1 PNG.
PNG=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==

# body API MODEL STREAM(0|1) SHAPE(plain|tools|image) TEXT: the request body in API's terms:
# system "be terse", one user turn TEXT (with an image when SHAPE is image), the tool
# get_weather when SHAPE is tools.
body() {
	local api=$1 model=$2 stream=$3 shape=$4 text=$5
	jq -nc --arg api "$api" --arg model "$model" --argjson stream "$stream" --arg shape "$shape" \
		--arg text "$text" --argjson tool "$TOOL" --arg png "$PNG" '
	($stream == 1) as $s |
	if $api == "chat" then
		{model: $model,
		 messages: [{role: "system", content: "be terse"},
			{role: "user", content: (if $shape == "image" then
				[{type: "text", text: $text},
				 {type: "image_url", image_url: {url: ("data:image/png;base64," + $png)}}]
				else $text end)}]}
		+ (if $s then {stream: true, stream_options: {include_usage: true}} else {} end)
		+ (if $shape == "tools" then {tools: [{type: "function", function: $tool}]} else {} end)
	elif $api == "messages" then
		{model: $model, max_tokens: 1000, system: "be terse",
		 messages: [{role: "user", content: (if $shape == "image" then
			[{type: "image", source: {type: "base64", media_type: "image/png", data: $png}},
			 {type: "text", text: $text}]
			else $text end)}]}
		+ (if $s then {stream: true} else {} end)
		+ (if $shape == "tools" then {tools: [{name: $tool.name, description: $tool.description,
			input_schema: $tool.parameters}]} else {} end)
	elif $api == "responses" then
		{model: $model, instructions: "be terse",
		 input: (if $shape == "image" then
			[{role: "user", content: [{type: "input_text", text: $text},
				{type: "input_image", image_url: ("data:image/png;base64," + $png)}]}]
			else $text end)}
		+ (if $s then {stream: true} else {} end)
		+ (if $shape == "tools" then {tools: [{type: "function"} + $tool]} else {} end)
	else
		{systemInstruction: {parts: [{text: "be terse"}]},
		 contents: [{role: "user", parts: ([{text: $text}]
			+ (if $shape == "image" then [{inlineData: {mimeType: "image/png", data: $png}}]
			else [] end))}]}
		+ (if $shape == "tools" then {tools: [{functionDeclarations: [$tool]}]} else {} end)
	end'
}

# send API MODEL STREAM BODY: POST to the API's path with its own way of giving the key;
# $code, $T/body (the raw answer: JSON or SSE), $T/hdr, and $RID (x-request-id).
send() {
	local api=$1 model=$2 stream=$3 b=$4 path
	local -a h=(-H 'Content-Type: application/json')
	case $api in
	chat) path=/v1/chat/completions h+=(-H "Authorization: Bearer $UKEY") ;;
	messages) path=/v1/messages h+=(-H "x-api-key: $UKEY" -H 'anthropic-version: 2023-06-01') ;;
	responses) path=/v1/responses h+=(-H "Authorization: Bearer $UKEY") ;;
	gemini)
		h+=(-H "x-goog-api-key: $UKEY")
		if [ "$stream" = 1 ]; then
			path="/v1beta/models/$model:streamGenerateContent?alt=sse"
		else
			path="/v1beta/models/$model:generateContent"
		fi
		;;
	esac
	CURL_TIMEOUT=30 http POST "$URL$path" -N "${h[@]}" --data-binary "$b"
	RID=$(hdr x-request-id)
}

# The SSE events of $T/body as a JSON array of {event, data} (data parsed; [DONE] and
# comments left out), into $T/ev.json.
sse_events() {
	tr -d '\r' <"$T/body" | awk '
		/^event:/ { sub(/^event: ?/, ""); ev = $0; next }
		/^data:/ { sub(/^data: ?/, ""); if ($0 != "[DONE]") { printf "%s\t%s\n", ev, $0 }; ev = ""; next }
		/^$/ { ev = "" }' |
		jq -R -s -c '[split("\n")[] | select(length > 0) | split("\t") |
			{event: .[0], data: (.[1:] | join("\t") | fromjson)}]' >"$T/ev.json" 2>/dev/null ||
		echo '[]' >"$T/ev.json"
}

# digest API STREAM: the answer reduced to one JSON object in $T/dig.json, the same for every
# API: {text, tool, args (an object), finish (the API's own word), prompt (all input tokens),
# completion (all output tokens), cached, cache_write, reasoning, cost (the API's usage cost,
# a number), gw (gateway_usage)}.
digest() {
	local api=$1 stream=$2 src=$T/body
	if [ "$stream" = 1 ]; then
		sse_events
		src=$T/ev.json
	fi
	jq -c --arg api "$api" --argjson s "$stream" -f /dev/stdin "$src" >"$T/dig.json" 2>"$T/dig.err" <<'JQ' || echo '{}' >"$T/dig.json"
def args_of: if type == "string" then (try fromjson catch {bad: .}) else . end;
def n: . // 0;
if $api == "chat" and $s == 0 then
	{text: .choices[0].message.content, tool: .choices[0].message.tool_calls[0].function.name,
	 args: (.choices[0].message.tool_calls[0].function.arguments | args_of),
	 finish: .choices[0].finish_reason, prompt: .usage.prompt_tokens,
	 completion: .usage.completion_tokens, cached: (.usage.prompt_tokens_details.cached_tokens | n),
	 cache_write: (.usage.prompt_tokens_details.cache_write_tokens | n),
	 reasoning: (.usage.completion_tokens_details.reasoning_tokens | n),
	 cost: .usage.cost, gw: .gateway_usage}
elif $api == "chat" then
	[.[].data] as $d | ($d | map(select(.usage != null)) | last) as $u |
	{text: ($d | map(.choices[0].delta.content // empty) | join("")),
	 tool: ($d | map(.choices[0].delta.tool_calls[0].function.name // empty) | first),
	 args: ($d | map(.choices[0].delta.tool_calls[0].function.arguments // empty) | join("") |
		if . == "" then null else args_of end),
	 finish: ($d | map(.choices[0].finish_reason // empty) | last),
	 prompt: $u.usage.prompt_tokens, completion: $u.usage.completion_tokens,
	 cached: ($u.usage.prompt_tokens_details.cached_tokens | n),
	 cache_write: ($u.usage.prompt_tokens_details.cache_write_tokens | n),
	 reasoning: ($u.usage.completion_tokens_details.reasoning_tokens | n),
	 cost: $u.usage.cost, gw: $u.gateway_usage}
elif $api == "messages" and $s == 0 then
	{text: ([.content[] | select(.type == "text") | .text] | join("")),
	 tool: ([.content[] | select(.type == "tool_use") | .name] | first),
	 args: ([.content[] | select(.type == "tool_use") | .input] | first),
	 finish: .stop_reason,
	 prompt: ((.usage.input_tokens | n) + (.usage.cache_creation_input_tokens | n)
		+ (.usage.cache_read_input_tokens | n)),
	 completion: .usage.output_tokens, cached: (.usage.cache_read_input_tokens | n),
	 cache_write: (.usage.cache_creation_input_tokens | n),
	 reasoning: ([.content[] | select(.type == "thinking")] | length),
	 cost: .usage.cost, gw: .gateway_usage}
elif $api == "messages" then
	# Usage: for each field the last non-null value over message_start and message_delta.
	[.[] | select(.event == .data.type) | .data] as $d |
	([$d[] | select(.type == "message_start") | .message.usage]
	 + [$d[] | select(.type == "message_delta") | .usage]) as $us |
	(reduce $us[] as $x ({}; . + ($x | with_entries(select(.value != null))))) as $u |
	($d | map(select(.type == "message_delta")) | last) as $md |
	{text: ([$d[] | select(.type == "content_block_delta" and .delta.type == "text_delta") |
		.delta.text] | join("")),
	 tool: ([$d[] | select(.type == "content_block_start" and .content_block.type == "tool_use") |
		.content_block.name] | first),
	 args: ([$d[] | select(.type == "content_block_delta" and .delta.type == "input_json_delta") |
		.delta.partial_json] | join("") | if . == "" then null else args_of end),
	 finish: $md.delta.stop_reason,
	 prompt: (($u.input_tokens | n) + ($u.cache_creation_input_tokens | n)
		+ ($u.cache_read_input_tokens | n)),
	 completion: $u.output_tokens, cached: ($u.cache_read_input_tokens | n),
	 cache_write: ($u.cache_creation_input_tokens | n),
	 reasoning: ([$d[] | select(.type == "content_block_start" and
		.content_block.type == "thinking")] | length),
	 cost: $u.cost, gw: $md.gateway_usage}
elif $api == "responses" then
	(if $s == 0 then . else
		([.[] | select(.data.type == "response.completed" or .data.type == "response.incomplete")
		 | .data] | last) end) as $e |
	(if $s == 0 then $e else $e.response end) as $r |
	{text: ([$r.output[]? | select(.type == "message") | .content[]? |
		select(.type == "output_text") | .text] | join("")),
	 tool: ([$r.output[]? | select(.type == "function_call") | .name] | first),
	 args: ([$r.output[]? | select(.type == "function_call") | .arguments] | first |
		if . == null then null else args_of end),
	 finish: $r.status, prompt: $r.usage.input_tokens, completion: $r.usage.output_tokens,
	 cached: ($r.usage.input_tokens_details.cached_tokens | n), cache_write: 0,
	 reasoning: ($r.usage.output_tokens_details.reasoning_tokens | n),
	 cost: $r.usage.cost, gw: ($r.gateway_usage // $e.gateway_usage),
	 deltas: (if $s == 0 then null else
		([.[] | select(.data.type == "response.output_text.delta") | .data.delta] | join("")) end)}
else
	(if $s == 0 then [.] else [.[].data] end) as $d |
	($d | map(select(.usageMetadata != null)) | last) as $last |
	[$d[].candidates[0].content.parts[]?] as $parts |
	{text: ([$parts[] | select(.text != null and (.thought // false) == false) | .text] | join("")),
	 tool: ([$parts[] | select(.functionCall != null) | .functionCall.name] | first),
	 args: ([$parts[] | select(.functionCall != null) | .functionCall.args] | first),
	 finish: ($d | map(.candidates[0].finishReason // empty) | last),
	 prompt: $last.usageMetadata.promptTokenCount,
	 completion: (($last.usageMetadata.candidatesTokenCount | n)
		+ ($last.usageMetadata.thoughtsTokenCount | n)),
	 cached: ($last.usageMetadata.cachedContentTokenCount | n), cache_write: 0,
	 reasoning: ($last.usageMetadata.thoughtsTokenCount | n),
	 cost: $last.usageMetadata.cost,
	 gw: ($d | map(.gateway_usage // empty) | last)}
end
JQ
}


# framed API: the stream in $T/body is framed as API streams are: chat completions' data
# lines ending in [DONE]; Anthropic's named events from message_start to message_stop, no
# [DONE]; Responses' named events from response.created to response.completed; Gemini's bare
# data lines (no event names, no [DONE]).
framed() {
	case $1 in
	chat) grep -q '^data: \[DONE\]' "$T/body" && ! grep -q '^event:' "$T/body" ;;
	messages)
		jq -e '[.[] | select(.data.type != "ping")] | (.[0].event == "message_start" and
			.[-1].event == "message_stop" and all(.event == .data.type))' "$T/ev.json" >/dev/null &&
			! grep -q '^data: \[DONE\]' "$T/body"
		;;
	responses)
		jq -e '.[0].data.type == "response.created" and .[-1].data.type == "response.completed"
			and all(.event == .data.type)' "$T/ev.json" >/dev/null
		;;
	gemini) ! grep -q -e '^event:' -e '^data: \[DONE\]' "$T/body" && [ -s "$T/body" ] ;;
	esac
}
both() { [ "$1" = "$3" ] && [ "$2" = "$3" ]; }

# to_nano VALUE: a USD amount, decimal string or JSON number (maybe 1.5e-05), in nano-USD.
to_nano() {
	local v=$1
	if [[ $v =~ ^[0-9]+([.][0-9]{1,9})?$ ]]; then
		usd_nano "$v"
	elif [[ $v =~ ^[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?$ ]]; then
		usd_nano "$(LC_ALL=C printf '%.9f' "$v")"
	else
		echo "bad:$v"
	fi
}

# expect_charge MODEL PROMPT COMPLETION [CACHED] [CACHE_WRITE]: the exact charge in nano-USD:
# uncached prompt at input, reads at the cached price, writes at the cache-write price, every
# output token (thinking included) at output; 5% commission rounded up.
expect_charge() {
	local m=$1 p=$2 c=$3 cr=${4:-0} cw=${5:-0}
	with_commission $(((p - cr - cw) * P_IN[$m] + cr * P_CR[$m] + cw * P_CW[$m] + c * P_OUT[$m]))
}

# The finish word each API uses for a natural end and for a tool call.
declare -A FIN_STOP=([chat]=stop [messages]=end_turn [responses]=completed [gemini]=STOP)
declare -A FIN_TOOL=([chat]=tool_calls [messages]=tool_use [responses]=completed [gemini]=STOP)

n_case=0
# after_case: the balance and the last request's usage record in one statement.
after_case() {
	local row bal
	row=$(q "SELECT a.balance, CONCAT_WS(' ', r.api, r.provider_id, r.charge, r.prompt_tokens,
		r.completion_tokens, r.cached_tokens, r.cache_write_tokens, r.reasoning_tokens)
		FROM accounts a LEFT JOIN usage_records r ON r.request_id = '$RID'
		WHERE a.user_id = $UID_")
	bal=${row%%$'\t'*}
	REC=${row#*$'\t'}
	[ "$REC" != NULL ] || REC=""
	CHARGED=$(minus "$BAL_PREV" "$bal")
	BAL_PREV=$bal
}

# case_run TAG API MODEL STREAM SHAPE TEXT: one request, its answer digested ($T/dig.json);
# then, in one statement, the balance and the request's usage record: sets CHARGED (what left
# the balance since the previous case) and REC (api provider charge prompt completion cached
# cache_write reasoning; empty when there is no record). Few processes per case: the machine
# is shared, and every fork counts 80 times.
case_run() {
	local tag=$1 api=$2 model=$3 stream=$4 shape=$5 text=$6
	STREAM=$stream
	send "$api" "$model" "$stream" "$(body "$api" "$model" "$stream" "$shape" "$text")"
	n_case=$((n_case + 1))
	digest "$api" "$stream"
	after_case
	last_req="case $n_case, $tag: $api $model stream=$stream $shape -> $code"
}

# verify TAG API MODEL TEXT TOOL(0|1) PROMPT COMPLETION [CACHED CACHE_WRITE REASONING]: the
# checks every case makes; the expected charge is computed from the counts and prices.
verify() {
	local tag=$1 api=$2 model=$3 text=$4 tool=$5 p=$6 c=$7 cr=${8:-0} cw=${9:-0} rs=${10:-0}
	local want fin d_text d_tool d_args d_fin d_use d_cost d_gwcost d_gw
	want=$(expect_charge "$model" "$p" "$c" "$cr" "$cw")
	# The digest's fields in one jq run, split on US (a tab would merge empty fields).
	IFS=$'\x1f' read -r d_text d_tool d_args d_fin d_use d_cost d_gwcost d_gw < <(jq -r '
		[.text // "", .tool // "",
		 (.args | if type == "object" then to_entries | sort_by(.key) | from_entries else . end
		  | tojson), .finish // "",
		 ([.prompt, .cached, .cache_write, .completion] | tojson), (.cost // "" | tostring),
		 (.gw.cost // "" | tostring), ([.gw.model, .gw.provider] | tojson)] | join("\u001f")' \
		"$T/dig.json" 2>/dev/null || echo)
	check "$tag: 200" [ "$code" = 200 ]
	[ "$STREAM" = 0 ] || check "$tag: framed as $api streams are" framed "$api"
	if [ "$tool" = 1 ]; then
		fin=${FIN_TOOL[$api]}
		check "$tag: calls get_weather with the mock's arguments ($d_tool $d_args)" \
			[ "$d_tool $d_args" = 'get_weather {"location":"Paris","unit":"celsius"}' ]
	else
		fin=${FIN_STOP[$api]}
		check "$tag: content \"$text\" (\"$d_text\", tool '$d_tool')" \
			[ "$d_text|$d_tool" = "$text|" ]
	fi
	check "$tag: finish $fin ($d_fin)" [ "$d_fin" = "$fin" ]
	check "$tag: usage $p in ($cr read, $cw written) + $c out ($d_use)" \
		[ "$d_use" = "[$p,$cr,$cw,$c]" ]
	check "$tag: the balance moved by exactly $want nano ($CHARGED)" [ "$CHARGED" = "$want" ]
	check "$tag: usage cost and gateway_usage.cost are the charge ($d_cost, $d_gwcost)" \
		both "$(to_nano "$d_cost")" "$(to_nano "$d_gwcost")" "$want"
	check "$tag: gateway_usage names $model at ${PROV[$model]} ($d_gw)" \
		[ "$d_gw" = "[\"$model\",\"${PROV[$model]}\"]" ]
	check "$tag: usage record: api $api, provider ${PROV[$model]}, charge $want, tokens $p $c $cr $cw $rs ($REC)" \
		[ "$REC" = "$api ${PROV[$model]} $want $p $c $cr $cw $rs" ]
}

# --- the matrix ---------------------------------------------------------------------------

# The mock's counts (its README): system "be terse" + user "hello there" is 12 prompt tokens
# on every wire ([mock:...] blocks count as whitespace); the reply is words=N words "mock reply
# word1 ..."; the tool_call directive makes a call of the first tool, 4 output tokens with the
# arguments {"location":"Paris","unit":"celsius"}; an image part counts no tokens.
reply5="mock reply word1 word2 word3"
for api in $APIS; do
	for model in $MODELS; do
		for stream in 0 1; do
			tag="$api>$model"
			[ "$stream" = 0 ] || tag="$tag stream"
			case_run "$tag" "$api" "$model" "$stream" plain "hello there [mock:words=5]"
			verify "$tag" "$api" "$model" "$reply5" 0 12 5
			case_run "$tag tools" "$api" "$model" "$stream" tools "hello there [mock:tool_call]"
			verify "$tag tools" "$api" "$model" "" 1 12 4
			case_run "$tag image" "$api" "$model" "$stream" image "hello there [mock:words=5]"
			verify "$tag image" "$api" "$model" "$reply5" 0 12 5
		done
	done
done

# --- cache and thinking prices ------------------------------------------------------------

# Anthropic cache: with cache_write=W and cache_read=R the mock reports
# cache_read_input_tokens R, cache_creation_input_tokens W and input_tokens T - R - W, T being
# the whole prompt (its README), which is tollgate's prompt. 100 more words of user text make
# T = 4 + 2 + 4 + 102 = 112: 12 uncached, 60 read, 40 written.
words100=$(printf 'w%d ' $(seq 100))
ctext="hello there ${words100}[mock:words=5,cache_write=40,cache_read=60]"
for api in messages chat; do
	for stream in 0 1; do
		tag="cache: $api>test/claude"
		[ "$stream" = 0 ] || tag="$tag stream"
		case_run "$tag" "$api" test/claude "$stream" plain "$ctext"
		verify "$tag" "$api" test/claude "$reply5" 0 112 5 60 40
	done
done
note "cache: 12 uncached at 3000, 60 read at 300, 40 written at 3750, 5 out at 15000: $(expect_charge test/claude 112 5 60 40) nano"

# Gemini thoughts: reasoning=3 gives thoughtsTokenCount 3 beside candidatesTokenCount 5;
# tollgate bills 8 output tokens.
for api in gemini chat; do
	for stream in 0 1; do
		tag="thoughts: $api>test/gemini"
		[ "$stream" = 0 ] || tag="$tag stream"
		case_run "$tag" "$api" test/gemini "$stream" plain "hello there [mock:words=5,reasoning=3]"
		verify "$tag" "$api" test/gemini "$reply5" 0 12 8 0 0 3
	done
done

# --- the other ways to give the key ------------------------------------------------------

# Gemini clients may put the key in ?key= (streamed: ?alt=sse&key=) or a Bearer token, an
# Anthropic client a Bearer token (the official SDK's apiKey does): each is the same user,
# charged the same; a wrong key in each place is a 401 that charges nothing.
g_body=$(body gemini test/gemini 0 plain "hello there [mock:words=5]")
m_body=$(body messages test/claude 0 plain "hello there [mock:words=5]")
auth_case() {
	local tag=$1 api=$2 model=$3 stream=$4 path=$5 b=$6
	shift 6
	STREAM=$stream
	CURL_TIMEOUT=30 http POST "$URL$path" -N -H 'Content-Type: application/json' "$@" --data-binary "$b"
	RID=$(hdr x-request-id)
	n_case=$((n_case + 1))
	digest "$api" "$stream"
	after_case
	last_req="case $n_case, $tag -> $code"
	verify "$tag" "$api" "$model" "$reply5" 0 12 5
}
auth_case "auth: gemini ?key=" gemini test/gemini 0 \
	"/v1beta/models/test/gemini:generateContent?key=$UKEY" "$g_body"
auth_case "auth: gemini stream ?alt=sse&key=" gemini test/gemini 1 \
	"/v1beta/models/test/gemini:streamGenerateContent?alt=sse&key=$UKEY" "$g_body"
auth_case "auth: gemini Bearer" gemini test/gemini 0 \
	"/v1beta/models/test/gemini:generateContent" "$g_body" -H "Authorization: Bearer $UKEY"
auth_case "auth: messages Bearer" messages test/claude 0 /v1/messages "$m_body" \
	-H "Authorization: Bearer $UKEY" -H 'anthropic-version: 2023-06-01'
bad=${UKEY%?}x
[ "$bad" != "$UKEY" ] || bad=${UKEY%?}y
for how in "?key=$bad" "|x-goog-api-key: $bad" "|Authorization: Bearer $bad"; do
	case $how in
	\|*) http POST "$URL/v1beta/models/test/gemini:generateContent" -H "${how#|}" \
		-H 'Content-Type: application/json' --data-binary "$g_body" ;;
	*) http POST "$URL/v1beta/models/test/gemini:generateContent$how" \
		-H 'Content-Type: application/json' --data-binary "$g_body" ;;
	esac
	how=${how%%"$bad"} # the label, without the key
	check "auth: gemini with a wrong key in ${how#|} -> 401 in Google's shape" \
		jq_file "$T/body" '.error.code == 401 and (.error.status | type == "string")'
	[ "$code" = 401 ] || not_ok "auth: gemini wrong key status $code"
done
http POST "$URL/v1/messages" -H "x-api-key: $bad" -H 'anthropic-version: 2023-06-01' \
	-H 'Content-Type: application/json' --data-binary "$m_body"
check "auth: messages with a wrong x-api-key -> 401 authentication_error" \
	jq_file "$T/body" '.type == "error" and .error.type == "authentication_error"'
[ "$code" = 401 ] || not_ok "auth: messages wrong key status $code"
check "auth: the wrong keys charged nothing" \
	[ "$(q "SELECT balance FROM accounts WHERE user_id = $UID_")" = "$BAL_PREV" ]

# --- what only Anthropic reads -------------------------------------------------------------

# Claude Code marks its prompt with cache_control and sends thinking blocks back: an anthropic
# deployment gets them as they came (native), an OpenAI-format one none of them (OpenAI
# refuses members it does not know).
cbody='{"model":"MODEL","max_tokens":50,"system":[{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"hello there","cache_control":{"type":"ephemeral"}}]},{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"c2ln"},{"type":"text","text":"ok"}]},{"role":"user","content":"go on [mock:words=2]"}]}'
send messages test/claude 0 "${cbody/MODEL/test/claude}"
check "cache_control to test/claude: 200 ($code)" [ "$code" = 200 ]
mock_requests >/dev/null
check "cache_control to test/claude: the anthropic mock got both marks" \
	jq -e '.[-1] | .path == "/v1/messages" and .body.n_cache_control == 2' "$T/mockreq.json"
send messages test/cheap 0 "${cbody/MODEL/test/cheap}"
check "cache_control to test/cheap: 200 ($code)" [ "$code" = 200 ]
mock_requests >/dev/null
check "cache_control to test/cheap: the OpenAI-format mock got none" \
	jq -e '.[-1] | .path == "/v1/chat/completions" and (.body.n_cache_control == null)' "$T/mockreq.json"

# --- the books ----------------------------------------------------------------------------

check "the ledger reconciles, no hold left open" ledger_check "$UPUB"
n=$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_")
check "one usage record per request ($n)" [ "$n" = $((4 * 3 * 2 * 3 + 8 + 4 + 2)) ]

finish
