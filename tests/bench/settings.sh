#!/bin/sh
# settings.sh: what lighttpd's own settings take off the FastCGI hop.
#
# Each variant is the pod's lighttpd/lighttpd.conf with one change, run by
# e2e.sh in front of the ceiling and of gilly alike (BENCH_CONF and
# BENCH_CEILING_CONF), so that the ceiling's CPU per request shows what the
# setting costs or saves the architecture, whatever the handler:
#
#	pod        lighttpd.conf as shipped
#	tcp        the workers on TCP (127.0.0.1) instead of unix sockets
#	noaccess   no access log (mod_accesslog not loaded)
#	stream     bodies streamed both ways (stream-request-body and
#	           stream-response-body 2) instead of buffered
#
# The number of workers (max-procs) is e2e.sh's own axis (BENCH_WORKERS).
# Environment: as e2e.sh; SETTINGS (the variants, default all of the
# above). Defaults here: BENCH_WORKERS=2, BENCH_SECONDS=8, BENCH_ROUNDS=2,
# no latency runs. Prints, per variant, e2e.sh's throughput lines.
set -eu

: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${SETTINGS:=pod tcp noaccess stream}"
: "${BENCH_WORKERS:=2}"
: "${BENCH_SECONDS:=8}"
: "${BENCH_ROUNDS:=2}"
: "${BENCH_LATENCY_WORKERS:=0}"
export SRCDIR BENCH_WORKERS BENCH_SECONDS BENCH_ROUNDS BENCH_LATENCY_WORKERS

conf=$SRCDIR/lighttpd/lighttpd.conf
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gilly-settings.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM

# variant NAME OUT PORT: lighttpd.conf changed as NAME says, into OUT;
# PORT is the first TCP port of the workers (tcp only).
variant() {
	case $1 in
	pod)
		cp "$conf" "$2" ;;
	tcp)
		sed "s|\"socket\" => env.GILLY_RUN_DIR + \"/gilly.sock\",|\"host\" => \"127.0.0.1\", \"port\" => $3,|" \
		    "$conf" >"$2" ;;
	noaccess)
		sed -e 's/"mod_accesslog", //' -e '/^accesslog\.filename/d' \
		    "$conf" >"$2" ;;
	stream)
		sed -e 's/^server.stream-request-body = 0$/server.stream-request-body = 2\nserver.stream-response-body = 2/' \
		    "$conf" >"$2" ;;
	*)
		echo "settings.sh: no variant \"$1\"" >&2
		exit 2 ;;
	esac
	# A variant that changes nothing measures nothing.
	[ "$1" = pod ] || ! cmp -s "$conf" "$2" || {
		echo "settings.sh: $1: lighttpd.conf no longer has what it" \
		    "changes" >&2
		exit 2
	}
}

# Ports for the tcp variant, under the ephemeral range, apart by server.
base=$((20000 + $$ % 10000))
for v in $SETTINGS; do
	variant "$v" "$TMP/gilly-$v.conf" "$base"
	variant "$v" "$TMP/ceiling-$v.conf" $((base + 16))
	echo "== $v"
	BENCH_CONF=$TMP/gilly-$v.conf BENCH_CEILING_CONF=$TMP/ceiling-$v.conf \
	    sh "$SRCDIR/tests/bench/e2e.sh" | sed -n '/^Throughput/,/^$/p'
done
