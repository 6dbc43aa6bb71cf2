"""The `employment_fairness` MLflow evaluator, through `mlflow.models.evaluate` and a real store.

Every evaluation runs against a SQLite store in a temporary directory, with artifacts beside it,
on a model trained here from the synthetic population. Results are cross-checked against `assess`
called directly on the same decisions, figure by figure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import EvaluationResult, infer_signature

from audit.data import generate_population
from audit.disclosure import suppress
from audit.errors import AuditInputError
from audit.models.mlflow_io import LoggedModel, ensure_experiment, log_trained_model, tracking
from audit.models.skops_io import TRUSTED_TYPES
from audit.models.training import FeatureSet, TrainedModel, train_profiling_model
from audit.stats.assess import assess
from audit.stats.result import Assessment
from audit.stats.simulate import simulate_decisions
from audit.tracking.evaluator import AssessmentArtifact, FairnessEvaluator, parse_config
from audit.tracking.naming import flatten_metrics

N_ROWS = 6000
TARGET = "job_28d_6m"
# digital_literacy is no model input: the groups must come from the full evaluation data.
SENSITIVE = ["mental_health_history", "housing_status", "digital_literacy"]
CONFIG: dict[str, Any] = {
    "sensitive_attributes": SENSITIVE,
    "reference": {"housing_status": "stable"},
    "n_boot": 200,
    "seed": 1,
}
SIM_GROUPS = ["mh", "housing", "digital"]


@dataclass(frozen=True)
class Store:
    uri: str
    experiment_id: str


@dataclass(frozen=True)
class Evaluated:
    result: EvaluationResult
    run_id: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A fresh SQLite store with artifacts next to it (never ./mlruns), made current."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    experiment_id = ensure_experiment("fairness-evaluation", tracking_uri=uri)
    with tracking(uri):
        yield Store(uri, experiment_id)


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return generate_population(N_ROWS, scenario="all_harms", seed=5).people


@pytest.fixture(scope="module")
def trained(people: pd.DataFrame) -> TrainedModel:
    return train_profiling_model(people, features=FeatureSet.preset("full"), seed=0)


@pytest.fixture(scope="module")
def logged(trained: TrainedModel, store: Store) -> LoggedModel:
    return log_trained_model(trained, tracking_uri=store.uri, experiment="fairness-evaluation")


def evaluate(
    store: Store, model: str | None, data: pd.DataFrame, config: dict[str, Any], **kwargs: Any
) -> Evaluated:
    with mlflow.start_run(experiment_id=store.experiment_id) as run:
        result = mlflow.models.evaluate(
            model,
            data,
            model_type="classifier",
            evaluators=["employment_fairness"],
            evaluator_config={"employment_fairness": config},
            **kwargs,
        )
    return Evaluated(result, run.info.run_id)


def expected_metrics(frame: pd.DataFrame, config: dict[str, Any], **columns: Any) -> dict:
    """`flatten_metrics` of the published `assess(...)`, with the evaluator's options."""
    options = {k: v for k, v in config.items() if k not in ("sensitive_attributes", "threshold")}
    return flatten_metrics(
        suppress(assess(frame, groups=config["sensitive_attributes"], **columns, **options))
    )


@pytest.fixture(scope="module")
def labels_run(store: Store, logged: LoggedModel, people: pd.DataFrame) -> Evaluated:
    return evaluate(store, logged.model_uri, people, CONFIG, targets=TARGET)


@pytest.fixture(scope="module")
def model_decisions(people: pd.DataFrame, trained: TrainedModel) -> pd.DataFrame:
    """The audited columns with the decisions computed here, without MLflow."""
    frame = people[[*SENSITIVE, TARGET]].copy()
    frame["decision"] = trained.predict(people)
    return frame


