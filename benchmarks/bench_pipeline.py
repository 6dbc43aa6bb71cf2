"""Benchmark of the whole `audit run` flow, against fairlearn, aif360 and MLflow's fluent API.

All on the same decisions, in the same run:

    .venv/bin/python benchmarks/bench_pipeline.py [--sizes 100000 1000000] [--repeat 3]
        [--max-seconds 120] [--out FILE]

The audit is `examples/shipped-onnx.yaml` at each size: the shipped ONNX model
(`models/profiling_reference.onnx`) on a synthetic `no_bias` population, 4 attributes
(mental_health_history, housing_status, digital_literacy, gender) and their pairs
(`intersections: 2`, 10 groupings), 1,000 bootstrap replicates, two threshold rules, logged to a
fresh SQLite MLflow store in a temporary folder. Measured at each size:

1. `run_audit` (the `audit run` command without its argument parsing), `--repeat` times, median:
   every step's time, the total, and how many metrics it logs.
2. On the same decisions table (rebuilt with the same steps): our statistics step (n_boot=1000)
   and `assess` with n_boot=0, against fairlearn `MetricFrame` point estimates (selection rate,
   TPR, FPR, precision; no bootstrap) as one frame over the 4-way intersection and as one frame
   per attribute and per pair (our 10 groupings), and against aif360 `ClassificationMetric`
   (disparate impact, statistical parity, equal opportunity and average odds differences of every
   non-reference level of the 4 attributes against our reference level).
3. The audit's metrics logged by our `AuditRun.log_metrics` (`log_batch` in batches of 1,000)
   against `mlflow.log_metrics(dict)` (fluent API) in new runs of the same store, median.

Before an external tool runs at a size it is timed on the first hundredth and tenth of the rows;
when the linear fit a + b·n through the two largest smaller samples predicts more than
`--max-seconds`, it is skipped at that size and the fitted time is reported, marked
"(extrapolated)". External tools run once per size; ours run `--repeat` times (median).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import functools
import io
import itertools
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_stats import Timing, fmt_ratio, fmt_rows, fmt_seconds, markdown_table  # noqa: E402

from audit.pipeline import AuditOutcome, run_audit  # noqa: E402
from audit.spec import AuditSpec, parse_spec  # noqa: E402
from audit.stats.result import Assessment  # noqa: E402
from audit.steps.data import load_data  # noqa: E402
from audit.steps.decisions import DECISION, OUTCOME, decide  # noqa: E402
from audit.steps.model import obtain_model  # noqa: E402
from audit.steps.statistics import assess_decisions  # noqa: E402
from audit.tracking.naming import flatten_metrics  # noqa: E402
from audit.tracking.runs import client_for, ensure_experiment, open_audit_run  # noqa: E402

MODEL = ROOT / "models" / "profiling_reference.onnx"
ATTRIBUTES = ("mental_health_history", "housing_status", "digital_literacy", "gender")
GROUPINGS = [c for r in (1, 2) for c in itertools.combinations(ATTRIBUTES, r)]
# Step names as `run_audit` times them, by the start of their label.
STEPS = {
    "data": "data",
    "model": "model",
    "decisions": "decisions",
    "statistics": "statistics",
    "MLflow logging": "logging to MLflow",
}
LOGGING_EXPERIMENT = "bench-pipeline/logging"
MIN_SAMPLE = 100  # smallest sample an external tool is timed on for the extrapolation


# -- the audit -------------------------------------------------------------------------------
def spec_document(n: int, workdir: Path) -> dict[str, Any]:
    """examples/shipped-onnx.yaml at `n` people, with pairs, logging to a store in `workdir`."""
    return {
        "name": "bench-pipeline",
        "data": {"synthetic": {"scenario": "no_bias", "n": n, "seed": 5}},
        "model": {"uri": str(MODEL)},
        "outcome": "job_28d_6m",
        "decision": {"threshold": 0.5},
        "attributes": [
            {"column": "mental_health_history", "reference": "False"},
            {"column": "housing_status", "reference": "stable"},
            {"column": "digital_literacy", "reference": "high"},
            "gender",
        ],
        "intersections": 2,
        "statistics": {"n_boot": 1000, "seed": 5},
        "policy": {
            "evidence": "interval",
            "rules": [
                {"id": "equal-opportunity", "metric": "tpr", "kind": "difference", "max_abs": 0.1},
                {"id": "four-fifths", "metric": "selection_rate", "kind": "ratio", "min": 0.8},
            ],
        },
        "tracking": {"uri": f"sqlite:///{workdir}/mlflow.db"},
        "report": {"dir": str(workdir / "report")},
    }


def build_spec(n: int, workdir: Path) -> tuple[AuditSpec, str]:
    text = yaml.safe_dump(spec_document(n, workdir), sort_keys=False)
    return parse_spec(text, source="bench_pipeline"), text


def quiet_console() -> Console:
    return Console(file=io.StringIO())


@dataclass
class PipelineFigures:
    """Median step times of `run_audit` over the repeats, and what the last run produced."""

    steps: dict[str, float]
    total: float
    n_metrics: int
    assessment: Assessment


def step_times(timings: Mapping[str, float]) -> dict[str, float]:
    """`run_audit`'s timings keyed by the short step names of `STEPS`."""
    out = {}
    for short, prefix in STEPS.items():
        out[short] = sum(s for name, s in timings.items() if name.startswith(prefix))
    return out


