#!/usr/bin/env bash
# Creates a throw-away development PKI for TensorWire: a CA, a server certificate for
# localhost/127.0.0.1/::1 and a client certificate for mutual TLS. See certs/README.md.
# Usage: make-dev-certs.sh [--force] DIR
#        make-dev-certs.sh --client NAME --cn CN [--san SANS] DIR
#          issues DIR/NAME.pem and DIR/NAME-key.pem from DIR's CA: another client identity,
#          e.g. for per-model access policies (SANS in openssl syntax: DNS:a.internal,URI:spiffe://x)
set -euo pipefail

usage() { echo "usage: $0 [--force] DIR | $0 --client NAME --cn CN [--san SANS] DIR" >&2; exit 2; }

force=0
dir=""
client=""
cn=""
san=""
while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        --client) [ $# -ge 2 ] || usage; client="$2"; shift ;;
        --cn) [ $# -ge 2 ] || usage; cn="$2"; shift ;;
        --san) [ $# -ge 2 ] || usage; san="$2"; shift ;;
        -h|--help) usage ;;
        -*) echo "unknown option: $1" >&2; usage ;;
        *) [ -z "$dir" ] || usage; dir="$1" ;;
    esac
    shift
done
[ -n "$dir" ] || usage

command -v openssl >/dev/null || { echo "openssl CLI not found" >&2; exit 1; }
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

issue() { # name subject extensions
    local name="$1" subject="$2" ext="$3"
    newkey "$work/$name-key.pem"
    openssl req -new -key "$work/$name-key.pem" -subj "$subject" -out "$work/$name.csr"
    printf '%s\n' "$ext" > "$work/$name.ext"
    openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" \
        -CAcreateserial -CAserial "$work/ca.srl" -days 825 -sha256 \
        -extfile "$work/$name.ext" -out "$work/$name.pem" 2>/dev/null
}

if [ -n "$client" ]; then
    # An extra client certificate from an existing dev CA. Names are restricted so that they
    # survive openssl's -subj syntax and file names unchanged.
    [[ "$client" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "--client NAME: letters, digits, '-', '_'" >&2; exit 2; }
    [[ "$cn" =~ ^[A-Za-z0-9\ ._-]+$ ]] || { echo "--cn CN is required: letters, digits, space, '.', '-', '_'" >&2; exit 2; }
    case "$client" in ca|server|client) echo "--client $client would replace a base certificate" >&2; exit 2 ;; esac
    [ -e "$dir/ca.pem" ] && [ -e "$dir/ca-key.pem" ] || { echo "$dir holds no dev CA; run $0 $dir first" >&2; exit 1; }
    if [ -e "$dir/$client.pem" ] && [ "$force" -eq 0 ]; then exit 0; fi
    umask 077
    work="$(mktemp -d "${dir%/}/.make-dev-certs.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
    cp "$dir/ca.pem" "$dir/ca-key.pem" "$work/"
    ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"
    [ -z "$san" ] || ext="$ext
subjectAltName=$san"
    issue "$client" "/CN=$cn" "$ext"
    chmod 0644 "$work/$client.pem"
    mv -f "$work/$client-key.pem" "$dir/$client-key.pem"
    # The certificate last: its presence is what marks the pair as complete.
    mv -f "$work/$client.pem" "$dir/$client.pem"
    echo "client certificate CN=$cn written to $dir/$client.pem"
    exit 0
fi
[ -z "$cn$san" ] || { echo "--cn and --san go with --client" >&2; exit 2; }

# Idempotent so that scripts and tests can call it unconditionally without rotating the CA
# under a running server.
if [ -e "$dir/ca.pem" ] && [ "$force" -eq 0 ]; then
    exit 0
fi

mkdir -p "$dir"
# Keys must never be world-readable, not even for the instant between creation and chmod.
umask 077
work="$(mktemp -d "${dir%/}/.make-dev-certs.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- CA ---
newkey "$work/ca-key.pem"
openssl req -x509 -new -key "$work/ca-key.pem" -sha256 -days 3650 \
    -subj "/CN=TensorWire Dev CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$work/ca.pem"

issue server "/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"

issue client "/CN=tensorwire-dev-client" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid"

for f in ca server client; do
    chmod 0600 "$work/$f-key.pem"
    chmod 0644 "$work/$f.pem"
    mv -f "$work/$f-key.pem" "$dir/$f-key.pem"
done
# ca.pem last: its presence is what marks the directory as complete.
mv -f "$work/server.pem" "$dir/server.pem"
mv -f "$work/client.pem" "$dir/client.pem"
mv -f "$work/ca.pem" "$dir/ca.pem"
echo "dev certificates written to $dir"
