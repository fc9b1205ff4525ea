#!/usr/bin/env bash
# Prints, for every folder of shared/AutoSaveRollout.Core, the other Core folders its code depends on (using directives
# and qualified names outside comments), and fails when two folders depend on each other (directly or through others).
set -euo pipefail
core=$(cd "$(dirname "$0")/../../shared/AutoSaveRollout.Core" && pwd)
python3 - "$core" <<'PY'
import os, re, sys
core = sys.argv[1]
folders = sorted(d for d in os.listdir(core) if os.path.isdir(os.path.join(core, d)) and d not in ("bin", "obj"))
deps = {f: set() for f in folders}
for f in folders:
    for root, _, files in os.walk(os.path.join(core, f)):
        for name in files:
            if not name.endswith(".cs"): continue
            for line in open(os.path.join(root, name), encoding="utf-8"):
                if line.lstrip().startswith("//"): continue
                for m in re.finditer(r"AutoSaveRollout\.Core\.(\w+)", line):
                    if m.group(1) in deps and m.group(1) != f: deps[f].add(m.group(1))
for f in folders: print(f"{f} -> {', '.join(sorted(deps[f])) or '(none)'}")
def reach(a, seen):
    for b in deps[a]:
        if b not in seen: seen.add(b); reach(b, seen)
    return seen
cycles = [(a, b) for a in folders for b in deps[a] if a in reach(b, set())]
if cycles:
    print("cycles:", ", ".join(f"{a}<->{b}" for a, b in cycles)); sys.exit(1)
print("no cycles between Core folders")
PY
