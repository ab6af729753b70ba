#!/bin/sh
# gencert.sh DIR [SAN...]: a CA and a server certificate for gilly's
# lighttpd, for a local run and the tests (a cluster has its own, see
# deploy/).
#
# Writes into DIR (created if missing):
#	ca.crt, ca.key	a CA, made on the first run only
#	tls.crt		a server certificate signed by that CA, for each SAN
#			(an IP address or a DNS name; default 127.0.0.1 and
#			localhost), valid for a year
#	tls.key		its key
# Run again on the same DIR, it keeps the CA and issues a new server
# certificate and key: a renewal, which clients trusting ca.crt accept.
# The new pair replaces the old one by rename, the key last.
#
# ECDSA P-256 keys: small and quick to handshake; every Kubernetes API
# server accepts them.
set -eu

usage() {
	echo "usage: gencert.sh DIR [SAN...]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
dir=$1
shift
[ $# -gt 0 ] || set -- 127.0.0.1 localhost
command -v openssl >/dev/null 2>&1 || {
	echo "gencert.sh: openssl not found" >&2
	exit 1
}

mkdir -p "$dir"
umask 077
tmp=$(mktemp -d "$dir/.gencert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# subjectAltName from the arguments: an IPv4 or IPv6 address is an IP
# entry, anything else a DNS name (Go clients ignore the CN).
san=
for name in "$@"; do
	case $name in
	*:* | *[0-9].*[0-9].*[0-9].*[0-9])
		if expr "$name" : '[0-9a-fA-F:.]*$' >/dev/null; then
			entry="IP:$name"
		else
			entry="DNS:$name"
		fi
		;;
	*)	entry="DNS:$name" ;;
	esac
	san="${san:+$san,}$entry"
done

if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$tmp/ca.key" -out "$tmp/ca.crt" -days 3650 \
	    -subj "/CN=gilly local CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	mv "$tmp/ca.key" "$dir/ca.key"
	mv "$tmp/ca.crt" "$dir/ca.crt"
fi

cat >"$tmp/ext" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
EOF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$tmp/tls.key" -out "$tmp/tls.csr" -subj "/CN=$1" 2>/dev/null
openssl x509 -req -in "$tmp/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -extfile "$tmp/ext" \
    -out "$tmp/tls.crt" 2>/dev/null
# The keys stay private (umask 077); the certificates are public.
chmod 644 "$tmp/tls.crt" "$dir/ca.crt"
mv "$tmp/tls.crt" "$dir/tls.crt"
mv "$tmp/tls.key" "$dir/tls.key"
