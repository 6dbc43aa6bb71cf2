"""Logging reference models to MLflow and reading models back from an MLflow store.

Works with any tracking URI. MLflow is imported inside the functions: it takes about a second to
import and most audit commands never touch it.

Models are logged in MLflow's skops format and read back through our own skops allow-list
(:mod:`audit.models.skops_io`), not through ``mlflow.sklearn.load_model``: the allow-list MLflow
applies is read from the model's own MLmodel file, so a crafted model could trust itself. Pickled
models are refused.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from audit.errors import AuditInputError
from audit.models.skops_io import TRUSTED_TYPES
from audit.tracking import store
from audit.tracking.quiet import mlflow_prints_hidden

if TYPE_CHECKING:
    from audit.models.training import TrainedModel

DEFAULT_EXPERIMENT = "reference-models"


@dataclass(frozen=True)
class LoggedModel:
    """Where a logged model can be found again."""

    run_id: str
    model_uri: str
    registered_name: str | None = None
    version: str | None = None
    alias: str | None = None

    @property
    def registry_uri(self) -> str | None:
        """``models:/name@alias`` if an alias was set, else ``models:/name/version``."""
        if self.registered_name is None:
            return None
        if self.alias:
            return f"models:/{self.registered_name}@{self.alias}"
        return f"models:/{self.registered_name}/{self.version}"


@dataclass(frozen=True)
class MlflowArtifact:
    """A model downloaded from MLflow: its local directory and where it came from."""

    local_dir: Path
    model_file: Path
    flavor: str
    uri: str
    name: str | None
    version: str | None
    run_id: str | None
    input_schema: list[dict[str, Any]] | None


@contextlib.contextmanager
def tracking(tracking_uri: str | None) -> Iterator[None]:
    """Point MLflow's fluent API (tracking and registry) at ``tracking_uri``, then put it back.

    MLflow keeps both URIs in module globals and mirrors them into environment variables; reading
    them back with ``get_*_uri`` would pin today's default for good, so the raw values are saved
    and restored instead, and later code in the process resolves its defaults as before.
    """
    store.bound_http_requests()  # and MLflow's INFO lines kept out, before it is imported
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    store.bound_http_requests()
    if tracking_uri is None:
        yield
        return
    saved_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    saved_tracking, saved_registry = tracking_utils._tracking_uri, registry_utils._registry_uri
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved_tracking)  # type: ignore[arg-type]  # None: MLflow's default
        registry_utils._registry_uri = saved_registry
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ensure_experiment(name: str, *, tracking_uri: str, artifact_location: str | None = None) -> str:
    """The id of experiment ``name`` in the store at ``tracking_uri``, created if new.

    MLflow's own default puts the artifacts of a SQLite store in ./mlruns of the current
    directory, wherever that is; this keeps them next to the database instead.
    """
    return store.ensure_experiment(
        store.client_for(tracking_uri), tracking_uri, name, artifact_location
    )


def log_trained_model(
    trained: TrainedModel,
    *,
    tracking_uri: str,
    experiment: str = DEFAULT_EXPERIMENT,
    register: str | None = None,
    alias: str | None = None,
    artifact_location: str | None = None,
) -> LoggedModel:
    """Log a trained model with its signature and a synthetic input example; register it.

    The signature comes from the archetype example rows (no real person's data leaves the
    process). With ``register`` a new registry version is created; with ``alias`` that alias
    (e.g. ``champion``) is moved to it.
    """
    if alias and not register:
        raise AuditInputError(
            "MLflow alias",
            expected="a registered model name to attach the alias to",
            found=f"alias '{alias}' without --register",
            fix="add --register NAME",
        )
    from mlflow.exceptions import MlflowException

    store.require_reachable(tracking_uri)  # seconds, not MLflow's minutes of retries
    try:
        return _log(
            trained,
            tracking_uri=tracking_uri,
            experiment=experiment,
            register=register,
            alias=alias,
            artifact_location=artifact_location,
        )
    except MlflowException as err:
        raise AuditInputError(
            f"MLflow tracking store '{tracking_uri}'",
            expected="a store that accepts the run and the registration",
            found=_first_line(err.message),
            fix="check --tracking-uri, the model name and your access rights",
        ) from err


def _log(
    trained: TrainedModel,
    *,
    tracking_uri: str,
    experiment: str,
    register: str | None,
    alias: str | None,
    artifact_location: str | None,
) -> LoggedModel:
    import mlflow
    import sklearn
    import skops
    from mlflow.models import infer_signature

    with tracking(tracking_uri):
        client = mlflow.MlflowClient()
        experiment_id = ensure_experiment(
            experiment, tracking_uri=tracking_uri, artifact_location=artifact_location
        )
        example = trained.example
        proba = np.asarray(trained.pipeline.predict_proba(example))
        signature = infer_signature(example, proba)
        with mlflow.start_run(experiment_id=experiment_id) as run, mlflow_prints_hidden():
            description = trained.describe()
            mlflow.log_params({k: v for k, v in description.items() if k != "classes"})
            mlflow.log_param("classes", ",".join(trained.classes))
            mlflow.log_metrics({f"holdout_{k}": v for k, v in trained.holdout.items()})
            info = mlflow.sklearn.log_model(
                trained.pipeline,
                name="model",
                serialization_format="skops",
                skops_trusted_types=list(TRUSTED_TYPES),
                signature=signature,
                input_example=example,
                registered_model_name=register,
                # Pinning avoids MLflow's requirement inference, which loads the model in a
                # subprocess and costs seconds per model.
                pip_requirements=[
                    f"scikit-learn=={sklearn.__version__}",
                    f"skops=={skops.__version__}",
                ],
                tags={"audit.task": trained.task, "audit.features": trained.features.name},
            )
        version = (
            None if info.registered_model_version is None else str(info.registered_model_version)
        )
        if register and alias:
            with mlflow_prints_hidden():
                client.set_registered_model_alias(register, alias, str(version))
    return LoggedModel(
        run_id=run.info.run_id,
        model_uri=f"runs:/{run.info.run_id}/model",
        registered_name=register,
        version=version,
        alias=alias,
    )


def fetch_mlflow_model(uri: str, *, tracking_uri: str | None = None) -> MlflowArtifact:
    """Download a model from ``runs:/``, ``models:/name/version`` or ``models:/name@alias``.

    Resolves the registry version behind an alias so the run manifest records which version
    was audited, not only the alias that pointed at it on the day.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    name, version, run_id = None, None, None
    with tracking(tracking_uri):
        store.require_reachable(mlflow.get_tracking_uri())
        try:
            source = uri
            if uri.startswith("models:/"):
                name, version, run_id = _resolve_registry(uri)
                # The version the alias names now, not the alias again: were it moved between
                # the two requests, the files audited would not be the version recorded.
                source = f"models:/{name}/{version}"
            elif uri.startswith("runs:/"):
                run_id = uri.removeprefix("runs:/").split("/", 1)[0]
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source))
        except MlflowException as err:
            raise AuditInputError(
                f"MLflow model '{uri}'",
                expected="a model that exists in the tracking store "
                f"{tracking_uri or mlflow.get_tracking_uri()}",
                found=_first_line(err.message),
                fix="check the name, version or alias with the MLflow UI, and pass "
                "--tracking-uri if the store is not the default",
            ) from err
    model = mlflow.models.Model.load(str(local))
    schema = model.signature.inputs.to_dict() if model.signature is not None else None
    if "sklearn" in model.flavors:
        conf = model.flavors["sklearn"]
        if conf.get("serialization_format") != "skops":
            raise AuditInputError(
                f"MLflow model '{uri}'",
                expected="a scikit-learn model saved in the skops format",
                found=f"serialization format '{conf.get('serialization_format')}'",
                fix="log the model again with serialization_format='skops'; pickled models "
                "from elsewhere can run arbitrary code and are not loaded",
            )
        return MlflowArtifact(
            local, local / conf["pickled_model"], "sklearn", uri, name, version, run_id, schema
        )
    if "onnx" in model.flavors:
        return MlflowArtifact(
            local, local / model.flavors["onnx"]["data"], "onnx", uri, name, version, run_id, schema
        )
    raise AuditInputError(
        f"MLflow model '{uri}'",
        expected="a model with the sklearn (skops) or onnx flavor",
        found="flavors " + ", ".join(sorted(model.flavors)),
        fix="log the model with mlflow.sklearn (serialization_format='skops') or mlflow.onnx",
    )


def _resolve_registry(uri: str) -> tuple[str, str, str | None]:
    import mlflow

    client = mlflow.MlflowClient()
    ref = uri.removeprefix("models:/").rstrip("/")
    if "@" in ref:
        name, alias = ref.split("@", 1)
        mv = client.get_model_version_by_alias(name, alias)
    else:
        name, _, version = ref.partition("/")
        if not version.isdigit():
            raise AuditInputError(
                f"MLflow model '{uri}'",
                expected="models:/NAME/VERSION or models:/NAME@ALIAS",
                found=f"'{ref}'",
                fix="give a version number or an alias",
            )
        mv = client.get_model_version(name, version)
    return mv.name, str(mv.version), mv.run_id


def _first_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0][:300] if lines else "no message"
