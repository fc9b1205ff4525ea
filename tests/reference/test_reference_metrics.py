"""Self-checks of the reference calculator (stdlib unittest): python3 -m unittest discover -s tests/reference -v"""
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_metrics as rm  # noqa: E402

POLICY = rm.load_policy(None)
POLICY["gate_mode"] = "point"  # these tests are about the point-estimate gate; confidence mode: class ConfidenceMode


def line(i, ts, event="autosave.save.completed", **fields):
    obj = {"event_id": f"e{i}", "ts": ts, "event": event}
    if event == "autosave.save.completed" and "duration_ms" not in fields:
        fields["duration_ms"] = 100.0
    if event == "autosave.save.error" and "retryable" not in fields:
        fields["retryable"] = True
    obj.update(fields)
    return json.dumps(obj)


class Base(unittest.TestCase):
    def run_lines(self, lines, phase="A", latency=0.0, raw=None):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.jsonl")
            with open(path, "wb") as fh:
                fh.write(raw if raw is not None else ("\n".join(lines) + "\n").encode())
            err = io.StringIO()
            rows = rm.compute([path], phase, POLICY, latency, err=err)
            return rows, err.getvalue()


class Percentile(Base):
    def test_type7(self):
        self.assertAlmostEqual(rm.p95([1, 2, 3, 4]), 3.85, places=12)  # h = 3 * 0.95 = 2.85
        self.assertAlmostEqual(rm.p95(list(range(1, 21))), 19.05, places=12)  # h = 18.05
        self.assertEqual(rm.p95([1234.5]), 1234.5)
        self.assertAlmostEqual(rm.p95([5, 1, 4, 2, 3]), 4.8, places=12)  # unsorted input; h = 3.8


class Parsing(Base):
    def test_rejections_and_acceptances(self):
        ts = "2026-11-20T10:00:01Z"
        raw = ("\ufeff" + line(1, ts) + "\r\n"  # BOM + CRLF: valid
               + "   \n\n"  # blank lines: skipped
               + line(2, ts, duration_ms=True) + "\n"  # bool is not a number
               + line(3, ts, duration_ms=-1) + "\n"
               + line(4, ts, "autosave.save.error", retryable="yes") + "\n"
               + json.dumps({"event_id": "e5", "ts": ts, "event": "autosave.save.error"}) + "\n"
               + line(6, ts, error_code=None) + "\n"  # null is a wrong type
               + '{"event_id":"e7","ts":"%s","event":"autosave.save.completed","duration_ms":NaN}\n' % ts
               + line(8, "2026-11-20t10:00:02z") + "\n"  # lowercase t/z are RFC 3339
               + line(9, ts, "autosave.save.started") + "\n"  # unknown: ignored
               + line(10, "2026-11-20T10:00:03") + "\n"  # no offset: unplaceable
               + line(11, ts, "autosave.history.drift") + "\n").encode()
        rows, err = self.run_lines(None, raw=raw)
        self.assertEqual(len(rows), 1)
        r = rows[0]
        self.assertEqual((r["completed"], r["errors"], r["drift_events"], r["rejected"]), (2, 0, 1, 5))
        self.assertEqual(err.count("unplaceable:"), 2)

    def test_duplicates_are_per_window_first_wins(self):
        rows, _ = self.run_lines([
            line(1, "2026-11-20T10:00:00Z", duration_ms=100),
            line(1, "2026-11-20T10:01:00Z", "autosave.save.error"),  # same id, same window: dropped
            line(1, "2026-11-20T10:15:00Z", duration_ms=300),  # same id, next window: kept
        ])
        self.assertEqual([(r["completed"], r["errors"], r["duplicates"]) for r in rows], [(1, 0, 1), (1, 0, 0)])

    def test_window_is_utc_floor_and_empty_windows_are_included(self):
        rows, _ = self.run_lines([line(1, "2026-11-20T11:14:59.999+01:00"), line(2, "2026-11-20T10:45:00Z")])
        self.assertEqual([r["window_start"] for r in rows],
                         ["2026-11-20T10:00:00Z", "2026-11-20T10:15:00Z", "2026-11-20T10:30:00Z", "2026-11-20T10:45:00Z"])
        self.assertEqual([r["completed"] for r in rows], [1, 0, 0, 1])
        self.assertEqual(rows[1]["p95_s"], None)
        self.assertEqual(rows[1]["error_rate_pct"], None)
        self.assertEqual(rows[1]["status"], "inconclusive")


