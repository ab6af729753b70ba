#!/bin/sh
# tests/https-slow.sh: slow and silent clients against gilly's lighttpd,
# with a single worker. A body that trickles in is answered once complete,
# and the worker serves everyone else meanwhile (lighttpd reads the whole
# body before it hands the request over); a client that falls silent in
# the middle of its body or of its headers is cut off after
# server.max-read-idle (10 s), with no answer, and the server serves on.

. "$(dirname "$0")/https-lib.sh"
need_python

FIXTURE=$SRCDIR/tests/fixtures/pod-create-gcr.json
HTTPS_WORKERS=1

if https_start; then
	pass "lighttpd answers /healthz with one worker"
else
	fail "lighttpd did not start"
	finish
fi

len=$(wc -c <"$FIXTURE")
# The silent ones first: they take longest.
https_raw stall "$FIXTURE" $((len / 2)) >"$TMP/stall" &
stall=$!
https_raw stallhead >"$TMP/stallhead" &
stallhead=$!
# The whole review in 5 parts, 1.5 s apart: each wait is shorter than the
# read timeout, the whole longer than any review should take.
https_raw slow "$FIXTURE" 5 1.5 "$TMP/slow.json" >"$TMP/slow" &
slow=$!

# Meanwhile, the only worker answers others at once.
sleep 1
quick=0
for _ in 1 2 3 4 5; do
	[ "$(https_mutate "$FIXTURE" /dev/null --max-time 2)" = 200 ] &&
	    quick=$((quick + 1))
	sleep 0.5
done
if [ $quick -eq 5 ] && https_alive "$slow"; then
	pass "while a body trickles in, 5 of 5 reviews answered within 2 s"
else
	fail "while a body trickles in, $quick of 5 reviews answered"
fi

wait "$slow" || :
got=$(cut -d' ' -f1-2 "$TMP/slow")
if [ "$got" = "status 200" ]; then
	pass "the slow body is answered once complete ($(cat "$TMP/slow"))"
	https_same_as_cli "the slow body: the CLI's answer" "$FIXTURE" \
	    "$TMP/slow.json"
else
	fail "the slow body: $(cat "$TMP/slow")"
fi

# within NAME FILE: FILE says "closed after T", 8 <= T < 16.
within() {
	read -r _what _after _t <"$2" || :
	_t=${_t%.*}
	if [ "$_what" = closed ] && [ "${_t:-0}" -ge 8 ] && [ "$_t" -lt 16 ]
	then
		pass "$1: cut off after ${_t} s, no answer"
	else
		fail "$1: $(cat "$2")"
	fi
}
wait "$stall" || :
within "silent in the middle of the body" "$TMP/stall"
wait "$stallhead" || :
within "silent in the middle of the headers" "$TMP/stallhead"

expect_serving() {
	[ "$(https_status /healthz)" = 200 ] &&
	    [ "$(https_mutate "$FIXTURE" /dev/null)" = 200 ]
}
check "after the slow clients: serving on" expect_serving

check "no worker crashed, no sanitizer report" https_log_clean
if https_stop TERM; then
	pass "SIGTERM: serve.sh, lighttpd and the worker are gone"
else
	fail "SIGTERM: something is left running"
fi

[ "$FAILED" -eq 0 ] || https_show_log
finish
