#!/usr/bin/env bash
# The layer check: every `crate::` path in src/ must follow an edge of the table below (the
# README's architecture table), SQL lives only in store/ (and export/, for the source
# database), and anyhow only at the top.
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
store:    model tim source private timefmt
engine:   model tim source config store timefmt
verify:   model tim source config store timefmt
sync:     model tim source config store private timefmt
runbook:  model tim source config store engine verify sync timefmt
report:   model tim source config store runbook timefmt
ui:       model tim source config store engine verify sync runbook report timefmt
sim:      model tim timefmt
bench:    model tim source config store engine verify sync runbook sim export private timefmt
cli:      model tim source config report timefmt
commands: model tim source config store engine verify sync runbook report ui sim bench cli logging export private timefmt
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
done < <(grep -rnoE 'crate::[a-z_]+' src --include='*.rs')

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

# anyhow only at the top: every other module has typed errors.
while IFS= read -r hit; do
  echo "$hit: anyhow outside commands/ and bench/"; fail=1
done < <(grep -rn anyhow src --include='*.rs' | grep -v '^src/commands/\|^src/bench/\|^src/main.rs:' || true)

if [[ $fail -ne 0 ]]; then
  echo "layer check failed: see the table in scripts/check-layers.sh and the README's architecture section"
  exit 1
fi
echo "layer check: every crate:: edge follows the table; SQL only in store/; anyhow only in commands/ and bench/"
