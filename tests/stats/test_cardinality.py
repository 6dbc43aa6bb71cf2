"""Group columns are checked for their number of levels, and the count tables for their memory,
before anything is counted: a column of 3,000 values gives a clear message in a second, never
a MemoryError after minutes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.errors import AuditInputError
from audit.spec import parse_spec
from audit.stats.assess import assess
from audit.stats.counts import MAX_TABLE_BYTES, estimate_table_bytes
from audit.stats.encoding import encode_attribute

ROOT = Path(__file__).resolve().parents[2]


def frame(levels: dict[str, int], n: int = 30_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = {name: rng.integers(0, k, n).astype(str) for name, k in levels.items()}
    return pd.DataFrame(
        {**out, "y": rng.integers(0, 2, n), "d": rng.integers(0, 2, n), "s": rng.random(n)}
    )


def test_a_column_of_3000_values_is_refused_quickly_on_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "decisions.csv"
    frame({"person_code": 3000}).to_csv(data, index=False)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "assess", str(data), "--y-true", "y", "--y-pred",
         "d", "-g", "person_code", "--score", "s"],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    seconds = time.perf_counter() - start
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert (
        "group column 'person_code': expected at most 50 groups (distinct values) to compare; "
        "found 3,000 distinct values, e.g. '0', '1', '2', '3', '4'." in done.stderr
    )
    assert "bin it into a few bands" in done.stderr and "--max-levels" in done.stderr
    assert seconds < 20  # imports included; the refusal itself takes milliseconds


def test_the_limit_is_configurable_and_unused_categories_do_not_count() -> None:
    data = frame({"g": 60}, n=6000)
    with pytest.raises(AuditInputError, match="at most 50 groups"):
        assess(data, y_true="y", y_pred="d", groups=["g"], n_boot=0)
    result = assess(data, y_true="y", y_pred="d", groups=["g"], n_boot=0, max_levels=60)
    assert len(result.groups) == 60 and result.settings.max_levels == 60
    # 500 declared categories, 3 in use: a categorical column is judged by what it holds.
    declared = data.assign(g=pd.Categorical(data["g"].str[-1:], categories=map(str, range(500))))
    assert len(encode_attribute(declared["g"]).levels) == 500
    assess(declared, y_true="y", y_pred="d", groups=["g"], n_boot=0)


def test_too_large_a_table_is_refused_before_it_is_allocated() -> None:
    # 3 attributes of 50 levels: 125,000 joint cells; with 1,000 replicates and a score that is
    # far beyond the limit, though each column alone is allowed.
    data = frame({"a": 50, "b": 50, "c": 50}, n=20_000)
    tracemalloc.start()
    with pytest.raises(AuditInputError) as err:
        assess(data, y_true="y", y_pred="d", groups=["a", "b", "c"], score="s", n_boot=1000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    message = str(err.value)
    assert message.startswith(
        "group columns: expected count tables and bootstrap replicates within 4.0 GiB of memory; "
        "found about "
    )
    assert "for 125,000 joint cells (50 × 50 × 50 levels), 1000 replicates and a score" in message
    assert "lower statistics.n_boot" in message
    assert peak < 200 * 2**20  # refused before the tables: nothing big was allocated


@pytest.mark.parametrize(
    ("levels", "n_boot", "scored"), [((20, 20), 200, True), ((40, 10), 300, False)]
)
def test_the_memory_estimate_bounds_what_assess_allocates(
    levels: tuple[int, int], n_boot: int, scored: bool
) -> None:
    n = 40_000
    data = frame({"a": levels[0], "b": levels[1]}, n=n)
    tracemalloc.start()
    assess(data, y_true="y", y_pred="d", groups=["a", "b"], intersections=2,
           score="s" if scored else None, n_boot=n_boot)  # fmt: skip
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = estimate_table_bytes(levels, n_rows=n, n_boot=n_boot, scored=scored)
    # An upper bound, and not a wild one: within twice the peak measured by tracemalloc.
    assert peak <= estimate <= 2 * peak
    assert estimate < MAX_TABLE_BYTES


def test_the_spec_takes_both_limits() -> None:
    spec = parse_spec(
        "name: x\ndata: {file: d.csv, schema: none}\nmodel: {decisions: {file: d.csv}}\n"
        "outcome: y\nattributes: [g]\nstatistics: {max_levels: 80, min_cell_size: 20}\n"
    )
    assert spec.statistics.max_levels == 80 and spec.statistics.min_cell_size == 20
