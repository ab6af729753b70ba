#!/bin/sh
# serve.sh: run gilly behind lighttpd in the foreground, until a signal.
#
# The pod's entrypoint; `make run` (lighttpd/run.sh) and the HTTPS tests
# start it too. It fills in the defaults of lighttpd.conf's environment,
# starts lighttpd -D, and stays in front of it:
#
# - SIGTERM or SIGINT: lighttpd stops gracefully (SIGINT): it closes its
#   listener, lets the requests in flight finish, stops its workers; then
#   serve.sh exits with lighttpd's status.
# - A renewed certificate: lighttpd 1.4.69 reads tls.crt and tls.key when
#   it starts and never again. Every GILLY_TLS_POLL seconds serve.sh looks
#   at them; when they have changed, and a restart would come back up (see
#   restart_ok), it sends lighttpd SIGUSR1, a graceful restart in the same
#   process: the listening socket stays open (new connections wait in its
#   backlog), the requests in flight finish, the configuration and the
#   certificate are read again and the workers respawned. A pair that does
#   not load yet (one file written, not the other) is tried again at the
#   next look.
# - SIGUSR1: a restart by hand, passed on to lighttpd under the same
#   checks; refused (and said why) where lighttpd would not come back.
#
# It does not start lighttpd on a table gilly cannot load: lighttpd would
# run on, respawning workers that exit at once. Once the workers have run,
# they keep a copy of their last good table in the run directory, and
# workers respawned or restarted while the table is broken start from it.
#
# Environment (see lighttpd.conf), with the pod's defaults:
#	GILLY_CONFIG      the mirror table (required)
#	GILLY_TLS_DIR     /etc/gilly/tls
#	GILLY_RUN_DIR     /run/gilly
#	GILLY_BIND        0.0.0.0
#	GILLY_PORT        8443
#	GILLY_WORKERS     2
#	GILLY_BIN         gilly, as found on PATH
#	GILLY_ACCESS_LOG  serve.sh's stdout
#	GILLY_TLS_POLL    30 (seconds)
#	GILLY_LIGHTTPD_CONF  lighttpd.conf next to this script
#	LIGHTTPD          lighttpd, as found on PATH or in /usr/sbin
set -eu

prog=serve.sh
log() {
	echo "$(date '+%Y/%m/%d %H:%M:%S') [$prog] $*" >&2
}
die() {
	log "$*"
	exit 1
}