class Gates(Base):
    def window(self, minute, durations, errors=0, drift=0, start=0):
        out, i = [], start
        for d in durations:
            i += 1
            out.append(line(i, f"2026-11-20T10:{minute:02d}:00Z", duration_ms=d))
        for _ in range(errors):
            i += 1
            out.append(line(i, f"2026-11-20T10:{minute:02d}:00Z", "autosave.save.error"))
        for _ in range(drift):
            i += 1
            out.append(line(i, f"2026-11-20T10:{minute:02d}:00Z", "autosave.history.drift"))
        return out

    def test_warn_from_ratio_times_threshold_and_violation_above_threshold(self):
        # 100 equal durations -> p95 equals that duration.
        rows, _ = self.run_lines(self.window(0, [2000.0] * 100) + self.window(15, [2500.0] * 100, start=1000)
                                 + self.window(30, [1999.0] * 100, start=2000))
        self.assertEqual([r["status"] for r in rows], ["warn", "warn", "ok"])  # 2.0 = 0.8 x 2.5 warns; 2.5 is not > 2.5

    def test_violation_steps_back_and_drift_mean_restarts_in_the_new_segment(self):
        lines = (self.window(0, [100.0] * 60, drift=0) + self.window(15, [100.0] * 60, drift=2, start=1000)
                 + self.window(30, [100.0] * 60, start=2000) + self.window(45, [100.0] * 60, start=3000))
        rows, _ = self.run_lines(lines, phase="B")
        self.assertEqual([r["phase"] for r in rows], ["B", "B", "A", "A"])
        self.assertEqual([r["history_drift"] for r in rows], [0.0, 1.0, 0.0, 0.0])
        self.assertEqual([r["status"] for r in rows], ["ok", "violation", "ok", "ok"])
        self.assertEqual([r["rollback_required"] for r in rows], [False, True, False, False])

    def test_off_after_violation_in_A(self):
        rows, _ = self.run_lines(self.window(0, [100.0] * 60, errors=5) + self.window(15, [9000.0] * 60, start=1000))
        self.assertEqual([(r["phase"], r["status"], r["rollback_required"]) for r in rows],
                         [("A", "violation", True), ("off", "off", False)])
        self.assertAlmostEqual(rows[1]["p95_s"], 9.0)

    def test_min_samples_makes_p95_and_errors_inconclusive_but_drift_still_counts(self):
        rows, _ = self.run_lines(self.window(0, [9000.0] * 10, errors=5))
        self.assertEqual(rows[0]["status"], "inconclusive")
        rows, _ = self.run_lines(self.window(0, [9000.0] * 10, drift=1))
        self.assertEqual(rows[0]["status"], "violation")
        self.assertEqual(rows[0]["gates"]["save_p95_s"], "inconclusive")

    def test_collector_latency_gate(self):
        ok = self.window(0, [100.0] * 60)
        self.assertEqual(self.run_lines(ok, latency=143.9)[0][0]["status"], "ok")
        self.assertEqual(self.run_lines(ok, latency=144)[0][0]["status"], "warn")
        self.assertEqual(self.run_lines(ok, latency=180.5)[0][0]["status"], "violation")


class Policy(unittest.TestCase):
    def test_repository_policy_matches_builtin_defaults(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.assertEqual(rm.load_policy(os.path.join(here, "..", "..", "policy.yaml")), rm.load_policy(None))


if __name__ == "__main__":
    unittest.main()


class ConfidenceMode(Base):
    # P(X >= x | Binomial(n, p)) references from exact rational arithmetic (fractions), independent of lgamma.
    @staticmethod
    def exact_tail(n, x, p):
        from fractions import Fraction
        from math import comb
        p = Fraction(p)
        return float(sum(comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(x, n + 1)))

    def test_binomial_tail_against_exact_fractions(self):
        for n, x, p in [(10, 3, "0.1"), (225, 7, "0.01"), (225, 3, "0.01"), (900, 20, "0.01"), (1350, 12, "0.005"), (400, 0, "0.05")]:
            from fractions import Fraction
            expected = self.exact_tail(n, x, Fraction(p))
            self.assertAlmostEqual(rm.binomial_upper_tail(n, x, float(Fraction(p))) / expected, 1.0, places=10, msg=(n, x, p))

    def run_conf(self, windows, phase="A"):
        # windows: list of (completed, errors) with all durations 100 ms, one window each, consecutive
        lines, i = [], 0
        for w, (completed, errors) in enumerate(windows):
            for j in range(completed + errors):
                i += 1
                ts = f"2026-11-20T{8 + w // 4:02d}:{(w % 4) * 15 + j * 14 // (completed + errors):02d}:00Z"
                lines.append(line(i, ts) if j < completed else line(i, ts, event="autosave.save.error"))
        policy = rm.load_policy(None)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.jsonl")
            with open(path, "w") as fh:
                fh.write("\n".join(lines) + "\n")
            return rm.compute([path], phase, policy, 0.0, err=io.StringIO())

    def test_noise_is_a_warn_and_a_sustained_excess_a_violation_of_the_hour(self):
        rows = self.run_conf([(222, 3)])
        self.assertEqual(rows[0]["status"], "warn")
        self.assertEqual(rows[0]["confidence"]["error_rate_pct"]["reason"], "not_significant")
        # 5/225 per window: the second window pools 10/450, p = 0.016573 < 0.05/3
        rows = self.run_conf([(220, 5)] * 2)
        self.assertEqual([r["status"] for r in rows], ["warn", "violation"])
        ev = rows[1]["confidence"]["error_rate_pct"]
        self.assertEqual(ev["decided_by"], "1h")
        self.assertEqual((ev["tests"][1]["n"], ev["tests"][1]["count"]), (450, 10))
        self.assertAlmostEqual(ev["tests"][1]["p_value"] / self.exact_tail(450, 10, __import__("fractions").Fraction(1, 100)), 1.0, places=10)
        # 4/225 per window: only the 6h look-back, pooling more than 4 windows, gets significant
        rows = self.run_conf([(221, 4)] * 8)
        first = next(i for i, r in enumerate(rows) if r["status"] == "violation")
        self.assertGreater(first, 3)
        self.assertEqual(rows[first]["confidence"]["error_rate_pct"]["decided_by"], "6h")

    def test_min_samples_per_look_back(self):
        rows = self.run_conf([(40, 0), (40, 0), (40, 0), (30, 10)])
        ev = rows[3]["confidence"]["error_rate_pct"]
        self.assertIsNone(ev["tests"][0]["p_value"])
        self.assertEqual(ev["decided_by"], "1h")
        self.assertEqual(rows[3]["status"], "violation")
