"""The baseline a candidate must not fall behind: the production model, or a previous audit.

`models:/NAME@champion` (or any model source) is audited on the same rows with the same
settings as the candidate; `runs:/RUN_ID` reads the assessment a previous audit logged to MLflow;
a path to an `assessment.json` reads that file.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pandas as pd

from audit.errors import AuditInputError
from audit.models.importing import load_model
from audit.spec import AuditSpec
from audit.stats.result import Assessment
from audit.steps.decisions import decide
from audit.steps.statistics import assess_decisions

_PREVIOUS_RUN = re.compile(r"^runs:/([0-9a-f]{32})/?$")


def load_baseline(
    source: str, spec: AuditSpec, people: pd.DataFrame, tracking_uri: str | None
) -> Assessment:
    previous = _PREVIOUS_RUN.match(source)
    if previous:
        baseline = _from_run(previous.group(1), tracking_uri)
    elif source.endswith(".json"):
        baseline = _from_file(Path(source))
    else:
        model = load_model(source, tracking_uri=tracking_uri)
        baseline = assess_decisions(spec, decide(spec, model, people))
    _require_same_groups(source, spec, baseline)
    return baseline


def _from_file(path: Path) -> Assessment:
    if not path.is_file():
        raise AuditInputError(
            f"baseline '{path}'",
            expected="an assessment.json written by a previous audit",
            found="no such file",
            fix="check the path, or give the baseline as models:/NAME@ALIAS or runs:/RUN_ID",
        )
    try:
        return Assessment.from_json(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise AuditInputError(
            f"baseline '{path}'",
            expected="an assessment.json of schema version 1.0",
            found=str(err).splitlines()[0],
            fix="use the assessment.json an `audit run` wrote",
        ) from None


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
