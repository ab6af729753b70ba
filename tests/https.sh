#!/bin/sh
# tests/https.sh: gilly behind its real lighttpd, over HTTPS. Reviews are
# answered as the CLI answers them, over HTTP/2 and HTTP/1.1; /healthz; the
# TLS settings; workers killed with SIGKILL are respawned and the requests
# after it all succeed; oversized, truncated and malformed requests, wrong
# methods, bodies refused unread, unknown paths and plain HTTP are refused
# cleanly, and the server serves on after each; at the end it stops,
# workers included.

. "$(dirname "$0")/https-lib.sh"
need_python

FIXTURE=$SRCDIR/tests/fixtures/pod-create-gcr.json

# serving NAME: the server still answers: /healthz, and a review.
serving() {
	if [ "$(https_status /healthz)" = 200 ] &&
	    [ "$(https_mutate "$FIXTURE" "$TMP/after.json")" = 200 ]; then
		pass "$1: serving on"
	else
		fail "$1: the server stopped serving"
		https_show_log
	fi
}

if https_start; then
	pass "lighttpd answers /healthz on 127.0.0.1:$HTTPS_PORT"
else
	fail "lighttpd did not start"
	finish
fi
workers=$(https_workers | wc -l)
expect_status "workers spawned" "$HTTPS_WORKERS" "$workers"

# --- the routes ------------------------------------------------------------

got=$(https_curl -o "$TMP/health" -w '%{http_code} %{http_version}' \
    "$HTTPS_URL/healthz" || :)
expect_status "GET /healthz over HTTP/2" "200 2" "$got"
check "/healthz says ok" grep -qx ok "$TMP/health"
expect_status "GET /healthz over HTTP/1.1" 200 \
    "$(https_status /healthz --http1.1)"
expect_status "HEAD /healthz" 200 "$(https_status /healthz --head)"

https_fixtures_as_cli
# The comparison means something only if there is a rewrite in it.
https_mutate "$FIXTURE" "$TMP/resp.json" >/dev/null
if jq -r .response.patch "$TMP/resp.json" | base64 -d 2>/dev/null |
    grep -qF '"my.internal.repo/sgryczan/rocket:latest"'; then
	pass "the gcr.io image is rewritten in the patch"
else
	fail "no rewritten image in the patch of $FIXTURE"
fi

expect_status "POST /mutate over HTTP/1.1" 200 \
    "$(https_mutate "$FIXTURE" "$TMP/resp.json" --http1.1)"
https_same_as_cli "HTTP/1.1: the CLI's answer" "$FIXTURE" "$TMP/resp.json"
# No Content-Length: lighttpd reads the chunks and gives gilly a length.
expect_status "POST /mutate, chunked body" 200 \
    "$(https_mutate "$FIXTURE" "$TMP/resp.json" --http1.1 \
    -H 'Transfer-Encoding: chunked')"
https_same_as_cli "chunked: the CLI's answer" "$FIXTURE" "$TMP/resp.json"
# Connections are kept: 1100 requests on one, more than lighttpd's
# default limit (1000) for HTTP/1.1.
awk -v url="$HTTPS_URL/healthz" 'BEGIN {
	for (i = 0; i < 1100; i++)
		printf "url = \"%s\"\noutput = \"/dev/null\"\n", url
}' >"$TMP/many.cfg"
for v in 1.1 2; do
	n=$(https_curl -v "--http$v" -K "$TMP/many.cfg" 2>&1 |
	    grep -c '^\* Connected to' || :)
	expect_status "1100 requests over HTTP/$v: connections opened" 1 "$n"
done
# A query string is no part of the route.
expect_status "POST /mutate?timeout=10s" 200 \
    "$(https_curl -o /dev/null -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "@$FIXTURE" \
    "$HTTPS_URL/mutate?timeout=10s" || :)"

# --- TLS -------------------------------------------------------------------

# s_client offers what the server must refuse; the server's alert tells a
# refusal from a client that could not even offer it.
openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -tls1_1 \
    -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >"$TMP/tls11" 2>&1 || :
check "TLS 1.1 refused by the server" grep -q 'alert protocol version' \
    "$TMP/tls11"
openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -tls1_2 \
    -cipher ECDHE-ECDSA-AES128-SHA256 </dev/null >"$TMP/cbc" 2>&1 || :
check "TLS 1.2 CBC suite refused by the server" \
    grep -q 'alert handshake failure' "$TMP/cbc"
openssl s_client -connect "127.0.0.1:$HTTPS_PORT" -tls1_2 </dev/null \
    >"$TMP/tls12" 2>&1 || :
