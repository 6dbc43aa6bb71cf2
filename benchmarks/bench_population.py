"""Throughput of the synthetic population generator (rows per second, peak memory).

Run:  .venv/bin/python benchmarks/bench_population.py            # 10^5 and 10^6
      .venv/bin/python benchmarks/bench_population.py --huge     # also 10^7 (about 10 GB RSS)

Each size runs in a fresh process, so the peak RSS printed is that size's own peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def _one(n: int, scenario: str, validate: bool) -> None:
    from audit.data import generate_population

    start = time.perf_counter()
    pop = generate_population(n, scenario=scenario, seed=0, validate=validate)
    seconds = time.perf_counter() - start
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"n": n, "scenario": scenario, "validate": validate,
                      "seconds": round(seconds, 2), "rows_per_s": round(n / seconds),
                      "peak_rss_gb": round(peak_gb, 2),
                      "people_memory_gb": round(
                          pop.people.memory_usage(deep=True).sum() / 1024**3, 2)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--huge", action="store_true", help="also run 10^7 people")
    parser.add_argument("--scenario", default="all_harms")
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one, args.scenario, not args.no_validate)
        return
    sizes = [10**5, 10**6] + ([10**7] if args.huge else [])
    for n in sizes:
        cmd = [sys.executable, __file__, "--one", str(n), "--scenario", args.scenario]
        if args.no_validate:
            cmd.append("--no-validate")
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
