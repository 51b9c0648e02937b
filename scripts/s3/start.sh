#!/usr/bin/env bash
# Starts a throwaway S3-protocol server (s3s-fs, scripts/s3/install.sh installs it) with its
# data in DIR, on 127.0.0.1 at PORT (a free one when not given), and prints its endpoint
# (http://127.0.0.1:PORT). It holds one bucket, $S3_BUCKET, and takes the test-only
# credentials $S3_ACCESS_KEY / $S3_SECRET_KEY below (never real ones). It stops by itself when
# the process that ran this script exits, or with scripts/s3/stop.sh DIR.
#
# Other test credentials and bucket: CUTOVER_TEST_S3_ACCESS_KEY, CUTOVER_TEST_S3_SECRET_KEY,
# CUTOVER_TEST_S3_BUCKET.
set -euo pipefail
source "$(dirname "$0")/../db/common.sh"
[[ $# -ge 1 && $# -le 2 ]] || die "usage: start.sh DIR [PORT]"
repo=$(cd "$(dirname "$0")/../.." && pwd)
S3_ACCESS_KEY=${CUTOVER_TEST_S3_ACCESS_KEY:-cutover-test}
S3_SECRET_KEY=${CUTOVER_TEST_S3_SECRET_KEY:-cutover-test-secret}
S3_BUCKET=${CUTOVER_TEST_S3_BUCKET:-media}
bin=$(ls -d "$repo"/.tools/s3s-fs-*/bin/s3s-fs 2>/dev/null | sort -V | tail -1)
[[ -n $bin && -x $bin ]] || die "s3s-fs is not installed (scripts/s3/install.sh installs it)"
mkdir -p "$1"; dir=$(cd "$1" && pwd)/s3
port=${2:-0}
# The caller: when it is gone, the server goes too.
watch=$PPID
mkdir -p "$dir/data/$S3_BUCKET"
log=$dir/server.log
# A bucket of s3s-fs is a directory under its root.
RUST_LOG=s3s_fs=info setsid "$bin" --host 127.0.0.1 --port "$port" \
  --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" "$dir/data" \
  > "$log" 2>&1 < /dev/null &
pid=$!
echo "$pid" > "$dir/server.pid"
# The server says where it listens once it does (the positive signal; port 0 picks a free one).
running() { grep -oE 'server is running at http://[0-9.]+:[0-9]+' "$log" | grep -oE '[0-9]+$'; }
for _ in $(seq 1 150); do
  if bound=$(running); then break; fi
  kill -0 "$pid" 2>/dev/null || die "s3s-fs did not start: $(tail -5 "$log")"
  sleep 0.2
done
[[ -n ${bound:-} ]] || { kill "$pid" 2>/dev/null || true; die "s3s-fs did not start in 30 s: $(tail -5 "$log")"; }
# The watchdog: stops the server when the caller exits (a test killed with SIGKILL included).
setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
  kill "$2" 2>/dev/null || true' watchdog "$watch" "$pid" > /dev/null 2>&1 < /dev/null &
endpoint="http://127.0.0.1:$bound"
echo "$endpoint" > "$dir/endpoint"
echo "$endpoint"
