"""A model trained here gives the same predictions from skops, ONNX and MLflow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io

from audit.models.importing import AuditableModel, file_sha256, load_model
from audit.models.mlflow_io import LoggedModel, log_trained_model
from audit.models.onnx_io import convert_pipeline, save_onnx
from audit.models.skops_io import save_skops, skops_content_sha256
from audit.models.training import (
    FeatureSet,
    TrainedModel,
    train_profiling_model,
    train_track_model,
)
from tests.models.conftest import CATALOGUE, make_people

CASES = [("profiling", "logistic"), ("profiling", "random_forest"),
         ("track", "logistic"), ("track", "random_forest")]


def _train(people: pd.DataFrame, task: str, algorithm: str) -> TrainedModel:
    train = train_profiling_model if task == "profiling" else train_track_model
    return train(people, features=FeatureSet.preset("full", CATALOGUE),
                 algorithm=algorithm, seed=1)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    """People the models never saw, with gaps in a number and a category."""
    df = make_people(1500, seed=11)
    df["housing_status"] = df["housing_status"].astype(object)
    df.loc[df.index[::13], "housing_status"] = None
    return df


@pytest.mark.parametrize(("task", "algorithm"), CASES)
def test_skops_and_onnx_give_the_trained_predictions(
    people: pd.DataFrame, fresh: pd.DataFrame, tmp_path: Path, task: str, algorithm: str
) -> None:
    trained = _train(people, task, algorithm)
    expected = trained.predict_proba(fresh)
    skops_path = save_skops(trained.pipeline, tmp_path / "m.skops")
    onnx_path = save_onnx(
        convert_pipeline(trained.pipeline, trained.inputs, classes=trained.classes),
        tmp_path / "m.onnx",
    )
    from_skops = load_model(skops_path)
    from_onnx = load_model(onnx_path)
    assert isinstance(from_skops, AuditableModel) and isinstance(from_onnx, AuditableModel)
    np.testing.assert_array_equal(from_skops.predict_proba(fresh), expected)
    np.testing.assert_allclose(from_onnx.predict_proba(fresh), expected, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(from_onnx.predict(fresh), from_skops.predict(fresh))
    for model in (from_skops, from_onnx):
        assert model.classes == trained.classes
        assert model.task == task
        assert model.expected_columns == trained.inputs
    assert from_skops.identity.file_sha256 == file_sha256(skops_path)
    assert from_skops.identity.sha256 == skops_content_sha256(skops_path)
    assert (from_skops.kind, from_onnx.kind) == ("skops", "onnx")


def test_profiling_labels_are_integers_and_track_labels_names(
    people: pd.DataFrame, fresh: pd.DataFrame, tmp_path: Path
) -> None:
    prof = load_model(save_skops(_train(people, "profiling", "logistic").pipeline,
                                 tmp_path / "p.skops"))
    track = load_model(save_skops(_train(people, "track", "logistic").pipeline,
                                  tmp_path / "t.skops"))
    labels = prof.predict(fresh)
    assert labels.dtype == np.int64 and set(np.unique(labels)) <= {0, 1}
    np.testing.assert_array_equal(labels, (prof.predict_proba(fresh)[:, 1] > 0.5).astype(int))
    assert set(track.predict(fresh)) <= {"regular", "training", "sheltered", "care"}


@pytest.fixture(scope="module")
def logged(people: pd.DataFrame, tracking_uri: str) -> tuple[TrainedModel, LoggedModel]:
    trained = _train(people, "track", "random_forest")
    result = log_trained_model(trained, tracking_uri=tracking_uri, register="track-reference",
                               alias="champion")
    return trained, result


def _logged_model_sha256(model_uri: str, tracking_uri: str) -> str:
    """SHA-256 of the model file MLflow stored, found through its MLmodel file and hashed here."""
    import hashlib
    import os

    import mlflow
    import yaml
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    # Set the global URIs for the download, then put back exactly what was there, unset state
    # and environment variables included: `get_*_uri()` returns resolved defaults, and setting
    # those back would pin every later client of this process to this test's store.
    previous = (
        tracking_utils._tracking_uri,
        registry_utils._registry_uri,
        os.environ.get("MLFLOW_REGISTRY_URI"),
    )
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    finally:
        mlflow.set_tracking_uri(previous[0])
        registry_utils._registry_uri = previous[1]
        if previous[2] is None:
            os.environ.pop("MLFLOW_REGISTRY_URI", None)
        else:
            os.environ["MLFLOW_REGISTRY_URI"] = previous[2]
    flavor = yaml.safe_load((folder / "MLmodel").read_text())["flavors"]["sklearn"]
    return hashlib.sha256((folder / flavor["pickled_model"]).read_bytes()).hexdigest()


def test_mlflow_registry_alias_gives_the_trained_predictions(
    logged: tuple[TrainedModel, LoggedModel], fresh: pd.DataFrame, tracking_uri: str
) -> None:
    trained, result = logged
    assert result.registry_uri == "models:/track-reference@champion"
    expected = trained.predict_proba(fresh)
    for uri in ("models:/track-reference@champion", "models:/track-reference/1",
                result.model_uri):
        model = load_model(uri, tracking_uri=tracking_uri)
        np.testing.assert_array_equal(model.predict_proba(fresh), expected)
        assert model.kind == "mlflow"
        assert model.identity.run_id == result.run_id
        assert model.identity.file_sha256 == _logged_model_sha256(uri, tracking_uri)
        # The content hash: the same for the trained model, however MLflow stored it.
        assert model.identity.sha256 == skops_content_sha256(skops.io.dumps(trained.pipeline))
    by_alias = load_model("models:/track-reference@champion", tracking_uri=tracking_uri)
    assert (by_alias.identity.name, by_alias.identity.version) == ("track-reference", "1")


def test_mlflow_signature_and_example_are_logged(
    logged: tuple[TrainedModel, LoggedModel], tracking_uri: str
) -> None:
    import mlflow

    from audit.models.mlflow_io import tracking

    trained, result = logged
    with tracking(tracking_uri):
        info = mlflow.models.get_model_info(result.model_uri)
        local = mlflow.artifacts.download_artifacts(artifact_uri=result.model_uri)
    example = pd.read_json(Path(local) / "input_example.json", orient="split")
    inputs = {c["name"]: c["type"] for c in info.signature.inputs.to_dict()}
    assert inputs["housing_status"] == "string"
    assert inputs["months_worked_3y"] == "double"
    assert list(inputs) == [c.name for c in trained.inputs]
    # the example is the archetype row (medians, most frequent categories), not a person
    pd.testing.assert_frame_equal(example, trained.example, check_dtype=False)


def test_alias_moves_to_a_new_version(
    logged: tuple[TrainedModel, LoggedModel], people: pd.DataFrame, fresh: pd.DataFrame,
    tracking_uri: str,
) -> None:
    newer = _train(people.iloc[:2000], "track", "logistic")
    second = log_trained_model(newer, tracking_uri=tracking_uri, register="track-reference",
                               alias="challenger")
    assert second.version == "2"
    challenger = load_model("models:/track-reference@challenger", tracking_uri=tracking_uri)
    champion = load_model("models:/track-reference@champion", tracking_uri=tracking_uri)
    np.testing.assert_array_equal(challenger.predict_proba(fresh), newer.predict_proba(fresh))
    assert champion.identity.version == "1"


def test_onnx_logged_to_mlflow_runs_through_onnxruntime(
    people: pd.DataFrame, fresh: pd.DataFrame, tracking_uri: str
) -> None:
    import mlflow

    from audit.models.mlflow_io import ensure_experiment, tracking

    trained = _train(people, "profiling", "logistic")
    proto = convert_pipeline(trained.pipeline, trained.inputs, classes=trained.classes)
    experiment = ensure_experiment("foreign-models", tracking_uri=tracking_uri)
    with tracking(tracking_uri), mlflow.start_run(experiment_id=experiment) as run:
        mlflow.onnx.log_model(proto, name="model", pip_requirements=["onnxruntime"])
    model = load_model(f"runs:/{run.info.run_id}/model", tracking_uri=tracking_uri)
    assert model.kind == "mlflow" and model.identity.run_id == run.info.run_id
    np.testing.assert_allclose(model.predict_proba(fresh), trained.predict_proba(fresh),
                               atol=1e-5, rtol=0)


def test_pickled_mlflow_model_is_refused(people: pd.DataFrame, tracking_uri: str) -> None:
    import mlflow

    from audit.errors import AuditInputError
    from audit.models.mlflow_io import ensure_experiment, tracking

    trained = _train(people, "profiling", "logistic")
    experiment = ensure_experiment("foreign-models", tracking_uri=tracking_uri)
    with tracking(tracking_uri), mlflow.start_run(experiment_id=experiment) as run:
        mlflow.sklearn.log_model(trained.pipeline, name="model",
                                 serialization_format="cloudpickle",
                                 pip_requirements=["scikit-learn"])
    uri = f"runs:/{run.info.run_id}/model"
    with pytest.raises(AuditInputError) as err:
        load_model(uri, tracking_uri=tracking_uri)
    assert str(err.value) == (
        f"MLflow model '{uri}': expected a scikit-learn model saved in the skops format; found "
        "serialization format 'cloudpickle'.\nHint: log the model again with "
        "serialization_format='skops'; pickled models from elsewhere can run arbitrary code and "
        "are not loaded"
    )