def timed_audit(spec: AuditSpec, text: str) -> tuple[AuditOutcome, float]:
    start = time.perf_counter()
    outcome = run_audit(spec, spec_text=text, console=quiet_console())
    return outcome, time.perf_counter() - start


def measure_pipeline(spec: AuditSpec, text: str, repeat: int) -> PipelineFigures:
    runs = [timed_audit(spec, text) for _ in range(repeat)]
    steps = [step_times(outcome.timings) for outcome, _ in runs]
    assessment = runs[-1][0].assessment
    return PipelineFigures(
        steps={k: statistics.median(s[k] for s in steps) for k in STEPS},
        total=statistics.median(seconds for _, seconds in runs),
        n_metrics=len(flatten_metrics(assessment)),
        assessment=assessment,
    )


def create_store(uri: str) -> float:
    """Creates the fresh store (schema migrations) before the timed runs; returns the seconds."""
    start = time.perf_counter()
    client_for(uri)
    return time.perf_counter() - start


# -- ours on the decisions table ---------------------------------------------------------------
def decisions_table(spec: AuditSpec) -> pd.DataFrame:
    """The decisions table `run_audit` assesses, rebuilt with the same steps."""
    data = load_data(spec)
    model = obtain_model(spec, data.train, None).model
    return decide(spec, model, data.audited)


def onnxruntime_alone(spec: AuditSpec, repeat: int) -> tuple[float, float]:
    """onnxruntime's own `InferenceSession.run` on the input arrays already prepared, median of
    `repeat`: asking for the probabilities only (what the decisions step needs), and for the
    labels and probabilities. The floor of the decisions step."""
    data = load_data(spec)
    model = obtain_model(spec, data.train, None).model
    runner = model.runner  # type: ignore[attr-defined]  # the shipped ONNX model
    feed = runner.feed(data.audited)
    session, names = runner._session, list(runner.output_names)
    proba_only = median_seconds(lambda: session.run(names[1:], feed), repeat)
    both = median_seconds(lambda: session.run(names, feed), repeat)
    return proba_only, both


def with_n_boot(spec: AuditSpec, n_boot: int) -> AuditSpec:
    return spec.model_copy(
        update={"statistics": spec.statistics.model_copy(update={"n_boot": n_boot})}
    )


def references(assessment: Assessment) -> dict[str, str]:
    """The reference level of each attribute, as our assessment chose it."""
    return {
        g.attributes[0]: g.levels[0]
        for g in assessment.groups
        if g.is_reference and len(g.attributes) == 1
    }


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    return statistics.median(seconds_of(fn) for _ in range(repeat))


