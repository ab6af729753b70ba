#!/bin/sh
# run.sh: gilly over HTTPS on this machine, in the foreground (make run).
#
# lighttpd listens on 127.0.0.1:$GILLY_PORT (8443) with $GILLY_WORKERS (2)
# gilly workers and the table $GILLY_CONFIG (conf/gilly.yaml of the source
# tree), until Ctrl-C or SIGTERM stops it, workers included.
#
# The certificate: tls.crt and tls.key in $GILLY_TLS_DIR, with the CA that
# signed it as ca.crt when there is one. When GILLY_TLS_DIR is unset or
# empty it is ./tls, in the directory make runs in (the build directory);
# when that directory has no tls.crt and tls.key, gencert.sh makes a CA and
# a certificate for 127.0.0.1 and localhost there, kept for the next run
# (and renewed by the same CA when it expires within a day).
# Replace the pair while it runs (gencert.sh DIR again, say) and the new
# one is served within $GILLY_TLS_POLL (5) seconds, nothing stopped.
#
# GILLY_BIN is the gilly to run (make run sets it to the one just built);
# the FastCGI sockets live in a temporary directory, removed at the end.
# The access log goes to stdout, lighttpd's and gilly's logs to stderr.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

: "${GILLY_PORT:=8443}"
: "${GILLY_WORKERS:=2}"
: "${GILLY_CONFIG:=$top/conf/gilly.yaml}"
: "${GILLY_BIN:=$(pwd)/fcgi/gilly}"
: "${GILLY_TLS_POLL:=5}"
[ -n "${GILLY_TLS_DIR:-}" ] || GILLY_TLS_DIR=$(pwd)/tls
GILLY_BIND=127.0.0.1

if [ ! -s "$GILLY_TLS_DIR/tls.crt" ] || [ ! -s "$GILLY_TLS_DIR/tls.key" ]; then
	echo "run.sh: making a CA and a certificate in $GILLY_TLS_DIR"
	sh "$here/gencert.sh" "$GILLY_TLS_DIR" 127.0.0.1 localhost
elif [ -s "$GILLY_TLS_DIR/ca.key" ] &&
    ! openssl x509 -checkend 86400 -noout -in "$GILLY_TLS_DIR/tls.crt" \
    >/dev/null 2>&1; then
	echo "run.sh: renewing the certificate in $GILLY_TLS_DIR"
	sh "$here/gencert.sh" "$GILLY_TLS_DIR" 127.0.0.1 localhost
fi
GILLY_TLS_DIR=$(cd "$GILLY_TLS_DIR" && pwd)

# The FastCGI sockets: a directory of this run's own.
GILLY_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/gilly-run.XXXXXX")
trap 'rm -rf "$GILLY_RUN_DIR"' EXIT

if [ -s "$GILLY_TLS_DIR/ca.crt" ]; then
	ca=$GILLY_TLS_DIR/ca.crt
else
	ca=$GILLY_TLS_DIR/tls.crt
fi
cat <<EOF
gilly: https://127.0.0.1:$GILLY_PORT/ with $GILLY_WORKERS workers, table $GILLY_CONFIG
CA certificate: $ca
Try:
  curl --cacert $ca --data-binary @$top/tests/fixtures/pod-create-gcr.json -H 'Content-Type: application/json' https://127.0.0.1:$GILLY_PORT/mutate
Stop with Ctrl-C.
EOF

# wait_for PID: wait for child PID to end, through the signals this shell
# traps (each cuts a wait short), and return its exit status.
wait_for() {
	while :; do
		_st=0
		wait "$1" || _st=$?
		kill -0 "$1" 2>/dev/null && continue
		# It has ended. If that wait was cut short, its status is still
		# to be collected; if not, it was, and this wait says 127.
		_st2=0
		wait "$1" 2>/dev/null || _st2=$?
		[ "$_st2" -eq 127 ] || _st=$_st2
		return "$_st"
	done
}

export GILLY_PORT GILLY_WORKERS GILLY_CONFIG GILLY_BIN GILLY_TLS_POLL \
    GILLY_TLS_DIR GILLY_BIND GILLY_RUN_DIR
# Ctrl-C (SIGINT to the terminal's process group; lighttpd has a session
# of its own) and a SIGTERM sent to this script alone both become SIGTERM
# to serve.sh, which stops lighttpd gracefully. (serve.sh, started in the
# background, ignores SIGINT: POSIX.)
child=
stop=
trap 'stop=1; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null || :' \
    INT TERM
sh "$here/serve.sh" &
child=$!
[ -z "$stop" ] || kill -TERM "$child" 2>/dev/null || :
status=0
wait_for "$child" || status=$?
exit "$status"