check "TLS 1.2 negotiates forward-secret AEAD" grep -qE \
    'Cipher is ECDHE-[A-Z]+-(AES[0-9]+-GCM-SHA[0-9]+|CHACHA20-POLY1305)$' \
    "$TMP/tls12"
expect_status "TLS 1.3" 200 "$(https_status /healthz --tlsv1.3)"

# --- workers killed --------------------------------------------------------

# all_succeed N: N reviews in a row, each 200 and the CLI's answer.
all_succeed() {
	_ok=0
	"$GILLY" -c "$HTTPS_TABLE" <"$FIXTURE" 2>/dev/null |
	    jq -S . >"$TMP/want.json"
	for _i in $(seq "$1"); do
		[ "$(https_mutate "$FIXTURE" "$TMP/r.json")" = 200 ] &&
		    jq -S . "$TMP/r.json" 2>/dev/null | cmp -s - "$TMP/want.json" &&
		    _ok=$((_ok + 1))
	done
	[ "$_ok" -eq "$1" ] || echo "# $_ok of $1 succeeded"
	[ "$_ok" -eq "$1" ]
}

# lighttpd restarts a worker as soon as it dies, unless the worker's slot
# last died within the same second (its clock's whole seconds): that one
# waits for lighttpd's once-a-second check, and while every slot waits,
# reviews get a 503. So each round that stops every worker starts a
# second after the one before, as a real death seldom follows another.
next_second() {
	sleep 1
}

victim=$(https_workers | head -n 1)
kill -KILL "$victim"
check "one worker killed: the next 20 reviews succeed" all_succeed 20
check "the killed worker is replaced" https_respawned "$victim"

next_second
# shellcheck disable=SC2046
set -- $(https_workers)
kill -KILL "$@"
check "every worker killed: the next 20 reviews succeed" all_succeed 20
check "every worker is replaced" https_respawned "$@"
check "lighttpd itself did not restart" https_alive "$HTTPS_LIGHTTPD_PID"

# A worker told to stop between two requests stops at once, whichever of
# the signals libfcgi would otherwise turn into a flag (fcgi/serve.c); one
# that kept running after SIGUSR1 would be offered connections it never
# accepts. Every worker gets the signal, so the next reviews reach a
# signalled one or a replacement.
for sig in TERM USR1; do
	next_second
	# shellcheck disable=SC2046
	set -- $(https_workers)
	kill -s "$sig" "$@"
	check "SIG$sig to every worker: each is gone within 10 s" \
	    https_gone "$@"
	check "SIG$sig to every worker: the next 20 reviews succeed" \
	    all_succeed 20
	check "SIG$sig to every worker: each is replaced" https_respawned "$@"
done

# --- refusals --------------------------------------------------------------

# The limit is the webhook's, 4 MiB: one byte more is refused by lighttpd
# before the body is read, the limit itself reaches gilly (by way of a
# temporary file in the run directory) and is no review.
head -c 4194304 /dev/zero | tr '\0' ' ' >"$TMP/4mib"
cp "$TMP/4mib" "$TMP/4mib+1"
printf ' ' >>"$TMP/4mib+1"
expect_status "4 MiB + 1 byte, Expect: 100-continue" 413 \
    "$(https_mutate "$TMP/4mib+1" /dev/null --http1.1)"
# Sent whole, lighttpd answers 413 as soon as it has the headers and closes:
# a client still writing the body may see the close (curl: 000, "Send
# failure") before it reads the answer. Either is a clean refusal; that the
# server serves on is checked below.
st=$(https_mutate "$TMP/4mib+1" /dev/null --http1.1 -H 'Expect:')
case $st in
413) pass "4 MiB + 1 byte, sent whole: 413" ;;
000) pass "4 MiB + 1 byte, sent whole: closed while the body was sent" ;;
*) fail "4 MiB + 1 byte, sent whole: got ${st:-nothing}, expected 413" ;;
esac
expect_status "Content-Length 4 MiB + 1, no body" "status 413" \
    "$(https_raw length 4194305 | cut -d' ' -f1-2)"
expect_status "4 MiB of blanks: gilly says it is no JSON" 400 \
    "$(https_mutate "$TMP/4mib" /dev/null)"
serving "oversized bodies"

len=$(wc -c <"$FIXTURE")
got=$(https_raw truncate "$FIXTURE" $((len / 2)))
case $got in
closed\ after\ [0-4].*)
	pass "truncated body: connection closed, no response ($got)" ;;
*)	fail "truncated body: $got" ;;
esac
head -c $((len / 2)) "$FIXTURE" >"$TMP/half.json"
expect_status "half a review, as a whole body" 400 \
    "$(https_mutate "$TMP/half.json" /dev/null)"
