"""What `audit run` leaves in a real MLflow server: a lean, decodable record in the experiment of
the audited model, nothing for an audit refused up front, and no MLflow chatter in the output.

One `mlflow server` for the module (the session fixture of conftest.py); every audit is a real
`audit run` process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType

from audit.tracking.experiments import EXPERIMENT_KIND, VIEW_TAG
from audit.tracking.naming import KEY_FILE, decode_key

pytestmark = pytest.mark.slow

# Lines MLflow writes on its own: INFO records (database creation, alembic), registry prints,
# and the emoji links of fluent runs on a server.
NOISE = (
    " INFO ",
    "Successfully registered model",
    "Created version",
    "already exists. Creating a new version",
    "View run",
    "View experiment",
    "alembic",
    "🏃",
    "🧪",
)
# Levels that shared a key or lost information in the keys of earlier versions.
LEVELS = ["25-44", "<25", "_x3c25", "45+", "45_", "a/b", "a_b"]
LOOSE = {"id": "loose", "metric": "selection_rate", "kind": "difference", "max_abs": 0.99}


def _quiet(result: Any) -> None:
    output = result.stdout + result.stderr
    for noise in NOISE:
        assert noise not in output, f"{noise!r} in the output:\n{output}"


def _manifest(spec: Any) -> dict[str, Any]:
    return dict(json.loads((spec.report_dir / "manifest.json").read_text(encoding="utf-8")))


def _experiments(client: MlflowClient) -> set[str]:
    return {e.name for e in client.search_experiments(view_type=ViewType.ALL)}


def _hiring_log(path: Path, per_level: int = 120) -> Path:
    """A decisions log of another system: its own column names, labels and 0/1 coding."""
    rng = np.random.default_rng(3)
    band = np.repeat(LEVELS, per_level)
    pd.DataFrame(
        {
            "age band": band,
            "got_job": (rng.random(len(band)) < 0.4).astype(int),
            "offered": (rng.random(len(band)) < 0.3).astype(int),
        }
    ).to_csv(path, index=False)
    return path


def _log_spec(make_spec: Callable[..., Any], tmp_path: Path, server: str, **changes: Any) -> Any:
    log = _hiring_log(tmp_path / "hiring.csv")
    base: dict[str, Any] = {
        "data": {"synthetic": None, "file": str(log), "schema": "none"},
        "model": {
            "train": None,
            "decisions": {"file": str(log), "decision_column": "offered"},
            "name": "hiring-log",
        },
        "outcome": "got_job",
        "decision": None,
        "attributes": [{"column": "age band", "reference": "25-44"}],
        "policy": {"rules": [LOOSE]},
        "tracking": {"uri": server},
    }
    base.update(changes)
    return make_spec(**base)


def test_lean_record_decodes_back_to_every_level(
    mlflow_server: str, make_spec: Callable[..., Any], audit_cli: Callable[..., Any], tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri=mlflow_server)
    spec = _log_spec(make_spec, tmp_path, mlflow_server, name="hiring-lean")
    result = audit_cli(spec)
    assert result.returncode == 0, result.stderr
    _quiet(result)

    run = client.get_run(_manifest(spec)["tracking"]["run_id"])
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "fairness-audit/hiring-log"  # the model's name, not the spec's
    assert experiment.tags[EXPERIMENT_KIND[0]] == EXPERIMENT_KIND[1]
    view = json.loads(experiment.tags[VIEW_TAG])
    columns = json.loads(view["state"])["selectedColumns"]
    assert "tags.`audit.verdict`" in columns and "tags.`audit.worst_finding`" in columns
    assert run.data.tags["audit.verdict"] == "pass"
    assert run.data.tags["audit.worst_finding"]
    link = f"{mlflow_server}/#/experiments/{experiment.experiment_id}/runs?workflowType="
    assert link in " ".join(result.stdout.split())

    metrics = run.data.metrics
    assert 50 < len(metrics) < 400  # hundreds at most, not thousands
    keys = json.loads(
        Path(client.download_artifacts(run.info.run_id, KEY_FILE, str(tmp_path))).read_text()
    )["keys"]
    assert set(metrics) == set(keys)  # every logged key is explained, and only those
    levels = set()
    for key, what in keys.items():
        if what["table"] == "gate" and what["field"] == "value":
            _, segments = decode_key(key) or ("", ())
            assert segments == (("age band", what["levels"][0]),), key
            levels.add(segments[0][1])
    assert levels == set(LEVELS[1:])  # every group but the reference, none merged

    # `metrics: all` keeps every figure of before, in the same experiment, beside the lean ones.
    every = _log_spec(
        make_spec,
        tmp_path,
        mlflow_server,
        name="hiring-all",
        report={"dir": str(tmp_path / "all")},
        tracking={"uri": mlflow_server, "metrics": "all"},
    )
    assert audit_cli(every).returncode == 0
    full = client.get_run(_manifest(every)["tracking"]["run_id"])
    assert full.info.experiment_id == experiment.experiment_id
    assert set(metrics) < set(full.data.metrics)
    assert len(full.data.metrics) > 3 * len(metrics)


def test_refusals_create_no_experiment_and_failures_after_the_start_are_recorded(
    mlflow_server: str, make_spec: Callable[..., Any], audit_cli: Callable[..., Any], tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri=mlflow_server)
    before = _experiments(client)
    refused = [
        # a column the spec names is not in the data
        _log_spec(
            make_spec, tmp_path, mlflow_server, name="typo", attributes=[{"column": "age_band"}]
        ),
        # a registered model that does not exist
        make_spec(
            "missing.yaml",
            name="missing",
            model={"train": None, "uri": "models:/no-such-model@champion"},
            tracking={"uri": mlflow_server},
        ),
    ]
    for spec in refused:
        result = audit_cli(spec)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
    assert _experiments(client) == before

    # The shipped model on data without one of its inputs: opened, then fails on the data.
    people = pd.read_csv(_hiring_log(tmp_path / "x.csv"))  # any rows: the model needs has_car
    data = tmp_path / "no-car.parquet"
    people.to_parquet(data)
    spec = make_spec(
        "fails.yaml",
        name="fails-after-start",
        data={"synthetic": None, "file": str(data), "schema": "none"},
        model={
            "train": None,
            "uri": str(Path(__file__).parents[2] / "models" / "profiling_reference.skops"),
        },
        outcome="got_job",
        attributes=[{"column": "age band"}],
        decision={"bands": None, "examined": None, "threshold": 0.5},
        tracking={"uri": mlflow_server},
    )
    result = audit_cli(spec)
    assert result.returncode == 2, result.stderr
    assert "has_car" in result.stderr
    experiment = client.get_experiment_by_name("fairness-audit/profiling_reference")
    assert experiment is not None
    (run,) = client.search_runs(
        [experiment.experiment_id], "tags.`audit.spec` = 'fails-after-start'"
    )
    assert run.info.status == "FAILED"
    assert "has_car" in run.data.tags["audit.error"]


def test_one_model_one_experiment_and_the_versions_behind_its_aliases(
    mlflow_server: str, make_spec: Callable[..., Any], audit_cli: Callable[..., Any], tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    name = f"m-{time.monotonic_ns()}"
    trained = make_spec(
        "train.yaml",
        name="train-it",
        model={"train": {"register": {"name": name, "alias": "candidate"}}},
        tracking={"uri": mlflow_server},
    )
    result = audit_cli(trained)
    assert result.returncode == 0, result.stderr
    _quiet(result)  # a registration and a fluent run on a server: MLflow's loudest path

    first = client.get_model_version(name, "1")
    model_id = first.model_id or first.source.removeprefix("models:/")  # the logged model
    second = client.create_model_version(
        name, source=first.source, run_id=first.run_id, model_id=model_id
    )
    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "candidate", second.version)
    by_alias = make_spec(
        "alias.yaml",
        name="by-alias",
        model={"train": None, "uri": f"models:/{name}@candidate"},
        tracking={"uri": mlflow_server},
        report={"dir": str(tmp_path / "alias")},
    )
    result = audit_cli(by_alias, "--baseline", f"models:/{name}@champion")
    assert result.returncode == 0, result.stderr
    _quiet(result)
    manifest = _manifest(by_alias)
    assert manifest["aliases"] == {
        f"models:/{name}@candidate": "2",
        f"models:/{name}@champion": "1",
    }
    assert manifest["model"]["version"] == "2"

    by_run = make_spec(
        "run.yaml",
        name="by-run",
        model={"train": None, "uri": f"runs:/{first.run_id}/model"},
        tracking={"uri": mlflow_server},
        report={"dir": str(tmp_path / "run")},
    )
    assert audit_cli(by_run).returncode == 0
    experiment = client.get_experiment_by_name(f"fairness-audit/{name}")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert {r.data.tags["audit.spec"] for r in runs} == {"train-it", "by-alias", "by-run"}
    assert not [e for e in _experiments(client) if first.run_id in e]


def test_the_mlflow_ui_opens_the_audits_on_their_runs_with_the_audit_columns(
    mlflow_server: str, make_spec: Callable[..., Any], audit_cli: Callable[..., Any], tmp_path: Path
) -> None:
    """The link `audit run` prints, in a real browser on the server's own UI."""
    sync_api = pytest.importorskip("playwright.sync_api")
    spec = _log_spec(make_spec, tmp_path, mlflow_server, name="hiring-ui")
    result = audit_cli(spec)
    assert result.returncode == 0, result.stderr
    (link,) = [w for w in result.stdout.split() if w.startswith(f"{mlflow_server}/#/")]
    run = MlflowClient(tracking_uri=mlflow_server).get_run(_manifest(spec)["tracking"]["run_id"])
    worst = run.data.tags["audit.worst_finding"]

    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch(args=["--no-sandbox"])
        except sync_api.Error:  # no browser of Playwright's own: the system's Chromium
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(link)
            for column in ("audit.verdict", "audit.worst_finding", "audit.release"):
                header = page.get_by_role("columnheader", name=column, exact=True).first
                header.wait_for(timeout=60_000)
            page.get_by_text(worst[:40]).first.wait_for(timeout=10_000)  # the run's own finding
            assert "/runs" in page.url and "workflowType=machine_learning" in page.url
        finally:
            browser.close()


def test_a_new_local_store_is_created_without_mlflow_lines(
    make_spec: Callable[..., Any], audit_cli: Callable[..., Any], tmp_path: Path
) -> None:
    """Creating and migrating a SQLite store is where MLflow and alembic log at INFO."""
    store = f"sqlite:///{tmp_path}/fresh/mlflow.db"
    spec = _log_spec(make_spec, tmp_path, store, name="fresh-store")
    result = audit_cli(spec)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh" / "mlflow.db").is_file()
    _quiet(result)
    assert f"MLflow run {_manifest(spec)['tracking']['run_id']}" in " ".join(result.stdout.split())
