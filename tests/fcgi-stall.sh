#!/bin/sh
# fcgi-stall.sh: a client of a worker's socket that stalls, saying nothing
# or stopping partway through its request, holds the worker for at most
# 2 s a read (fcgi/accept.h): the request behind it is answered, and one
# stopped in its body is answered 400, saying what was wrong. On a unix
# socket, as lighttpd spawns workers, three in a row hold it 6 s, not
# twice that: a connection dropped is closed at once, and the next one
# is guarded as the first was. The same on TCP, but for the three.
. "$(dirname "$0")/lib.sh"

need_cmd cgi-fcgi "$PYTHON"

TABLE=$SRCDIR/tests/data/golden.yaml
REVIEW=$SRCDIR/tests/fixtures/pod-create-gcr.json

# behind NAME BYTES[,BYTES...]: one review sent on a connection of its own
# behind connections that each sent the first BYTES bytes of a request
# (all but -BYTES) and then nothing (tests/fcgi-client.py --stall);
# answered within 9 s, as the CLI answers it, the worker still running.
behind() {
	if "$PYTHON" "$SRCDIR/tests/fcgi-client.py" --fresh --stall "$2" \
	    "$FCGI_SOCK" "$REVIEW" 1 9 "$TMP/answer" 2>"$TMP/client.err"; then
		pass "$1: the review behind it answered"
		sed '1,/^\r\{0,1\}$/d' "$TMP/answer.1" >"$TMP/answer.body"
		printf '\n' >>"$TMP/answer.body"
		expect_same "$1: as the CLI answers it" "$TMP/cli.out" \
		    "$TMP/answer.body"
	else
		fail "$1: $(cat "$TMP/client.err")"
	fi
	check "$1: the worker runs" fcgi_alive
}

# stalls WAY: the three stalls, on the worker of fcgi_start; it is stopped
# at the end.
stalls() {
	behind "$1: a connection that says nothing" 0
	behind "$1: one that stops within its first record's header" 4
	behind "$1: one that stops within its body" -100
	# libfcgi closes a TCP connection it drops after shutdown() and up to
	# 2 s more for the client to close its end: a stall holds a worker
	# on TCP up to 4 s, and three longer than the client waits.
	[ "$1" = TCP ] ||
	    behind "$1: three: nothing, 4 bytes, nothing" 0,4,0
	expect_logged "$1: stopped within its body: logged" \
	    "400 POST /mutate: body shorter than its Content-Length" \
	    "$FCGI_LOG"
	kill "$FCGI_PID"
	check "$1: the worker stopped" fcgi_gone
	fcgi_log_clean "$1"
}

"$GILLY" -c "$TABLE" <"$REVIEW" >"$TMP/cli.out" 2>/dev/null
fcgi_start -c "$TABLE"
stalls "unix socket"
_n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
fcgi_start --at "127.0.0.1:$((20000 + _n % 12000))" -c "$TABLE"
stalls "TCP"

finish
