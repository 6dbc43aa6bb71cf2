"""Which MLflow experiment an audit joins, and how the MLflow UI shows it.

One experiment per audited model, whatever the source, so that a model's audit history sits
together (`AuditSpec.experiment` states the rule). A `runs:/RUN_ID/PATH` model whose run's model
was registered joins the registered model's experiment, as `models:/NAME/...` audits of it do.

The MLflow 3 UI opens an experiment on its GenAI (traces) view unless told otherwise. Up to 3.4
it follows the experiment tag `mlflow.experimentKind`; later versions follow the workflow chosen
in the UI (`?workflowType=machine_learning` in the link, remembered by the browser). An audit
experiment gets both: the tag, and a saved view (`mlflow.sharedViewState.fairness-audit`, the
experiment tag the UI's "Views" menu reads) that lists the runs newest first with the verdict,
worst finding, release, failed rules and model version as columns; `runs_view_link` opens it.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from audit.spec import AuditSpec
from audit.tracking.store import client_for

if TYPE_CHECKING:
    from mlflow import MlflowClient

EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
VIEW_ID = "fairness-audit"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_ID}"
VIEW_NAME = "Fairness audits"
# The run tags set by every audit (`audit.pipeline._tag_verdict`, `_model_tags`), as the UI
# names columns: `tags.` + the key in backticks.
VIEW_COLUMNS = (
    "audit.verdict",
    "audit.worst_finding",
    "audit.release",
    "audit.rules_failed",
    "audit.model.version",
)
DESCRIPTION = (
    "Fairness audits of one model (employment-fairness-audit). Each run is one `audit run`: "
    "its verdict and worst finding are the tags audit.verdict and audit.worst_finding, the "
    "gate's figures the metrics gate.*, and the full result the artifact assessment.json. "
    "Open the view 'Fairness audits' (Views menu) for them as columns."
)


def experiment_name(spec: AuditSpec, tracking_uri: str) -> str:
    """The experiment of this audit: `spec.experiment`, with a `runs:/` model's registered name."""
    m = spec.model
    if spec.tracking.experiment or m.name or not (m.uri and m.uri.startswith("runs:/")):
        return spec.experiment
    registered = registered_name(client_for(tracking_uri), m.uri)
    return f"fairness-audit/{registered}" if registered else spec.experiment


def registered_name(client: MlflowClient, runs_uri: str) -> str | None:
    """The registered model made from the model at `runs:/RUN_ID/PATH`, when there is exactly one."""
    from mlflow.exceptions import MlflowException

    run_id, _, path = runs_uri.removeprefix("runs:/").strip("/").partition("/")
    try:
        versions = client.search_model_versions(f"run_id = '{run_id}'")
    except MlflowException:  # a store without a registry: the run names the model
        return None
    path = path or "model"
    names = {
        v.name
        for v in versions
        # A version's source names the logged model (models:/m-ID) or the run's artifact path.
        if not v.source or v.source.startswith("models:/") or v.source.rstrip("/").endswith(path)
    }
    return names.pop() if len(names) == 1 else None


def view_state() -> str:
    """The saved view's value as the MLflow UI writes it: a JSON envelope around a JSON state."""
    columns = [f"tags.`{tag}`" for tag in VIEW_COLUMNS]
    state = {
        "selectedColumns": columns,
        "columnOrder": columns,
        "columnWidths": {"tags.`audit.worst_finding`": 480},  # a sentence, not a word
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
    }
    now = int(time.time() * 1000)
    return json.dumps(
        {"name": VIEW_NAME, "createdAt": now, "updatedAt": now, "state": json.dumps(state)}
    )


def mark_audit_experiment(client: MlflowClient, experiment_id: str) -> None:
    """Tags an audit experiment so the MLflow UI opens it on its runs, with the audit columns.

    Set once, when the tags are missing, so a view the team has edited is left as it is.
    """
    tags = client.get_experiment(experiment_id).tags
    wanted = {
        EXPERIMENT_KIND[0]: EXPERIMENT_KIND[1],
        VIEW_TAG: view_state(),
        "mlflow.note.content": DESCRIPTION,
    }
    for key, value in wanted.items():
        if key not in tags:
            client.set_experiment_tag(experiment_id, key, value)


def runs_view_link(tracking_uri: str, experiment_id: str) -> str | None:
    """The address of the experiment's runs with the audit view, for a tracking server."""
    if urlparse(tracking_uri).scheme not in ("http", "https"):
        return None
    query = f"workflowType=machine_learning&viewStateShareKey={VIEW_ID}"
    return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"
