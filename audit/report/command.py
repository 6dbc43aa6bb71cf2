"""`audit report RUN_ID|assessment.json --lang nl [--out DIR]`: a past audit's report again.

Reads the stored result (a result folder, or the artifacts of an MLflow run) and renders it:
nothing is recomputed, so the report says exactly what the audit said. The files are written
together, or none of them (`audit.files.staged_files`): a bad input or a failed render leaves
no file behind and never replaces a good report.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from audit.checks.result import SCHEMA_VERSION as CHECKS_SCHEMA_VERSION
from audit.errors import AuditInputError
from audit.files import require_writable
from audit.report import report_files
from audit.report.sources import (
    CHECKS,
    MANIFEST,
    RESULT,
    VERDICT,
    from_folder,
    from_run,
    looks_like_run_id,
)
from audit.run_command import split_languages
from audit.spec import DEFAULT_TRACKING_URI
from audit.steps.outputs import write_outputs


def report(
    source: Annotated[
        str,
        typer.Argument(
            metavar="RUN_ID|assessment.json",
            help="An audit's MLflow run id, or its assessment.json (or the folder holding it).",
        ),
    ],
    lang: Annotated[
        list[str] | None,
        typer.Option("--lang", help="fr, nl, en (repeat or comma-separate); default: the spec's."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the report (default: the result's folder; reports/<run id> for a run).",
        ),
    ] = None,
    tracking_uri: Annotated[
        str, typer.Option("--tracking-uri", help="MLflow store that holds the run.")
    ] = DEFAULT_TRACKING_URI,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF.")] = True,
) -> None:
    """Render the published report of a past audit from its stored result, without recomputing."""
    asked = split_languages(lang) if lang else None
    from_mlflow = looks_like_run_id(source)
    if not from_mlflow and not Path(source).exists():
        raise AuditInputError(
            f"'{source}'",
            expected=f"an MLflow run id (32 hexadecimal characters) or the path of an {RESULT}",
            found="neither a run id nor an existing file",
            fix="copy the run id from the end of `audit run`'s output, or give the report folder",
        )
    folder = out or (Path("reports") / source if from_mlflow else _folder(Path(source)))
    require_writable(folder, subject=f"--out '{folder}'", folder=True)
    loaded = from_run(source, tracking_uri) if from_mlflow else from_folder(Path(source))
    languages = asked or loaded.languages
    files: dict[str, str | bytes] = dict(
        report_files(
            loaded.assessment,
            loaded.verdict,
            loaded.manifest,
            languages=languages,
            formats=["html", "pdf"] if pdf else ["html"],
            checks=loaded.checks,
        )
    )
    if from_mlflow or folder.resolve() != _folder(Path(source)).resolve():
        # The result JSON beside its report, as `audit run` leaves them.
        files[RESULT] = loaded.assessment.to_json()
        files[VERDICT] = loaded.verdict.to_json()
        if loaded.manifest is not None:
            files[MANIFEST] = json.dumps(loaded.manifest, indent=1, default=str)
        if loaded.checks:  # as `audit.checks.result.checks_json` writes it
            files[CHECKS] = (
                json.dumps(
                    {
                        "schema_version": CHECKS_SCHEMA_VERSION,
                        "min_cell_size": loaded.assessment.settings.min_cell_size,
                        "checks": list(loaded.checks),
                    },
                    indent=1,
                    ensure_ascii=False,
                    allow_nan=False,
                )
                + "\n"
            )
    written = write_outputs({folder / name: content for name, content in files.items()})
    for path in written:
        typer.echo(str(path))


def _folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent
