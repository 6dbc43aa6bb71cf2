"""What the corpus cannot show case by case: outputs replaced all together even when the move
itself fails, what an interruption says about the MLflow run, a server that never answers, and
an interrupted training that leaves no temporary file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from audit.errors import AuditInputError
from audit.files import require_writable, staged_files
from audit.steps.outputs import write_outputs
from tests.bad_inputs.harness import BASE_SPEC, REPO, call_in_process
from tests.pipeline.conftest import cli_env
from tests.pipeline.conftest import report_snapshot as snapshot

# --- all files or none ----------------------------------------------------------------------


def _old_report(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True)
    for name in ("assessment.json", "verdict.json", "summary.md"):
        (folder / name).write_text(f"old {name}\n")
    return snapshot(folder)


def test_a_move_that_fails_midway_puts_every_old_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = tmp_path / "report"
    before = _old_report(report)
    junit = tmp_path / "ci" / "junit.xml"
    outputs = {report / n: f"new {n}\n" for n in ("assessment.json", "verdict.json", "summary.md")}
    outputs[junit] = "<testsuite/>"
    real_replace = os.replace
    moved: list[str] = []

    def replace_then_fail(src: Any, dst: Any) -> None:
        # The third move of a new file fails (a full disk, a folder gone): two are already done.
        if str(src).endswith(".tmp.md") or (".tmp" in str(src) and len(moved) == 2):
            raise OSError(28, "No space left on device", str(src))
        real_replace(src, dst)
        if ".tmp" in str(src):
            moved.append(str(dst))

    monkeypatch.setattr(os, "replace", replace_then_fail)
    with pytest.raises(AuditInputError) as err:
        write_outputs(outputs)
    monkeypatch.undo()

    assert len(moved) == 2  # the failure really came in the middle
    assert snapshot(report) == before  # old content back, no temporary or kept files left
    assert not junit.exists()
    assert "No space left on device" in str(err.value)
    assert ".tmp" not in str(err.value)  # the user's path, not our temporary file
    assert str(report) in str(err.value)


def test_the_block_failing_leaves_nothing(tmp_path: Path) -> None:
    report = tmp_path / "report"
    before = _old_report(report)
    targets = [report / "assessment.json", report / "new.json"]
    with pytest.raises(RuntimeError), staged_files(targets) as temps:
        temps[0].write_text("half")
        raise RuntimeError("the audit failed while writing")
    assert snapshot(report) == before


def test_a_write_error_names_the_target_not_the_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "assessment.json"
    with pytest.raises(AuditInputError) as err, staged_files([target]) as temps:
        raise OSError(13, "Permission denied", str(temps[0]))
    assert f"output '{target}'" in str(err.value)
    assert "Permission denied" in str(err.value)
    assert list((tmp_path / "out").iterdir()) == []


def test_the_writable_check_creates_nothing(tmp_path: Path) -> None:
    require_writable(tmp_path / "a" / "b" / "report", subject="--out", folder=True)
    require_writable(tmp_path / "c" / "junit.xml", subject="--junit", folder=False)
    assert list(tmp_path.iterdir()) == []


# --- what an interruption says ----------------------------------------------------------------


@pytest.fixture
def main_thread_only() -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers can only be set in the main thread")


def _spec(tmp_path: Path) -> Path:
    from audit.data import generate_population

    people = tmp_path / "people.csv"
    generate_population(300, scenario="no_bias", seed=1).people.to_csv(people, index=False)
    text = BASE_SPEC
    for key, value in {
        "name": "interrupted",
        "people": str(people),
        "model": str(REPO / "models" / "profiling_reference.skops"),
        "store": f"sqlite:///{tmp_path}/mlruns/mlflow.db",
        "case": str(tmp_path),
    }.items():
        text = text.replace("{" + key + "}", value)
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _interrupt(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.usefixtures("main_thread_only")
def test_interrupted_before_the_run_existed_does_not_claim_it_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("audit.pipeline.resolve_tracking_uri", _interrupt)
    done = call_in_process(["run", str(_spec(tmp_path))], tmp_path)
    assert done.code == 130
    assert "no MLflow run had been opened yet" in done.stderr
    assert "marked FAILED" not in done.stderr
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.usefixtures("main_thread_only")
def test_interrupted_after_the_run_existed_says_which_run_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.setattr("audit.pipeline.assess_decisions", _interrupt)  # inside the run
    done = call_in_process(["run", str(_spec(tmp_path))], tmp_path)
    assert done.code == 130
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FAILED"
    assert f"the MLflow run {run.info.run_id} is marked FAILED" in done.stderr
    assert not (tmp_path / "reports").exists()


# --- servers that do not answer ---------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers a request."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("register", [True, False], ids=["register", "log-only"])
def test_model_train_gives_up_on_a_silent_server_within_seconds(
    silent_server: str, tmp_path: Path, register: bool
) -> None:
    argv = ["model", "train", "--population", "300", "--out", str(tmp_path / "m.skops")]
    argv += ["--tracking-uri", silent_server] + (["--register", "x"] if register else [])
    done = call_in_process(argv, tmp_path)
    assert done.code == 2, done.stderr
    assert done.seconds < 20, f"took {done.seconds:.1f} s"
    assert "no answer within 5 s" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_mlflow_http_requests_are_bounded_unless_the_user_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from audit.tracking.store import HTTP_LIMITS, bound_http_requests

    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "7")
    bound_http_requests()
    from mlflow.environment_variables import (
        MLFLOW_HTTP_REQUEST_MAX_RETRIES,
        MLFLOW_HTTP_REQUEST_TIMEOUT,
    )

    assert MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() == int(
        HTTP_LIMITS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
    )
    assert MLFLOW_HTTP_REQUEST_TIMEOUT.get() == 7  # the user's own setting wins


# --- an interrupted training ------------------------------------------------------------------


def test_sigterm_during_training_leaves_no_temporary_model_file(tmp_path: Path) -> None:
    """SIGTERM while the staged .tmp.skops exists (MLflow is logging): nothing stays behind."""
    out = tmp_path / "out"
    out.mkdir()
    env = cli_env()
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "audit.cli",
            "model",
            "train",
            "--population",
            "2000",
            "--out",
            str(out / "m.skops"),
            "--tracking-uri",
            f"sqlite:///{tmp_path}/mlflow.db",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".m.skops.*")):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the staged model file never appeared"
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list(out.iterdir()) == []


# --- the manifest can prove two audits saw one model --------------------------------------------


def test_two_audits_of_one_trained_model_record_one_hash(tmp_path: Path) -> None:
    import json

    import yaml

    spec = _spec(tmp_path)
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    document["model"] = {"train": {"task": "profiling"}}
    document["tracking"] = {"enabled": False}
    hashes = []
    for i in range(2):
        document["report"]["dir"] = str(tmp_path / f"report-{i}")
        spec.write_text(yaml.safe_dump(document), encoding="utf-8")
        done = call_in_process(["run", str(spec)], tmp_path)
        assert done.code == 0, done.stderr
        manifest = json.loads((tmp_path / f"report-{i}" / "manifest.json").read_text())
        hashes.append(manifest["model"]["sha256"])
    assert hashes[0] == hashes[1]


def test_a_csv_saved_as_utf8_with_a_byte_order_mark_reads_as_written(tmp_path: Path) -> None:
    """Spreadsheets' "CSV UTF-8" starts with a BOM; the first column keeps its own name."""
    from audit.tables import read_table

    path = tmp_path / "d.csv"
    path.write_bytes("\ufeffperson_id,gender\np1,female\n".encode())
    assert list(read_table(path).columns) == ["person_id", "gender"]
