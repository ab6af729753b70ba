#!/bin/sh
# golden.sh: every AdmissionReview fixture through `gilly -c golden.yaml`.
#
# For each review (tests/fixtures/*.json, tests/fixtures/external/*/*.json,
# tests/data/*.json) the response must echo uid and apiVersion, allow, and
# equal tests/data/expected/NAME.json (sorted by jq -S, the patch decoded).
# Its patch is then applied to request.object by an independent JSON Patch
# implementation (python3-jsonpatch), and the resulting Pod's images and
# original-images annotation must equal tests/data/expected/NAME.images.
#
# GOLDEN_REGEN=1 rewrites the expected files from what gilly prints: review
# every changed file by hand against tests/data/golden.yaml before keeping it.
. "$(dirname "$0")/lib.sh"

need_cmd jq
need_jsonpatch

TABLE=$SRCDIR/tests/data/golden.yaml
EXPECTED=$SRCDIR/tests/data/expected
REGEN=${GOLDEN_REGEN:-0}

cat >"$TMP/apply.py" <<'PY'
# Apply the response's patch to request.object; print the images and the
# original-images annotation of the result, one per line.
import base64, json, sys
import jsonpatch

review = json.load(open(sys.argv[1]))
response = json.load(open(sys.argv[2]))["response"]
request = review["request"]
obj = request.get("object")
if "patch" in response:
    assert response.get("patchType") == "JSONPatch", "patchType"
    ops = json.loads(base64.b64decode(response["patch"], validate=True))
    assert isinstance(ops, list) and ops, "a patch is a non-empty array"
    if request.get("subResource") == "ephemeralcontainers":
        # The API server keeps only ephemeral container changes there.
        for op in ops:
            assert op["path"].startswith("/spec/ephemeralContainers/"), op
    obj = jsonpatch.JsonPatch(ops).apply(obj)
else:
    assert "patchType" not in response, "patchType without a patch"
lines = []
if isinstance(obj, dict):
    spec = obj.get("spec") or {}
    for name in ("containers", "initContainers", "ephemeralContainers"):
        for i, c in enumerate(spec.get(name) or []):
            lines.append("%s[%d] %s %s" % (name, i, c.get("name"),
                c.get("image", "(no image)")))
    ann = (obj.get("metadata") or {}).get("annotations") or {}
    key = "gilly.io/original-images"
    if key in ann:
        lines.append("annotation %s %s" % (key,
            json.dumps(json.loads(ann[key]), sort_keys=True)))
for l in lines:
    print(l)
PY

# Decode the patch so that the expected file shows what it does.
DECODE='if (.response | has("patch")) then .response.patch |= (@base64d | fromjson) else . end'

names=
for review in "$SRCDIR"/tests/fixtures/*.json \
    "$SRCDIR"/tests/fixtures/external/*/*.json "$SRCDIR"/tests/data/*.json; do
	name=$(basename "$review" .json)
	case " $names " in
	*" $name "*) hard_error "two fixtures named $name" ;;
	esac
	names="$names $name"

	run "$TMP/out" "$TMP/err" "$GILLY" -c "$TABLE" <"$review"
	if [ "$rc" -ne 0 ]; then
		fail "$name: exit $rc"
		sed 's/^/	/' "$TMP/err"
		continue
	fi
	if ! jq -e --slurpfile rq "$review" '
	    .kind == "AdmissionReview" and
	    .apiVersion == $rq[0].apiVersion and
	    .response.uid == $rq[0].request.uid and
	    .response.allowed == true' "$TMP/out" >/dev/null; then
		fail "$name: uid, apiVersion, kind or allowed not as sent"
		continue
	fi
	pass "$name: uid and apiVersion echoed, allowed"

	jq -S "$DECODE" "$TMP/out" >"$TMP/got.json"
	if ! "$PYTHON" "$TMP/apply.py" "$review" "$TMP/out" >"$TMP/got.images" \
	    2>"$TMP/err"; then
		fail "$name: the patch does not apply"
		sed 's/^/	/' "$TMP/err"
		continue
	fi
	pass "$name: the patch applies"

	if [ "$REGEN" = 1 ]; then
		mkdir -p "$EXPECTED"
		cp "$TMP/got.json" "$EXPECTED/$name.json"
		cp "$TMP/got.images" "$EXPECTED/$name.images"
		continue
	fi
	[ -f "$EXPECTED/$name.json" ] ||
	    hard_error "no $EXPECTED/$name.json (GOLDEN_REGEN=1, then review it)"
	expect_same "$name: response" "$EXPECTED/$name.json" "$TMP/got.json"
	expect_same "$name: images after the patch" "$EXPECTED/$name.images" \
	    "$TMP/got.images"
done

# Re-invocation: the patched Pod, reviewed again, gets no patch.
review=$SRCDIR/tests/fixtures/pod-create-init.json
"$GILLY" -c "$TABLE" <"$review" 2>/dev/null >"$TMP/out"
"$PYTHON" - "$review" "$TMP/out" >"$TMP/again.json" <<'PY'
import base64, json, sys
import jsonpatch
review = json.load(open(sys.argv[1]))
ops = json.loads(base64.b64decode(json.load(open(sys.argv[2]))["response"]["patch"]))
review["request"]["object"] = jsonpatch.JsonPatch(ops).apply(review["request"]["object"])
json.dump(review, sys.stdout)
PY
"$GILLY" -c "$TABLE" <"$TMP/again.json" 2>/dev/null >"$TMP/out"
check "re-invocation: no second patch" \
    jq_true '.response | has("patch") | not' "$TMP/out"

finish
