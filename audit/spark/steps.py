"""The pipeline's data, decisions and statistics steps on the Spark engine (`audit run`).

The same steps as `audit.steps.data`, `.decisions` and `.statistics`, with the rows on the
cluster: the spec's columns are checked against the table's schema and distinct values, the
model runs on the executors (`mapInPandas`, one batch of people at a time, through the same
`decide` as in memory), and the decisions table is counted by one aggregation. What needs every
row (a decision that varies, several tracks) is checked on the counts. A baseline model
(`.baseline`) decides in the same pass, so that the two are compared person by person.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from audit.errors import AuditError, AuditInputError
from audit.manifest import file_fingerprint
from audit.models.importing import AuditableModel, load_model
from audit.spark.assess import assess_counted, count_on_spark, split_arguments, with_dtypes
from audit.spark.counting import ROWS, aggregate
from audit.spark.session import spark_session
from audit.spark.tables import pandas_dtypes, read_table, require_table_path
from audit.spec import AuditSpec
from audit.stats.counts import DEFAULT_SCORE_BINS
from audit.stats.encoding import check_numeric_groups
from audit.stats.paired import PairedChange
from audit.stats.result import Assessment
from audit.steps.baseline import (
    BASELINE_DECISION,
    Baseline,
    is_model_source,
    joint_regressions,
    load_baseline,
    paired_rules,
)
from audit.steps.data import (
    missing_columns,
    require_binary_outcome,
    require_value,
    synthetic_population,
)
from audit.steps.decisions import (
    DECISION,
    OUTCOME,
    SCORE,
    TRACK,
    constant_decision,
    decide,
    single_track,
)
from audit.steps.statistics import statistics_options

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

_RAISED = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception): ")
SAMPLE_ROWS = 200  # people decided on the driver first: the model is tried before the cluster
MAX_DISTINCT_SHOWN = 60  # distinct values read to check a column's values against the spec
# The baseline model's columns in the decisions table, beside the candidate's: its decision is
# `BASELINE_DECISION`, as the paired comparison names it.
BASELINE = BASELINE_DECISION.removesuffix(DECISION)
_OWN = (DECISION, SCORE, TRACK)  # the columns each model gives; the others are the people's


@dataclass(frozen=True)
class SparkData:
    audited: DataFrame
    fingerprint: dict[str, Any]
    dtypes: dict[str, Any]  # pandas types Spark does not keep (`tables.pandas_dtypes`)


def load_spark_data(spec: AuditSpec) -> SparkData:
    """The audited rows as a Spark DataFrame, checked against the spec, with a fingerprint."""
    assert spec.spark is not None
    source = spec.data
    if source.file is not None:
        require_table_path(source.file)  # a wrong path is told before Spark starts
    spark = spark_session(spec.spark.master, spec.spark.conf)
    if source.synthetic is not None:
        population, fingerprint = synthetic_population(source.synthetic)
        people = population.people
        frame = spark.createDataFrame(people)
        dtypes = {
            str(c): people[c].dtype
            for c in people.columns
            if isinstance(people[c].dtype, pd.CategoricalDtype)
        }
    else:
        assert source.file is not None
        frame = read_table(spark, source.file)
        dtypes = pandas_dtypes(source.file, [*spec.groups, *spec.legitimate_factors])
        fingerprint = {"source": str(source.file), "sha256": _fingerprint(source.local_file)}
    check_spark_columns(frame, spec)
    rows = frame.count()
    fingerprint.update(n_rows=rows, n_audited=rows, engine="spark")
    return SparkData(audited=frame, fingerprint=fingerprint, dtypes=dtypes)


def _fingerprint(path: Path | None) -> str | None:
    """A file's hash, or a folder's (a Parquet dataset): the hashes of its files, by name.
    None for a table on the cluster's storage, which this machine cannot read whole."""
    if path is None:
        return None
    if path.is_file():
        return file_fingerprint(path)
    digest = hashlib.sha256()
    for part in sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
    ):
        digest.update(f"{part.relative_to(path)}:{file_fingerprint(part)}\n".encode())
    return digest.hexdigest()


