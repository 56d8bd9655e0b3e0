#!/usr/bin/env bash
# t_hosting_user.sh: shared hosting as a non-root user, as README "Shared hosting (no root)"
# says (issue 19): a user of its own (made here, removed at exit) installs tollgate under
# its $HOME, configures it through TOLLGATE_CONF with a password file only it can read,
# migrates the database "the host gave it", makes the first admin, runs its own Apache with
# etc/apache-fcgid-user.conf.example (that very file, its two Defines filled in) which
# spawns tollgate under /llm/, and a chat through it bills exactly. Afterwards nothing under
# the user's home belongs to anyone else (root included).
#
# The install is `make install install-fcgid prefix=$HOME/tollgate` of the tree already built
# (run as the user), not a fresh `./configure --prefix=$HOME/tollgate` build: a VPATH build
# is a full compile, several minutes on the CI machine. The binary's compiled-in defaults
# then still name /usr/local, which changes nothing here: TOLLGATE_CONF names the config,
# and the config names schema_dir and www_dir, as the README's section does.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock curl jq apache2 mariadb make
[ -f /usr/lib/apache2/modules/mod_fcgid.so ] || skip "mod_fcgid not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root to create the hosting user (useradd)"
need_cmd useradd userdel runuser
: "${TOLLGATE_BUILDDIR:=$TOLLGATE_SRCDIR}"
EXAMPLE=$TOLLGATE_SRCDIR/etc/apache-fcgid-user.conf.example

HU=tghost$$
H=$T/home/$HU
P=$H/tollgate
mkdir -p "$T/home"
chmod 0755 "$T/home"
useradd -m -d "$H" -s /bin/sh "$HU" >"$T/log/useradd.out" 2>&1 ||
	skip "cannot create user $HU ($(head -c 200 "$T/log/useradd.out"))"
SCRATCH=${TOLLGATE_TEST_DB_NAME}_hosting_$$

# At exit: Apache (and the tollgate processes it spawned) stopped, the database dropped, the
# user removed; then the usual cleanup (which removes $T and with it the home).
hosting_cleanup() {
	local rc=$? pid
	set +e
	[ ! -s "$H/apache/run/apache.pid" ] ||
		as_user apache2 -f "$H/apache/httpd.conf" -k stop >/dev/null 2>&1
	for pid in $(pgrep -u "$HU" 2>/dev/null); do
		wait_for "process $pid of $HU exits" 5 gone "$pid" >/dev/null || kill -KILL "$pid" 2>/dev/null
	done
	sql -e "DROP DATABASE IF EXISTS \`$SCRATCH\`" >/dev/null 2>&1
	userdel "$HU" >/dev/null 2>&1 || userdel -f "$HU" >/dev/null 2>&1
	(exit "$rc")
	cleanup
}
trap hosting_cleanup EXIT

# as_user CMD...: CMD as the hosting user, with a login's plain environment (no root's, no
# TOLLGATE_MASTER_KEY: its key is in a file) and TOLLGATE_CONF set as the README says.
as_user() {
	runuser -u "$HU" -- env -i HOME="$H" USER="$HU" LOGNAME="$HU" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		TOLLGATE_CONF="$P/etc/tollgate.conf" "$@"
}

# --- install, as the user ---------------------------------------------------------------------
# (make install installs the tokenizers make check fetched; were they not fetched, npm must
# fail at once offline rather than wait on a registry as this user.)
rc=0
as_user env npm_config_offline=true timeout 180 make -s -C "$TOLLGATE_BUILDDIR" install \
	install-fcgid prefix="$P" >"$T/log/install.out" 2>&1 || rc=$?
check "make install install-fcgid prefix=\$HOME/tollgate as $HU (exit $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || bail "install ($(tail -n 5 "$T/log/install.out"))"
check "the binary is in \$HOME/tollgate/sbin" test -x "$P/sbin/tollgate"
check "the copy Apache runs is in \$HOME/tollgate/lib/tollgate" cmp -s "$TOLLGATE_BIN" "$P/lib/tollgate/tollgate"
check "schema and www/ are under \$HOME/tollgate/share/tollgate" \
	test -f "$P/share/tollgate/schema/0001_init.sql" -a -f "$P/share/tollgate/www/app/index.html"

