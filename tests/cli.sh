#!/bin/sh
# cli.sh: gilly on the command line: normalize, rewrite, check-config, the
# choice of table (-c, $GILLY_CONFIG, the default), and the review mode on a
# file and on stdin.
. "$(dirname "$0")/lib.sh"

TABLE=$SRCDIR/tests/data/golden.yaml
DIGEST=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef

# --- options
run "$TMP/out" "$TMP/err" "$GILLY" -V
expect_rc "-V" 0
expect_grep "-V" "gilly " "$TMP/out"
run "$TMP/out" "$TMP/err" "$GILLY" -h
expect_rc "-h" 0
expect_grep "-h" "usage: gilly" "$TMP/out"
run "$TMP/out" "$TMP/err" "$GILLY" -x
expect_rc "unknown option" 1
expect_grep "unknown option" "usage: gilly" "$TMP/err"
run "$TMP/out" "$TMP/err" "$GILLY" -c "$TABLE" a.json b.json
expect_rc "two review files" 1

# --- normalize
run "$TMP/out" "$TMP/err" "$GILLY" normalize nginx library/nginx:1.25 \
    index.docker.io/nginx "gcr.io/a/b:1@$DIGEST" localhost:5000/x
expect_rc "normalize" 0
printf '%s\n' docker.io/library/nginx docker.io/library/nginx:1.25 \
    docker.io/library/nginx "gcr.io/a/b:1@$DIGEST" localhost:5000/x \
    >"$TMP/want"
expect_same "normalize: output" "$TMP/want" "$TMP/out"

run "$TMP/out" "$TMP/err" "$GILLY" normalize nginx Nginx "a//b" busybox
expect_rc "normalize: invalid ones" 1
printf '%s\n' docker.io/library/nginx docker.io/library/busybox >"$TMP/want"
expect_same "normalize: the valid ones still printed" "$TMP/want" "$TMP/out"
expect_grep "normalize: reason" 'gilly: invalid reference "Nginx": ' "$TMP/err"
expect_grep "normalize: reason" 'gilly: invalid reference "a//b": ' "$TMP/err"
check "normalize: one line per invalid" \
    test "$(wc -l <"$TMP/err")" -eq 2

run "$TMP/out" "$TMP/err" "$GILLY" normalize
expect_rc "normalize: no image" 1

# --- rewrite
run "$TMP/out" "$TMP/err" "$GILLY" rewrite -c "$TABLE" gcr.io/team/app:1 \
    nginx eu.gcr.io/p/x "docker.io/bitnami/redis@$DIGEST" \
    docker.io/mycompany/tool ghcr.io/org/tool:2 my.internal.repo/team/app:1
expect_rc "rewrite" 0
printf '%s\n' my.internal.repo/team/app:1 \
    my.internal.repo/dockerhub/library/nginx my.internal.repo/eu.gcr.io/p/x \
    "harbor.internal/bitnami/redis@$DIGEST" docker.io/mycompany/tool \
    ghcr.io/org/tool:2 my.internal.repo/team/app:1 >"$TMP/want"
expect_same "rewrite: output" "$TMP/want" "$TMP/out"

run "$TMP/out" "$TMP/err" "$GILLY" -c "$TABLE" rewrite Nginx gcr.io/a
expect_rc "rewrite: -c before the command, an invalid image" 1
printf '%s\n' Nginx my.internal.repo/a >"$TMP/want"
expect_same "rewrite: an invalid image is printed unchanged" "$TMP/want" \
    "$TMP/out"
expect_grep "rewrite: reason" 'gilly: invalid reference "Nginx": ' "$TMP/err"

# A valid image whose rule's result is refused: said as such, not as an
# invalid reference. ("docker.io/bar" reads as docker.io/library/bar.)
printf 'mirrors:\n  quay.io/foo/bar: docker.io/bar\n' >"$TMP/refuse.yaml"
run "$TMP/out" "$TMP/err" "$GILLY" rewrite -c "$TMP/refuse.yaml" \
    quay.io/foo/bar:1