def check_spark_columns(frame: DataFrame, spec: AuditSpec) -> None:
    """`audit.steps.data.check_spec_columns` on the cluster: the columns from the schema, the
    values from each column's distinct values, before any model is loaded."""
    from pyspark.sql import functions as F

    present = pd.Index(frame.columns)
    wanted = {
        "outcome": [spec.outcome] if spec.outcome is not None else [],
        "attributes": spec.groups,
        "legitimate_factors": spec.legitimate_factors,
    }
    for key, columns in wanted.items():
        absent = [c for c in columns if c not in present]
        if absent:
            raise missing_columns(f"spec key '{key}'", absent, present)
    s = spec.statistics
    for i, attribute in enumerate(spec.attributes):
        values = _distinct(frame, attribute.column, s.max_levels + 1)
        if attribute.column not in spec.group_bins:
            check_numeric_groups(
                values.to_frame(), [attribute.column], s.max_numeric_levels, s.max_levels
            )
        if attribute.reference is not None and attribute.bins is None:
            require_value(
                values.to_frame(),
                attribute.column,
                attribute.reference,
                f"attributes[{i}].reference",
            )
    if spec.outcome is None:
        return
    outcome = _distinct(frame, spec.outcome, MAX_DISTINCT_SHOWN)
    missing = frame.filter(F.col(spec.outcome).isNull()).count() if outcome.isna().any() else 0
    if spec.outcome_positive is not None:
        require_value(outcome.to_frame(), spec.outcome, spec.outcome_positive, "outcome_positive")
    require_binary_outcome(outcome.dropna(), spec.outcome_positive, missing)


def _distinct(frame: DataFrame, column: str, limit: int) -> pd.Series:
    """Up to `limit` distinct values of a column (enough to check names and counts of values)."""
    return frame.select(column).distinct().limit(limit).toPandas()[column]