# --- the config, the password file and the master key, the user's own -------------------------
as_user mkdir -p "$P/etc" "$P/log" "$H/apache/run" "$H/apache/log" "$H/apache/fcgid"
as_user sh -c 'umask 077 && cat >"$1"' _ "$P/etc/db.password" <<<"$TOLLGATE_TEST_DB_PASSWORD"
as_user sh -c 'umask 077 && cat >"$1"' _ "$P/etc/master.key" <<<"$TOLLGATE_MASTER_KEY"
as_user sh -c 'umask 077 && cat >"$1"' _ "$P/etc/tollgate.conf" <<EOF
# $P/etc/tollgate.conf: tollgate of $HU, spawned by its own Apache under /llm/
[server]
mount_prefix = /llm
run_dir = $P/run
[http]
www_dir = $P/share/tollgate/www
[log]
file = $P/log/tollgate.log
[db]
socket = $TOLLGATE_TEST_DB_SOCKET
user = $TOLLGATE_TEST_DB_USER
password_file = $P/etc/db.password
name = $SCRATCH
schema_dir = $P/share/tollgate/schema
[security]
master_key_file = $P/etc/master.key
[auth]
register_per_hour = 0
EOF

rc=0
as_user "$P/sbin/tollgate" -t >"$T/log/t.out" 2>&1 || rc=$?
sed 's/^/#   /' "$T/log/t.out"
check "tollgate -t (config from TOLLGATE_CONF) passes as $HU (exit $rc)" test "$rc" -eq 0
check "-t notes that run_dir will be made at start" grep -q "$P/run does not exist; tollgate creates it" "$T/log/t.out"

# --- the database the host gave: migrate, first admin, the provider -----------------------------
sql -e "CREATE DATABASE \`$SCRATCH\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" ||
	bail "create database $SCRATCH"
as_user "$P/sbin/tollgate" migrate >"$T/log/migrate.out" 2>&1 ||
	bail "tollgate migrate as $HU ($(tail -n 3 "$T/log/migrate.out"))"
ok "tollgate migrate as $HU"
AK=$(as_user "$P/sbin/tollgate" admin create-user --email "host-$CP_U@example.com" --admin \
	--credits 10 2>"$T/log/admin.err") || true
key_format "$AK" || bail "admin create-user prints a key ($(head -c 300 "$T/log/admin.err"))"
mock_up
as_user "$P/sbin/tollgate" provider add mock openai-compatible "$MOCK_URL" "Mock" >/dev/null ||
	bail "provider add as $HU"
echo "$MOCK_KEY" | as_user "$P/sbin/tollgate" provider key-add mock main >/dev/null ||
	bail "provider key-add as $HU"
as_user "$P/sbin/tollgate" model add test/cheap mock mock-cheap 1.00 2.00 0.50 8192 >/dev/null ||
	bail "model add as $HU"

# --- the user's Apache: the example with its two Defines filled in --------------------------------
start_user_apache() {
	sed -e "s|^Define HOME_DIR .*|Define HOME_DIR $H|" \
		-e "s|^Define LISTEN .*|Define LISTEN 127.0.0.1:$PORT|" "$EXAMPLE" |
		as_user sh -c 'cat >"$1"' _ "$H/apache/httpd.conf"
	as_user apache2 -t -f "$H/apache/httpd.conf" >>"$T/log/apache.out" 2>&1 || return 1
	as_user apache2 -f "$H/apache/httpd.conf" -k start >>"$T/log/apache.out" 2>&1 || return 1
	own_daemon "$H/apache/run/apache.pid"
}
start_web start_user_apache || {
	cat "$H/apache/log/error.log" >"$T/log/apache-error.log" 2>/dev/null
	bail "apache2 -f \$HOME/apache/httpd.conf -k start as $HU"
}
URL=http://127.0.0.1:$PORT/llm
wait_http "$URL/health" || bail "the user's Apache answers"
apache_user=$(ps -o user= -p "$(cat "$H/apache/run/apache.pid")" | tr -d ' ')
check "Apache runs as $HU (got $apache_user)" test "$apache_user" = "$HU"

