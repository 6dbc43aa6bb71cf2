"""The model registry side of an audit: tag the audited version, move an alias only on a pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from audit.errors import AuditInputError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from audit.gate import Verdict


@dataclass(frozen=True)
class RegistryVersion:
    name: str
    version: str


def audited_version(name: str | None, version: str | None) -> RegistryVersion | None:
    if name is None or version is None:
        return None
    return RegistryVersion(name, version)


def require_registry_model(
    promote: str | None, registry_name: str | None, tracking_uri: str | None
) -> None:
    """`--promote` only makes sense for a model that lives in the registry; say so up front."""
    if promote and tracking_uri is None:
        raise AuditInputError(
            "--promote",
            expected="MLflow tracking switched on, to reach the registry",
            found="tracking.enabled: false",
            fix="switch tracking on in the spec, or drop --promote",
        )
    if promote and registry_name is None:
        raise AuditInputError(
            "--promote",
            expected="an audited model from the MLflow registry (model.uri: models:/NAME@ALIAS "
            "or models:/NAME/VERSION, or model.train.register)",
            found="a model outside the registry",
            fix="register the model first, or drop --promote",
        )


def tag_version(
    client: MlflowClient, target: RegistryVersion, verdict: Verdict, run_id: str, spec_name: str
) -> None:
    """The verdict on the version itself, so the registry shows which versions passed an audit."""
    worst = verdict.worst
    tags = {
        "fairness_audit.verdict": verdict.label,
        "fairness_audit.release": "allowed" if verdict.release_allowed else "blocked",
        "fairness_audit.run_id": run_id,
        "fairness_audit.spec": spec_name,
        "fairness_audit.worst_finding": worst.sentence if worst else "none",
    }
    for key, value in tags.items():
        client.set_model_version_tag(target.name, target.version, key, value[:5000])


def promote(client: MlflowClient, target: RegistryVersion, alias: str, verdict: Verdict) -> bool:
    """Moves `alias` to the audited version when the gate lets the release through."""
    if not verdict.release_allowed:
        return False
    client.set_registered_model_alias(target.name, alias, target.version)
    return True
