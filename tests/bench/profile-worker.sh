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

prog=profile-worker.sh
die() {
	echo "$prog: $*" >&2
	exit 1
}

for c in valgrind callgrind_control curl openssl jq; do
	command -v "$c" >/dev/null 2>&1 || die "$c not found"
done
[ -x "$LIGHTTPD" ] || die "lighttpd not found: set LIGHTTPD"
[ -x "$GILLY" ] || die "$GILLY is not an executable"
[ -x "$CEILING" ] || die "$CEILING is not an executable"
[ -r "$BENCH_REVIEW" ] || die "$BENCH_REVIEW: no such review"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gilly-profile.XXXXXX")
# case "$TMP" in *" "*): lighttpd.conf's bin-path is split on spaces.
case "$TMP" in
*" "*)	die "$TMP: the temporary directory's path must not hold spaces" ;;
esac
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
cleanup() {
	stop
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

jq -c . "$BENCH_REVIEW" >"$TMP/review.json" ||
    die "$BENCH_REVIEW: jq cannot read it"
sh "$SRCDIR/lighttpd/gencert.sh" "$TMP/tls" 127.0.0.1 localhost \
    >/dev/null 2>&1 || die "gencert.sh failed"
cp "$BENCH_TABLE" "$TMP/gilly.yaml"

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
	mkdir -p "$TMP/run-$_name"
	_try=0
	while :; do
		_try=$((_try + 1))
		_n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		PORT=$((20000 + _n % 12000))
		GILLY_BIND=127.0.0.1 GILLY_PORT=$PORT GILLY_TLS_DIR=$TMP/tls \
		    GILLY_RUN_DIR=$TMP/run-$_name GILLY_WORKERS=1 GILLY_BIN=$_wrap \
		    GILLY_CONFIG=$_conf GILLY_ACCESS_LOG=$TMP/$_name.access \
		    "$LIGHTTPD" -D -f "$SRCDIR/lighttpd/lighttpd.conf" \
		    2>"$TMP/$_name.err" &
		SERVER=$!
		# valgrind takes seconds to start the worker.
		_i=0
		while [ $_i -lt 300 ] && kill -0 "$SERVER" 2>/dev/null; do
			! post 1 "$TMP/$_name.resp" 2>/dev/null || break
			sleep 0.1
			_i=$((_i + 1))
		done
		post 1 "$TMP/$_name.resp" 2>/dev/null && break
		stop
		[ $_try -lt 10 ] && grep -q 'Address already in use' \
		    "$TMP/$_name.err" && continue
		sed 's/^/	/' "$TMP/$_name.err" >&2
		die "$_name: lighttpd did not come up"
	done
	for _p in /proc/[0-9]*; do
		_st=$(cat "$_p/stat" 2>/dev/null) || continue
		_st=${_st##*) }
		# shellcheck disable=SC2086 # the fields, split on purpose
		set -- $_st
		[ "$2" != "$SERVER" ] || WORKER=${_p#/proc/}
	done
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
