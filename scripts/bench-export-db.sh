#!/usr/bin/env bash
# `cutover-bench export-db` (the benchmarks' binary) against each engine: throwaway MariaDB and
# PostgreSQL servers (scripts/db/) and a SQLite file in a temp directory, each filled with about
# 1.07 M rows of the example schema and exported; prints rows/s and peak RSS per engine.
# Release build.
# Usage: scripts/bench-export-db.sh [--scale F] [--gzip]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/db/install.sh
cargo build --release --locked --bin cutover-bench
bench="${CARGO_TARGET_DIR:-target}/release/cutover-bench"
dir=$(mktemp -d)
trap 'bash scripts/db/stop.sh "$dir"; rm -rf "$dir"' EXIT
source scripts/db/common.sh
export CUTOVER_SOURCE_PASSWORD=$DB_PASSWORD
my=$(bash scripts/db/start-mariadb.sh "$dir")
pg=$(bash scripts/db/start-postgres.sh "$dir")
for url in "mysql://$DB_USER@127.0.0.1:$my/$DB_NAME" "postgres://$DB_USER@127.0.0.1:$pg/$DB_NAME" "sqlite://$dir/oldim.db"; do
  "$bench" export-db --from "$url" "$@" 2>/dev/null
  echo
done
