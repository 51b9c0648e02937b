#!/usr/bin/env bash
# Starts a throwaway PostgreSQL with its data in DIR, on a free port of 127.0.0.1, and prints
# the port. PostgreSQL refuses to run as root: as root it runs as `postgres` (or a system user
# created for it). The server gets database $DB_NAME owned by $DB_USER with $DB_PASSWORD
# (common.sh), password (scram) logins only. Stop it with scripts/db/stop.sh DIR.
set -euo pipefail
source "$(dirname "$0")/common.sh"
[[ $# -eq 1 ]] || die "usage: start-postgres.sh DIR"
mkdir -p "$1"; dir=$(cd "$1" && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n $bin && -x $bin/initdb ]] || die "PostgreSQL is not installed (scripts/db/install.sh installs it)"
user=$(server_user postgres)
chmod 755 "$dir"
mkdir -p "$dir/postgres"; chown "$user" "$dir/postgres"
data=$dir/postgres/data
printf '%s\n' "$DB_PASSWORD" > "$dir/postgres/pw"; chown "$user" "$dir/postgres/pw"; chmod 600 "$dir/postgres/pw"
as_user "$user" "$bin/initdb" -D "$data" -U "$DB_USER" --pwfile="$dir/postgres/pw" --auth=scram-sha-256 \
  --locale=C -E UTF8 > "$dir/postgres/initdb.log" 2>&1 || die "initdb failed: $(tail -5 "$dir/postgres/initdb.log")"
rm -f "$dir/postgres/pw"
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  as_user "$user" setsid "$bin/postgres" -D "$data" -h 127.0.0.1 -p "$port" -k "$dir/postgres" \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    > "$dir/postgres/server.log" 2>&1 < /dev/null &
  if wait_for 60 "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    echo "$port" > "$dir/postgres/port"
    break
  fi
  kill "$!" 2>/dev/null || true
  wait "$!" 2>/dev/null || true
  [[ $attempt -eq 5 ]] && die "postgres did not start: $(tail -5 "$dir/postgres/server.log")"
done
PGPASSWORD=$DB_PASSWORD "$bin/psql" -q -h 127.0.0.1 -p "$port" -U "$DB_USER" -d postgres \
  -c "CREATE DATABASE $DB_NAME" >/dev/null || die "creating database $DB_NAME failed"
echo "$port"
