#!/usr/bin/env python3
"""Independent reference implementation of the AutoSave rollout window metrics and SLO gates.

Written from the task specification only (not from the C# code), using the Python standard library plus PyYAML
(only to read policy.yaml), so that the C# pipeline can be cross-checked against it.

Usage:
  python3 tests/reference/reference_metrics.py --telemetry <file|folder> --phase A [--policy policy.yaml] [--latency 0]

Prints one JSON object per 15-minute UTC window on stdout (see WINDOW FIELDS below). Rejected lines whose ts could
not be read (prefix "unplaceable:") and rejections outside the window range are reported on stderr, as is every
placeable rejection (prefix "rejected:", with its window).

Rules implemented (from the spec):
  * Input: JSONL; blank / whitespace-only lines skipped (not rejected); a UTF-8 BOM at the start of a file stripped;
    CRLF accepted. A folder is read as all *.jsonl files in name order.
  * A line is rejected if it is not a JSON object, lacks event_id / ts / event or one of them is not a string, ts is
    not RFC 3339 (date, 'T', time, optional fraction, 'Z' or +hh:mm/-hh:mm offset), a present known field has the
    wrong type (event_id/ts/event/error_code: string; duration_ms: number - booleans are not numbers - finite and
    >= 0 on completed events; retryable: boolean; null counts as a wrong type), an autosave.save.completed event
    lacks duration_ms, or an autosave.save.error event lacks retryable. JSON NaN/Infinity constants are not JSON.
    Unknown event names are ignored (neither counted nor rejected).
  * Window = floor(ts in UTC to 15 minutes). Within a window a repeated event_id among accepted events is dropped
    (first in file order wins) and counted in `duplicates`.
  * Windows run from the window of the earliest accepted event to that of the latest, empty windows included.
  * p95_s: type-7 (linear, "inclusive") 95th percentile of completed duration_ms / 1000; one value -> that value.
    error_rate_pct = 100 * errors / (completed + errors). history_drift = mean drift count over the current window
    and up to 3 previous windows of the same phase segment. collector_latency_s = --latency.
  * Gates per metric: violation if value > T; else warn if value >= warn_ratio * T (never for drift); else ok.
    completed + errors < min_samples -> p95 and error rate inconclusive; p95 also inconclusive with no completed
    save; error rate null/inconclusive with zero total. Status: violation > warn > inconclusive > ok.
    rollback_required = (status == violation); after a violation later windows use the previous phase
    (C->B, B->A, A->off); in 'off' status is 'off', rollback_required false, values still computed.

  * Gate mode (rollout.gate.mode, default "confidence"; "point" = the rules above). In confidence mode, with
    alpha = 1 - rollout.gate.confidence (default 0.95): error rate is tested with n = completed + errors, x = errors,
    p0 = T/100; P95 with n = completed, k = durations (s) strictly > T, p0 = 0.05; p = P(X >= x | Binomial(n, p0)),
    exact. Three look-backs in the current phase segment, pooled: this window, the last 4, the last 24 windows
    (those that exist; empty windows count with zero saves). A look-back with completed + errors < min_samples is
    not tested. violation if some tested look-back has x/n > p0 and p < alpha/3; else inconclusive as in point mode;
    else warn (reason not_significant) if the window's value > T, warn if >= warn_ratio * T, else ok. Drift and
    collector latency as in point mode.

WINDOW FIELDS: window_start, phase, p95_s, error_rate_pct, history_drift, collector_latency_s, status,
rollback_required, completed, errors, drift_events, rejected, duplicates, gates (per-metric status; extra field),
and in confidence mode `confidence`: per metric (save_p95_s, error_rate_pct) the look-backs [{look_back, n, count,
p_value (null when not tested), significant}], `decided_by` and `reason`.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import statistics
import sys

COMPLETED = "autosave.save.completed"
ERROR = "autosave.save.error"
DRIFT = "autosave.history.drift"
KNOWN_EVENTS = (COMPLETED, ERROR, DRIFT)
WINDOW_SECONDS = 15 * 60
PHASES = ("A", "B", "C")
STEP_BACK = {"C": "B", "B": "A", "A": "off", "off": "off"}

DEFAULT_POLICY = {
    "warn_ratio": 0.8,
    "min_samples": 50,
    "gate_mode": "confidence",
    "confidence": 0.95,
    "phases": {
        "A": {"save_p95_s": 2.5, "error_rate_pct": 1.0, "history_drift": 0.0, "collector_latency_s": 180.0},
        "B": {"save_p95_s": 2.0, "error_rate_pct": 0.5, "history_drift": 0.0, "collector_latency_s": 120.0},
        "C": {"save_p95_s": 1.8, "error_rate_pct": 0.3, "history_drift": 0.0, "collector_latency_s": 120.0},
    },
}

RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


class Rejected(Exception):
    """A line is invalid; `ts` is the parsed UTC timestamp when it could be read, else None."""

    def __init__(self, reason: str, ts: dt.datetime | None = None):
        super().__init__(reason)
        self.reason = reason
        self.ts = ts


def parse_rfc3339(text: str) -> dt.datetime | None:
    """RFC 3339 date-time -> aware UTC datetime, or None when malformed / out of range."""
    m = RFC3339.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac = m.group(7)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0  # truncation never crosses a whole-second boundary
    zone = m.group(8)
    if zone in ("Z", "z"):
        offset = dt.timedelta(0)
    else:
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            return None
        offset = dt.timedelta(hours=oh, minutes=om)
        if zone[0] == "-":
            offset = -offset
    try:
        local = dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=dt.timezone(offset))
    except ValueError:  # month 13, Feb 30, hour 24, second 60 ...
        return None
    return local.astimezone(dt.timezone.utc)


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def window_of(ts: dt.datetime) -> dt.datetime:
    """Start of the aligned 15-minute UTC window containing ts (exact integer arithmetic)."""
    seconds = (ts - EPOCH) // dt.timedelta(seconds=1)
    return EPOCH + dt.timedelta(seconds=seconds - seconds % WINDOW_SECONDS)


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_line(text: str) -> dict | None:
    """Returns the event dict for a valid known event, None for an ignored unknown event, raises Rejected."""
    try:
        obj = json.loads(text, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise Rejected(f"not JSON ({exc.__class__.__name__})")
    if not isinstance(obj, dict):
        raise Rejected(f"not a JSON object ({type(obj).__name__})")

    ts = None
    raw_ts = obj.get("ts")
    if isinstance(raw_ts, str):
        ts = parse_rfc3339(raw_ts)

    for field in ("event_id", "ts", "event"):
        if field not in obj:
            raise Rejected(f"missing {field}", ts)
        if not isinstance(obj[field], str):
            raise Rejected(f"{field} is not a string", ts)
    if ts is None:
        raise Rejected(f"ts is not RFC 3339: {raw_ts!r}")

    if "error_code" in obj and not isinstance(obj["error_code"], str):
        raise Rejected("error_code is not a string", ts)
    if "retryable" in obj and not isinstance(obj["retryable"], bool):
        raise Rejected("retryable is not a boolean", ts)
    if "duration_ms" in obj:
        d = obj["duration_ms"]
        if not is_number(d):
            raise Rejected("duration_ms is not a number", ts)
        if not math.isfinite(float(d)):
            raise Rejected("duration_ms is not finite", ts)

    event = obj["event"]
    if event == COMPLETED:
        if "duration_ms" not in obj:
            raise Rejected("completed event without duration_ms", ts)
        if obj["duration_ms"] < 0:
            raise Rejected("negative duration_ms", ts)
    elif event == ERROR:
        if "retryable" not in obj:
            raise Rejected("error event without retryable", ts)
    elif event not in KNOWN_EVENTS:
        return None
    return {"event_id": obj["event_id"], "ts": ts, "event": event, "duration_ms": obj.get("duration_ms")}


def telemetry_files(path: str) -> list[str]:
    if os.path.isdir(path):
        return [os.path.join(path, n) for n in sorted(os.listdir(path)) if n.endswith(".jsonl")]
    return [path]


def read_events(paths: list[str]):
    """Yields (source, line_number, event | Rejected | None) for every non-blank line, in file order."""
    for path in paths:
        with open(path, "rb") as fh:
            data = fh.read()
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        for number, raw in enumerate(data.split(b"\n"), start=1):
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield path, number, Rejected("not UTF-8")
                continue
            if text.strip() == "":
                continue
            try:
                yield path, number, parse_line(text)
            except Rejected as rej:
                yield path, number, rej


def load_policy(path: str | None) -> dict:
    policy = json.loads(json.dumps(DEFAULT_POLICY))
    if path is None:
        return policy
    import yaml  # PyYAML, only for reading the policy file

    with open(path, "r", encoding="utf-8-sig") as fh:
        doc = yaml.safe_load(fh) or {}
    rollout = doc.get("rollout") or {}
    if "warn_ratio" in rollout:
        policy["warn_ratio"] = float(rollout["warn_ratio"])
    if "min_samples" in rollout:
        policy["min_samples"] = int(rollout["min_samples"])
    gate_spec = rollout.get("gate") or {}
    if "mode" in gate_spec:
        policy["gate_mode"] = str(gate_spec["mode"])
    if "confidence" in gate_spec:
        policy["confidence"] = float(gate_spec["confidence"])
    for phase, spec in (rollout.get("phases") or {}).items():
        slo = (spec or {}).get("slo") or {}
        for key in ("save_p95_s", "error_rate_pct", "history_drift", "collector_latency_s"):
            if key in slo:
                policy["phases"][str(phase)][key] = float(slo[key])
    return policy


def p95(values: list[float]) -> float:
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def binomial_upper_tail(n: int, x: int, p: float) -> float:
    """P(X >= x), X ~ Binomial(n, p): the smaller of the two tails summed term by term from log-gamma pmf values."""
    if x <= 0:
        return 1.0
    if x > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)

    def log_pmf(k):
        return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q

    def tail_sum(ks):
        # sum exp(log_pmf(k)) over ks, relative to the first (largest) term; stops once terms are negligible
        first = None
        total = 0.0
        for k in ks:
            lp = log_pmf(k)
            if first is None:
                first = lp
            term = math.exp(lp - first)
            total += term
            if term < 1e-17 * total:
                break
        return total * math.exp(first) if first is not None else 0.0

    mean = n * p
    if x > mean:  # upper tail: terms decrease from x upwards
        return min(1.0, tail_sum(range(x, n + 1)))
    # lower tail P(X <= x-1): terms decrease from x-1 downwards
    return max(0.0, 1.0 - tail_sum(range(x - 1, -1, -1)))


LOOK_BACKS = (("15m", 1), ("1h", 4), ("6h", 24))


def confidence_tests(history: list[dict], key_n: str, key_x: str, p0: float, min_samples: int, alpha: float) -> dict:
    """The three look-back tests of one metric; `history` = counts of the phase segment's windows, oldest first."""
    tests = []
    for name, count in LOOK_BACKS:
        pooled = history[-count:]
        saves = sum(h["saves"] for h in pooled)
        n = sum(h[key_n] for h in pooled)
        x = sum(h[key_x] for h in pooled)
        tested = saves >= min_samples and n > 0
        p_value = binomial_upper_tail(n, x, p0) if tested else None
        significant = tested and x > p0 * n and p_value < alpha / 3
        tests.append({"look_back": name, "n": n, "count": x, "p_value": p_value, "significant": significant})
    best = min((t for t in tests if t["significant"]), key=lambda t: t["p_value"], default=None)
    return {"tests": tests, "decided_by": best["look_back"] if best else None}


