#!/usr/bin/env bash
# Makes the sample run reports in docs/ from a demo run of sample-data/:
# docs/sample-report.html, docs/sample-report.md and docs/sample-report.json.
#
#   scripts/sample-report.sh            # release build
#   PROFILE=debug scripts/sample-report.sh
#
# It runs from the repository root with relative paths, so the reports name the export
# `sample-data` and the store `target/sample-demo/demo.db` rather than paths of this machine.
# `cutover demo` without a terminal runs headless and names the store it keeps at the end
# ("  cutover status --store PATH"); that store is reported in the three formats.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${PROFILE:-release}
if [[ $profile == release ]]; then
    cargo build --release --quiet
else
    cargo build --quiet
fi
bin=target/$profile/cutover
demo_dir=target/sample-demo
rm -rf "$demo_dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

rc=0
"$bin" demo --dir "$demo_dir" </dev/null >"$log" 2>&1 || rc=$?
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
