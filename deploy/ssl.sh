#!/bin/sh
# ssl.sh DIR: the certificates the API server and gilly's lighttpd need,
# made with openssl alone (make ssl).
#
#   DIR/ca.key, DIR/ca.crt    a private CA, ECDSA P-256, 10 years; the API
#                             server trusts ca.crt through the webhook's caBundle
#   DIR/tls.key, DIR/tls.crt  the serving certificate lighttpd presents, for
#                             the Service's DNS names, signed by the CA, 2 years
#
# Run again, it keeps what is still good: the CA while it has more than a
# year to live, the serving certificate while it has more than 30 days and
# was signed by the current CA. Renewing only the serving certificate leaves
# the caBundle unchanged, so pods serving the old certificate and pods serving
# the new one are both trusted during the rollout. FORCE=1 starts over.
#
# Environment: OPENSSL (default openssl), SERVICE and NAMESPACE (default
# gilly and gilly: the Service the webhook configuration points at).
set -eu

usage() {
	echo "usage: $0 DIR" >&2
	exit 2
}

[ $# -eq 1 ] || usage
dir=$1
openssl=${OPENSSL:-openssl}
service=${SERVICE:-gilly}
namespace=${NAMESPACE:-gilly}
# The API server calls the webhook at <service>.<namespace>.svc (the name it
# builds from clientConfig.service); the cluster.local form is for clients
# that use the full name, e.g. curl from another pod while debugging.
host=$service.$namespace.svc
fqdn=$host.cluster.local

command -v "$openssl" >/dev/null 2>&1 || {
	echo "$0: $openssl not found: install openssl" >&2
	exit 1
}

# Keys, and the directory holding them, for their owner alone.
umask 077
mkdir -p "$dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gilly-ssl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# valid_for FILE SECONDS: FILE is a certificate still valid SECONDS from now.
valid_for() {
	[ -s "$1" ] && "$openssl" x509 -in "$1" -noout -checkend "$2" >/dev/null 2>&1
}

if [ "${FORCE:-0}" = 1 ]; then
	rm -f "$dir/ca.key" "$dir/ca.crt" "$dir/tls.key" "$dir/tls.crt"
fi

# The CA. Its key never leaves DIR: neither the stack nor the cluster needs it.
if [ -s "$dir/ca.key" ] && valid_for "$dir/ca.crt" 31536000; then
	echo "ssl: keeping the CA in $dir/ca.crt ($("$openssl" x509 -in "$dir/ca.crt" -noout -enddate))"
else
	cat >"$tmp/ca.cnf" <<-EOF
	[req]
	distinguished_name = dn
	prompt = no
	x509_extensions = ca
	[dn]
	CN = gilly webhook CA
	[ca]
	basicConstraints = critical, CA:TRUE, pathlen:0
	keyUsage = critical, keyCertSign, cRLSign
	subjectKeyIdentifier = hash
	EOF
	"$openssl" req -x509 -new -config "$tmp/ca.cnf" -newkey ec \
	    -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
	    -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		exit 1
	}
	mv "$tmp/ca.key" "$dir/ca.key"
	mv "$tmp/ca.crt" "$dir/ca.crt"
	# A new CA makes every certificate of the old one useless.
	rm -f "$dir/tls.crt" "$dir/tls.key"
	echo "ssl: new CA in $dir/ca.crt"
fi

if [ -s "$dir/tls.key" ] && valid_for "$dir/tls.crt" 2592000 &&
    "$openssl" verify -CAfile "$dir/ca.crt" "$dir/tls.crt" >/dev/null 2>&1; then
	echo "ssl: keeping the serving certificate in $dir/tls.crt ($("$openssl" x509 -in "$dir/tls.crt" -noout -enddate))"
else
	cat >"$tmp/tls.cnf" <<-EOF
	[req]
	distinguished_name = dn
	prompt = no
	[dn]
	CN = $host
	[serving]
	basicConstraints = critical, CA:FALSE
	keyUsage = critical, digitalSignature
	extendedKeyUsage = serverAuth
	subjectAltName = DNS:$host, DNS:$fqdn
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	EOF
	"$openssl" req -new -config "$tmp/tls.cnf" -newkey ec \
	    -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>"$tmp/err" &&
	"$openssl" x509 -req -in "$tmp/tls.csr" -sha256 -days 730 \
	    -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$("$openssl" rand -hex 16)" \
	    -extfile "$tmp/tls.cnf" -extensions serving \
	    -out "$tmp/tls.crt" 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		exit 1
	}
	"$openssl" verify -CAfile "$dir/ca.crt" "$tmp/tls.crt" >/dev/null
	mv "$tmp/tls.key" "$dir/tls.key"
	mv "$tmp/tls.crt" "$dir/tls.crt"
	echo "ssl: new serving certificate for $host in $dir/tls.crt"
fi
