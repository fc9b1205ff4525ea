#!/usr/bin/env bash
# Replays every fixture in every starting phase (dry-run, embedded store) and writes one snapshot folder holding, per
# run, the console output, the --json lines and every file the replay stored. Two snapshots taken before and after a
# refactor must be byte-identical: `diff -r BEFORE AFTER`.
# Usage: tests/scripts/replay-snapshot.sh OUT_DIR [path/to/autosave-rollout.dll]
# POLICY=path/to/policy.yaml replays with that policy (e.g. a copy with rollout.gate.mode: point).
set -euo pipefail
out=${1:?usage: replay-snapshot.sh OUT_DIR [autosave-rollout.dll]}
repo=$(cd "$(dirname "$0")/../.." && pwd)
dll=${2:-$(ls "$repo"/functions/AutoSaveRollout.Host/bin/Debug/net*/autosave-rollout.dll | head -1)}
rm -rf "$out"; mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "$repo"/fixtures/telemetry/*.jsonl; do
  for phase in A B C; do
    name=$(basename "$f" .jsonl)-$phase
    store="$work/$name"
    set +e
    (cd "$repo" && COLUMNS=200 dotnet "$dll" replay --telemetry "$f" --phase "$phase" --dry-run \
        --store "$store" --json "$work/$name.json" ${POLICY:+--policy "$POLICY"}) > "$out/$name.stdout" 2> "$out/$name.stderr"
    echo "exit=$?" >> "$out/$name.stdout"
    sed -i "s|$work|<work>|g; s|$repo|<repo>|g" "$out/$name.stdout" "$out/$name.stderr"
    set -e
    [ -f "$work/$name.json" ] && sed "s|$repo|<repo>|g" "$work/$name.json" > "$out/$name.json"
    if [ -d "$store" ]; then
      (cd "$store" && find . -type f ! -name '*.lock' | LC_ALL=C sort | while read -r p; do
         echo "== $p"; cat "$p"; echo; done) | sed "s|$work|<work>|g; s|$repo|<repo>|g" > "$out/$name.store"
    fi
  done
done
echo "snapshot of $(ls "$out" | wc -l) files in $out"
