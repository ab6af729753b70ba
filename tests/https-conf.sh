#!/bin/sh
# tests/https-conf.sh: lighttpd/lighttpd.conf passes lighttpd -tt (parsed,
# modules loaded, certificate and key read) with its environment set, and
# names each setting missing from it; serve.sh refuses what it cannot
# serve (no table, a table that does not load, a run directory missing)
# at once, leaving nothing running; gencert.sh makes a CA, then renewals
# under it.

. "$(dirname "$0")/https-lib.sh"

VARS="GILLY_BIND GILLY_PORT GILLY_TLS_DIR GILLY_RUN_DIR GILLY_WORKERS GILLY_BIN
GILLY_CONFIG GILLY_ACCESS_LOG"

# conf_test [VAR=VALUE...]: lighttpd -tt on lighttpd.conf, in the test's
# environment changed by the arguments (VAR= alone: VAR unset); the output
# in $TMP/tt, the status in $rc.
conf_test() {
	rc=0
	(
		GILLY_BIND=127.0.0.1
		GILLY_PORT=8443
		GILLY_TLS_DIR=$HTTPS_TLS
		GILLY_RUN_DIR=$HTTPS_RUN
		GILLY_WORKERS=2
		GILLY_BIN=$GILLY
		GILLY_CONFIG=$HTTPS_TABLE
		GILLY_ACCESS_LOG=$TMP/access.log
		# shellcheck disable=SC2086,SC2163 # the names in $VARS
		export $VARS
		for _a in "$@"; do
			case $_a in
			*=)	unset "${_a%=}" ;;
			*)	# shellcheck disable=SC2163 # VAR=VALUE
				export "$_a" ;;
			esac
		done
		exec "$LIGHTTPD" -tt -f "$HTTPS_CONF"
	) >"$TMP/tt" 2>&1 || rc=$?
}

conf_test
expect_rc "lighttpd -tt" 0
for v in $VARS; do
	conf_test "$v="
	if [ "$rc" -ne 0 ] && grep -qF "Undefined env variable: $v" "$TMP/tt"
	then
		pass "without $v: refused, and named"
	else
		fail "without $v: exit $rc"
		sed 's/^/#	/' "$TMP/tt"
	fi
done
conf_test GILLY_PORT=https
expect_rc "a port that is no number" 255
conf_test GILLY_TLS_DIR="$TMP/nothing"
expect_rc "no certificate" 255

# A key that is not the certificate's.
mkdir "$TMP/mixed"
cp "$HTTPS_TLS/tls.crt" "$TMP/mixed/"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$TMP/mixed/tls.key" 2>/dev/null
conf_test GILLY_TLS_DIR="$TMP/mixed"
expect_rc "a key not the certificate's" 255
expect_grep "a key not the certificate's" "does not match" "$TMP/tt"

# --- serve.sh refusing to start ---------------------------------------------

# serve_fails NAME WANT [VAR=VALUE...]: serve.sh, with the test's settings
# changed by the arguments, exits non-zero within 20 s, saying WANT, and
# leaves nothing running.
serve_fails() {
	_name=$1
	_want=$2
	shift 2
	rc=0
	(
		GILLY_BIND=127.0.0.1
		GILLY_PORT=$(https_random_port)
		GILLY_TLS_DIR=$HTTPS_TLS
		GILLY_RUN_DIR=$HTTPS_RUN
		GILLY_BIN=$GILLY
		GILLY_CONFIG=$HTTPS_TABLE
		GILLY_ACCESS_LOG=$TMP/access.log
		export GILLY_BIND GILLY_PORT GILLY_TLS_DIR GILLY_RUN_DIR \
		    GILLY_BIN GILLY_CONFIG GILLY_ACCESS_LOG
		for _a in "$@"; do
			case $_a in
			*=)	unset "${_a%=}" ;;
			*)	# shellcheck disable=SC2163 # VAR=VALUE
				export "$_a" ;;
			esac
		done
		exec timeout 20 sh "$HTTPS_SERVE"
	) >"$TMP/serve.out" 2>"$TMP/serve.err" || rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] &&
	    grep -qF -- "$_want" "$TMP/serve.err"; then
		pass "$_name: refused (exit $rc)"
	else
		fail "$_name: exit $rc"
		sed 's/^/#	/' "$TMP/serve.err"
	fi
	# shellcheck disable=SC2046
	https_gone $(https_ours) ||
	    fail "$_name: left running: $(https_ours | tr '\n' ' ')"
}

serve_fails "serve.sh without GILLY_CONFIG" "GILLY_CONFIG is not set" \
    GILLY_CONFIG=
serve_fails "serve.sh without its run directory" "is not a directory" \
    GILLY_RUN_DIR="$TMP/nothing"
# The workers could not load the table: nothing starts, and the log says
# where the table is wrong.
printf 'mirrors:\n  gcr.io: [unclosed\n' >"$TMP/broken.yaml"
serve_fails "a broken table" "$TMP/broken.yaml:3:1:" \
    GILLY_CONFIG="$TMP/broken.yaml"
if grep -q 'server started' "$TMP/serve.err"; then
	fail "a broken table: lighttpd was started"
else
	pass "a broken table: lighttpd not even started"
fi

# --- gencert.sh ---------------------------------------------------------------

if openssl verify -CAfile "$HTTPS_TLS/ca.crt" "$HTTPS_TLS/tls.crt" \
    >/dev/null 2>&1; then
	pass "gencert.sh: the CA signed the certificate"
else
	fail "gencert.sh: the certificate does not verify against ca.crt"
fi
openssl x509 -noout -ext subjectAltName -in "$HTTPS_TLS/tls.crt" \
    >"$TMP/san" 2>&1 || :
expect_grep "gencert.sh: SAN" "IP Address:127.0.0.1, DNS:localhost" "$TMP/san"
ca=$(cksum <"$HTTPS_TLS/ca.crt")
old=$(openssl x509 -noout -serial -in "$HTTPS_TLS/tls.crt")
sh "$HTTPS_GENCERT" "$HTTPS_TLS" gilly.gilly.svc 10.0.0.1 ::1
check "gencert.sh again: the CA is kept" \
    [ "$(cksum <"$HTTPS_TLS/ca.crt")" = "$ca" ]
check "gencert.sh again: a new certificate" \
    [ "$(openssl x509 -noout -serial -in "$HTTPS_TLS/tls.crt")" != "$old" ]
openssl x509 -noout -ext subjectAltName -in "$HTTPS_TLS/tls.crt" \
    >"$TMP/san" 2>&1 || :
expect_grep "gencert.sh: SAN of the new one" \
    "DNS:gilly.gilly.svc, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1" \
    "$TMP/san"
conf_test
expect_rc "lighttpd -tt with the new pair" 0

finish
