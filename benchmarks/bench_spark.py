"""The Spark engine in local mode against the NumPy engine, on Parquet the benchmark writes itself.

    nice -n 19 .venv/bin/python benchmarks/bench_spark.py [--rows 1e6,1e7,1e8] [--n-boot 200]
        [--intersections 2] [--master local[2]] [--conf spark.driver.memory=4g]
        [--numpy-max-rows 2e7] [--off-grid-max-rows 1e7] [--weighted] [--work /tmp] [--keep]

Data: a decisions table of a public employment service, written with pyarrow in chunks of
2^21 rows (so writing 10^8 rows stays within a few hundred MB of memory): four group
columns with missing values (mental_health_history, housing_status, digital_literacy,
gender; strings, about 1-6 % null), a 0/1 outcome and a 0/1 decision (int8) whose rates
depend on the groups, a probability score with all its decimals (off the histogram grid), the
same score rounded to the grid (1/1000), and a weight. About 40 bytes per row in memory.

For every size, in the same run and each in a fresh process (so each peak is its own):
- NumPy: `pd.read_parquet` of the columns, then `audit.stats.assess.assess`; skipped above
  `--numpy-max-rows` (the table must fit in memory).
- Spark: `spark.read.parquet`, then `assess_spark` in its two parts, timed apart:
  `count_on_spark` (the aggregation on the cluster, collected) and `assess_counted` (the NumPy
  code on the aggregated table; off the grid, also the exact AUC on the cluster). The session
  comes from `audit.spark.session.spark_session` (the engine's own conf, plus `--conf`), and
  its start is timed apart; the level order from `audit.spark.tables.pandas_dtypes`, as the
  pipeline reads it. The off-grid case is skipped above `--off-grid-max-rows`.
Both with the same options, twice: with the score on the grid (one aggregation) and with the
off-grid score (the aggregation, then the exact AUC on the cluster, `counting.SparkAuc`).
Printed: seconds and rows/s of each, Spark/NumPy time ratio, the largest relative difference
between the two assessments (every number of the JSON document; must be <= 1e-9), and the
peak resident memory (VmHWM) of the Python driver and of the JVM driver of each run.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GROUPS = ("mental_health_history", "housing_status", "digital_literacy", "gender")
LEVELS = {
    "mental_health_history": (["none", "past", "current"], [0.72, 0.18, 0.10]),
    "housing_status": (["owner", "renter", "social housing", "temporary", "homeless"],
                       [0.30, 0.40, 0.18, 0.08, 0.04]),
    "digital_literacy": (["high", "medium", "low"], [0.45, 0.35, 0.20]),
    "gender": (["female", "male", "non-binary"], [0.49, 0.49, 0.02]),
}
MISSING = {"mental_health_history": 0.06, "housing_status": 0.03, "digital_literacy": 0.05,
           "gender": 0.01}
CHUNK = 1 << 21
SCORE_BINS = 1000  # audit.stats.counts.DEFAULT_SCORE_BINS
TOLERANCE = 1e-9
CASES = {"grid": "score_grid", "off-grid": "score"}


# -- data ------------------------------------------------------------------------------------
def write_data(path: Path, n: int, seed: int = 0) -> float:
    """`n` rows of decisions as one Parquet file, chunk by chunk; returns the seconds taken."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    writer: pq.ParquetWriter | None = None
    try:
        for first in range(0, n, CHUNK):
            table = pa.table(_chunk(rng, min(CHUNK, n - first)))
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="snappy")
            writer.write_table(table, row_group_size=CHUNK)
    finally:
        if writer is not None:
            writer.close()
    return time.perf_counter() - start


