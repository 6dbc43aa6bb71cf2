"""`--engine`, `--spark-master` and `--spark-conf`: one declaration and one check for the
commands that take them (`audit run`, `audit assess`).

Nothing here imports pyspark: the options are checked before Spark (or the data) is touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from audit.errors import AuditInputError
from audit.spark.session import parse_conf

if TYPE_CHECKING:
    from audit.spec import SparkSpec

EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="numpy (the table in memory, the default) or spark (counted where the data lives, "
        "docs/spark.md; the same result); overrides a spec's engine.",
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="Spark master URL (local[*], spark://HOST:7077, yarn, k8s://..., sc://...); "
        "implies --engine spark. Default: the spec's, else local[*].",
    ),
]
SparkConfOption = Annotated[
    list[str] | None,
    typer.Option(
        "--spark-conf",
        help="Spark setting as KEY=VALUE (repeatable), e.g. spark.executor.memory=8g; added to "
        "a spec's engine.spark.conf; implies --engine spark.",
    ),
]


@dataclass(frozen=True)
class EngineChoice:
    """What the command line asked of the engine; `engine` None when it asked nothing."""

    engine: Literal["numpy", "spark"] | None
    master: str | None = None
    conf: dict[str, str] = field(default_factory=dict)

    def spec_override(self) -> object:
        """The spec's `engine` key as the options give it (None: the spec's own). Only what
        was asked is written, so that a spec's other Spark settings are kept."""
        if self.engine != "spark":
            return self.engine
        asked: dict[str, object] = {}
        if self.master is not None:
            asked["master"] = self.master
        if self.conf:
            asked["conf"] = self.conf
        return {"spark": asked}

    def spark(self) -> SparkSpec | None:
        """Where a file is assessed without a spec: None in memory, else Spark's settings."""
        if self.engine != "spark":
            return None
        from audit.spec import SparkSpec

        if self.master is None:
            return SparkSpec(conf=self.conf)
        return SparkSpec(master=self.master, conf=self.conf)


def engine_choice(engine: str | None, master: str | None, conf: list[str] | None) -> EngineChoice:
    """The three options checked together. --spark-master or --spark-conf alone imply
    --engine spark; with --engine numpy they are refused rather than ignored."""
    if engine not in (None, "numpy", "spark"):
        raise AuditInputError(
            f"--engine {engine!r}",
            expected="numpy (in memory) or spark (where the data lives)",
            found=repr(engine),
            fix="pass --engine numpy or --engine spark",
        )
    settings = parse_conf(conf or [])
    asked = master is not None or bool(settings)
    if engine == "numpy" and asked:
        raise AuditInputError(
            "--spark-master/--spark-conf",
            expected="Spark settings only with the Spark engine",
            found="--engine numpy",
            fix="drop --engine numpy (the Spark options imply --engine spark), or the Spark options",
        )
    if asked or engine == "spark":
        return EngineChoice("spark", master, settings)
    return EngineChoice(None if engine is None else "numpy")
