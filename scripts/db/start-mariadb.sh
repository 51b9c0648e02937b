#!/usr/bin/env bash
# Starts a throwaway MariaDB with its data in DIR, on a free port of 127.0.0.1, and prints the
# port. The server gets database $DB_NAME and user $DB_USER with $DB_PASSWORD (common.sh).
# Stop it with scripts/db/stop.sh DIR.
set -euo pipefail
source "$(dirname "$0")/common.sh"
[[ $# -eq 1 ]] || die "usage: start-mariadb.sh DIR"
mkdir -p "$1"; dir=$(cd "$1" && pwd)
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
[[ -x $mariadbd ]] || die "mariadbd is not installed (scripts/db/install.sh installs it)"
user=$(server_user mysql)
chmod 755 "$dir"
mkdir -p "$dir/mariadb"; chown "$user" "$dir/mariadb"
data=$dir/mariadb/data; sock=$dir/mariadb/mysqld.sock
# Two installs at once (tests run in parallel) have been seen to fail now and then under load:
# try again on a clean data directory before giving up, and show the log's error lines.
for attempt in 1 2 3; do
  rm -rf "$data"
  if as_user "$user" mariadb-install-db --no-defaults --datadir="$data" \
      --auth-root-authentication-method=socket --skip-test-db > "$dir/mariadb/install.log" 2>&1; then
    break
  fi
  [[ $attempt -eq 3 ]] && die "mariadb-install-db failed: $(grep -iE "error|denied|cannot|can.t" "$dir/mariadb/install.log" | head -8)"
  sleep "$attempt"
done
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  as_user "$user" setsid "$mariadbd" --no-defaults --datadir="$data" --socket="$sock" --port="$port" \
    --bind-address=127.0.0.1 --pid-file="$dir/mariadb/server.pid" --skip-name-resolve \
    --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=256M --skip-log-bin \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin \
    > "$dir/mariadb/server.log" 2>&1 < /dev/null &
  if wait_for 60 mariadb-admin --no-defaults --socket="$sock" -uroot ping; then
    echo "$port" > "$dir/mariadb/port"
    break
  fi
  kill "$!" 2>/dev/null || true
  wait "$!" 2>/dev/null || true
  [[ $attempt -eq 5 ]] && die "mariadbd did not start: $(tail -5 "$dir/mariadb/server.log")"
done
# Root logs in over the socket as the OS user running the server (unix_socket auth): do it as
# that user, or as root when root runs this.
client=(mariadb --no-defaults --socket="$sock" -uroot)
[[ $(id -u) -eq 0 ]] || client=(mariadb --no-defaults --socket="$sock" -u"$(id -un)")
"${client[@]}" <<SQL || die "creating the database and user failed"
CREATE DATABASE IF NOT EXISTS $DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
SQL
echo "$port"
