"""One experiment per audited model, whatever the source; audit experiments open on their runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from audit.spec import AuditSpec
from audit.tracking.experiments import (
    EXPERIMENT_KIND,
    VIEW_ID,
    VIEW_TAG,
    mark_audit_experiment,
    runs_view_link,
    view_state,
)
from audit.tracking.store import client_for, ensure_experiment

RUN = "0123456789abcdef0123456789abcdef"


def _spec(model: dict[str, Any], **extra: Any) -> AuditSpec:
    return AuditSpec.model_validate(
        {
            "name": "my-spec",
            "data": {"file": "people.csv"},
            "model": model,
            "outcome": "y",
            "attributes": ["g"],
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("model", "experiment"),
    [
        ({"uri": "models:/hiring@champion"}, "fairness-audit/hiring"),
        ({"uri": "models:/hiring/7"}, "fairness-audit/hiring"),
        (
            {"train": {"register": {"name": "hiring", "alias": "candidate"}}},
            "fairness-audit/hiring",
        ),
        ({"uri": f"runs:/{RUN}/model"}, f"fairness-audit/run-{RUN}/model"),
        ({"uri": f"runs:/{RUN}"}, f"fairness-audit/run-{RUN}/model"),
        ({"uri": "exports/v2/hiring.skops"}, "fairness-audit/hiring"),
        ({"uri": "exports/hiring.ONNX"}, "fairness-audit/hiring"),
        ({"uri": "exports/hiring-mlflow/"}, "fairness-audit/hiring-mlflow"),
        ({"decisions": {"file": "log_2026_q1.csv"}}, "fairness-audit/my-spec"),
        ({"train": {}}, "fairness-audit/my-spec"),
        ({"decisions": {"file": "log.csv"}, "name": "vendor-x"}, "fairness-audit/vendor-x"),
        ({"uri": "models:/hiring@champion", "name": "vendor-x"}, "fairness-audit/vendor-x"),
    ],
)
def test_the_experiment_follows_the_model_not_the_spec(
    model: dict[str, Any], experiment: str
) -> None:
    assert _spec(model).experiment == experiment


def test_an_explicit_experiment_wins() -> None:
    spec = _spec({"uri": "models:/hiring@champion"}, tracking={"experiment": "mine"})
    assert spec.experiment == "mine"


def test_the_saved_view_is_the_envelope_the_mlflow_ui_reads() -> None:
    envelope = json.loads(view_state())
    # The UI drops a view without a string name, a number createdAt and a string state.
    assert isinstance(envelope["name"], str) and isinstance(envelope["createdAt"], int)
    state = json.loads(envelope["state"])
    assert state["selectedColumns"][:2] == ["tags.`audit.verdict`", "tags.`audit.worst_finding`"]
    # The prefix the UI's Views menu lists (MLflow 3.17's JS bundle), the id the link names.
    assert VIEW_TAG.removeprefix("mlflow.sharedViewState.") == VIEW_ID


def test_links_only_for_a_server() -> None:
    assert runs_view_link("http://host:5000/", "12") == (
        "http://host:5000/#/experiments/12/runs?workflowType=machine_learning"
        f"&viewStateShareKey={VIEW_ID}"
    )
    assert runs_view_link("sqlite:///mlruns/mlflow.db", "12") is None


def test_marking_sets_the_tags_once_and_keeps_a_view_the_team_changed(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client: MlflowClient = client_for(uri)
    experiment = ensure_experiment(client, uri, "fairness-audit/x")
    mark_audit_experiment(client, experiment)
    tags = client.get_experiment(experiment).tags
    assert tags[EXPERIMENT_KIND[0]] == EXPERIMENT_KIND[1]
    assert json.loads(tags[VIEW_TAG])["name"] == "Fairness audits"
    client.set_experiment_tag(experiment, VIEW_TAG, "edited")
    mark_audit_experiment(client, experiment)
    assert client.get_experiment(experiment).tags[VIEW_TAG] == "edited"
