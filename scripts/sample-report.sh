#!/usr/bin/env bash
# Makes the sample run reports in docs/ from a demo run of sample-data/:
# docs/sample-report.html, docs/sample-report.md and docs/sample-report.json.
#
#   scripts/sample-report.sh
#
# `cutover demo` without a terminal runs headless and names the store it keeps at the end
# ("  cutover status --store PATH"); that store is reported in the three formats.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin=target/release/cutover
log=$(mktemp)
trap 'rm -f "$log"' EXIT

rc=0
"$bin" demo </dev/null >"$log" 2>&1 || rc=$?
store=$(sed -n 's/^  cutover status --store //p' "$log" | head -n 1)
if [[ -z $store || ! -f $store ]]; then
    cat "$log" >&2
    echo "the demo did not name a store (exit $rc)" >&2
    exit 1
fi
if [[ $rc -ne 0 ]]; then
    echo "note: the demo ended with exit $rc; reporting its store anyway" >&2
fi

mkdir -p docs
for format in md json html; do
    "$bin" report --store "$store" --format "$format" --out "docs/sample-report.$format"
done
echo "demo store: $store"
