#!/bin/sh
# syscalls.sh: the system calls and context switches of a loaded server's
# workers per request, gilly's beside the ceiling's (and a baseline's),
# counted by perf stat on the kernel's tracepoints.
#
# CPU time moves from run to run (e2e.sh); the count of system calls a
# request does not, and it is what a change to a worker's loop changes:
# each call costs a worker between a few tenths of a microsecond and a
# few microseconds. Each program serves as the workers of a lighttpd with
# the pod's configuration (on 127.0.0.1 over TLS); h2load posts the
# review SYSCALLS_WARM times, then SYSCALLS_N times while perf stat counts
# the workers' events; the counts are per request.
#
# Environment: GILLY, CEILING, SRCDIR, LIGHTTPD, BENCH_REVIEW, BENCH_TABLE
# as for e2e.sh; BENCH_BASELINE (another gilly, optional); BENCH_WORKERS
# (2); BENCH_PROTO (h2, or h1 for HTTP/1.1); BENCH_H2_CONNS (2) and
# BENCH_H2_STREAMS (4), or over HTTP/1.1 BENCH_CONNS (8), as for e2e.sh;
# SYSCALLS_N (100000), SYSCALLS_WARM (10000); SYSCALLS_RATE, a light load
# instead: one connection, one request at a time, that many a second
# (h2load --rps; the runs then take SYSCALLS_N / SYSCALLS_RATE seconds).
# The last column is the workers' CPU time a request (perf's task-clock).
# Needs perf (Debian linux-perf) with the tracepoints readable (root, or
# kernel.perf_event_paranoid -1), h2load, curl, openssl and jq; every
# server started is stopped by its PID.
set -eu

# shellcheck source=tests/bench/common.sh
. "$(dirname "$0")/common.sh"
: "${BENCH_BASELINE:=}"
: "${BENCH_WORKERS:=2}"
: "${BENCH_PROTO:=h2}"
: "${BENCH_H2_CONNS:=2}"
: "${BENCH_H2_STREAMS:=4}"
: "${BENCH_CONNS:=8}"
: "${SYSCALLS_N:=100000}"
: "${SYSCALLS_WARM:=10000}"
: "${SYSCALLS_RATE:=}"

bench_need perf h2load curl openssl jq
case $BENCH_PROTO in
h2)	load_args="-c$BENCH_H2_CONNS -m$BENCH_H2_STREAMS" ;;
# As e2e.sh's wrk: BENCH_CONNS connections, a request at a time on each.
h1)	load_args="--h1 -c$BENCH_CONNS -m1" ;;
*)	die "BENCH_PROTO: h2 or h1, not $BENCH_PROTO" ;;
esac
# A light load, as e2e.sh's fixed rate: one connection, one request at a
# time, SYSCALLS_RATE a second.
[ -z "$SYSCALLS_RATE" ] || case $BENCH_PROTO in
h2)	load_args="-c1 -m1 --rps=$SYSCALLS_RATE" ;;
*)	load_args="--h1 -c1 -m1 --rps=$SYSCALLS_RATE" ;;
esac
# The events, in the order printed; each must be one perf knows here.
events=raw_syscalls:sys_enter,syscalls:sys_enter_accept
events=$events,syscalls:sys_enter_accept4,syscalls:sys_enter_ppoll
events=$events,syscalls:sys_enter_poll,syscalls:sys_enter_setsockopt
events=$events,syscalls:sys_enter_read,syscalls:sys_enter_write
events=$events,syscalls:sys_enter_close,context-switches,task-clock
perf stat -x, -e "$events" true >/dev/null 2>&1 ||
    die "perf stat cannot count the syscall tracepoints" \
	"(root, or sysctl kernel.perf_event_paranoid=-1)"

bench_tmp syscalls
SERVER=
bench_started() {
	SERVER=$1
}
bench_stop() {
	term_wait "$1" 100
	SERVER=
}
cleanup() {
	[ -z "$SERVER" ] || bench_stop "$SERVER"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
bench_inputs

# load N OUT: h2load posts the review N times; fails unless all are 200.
load() {
	# shellcheck disable=SC2086 # the arguments, split on purpose
	h2load $load_args -t1 -n "$1" -d "$TMP/review.json" \
	    -H 'content-type: application/json' \
	    "https://127.0.0.1:$PORT/mutate" >"$2" 2>&1 ||
	    { cat "$2" >&2; return 1; }
	[ "$(awk '/^status codes:/ { print $3 }' "$2")" = "$1" ] ||
	    { cat "$2" >&2; return 1; }
}

# count NAME PROGRAM CONFIG: one line of counts per request for PROGRAM's
# workers under load.
count() {
	_name=$1
	_prog=$2
	_conf=$3
	bench_start "$_name" "$_prog" "$_conf" "$BENCH_WORKERS" \
	    "$SRCDIR/lighttpd/lighttpd.conf" "$TMP/review.json" 100
	_workers=$(children "$SERVER" | paste -sd, -)
	[ -n "$_workers" ] || die "$_name: no workers"
	load "$SYSCALLS_WARM" "$TMP/load.out" || die "$_name: the warm-up failed"
	perf stat -x, -o "$TMP/$_name.perf" -e "$events" -p "$_workers" &
	_perf=$!
	sleep 0.5
	load "$SYSCALLS_N" "$TMP/load.out" || die "$_name: the load failed"
	kill -INT "$_perf"
	wait "$_perf" || :
	bench_stop "$SERVER"
	awk -F, -v name="$_name" -v n="$SYSCALLS_N" '
	    $3 != "" && $1 ~ /^[0-9]/ {
		v[++k] = $1 / n * ($2 == "msec" ? 1000 : 1) }
	    END { printf "%-9s", name
		for (i = 1; i <= k; i++) printf " %10.3f", v[i]
		printf "\n" }' "$TMP/$_name.perf"
}

echo "# system calls and context switches of the workers a request:" \
    "$BENCH_WORKERS worker(s), h2load $load_args," \
    "$SYSCALLS_N requests after $SYSCALLS_WARM," \
    "review $(basename "$BENCH_REVIEW") compact"
printf '%-9s' '#'
printf ' %10s' 'all calls' accept accept4 ppoll poll setsockopt read write \
    close switches
# printf counts bytes, and µ is two.
printf ' %11s\n' 'CPU µs'
count gilly "$GILLY" "$TMP/gilly.yaml"
# The ceiling answers the very bytes gilly answered.
cp "$TMP/gilly.resp" "$TMP/answer.json"
count ceiling "$CEILING" "$TMP/answer.json"
[ -z "$BENCH_BASELINE" ] ||
    count baseline "$BENCH_BASELINE" "$TMP/gilly.yaml"
