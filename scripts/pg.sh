#!/usr/bin/env bash
# Throwaway PostgreSQL for tests, the demo and benchmarks: Debian's
# postgresql-15 initdb'd into a directory, listening on 127.0.0.1 on a free
# port, run as the `postgres` user (initdb and postgres refuse root).
#
#   scripts/pg.sh start DIR     initdb (if needed) + start; prints the DSN
#   scripts/pg.sh stop DIR      stop (fast) and remove DIR
#   scripts/pg.sh dsn DIR       print the DSN of a running instance
#   scripts/pg.sh pause DIR / resume DIR   stop and restart keeping data
#                               (outage tests)
# The DSN is written to DIR/dsn as well.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg.sh start|stop|dsn|pause|resume DIR}
dir=${2:?usage: pg.sh start|stop|dsn|pause|resume DIR}

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  /usr/bin/python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start_server() {
  local port
  port=$(cat "$dir/port")
  as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null
}

case "$cmd" in
  start)
    mkdir -p "$dir/sock"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_pg "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >/dev/null
    fi
    free_port >"$dir/port"
    start_server
    echo "host=127.0.0.1 port=$(cat "$dir/port") user=postgres dbname=postgres" >"$dir/dsn"
    cat "$dir/dsn"
    ;;
  pause)
    as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    start_server
    ;;
  stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  dsn)
    cat "$dir/dsn"
    ;;
  *)
    echo "pg.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
