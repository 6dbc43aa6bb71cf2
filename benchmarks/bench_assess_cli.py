"""`audit assess` end to end on a Parquet file, against reading its columns and one bincount.

    nice -n 19 .venv/bin/python benchmarks/bench_assess_cli.py [--rows 10000000] [--repeat 3]

The file is generated here (twice: the score with 4 decimals, as an export writes it, and in
full float64 precision, where the exact AUC has to sort the rows): 10^7 rows, the six columns an audit reads (outcome, decision, score,
three sensitive attributes with 5, 3 and 3 levels, dictionary-encoded as a data warehouse writes
them) and four it does not (an id, a free-text postcode, earnings, a date), so that reading
only the needed columns matters. The audit: `audit assess FILE --y-true y --y-pred d --score s
-g region -g age_band -g disability --intersections 3 --n-boot 1000` (all 7 groupings, 95 groups,
12 metrics, AUC and calibration of the score, 1,000 bootstrap replicates), as a fresh process.

The floor it is compared with, also a fresh process: import pyarrow and numpy, read the same six
columns with `pyarrow.parquet.read_table(columns=...)`, and one `np.bincount` over precomputed
joint codes (group cell × y × d). Reported: the median of `--repeat` runs of each, their ratio
(target: within 3x), and, in one process, where the audit's time goes (imports, reading,
statistics). For the full-precision score, also the floor with one `np.argsort` of the score
column, which an exact rank AUC cannot do without. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
LEVELS = {
    "region": ("centre", "east", "north", "south", "west"),
    "age_band": ("25-49", "50+", "<25"),
    "disability": ("none", "mild", "severe"),
}
SHARES = {
    "region": (0.1, 0.15, 0.35, 0.25, 0.15),
    "age_band": (0.5, 0.3, 0.2),
    "disability": (0.7, 0.2, 0.1),
}
USED = ("y", "d", "s", *LEVELS)
AUDIT = [
    "--y-true", "y", "--y-pred", "d", "--score", "s",
    "-g", "region", "-g", "age_band", "-g", "disability",
    "--intersections", "3", "--n-boot", "1000", "--seed", "1",
]  # fmt: skip

FLOOR = """
import sys, time
t0 = time.perf_counter()
import numpy as np
import pyarrow.parquet as pq
table = pq.read_table(sys.argv[1], columns=%r)
t1 = time.perf_counter()
codes = np.load(sys.argv[2])
t2 = time.perf_counter()
counts = np.bincount(codes, minlength=%d)
t3 = time.perf_counter()
if len(sys.argv) > 3:  # the floor of an exact rank AUC: one sort of the score column as well
    np.argsort(table.column("s").to_numpy())
print(t1 - t0, t3 - t2, int(counts.sum()))
"""


def write_file(path: Path, n: int, decimals: int | None, seed: int = 0) -> np.ndarray:
    """The Parquet file, written in row groups of 10^6; returns the joint codes for the floor.

    `decimals`: the score as an export writes it with that many decimals, or (None) as a model
    computes it in full float64 precision, where the exact AUC must sort the rows.
    """
    rng = np.random.default_rng(seed)
    writer = None
    joint = np.empty(n, dtype=np.int64)
    chunk = 1_000_000
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        codes = {a: rng.choice(len(LEVELS[a]), m, p=SHARES[a]) for a in LEVELS}
        tilt = codes["region"] * 0.03 + codes["age_band"] * 0.02 + codes["disability"] * 0.04
        y = (rng.random(m) < 0.35 + tilt).astype(np.int8)
        s = np.clip(0.3 + 0.3 * y - tilt + rng.normal(0, 0.15, m), 0, 1)
        if decimals is not None:
            s = s.round(decimals)
        d = (s >= 0.5).astype(np.int8)
        columns = {
            "id": pa.array(np.arange(start, start + m)),
            "postcode": pa.array(rng.integers(1000, 9999, m).astype(str)),
            "earnings": pa.array(rng.gamma(2.0, 1500.0, m)),
            "registered": pa.array(rng.integers(18_000, 20_000, m).astype("datetime64[D]")),
            "y": pa.array(y),
            "d": pa.array(d),
            "s": pa.array(s),
        }
        for a, levels in LEVELS.items():
            columns[a] = pa.DictionaryArray.from_arrays(
                pa.array(codes[a].astype(np.int8)), pa.array(levels)
            )
        batch = pa.table(columns)
        if writer is None:
            writer = pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch)
        cell = (codes["region"] * 3 + codes["age_band"]) * 3 + codes["disability"]
        joint[start : start + m] = (cell * 2 + y) * 2 + d
    assert writer is not None
    writer.close()
    return joint


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def in_process(path: Path, env: dict[str, str]) -> dict[str, float]:
    """One audit in a fresh process, with its parts timed: imports, reading, statistics."""
    probe = f"""
