"""`run_audit`: the whole audit, in the order of the architecture picture.

spec -> data -> model -> outputs (decisions) -> statistics and metrics -> harm checks -> verdict
-> sinks.

The inputs are checked before the MLflow store is touched: the spec, the data against the spec,
and the model it names (opened, not yet run). A refusal there is an input error and creates no
experiment and no run. The MLflow run is opened next, before any work on the inputs, so an audit
that fails from then on (a model that cannot predict on the data, training, the statistics, a
baseline, an interruption) is recorded as FAILED with its reason. Result files are written only
once everything succeeded, all together, and the MLflow registry is touched last: a failed audit
never tags or promotes a model.

The gate decides on the assessment at full precision; everything that leaves the process (files,
MLflow, the terminal) is made from its published form, in which no figure describes fewer than
`statistics.min_cell_size` people (`audit.disclosure`).
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from audit.checks.base import CheckOutcome
from audit.checks.cases import case_files, case_salt, require_case_dir, require_case_ids
from audit.checks.result import checks_json, published_checks
from audit.disclosure import publish_verdict, suppress
from audit.files import require_writable
from audit.gate import Verdict, evaluate_policy
from audit.manifest import build_manifest, resolved_aliases
from audit.report import report_files
from audit.spark.steps import load_spark_data, spark_audit
from audit.spec import AuditSpec
from audit.stats.result import Assessment
from audit.steps.baseline import load_baseline, paired_regressions
from audit.steps.checks import harm_checks
from audit.steps.data import AuditData, load_data
from audit.steps.decisions import decide
from audit.steps.model import obtain_model
from audit.steps.outputs import result_files, write_files, write_outputs
from audit.steps.statistics import assess_decisions
from audit.tracking import registry
from audit.tracking.experiments import experiment_name, runs_view_link
from audit.tracking.naming import KEY_FILE
from audit.tracking.quiet import quiet_mlflow
from audit.tracking.record import key_document, tracked_entries
from audit.tracking.runs import (
    AuditRun,
    flatten_params,
    open_audit_run,
    redact,
    resolve_tracking_uri,
)


@dataclass(frozen=True)
class RunOptions:
    """What the command line may change without editing the spec."""

    tracking_uri: str | None = None
    baseline: str | None = None
    promote: str | None = None
    report_dir: Path | None = None
    junit: Path | None = None
    languages: tuple[str, ...] | None = None  # of the published report; default report.languages


@dataclass(frozen=True)
class AuditOutcome:
    """What an audit produced. `assessment` and `verdict` are the published forms, as written
    and logged; `full_assessment` and `full_verdict` the in-memory ones the gate decided on."""

    assessment: Assessment
    verdict: Verdict
    report_dir: Path
    files: list[Path]
    run_id: str | None
    tracking_uri: str | None
    promoted: bool | None
    timings: dict[str, float] = field(default_factory=dict)
    full_assessment: Assessment | None = None
    full_verdict: Verdict | None = None
    runs_view: str | None = None  # the MLflow UI's page of this model's audits, on a server
    checks: tuple[CheckOutcome, ...] = ()  # in memory, with their flagged cases


def run_audit(
    spec: AuditSpec,
    *,
    spec_text: str,
    options: RunOptions | None = None,
    console: Console | None = None,
) -> AuditOutcome:
    options = options or RunOptions()
    console = console or Console(stderr=True)
    quiet_mlflow()  # MLflow's INFO lines and links stay out of the audit's output
    report_dir = options.report_dir or spec.report_dir
    _require_outputs_writable(report_dir, options)  # before any work, not after all of it
    salt = _case_salt(spec, report_dir)
    uri = resolve_tracking_uri(spec.tracking, options.tracking_uri)
    registry.require_registry_model(options.promote, spec.model.registry_name, uri)
    asked = options.tracking_uri or spec.tracking.uri
    if uri is not None and uri != asked:
        console.print(
            f"[yellow]tracking server {redact(asked)} did not answer; logging to {uri} "
            "as tracking.fallback_local asks[/]"
        )
    baseline_source = options.baseline or spec.policy.baseline
    steps = _Steps(console)
    started = time.perf_counter()
    data: AuditData | None = None
    if spec.spark is None:
        with steps("data"):
            data = load_data(spec)
            if salt is not None and spec.cases is not None:  # the review file's ids, first
                require_case_ids(data.audited, spec.cases.id_column)
    opened = None
    if spec.model.train is None:  # an imported model is opened before the run; training is work
        with steps("model"):
            opened = obtain_model(spec, None, uri)
    with _tracked(uri, spec) as run:
        if spec.spark is not None:
            # Spark starts inside the run: a cluster that does not answer marks it FAILED.
            with steps(f"data on Spark ({spec.spark.master})"):
                on_spark = load_spark_data(spec)
            fingerprint = on_spark.fingerprint
        if opened is None:
            assert data is not None  # training is refused with engine spark (spec)
            with steps("model"):
                opened = obtain_model(spec, data.train, uri)
        audited_model = opened
        model = audited_model.model
        if run is not None:
            run.set_tags(_model_tags(model.identity.as_dict()))
        baseline, paired, baseline_identity = None, None, None
        if data is None:
            checks: tuple[CheckOutcome, ...] = ()  # harm checks are refused with engine spark
            against = f", baseline {baseline_source}" if baseline_source else ""
            with steps(f"decisions and statistics on Spark for {fingerprint['n_rows']:,} people{against}"):
                # A baseline model decides in the same pass: compared person by person (paired).
                on_cluster = spark_audit(spec, model, on_spark, baseline_source, uri)
            assessment, paired = on_cluster.assessment, on_cluster.paired
            if on_cluster.baseline is not None:
                baseline = on_cluster.baseline.assessment
                baseline_identity = on_cluster.baseline.identity
        else:
            fingerprint = data.fingerprint
            with steps(f"decisions for {len(data.audited):,} people"):
                table = decide(spec, model, data.audited)
            with steps(f"statistics ({spec.statistics.n_boot} bootstrap replicates)"):
                assessment = assess_decisions(spec, table)
            if baseline_source:
                with steps(f"baseline {baseline_source}"):
                    loaded = load_baseline(baseline_source, spec, data.audited, uri)
                    baseline = loaded.assessment
                    baseline_identity = loaded.identity
                    if loaded.decisions is not None:  # same people: compared one by one
                        paired = paired_regressions(spec, assessment, table, loaded.decisions)
            with steps(f"harm checks ({len(spec.checks)})"):
                checks = harm_checks(spec, data.audited, table, model, data.rankings)
        verdict = evaluate_policy(
            spec.policy.model_copy(update={"baseline": baseline_source}),
            assessment,
            baseline,
            paired,
            checks,
        )
        # Everything from here on leaves the process: made from the published forms only.
        published = suppress(assessment)
        shown = publish_verdict(verdict, published)
        manifest = build_manifest(
            spec=spec.model_dump(mode="json", by_alias=True),
            spec_sha256=hashlib.sha256(spec_text.encode()).hexdigest(),
            data=fingerprint,
            model=model.identity.as_dict(),
            seed=spec.statistics.seed,
            tracking={"uri": redact(uri) if uri else None, "run_id": run.run_id if run else None},
            aliases=resolved_aliases(model.identity, baseline_identity),
        )
        shown_checks = published_checks(checks, spec.statistics.min_cell_size)
        files: dict[str, str | bytes] = dict(
            result_files(
                assessment=published,
                verdict=shown,
                manifest=manifest,
                spec_text=spec_text,
                suite=spec.name,
                seconds=time.perf_counter() - started,
                junit=spec.report.junit or options.junit is not None,
                checks=shown_checks,
            )
        )
        if spec.checks:
            files["checks.json"] = checks_json(checks, spec.statistics.min_cell_size)
        if spec.report.formats:
            languages = list(options.languages or spec.report.languages)
            # Made before anything is written: a report that fails to render leaves the
            # previous one, and every other result file, as they were.
            with steps(f"report ({', '.join(languages)}: {', '.join(spec.report.formats)})"):
                files.update(
                    report_files(
                        published,
                        shown,
                        manifest,
                        languages=languages,
                        formats=spec.report.formats,
                        checks=shown_checks,
                    )
                )
        if run is not None:
            with steps("logging to MLflow"):
                _log(run, spec, model.identity.as_dict(), published, shown, files)
                _log_checks(run, checks, spec.statistics.min_cell_size)
        outputs: dict[Path, str | bytes] = {
            report_dir / name: content for name, content in files.items()
        }
        if data is not None and salt is not None and spec.cases is not None:  # never in MLflow
            review = case_files(
                checks,
                data.audited,
                salt=salt,
                id_column=spec.cases.id_column,
                title=spec.name,
                sensitive=_sensitive_columns(spec),
            )
            outputs.update({spec.cases.dir / name: text for name, text in review.items()})
        if options.junit is not None:
            outputs[options.junit] = files["junit.xml"]
        written = write_outputs(outputs)  # the report and --junit together, or none of them
        if run is not None:
            _tag_verdict(run, shown)
        promoted = None
        target = registry.audited_version(
            audited_model.registry_name, audited_model.registry_version
        )
        if run is not None and target is not None:
            registry.tag_version(run.client, target, shown, run.run_id, spec.name)
            if options.promote:
                promoted = registry.promote(run.client, target, options.promote, verdict)
    return AuditOutcome(
        assessment=published,
        verdict=shown,
        report_dir=report_dir,
        files=written,
        run_id=run.run_id if run else None,
        tracking_uri=uri,
        promoted=promoted,
        runs_view=runs_view_link(uri, run.experiment_id) if run and uri else None,
        timings=steps.timings,
        full_assessment=assessment,
        full_verdict=verdict,
        checks=checks,
    )


def _require_outputs_writable(report_dir: Path, options: RunOptions) -> None:
    """An output that cannot be written is found in a second, before the store is opened."""
    where = "--out" if options.report_dir is not None else "report folder (report.dir)"
    require_writable(report_dir, subject=f"{where} '{report_dir}'", folder=True)
    if options.junit is not None:
        require_writable(options.junit, subject=f"--junit '{options.junit}'", folder=False)


def _case_salt(spec: AuditSpec, report_dir: Path) -> bytes | None:
    """The salt of the review file's ids, when a check lists cases; refused before any work."""
    if spec.cases is None or not any(getattr(c, "cases", False) for c in spec.checks):
        return None
    require_case_dir(spec.cases.dir, report_dir)
    require_writable(spec.cases.dir, subject=f"cases.dir '{spec.cases.dir}'", folder=True)
    return case_salt(spec.cases.salt_env)


def _sensitive_columns(spec: AuditSpec) -> set[str]:
    """The group columns of the audit and of its checks: never in the review file."""
    columns = set(spec.groups)
    for c in spec.checks:
        columns.update(getattr(c, "attributes", None) or ())
        if isinstance(getattr(c, "attribute", None), str):
            columns.add(c.attribute)
    return columns


def _log_checks(run: AuditRun, checks: tuple[CheckOutcome, ...], min_cell_size: int) -> None:
    """Each check's status as a tag, its counts as metrics; never a case."""
    if not checks:
        return
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}
    for c in published_checks(checks, min_cell_size):
        tags[f"audit.check.{c['id']}"] = c["status"]
        records = c["evidence"]
        metrics[f"check.{c['id']}.findings"] = sum(r["status"] == "finding" for r in records)
        if c["flagged"] is not None:
            metrics[f"check.{c['id']}.flagged"] = c["flagged"]
    run.set_tags(tags)
    run.log_metrics(metrics)


@contextlib.contextmanager
def _tracked(uri: str | None, spec: AuditSpec) -> Iterator[AuditRun | None]:
    if uri is None:
        yield None
        return
    tags = {"audit.spec": spec.name, "audit.model_source": _model_source(spec)}
    experiment = experiment_name(spec, uri)
    with open_audit_run(uri, experiment=experiment, run_name=spec.name, tags=tags) as run:
        yield run


def _model_source(spec: AuditSpec) -> str:
    m = spec.model
    if m.uri:
        return m.uri
    if m.decisions:
        return str(m.decisions.file)
    return "trained:" + (m.train.features if m.train else "")


def _model_tags(identity: dict[str, str | None]) -> dict[str, str]:
    return {f"audit.model.{k}": v for k, v in identity.items() if v is not None}


def _log(
    run: AuditRun,
    spec: AuditSpec,
    identity: dict[str, str | None],
    assessment: Assessment,
    verdict: Verdict,
    files: dict[str, str | bytes],
) -> None:
    params: dict[str, Any] = flatten_params(spec.model_dump(mode="json", by_alias=True))
    params["tracking.uri"] = redact(spec.tracking.uri)  # a database URI may carry a password
    params.update({f"audited_model.{k}": v for k, v in identity.items() if v is not None})
    run.log_params(params)
    entries = tracked_entries(assessment, verdict, spec.tracking.metrics)
    run.log_metrics({key: value for key, value, _ in entries})
    with tempfile.TemporaryDirectory() as tmp:
        # The key of every metric with the record it holds, so that encoded keys can be read.
        write_files(Path(tmp), {**files, KEY_FILE: key_document(entries)})
        run.log_artifacts(Path(tmp))


def _tag_verdict(run: AuditRun, verdict: Verdict) -> None:
    """Last of all, so a run that fails on the way never shows a verdict."""
    worst = verdict.worst
    failed = [r.rule_id for r in verdict.rules if r.status == "fail"]
    run.set_tags(
        {
            "audit.verdict": verdict.label,
            "audit.release": "allowed" if verdict.release_allowed else "blocked",
            "audit.worst_finding": worst.sentence if worst else "none",
            "audit.rules_failed": ",".join(failed) or "none",
        }
    )


class _Steps:
    """A spinner on each step while it runs, and how long each took."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.timings: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        with self.console.status(f"{name}…"):
            yield
        self.timings[name] = elapsed = time.perf_counter() - start
        self.console.print(f"[green]✓[/] {name} [dim]({elapsed:.1f} s)[/]")
