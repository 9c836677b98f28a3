#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the store and multi-instance tests.
#
#   scripts/postgres.sh start   install Debian's postgresql if missing (root only), initdb a
#                               cluster in the state folder, start it on 127.0.0.1 (a free
#                               port) and create the database nwc_test; prints one line on
#                               stdout: NWC_TEST_POSTGRES=postgres://...  (idempotent)
#   scripts/postgres.sh env     print that line for the running cluster
#   scripts/postgres.sh stop    stop the cluster and remove the state folder
#
# As root the cluster runs as the postgres user (PostgreSQL refuses to run as root); as
# anyone else it runs as that user. Everything except the NWC_TEST_POSTGRES line goes to
# stderr, so CI can do:  pg_env=$(scripts/postgres.sh start); export "$pg_env"
#
# The cluster trades durability for speed (fsync=off): it holds test data only. Never use
# these settings for a real wallet.
#
# Environment:
#   NWC_PG_DIR   state folder (default ${TMPDIR:-/tmp}/nwc-postgres-$UID)
set -euo pipefail

DIR=${NWC_PG_DIR:-${TMPDIR:-/tmp}/nwc-postgres-$(id -u)}
DB=nwc_test

log() { echo "postgres.sh: $*" >&2; }

# bindir finds initdb/pg_ctl: Debian keeps them in /usr/lib/postgresql/N/bin, off PATH.
bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  return 1
}

install_pg() {
  if bindir >/dev/null; then return; fi
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL is not installed and I am not root: apt-get install postgresql first"
    exit 1
  fi
  log "installing postgresql from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # The package's own cluster (port 5432) is not used; it may or may not start here.
  apt-get install -y -qq postgresql >&2
}

# as_owner runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url() { echo "NWC_TEST_POSTGRES=postgres://postgres@127.0.0.1:$(cat "$DIR/port")/$DB?sslmode=disable"; }

running() {
  [ -f "$DIR/port" ] && [ -d "$DIR/data" ] && as_owner "$(bindir)/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  install_pg
  local bin
  bin=$(bindir)
  if running; then
    url
    return
  fi
  mkdir -p "$DIR"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; fi
  chmod 700 "$DIR"
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    rm -rf "$DIR/data"
    as_owner "$bin/initdb" -D "$DIR/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
      { cat "$DIR/initdb.log" >&2; exit 1; }
  fi
  local port tries=0
  while :; do
    port=$(( 10000 + (RANDOM * 32768 + RANDOM) % 22000 )) # below the ephemeral range
    tries=$((tries + 1))
    if port_free "$port" &&
      as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 -o \
        "-c listen_addresses=127.0.0.1 -p $port -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB" \
        start >&2; then
      break
    fi
    if [ "$tries" -ge 5 ]; then
      log "could not start PostgreSQL; server log:"
      tail -n 30 "$DIR/server.log" >&2 || true
      exit 1
    fi
  done
  echo "$port" >"$DIR/port"
  if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$DB"
  fi
  log "$("$bin/postgres" --version) on 127.0.0.1:$port, data in $DIR/data"
  url
}

stop() {
  if [ -d "$DIR/data" ] && bindir >/dev/null; then
    as_owner "$(bindir)/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
  start) start ;;
  env)
    if ! running; then log "no cluster running in $DIR"; exit 1; fi
    url
    ;;
  stop) stop ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
