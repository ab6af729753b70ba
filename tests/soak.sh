#!/bin/sh
# tests/soak.sh: make soak. Minutes of reviews through the real lighttpd
# over TLS, while workers are killed, the table is reloaded (good and
# broken versions) and the certificate renewed; every answer is checked and
# the figures reported. Not part of make check: it takes minutes.
#
#	SOAK_SECONDS	how long the load lasts (180; 20 at least)
#	SOAK_WORKERS	gilly workers (4)
#	SOAK_CLIENTS	HTTP/1.1 keep-alive clients (3), SOAK_H2_CLIENTS
#			HTTP/2 clients (1): processes, each sending one
#			request after another (HTTP/2: batches of 50, 10 at
#			once on one connection); the first client steadily,
#			the others in bursts with idle pauses
#	SOAK_RENEWALS	certificate renewals, in the first half of the run (3)
#	SOAK_SEED	the faults' and the requests' random seed (random;
#			printed, to run the same schedule again)
#	SOAK_LOGS	a directory to copy the logs to (none)
#	SOAK_ALLOW_BEHIND  1: answers from an older good table than the last
#			one, while a broken table is on disk, are reported
#			but not counted as wrong (0)
#	SOAK_SANITIZED	1: gilly is built with the sanitizers (make soak
#			says so), whose quarantine holds freed memory: the
#			workers' growth is reported, not bounded (0)
#
# What happens, and what is checked:
# - Reviews (tests/fixtures/*.json, tests/data/*.json), each with a uid of
#   its own, and 5% malformed bodies (tests/soak-load.py). Each answer must
#   be the CLI's answer to the same review under table A or under table B
#   (the two good tables, which send every registry to mirrors of their
#   own: mirror-a.example, mirror-b.example), with its uid, and its image
#   patches must all point at one table's mirrors (a mix would be a
#   half-loaded table). The table it came from must have been the last
#   good one published at some moment while the request was in flight
#   (or in the millisecond before it, in which a busy worker may not have
#   looked yet): not an older one, neither after a good version (the
#   requests after it use it) nor after a broken one (the last good one
#   stays in force). A
#   malformed body must get a 400 with a JSON error body. A 5xx is counted
#   as an error, a request without an answer as a connection failure, each
#   with the fault it happened during (a kill, a restart, a broken table
#   with a killed worker that cannot come back); anything else is a wrong
#   answer.
# - Faults (tests/soak-faults.py): SIGKILL to a random worker but the
#   oldest every 2-6 s (none with one worker); a new version of the table
#   every 1-4 s, published as the kubelet publishes a ConfigMap (symlink
#   swap): A and B in turn, and 30% of the time a broken one (bad YAML, a
#   duplicate source, a bad target, cut short, empty, binary, missing);
#   the certificate renewed by lighttpd/gencert.sh, which serve.sh notices
#   (it looks every second here) and answers with a graceful restart of
#   lighttpd. From a renewal to that restart, no broken table is
#   published (soak-faults.py says why).
# - Memory: VmRSS of lighttpd and of every worker, each second. A restart
#   replaces every worker, so the workers that live through the run live
#   from the last renewal (plus a warm-up of 10 s) to the end: the oldest
#   worker is never killed, and none may grow by more than 20%; nor may
#   lighttpd from the end of its warm-up to the end.
# - The run fails on any wrong answer, any error or connection failure
#   outside the window of a fault (a kill: 1 s; a restart, a broken table:
#   until 3 s after it is over), a worker that crashed (a signal other than
#   our SIGKILL) or a sanitizer report in the server's log, a renewal not
#   served, lighttpd gone, memory past its bound, or anything of serve.sh,
#   lighttpd or the workers still running after serve.sh's SIGTERM.
#   Everything it starts is stopped by PID at exit, even on failure.
#
# Everything talks to 127.0.0.1 only.

. "$(dirname "$0")/https-lib.sh"
need_cmd cksum od
need_python

: "${SOAK_SECONDS:=180}"
: "${SOAK_WORKERS:=4}"
: "${SOAK_CLIENTS:=3}"
: "${SOAK_H2_CLIENTS:=1}"
: "${SOAK_RENEWALS:=3}"
: "${SOAK_SEED:=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
: "${SOAK_LOGS:=}"
: "${SOAK_ALLOW_BEHIND:=0}"
: "${SOAK_SANITIZED:=0}"
# The bounds, and the time given each fault to settle.
WARMUP=10
MEM_GROWTH=20
[ "$SOAK_SANITIZED" = 0 ] || MEM_GROWTH=null
LIGHTTPD_GROWTH=20
SETTLE=3
for v in "$SOAK_SECONDS" "$SOAK_WORKERS" "$SOAK_CLIENTS" \
    "$SOAK_H2_CLIENTS" "$SOAK_RENEWALS" "$SOAK_SEED" "$SOAK_ALLOW_BEHIND" \
    "$SOAK_SANITIZED"; do
	case $v in
	'' | *[!0-9]*) hard_error "SOAK_* must be whole numbers: \"$v\"" ;;
	esac
