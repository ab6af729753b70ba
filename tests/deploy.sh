#!/bin/sh
# tests/deploy.sh: the Kubernetes stack (deploy/), rendered and checked
# offline: no cluster, no container engine.
#
# - make ssl's certificates: what the API server needs (a CA bundle, a
#   serving certificate for gilly.gilly.svc), and a renewal that keeps the CA.
# - Every overlay renders with kubectl kustomize (through deploy/template.sh,
#   with throwaway certificates where the overlay needs them), and
#   tests/deploy-check.py checks the objects line up: webhook -> Service ->
#   container port -> lighttpd's port, the CA the API server trusts -> the
#   certificate mounted, restricted Pod Security, the fields the webhook
#   configuration needs.
# - The ConfigMap's table passes gilly check-config; deploy/base/gilly.yaml
#   is conf/gilly.yaml.
# - make template works; lighttpd loads the image's lighttpd.conf with the
#   pod's settings and make ssl's certificate, and a client that trusts only
#   the CA reaches /healthz at gilly.gilly.svc through it.
#
# Skips (77) without kubectl, openssl, or /usr/bin/python3 with yaml
# (python3-yaml). The sub-checks that need the built gilly or lighttpd are
# skipped, with a note, when those are missing.
. "$(dirname "$0")/lib.sh"

: "${LIGHTTPD:=}"
KUBECTL=${KUBECTL:-kubectl}
OPENSSL=${OPENSSL:-openssl}
export KUBECTL OPENSSL

command -v "$KUBECTL" >/dev/null 2>&1 || skip "kubectl not found"
# The overlays are written for kustomize v5 (kubectl 1.27 and later).
kustomize=$("$KUBECTL" version --client 2>/dev/null |
    sed -n 's/^Kustomize Version: v\([0-9][0-9]*\).*/\1/p')
[ -n "$kustomize" ] && [ "$kustomize" -ge 5 ] ||
    skip "$KUBECTL has no kustomize v5 (kubectl 1.27 or later)"
command -v "$OPENSSL" >/dev/null 2>&1 || skip "openssl not found"
[ -x "$PYTHON" ] || skip "$PYTHON not found"
"$PYTHON" -c 'import yaml' 2>/dev/null || skip "$PYTHON has no yaml (install python3-yaml)"

note() {
	echo "# $*"
}
# check NAME CMD...: pass if CMD succeeds; unlike lib.sh's, its output is
# shown if not.
check() {
	_name=$1
	shift
	if "$@" >"$TMP/cmd.out" 2>&1; then
		pass "$_name"
	else
		fail "$_name:"
		show "$TMP/cmd.out"
	fi
}
# show FILE: a failed command's output, indented.
show() {
	sed 's/^/	/' "$1" | head -30
}

DEPLOY=$SRCDIR/deploy
IMAGE=registry.test:5000/team/gilly:9.8.7
have_gilly=0
[ -x "$GILLY" ] && have_gilly=1
[ -n "$LIGHTTPD" ] || LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
have_lighttpd=0
[ -x "$LIGHTTPD" ] && have_lighttpd=1

# The table kustomize ships is the documented one.
if cmp -s "$SRCDIR/conf/gilly.yaml" "$DEPLOY/base/gilly.yaml"; then
	pass "deploy/base/gilly.yaml is conf/gilly.yaml"
else
	fail "deploy/base/gilly.yaml differs from conf/gilly.yaml (cp conf/gilly.yaml deploy/base/gilly.yaml)"
fi

# --- make ssl ---------------------------------------------------------------
SSL=$TMP/ssl
if sh "$DEPLOY/ssl.sh" "$SSL" >"$TMP/ssl.out" 2>&1; then
	pass "ssl.sh makes a CA and a serving certificate"
else
	fail "ssl.sh failed:"
	show "$TMP/ssl.out"
fi
check "the serving certificate verifies against the CA, for server auth" \
    "$OPENSSL" verify -purpose sslserver -CAfile "$SSL/ca.crt" "$SSL/tls.crt"
"$OPENSSL" x509 -in "$SSL/tls.crt" -noout -ext subjectAltName >"$TMP/san" 2>&1 || :
for name in gilly.gilly.svc gilly.gilly.svc.cluster.local; do
	if grep -q "DNS:$name\(,\|\$\)" "$TMP/san"; then
		pass "the serving certificate names $name"
	else
		fail "the serving certificate does not name $name:"
		show "$TMP/san"
	fi
