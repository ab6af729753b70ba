# tests/lib.sh: sourced by every shell test of gilly.
#
# Strict mode, a scratch directory removed on exit, and small helpers. The
# harness exports GILLY (the program), SRCDIR and BUILDDIR; run by hand,
# a test falls back on the tree it lives in and a build in the current
# directory. Exit statuses follow automake: 0 pass, 1 fail, 77 skip,
# 99 hard error.

set -eu

: "${SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${BUILDDIR:=$(pwd)}"
: "${GILLY:=$BUILDDIR/fcgi/gilly}"
export SRCDIR BUILDDIR GILLY
# Without these, gilly is the CLI (a CGI environment would make it CGI).
unset GATEWAY_INTERFACE GILLY_CONFIG 2>/dev/null || :
# Nor may the tests count in a metrics file of the caller's.
unset GILLY_METRICS_FILE 2>/dev/null || :

TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gilly-$TEST_NAME.XXXXXX")
FAILED=0
PASSED=0

# Commands to run at exit (cleanup_add 'kill 123'), before TMP goes.
CLEANUP=
cleanup_add() {
	CLEANUP="$1
$CLEANUP"
}
cleanup() {
	eval "$CLEANUP" || :
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 99' HUP INT TERM

# skip MESSAGE: the test cannot run here (a tool is missing).
skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

# hard_error MESSAGE: the test itself is broken.
hard_error() {
	echo "ERROR: $TEST_NAME: $*" >&2
	exit 99
}

# need_cmd CMD...: skip unless every command is on PATH (or a path).
need_cmd() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || skip "$_c not found"
	done
}

# Python with jsonpatch: Debian's own, not whatever python3 is first on PATH.
PYTHON=/usr/bin/python3
need_jsonpatch() {
	[ -x "$PYTHON" ] || skip "$PYTHON not found"
	"$PYTHON" -c 'import jsonpatch' 2>/dev/null ||
	    skip "$PYTHON has no jsonpatch (install python3-jsonpatch)"
}

[ -x "$GILLY" ] || hard_error "$GILLY is not an executable (run make first)"

# fcgi_start [--at HOST:PORT] ARGS...: spawn gilly ARGS as a FastCGI
# responder on a socket in $TMP (or on TCP at HOST:PORT) the way lighttpd
# does (the listening socket on fd 0), with cgi-fcgi -start. Sets
# FCGI_SOCK and FCGI_PID (killed at exit); the worker's stderr goes to
# $FCGI_LOG, its stdout (which must stay empty) to $TMP/fcgi.stdout.
fcgi_start() {
	need_cmd cgi-fcgi
	FCGI_SOCK=$TMP/gilly.sock
	if [ "${1:-}" = --at ]; then
		FCGI_SOCK=$2
		shift 2
	fi
	FCGI_LOG=$TMP/fcgi.log
	: >"$FCGI_LOG"
	: >"$TMP/fcgi.stdout"
	# A wrapper that records its PID, then becomes gilly (exec keeps it).
	{
		echo '#!/bin/sh'
		echo "echo \$\$ >'$TMP/fcgi.pid'"
		printf 'exec'
		for _a in "$GILLY" "$@"; do
			printf " '%s'" "$_a"
		done
		echo " >>'$TMP/fcgi.stdout' 2>>'$FCGI_LOG'"
	} >"$TMP/fcgi-wrapper"
	chmod +x "$TMP/fcgi-wrapper"
	# Not the PID of the worker started before, nor its file half written.
	rm -f "$TMP/fcgi.pid"
	cgi-fcgi -start -connect "$FCGI_SOCK" "$TMP/fcgi-wrapper" >/dev/null ||
	    hard_error "cgi-fcgi -start failed"
	_i=0
	while [ ! -s "$TMP/fcgi.pid" ] && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -s "$TMP/fcgi.pid" ] || hard_error "the FastCGI worker did not start"
	FCGI_PID=$(cat "$TMP/fcgi.pid")
	cleanup_add "kill $FCGI_PID 2>/dev/null"
}

# fcgi_alive: the worker spawned by fcgi_start still runs.
fcgi_alive() {
	kill -0 "$FCGI_PID" 2>/dev/null
}

