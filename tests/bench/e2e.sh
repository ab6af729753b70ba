#!/bin/sh
# e2e.sh: gilly end to end, through lighttpd over TLS, beside the ceiling.
#
# Two servers run at once on 127.0.0.1, each lighttpd with the pod's
# configuration (lighttpd/lighttpd.conf, unchanged): one spawns gilly, the
# other tests/bench/ceiling, a FastCGI responder that reads the body and
# answers gilly's own response to the review, as fixed bytes. The load
# generators alternate between them (ceiling, gilly, ceiling, gilly...), so
# that whatever else the machine does falls on both alike:
#
# - HTTP/1.1 with keep-alive: wrk, BENCH_CONNS connections, one thread,
#   POSTing the review (tests/bench/post.lua);
# - HTTP/2: h2load, BENCH_H2_CONNS connections of BENCH_H2_STREAMS streams;
# - for 1, 2 and 4 workers (BENCH_WORKERS), BENCH_ROUNDS pairs of runs of
#   BENCH_SECONDS each: requests/s, p50/p99 latency, and the server's CPU
#   time per request (utime+stime of lighttpd and its workers, from
#   /proc/PID/stat, over the requests served);
# - with BENCH_LATENCY_WORKERS workers: the unloaded latency (one
#   connection, one request at a time) and the latency at a fixed rate of
#   BENCH_RATE requests/s (h2load --rps);
# - after the runs: the resident memory of a worker and of the whole server
#   (VmRSS summed; PSS summed; and each page once, tests/bench/pages.py);
# - with BENCH_BASELINE, another build of gilly (an earlier commit, say)
#   as a third server in the same rounds (ceiling, gilly, baseline; then
#   ceiling, baseline, gilly): a change measured against the code before
#   it in one run, not two; with BENCH_BASELINE_CONF, the baseline's
#   server runs that lighttpd configuration (the one before a change to
#   lighttpd.conf, say; the same build of gilly in BENCH_BASELINE then
#   measures the configuration alone).
#
# The client and the server share this machine: the requests/s figures are
# the pair's, the CPU per request is the server's alone.
#
# Environment: GILLY (fcgi/gilly), CEILING (tests/bench/ceiling), SRCDIR,
# LIGHTTPD, and the BENCH_* settings below: BENCH_REVIEW the review posted
# (compact, as the API server sends it; BENCH_COMPACT=0: as stored),
# BENCH_TABLE the mirror table, BENCH_CONF another lighttpd configuration
# to try (BENCH_CEILING_CONF the ceiling's, if it must differ, e.g. in a
# TCP port), BENCH_BASELINE the other gilly (none by default) and
# BENCH_BASELINE_CONF its lighttpd configuration (BENCH_CONF). Needs
# wrk, h2load, curl, openssl and python3; nothing is downloaded, and
# every server started is stopped by PID, on failure too.
set -eu

# shellcheck source=tests/bench/common.sh
. "$(dirname "$0")/common.sh"
: "${BENCH_CONF:=$SRCDIR/lighttpd/lighttpd.conf}"
: "${BENCH_CEILING_CONF:=$BENCH_CONF}"
: "${BENCH_SECONDS:=5}"
: "${BENCH_ROUNDS:=2}"
: "${BENCH_WORKERS:=1 2 4}"
: "${BENCH_CONNS:=8}"
: "${BENCH_H2_CONNS:=2}"
: "${BENCH_H2_STREAMS:=4}"
: "${BENCH_LATENCY_WORKERS:=2}"
: "${BENCH_RATE:=1000}"
: "${BENCH_PROTOS:=h1 h2}"
: "${BENCH_COMPACT:=1}"
: "${BENCH_BASELINE:=}"
: "${BENCH_BASELINE_CONF:=}"

bench_need wrk h2load curl openssl awk jq python3
[ -n "$BENCH_BASELINE" ] || [ -z "$BENCH_BASELINE_CONF" ] ||
    die "BENCH_BASELINE_CONF is the baseline's: set BENCH_BASELINE too"
