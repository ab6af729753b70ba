#!/bin/sh
# fcgi-stall.sh: a client of a worker's socket that stalls, saying nothing
# or stopping partway through its request, holds the worker for at most
# 2 s a read (fcgi/accept.h): the request behind it is answered, and one
# stopped in its body is answered 400, saying what was wrong. On a unix
# socket, as lighttpd spawns workers, three in a row hold it 6 s, not
# twice that: a connection dropped is closed at once, and the next one
# is guarded as the first was, also after a connection kept open by its
# front end ends. The same on TCP, but for the three.
. "$(dirname "$0")/lib.sh"

need_cmd cgi-fcgi "$PYTHON"

TABLE=$SRCDIR/tests/data/golden.yaml
REVIEW=$SRCDIR/tests/fixtures/pod-create-gcr.json

# behind NAME N ARGS...: N reviews sent by tests/fcgi-client.py ARGS, the
# last behind connections that each sent the first BYTES bytes of a
# request (--stall BYTES,...; all but -BYTES) and then nothing; all
# answered, each within 9 s, the last as the CLI answers it, the worker
# still running.
behind() {
	_name=$1
	_n=$2
	shift 2
	if "$PYTHON" "$SRCDIR/tests/fcgi-client.py" "$@" "$FCGI_SOCK" \
	    "$REVIEW" "$_n" 9 "$TMP/answer" 2>"$TMP/client.err"; then
		pass "$_name: the review behind it answered"
		sed '1,/^\r\{0,1\}$/d' "$TMP/answer.$_n" >"$TMP/answer.body"
		printf '\n' >>"$TMP/answer.body"
		expect_same "$_name: as the CLI answers it" "$TMP/cli.out" \
		    "$TMP/answer.body"
	else
		fail "$_name: $(cat "$TMP/client.err")"
	fi
	check "$_name: the worker runs" fcgi_alive
}

# stalls WAY: each stall in turn, on the worker of fcgi_start; it is stopped
# at the end.
stalls() {
	behind "$1: a connection that says nothing" 1 --fresh --stall 0
	behind "$1: one that stops within its first record's header" 1 \
	    --fresh --stall 4
	behind "$1: one that stops within its body" 1 --fresh --stall -100
	# libfcgi closes a TCP connection it drops after shutdown() and up to
	# 2 s more for the client to close its end: a stall holds a worker
	# on TCP up to 4 s, and three longer than the client waits.
	[ "$1" = TCP ] ||
	    behind "$1: three: nothing, 4 bytes, nothing" 1 --fresh \
		--stall 0,4,0
	# Two reviews on a kept connection (FCGI_KEEP_CONN), a stall waiting
	# from the first answer on; the kept connection closed, a third
	# review on a connection of its own, behind the stall.
	behind "$1: after a kept connection ends, one that stops within its \
first record's header" 3 --stall 4 --stall-after 1 --last-fresh
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
