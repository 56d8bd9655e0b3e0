#!/usr/bin/env bash
# t_conversations.sh: conversation logs (issue 18, seed 002's Conversation table).  Off by
# default (operator and user): nothing is stored; the lower of [logging] conversations and
# the user's conversation_log is in force; metadata keeps no bodies; full keeps the request's
# body and the answer's text exactly (a stream's assembled), sealed at rest (the prompt is in
# neither the column nor the journal file); logging adds no statement to the request path;
# GET/DELETE /user/conversations/{id} are the owner's only (another user gets 404); the
# retention purge (tollgate sweep) and the account's deletion remove them; a worker killed
# with -9 after its answer (its write-out held back by a table lock) loses no record.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
# One worker process: /_debug/stats then speaks for the process that served the chats; a
# long cache.ttl: the rows a chat reads are not read again while statements are counted.
BASE=(server.workers=1 server.threads=4 chat.default_max_tokens=32 cache.ttl=60)
chat_stack conv "${BASE[@]}"
cp_admin conv 1
AK=$ADMIN_KEY
export LC_ALL=C

n_conv() { q "SELECT COUNT(*) FROM conversations WHERE user_id = $1"; }
has_conv() { [ "$(n_conv "$1")" -ge "$2" ]; }
# conv_of REQUEST_ID: "level body_is_null" of its row ("" when none).
conv_of() { q "SELECT level, body IS NULL FROM conversations WHERE request_id = '$1'" | tr '\t' ' '; }
profile() { req PUT /user/profile "$1" "{\"conversation_log\":\"$2\"}"; }
stats() { curl -s -m 5 "$URL/_debug/stats" | jq -r '"\(.statements) \(.statements_background)"'; }

new_user a 1000000000
AKEY=$UKEY AUID=$UID_ APUB=$UPUB
new_user b 1000000000
BKEY=$UKEY BUID=$UID_

# --- off by default ----------------------------------------------------------------------
note "=== the operator's default is off"
req GET /user/profile "$AKEY"
check "a new user's conversation_log is off ($(jv .conversation_log))" test "$(jv .conversation_log)" = off
profile "$AKEY" bogus
check "conversation_log 'bogus' is 400 invalid_value" is_err 400 invalid_value
check "  naming conversation_log ($(jv .error.param))" test "$(jv .error.param)" = conversation_log
req GET /user/profile "$AKEY"
check "  and changes nothing ($(jv .conversation_log))" test "$(jv .conversation_log)" = off
profile "$AKEY" full
expect_status "user a opts in (full)" 200
check "  the profile says full ($(jv .conversation_log))" test "$(jv .conversation_log)" = full
chat "$AKEY" "{\"model\":\"test/cheap\",$(msgs "off by the operator")}"
expect_status "a chat with the operator's logging off" 200
sleep 1.5 # more than ten write-out ticks
check "the operator's off wins over the user's full: nothing stored ($(n_conv "$AUID"))" \
	test "$(n_conv "$AUID")" = 0
req GET /user/conversations "$AKEY"
expect_status "GET /user/conversations" 200
check "  lists nothing, says operator off, user full, effective off" \
	json_is '(.data | length) == 0 and .logging == {"operator":"off","user":"full","effective":"off"}'

# --- metadata: no bodies -------------------------------------------------------------------
note "=== [logging] conversations = metadata"
cp_restart "db.name=$SCRATCH" "${BASE[@]}" logging.conversations=metadata
chat "$AKEY" "{\"model\":\"test/cheap\",$(msgs "metadata only please")}"
expect_status "a chat at the metadata level" 200
RID_META=$(hdr x-request-id)
wait_for "its record is written" 5 has_conv "$AUID" 1 || true
check "one row, level metadata, no body ($(conv_of "$RID_META"))" test "$(conv_of "$RID_META")" = "metadata 1"
req GET "/user/conversations/$RID_META" "$AKEY"
expect_status "GET its detail" 200
check "  metadata: model, status, tokens, cost; request and answer null" \
	json_is '.model == "test/cheap" and .status == "ok" and .http_status == 200 and .usage.prompt_tokens > 0 and (.cost | tonumber) > 0 and .request == null and .answer == null and .level == "metadata"'