: "${BENCH_BASELINE_CONF:=$BENCH_CONF}"
for c in "$BENCH_CONF" "$BENCH_CEILING_CONF" "$BENCH_BASELINE_CONF"; do
	[ -r "$c" ] || die "$c: no such lighttpd configuration"
done

GILLY_EXE=$(readlink -f "$GILLY")
CEILING_EXE=$(readlink -f "$CEILING")
BASELINE_EXE=$(readlink -f "${BENCH_BASELINE:-$GILLY}")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gilly-bench.XXXXXX")
SERVERS=
# stop_server PID: lighttpd stops its workers on SIGTERM; any worker
# left a moment later is stopped by its own PID.
stop_server() {
	_workers=$(children "$1")
	term_wait "$1" 50
	# Only what still runs one of the two programs (a PID is reused).
	for _w in $_workers; do
		case $(readlink -f "/proc/$_w/exe" 2>/dev/null) in
		"$GILLY_EXE" | "$CEILING_EXE" | "$BASELINE_EXE")
			kill -KILL "$_w" 2>/dev/null || : ;;
		esac
	done
}
cleanup() {
	for _p in $SERVERS; do
		stop_server "$_p"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The API server sends a review compact (Go's encoding/json); the stored
# fixtures are indented for people to read.
POSTED=$BENCH_REVIEW
if [ "$BENCH_COMPACT" = 1 ]; then
	POSTED=$TMP/review.json
	jq -c . "$BENCH_REVIEW" >"$POSTED" ||
	    die "$BENCH_REVIEW: jq cannot read it"
fi

TCK=$(getconf CLK_TCK)

# cpu_ticks PID: "total workers", the utime+stime of PID and its live
# children, and of the children alone, in ticks.
cpu_ticks() {
	_t=0
	_w=0
	for _p in "$1" $(children "$1"); do
		_st=$(cat "/proc/$_p/stat" 2>/dev/null) || continue
		_st=${_st##*) }
		# Fields 14 and 15 of stat(5), 12 and 13 after the name.
		_c=$(echo "$_st" | awk '{ print $12 + $13 }')
		_t=$((_t + _c))
		[ "$_p" = "$1" ] || _w=$((_w + _c))
	done
	echo "$_t $_w"
}

# mem PID: "worker_rss_kib server_rss_kib server_pss_kib server_once_kib"
# (the largest worker; sums over lighttpd and its workers; their pages,
# each counted once, tests/bench/pages.py: "-" where it cannot tell).
mem() {
	_wmax=0
	_rss=0
	_pss=0
	_pids="$1 $(children "$1")"
	# shellcheck disable=SC2086 # the PIDs, split on purpose
	_once=$(python3 "$SRCDIR/tests/bench/pages.py" $_pids 2>/dev/null) ||
	    _once=-
	for _p in $_pids; do
		_r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$_p/status" \
		    2>/dev/null) || continue
		_s=$(awk '/^Pss:/ { print $2 }' "/proc/$_p/smaps_rollup" \
		    2>/dev/null) || continue
		_rss=$((_rss + _r))
		_pss=$((_pss + _s))
		[ "$_p" = "$1" ] || [ "$_r" -le "$_wmax" ] || _wmax=$_r
	done
	echo "$_wmax $_rss $_pss $_once"
}

# served NAME: the requests server NAME has answered (its access log's
# lines).
served() {
	wc -l <"$TMP/$1.access" | tr -d ' '
}

# The certificate, the table, the ceiling's answer.
sh "$SRCDIR/lighttpd/gencert.sh" "$TMP/tls" 127.0.0.1 localhost ||
    die "gencert.sh failed"
cp "$BENCH_TABLE" "$TMP/gilly.yaml"

# start NAME BIN CONFIG WORKERS: lighttpd with WORKERS processes of BIN
# on a free port; sets PORT and PID.
bench_started() {
	SERVERS="$SERVERS $1"
}
bench_stop() {
	stop_server "$1"
}
start() {
	_conf=$BENCH_CONF
	[ "$1" != ceiling ] || _conf=$BENCH_CEILING_CONF
	[ "$1" != baseline ] || _conf=$BENCH_BASELINE_CONF
	bench_start "$1" "$2" "$3" "$4" "$_conf" "$POSTED" 100
}

# pct FILE: "p50 p99" of the microseconds in FILE's third column.
pct() {
	sort -n -k3 "$1" | awk '{ v[NR] = $3 }
	    END { if (NR == 0) { print "- -"; exit }
		  i = int(NR * 0.50 + 0.5); if (i < 1) i = 1
		  j = int(NR * 0.99 + 0.5); if (j < 1) j = 1
		  print v[i], v[j] }'
}

# wrk_us VALUE: a wrk latency ("812.00us", "1.20ms", "1.01s") in µs.
wrk_us() {
	echo "$1" | awk '{ v = $1 + 0
	    if ($1 ~ /us$/) ; else if ($1 ~ /ms$/) v *= 1000
	    else if ($1 ~ /s$/) v *= 1000000
	    printf "%.0f\n", v }'
}

# load PROTO URL CONNS SECONDS OUT: one run of the load generator; writes
# "requests seconds p50_us p99_us" into OUT.
load() {
	case $1 in
	h1)
		BENCH_BODY=$POSTED wrk -t1 -c"$3" -d"$4" --latency \
		    -s "$SRCDIR/tests/bench/post.lua" "$2" >"$TMP/wrk.out" 2>&1 ||
		    { cat "$TMP/wrk.out" >&2; die "wrk failed"; }
		! grep -q 'Non-2xx\|Socket errors' "$TMP/wrk.out" ||
		    { cat "$TMP/wrk.out" >&2; die "wrk: errors"; }
		_n=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
		_s=$(awk '/requests in/ { sub(/s,$/, "", $4); print $4 }' \
		    "$TMP/wrk.out")
		_p50=$(wrk_us "$(awk '$1 == "50%" { print $2 }' "$TMP/wrk.out")")
		_p99=$(wrk_us "$(awk '$1 == "99%" { print $2 }' "$TMP/wrk.out")")
		echo "$_n $_s $_p50 $_p99" >"$5"
		;;
	h2 | h2-one | h2-rate | h1-rate)
		_args="-c$3 -m$BENCH_H2_STREAMS"
		case $1 in
		h2-one)
			# One stream at a time: unloaded, as wrk -c1 is.
			_args="-c1 -m1" ;;
		h2-rate)
			_args="-c$3 -m1 --rps=$((BENCH_RATE / $3))" ;;
		h1-rate)
			_args="--h1 -c$3 -m1 --rps=$((BENCH_RATE / $3))" ;;
		esac
		rm -f "$TMP/h2.log"
		# shellcheck disable=SC2086
		h2load -t1 $_args -D "$4" -d "$POSTED" \
		    -H 'content-type: application/json' \
		    --log-file="$TMP/h2.log" "$2" >"$TMP/h2.out" 2>&1 ||
		    { cat "$TMP/h2.out" >&2; die "h2load failed"; }
		_n=$(awk '/^requests:/ { print $8 }' "$TMP/h2.out")
		_ok=$(awk '/^status codes:/ { print $3 }' "$TMP/h2.out")
		if [ "$_n" -eq 0 ] || [ "$_n" != "$_ok" ]; then
			cat "$TMP/h2.out" >&2
			die "h2load: errors"
		fi
		case $1 in
		h2*)
			grep -q 'Application protocol: h2' "$TMP/h2.out" ||
			    die "h2load: not HTTP/2" ;;
		esac
		echo "$_n $4 $(pct "$TMP/h2.log")" >"$5"
		;;
	esac
}

