# cp.sh: helpers for the control-plane integration tests (lib/init.sh cp): the database
# client, requests, error checks, accounts and keys.
#
# The contract these tests check is doc/api-control-plane.md. All t_* scripts share one test
# database and may run in parallel, so every email/username made here carries $CP_U (pid plus
# random digits), and the tests that need global state (the audit chain, the per-IP login
# failure counter) run against a scratch database of their own (cp_scratch_db).

# Unique per script run.
CP_U="$$$RANDOM$RANDOM"
# A password that passes the policy and contains no generated local part or username.
CP_PW="Qz7-tollgate-Vk9m!"

# --- stack --------------------------------------------------------------------------------

# cp_restart [section.key=value ...]: stops the tollgate master, rewrites $CONF with these
# settings and starts a new master on the same socket (nginx stays).
cp_restart() {
	kill -TERM "$tg_pid" 2>/dev/null || true
	wait_for "master $tg_pid exit" 15 gone "$tg_pid" || bail "tollgate stops for a restart"
	rm -f "$SOCK"
	tg_conf "$CONF" "$@"
	start_tollgate tollgate "$CONF" || bail "tollgate restarts"
	wait_for "$URL/health" 15 health_ok || bail "$URL/health answers 200 after restart"
}

# --- database -----------------------------------------------------------------------------

# sql [DB] ARGS...: the mariadb client with the test credentials, tab-separated, no headers.
sql() {
	mariadb --no-defaults --socket="$TOLLGATE_TEST_DB_SOCKET" -u"$TOLLGATE_TEST_DB_USER" \
		-p"$TOLLGATE_TEST_DB_PASSWORD" -N -B "$@"
}

# cp_scratch_db SUFFIX: creates ${TOLLGATE_TEST_DB_NAME}_SUFFIX_$$, migrates it (with a config
# at $T/migrate.conf), drops it at exit; sets $SCRATCH.
cp_scratch_db() {
	SCRATCH=${TOLLGATE_TEST_DB_NAME}_$1_$$
	sql -e "CREATE DATABASE \`$SCRATCH\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" ||
		bail "create scratch database $SCRATCH"
	# cleanup takes the exit status from $?: restore it after the DROP.
	trap 'cp_rc=$?; set +e; sql -e "DROP DATABASE IF EXISTS \`$SCRATCH\`" >/dev/null 2>&1; (exit $cp_rc); cleanup' EXIT
	tg_conf "$T/migrate.conf" "db.name=$SCRATCH" "log.file="
	"$TOLLGATE_BIN" -c "$T/migrate.conf" migrate >"$T/log/migrate.out" 2>&1 ||
		bail "tollgate migrate on $SCRATCH ($(tail -n 3 "$T/log/migrate.out"))"
}

# --- requests -----------------------------------------------------------------------------

