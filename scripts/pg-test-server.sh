#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, CI and benchmarks: a fresh cluster in a scratch directory,
# listening on a free localhost port (password authentication) and on a unix socket in that directory,
# with a database "nasx_test".
#
#   scripts/pg-test-server.sh check          exits 0 when a server can be started here, else says why
#   scripts/pg-test-server.sh start [DIR]    starts one (in DIR, default a new temporary directory) and
#                                            prints its URL as the only line on stdout
#   scripts/pg-test-server.sh restart DIR    restarts it (same port, same data)
#   scripts/pg-test-server.sh stop DIR       stops it and removes DIR
#
# PostgreSQL refuses to run as root, so when invoked as root the server runs as the "postgres" OS user
# (Debian's postgresql package creates it) and DIR is handed to that user. The binaries are taken from
# PG_BIN when set, else from PATH, else from the newest /usr/lib/postgresql/*/bin.
set -euo pipefail

die() { echo "pg-test-server: $*" >&2; exit 1; }

find_bin() {
  local dir
  if [ -n "${PG_BIN:-}" ]; then
    dir=$PG_BIN
  elif command -v initdb >/dev/null 2>&1; then
    # The directory initdb really lives in (PATH may hold links to it), where its siblings are.
    dir=$(dirname "$(readlink -f "$(command -v initdb)")")
  else
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  local tool
  for tool in initdb pg_ctl postgres createdb; do [ -n "$dir" ] && [ -x "$dir/$tool" ] || return 1; done
  echo "$dir"
}

# Why a server cannot be started here, or nothing.
unavailable() {
  if ! find_bin >/dev/null; then
    echo "no PostgreSQL server binaries (initdb, pg_ctl, postgres, createdb) in PG_BIN, PATH or /usr/lib/postgresql/*/bin: install them (Debian: apt-get install postgresql)"
    return
  fi
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo 'running as root, and there is no "postgres" OS user to run the server as (PostgreSQL refuses to run as root)'; return; }
    command -v runuser >/dev/null 2>&1 || { echo 'running as root, and runuser (util-linux) is missing to run the server as "postgres"'; return; }
  fi
}

# Runs a command as the user the server runs as.
as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}

server_start() {
  local dir=$1 bin=$2 port=$3
  as_server_user "$bin/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/server.log" \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c max_connections=200" >/dev/null
}

start() {
  local why
  why=$(unavailable)
  [ -z "$why" ] || die "$why"
  local bin dir
  bin=$(find_bin)
  if [ -n "${1:-}" ]; then dir=$1; mkdir -p "$dir"; else dir=$(mktemp -d "${TMPDIR:-/tmp}/nasx-pg-XXXXXX"); fi
  dir=$(cd "$dir" && pwd)
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty (it may hold a cluster: scripts/pg-test-server.sh stop $dir)"
  # A start that fails half-way leaves no server running and no directory behind.
  started=
  trap '[ -n "$started" ] || stop_quietly "$dir"' EXIT
  local password
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/password"
  chmod 700 "$dir"
  chmod 600 "$dir/password"
  [ "$(id -u)" -ne 0 ] || chown -R postgres: "$dir"
  # The superuser "nasx" signs in with its password over TCP; over the socket (this script) it is trusted.
  as_server_user "$bin/initdb" -D "$dir/data" -U nasx --pwfile="$dir/password" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  # A free port can be taken by someone else before the server binds it: try a few.
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if server_start "$dir" "$bin" "$port"; then break; fi
    [ "$attempt" -lt 5 ] || { tail -n 20 "$dir/server.log" >&2; die "the server did not start"; }
  done
  printf '%s\n' "$port" >"$dir/port"
  as_server_user "$bin/createdb" -h "$dir" -p "$port" -U nasx nasx_test
  started=yes
  echo "pg-test-server: running in $dir; stop it with: scripts/pg-test-server.sh stop $dir" >&2
  echo "postgresql://nasx:$password@127.0.0.1:$port/nasx_test"
}

stop_quietly() {
  local bin
  bin=$(find_bin) || return 0
  if [ -f "$1/data/postmaster.pid" ]; then as_server_user "$bin/pg_ctl" stop -w -m immediate -D "$1/data" >/dev/null 2>&1 || true; fi
  rm -rf "$1"
}

cluster_dir() {
  [ -n "${1:-}" ] || die "name the directory that start printed"
  [ -f "$1/port" ] && [ -d "$1/data" ] || die "$1 holds no server started by this script"
  (cd "$1" && pwd)
}

restart() {
  local dir bin
  dir=$(cluster_dir "${1:-}")
  bin=$(find_bin) || die "no PostgreSQL server binaries"
  as_server_user "$bin/pg_ctl" stop -w -m fast -D "$dir/data" >/dev/null
  server_start "$dir" "$bin" "$(cat "$dir/port")"
}

stop() {
  local dir bin
  stop_quietly "$(cluster_dir "${1:-}")"
}

case "${1:-}" in
  check)
    why=$(unavailable)
    if [ -n "$why" ]; then echo "$why"; exit 1; fi
    ;;
  start) start "${2:-}" ;;
  restart) restart "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: scripts/pg-test-server.sh check | start [DIR] | restart DIR | stop DIR" ;;
esac