# run PROTO NAME PID PORT CONNS SECONDS: one measured run, its line
# appended to $TMP/results: "PROTO WORKERS NAME requests seconds p50 p99
# cpu_ticks worker_ticks".
run() {
	_c0=$(cpu_ticks "$3")
	load "$1" "https://127.0.0.1:$4/mutate" "$5" "$6" "$TMP/run.out"
	_c1=$(cpu_ticks "$3")
	kill -0 "$3" 2>/dev/null || die "$2: lighttpd ended during the run"
	echo "$1 $W $2 $(cat "$TMP/run.out")" \
	    "$(echo "$_c0 $_c1" | awk '{ print $3 - $1, $4 - $2 }')" \
	    >>"$TMP/results"
}

: >"$TMP/results"
: >"$TMP/memory"
echo "# $(uname -srm); $(nproc) CPUs: $(awk -F': *' \
    '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "# review $(basename "$BENCH_REVIEW") ($(wc -c <"$POSTED") bytes$(
    [ "$BENCH_COMPACT" != 1 ] || echo ', compact'))," \
    "runs of ${BENCH_SECONDS}s, $BENCH_ROUNDS rounds," \
    "wrk -t1 -c$BENCH_CONNS, h2load -c$BENCH_H2_CONNS -m$BENCH_H2_STREAMS"
