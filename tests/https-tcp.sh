#!/bin/sh
# tests/https-tcp.sh: gilly's workers on TCP, as a lighttpd.conf of one's
# own may put them (the pod's uses unix sockets). Reviews are answered as
# the CLI answers them; a body refused unread (a wrong method or type,
# 4 MiB) is read to its end before the worker closes the connection
# (fcgi/finish.c), so that its TCP stack sends no reset to lighttpd, which
# would log the connection as dropped; and the server serves on.

. "$(dirname "$0")/https-lib.sh"

FIXTURE=$SRCDIR/tests/fixtures/pod-create-gcr.json
HTTPS_WORKERS=1

# The pod's configuration with the workers on 127.0.0.1:PORT.
port=$(https_random_port)
sed "s|\"socket\" => env.GILLY_RUN_DIR + \"/gilly.sock\",|\"host\" => \"127.0.0.1\", \"port\" => $port,|" \
    "$HTTPS_CONF" >"$TMP/lighttpd.conf"
if cmp -s "$HTTPS_CONF" "$TMP/lighttpd.conf"; then
	hard_error "lighttpd.conf no longer names the workers' socket as expected"
fi
GILLY_LIGHTTPD_CONF=$TMP/lighttpd.conf
export GILLY_LIGHTTPD_CONF

if https_start; then
	pass "lighttpd answers /healthz, its worker on 127.0.0.1:$port"
else
	fail "lighttpd did not start"
	finish
fi

for f in "$SRCDIR"/tests/fixtures/*.json; do
	name=$(basename "$f")
	expect_status "POST /mutate $name" 200 \
	    "$(https_mutate "$f" "$TMP/resp.json")"
	https_same_as_cli "$name: the CLI's answer" "$f" "$TMP/resp.json"
done

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
if grep -q 'connection was dropped' "$HTTPS_ERR"; then
	fail "lighttpd saw connections to the worker dropped:"
	grep 'connection was dropped' "$HTTPS_ERR" | head -n 3 | sed 's/^/#	/'
else
	pass "no connection to the worker dropped"
fi

check "no worker crashed, no sanitizer report" https_log_clean
if https_stop TERM; then
	pass "SIGTERM: serve.sh, lighttpd and the worker are gone"
else
	fail "SIGTERM: something is left running"
fi

[ "$FAILED" -eq 0 ] || https_show_log
finish
