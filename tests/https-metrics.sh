#!/bin/sh
# tests/https-metrics.sh: GET /metrics behind the real lighttpd and its
# workers. Reviews POSTed by parallel clients, over several connections,
# are served by several workers; the counters then hold exactly the totals
# of what was sent, whichever worker answers /metrics (through lighttpd,
# and each worker on its own socket). A worker killed with SIGKILL and
# respawned loses none of them.

. "$(dirname "$0")/https-lib.sh"
need_cmd cgi-fcgi

FIX=$SRCDIR/tests/fixtures
# A round of fixtures, and what the table (conf/gilly.yaml) makes of each:
#	pod-create-gcr		patched: gcr.io
#	pod-create-init		patched: docker.io twice, quay.io
#	pod-create-deployment	patched: docker.io
#	pod-create-v1beta1	patched: k8s.gcr.io
#	pod-create-nothing	unchanged
ROUND="pod-create-gcr pod-create-init pod-create-deployment
pod-create-v1beta1 pod-create-nothing"
CLIENTS=$((HTTPS_WORKERS < 2 ? 4 : 2 * HTTPS_WORKERS))	# clients at once
REPEAT=3	# rounds each client sends over its one connection
# Bytes a worker reads for two reviews, about: proof that it served.
SERVED_BYTES=8000

