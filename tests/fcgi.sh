#!/bin/sh
# fcgi.sh: gilly as a FastCGI responder, spawned and spoken to by cgi-fcgi
# (libfcgi-bin) as lighttpd would: the routes, the checks made before a
# body is read, and well-formed responses with a log line for each error.
. "$(dirname "$0")/lib.sh"

need_cmd cgi-fcgi jq "$PYTHON"

TABLE=$SRCDIR/tests/data/golden.yaml
REVIEW=$SRCDIR/tests/fixtures/pod-create-gcr.json

fcgi_start -c "$TABLE"
check "the worker runs" fcgi_alive
expect_grep "startup logged" "[Serve] gilly " "$FCGI_LOG"

# well_formed NAME: a Status line, and a Content-Length that is the body's.
well_formed() {
	_cl=$(sed -n 's/^Content-Length: //p' "$TMP/resp.head")
	if [ -n "$_cl" ] && [ "$_cl" -eq "$(wc -c <"$TMP/resp.body")" ] &&
	    grep -q '^Content-Type: ' "$TMP/resp.head"; then
		pass "$1: well formed"
	else
		fail "$1: malformed response:"
		sed 's/^/	/' "$TMP/resp"
	fi
}

# expect_status NAME WANT: the last response's status, and its form.
expect_status() {
	if [ "$status" = "$2" ]; then
		pass "$1: status $2"
	else
		fail "$1: status $status, expected $2"
		sed 's/^/	/' "$TMP/resp" | head -20
	fi
	well_formed "$1"
}

# expect_error NAME WANT: status WANT, a JSON error body, and a log line.
expect_error() {
	expect_status "$1" "$2"
	check "$1: JSON error body" \
	    jq_true '.error | type == "string" and length > 0' "$TMP/resp.body"
	check "$1: logged" log_wait "$FCGI_LOG" "[Serve] $2 "
}

# --- /healthz
fcgi_request GET /healthz
expect_status "GET /healthz" 200
check "GET /healthz: ok" test "$(cat "$TMP/resp.body")" = ok
expect_grep "GET /healthz: text" "Content-Type: text/plain" "$TMP/resp.head"
fcgi_request GET '/healthz?probe=1'
expect_status "GET /healthz?probe=1" 200
fcgi_request HEAD /healthz
check "HEAD /healthz: 200" test "$status" = 200
check "HEAD /healthz: no body" test ! -s "$TMP/resp.body"
fcgi_request POST /healthz "$REVIEW"
expect_error "POST /healthz" 405
expect_grep "POST /healthz: Allow" "Allow: GET, HEAD" "$TMP/resp.head"

# --- /mutate
fcgi_request POST '/mutate?timeout=10s' "$REVIEW"
expect_status "POST /mutate" 200
expect_grep "POST /mutate: JSON" "Content-Type: application/json" \
    "$TMP/resp.head"
"$GILLY" -c "$TABLE" <"$REVIEW" >"$TMP/cli.out" 2>/dev/null
printf '\n' >>"$TMP/resp.body"
expect_same "POST /mutate: the same answer as the CLI" "$TMP/cli.out" \
    "$TMP/resp.body"
expect_logged "POST /mutate: logged" \
    "[ReplaceImageRegistry] Image gcr.io/sgryczan/rocket:latest => my.internal.repo/sgryczan/rocket:latest" \
    "$FCGI_LOG"

for review in "$SRCDIR"/tests/fixtures/*.json; do
	name=$(basename "$review" .json)
	fcgi_request POST /mutate "$review" 'application/json; charset=utf-8'
	expect_status "POST /mutate $name" 200
	"$GILLY" -c "$TABLE" <"$review" >"$TMP/cli.out" 2>/dev/null
	printf '\n' >>"$TMP/resp.body"
	expect_same "POST /mutate $name: as the CLI" "$TMP/cli.out" \
	    "$TMP/resp.body"
done

# A front end that keeps its connection to the worker (FCGI_KEEP_CONN, as
# nginx's fastcgi_keep_conn; lighttpd does not): every request on it is
# answered, though only the first comes through an accept().
"$GILLY" -c "$TABLE" <"$REVIEW" >"$TMP/cli.out" 2>/dev/null
if "$PYTHON" "$SRCDIR/tests/fcgi-client.py" "$FCGI_SOCK" "$REVIEW" 3 10 \
    "$TMP/kept" 2>"$TMP/kept.err"; then
	pass "3 requests on one kept connection: answered"
	for i in 1 2 3; do
		sed '1,/^\r\{0,1\}$/d' "$TMP/kept.$i" >"$TMP/kept.body"
		printf '\n' >>"$TMP/kept.body"
		expect_same "kept connection, request $i: as the CLI" \
		    "$TMP/cli.out" "$TMP/kept.body"
	done
else
	fail "3 requests on one kept connection: $(cat "$TMP/kept.err")"
fi
check "the worker runs after a kept connection" fcgi_alive

fcgi_request POST /mutate "$REVIEW" 'Application/JSON'
expect_status "Content-Type in capitals" 200
fcgi_request POST /mutate "$REVIEW" 'application/json ; charset=utf-8'
expect_status "Content-Type with spaces" 200

fcgi_request GET /mutate
expect_error "GET /mutate" 405
expect_grep "GET /mutate: Allow" "Allow: POST" "$TMP/resp.head"
fcgi_request PUT /mutate "$REVIEW"
expect_error "PUT /mutate" 405

for path in / /foo /mutate/ /healthz/x /MUTATE; do
	fcgi_request GET "$path"
	expect_error "GET $path" 404
done
fcgi_request POST /other "$REVIEW"
expect_error "POST /other" 404

fcgi_request POST /mutate "" application/json ""
expect_error "no Content-Length" 411
for len in abc -1 +5 '1 2' 0x10; do
	fcgi_request POST /mutate "$REVIEW" application/json "$len"
	expect_error "Content-Length \"$len\"" 400
done
fcgi_request POST /mutate "" application/json 4194305
expect_error "Content-Length over the limit" 413
fcgi_request POST /mutate "" application/json 99999999999999999999999999
expect_error "Content-Length beyond any integer" 413
head -c 5000000 /dev/zero | tr '\0' ' ' >"$TMP/huge.json"
fcgi_request POST /mutate "$TMP/huge.json"
expect_error "a 5 MB body" 413

fcgi_request POST /mutate "$REVIEW" text/plain
expect_error "Content-Type text/plain" 415
fcgi_request POST /mutate "$REVIEW" ""
expect_error "no Content-Type" 415
fcgi_request POST /mutate "$REVIEW" application/jsonx
expect_error "Content-Type application/jsonx" 415

printf '{"kind":' >"$TMP/bad.json"
fcgi_request POST /mutate "$TMP/bad.json"
expect_status "bad JSON" 400
check "bad JSON: names the problem" \
    jq_true '.error | startswith("invalid JSON at byte 8")' "$TMP/resp.body"
expect_logged "bad JSON: logged" "[Mutate] Bad request: invalid JSON" \
    "$FCGI_LOG"
fcgi_request POST /mutate "$TMP/bad.json" application/json 100
expect_error "body shorter than Content-Length" 400
check "body shorter: says so" \
    jq_true '.error | contains("shorter")' "$TMP/resp.body"

# Still the same worker, still well; it never wrote to stdout.
check "the worker survived" fcgi_alive
fcgi_request GET /healthz
expect_status "GET /healthz at the end" 200
check "nothing on the worker's stdout" test ! -s "$TMP/fcgi.stdout"

finish
