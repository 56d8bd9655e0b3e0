#!/usr/bin/env bash
# t_db_restart.sh: a MariaDB restart costs no request once the server answers again: every
# pooled connection of every worker is warmed, the private server (lib/privdb.sh) is stopped
# cleanly and started, then killed -9 and started; after each, every chat (streamed and not)
# gets 200, the first write on each pooled connection included (issue 15 item 3: each stale
# connection's first reserve got 503 "server has gone away").  The books still balance.
# Requests served while the write of their counts fails are counted in api_keys.requests_used
# once it succeeds again (item 7b: a failed flush dropped the counts).
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat privdb

test_begin --mock curl jq nginx mariadb
privdb_up
WORKERS=2
THREADS=4
# A long row cache: keys authenticate while the server is down, and after a restart the
# first statement a chat sends is its reserve, a write.
chat_stack dbrestart server.workers=$WORKERS server.threads=$THREADS chat.default_max_tokens=16 \
	cache.ttl=120
cp_admin dbrestart 1
AK=$ADMIN_KEY
export LC_ALL=C
new_user u 1000000000
# Each request holds its connection a while, so a burst takes every one of a pool.
BODY="{\"model\":\"test/cheap\",\"max_tokens\":16,$(msgs 'hi [mock:latency=300]')}"
SBODY="{\"model\":\"test/cheap\",\"max_tokens\":16,\"stream\":true,$(msgs 'hi [mock:latency=300]')}"
# More at once than the slots of all workers: every pooled connection is used.
N=$((WORKERS * THREADS * 2))

# codes TAG N: the status codes of a chat_burst, sorted and counted ("200x16").
codes() {
	local i
	for i in $(seq "$2"); do cat "$T/$1.$i.code"; done | sort | uniq -c | awk '{printf "%sx%s ", $2, $1}'
}
all_200() { [ "$(codes "$1" "$2")" = "200x$2 " ]; }

# round TAG: N chats at once, half of them streamed; true when all got 200.
round() {
	local p
	chat_burst "$1a" $((N / 2)) "$UKEY" "$BODY" &
	p=$!
	chat_burst "$1b" $((N / 2)) "$UKEY" "$SBODY" -N
	wait "$p" || true
	note "$1: $(codes "$1a" $((N / 2)))/ $(codes "$1b" $((N / 2)))"
	all_200 "$1a" $((N / 2)) && all_200 "$1b" $((N / 2))
}

for r in 1 2; do round "warm$r" || true; done
check "warm-up: every chat got 200" round warm3

# after TAG HOW: restarts the server (HOW: stop or kill), then three rounds right after it
# answers; every chat must get 200.  Prints how long after the restart they ended.
after() {
	local t0 bad=0 r
	"privdb_$2" || bail "private mariadbd $2"
	privdb_start || bail "private mariadbd starts after $2"
	t0=$(now_ms)
	for r in 1 2 3; do round "$1$r" || bad=$((bad + 1)); done
	note "$1: three rounds of $N chats ended $(($(now_ms) - t0)) ms after the server answered"
	check "$1: every chat after the server answered again got 200 ($bad bad rounds)" test "$bad" = 0
	# The first write of each connection: one at a time, each on whatever connection is free.
	for r in $(seq "$N"); do
		chat "$UKEY" "$BODY"
		[ "$code" = 200 ] || break
	done
	check "$1: $N chats one by one got 200" test "$code" = 200
}

after stop stop
after kill kill

# --- the server drops connections under live requests (KILL) ------------------------------
# Each chat's connection is idle between its reserve and its settle while the mock answers:
# killed then, the settle finds it gone and is sent again on a new one (DB_SF_RETRY).
kill_conns() {
	local id
	for id in $(mariadb --no-defaults --socket="$TOLLGATE_TEST_DB_SOCKET" -uroot -N -B -e \
		"SELECT id FROM information_schema.processlist WHERE user = 'tollgate' AND db = '$SCRATCH'"); do
		mariadb --no-defaults --socket="$TOLLGATE_TEST_DB_SOCKET" -uroot -e "KILL $id" 2>/dev/null || true
	done
}
resent0=$(grep -c 'sent again on a new one' "$LOG" || true)
bad=0
for r in 1 2 3; do
	round "killed$r" >/dev/null &
	p=$!
	sleep 0.4
	kill_conns
	wait "$p" || bad=$((bad + 1))
	note "killed$r: $(codes "killed${r}a" $((N / 2)))/ $(codes "killed${r}b" $((N / 2)))"
done
note "statements sent again after the kills: $(($(grep -c 'sent again on a new one' "$LOG" || true) - resent0))"
check "every chat whose connection was killed under it got 200 ($bad bad rounds)" test "$bad" = 0

# --- requests_used while its flush fails (item 7b) -----------------------------------------
# The counts of keys without a cap are kept per worker and written once a second.  A trigger
# makes exactly that write fail (an UPDATE that moves requests_used) while everything else
# works; the requests served meanwhile must be counted once the write succeeds again.
used() { q "SELECT COALESCE(SUM(requests_used), 0) FROM api_keys WHERE user_id = $UID_"; }
settled_used() {
	local a b
	a=$(used)
	sleep 1.5
	b=$(used)
	[ -n "$a" ] && [ "$a" = "$b" ]
}
wait_for "requests_used settles" 20 settled_used || true
u0=$(used)
sql "$SCRATCH" --delimiter=// -e "CREATE TRIGGER fail_touch BEFORE UPDATE ON api_keys FOR EACH ROW
	IF NEW.requests_used <> OLD.requests_used THEN
		SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'test: request counts refused';
	END IF //" || true
check "the trigger that fails the count's write is in place" \
	test "$(q "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '$SCRATCH' AND trigger_name = 'fail_touch'")" = 1
K=20
served=0
for r in $(seq "$K"); do
	req GET /v1/models "$UKEY"
	[ "$code" = 200 ] && served=$((served + 1))
	[ "$r" != 10 ] || sleep 2.5 # the workers' flushes run, and fail, meanwhile
done
sleep 2.5
check "the counts were refused meanwhile ($(used) = $u0)" test "$(used)" = "$u0"
check "$K requests served while the counts could not be written ($served)" test "$served" = "$K"
q "DROP TRIGGER fail_touch"
counted() { [ "$(used)" = $((u0 + served)) ]; }
wait_for "requests_used counts them" 20 counted || true
check "requests_used grew by the $served requests served meanwhile ($u0 -> $(used))" counted

no_open_now() { no_open "$UID_"; }
wait_for "no hold open" 30 no_open_now || true
check "the ledger balances after both restarts" ledger_check "$UPUB"
# What the workers said about the database (for whoever reads a failure).
grep -E 'database|connection' "$LOG" | sed 's/^[^]]*] //' | sort | uniq -c | sort -rn | head -n 12 |
	sed 's/^/# log: /'
finish
