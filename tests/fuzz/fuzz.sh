#!/usr/bin/env bash
# tests/fuzz/fuzz.sh: builds the fuzz targets with clang's libFuzzer and runs them (make fuzz).
#
#   fuzz.sh build                 compile the library and every target (incremental)
#   fuzz.sh run NAME...           run each target FUZZ_SECONDS over a copy of its corpus
#   fuzz.sh NAME...               both (what `make fuzz` does)
#   fuzz.sh merge NAME...         add to the tree's corpus the inputs of the last run that reach
#                                 code its corpus does not (libFuzzer -merge=1); review, commit
#
# make passes: FUZZ_CC (clang), FUZZ_CPPFLAGS, FUZZ_LIBS, FUZZ_SOURCES (the library's sources,
# relative to the source dir), FUZZ_SECONDS (default 60). Everything lands in tests/fuzz/out
# under the current (build) directory: build/ the objects and binaries, NAME.corpus the working
# copy of the corpus (the tree's is never written), NAME.log the run, NAME-crash-* the finds.
# A crash exits 1 naming the input; replay it with the gcc build: tests/fuzz/fuzz_NAME FILE.

set -eu

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$PWD/tests/fuzz/out
bld=$out/build
cc=${FUZZ_CC:-clang}
secs=${FUZZ_SECONDS:-60}
# The library is instrumented for coverage; only the targets link libFuzzer's main.
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cflags="-g -O1 -pthread $san"

say() { echo "fuzz: $*"; }

# build: every library source compiled when it or any header is newer than its object.
build() {
	local s o objs=() newest
	mkdir -p "$bld"
	newest=$(find "$src/include" "$src/tests/fuzz" -name '*.h' -newer "$bld/.built" 2>/dev/null | head -n 1 || true)
	[ -f "$bld/.built" ] || newest=all
	for s in ${FUZZ_SOURCES:?make passes the library sources}; do
		o=$bld/obj/${s%.c}.o
		mkdir -p "$(dirname "$o")"
		if [ -n "$newest" ] || [ ! -f "$o" ] || [ "$src/$s" -nt "$o" ]; then
			# shellcheck disable=SC2086 # flag lists split on purpose
			nice "$cc" $cflags -fsanitize=fuzzer-no-link ${FUZZ_CPPFLAGS:-} -c "$src/$s" -o "$o"
		fi
		objs+=("$o")
	done
	rm -f "$bld/libtollgate-fuzz.a"
	ar rcs "$bld/libtollgate-fuzz.a" "${objs[@]}"
	for s in "$src"/tests/fuzz/fuzz_*.c; do
		o=$bld/$(basename "${s%.c}")
		# shellcheck disable=SC2086
		nice "$cc" $cflags -fsanitize=fuzzer ${FUZZ_CPPFLAGS:-} "$s" "$bld/libtollgate-fuzz.a" \
			${FUZZ_LIBS:-} -o "$o"
	done
	touch "$bld/.built"
	say "built $(ls "$bld"/fuzz_* | wc -l) targets in $bld"
}

# run NAME: FUZZ_SECONDS over a copy of corpus/NAME; prints the final stats line.
run() {
	local name=$1 bin=$bld/fuzz_$1 work=$out/$1.corpus log=$out/$1.log rc=0 dict=""
	# A dictionary of the format's tokens, where there is one (tests/fuzz/NAME.dict).
	[ ! -f "$src/tests/fuzz/$name.dict" ] || dict=$src/tests/fuzz/$name.dict
	[ -x "$bin" ] || { echo "fuzz: $bin not built" >&2; return 2; }
	[ -d "$src/tests/fuzz/corpus/$name" ] || { echo "fuzz: no corpus for $name" >&2; return 2; }
	mkdir -p "$work"
	cp -f "$src/tests/fuzz/corpus/$name"/* "$work/"
	say "$name: ${secs}s over $(ls "$work" | wc -l) inputs (log $log)"
	# Leaks are checked at exit by ASan; malloc limits keep a runaway input a finding.
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		nice "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$out/$name-" \
		${dict:+-dict="$dict"} "$work" >"$log" 2>&1 || rc=$?
	local cov execs
	cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE).*cov:' "$log" | tail -n 1 || true)
	execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
	say "$name: exit $rc, executions ${execs:-?}; last: ${cov:-none}"
	if [ "$rc" -ne 0 ]; then
		grep -E 'ERROR|invariant failed|Test unit written' "$log" | head -n 5 >&2 || true
		return 1
	fi
}

# merge NAME: the working corpus's inputs with new coverage, into tests/fuzz/corpus/NAME.
merge() {
	local name=$1 bin=$bld/fuzz_$1 before
	before=$(ls "$src/tests/fuzz/corpus/$name" | wc -l)
	"$bin" -merge=1 -max_len=65536 "$src/tests/fuzz/corpus/$name" "$out/$name.corpus" \
		>"$out/$name.merge.log" 2>&1
	say "$name: corpus $before -> $(ls "$src/tests/fuzz/corpus/$name" | wc -l) inputs"
}

case ${1:-} in
build) build ;;
merge)
	shift
	for n in "$@"; do merge "$n"; done
	;;
run)
	shift
	fails=0
	for n in "$@"; do run "$n" || fails=$((fails + 1)); done
	[ "$fails" -eq 0 ]
	;;
"" | -h | --help) echo "usage: fuzz.sh build | run NAME... | NAME..." >&2; exit 2 ;;
*)
	build
	fails=0
	for n in "$@"; do run "$n" || fails=$((fails + 1)); done
	[ "$fails" -eq 0 ]
	;;
esac
