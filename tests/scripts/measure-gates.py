#!/usr/bin/env python3
"""Measures the SLO gate modes (issue 11) with the CLI's `generate` and `replay` and prints the README table.

Healthy telemetry (generator defaults except the rate: 0.25/s in A, 1.5/s in B, 5/s in C), 30 days per phase and
seed, each phase on its own: false rollbacks per 30 days. Injected incidents (2 h healthy, then 2 h with a 3x latency
multiplier, or with an error ratio of 3x the phase's error-rate threshold): detection delay in windows, 1 = the first
incident window.

Confidence mode is replayed with the repository's policy.yaml (mode: confidence at its default). A rollback changes the
phase for the rest of a replay, so the script restarts the replay in the same phase at the window after each rollback
(the look-back starts afresh, as after a real phase change) until the file is consumed.

Point mode is memoryless (a window's decision depends on that window only; drift and collector latency are 0 here),
so it is not replayed a second time: every window's point-mode status follows from the values the replay reports
(value > threshold with at least min_samples saves). The script checks that rule against the CLI itself: it replays the
first day of seed 1 of each phase (and every incident run of seed 1) with `mode: point` and requires the CLI's first
rollback to fall on the first window the rule flags.

Usage: tests/scripts/measure-gates.py [--dll path/to/autosave-rollout.dll] [--work DIR] [--jobs 2] [--days 30]
                                      [--seeds 3] [--incident-seeds 20] [--out FILE]
"""
import argparse
import concurrent.futures as cf
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RATES = {"A": 0.25, "B": 1.5, "C": 5.0}
START = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
PRE_MIN, INC_MIN = 120, 120  # incident runs: healthy minutes, then incident minutes
WINDOW = timedelta(minutes=15)


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd)} -> {r.returncode}\n{r.stderr[-2000:]}")
    return r


def policy_values(text):
    m = re.search(r"min_samples:\s*(\d+)", text)
    min_samples = int(m.group(1)) if m else 50
    slo = {}
    for phase in "ABC":
        block = re.search(rf"\n    {phase}:\n(.*?)\n      slo: \{{([^}}]*)\}}", text, re.S)
        pairs = dict(kv.split(":") for kv in block.group(2).replace(" ", "").split(","))
        slo[phase] = {k: float(v) for k, v in pairs.items()}
    return min_samples, slo


class Ctx:
    def __init__(self, a):
        self.dll = a.dll
        self.work = a.work
        text = open(os.path.join(REPO, "policy.yaml"), encoding="utf-8").read()
        if "gate: {mode: confidence," not in text:
            sys.exit("policy.yaml must say 'gate: {mode: confidence, ...}'")
        self.conf_policy = os.path.join(a.work, "policy-confidence.yaml")
        self.point_policy = os.path.join(a.work, "policy-point.yaml")
        open(self.conf_policy, "w", encoding="utf-8").write(text)
        open(self.point_policy, "w", encoding="utf-8").write(text.replace("gate: {mode: confidence,", "gate: {mode: point,"))
        self.min_samples, self.slo = policy_values(text)

    def cli(self, *args):
        return run(["dotnet", self.dll, *args], cwd=REPO)

    def replay(self, telemetry, phase, policy, tag):
        store = os.path.join(self.work, "store-" + tag)
        out = os.path.join(self.work, "replay-" + tag + ".json")
        try:
            self.cli("replay", "--telemetry", telemetry, "--phase", phase, "--policy", policy, "--dry-run",
                     "--store", store, "--json", out)
            return [json.loads(l) for l in open(out, encoding="utf-8")]
        finally:
            shutil.rmtree(store, ignore_errors=True)
            if os.path.exists(out):
                os.remove(out)

    def point_violation(self, w, phase):
        """Point mode's rule on one window's reported values (SloGate): value > threshold, P95/error rate need min_samples."""
        t = self.slo[phase]
        enough = (w["completed"] or 0) + (w["errors"] or 0) >= self.min_samples
        return (enough and w["p95_s"] is not None and w["p95_s"] > t["save_p95_s"]) \
            or (enough and w["error_rate_pct"] is not None and w["error_rate_pct"] > t["error_rate_pct"]) \
            or (w["history_drift"] or 0) > t["history_drift"] or (w["collector_latency_s"] or 0) > t["collector_latency_s"]


