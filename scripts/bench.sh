#!/usr/bin/env bash
# `make bench`: every TestBench* comparison (files tagged `bench`), one package
# at a time so that they do not compete for the cores. Prints the
# `bench: NAME value=V unit=U limit=L ratio=R better=...` lines of DESIGN.md
# (and keeps the full log in var/bench.log); exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
log=var/bench.log
: > "$log"
status=0
for pkg in $(go list -tags bench -f '{{if .TestGoFiles}}{{.ImportPath}}{{end}}' ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  grep -lq '^func TestBench' "$dir"/*_test.go 2>/dev/null || continue
  if ! go test -count=1 -tags bench -run '^TestBench' -timeout 30m -v "$pkg" >> "$log" 2>&1; then
    echo "bench: $pkg FAILED (see $log)" >&2
    status=1
  fi
done
grep -E '^bench: ' "$log"
exit $status
