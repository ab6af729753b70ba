#!/bin/sh
# fcgi-reload.sh: a FastCGI worker reloads its table when the file changes,
# at the next request (one a millisecond or more after the change, as each
# of this script's is): a table mounted from a ConfigMap (the kubelet swaps
# a symbolic link), and a plain file rewritten in place or replaced. A
# table that does not load is logged with its position once, the last good
# one stays in force, /healthz stays 200, and the metrics count it all.
. "$(dirname "$0")/lib.sh"

need_cmd cgi-fcgi jq base64

REVIEW=$SRCDIR/tests/fixtures/pod-create-gcr.json
IMAGE=sgryczan/rocket:latest

# rewritten: the image of the first container in the last response's patch.
rewritten() {
	jq -r '.response.patch // empty' "$TMP/resp.body" 2>/dev/null |
	    base64 -d 2>/dev/null | jq -r '.[] |
	    select(.path == "/spec/containers/0/image") | .value' \
	    2>/dev/null || :
}

# expect_rewrite NAME MIRROR: the review's gcr.io image now goes to MIRROR.
expect_rewrite() {
	fcgi_request POST /mutate "$REVIEW"
	_got=$(rewritten)
	if [ "$status" = 200 ] && [ "$_got" = "$2/$IMAGE" ]; then
		pass "$1: rewritten to $2"
	else
		fail "$1: status $status, rewritten to ${_got:-nothing}," \
		    "expected $2/$IMAGE"
	fi
}

# healthy NAME: /healthz answers 200.
healthy() {
	fcgi_request GET /healthz
	check "$1: /healthz 200" test "$status" = 200
}

# scrape: GET /metrics into $TMP/metrics.
scrape() {
	fcgi_request GET /metrics
	cp "$TMP/resp.body" "$TMP/metrics"
}

# logged_once NAME TEXT: the worker's log holds TEXT on exactly one line.
logged_once() {
	log_wait "$FCGI_LOG" "$2" || :
	log_settle
	_n=$(grep -cF -- "$2" "$FCGI_LOG" || :)
	if [ "$_n" -eq 1 ]; then
		pass "$1: logged once"
	else
		fail "$1: \"$2\" logged $_n times in:"
		sed 's/^/	/' "$FCGI_LOG"
	fi
}

# table MIRROR: a table sending gcr.io to MIRROR.
table() {
	printf 'mirrors:\n  gcr.io: %s\n' "$1"
}

# stop_worker: stop the worker of fcgi_start, and remove its socket; its
# log holds no sanitizer report (a build with --enable-sanitizers).
stop_worker() {
	kill "$FCGI_PID"
	fcgi_gone || hard_error "the worker did not stop"
	fcgi_log_clean
}

# --- a ConfigMap volume: gilly.yaml -> ..data/gilly.yaml, ..data -> ..TS

CM=$TMP/configmap
mkdir "$CM"

# cm_publish TS: make ..TS (already written) the ConfigMap's data as the
# kubelet does: a new link renamed over ..data, then the old data removed.
cm_publish() {
	_old=$(readlink "$CM/..data" || :)
	ln -s "..$1" "$CM/..data_tmp"
	mv -T "$CM/..data_tmp" "$CM/..data"
	[ -z "$_old" ] || rm -rf "${CM:?}/$_old"
}

# cm_write TS: stdin becomes gilly.yaml of a new version ..TS, published.
cm_write() {
	mkdir "$CM/..$1"
	cat >"$CM/..$1/gilly.yaml"
	cm_publish "$1"
}

table mirror-a.example | cm_write 2026_01_01_00_00_00.000000001
ln -s ..data/gilly.yaml "$CM/gilly.yaml"

fcgi_start -c "$CM/gilly.yaml"
check "the worker runs" fcgi_alive
expect_rewrite "the first table" mirror-a.example
scrape
expect_metric "first table" "$TMP/metrics" gilly_table_rules 1
expect_metric "first table" "$TMP/metrics" gilly_table_reloads_total 0
expect_metric "first table" "$TMP/metrics" \
    'gilly_errors_total{kind="table_reload"}' 0
expect_metric "first table" "$TMP/metrics" gilly_metrics_shared 1
check "the metrics file lies next to the socket" \
    test -s "$TMP/gilly.sock.metrics"

# A new version, two rules: the very next request uses it.
printf 'mirrors:\n  gcr.io: mirror-b.example\n  quay.io: q.example\n' |
    cm_write 2026_01_01_00_00_01.000000002
expect_rewrite "symlink swap" mirror-b.example
logged_once "symlink swap" "[Config] $CM/gilly.yaml changed: reloaded, 2 rules"
scrape
expect_metric "symlink swap" "$TMP/metrics" gilly_table_rules 2
expect_metric "symlink swap" "$TMP/metrics" gilly_table_reloads_total 1

# A broken version: the last good table stays in force, the error is
# logged once, with the file's name, line and column, however many
# requests follow.
printf 'mirrors:\n  gcr.io: mirror-c.example\n  gcr.io: mirror-x.example\n' |
    cm_write 2026_01_01_00_00_02.000000003
