# Shared by start-mariadb.sh and start-postgres.sh: a free loopback port, the unprivileged
# user a server runs as when we are root, and waiting for a positive answer.

# The database and login every throwaway server gets.
DB_NAME=${CUTOVER_TEST_DB_NAME:-oldim}
DB_USER=${CUTOVER_TEST_DB_USER:-cutover}
DB_PASSWORD=${CUTOVER_TEST_DB_PASSWORD:-cutover-test-password}

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# A port nothing listens on (the server's own bind is the final check: callers retry).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  die "no free loopback port found"
}

# The user to run a server as: ourselves, or (as root) $1 when it exists, else a system user
# `cutover-db` created for it.
server_user() {
  if [[ $(id -u) -ne 0 ]]; then id -un; return; fi
  if id "$1" >/dev/null 2>&1; then echo "$1"; return; fi
  id cutover-db >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin cutover-db \
    || die "cannot create the unprivileged user cutover-db"
  echo cutover-db
}

# Runs a command as user $1.
as_user() {
  local u=$1; shift
  if [[ $(id -un) == "$u" ]]; then "$@"; else runuser -u "$u" -- "$@"; fi
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local secs=$1; shift
  for _ in $(seq 1 $(( secs * 5 ))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}
