"""`audit run SPEC.yaml`: the whole audit from a spec, with the release gate's exit code."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from audit.pipeline import AuditOutcome, RunOptions, run_audit
from audit.spec import load_spec, spec_schema

EXIT_OK, EXIT_POLICY_FAILED, EXIT_INTERRUPTED = 0, 1, 130
STATUS_STYLE = {"pass": "green", "fail": "bold red", "not_evaluable": "yellow"}


def run(
    spec_path: Annotated[
        Path | None, typer.Argument(metavar="SPEC.yaml", help="The audit spec (see examples/).")
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option("--tracking-uri", help="MLflow store or server; overrides tracking.uri."),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Model in production (models:/NAME@champion), previous audit (runs:/RUN_ID) "
            "or assessment.json: fail when the candidate is significantly worse.",
        ),
    ] = None,
    promote: Annotated[
        str | None,
        typer.Option(
            "--promote", help="Move this registry alias to the audited version on a pass."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the result files (default: report.dir)."),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write the JUnit XML of the gate here.")
    ] = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON schema of the spec and exit.")
    ] = False,
) -> None:
    """Run the audit a spec describes; exit 0 when the gate passes, 1 when it fails, 2 on bad input."""
    if schema:
        print(spec_schema())
        return
    if spec_path is None:
        raise typer.BadParameter(
            "give the spec file, e.g. audit run examples/belgian-profiling.yaml"
        )
    spec = load_spec(spec_path)
    console = Console(stderr=True)
    # SIGTERM (a CI job cancelled) ends the audit like Ctrl-C, so its MLflow run is marked FAILED.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcome = run_audit(
            spec,
            spec_text=spec_path.read_text(encoding="utf-8"),
            options=RunOptions(
                tracking_uri=tracking_uri,
                baseline=baseline,
                promote=promote,
                report_dir=out,
                junit=junit,
            ),
            console=console,
        )
    except KeyboardInterrupt:
        console.print("[red]interrupted: the MLflow run is marked FAILED; no report was written[/]")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print_verdict(outcome, Console())
    sys.exit(EXIT_OK if outcome.verdict.passed else EXIT_POLICY_FAILED)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def print_verdict(outcome: AuditOutcome, console: Console) -> None:
    verdict = outcome.verdict
    table = Table(title="release gate", title_justify="left")
    for column in ("rule", "status", "compared", "deciding", "reported"):
        table.add_column(column)
    for r in verdict.rules:
        deciding = sum(f.decides for f in r.findings)
        table.add_row(
            f"{r.rule_id}\n[dim]{r.description}[/]",
            f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
            str(r.evaluated),
            str(deciding),
            str(len(r.findings) - deciding),
        )
    console.print(table)
    for finding in verdict.failures[:10]:
        console.print(f"  [red]✗[/] {escape(finding.rule_id)}: {escape(finding.sentence)}")
    if len(verdict.failures) > 10:
        console.print(f"  … and {len(verdict.failures) - 10} more in verdict.json")
    colour = "green" if verdict.passed else "red"
    console.print(f"\n[bold {colour}]verdict: {verdict.label.upper()}[/]")
    console.print(f"results: {outcome.report_dir}/")
    if outcome.run_id:
        console.print(f"MLflow run {outcome.run_id} in {outcome.tracking_uri}")
    if outcome.promoted is not None:
        console.print("alias moved" if outcome.promoted else "alias NOT moved: the gate failed")