echo "# lighttpd configuration: $BENCH_CONF"
[ "$BENCH_CEILING_CONF" = "$BENCH_CONF" ] ||
    echo "# the ceiling's: $BENCH_CEILING_CONF"
BASELINE_NAME=$BENCH_BASELINE
if [ -n "$BENCH_BASELINE" ] && [ "$BENCH_BASELINE_CONF" != "$BENCH_CONF" ]; then
	echo "# the baseline's: $BENCH_BASELINE_CONF"
	BASELINE_NAME="$BENCH_BASELINE with $BENCH_BASELINE_CONF"
fi
for W in $BENCH_WORKERS; do
	start gilly "$GILLY" "$TMP/gilly.yaml" "$W"
	GPID=$PID
	GPORT=$PORT
	# The ceiling answers the very bytes gilly answered.
	start ceiling "$CEILING" "$TMP/gilly.resp" "$W"
	CPID=$PID
	CPORT=$PORT
	cmp -s "$TMP/gilly.resp" "$TMP/ceiling.resp" ||
	    die "the ceiling's answer differs from gilly's"
	echo "# $W worker(s): ceiling on port $CPORT, gilly on $GPORT," \
	    "response $(wc -c <"$TMP/gilly.resp") bytes" >&2
	if [ -n "$BENCH_BASELINE" ]; then
		start baseline "$BENCH_BASELINE" "$TMP/gilly.yaml" "$W"
		BPID=$PID
		BPORT=$PORT
		cmp -s "$TMP/gilly.resp" "$TMP/baseline.resp" ||
		    die "the baseline's answer differs from gilly's"
	fi
	CMEM0=$(mem "$CPID")
	GMEM0=$(mem "$GPID")
	[ -z "$BENCH_BASELINE" ] || BMEM0=$(mem "$BPID")
	for proto in $BENCH_PROTOS; do
		case $proto in
		h1)	conns=$BENCH_CONNS ;;
		*)	conns=$BENCH_H2_CONNS ;;
		esac
		# Warm up both: TLS sessions, the workers' caches, the CPU clock.
		load "$proto" "https://127.0.0.1:$CPORT/mutate" "$conns" 1 \
		    "$TMP/warm"
		load "$proto" "https://127.0.0.1:$GPORT/mutate" "$conns" 1 \
		    "$TMP/warm"
		[ -z "$BENCH_BASELINE" ] || load "$proto" \
		    "https://127.0.0.1:$BPORT/mutate" "$conns" 1 "$TMP/warm"
		r=0
		while [ $r -lt "$BENCH_ROUNDS" ]; do
			run "$proto" ceiling "$CPID" "$CPORT" "$conns" \
			    "$BENCH_SECONDS"
			# The baseline first in every other round: the run
			# right after the ceiling's has been seen to fare
			# better, and neither build should have it always.
			[ -z "$BENCH_BASELINE" ] || [ $((r % 2)) = 0 ] ||
			    run "$proto" baseline "$BPID" "$BPORT" "$conns" \
			    "$BENCH_SECONDS"
			run "$proto" gilly "$GPID" "$GPORT" "$conns" \
			    "$BENCH_SECONDS"
			[ -z "$BENCH_BASELINE" ] || [ $((r % 2)) = 1 ] ||
			    run "$proto" baseline "$BPID" "$BPORT" "$conns" \
			    "$BENCH_SECONDS"
			r=$((r + 1))
		done
	done
	if [ "$W" = "$BENCH_LATENCY_WORKERS" ]; then
		for proto in h1 h2-one; do
			run "$proto" ceiling-1 "$CPID" "$CPORT" 1 "$BENCH_SECONDS"
			run "$proto" gilly-1 "$GPID" "$GPORT" 1 "$BENCH_SECONDS"
		done
		for proto in h1-rate h2-rate; do
			run "$proto" ceiling-rate "$CPID" "$CPORT" 2 \
			    "$BENCH_SECONDS"
			run "$proto" gilly-rate "$GPID" "$GPORT" 2 \
			    "$BENCH_SECONDS"
		done
	fi
	echo "$W ceiling $CMEM0 $(mem "$CPID") $(served ceiling)" \
	    >>"$TMP/memory"
	echo "$W gilly $GMEM0 $(mem "$GPID") $(served gilly)" \
	    >>"$TMP/memory"
	# The baseline is not in the latency runs: fewer requests.
	[ -z "$BENCH_BASELINE" ] ||
	    echo "$W baseline $BMEM0 $(mem "$BPID") $(served baseline)" \
	    >>"$TMP/memory"
	stop_server "$GPID"
	stop_server "$CPID"
	[ -z "$BENCH_BASELINE" ] || stop_server "$BPID"
	SERVERS=