expect_status "not JSON's Content-Type" 415 \
    "$(https_status /mutate -H 'Content-Type: text/plain' \
    --data-binary "@$FIXTURE")"
serving "truncated bodies"

expect_status "GET /mutate" 405 "$(https_status /mutate)"
expect_status "DELETE /mutate" 405 "$(https_status /mutate -X DELETE)"
expect_status "POST /healthz" 405 "$(https_status /healthz -d x)"
expect_status "an unknown method (BREW)" 501 "$(https_status /healthz -X BREW)"
serving "wrong methods"

# A body refused unread (the method, or the type, is wrong) is read to its
# end before the worker closes the connection (fcgi/finish.c): the refusal
# arrives whole, and the worker serves on.
for proto in --http2 --http1.1; do
	got=$(https_curl "$proto" -o "$TMP/refused" -w '%{http_code}' \
	    --data-binary "@$TMP/4mib" "$HTTPS_URL/healthz" || :)
	expect_status "POST /healthz with 4 MiB ($proto)" 405 "$got"
	check "POST /healthz with 4 MiB ($proto): the whole refusal" \
	    grep -q '"error":"method not allowed: use GET"' "$TMP/refused"
	got=$(https_curl "$proto" -o "$TMP/refused" -w '%{http_code}' \
	    -H 'Content-Type: text/plain' --data-binary "@$TMP/4mib" \
	    "$HTTPS_URL/mutate" || :)
	expect_status "4 MiB of text/plain ($proto)" 415 "$got"
	check "4 MiB of text/plain ($proto): the whole refusal" \
	    grep -q '"error":"unsupported Content-Type' "$TMP/refused"
done
serving "bodies refused unread"

# lighttpd's own 404 (an HTML page), not gilly's (JSON): these never
# reach a worker. A path that lighttpd normalizes to a route does reach
# one, which routes on the path as sent.
for path in / /index.html /mutate/ /healthz/x /mutate.php /gilly.yaml \
    /MUTATE /mutate%2F /.. /../etc/passwd; do
	expect_status "GET $path" "404 text/html" "$(https_curl -o /dev/null \
	    -w '%{http_code} %{content_type}' --path-as-is \
	    "$HTTPS_URL$path" || :)"
done
for path in /x/../healthz /%6Dutate; do
	expect_status "GET $path" "404 application/json" "$(https_curl \
	    -o /dev/null -w '%{http_code} %{content_type}' --path-as-is \
	    "$HTTPS_URL$path" || :)"
done
serving "unknown paths"

# Plain HTTP to the TLS port: lighttpd sees no TLS handshake and closes
# the connection (curl: 52, empty reply), at once, not at a timeout (28).
rc=0
got=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$HTTPS_PORT/healthz" 2>/dev/null) || rc=$?
if [ "$got" = 000 ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 28 ]; then
	pass "plain HTTP: connection closed without an answer (curl $rc)"
else
	fail "plain HTTP: status $got, curl exit $rc"
fi
serving "plain HTTP"

# --- logs, and the end -----------------------------------------------------

check "the workers log to the server's stderr" \
    log_wait "$HTTPS_ERR" '[Mutate] Received POD create event'
# bin-environment and bin-copy-environment: the workers see the table's
# path, glibc's malloc setting and TZ, nothing of lighttpd's environment.
# (lighttpd adds PHP_FCGI_CHILDREN=1 to every backend it spawns, for
# PHP's sake.)
printf 'GILLY_CONFIG=%s\nGLIBC_TUNABLES=glibc.malloc.tcache_count=32\n' \
    "$HTTPS_TABLE" | sort >"$TMP/env.expected"
for w in $(https_workers); do
	tr '\0' '\n' <"/proc/$w/environ" |
	    grep -v -e '^TZ=' -e '^PHP_FCGI_CHILDREN=1$' | sort >"$TMP/env"
	if cmp -s "$TMP/env.expected" "$TMP/env"; then
		pass "worker $w: GILLY_CONFIG and GLIBC_TUNABLES alone in its" \
		    "environment"
	else
		fail "worker $w: environment:"
		sed 's/^/#	/' "$TMP/env"
	fi
done

check "no worker crashed, no sanitizer report" https_log_clean
if https_stop TERM; then
	pass "SIGTERM: serve.sh, lighttpd and the workers are gone"
else
	fail "SIGTERM: something is left running"
fi
expect_status "exit status after SIGTERM" 0 "$HTTPS_STATUS"
check "the access log has the reviews" \
    grep -qF '"POST /mutate HTTP/2.0" 200' "$HTTPS_ACCESS"

[ "$FAILED" -eq 0 ] || https_show_log
finish