def spark_decisions(
    spec: AuditSpec,
    model: AuditableModel,
    people: DataFrame,
    baseline: AuditableModel | None = None,
) -> DataFrame:
    """The decisions table on the cluster: `decide` on each batch of people, on the executors.

    With a `baseline` model, it decides for the same batch in the same pass: its decision,
    score and track are the columns `BASELINE + name` beside the candidate's, so that the two
    models can be compared person by person (`spark_paired`) as in memory.
    The models are tried first on a few people on the driver, where an error is plainly
    reported; the table is kept (persisted) for the passes that read it.
    """
    from pyspark.sql import types as T

    models = [model] if baseline is None else [model, baseline]
    for m in models:
        if m.kind == "decisions" and getattr(m, "id_column", None) is None:
            raise AuditInputError(
                "spec key 'model.decisions'",
                expected="an id_column with engine spark, to match decisions to people",
                found="decisions matched by position, which a distributed table does not keep",
                fix="add model.decisions.id_column naming the column of ids both files share",
            )

    def decided(part: pd.DataFrame) -> pd.DataFrame:
        table = decide(spec, model, part, whole=False)
        if baseline is not None:
            other = decide(spec, baseline, part, whole=False)
            table = table.assign(**{BASELINE + c: other[c] for c in _OWN if c in other})
        for name in (TRACK, BASELINE + TRACK):
            if name in table:
                table[name] = table[name].astype(str)
        return table

    sample = decided(people.limit(SAMPLE_ROWS).toPandas())
    types = {f.name: f.dataType for f in people.schema.fields}
    fields = []
    for name in sample.columns:
        own = name.removeprefix(BASELINE) if name.removeprefix(BASELINE) in _OWN else name
        if own == DECISION or (name == OUTCOME and spec.outcome_positive is not None):
            kind: Any = T.ByteType()
        elif own == SCORE:
            kind = T.DoubleType()
        elif own == TRACK:
            kind = T.StringType()
        else:
            kind = types[str(spec.outcome) if name == OUTCOME else name]
        fields.append(T.StructField(name, kind))
    schema = T.StructType(fields)

    def batches(parts: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for part in parts:
            yield decided(part)

    return people.mapInPandas(batches, schema).persist()


@dataclass(frozen=True)
class SparkAudit:
    """What the cluster gives the gate: the candidate's assessment, the baseline's, and the
    paired changes of the rules when the baseline is a model (None otherwise)."""

    assessment: Assessment
    baseline: Baseline | None
    paired: dict[str, list[PairedChange]] | None


def spark_audit(
    spec: AuditSpec,
    model: AuditableModel,
    data: SparkData,
    baseline_source: str | None,
    tracking_uri: str | None,
) -> SparkAudit:
    """The decisions and statistics steps on Spark, with the baseline step.

    A baseline model decides in the same pass over the people as the candidate
    (`spark_decisions`), so the gate compares the two person by person, as in memory; a
    previous audit's assessment (`runs:/`, a file) is read as in memory.
    """
    other = None
    if baseline_source is not None and is_model_source(baseline_source):
        other = load_model(baseline_source, tracking_uri=tracking_uri)
    table = spark_decisions(spec, model, data.audited, other)
    try:
        assessment = spark_statistics(spec, model, _candidate_view(table), data.dtypes)
        if other is None:
            loaded = None
            if baseline_source is not None:
                loaded = load_baseline(baseline_source, spec, None, tracking_uri)
            return SparkAudit(assessment, loaded, None)
        baseline = spark_statistics(spec, other, _baseline_view(table), data.dtypes)
        paired = spark_paired(spec, assessment, table, data.dtypes)
        return SparkAudit(assessment, Baseline(baseline, None, other.identity), paired)
    finally:
        table.unpersist()


def _candidate_view(table: DataFrame) -> DataFrame:
    return table.select(*[c for c in table.columns if not c.startswith(BASELINE)])


def _baseline_view(table: DataFrame) -> DataFrame:
    """The decisions table as the baseline model's alone: its columns under the usual names."""
    from pyspark.sql import functions as F

    people = [c for c in table.columns if c not in _OWN and not c.startswith(BASELINE)]
    own = [F.col(BASELINE + c).alias(c) for c in _OWN if BASELINE + c in table.columns]
    return table.select(*people, *own)


def spark_paired(
    spec: AuditSpec,
    candidate: Assessment,
    table: DataFrame,
    dtypes: Mapping[str, Any] | None = None,
) -> dict[str, list[PairedChange]]:
    """`paired_regressions` on the cluster: one aggregation over the groups, the outcome and
    both models' decisions gives the joint table `audit.stats.paired` counts."""
    if not paired_rules(spec):
        return {}
    outcome = [OUTCOME] if OUTCOME in table.columns else []
    with _cluster_errors():
        aggregated = aggregate(
            table,
            [*spec.groups, *outcome, DECISION, BASELINE_DECISION],
            score=None,
            weight=None,
            score_bins=DEFAULT_SCORE_BINS,
            keyed=[],
        )
    joint = with_dtypes(aggregated.table, dtypes)
    return joint_regressions(spec, candidate, joint, tally=aggregated.tally)


def spark_statistics(
    spec: AuditSpec,
    model: AuditableModel,
    table: DataFrame,
    dtypes: Mapping[str, Any] | None = None,
) -> Assessment:
    """The decisions table counted on the cluster and assessed as `assess_decisions` does."""
    columns, options = split_arguments(statistics_options(spec, table.columns))
    with _cluster_errors():
        counted = count_on_spark(table, **columns, dtypes=dtypes)
        _require_decisions_vary(spec, model, table, counted.table)
        if columns["track"] is not None:
            counted.table[TRACK] = pd.Categorical(
                counted.table[TRACK], categories=list(model.classes)
            )
        return assess_counted(counted, **options)


@contextlib.contextmanager
def _cluster_errors() -> Iterator[None]:
    """A Spark job's failure said as the audit's own error (`executor_error`)."""
    try:
        yield
    except AuditError:
        raise
    except Exception as err:
        raise executor_error(err) from None


def _require_decisions_vary(
    spec: AuditSpec, model: AuditableModel, table: DataFrame, counted: pd.DataFrame
) -> None:
    """What `decide` checks on every row, checked on the counts."""
    from pyspark.sql import functions as F

    people = int(counted[ROWS].sum())
    if DECISION in counted and counted[DECISION].nunique() == 1:
        scores = None
        if SCORE in table.columns:
            low, high = table.agg(F.min(SCORE), F.max(SCORE)).first()  # type: ignore[misc]
            scores = (float(low), float(high))
        raise constant_decision(spec, model, int(counted[DECISION].iloc[0]), people, scores)
    if TRACK in counted and counted[TRACK].nunique() == 1:
        raise single_track(model, str(counted[TRACK].iloc[0]), people)


def executor_error(err: Exception) -> AuditError:
    """An error raised on an executor (the model on a batch of people), said as the audit's own.

    Spark wraps it in a Java exception whose text holds the Python traceback; its last line is
    the error the audit raised there.
    """
    text, mark = str(err), "AuditInputError: "
    if mark in text:
        lines = text[text.rindex(mark) + len(mark) :].splitlines()
        hint = lines[1:2] if len(lines) > 1 and lines[1].startswith("Hint:") else []
        return AuditError("\n".join([lines[0].strip(), *hint]))
    # The last Python error of the traceback (the JVM's own lines start with "org." or "java.").
    raised = [
        line.strip()
        for line in text.splitlines()
        if _RAISED.match(line.strip()) and not line.strip().startswith(("org.", "java.", "py4j."))
    ]
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return AuditInputError(
        "engine spark",
        expected="the Spark jobs of the audit to finish",
        found=(raised[-1] if raised else f"{type(err).__name__}: {first}")[:400],
        fix="see the Spark error above; check the cluster's resources and the model's inputs",
    )