def confidence_gate(value, threshold: float, warn_ratio: float, conclusive: bool, evidence: dict) -> str:
    evidence["reason"] = None
    if evidence["decided_by"] is not None:
        return "violation"
    if not conclusive or value is None:
        return "inconclusive"
    if value > threshold:
        evidence["reason"] = "not_significant"
        return "warn"
    return "warn" if value >= warn_ratio * threshold else "ok"


def gate(value, threshold: float, warn_ratio: float, warn_allowed: bool = True) -> str:
    if value is None:
        return "inconclusive"
    if value > threshold:
        return "violation"
    if warn_allowed and value >= warn_ratio * threshold:
        return "warn"
    return "ok"


def compute(paths: list[str], start_phase: str, policy: dict, latency: float, err=sys.stderr) -> list[dict]:
    windows: dict[dt.datetime, dict] = {}
    rejected_at: dict[dt.datetime, int] = {}
    seen_ids: dict[dt.datetime, set] = {}

    def bucket(w):
        return windows.setdefault(w, {"durations": [], "completed": 0, "errors": 0, "drift": 0, "duplicates": 0})

    for source, number, item in read_events(paths):
        if isinstance(item, Rejected):
            if item.ts is None:
                print(f"unplaceable: {source}:{number}: {item.reason}", file=err)
            else:
                w = window_of(item.ts)
                rejected_at[w] = rejected_at.get(w, 0) + 1
                print(f"rejected: {source}:{number}: {w:%Y-%m-%dT%H:%M:%SZ}: {item.reason}", file=err)
            continue
        if item is None:
            continue
        w = window_of(item["ts"])
        b = bucket(w)
        ids = seen_ids.setdefault(w, set())
        if item["event_id"] in ids:
            b["duplicates"] += 1
            continue
        ids.add(item["event_id"])
        if item["event"] == COMPLETED:
            b["completed"] += 1
            b["durations"].append(float(item["duration_ms"]))
        elif item["event"] == ERROR:
            b["errors"] += 1
        else:
            b["drift"] += 1

    if not windows:
        for w, n in sorted(rejected_at.items()):
            print(f"rejected outside window range: {w:%Y-%m-%dT%H:%M:%SZ}: {n}", file=err)
        return []

    first, last = min(windows), max(windows)
    for w, n in sorted(rejected_at.items()):
        if w < first or w > last:
            print(f"rejected outside window range: {w:%Y-%m-%dT%H:%M:%SZ}: {n}", file=err)

    rows = []
    phase = start_phase
    segment: list[int] = []  # drift counts of the current phase segment
    counts: list[dict] = []  # confidence mode: saves / errors / completed / slower-than-T counts of the segment
    segment_phase = None
    w = first
    while w <= last:
        b = windows.get(w) or {"durations": [], "completed": 0, "errors": 0, "drift": 0, "duplicates": 0}
        if phase != segment_phase:
            segment, counts, segment_phase = [], [], phase
        segment.append(b["drift"])
        recent = segment[-4:]
        total = b["completed"] + b["errors"]
        p95_s = p95(b["durations"]) / 1000.0 if b["durations"] else None
        error_rate = 100.0 * b["errors"] / total if total else None
        drift = sum(recent) / len(recent)

        thresholds = policy["phases"].get(phase)
        confidence = None
        if thresholds is None:  # off
            gates = {"save_p95_s": "off", "error_rate_pct": "off", "history_drift": "off", "collector_latency_s": "off"}
            status = "off"
        elif policy.get("gate_mode", "confidence") == "confidence":
            wr = policy["warn_ratio"]
            enough = total >= policy["min_samples"]
            slower = sum(1 for d in b["durations"] if d / 1000.0 > thresholds["save_p95_s"])
            counts.append({"saves": total, "errors": b["errors"], "completed": b["completed"], "slower": slower})
            alpha = 1.0 - policy["confidence"]
            err_ev = confidence_tests(counts, "saves", "errors", thresholds["error_rate_pct"] / 100.0, policy["min_samples"], alpha)
            p95_ev = confidence_tests(counts, "completed", "slower", 0.05, policy["min_samples"], alpha)
            gates = {
                "save_p95_s": confidence_gate(p95_s, thresholds["save_p95_s"], wr, enough and p95_s is not None, p95_ev),
                "error_rate_pct": confidence_gate(error_rate, thresholds["error_rate_pct"], wr, enough and error_rate is not None, err_ev),
                "history_drift": gate(drift, thresholds["history_drift"], wr, warn_allowed=False),
                "collector_latency_s": gate(latency, thresholds["collector_latency_s"], wr),
            }
            values = gates.values()
            status = next((s for s in ("violation", "warn", "inconclusive") if s in values), "ok")
            confidence = {"save_p95_s": p95_ev, "error_rate_pct": err_ev}
        else:
            wr = policy["warn_ratio"]
            enough = total >= policy["min_samples"]
            gates = {
                "save_p95_s": gate(p95_s if enough else None, thresholds["save_p95_s"], wr),
                "error_rate_pct": gate(error_rate if enough else None, thresholds["error_rate_pct"], wr),
                "history_drift": gate(drift, thresholds["history_drift"], wr, warn_allowed=False),
                "collector_latency_s": gate(latency, thresholds["collector_latency_s"], wr),
            }
            values = gates.values()
            status = next((s for s in ("violation", "warn", "inconclusive") if s in values), "ok")

        rows.append({
            "window_start": w.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "phase": phase,
            "p95_s": p95_s,
            "error_rate_pct": error_rate,
            "history_drift": drift,
            "collector_latency_s": latency,
            "status": status,
            "rollback_required": status == "violation",
            "completed": b["completed"],
            "errors": b["errors"],
            "drift_events": b["drift"],
            "rejected": rejected_at.get(w, 0),
            "duplicates": b["duplicates"],
            "gates": gates,
        })
        if confidence is not None:
            rows[-1]["confidence"] = confidence
        if status == "violation":
            phase = STEP_BACK[phase]
        w += dt.timedelta(seconds=WINDOW_SECONDS)
    return rows


def main(argv: list[str] | None = None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    default_policy = os.path.normpath(os.path.join(here, "..", "..", "policy.yaml"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--telemetry", required=True, help="JSONL file or folder of *.jsonl files")
    ap.add_argument("--phase", required=True, choices=["A", "B", "C", "off"], help="phase in effect at the first window")
    ap.add_argument("--policy", default=default_policy if os.path.exists(default_policy) else None,
                    help="policy.yaml (default: the repository's policy.yaml; built-in defaults if absent)")
    ap.add_argument("--latency", type=float, default=0.0, help="collector_latency_s for every window (default 0)")
    args = ap.parse_args(argv)

    policy = load_policy(args.policy)
    rows = compute(telemetry_files(args.telemetry), args.phase, policy, args.latency)
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