done
check "the key matches the certificate" sh -c \
    "[ \"\$('$OPENSSL' pkey -in '$SSL/tls.key' -pubout)\" = \"\$('$OPENSSL' x509 -in '$SSL/tls.crt' -noout -pubkey)\" ]"
check "the keys are private to their owner" sh -c \
    "[ -z \"\$(find '$SSL/ca.key' '$SSL/tls.key' -perm /077)\" ]"

# Run again: nothing changes. The caBundle, and the Secret's name, stay.
cat "$SSL/ca.crt" "$SSL/tls.crt" | cksum >"$TMP/sum1"
sh "$DEPLOY/ssl.sh" "$SSL" >"$TMP/ssl.out" 2>&1 || :
cat "$SSL/ca.crt" "$SSL/tls.crt" | cksum >"$TMP/sum2"
check "ssl.sh run again keeps both certificates" cmp -s "$TMP/sum1" "$TMP/sum2"

# A serving certificate about to expire is renewed under the same CA, so the
# caBundle does not change while the pods roll.
RENEW=$TMP/renew
mkdir "$RENEW"
cp "$SSL/ca.key" "$SSL/ca.crt" "$SSL/tls.key" "$RENEW/"
"$OPENSSL" req -new -key "$RENEW/tls.key" -subj /CN=gilly.gilly.svc -out "$TMP/short.csr" 2>/dev/null
"$OPENSSL" x509 -req -in "$TMP/short.csr" -CA "$RENEW/ca.crt" -CAkey "$RENEW/ca.key" \
    -CAcreateserial -days 2 -out "$RENEW/tls.crt" 2>/dev/null
sh "$DEPLOY/ssl.sh" "$RENEW" >"$TMP/renew.out" 2>&1 || :
check "a serving certificate with 2 days left is renewed" \
    "$OPENSSL" x509 -in "$RENEW/tls.crt" -noout -checkend 31536000
check "the renewal keeps the CA" cmp -s "$SSL/ca.crt" "$RENEW/ca.crt"
check "the renewed certificate verifies against it" \
    "$OPENSSL" verify -CAfile "$RENEW/ca.crt" "$RENEW/tls.crt"