# --- full: bodies round-trip, sealed at rest ------------------------------------------------
note "=== [logging] conversations = full"
cp_restart "db.name=$SCRATCH" "${BASE[@]}" logging.conversations=full
SECRET="zebra-$CP_U-lighthouse"
BODY="{\"model\": \"test/cheap\",  \"messages\":[{\"role\":\"user\",\"content\":\"tell me about $SECRET \\\"quoted\\\" café \\u00e9\"}]}"
chat "$AKEY" "$BODY"
expect_status "a chat at the full level" 200
RID_FULL=$(hdr x-request-id)
ANSWER=$(jv '.choices[0].message.content')
wait_for "its record is written" 5 has_conv "$AUID" 2 || true
req GET "/user/conversations/$RID_FULL" "$AKEY"
expect_status "GET its detail" 200
check "the request body round-trips byte for byte" test "$(jv .request)" = "$BODY"
check "the answer's text round-trips ($(jv .answer | head -c 60))" test "$(jv .answer)" = "$ANSWER" -a -n "$ANSWER"
check "level full, not truncated" json_is '.level == "full" and .truncated == false and .stream == false'
check "the body column holds something ($(conv_of "$RID_FULL"))" test "$(conv_of "$RID_FULL")" = "full 0"
check "the body column does not hold the prompt text" \
	test "$(q "SELECT INSTR(body, '$SECRET') FROM conversations WHERE request_id = '$RID_FULL'")" = 0
check "nor its hex in the journal files" \
	sh -c "! grep -rqF -e '$SECRET' -e '$(printf '%s' "$SECRET" | od -An -tx1 | tr -d ' \n')' '$T/run/journal'"

# Sealed, not merely deflated: a body moved to another row (of the same user) no longer
# opens, because the seal is bound to its row.
chat "$AKEY" "{\"model\":\"test/cheap\",$(msgs "a row to graft onto")}"
expect_status "another chat at the full level" 200
RID_X=$(hdr x-request-id)
wait_for "its record is written" 5 has_conv "$AUID" 3 || true
q "UPDATE conversations SET body = (SELECT b FROM (SELECT body AS b FROM conversations
	WHERE request_id = '$RID_FULL') t) WHERE request_id = '$RID_X'"
req GET "/user/conversations/$RID_X" "$AKEY"
check "a body grafted from another row does not open: 500 conversation_unreadable" \
	is_err 500 conversation_unreadable
check "  and says nothing of either body" sh -c "! grep -qF '$SECRET' '$T/body'"
req DELETE "/user/conversations/$RID_X" "$AKEY"
expect_status "  the owner deletes it" 204

SBODY="{\"model\":\"test/cheap\",\"stream\":true,$(msgs "stream about $SECRET")}"
chat_sse "$AKEY" "$SBODY"
check "a streamed chat answers 200 ($code)" test "$code" = 200
RID_SSE=$(hdr x-request-id)
SANSWER=$(grep -v '^\[DONE\]$' "$T/events" | jq -rj '.choices[0].delta.content // empty' 2>/dev/null || true)
wait_for "its record is written" 5 has_conv "$AUID" 3 || true
req GET "/user/conversations/$RID_SSE" "$AKEY"
expect_status "GET the stream's detail" 200
check "the stream's request round-trips" test "$(jv .request)" = "$SBODY"
check "the stream's assembled text round-trips ($(echo "$SANSWER" | head -c 60))" \
	test "$(jv .answer)" = "$SANSWER" -a -n "$SANSWER"
check "  flagged as a stream" json_is '.stream == true'

# A user who has not opted in: the operator's full is a ceiling, not a default.
chat "$BKEY" "{\"model\":\"test/cheap\",$(msgs "b never opted in")}"
expect_status "user b chats (conversation_log off)" 200
sleep 1.5
check "nothing is kept for user b ($(n_conv "$BUID"))" test "$(n_conv "$BUID")" = 0

# --- no statement on the request path -------------------------------------------------------
note "=== statements per chat: logging full vs off"
# path_stmts KEY N: the request path's statements (all less the write-out's) over N chats.
path_stmts() {
	local s0 b0 s1 b1 i
	read -r s0 b0 <<<"$(stats)"
	for i in $(seq "$2"); do chat "$1" "{\"model\":\"test/cheap\",$(msgs "count $i")}" >/dev/null; done
	read -r s1 b1 <<<"$(stats)"
	echo $((s1 - s0 - b1 + b0))
}
path_stmts "$BKEY" 2 >/dev/null # warm both users' caches
path_stmts "$AKEY" 2 >/dev/null
off=$(path_stmts "$BKEY" 10)
full=$(path_stmts "$AKEY" 10)
note "10 chats: $off request-path statements with logging off, $full with it full"
check "logging full adds no request-path statement ($full <= $off + 2)" test "$full" -le $((off + 2))