import json, sys, time
t0 = time.perf_counter()
from audit.tables import read_table
from audit.stats.assess import assess
t1 = time.perf_counter()
frame = read_table({str(path)!r}, columns={list(USED)!r})
t2 = time.perf_counter()
assess(frame, y_true="y", y_pred="d", score="s", groups={list(LEVELS)!r}, intersections=3,
       n_boot=1000, seed=1)
t3 = time.perf_counter()
print(json.dumps({{"imports": t1 - t0, "read": t2 - t1, "statistics": t3 - t2}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def bench_file(rows: int, decimals: int | None, repeat: int, env: dict[str, str]) -> None:
    what = f"score with {decimals} decimals" if decimals is not None else "full-precision score"
    with tempfile.TemporaryDirectory() as tmp:
        path, codes_path = Path(tmp) / "audit.parquet", Path(tmp) / "codes.npy"
        t0 = time.perf_counter()
        np.save(codes_path, write_file(path, rows, decimals))
        print(f"\n{what}: wrote {rows:,} rows x 10 columns in {time.perf_counter() - t0:.1f} s "
              f"({path.stat().st_size / 1e6:.0f} MB)")  # fmt: skip
        cells = 5 * 3 * 3 * 2 * 2
        floor_cmd = [sys.executable, "-c", FLOOR % (list(USED), cells), str(path), str(codes_path)]
        audit_cmd = [sys.executable, "-m", "audit.cli", "assess", str(path), *AUDIT]
        floors, audits, reads, counts, sorted_floors = [], [], [], [], []
        for _ in range(repeat):  # taking turns, so a busy moment hits both alike
            elapsed, out = timed(floor_cmd, env)
            read, count, total = out.split()
            assert int(total) == rows
            floors.append(elapsed)
            reads.append(float(read))
            counts.append(float(count))
            audits.append(timed(audit_cmd, env)[0])
            if decimals is None:
                sorted_floors.append(timed([*floor_cmd, "sort"], env)[0])
        parts = in_process(path, env)
    floor, audit = statistics.median(floors), statistics.median(audits)
    print(f"floor (fresh process: import, pq.read_table of {len(USED)} columns, one bincount): "
          f"{floor:.2f} s  [read {statistics.median(reads):.2f} s incl. imports, "
          f"bincount {1000 * statistics.median(counts):.1f} ms]")  # fmt: skip
    print(f"audit assess (fresh process, end to end): {audit:.2f} s  "
          f"[runs: {', '.join(f'{a:.2f}' for a in audits)}]")  # fmt: skip
    turns = statistics.median(a / f for a, f in zip(audits, floors, strict=True))
    print(f"ratio audit / floor: {audit / floor:.2f}x (target: within 3x); median of the "
          f"turns' own ratios {turns:.2f}x")  # fmt: skip
    if sorted_floors:
        with_sort = statistics.median(sorted_floors)
        print(f"floor with one np.argsort of the score as well (what any exact rank AUC needs): "
              f"{with_sort:.2f} s; ratio audit / that: {audit / with_sort:.2f}x")  # fmt: skip
    print("one audit in one process: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--decimals", nargs="+", default=["4", "full"], help="score decimals, or 'full'"
    )
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    # Bytecode compiled first, as an installed package has it: otherwise each run compiles the
    # modules changed since they were last imported (every time, with PYTHONDONTWRITEBYTECODE).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "audit")], check=True)
    print(f"python {platform.python_version()}, numpy {np.__version__}, pyarrow {pa.__version__}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    for decimals in args.decimals:
        bench_file(args.rows, None if decimals == "full" else int(decimals), args.repeat, env)


if __name__ == "__main__":
    main()
