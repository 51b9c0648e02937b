#!/usr/bin/env bash
# The layer check: every `crate::` path of the library (src/ but src/bin/) must follow an edge
# of the table below (the README's architecture table), SQL lives only in store/ (and export/,
# for the source database), and anyhow only at the top.
# src/bin/cutover-bench/ is the benchmarks' binary, not a module of the library: its `crate::`
# paths name its own modules, and it reaches the library only through `cutover::` (its public
# API), so it has no row in the table. It may use anyhow (it is a top like commands/); it may
# not hold SQL (it measures the store through the store's functions).
# A forbidden use fails with its file, line and edge.
set -euo pipefail
cd "$(dirname "$0")/.."

# module: the modules it may use (each layer uses only the layers below it).
ALLOWED='
timefmt:
private:
logging:  private
model:    timefmt
tim:      model timefmt
source:   model timefmt
export:   model source timefmt
config:   model tim timefmt
alerts:   model config timefmt private
store:    model tim source private timefmt
engine:   model tim source config store timefmt
verify:   model tim source config store timefmt
sync:     model tim source config store private timefmt
media:    model tim source config store timefmt
metrics:  model tim source config store alerts timefmt
runbook:  model tim source export config store engine verify sync media alerts timefmt
report:   model tim source config store runbook timefmt
ui:       model tim source config store engine verify sync media alerts runbook report timefmt
sim:      model tim timefmt
cli:      model tim source config report timefmt
commands: model tim source config store engine verify sync media alerts metrics runbook report ui sim cli logging export private timefmt
'
# Paths inside one module that must not use another part of it: "folder pattern".
FORBIDDEN_WITHIN='
src/ui/tui/ ui::headless
src/ui/tui/ super::super::headless
'

fail=0
allowed() { # from to
  local row
  row=$(awk -F: -v m="$1" '$1 == m { print $2 }' <<< "$ALLOWED")
  [[ " $row " == *" $2 "* ]]
}

while IFS= read -r hit; do
  file=${hit%%:*}; rest=${hit#*:}; line=${rest%%:*}; path=${rest#*:}
  rel=${file#src/}
  from=${rel%%/*}; from=${from%.rs}
  to=${path#crate::}
  [[ "$from" == "lib" || "$from" == "main" || "$from" == "$to" ]] && continue
  if ! grep "^$from:" <<< "$ALLOWED" > /dev/null; then
    echo "$file:$line: module '$from' is not in the layer table"; fail=1; continue
  fi
  if ! allowed "$from" "$to"; then
    echo "$file:$line: forbidden edge $from -> $to"; fail=1
  fi
done < <(grep -rnoE 'crate::[a-z_]+' src --include='*.rs' | grep -v '^src/bin/')

# A binary beside the library names the library as `cutover::`, never by a path into src/.
while IFS= read -r hit; do
  echo "$hit: a binary reaching into the library's files (use its public API, cutover::…)"; fail=1
done < <(grep -rnE '#\[path|include!\(' src/bin --include='*.rs' || true)

while read -r dir pattern; do
  [[ -z "$dir" ]] && continue
  while IFS= read -r hit; do
    echo "$hit: forbidden edge inside a module ($dir must not use $pattern)"; fail=1
  done < <(grep -rnF "$pattern" "$dir" --include='*.rs' || true)
done <<< "$FORBIDDEN_WITHIN"

# SQL lives in store/: its keywords appear nowhere else in src/. The one exception is export/,
# whose SQL is for the SOURCE database (the user's queries from the mapping file, the snapshot,
# the example schema's fill), not for the progress store.
while IFS= read -r hit; do
  echo "$hit: SQL outside store/"; fail=1
done < <(grep -rnwE '(INSERT|UPDATE|SELECT|DELETE)' src --include='*.rs' | grep -v '^src/store/\|^src/export/' || true)

# anyhow only at the top: every other module has typed errors. The tops are commands/, main.rs
# and the benchmarks' binary (src/bin/cutover-bench/), which is no module of the library.
while IFS= read -r hit; do
  echo "$hit: anyhow outside commands/, main.rs and the bench binary"; fail=1
done < <(grep -rn anyhow src --include='*.rs' | grep -v '^src/commands/\|^src/bin/cutover-bench/\|^src/main.rs:' || true)

if [[ $fail -ne 0 ]]; then
  echo "layer check failed: see the table in scripts/check-layers.sh and the README's architecture section"
  exit 1
fi
echo "layer check: every crate:: edge follows the table; SQL only in store/; anyhow only in commands/, main.rs and src/bin/cutover-bench/"
