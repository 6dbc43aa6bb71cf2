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

from audit.gate import Verdict
from audit.numbers import fixed
from audit.pipeline import AuditOutcome, RunOptions, run_audit
from audit.report import check_languages
from audit.spark.options import EngineOption, SparkConfOption, SparkMasterOption, engine_choice
from audit.spec import load_spec, spec_schema
from audit.tracking.runs import RunInterrupted
from audit.verbosity import configure_output

# 2 is "could not run" (AuditError, in audit.cli); 3 tells "the data cannot tell" from a failure.
EXIT_OK, EXIT_POLICY_FAILED, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 3, 130
STATUS_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "inconclusive": "yellow",
    "not_evaluable": "yellow",
}
COLUMNS_EXPLAINED = (
    "compared: groups large enough to count (smaller ones are reported, never deciding); "
    "pass / fail / inconclusive: how many of them the evidence places inside the allowed range, "
    "beyond it (after the confirmatory correction), or cannot place; detectable: for a bound, how "
    "far beyond it a group's true value must lie for the audit to find the breach (80% power), "
    "for a significance rule the smallest gap it detects; the largest over the groups"
)


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
    lang: Annotated[
        list[str] | None,
        typer.Option(
            "--lang",
            help="Language(s) of the published report: fr, nl, en (repeat or comma-separate); "
            "default: report.languages of the spec.",
        ),
    ] = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    spark_conf: SparkConfOption = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="Print the JSON schema of the spec and exit.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also show the libraries' warnings and MLflow's INFO lines."
        ),
    ] = False,
) -> None:
    """Run the audit a spec describes.

    Exit 0 when the gate passes, 1 when it fails, 3 when it is inconclusive (the data cannot tell;
    0 instead when the policy says on_inconclusive: pass), 2 when the audit could not run.
    """
    configure_output(verbose)
    if schema:
        print(spec_schema())
        return
    if spec_path is None:
        raise typer.BadParameter(
            "give the spec file, e.g. audit run examples/belgian-profiling.yaml"
        )
    languages = split_languages(lang) if lang else None
    asked = engine_choice(engine, spark_master, spark_conf)
    spec = load_spec(spec_path, engine=asked.spec_override())
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
                languages=tuple(languages) if languages else None,
            ),
            console=console,
        )
    except KeyboardInterrupt as err:
        console.print(
            f"[red]interrupted: {escape(_interrupted_run(err))}; no report was written[/]"
        )
        sys.exit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print_verdict(outcome, Console())
    sys.exit(exit_code(outcome.verdict))


def split_languages(values: list[str]) -> list[str]:
    """`--lang fr --lang nl` and `--lang fr,nl` alike; an unknown language stops here (exit 2)."""
    asked = [x.strip() for v in values for x in v.split(",") if x.strip()]
    return check_languages(asked, subject="--lang")


def exit_code(verdict: Verdict) -> int:
    if verdict.status == "fail":
        return EXIT_POLICY_FAILED
    return EXIT_OK if verdict.release_allowed else EXIT_INCONCLUSIVE


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _interrupted_run(err: KeyboardInterrupt) -> str:
    """What became of the MLflow run: only a run that existed can have been marked FAILED."""
    if not isinstance(err, RunInterrupted):
        return "no MLflow run had been opened yet"
    if err.marked_failed:
        return f"the MLflow run {err.run_id} is marked FAILED"
    return f"the MLflow run {err.run_id} could not be marked FAILED (the store did not answer)"


def _print_track_shares(outcome: AuditOutcome, console: Console) -> None:
    """Each attribute's track shares, as in summary.md (`*`: significant gap, exploratory)."""
    from audit.track_table import track_cell, track_shares_by_attribute

    for attribute, (names, groups) in track_shares_by_attribute(outcome.assessment.tracks).items():
        table = Table(title=f"track shares by {escape(attribute)}", title_justify="left")
        table.add_column("group", overflow="fold")
        for name in names:
            table.add_column(escape(name))
        for level, by_track in groups.items():
            ref = " (ref)" if next(iter(by_track.values())).is_reference else ""
            table.add_row(escape(level) + ref, *(track_cell(by_track.get(n)) for n in names))
        console.print(table)