def cut_after(src, dst, cut_ts):
    """Copies the lines of sorted JSONL `src` whose ts >= cut_ts (ISO, 'Z') to dst; binary search on byte offsets."""
    key = cut_ts.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    size = os.path.getsize(src)
    with open(src, "rb") as f:
        def ts_at(pos):
            f.seek(pos)
            if pos:
                f.readline()
            start = f.tell()
            line = f.readline()
            if not line:
                return start, None
            return start, json.loads(line)["ts"]
        lo, hi = 0, size
        while lo < hi:
            mid = (lo + hi) // 2
            start, ts = ts_at(mid)
            if ts is None or ts >= key:
                hi = mid
            else:
                lo = mid + 1
        start, _ = ts_at(lo)
        f.seek(start)
        with open(dst, "wb") as o:
            shutil.copyfileobj(f, o, 1 << 20)


def replay_with_restarts(ctx, telemetry, phase, tag, stop_at=None):
    """
    Confidence-mode replays, restarting in `phase` after each rollback; returns every window (each judged in `phase`).
    With stop_at (a window start), no restart after a rollback at or after it: the rest is judged from the values only.
    """
    windows, part, n = [], telemetry, 0
    while True:
        lines = ctx.replay(part, phase, ctx.conf_policy, f"{tag}-{n}")
        rb = next((i for i, w in enumerate(lines) if w["rollback_required"]), None)
        done = rb is None or rb == len(lines) - 1 or (stop_at is not None and lines[rb]["window_start"] >= stop_at)
        windows += lines if rb is None or done else lines[: rb + 1]
        if part != telemetry:
            os.remove(part)
        if done:
            return windows
        n += 1
        nxt = os.path.join(ctx.work, f"{tag}-part{n}.jsonl")
        cut_after(telemetry, nxt, datetime.fromisoformat(lines[rb]["window_end"]))
        part = nxt