def logged_text(run_id: str, tmp_path: Path) -> dict[str, str]:
    """Everything the run holds, as text: params, metric names, tags, inputs, artifact files."""
    client = mlflow.MlflowClient()
    run = client.get_run(run_id)
    texts = {
        "params": json.dumps(run.data.params),
        "metric keys": "\n".join(run.data.metrics),
        "tags": json.dumps(run.data.tags),
        "inputs": json.dumps(
            [
                [
                    d.dataset.name,
                    d.dataset.digest,
                    d.dataset.source,
                    d.dataset.schema,
                    d.dataset.profile,
                ]
                for d in run.inputs.dataset_inputs
            ]
        ),
    }
    local = Path(client.download_artifacts(run_id, "", str(tmp_path)))
    for path in sorted(local.rglob("*")):
        if path.is_file():
            texts[str(path.relative_to(local))] = path.read_text("utf-8")
    return texts


def test_the_plugin_is_registered_through_its_entry_point() -> None:
    assert "employment_fairness" in mlflow.models.list_evaluators()


def test_logged_model_metrics_equal_a_direct_assessment(
    labels_run: Evaluated, model_decisions: pd.DataFrame, store: Store, tmp_path: Path
) -> None:
    expected = expected_metrics(model_decisions, CONFIG, y_true=TARGET, y_pred="decision")
    result = labels_run.result
    assert len(expected) > 500
    assert result.metrics == expected
    assert result.metrics["tpr/digital_literacy.low"] == expected["tpr/digital_literacy.low"]
    # Names written out, values by hand from the decisions (issue 14), not from flatten_metrics.
    housing = model_decisions.groupby("housing_status", observed=True)["decision"].mean()
    assert result.metrics["selection_rate/housing_status.homeless"] == pytest.approx(
        housing["homeless"]
    )
    assert result.metrics["selection_rate.difference/housing_status.homeless"] == pytest.approx(
        housing["homeless"] - housing["stable"]
    )
    assert result.metrics["selection_rate.ratio/housing_status.unstable"] == pytest.approx(
        housing["unstable"] / housing["stable"]
    )
    logged = mlflow.MlflowClient().get_run(labels_run.run_id).data.metrics
    assert logged == expected

    artifact = result.artifacts["fairness_assessment"]
    assert isinstance(artifact, AssessmentArtifact)
    assert artifact.uri.endswith("fairness/assessment.json")
    path = mlflow.MlflowClient().download_artifacts(
        labels_run.run_id, "fairness/assessment.json", str(tmp_path)
    )
    stored = Assessment.from_json(Path(path).read_text("utf-8"))
    assert flatten_metrics(stored) == expected
    assert stored.settings.groups == tuple(SENSITIVE)
    assert stored.settings.y_true == TARGET
    assert stored.n_rows == N_ROWS

    result.save(str(tmp_path / "saved"))
    reloaded = EvaluationResult.load(str(tmp_path / "saved"))
    assert reloaded.metrics == expected
    assert flatten_metrics(reloaded.artifacts["fairness_assessment"].content) == expected


def test_static_predictions_give_the_same_figures(
    store: Store, labels_run: Evaluated, model_decisions: pd.DataFrame, people: pd.DataFrame
) -> None:
    data = people.assign(decision=model_decisions["decision"].to_numpy())
    static = evaluate(store, None, data, CONFIG, targets=TARGET, predictions="decision")
    assert static.result.metrics == labels_run.result.metrics
    assert mlflow.MlflowClient().list_artifacts(static.run_id, "fairness")[0].path == (
        "fairness/assessment.json"
    )


