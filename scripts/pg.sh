#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: initdb into a temporary
# folder as an unprivileged user (the `postgres` system user, or `nobody`,
# when run as root), listening on a Unix socket in that folder, then
# stopped and deleted when the command ends. The command sees
# AIDANT_TEST_DATABASE_URL (a superuser URL to the `postgres` database); the
# server's integration tests create one database per test server in it.
# The cluster also listens on 127.0.0.1, TLS only, with a certificate from a
# CA made here (openssl): AIDANT_TEST_DATABASE_TLS (that address, as
# postgresql://aidant@127.0.0.1:PORT), AIDANT_TEST_DATABASE_CA (the CA) and
# AIDANT_TEST_DATABASE_OTHER_CA (a CA that signed nothing of it), for the
# tests of TLS to PostgreSQL (server/src/db/pg_tls.rs).
#
#   scripts/pg.sh cargo test -p server --test it
#
# Uses Debian's postgresql package (installed here when missing, as root).
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
bin=$(pg_bin)
if [ -z "$bin" ]; then
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    echo "installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -qq --no-install-recommends postgresql >&2 \
        || { as_root apt-get update -qq >&2 && as_root apt-get install -y -qq --no-install-recommends postgresql >&2; }
    bin=$(pg_bin)
    [ -n "$bin" ] || { echo "PostgreSQL not found (apt-get install postgresql)" >&2; exit 1; }
fi

if ! command -v openssl >/dev/null; then
    as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
    echo "installing openssl (test certificates)" >&2
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get install -y -qq --no-install-recommends openssl >&2 \
        || { as_root apt-get update -qq >&2 && as_root apt-get install -y -qq --no-install-recommends openssl >&2; }
fi

dir=$(mktemp -d /tmp/aidant-pg.XXXXXX)
as=()
if [ "$(id -u)" = 0 ]; then
    user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$dir"
    as=(runuser -u "$user" --)
fi
stop() {
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT

"${as[@]}" "$bin/initdb" -D "$dir/data" -U aidant -A trust --no-locale -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
# A CA, a certificate for 127.0.0.1 from it, and a CA that signed nothing.
tls="$dir/tls"
mkdir "$tls"
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
for ca in ca other-ca; do
    openssl req -x509 -new "${ec[@]}" -keyout "$tls/$ca.key" -out "$tls/$ca.pem" -days 2 \
        -subj "/CN=aidant test $ca" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>>"$dir/openssl.log"
done
openssl req -new "${ec[@]}" -keyout "$tls/server.key" -out "$tls/server.csr" \
    -subj "/CN=127.0.0.1" 2>>"$dir/openssl.log"
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
    -out "$tls/server.pem" -days 2 -extfile "$tls/server.ext" 2>>"$dir/openssl.log" \
    || { cat "$dir/openssl.log" >&2; exit 1; }
chmod 600 "$tls/server.key"
if [ ${#as[@]} -gt 0 ]; then chown -R "$user" "$tls"; fi
# Over TCP, TLS only.
{ printf 'hostnossl all all 0.0.0.0/0 reject\nhostnossl all all ::/0 reject\n'; cat "$dir/data/pg_hba.conf"; } >"$dir/pg_hba.conf"
cat "$dir/pg_hba.conf" >"$dir/data/pg_hba.conf"

# Throwaway: no fsync. Every test server holds a few connections. A free
# port for 127.0.0.1 (tried a few times: another may take it meanwhile).
for try in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    if "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c ssl=on -c ssl_cert_file=$tls/server.pem -c ssl_key_file=$tls/server.key -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
        start >/dev/null; then
        break
    fi
    [ "$try" = 5 ] && { cat "$dir/server.log" >&2; exit 1; }
done

export AIDANT_TEST_PG_BIN="$bin"
export AIDANT_TEST_DATABASE_URL="postgresql://aidant@${dir//\//%2F}:$port/postgres"
export AIDANT_TEST_DATABASE_TLS="postgresql://aidant@127.0.0.1:$port"
export AIDANT_TEST_DATABASE_CA="$tls/ca.pem"
export AIDANT_TEST_DATABASE_OTHER_CA="$tls/other-ca.pem"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at $dir" >&2
"$@"
