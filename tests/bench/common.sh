# shellcheck shell=sh
# common.sh: what the benchmark scripts share (e2e.sh, profile-worker.sh
# and syscalls.sh source it): the programs and inputs, each one set from
# the environment if it is there, their checks, the run's directory, and
# the starting and stopping of a server. $0 is the script that sources
# this one, in tests/bench.
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

# die MESSAGE...: the script's name and MESSAGE on stderr; exit 1.
die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# children PID: the live children of PID (a server's workers).
children() {
	for _d in /proc/[0-9]*; do
		_st=$(cat "$_d/stat" 2>/dev/null) || continue
		_st=${_st##*) }
		# shellcheck disable=SC2086 # the fields, split on purpose
		set -- "$1" $_st
		[ "$2" != Z ] && [ "$3" = "$1" ] && echo "${_d#/proc/}"
	done
	return 0
}

# bench_need COMMAND...: the commands, the programs and the review are
# there.
bench_need() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || die "$_c not found"
	done
	[ -x "$LIGHTTPD" ] || die "lighttpd not found: set LIGHTTPD"
	[ -x "$GILLY" ] || die "$GILLY is not an executable"
	[ -x "$CEILING" ] || die "$CEILING is not an executable"
	[ -z "${BENCH_BASELINE:-}" ] || [ -x "$BENCH_BASELINE" ] ||
	    die "$BENCH_BASELINE is not an executable"
	[ -r "$BENCH_REVIEW" ] || die "$BENCH_REVIEW: no such review"
	# lighttpd.conf's bin-path is split on spaces.
	case "$GILLY$CEILING${BENCH_BASELINE:-}" in
	*" "*)	die "the programs' paths must not hold spaces" ;;
	esac
}

# bench_tmp NAME: TMP, a new directory for the run.
bench_tmp() {
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/gilly-$1.XXXXXX")
	# lighttpd.conf's bin-path is split on spaces.
	case "$TMP" in
	*" "*)	rm -rf "$TMP"
		die "$TMP: the temporary directory's path must not hold spaces" ;;
	esac
}

# bench_inputs: in $TMP, the review compact as the API server sends it
# (review.json), a certificate for 127.0.0.1 (tls/) and the table
# (gilly.yaml).
bench_inputs() {
	jq -c . "$BENCH_REVIEW" >"$TMP/review.json" ||
	    die "$BENCH_REVIEW: jq cannot read it"
	sh "$SRCDIR/lighttpd/gencert.sh" "$TMP/tls" 127.0.0.1 localhost \
	    >/dev/null 2>&1 || die "gencert.sh failed"
	cp "$BENCH_TABLE" "$TMP/gilly.yaml"
}

# bench_start NAME PROGRAM CONFIG WORKERS LIGHTTPD_CONF BODY TENTHS:
# lighttpd (LIGHTTPD_CONF) with WORKERS processes of PROGRAM serving the
# table or answer CONFIG, on a free port of 127.0.0.1 (its log
# $TMP/NAME.err, its access log $TMP/NAME.access), answering BODY with 200
# within TENTHS tenths of a second (the answer in $TMP/NAME.resp). Sets
# PORT and PID; the caller's bench_started PID is told of the server as
# it starts, bench_stop PID stops one that does not come up.
bench_start() {
	_try=0
	mkdir -p "$TMP/run-$1"
	: >"$TMP/$1.access"
	while :; do
		_try=$((_try + 1))
		_n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		PORT=$((20000 + _n % 12000))
		GILLY_BIND=127.0.0.1 GILLY_PORT=$PORT GILLY_TLS_DIR=$TMP/tls \
		    GILLY_RUN_DIR=$TMP/run-$1 GILLY_WORKERS=$4 GILLY_BIN=$2 \
		    GILLY_CONFIG=$3 GILLY_ACCESS_LOG=$TMP/$1.access \
		    "$LIGHTTPD" -D -f "$5" 2>"$TMP/$1.err" &
		PID=$!
		bench_started "$PID"
		_i=0
		while [ $_i -lt "$7" ]; do
			kill -0 "$PID" 2>/dev/null || break
			_code=$(curl -s -o "$TMP/$1.resp" -w '%{http_code}' \
			    --max-time 2 --cacert "$TMP/tls/ca.crt" \
			    -H 'Content-Type: application/json' \
			    --data-binary "@$6" \
			    "https://127.0.0.1:$PORT/mutate" 2>/dev/null) || :
			[ "$_code" != 200 ] || return 0
			sleep 0.1
			_i=$((_i + 1))
		done
		bench_stop "$PID"
		if [ $_try -lt 10 ] && grep -q 'Address already in use' \
		    "$TMP/$1.err"; then
			continue
		fi
		sed 's/^/	/' "$TMP/$1.err" >&2
		die "$1: lighttpd did not come up"
	done
}
