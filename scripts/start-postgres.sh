#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages if needed and starts a throwaway
# cluster on 127.0.0.1:${PGPORT:-54329}; prints the URL for WARDEN_TEST_POSTGRES.
set -euo pipefail
port=${PGPORT:-54329}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! id postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=${PGDATA_DIR:-/tmp/warden-pg-$port}
if ! runuser -u postgres -- "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  rm -rf "$dir"
  install -d -o postgres -g postgres "$dir"
  runuser -u postgres -- "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2
fi
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
