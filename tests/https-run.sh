#!/bin/sh
# tests/https-run.sh: lighttpd/run.sh, what make run starts. Without
# GILLY_TLS_DIR it makes a CA and a certificate in ./tls and prints the
# CA's path and a curl command, which works as printed; the access log is
# on its stdout; Ctrl-C (SIGINT to its process group, as a terminal sends
# it) and SIGTERM stop it, workers included, and its temporary directory
# goes; a second run keeps ./tls; a certificate in GILLY_TLS_DIR is used
# as it is; a port already taken is a prompt failure.

. "$(dirname "$0")/https-lib.sh"
need_python

WORK=$TMP/work
RUNTMP=$TMP/tmpdir
mkdir "$WORK" "$RUNTMP"

# run_start [VAR=VALUE...]: run.sh from $WORK, as a terminal's foreground
# job: a process group of its own (its ID is $HTTPS_SERVE_PID), SIGINT
# not ignored. Its own table (so that https_ours finds what it started).
run_start() {
	_try=0
	while :; do
		_try=$((_try + 1))
		HTTPS_PORT=$(https_random_port)
		HTTPS_URL=https://127.0.0.1:$HTTPS_PORT
		(
			cd "$WORK"
			exec env GILLY_PORT="$HTTPS_PORT" GILLY_BIN="$GILLY" \
			    GILLY_CONFIG="$HTTPS_TABLE" TMPDIR="$RUNTMP" "$@" \
			    "$PYTHON" -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' sh "$SRCDIR/lighttpd/run.sh"
		) >"$TMP/run.out" 2>"$HTTPS_ERR" &
		HTTPS_SERVE_PID=$!
		https_ready && return 0
		https_alive "$HTTPS_SERVE_PID" && kill -KILL "$HTTPS_SERVE_PID"
		wait "$HTTPS_SERVE_PID" || :
		if [ $_try -lt 20 ] &&
		    grep -q 'Address already in use' "$HTTPS_ERR"; then
			continue
		fi
		echo "# run.sh did not come up:"
		sed 's/^/#	/' "$TMP/run.out" "$HTTPS_ERR"
		return 1
	done
}

# run_stopped NAME: run.sh ended within 10 s, with status 0, and left
# nothing running and no temporary directory.
run_stopped() {
	if ! https_gone "$HTTPS_SERVE_PID"; then
		fail "$1: run.sh still runs"
		return
	fi
	_st=0
	wait "$HTTPS_SERVE_PID" || _st=$?
	# shellcheck disable=SC2046
	if ! https_gone $(https_ours); then
		fail "$1: something is left running"
		https_show_ours
	elif [ "$_st" -ne 0 ]; then
		fail "$1: run.sh exited with $_st"
	elif [ -n "$(ls -A "$RUNTMP")" ]; then
		fail "$1: left in TMPDIR: $(ls -A "$RUNTMP")"
	else
		pass "$1: run.sh, lighttpd and the workers are gone"
	fi
}

# --- a first run: a certificate made, a command printed --------------------

HTTPS_CA=$WORK/tls/ca.crt
if run_start GILLY_TLS_DIR=; then
	pass "run.sh answers /healthz on 127.0.0.1:$HTTPS_PORT"
else
	fail "run.sh did not start"
	finish
fi
for f in ca.crt tls.crt tls.key; do
	check "made ./tls/$f" test -s "$WORK/tls/$f"
done
expect_grep "prints the CA" "CA certificate: $WORK/tls/ca.crt" "$TMP/run.out"
command=$(grep '^ *curl ' "$TMP/run.out" || :)
if [ -n "$command" ] && (cd "$TMP" && eval "$command -sS --max-time 10") \
    >"$TMP/resp.json"; then
	pass "the printed curl command runs"
	https_same_as_cli "the printed command: the CLI's answer" \
	    "$SRCDIR/tests/fixtures/pod-create-gcr.json" "$TMP/resp.json"
else
	fail "the printed curl command: ${command:-none printed}"
fi
workers=0
for p in $(https_ours); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" != gilly ] ||
	    workers=$((workers + 1))
done
check "two workers" [ "$workers" -eq 2 ]

# Ctrl-C: SIGINT to the whole process group.
kill -INT "-$HTTPS_SERVE_PID"
run_stopped "Ctrl-C"
expect_grep "the access log is on stdout" '"POST /mutate HTTP/2.0" 200' \
    "$TMP/run.out"

# --- a second run keeps the certificate; SIGTERM to run.sh alone ------------

sum=$(cksum <"$WORK/tls/ca.crt")
if run_start; then
	pass "run.sh runs again"
	check "the CA is kept" [ "$(cksum <"$WORK/tls/ca.crt")" = "$sum" ]
	if grep -q 'making a CA' "$TMP/run.out"; then
		fail "a second CA made"
	else
		pass "no second CA made"
	fi
	kill -TERM "$HTTPS_SERVE_PID"
	run_stopped "SIGTERM"
else
	fail "run.sh did not start again"
fi

# --- a certificate of one's own; a port in use ------------------------------

HTTPS_CA=$HTTPS_TLS/ca.crt
if run_start GILLY_TLS_DIR="$HTTPS_TLS"; then
	pass "run.sh with GILLY_TLS_DIR"
	check "serves the certificate of GILLY_TLS_DIR" [ "$(https_served_serial)" \
	    = "$(openssl x509 -noout -serial -in "$HTTPS_TLS/tls.crt")" ]
	expect_grep "prints that CA" "CA certificate: $HTTPS_TLS/ca.crt" \
	    "$TMP/run.out"

	st=0
	(cd "$WORK" && GILLY_PORT=$HTTPS_PORT GILLY_BIN=$GILLY \
	    GILLY_CONFIG=$HTTPS_TABLE TMPDIR=$RUNTMP \
	    timeout 20 sh "$SRCDIR/lighttpd/run.sh") >"$TMP/busy.out" \
	    2>"$TMP/busy.err" || st=$?
	if [ "$st" -ne 0 ] && [ "$st" -ne 124 ] &&
	    grep -q 'Address already in use' "$TMP/busy.err"; then
		pass "a port in use: run.sh fails at once (exit $st)"
	else
		fail "a port in use: exit $st"
		sed 's/^/#	/' "$TMP/busy.err"
	fi
	kill -TERM "$HTTPS_SERVE_PID"
	run_stopped "SIGTERM, after"
else
	fail "run.sh with GILLY_TLS_DIR did not start"
fi

[ "$FAILED" -eq 0 ] || https_show_log
finish