def healthy(ctx, phase, seed, days):
    tag = f"healthy-{phase}-{seed}"
    f = os.path.join(ctx.work, tag + ".jsonl")
    ctx.cli("generate", "--out", f, "--hours", str(24 * days), "--rate", str(RATES[phase]), "--seed", str(seed))
    try:
        ws = replay_with_restarts(ctx, f, phase, tag)
        conf = sum(w["rollback_required"] for w in ws)
        point = sum(ctx.point_violation(w, phase) for w in ws)
        check = None
        if seed == 1:  # the CLI in point mode on day 1 must roll back exactly where the rule says
            day1 = os.path.join(ctx.work, tag + "-day1.jsonl")
            with open(f, encoding="utf-8") as src, open(day1, "w", encoding="utf-8") as dst:
                end = (START + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                for line in src:
                    if json.loads(line)["ts"] >= end:
                        break
                    dst.write(line)
            cli = ctx.replay(day1, phase, ctx.point_policy, tag + "-point")
            os.remove(day1)
            first_cli = next((w["window_start"] for w in cli if w["rollback_required"]), None)
            first_rule = next((w["window_start"] for w in ws[:96] if ctx.point_violation(w, phase)), None)
            check = first_cli == first_rule
        return {"phase": phase, "seed": seed, "windows": len(ws), "confidence": conf, "point": point, "point_check": check,
                "confidence_warn_not_significant": sum(
                    any(m.get("reason") == "not_significant" for m in (w.get("gate") or {}).get("metrics", {}).values()) for w in ws)}
    finally:
        os.remove(f)


def incident(ctx, phase, kind, seed):
    tag = f"inc-{phase}-{kind}-{seed}"
    f = os.path.join(ctx.work, tag + ".jsonl")
    spec = f"{PRE_MIN}:{INC_MIN}:3:-" if kind == "latency" else f"{PRE_MIN}:{INC_MIN}:1:{3 * ctx.slo[phase]['error_rate_pct'] / 100:g}"
    ctx.cli("generate", "--out", f, "--hours", str((PRE_MIN + INC_MIN) / 60), "--rate", str(RATES[phase]), "--seed", str(seed),
            "--incident", spec)
    try:
        first_inc = PRE_MIN // 15
        inc_start = (START + timedelta(minutes=PRE_MIN)).isoformat()
        ws = replay_with_restarts(ctx, f, phase, tag, stop_at=inc_start)
        def delay(flag):
            for i, w in enumerate(ws[first_inc:], start=1):
                if flag(w):
                    return i
            return None  # missed within the incident
        conf = delay(lambda w: w["rollback_required"] and w["phase"] == phase)
        point = delay(lambda w: ctx.point_violation(w, phase))
        pre_conf = sum(w["rollback_required"] for w in ws[:first_inc])
        check = None
        if seed == 1:
            cli = ctx.replay(f, phase, ctx.point_policy, tag + "-point")
            first_cli = next((w["window_start"] for w in cli if w["rollback_required"]), None)
            first_rule = next((w["window_start"] for w in ws if ctx.point_violation(w, phase)), None)
            check = first_cli == first_rule
        return {"phase": phase, "kind": kind, "seed": seed, "confidence": conf, "point": point,
                "confidence_pre_incident_rollbacks": pre_conf, "point_check": check}
    finally:
        os.remove(f)


def table(healthy_rows, incident_rows, days, seeds, inc_seeds):
    out = [f"False rollbacks per {days} days of healthy telemetry (one figure per seed, seeds 1-{seeds}):", "",
           "| phase | rate (saves/s) | `point` | `confidence` |", "|---|---|---|---|"]
    for phase in "ABC":
        rs = sorted((r for r in healthy_rows if r["phase"] == phase), key=lambda r: r["seed"])
        out.append(f"| {phase} | {RATES[phase]} | {' / '.join(str(r['point']) for r in rs)} | "
                   f"{' / '.join(str(r['confidence']) for r in rs)} |")
    out += ["", f"Detection delay in windows (1 = the incident's first window; {inc_seeds} seeds per row; "
            "'missed' = not within the 8 incident windows):", "",
            "| phase | incident | `point`: within 2 windows | `point`: delays | `confidence`: within 2 windows | `confidence`: delays |",
            "|---|---|---|---|---|---|"]
    for phase in "ABC":
        for kind, label in (("latency", "latency x3"), ("errors", "error ratio 3x threshold")):
            rs = [r for r in incident_rows if r["phase"] == phase and r["kind"] == kind]
            def cell(mode):
                ds = [r[mode] for r in rs]
                within = sum(1 for d in ds if d is not None and d <= 2)
                hist = {}
                for d in ds:
                    hist[d if d is not None else "missed"] = hist.get(d if d is not None else "missed", 0) + 1
                spread = ", ".join(f"{k}: {v}" for k, v in sorted(hist.items(), key=lambda kv: (kv[0] == "missed", str(kv[0]).zfill(3))))
                return f"{within}/{len(ds)} ({100 * within / max(1, len(ds)):.0f} %)", spread
            p, c = cell("point"), cell("confidence")
            out.append(f"| {phase} | {label} | {p[0]} | {p[1]} | {c[0]} | {c[1]} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dll", default=None)
    ap.add_argument("--work", default="/tmp/measure-gates")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--incident-seeds", type=int, default=20)
    ap.add_argument("--skip-healthy", action="store_true")
    ap.add_argument("--skip-incidents", action="store_true")
    ap.add_argument("--out", default=None, help="also write the table (and the raw rows as JSON next to it)")
    a = ap.parse_args()
    if a.dll is None:
        import glob
        a.dll = sorted(glob.glob(os.path.join(REPO, "functions/AutoSaveRollout.Host/bin/*/net*/autosave-rollout.dll")))[0]
    os.makedirs(a.work, exist_ok=True)
    ctx = Ctx(a)
    t0 = time.time()
    jobs = []
    with cf.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        if not a.skip_incidents:
            jobs += [ex.submit(incident, ctx, p, k, s) for p in "ABC" for k in ("latency", "errors")
                     for s in range(1, a.incident_seeds + 1)]
        if not a.skip_healthy:
            jobs += [ex.submit(healthy, ctx, p, s, a.days) for p in "CBA" for s in range(1, a.seeds + 1)]
        rows = []
        for j in cf.as_completed(jobs):
            r = j.result()
            rows.append(r)
            print(json.dumps(r), file=sys.stderr, flush=True)
    hr = [r for r in rows if "windows" in r]
    ir = [r for r in rows if "kind" in r]
    bad = [r for r in rows if r.get("point_check") is False]
    text = table(hr, ir, a.days, a.seeds, a.incident_seeds)
    text += f"\n\nMeasured with tests/scripts/measure-gates.py in {(time.time() - t0) / 60:.0f} min ({a.jobs} jobs)."
    if bad:
        text += f"\nPOINT-MODE CHECK FAILED for {len(bad)} runs: {bad}"
    print(text)
    if a.out:
        open(a.out, "w", encoding="utf-8").write(text + "\n")
        json.dump(rows, open(a.out + ".json", "w", encoding="utf-8"), indent=1)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
