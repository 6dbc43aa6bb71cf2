"""Every kind of unusable model or data gives an AuditInputError that says what to do."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from audit.errors import AuditInputError
from audit.models.importing import load_model
from audit.models.onnx_io import convert_pipeline, save_onnx
from audit.models.skops_io import save_skops
from audit.models.training import FeatureSet, TrainedModel, train_profiling_model
from tests.models.conftest import CATALOGUE


@pytest.fixture(scope="module")
def trained(people: pd.DataFrame) -> TrainedModel:
    return train_profiling_model(people, features=FeatureSet.preset("full", CATALOGUE))


@pytest.fixture(scope="module")
def model_files(trained: TrainedModel, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {
        "skops": save_skops(trained.pipeline, folder / "profiling.skops"),
        "onnx": save_onnx(convert_pipeline(trained.pipeline, trained.inputs,
                                           classes=trained.classes), folder / "profiling.onnx"),
    }


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(AuditInputError) as err:
        load_model(path)
    assert str(err.value) == (
        f"model source '{path}': expected an MLflow URI (runs:/RUN/model, models:/NAME/VERSION, "
        "models:/NAME@ALIAS), a .skops file, an .onnx file, or a decisions file (.csv, .parquet); "
        "found the extension '.pkl'.\n"
        "Hint: rename the file to the format it holds, or export the model as skops or ONNX"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AuditInputError) as err:
        load_model(tmp_path / "absent.onnx")
    assert str(err.value).endswith("expected an existing file; found no such file.\n"
                                   "Hint: check the path (relative paths start from the current "
                                   "directory)")


def test_text_renamed_onnx(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_text("score = 0.3 * age\n")
    with pytest.raises(AuditInputError) as err:
        load_model(path)
    message = str(err.value)
    assert message.startswith(
        f"model file '{path}': expected an ONNX model (a protobuf graph with inputs and outputs); "
        "found a file ONNX cannot read ("
    )
    assert message.endswith("Hint: check that the file is an ONNX export and not another format "
                            "renamed .onnx")


def test_skops_file_renamed_onnx(model_files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(model_files["skops"].read_bytes())
    with pytest.raises(AuditInputError, match="expected an ONNX model"):
        load_model(path)


def test_text_renamed_skops(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_text("not a model")
    with pytest.raises(AuditInputError) as err:
        load_model(path)
    assert str(err.value) == (
        f"model file '{path}': expected a skops file (a zip archive); found a file that is not "
        "a zip archive.\nHint: check that the file is a skops export and not another format "
        "renamed .skops"
    )


def _rewrite_schema(source: Path, target: Path, old: str, new: str) -> None:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "schema.json":
                text = data.decode()
                assert old in text
                data = text.replace(old, new).encode()
            zout.writestr(item, data)


def test_tampered_skops_names_the_untrusted_type(model_files: dict[str, Path],
                                                 tmp_path: Path) -> None:
    path = tmp_path / "tampered.skops"
    _rewrite_schema(
        model_files["skops"], path,
        '"__class__": "LogisticRegression",\n'
        '                "__module__": "sklearn.linear_model._logistic"',
        '"__class__": "system",\n                "__module__": "os"',
    )
    with pytest.raises(AuditInputError) as err:
        load_model(path)
    assert str(err.value) == (
        f"model file '{path}': expected only types on the allow-list (numpy.dtype, "
        "sklearn.tree._tree.Tree) and skops defaults; found untrusted types os.system.\n"
        "Hint: review these types; if the file comes from a source you trust, add them to "
        "audit.models.skops_io.TRUSTED_TYPES. Never load it with pickle"
    )


def test_skops_with_types_off_the_allow_list(people: pd.DataFrame, tmp_path: Path) -> None:
    x = people[["months_worked_3y", "counsellor_assessment"]]
    pipe = Pipeline([("prepare", ColumnTransformer([("n", "passthrough", list(x.columns))])),
                     ("classifier", HistGradientBoostingClassifier(max_iter=5))])
    path = save_skops(pipe.fit(x, people["job_28d_6m"]), tmp_path / "hgb.skops")
    tree = "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"
    with pytest.raises(AuditInputError, match=re.escape(f"found untrusted types {tree}.")):
        load_model(path)
    trusted = ("numpy.dtype", tree)
    model = load_model(path, trusted_types=trusted)
    assert model.predict_proba(people).shape == (len(people), 2)


def test_truncated_skops(model_files: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "cut.skops"
    path.write_bytes(model_files["skops"].read_bytes()[:2000])
    with pytest.raises(AuditInputError, match="skops file"):
        load_model(path)


def test_onnx_inputs_missing_from_data(model_files: dict[str, Path], people: pd.DataFrame) -> None:
    model = load_model(model_files["onnx"])
    with pytest.raises(AuditInputError) as err:
        model.predict_proba(people.drop(columns=["logins_90d", "housing_status"]))
    message = str(err.value)
    assert message.startswith(
        "data for ONNX model 'profiling.onnx': expected the columns 'age_band' (string), "
    )
    assert "; found missing columns 'logins_90d', 'housing_status'.\n" in message
    assert message.endswith("Hint: pass data with the columns and types the model was trained "
                            "on (see `audit model check SOURCE --data FILE`)")


def test_onnx_input_with_wrong_type(model_files: dict[str, Path], people: pd.DataFrame) -> None:
    model = load_model(model_files["onnx"])
    bad = people.assign(months_worked_3y=people["months_worked_3y"].map(lambda m: f"{m} months"))
    with pytest.raises(AuditInputError, match=r"found text where numbers are expected in "
                       r"'months_worked_3y' \((str|object)\)"):
        model.predict_proba(bad)
    check = model.check(bad)
    assert check.wrong_type == ("months_worked_3y",) and not check.ok


def test_extra_columns_are_allowed_and_reported(model_files: dict[str, Path],
                                                people: pd.DataFrame) -> None:
    model = load_model(model_files["skops"])
    check = model.check(people)
    assert check.ok
    assert set(check.extra) == {"person_id", "job_28d_6m", "recommended_track"}


def test_onnx_with_one_matrix_input_is_explained(people: pd.DataFrame, tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    x = people[["months_worked_3y", "counsellor_assessment"]].to_numpy(np.float32)
    proto = to_onnx(LogisticRegression().fit(x, people["job_28d_6m"]), x[:1])
    path = tmp_path / "matrix.onnx"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(AuditInputError) as err:
        load_model(path)
    assert str(err.value) == (
        f"ONNX model '{path}': expected one named input of shape [N, 1] per column; found input "
        "'X' of shape [None, 2].\nHint: convert the pipeline with one initial type per "
        "data-frame column (audit.models.onnx_io.convert_pipeline does this)"
    )


def test_mlflow_uri_that_does_not_exist(tracking_uri: str) -> None:
    with pytest.raises(AuditInputError) as err:
        load_model("models:/no-such-model@champion", tracking_uri=tracking_uri)
    message = str(err.value)
    assert message.startswith(
        f"MLflow model 'models:/no-such-model@champion': expected a model that exists in the "
        f"tracking store {tracking_uri}; found "
    )
    assert "no-such-model" in message.split("found", 1)[1]
    assert message.endswith("Hint: check the name, version or alias with the MLflow UI, and pass "
                            "--tracking-uri if the store is not the default")
    with pytest.raises(AuditInputError, match="expected a model that exists"):
        load_model("runs:/0123456789abcdef0123456789abcdef/model", tracking_uri=tracking_uri)


def test_registry_uri_without_version_or_alias(tracking_uri: str) -> None:
    with pytest.raises(AuditInputError, match="expected models:/NAME/VERSION or models:/NAME@ALIAS"):
        load_model("models:/some-model/latest-ish", tracking_uri=tracking_uri)


# Decisions files: outputs of a model we cannot run.
@pytest.fixture()
def decisions(people: pd.DataFrame, tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    score = rng.random(len(people))
    table = pd.DataFrame({"pid": people["person_id"], "risk": score,
                          "support": (score < 0.5).astype(int),
                          "track": people["recommended_track"].astype(str)})
    path = tmp_path / "decisions.csv"
    table.sample(frac=1.0, random_state=1).to_csv(path, index=False)  # rows in another order
    return path


def test_decisions_file_is_matched_by_id(decisions: Path, people: pd.DataFrame) -> None:
    model = load_model(decisions, decision_column="support", score_column="risk", id_column="pid")
    data = people.rename(columns={"person_id": "pid"}).iloc[::-1]
    table = pd.read_csv(decisions).set_index("pid").loc[data["pid"]]
    np.testing.assert_array_equal(model.predict(data), table["support"].to_numpy())
    np.testing.assert_allclose(model.predict_proba(data)[:, 1], table["risk"].to_numpy())
    assert model.kind == "decisions" and model.task == "profiling"
    tracks = load_model(decisions, track_column="track", id_column="pid")
    assert tracks.task == "track"
    np.testing.assert_array_equal(tracks.predict(data), table["track"].to_numpy())


def test_decisions_file_without_the_named_column(decisions: Path) -> None:
    with pytest.raises(AuditInputError) as err:
        load_model(decisions, decision_column="decision", id_column="pid")
    assert str(err.value) == (
        f"decisions file '{decisions}': expected the columns 'decision', 'pid'; found no column "
        "'decision'; it has 'pid', 'risk', 'support', 'track'.\n"
        "Hint: name the columns as they appear in the file"
    )


def test_decisions_file_missing_people(decisions: Path, people: pd.DataFrame) -> None:
    model = load_model(decisions, decision_column="support", id_column="pid")
    extra = pd.DataFrame({"pid": ["stranger-1", "stranger-2"]})
    data = pd.concat([people.rename(columns={"person_id": "pid"}), extra], ignore_index=True)
    with pytest.raises(AuditInputError, match=re.escape("found 2 ids without a decision, "
                                                           "e.g. stranger-1, stranger-2")):
        model.predict(data)


def test_decisions_file_with_scores_out_of_range(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    pd.DataFrame({"score": [0.2, 1.7, 0.4]}).to_csv(path, index=False)
    with pytest.raises(AuditInputError) as err:
        load_model(path, score_column="score")
    assert str(err.value) == (
        f"column 'score' of decisions file '{path}': expected scores between 0 and 1 in every "
        "row; found 0 missing or non-numeric, range [0.2, 1.7].\n"
        "Hint: correct the file or name another column"
    )


def test_parquet_that_is_really_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    path.write_text("decision\n1\n0\n")
    with pytest.raises(AuditInputError, match="expected a readable parquet file"):
        load_model(path, decision_column="decision")


def test_decisions_file_needs_a_named_column(decisions: Path) -> None:
    with pytest.raises(AuditInputError, match="pass --decision-column, --score-column or "
                       "--track-column"):
        load_model(decisions)


def test_onnx_file_records_the_trained_classes(model_files: dict[str, Path]) -> None:
    # The ONNX file carries its class labels; they must be the trained ones.
    import onnx

    props = {p.key: p.value for p in onnx.load(model_files["onnx"]).metadata_props}
    assert json.loads(props["audit.classes"]) == ["0", "1"]
