#!/bin/sh
# fcgi-log.sh: when a FastCGI worker writes its log lines. A request's
# lines come out with no request after it to push them; a burst of
# requests is logged in a few writes, not one a request; a stop signal
# that comes while lines are held waits until they are out. The same on
# the three ways a worker waits for its next request (fcgi/serve.c): on a
# unix socket, as lighttpd spawns it, each request on a connection of its
# own; on TCP; on a connection its front end keeps open.
. "$(dirname "$0")/lib.sh"

need_cmd cgi-fcgi "$PYTHON"

TABLE=$SRCDIR/tests/data/golden.yaml
REVIEW=$SRCDIR/tests/fixtures/pod-create-gcr.json
LINE='[ReplaceImageRegistry] Image gcr.io/sgryczan/rocket:latest => my.internal.repo/sgryczan/rocket:latest'
# A review logs about 230 bytes: a burst of N fills a few 4 KiB batches.
N=50

# client N [ARGS...]: N reviews to the worker, one after the other
# (tests/fcgi-client.py ARGS); fails, saying why, unless all are answered.
client() {
	_n=$1
	shift
	"$PYTHON" "$SRCDIR/tests/fcgi-client.py" "$@" "$FCGI_SOCK" \
	    "$REVIEW" "$_n" 10 "$TMP/answer" 2>"$TMP/client.err" || {
		sed 's/^/#	/' "$TMP/client.err"
		return 1
	}
}

# logged: the lines naming the review's rewrite, so far.
logged() {
	grep -cF -- "$LINE" "$FCGI_LOG" || :
}

# writes: the worker's write(2) calls so far (/proc/PID/io), or nothing.
writes() {
	sed -n 's/^syscw: //p' "/proc/$FCGI_PID/io" 2>/dev/null || :
}

# checks WAY [ARGS...]: the worker of fcgi_start, its requests sent by
# tests/fcgi-client.py ARGS; it is stopped at the end.
checks() {
	_way=$1
	shift
	check "$_way: one review: answered" client 1 "$@"
	check "$_way: one review: its lines written, with no request after it" \
	    log_wait "$FCGI_LOG" "$LINE" 1

	# Each answer is one write; were the lines one more a request, a
	# burst's would be N.
	_w0=$(writes)
	check "$_way: $N reviews: answered" client "$N" "$@"
	check "$_way: $N reviews: all logged" \
	    log_wait "$FCGI_LOG" "$LINE" $((N + 1))
	_w1=$(writes)
	if [ -n "$_w0" ] && [ -n "$_w1" ]; then
		_lw=$((_w1 - _w0 - N))
		check "$_way: $N reviews: their lines in $_lw writes" \
		    test "$_lw" -le $((N / 2))
	else
		echo "# /proc/$FCGI_PID/io cannot be read: writes not counted"
	fi

	# SIGTERM the moment an answer is complete, its lines held (for
	# 20 ms: a signal later than that finds them out, and proves less).
	_before=$(logged)
	check "$_way: a review, then SIGTERM: answered" \
	    client 1 "$@" --term "$FCGI_PID"
	check "$_way: SIGTERM: the worker stopped" fcgi_gone
	check "$_way: SIGTERM: the review's lines written before it stopped" \
	    test "$(logged)" -eq $((_before + 1))
	fcgi_log_clean "$_way"
}

fcgi_start -c "$TABLE"
checks "unix socket" --fresh

_n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
fcgi_start --at "127.0.0.1:$((20000 + _n % 12000))" -c "$TABLE"
checks "TCP" --fresh

fcgi_start -c "$TABLE"
checks "kept connection"

finish
