#!/bin/sh
# tests/https-reload.sh: the table reloaded behind the real lighttpd. The
# table is mounted as Kubernetes mounts a ConfigMap (gilly.yaml ->
# ..data/gilly.yaml, ..data -> ..TIMESTAMP) and updated as the kubelet
# updates it, by swapping the ..data link. After each swap, every request
# is answered from the new table, by whichever worker: through lighttpd
# (clients at once, so that every worker serves) and on each worker's own
# socket. A broken table leaves the last good one in force, logged with
# its position; /healthz stays 200; a fixed one is used at once. A worker
# that served nothing while a good table came and went answers from it
# all the same (the workers share their last good table), and a worker
# killed and respawned while the table is broken starts from it.

. "$(dirname "$0")/https-lib.sh"
need_cmd cgi-fcgi base64

FIXTURE=$SRCDIR/tests/fixtures/pod-create-gcr.json
IMAGE=sgryczan/rocket:latest
CLIENTS=4
REPEAT=3

# The ConfigMap volume, in place of https-lib.sh's plain copy of the table.
CM=$TMP/configmap
mkdir "$CM"
HTTPS_TABLE=$CM/gilly.yaml

# cm_write TS: stdin becomes gilly.yaml of a new version ..TS, published as
# the kubelet does: a new link renamed over ..data, the old data removed.
cm_write() {
	mkdir "$CM/..$1"
	cat >"$CM/..$1/gilly.yaml"
	_old=$(readlink "$CM/..data" || :)
	ln -s "..$1" "$CM/..data_tmp"
	mv -T "$CM/..data_tmp" "$CM/..data"
	[ -z "$_old" ] || rm -rf "${CM:?}/$_old"
}

# table MIRROR: a table sending gcr.io to MIRROR.
table() {
	printf 'mirrors:\n  gcr.io: %s\n  quay.io: quay.mirror.example\n' "$1"
}

# rewritten FILE: the image of the first container in the patch of the
# response in FILE.
rewritten() {
	jq -r '.response.patch // empty' "$1" 2>/dev/null |
	    base64 -d 2>/dev/null | jq -r '.[] |
	    select(.path == "/spec/containers/0/image") | .value' \
	    2>/dev/null || :
}

# worker_post SOCKET OUT: POST the review to the one worker behind SOCKET,
# past lighttpd; the response's body into OUT.
worker_post() {
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST \
	    REQUEST_URI=/mutate SERVER_PROTOCOL=HTTP/1.1 \
	    CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c <"$FIXTURE")" \
	    cgi-fcgi -bind -connect "$1" <"$FIXTURE" 2>/dev/null |
	    sed '1,/^\r\{0,1\}$/d' >"$2" || :
}

# everywhere NAME MIRROR: CLIENTS clients at once, REPEAT reviews each on
# one connection, then one review on each worker's socket: every one
# rewritten to MIRROR.
everywhere() {
	_name=$1
	_mirror=$2
	_pids=
	for _c in $(seq "$CLIENTS"); do
		set --
		for _r in $(seq "$REPEAT"); do
			[ $# -eq 0 ] || set -- "$@" --next
			set -- "$@" --cacert "$HTTPS_CA" --max-time 10 \
			    -o "$TMP/resp.$_c.$_r" \
			    -H 'Content-Type: application/json' \
			    --data-binary "@$FIXTURE" "$HTTPS_URL/mutate"
		done
		curl -sS "$@" 2>>"$TMP/curl.err" &
		_pids="$_pids $!"
	done
	# shellcheck disable=SC2086
	wait $_pids || :
	for _s in $(https_worker_sockets); do
		worker_post "$_s" "$TMP/resp.$(basename "$_s")"
	done
	_bad=0
	_n=0
	for _f in "$TMP"/resp.*; do
		_n=$((_n + 1))
		_got=$(rewritten "$_f")
		[ "$_got" = "$_mirror/$IMAGE" ] && continue
		_bad=$((_bad + 1))
		echo "# $(basename "$_f"): ${_got:-no rewrite}"
	done
	rm -f "$TMP"/resp.*
	_want=$((CLIENTS * REPEAT + HTTPS_WORKERS))
	if [ "$_bad" -eq 0 ] && [ "$_n" -eq "$_want" ]; then
		pass "$_name: all $_n reviews rewritten to $_mirror"
	else
		fail "$_name: $_bad of $_n reviews (of $_want) not rewritten" \
		    "to $_mirror"
	fi
}

# healthy NAME: /healthz 200 through lighttpd, three times.
healthy() {
	_ok=0
	for _i in 1 2 3; do
		[ "$(https_status /healthz)" = 200 ] && _ok=$((_ok + 1))
	done
	check "$1: /healthz 200" test "$_ok" -eq 3
}

# scrape_all NAME SERIES WANT: SERIES is WANT in /metrics from each worker.
scrape_all() {
	for _s in $(https_worker_sockets); do
		https_worker_metrics "$_s" "$TMP/metrics"
		expect_metric "$1 ($(basename "$_s"))" "$TMP/metrics" "$2" "$3"
	done
}

table mirror-a.example | cm_write 2026_01_01_00_00_00.000000001
ln -s ..data/gilly.yaml "$CM/gilly.yaml"

if https_start; then
	pass "lighttpd answers /healthz on 127.0.0.1:$HTTPS_PORT"
else
	fail "lighttpd did not start"
	finish
fi
check "$HTTPS_WORKERS workers" \
    test "$(https_workers | grep -c .)" -eq "$HTTPS_WORKERS"
everywhere "the first table" mirror-a.example

table mirror-b.example | cm_write 2026_01_01_00_01_00.000000002
everywhere "after a ConfigMap update" mirror-b.example
scrape_all "after a ConfigMap update" gilly_table_reloads_total \
    "$HTTPS_WORKERS"
log_wait "$HTTPS_ERR" "[Config] $HTTPS_TABLE changed: reloaded, 2 rules" \
    "$HTTPS_WORKERS" || :
log_settle
check "the reload logged by every worker" test "$(grep -cF \
    "[Config] $HTTPS_TABLE changed: reloaded, 2 rules" "$HTTPS_ERR")" \
    -eq "$HTTPS_WORKERS"

# Broken: the last good table stays; each worker says where, once.
printf 'mirrors:\n  gcr.io: mirror-c.example\n  gcr.io: mirror-x.example\n' |
    cm_write 2026_01_01_00_02_00.000000003
everywhere "a broken table" mirror-b.example
everywhere "a broken table, more requests" mirror-b.example
healthy "a broken table"
log_wait "$HTTPS_ERR" "[Config] $HTTPS_TABLE:3:3: duplicate source \"gcr.io\"" \
    "$HTTPS_WORKERS" || :
log_settle
check "the error logged once by every worker, with its position" \
    test "$(grep -cF "[Config] $HTTPS_TABLE:3:3: duplicate source \"gcr.io\"" \
    "$HTTPS_ERR")" -eq "$HTTPS_WORKERS"
