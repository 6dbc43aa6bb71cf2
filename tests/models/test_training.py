from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from audit.errors import AuditInputError
from audit.models.training import (
    BandPolicy,
    FeatureSet,
    allocate_support,
    train_profiling_model,
    train_track_model,
)
from tests.models.conftest import CATALOGUE, make_people, true_logit


def test_presets_drop_exactly_the_digital_traces_or_the_sensitive_attributes() -> None:
    full = FeatureSet.preset("full", CATALOGUE).columns
    no_traces = FeatureSet.preset("no_digital_traces", CATALOGUE).columns
    no_sensitive = FeatureSet.preset("no_sensitive", CATALOGUE).columns
    assert set(full) - set(no_traces) == {"logins_90d", "online_cv_updated"}
    assert set(full) - set(no_sensitive) == set(CATALOGUE.sensitive)
    assert len(full) == len(set(full)) == 11


def test_unknown_preset_is_refused_with_the_choices() -> None:
    with pytest.raises(AuditInputError) as err:
        FeatureSet.preset("everything", CATALOGUE)
    assert str(err.value) == (
        "feature set: expected one of full, no_digital_traces, no_sensitive; found 'everything'.\n"
        "Hint: use --features full, no_digital_traces or no_sensitive"
    )


@pytest.mark.parametrize("algorithm", ["logistic", "random_forest"])
def test_training_is_deterministic_for_a_seed(people: pd.DataFrame, algorithm: str) -> None:
    features = FeatureSet.preset("full", CATALOGUE)
    a = train_profiling_model(people, features=features, algorithm=algorithm, seed=3)  # type: ignore[arg-type]
    b = train_profiling_model(people, features=features, algorithm=algorithm, seed=3)  # type: ignore[arg-type]
    c = train_profiling_model(people, features=features, algorithm=algorithm, seed=4)  # type: ignore[arg-type]
    np.testing.assert_array_equal(a.predict_proba(people), b.predict_proba(people))
    assert a.holdout == b.holdout
    assert not np.array_equal(a.predict_proba(people), c.predict_proba(people))


def test_profiling_model_learns_the_outcome_on_new_people(people: pd.DataFrame) -> None:
    model = train_profiling_model(people, features=FeatureSet.preset("full", CATALOGUE))
    fresh = make_people(2000, seed=99)
    auc = roc_auc_score(fresh["job_28d_6m"], model.predict_proba(fresh)[:, 1])
    best = roc_auc_score(fresh["job_28d_6m"], true_logit(
        fresh["months_worked_3y"].to_numpy(), fresh["counsellor_assessment"].to_numpy(),
        fresh["mental_health_history"].to_numpy()))
    assert best - 0.02 < auc <= best + 0.01
    assert auc > 0.7
    assert model.classes == ("0", "1")


def test_model_without_traces_reads_no_trace_column(people: pd.DataFrame) -> None:
    model = train_profiling_model(people, features=FeatureSet.preset("no_digital_traces", CATALOGUE))
    read = {c.name for c in model.inputs}
    assert not read & {"logins_90d", "online_cv_updated"}
    # the pipeline itself must not see them either
    assert not read ^ set(model.pipeline.feature_names_in_)


def test_track_model_predicts_the_four_tracks(people: pd.DataFrame) -> None:
    model = train_track_model(people, features=FeatureSet.preset("full", CATALOGUE))
    assert model.classes == ("care", "regular", "sheltered", "training")
    proba = model.predict_proba(people)
    assert proba.shape == (len(people), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.holdout["balanced_accuracy"] > 0.4  # chance is 0.25


def test_input_example_describes_no_real_person(people: pd.DataFrame) -> None:
    model = train_profiling_model(people, features=FeatureSet.preset("full", CATALOGUE))
    example = model.example
    assert list(example.columns) == [c.name for c in model.inputs]
    assert example["months_worked_3y"].iloc[0] == float(np.median(people["months_worked_3y"]))
    assert example["housing_status"].iloc[0] == "stable"


def test_missing_categories_become_their_own_level(people: pd.DataFrame) -> None:
    gappy = people.copy()
    gappy["housing_status"] = gappy["housing_status"].astype(object)
    gappy.loc[gappy.index[::10], "housing_status"] = None
    model = train_profiling_model(gappy, features=FeatureSet.preset("full", CATALOGUE))
    encoder = model.pipeline.named_steps["prepare"].named_transformers_["categorical"]
    housing = next(c for c, n in zip(encoder.categories_, encoder.feature_names_in_, strict=True)
                   if n == "housing_status")
    assert "missing" in list(housing)
    assert people["housing_status"].notna().all()  # the caller's frame is untouched


def test_target_must_be_binary(people: pd.DataFrame) -> None:
    bad = people.assign(job_28d_6m=people["counsellor_assessment"])
    with pytest.raises(AuditInputError) as err:
        train_profiling_model(bad, features=FeatureSet.preset("full", CATALOGUE))
    assert str(err.value) == (
        "target column 'job_28d_6m': expected both outcomes 0 and 1 and no missing values; "
        "found 0 missing; values ['1', '2', '3', '4', '5'].\n"
        "Hint: pass a binary outcome such as job_28d_6m"
    )


def test_unknown_track_label_is_refused(people: pd.DataFrame) -> None:
    bad = people.assign(recommended_track=people["recommended_track"].astype(str)
                        .replace("care", "workshop"))
    with pytest.raises(AuditInputError, match=re.escape(
            "values ['regular', 'sheltered', 'training', 'workshop']")):
        train_track_model(bad, features=FeatureSet.preset("full", CATALOGUE))


def test_feature_column_absent_from_data_is_named(people: pd.DataFrame) -> None:
    with pytest.raises(AuditInputError, match="found no column 'logins_90d'"):
        train_profiling_model(people.drop(columns="logins_90d"),
                              features=FeatureSet.preset("full", CATALOGUE))


# Band policy: hand-worked cases at and around both thresholds.
def test_bands_follow_the_ams_thresholds() -> None:
    scores = [0.0, 0.2499, 0.25, 0.5, 0.6599, 0.66, 1.0]
    allocation = allocate_support(scores)
    assert allocation.band.tolist() == ["low", "low", "medium", "medium", "medium", "high", "high"]
    assert allocation.decision.tolist() == [0, 0, 1, 1, 1, 0, 0]


def test_configurable_policy_supports_chosen_bands() -> None:
    policy = BandPolicy(high=0.8, low=0.4, supported_bands=("medium", "low"))
    allocation = policy.allocate(np.array([0.1, 0.5, 0.9]))
    assert allocation.band.tolist() == ["low", "medium", "high"]
    assert allocation.decision.tolist() == [1, 1, 0]


def test_policy_with_crossed_thresholds_is_refused() -> None:
    with pytest.raises(AuditInputError) as err:
        BandPolicy(high=0.2, low=0.5)
    assert str(err.value) == (
        "band policy: expected 0 <= low < high <= 1; found low=0.5, high=0.2.\n"
        "Hint: choose a low threshold below the high threshold, both between 0 and 1"
    )


def test_scores_outside_zero_one_are_refused() -> None:
    with pytest.raises(AuditInputError, match=re.escape("1 missing, range [0.2, 1.5]")):
        allocate_support([0.2, 1.5, float("nan")])
