"""Faults in `audit run`: each is an exit code, a FAILED MLflow run with its reason (or, for inputs
refused before the audit starts, no MLflow record at all), and no change to the result files an
earlier audit left behind.

Exit codes: 0 gate passed, 1 gate failed, 2 bad input (one `error: ...` message, no traceback),
130 interrupted.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from audit.data import generate_population, load_people

SHIPPED_MODEL = Path(__file__).resolve().parents[2] / "models" / "profiling_reference.skops"
N = 4000


def _one_failed_run(runs: list[Any]) -> Any:
    assert len(runs) == 1, [r.info.status for r in runs]
    (run,) = runs
    assert run.info.status == "FAILED"
    assert run.data.tags["audit.status"] == "failed"
    assert "audit.verdict" not in run.data.tags  # it never got that far
    return run


def _input_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one-message form of an input error, whitespace collapsed."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("error: ") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return " ".join(result.stderr[result.stderr.index("error: ") :].split())


@pytest.fixture
def earlier_report(good_audit: Any, tmp_path: Path, snapshot: Callable[..., Any]) -> Any:
    """The report folder of a good audit, copied where the failing audit will write."""
    folder = tmp_path / "reports" / "x"
    shutil.copytree(good_audit.spec.report_dir, folder)
    before = snapshot(folder)
    assert "assessment.json" in before

    def unchanged() -> None:
        assert snapshot(folder) == before, "the failed audit changed the earlier report"

    return unchanged


@pytest.fixture(scope="module")
def people() -> Any:
    return generate_population(N, scenario="all_harms", seed=7).people


def test_data_failing_the_schema(
    people: Any,
    make_spec: Callable[..., Any],
    audit_cli: Callable[..., Any],
    mlflow_runs: Callable[[str], list[Any]],
    earlier_report: Any,
    tmp_path: Path,
) -> None:
    valid = tmp_path / "people-valid.csv"
    people.to_csv(valid, index=False)
    assert len(load_people(valid)) == N  # only the corruption below makes it fail
    corrupt = people.astype({"housing_status": "str"})
    corrupt.loc[17, "housing_status"] = "castle"
    data = tmp_path / "people.csv"
    corrupt.to_csv(data, index=False)

    spec = make_spec(data={"synthetic": None, "file": str(data)})
    message = _input_error(audit_cli(spec))

    assert "housing_status" in message
    assert "castle" in message
    # Refused before the audit starts: no experiment, no run, the store's database not created.
    assert not list(tmp_path.rglob("mlflow.db"))
    earlier_report()


def test_model_that_cannot_predict_on_the_data(
    people: Any,
    make_spec: Callable[..., Any],
    audit_cli: Callable[..., Any],
    mlflow_runs: Callable[[str], list[Any]],
    earlier_report: Any,
    tmp_path: Path,
) -> None:
    data = tmp_path / "people.parquet"
    people.drop(columns=["has_car"]).to_parquet(data)  # an input of the shipped model

    spec = make_spec(
        data={"synthetic": None, "file": str(data), "schema": "none"},
        model={"train": None, "uri": str(SHIPPED_MODEL)},
    )
    message = _input_error(audit_cli(spec))

    assert str(SHIPPED_MODEL) in message or SHIPPED_MODEL.name in message
    assert "missing columns 'has_car'" in message
    run = _one_failed_run(mlflow_runs(spec.tracking_uri))
    assert "has_car" in run.data.tags["audit.error"]
    assert run.data.tags["audit.model.sha256"]  # the model was opened, then failed on the data
    earlier_report()


def test_failure_after_the_statistics_leaves_the_earlier_report(
    make_spec: Callable[..., Any],
    audit_cli: Callable[..., Any],
    mlflow_runs: Callable[[str], list[Any]],
    earlier_report: Any,
    tmp_path: Path,
) -> None:
    # The baseline is read after the statistics, just before the result files are written.
    baseline = tmp_path / "old" / "assessment.json"
    baseline.parent.mkdir()
    baseline.write_text(json.dumps({"schema_version": "0.1", "groups": []}))

    spec = make_spec()
    message = _input_error(audit_cli(spec, "--baseline", str(baseline)))

    assert f"baseline '{baseline}'" in message
    run = _one_failed_run(mlflow_runs(spec.tracking_uri))
    assert "baseline" in run.data.tags["audit.error"]
    earlier_report()
    assert not list(spec.report_dir.glob(".*"))  # no temporary files left behind


@pytest.mark.parametrize(
    ("changes", "key", "needle"),
    [
        pytest.param({"statistics": {"nboot": 5}}, "statistics.nboot", "nboot:", id="unknown-key"),
        pytest.param(
            {"statistics": {"n_boot": "many"}}, "statistics.n_boot", "n_boot:", id="not-a-number"
        ),
        pytest.param(
            {
                "policy": {
                    "rules": [{"id": "r", "metric": "selection_rate", "max_abs": "five percent"}]
                }
            },
            "policy.rules[0].max_abs",
            "max_abs:",
            id="bad-rule-bound",
        ),
        pytest.param(
            {"tracking": {"fallback_local": "sometimes"}},
            "tracking.fallback_local",
            "fallback_local:",
            id="not-a-boolean",
        ),
    ],
)
def test_spec_error_stops_before_any_tracking(
    changes: dict[str, Any],
    key: str,
    needle: str,
    make_spec: Callable[..., Any],
    audit_cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    spec = make_spec(**changes)
    message = _input_error(audit_cli(spec))

    assert f"error: {spec.path}:{spec.line_of(needle)}: key '{key}': expected " in message
    assert "Hint: " in message
    assert not (tmp_path / "mlruns").exists()  # validated before the store is even opened
    assert not spec.report_dir.exists()


def test_unwritable_report_folder_is_found_before_the_audit(
    make_spec: Callable[..., Any],
    audit_cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    spec = make_spec(report={"dir": str(tmp_path / "a-file" / "x")})
    message = _input_error(audit_cli(spec))

    # Named by the user's path, and found before any work: no store, no run, not exit 1.
    assert f"report folder (report.dir) '{tmp_path / 'a-file' / 'x'}'" in message
    assert f"'{tmp_path / 'a-file'}' is a file" in message
    assert not (tmp_path / "mlruns").exists()


# --- interruptions -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_audit_is_recorded_as_failed(
    signum: signal.Signals,
    make_spec: Callable[..., Any],
    start_cli: Callable[..., Any],
    running_run: Callable[..., str],
    mlflow_runs: Callable[[str], list[Any]],
    tmp_path: Path,
) -> None:
    # Large enough that the audit is still generating data or training when the signal comes.
    spec = make_spec(data={"synthetic": {"n": 600_000}})
    process = start_cli(spec)
    run_id = running_run(tmp_path / "mlruns" / "mlflow.db", process)

    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr
    run = _one_failed_run(mlflow_runs(spec.tracking_uri))
    assert run.info.run_id == run_id
    assert run.data.tags["audit.error"] == "interrupted"
    assert not spec.report_dir.exists()


def test_interrupt_while_the_run_is_created_still_fails_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mlflow_runs: Callable[[str], list[Any]]
) -> None:
    """Ctrl-C just after MLflow stored the run, before the audit holds it: still FAILED.

    In-process, so the signal lands at exactly that moment rather than by chance.
    """
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set in the main thread")
    from mlflow import MlflowClient

    from audit.tracking.runs import open_audit_run

    create_run = MlflowClient.create_run

    def create_then_interrupt(self: MlflowClient, *args: Any, **kwargs: Any) -> Any:
        run = create_run(self, *args, **kwargs)
        signal.raise_signal(signal.SIGINT)
        return run

    monkeypatch.setattr(MlflowClient, "create_run", create_then_interrupt)
    uri = f"sqlite:///{tmp_path}/mlruns/mlflow.db"
    entered = False
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with (
            pytest.raises(KeyboardInterrupt),
            open_audit_run(uri, experiment="e", run_name="r", tags={}),
        ):
            entered = True
    finally:
        signal.signal(signal.SIGINT, previous)

    assert not entered  # the audit itself never started
    run = _one_failed_run(mlflow_runs(uri))
    assert run.data.tags["audit.error"] == "interrupted"