done
[ "$SOAK_SECONDS" -ge 20 ] || hard_error "SOAK_SECONDS: 20 at least"
[ "$SOAK_WORKERS" -ge 1 ] || hard_error "SOAK_WORKERS: 1 at least"
HTTPS_WORKERS=$SOAK_WORKERS
GILLY_TLS_POLL=1

WORK=$TMP/soak
TABLES=$TMP/tables
mkdir "$WORK" "$TABLES"

# --- the tables -------------------------------------------------------------

# A and B: the example table, each with mirrors of its own.
sed -e 's/my\.internal\.repo/mirror-a.example/g' \
    -e 's/harbor\.internal/harbor-a.example/g' \
    "$SRCDIR/conf/gilly.yaml" >"$TABLES/A.yaml"
sed -e 's/my\.internal\.repo/mirror-b.example/g' \
    -e 's/harbor\.internal/harbor-b.example/g' \
    "$SRCDIR/conf/gilly.yaml" >"$TABLES/B.yaml"
# Broken versions (and "missing": a version without the file).
printf 'mirrors:\n  gcr.io: [unclosed\n' >"$TABLES/syntax.yaml"
printf 'mirrors:\n  gcr.io: mirror-x.example\n  gcr.io: mirror-y.example\n' \
    >"$TABLES/duplicate.yaml"
printf 'mirrors:\n  gcr.io: "bad target!"\n' >"$TABLES/target.yaml"
# Table A cut inside a quoted string.
at=$(grep -b '^  "\*\.gcr\.io":' "$TABLES/A.yaml" | cut -d: -f1)
head -c $((at + 4)) "$TABLES/A.yaml" >"$TABLES/cut.yaml"
: >"$TABLES/empty.yaml"
printf 'mirrors:\n  gcr.io: \001\002\000\n' >"$TABLES/binary.yaml"
BROKEN="syntax duplicate target cut empty binary"
for t in A B; do
	"$GILLY" check-config "$TABLES/$t.yaml" >/dev/null ||
	    hard_error "table $t does not load"
done
for t in $BROKEN; do
	if "$GILLY" check-config "$TABLES/$t.yaml" >/dev/null 2>&1; then
		hard_error "the broken table $t loads"
	fi
done

# The ConfigMap volume: gilly.yaml -> ..data/gilly.yaml, ..data -> ..V.
CM=$TMP/configmap
mkdir "$CM" "$CM/..soak_000000"
cp "$TABLES/A.yaml" "$CM/..soak_000000/gilly.yaml"
ln -s ..soak_000000 "$CM/..data"
ln -s ..data/gilly.yaml "$CM/gilly.yaml"
HTTPS_TABLE=$CM/gilly.yaml

# --- the requests -----------------------------------------------------------

