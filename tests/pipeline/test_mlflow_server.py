"""`audit run` against real MLflow components: a tracking server, the model registry, the store.

The server is a real `mlflow server` process (SQLite backend, proxied artifacts), started once
per test worker; the audits are real `audit run` processes.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from audit.data import generate_population

LOOSE_RULE = {"id": "loose", "metric": "selection_rate", "kind": "difference", "max_abs": 0.99}
FOUR_FIFTHS = {"id": "four-fifths", "metric": "selection_rate", "kind": "ratio", "min": 0.8}


def _manifest(report_dir: Path) -> dict[str, Any]:
    return dict(json.loads((report_dir / "manifest.json").read_text(encoding="utf-8")))


# --- a tracking server -------------------------------------------------------------------------


@pytest.mark.slow
def test_audit_is_logged_to_a_tracking_server(
    mlflow_server: str,
    make_spec: Callable[..., Any],
    audit_cli: Callable[..., Any],
    tmp_path: Path,
    result_files: set[str],
) -> None:
    spec = make_spec(name="server-audit", tracking={"uri": mlflow_server})
    result = audit_cli(spec)
    assert result.returncode == 0, result.stderr

    assert {p.name for p in spec.report_dir.iterdir()} == result_files
    manifest = _manifest(spec.report_dir)
    run_id = manifest["tracking"]["run_id"]
    assert manifest["tracking"]["uri"] == mlflow_server

    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["audit.status"] == "finished"
    assert run.data.tags["audit.verdict"] == "pass"
    assert run.data.tags["audit.spec"] == "server-audit"
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "fairness-audit/server-audit"
    metrics = run.data.metrics
    assert 0 <= metrics["overall.selection_rate"] <= 1
    # The lean record: what the gate decided on for each group, not every group figure.
    assert "gate.loose.selection_rate.difference/housing_status.homeless" in metrics
    assert "selection_rate/housing_status.homeless" not in metrics
    assert run.data.params["statistics.n_boot"] == "200"

    # The artifacts went through the server (proxied), not into a local folder of the client...
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    assert {a.path for a in client.list_artifacts(run_id)} >= result_files
    assert not (tmp_path / "mlruns").exists()
    assert not (tmp_path / "mlartifacts").exists()
    # ...and come back byte for byte as the files in the report folder.
    downloaded = tmp_path / "downloaded"
    downloaded.mkdir()
    for name in ("assessment.json", "manifest.json", "verdict.json"):
        local = Path(client.download_artifacts(run_id, name, str(downloaded)))
        assert local.read_bytes() == (spec.report_dir / name).read_bytes(), name
    assert json.loads((downloaded / "manifest.json").read_text())["tracking"] == {
        "uri": mlflow_server,
        "run_id": run_id,
    }
    assert f"MLflow run {run_id}" in " ".join(result.stdout.split())


@pytest.mark.slow
def test_alias_moves_only_when_the_gate_passes(
    mlflow_server: str, make_spec: Callable[..., Any], audit_cli: Callable[..., Any]
) -> None:
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    name = f"m-{time.monotonic_ns()}"  # the server is shared by the tests of one worker

    # 1. Train, register as NAME@candidate, pass the gate, promote: champion -> version 1.
    trained = make_spec(
        "train.yaml",
        name="train-and-register",
        model={"train": {"register": {"name": name, "alias": "candidate"}}},
        tracking={"uri": mlflow_server},
    )
    result = audit_cli(trained, "--promote", "champion")
    assert result.returncode == 0, result.stderr
    first = client.get_model_version_by_alias(name, "champion")
    assert first.version == "1"
    assert first.tags["fairness_audit.verdict"] == "pass"
    assert (
        first.tags["fairness_audit.run_id"] == _manifest(trained.report_dir)["tracking"]["run_id"]
    )

    # 2. A new candidate: version 2 of the same model.
    model_id = first.model_id or first.source.removeprefix("models:/")  # the logged model
    second = client.create_model_version(
        name, source=first.source, run_id=first.run_id, model_id=model_id
    )
    client.set_registered_model_alias(name, "candidate", second.version)
    assert second.version == "2"

    # 3. It fails the four-fifths rule: exit 1, version 2 tagged as failed, champion unmoved.
    failing = make_spec(
        "fail.yaml",
        name="candidate-fails",
        model={"train": None, "uri": f"models:/{name}@candidate"},
        policy={"rules": [FOUR_FIFTHS]},
        tracking={"uri": mlflow_server},
        report={"dir": str(trained.report_dir.parent / "fail")},
    )
    result = audit_cli(failing, "--promote", "champion")
    assert result.returncode == 1, result.stderr
    assert "alias NOT moved" in result.stdout
    failed_run = _manifest(failing.report_dir)["tracking"]["run_id"]
    assert client.get_run(failed_run).data.tags["audit.verdict"] == "fail"
    assert client.get_run(failed_run).info.status == "FINISHED"  # the audit itself worked
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    tags = client.get_model_version(name, "2").tags
    assert tags["fairness_audit.verdict"] == "fail"
    assert tags["fairness_audit.run_id"] == failed_run
    assert client.get_model_version(name, "1").tags["fairness_audit.verdict"] == "pass"

    # 4. The same candidate under a rule it meets: exit 0, champion moves to version 2.
    passing = make_spec(
        "pass.yaml",
        name="candidate-passes",
        model={"train": None, "uri": f"models:/{name}@candidate"},
        tracking={"uri": mlflow_server},
        report={"dir": str(trained.report_dir.parent / "pass")},
    )
    result = audit_cli(passing, "--promote", "champion")
    assert result.returncode == 0, result.stderr
    assert "alias moved" in result.stdout
    passed_run = _manifest(passing.report_dir)["tracking"]["run_id"]
    assert client.get_model_version_by_alias(name, "champion").version == "2"
    tags = client.get_model_version(name, "2").tags
    assert tags["fairness_audit.verdict"] == "pass"
    assert tags["fairness_audit.run_id"] == passed_run
    # The manifest names the version audited, not only the alias that pointed at it.
    model = _manifest(passing.report_dir)["model"]
    assert model["version"] == "2"


# --- a server that cannot be reached -----------------------------------------------------------


@pytest.fixture(params=["refused", "silent"])
def dead_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(kind, URL) where no MLflow answers: nothing listening, or a socket that never replies."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        if request.param == "silent":
            sock.listen(8)  # connections complete, requests are never read or answered
            yield "silent", f"http://127.0.0.1:{port}"
            return
    yield "refused", f"http://127.0.0.1:{port}"  # free a moment ago, and nothing listens


def test_unreachable_server_is_an_input_error(
    dead_server: tuple[str, str],
    make_spec: Callable[..., Any],
    audit_cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    kind, url = dead_server
    spec = make_spec(tracking={"uri": url})
    started = time.monotonic()
    result = audit_cli(spec, timeout=120)
    elapsed = time.monotonic() - started

    assert result.returncode == 2, result.stderr
    # The health check gives up after 5 s; MLflow's own retries would take minutes.
    assert elapsed < 20, f"took {elapsed:.0f} s"
    message = " ".join(result.stderr.split())
    assert message.startswith("error: ")
    assert f"MLflow tracking server '{url}'" in message
    assert "mlflow server" in message  # how to start one
    assert "tracking.fallback_local: true" in message  # or how to log locally instead
    assert "Traceback" not in result.stderr
    if kind == "silent":
        assert "no answer within 5 s" in message
    else:
        assert "no connection" in message and "refused" in message
    assert not spec.report_dir.exists()
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_fallback_logs_to_the_local_store(
    make_spec: Callable[..., Any],
    audit_cli: Callable[..., Any],
    mlflow_runs: Callable[[str], list[Any]],
    tmp_path: Path,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    spec = make_spec(tracking={"uri": dead, "fallback_local": True})
    result = audit_cli(spec)
    assert result.returncode == 0, result.stderr

    # sqlite:///mlruns/mlflow.db is relative to the directory the audit ran in.
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()
    (run,) = mlflow_runs(f"sqlite:///{tmp_path}/mlruns/mlflow.db")
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith((tmp_path / "mlruns" / "mlartifacts").as_uri())
    manifest = _manifest(spec.report_dir)
    assert manifest["tracking"] == {"uri": "sqlite:///mlruns/mlflow.db", "run_id": run.info.run_id}
    assert "sqlite:///mlruns/mlflow.db" in " ".join(result.stdout.split())


# --- only aggregates leave the process ---------------------------------------------------------

PERSON_ID = re.compile(rb"js\d{10}")


def _arrays(value: Any) -> Iterator[list[Any]]:
    if isinstance(value, list):
        yield value
        for item in value:
            yield from _arrays(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item)


def test_only_aggregates_reach_mlflow(
    good_audit: Any, every_run: Callable[[str], list[Any]], tmp_path: Path
) -> None:
    n = good_audit.spec.document["data"]["synthetic"]["n"]
    people = generate_population(n, scenario="all_harms", seed=7).people
    ids = set(people["person_id"].astype(str))
    assert all(PERSON_ID.fullmatch(i.encode()) for i in list(ids)[:20])  # the pattern fits
    n_audited = _manifest(good_audit.spec.report_dir)["data"]["n_audited"]
    table_sizes = {n, n_audited, n - n_audited}

    def check(where: str, content: bytes, suffix: str) -> None:
        leaked = {f.decode() for f in PERSON_ID.findall(content)} & ids
        assert not leaked, f"person_id {sorted(leaked)[:3]} in {where}"
        assert suffix not in {".csv", ".parquet", ".tsv", ".feather"}, where
        if suffix == ".json":
            for array in _arrays(json.loads(content)):
                assert len(array) not in table_sizes, f"{where}: a list of {len(array)} items"

    uri = good_audit.spec.tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = every_run(uri)
    # The audit's run and the run that logged the model it trained.
    assert good_audit.run_id in {r.info.run_id for r in runs}
    assert len(runs) == 2
    for run in runs:
        texts = [
            *run.data.params,
            *run.data.params.values(),
            *run.data.tags,
            *run.data.tags.values(),
            *run.data.metrics,
        ]
        check(f"the run {run.info.run_name}", "\n".join(texts).encode(), "")
        assert len(run.data.metrics) < n_audited
        folder = Path(
            client.download_artifacts(run.info.run_id, "", str(tmp_path / run.info.run_id))
        )
        for path in folder.rglob("*"):
            if path.is_file():
                check(f"artifact {path.name}", path.read_bytes(), path.suffix.lower())
    audit_files = {p.name for p in (tmp_path / good_audit.run_id).iterdir()}
    assert "assessment.json" in audit_files

    # Everything else the store holds: the database itself, and every file beside it (the
    # trained model, its input example and signature included).
    store = Path(uri.removeprefix("sqlite:///")).parent
    stored = [p for p in store.rglob("*") if p.is_file()]
    assert any(p.name == "MLmodel" for p in stored)
    for path in stored:
        suffix = path.suffix.lower() if path.name != "mlflow.db" else ""
        check(f"{path.relative_to(store)}", path.read_bytes(), suffix)