expect_rc "rewrite: a refused result" 1
printf '%s\n' quay.io/foo/bar:1 >"$TMP/want"
expect_same "rewrite: a refused result leaves the image" "$TMP/want" \
    "$TMP/out"
expect_grep "rewrite: why it was refused" \
    'gilly: "quay.io/foo/bar:1" left unchanged: rule "quay.io/foo/bar": the result "docker.io/bar:1" reads as' \
    "$TMP/err"
check "rewrite: a refused result is no invalid reference" \
    sh -c "! grep -q 'invalid reference' '$TMP/err'"

# --- the table: -c, else $GILLY_CONFIG, else the default
cat >"$TMP/a.yaml" <<'EOF'
mirrors:
  gcr.io: a.example
EOF
cat >"$TMP/b.yaml" <<'EOF'
mirrors:
  gcr.io: b.example
EOF
rc=0
GILLY_CONFIG=$TMP/a.yaml "$GILLY" rewrite gcr.io/x >"$TMP/out" 2>"$TMP/err" ||
    rc=$?
expect_rc "GILLY_CONFIG" 0
expect_grep "GILLY_CONFIG is used" a.example/x "$TMP/out"
GILLY_CONFIG=$TMP/a.yaml "$GILLY" rewrite -c "$TMP/b.yaml" gcr.io/x \
    >"$TMP/out" 2>"$TMP/err"
expect_grep "-c wins over GILLY_CONFIG" b.example/x "$TMP/out"
GILLY_CONFIG=$TMP/a.yaml "$GILLY" -c "$TMP/b.yaml" rewrite gcr.io/x \
    >"$TMP/out" 2>"$TMP/err"
expect_grep "-c before the command wins too" b.example/x "$TMP/out"
GILLY_CONFIG='' "$GILLY" -c "$TMP/b.yaml" rewrite gcr.io/x >"$TMP/out" 2>&1
expect_grep "empty GILLY_CONFIG ignored" b.example/x "$TMP/out"
default=$("$GILLY" -h | sed -n 's/.*else \(\/.*\)\.$/\1/p')
[ -n "$default" ] || hard_error "no default path in gilly -h"
if [ ! -e "$default" ]; then
	run "$TMP/out" "$TMP/err" "$GILLY" rewrite gcr.io/x
	expect_rc "the default table, missing" 1
	expect_grep "the default table is $default" "$default" "$TMP/err"
fi

# --- check-config
run "$TMP/out" "$TMP/err" "$GILLY" check-config "$TABLE"
expect_rc "check-config" 0
echo "$TABLE: 7 rules" >"$TMP/want"
expect_same "check-config: rule count" "$TMP/want" "$TMP/out"
run "$TMP/out" "$TMP/err" "$GILLY" check-config "$TMP/a.yaml"
echo "$TMP/a.yaml: 1 rule" >"$TMP/want"
expect_same "check-config: one rule" "$TMP/want" "$TMP/out"
GILLY_CONFIG=$TMP/a.yaml "$GILLY" check-config >"$TMP/out" 2>&1
expect_same "check-config: no FILE, the table in use" "$TMP/want" "$TMP/out"

# broken NAME WANT: check-config on $TMP/NAME.yaml fails with WANT on stderr.
broken() {
	run "$TMP/out" "$TMP/err" "$GILLY" check-config "$TMP/$1.yaml"
	expect_rc "check-config $1" 1
	expect_grep "check-config $1" "$TMP/$1.yaml:$2" "$TMP/err"
	check "check-config $1: nothing on stdout" test ! -s "$TMP/out"
}
printf 'mirrors:\n  gcr.io: my.internal.repo\nbogus: 1\n' >"$TMP/unknown.yaml"
broken unknown '3:1: unknown key "bogus"'
printf 'mirrors:\n  gcr.io: [a\n' >"$TMP/syntax.yaml"
broken syntax '3:1: '
printf 'mirrors:\n  gcr.io: a.io\n  gcr.io: b.io\n' >"$TMP/duplicate.yaml"
broken duplicate '3:3: duplicate source "gcr.io"'
printf 'mirrors:\n  quay.io: a.io\n  gcr.io: ""\n' >"$TMP/empty.yaml"
broken empty '3:11: '
run "$TMP/out" "$TMP/err" "$GILLY" check-config "$TMP/none.yaml"
expect_rc "check-config: no such file" 1
expect_grep "check-config: no such file" "$TMP/none.yaml" "$TMP/err"

