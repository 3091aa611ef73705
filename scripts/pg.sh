#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster: initdb into a temporary
# folder as an unprivileged user (the `postgres` system user, or `nobody`,
# when run as root), listening only on a Unix socket in that folder, then
# stopped and deleted when the command ends. The command sees
# AIDANT_TEST_DATABASE_URL (a superuser URL to the `postgres` database); the
# server's integration tests create one database per test server in it.
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
# Throwaway: no fsync. Every test server holds a few connections.
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export AIDANT_TEST_PG_BIN="$bin"
export AIDANT_TEST_DATABASE_URL="postgresql://aidant@${dir//\//%2F}/postgres"
echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at $dir" >&2
"$@"