def seconds_of(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- external tools --------------------------------------------------------------------------
@dataclass(frozen=True)
class ToolInput:
    """What every external tool gets: the decisions table, its outcome and decision as int8
    arrays (made once, outside the timings) and our reference level of each attribute."""

    table: pd.DataFrame
    y_true: np.ndarray
    y_pred: np.ndarray
    reference: Mapping[str, str]

    @classmethod
    def of(cls, table: pd.DataFrame, reference: Mapping[str, str]) -> ToolInput:
        y_true = table[OUTCOME].to_numpy().astype(np.int8)
        y_pred = table[DECISION].to_numpy().astype(np.int8)
        return cls(table, y_true, y_pred, reference)

    def head(self, n: int) -> ToolInput:
        return ToolInput(self.table.iloc[:n], self.y_true[:n], self.y_pred[:n], self.reference)


def fairlearn_frames(labels: ToolInput, groupings: list[tuple[str, ...]]) -> None:
    """One `MetricFrame` per grouping, point estimates only."""
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import precision_score

    metrics = {
        "selection_rate": selection_rate,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "precision": functools.partial(precision_score, zero_division=0),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for grouping in groupings:
            MetricFrame(
                metrics=metrics,
                y_true=labels.y_true,
                y_pred=labels.y_pred,
                sensitive_features=labels.table[list(grouping)],
            )


def import_aif360() -> None:
    logging.disable(logging.WARNING)  # aif360 logs one warning per missing optional extra
    try:
        import aif360.metrics  # noqa: F401
    finally:
        logging.disable(logging.NOTSET)


def aif360_attributes(labels: ToolInput) -> int:
    """aif360's four disparities of every non-reference level of each attribute; returns how
    many comparisons were made."""
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import ClassificationMetric

    reference = labels.reference
    done = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for attribute in ATTRIBUTES:
            levels = pd.Categorical(labels.table[attribute].astype(str))
            frame = pd.DataFrame({attribute: levels.codes.astype(float), "y": labels.y_true})
            truth = BinaryLabelDataset(
                df=frame, label_names=["y"], protected_attribute_names=[attribute]
            )
            decided = truth.copy()
            decided.labels = labels.y_pred.astype(float).reshape(-1, 1)
            names = list(levels.categories)
            privileged = [{attribute: float(names.index(reference[attribute]))}]
            for code, level in enumerate(names):
                if level == reference[attribute]:
                    continue
                metric = ClassificationMetric(
                    truth,
                    decided,
                    unprivileged_groups=[{attribute: float(code)}],
                    privileged_groups=privileged,
                )
                metric.disparate_impact()
                metric.statistical_parity_difference()
                metric.equal_opportunity_difference()
                metric.average_odds_difference()
                done += 1
    return done


@dataclass
class Budgeted:
    """One external tool's times by row count. Timed first on a hundredth and a tenth of the rows;
    a size whose fitted time exceeds the budget is skipped and reported as extrapolated."""

    name: str
    budget: float
    run: Callable[[ToolInput], object]
    measured: dict[int, float] = field(default_factory=dict)

    def predict(self, n: int) -> float:
        sizes = sorted(s for s in self.measured if s < n)[-2:]
        if not sizes:  # too small to sample: run it
            return 0.0
        if len(sizes) == 1:
            return self.measured[sizes[0]] * n / sizes[0]
        n1, n2 = sizes
        slope = max((self.measured[n2] - self.measured[n1]) / (n2 - n1), 0.0)
        return self.measured[n2] + slope * (n - n2)

    def time(self, labels: ToolInput) -> Timing:
        n = len(labels.table)
        for small in (n // 100, n // 10):
            if small >= MIN_SAMPLE and small not in self.measured:
                sample = labels.head(small)
                self.measured[small] = seconds_of(functools.partial(self.run, sample))
        predicted = self.predict(n)
        if predicted > self.budget:
            print(
                f"skipped: {self.name} at {fmt_rows(n)} rows, predicted {fmt_seconds(predicted)} "
                f"> --max-seconds {self.budget:g}; extrapolated from "
                f"{', '.join(fmt_rows(s) for s in sorted(self.measured) if s < n)} rows",
                flush=True,
            )
            return Timing(predicted, extrapolated=True)
        self.measured[n] = seconds_of(lambda: self.run(labels))
        return Timing(self.measured[n])


def installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


# -- MLflow logging --------------------------------------------------------------------------
def ours_logging(uri: str, metrics: Mapping[str, float]) -> float:
    """`AuditRun.log_metrics` in a new run of the store; returns the seconds of the call."""
    with open_audit_run(uri, experiment=LOGGING_EXPERIMENT, run_name="ours", tags={}) as run:
        return seconds_of(lambda: run.log_metrics(metrics))


def fluent_logging(uri: str, metrics: Mapping[str, float]) -> float:
    """`mlflow.log_metrics(dict)` in a new run of the same store and experiment."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    experiment_id = ensure_experiment(client_for(uri), uri, LOGGING_EXPERIMENT)
    with mlflow.start_run(experiment_id=experiment_id, run_name="fluent"):
        return seconds_of(lambda: mlflow.log_metrics(dict(metrics)))


def compare_logging(uri: str, metrics: Mapping[str, float], repeat: int) -> tuple[float, float]:
    """Median seconds of ours and of the fluent API, taking turns at going first so that both
    see the same store."""
    ours, fluent = [], []
    for i in range(repeat):
        if i % 2:
            fluent.append(fluent_logging(uri, metrics))
        ours.append(ours_logging(uri, metrics))
        if not i % 2:
            fluent.append(fluent_logging(uri, metrics))
    return statistics.median(ours), statistics.median(fluent)


# -- one size --------------------------------------------------------------------------------
@dataclass
class Tools:
    """The external tools with their timings across sizes (for the extrapolation)."""

    fairlearn_4way: Budgeted | None
    fairlearn_groupings: Budgeted | None
    aif360: Budgeted | None


def make_tools(budget: float) -> Tools:
    fairlearn = installed("fairlearn") is not None
    aif = installed("aif360") is not None
    if not fairlearn:
        print("skipped: fairlearn is not installed")
    if aif:
        import_aif360()
    else:
        print("skipped: aif360 is not installed")
    return Tools(
        fairlearn_4way=Budgeted(
            "fairlearn MetricFrame (4-way intersection)",
            budget,
            lambda labels: fairlearn_frames(labels, [ATTRIBUTES]),
        )
        if fairlearn
        else None,
        fairlearn_groupings=Budgeted(
            "fairlearn MetricFrame × 10 groupings",
            budget,
            lambda labels: fairlearn_frames(labels, GROUPINGS),
        )
        if fairlearn
        else None,
        aif360=Budgeted("aif360 ClassificationMetric", budget, aif360_attributes) if aif else None,
    )


def pipeline_row(n: int, figures: PipelineFigures, store_seconds: float) -> dict[str, str]:
    other = figures.total - sum(figures.steps.values())
    return {
        "people": fmt_rows(n),
        **{name: fmt_seconds(s) for name, s in figures.steps.items()},
        "other": fmt_seconds(other),
        "total": fmt_seconds(figures.total),
        "metrics logged": f"{figures.n_metrics:,}",
        "new store (not in total)": fmt_seconds(store_seconds),
    }


def comparison_row(n: int, what: str, ours: float, theirs: Timing | None) -> dict[str, str]:
    return {
        "people": fmt_rows(n),
        "comparison (other / ours)": what,
        "ours": fmt_seconds(ours),
        "other": str(theirs) if theirs is not None else "skipped: not installed",
        "ratio": fmt_ratio(theirs.seconds / ours) if theirs is not None else "–",
    }


def bench_size(
    n: int, repeat: int, tools: Tools, workdir: Path
) -> tuple[dict[str, str], list[dict[str, str]]]:
    spec, text = build_spec(n, workdir)
    uri = spec.tracking.uri
    store_seconds = create_store(uri)
    figures = measure_pipeline(spec, text, repeat)
    row = pipeline_row(n, figures, store_seconds)
    print("audit run: " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    ort_proba, ort_both = onnxruntime_alone(spec, repeat)
    step = figures.steps["decisions"]
    print(
        f"decisions step {fmt_seconds(step)}; onnxruntime InferenceSession.run on the prepared "
        f"arrays: probabilities only {fmt_seconds(ort_proba)} (decisions / run = "
        f"{step / ort_proba:.2f}x, target within 3x), labels and probabilities "
        f"{fmt_seconds(ort_both)}",
        flush=True,
    )

    table = decisions_table(spec)
    labels = ToolInput.of(table, references(figures.assessment))
    point_spec = with_n_boot(spec, 0)
    ours_point = median_seconds(lambda: assess_decisions(point_spec, table), repeat)
    ours_boot = figures.steps["statistics"]

    def timed(tool: Budgeted | None) -> Timing | None:
        return tool.time(labels) if tool is not None else None

    fl_groupings = timed(tools.fairlearn_groupings)
    fl_4way = timed(tools.fairlearn_4way)
    aif = timed(tools.aif360)
    ours_log, fluent_log = compare_logging(uri, flatten_metrics(figures.assessment), repeat)
    rows = [
        {
            "people": fmt_rows(n),
            "comparison (other / ours)": "our decisions step / onnxruntime `InferenceSession.run` "
            "on the prepared arrays (probabilities only)",
            "ours": fmt_seconds(step),
            "other": fmt_seconds(ort_proba),
            "ratio": fmt_ratio(step / ort_proba),
        },
        comparison_row(
            n,
            "fairlearn × 10 groupings (no bootstrap) / our statistics step (n_boot=1000)",
            ours_boot,
            fl_groupings,
        ),
        comparison_row(
            n, "fairlearn × 10 groupings / our assess n_boot=0", ours_point, fl_groupings
        ),
        comparison_row(
            n,
            "fairlearn 4-way intersection / our statistics step (n_boot=1000)",
            ours_boot,
            fl_4way,
        ),
        comparison_row(
            n, "fairlearn 4-way intersection / our assess n_boot=0", ours_point, fl_4way
        ),
        comparison_row(n, "aif360, 4 attributes / our assess n_boot=0", ours_point, aif),
        comparison_row(
            n,
            f"mlflow.log_metrics / our AuditRun.log_metrics ({figures.n_metrics:,} metrics)",
            ours_log,
            Timing(fluent_log),
        ),
    ]
    for comparison in rows:
        print("  " + "  ".join(f"{k}={v}" for k, v in comparison.items()), flush=True)
    return row, rows


# -- the run ---------------------------------------------------------------------------------
def environment() -> str:
    packages = ("numpy", "pandas", "mlflow", "onnxruntime", "fairlearn", "aif360")
    found = ", ".join(f"{p} {installed(p) or 'absent'}" for p in packages)
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, {found}"
    )


def report(
    args: argparse.Namespace, pipeline: list[dict[str, str]], comparisons: list[dict[str, str]]
) -> str:
    return "\n".join(
        [
            f"### `audit run` (median of {args.repeat} runs; seconds of each step)",
            "",
            markdown_table(pipeline),
            "",
            "### Same decisions table: other tools against ours",
            "",
            f"Ours: median of {args.repeat} runs; fairlearn and aif360: one run; MLflow "
            f"logging: median of {args.repeat} runs each. 'extrapolated': predicted over "
            f"{args.max_seconds:g} s, so fitted (a + b·n) on samples of a hundredth and a tenth "
            "of the rows.",
            "",
            markdown_table(comparisons),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6], help="people")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (median reported)")
    parser.add_argument(
        "--max-seconds", type=float, default=120.0, help="seconds an external tool may take"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes)

    print(f"bench_pipeline: sizes {[fmt_rows(n) for n in sizes]}, repeat {args.repeat}")
    print(environment() + "\n", flush=True)
    tools = make_tools(args.max_seconds)
    pipeline: list[dict[str, str]] = []
    comparisons: list[dict[str, str]] = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
            row, rows = bench_size(n, args.repeat, tools, Path(tmp))
        pipeline.append(row)
        comparisons += rows

    text = report(args, pipeline, comparisons)
    print("\n" + text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