# load.json for soak-load.py (port and start filled in below).
load_json() {
	cat <<EOF
{"port": ${HTTPS_PORT:-0}, "ca": "$HTTPS_CA", "start": ${START:-0},
 "seconds": $SOAK_SECONDS, "clients": $SOAK_CLIENTS,
 "h2_clients": $SOAK_H2_CLIENTS, "bad_share": 0.05,
 "h2_batch": 50, "h2_streams": 10, "settle": $SETTLE,
 "mem_growth": $MEM_GROWTH, "lighttpd_growth": $LIGHTTPD_GROWTH,
 "allow_behind": $SOAK_ALLOW_BEHIND,
 "mirrors": {"A": ["mirror-a.example/", "harbor-a.example/"],
             "B": ["mirror-b.example/", "harbor-b.example/"]}}
EOF
}
load_json >"$WORK/load.json"
"$PYTHON" "$SRCDIR/tests/soak-load.py" prepare "$WORK" "$GILLY" \
    "$TABLES/A.yaml" "$TABLES/B.yaml" \
    "$SRCDIR"/tests/fixtures/*.json "$SRCDIR"/tests/data/*.json ||
    hard_error "soak-load.py prepare failed"

# --- the run ----------------------------------------------------------------

echo "# soak: $SOAK_SECONDS s, $SOAK_WORKERS workers, seed $SOAK_SEED"
https_start || {
	https_show_log
	hard_error "lighttpd did not start"
}
echo "# lighttpd $HTTPS_LIGHTTPD_PID on $HTTPS_URL, workers:" \
    "$(https_workers | tr '\n' ' ')"

# Everything below is stopped by PID at exit, whatever happens.
PIDS=
# shellcheck disable=SC2317 # run at exit (cleanup_add)
stop_ours() {
	for _p in $PIDS; do
		kill -TERM "$_p" 2>/dev/null || :
	done
	sleep 0.5
	for _p in $PIDS; do
		kill -KILL "$_p" 2>/dev/null || :
	done
}
cleanup_add stop_ours

START=$(($(date +%s) + 2))
load_json >"$WORK/load.json"
# table_json NAME GOOD: the table's entry in faults.json.
table_json() {
	printf '{"name": "%s", "file": "%s", "good": %s}, ' "$1" \
	    "$TABLES/$1.yaml" "$2"
}
# "missing": a version of the ConfigMap without the file.
tables_json=$(table_json A true; table_json B true
	for t in $BROKEN; do table_json "$t" false; done
	echo '{"name": "missing", "file": null, "good": false}')
cat >"$WORK/faults.json" <<EOF
{"seed": $SOAK_SEED, "start": $START, "seconds": $SOAK_SECONDS,
 "lighttpd_pid": $HTTPS_LIGHTTPD_PID, "serve_pid": $HTTPS_SERVE_PID,
 "workers": $SOAK_WORKERS, "configmap": "$CM", "initial_table": "A",
 "tables": [$tables_json], "broken_share": 0.3,
 "kill_every": [2, 6], "swap_every": [1, 4],
 "renewals": $SOAK_RENEWALS, "renew_timeout": 30, "warmup": $WARMUP,
 "stall": 20,
 "gencert": "$HTTPS_GENCERT", "tls_dir": "$HTTPS_TLS", "ca": "$HTTPS_CA",
 "port": $HTTPS_PORT, "server_log": "$HTTPS_ERR"}
EOF

"$PYTHON" "$SRCDIR/tests/soak-faults.py" "$WORK" 2>"$WORK/faults.err" &
FAULTS=$!
PIDS="$PIDS $FAULTS"
CLIENT_PIDS=
i=0
while [ $i -lt "$SOAK_CLIENTS" ]; do
	"$PYTHON" "$SRCDIR/tests/soak-load.py" client "$WORK" $i \
	    2>"$WORK/client.$i.err" &
	CLIENT_PIDS="$CLIENT_PIDS $!"
	i=$((i + 1))
done
i=0
while [ $i -lt "$SOAK_H2_CLIENTS" ]; do
	"$PYTHON" "$SRCDIR/tests/soak-load.py" h2 "$WORK" $i \
	    2>"$WORK/h2.$i.err" &
	CLIENT_PIDS="$CLIENT_PIDS $!"
	i=$((i + 1))
done
PIDS="$PIDS $CLIENT_PIDS"

# Each ends at the deadline by itself; the faults end early when lighttpd
# goes away, and then the clients are stopped. Bounded: 60 s past the
# deadline, whatever is left is killed.
faults_status=
limit=$((START + SOAK_SECONDS + 60))
while :; do
	left=
	for p in $PIDS; do
		https_alive "$p" && left="$left $p"
	done
	[ -n "$left" ] || break
	if [ -z "$faults_status" ] && ! https_alive "$FAULTS"; then
		faults_status=0
		wait "$FAULTS" || faults_status=$?
		if [ "$faults_status" -ne 0 ]; then
			echo "# soak-faults.py ended with status $faults_status:" \
			    "stopping the clients"
			for p in $CLIENT_PIDS; do
				kill -TERM "$p" 2>/dev/null || :
			done
		fi
	fi
	if [ "$(date +%s)" -ge "$limit" ]; then
		echo "# still running 60 s past the deadline:$left; killed"
		for p in $left; do
			kill -KILL "$p" 2>/dev/null || :
		done
		faults_status=${faults_status:-timeout}
	fi
	sleep 1
done
for p in $PIDS; do
	wait "$p" 2>/dev/null || :
done
[ -n "$faults_status" ] || faults_status=0
for f in "$WORK"/*.err; do
	[ -s "$f" ] || continue
	echo "# $(basename "$f"):"
	sed 's/^/#	/' "$f" | head -n 20
done

# The shared counters, for the record.
if https_alive "$HTTPS_LIGHTTPD_PID"; then
	https_metrics "$TMP/metrics" >/dev/null
	echo "# /metrics at the end:"
	grep -E '^gilly_(reviews_total|errors_total|table_reloads_total|workers)' \
	    "$TMP/metrics" | grep -v ' 0$' | sed 's/^/#	/' || :
fi

# serve.sh stops lighttpd, which stops the workers: then nothing may be
# left.
stopped=0
if https_alive "$HTTPS_SERVE_PID"; then
	if https_stop TERM; then
		echo "# stopped: serve.sh, lighttpd and the workers are gone"
	else
		echo "# NOT STOPPED: something is left running (killed at exit)"
		stopped=1
	fi
else
	echo "# serve.sh had already ended"
	https_show_log
	stopped=1
fi

status=0
"$PYTHON" "$SRCDIR/tests/soak-load.py" report "$WORK" || status=$?
if [ "$faults_status" != 0 ]; then
	echo "soak: FAILED: the faults ended with status $faults_status"
	[ "$status" -ne 0 ] || status=1
fi
if [ "$stopped" -ne 0 ]; then
	echo "soak: FAILED: serve.sh, lighttpd or a worker did not stop"
	[ "$status" -ne 0 ] || status=1
fi
if [ -n "$SOAK_LOGS" ]; then
	mkdir -p "$SOAK_LOGS"
	for f in "$WORK"/*.log "$WORK"/*.json "$WORK"/*.wrong "$WORK"/*.txt \
	    "$WORK"/*.err "$HTTPS_ERR"; do
		[ ! -f "$f" ] || cp "$f" "$SOAK_LOGS/"
	done
	echo "# logs kept in $SOAK_LOGS"
fi
exit "$status"
