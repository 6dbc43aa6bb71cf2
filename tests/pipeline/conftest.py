"""Shared helpers for the `audit run` tests: small specs, the CLI as a real subprocess, MLflow.

Every audit here runs as a separate process (`.venv/bin/audit run SPEC`), exactly as a CI job
would, so exit codes, signals and concurrent access to one store are the real thing. Specs are
small (4,000 synthetic people, 200 bootstrap replicates) so each audit takes a few seconds,
most of it importing scikit-learn and MLflow.

The helpers are fixtures, not importable functions: with `--import-mode=importlib` the test
files cannot import this module.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = REPO / "models" / "profiling_reference.skops"
N_PEOPLE = 4000
N_BOOT = 200
CLI_TIMEOUT_S = 300
SERVER_START_TIMEOUT_S = 90


def _audit_executable() -> str:
    beside = Path(sys.executable).parent / "audit"
    if beside.exists():
        return str(beside)
    found = shutil.which("audit")
    if found is None:  # pragma: no cover - the package is always installed in the venv
        pytest.fail("the `audit` command is not installed next to this Python")
    return found


AUDIT = _audit_executable()
MLFLOW = str(Path(AUDIT).parent / "mlflow")


def cli_env() -> dict[str, str]:
    """The environment of every subprocess: no tracking settings leaking in from the shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_TRACKING", "MLFLOW_REGISTRY", "MLFLOW_EXPERIMENT"))
    }
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", PYTHONUNBUFFERED="1")
    return env


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` over `base`, recursively for mappings; a value of None removes the key."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def base_spec(root: Path) -> dict[str, Any]:
    """A small, fast audit of a reference model trained on half of a synthetic population."""
    return {
        "name": "pipeline-test",
        "data": {"synthetic": {"scenario": "all_harms", "n": N_PEOPLE, "seed": 7}},
        "model": {"train": {"task": "profiling", "features": "full"}},
        "outcome": "job_28d_6m",
        "decision": {"bands": {"high": 0.66, "low": 0.25}, "examined": ["high"]},
        "attributes": [
            {"column": "mental_health_history", "reference": "False"},
            {"column": "housing_status", "reference": "stable"},
            {"column": "digital_literacy", "reference": "high"},
        ],
        "intersections": 1,
        "statistics": {"n_boot": N_BOOT, "seed": 7},
        "policy": {"rules": [LOOSE_RULE]},
        "tracking": {"uri": f"sqlite:///{root}/mlruns/mlflow.db"},
        # The HTML report only: its PDF (seconds per audit) is tested in tests/report.
        "report": {"dir": str(root / "reports" / "x"), "formats": ["html"]},
    }


# A rule every model passes: no selection rate differs from its reference by 99 points.
LOOSE_RULE = {"id": "loose", "metric": "selection_rate", "kind": "difference", "max_abs": 0.99}


@dataclass(frozen=True)
class Spec:
    """A spec written to disk, with what the tests need to find its results."""

    path: Path
    document: dict[str, Any]

    @property
    def tracking_uri(self) -> str:
        return str(self.document["tracking"]["uri"])

    @property
    def report_dir(self) -> Path:
        return Path(self.document["report"]["dir"])

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def line_of(self, needle: str) -> int:
        """1-based number of the first line of the spec file containing `needle`."""
        for number, line in enumerate(self.text.splitlines(), start=1):
            if needle in line:
                return number
        raise AssertionError(f"{needle!r} not in {self.path}")


def write_spec(root: Path, filename: str = "spec.yaml", **changes: Any) -> Spec:
    document = _merge(base_spec(root), changes)
    path = root / filename
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return Spec(path, document)


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[..., Spec]:
    """make_spec(filename="spec.yaml", **changes) -> the base spec with `changes`, in tmp_path.

    `changes` are merged into the base spec recursively (`statistics={"n_boot": 50}` keeps the
    seed); a value of None removes a key (`model={"train": None, "uri": ...}`).
    """

    def make(filename: str = "spec.yaml", **changes: Any) -> Spec:
        return write_spec(tmp_path, filename, **changes)

    return make


def run_cli(
    spec: Spec | Path, *args: str, cwd: Path, timeout: float = CLI_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    path = spec.path if isinstance(spec, Spec) else spec
    return subprocess.run(
        [AUDIT, "run", str(path), *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def audit_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """audit_cli(spec, *args, timeout=...) -> `audit run SPEC ARGS` finished, in tmp_path."""

    def run(
        spec: Spec | Path, *args: str, timeout: float = CLI_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        return run_cli(spec, *args, cwd=tmp_path, timeout=timeout)

    return run


# Python ignores SIGINT in a child whose parent ignored it (as some CI runners and xdist workers
# do); resetting it before exec gives the audit the Ctrl-C handling a terminal would.
_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


@pytest.fixture
def start_cli(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """start_cli(spec, *args) -> a running `audit run` (killed at teardown if still running)."""
    started: list[subprocess.Popen[str]] = []

    def start(spec: Spec, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", _WITH_DEFAULT_SIGINT, AUDIT, "run", str(spec.path), *args],
            cwd=tmp_path,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


# --- reading MLflow back -------------------------------------------------------------------


def all_runs(uri: str) -> list[Any]:
    """Every run in every experiment of the store at `uri`."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiments = client.search_experiments(view_type=ViewType.ALL)
    if not experiments:
        return []
    return list(
        client.search_runs(
            [e.experiment_id for e in experiments], run_view_type=ViewType.ALL, max_results=1000
        )
    )


def audit_runs(uri: str) -> list[Any]:
    """The audit runs (not the runs that logged trained models) of the store at `uri`."""
    return [r for r in all_runs(uri) if "audit.status" in r.data.tags]


@pytest.fixture
def mlflow_runs() -> Callable[[str], list[Any]]:
    """mlflow_runs(uri) -> the audit runs in that store (read with MlflowClient)."""
    return audit_runs


@pytest.fixture
def every_run() -> Callable[[str], list[Any]]:
    """every_run(uri) -> all runs in that store, the trained models' runs included."""
    return all_runs


def wait_for_running_run(db: Path, process: subprocess.Popen[str], timeout: float = 120) -> str:
    """Polls a SQLite store, read-only, until it holds a RUNNING run; returns its id.

    Read with sqlite3 rather than MlflowClient: a client would create and migrate the store
    itself, racing the audit that is creating it.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"the audit ended (exit {process.returncode}) early:\n{err}")
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
                    row = con.execute(
                        "SELECT run_uuid FROM runs WHERE status = 'RUNNING'"
                    ).fetchone()
            except sqlite3.OperationalError:  # tables not created yet, or locked a moment
                row = None
            if row is not None:
                return str(row[0])
        time.sleep(0.05)
    raise AssertionError(f"no RUNNING run in {db} within {timeout:g} s")


@pytest.fixture
def running_run() -> Callable[..., str]:
    """running_run(db_path, process) -> id of the RUNNING run once the audit has opened it."""
    return wait_for_running_run


def report_snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden temporary files included) and its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, bytes]]:
    """snapshot(folder) -> {relative path: bytes} of every file in it."""
    return report_snapshot


# --- one good audit, shared --------------------------------------------------------------------


@dataclass(frozen=True)
class GoodAudit:
    spec: Spec
    run_id: str


@pytest.fixture(scope="session")
def good_audit(tmp_path_factory: pytest.TempPathFactory) -> GoodAudit:
    """One passing audit of the base spec: its report, store and run (read only, please).

    Run once for all test workers: the first to need it runs it, the others wait and reuse it.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "good-audit"
    done = root / "run.json"
    with FileLock(str(shared / "good-audit.lock"), timeout=CLI_TIMEOUT_S):
        if not done.exists():
            root.mkdir(exist_ok=True)
            spec = write_spec(root)
            result = run_cli(spec, cwd=root)
            assert result.returncode == 0, result.stderr
            (run,) = audit_runs(spec.tracking_uri)
            done.write_text(json.dumps({"run_id": run.info.run_id}))
    path = root / "spec.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return GoodAudit(Spec(path, document), json.loads(done.read_text())["run_id"])


# --- a real MLflow tracking server -------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of an `mlflow server` with a SQLite backend and proxied artifacts (per worker)."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (root / "server.log").open("w")
    env = cli_env()
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no background job workers needed
    server = subprocess.Popen(
        [
            MLFLOW,
            "server",
            "--backend-store-uri",
            f"sqlite:///{root}/srv.db",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so its workers stop with it
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not _healthy(url):
            if server.poll() is not None:
                pytest.fail(f"mlflow server exited ({server.returncode}):\n{_tail(root)}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"mlflow server not healthy in {SERVER_START_TIMEOUT_S} s:\n{_tail(root)}"
                )
            time.sleep(0.2)
        yield url
    finally:
        _stop(server)
        log.close()


def _tail(root: Path) -> str:
    return "\n".join((root / "server.log").read_text(errors="replace").splitlines()[-30:])


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stops the server and every process of its group (uvicorn's worker among them)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:  # the whole group is gone
            return
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            time.sleep(0.5)  # a moment for its workers to follow; then make sure


@pytest.fixture
def result_files() -> set[str]:
    """The files every successful audit leaves, in its report folder and as MLflow artifacts."""
    return {
        "assessment.json",
        "verdict.json",
        "manifest.json",
        "junit.xml",
        "spec.yaml",
        "summary.md",
        "report.html",
        "report.en.html",
    }
