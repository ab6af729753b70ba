# shellcheck shell=sh
# common.sh: what the benchmark scripts share (e2e.sh, profile-worker.sh
# and syscalls.sh source it): the programs and inputs, each one set from the environment
# if it is there, and the stopping of a server. $0 is the script that
# sources this one, in tests/bench.
: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${BUILDDIR:=$(pwd)}"
: "${GILLY:=$BUILDDIR/fcgi/gilly}"
: "${CEILING:=$BUILDDIR/tests/bench/ceiling}"
: "${LIGHTTPD:=$(command -v lighttpd 2>/dev/null || echo /usr/sbin/lighttpd)}"
: "${BENCH_REVIEW:=$SRCDIR/tests/fixtures/pod-create-gcr.json}"
: "${BENCH_TABLE:=$SRCDIR/conf/gilly.yaml}"

# term_wait PID TENTHS: SIGTERM to PID, up to TENTHS tenths of a second
# for it to end, then SIGKILL; reaped when it is this shell's child.
term_wait() {
	kill -TERM "$1" 2>/dev/null || :
	_t=0
	while kill -0 "$1" 2>/dev/null && [ $_t -lt "$2" ]; do
		sleep 0.1
		_t=$((_t + 1))
	done
	kill -KILL "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}
