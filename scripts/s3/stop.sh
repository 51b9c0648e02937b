#!/usr/bin/env bash
# Stops the server scripts/s3/start.sh started in DIR and waits for it to exit. Safe to run
# twice, or when none was started.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: stop.sh DIR" >&2; exit 1; }
pidfile=$1/s3/server.pid
[[ -f $pidfile ]] || exit 0
pid=$(head -1 "$pidfile")
[[ $pid =~ ^[0-9]+$ ]] || exit 0
kill -TERM "$pid" 2>/dev/null || exit 0
for _ in $(seq 1 50); do
  kill -0 "$pid" 2>/dev/null || exit 0
  sleep 0.1
done
kill -KILL "$pid" 2>/dev/null || true
