"""Step 2, model: train a reference model, or open the one named in the spec."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from audit.models.importing import AuditableModel, ModelIdentity, PipelineModel, load_model
from audit.models.mlflow_io import log_trained_model
from audit.models.skops_io import skops_content_sha256
from audit.models.training import (
    PROFILING_TARGET,
    TRACK_TARGET,
    FeatureSet,
    train_profiling_model,
    train_track_model,
)
from audit.spec import AuditSpec


@dataclass(frozen=True)
class AuditedModel:
    model: AuditableModel
    registry_name: str | None
    registry_version: str | None


def obtain_model(
    spec: AuditSpec, train: pd.DataFrame | None, tracking_uri: str | None
) -> AuditedModel:
    m = spec.model
    if m.train is not None:
        assert train is not None  # load_data splits off training rows when the spec trains
        return _train(spec, train, tracking_uri)
    if m.uri is not None:
        return _opened(load_model(m.uri, tracking_uri=tracking_uri))
    assert m.decisions is not None
    d = m.decisions
    return _opened(
        load_model(
            d.file,
            decision_column=d.decision_column,
            score_column=d.score_column,
            track_column=d.track_column,
            id_column=d.id_column,
        )
    )


def _opened(model: AuditableModel) -> AuditedModel:
    identity = model.identity
    return AuditedModel(model, identity.name, identity.version)


def _train(spec: AuditSpec, train: pd.DataFrame, tracking_uri: str | None) -> AuditedModel:
    t = spec.model.train
    assert t is not None
    features, seed = FeatureSet.preset(t.features), spec.statistics.seed
    if t.task == "profiling":
        target = t.target or PROFILING_TARGET
        trained = train_profiling_model(train, features=features, target=target, seed=seed)
    else:
        target = t.target or TRACK_TARGET
        trained = train_track_model(train, features=features, target=target, seed=seed)
    if tracking_uri is not None:
        # Logged (and registered when asked) so the audited model can be found again by its URI.
        register = t.register_as
        logged = log_trained_model(
            trained,
            tracking_uri=tracking_uri,
            register=register.name if register else None,
            alias=register.alias if register else None,
        )
        # By version, not alias: an alias moved meanwhile must not swap the model audited.
        uri = f"models:/{register.name}/{logged.version}" if register else logged.model_uri
        return _opened(load_model(uri, tracking_uri=tracking_uri))
    import skops.io

    # The content, not the bytes: skops names arrays by memory address, so the bytes of one
    # model differ from run to run and could not show that two audits saw the same model.
    blob = skops.io.dumps(trained.pipeline)
    identity = ModelIdentity(
        kind="skops", uri="trained-in-process", sha256=skops_content_sha256(blob)
    )
    return AuditedModel(PipelineModel(trained.pipeline, identity, trained.inputs), None, None)
