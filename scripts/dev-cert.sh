#!/usr/bin/env bash
# Makes a local certificate authority and a server certificate it signs, for
# trying the field app on a phone on the same network over HTTPS (service
# workers, persistent IndexedDB and WebCrypto need a secure context).
#
#   scripts/dev-cert.sh [HOST-OR-IP ...]     (default: this machine's addresses)
#
# Writes data/tls/{ca.pem,cert.pem,key.pem}. Install ca.pem on the phone as a
# trusted CA certificate (Android: Settings > Security > Encryption &
# credentials > Install a certificate > CA certificate; iOS: open it, install
# the profile, then enable it under General > About > Certificate Trust
# Settings). Then run:
#   scripts/run.sh --port 8443 --tls-cert data/tls/cert.pem --tls-key data/tls/key.pem
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { echo "dev-cert: needs openssl (apt-get install openssl)" >&2; exit 1; }
dir=data/tls
mkdir -p "$dir"
hosts=("$@")
if [ ${#hosts[@]} -eq 0 ]; then
  # shellcheck disable=SC2207
  hosts=($(hostname -I 2>/dev/null || true) "$(hostname)")
fi
san="DNS:localhost,IP:127.0.0.1"
for h in "${hosts[@]}"; do
  [ -n "$h" ] || continue
  if [[ $h =~ ^[0-9.]+$ || $h == *:* ]]; then san="$san,IP:$h"; else san="$san,DNS:$h"; fi
done
if [ ! -f "$dir/ca.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=Aidant local development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca-key.pem" -out "$dir/ca.pem" 2>/dev/null
fi
openssl req -newkey rsa:2048 -nodes -subj "/CN=Aidant server" -keyout "$dir/key.pem" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$dir/ext.cnf"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
  -days 397 -extfile "$dir/ext.cnf" -out "$dir/cert.pem" 2>/dev/null
rm -f "$dir/server.csr" "$dir/ext.cnf"
echo "dev-cert: $dir/cert.pem for $san (CA: $dir/ca.pem)"