expect_rewrite "broken table" mirror-b.example
expect_rewrite "broken table, again" mirror-b.example
expect_rewrite "broken table, a third time" mirror-b.example
healthy "broken table"
logged_once "broken table" "[Config] $CM/gilly.yaml:3:3: duplicate source \"gcr.io\""
expect_logged "broken table: the old one stays" \
    "the table loaded before stays in force (2 rules)" "$FCGI_LOG"
# The same position as gilly check-config reports.
"$GILLY" check-config "$CM/gilly.yaml" >/dev/null 2>"$TMP/check.err" || :
expect_logged "broken table: as check-config says" "$(cat "$TMP/check.err")" \
    "$FCGI_LOG"
scrape
expect_metric "broken table" "$TMP/metrics" gilly_table_rules 2
expect_metric "broken table" "$TMP/metrics" gilly_table_reloads_total 1
expect_metric "broken table" "$TMP/metrics" \
    'gilly_errors_total{kind="table_reload"}' 1

# Fixed: the newest table.
table mirror-d.example | cm_write 2026_01_01_00_00_03.000000004
expect_rewrite "fixed table" mirror-d.example
scrape
expect_metric "fixed table" "$TMP/metrics" gilly_table_rules 1
expect_metric "fixed table" "$TMP/metrics" gilly_table_reloads_total 2

# A version without the file: kept, said once; back: loaded.
mkdir "$CM/..2026_01_01_00_00_04.000000005"
cm_publish 2026_01_01_00_00_04.000000005
expect_rewrite "table gone" mirror-d.example
expect_rewrite "table gone, again" mirror-d.example
healthy "table gone"
logged_once "table gone" "[Config] $CM/gilly.yaml: No such file or directory"
table mirror-e.example | cm_write 2026_01_01_00_00_05.000000006
expect_rewrite "table back" mirror-e.example
scrape
expect_metric "table back" "$TMP/metrics" gilly_table_reloads_total 3
expect_metric "table back" "$TMP/metrics" \
    'gilly_errors_total{kind="table_reload"}' 2

check "the worker survived" fcgi_alive
check "nothing on the worker's stdout" test ! -s "$TMP/fcgi.stdout"
stop_worker

# --- a plain file, and a metrics file named by GILLY_METRICS_FILE

PLAIN=$TMP/plain.yaml
GILLY_METRICS_FILE=$TMP/plain.metrics
export GILLY_METRICS_FILE
table mirror-f.example >"$PLAIN"
fcgi_start -c "$PLAIN"
expect_rewrite "plain file" mirror-f.example

# Rewritten in place, the same size, twice within a few milliseconds: the
# second write may leave the stat as the first left it (timestamps are
# coarse), and must not be missed.
table mirror-g.example >"$PLAIN"
expect_rewrite "rewritten in place" mirror-g.example
table mirror-h.example >"$PLAIN"
expect_rewrite "rewritten in place again at once" mirror-h.example

# Replaced by a rename, as editors and configuration tools do.
table mirror-i.example >"$TMP/plain.new"
mv "$TMP/plain.new" "$PLAIN"
expect_rewrite "replaced by rename" mirror-i.example

# The same bytes written again: nothing to reload.
table mirror-i.example >"$PLAIN"
expect_rewrite "the same bytes" mirror-i.example

# Broken in place, then fixed.
printf 'mirrors:\n  gcr.io: "mirror j!"\n' >"$PLAIN"
expect_rewrite "broken in place" mirror-i.example
logged_once "broken in place" "[Config] $PLAIN:2:11: invalid target"
table mirror-k.example >"$PLAIN"
expect_rewrite "fixed in place" mirror-k.example

scrape
check "GILLY_METRICS_FILE is the metrics file" test -s "$GILLY_METRICS_FILE"
expect_grep "/metrics: the exposition format" \
    "Content-Type: text/plain; version=0.0.4" "$TMP/resp.head"
expect_metric "plain file" "$TMP/metrics" gilly_table_reloads_total 4
expect_metric "plain file" "$TMP/metrics" \
    'gilly_errors_total{kind="table_reload"}' 1
expect_metric "plain file" "$TMP/metrics" \
    'gilly_reviews_total{result="patched"}' 7
expect_metric "plain file" "$TMP/metrics" \
    'gilly_images_rewritten_total{registry="gcr.io"}' 7
check "the worker survived" fcgi_alive
stop_worker

# --- a metrics file that cannot be used: said once, counted alone

GILLY_METRICS_FILE=$TMP/no/such/dir/gilly.metrics
fcgi_start -c "$PLAIN"
expect_rewrite "metrics file unusable" mirror-k.example
scrape
expect_metric "metrics file unusable" "$TMP/metrics" gilly_metrics_shared 0
expect_metric "metrics file unusable" "$TMP/metrics" \
    'gilly_reviews_total{result="patched"}' 1
logged_once "metrics file unusable" \
    "[Metrics] $GILLY_METRICS_FILE: No such file or directory"
stop_worker

finish
