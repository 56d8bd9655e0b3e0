#!/usr/bin/env bash
# t_man.sh: the man pages render without warnings, tollgate.conf(5) names exactly the keys of
# src/core/conf.c's table (and its generator refuses a key the sample does not document, or
# the other way round), and tollgate(8) has every command of src/proc/main.c and cli.c.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

need_cmd awk sed
make_tmp
S=$TOLLGATE_SRCDIR
B=${TOLLGATE_BUILDDIR:-$S}
CONF_C=$S/src/core/conf.c
MAN8=$B/doc/man/tollgate.8
MAN5=$B/doc/man/tollgate.conf.5

check "make built tollgate(8) and tollgate.conf(5)" test -s "$MAN8" -a -s "$MAN5"

# --- the pages render cleanly ---------------------------------------------------------------
renders_clean() {
	local page=$1 out
	if command -v mandoc >/dev/null; then
		out=$(mandoc -T lint -W warning "$page" 2>&1) || true
		[ -z "$out" ] || { echo "$out"; return 1; }
	fi
	if command -v groff >/dev/null; then
		out=$(groff -wall -man -z "$page" 2>&1) || return 1
		[ -z "$out" ] || { echo "$out"; return 1; }
	fi
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || return 1
		[ -z "$out" ] || { echo "$out"; return 1; }
	fi
	return 0
}
command -v mandoc >/dev/null || command -v groff >/dev/null || note "neither mandoc nor groff: rendering not checked"
for p in "$MAN8" "$MAN5"; do
	check "$(basename "$p") renders without warnings" renders_clean "$p"
done
check "tollgate.conf(5) has no unexpanded @...@" sh -c "! grep -n '@[a-zA-Z_]*@' '$MAN5' '$MAN8'"

# --- the keys: the table of conf.c against the page, each way --------------------------------
# Read here on their own (not with scripts/gen-man's parser): rows such as
#     { "server", "listen",   set_listen, CO(listen), 0, 0 },
sed -n '/^static const struct conf_key keys\[\] = {/,/^};/p' "$CONF_C" |
	sed -n 's/^[[:space:]]*{ *"\([a-z0-9_]*\)", *"\([a-z0-9_]*\)".*/\1 \2/p' | sort -u >"$T/table"
# The page: each ".SS [section]" and the "\fBkey\fR = ..." lines under it.
awk '/^\.SH /{inkeys = ($2 == "KEYS")} inkeys && /^\.SS \[/{s = $2; gsub(/[][]/, "", s)}
	inkeys && s != "" && /^\\fB[a-z0-9_]+\\fR = /{k = $0; sub(/^\\fB/, "", k); sub(/\\fR.*/, "", k); print s, k}' \
	"$MAN5" | sort -u >"$T/page"
n_table=$(wc -l <"$T/table")
note "$n_table keys in the table of src/core/conf.c, $(wc -l <"$T/page") in tollgate.conf(5)"
check "the table has keys (the parse found it)" test "$n_table" -gt 50
check "every key of the table is in tollgate.conf(5)" \
	sh -c "comm -23 '$T/table' '$T/page' | sed 's/^/missing from the page: /' | grep . && exit 1 || exit 0"
check "every key of tollgate.conf(5) is in the table" \
	sh -c "comm -13 '$T/table' '$T/page' | sed 's/^/not in the table: /' | grep . && exit 1 || exit 0"

# --- the generator refuses drift --------------------------------------------------------------
sed -e 's|@pkgdatadir@|/usr/share/tollgate|g; s|@sysconfdir@|/etc/tollgate|g' \
	"$S/etc/tollgate.conf.sample.in" >"$T/sample"
printf '.TH T 5\n.SH KEYS\n@KEYS@\n' >"$T/page.in"
check "gen-man accepts the tree as it is" "$S/scripts/gen-man" "$CONF_C" "$T/sample" "$T/page.in"
# A key added to the table without a line in the sample...
awk '{print} /^\t\{ "debug", *"routes",/{print "\t{ \"debug\",  \"new_knob\", set_bool, CO(debug_routes), 0, 0 },"}' \
	"$CONF_C" >"$T/conf_added.c"
check "(the altered table has the new key)" grep -q '"new_knob"' "$T/conf_added.c"
"$S/scripts/gen-man" "$T/conf_added.c" "$T/sample" "$T/page.in" >"$T/out" 2>"$T/err" && rc=0 || rc=$?
check "gen-man fails on a table key the sample does not document" test "$rc" -ne 0
check "  and names it" grep -q 'new_knob' "$T/err"
check "  and prints no page" test ! -s "$T/out"
# ...and a sample key the table does not have.
sed 's/^;routes = off$/&\n;old_knob = 1/' "$T/sample" >"$T/sample_added"
"$S/scripts/gen-man" "$CONF_C" "$T/sample_added" "$T/page.in" >/dev/null 2>"$T/err" && rc=0 || rc=$?
check "gen-man fails on a sample key the table does not have" test "$rc" -ne 0
check "  and names it" grep -q 'old_knob' "$T/err"
# The page make built is what the tree makes now (a stale page would go unnoticed).
sed -e 's|@sysconfdir@|/etc/tollgate|g; s|@pkgdatadir@|/usr/share/tollgate|g; s|@VERSION@|x|g' \
	"$S/doc/man/tollgate.conf.5.in" >"$T/real.in"
"$S/scripts/gen-man" "$CONF_C" "$T/sample" "$T/real.in" >"$T/fresh.5" || true
check "the built tollgate.conf(5) has the keys of the tree now" \
	cmp -s <(grep '^\\fB[a-z0-9_]*\\fR = ' "$MAN5" | sed 's/ = .*//') \
	<(grep '^\\fB[a-z0-9_]*\\fR = ' "$T/fresh.5" | sed 's/ = .*//')

# --- tollgate(8): every command ---------------------------------------------------------------
# The page's text without troff escapes, for plain greps.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/"//g' "$MAN8" >"$T/man8.txt"
sed -n '/^} commands\[\] = {/,/^};/p' "$S/src/proc/main.c" |
	sed -n 's/^[[:space:]]*{ *"\([a-z-]*\)",.*/\1/p' >"$T/commands"
check "main.c's command table was read" test "$(wc -l <"$T/commands")" -ge 8
while read -r cmd; do
	check "tollgate(8) describes the command $cmd" \
		grep -Eq "^\.(B|BI|BR) $cmd( |$)" "$T/man8.txt"
done <"$T/commands"
# Sub-commands, as cli.c's usage lines name them: "tollgate provider key-add ...".
grep -o 'tollgate [a-z]* [a-z][a-z-]*' "$S/src/proc/cli.c" | sed 's/^tollgate //' |
	grep -Ev '^(sweep|genkey) ' | sort -u >"$T/subcommands"
check "cli.c's sub-commands were read" test "$(wc -l <"$T/subcommands")" -ge 10
while read -r sub; do
	check "tollgate(8) describes $sub" grep -Eq "^\.(B|BI|BR) $sub( |$)" "$T/man8.txt"
done <"$T/subcommands"
for sig in HUP QUIT TERM USR1; do
	check "tollgate(8) lists SIG$sig" grep -Eq "^\.BR? $sig( |$)" "$T/man8.txt"
done

finish
