#!/bin/sh
# tests/https-renew.sh: a certificate renewed on disk is served without
# stopping anything. lighttpd 1.4.69 reads its certificate only when it
# starts; serve.sh notices the new files and has lighttpd restart
# gracefully (SIGUSR1), in the same process, its listening socket open.
# The reviews sent meanwhile all succeed. A pair that does not load (the
# certificate written, its key not yet) holds the restart back until it is
# whole, also a restart asked for by hand (SIGUSR1 to serve.sh). A broken
# table does not: the restarted workers start from their copy of the last
# good table.

. "$(dirname "$0")/https-lib.sh"

FIXTURE=$SRCDIR/tests/fixtures/pod-create-gcr.json
GILLY_TLS_POLL=1

if https_start; then
	pass "lighttpd answers /healthz"
else
	fail "lighttpd did not start"
	finish
fi

# serial FILE: the serial number of the certificate in FILE.
serial() {
	openssl x509 -noout -serial -in "$1"
}

# served NAME WANT: within 15 s, the server presents serial WANT.
served() {
	_i=0
	while [ "$(https_served_serial)" != "$2" ]; do
		if [ $_i -ge 150 ]; then
			fail "$1: serves $(https_served_serial), not $2"
			return
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	pass "$1: served"
}

# still NAME WANT: after 3 looks of serve.sh, the server presents WANT.
still() {
	sleep 3
	_got=$(https_served_serial)
	if [ "$_got" = "$2" ]; then
		pass "$1: the old certificate is still served"
	else
		fail "$1: serves $_got, expected $2"
	fi
}

lighttpd_pid=$HTTPS_LIGHTTPD_PID
old_workers=$(https_workers)
first=$(serial "$HTTPS_TLS/tls.crt")
check "the first certificate is served" \
    [ "$(https_served_serial)" = "$first" ]

# expect_same_json A B: the JSON in files A and B is the same.
expect_same_json() {
	[ "$(jq -S . "$1" 2>/dev/null)" = "$(jq -S . "$2" 2>/dev/null)" ] &&
	    [ -n "$(jq -S . "$1" 2>/dev/null)" ]
}

# Reviews, one after another on new connections, all through the renewal.
: >"$TMP/load"
(
	while [ ! -e "$TMP/stop" ]; do
		printf '%s\n' "$(https_mutate "$FIXTURE" /dev/null --http1.1)" \
		    >>"$TMP/load"
	done
) &
load=$!
sleep 1

# A renewal by the same CA, as cert-manager does it: both files replaced.
sh "$HTTPS_GENCERT" "$HTTPS_TLS" 127.0.0.1 localhost
second=$(serial "$HTTPS_TLS/tls.crt")
served "the renewed certificate" "$second"
sleep 1
touch "$TMP/stop"
wait "$load" || :
total=$(grep -c . "$TMP/load" || :)
good=$(grep -cx 200 "$TMP/load" || :)
if [ "$total" -ge 10 ] && [ "$good" -eq "$total" ]; then
	pass "reviews during the renewal: $good of $total answered"
else
	fail "reviews during the renewal: $good of $total answered:" \
	    "$(sort "$TMP/load" | uniq -c | tr '\n' ' ')"
fi
check "the same lighttpd process serves it" \
    [ "$(https_children "$HTTPS_SERVE_PID" lighttpd)" = "$lighttpd_pid" ]
check "clients trusting the CA accept it" \
    [ "$(https_status /healthz)" = 200 ]
check "the workers were restarted with it" \
    [ "$(https_workers)" != "$old_workers" ]
check "serve.sh says why lighttpd restarted" \
    grep -qF 'certificate changed: lighttpd restarts gracefully' "$HTTPS_ERR"

# Half a renewal: the new certificate, the old key. lighttpd -tt refuses
# the pair, so no restart (which would have failed and stopped lighttpd).
mkdir "$TMP/next"
cp "$HTTPS_TLS/ca.crt" "$HTTPS_TLS/ca.key" "$TMP/next/"
sh "$HTTPS_GENCERT" "$TMP/next" 127.0.0.1 localhost
third=$(serial "$TMP/next/tls.crt")
cp "$TMP/next/tls.crt" "$HTTPS_TLS/tls.crt.new"
mv "$HTTPS_TLS/tls.crt.new" "$HTTPS_TLS/tls.crt"
still "a certificate without its key" "$second"
check "serve.sh says the new pair does not load" \
    grep -qF 'new certificate waits: lighttpd would not restart' "$HTTPS_ERR"
