"""What listing audit runs costs in the MLflow UI: `runs/search` before and after the lean record.

    nice -n 19 .venv/bin/python benchmarks/bench_tracking.py [--runs 20] [--n 20000]
        [--n-boot 200] [--intersections 2] [--repeats 5] [--out FILE]

Starts a real `mlflow server` (SQLite backend, proxied artifacts, one worker; the helper of
bench_load.py) on a free port of 127.0.0.1, then logs `--runs` audits into each of two experiments:
one with `tracking.metrics: all` (every flattened figure, the record before issue 12) and one with
the default `lean` record. The audits are those of bench_load.py (the shipped ONNX model, a
synthetic population of `--n` people, 4 attributes and their pairs, two rules), run in this
process with `audit.pipeline.run_audit`, the seed differing per audit.

Then, for each experiment, the request the MLflow UI sends to list an experiment's runs,
`POST /api/2.0/mlflow/runs/search` with `max_results` 20, `--repeats` times: the median wall time
and the size of the response body, metrics per run, and the ratios before/after. Not part of the
test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

# MLflow's telemetry thread sets and unsets an environment variable that its HTTP requests read:
# now and then a request fails on the race. Nothing of it is measured here.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from bench_load import MODEL, mlflow_server  # noqa: E402

from audit.pipeline import run_audit  # noqa: E402
from audit.spec import parse_spec  # noqa: E402


def spec_text(name: str, seed: int, uri: str, mode: str, out: Path, args: Any) -> str:
    document = {
        "name": name,
        "data": {"synthetic": {"scenario": "no_bias", "n": args.n, "seed": seed}},
        "model": {"uri": str(MODEL)},
        "outcome": "job_28d_6m",
        "decision": {"threshold": 0.5},
        "attributes": [
            {"column": "mental_health_history", "reference": "False"},
            {"column": "housing_status", "reference": "stable"},
            {"column": "digital_literacy", "reference": "high"},
            "gender",
        ],
        "intersections": args.intersections,
        "statistics": {"n_boot": args.n_boot, "seed": seed},
        "policy": {
            "rules": [
                {"id": "equal-opportunity", "metric": "tpr", "kind": "difference", "max_abs": 0.1},
                {"id": "four-fifths", "metric": "selection_rate", "kind": "ratio", "min": 0.8},
            ],
        },
        "tracking": {"uri": uri, "experiment": f"bench-tracking-{mode}", "metrics": mode},
        "report": {"dir": str(out / name), "junit": False},
    }
    return yaml.safe_dump(document, sort_keys=False)


@dataclass
class Listing:
    mode: str
    runs: int
    metrics_per_run: float
    seconds: float
    bytes: int
    log_seconds: float


def search(url: str, experiment_id: str) -> tuple[float, int, dict[str, Any]]:
    body = json.dumps({"experiment_ids": [experiment_id], "max_results": 20}).encode()
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/runs/search",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        content = response.read()
    return time.perf_counter() - started, len(content), json.loads(content)


def measure(url: str, mode: str, args: Any, out: Path) -> Listing:
    quiet = Console(file=io.StringIO())
    log_seconds = []
    experiment_id = ""
    for i in range(args.runs):
        text = spec_text(f"{mode}-{i:02d}", 100 + i, url, mode, out, args)
        outcome = run_audit(parse_spec(text), spec_text=text, console=quiet)
        log_seconds.append(outcome.timings.get("logging to MLflow", 0.0))
        from mlflow import MlflowClient

        experiment_id = MlflowClient(url).get_run(outcome.run_id or "").info.experiment_id
        print(f"  {mode} audit {i + 1}/{args.runs} logged", file=sys.stderr)
    search(url, experiment_id)  # warm the server's caches once
    times, size, answer = [], 0, {}
    for _ in range(args.repeats):
        seconds, size, answer = search(url, experiment_id)
        times.append(seconds)
    runs = answer.get("runs", [])
    per_run = statistics.mean(len(r["data"].get("metrics", [])) for r in runs) if runs else 0
    return Listing(
        mode, len(runs), per_run, statistics.median(times), size, statistics.median(log_seconds)
    )


def report(before: Listing, after: Listing, args: Any) -> str:
    lines = [
        f"`runs/search` (max_results 20) over {args.runs} audit runs per experiment on a real "
        f"`mlflow server` (SQLite, 1 worker); audits of {args.n:,} people, 4 attributes, "
        f"intersections {args.intersections}, {args.n_boot} replicates; median of "
        f"{args.repeats} requests",
        "",
        "| record | runs listed | metrics per run | response | time | logging per audit |",
        "|---|---|---|---|---|---|",
    ]
    for x in (before, after):
        lines.append(
            f"| {x.mode} | {x.runs} | {x.metrics_per_run:,.0f} | {x.bytes / 1e6:.2f} MB "
            f"| {x.seconds:.3f} s | {x.log_seconds:.2f} s |"
        )
    lines += [
        "",
        f"- metrics per run: {before.metrics_per_run / max(after.metrics_per_run, 1):.1f}x fewer",
        f"- response size: {before.bytes / max(after.bytes, 1):.1f}x smaller",
        f"- response time: {before.seconds / max(after.seconds, 1e-9):.1f}x faster",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--intersections", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the table here (markdown)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        server = stack.enter_context(mlflow_server(folder / "server", 1))
        before = measure(server.url, "all", args, folder / "reports")
        after = measure(server.url, "lean", args, folder / "reports")
    text = report(before, after, args)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
