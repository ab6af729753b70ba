#!/bin/sh
# template.sh: render gilly's stack to one manifest (make template).
#
#   template.sh -o OUT [-k OVERLAY] [-i IMAGE] [-t TABLE] [-s SSLDIR]
#
#   -o OUT      the manifest to write (make: deploy/stack.yaml)
#   -k OVERLAY  ssl (default) or cert-manager, a directory of deploy/overlays
#   -i IMAGE    the image the pods run, REGISTRY/NAME:TAG (default gilly)
#   -t TABLE    the mirror table to ship in the ConfigMap (default the
#               copy in deploy/base, identical to conf/gilly.yaml)
#   -s SSLDIR   ssl overlay: the directory make ssl wrote ca.crt, tls.crt
#               and tls.key to (default deploy/ssl)
#
# kustomize reads files only under the kustomization's own directory, and
# the repository holds no certificate. So the stack is rendered from a
# scratch copy of deploy/base and deploy/overlays into which the table and
# the certificates are copied, with a top kustomization that sets the image.
# The source tree is never written to.
#
# Environment: KUBECTL (default kubectl), OPENSSL (default openssl), GILLY
# (the built program: when executable, the table is checked with it first).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=
overlay=ssl
image=gilly
table=
ssldir=deploy/ssl
kubectl=${KUBECTL:-kubectl}
openssl=${OPENSSL:-openssl}

usage() {
	echo "usage: $0 -o OUT [-k ssl|cert-manager] [-i IMAGE] [-t TABLE] [-s SSLDIR]" >&2
	exit 2
}

die() {
	echo "$0: $*" >&2
	exit 1
}

while getopts o:k:i:t:s: opt; do
	case $opt in
	o) out=$OPTARG ;;
	k) overlay=$OPTARG ;;
	i) image=$OPTARG ;;
	t) table=$OPTARG ;;
	s) ssldir=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] && [ -n "$out" ] || usage

[ -f "$here/overlays/$overlay/kustomization.yaml" ] ||
    die "no overlay $overlay (deploy/overlays has: $(ls "$here/overlays" | tr '\n' ' '))"
command -v "$kubectl" >/dev/null 2>&1 ||
    die "$kubectl not found: kubectl (which includes kustomize) renders the stack"

# The image as kustomize's images transformer wants it: a name, and a tag
# or a digest. The last colon after the last slash starts the tag (a colon
# before it is a registry port).
case $image in
*@*)
	name=${image%%@*}
	digest=${image#*@}
	tag=
	;;
*)
	digest=
	last=${image##*/}
	case $last in
	*:*)
		name=${image%:*}
		tag=${image##*:}
		;;
	*)
		name=$image
		tag=
		;;
	esac
	;;
esac
[ -n "$name" ] || die "bad image: $image"

# The stack holds the serving certificate's private key (the Secret).
umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gilly-template.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

cp -R "$here/base" "$here/overlays" "$tmp/"

if [ -n "$table" ]; then
	[ -r "$table" ] || die "cannot read the mirror table $table"
	cp "$table" "$tmp/base/gilly.yaml"
fi
# A table gilly refuses would leave every pod failing to start: say so now.
if [ -n "${GILLY:-}" ] && [ -x "$GILLY" ]; then
	"$GILLY" check-config "$tmp/base/gilly.yaml" >/dev/null 2>"$tmp/check.err" || {
		sed "s|$tmp/base/gilly.yaml|${table:-$here/base/gilly.yaml}|" "$tmp/check.err" >&2
		die "the mirror table is not valid"
	}
fi

if [ "$overlay" = ssl ]; then
	for f in ca.crt tls.crt tls.key; do
		[ -r "$ssldir/$f" ] || die "no $ssldir/$f: run make ssl first"
		cp "$ssldir/$f" "$tmp/overlays/ssl/$f"
	done
	# Refuse a pair the API server would refuse: a certificate not signed
	# by the CA in the bundle, or one that has expired.
	if command -v "$openssl" >/dev/null 2>&1; then
		"$openssl" verify -CAfile "$ssldir/ca.crt" "$ssldir/tls.crt" >/dev/null 2>&1 ||
		    die "$ssldir/tls.crt is not signed by $ssldir/ca.crt, or has expired: run make ssl"
	fi
fi

{
	echo "apiVersion: kustomize.config.k8s.io/v1beta1"
	echo "kind: Kustomization"
	echo "resources:"
	echo "- overlays/$overlay"
	echo "images:"
	echo "- name: gilly"
	echo "  newName: \"$name\""
	[ -z "$tag" ] || echo "  newTag: \"$tag\""
	[ -z "$digest" ] || echo "  digest: \"$digest\""
} >"$tmp/kustomization.yaml"

"$kubectl" kustomize "$tmp" >"$tmp/stack.yaml" ||
    die "kubectl kustomize failed"
mkdir -p "$(dirname "$out")"
{
	echo "# gilly $overlay stack, image $image: rendered by deploy/template.sh."
	echo "# Apply with make deploy (kubectl apply -f), remove with make undeploy."
	cat "$tmp/stack.yaml"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "template: wrote $out (overlay $overlay, image $image)"