scrape_all "a broken table" 'gilly_errors_total{kind="table_reload"}' \
    "$HTTPS_WORKERS"
scrape_all "a broken table" gilly_table_rules 2

# Fixed: the newest table, at once.
table mirror-d.example | cm_write 2026_01_01_00_03_00.000000004
everywhere "a fixed table" mirror-d.example
scrape_all "a fixed table" gilly_table_reloads_total \
    $((2 * HTTPS_WORKERS))

# A good table read by one worker alone, then a broken one: the other
# worker, idle meanwhile, never saw the good one on disk, yet answers
# from it.
set -- $(https_worker_sockets)
if [ $# -ge 2 ]; then
	table mirror-e.example | cm_write 2026_01_01_00_04_00.000000005
	worker_post "$1" "$TMP/one.json"
	check "one worker alone reads the next table" \
	    [ "$(rewritten "$TMP/one.json")" = "mirror-e.example/$IMAGE" ]
	printf 'mirrors:\n  gcr.io: [unclosed\n' |
	    cm_write 2026_01_01_00_05_00.000000006
	worker_post "$2" "$TMP/two.json"
	_got=$(rewritten "$TMP/two.json")
	check "the idle worker answers from the table it never read ($_got)" \
	    [ "$_got" = "mirror-e.example/$IMAGE" ]
	check "the idle worker says so" log_wait "$HTTPS_ERR" \
	    'the last good table, read since by another worker, is now in force'
	everywhere "after the table broke again" mirror-e.example
else
	fail "$HTTPS_WORKERS workers, $# sockets: the idle-worker check needs 2"
fi

# Killed while the table is broken: the respawned worker cannot load the
# file, and starts from the last good table instead of failing.
victim=$(https_workers | head -n 1)
kill -KILL "$victim"
check "a worker killed while the table is broken is respawned" \
    https_respawned "$victim"
check "the respawned worker starts from the last good table" log_wait \
    "$HTTPS_ERR" \
    'starting from the last good table read by another worker (2 rules)'
everywhere "after the respawn" mirror-e.example
healthy "after the respawn"

# post_to SOCKET NAME MIRROR: one review on the worker behind SOCKET is
# rewritten to MIRROR.
post_to() {
	worker_post "$1" "$TMP/one.json"
	_got=$(rewritten "$TMP/one.json")
	if [ "$_got" = "$3/$IMAGE" ]; then
		pass "$2"
	else
		fail "$2: rewritten to ${_got:-nothing}, expected $3/$IMAGE"
	fi
}

broken() {
	printf 'mirrors:\n  gcr.io: [unclosed\n'
}

# The same broken bytes again, after one worker read a good table in
# between: the other, which read those bytes before, still moves to it.
set -- $(https_worker_sockets)
if [ $# -ge 2 ]; then
	table mirror-f.example | cm_write 2026_01_01_00_06_00.000000007
	post_to "$1" "a good table, read by the first worker" mirror-f.example
	broken | cm_write 2026_01_01_00_07_00.000000008
	post_to "$2" "the same broken bytes again: the second worker takes it" \
	    mirror-f.example
	post_to "$1" "the same broken bytes again: the first worker keeps it" \
	    mirror-f.example

	# A table put back: the worker that reads it again makes it the
	# last good one, though another worker read a later one before.
	table mirror-f.example | cm_write 2026_01_01_00_07_30.000000008
	post_to "$2" "the second worker reads that table itself" \
	    mirror-f.example
	table mirror-g.example | cm_write 2026_01_01_00_08_00.000000009
	post_to "$1" "a later table, read by the first worker" mirror-g.example
	table mirror-f.example | cm_write 2026_01_01_00_09_00.000000010
	post_to "$2" "the earlier table put back, read by the second worker" \
	    mirror-f.example
	broken | cm_write 2026_01_01_00_10_00.000000011
	post_to "$1" "then broken: the first worker takes the table put back" \
	    mirror-f.example
	post_to "$2" "then broken: the second worker keeps it" \
	    mirror-f.example
	everywhere "the table put back, then broken" mirror-f.example
fi

if https_log_clean >/dev/null; then
	pass "no sanitizer report or worker crash in the server log"
else
	fail "the server log has a sanitizer report or a worker crash"
	https_show_log
fi
check "stopped, workers included" https_stop
finish
