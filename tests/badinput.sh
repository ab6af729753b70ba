#!/bin/sh
# badinput.sh: every kind of bad input, through the CLI (exit 2, the reason
# on stderr) and through the FastCGI entry (400 and a JSON body naming the
# problem; 413 for a body over the limit), and the worker survives them all.
. "$(dirname "$0")/lib.sh"

need_cmd jq

TABLE=$SRCDIR/tests/data/golden.yaml
BASE=$SRCDIR/tests/fixtures/pod-create-gcr.json
D=$TMP/bad
mkdir -p "$D"

# mod NAME FILTER: a copy of the base review changed by a jq filter.
mod() {
	jq -c "$2" "$BASE" >"$D/$1.json" || hard_error "jq: $2"
}

# nest N: N nested arrays.
nest() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "["
	    for (i = 0; i < n; i++) printf "]" }'
}

# The cases: NAME and a fixed string the error must contain.
cat >"$TMP/cases" <<'EOF'
empty|empty body
not-json|invalid JSON at byte 0
truncated|invalid JSON at byte 100
trailing|invalid JSON
nul-after|data after the document
bad-utf8|invalid UTF-8 at byte 6
overlong-utf8|invalid UTF-8
too-large|body too large
too-deep|nested deeper than 64 levels
very-deep|nested deeper than 64 levels
array|expected an object, found an array
string|expected an object, found a string
not-review|kind: expected "AdmissionReview", found "Pod"
no-kind|kind: missing
api-version|apiVersion: expected "admission.k8s.io/v1" or "admission.k8s.io/v1beta1", found "admission.k8s.io/v2"
no-request|request: missing
request-array|request: expected an object, found an array
no-uid|request.uid: missing
empty-uid|request.uid: missing
uid-number|request.uid: expected a string, found a number
no-request-kind|request.kind: missing
operation-number|request.operation: expected a string, found a number
namespace-object|request.namespace: expected a string, found an object
no-object|request.object: missing
object-string|request.object: expected an object, found a string
metadata-array|request.object.metadata: expected an object, found an array
name-number|request.object.metadata.name: expected a string, found a number
annotations-string|request.object.metadata.annotations: expected an object, found a string
skip-bool|request.object.metadata.annotations["gilly.io/skip"]: expected a string, found a boolean
spec-array|request.object.spec: expected an object, found an array
containers-object|request.object.spec.containers: expected an array, found an object
container-string|request.object.spec.containers[0]: expected an object, found a string
image-number|request.object.spec.containers[1].image: expected a string, found a number
image-null-array|request.object.spec.initContainers[0].image: expected a string, found an array
ephemeral-name|request.object.spec.ephemeralContainers[0].name: expected a string, found a boolean
no-old-object|request.oldObject: missing
old-containers|request.oldObject.spec.containers: expected an array, found a string
EOF

: >"$D/empty.json"
printf 'hello' >"$D/not-json.json"
head -c 100 "$BASE" >"$D/truncated.json"
{ cat "$BASE"; printf 'x'; } >"$D/trailing.json"
printf '{}\000{}' >"$D/nul-after.json"
printf '{"a":"\377"}' >"$D/bad-utf8.json"
printf '{"a":"\300\257"}' >"$D/overlong-utf8.json"
# One byte over the limit (4 MiB): a valid review padded with spaces.
{ cat "$BASE"; head -c $((4 * 1024 * 1024 + 1 - $(wc -c <"$BASE"))) \
    /dev/zero | tr '\0' ' '; } >"$D/too-large.json"
jq -c --argjson x "$(nest 62)" '.request.userInfo.extra = $x' "$BASE" \
    >"$D/too-deep.json"
