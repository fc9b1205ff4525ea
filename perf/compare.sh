#!/usr/bin/env bash
# Head-to-head: `autosave-rollout analyze --batch F --phase A --dry-run` (whole process: collect = validate every line,
# drop duplicate event_ids, write the normalised batch + sha256 + manifest; analyze = all SLIs and the gate) against
# DuckDB (perf/duckdb-query.mjs, same outputs with dedup), on freshly generated batches, in paired runs (ours then
# DuckDB, back to back, RUNS times). Prints per run and the medians: wall seconds, CPU seconds, peak RSS (from
# /usr/bin/time -v), the ratio ours/DuckDB and the RSS budget 64 MiB + 24 B/event.
# Usage: perf/compare.sh [EVENTS...]   (default: 1000000 4000000); RUNS=5 by default; KEEP=1 keeps the batches.
# Needs: dotnet SDK, node + `npm ci` at the repo root (for @duckdb/node-api), /usr/bin/time. Batches go to $TMPDIR
# (default /tmp) and are deleted at the end.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-5}
sizes=("$@"); [ ${#sizes[@]} -eq 0 ] && sizes=(1000000 4000000)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/autosave-perf.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
dll="$repo/functions/AutoSaveRollout.Host/bin/Release/net10.0/autosave-rollout.dll"
if [ "${SKIP_BUILD:-0}" != 1 ]; then dotnet build -c Release "$repo/functions/AutoSaveRollout.Host" -v q -nologo >/dev/null; fi
[ -d "$repo/node_modules/@duckdb/node-api" ] || (cd "$repo" && npm ci --no-audit --no-fund >/dev/null)

# measure LABEL CMD...: prints "wall cpu rss_kib" of one run, stdout of the command to $tmp/LABEL.out
measure() {
  local label=$1; shift
  /usr/bin/time -v -o "$tmp/time.txt" "$@" > "$tmp/$label.out" 2> "$tmp/$label.err" || { echo "FAILED: $*" >&2; cat "$tmp/$label.err" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); w = (n == 3 ? t[1] * 3600 + t[2] * 60 + t[3] : t[1] * 60 + t[2]) }
              /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { m = $2 }
              END { printf "%.2f %.2f %d\n", w, u + s, m }' "$tmp/time.txt"
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); dotnet $(dotnet --version); node $(node --version); duckdb $(node -p "require('$repo/node_modules/@duckdb/node-api/package.json').version")"
echo "date: $(date -u +%FT%TZ); load average at start: $(cut -d' ' -f1-3 /proc/loadavg); runs per size: $runs"
for n in "${sizes[@]}"; do
  f="$tmp/batch-$n.jsonl"
  node "$repo/perf/gen-batch.mjs" "$n" "$f" 7
  echo
  echo "== $n events, $(( $(stat -c %s "$f") / 1000000 )) MB"
  printf '%-4s %9s %8s %9s | %9s %8s %9s | %7s\n' run ours_s cpu_s rss_MiB duck_s cpu_s rss_MiB ratio
  : > "$tmp/ours.txt"; : > "$tmp/duck.txt"
  for i in $(seq 1 "$runs"); do
    o=$(measure ours dotnet "$dll" analyze --batch "$f" --phase A --dry-run --store "$tmp/store")
    d=$(measure duck node "$repo/perf/duckdb-query.mjs" "$f")
    echo "$o" >> "$tmp/ours.txt"; echo "$d" >> "$tmp/duck.txt"
    read -r ow oc om <<< "$o"; read -r dw dc dm <<< "$d"
    printf '%-4s %9.2f %8.2f %9.0f | %9.2f %8.2f %9.0f | %7.2f\n' "$i" "$ow" "$oc" $((om / 1024)) "$dw" "$dc" $((dm / 1024)) "$(echo "$ow / $dw" | bc -l)"
  done
  ow=$(cut -d' ' -f1 "$tmp/ours.txt" | median); dw=$(cut -d' ' -f1 "$tmp/duck.txt" | median)
  oc=$(cut -d' ' -f2 "$tmp/ours.txt" | median); dc=$(cut -d' ' -f2 "$tmp/duck.txt" | median)
  om=$(cut -d' ' -f3 "$tmp/ours.txt" | sort -g | tail -1); dm=$(cut -d' ' -f3 "$tmp/duck.txt" | sort -g | tail -1)
  budget=$(( 64 + n * 24 / 1048576 ))
  printf 'median wall: ours %.2f s, duckdb %.2f s, ratio %.2f (target <= 0.50); median cpu: ours %.2f s, duckdb %.2f s, ratio %.2f\n' \
    "$ow" "$dw" "$(echo "$ow / $dw" | bc -l)" "$oc" "$dc" "$(echo "$oc / $dc" | bc -l)"
  printf 'peak RSS (max of runs): ours %d MiB (budget 64 MiB + 24 B/event = %d MiB), duckdb %d MiB\n' $((om / 1024)) "$budget" $((dm / 1024))
  echo "ours:   p95_s $(grep -A1 '"p95_s": {' "$tmp/ours.out" | grep -m1 -o '[0-9][0-9.e+-]*' || true), $(sed -n '/"samples": {/,/}/p' "$tmp/ours.out" | tr -d ' \n')"
  echo "duckdb: $(cat "$tmp/duck.out")"
  [ "${KEEP:-0}" = 1 ] || rm -f "$f"
done
echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
