"""Unit tests of bench/bench.py's arithmetic (`make test-bench`): the bootstrap interval printed
beside each ratio, and what it says of the suite's target. Rows are made here as `measure`
makes them: the runs of the batch (t1_all) and of its double (t2_all), in seconds, and the
batch's records."""

from __future__ import annotations

import random
import statistics
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402  (the path above)


def row(single: list[float], double: list[float], records: int = 100, **extra) -> dict:
    return {"t1_all": single, "t2_all": double, "records": records, **extra}


def point_ratio(py: dict, rs: dict) -> float:
    def margin(r: dict) -> float:
        return statistics.median(r["t2_all"]) - statistics.median(r["t1_all"])
    return margin(py) / margin(rs)


def noisy(rng: random.Random, base: float, spread: float, n: int) -> list[float]:
    """`n` process times of `base` seconds plus load that only adds time, up to `spread`."""
    return [base + rng.random() * spread for _ in range(n)]


class RatioInterval(unittest.TestCase):
    def test_interval_is_the_ratio_itself_when_no_run_varies(self):
        # The reference: 1 ms a record at the margin; dasp: 0.1 ms. Sides swapped would give 0.1.
        py = row([0.5] * 21, [0.6] * 21, suite="0x0178", events_per_record=1)
        rs = row([0.01] * 41, [0.02] * 41)
        low, high = bench.ratio_interval(py, rs)
        self.assertAlmostEqual(low, 10.0)
        self.assertAlmostEqual(high, 10.0)

    def test_interval_holds_the_measured_ratio_and_widens_with_the_noise(self):
        rng = random.Random(7)
        widths = []
        for spread in (0.005, 0.05):
            py = row(noisy(rng, 0.5, spread, 41), noisy(rng, 0.6, spread, 41),
                     suite="0x0178", events_per_record=5)
            rs = row(noisy(rng, 0.010, spread / 50, 101), noisy(rng, 0.015, spread / 50, 101))
            low, high = bench.ratio_interval(py, rs)
            self.assertLessEqual(low, point_ratio(py, rs))
            self.assertGreaterEqual(high, point_ratio(py, rs))
            widths.append(high - low)
        self.assertGreater(widths[1], 3 * widths[0])

    def test_the_same_rows_give_the_same_interval(self):
        rng = random.Random(1)
        py = row(noisy(rng, 0.5, 0.1, 21), noisy(rng, 0.6, 0.1, 21), suite="0x0378",
                 events_per_record=50)
        rs = row(noisy(rng, 0.01, 0.002, 41), noisy(rng, 0.02, 0.002, 41))
        self.assertEqual(bench.ratio_interval(py, rs), bench.ratio_interval(py, rs))

    def test_no_interval_from_fewer_than_five_runs_a_side(self):
        py = row([0.5] * 4, [0.6] * 21)
        rs = row([0.01] * 41, [0.02] * 41)
        self.assertIsNone(bench.ratio_interval(py, rs))

    def test_a_draw_without_a_dasp_margin_counts_as_unbounded(self):
        # dasp's batch and double take the same time: every draw's margin is zero.
        py = row([0.5] * 21, [0.6] * 21)
        rs = row([0.01] * 41, [0.01] * 41)
        self.assertEqual(bench.interval_text(bench.ratio_interval(py, rs)), "∞")