def test_probabilities_with_a_threshold(
    store: Store, trained: TrainedModel, people: pd.DataFrame
) -> None:
    """A model logged to output probabilities: decision = score >= threshold, score audited."""
    import sklearn
    import skops

    proba = trained.pipeline.predict_proba(trained.example)
    with mlflow.start_run(experiment_id=store.experiment_id):
        info = mlflow.sklearn.log_model(
            trained.pipeline,
            name="model",
            serialization_format="skops",
            skops_trusted_types=list(TRUSTED_TYPES),
            pyfunc_predict_fn="predict_proba",
            signature=infer_signature(trained.example, proba),
            pip_requirements=[
                f"scikit-learn=={sklearn.__version__}",
                f"skops=={skops.__version__}",
            ],
        )
    config = {**CONFIG, "threshold": 0.4}
    got = evaluate(store, info.model_uri, people, config, targets=TARGET).result.metrics

    frame = people[[*SENSITIVE, TARGET]].copy()
    frame["score"] = trained.predict_proba(people)[:, 1]
    frame["decision"] = (frame["score"] >= 0.4).astype(int)
    expected = expected_metrics(frame, config, y_true=TARGET, y_pred="decision", score="score")
    assert "auc/housing_status.homeless" in got
    assert got.keys() == expected.keys()
    # The model reads float64 here and float32-rounded numbers in `trained.predict_proba`.
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_static_scores_with_a_threshold(store: Store) -> None:
    data = simulate_decisions(N_ROWS, seed=4, score=True).drop(columns="d")
    config = {"sensitive_attributes": SIM_GROUPS, "n_boot": 100, "threshold": 0.5}
    got = evaluate(store, None, data, config, targets="y", predictions="s").result.metrics
    frame = data.assign(d=(data["s"] >= 0.5).astype(int))
    assert got == expected_metrics(frame, config, y_true="y", y_pred="d", score="s")


def significant(metrics: dict[str, float]) -> set[str]:
    return {k for k, v in metrics.items() if ".p_adjusted/" in k and v < 0.05}


def test_a_biased_group_is_found_and_an_unbiased_table_is_not(store: Store) -> None:
    config = {"sensitive_attributes": SIM_GROUPS, "n_boot": 200}
    biased = simulate_decisions(N_ROWS, seed=2, shift={"housing=homeless": -0.25})
    got = evaluate(store, None, biased, config, targets="y", predictions="d").result.metrics
    for metric in ("selection_rate", "tpr", "fpr"):
        assert got[f"{metric}.difference.p_adjusted/housing.homeless"] < 0.05
        assert got[f"{metric}.difference.ci_high/housing.homeless"] < 0
    assert (
        got["tpr.difference.ci_low/housing.homeless"]
        < -0.25
        < got["tpr.difference.ci_high/housing.homeless"]
    )
    assert significant(got)
    assert all(k.endswith("/housing.homeless") for k in significant(got))

    fair = simulate_decisions(N_ROWS, seed=2)
    got = evaluate(store, None, fair, config, targets="y", predictions="d").result.metrics
    assert any(".p_adjusted/" in k for k in got)
    assert significant(got) == set()


def test_without_sensitive_attributes_mlflow_finds_no_evaluator(store: Store) -> None:
    assert FairnessEvaluator.can_evaluate(model_type="classifier", evaluator_config=CONFIG)
    assert not FairnessEvaluator.can_evaluate(
        model_type="classifier", evaluator_config={"n_boot": 0}
    )
    assert not FairnessEvaluator.can_evaluate(model_type="regressor", evaluator_config=CONFIG)
    data = simulate_decisions(500, seed=1)
    with pytest.raises(MlflowException, match="could not be evaluated by any of the registered"):
        evaluate(store, None, data, {"n_boot": 0}, targets="y", predictions="d")


BAD_CONFIGS = [
    (
        {"sensitive_attributes": SIM_GROUPS, "n_bootstrap": 100},
        "evaluator_config key 'n_bootstrap': expected one of the keys sensitive_attributes, "
        "reference, intersections, n_boot, seed, alpha, correction, min_group_size, "
        "min_cell_size, max_levels, threshold, pos_label; found an unknown key.\n"
        "Hint: did you mean 'n_boot'? remove 'n_bootstrap' or correct its spelling",
    ),
    (
        {"sensitive_attributes": "housing"},
        "evaluator_config key 'sensitive_attributes': expected a non-empty list of column names "
        "of the evaluation data; found 'housing' (str): input should be a valid list.\n"
        "Hint: correct 'sensitive_attributes' in evaluator_config[\"employment_fairness\"]",
    ),
    (
        {"sensitive_attributes": SIM_GROUPS, "correction": "bonferroni"},
        "evaluator_config key 'correction': expected one of 'holm', 'bh', 'none'; found "
        "'bonferroni' (str): input should be 'holm', 'bh' or 'none'.\n"
        "Hint: correct 'correction' in evaluator_config[\"employment_fairness\"]",
    ),
    (
        {"sensitive_attributes": ["housing"], "intersections": 2},
        "evaluator_config key 'intersections': expected an order from 1 to the number of "
        "sensitive attributes (1); found 2.\n"
        "Hint: lower intersections or add sensitive attributes",
    ),
    (
        {"sensitive_attributes": ["housing", "homeless"]},
        "sensitive attribute 'homeless': expected a column of the evaluation data; found no "
        "such column; the data has the columns mh, housing, digital.\n"
        "Hint: add the column to the data passed to mlflow.models.evaluate (the model need not "
        "read it), or correct sensitive_attributes",
    ),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS)