CHECK_STYLE = {
    "finding": "red",
    "no_finding": "green",
    "inconclusive": "yellow",
    "not_evaluable": "yellow",
    "skipped": "yellow",
}


def _print_checks(outcome: AuditOutcome, console: Console) -> None:
    """Each harm check's status and sentence; flagged cases as a count (the list is a file)."""
    if not outcome.checks:
        return
    from audit.checks.result import published_checks

    table = Table(title="harm checks", title_justify="left")
    for column in ("check", "code", "status", "flagged"):
        table.add_column(column, overflow="fold")
    shown = published_checks(outcome.checks, outcome.assessment.settings.min_cell_size)
    for c in shown:
        flagged = (
            "-"
            if not c["flagged"] and not c["flagged_fewer_than"]
            else str(c["flagged"])
            if c["flagged"] is not None
            else f"< {c['flagged_fewer_than']}"
        )
        style = CHECK_STYLE[c["status"]]
        table.add_row(
            escape(c["id"]), c["code"], f"[{style}]{c['status'].replace('_', ' ')}[/]", flagged
        )
    console.print(table)
    for c in shown:
        console.print(f"  {escape(c['id'])}: {escape(c['sentence'])}")


def print_verdict(outcome: AuditOutcome, console: Console) -> None:
    verdict = outcome.verdict
    table = Table(title="release gate", title_justify="left", caption=COLUMNS_EXPLAINED)
    table.add_column("rule", overflow="fold")
    for column in ("status", "compared", "pass", "fail", "inconclusive", "detectable"):
        table.add_column(column)
    for r in verdict.rules:
        passed, failed, doubtful = r.group_counts
        gap = r.largest_detectable
        table.add_row(
            escape(r.rule_id),
            f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
            str(r.evaluated),
            str(passed),
            str(failed),
            str(doubtful),
            "-" if gap is None else fixed(gap),
        )
    console.print(table)
    for r in verdict.rules:
        console.print(f"  [dim]{escape(r.rule_id)}: {escape(r.description)}[/]")
    for r in verdict.rules:
        if r.reason:
            console.print(f"  [yellow]?[/] {escape(r.rule_id)}: not evaluable: {escape(r.reason)}")
    for finding in verdict.failures[:10]:
        console.print(f"  [red]✗[/] {escape(finding.rule_id)}: {escape(finding.sentence)}")
    if len(verdict.failures) > 10:
        console.print(f"  … and {len(verdict.failures) - 10} more in verdict.json")
    unsure = [
        f
        for r in verdict.rules
        for f in r.findings
        if f.code in ("BOUND_INCONCLUSIVE", "UNDERPOWERED", "HARM_INCONCLUSIVE")
    ]
    for finding in unsure[:5]:
        console.print(f"  [yellow]?[/] {escape(finding.rule_id)}: {escape(finding.sentence)}")
    if len(unsure) > 5:
        console.print(f"  … and {len(unsure) - 5} more inconclusive groups in verdict.json")
    _print_track_shares(outcome, console)
    _print_checks(outcome, console)
    for note in outcome.assessment.notes:
        console.print(f"  note: {escape(note)}")
    colour = {"pass": "green", "fail": "red", "inconclusive": "yellow"}[verdict.status]
    console.print(f"\n[bold {colour}]verdict: {verdict.label.upper()}[/]")
    if verdict.status == "inconclusive":
        console.print(
            "the data cannot show that every group is within the rules: "
            + (
                "the release is allowed (on_inconclusive: pass)"
                if verdict.release_allowed
                else "the release is blocked (on_inconclusive: fail)"
            )
        )
    console.print(f"results: {outcome.report_dir}/")
    if outcome.run_id:
        console.print(f"MLflow run {outcome.run_id} in {outcome.tracking_uri}")
    if outcome.runs_view:
        # Never wrapped: a link cut in two opens the wrong page.
        console.print(f"this model's audits: {outcome.runs_view}", soft_wrap=True)
    if outcome.promoted is not None:
        console.print(
            "alias moved" if outcome.promoted else "alias NOT moved: the gate did not pass"
        )