nest 100000 >"$D/very-deep.json"
printf '[]' >"$D/array.json"
printf '"AdmissionReview"' >"$D/string.json"
mod not-review '.kind = "Pod"'
mod no-kind 'del(.kind)'
mod api-version '.apiVersion = "admission.k8s.io/v2"'
mod no-request 'del(.request)'
mod request-array '.request = []'
mod no-uid 'del(.request.uid)'
mod empty-uid '.request.uid = ""'
mod uid-number '.request.uid = 42'
mod no-request-kind 'del(.request.kind)'
mod operation-number '.request.operation = 1'
mod namespace-object '.request.namespace = {}'
mod no-object 'del(.request.object)'
mod object-string '.request.object = "pod"'
mod metadata-array '.request.object.metadata = []'
mod name-number '.request.object.metadata.name = 1'
mod annotations-string '.request.object.metadata.annotations = "a=b"'
mod skip-bool '.request.object.metadata.annotations = {"gilly.io/skip": true}'
mod spec-array '.request.object.spec = []'
mod containers-object '.request.object.spec.containers = {}'
mod container-string '.request.object.spec.containers = ["nginx"]'
mod image-number '.request.object.spec.containers += [{"name": "b", "image": 7}]'
mod image-null-array '.request.object.spec.initContainers = [{"name": "i", "image": []}]'
mod ephemeral-name '.request.object.spec.ephemeralContainers = [{"name": true, "image": "a"}]'
mod no-old-object '.request.operation = "UPDATE"'
mod old-containers '.request.operation = "UPDATE" | .request.oldObject = {"spec": {"containers": "x"}}'

# Sanity: the depth case is just over the limit (the outermost counts as
# one level, one more than the longest path).
depth=$(jq '[paths | length] | max + 1' "$D/too-deep.json" 2>/dev/null ||
    echo 0)
[ "$depth" -eq 65 ] || hard_error "too-deep.json nests $depth, not 65"

# --- the CLI
while IFS='|' read -r name want; do
	run "$TMP/out" "$TMP/err" "$GILLY" -c "$TABLE" <"$D/$name.json"
	expect_rc "cli $name" 2
	grep '^gilly: ' "$TMP/err" >"$TMP/errline" || :
	expect_grep "cli $name: on stderr" "$want" "$TMP/errline"
	check "cli $name: nothing on stdout" test ! -s "$TMP/out"
done <"$TMP/cases"

# One over the depth limit fails; at the limit it is fine.
jq -c --argjson x "$(nest 61)" '.request.userInfo.extra = $x' "$BASE" \
    >"$D/deep-ok.json"
run "$TMP/out" "$TMP/err" "$GILLY" -c "$TABLE" "$D/deep-ok.json"
expect_rc "cli: 64 levels deep is fine" 0

# --- the FastCGI entry
if ! command -v cgi-fcgi >/dev/null 2>&1; then
	echo "cgi-fcgi not found: FastCGI cases skipped"
	finish
	exit
fi
fcgi_start -c "$TABLE"
while IFS='|' read -r name want; do
	if [ "$name" = too-large ]; then
		# Refused on its Content-Length, before the body is read.
		fcgi_request POST /mutate "$D/$name.json"
		check "fcgi $name: 413" test "$status" = 413
		continue
	fi
	logged=$(grep -c 'Bad request: ' "$FCGI_LOG" || :)
	fcgi_request POST /mutate "$D/$name.json"
	check "fcgi $name: 400" test "$status" = 400
	if jq -e --arg w "$want" '.error | contains($w)' "$TMP/resp.body" \
	    >/dev/null 2>&1; then
		pass "fcgi $name: JSON error names the problem"
	else
		fail "fcgi $name: body does not name \"$want\":"
		sed 's/^/	/' "$TMP/resp.body"
	fi
	# This request's line: the one after those logged before it.
	log_wait "$FCGI_LOG" 'Bad request: ' $((logged + 1)) || :
	grep 'Bad request: ' "$FCGI_LOG" | sed -n "$((logged + 1))p" \
	    >"$TMP/logline" || :
	expect_grep "fcgi $name: logged" "$want" "$TMP/logline"
done <"$TMP/cases"

# The same worker is still there and still answers.
check "fcgi: the worker survived" fcgi_alive
fcgi_request GET /healthz
check "fcgi: still healthy" test "$status" = 200
fcgi_request POST /mutate "$BASE"
check "fcgi: still answers reviews" test "$status" = 200

finish