done

# The tables: sums over the rounds; the ratios are gilly's over the
# ceiling's.
awk -v tck="$TCK" '
{
	k = $1 " " $2 " " $3
	if (!(k in n)) order[++nk] = k
	n[k] += $4; s[k] += $5; p50[k] += $6; p99[k] += $7; cpu[k] += $8
	wcpu[k] += $9; runs[k]++
	# The figures of each round, for the spread of the ratios.
	rr[k, runs[k]] = $5 ? $4 / $5 : 0
	rc[k, runs[k]] = $4 ? $8 * 1e6 / tck / $4 : 0
}
# "lo-hi": the lowest and highest ratio gilly/ceiling of figure a (rr
# or rc) in a round.
function spread(c, g, a,    r, x, lo, hi) {
	for (r = 1; r <= runs[c] && r <= runs[g]; r++) {
		if (a == "rr") x = rr[c, r] ? rr[g, r] / rr[c, r] : 0
		else x = rc[c, r] ? rc[g, r] / rc[c, r] : 0
		if (r == 1 || x < lo) lo = x
		if (r == 1 || x > hi) hi = x
	}
	return sprintf("%.2f-%.2f", lo, hi)
}
function rps(k) { return n[k] / s[k] }
function cpr(k) { return n[k] ? cpu[k] * 1e6 / tck / n[k] : 0 }
function wpr(k) { return n[k] ? wcpu[k] * 1e6 / tck / n[k] : 0 }
END {
	print ""
	print "Throughput: requests/s of the pair, latency in µs; CPU: the server'"'"'s"
	print "µs per request (lighttpd and workers), and the workers'"'"' alone;"
	print "the ratios over all rounds, then the lowest and highest of a round"
	printf "| %-5s | %7s | %9s | %9s | %5s | %9s | %13s | %13s | %8s | %9s | %5s | %9s | %7s | %7s |\n",
	    "proto", "workers", "ceil r/s", "gilly r/s", "ratio", "rounds",
	    "ceil p50/p99", "gilly p50/p99", "ceil CPU", "gilly CPU", "ratio",
	    "rounds", "ceil wk", "gilly wk"
	for (i = 1; i <= nk; i++) {
		split(order[i], f, " ")
		if (f[3] != "ceiling" || f[1] !~ /^h[12]$/) continue
		c = order[i]; g = f[1] " " f[2] " gilly"
		printf "| %-5s | %7s | %9.0f | %9.0f | %5.2f | %9s | %6.0f/%6.0f | %6.0f/%6.0f | %8.1f | %9.1f | %5.2f | %9s | %7.1f | %7.1f |\n",
		    f[1] == "h1" ? "1.1" : "2", f[2], rps(c), rps(g),
		    rps(g) / rps(c), spread(c, g, "rr"), p50[c] / runs[c],
		    p99[c] / runs[c], p50[g] / runs[g], p99[g] / runs[g],
		    cpr(c), cpr(g), cpr(c) ? cpr(g) / cpr(c) : 0,
		    spread(c, g, "rc"), wpr(c), wpr(g)
	}
	print ""
	print "Latency (µs): one connection, one request at a time; then a fixed rate;"
	print "with the server'"'"'s CPU µs per request (lighttpd and workers / workers)"
	printf "| %-28s | %13s | %13s | %8s | %13s | %13s |\n", "run",
	    "ceil p50/p99", "gilly p50/p99", "p50 diff", "ceil CPU/wk",
	    "gilly CPU/wk"
	for (i = 1; i <= nk; i++) {
		split(order[i], f, " ")
		if (f[3] !~ /^ceiling-/) continue
		c = order[i]; g = f[1] " " f[2] " gilly-" substr(f[3], 9)
		if (f[1] == "h1") what = "HTTP/1.1 unloaded"
		else if (f[1] == "h2-one") what = "HTTP/2 unloaded"
		else if (f[1] == "h1-rate") what = "HTTP/1.1 at " int(rps(c) + 0.5) " req/s"
		else what = "HTTP/2 at " int(rps(c) + 0.5) " req/s"
		printf "| %-28s | %6.0f/%6.0f | %6.0f/%6.0f | %8.0f | %6.1f/%6.1f | %6.1f/%6.1f |\n",
		    what, p50[c] / runs[c], p99[c] / runs[c], p50[g] / runs[g],
		    p99[g] / runs[g], p50[g] / runs[g] - p50[c] / runs[c],
		    cpr(c), wpr(c), cpr(g), wpr(g)
	}
	if (!baseline) exit
	print ""
	print "The baseline (" baseline ") in the same rounds: its figures and"
	print "ratios to the ceiling'"'"'s, then gilly'"'"'s figures over the baseline'"'"'s"
	printf "| %-5s | %7s | %9s | %5s | %8s | %5s | %7s | %14s | %14s | %13s |\n",
	    "proto", "workers", "base r/s", "ratio", "base CPU", "ratio",
	    "base wk", "gilly/base r/s", "gilly/base CPU", "gilly/base wk"
	for (i = 1; i <= nk; i++) {
		split(order[i], f, " ")
		if (f[3] != "baseline") continue
		b = order[i]; c = f[1] " " f[2] " ceiling"; g = f[1] " " f[2] " gilly"
		printf "| %-5s | %7s | %9.0f | %5.2f | %8.1f | %5.2f | %7.1f | %14.2f | %14.2f | %13.2f |\n",
		    f[1] == "h1" ? "1.1" : "2", f[2], rps(b), rps(b) / rps(c),
		    cpr(b), cpr(c) ? cpr(b) / cpr(c) : 0, wpr(b),
		    rps(g) / rps(b), cpr(b) ? cpr(g) / cpr(b) : 0,
		    wpr(b) ? wpr(g) / wpr(b) : 0
	}
}' baseline="$BASELINE_NAME" "$TMP/results"
echo
echo "Memory (KiB) at the start and after the runs (requests served): the"
echo "largest worker's RSS; the whole server's (lighttpd and workers) RSS, PSS"
echo "(sums), and its pages each counted once, as its pod's cgroup would"
printf "| %-7s | %-8s | %15s | %17s | %17s | %17s | %8s |\n" workers \
    server "worker RSS" "server RSS" "server PSS" "server once" requests
awk '{ printf "| %-7s | %-8s | %6s -> %6s | %7s -> %7s | %7s -> %7s | %7s -> %7s | %8s |\n",
    $1, $2, $3, $7, $4, $8, $5, $9, $6, $10, $11 }' "$TMP/memory"
