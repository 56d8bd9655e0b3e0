#!/usr/bin/env bash
# t_chat_money.sh: money under concurrency (doc/api-data-plane.md, DESIGN invariants 1-3).
# One user whose balance covers exactly 10 holds sends 100 chat requests at once (then 100
# streams at once): exactly the admitted ones are answered 200, the rest 402; the balance
# never goes negative; reserved always equals the open holds; what left the balance equals,
# to the nano-USD, the costs the 200 answers announced, the usage records and the settled
# holds; refused requests never reach the upstream; the ledger reconciles.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
# 4 x 8 = 32 slots, so the requests really run at the same time.
chat_stack money server.workers=4 server.threads=8

N=100 # requests per phase
LATENCY=500 # ms the mock waits before answering: the admitted requests overlap
WORDS=1000 # reply length = max_tokens: the charge is close to the hold (see fund_nano below)

# --- helpers ------------------------------------------------------------------------------

# to_nano VALUE: a USD amount, decimal string or JSON number (maybe 1.5e-05), in nano-USD;
# prints "bad" when VALUE is neither.
to_nano() {
	local v=$1
	if [[ $v =~ ^[0-9]+([.][0-9]{1,9})?$ ]]; then
		usd_nano "$v"
	elif [[ $v =~ ^[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?$ ]]; then
		usd_nano "$(LC_ALL=C printf '%.9f' "$v")"
	else
		echo bad
	fi
}

# hdr_of FILE NAME: a header's value from a curl -D file (last response block).
hdr_of() {
	tr -d '\r' <"$1" | awk '/^HTTP\//{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' |
		sed -n "s/^$2: *//Ip" | tail -n 1
}

is_pos_int() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }

# fund_nano USER_PUBLIC_ID NANO: admin add_credits of exactly NANO nano-USD.
fund_nano() {
	req POST /admin/add_credits "$AK" "{\"user_id\":\"$1\",\"amount_usd\":\"$(usd_of "$2")\",\"note\":\"t_chat_money\"}"
	[ "$code" = 200 ]
}

# poller UID FILE: samples the account and its open holds in ONE statement (one consistent
# read view) until $T/poll.stop exists; one line "balance reserved open_count open_sum".
poller() {
	local uid=$1 out=$2
	(
		while [ ! -e "$T/poll.stop" ]; do
			q "SELECT a.balance, a.reserved,
				(SELECT COUNT(*) FROM holds h WHERE h.account_id = a.user_id AND h.state = 'open'),
				(SELECT COALESCE(SUM(h.amount), 0) FROM holds h
				 WHERE h.account_id = a.user_id AND h.state = 'open')
				FROM accounts a WHERE a.user_id = $uid" 2>/dev/null | tr '\t' ' ' >>"$out"
			sleep 0.02
		done
	) &
	poll_pid=$!
	owned_pids+=("$poll_pid")
}

