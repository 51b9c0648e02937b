#!/usr/bin/env bash
# Stops the throwaway servers started in DIR by start-mariadb.sh / start-postgres.sh and waits
# for them to exit. Safe to run twice, or when none was started.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: stop.sh DIR" >&2; exit 1; }
dir=$1
stop() { # pid-file signal
  [[ -f $1 ]] || return 0
  local pid; pid=$(head -1 "$1")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  kill "-$2" "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
}
stop "$dir/mariadb/server.pid" TERM
# SIGINT: PostgreSQL's fast shutdown (SIGTERM would wait for clients).
stop "$dir/postgres/data/postmaster.pid" INT
