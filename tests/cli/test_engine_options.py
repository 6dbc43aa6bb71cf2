"""`--engine`, `--spark-master`, `--spark-conf`: one check for `audit run` and `audit assess`.

No Spark starts here: each case is decided before the data (or Spark) is touched.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from audit.cli import main
from audit.errors import AuditInputError
from audit.spark.options import EngineChoice, engine_choice
from audit.spec import SparkSpec, parse_spec

EXPECTED = "--engine 'dask': expected numpy (in memory) or spark"
NUMPY_AND_SPARK = "--spark-master/--spark-conf: expected Spark settings only with the Spark engine"
BAD_CONF = "--spark-conf 'spark.driver.memory': expected KEY=VALUE"


@pytest.mark.parametrize(
    ("engine", "master", "conf", "expected"),
    [
        (None, None, None, EngineChoice(None)),
        ("numpy", None, [], EngineChoice("numpy")),
        ("spark", None, None, EngineChoice("spark")),
        (None, "local[2]", None, EngineChoice("spark", "local[2]")),
        (None, None, ["spark.executor.memory=8g", " a.b = c=d"],
         EngineChoice("spark", None, {"spark.executor.memory": "8g", "a.b": " c=d"})),
        ("spark", "yarn", ["k=v"], EngineChoice("spark", "yarn", {"k": "v"})),
    ],
)  # fmt: skip
def test_what_the_options_ask_for(
    engine: str | None, master: str | None, conf: list[str] | None, expected: EngineChoice
) -> None:
    assert engine_choice(engine, master, conf) == expected


@pytest.mark.parametrize(
    ("engine", "master", "conf", "message"),
    [
        ("dask", None, None, EXPECTED),
        ("Spark", None, None, "--engine 'Spark': expected numpy (in memory) or spark"),
        ("numpy", "local[2]", None, NUMPY_AND_SPARK),
        ("numpy", None, ["k=v"], NUMPY_AND_SPARK),
        (None, None, ["spark.driver.memory"], BAD_CONF),
        (None, None, ["=4g"], "--spark-conf '=4g': expected KEY=VALUE"),
        (None, None, ["k="], "--spark-conf 'k=': expected KEY=VALUE"),
    ],
)  # fmt: skip
def test_what_the_options_refuse(
    engine: str | None, master: str | None, conf: list[str] | None, message: str
) -> None:
    with pytest.raises(AuditInputError) as raised:
        engine_choice(engine, master, conf)
    assert message in str(raised.value)
    assert "Hint: " in str(raised.value)


def test_the_spec_keeps_its_own_spark_settings_and_takes_the_asked_ones() -> None:
    """--spark-master changes only the master; --spark-conf adds to the spec's conf."""
    document = {
        "engine": {"spark": {"master": "local[1]", "conf": {"a": "1", "b": "2"}}},
    }
    asked = engine_choice(None, "local[2]", ["b=3", "c=4"]).spec_override()
    assert asked == {"spark": {"master": "local[2]", "conf": {"b": "3", "c": "4"}}}
    spark = _spec(document, asked).spark
    assert spark == SparkSpec(master="local[2]", conf={"a": "1", "b": "3", "c": "4"})
    # --engine spark alone: the spec's own Spark settings, whole.
    assert _spec(document, engine_choice("spark", None, None).spec_override()).spark == (
        SparkSpec(master="local[1]", conf={"a": "1", "b": "2"})
    )
    # --engine numpy over a Spark spec: in memory. No option: the spec's engine.
    assert _spec(document, engine_choice("numpy", None, None).spec_override()).spark is None
    assert _spec(document, engine_choice(None, None, None).spec_override()).spark == (
        SparkSpec(master="local[1]", conf={"a": "1", "b": "2"})
    )
    # A NumPy spec asked for Spark on the command line: local[*] with the conf asked.
    assert _spec({}, engine_choice(None, None, ["k=v"]).spec_override()).spark == (
        SparkSpec(conf={"k": "v"})
    )


def test_without_a_spec_the_choice_is_spark_settings_or_memory() -> None:
    assert engine_choice(None, None, None).spark() is None
    assert engine_choice("numpy", None, None).spark() is None
    assert engine_choice("spark", None, None).spark() == SparkSpec()
    assert engine_choice(None, "spark://h:7077", ["k=v"]).spark() == SparkSpec(
        master="spark://h:7077", conf={"k": "v"}
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--engine", "dask"], EXPECTED),
        (["--engine", "numpy", "--spark-master", "local[2]"], NUMPY_AND_SPARK),
        (["--spark-conf", "spark.driver.memory"], BAD_CONF),
    ],
)
@pytest.mark.parametrize("command", ["run", "assess"])
def test_both_commands_refuse_alike_before_reading_anything(
    command: str,
    options: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    nowhere = str(tmp_path / "nowhere.yaml")
    args = [nowhere] if command == "run" else [nowhere, "-g", "x", "--y-pred", "d"]
    monkeypatch.setattr(sys, "argv", ["audit", command, *args, *options])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err
    assert "nowhere" not in err  # refused before the file is looked for


def _spec(document: dict[str, Any], engine: object) -> Any:
    base = yaml.safe_load(Path("examples/spark-local.yaml").read_text(encoding="utf-8"))
    base.pop("engine", None)
    return parse_spec(yaml.safe_dump({**base, **document}), engine=engine)