# client N: one curl, one connection, REPEAT rounds; the statuses, one a
# line, into $TMP/client.N.
client() {
	_n=$1
	set --
	for _r in $(seq "$REPEAT"); do
		for _f in $ROUND; do
			[ $# -eq 0 ] || set -- "$@" --next
			set -- "$@" --cacert "$HTTPS_CA" --max-time 10 \
			    -o /dev/null -w '%{http_code}\n' \
			    -H 'Content-Type: application/json' \
			    --data-binary "@$FIX/$_f.json" "$HTTPS_URL/mutate"
		done
	done
	curl -sS "$@" >"$TMP/client.$_n" 2>>"$TMP/client.err" || :
}

# round: CLIENTS clients at once; adds the reviews answered 200 to $sent,
# and fails for any other status.
round() {
	_pids=
	for _c in $(seq "$CLIENTS"); do
		client "$_c" &
		_pids="$_pids $!"
	done
	# shellcheck disable=SC2086
	wait $_pids || :
	_ok=$(cat "$TMP"/client.* | grep -c '^200$' || :)
	_all=$(cat "$TMP"/client.* | grep -c . || :)
	rm -f "$TMP"/client.[0-9]*
	[ "$_ok" -eq "$((CLIENTS * REPEAT * 5))" ] ||
	    fail "a round: $_ok of $_all reviews answered 200"
	rounds=$((rounds + 1))
}

# served: two workers of $workers (or the one) have read SERVED_BYTES more
# than at the start ($TMP/reads.PID): the totals are then sums over
# processes. (Every worker gets requests only when that many are in flight
# at once: lighttpd gives a request to the first of the least busy.)
served() {
	_n=0
	for _w in $workers; do
		_now=$(https_worker_reads "$_w")
		[ -n "$_now" ] || continue
		[ "$((_now - $(cat "$TMP/reads.$_w")))" -lt "$SERVED_BYTES" ] ||
		    _n=$((_n + 1))
	done
	[ "$_n" -ge 2 ] || [ "$_n" -ge "$HTTPS_WORKERS" ]
}

# totals FILE NAME: the exposition in FILE holds the totals of $rounds
# rounds, of the errors sent, and of the other metrics.
totals() {
	_r=$((rounds * CLIENTS * REPEAT))
	expect_metric "$2" "$1" 'gilly_reviews_total{result="patched"}' \
	    $((4 * _r))
	expect_metric "$2" "$1" 'gilly_reviews_total{result="unchanged"}' $_r
	expect_metric "$2" "$1" 'gilly_reviews_total{result="ignored"}' 0
	expect_metric "$2" "$1" 'gilly_reviews_total{result="excluded"}' 0
	expect_metric "$2" "$1" 'gilly_reviews_total{result="invalid"}' \
	    "$bad_json"
	expect_metric "$2" "$1" gilly_pods_patched_total $((4 * _r))
	expect_metric "$2" "$1" \
	    'gilly_images_rewritten_total{registry="gcr.io"}' $_r
	expect_metric "$2" "$1" \
	    'gilly_images_rewritten_total{registry="docker.io"}' $((3 * _r))
	expect_metric "$2" "$1" \
	    'gilly_images_rewritten_total{registry="quay.io"}' $_r
	expect_metric "$2" "$1" \
	    'gilly_images_rewritten_total{registry="k8s.gcr.io"}' $_r
	expect_metric "$2" "$1" \
	    'gilly_images_rewritten_total{registry="other"}' 0
	expect_metric "$2" "$1" 'gilly_errors_total{kind="method"}' "$method"
	expect_metric "$2" "$1" \
	    'gilly_errors_total{kind="unsupported_media"}' "$media"
	expect_metric "$2" "$1" 'gilly_errors_total{kind="bad_request"}' \
	    "$bad_json"
	expect_metric "$2" "$1" 'gilly_errors_total{kind="table_reload"}' 0
	expect_metric "$2" "$1" gilly_review_duration_seconds_count \
	    $((5 * _r + bad_json))
	expect_metric "$2" "$1" \
	    'gilly_review_duration_seconds_bucket{le="+Inf"}' \
	    $((5 * _r + bad_json))
	expect_metric "$2" "$1" gilly_table_rules "$rules"
	expect_metric "$2" "$1" gilly_table_reloads_total 0
	expect_metric "$2" "$1" gilly_workers "$HTTPS_WORKERS"
	expect_metric "$2" "$1" gilly_metrics_shared 1
}

# every_view NAME: /metrics through lighttpd, three times on separate
# connections, and from each worker on its own socket: the totals, the
# same in each.
every_view() {
	_st=$(https_metrics "$TMP/m.https")
	check "$1: GET /metrics through lighttpd: 200" test "$_st" = 200
	totals "$TMP/m.https" "$1, through lighttpd"
	for _i in 1 2 3; do
		https_metrics "$TMP/m.again" >/dev/null
		expect_same "$1: the same again ($_i)" "$TMP/m.https" \
		    "$TMP/m.again"
	done
	_n=0
	for _s in $(https_worker_sockets); do
		_n=$((_n + 1))
		https_worker_metrics "$_s" "$TMP/m.worker"
		expect_same "$1: worker $(basename "$_s") has the same" \
		    "$TMP/m.https" "$TMP/m.worker"
	done
	check "$1: every worker asked" test "$_n" -eq "$HTTPS_WORKERS"
}

rules=$("$GILLY" check-config "$HTTPS_TABLE" | sed 's/.*: \([0-9]*\) rules*$/\1/')

if https_start; then
	pass "lighttpd answers /healthz on 127.0.0.1:$HTTPS_PORT"
else
	fail "lighttpd did not start"
	finish
fi
workers=$(https_workers)
check "$HTTPS_WORKERS workers" test "$(echo "$workers" | grep -c .)" \
    -eq "$HTTPS_WORKERS"
for w in $workers; do
	https_worker_reads "$w" >"$TMP/reads.$w"
done

# Before any review: all zero, and the content type of the format.
https_curl -D "$TMP/head" -o "$TMP/m.start" "$HTTPS_URL/metrics" || :
check "GET /metrics: text format 0.0.4" \
    grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/head"
expect_metric "at the start" "$TMP/m.start" gilly_pods_patched_total 0
expect_metric "at the start" "$TMP/m.start" gilly_workers "$HTTPS_WORKERS"

# Rounds until the reviews are spread over workers.
rounds=0
round
while ! served && [ "$rounds" -lt 10 ]; do
	round
done
check "several workers served reviews ($rounds rounds)" served

# Every review of the rounds is in the log, once. A worker holds its lines
# while requests keep coming (fcgi/serve.c), and writes them once none has
# come for a moment: soon after the last round every worker has.
logged=0
for _i in 1 2 3 4 5 6 7 8 9 10; do
	logged=$(grep -c '\[Mutate\] Received POD' "$HTTPS_ERR" || :)
	[ "$logged" -ne "$((rounds * CLIENTS * REPEAT * 5))" ] || break
	sleep 0.2
done
check "each of $((rounds * CLIENTS * REPEAT * 5)) reviews logged ($logged)" \
    test "$logged" -eq "$((rounds * CLIENTS * REPEAT * 5))"

# Refusals, counted by kind. Anything else gilly never sees: lighttpd
# answers it (404 for other paths, 413 past the size limit).
method=0
for i in 1 2 3; do
	[ "$(https_status /mutate)" = 405 ] && method=$((method + 1))
done
check "GET /mutate: 405" test "$method" -eq 3
[ "$(https_status /metrics -X POST -d x)" = 405 ] && method=$((method + 1))
check "POST /metrics: 405" test "$method" -eq 4
media=0
for i in 1 2; do
	[ "$(https_status /mutate -H 'Content-Type: text/plain' \
	    --data-binary "@$FIX/pod-create-gcr.json")" = 415 ] &&
	    media=$((media + 1))
done
check "a review as text/plain: 415" test "$media" -eq 2
printf '{"kind":' >"$TMP/bad.json"
bad_json=0
[ "$(https_mutate "$TMP/bad.json" /dev/null)" = 400 ] &&
    bad_json=$((bad_json + 1))
check "bad JSON: 400" test "$bad_json" -eq 1

every_view "after $rounds rounds"
check "the exposition is the format's" \
    grep -q '^# TYPE gilly_review_duration_seconds histogram$' "$TMP/m.https"

# A worker killed: lighttpd respawns it, and the counts are all there.
victim=$(echo "$workers" | head -n 1)
kill -KILL "$victim"
check "a killed worker is respawned" https_respawned "$victim"
round
every_view "a worker killed, then one more round"

if https_log_clean >/dev/null; then
	pass "no sanitizer report or worker crash in the server log"
else
	fail "the server log has a sanitizer report or a worker crash"
	https_show_log
fi
check "stopped, workers included" https_stop
finish