# abspath PATH: PATH made absolute. The workers run in gilly's directory
# (lighttpd changes to it), so a relative table path would move.
abspath() {
	case $1 in
	/*)	echo "$1" ;;
	*)	echo "$(pwd)/$1" ;;
	esac
}

here=$(cd "$(dirname "$0")" && pwd)
: "${GILLY_LIGHTTPD_CONF:=$here/lighttpd.conf}"
if [ -z "${LIGHTTPD:-}" ]; then
	LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
fi
[ -n "${GILLY_CONFIG:-}" ] || die "GILLY_CONFIG is not set: the mirror table"
: "${GILLY_TLS_DIR:=/etc/gilly/tls}"
: "${GILLY_RUN_DIR:=/run/gilly}"
: "${GILLY_BIND:=0.0.0.0}"
: "${GILLY_PORT:=8443}"
: "${GILLY_WORKERS:=2}"
if [ -z "${GILLY_BIN:-}" ]; then
	GILLY_BIN=$(command -v gilly) || die "gilly is not on PATH: set GILLY_BIN"
fi
: "${GILLY_TLS_POLL:=30}"

GILLY_CONFIG=$(abspath "$GILLY_CONFIG")
GILLY_TLS_DIR=$(abspath "$GILLY_TLS_DIR")
GILLY_RUN_DIR=$(abspath "$GILLY_RUN_DIR")
GILLY_BIN=$(abspath "$GILLY_BIN")

# lighttpd sends its own stdout to /dev/null, so the access log goes to a
# copy of ours: fd 3, which lighttpd inherits and opens again by name.
exec 3>&1
: "${GILLY_ACCESS_LOG:=/proc/self/fd/3}"

export GILLY_CONFIG GILLY_TLS_DIR GILLY_RUN_DIR GILLY_BIND GILLY_PORT \
    GILLY_WORKERS GILLY_BIN GILLY_ACCESS_LOG

[ -x "$LIGHTTPD" ] || die "lighttpd not found: set LIGHTTPD"
[ -x "$GILLY_BIN" ] || die "$GILLY_BIN is not an executable"
[ -d "$GILLY_RUN_DIR" ] || die "$GILLY_RUN_DIR is not a directory"
# A table the workers cannot load must stop the start here: lighttpd gives
# a spawned worker 1 ms to fail (gw_backend.c) and, when it fails later,
# runs on and respawns it forever.
"$GILLY_BIN" check-config "$GILLY_CONFIG" >/dev/null ||
    die "the workers could not load $GILLY_CONFIG"

# The pair's state: any change to either file changes it. The kubelet
# swaps a Secret's files together (one symlink), so a look sees one pair.
tls_state() {
	cat "$GILLY_TLS_DIR/tls.crt" "$GILLY_TLS_DIR/tls.key" 2>/dev/null |
	    cksum
}

# The workers' copy of their last good table (fcgi/tablecopy.h), next to
# their sockets: lighttpd.conf's socket, gilly.sock, and ".table" (another
# GILLY_LIGHTTPD_CONF may put it elsewhere; restart_ok then finds none).
# One left by an earlier run is removed: the workers about to start write
# their own, from the table just checked.
table_copy=$GILLY_RUN_DIR/gilly.sock.table
rm -f "$table_copy"

# restart_ok WHAT: whether a graceful restart for WHAT would come back up:
# lighttpd -tt loads the certificate and checks the key against it (and
# spawns nothing); the respawned workers load the table, or, if it does
# not load, the copy of the last good one. Says why not.
restart_ok() {
	# The first line says why; lighttpd's next ones ("Going down") are
	# about the test run, not about the server.
	if ! _out=$("$LIGHTTPD" -tt -f "$GILLY_LIGHTTPD_CONF" 2>&1); then
		log "$1 waits: lighttpd would not restart:" \
		    "$(printf '%s\n' "$_out" | head -n 1)"
		return 1
	fi
	_out=$("$GILLY_BIN" check-config "$GILLY_CONFIG" 2>&1) && return 0
	_out=$(printf '%s\n' "$_out" | head -n 1)
	if [ -s "$table_copy" ]; then
		log "$1: the table does not load ($_out): the workers" \
		    "restart from the last good one"
		return 0
	fi
	log "$1 waits: the workers could not restart: $_out"
	return 1
}

# watch_tls PID STATE: until lighttpd PID is gone, restart it gracefully
# when the certificate's state is no longer STATE. Ends on SIGTERM.
watch_tls() {
	_last=$2
	_sleep=
	trap 'kill "$_sleep" 2>/dev/null; exit 0' TERM
	while kill -0 "$1" 2>/dev/null; do
		sleep "$GILLY_TLS_POLL" &
		_sleep=$!
		wait "$_sleep" || :
		_now=$(tls_state)
		[ "$_now" != "$_last" ] || continue
		restart_ok "new certificate" || continue
		log "certificate changed: lighttpd restarts gracefully"
		kill -USR1 "$1" 2>/dev/null || :
		_last=$_now
	done
}

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

# A stop asked for before lighttpd runs is passed on once it does.
pid=
stop=
trap 'stop=1; [ -z "$pid" ] || kill -INT "$pid" 2>/dev/null || :' INT TERM
trap '[ -z "$pid" ] || ! restart_ok "restart on SIGUSR1" ||
    kill -USR1 "$pid" 2>/dev/null || :' USR1

# lighttpd in a session of its own (setsid, where there is one): Ctrl-C
# in a terminal then reaches this script, which stops lighttpd gracefully,
# and not the workers: killed under it, they would be respawned while it
# stops, and their requests in flight lost.
setsid=
if command -v setsid >/dev/null 2>&1; then
	setsid=setsid
fi

# The state lighttpd starts with: taken before it reads the files.
state=$(tls_state)
$setsid "$LIGHTTPD" -D -f "$GILLY_LIGHTTPD_CONF" &
pid=$!
[ -z "$stop" ] || kill -INT "$pid" 2>/dev/null || :
watch_tls "$pid" "$state" &
watcher=$!

status=0
wait_for "$pid" || status=$?
kill "$watcher" 2>/dev/null || :
wait "$watcher" 2>/dev/null || :
exit "$status"
