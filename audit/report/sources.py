"""The stored result of a past audit, read back for a report: a result folder or an MLflow run.

`audit report` never recomputes: it reads `assessment.json` and `verdict.json` (and, when
present, `manifest.json`, which holds the spec, and `checks.json`, the harm checks) as the
audit wrote them. Both are the published
forms (`audit.disclosure`), so nothing suppressed can reach the report.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from audit.errors import AuditInputError
from audit.gate import Verdict
from audit.report.context import ReportInput
from audit.stats.result import SCHEMA_VERSION, Assessment

RESULT = "assessment.json"
VERDICT = "verdict.json"
MANIFEST = "manifest.json"
CHECKS = "checks.json"
RUN_ID = re.compile(r"^[0-9a-f]{32}$")


def looks_like_run_id(text: str) -> bool:
    return bool(RUN_ID.match(text)) and not Path(text).exists()


def from_folder(path: Path) -> ReportInput:
    """The result in a folder, or beside an `assessment.json` given by its path."""
    folder = path if path.is_dir() else path.parent
    result = path if path.is_file() else folder / RESULT
    if not result.is_file():
        raise AuditInputError(
            f"result '{path}'",
            expected=f"an audit's {RESULT}, or the folder that holds it",
            found="no such file" if not path.exists() else f"no {RESULT} in this folder",
            fix="give the path of a report folder (report.dir) or of its assessment.json, or a run id",
        )
    verdict = folder / VERDICT
    if not verdict.is_file():
        raise AuditInputError(
            f"result '{result}'",
            expected=f"{VERDICT} beside it (the gate's verdict, written by `audit run`)",
            found=f"no {VERDICT} in {folder}",
            fix="give the folder `audit run` wrote, with all its files",
        )
    manifest = folder / MANIFEST
    checks = folder / CHECKS
    return read_documents(
        result.read_text(encoding="utf-8"),
        verdict.read_text(encoding="utf-8"),
        manifest.read_text(encoding="utf-8") if manifest.is_file() else None,
        where=str(result),
        checks=checks.read_text(encoding="utf-8") if checks.is_file() else None,
    )


def from_run(run_id: str, tracking_uri: str) -> ReportInput:
    """The result an MLflow run logged (its artifacts), downloaded to a temporary folder."""
    from mlflow.exceptions import MlflowException

    from audit.tracking.store import client_for

    client = client_for(tracking_uri)
    subject = f"run '{run_id}'"
    try:
        client.get_run(run_id)
    except MlflowException:
        raise AuditInputError(
            subject,
            expected=f"a run in the tracking store {tracking_uri}",
            found="no run with this id",
            fix="check the run id (the MLflow UI, or the end of `audit run`'s output) and --tracking-uri",
        ) from None
    names = {a.path for a in client.list_artifacts(run_id)}
    if RESULT not in names or VERDICT not in names:
        raise AuditInputError(
            subject,
            expected=f"a finished audit run, with {RESULT} and {VERDICT} among its artifacts",
            found="no stored result (a run that failed, or not an audit run)",
            fix="choose the run of an audit that finished",
        )
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a clean terminal
    with tempfile.TemporaryDirectory() as tmp:
        texts: dict[str, str | None] = {}
        for name in (RESULT, VERDICT, MANIFEST, CHECKS):
            if name in names:
                local = client.download_artifacts(run_id, name, tmp)
                texts[name] = Path(local).read_text(encoding="utf-8")
            else:
                texts[name] = None
    return read_documents(
        texts[RESULT] or "",
        texts[VERDICT] or "",
        texts[MANIFEST],
        where=subject,
        checks=texts[CHECKS],
    )


def read_documents(
    result: str, verdict: str, manifest: str | None, *, where: str, checks: str | None = None
) -> ReportInput:
    assessment = _assessment(result, where)
    try:
        shown = Verdict.from_json(verdict)
    except ValidationError as err:
        raise AuditInputError(
            f"verdict beside {where}",
            expected="a verdict.json written by `audit run`",
            found=_first_error(err),
            fix="give the folder `audit run` wrote, unchanged",
        ) from None
    spec: dict[str, Any] | None = None
    if manifest is not None:
        try:
            spec = json.loads(manifest)
        except json.JSONDecodeError:
            spec = None
    return ReportInput(
        assessment=assessment,
        verdict=shown,
        manifest=spec,
        checks=_checks(checks, where) if checks is not None else (),
    )


def _checks(text: str, where: str) -> tuple[dict[str, Any], ...]:
    """The published harm checks of checks.json (already disclosure-controlled when written)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        document, found = None, f"{err.msg} at line {err.lineno}"
    else:
        found = "no list of checks"
    records = document.get("checks") if isinstance(document, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise AuditInputError(
            f"{CHECKS} beside {where}",
            expected="the harm checks `audit run` wrote (a JSON document with a list 'checks')",
            found=found,
            fix=f"give the folder `audit run` wrote, unchanged (or remove a damaged {CHECKS})",
        )
    return tuple(records)


def _assessment(text: str, where: str) -> Assessment:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise AuditInputError(
            f"result {where}",
            expected="a JSON document",
            found=f"{err.msg} at line {err.lineno}",
            fix="give the assessment.json an audit wrote",
        ) from None
    version = document.get("schema_version") if isinstance(document, dict) else None
    if version != SCHEMA_VERSION:
        raise AuditInputError(
            f"result {where}",
            expected=f"a result of schema version {SCHEMA_VERSION}",
            found=f"schema version {version}" if version is not None else "no schema_version",
            fix="run the audit again with this version (`audit run SPEC.yaml`), then make its report",
        )
    try:
        assessment = Assessment.from_json(text)
    except ValidationError as err:
        raise AuditInputError(
            f"result {where}",
            expected=f"an assessment of schema version {SCHEMA_VERSION}",
            found=_first_error(err),
            fix="give the assessment.json an audit wrote, unchanged",
        ) from None
    if not assessment.disclosure_controlled:
        raise AuditInputError(
            f"result {where}",
            expected="the published assessment (disclosure_controlled: true)",
            found="an assessment at full precision, which may describe groups too small to publish",
            fix="make reports from the files `audit run` writes, which are published forms",
        )
    return assessment


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(x) for x in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