# --- reviews: from a file, from stdin
review=$SRCDIR/tests/fixtures/pod-create-gcr.json
REVIEW_FILE=$review
run "$TMP/file.out" "$TMP/err" "$GILLY" -c "$TABLE" "$review"
expect_rc "review from a file" 0
expect_grep "review: log line" \
    "[Mutate] Received POD create event. Name: myapp, Namespace: default" \
    "$TMP/err"
expect_grep "review: log line" "[ProcessPod] Found registry => gcr.io" \
    "$TMP/err"
expect_grep "review: log line" "[ReplaceImageRegistry] Image gcr.io/sgryczan/rocket:latest => my.internal.repo/sgryczan/rocket:latest" \
    "$TMP/err"
run "$TMP/stdin.out" "$TMP/err" "$GILLY" -c "$TABLE" <"$review"
expect_rc "review from stdin" 0
expect_same "review: file and stdin agree" "$TMP/file.out" "$TMP/stdin.out"
expect_grep "review: patched" '"patchType":"JSONPatch"' "$TMP/stdin.out"
GILLY_CONFIG=$TABLE "$GILLY" <"$review" >"$TMP/env.out" 2>"$TMP/err"
expect_same "review: table from GILLY_CONFIG" "$TMP/file.out" "$TMP/env.out"
run "$TMP/out" "$TMP/err" "$GILLY" -c "$TABLE" - <"$review"
expect_rc "review: '-' is stdin" 0
expect_same "review: '-' is stdin" "$TMP/file.out" "$TMP/out"
run "$TMP/out" "$TMP/err" "$GILLY" -c "$TABLE" "$TMP/none.json"
expect_rc "review: no such file" 1
expect_grep "review: no such file" "$TMP/none.json" "$TMP/err"
run "$TMP/out" "$TMP/err" "$GILLY" -c "$TMP/unknown.yaml" <"$review"
expect_rc "review: broken table" 1
expect_grep "review: broken table" "$TMP/unknown.yaml:3:1: " "$TMP/err"
check "review: broken table, nothing on stdout" test ! -s "$TMP/out"

# --- a CGI environment: one request on stdin, a CGI response on stdout
len=$(wc -c <"$REVIEW_FILE")
env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST REQUEST_URI=/mutate \
    CONTENT_TYPE=application/json CONTENT_LENGTH="$len" \
    "$GILLY" -c "$TABLE" <"$REVIEW_FILE" >"$TMP/cgi.out" 2>"$TMP/err" || rc=$?
check "cgi: a Status header" grep -q '^Status: 200 OK' "$TMP/cgi.out"
sed '1,/^\r$/d' "$TMP/cgi.out" >"$TMP/cgi.body"
printf '\n' >>"$TMP/cgi.body"
expect_same "cgi: the same answer as the CLI" "$TMP/file.out" "$TMP/cgi.body"
env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_NAME=/healthz \
    "$GILLY" -c "$TABLE" </dev/null >"$TMP/cgi.out" 2>"$TMP/err"
check "cgi: /healthz from SCRIPT_NAME" grep -q '^Status: 200 OK' "$TMP/cgi.out"
env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET SCRIPT_NAME=/cgi-bin \
    PATH_INFO=/healthz "$GILLY" -c "$TABLE" </dev/null >"$TMP/cgi.out" \
    2>"$TMP/err"
check "cgi: SCRIPT_NAME + PATH_INFO" grep -q '^Status: 404' "$TMP/cgi.out"
rc=0
env GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI=/healthz \
    "$GILLY" -c "$TMP/unknown.yaml" </dev/null >"$TMP/cgi.out" 2>"$TMP/err" ||
    rc=$?
expect_rc "cgi: broken table" 1
check "cgi: broken table, 503" grep -q '^Status: 503' "$TMP/cgi.out"
expect_grep "cgi: broken table, logged" "$TMP/unknown.yaml:3:1: " "$TMP/err"

finish
