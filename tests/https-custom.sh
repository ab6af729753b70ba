#!/bin/sh
# tests/https-custom.sh: gilly behind a lighttpd.conf of one's own: the
# pod's with its one worker on TCP, then also with request bodies streamed
# to the worker as they arrive (the pod's uses a unix socket and buffers
# bodies). Reviews are answered as the CLI answers them. A body refused
# unread (a wrong method or type, 4 MiB) is read to its end before the
# worker closes the connection (fcgi/finish.c), so that its TCP stack sends
# lighttpd no reset, which lighttpd would log as a dropped connection. A
# body still arriving is refused at once, not when it is complete. The
# server serves on after each.

. "$(dirname "$0")/https-lib.sh"
need_python

FIXTURE=$SRCDIR/tests/fixtures/pod-create-gcr.json
HTTPS_WORKERS=1

# custom_conf OUT SED-EXPRESSION...: the pod's lighttpd.conf with the
# worker on 127.0.0.1:$port, changed further as the expressions say.
port=$(https_random_port)
custom_conf() {
	_out=$1
	shift
	sed -e "s|\"socket\" => env.GILLY_RUN_DIR + \"/gilly.sock\",|\"host\" => \"127.0.0.1\", \"port\" => $port,|" \
	    "$@" "$HTTPS_CONF" >"$_out"
	grep -qF '"port" => ' "$_out" ||
	    hard_error "lighttpd.conf no longer names the workers' socket as expected"
}

# start_with CONF WHAT: serve.sh with lighttpd.conf CONF.
start_with() {
	GILLY_LIGHTTPD_CONF=$1
	export GILLY_LIGHTTPD_CONF
	if https_start; then
		pass "lighttpd answers /healthz, its worker on 127.0.0.1:$port, $2"
	else
		fail "lighttpd did not start ($2)"
		finish
	fi
}

# no_drop_then_stop: lighttpd logged no dropped connection to the worker,
# nothing crashed; the server stops.
no_drop_then_stop() {
	if grep -q 'connection was dropped' "$HTTPS_ERR"; then
		fail "$1: lighttpd saw connections to the worker dropped:"
		grep 'connection was dropped' "$HTTPS_ERR" | head -n 3 |
		    sed 's/^/#	/'
	else
		pass "$1: no connection to the worker dropped"
	fi
	check "$1: no worker crashed, no sanitizer report" https_log_clean
	if https_stop TERM; then
		pass "$1: SIGTERM: serve.sh, lighttpd and the worker are gone"
	else
		fail "$1: SIGTERM: something is left running"
	fi
}

# --- the worker on TCP ------------------------------------------------------

custom_conf "$TMP/tcp.conf"
start_with "$TMP/tcp.conf" "bodies buffered"
https_fixtures_as_cli
head -c 4194304 /dev/zero | tr '\0' ' ' >"$TMP/4mib"
for _ in 1 2 3 4 5; do
	expect_status "POST /healthz with 4 MiB" 405 \
	    "$(https_status /healthz --data-binary "@$TMP/4mib")"
	expect_status "4 MiB of text/plain" 415 \
	    "$(https_status /mutate -H 'Content-Type: text/plain' \
	    --data-binary "@$TMP/4mib")"
done
expect_status "a review after them" 200 \
    "$(https_mutate "$FIXTURE" "$TMP/resp.json")"
no_drop_then_stop "on TCP"

# --- and bodies streamed ----------------------------------------------------

custom_conf "$TMP/stream.conf" \
    -e 's/^server.stream-request-body = 0$/server.stream-request-body = 2/'
grep -qF 'stream-request-body = 2' "$TMP/stream.conf" ||
    hard_error "lighttpd.conf no longer sets server.stream-request-body"
start_with "$TMP/stream.conf" "bodies streamed"
expect_status "POST /mutate $(basename "$FIXTURE")" 200 \
    "$(https_mutate "$FIXTURE" "$TMP/resp.json")"
https_same_as_cli "bodies streamed: the CLI's answer" "$FIXTURE" \
    "$TMP/resp.json"
# The refusal comes while the client is silent halfway through its body
# (were it held back until the body is complete, lighttpd would cut the
# client off after server.max-read-idle, 10 s, without an answer).
for path in /healthz /metrics; do
	got=$(https_raw stallpost "$path" 100000)
	case $got in
	"status 405 "*)
		pass "POST $path, body still arriving: $got" ;;
	*)	fail "POST $path, body still arriving: $got" ;;
	esac
done
expect_status "a review after them" 200 \
    "$(https_mutate "$FIXTURE" "$TMP/resp.json")"
no_drop_then_stop "bodies streamed"

[ "$FAILED" -eq 0 ] || https_show_log
finish
