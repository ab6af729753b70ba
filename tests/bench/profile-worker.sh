#!/bin/sh
# profile-worker.sh: the instructions a live worker spends on a request,
# gilly's beside the ceiling's, counted by callgrind.
#
# The end-to-end runs (e2e.sh) measure CPU time, which moves by a few µs a
# request from run to run on a shared machine; an optimisation worth one
# µs is lost in it. Instructions barely move (gilly's by a few, with the
# log's timestamps): this runs each program as the one worker of a
# lighttpd with the pod's configuration (unchanged, on 127.0.0.1 over
# TLS), under valgrind --tool=callgrind, posts the review
# PROFILE_WARM times, zeroes the counts, posts it PROFILE_N times more
# over one connection, and prints the worker's instructions per request:
# libfcgi, the request's parsing, the review and the answer, but not the
# kernel's share nor the cost of caches that lighttpd leaves cold. The
# counts stay in callgrind.worker-gilly and callgrind.worker-ceiling
# (the current directory) for callgrind_annotate.
#
# Environment: GILLY, CEILING, SRCDIR, LIGHTTPD, BENCH_REVIEW, BENCH_TABLE
# as for e2e.sh; PROFILE_N (200), PROFILE_WARM (20). Needs valgrind,
# curl, openssl and jq; every server started is stopped by its PID.
set -eu

# shellcheck source=tests/bench/common.sh
. "$(dirname "$0")/common.sh"
: "${PROFILE_N:=200}"
: "${PROFILE_WARM:=20}"

bench_need valgrind callgrind_control curl openssl jq

bench_tmp profile
SERVER=
WORKER=
# The server and its one worker (valgrind, running the program), by PID.
stop() {
	[ -n "$SERVER" ] || return 0
	term_wait "$SERVER" 100
	[ -z "$WORKER" ] || kill -KILL "$WORKER" 2>/dev/null || :
	SERVER=
	WORKER=
}
bench_started() {
	SERVER=$1
}
bench_stop() {
	stop
}
cleanup() {
	stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
bench_inputs

# post N OUT: the review posted N times over one connection; the last
# answer in OUT; fails unless every answer was 200.
post() {
	_args=
	_i=0
	while [ $_i -lt "$1" ]; do
		_args="$_args -o $2 https://127.0.0.1:$PORT/mutate"
		_i=$((_i + 1))
	done
	# shellcheck disable=SC2086 # the arguments, split on purpose
	_codes=$(curl -s --max-time 600 --cacert "$TMP/tls/ca.crt" \
	    -H 'Content-Type: application/json' \
	    --data-binary "@$TMP/review.json" -w '%{http_code}\n' \
	    $_args) || return 1
	[ "$(echo "$_codes" | grep -c '^200$')" = "$1" ]
}

# profile NAME PROGRAM CONFIG: its worker's instructions per request, in
# COUNT (not echoed: the server must be started in this shell, so that
# cleanup() sees it).
profile() {
	_name=$1
	_prog=$2
	_conf=$3
	_wrap=$TMP/$_name.sh
	printf '#!/bin/sh\nexec valgrind -q --tool=callgrind --callgrind-out-file=%s/%s.%%p %s "$@"\n' \
	    "$TMP" "$_name" "$(readlink -f "$_prog")" >"$_wrap"
	chmod +x "$_wrap"
	# valgrind takes seconds to start the worker.
	bench_start "$_name" "$_wrap" "$_conf" 1 \
	    "$SRCDIR/lighttpd/lighttpd.conf" "$TMP/review.json" 300
	WORKER=$(children "$SERVER" | head -n 1)
	[ -n "$WORKER" ] || die "$_name: no worker"
	post "$PROFILE_WARM" "$TMP/$_name.resp" ||
	    die "$_name: a warm-up request failed"
	callgrind_control -z "$WORKER" >/dev/null 2>&1 ||
	    die "$_name: callgrind_control -z failed"
	post "$PROFILE_N" "$TMP/$_name.resp" || die "$_name: a request failed"
	rm -f "$TMP/$_name.$WORKER".*
	callgrind_control -d "$WORKER" >/dev/null 2>&1 ||
	    die "$_name: callgrind_control -d failed"
	_dump=
	for _f in "$TMP/$_name.$WORKER".*; do
		[ ! -f "$_f" ] || _dump=$_f
	done
	[ -n "$_dump" ] || die "$_name: callgrind wrote no counts"
	cp "$_dump" "callgrind.worker-$_name"
	stop
	COUNT=$(awk -v n="$PROFILE_N" \
	    '/^summary:/ { printf "%.0f\n", $2 / n }' "callgrind.worker-$_name")
	[ -n "$COUNT" ] || die "$_name: no summary in the counts"
}

profile gilly "$GILLY" "$TMP/gilly.yaml"
gilly=$COUNT
# The ceiling answers the very bytes gilly answered.
cp "$TMP/gilly.resp" "$TMP/answer.json"
profile ceiling "$CEILING" "$TMP/answer.json"
ceiling=$COUNT
cmp -s "$TMP/gilly.resp" "$TMP/ceiling.resp" ||
    die "the ceiling's answer differs from gilly's"
echo "# a live worker's instructions per request (callgrind), review" \
    "$(basename "$BENCH_REVIEW") compact, $PROFILE_N requests after" \
    "$PROFILE_WARM"
echo "gilly   $gilly"
echo "ceiling $ceiling"
echo "excess  $((gilly - ceiling))"
echo "# see: callgrind_annotate callgrind.worker-gilly"