http GET "$URL/health"
check "/llm/health through mod_fcgid is 200 ok" \
	sh -c '[ "$1" = 200 ] && jq -e ".status == \"ok\" and .database.reachable" "$2" >/dev/null' _ "$code" "$T/body"
check "tollgate made its run_dir under \$HOME, 0700" test "$(stat -c '%U %a' "$P/run" 2>/dev/null)" = "$HU 700"
pid=$(pgrep -u "$HU" -f -- "$P/lib/tollgate/tollgate" | head -n 1)
check "the spawned tollgate runs as $HU" test -n "$pid"

# --- a chat bills exactly ---------------------------------------------------------------------
AUID=$(q "SELECT id FROM users WHERE email = 'host-$CP_U@example.com'")
# Funds are balance + reserved: with credit leases (the default) the balance moves by a whole
# lease and the charge reaches the database within a moment of the answer.
funds() { q "SELECT balance + reserved FROM accounts WHERE user_id = $AUID"; }
b0=$(funds)
http POST "$URL/v1/chat/completions" -H "Authorization: Bearer $AK" -H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","max_tokens":20,"messages":[{"role":"user","content":"hello there"}]}'
check "chat through /llm/ is 200 (Authorization passed)" status_is 200
check "usage 6 + 12 tokens" json_is '.usage.prompt_tokens == 6 and .usage.completion_tokens == 12'
c1=$(to_n "$(hdr x-tollgate-cost)")
check "x-tollgate-cost is the exact charge ($c1 = $(charge_cheap 6 12) nano)" test "$c1" = "$(charge_cheap 6 12)"
wait_for "the hold settled" 10 no_open "$AUID" || true
fell_by_charge() { [ "$((b0 - $(funds)))" = "$(charge_cheap 6 12)" ]; }
wait_for "the charge in the database" 10 fell_by_charge || true
b1=$(funds)
check "the funds fell by exactly the charge ($b0 -> $b1)" test "$((b0 - b1))" = "$(charge_cheap 6 12)"

# A stream through the prefix, then the books as the user sees them.
curl -sN -m 20 -o "$T/sse" "$URL/v1/chat/completions" -H "Authorization: Bearer $AK" \
	-H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","stream":true,"messages":[{"role":"user","content":"hello there"}]}' || true
check "a streamed chat ends with [DONE]" grep -q '^data: \[DONE\]' "$T/sse"
# Credit leases are on (the default): the user's lease stays open until lease_idle; what
# must be closed is every request's own hold.
no_open_exact() { [ "$(q "SELECT COUNT(*) FROM holds WHERE account_id = $1 AND state = 'open' AND lease = 0")" = 0 ]; }
wait_for "the stream's hold settled" 10 no_open_exact "$AUID" || true
check "no request's hold left open" no_open_exact "$AUID"
rc=0
as_user "$P/sbin/tollgate" ledger check >"$T/log/ledger.out" 2>&1 || rc=$?
check "tollgate ledger check as $HU is exact (exit $rc)" test "$rc" -eq 0
http GET "$URL/app/"
check "/llm/app/ is the installed dashboard" \
	sh -c '[ "$1" = 200 ] && cmp -s "$2" "$3"' _ "$code" "$T/body" "$P/share/tollgate/www/app/index.html"

# --- afterwards: everything under the home is the user's; Apache saw no permission error ---------
as_user apache2 -f "$H/apache/httpd.conf" -k stop >/dev/null 2>&1 || true
wait_for "the user's processes end" 15 sh -c '[ -z "$(pgrep -u "$1")" ]' _ "$HU" || true
find "$H" ! -user "$HU" >"$T/foreign" 2>&1 || true
sed 's/^/#   not the user'"'"'s: /' "$T/foreign" | head -n 20
check "no file under \$HOME belongs to another user (root included)" test ! -s "$T/foreign"
check "Apache's error log has no permission error" \
	sh -c '! grep -i "permission denied" "$1"' _ "$H/apache/log/error.log"
cp "$H/apache/log/error.log" "$T/log/apache-error.log" 2>/dev/null || true

finish