check "the server serves on" [ "$(https_status /healthz)" = 200 ]
# By hand, the same: lighttpd would stop on SIGUSR1.
kill -USR1 "$HTTPS_SERVE_PID"
i=0
while ! grep -qF 'restart on SIGUSR1 waits: lighttpd would not restart' \
    "$HTTPS_ERR" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "SIGUSR1 by hand: serve.sh says why it does not restart" \
    grep -qF 'restart on SIGUSR1 waits: lighttpd would not restart' \
    "$HTTPS_ERR"
check "SIGUSR1 by hand: the same lighttpd serves on" \
    [ "$(https_children "$HTTPS_SERVE_PID" lighttpd)" = "$lighttpd_pid" ]
check "SIGUSR1 by hand: /healthz 200" [ "$(https_status /healthz)" = 200 ]
cp "$TMP/next/tls.key" "$HTTPS_TLS/tls.key.new"
mv "$HTTPS_TLS/tls.key.new" "$HTTPS_TLS/tls.key"
served "the key, then: the third certificate" "$third"

# A broken table on disk: the renewal goes ahead (a certificate must not
# expire for want of a table), and the restarted workers, which cannot
# load the file, start from the last good table.
cp "$HTTPS_TABLE" "$TMP/table.good"
"$GILLY" -c "$HTTPS_TABLE" <"$FIXTURE" >"$TMP/before.json" 2>/dev/null
check "the CLI rewrites the review with the good table" \
    jq -e '.response.patch' "$TMP/before.json"
printf 'mirrors:\n  gcr.io: [unclosed\n' >"$HTTPS_TABLE"
workers_before=$(https_workers)
sh "$HTTPS_GENCERT" "$HTTPS_TLS" 127.0.0.1 localhost
fourth=$(serial "$HTTPS_TLS/tls.crt")
served "a renewal while the table is broken" "$fourth"
check "serve.sh says the workers restart from the last good table" \
    grep -qF 'new certificate: the table does not load' "$HTTPS_ERR"
check "the workers were restarted" \
    [ "$(https_workers)" != "$workers_before" ]
check "the restarted workers say they start from the last good table" \
    grep -qF 'starting from the last good table read by another worker' \
    "$HTTPS_ERR"
for i in 1 2 3 4; do
	st=$(https_mutate "$FIXTURE" "$TMP/during.$i.json")
	check "review $i while the table is broken: 200" [ "$st" = 200 ]
	check "review $i answered from the last good table" \
	    expect_same_json "$TMP/before.json" "$TMP/during.$i.json"
done
# And by hand.
workers_before=$(https_workers)
kill -USR1 "$HTTPS_SERVE_PID"
i=0
while [ "$(https_workers)" = "$workers_before" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "SIGUSR1 with the table broken: the workers restarted" \
    [ "$(https_workers)" != "$workers_before" ]
st=$(https_mutate "$FIXTURE" "$TMP/during.usr1.json")
check "SIGUSR1 with the table broken: a review answered, 200" [ "$st" = 200 ]
check "SIGUSR1 with the table broken: from the last good table" \
    expect_same_json "$TMP/before.json" "$TMP/during.usr1.json"
cp "$TMP/table.good" "$HTTPS_TABLE"
check "the table mended: /healthz 200" [ "$(https_status /healthz)" = 200 ]
check "the same lighttpd process all along" \
    [ "$(https_children "$HTTPS_SERVE_PID" lighttpd)" = "$lighttpd_pid" ]

check "no worker crashed, no sanitizer report" https_log_clean
if https_stop TERM; then
	pass "SIGTERM: serve.sh, lighttpd and the workers are gone"
else
	fail "SIGTERM: something is left running"
fi

[ "$FAILED" -eq 0 ] || https_show_log
finish
