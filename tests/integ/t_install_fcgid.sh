#!/usr/bin/env bash
# t_install_fcgid.sh: `make install` refreshes the binary copies mod_fcgid runs (issue 19).
# The Apache snippets run $(pkglibdir)/tollgate (a directory Apache may execute from, made by
# `make install-fcgid`, formerly by hand with install -m 0755); a reinstall used to refresh
# sbin/tollgate only and leave the old code running under Apache. Now install-exec-hook
# replaces every copy there (tollgate, tollgate-* for further mounts) by rename, so a running
# copy does not stop it (cp onto a running binary fails: ETXTBSY) and mod_fcgid sees a new
# file. Installs into a temp prefix with `make install-exec` (the binary only: no web assets,
# no tokenizer fetch).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

: "${TOLLGATE_BUILDDIR:=$TOLLGATE_SRCDIR}"
need_bin
need_cmd make cmp stat
[ -f "$TOLLGATE_BUILDDIR/Makefile" ] || skip "no Makefile in $TOLLGATE_BUILDDIR"
make_tmp

P=$T/prefix
LIB=$P/lib/tollgate
inst() { make -s -C "$TOLLGATE_BUILDDIR" "$@" prefix="$P" >>"$T/log/make.out" 2>&1; }

# A plain install makes no copy of its own: only where mod_fcgid is set up is there one.
inst install-exec || bail "make install-exec ($(tail -n 5 "$T/log/make.out"))"
check "make install-exec installs sbin/tollgate" cmp -s "$TOLLGATE_BIN" "$P/sbin/tollgate"
check "without install-fcgid there is no copy in lib/tollgate" test ! -e "$LIB/tollgate"

# make install-fcgid: the copy the snippets name.
rc=0
inst install-fcgid || rc=$?
check "make install-fcgid succeeds (exit $rc)" test "$rc" -eq 0
# Without it, the copy by hand as the snippet said, so that the refresh below is still tried.
[ "$rc" -eq 0 ] || install -D -m 0755 "$P/sbin/tollgate" "$LIB/tollgate"
check "make install-fcgid puts the binary in lib/tollgate/tollgate" cmp -s "$TOLLGATE_BIN" "$LIB/tollgate"
check "the copy is mode 0755 ($(stat -c %a "$LIB/tollgate" 2>/dev/null))" \
	test "$(stat -c %a "$LIB/tollgate" 2>/dev/null)" = 755

# An old build running under Apache: stand-ins that are running ELF binaries (sleep), the main
# copy and a second mount's; and a symlink that is not ours to replace.
cp "$(command -v sleep)" "$LIB/tollgate"
cp "$(command -v sleep)" "$LIB/tollgate-b"
ln -s /bin/true "$LIB/tollgate-link"
"$LIB/tollgate" 300 &
old_pid=$!
owned_pids+=("$old_pid")
"$LIB/tollgate-b" 300 &
owned_pids+=($!)
wait_for "the old copy runs" 5 test -e "/proc/$old_pid/exe"
ino_before=$(stat -c %i "$LIB/tollgate")

inst install-exec || bail "make install-exec over running copies ($(tail -n 5 "$T/log/make.out"))"
check "a reinstall refreshes lib/tollgate/tollgate" cmp -s "$TOLLGATE_BIN" "$LIB/tollgate"
check "a reinstall refreshes lib/tollgate/tollgate-b" cmp -s "$TOLLGATE_BIN" "$LIB/tollgate-b"
check "the copy is a new file (inode $ino_before -> $(stat -c %i "$LIB/tollgate"))" \
	test "$(stat -c %i "$LIB/tollgate")" != "$ino_before"
check "the refreshed copy is mode 0755" test "$(stat -c %a "$LIB/tollgate")" = 755
check "the old process runs on, undisturbed" kill -0 "$old_pid"
check "a symlink in lib/tollgate is left alone" test "$(readlink "$LIB/tollgate-link")" = /bin/true
check "no temporary file is left behind" \
	sh -c '[ -z "$(ls -A "$1" | grep -v -x -e tollgate -e tollgate-b -e tollgate-link)" ]' _ "$LIB"
check "make says what it refreshed" grep -q "lib/tollgate/tollgate-b" "$T/log/make.out"
"$LIB/tollgate" version >"$T/v.out" 2>&1 || true
check "the refreshed copy runs (version)" grep -q '^tollgate ' "$T/v.out"

# make uninstall takes the copy install-fcgid made, and leaves the admin's own copies.
kill "$old_pid" 2>/dev/null || true
inst uninstall || true
check "make uninstall removes lib/tollgate/tollgate" test ! -e "$LIB/tollgate"
check "make uninstall leaves lib/tollgate/tollgate-b" test -f "$LIB/tollgate-b"

# DESTDIR (a package build): nothing there, nothing made.
make -s -C "$TOLLGATE_BUILDDIR" install-exec DESTDIR="$T/stage" >>"$T/log/make.out" 2>&1 ||
	bail "make install-exec DESTDIR"
check "DESTDIR install-exec makes no fcgid copy" \
	sh -c '[ -z "$(find "$1" -path "*/lib/tollgate/*" 2>/dev/null)" ]' _ "$T/stage"

finish
