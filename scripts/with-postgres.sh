#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server: initdb into a temporary directory (as the
# unprivileged `postgres` user when run as root, since PostgreSQL refuses root), start it on a
# free port of 127.0.0.1 (its socket in that directory too), export DATABASE_URL and
# TEST_POSTGRES_URL, run the command, then stop the server and delete the directory on every exit.
#   scripts/with-postgres.sh cargo test -p session-server
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  echo "with-postgres: PostgreSQL is not installed; run scripts/setup.sh (or apt-get install postgresql)" >&2
  exit 1
fi

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

DIR=$(mktemp -d /tmp/with-postgres.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
stop() {
  as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap stop EXIT
trap 'exit 130' INT TERM

as_pg "$PG_BIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }

# A free port: probe from a random start; pg_ctl failing on a race is retried with the next one.
port=$((20000 + RANDOM % 20000))
for _ in $(seq 1 20); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    if as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
      -o "-p $port -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null; then
      break
    fi
  fi
  port=$((port + 1))
done
as_pg "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" \
  || { echo "with-postgres: the server did not start:" >&2; cat "$DIR/server.log" >&2; exit 1; }

export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
export TEST_POSTGRES_URL="$DATABASE_URL"
echo "with-postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') at $DATABASE_URL" >&2
status=0
"$@" || status=$?
exit "$status"