def _chunk(rng: np.random.Generator, m: int) -> dict[str, Any]:
    import pyarrow as pa

    columns: dict[str, Any] = {}
    risk = np.zeros(m)
    for name, (labels, shares) in LEVELS.items():
        codes = rng.choice(len(labels), m, p=shares)
        risk += codes * 0.15 / len(labels)  # later levels: less often hired, less often chosen
        missing = rng.random(m) < MISSING[name]
        # A dictionary column with nulls: what Spark and pandas both read as strings.
        columns[name] = pa.DictionaryArray.from_arrays(
            pa.array(codes.astype(np.int8), mask=missing), pa.array(labels)
        )
    logit = 0.4 - 2.0 * risk + rng.normal(0.0, 1.0, m)
    outcome = rng.random(m) < 1.0 / (1.0 + np.exp(-logit))
    score = 1.0 / (1.0 + np.exp(-(logit + rng.normal(0.0, 0.8, m) - 0.3 * risk)))
    columns["outcome"] = outcome.astype(np.int8)
    columns["decision"] = (score > 0.5).astype(np.int8)
    columns["score"] = score  # every decimal: off the grid, needs the exact AUC
    columns["score_grid"] = np.rint(score * SCORE_BINS) / SCORE_BINS
    columns["weight"] = rng.gamma(4.0, 0.25, m)
    return columns


# -- one engine, one size (a child process) ----------------------------------------------------
def options(args: argparse.Namespace, score: str) -> dict[str, Any]:
    return dict(
        y_true="outcome",
        y_pred="decision",
        groups=list(GROUPS),
        score=score,
        weight="weight" if args.weighted else None,
        intersections=args.intersections,
        n_boot=args.n_boot,
        seed=0,
    )


def peak_rss_mb(pid: int | str = "self") -> float:
    """The process's high-water mark of resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


def jvm_pid(spark: Any) -> int:
    """The JVM the py4j gateway started (spark-submit execs java), else a java child of ours."""
    proc = getattr(spark.sparkContext._gateway, "proc", None)
    candidates = [proc.pid] if proc is not None else []
    candidates += [int(p) for p in os.listdir("/proc") if p.isdigit()]
    for pid in candidates:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "java" and int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
            return pid
    raise RuntimeError("no JVM child of this process")


def run_numpy(args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd

    from audit.stats.assess import assess

    start = time.perf_counter()
    columns = [*GROUPS, "outcome", "decision", *CASES.values(), "weight"]
    data = pd.read_parquet(args.path, columns=columns)
    out: dict[str, Any] = {"read_s": time.perf_counter() - start, "cases": {}}
    for case, score in CASES.items():
        start = time.perf_counter()
        result = assess(data, **options(args, score))
        out["cases"][case] = {"seconds": time.perf_counter() - start, "doc": result.to_dict()}
    out["python_peak_mb"] = peak_rss_mb()
    return out


def run_spark(args: argparse.Namespace) -> dict[str, Any]:
    """`assess_spark` in its two parts, timed apart: the counting pass on the cluster
    (`count_on_spark`: one aggregation, collected), then `assess_counted` (the NumPy code on
    the aggregated table, and for the off-grid score the exact AUC on the cluster)."""
    from audit.spark.assess import assess_counted, count_on_spark
    from audit.spark.session import spark_session
    from audit.spark.tables import pandas_dtypes

    start = time.perf_counter()
    spark = spark_session(args.master, dict(kv.split("=", 1) for kv in args.conf))
    out: dict[str, Any] = {"start_s": time.perf_counter() - start, "cases": {}}
    conf = spark.sparkContext.getConf()
    out["conf"] = {
        "spark.master": conf.get("spark.master"),
        "spark.driver.memory": conf.get("spark.driver.memory", "1g (Spark's default)"),
        "default parallelism (cores)": str(spark.sparkContext.defaultParallelism),
        "spark.sql.shuffle.partitions": spark.conf.get("spark.sql.shuffle.partitions"),
        "spark.version": spark.version,
    }
    # The pipeline's own way to keep pandas's level order (the dictionary's), which Spark drops.
    dtypes = pandas_dtypes(args.path, GROUPS)
    for case, score in CASES.items():
        if case == "off-grid" and args.rows_here > args.off_grid_max_rows:
            continue
        frame = spark.read.parquet(str(args.path))
        opts = options(args, score)
        columns = {k: opts.pop(k) for k in ("y_true", "y_pred", "groups", "score", "weight")}
        start = time.perf_counter()
        counted = count_on_spark(frame, **columns, dtypes=dtypes)
        middle = time.perf_counter()
        result = assess_counted(counted, **opts)
        end = time.perf_counter()
        out["cases"][case] = {
            "seconds": end - start,
            "count_s": middle - start,
            "assess_s": end - middle,
            "aggregated_rows": len(counted.table),
            "doc": result.to_dict(),
        }
    out["python_peak_mb"] = peak_rss_mb()
    out["jvm_peak_mb"] = peak_rss_mb(jvm_pid(spark))
    spark.stop()
    return out


def child(args: argparse.Namespace, engine: str, path: Path, n: int) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--child", engine, "--path", str(path), "--rows-here", str(n),
        "--n-boot", str(args.n_boot), "--intersections", str(args.intersections),
        "--master", args.master, "--off-grid-max-rows", str(args.off_grid_max_rows),
        *(["--weighted"] if args.weighted else []), *[f"--conf={kv}" for kv in args.conf],
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- comparison --------------------------------------------------------------------------------
def largest_difference(a: Any, b: Any, where: str = "") -> tuple[float, str]:
    """The largest relative difference between two JSON documents, and where it is; infinite
    where their shapes, texts or missing values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return math.inf, f"{where}: keys {sorted(a.keys() ^ b.keys())}"
        pairs = [largest_difference(a[k], b[k], f"{where}.{k}") for k in a]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return math.inf, f"{where}: {len(a)} against {len(b)} items"
        pairs = [largest_difference(x, y, f"{where}[{i}]") for i, (x, y) in enumerate(zip(a, b, strict=True))]
    elif isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) \
            or not isinstance(b, int | float):
        return (0.0, where) if a == b else (math.inf, f"{where}: {a!r} against {b!r}")
    elif a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0, where
    else:
        return abs(a - b) / max(abs(a), abs(b), 1e-300), where
    return max(pairs, key=lambda p: p[0], default=(0.0, where))


