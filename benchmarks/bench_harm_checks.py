"""Power, false findings and case-flag precision of every harm check, on known truth.

    .venv/bin/python benchmarks/bench_harm_checks.py [--seeds 20] [--only H1]

For each trial of `audit.checks.known_truth.TRIALS`: the harm injected at its documented default
size (power: share of seeds with a finding), the same people with nothing injected (false-finding
rate), and the precision and recall of the flagged cases against the row-level truth.
"""

from __future__ import annotations

import argparse
import time

from audit.checks.known_truth import TRIALS, run_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--only", default=None, help="trials whose name starts with this")
    args = parser.parse_args()
    print(
        "| check | scenario | n | seeds | power | false findings | flag precision | flag recall | s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for trial in TRIALS:
        if args.only and not trial.name.startswith(args.only):
            continue
        start = time.perf_counter()
        r = run_trial(trial, range(args.seeds))
        seconds = time.perf_counter() - start
        precision = "-" if r.precision is None else f"{r.precision:.2f}"
        recall = "-" if r.recall is None else f"{r.recall:.2f}"
        print(
            f"| {trial.name} | {trial.scenario} | {trial.n:,} | {r.seeds} | {r.power:.2f} | "
            f"{r.false_finding_rate:.2f} | {precision} | {recall} | {seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
