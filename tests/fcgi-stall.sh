#!/bin/sh
# fcgi-stall.sh: a client of a worker's unix socket that stalls, saying
# nothing or stopping partway through its request, holds the worker for
# at most 2 s a read (fcgi/accept.h): the request behind it is answered,
# and one stopped in its body is answered 400, saying what was wrong.
. "$(dirname "$0")/lib.sh"

need_cmd cgi-fcgi "$PYTHON"

TABLE=$SRCDIR/tests/data/golden.yaml
REVIEW=$SRCDIR/tests/fixtures/pod-create-gcr.json

# behind NAME BYTES: one review sent on a connection of its own behind one
# that sent the first BYTES bytes of a request (all but -BYTES) and then
# nothing (tests/fcgi-client.py --stall); answered within 8 s, as the CLI
# answers it, the worker still running.
behind() {
	if "$PYTHON" "$SRCDIR/tests/fcgi-client.py" --fresh --stall "$2" \
	    "$FCGI_SOCK" "$REVIEW" 1 8 "$TMP/answer" 2>"$TMP/client.err"; then
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

"$GILLY" -c "$TABLE" <"$REVIEW" >"$TMP/cli.out" 2>/dev/null
fcgi_start -c "$TABLE"
behind "a connection that says nothing" 0
behind "one that stops within its first record's header" 4
behind "one that stops within its body" -100
expect_logged "stopped within its body: logged" \
    "400 POST /mutate: body shorter than its Content-Length" "$FCGI_LOG"
kill "$FCGI_PID"
check "the worker stopped" fcgi_gone
fcgi_log_clean

finish