# fcgi_gone: the worker of fcgi_start ends within 5 s (stopped by the
# caller); its unix socket is then removed.
fcgi_gone() {
	_i=0
	while fcgi_alive && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	fcgi_alive && return 1
	case $FCGI_SOCK in
	/*)	rm -f "$FCGI_SOCK" ;;
	esac
}

# fcgi_log_clean [PREFIX]: the worker's log holds no sanitizer report (a
# build with --enable-sanitizers); said with PREFIX.
fcgi_log_clean() {
	if grep -qE 'Sanitizer|runtime error:' "$FCGI_LOG"; then
		fail "${1:+$1: }a sanitizer report in the worker's log:"
		sed 's/^/	/' "$FCGI_LOG" | head -40
	else
		pass "${1:+$1: }no sanitizer report in the worker's log"
	fi
}

# fcgi_request METHOD URI [BODY [TYPE [LENGTH]]]: one request through
# cgi-fcgi -bind, from an otherwise empty environment. TYPE defaults to
# application/json and LENGTH to the size of BODY; "" leaves either out.
# Sets $status; the response's headers are in $TMP/resp.head (without
# CRs) and its body in $TMP/resp.body.
fcgi_request() {
	_method=$1
	_uri=$2
	_body=${3:-}
	_type=${4-application/json}
	if [ $# -ge 5 ]; then
		_len=$5
	elif [ -n "$_body" ]; then
		_len=$(wc -c <"$_body")
	else
		_len=
	fi
	set -- env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 \
	    SERVER_PROTOCOL=HTTP/1.1 REQUEST_METHOD="$_method" \
	    REQUEST_URI="$_uri"
	[ -z "$_type" ] || set -- "$@" CONTENT_TYPE="$_type"
	[ -z "$_len" ] || set -- "$@" CONTENT_LENGTH="$_len"
	"$@" cgi-fcgi -bind -connect "$FCGI_SOCK" <"${_body:-/dev/null}" \
	    >"$TMP/resp" 2>"$TMP/resp.err" || :
	sed -n '/^\r\{0,1\}$/q;p' "$TMP/resp" | tr -d '\r' >"$TMP/resp.head"
	sed '1,/^\r\{0,1\}$/d' "$TMP/resp" >"$TMP/resp.body"
	status=$(sed -n 's/^Status: \([0-9]*\).*/\1/p' "$TMP/resp.head")
	: "${status:=none}"
}

# jq_true FILTER FILE: the jq filter is true of FILE (quietly).
jq_true() {
	jq -e "$1" "$2" >/dev/null 2>&1
}

pass() {
	PASSED=$((PASSED + 1))
	echo "ok - $*"
}

fail() {
	FAILED=$((FAILED + 1))
	echo "not ok - $*"
}

# check NAME CMD...: run CMD, pass if it succeeds.
check() {
	_name=$1
	shift
	if "$@"; then pass "$_name"; else fail "$_name"; fi
}

# run OUT ERR CMD...: run CMD with stdout and stderr in files; sets $rc.
run() {
	_out=$1
	_err=$2
	shift 2
	rc=0
	"$@" >"$_out" 2>"$_err" || rc=$?
}

# expect_rc NAME WANT: compare $rc (from run) with WANT.
expect_rc() {
	if [ "$rc" -eq "$2" ]; then
		pass "$1: exit $2"
	else
		fail "$1: exit $rc, expected $2"
	fi
}

# expect_grep NAME PATTERN FILE: FILE has a line matching PATTERN (fixed string).
expect_grep() {
	if grep -qF -- "$2" "$3"; then
		pass "$1: has \"$2\""
	else
		fail "$1: no \"$2\" in:"
		sed 's/^/	/' "$3" | head -20
	fi
}

# log_wait FILE TEXT [N]: FILE comes to hold at least N (1) lines with TEXT
# (a fixed string) within 5 s. A worker writes its requests' log lines
# once it has had no request for a moment (fcgi/serve.c), not with the
# answer.
log_wait() {
	_i=0
	while [ "$(grep -cF -- "$2" "$1" || :)" -lt "${3:-1}" ]; do
		[ $_i -lt 100 ] || return 1
		sleep 0.05
		_i=$((_i + 1))
	done
}

# log_settle: long enough for a worker with no request to have written all
# it held (fcgi/serve.c: 20 ms), before lines are counted.
log_settle() {
	sleep 0.1
}

# expect_logged NAME TEXT FILE: expect_grep, of a worker's log.
expect_logged() {
	log_wait "$3" "$2" || :
	expect_grep "$@"
}

# expect_same NAME WANT GOT: the two files are identical.
expect_same() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1: differs:"
		diff -u "$2" "$3" | head -40 || :
	fi
}

# finish: the summary line and the exit status.
finish() {
	echo "$TEST_NAME: $PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# metric FILE SERIES: the value of SERIES ("name", or "name{labels}" as
# gilly writes it) in the Prometheus exposition in FILE; nothing if absent.
metric() {
	awk -v s="$2" 'index($0, s " ") == 1 {
		print substr($0, length(s) + 2)
		exit
	}' "$1"
}

# expect_metric NAME FILE SERIES WANT: SERIES in FILE has the value WANT.
expect_metric() {
	_v=$(metric "$2" "$3")
	if [ "$_v" = "$4" ]; then
		pass "$1: $3 $4"
	else
		fail "$1: $3 is ${_v:-absent}, expected $4"
	fi
}
