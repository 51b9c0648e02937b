#!/usr/bin/env bash
# Checks that an HTML run report (cutover report --format html) renders in a real browser:
# headless Chromium loads it from the file, its DOM must hold the report's title and its SVG
# charts, and a screenshot is written next to the report (REPORT.png) to look at.
#
#   scripts/check-report-html.sh REPORT.html
#
# Uses /usr/bin/chromium, installing the Debian package `chromium` when it is missing (needs
# root and apt). Exit 0 when the page rendered as expected, 1 when it did not, 2 on bad usage
# or no browser.
set -euo pipefail

if [[ $# -ne 1 || ! -f $1 ]]; then
    echo "usage: $0 REPORT.html (an existing file)" >&2
    exit 2
fi
report=$(realpath "$1")
png="${report%.html}.png"
chromium=/usr/bin/chromium

if [[ ! -x $chromium ]]; then
    echo "no $chromium: installing the Debian package chromium" >&2
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        echo "cannot install it (needs root and apt-get); install chromium and run again" >&2
        exit 2
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; }
fi

profile=$(mktemp -d)
dom=$(mktemp)
trap 'rm -rf "$profile" "$dom"' EXIT
flags=(--headless --no-sandbox --disable-gpu --user-data-dir="$profile"
    --no-first-run --disable-extensions --hide-scrollbars)

"$chromium" "${flags[@]}" --dump-dom "file://$report" >"$dom" 2>/dev/null

fail=0
check() {
    if grep -q -- "$2" "$dom"; then
        echo "ok   $1"
    else
        echo "FAIL $1" >&2
        fail=1
    fi
}
check "the DOM has the report's title" "<title>Cutover run report"
check "the DOM has the report's heading" "<h1>Cutover run report</h1>"
check "the DOM has an inline SVG chart" "<svg"
check "the throughput chart is there" 'aria-label="items per second over time"'
check "the entity chart is there" 'aria-label="items per entity kind"'
if grep -q "<script" "$dom"; then
    echo "FAIL the page holds a script" >&2
    fail=1
else
    echo "ok   no script in the page"
fi

# The page is at most about 1040 px wide; a tall window takes the whole report in one shot.
"$chromium" "${flags[@]}" --window-size=1100,3400 --screenshot="$png" "file://$report" \
    >/dev/null 2>&1
if [[ -s $png ]]; then
    echo "ok   screenshot: $png"
else
    echo "FAIL no screenshot was written" >&2
    fail=1
fi
exit "$fail"