# req METHOD PATH [CRED [JSON]]: a request to $URL/PATH; CRED (may be empty) goes in
# Authorization: Bearer; JSON, when given and not empty, is the body. Extra curl arguments
# after JSON. Sets $code, $T/body, $T/hdr like http.
req() {
	local m=$1 p=$2 cred=${3:-}
	local -a a=()
	[ -z "$cred" ] || a+=(-H "Authorization: Bearer $cred")
	if [ $# -ge 4 ]; then
		[ -z "$4" ] || a+=(-H 'Content-Type: application/json' --data-binary "$4")
		shift 4
	else
		shift $(($# < 3 ? $# : 3))
	fi
	http "$m" "$URL$p" "${a[@]}" "$@"
}

# jv EXPR: jq -r EXPR on the last body (empty on error).
jv() { jq -r "$1" "$T/body" 2>/dev/null || true; }

# is_err STATUS CODE: the last response is STATUS with the OpenAI error shape and error.code CODE.
is_err() {
	# One jq for the shape and the code (checks call this hundreds of times).
	[ "$code" = "$1" ] && json_is "($ERROR_SHAPE) and .error.code == \"$2\""
}

# is_err_any STATUS CODE...: like is_err, with error.code any of the CODEs.
is_err_any() {
	local st=$1 c
	shift
	[ "$code" = "$st" ] && error_shape || return 1
	for c in "$@"; do
		json_is ".error.code == \"$c\"" && return 0
	done
	return 1
}

# expect_err DESC STATUS CODE: check wrapper for is_err.
expect_err() {
	check "$1 -> $2 $3" is_err "$2" "$3"
}

# is_session_401: a revoked/unknown session token. The contract says only "a 401"; the code
# may be invalid_session or invalid_api_key.
is_session_401() {
	[ "$code" = 401 ] && error_shape &&
		json_is '.error.code == "invalid_session" or .error.code == "invalid_api_key"'
}

# expect_status DESC STATUS
expect_status() {
	check "$1 -> $2" status_is "$2"
}

# no_store: Cache-Control of the last response says no-store.
no_store() { hdr cache-control | grep -qi 'no-store'; }

# key_format KEY: gw_<env>_ + 32 + 6 base62 (46 chars for live).
key_format() { echo "$1" | grep -Eqx 'gw_(live|test|staging|dev)_[A-Za-z0-9]{38}'; }
# masked_of KEY: the masked form gw_live_Ab3x...wxyz of a full key.
masked_of() {
	local k=$1 env rest
	env=$(echo "$k" | cut -d_ -f2)
	rest=${k#gw_"${env}"_}
	echo "gw_${env}_${rest:0:4}...${k: -4}"
}

# flip_last KEY: the key with its last character changed (breaks the checksum).
flip_last() {
	local k=$1 c=${1: -1} n
	if [ "$c" = a ]; then n=b; else n=a; fi
	echo "${k%?}$n"
}

# --- accounts -----------------------------------------------------------------------------

# cp_register TAG [EXTRA_JSON_FIELDS]: registers tag-$CP_U@example.com (username tag_$CP_U);
# on 201 sets REG_KEY, REG_ID, REG_KEY_ID, REG_EMAIL and copies the body to $T/reg-TAG.json.
cp_register() {
	local tag=$1 extra=${2:-}
	REG_EMAIL="$tag-$CP_U@example.com"
	req POST /auth/register "" "{\"email\":\"$REG_EMAIL\",\"password\":\"$CP_PW\",\"username\":\"${tag}_$CP_U\"$extra}"
	REG_KEY=$(jv '.api_key // empty')
	REG_ID=$(jv '.user.id // empty')
	REG_KEY_ID=$(jv '.key.id // empty')
	cp "$T/body" "$T/reg-$tag.json"
	[ "$code" = 201 ] && [ -n "$REG_KEY" ]
}

# cp_login EMAIL [PASSWORD]: POST /auth/login; sets TOKEN on 200.
cp_login() {
	req POST /auth/login "" "{\"email\":\"$1\",\"password\":\"${2:-$CP_PW}\"}"
	TOKEN=$(jv '.token // empty')
}

# cp_admin TAG [CREDITS]: an admin user made with the CLI; sets ADMIN_KEY, ADMIN_EMAIL.
cp_admin() {
	ADMIN_EMAIL="$1-$CP_U@example.com"
	ADMIN_KEY=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "$ADMIN_EMAIL" --admin \
		--credits "${2:-100}" 2>"$T/log/admin-create.err") || true
	key_format "$ADMIN_KEY" || bail "tollgate admin create-user prints a key (got '$ADMIN_KEY'; $(head -c 300 "$T/log/admin-create.err"))"
}

# cp_new_key CRED JSON [CURL ARGS...]: POST /user/api-keys; sets NEW_KEY and NEW_KEY_ID on 201.
cp_new_key() {
	req POST /user/api-keys "$1" "$2" "${@:3}"
	NEW_KEY=$(jv '.api_key // empty')
	NEW_KEY_ID=$(jv '.key.id // empty')
	[ "$code" = 201 ] && [ -n "$NEW_KEY" ]
}

# status_of CRED [PATH]: prints the status of a GET (default /user/balance) with CRED.
status_of() {
	curl -s -o /dev/null -m 10 -w '%{http_code}' -H "Authorization: Bearer $1" "$URL${2:-/user/balance}"
}

# iso_in SECONDS: an ISO 8601 UTC time SECONDS from now.
iso_in() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }
