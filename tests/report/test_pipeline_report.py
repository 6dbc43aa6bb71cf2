"""`audit run` publishes the report with its other files, and `audit report` makes it again.

A real audit (the shipped profiling model on 2,000 synthetic people) logged to a real MLflow
store. The report is written atomically with the result files: when its rendering fails, the
earlier report and every other file stay as they were and the MLflow run is FAILED.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from audit.pipeline import AuditOutcome, RunOptions, run_audit
from audit.spec import parse_spec

REPO = Path(__file__).resolve().parents[2]
REPORT_FILES = {
    f"{name}.{ext}" for name in ("report", "report.fr", "report.en") for ext in ("html", "pdf")
}


def spec_text(root: Path) -> str:
    return yaml.safe_dump(
        {
            "name": "report-pipeline",
            "description": "The shipped profiling model on synthetic people.",
            "data": {"synthetic": {"scenario": "all_harms", "n": 2000, "seed": 3}},
            "model": {"uri": str(REPO / "models" / "profiling_reference.skops")},
            "outcome": "job_28d_6m",
            "decision": {"bands": {"high": 0.66, "low": 0.25}, "examined": ["high"]},
            "attributes": [{"column": "housing_status", "reference": "stable"}, "gender"],
            "statistics": {"n_boot": 50, "seed": 3},
            "policy": {
                "rules": [{"id": "ff", "metric": "selection_rate", "kind": "ratio", "min": 0.8}]
            },
            "tracking": {"uri": f"sqlite:///{root}/mlruns/mlflow.db"},
            "report": {
                "dir": str(root / "out"),
                "languages": ["fr", "en"],
                "contact": "comments@example.org",
                "respond_by": "2027-01-31",
            },
        }
    )


def audit(root: Path, **options: Any) -> AuditOutcome:
    text = spec_text(root)
    return run_audit(
        parse_spec(text),
        spec_text=text,
        options=RunOptions(**options),
        console=Console(file=io.StringIO()),
    )


@pytest.fixture(scope="module")
def done(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AuditOutcome]:
    root = tmp_path_factory.mktemp("pipeline")
    return root, audit(root)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_report_is_written_with_the_result_files(done: tuple[Path, AuditOutcome]) -> None:
    root, _outcome = done
    names = {p.name for p in (root / "out").iterdir()}
    assert REPORT_FILES | {"assessment.json", "verdict.json", "summary.md"} <= names
    assert (root / "out" / "report.html").read_bytes() == (
        root / "out" / "report.fr.html"
    ).read_bytes()
    assert (root / "out" / "report.fr.pdf").read_bytes().startswith(b"%PDF-")
    html = (root / "out" / "report.en.html").read_text(encoding="utf-8")
    assert "comments@example.org" in html and "31 January 2027" in html


def test_the_report_is_logged_to_the_mlflow_run(done: tuple[Path, AuditOutcome]) -> None:
    from mlflow import MlflowClient

    _root, outcome = done
    client = MlflowClient(tracking_uri=outcome.tracking_uri)
    assert outcome.run_id is not None
    logged = {a.path for a in client.list_artifacts(outcome.run_id)}
    assert logged >= REPORT_FILES


def test_a_failed_render_never_replaces_a_good_report(
    done: tuple[Path, AuditOutcome], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    import audit.report.render as render

    root, outcome = done
    before = snapshot(root / "out")

    def broken(html: str) -> bytes:  # what a missing system library would do mid-render
        raise render.ReportRenderError("WeasyPrint cannot run here: no pango")

    monkeypatch.setattr(render, "render_pdf", broken)
    with pytest.raises(render.ReportRenderError):
        audit(root)
    assert snapshot(root / "out") == before  # no file replaced, no temporary file left
    client = MlflowClient(tracking_uri=outcome.tracking_uri)
    runs = client.search_runs(
        [client.get_run(outcome.run_id or "").info.experiment_id], order_by=["start_time DESC"]
    )
    assert runs[0].info.status == "FAILED"
    assert "audit.verdict" not in runs[0].data.tags


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from audit.cli import main

    old = sys.argv
    sys.argv = ["audit", *argv]
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_audit_report_renders_a_past_run_without_recomputing(
    done: tuple[Path, AuditOutcome], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root, outcome = done
    assert outcome.run_id is not None
    code, _out, err = cli(
        [
            "report",
            outcome.run_id,
            "--lang",
            "nl",
            "--tracking-uri",
            outcome.tracking_uri or "",
            "--out",
            str(tmp_path / "from-run"),
            "--no-pdf",
        ],
        capsys,
    )
    assert code == 0, err
    code, _out, err = cli(
        [
            "report",
            str(root / "out"),
            "--lang",
            "nl",
            "--out",
            str(tmp_path / "from-folder"),
            "--no-pdf",
        ],
        capsys,
    )
    assert code == 0, err
    from_run = (tmp_path / "from-run" / "report.nl.html").read_text(encoding="utf-8")
    from_folder = (tmp_path / "from-folder" / "report.nl.html").read_text(encoding="utf-8")
    assert from_run == from_folder  # the same stored result, the same report
    assert "Kort gezegd" in from_run and "comments@example.org" in from_run
    # The result JSON beside the report, exactly as the audit published it.
    assert (tmp_path / "from-run" / "assessment.json").read_text(encoding="utf-8") == (
        root / "out" / "assessment.json"
    ).read_text(encoding="utf-8")
    assert not (tmp_path / "from-folder" / "report.nl.pdf").exists()  # --no-pdf
    code, _out, err = cli(
        ["report", str(root / "out"), "--lang", "en", "--out", str(tmp_path / "pdf"), "--pdf"],
        capsys,
    )
    assert code == 0, err
    assert (tmp_path / "pdf" / "report.en.pdf").read_bytes().startswith(b"%PDF-")


def test_run_lang_overrides_the_spec(tmp_path: Path) -> None:
    from audit.run_command import split_languages

    assert split_languages(["nl,en", "nl"]) == ["nl", "en"]
    outcome = audit(tmp_path, languages=("nl",))
    names = {p.name for p in outcome.files}
    assert {"report.nl.html", "report.html", "report.nl.pdf"} <= names
    assert "report.fr.html" not in names
