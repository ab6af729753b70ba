# tests/https-lib.sh: sourced by the HTTPS tests (tests/https*.sh).
#
# They run the real thing: lighttpd/serve.sh starts lighttpd with
# lighttpd/lighttpd.conf, which spawns gilly workers; the tests talk to it
# over TLS with curl (and, for requests curl will not send, a few lines of
# Python over a raw TLS socket). Everything a test starts is found again by
# its environment (GILLY_CONFIG names the test's own copy of the table, and
# lighttpd hands that to the workers too), so that at the end, failed or
# not, exactly those processes are stopped, by PID, and a check can say
# that none is left.
#
# Builds on tests/lib.sh ($TMP, pass/fail/finish, cleanup_add). Skips (77)
# without lighttpd ($LIGHTTPD, from configure), its mod_openssl, curl,
# openssl or jq.

. "$(dirname "$0")/lib.sh"

need_cmd curl openssl jq
if [ -z "${LIGHTTPD:-}" ]; then
	LIGHTTPD=$(command -v lighttpd 2>/dev/null || echo /usr/sbin/lighttpd)
fi
[ -x "$LIGHTTPD" ] || skip "lighttpd not found"
export LIGHTTPD

# shellcheck disable=SC2034 # for the tests that source this file
HTTPS_CONF=$SRCDIR/lighttpd/lighttpd.conf
HTTPS_SERVE=$SRCDIR/lighttpd/serve.sh
HTTPS_GENCERT=$SRCDIR/lighttpd/gencert.sh
HTTPS_TLS=$TMP/tls
HTTPS_CA=$HTTPS_TLS/ca.crt
HTTPS_TABLE=$TMP/gilly.yaml
HTTPS_RUN=$TMP/run
HTTPS_ERR=$TMP/server.err
HTTPS_ACCESS=$TMP/access.log
HTTPS_SERVE_PID=
HTTPS_LIGHTTPD_PID=
HTTPS_PORT=
HTTPS_URL=
: "${HTTPS_WORKERS:=2}"

# Debian ships mod_openssl apart (lighttpd-mod-openssl).
printf '%s\n' 'server.document-root = "/nonexistent"' 'server.port = 8443' \
    'server.modules = ( "mod_openssl" )' >"$TMP/probe.conf"
if ! "$LIGHTTPD" -tt -f "$TMP/probe.conf" >"$TMP/probe.out" 2>&1; then
	grep -q mod_openssl "$TMP/probe.out" &&
	    skip "lighttpd cannot load mod_openssl"
	cat "$TMP/probe.out" >&2
	hard_error "lighttpd -tt fails on a minimal configuration"
fi

# need_python: skip unless the Python for raw TLS requests is there.
need_python() {
	[ -x "$PYTHON" ] || skip "$PYTHON not found"
}

# The certificate (once per test) and the test's own copy of the table.
sh "$HTTPS_GENCERT" "$HTTPS_TLS" 127.0.0.1 localhost ||
    hard_error "gencert.sh failed"
cp "$SRCDIR/conf/gilly.yaml" "$HTTPS_TABLE"
mkdir "$HTTPS_RUN"

