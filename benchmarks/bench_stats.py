"""Benchmark of the statistics core against numpy, fairlearn and aif360 on the same data.

    .venv/bin/python benchmarks/bench_stats.py [--sizes 1e5 1e6 1e7] [--n-boot 1000] [--quick]

Data: three sensitive attributes (5, 3 and 3 levels, pandas categoricals), binary y_true and
y_pred (int8), every intersection (7 groupings, 45 + 15 + 15 + 9 + 5 + 3 + 3 = 95 groups).
Measured, each the best of a few repeats unless the run is long:

1. Point estimates: our `assess(n_boot=0, intersections=3)`, and its counting step alone, against a
   single `np.bincount` over precomputed joint codes (group × y_true × y_pred), at the largest size.
2. Bootstrap: `assess(n_boot=B)` minus `assess(n_boot=0)`, and the bare resample + metric step,
   at every size (its cost should not depend on the number of rows).
3. fairlearn `MetricFrame`, one per grouping, with selection rate, TPR, FPR and count (a subset of
   what we compute, which favours fairlearn); and with `n_boot`/`ci_quantiles`/`random_state` on
   small tables, extrapolated linearly to 10^6 rows × B replicates.
4. aif360 `ClassificationMetric`: disparate impact, statistical parity, equal opportunity and
   average odds differences for every non-reference group against our reference group.
5. Peak memory of `assess` (tracemalloc, in a fresh subprocess) over the size of the input columns.

A tool whose predicted time at a size exceeds `--budget` seconds is not run there; its time is
extrapolated from the smaller sizes (a linear fit a + b·n) and marked "(extrapolated)".
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import platform
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from audit.metrics.definitions import confusion_metrics  # noqa: E402
from audit.stats.assess import assess  # noqa: E402
from audit.stats.bootstrap import resample  # noqa: E402
from audit.stats.counts import count_groups  # noqa: E402
from audit.stats.encoding import encode_table  # noqa: E402

ATTRIBUTES = ("region", "age_band", "disability")
LEVELS = {
    "region": ("centre", "east", "north", "south", "west"),
    "age_band": ("25-49", "50+", "<25"),
    "disability": ("0", "1", "2"),
}
GROUPINGS = [c for r in (1, 2, 3) for c in itertools.combinations(ATTRIBUTES, r)]
SHARES = {"region": [0.1, 0.15, 0.35, 0.25, 0.15], "age_band": [0.5, 0.3, 0.2]}
SHARES["disability"] = [0.7, 0.2, 0.1]


# -- data ------------------------------------------------------------------------------------
def make_data(n: int, seed: int = 0) -> pd.DataFrame:
    """The same table for every tool. Built in int8 chunks so that building it leaves no
    high-water mark above the table itself (the memory measurement runs after it)."""
    rng = np.random.default_rng(seed)
    codes = {a: np.empty(n, dtype=np.int8) for a in ATTRIBUTES}
    y_true = np.empty(n, dtype=np.int8)
    y_pred = np.empty(n, dtype=np.int8)
    chunk = 1 << 20
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        rows = slice(start, start + m)
        for a in ATTRIBUTES:
            codes[a][rows] = rng.choice(len(LEVELS[a]), m, p=SHARES[a]).astype(np.int8)
        # Rates that differ by group, so disparities are not all zero.
        tilt = codes["region"][rows] * 0.03 + codes["age_band"][rows] * 0.02
        y_true[rows] = rng.random(m) < 0.3 + tilt
        y_pred[rows] = rng.random(m) < np.where(y_true[rows] == 1, 0.6 - tilt, 0.2 + tilt / 2)
    frame = {a: pd.Categorical.from_codes(codes[a], categories=list(LEVELS[a])) for a in ATTRIBUTES}
    return pd.DataFrame({**frame, "y_true": y_true, "y_pred": y_pred})


def input_bytes(data: pd.DataFrame) -> int:
    return int(data.memory_usage(index=False, deep=True).sum())


def joint_codes(data: pd.DataFrame) -> np.ndarray:
    """group × y_true × y_pred cell of each row, as the platform integer bincount takes."""
    cell = np.zeros(len(data), dtype=np.intp)
    for a in ATTRIBUTES:
        cell *= len(LEVELS[a])
        cell += data[a].cat.codes.to_numpy()
    cell *= 4
    cell += data["y_true"].to_numpy() * 2
    cell += data["y_pred"].to_numpy()
    return cell


# -- timing ----------------------------------------------------------------------------------
def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


@dataclass
class Timing:
    seconds: float
    extrapolated: bool = False

    def __str__(self) -> str:
        return f"{fmt_seconds(self.seconds)}{' (extrapolated)' if self.extrapolated else ''}"


@dataclass
class Scaling:
    """Measured times of one tool by size, with a linear fit for the sizes it cannot finish."""

    name: str
    budget: float
    measured: dict[int, float] = field(default_factory=dict)

    def predict(self, n: int) -> float | None:
        sizes = sorted(self.measured)
        if not sizes:
            return None
        if len(sizes) == 1:
            return self.measured[sizes[0]] * n / sizes[0]
        n1, n2 = sizes[-2], sizes[-1]
        slope = (self.measured[n2] - self.measured[n1]) / (n2 - n1)
        slope = max(slope, 0.0)
        return self.measured[n2] + slope * (n - n2)

    def run(self, n: int, fn: Callable[[], object], *, must_run: bool = False) -> Timing:
        predicted = self.predict(n)
        if not must_run and predicted is not None and predicted > self.budget:
            return Timing(predicted, extrapolated=True)
        start = time.perf_counter()
        fn()
        self.measured[n] = time.perf_counter() - start
        return Timing(self.measured[n])


def fmt_seconds(s: float) -> str:
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{s / 60:.1f} min"
    if s >= 1:
        return f"{s:.2f} s"
    return f"{s * 1000:.1f} ms"


def fmt_ratio(r: float) -> str:
    return f"{r:,.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def fmt_rows(n: int) -> str:
    e = round(float(np.log10(n)))
    return f"10^{e}" if 10**e == n else f"{n:,}"


# -- our core --------------------------------------------------------------------------------
def run_assess(data: pd.DataFrame, n_boot: int):  # type: ignore[no-untyped-def]
    return assess(
        data,
        y_true="y_true",
        y_pred="y_pred",
        groups=list(ATTRIBUTES),
        intersections=3,
        n_boot=n_boot,
        seed=0,
    )


def resample_and_metrics(counts, n_boot: int) -> None:  # type: ignore[no-untyped-def]
    """The bootstrap's own work: one multinomial draw of the joint counts, then every metric of
    every grouping for every replicate (no intervals, tests or result records)."""
    boot = resample(
        counts.n,
        counts.w,
        n_boot=n_boot,
        rng=np.random.default_rng(0),
        kind="multinomial",
        group_axes=len(counts.attributes),
    )
    for keep in range(1, len(ATTRIBUTES) + 1):
        for combo in itertools.combinations(range(len(ATTRIBUTES)), keep):
            marginal = counts.marginal(boot, combo, lead=1)
            confusion_metrics(marginal.reshape(n_boot, -1, 2, 2))


# -- fairlearn -------------------------------------------------------------------------------
def fairlearn_point(data: pd.DataFrame, **bootstrap: object) -> None:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    metrics = {
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "count": count,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for grouping in GROUPINGS:
            MetricFrame(
                metrics=metrics,
                y_true=data["y_true"],
                y_pred=data["y_pred"],
                sensitive_features=data[list(grouping)],
                **bootstrap,  # type: ignore[arg-type]
            )


def fairlearn_bootstrap(data: pd.DataFrame, n_boot: int) -> None:
    fairlearn_point(data, n_boot=n_boot, ci_quantiles=[0.025, 0.975], random_state=0)


# -- aif360 ----------------------------------------------------------------------------------
def aif360_comparisons(
    data: pd.DataFrame, references: dict[tuple[str, ...], tuple[str, ...]]
) -> int:
    """The four aif360 disparities of every non-reference group; returns how many groups."""
    logging.disable(logging.WARNING)  # aif360 logs one warning per missing optional extra
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import ClassificationMetric

    done = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for grouping in GROUPINGS:
            frame = pd.DataFrame({a: data[a].cat.codes.astype(float) for a in grouping})
            frame["y"] = data["y_true"].astype(float)
            truth = BinaryLabelDataset(
                df=frame, label_names=["y"], protected_attribute_names=list(grouping)
            )
            decided = truth.copy()
            decided.labels = data["y_pred"].to_numpy(dtype=float).reshape(-1, 1)
            code = {a: {lv: float(i) for i, lv in enumerate(LEVELS[a])} for a in grouping}
            reference = references[grouping]
            privileged = [{a: code[a][lv] for a, lv in zip(grouping, reference, strict=True)}]
            for levels in itertools.product(*(LEVELS[a] for a in grouping)):
                if levels == reference:
                    continue
                metric = ClassificationMetric(
                    truth,
                    decided,
                    unprivileged_groups=[
                        {a: code[a][lv] for a, lv in zip(grouping, levels, strict=True)}
                    ],
                    privileged_groups=privileged,
                )
                metric.disparate_impact()
                metric.statistical_parity_difference()
                metric.equal_opportunity_difference()
                metric.average_odds_difference()
                done += 1
    return done


# -- memory (in a fresh process) -------------------------------------------------------------
def memory_child(n: int, n_boot: int) -> None:
    data = make_data(n)
    size = input_bytes(data)
    tracemalloc.start()
    run_assess(data, n_boot)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"input_bytes": size, "peak_bytes": peak}))


def measure_memory(n: int, n_boot: int) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(n), "--n-boot", str(n_boot)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the run ---------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=None, help="row counts")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates (ours)")
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds one external tool may take per size"
    )
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is not None:
        memory_child(args.memory_child, args.n_boot)
        return

    quick = args.quick
    sizes = sorted(int(s) for s in (args.sizes or ([1e5, 1e6] if quick else [1e5, 1e6, 1e7])))
    budget = args.budget if args.budget is not None else (8.0 if quick else 120.0)
    n_boot = args.n_boot
    repeat = 2 if quick else 3
    fl_boot_plan = [(10**3, 2), (10**4, 2)] if quick else [(10**4, 10), (10**5, 2)]
    target_rows = 10**6

    print(
        f"bench_stats: sizes {[fmt_rows(n) for n in sizes]}, {n_boot} replicates, "
        f"budget {budget:.0f} s per external tool and size"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}"
    )
    print(
        "data: 3 attributes (5, 3, 3 levels, categoricals), int8 y_true / y_pred, "
        "7 groupings, 95 groups\n"
    )

    fl = Scaling("fairlearn", budget)
    aif = Scaling("aif360", budget)
    rows: list[dict[str, str]] = []
    ours_point: dict[int, float] = {}
    ours_boot_total: dict[int, float] = {}
    bincount_ratio = None
    for n in sizes:
        data = make_data(n)
        encoded = encode_table(data, y_true="y_true", y_pred="y_pred", groups=list(ATTRIBUTES))
        counts = count_groups(encoded)
        cells = joint_codes(data)
        t_bincount = best_of(lambda c=cells: np.bincount(c, minlength=45 * 4), repeat + 2)
        t_encode = best_of(
            lambda d=data: encode_table(
                d, y_true="y_true", y_pred="y_pred", groups=list(ATTRIBUTES)
            ),
            repeat,
        )
        t_count = best_of(lambda e=encoded: count_groups(e), repeat)
        t_point = best_of(lambda d=data: run_assess(d, 0), repeat)
        t_boot = best_of(lambda d=data: run_assess(d, n_boot), repeat)
        t_resample = best_of(lambda c=counts: resample_and_metrics(c, n_boot), repeat)
        ours_point[n], ours_boot_total[n] = t_point, t_boot
        result = run_assess(data, 0)
        references = {g.attributes: g.levels for g in result.groups if g.is_reference}
        t_fl = fl.run(n, lambda d=data: fairlearn_point(d), must_run=n == sizes[0])
        t_aif = aif.run(
            n, lambda d=data, r=references: aif360_comparisons(d, r), must_run=n == sizes[0]
        )
        row = {
            "rows": fmt_rows(n),
            "bincount": fmt_seconds(t_bincount),
            "encode": fmt_seconds(t_encode),
            "count_groups": fmt_seconds(t_count),
            "assess n_boot=0": fmt_seconds(t_point),
            f"assess n_boot={n_boot}": fmt_seconds(t_boot),
            "bootstrap cost": fmt_seconds(max(t_boot - t_point, 0.0)),
            "resample+metrics": fmt_seconds(t_resample),
            "fairlearn point": str(t_fl),
            "fairlearn/ours": fmt_ratio(t_fl.seconds / t_point),
            "aif360": str(t_aif),
            "aif360/ours": fmt_ratio(t_aif.seconds / t_point),
        }
        rows.append(row)
        print("  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        if n == max(sizes):
            bincount_ratio = (
                t_count / t_bincount,
                (t_encode + t_count) / t_bincount,
                t_point / t_bincount,
                n,
            )
        del data, encoded, cells

    print("\n## Times (best of", repeat, "runs for ours; one run for fairlearn and aif360)\n")
    print(markdown_table(rows))

    print("\n## Ratios\n")
    c_ratio, ec_ratio, p_ratio, n_max = bincount_ratio  # type: ignore[misc]
    print(
        f"- at {fmt_rows(n_max)} rows, against one np.bincount over precomputed joint codes "
        "(target: within 3×):"
    )
    print(f"  - count_groups/bincount = {fmt_ratio(c_ratio)}")
    print(f"  - (encode + count_groups)/bincount = {fmt_ratio(ec_ratio)}")
    print(
        f"  - assess(n_boot=0)/bincount = {fmt_ratio(p_ratio)} "
        "(everything: validation, counting, 12 metrics × 95 groups, disparities, intervals, "
        "tests, records)"
    )
    boot_costs = {n: max(ours_boot_total[n] - ours_point[n], 0.0) for n in sizes}
    print(
        f"- bootstrap cost for {n_boot} replicates (assess n_boot={n_boot} minus n_boot=0; "
        "target: independent of rows, < 1 s at 10^7): "
        + ", ".join(f"{fmt_rows(n)}: {fmt_seconds(s)}" for n, s in boot_costs.items())
    )

    # fairlearn with bootstrap, extrapolated to 10^6 rows × n_boot replicates.
    per_replicate: dict[int, float] = {}
    for n, b in fl_boot_plan:
        d = make_data(n)
        t_point_small = best_of(lambda d=d: fairlearn_point(d), 1)
        start = time.perf_counter()
        fairlearn_bootstrap(d, b)
        elapsed = time.perf_counter() - start
        per_replicate[n] = max(elapsed - t_point_small, 0.0) / b
        print(
            f"- fairlearn MetricFrame n_boot={b} at {fmt_rows(n)} rows (7 groupings): "
            f"{fmt_seconds(elapsed)}, {fmt_seconds(per_replicate[n])} per replicate"
        )
    fit = Scaling("fairlearn bootstrap", float("inf"), per_replicate)
    replicate_1e6 = fit.predict(target_rows) or float("nan")
    point_1e6 = fl.measured.get(target_rows, fl.predict(target_rows) or float("nan"))
    fl_boot_1e6 = point_1e6 + n_boot * replicate_1e6
    ours_1e6 = ours_boot_total.get(target_rows)
    if ours_1e6 is None:
        d = make_data(target_rows)
        ours_1e6 = best_of(lambda d=d: run_assess(d, n_boot), repeat)
    print(
        f"- fairlearn MetricFrame n_boot={n_boot} at 10^6 rows: "
        f"{fmt_seconds(fl_boot_1e6)} (extrapolated linearly from the per-replicate cost at "
        f"{', '.join(fmt_rows(n) for n in per_replicate)} rows; "
        f"{'measured' if target_rows in fl.measured else 'extrapolated'} point estimate "
        f"{fmt_seconds(point_1e6)})"
    )
    print(
        f"  ours assess(n_boot={n_boot}) at 10^6 rows: {fmt_seconds(ours_1e6)} -> "
        f"fairlearn/ours = {fmt_ratio(fl_boot_1e6 / ours_1e6)} (target ≥ 100×)"
    )
    for n in sizes:
        t = fl.measured.get(n)
        label = "measured" if t is not None else "extrapolated"
        t = t if t is not None else fl.predict(n) or float("nan")
        print(
            f"- fairlearn/ours point estimates at {fmt_rows(n)}: {fmt_ratio(t / ours_point[n])}"
            f" ({label})"
        )
    for n in sizes:
        t = aif.measured.get(n)
        label = "measured" if t is not None else "extrapolated"
        t = t if t is not None else aif.predict(n) or float("nan")
        print(f"- aif360/ours at {fmt_rows(n)}: {fmt_ratio(t / ours_point[n])} ({label})")

    for nb in (0, n_boot):
        mem = measure_memory(max(sizes), nb)
        print(
            f"- peak memory of assess(n_boot={nb}) at {fmt_rows(max(sizes))} rows: "
            f"{mem['peak_bytes'] / 1e6:.0f} MB for {mem['input_bytes'] / 1e6:.0f} MB of input "
            f"columns = {fmt_ratio(mem['peak_bytes'] / mem['input_bytes'])} (target < 2×; "
            "tracemalloc, fresh process)"
        )


def markdown_table(rows: list[dict[str, str]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(r[k] for k in keys) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