# phase TAG KIND BODY: the whole scenario for one user; KIND is plain or stream.
phase() {
	local tag=$1 kind=$2 body=$3
	local ukey upub uid bytes H c F r exact i p n200 n402 nother sum_resp cost rid
	local bal res end_bal end_res cost_bad shape_bad
	local -a curl_extra=()
	note "=== phase $tag ($kind): $N parallel requests"

	cp_register "$tag" || bail "$tag: register the user ($code)"
	ukey=$REG_KEY upub=$REG_ID
	uid=$(uid_of "$upub")
	check "$tag: user's numeric id found" test -n "$uid"

	# The hold for exactly this body, as the gateway prices it.
	bytes=$(printf '%s' "$body" | wc -c | tr -d ' ')
	req POST /v1/quote "$ukey" "$body"
	expect_status "$tag: POST /v1/quote" 200
	H=$(to_nano "$(jv 'if (.hold|type) == "number" then (.hold|tostring) else .hold end')")
	check "$tag: quote.hold is a positive USD amount ($(jv .hold) -> $H nano)" is_pos_int "$H"
	check "$tag: quote.prompt_bound is the body size ($bytes bytes)" json_is ".prompt_bound == $bytes"
	check "$tag: quote.max_tokens is the request's max_tokens ($WORDS)" json_is ".max_tokens == $WORDS"
	check "$tag: quote with no credits: fits false" json_is '.fits == false'
	# Worst case priced per the contract: bytes x $1/M + max_out x $2/M, plus 5 %, rounded up
	# (allow a micro-USD of rounding either way in how the implementation rounds).
	local worst
	worst=$(charge_cheap "$bytes" "$WORDS")
	if ! is_pos_int "$H"; then
		note "$tag: no usable quote; going on with the contract's worst case $worst as the hold"
		H=$worst
	fi
	check "$tag: hold ($H) is the contract's worst case ($worst, +/- 1 micro-USD)" \
		test "$H" -ge $((worst - 1000)) -a "$H" -le $((worst + 2100))
	# The reply is "count to a thousand" (4 words + 4 per message) and WORDS words long.
	c=$(charge_cheap 8 "$WORDS")
	check "$tag: the hold ($H) covers the real charge ($c)" test "$H" -ge "$c"

	# Funds: 10 holds at once, plus r < H; with r < H - 10 (H - c) no 11th request can ever
	# fit, not even after the first 10 settled, so exactly 10 must succeed whatever the timing.
	r=$(((H - 10 * (H - c)) / 2))
	exact=1
	if [ "$r" -le 0 ]; then
		note "$tag: hold $H is far above the charge $c; cannot make exactly-10 deterministic"
		r=0
		exact=0
	fi
	F=$((10 * H + r))
	fund_nano "$upub" "$F" || bail "$tag: fund the user ($code: $(head -c 300 "$T/body"))"
	read -r bal res <<<"$(acct_row "$uid")"
	check "$tag: funded: balance $F nano, reserved 0 (got $bal $res)" test "$bal" = "$F" -a "$res" = 0
	req POST /v1/quote "$ukey" "$body"
	check "$tag: quote after funding: fits true" json_is '.fits == true'
	check "$tag: the quote held nothing" test "$(acct_row "$uid")" = "$F 0"

	curl -s -m 5 -X DELETE "http://127.0.0.1:$MOCK_PORT/_mock/requests" >/dev/null
	check "$tag: mock log cleared" test "$(mock_requests)" = 0

	rm -f "$T/poll.stop"
	: >"$T/$tag.poll"
	poller "$uid" "$T/$tag.poll"
	[ "$kind" = stream ] && curl_extra=(-N)
	chat_burst "$tag" "$N" "$ukey" "$body" "${curl_extra[@]}"
	# A stream may end at the client a moment before its hold is settled; give it time.
	wait_for "$tag: every hold settled" 15 no_open "$uid" || true
	# Let the poller see the settled state too.
	sleep 0.3
	touch "$T/poll.stop"
	wait "$poll_pid" || true

	# --- the answers ---
	n200=0 n402=0 nother=0 sum_resp=0 cost_bad=0 shape_bad=0
	: >"$T/$tag.rids"
	for i in $(seq "$N"); do
		p=$(cat "$T/$tag.$i.code" 2>/dev/null || echo 000)
		case $p in
		200)
			n200=$((n200 + 1))
			rid=$(hdr_of "$T/$tag.$i.hdr" x-request-id)
			echo "$rid" >>"$T/$tag.rids"
			if [ "$kind" = plain ]; then
				cost=$(to_nano "$(hdr_of "$T/$tag.$i.hdr" x-tollgate-cost)")
				# usage.cost (number) and gateway_usage.cost (string) say the same.
				if ! jq -e '(.usage.cost|type) == "number" and
					(.gateway_usage.cost|type) == "string" and .usage.prompt_tokens == 8 and
					.usage.completion_tokens == '"$WORDS"' and
					(.choices[0].message.content|split(" ")|length) == '"$WORDS" \
					"$T/$tag.$i.body" >/dev/null 2>&1 ||
					[ "$(to_nano "$(jq -r .gateway_usage.cost "$T/$tag.$i.body")")" != "$cost" ] ||
					[ "$(to_nano "$(jq -r '.usage.cost|tostring' "$T/$tag.$i.body")")" != "$cost" ]; then
					shape_bad=$((shape_bad + 1))
					note "$tag $i: 200 body lacks usage/gateway_usage or they disagree with x-tollgate-cost $cost: $(head -c 300 "$T/$tag.$i.body")"
				fi
			else
				# The usage chunk (asked for with include_usage) carries the cost.
				sed -n 's/^data: //p' "$T/$tag.$i.body" >"$T/$tag.$i.events"
				cost=$(to_nano "$(grep -v '^\[DONE\]$' "$T/$tag.$i.events" |
					jq -r 'select(.gateway_usage != null) | .gateway_usage.cost' 2>/dev/null | tail -n 1)")
				if [ "$(tail -n 1 "$T/$tag.$i.events")" != '[DONE]' ] ||
					[ "$(grep -v '^\[DONE\]$' "$T/$tag.$i.events" |
						jq -r '.choices[0].delta.content // empty' 2>/dev/null | tr -d '\n' |
						wc -w | tr -d ' ')" != "$WORDS" ] ||
					! grep -v '^\[DONE\]$' "$T/$tag.$i.events" | jq -se \
						'[.[] | select(.usage != null and .gateway_usage != null)] | length == 1 and
						 (.[0].usage.cost|type) == "number" and .[0].usage.completion_tokens == '"$WORDS" \
						>/dev/null 2>&1; then
					shape_bad=$((shape_bad + 1))
					note "$tag $i: stream lacks the $WORDS deltas, one usage chunk with cost, or [DONE]: $(tail -c 400 "$T/$tag.$i.body")"
				fi
			fi
			if [ "$cost" = bad ] || [ -z "$cost" ]; then
				cost_bad=$((cost_bad + 1))
				note "$tag $i: no readable cost"
				cost=0
			elif [ "$cost" != "$c" ]; then
				cost_bad=$((cost_bad + 1))
				note "$tag $i: cost $cost nano, expected $c"
			fi
			sum_resp=$((sum_resp + cost))
			;;
		402)
			n402=$((n402 + 1))
			if ! jq -e '(.error.message|type) == "string" and (.error.type|type) == "string" and
				.error.code == "insufficient_quota"' "$T/$tag.$i.body" >/dev/null 2>&1; then
				shape_bad=$((shape_bad + 1))
				note "$tag $i: 402 is not an insufficient_quota error: $(head -c 300 "$T/$tag.$i.body")"
			fi
			;;
		*)
			nother=$((nother + 1))
			note "$tag $i: status $p: $(head -c 300 "$T/$tag.$i.body" 2>/dev/null) $(cat "$T/$tag.$i.err" 2>/dev/null)"
			;;
		esac
	done
	note "$tag: $n200 x 200, $n402 x 402, $nother other"
	check "$tag: every answer is 200 or 402 ($nother other)" test "$nother" -eq 0
	if [ "$exact" = 1 ]; then
		check "$tag: exactly 10 requests admitted (got $n200)" test "$n200" -eq 10
	else
		check "$tag: at least 10 requests admitted (got $n200)" test "$n200" -ge 10
		check "$tag: no more admitted than the funds can pay ($n200 <= $((F / c)))" \
			test "$n200" -le $((F / c))
	fi
	check "$tag: the rest refused with 402 ($n402 = $N - $n200)" test "$n402" -eq $((N - n200))
	check "$tag: every 200 costs exactly $c nano ($cost_bad wrong)" test "$cost_bad" -eq 0
	check "$tag: 200 and 402 bodies have the contract's shape ($shape_bad bad)" test "$shape_bad" -eq 0
	check "$tag: distinct x-request-id on every 200" \
		test "$(sort -u "$T/$tag.rids" | grep -c .)" -eq "$n200"

	# --- the money ---
	read -r end_bal end_res <<<"$(acct_row "$uid")"
	note "$tag: balance $F -> $end_bal, reserved $end_res, announced costs $sum_resp"
	check "$tag: balance never negative (end $end_bal)" test "$end_bal" -ge 0
	check "$tag: nothing reserved at the end ($end_res)" test "$end_res" = 0
	check "$tag: start - end balance = sum of announced costs ($((F - end_bal)) = $sum_resp)" \
		test $((F - end_bal)) -eq "$sum_resp"
	check "$tag: charged exactly n200 x c ($sum_resp = $n200 x $c)" test "$sum_resp" -eq $((n200 * c))
	req GET /user/balance "$ukey"
	check "$tag: /user/balance available = end balance" \
		test "$(to_nano "$(jv .available)")" = "$end_bal"

	local urow
	urow=$(q "SELECT COUNT(*), COALESCE(SUM(charge), 0), COALESCE(SUM(status = 'ok'), 0),
		COALESCE(SUM(stream = $([ "$kind" = stream ] && echo 1 || echo 0)), 0),
		COALESCE(SUM(http_status = 200), 0), COALESCE(SUM(estimated), 0)
		FROM usage_records WHERE user_id = $uid AND status <> 'refused'" | tr '\t' ' ')
	note "$tag: usage records: count sum ok stream_flag http200 estimated = $urow"
	local ucount usum uok ustream uhttp uest
	read -r ucount usum uok ustream uhttp uest <<<"$urow"
	check "$tag: one usage record per 200, none for a 402 ($ucount = $n200)" test "$ucount" = "$n200"
	check "$tag: SUM(usage_records.charge) = charged ($usum = $sum_resp)" test "$usum" = "$sum_resp"
	check "$tag: every usage record is ok, http 200, $kind, measured" \
		test "$uok" = "$n200" -a "$ustream" = "$n200" -a "$uhttp" = "$n200" -a "$uest" = 0
	q "SELECT request_id FROM usage_records WHERE user_id = $uid AND status <> 'refused'" | sort >"$T/$tag.urids"
	check "$tag: usage records' request_ids = the 200s' x-request-ids" \
		cmp -s "$T/$tag.urids" <(sort "$T/$tag.rids")
	# issue 18: each 402 is a refused record of its own, charge 0, no hold.
	all_refused() {
		[ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $uid AND status = 'refused'
			AND http_status = 402 AND charge = 0 AND hold_id IS NULL")" = "$n402" ]
	}
	check "$tag: one refused record per 402 ($n402)" wait_for "the refused records" 15 all_refused
	check "$tag: each usage record's tokens and charge ($c nano, 8 + $WORDS tokens)" \
		test "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $uid AND charge = $c AND
			prompt_tokens = 8 AND completion_tokens = $WORDS AND
			base_cost + commission = charge")" = "$n200"

	local hrow hcount hsum hmin hmax hopen
	hrow=$(q "SELECT COUNT(*), COALESCE(SUM(charged), 0), COALESCE(MIN(amount), 0),
		COALESCE(MAX(amount), 0), COALESCE(SUM(state = 'open'), 0)
		FROM holds WHERE account_id = $uid" | tr '\t' ' ')
	read -r hcount hsum hmin hmax hopen <<<"$hrow"
	note "$tag: holds: count charged min max open = $hrow"
	check "$tag: one hold per admitted request ($hcount = $n200), none open ($hopen)" \
		test "$hcount" = "$n200" -a "$hopen" = 0
	check "$tag: every hold was the quoted $H nano ($hmin..$hmax)" test "$hmin" = "$H" -a "$hmax" = "$H"
	check "$tag: SUM(holds.charged) = charged ($hsum)" test "$hsum" = "$sum_resp"
	check "$tag: each usage record's charge is its hold's" \
		test "$(q "SELECT COUNT(*) FROM usage_records u JOIN holds h ON h.id = u.hold_id
			WHERE u.user_id = $uid AND h.charged = u.charge AND h.state = 'settled'")" = "$n200"

	# --- the upstream ---
	local nmock
	nmock=$(mock_requests)
	check "$tag: the mock got exactly the admitted requests ($nmock = $n200)" test "$nmock" = "$n200"
	check "$tag: the upstream got model mock-cheap and max_tokens $WORDS" jq_file "$T/mockreq.json" \
		'all(.[]; .path == "/v1/chat/completions" and .body.model == "mock-cheap" and
		 ((.body.max_tokens // .body.max_completion_tokens) == '"$WORDS"'))'
	if [ "$kind" = stream ]; then
		check "$tag: the upstream was asked for usage on every stream" jq_file "$T/mockreq.json" \
			'all(.[]; .body.stream == true and .body.stream_options.include_usage == true)'
	fi

	# --- what the poller saw while the requests ran ---
	local nsamp neg mism maxopen
	nsamp=$(grep -c . "$T/$tag.poll" || true)
	neg=$(awk '$1 < 0' "$T/$tag.poll" | grep -c . || true)
	mism=$(awk '$2 != $4' "$T/$tag.poll" | grep -c . || true)
	maxopen=$(awk 'BEGIN{m=0} $3 > m {m=$3} END{print m}' "$T/$tag.poll")
	note "$tag: $nsamp samples, at most $maxopen holds open at once"
	check "$tag: the poller took samples ($nsamp)" test "$nsamp" -gt 0
	check "$tag: balance never negative during the run ($neg bad samples)" test "$neg" -eq 0
	check "$tag: reserved = sum of the open holds in every sample ($mism bad samples)" test "$mism" -eq 0
	check "$tag: never more than 10 holds open ($maxopen)" test "$maxopen" -le 10
	# The poller spawns a client per sample, so on a busy machine it may sample only between
	# holds; the mock's arrival times are the second witness: a hold is open from before the
	# upstream call until after its answer, so requests that reached the mock less than
	# $LATENCY ms apart (it waits that long before answering) had their holds open together.
	local upopen
	upopen=$(jq '[.[].t_ms] | sort as $t | [range(0; length) as $i |
		[$t[] | select(. >= $t[$i] and . < $t[$i] + '"$LATENCY"')] | length] | max // 0' \
		"$T/mockreq.json")
	check "$tag: the admitted requests overlapped (up to $maxopen holds open at once in the samples, $upopen at the mock)" \
		test "$maxopen" -ge 2 -o "$upopen" -ge 2

	check "$tag: ledger reconciles, no open hold" ledger_check "$upub"
}

# --- run ----------------------------------------------------------------------------------
cp_admin money 1
AK=$ADMIN_KEY

MSG="count to a thousand [mock:latency=$LATENCY,words=$WORDS]"
phase mplain plain "{\"model\":\"test/cheap\",\"max_tokens\":$WORDS,\"messages\":[{\"role\":\"user\",\"content\":\"$MSG\"}]}"
phase mstream stream "{\"model\":\"test/cheap\",\"max_tokens\":$WORDS,\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"$MSG\"}]}"

finish