class Verdict(unittest.TestCase):
    def test_a_target_is_met_only_when_the_whole_interval_reaches_it(self):
        self.assertEqual(bench.verdict("0178", (20.0, 25.0)), "≥ 20x: met")
        self.assertEqual(bench.verdict("0178", (19.9, 25.0)), "≥ 20x: undecided")
        self.assertEqual(bench.verdict("0178", (14.5, 19.9)), "≥ 20x: not met")
        self.assertEqual(bench.verdict("0378", (5.0, 5.8)), "≥ 5x: met")
        self.assertEqual(bench.verdict("0378", [4.9, None]), "≥ 5x: undecided")

    def test_the_other_engines_of_a_suite_share_its_target(self):
        # The table's rows are labelled `0x0178 sqlserver`; markdown() looks the suite up by
        # the row's engine.
        rows = []
        for engine, interval in (("sqlserver", [14.0, 19.0]), ("oracle", [5.1, 6.0])):
            suite = bench.ENGINE_SUITES[engine]
            label = bench.suite_label(suite, engine)
            common = {"suite": label, "engine": engine, "events_per_record": 1,
                      "records": 100, "batch_bytes": 1000, "runs": 41}
            rows.append({**common, "config": "py", "margin_us_per_record": 1000.0})
            rows.append({**common, "config": "rust", "margin_us_per_record": 100.0,
                         "ratio_interval": interval})
        table = bench.markdown(rows, [], [])
        self.assertIn("| 0x0178 sqlserver | 1 |", table)
        self.assertIn("14.0–19.0x | ≥ 20x: not met |", table)
        self.assertIn("5.1–6.0x | ≥ 5x: met |", table)

    def test_no_verdict_without_a_target_or_a_bounded_interval(self):
        self.assertEqual(bench.verdict("0999", (30.0, 40.0)), "–")
        self.assertEqual(bench.verdict("0178", None), "–")
        self.assertEqual(bench.verdict("0178", [None, None]), "–")


class FloorTable(unittest.TestCase):
    @staticmethod
    def rows(with_floor: bool, floor_margin: float = 90.0) -> list[dict]:
        common = {"suite": "0x0178", "engine": "postgresql", "events_per_record": 50,
                  "records": 40, "batch_bytes": 1000, "runs": 101}
        rows = [{**common, "config": "py", "margin_us_per_record": 1800.0},
                {**common, "config": "rust", "margin_us_per_record": 100.0,
                 "ratio_interval": [16.0, 19.5]}]
        if with_floor:
            rows.append({**common, "config": "floor", "margin_us_per_record": floor_margin,
                         "ratio_interval": [18.0, 22.0]})
        return rows

    def test_gives_the_floor_against_dasp_and_the_reference_against_the_floor(self):
        table = bench.markdown(self.rows(with_floor=True), [], [])
        # The floor's margin, dasp's, dasp's fraction of the floor (floor ÷ dasp), then the
        # reference ÷ the floor (1800 / 90), its interval and what that says of the target.
        self.assertIn("| 0x0178 | 50 | 90.0 µs | 100.0 µs | **90%** | **20.0x** | "
                      "18.0–22.0x | ≥ 20x: undecided |", table)
        self.assertIn("101 runs), and the reference against it", table)

    def test_gives_no_fraction_or_ratio_for_a_floor_margin_lost_in_the_noise(self):
        table = bench.markdown(self.rows(with_floor=True, floor_margin=-3.0), [], [])
        self.assertIn("| 0x0178 | 50 | -3.0 µs | 100.0 µs | – | – | 18.0–22.0x |", table)

    def test_is_left_out_of_results_without_the_floors_runs(self):
        table = bench.markdown(self.rows(with_floor=False), [], [])
        self.assertNotIn("The floor as a whole process", table)
        self.assertIn("| 0x0178 | 50 |", table)


class IntervalText(unittest.TestCase):
    def test_spells_bounded_unbounded_and_missing_intervals(self):
        self.assertEqual(bench.interval_text((19.54, 25.66)), "19.5–25.7x")
        self.assertEqual(bench.interval_text([3.0, None]), "3.0x–∞")
        self.assertEqual(bench.interval_text((3.0, float("inf"))), "3.0x–∞")
        self.assertEqual(bench.interval_text(None), "–")

    def test_rounds_outwards_so_an_interval_never_looks_narrower(self):
        self.assertEqual(bench.interval_text((4.96, 5.81)), "4.9–5.9x")
        self.assertEqual(bench.interval_text((19.9, 29.55)), "19.9–29.6x")
        self.assertEqual(bench.interval_text((20.0, 20.0)), "20.0–20.0x")


if __name__ == "__main__":
    unittest.main()