def test_bad_config_names_the_key_and_the_fix(
    store: Store, config: dict[str, Any], message: str
) -> None:
    data = simulate_decisions(500, seed=1)
    with pytest.raises(AuditInputError) as err:
        evaluate(store, None, data, config, targets="y", predictions="d")
    assert str(err.value) == message


def test_missing_sensitive_attributes_is_a_clear_error_when_called_directly() -> None:
    with pytest.raises(AuditInputError) as err:
        parse_config({"n_boot": 10})
    assert str(err.value) == (
        "evaluator_config key 'sensitive_attributes': expected a non-empty list of column names "
        "of the evaluation data; found no such key.\n"
        'Hint: add it: evaluator_config={"employment_fairness": {"sensitive_attributes": '
        "[...], ...}}"
    )


def test_scores_without_a_threshold_are_refused(store: Store) -> None:
    data = simulate_decisions(500, seed=1, score=True)
    with pytest.raises(AuditInputError, match=r"set 'threshold' in evaluator_config"):
        evaluate(
            store, None, data, {"sensitive_attributes": SIM_GROUPS}, targets="y", predictions="s"
        )


def test_only_aggregates_are_logged(
    labels_run: Evaluated, people: pd.DataFrame, tmp_path: Path
) -> None:
    texts = logged_text(labels_run.run_id, tmp_path)
    assert [k for k in texts if k.startswith("fairness")] == [
        "fairness/assessment.json",
        "fairness/metric_keys.json",
    ]
    everything = "\n".join(texts.values())
    # No person identifier reaches the run.
    ids = people["person_id"].astype(str)
    assert not [i for i in ids if i in everything]
    for column in SENSITIVE:
        values = people[column].astype(str).tolist()
        # No stretch of the column in row order, in any common serialisation.
        for start in (0, 100, N_ROWS - 10):
            run = values[start : start + 8]
            for sep in (", ", ",", "\n", '", "', "', '", " "):
                assert sep.join(run) not in everything, (column, sep)
        # A level is named once per figure, never once per row: far fewer times than its rows.
        counts = people[column].astype(str).value_counts()
        level, rows = counts.index[0], int(counts.iloc[0])
        named = len(re.findall(rf"\b{re.escape(level)}\b", everything))
        assert 0 < named < rows / 10, (column, level, named, rows)


def test_data_the_model_refuses_is_reported_without_its_rows(
    store: Store, logged: LoggedModel, people: pd.DataFrame
) -> None:
    """MLflow's own message prints the input frame; the evaluator's error keeps only the reason."""
    data = people.assign(months_worked_3y=[f"{m} months" for m in people["months_worked_3y"]])
    with pytest.raises(AuditInputError) as err:
        evaluate(store, logged.model_uri, data, CONFIG, targets=TARGET)
    assert str(err.value) == (
        "model input: expected data the model accepts; found Incompatible input types for "
        "column months_worked_3y. Can not safely convert str to float64.\n"
        "Hint: pass the evaluation data with the columns and types of the model's signature"
    )
    assert err.value.__cause__ is None and err.value.__suppress_context__

    with pytest.raises(AuditInputError) as err:
        evaluate(store, logged.model_uri, people.drop(columns="has_car"), CONFIG, targets=TARGET)
    assert str(err.value) == (
        "evaluation data: expected every input column of the model's signature; found no column "
        "'has_car'.\n"
        "Hint: add the model's input columns to the data passed to mlflow.models.evaluate"
    )