# --- every overlay, rendered and checked --------------------------------------
for dir in "$DEPLOY"/overlays/*/; do
	overlay=$(basename "$dir")
	stack=$TMP/stack-$overlay.yaml
	if sh "$DEPLOY/template.sh" -o "$stack" -k "$overlay" -i "$IMAGE" \
	    -s "$SSL" >"$TMP/render.out" 2>&1; then
		pass "$overlay: renders (deploy/template.sh, kubectl kustomize)"
	else
		fail "$overlay: does not render:"
		show "$TMP/render.out"
		continue
	fi
	if [ -z "$(find "$stack" -perm /077)" ]; then
		pass "$overlay: the stack (it holds the serving key) is private to its owner"
	else
		fail "$overlay: the stack is readable by others: $(ls -l "$stack")"
	fi
	if "$PYTHON" "$SRCDIR/tests/deploy-check.py" --overlay "$overlay" \
	    --stack "$stack" --containerfile "$DEPLOY/Containerfile" \
	    --lighttpd-conf "$SRCDIR/lighttpd/lighttpd.conf" \
	    --serve-sh "$SRCDIR/lighttpd/serve.sh" --image "$IMAGE" \
	    --table "$SRCDIR/conf/gilly.yaml" --ca "$SSL/ca.crt" --crt "$SSL/tls.crt" \
	    --table-out "$TMP/table-$overlay.yaml" >"$TMP/check.out" 2>&1; then
		:
	else
		echo "not ok - $overlay: deploy-check.py failed" >>"$TMP/check.out"
	fi
	# Its checks count as this test's.
	cat "$TMP/check.out"
	PASSED=$((PASSED + $(grep -c '^ok' "$TMP/check.out" || :)))
	FAILED=$((FAILED + $(grep -c '^not ok' "$TMP/check.out" || :)))
	if [ "$have_gilly" = 1 ] && [ -f "$TMP/table-$overlay.yaml" ]; then
		if "$GILLY" check-config "$TMP/table-$overlay.yaml" >"$TMP/cc.out" 2>&1; then
			pass "$overlay: the ConfigMap's table passes gilly check-config"
		else
			fail "$overlay: gilly check-config refuses the ConfigMap's table:"
			show "$TMP/cc.out"
		fi
	fi
done
[ "$have_gilly" = 1 ] || note "$GILLY not built: check-config of the ConfigMaps skipped"

# The overlays render as they stand too: cert-manager's from the source
# tree, ssl's from a copy holding the certificates (its comment's recipe).
if "$KUBECTL" kustomize "$DEPLOY/overlays/cert-manager" >"$TMP/direct.yaml" 2>"$TMP/direct.err"; then
	pass "cert-manager: kubectl kustomize deploy/overlays/cert-manager"
else
	fail "cert-manager: kubectl kustomize deploy/overlays/cert-manager:"
	show "$TMP/direct.err"
fi
mkdir "$TMP/copy"
cp -R "$DEPLOY/base" "$DEPLOY/overlays" "$TMP/copy/"
cp "$SSL/ca.crt" "$SSL/tls.crt" "$SSL/tls.key" "$TMP/copy/overlays/ssl/"
if "$KUBECTL" kustomize "$TMP/copy/overlays/ssl" >"$TMP/direct.yaml" 2>"$TMP/direct.err" &&
    grep -q 'caBundle:' "$TMP/direct.yaml"; then
	pass "ssl: kubectl kustomize of the overlay with the certificates in it"
else
	fail "ssl: kubectl kustomize of the overlay with the certificates in it:"
	show "$TMP/direct.err"
fi

# template.sh: what a user gets wrong is caught before kubectl apply.
if sh "$DEPLOY/template.sh" -o "$TMP/none.yaml" -s "$TMP/nothing" >"$TMP/t.out" 2>&1; then
	fail "template.sh without certificates succeeds"
elif grep -q 'run make ssl' "$TMP/t.out"; then
	pass "template.sh without certificates says: run make ssl"
else
	fail "template.sh without certificates fails, unhelpfully:"
	show "$TMP/t.out"
fi
if sh "$DEPLOY/template.sh" -o "$TMP/digest.yaml" -k cert-manager \
    -i "registry.test:5000/gilly@sha256:$(printf '%064d' 0)" >"$TMP/t.out" 2>&1 &&
    grep -q "image: registry.test:5000/gilly@sha256:$(printf '%064d' 0)\$" "$TMP/digest.yaml"; then
	pass "template.sh takes an image by digest"
else
	fail "template.sh with an image by digest:"
	show "$TMP/t.out"
fi
printf 'mirrors:\n  docker.io: mirror.test/hub\n' >"$TMP/own.yaml"
if sh "$DEPLOY/template.sh" -o "$TMP/own-stack.yaml" -k cert-manager -t "$TMP/own.yaml" \
    >"$TMP/t.out" 2>&1 && grep -q 'docker.io: mirror.test/hub' "$TMP/own-stack.yaml"; then
	pass "template.sh ships the table given with -t"
else
	fail "template.sh -t:"
	show "$TMP/t.out"
fi
if [ "$have_gilly" = 1 ]; then
	printf 'mirrors:\n  docker.io: [\n' >"$TMP/bad.yaml"
	if GILLY=$GILLY sh "$DEPLOY/template.sh" -o "$TMP/bad-stack.yaml" -k cert-manager \
	    -t "$TMP/bad.yaml" >"$TMP/t.out" 2>&1; then
		fail "template.sh ships a table gilly refuses"
	elif grep -q "$TMP/bad.yaml:[0-9]*:[0-9]*" "$TMP/t.out" && [ ! -e "$TMP/bad-stack.yaml" ]; then
		pass "template.sh refuses a bad table, with its line and column"
	else
		fail "template.sh and a bad table:"
		show "$TMP/t.out"
	fi
fi

# --- make template ------------------------------------------------------------
# In the configured build tree, with the make variables a user sets.
if [ -f "$BUILDDIR/Makefile" ] && command -v make >/dev/null 2>&1; then
	if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$BUILDDIR" template \
	    SSLDIR="$SSL" STACK="$TMP/make-stack.yaml" REGISTRY=registry.test \
	    IMAGE=team/gilly VERSION=1.2.3 >"$TMP/make.out" 2>&1 &&
	    grep -q 'image: registry.test/team/gilly:1.2.3$' "$TMP/make-stack.yaml"; then
		pass "make template REGISTRY=registry.test IMAGE=team/gilly VERSION=1.2.3"
	else
		fail "make template:"
		show "$TMP/make.out"
	fi
	if "$PYTHON" "$SRCDIR/tests/deploy-check.py" --overlay ssl \
	    --stack "$TMP/make-stack.yaml" --containerfile "$DEPLOY/Containerfile" \
	    --lighttpd-conf "$SRCDIR/lighttpd/lighttpd.conf" \
	    --serve-sh "$SRCDIR/lighttpd/serve.sh" \
	    --image registry.test/team/gilly:1.2.3 --ca "$SSL/ca.crt" \
	    >"$TMP/check.out" 2>&1; then
		pass "make template's stack passes deploy-check.py"
	else
		grep '^not ok' "$TMP/check.out" || show "$TMP/check.out"
		fail "make template's stack fails deploy-check.py"
	fi
else
	note "no configured build tree in $BUILDDIR: make template skipped"
fi

# --- lighttpd with the image's configuration and make ssl's certificate -------
# stop_serve: SIGTERM to serve.sh, as the kubelet sends it, and 10 s to go;
# then SIGKILL to it and its children.
stop_serve() {
	[ -n "$serve" ] || return 0
	kill -TERM "$serve" 2>/dev/null || return 0
	for _ in $(seq 40); do
		kill -0 "$serve" 2>/dev/null || { wait "$serve" 2>/dev/null || :; return 0; }
		sleep 0.25
	done
	for _p in $(ps -o pid= --ppid "$serve" 2>/dev/null); do
		ps -o pid= --ppid "$_p" 2>/dev/null | xargs -r kill -KILL 2>/dev/null || :
		kill -KILL "$_p" 2>/dev/null || :
	done
	kill -KILL "$serve" 2>/dev/null || :
	return 1
}

# The pod's settings (the Deployment's env), with the pod's paths moved
# here: lighttpd/lighttpd.conf is what the image runs, through serve.sh.
if [ "$have_gilly" = 1 ] && [ "$have_lighttpd" = 1 ] && command -v curl >/dev/null 2>&1; then
	mkdir "$TMP/run"
	port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	if env GILLY_CONFIG="$TMP/table-ssl.yaml" GILLY_TLS_DIR="$SSL" \
	    GILLY_RUN_DIR="$TMP/run" GILLY_BIND=127.0.0.1 GILLY_PORT="$port" \
	    GILLY_WORKERS=1 GILLY_BIN="$GILLY" GILLY_ACCESS_LOG="$TMP/access.log" \
	    "$LIGHTTPD" -tt -f "$SRCDIR/lighttpd/lighttpd.conf" >"$TMP/tt.out" 2>&1; then
		pass "lighttpd -tt accepts lighttpd.conf with the pod's settings and make ssl's certificate"
	else
		fail "lighttpd -tt refuses lighttpd.conf with make ssl's certificate:"
		show "$TMP/tt.out"
	fi
	env GILLY_CONFIG="$TMP/table-ssl.yaml" GILLY_TLS_DIR="$SSL" \
	    GILLY_RUN_DIR="$TMP/run" GILLY_BIND=127.0.0.1 GILLY_PORT="$port" \
	    GILLY_WORKERS=1 GILLY_BIN="$GILLY" LIGHTTPD="$LIGHTTPD" \
	    GILLY_LIGHTTPD_CONF="$SRCDIR/lighttpd/lighttpd.conf" \
	    sh "$SRCDIR/lighttpd/serve.sh" >"$TMP/serve.out" 2>&1 &
	serve=$!
	# SIGTERM, as the kubelet sends it (a background job of a script starts
	# with SIGINT ignored, which serve.sh then cannot trap).
	cleanup_add stop_serve
	# As the API server calls it: by the Service's name, trusting the CA alone.
	ok=0
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		if curl -sS --max-time 2 --cacert "$SSL/ca.crt" \
		    --resolve "gilly.gilly.svc:$port:127.0.0.1" \
		    "https://gilly.gilly.svc:$port/healthz" >"$TMP/healthz" 2>"$TMP/curl.err"; then
			ok=1
			break
		fi
		sleep 0.25
	done
	if [ "$ok" = 1 ]; then
		pass "https://gilly.gilly.svc/healthz answers a client that trusts only make ssl's CA"
	else
		fail "https://gilly.gilly.svc/healthz with make ssl's CA:"
		show "$TMP/curl.err"
		show "$TMP/serve.out"
	fi
	if curl -sS --max-time 2 --cacert "$SSL/ca.crt" \
	    --resolve "gilly.example:$port:127.0.0.1" \
	    "https://gilly.example:$port/healthz" >/dev/null 2>&1; then
		fail "the certificate is accepted for a name it does not carry"
	else
		pass "the certificate is refused for a name it does not carry"
	fi
	if stop_serve; then
		pass "serve.sh stops on SIGTERM"
	else
		fail "serve.sh still running 10 s after SIGTERM:"
		show "$TMP/serve.out"
	fi
	serve=
else
	note "gilly, lighttpd or curl missing: the HTTPS check of the certificate skipped"
fi

finish