# -- printing ----------------------------------------------------------------------------------
def fmt_rows(n: int) -> str:
    e = round(math.log10(n))
    return f"10^{e}" if 10**e == n else f"{n:,}"


def fmt_seconds(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 60 else f"{s:.2f} s" if s >= 1 else f"{s * 1000:.0f} ms"


def fmt_rate(n: int, s: float) -> str:
    r = n / s
    return f"{r / 1e6:.2f} M/s" if r >= 1e6 else f"{r / 1e3:.0f} k/s"


def load_average() -> str:
    """The machine's load, since the figures depend on what else runs on its cores."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def report(results: list[dict[str, Any]]) -> None:
    print(
        "\n| rows | score | NumPy read + assess | NumPy rows/s | Spark count_on_spark + "
        "assess_counted | Spark rows/s | Spark/NumPy | aggregated rows | largest rel. difference |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        n, np_run, sp = r["rows"], r.get("numpy"), r["spark"]
        for case in CASES:
            if case not in sp["cases"]:
                print(f"| {fmt_rows(n)} | {case} | | | not run (--off-grid-max-rows) | | | | |")
                continue
            c = sp["cases"][case]
            spark = (
                f"{fmt_seconds(c['count_s'])} + {fmt_seconds(c['assess_s'])} = "
                f"{fmt_seconds(c['seconds'])}"
            )
            numpy, rate, ratio, diff = "not run", "", "", ""
            if np_run is not None:
                t = np_run["read_s"] + np_run["cases"][case]["seconds"]
                numpy = (
                    f"{fmt_seconds(np_run['read_s'])} + "
                    f"{fmt_seconds(np_run['cases'][case]['seconds'])}"
                )
                rate, ratio = fmt_rate(n, t), f"{c['seconds'] / t:.1f}×"
                diff = f"{r['difference'][case]:.1e}"
            print(
                f"| {fmt_rows(n)} | {case} | {numpy} | {rate} | {spark} | "
                f"{fmt_rate(n, c['seconds'])} | {ratio} | {c['aggregated_rows']:,} | {diff} |"
            )
    print(
        "\n| rows | Parquet size | NumPy: Python peak RSS | Spark: Python driver peak RSS | "
        "Spark: JVM driver peak RSS | Spark session start |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        np_peak = f"{r['numpy']['python_peak_mb']:,.0f} MB" if r.get("numpy") else "not run"
        sp = r["spark"]
        print(
            f"| {fmt_rows(r['rows'])} | {r['parquet_mb']:,.0f} MB | {np_peak} | "
            f"{sp['python_peak_mb']:,.0f} MB | {sp['jvm_peak_mb']:,.0f} MB | "
            f"{fmt_seconds(sp['start_s'])} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", default="1e6,1e7", help="sizes, comma-separated (1e8: about 1.8 GB of disk)"
    )
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--intersections", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument(
        "--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting"
    )
    parser.add_argument(
        "--numpy-max-rows", type=float, default=2e7,
        help="above this the NumPy engine is not run (the table must fit in memory)",
    )  # fmt: skip
    parser.add_argument(
        "--off-grid-max-rows", type=float, default=1e7,
        help="above this the off-grid score (exact AUC on the cluster) is not run on Spark",
    )  # fmt: skip
    parser.add_argument("--weighted", action="store_true", help="use the weight column")
    parser.add_argument(
        "--work", default=None, help="folder for the data (a temporary folder, /tmp by default)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the data written")
    parser.add_argument("--child", choices=["numpy", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rows-here", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_numpy(args) if args.child == "numpy" else run_spark(args)
        print(json.dumps(result))
        return
    # A kill (SIGTERM) unwinds like an error, so that the data written is still deleted.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("killed"))
    sizes = [int(float(s)) for s in args.rows.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench_spark_", dir=args.work))
    print(
        f"options: intersections={args.intersections}, n_boot={args.n_boot}, "
        f"weighted={args.weighted}, groups={', '.join(GROUPS)}; data in {work}"
    )
    print(f"load average at the start (1, 5, 15 min): {load_average()}")
    try:
        results = [measure(args, work, n) for n in sizes]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"load average at the end (1, 5, 15 min): {load_average()}")
    print("\nSpark conf: " + ", ".join(f"{k}={v}" for k, v in results[0]["spark"]["conf"].items()))
    report(results)
    if any(d > TOLERANCE for r in results for d in r.get("difference", {}).values()):
        sys.exit("the engines' assessments differ")


def measure(args: argparse.Namespace, work: Path, n: int) -> dict[str, Any]:
    """One size: the data written, both engines run, their assessments compared."""
    path = work / f"decisions_{n}.parquet"
    try:
        seconds = write_data(path, n)
        row: dict[str, Any] = {"rows": n, "parquet_mb": path.stat().st_size / 2**20}
        print(f"{fmt_rows(n)}: wrote {row['parquet_mb']:,.0f} MB in {fmt_seconds(seconds)}")
        if n <= args.numpy_max_rows:
            row["numpy"] = child(args, "numpy", path, n)
            times = ", ".join(f"{c} {fmt_seconds(v['seconds'])}" for c, v in row["numpy"]["cases"].items())
            print(f"  numpy: read {fmt_seconds(row['numpy']['read_s'])}, assess {times}", flush=True)
        else:
            print(f"  numpy: not run, {n:,} rows > --numpy-max-rows {args.numpy_max_rows:,.0f}")
        row["spark"] = child(args, "spark", path, n)
        times = ", ".join(f"{c} {fmt_seconds(v['seconds'])}" for c, v in row["spark"]["cases"].items())
        print(f"  spark: start {fmt_seconds(row['spark']['start_s'])}, {times}", flush=True)
        if "numpy" in row:
            row["difference"] = {}
            for case in row["spark"]["cases"]:
                diff, where = largest_difference(
                    row["numpy"]["cases"][case]["doc"], row["spark"]["cases"][case]["doc"]
                )
                row["difference"][case] = diff
                verdict = ("agree" if diff <= TOLERANCE else "DIFFER") + f" (largest at {where})"
                print(f"  {case}: largest relative difference {diff:.1e}: {verdict}", flush=True)
        return row
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
