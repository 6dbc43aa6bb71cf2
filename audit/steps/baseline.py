"""The baseline a candidate must not fall behind: the production model, or a previous audit.

`models:/NAME@champion` (or any model source) is audited on the same rows with the same
settings as the candidate, and its decisions are kept so that the gate compares the two models
person by person (paired: `audit.stats.paired`; on Spark both models decide in one pass,
`audit.spark.steps.spark_audit`); `runs:/RUN_ID` reads the assessment a previous
audit logged to MLflow, and a path to an `assessment.json` reads that file: those can only be
compared as independent samples.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from audit.errors import AuditInputError
from audit.models.importing import ModelIdentity, load_model
from audit.spec import AuditSpec, ThresholdRule
from audit.stats.encoding import Tally
from audit.stats.factors import bin_groups
from audit.stats.paired import (
    PAIRED_METRICS,
    PairedChange,
    paired_disparities,
    references_from,
    regression_changes,
)
from audit.stats.result import Assessment
from audit.steps.decisions import DECISION, OUTCOME, decide
from audit.steps.statistics import assess_decisions

BASELINE_DECISION = "_baseline_decision"

_PREVIOUS_RUN = re.compile(r"^runs:/([0-9a-f]{32})/?$")


@dataclass(frozen=True)
class Baseline:
    assessment: Assessment
    decisions: pd.DataFrame | None = None  # the baseline model's decisions on the audited rows
    identity: ModelIdentity | None = None  # a baseline model's: the version an alias resolved to


def is_model_source(source: str) -> bool:
    """A baseline model to run on the audited people, not a previous audit's assessment."""
    return not (_PREVIOUS_RUN.match(source) or source.endswith(".json"))


def load_baseline(
    source: str,
    spec: AuditSpec,
    people: pd.DataFrame | None,
    tracking_uri: str | None,
) -> Baseline:
    """The baseline's assessment; for a model, its decisions on the same `people` too.

    `people` may be None for a previous audit's assessment (`runs:/`, a file), which needs none.
    """
    previous = _PREVIOUS_RUN.match(source)
    decisions, identity = None, None
    if previous:
        baseline = _from_run(previous.group(1), tracking_uri)
    elif not is_model_source(source):
        baseline = _from_file(Path(source))
    else:
        model = load_model(source, tracking_uri=tracking_uri)
        identity = model.identity
        assert people is not None
        decisions = decide(spec, model, people)
        baseline = assess_decisions(spec, decisions)
    _require_same_groups(source, spec, baseline)
    return Baseline(baseline, decisions, identity)


def paired_rules(spec: AuditSpec) -> list[ThresholdRule]:
    """The threshold rules compared person by person against a baseline model.

    Rules on score metrics or on conditional differences are left out: the gate compares those
    from the two assessments as independent samples.
    """
    return [
        r
        for r in spec.policy.rules
        if isinstance(r, ThresholdRule) and not r.conditional and r.metric in PAIRED_METRICS
    ]


def paired_regressions(
    spec: AuditSpec, candidate: Assessment, table: pd.DataFrame, baseline: pd.DataFrame
) -> dict[str, list[PairedChange]]:
    """Each threshold rule's paired change per group, candidate and baseline on the same people
    (`paired_rules`)."""
    if not paired_rules(spec):
        return {}
    outcome = [OUTCOME] if OUTCOME in table.columns else []  # none in a decision-only audit
    joint = table[[*outcome, DECISION, *spec.groups]].assign(
        **{BASELINE_DECISION: baseline[DECISION].to_numpy()}
    )
    return joint_regressions(spec, candidate, joint)


def joint_regressions(
    spec: AuditSpec, candidate: Assessment, joint: pd.DataFrame, tally: Tally | None = None
) -> dict[str, list[PairedChange]]:
    """`paired_regressions` of a table with both models' decisions side by side: the outcome
    (if any), `DECISION`, `BASELINE_DECISION` and the group columns; with `tally`, aggregated
    (the Spark engine's, `audit.stats.encoding.Tally`)."""
    rules = paired_rules(spec)
    if not rules:
        return {}
    rows = None if tally is None else tally.multiplicity(joint)
    joint, _ = bin_groups(joint, spec.group_bins, rows)  # the bins of the candidate's assessment
    s = spec.statistics
    paired = paired_disparities(
        joint,
        tally=tally,
        y_true=OUTCOME if OUTCOME in joint.columns else None,
        candidate=DECISION,
        baseline=BASELINE_DECISION,
        groups=spec.groups,
        intersections=spec.intersections,
        references=references_from(candidate),
        metrics=sorted({(r.metric, r.kind) for r in rules}),
        n_boot=s.n_boot,
        bootstrap=s.bootstrap,
        seed=s.seed,
        min_group_size=s.min_group_size,
    )
    return {
        r.id: regression_changes(
            paired,
            r.metric,
            r.kind,
            *r.bounds,
            margin=spec.policy.regression_margin,
            alpha=s.alpha,
            attributes=r.attributes,
        )
        for r in rules
    }


def _from_file(path: Path) -> Assessment:
    if path.is_dir():
        raise AuditInputError(
            f"baseline '{path}'",
            expected="an assessment.json written by a previous audit",
            found="a directory",
            fix="give the assessment.json inside it, e.g. reports/NAME/assessment.json",
        )
    if not path.is_file():
        raise AuditInputError(
            f"baseline '{path}'",
            expected="an assessment.json written by a previous audit",
            found="no such file",
            fix="check the path, or give the baseline as models:/NAME@ALIAS or runs:/RUN_ID",
        )
    try:
        return Assessment.from_json(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise AuditInputError(
            f"baseline '{path}'",
            expected="an assessment.json (UTF-8 text)",
            found="bytes that are not UTF-8 text",
            fix="use the assessment.json an `audit run` wrote",
        ) from None
    except ValueError as err:
        raise AuditInputError(
            f"baseline '{path}'",
            expected="an assessment.json of schema version 1.0",
            found=_what_is_there(path, err),
            fix="use the assessment.json an `audit run` wrote",
        ) from None


def _what_is_there(path: Path, err: ValueError) -> str:
    """Not JSON, JSON of another version, or which field is off: not pydantic's error count."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as bad:
        return f"text that is not JSON ({bad.msg} at line {bad.lineno}, column {bad.colno})"
    if not isinstance(document, dict):
        return f"JSON that is not an object but {type(document).__name__}"
    version = document.get("schema_version")
    if version != "1.0":
        return f"schema_version {version!r}" if version else "no schema_version"
    errors = getattr(err, "errors", None)
    if callable(errors) and errors():
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"'{where}': {first['msg']}"
    return str(err).splitlines()[0]


def _from_run(run_id: str, tracking_uri: str | None) -> Assessment:
    import mlflow
    from mlflow.exceptions import MlflowException

    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id,
                artifact_path="assessment.json",
                dst_path=tmp,
                tracking_uri=tracking_uri,
            )
        except (MlflowException, OSError) as err:
            raise AuditInputError(
                f"baseline runs:/{run_id}",
                expected="an audit run with an assessment.json artifact",
                found=str(err).splitlines()[0][:300],
                fix="give the run id of a finished `audit run` in this tracking store",
            ) from None
        return _from_file(Path(local))


def _require_same_groups(source: str, spec: AuditSpec, baseline: Assessment) -> None:
    if list(baseline.settings.groups) != spec.groups:
        raise AuditInputError(
            f"baseline '{source}'",
            expected=f"an assessment of the same attributes {spec.groups}",
            found=f"attributes {list(baseline.settings.groups)}",
            fix="compare audits of the same attributes, or drop the baseline",
        )