# --- the owner's only -------------------------------------------------------------------------
note "=== another user"
req GET "/user/conversations/$RID_FULL" "$BKEY"
check "user b reading a's conversation: 404 not_found" is_err 404 not_found
req DELETE "/user/conversations/$RID_FULL" "$BKEY"
check "user b deleting it: 404" is_err 404 not_found
check "  and it is still there" test "$(conv_of "$RID_FULL")" = "full 0"
req GET /user/conversations "$BKEY"
check "user b's list is empty" json_is '(.data | length) == 0'
req GET "/user/conversations?limit=2" "$AKEY"
check "a's list: newest first, paged, metadata only" \
	json_is '(.data | length) == 2 and .next_cursor != null and (.data[0] | has("request") | not)'
cur=$(jv .next_cursor)
req GET "/user/conversations?limit=100&cursor=$cur" "$AKEY"
check "  the next page has the rest" json_is '(.data | length) >= 1'
req GET "/user/conversations?model=test/dear" "$AKEY"
check "  filtered by a model a never used: none" json_is '(.data | length) == 0'
req GET "/user/conversations?limit=0" "$AKEY"
check "limit=0 is 400 invalid_value" is_err 400 invalid_value
req GET "/user/conversations?from=yesterday" "$AKEY"
check "from=yesterday is 400 invalid_value" is_err 400 invalid_value
req DELETE "/user/conversations/$RID_META" "$AKEY"
expect_status "a deletes its metadata record" 204
check "  the row is gone" test -z "$(conv_of "$RID_META")"
req GET "/user/conversations/$RID_META" "$AKEY"
check "  and reads 404" is_err 404 not_found

# --- retention ---------------------------------------------------------------------------------
note "=== retention"
q "UPDATE conversations SET created_at = NOW(6) - INTERVAL 31 DAY WHERE request_id = '$RID_SSE'"
before=$(n_conv "$AUID")
out=$(tg_cli sweep 2>&1) || true
check "tollgate sweep purges the one past 30 days ($(echo "$out" | tr '\n' ' '))" \
	sh -c "echo '$out' | grep -qx 'purged 1 conversation(s)'"
check "  it is gone, the others stay ($before -> $(n_conv "$AUID"))" \
	test -z "$(conv_of "$RID_SSE")" -a "$(n_conv "$AUID")" = $((before - 1))

# --- a crash after the answer loses nothing ---------------------------------------------------
note "=== kill -9 after the answer, the write-out held back"
cp_restart "db.name=$SCRATCH" server.workers=2 server.threads=4 chat.default_max_tokens=32 \
	logging.conversations=full
# A session holds the table: the write-out (usage, money and conversation in one
# transaction) waits, so the record is only in the journal file when the worker dies.
sql "$SCRATCH" -e "LOCK TABLES conversations WRITE; SELECT SLEEP(6); UNLOCK TABLES" >/dev/null 2>&1 &
owned_pids+=($!)
locked() { [ "$(q "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(6)%'")" = 1 ]; }
wait_for "the table lock is held" 10 locked || true
chat "$AKEY" "{\"model\":\"test/cheap\",$(msgs "before the crash $SECRET")}"
expect_status "a chat answered while the table is locked" 200
RID_KILL=$(hdr x-request-id)
RID_HEX=$(printf '%s' "$RID_KILL" | od -An -tx1 | tr -d ' \n')
check "its record waits in a journal file (a line 'c s<hex of its id> ...')" \
	sh -c "cat '$T/run/journal/'*.j | grep -q '^c s$RID_HEX '"
for v in $(children "$tg_pid"); do kill -KILL "$v" 2>/dev/null || true; done
written() { [ -n "$(conv_of "$RID_KILL")" ]; }
wait_for "the dead worker's journal is written out by its successor" 20 written || true
check "the record of the answered request is there ($(conv_of "$RID_KILL"))" test "$(conv_of "$RID_KILL")" = "full 0"
check "  once, with its usage record" \
	test "$(q "SELECT (SELECT COUNT(*) FROM conversations WHERE request_id = '$RID_KILL'), (SELECT COUNT(*) FROM usage_records WHERE request_id = '$RID_KILL')" | tr '\t' ' ')" = "1 1"
req GET "/user/conversations/$RID_KILL" "$AKEY"
check "  and it opens" json_is '(.request | contains("before the crash")) and (.answer | length) > 0'

# --- the account's deletion ----------------------------------------------------------------------
note "=== DELETE /user/account"
check "a has conversations before ($(n_conv "$AUID"))" test "$(n_conv "$AUID")" -gt 0
req DELETE /user/account "$AKEY" "{\"password\":\"$CP_PW\"}"
expect_status "a deletes the account" 204
check "every conversation of a is gone ($(n_conv "$AUID"))" test "$(n_conv "$AUID")" = 0
check "the ledger holds" ledger_check "$APUB"
finish
