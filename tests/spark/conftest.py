"""One real Spark session in local mode for the Spark tests of a pytest worker.

Spark takes a few seconds to start, so the session is shared by every test of the worker
(the Spark modules are one xdist group: `scripts/test.sh` runs with --dist loadgroup, so they
share one worker and one JVM). Two cores, few shuffle partitions: the tables are small.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pyspark = pytest.importorskip("pyspark", reason="the Spark engine's tests need pyspark (dev extra)")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # The executors' Python is this one, with the package and its libraries (as the engine's
    # own sessions set it): a worker on the system's Python would find no pandas.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("audit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def differences() -> Any:
    """`_differences`, as a fixture: test modules cannot import a conftest (importlib mode)."""
    return _differences


def _differences(a: Any, b: Any, path: str = "", rel: float = 1e-9) -> list[str]:
    """Where two result documents differ: any text, count, flag or shape exactly; floats to
    `rel` relative (sums over rows taken in another order differ in the last bits)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{path}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{path}/{k}", rel)]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items against {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{path}[{i}]", rel)
        ]
    if isinstance(a, float) and isinstance(b, float):
        same = (
            a == b
            or (math.isnan(a) and math.isnan(b))
            or math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)
        )
        return [] if same else [f"{path}: {a!r} against {b!r}"]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} against {b!r}"]
