# shellcheck shell=sh
# paths.sh: the programs and inputs that the benchmark scripts share
# (e2e.sh, profile-worker.sh source it), each one set from the
# environment if it is there. $0 is the script that sources this one, in
# tests/bench.
: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILDDIR:=$(pwd)}"
: "${GILLY:=$BUILDDIR/fcgi/gilly}"
: "${CEILING:=$BUILDDIR/tests/bench/ceiling}"
: "${LIGHTTPD:=$(command -v lighttpd 2>/dev/null || echo /usr/sbin/lighttpd)}"
: "${BENCH_REVIEW:=$SRCDIR/tests/fixtures/pod-create-gcr.json}"
: "${BENCH_TABLE:=$SRCDIR/conf/gilly.yaml}"
