"""`audit assess --engine spark`: the same result as in memory, and clear refusals (issue 11).

The table is one we did not make for the audit: Dutch column names and labels, an age band
whose declared order is not alphabetical, a region with missing values (the `unknown` group),
weights, scores with all their decimals (off the histogram grid: the exact AUC comes from the
cluster), 400 rows in a Parquet file written by pandas. The command runs in this process with
the module's Spark session (`spark_session` returns the active one); only what needs a fresh
process (Java missing, a master that does not answer, settings Spark starts with) runs
`audit assess` as a subprocess, and those stop before a JVM runs.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.cli import EXIT_INPUT_ERROR, EXIT_OK
from tests.in_process import run_command

pytestmark = pytest.mark.xdist_group("spark")  # one worker, one JVM (scripts/test.sh)

pytest.importorskip("pyspark")

AGE_BANDS = ["<30", "30-50", ">50"]  # declared order; sorted as text it would be 30-50, <30, >50


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(2026)
    n = 400
    band = rng.choice(AGE_BANDS, n, p=[0.3, 0.45, 0.25])
    frame = pd.DataFrame(
        {
            "geslacht": rng.choice(["vrouw", "man"], n),
            "leeftijdsklasse": pd.Categorical(band, categories=AGE_BANDS, ordered=True),
            "regio": rng.choice(np.array(["Antwerpen", "Gent", "Luik", None], dtype=object), n,
                                p=[0.4, 0.3, 0.2, 0.1]),
            "jaren_ervaring": rng.integers(0, 35, n),
            "gewicht": rng.gamma(2.0, 1.0, n).round(3),
            "traject": rng.choice(["bemiddeling", "opleiding", "zorg"], n),
        }
    )  # fmt: skip
    werk = rng.random(n) < 0.45
    # The youngest are selected less: a gap the audit must show on both engines alike.
    chance = np.where(werk, 0.65, 0.25) - 0.15 * (band == "<30")
    frame["uitkomst"] = np.where(werk, "werk", "geen")
    frame["advies"] = np.where(rng.random(n) < chance, "werk", "geen")
    frame["kans"] = np.clip(0.35 * werk + 0.65 * rng.random(n), 0, 1)
    path = tmp_path_factory.mktemp("assess-spark") / "bemiddeling.parquet"
    frame.to_parquet(path, index=False)
    return path


def _both_engines(
    args: list[str],
    spark_args: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """(terminal output, JSON document) of `audit assess ARGS`, in memory and on Spark."""
    out = []
    for engine, extra in (("numpy", ["--engine", "numpy"]), ("spark", spark_args)):
        result = tmp_path / f"{engine}.json"
        code = run_command([*args, *extra, "--json", str(result)], monkeypatch)
        shown = capsys.readouterr()
        assert code == EXIT_OK, shown.err
        out.append((shown.out, json.loads(result.read_text("utf-8"))))
    return out[0], out[1]


def _close(a: Any, b: Any, where: str = "") -> None:
    """Equal documents, floats to 1e-12 relative (weight sums added in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), f"{where}: {a} != {b}"
    elif isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), where
        for key in a:
            _close(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def test_weighted_audit_with_intersections_and_a_factor_is_the_same_on_spark(
    spark: Any,
    table: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["assess", str(table), "-g", "geslacht", "-g", "leeftijdsklasse", "-g", "regio",
            "--y-true", "uitkomst", "--y-pred", "advies", "--pos-label", "werk",
            "--score", "kans", "--weight", "gewicht", "-i", "2",
            "--factor", "jaren_ervaring", "--factor-bins", "jaren_ervaring=3", "--n-boot", "60"]  # fmt: skip
    (np_text, np_doc), (spark_text, spark_doc) = _both_engines(
        args, ["--engine", "spark"], tmp_path, monkeypatch, capsys
    )
    assert spark_text == np_text
    _close(spark_doc, np_doc)
    # What the equality stands on: the declared band order, missing regions as `unknown`,
    # scores off the grid (the exact AUC), and a gap found.
    bands = [g["levels"][0] for g in np_doc["groups"] if g["attributes"] == ["leeftijdsklasse"]]
    assert bands == AGE_BANDS
    regions = {g["levels"][0] for g in np_doc["groups"] if g["attributes"] == ["regio"]}
    assert "unknown" in regions
    aucs = [m["value"] for m in np_doc["metrics"] if m["metric"] == "auc" and m["value"]]
    assert aucs and all(0 < v < 1 for v in aucs)
    (gap,) = [
        d for d in np_doc["disparities"]
        if d["metric"] == "selection_rate" and d["kind"] == "difference"
        and d["attributes"] == ["leeftijdsklasse"] and d["levels"] == ["<30"]
    ]  # fmt: skip
    assert gap["value"] < -0.05


def test_threshold_tracks_and_binned_groups_are_bit_equal_on_spark(
    spark: Any,
    table: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Unweighted, every figure is the same to the last bit: a decision made by --threshold on
    the cluster, every track, a numeric group cut at its quantiles."""
    args = ["assess", str(table), "-g", "regio", "-g", "jaren_ervaring",
            "--group-bins", "jaren_ervaring=3", "--score", "kans", "--threshold", "0.5",
            "--track", "traject", "--n-boot", "40", "--reference", "regio=Gent"]  # fmt: skip
    # In this process the active session is used as it is; --spark-master names the engine.
    (np_text, np_doc), (spark_text, spark_doc) = _both_engines(
        args, ["--spark-master", "local[2]"], tmp_path, monkeypatch, capsys
    )
    assert spark_text == np_text and spark_doc == np_doc
    assert np_doc["settings"]["y_pred"] == "decision (score >= threshold)"
    assert np_doc["settings"]["score"] is None  # it decided; without an outcome not assessed
    assert sorted(np_doc["track_labels"]) == ["bemiddeling", "opleiding", "zorg"]
    binned = {g["levels"][0] for g in np_doc["groups"] if g["attributes"] == ["jaren_ervaring"]}
    assert len(binned) == 3


def _refused(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any) -> str:
    code = run_command(args, monkeypatch)
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR, err
    return " ".join(err.split())


def test_bad_scores_are_refused_alike_on_both_engines(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    path = tmp_path / "scores.parquet"
    pd.DataFrame({"wijk": ["a", "b"] * 20, "kans": [0.2, 1.5] * 20}).to_parquet(path)
    args = ["assess", str(path), "-g", "wijk", "--score", "kans", "--threshold", "0.5"]
    in_memory = _refused([*args, "--engine", "numpy"], monkeypatch, capsys)
    assert "score column 'kans': expected probabilities in [0, 1]" in in_memory
    assert _refused([*args, "--engine", "spark"], monkeypatch, capsys) == in_memory


def test_a_missing_path_and_a_compound_group_column_are_input_errors(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    missing = tmp_path / "nowhere.parquet"
    message = _refused(
        ["assess", str(missing), "-g", "x", "--y-pred", "d", "--engine", "spark"],
        monkeypatch,
        capsys,
    )
    assert f"data file '{missing}': expected a file or folder that exists" in message
    # A list per person cannot be a group: Spark reads it as an array column.
    folder = tmp_path / "dataset"
    folder.mkdir()
    frame = pd.DataFrame({"talen": [["nl", "fr"], ["nl"]] * 20, "besluit": [0, 1] * 20})
    frame.to_parquet(folder / "part-0.parquet")
    message = _refused(
        ["assess", str(folder), "-g", "talen", "--y-pred", "besluit", "--engine", "spark"],
        monkeypatch,
        capsys,
    )
    assert "group column 'talen': expected one plain value per person" in message
    assert "a column of Spark type array<string>" in message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--engine", "dask"], "--engine 'dask': expected numpy (in memory) or spark"),
        (["--engine", "numpy", "--spark-master", "local[2]"],
         "--spark-master/--spark-conf: expected Spark settings only with the Spark engine"),
        (["--spark-conf", "spark.driver.memory"],
         "--spark-conf 'spark.driver.memory': expected KEY=VALUE"),
    ],
)  # fmt: skip
def test_engine_options_are_checked_before_anything_is_read(
    options: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    # No Spark session here: these are refused before one would start, on any path.
    args = ["assess", str(tmp_path / "nowhere.csv"), "-g", "x", "--y-pred", "d", *options]
    assert expected in _refused(args, monkeypatch, capsys)


def _audit_assess(table: Path, *options: str, env: dict[str, str] | None = None) -> str:
    """`audit assess` in a process of its own (no Spark session to reuse): its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "assess", str(table), "-g", "geslacht",
         "--y-true", "uitkomst", "--y-pred", "advies", "--pos-label", "werk", *options],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert done.returncode == EXIT_INPUT_ERROR, done.stderr
    return " ".join(done.stderr.split())


def test_java_missing_is_an_input_error(table: Path) -> None:
    message = _audit_assess(table, "--engine", "spark", env={"JAVA_HOME": "/nonexistent"})
    assert "engine spark: expected Java 17 or newer" in message
    assert "found no java command in JAVA_HOME=/nonexistent" in message


def test_a_master_that_does_not_answer_is_an_input_error(table: Path) -> None:
    # Port 9 (discard) on this machine: nothing listens, the connection is refused at once.
    message = _audit_assess(table, "--spark-master", "spark://127.0.0.1:9")
    assert "engine.spark.master: expected a Spark master answering at 127.0.0.1:9" in message


def test_spark_conf_reaches_the_session_spark_starts(table: Path) -> None:
    """A setting the driver's JVM cannot start with (a heap of 1 KiB): Spark got it."""
    message = _audit_assess(
        table, "--spark-master", "local[1]", "--spark-conf", "spark.driver.memory=1k"
    )
    assert "expected a Spark session on local[1]; found Spark did not start" in message
