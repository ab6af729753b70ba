#!/bin/sh
# Build the fuzz targets with clang (libFuzzer, ASan, UBSan) and run each one
# for a while: make fuzz runs this.
#
#	run.sh [-n] SRCDIR BUILDDIR [TARGET...]
#
# -n builds only. TARGET is imageref, config, admission or jsontape
# (default: all).
# The library is compiled here from SRCDIR/lib with the fuzzing flags, apart
# from the normal build (which may use gcc); BUILDDIR must be configured (it
# holds autoconfig.h). Everything goes under BUILDDIR/tests/fuzz/out: bin/,
# and work/TARGET/ with the units the run adds to the seed corpus, the log,
# and the input of any crash.
#
# Environment: FUZZ_CC (clang), FUZZ_SECONDS (60 per target), FUZZ_FLAGS
# (more libFuzzer options), JSONC_CFLAGS, JSONC_LIBS, YAML_CFLAGS, YAML_LIBS
# (else asked of pkg-config).
set -eu

build_only=0
if [ "${1:-}" = -n ]; then
	build_only=1
	shift
fi
if [ $# -lt 2 ]; then
	echo "usage: $0 [-n] SRCDIR BUILDDIR" \
	    "[imageref|config|admission|jsontape]..." >&2
	exit 2
fi
srcdir=$(cd "$1" && pwd)
builddir=$(cd "$2" && pwd)
shift 2
targets=${*:-imageref config admission jsontape}

cc=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-60}
pkg=${PKG_CONFIG:-pkg-config}
jsonc_cflags=${JSONC_CFLAGS-$($pkg --cflags json-c)}
jsonc_libs=${JSONC_LIBS-$($pkg --libs json-c)}
yaml_cflags=${YAML_CFLAGS-$($pkg --cflags yaml-0.1)}
yaml_libs=${YAML_LIBS-$($pkg --libs yaml-0.1)}

out=$builddir/tests/fuzz/out
fuzz=$srcdir/tests/fuzz

if [ ! -f "$builddir/autoconfig.h" ]; then
	echo "$0: no $builddir/autoconfig.h: run configure first" >&2
	exit 2
fi
if ! command -v "$cc" >/dev/null 2>&1; then
	echo "$0: $cc not found: install clang (or set FUZZ_CC)" >&2
	exit 2
fi

# libFuzzer needs every edge instrumented; -fno-sanitize-recover turns a
# UBSan finding into a crash that libFuzzer saves.
san="address,undefined"
cflags="-g -O1 -Wall -Wextra -fno-omit-frame-pointer -fno-sanitize-recover=all
	-I$builddir -I$srcdir/lib -I$fuzz -DSYSCONFDIR=\"/etc\"
	$jsonc_cflags $yaml_cflags"

mkdir -p "$out/bin" "$out/obj"
echo "fuzz: building with $cc in $out"
objs=
for c in "$srcdir"/lib/*.c; do
	o=$out/obj/$(basename "$c" .c).o
	# shellcheck disable=SC2086
	$cc $cflags -fsanitize=fuzzer-no-link,$san -c "$c" -o "$o"
	objs="$objs $o"
done
for t in $targets; do
	if [ ! -f "$fuzz/fuzz_$t.c" ]; then
		echo "$0: no fuzz target \"$t\"" >&2
		exit 2
	fi
	# shellcheck disable=SC2086
	$cc $cflags -fsanitize=fuzzer,$san "$fuzz/fuzz_$t.c" $objs \
	    $jsonc_libs $yaml_libs -o "$out/bin/fuzz_$t"
done
[ "$build_only" -eq 0 ] || exit 0

# The largest input worth trying: a long reference, a table, a Pod review.
max_len() {
	case $1 in
	imageref) echo 512 ;;
	config) echo 4096 ;;
	admission) echo 16384 ;;
	jsontape) echo 8192 ;;
	esac
}

# jsontape reads what admission reads: its words, and its reviews as seeds.
dict() {
	case $1 in
	jsontape) echo "$fuzz/admission.dict" ;;
	*) echo "$fuzz/$1.dict" ;;
	esac
}

status=0
for t in $targets; do
	work=$out/work/$t
	mkdir -p "$work/corpus"
	rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*
	# The admission handler logs every review: its stderr is discarded
	# (libFuzzer keeps its own output and the sanitizer reports).
	mask=0
	[ "$t" = admission ] && mask=2
	echo "fuzz: $t for ${seconds}s (log: $work/fuzz.log)"
	# New units go to the first directory, never to the seeds.
	set -- "$work/corpus" "$fuzz/corpus/$t"
	[ "$t" != jsontape ] || set -- "$@" "$fuzz/corpus/admission"
	set -- "$@" "$fuzz/regressions/$t"
	# shellcheck disable=SC2086 # FUZZ_FLAGS: options, split on purpose
	if "$out/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
	    -rss_limit_mb=2048 -max_len="$(max_len "$t")" \
	    -dict="$(dict "$t")" -close_fd_mask=$mask \
	    -artifact_prefix="$work/" -print_final_stats=1 ${FUZZ_FLAGS:-} \
	    "$@" \
	    >"$work/fuzz.log" 2>&1; then
		# The last status line (with -fork=N, "#N: cov: ..." lines).
		grep -E '^#[0-9]+(:|[[:space:]]+DONE)' "$work/fuzz.log" |
		    tail -n 1 | sed "s/^/fuzz: $t: /"
		grep -E '^stat::(number_of_executed_units|peak_rss)' \
		    "$work/fuzz.log" | sed "s/^/fuzz: $t: /"
		continue
	fi
	status=1
	echo "fuzz: $t FAILED; the end of its log:"
	tail -n 60 "$work/fuzz.log"
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* \
	    "$work"/oom-*; do
		[ -f "$a" ] || continue
		echo "fuzz: $t: input $a; run alone it says:"
		"$out/bin/fuzz_$t" "$a" 2>&1 | tail -n 40 || :
		echo "fuzz: minimize it with: $out/bin/fuzz_$t" \
		    "-minimize_crash=1 -runs=100000 -exact_artifact_path=MIN $a"
		echo "fuzz: then keep MIN as tests/fuzz/regressions/$t/NAME"
	done
done
exit $status