# https_pid_state PID: the one-letter state of PID (R, S, Z...), or nothing.
https_pid_state() {
	_st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	# After the command name, which is in parentheses and may hold spaces.
	_st=${_st##*) }
	echo "${_st%% *}"
}

# https_alive PID: PID runs (a zombie has finished).
https_alive() {
	_s=$(https_pid_state "$1")
	[ -n "$_s" ] && [ "$_s" != Z ]
}

# https_children PID [NAME]: the live children of PID (named NAME).
https_children() {
	for _d in /proc/[0-9]*; do
		_st=$(cat "$_d/stat" 2>/dev/null) || continue
		_st=${_st##*) }
		[ "${_st%% *}" != Z ] || continue
		_st=${_st#* }
		[ "${_st%% *}" = "$1" ] || continue
		if [ -n "${2:-}" ] && [ "$(cat "$_d/comm" 2>/dev/null)" != "$2" ]
		then
			continue
		fi
		echo "${_d#/proc/}"
	done
}

# https_workers: the gilly workers lighttpd runs now, one PID a line.
https_workers() {
	https_children "$HTTPS_LIGHTTPD_PID" gilly
}

# https_respawned OLD...: within 10 s, HTTPS_WORKERS workers again, none
# of them one of OLD.
https_respawned() {
	_i=0
	while [ $_i -lt 100 ]; do
		_now=$(https_workers)
		if [ "$(echo "$_now" | grep -c .)" -eq "$HTTPS_WORKERS" ]; then
			_stale=0
			for _o in "$@"; do
				echo "$_now" | grep -qx "$_o" && _stale=1
			done
			[ $_stale -eq 1 ] || return 0
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	echo "# workers now: $(echo "$_now" | tr '\n' ' ')"
	return 1
}

# https_ours: the live processes this test started: serve.sh, lighttpd,
# gilly workers (GILLY_CONFIG=$HTTPS_TABLE is in their environment only).
https_ours() {
	for _d in /proc/[0-9]*; do
		[ "${_d#/proc/}" != $$ ] || continue
		tr '\0' '\n' 2>/dev/null <"$_d/environ" |
		    grep -qxF "GILLY_CONFIG=$HTTPS_TABLE" || continue
		https_alive "${_d#/proc/}" && echo "${_d#/proc/}"
	done
}

# https_kill: the last resort, at exit: SIGKILL to whatever is left.
https_kill() {
	for _p in $(https_ours); do
		kill -KILL "$_p" 2>/dev/null || :
	done
}
cleanup_add https_kill

# https_random_port: a port under the ephemeral range (32768 up on Linux),
# so that no outgoing connection holds it; a collision is retried.
https_random_port() {
	_n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((20000 + _n % 12000))
}

# https_curl ARG...: curl against the server, trusting the test's CA only.
https_curl() {
	curl -sS --max-time 10 --cacert "$HTTPS_CA" "$@"
}

# https_status PATH [CURL-ARG...]: the HTTP status of a request, on stdout.
https_status() {
	_path=$1
	shift
	https_curl -o /dev/null -w '%{http_code}' "$@" "$HTTPS_URL$_path" ||
	    :
}

# https_ready: /healthz answers 200 within 10 s, while $HTTPS_SERVE_PID
# runs.
https_ready() {
	_i=0
	while [ $_i -lt 100 ]; do
		https_alive "$HTTPS_SERVE_PID" || return 1
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
		    --cacert "$HTTPS_CA" "$HTTPS_URL/healthz")" != 200 ] ||
		    return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# expect_status NAME WANT GOT: a status (or what stands for one) is WANT.
expect_status() {
	if [ "$3" = "$2" ]; then
		pass "$1: $2"
	else
		fail "$1: got ${3:-nothing}, expected $2"
	fi
}

# https_start: serve.sh (and lighttpd and its workers) on a free port of
# 127.0.0.1, up and answering /healthz; sets HTTPS_PORT, HTTPS_URL,
# HTTPS_SERVE_PID and HTTPS_LIGHTTPD_PID. Settings of lighttpd.conf come
# from the caller's GILLY_* where set.
https_start() {
	_try=0
	while :; do
		_try=$((_try + 1))
		HTTPS_PORT=$(https_random_port)
		HTTPS_URL=https://127.0.0.1:$HTTPS_PORT
		: >"$HTTPS_ERR"
		# A subshell: the GILLY_* variables go to serve.sh only.
		(
			GILLY_BIND=127.0.0.1
			GILLY_PORT=$HTTPS_PORT
			GILLY_TLS_DIR=$HTTPS_TLS
			GILLY_RUN_DIR=$HTTPS_RUN
			GILLY_WORKERS=$HTTPS_WORKERS
			GILLY_BIN=$GILLY
			GILLY_CONFIG=$HTTPS_TABLE
			GILLY_ACCESS_LOG=$HTTPS_ACCESS
			: "${GILLY_TLS_POLL:=1}"
			export GILLY_BIND GILLY_PORT GILLY_TLS_DIR GILLY_RUN_DIR \
			    GILLY_WORKERS GILLY_BIN GILLY_CONFIG \
			    GILLY_ACCESS_LOG GILLY_TLS_POLL
			exec sh "$HTTPS_SERVE"
		) >>"$TMP/server.out" 2>"$HTTPS_ERR" &
		HTTPS_SERVE_PID=$!
		if https_ready; then
			break
		fi
		https_alive "$HTTPS_SERVE_PID" && kill -KILL "$HTTPS_SERVE_PID"
		wait "$HTTPS_SERVE_PID" || :
		if [ $_try -lt 20 ] &&
		    grep -q 'Address already in use' "$HTTPS_ERR"; then
			continue
		fi
		echo "# lighttpd did not come up:"
		sed 's/^/#	/' "$HTTPS_ERR"
		return 1
	done
	HTTPS_LIGHTTPD_PID=$(https_children "$HTTPS_SERVE_PID" lighttpd)
	[ -n "$HTTPS_LIGHTTPD_PID" ]
}

# https_gone PID...: each PID ends within 10 s.
https_gone() {
	for _p in "$@"; do
		_i=0
		while https_alive "$_p"; do
			[ $_i -lt 100 ] || return 1
			sleep 0.1
			_i=$((_i + 1))
		done
	done
}

# https_stop [SIGNAL]: stop serve.sh with SIGNAL (TERM) and wait for it;
# then nothing this test started may be left (workers included). Sets
# $HTTPS_STATUS, serve.sh's exit status.
https_stop() {
	HTTPS_STATUS=
	kill -"${1:-TERM}" "$HTTPS_SERVE_PID" || return 1
	https_gone "$HTTPS_SERVE_PID" || return 1
	HTTPS_STATUS=0
	# shellcheck disable=SC2034 # for the caller
	wait "$HTTPS_SERVE_PID" || HTTPS_STATUS=$?
	# The workers end on lighttpd's SIGTERM, a moment after it.
	# shellcheck disable=SC2046
	https_gone $(https_ours) || {
		https_show_ours
		return 1
	}
}

# https_show_ours: what is left running, into the test's log.
https_show_ours() {
	echo "# left running:"
	for _p in $(https_ours); do
		echo "#	$_p $(tr '\0' ' ' 2>/dev/null <"/proc/$_p/cmdline")"
	done
}

# https_mutate FIXTURE OUT [CURL-ARG...]: POST FIXTURE to /mutate, the
# response body in OUT; the status on stdout.
https_mutate() {
	_in=$1
	_out=$2
	shift 2
	https_curl -o "$_out" -w '%{http_code}' -H 'Content-Type: application/json' \
	    --data-binary "@$_in" "$@" "$HTTPS_URL/mutate" || :
}

# https_same_as_cli NAME FIXTURE BODY: BODY, a response from /mutate, is
# the JSON the CLI writes for the same review (the reference).
https_same_as_cli() {
	"$GILLY" -c "$HTTPS_TABLE" <"$2" >"$TMP/cli.json" 2>/dev/null || :
	if ! jq -S . "$TMP/cli.json" >"$TMP/cli.norm" 2>/dev/null; then
		fail "$1: the CLI wrote no JSON for $2"
		return
	fi
	if ! jq -S . "$3" >"$TMP/http.norm" 2>/dev/null; then
		fail "$1: the response is not JSON:"
		head -c 400 "$3" | sed 's/^/#	/'
		echo
		return
	fi
	expect_same "$1" "$TMP/cli.norm" "$TMP/http.norm"
}

# https_fixtures_as_cli: every captured review is answered 200, as the
# CLI answers it.
https_fixtures_as_cli() {
	for _f in "$SRCDIR"/tests/fixtures/*.json; do
		_name=$(basename "$_f")
		expect_status "POST /mutate $_name" 200 \
		    "$(https_mutate "$_f" "$TMP/resp.json")"
		https_same_as_cli "$_name: the CLI's answer" "$_f" \
		    "$TMP/resp.json"
	done
}

# https_served_serial: the serial number of the certificate served now.
https_served_serial() {
	openssl s_client -connect "127.0.0.1:$HTTPS_PORT" </dev/null 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null
}

# https_raw MODE ARG...: a request curl would not send, over a raw TLS
# socket (HTTP/1.1), with Python; prints what came back (see below).
https_raw() {
	"$PYTHON" "$TMP/raw.py" "$HTTPS_PORT" "$@"
}
cat >"$TMP/raw.py" <<'EOF'
# raw.py PORT MODE ...: one HTTP/1.1 request over TLS to 127.0.0.1:PORT,
# written the way MODE says; prints "status CODE", or "closed" when the
# server closed the connection without a response, then " after SECONDS".
#   length N              the headers of a POST /mutate of N bytes, no body
#   truncate FILE N       the headers for FILE, N bytes of it, then the end
#                         of the client's half of the connection
#   stall FILE N          the headers for FILE, N bytes of it, then silence
#   stallhead             half the headers of a request, then silence
#   stallpost PATH N      the headers of a POST to PATH of N bytes of JSON,
#                         one byte of it, then silence
#   slow FILE PARTS SECS OUT
#                         all of FILE in PARTS pieces, SECS apart; the
#                         response body goes to OUT
import socket, ssl, sys, time

port, mode, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["http/1.1"])
conn = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 10))

def head(n):
    conn.sendall(b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % n)

body = b""
if mode == "length":
    head(int(args[0]))
elif mode == "stallhead":
    conn.sendall(b"POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\n")
elif mode == "stallpost":
    conn.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n{" %
                 (args[0].encode(), int(args[1])))
else:
    body = open(args[0], "rb").read()
    head(len(body))
start = time.time()
if mode in ("truncate", "stall"):
    conn.sendall(body[:int(args[1])])
    if mode == "truncate":
        # TCP's half-close of the same socket, under TLS.
        socket.fromfd(conn.fileno(), socket.AF_INET,
                      socket.SOCK_STREAM).shutdown(socket.SHUT_WR)
elif mode == "slow":
    parts, secs = int(args[1]), float(args[2])
    step = -(-len(body) // parts)
    for i in range(0, len(body), step):
        if i:
            time.sleep(secs)
        conn.sendall(body[i:i + step])
conn.settimeout(30)
data = b""
try:
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
        hdr, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            n = 0
            for line in hdr.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    n = int(v)
            if len(rest) >= n:
                break
except (OSError, ssl.SSLError):
    pass
took = time.time() - start
if data.startswith(b"HTTP/"):
    print("status %s after %.1f" % (data.split()[1].decode(), took))
    if mode == "slow":
        open(args[3], "wb").write(data.partition(b"\r\n\r\n")[2])
else:
    print("closed after %.1f" % took)
EOF

# https_log_clean: the server's log holds no sanitizer report (a build
# with --enable-sanitizers) and no crash of a worker.
https_log_clean() {
	! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:|child signalled: (6|11)$' \
	    "$HTTPS_ERR"
}

# https_show_log: the end of the server's log, into the test's log.
https_show_log() {
	echo "# server log (end):"
	tail -n 30 "$HTTPS_ERR" | sed 's/^/#	/'
}

# https_metrics OUT: GET /metrics through lighttpd, the body into OUT; the
# status on stdout.
https_metrics() {
	https_curl -o "$1" -w '%{http_code}' "$HTTPS_URL/metrics" || :
}

# https_worker_sockets: the FastCGI socket of each worker (lighttpd names
# them gilly.sock-0, gilly.sock-1, ...), one a line.
https_worker_sockets() {
	for _s in "$HTTPS_RUN"/gilly.sock-*; do
		[ -S "$_s" ] && echo "$_s"
	done
}

# https_worker_metrics SOCKET OUT: GET /metrics from the one worker behind
# SOCKET, past lighttpd (cgi-fcgi), the body into OUT.
https_worker_metrics() {
	env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET \
	    REQUEST_URI=/metrics SERVER_PROTOCOL=HTTP/1.1 \
	    cgi-fcgi -bind -connect "$1" </dev/null 2>/dev/null |
	    sed '1,/^\r\{0,1\}$/d' >"$2" || :
}

# https_worker_reads PID: the bytes worker PID has read so far, its
# requests included (rchar of /proc/PID/io); nothing if it is gone.
https_worker_reads() {
	sed -n 's/^rchar: //p' "/proc/$1/io" 2>/dev/null || :
}
