"""Model inputs are the same text whether a column is categorical or plain objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from audit.data import generate_population
from audit.models.importing import load_model
from audit.models.inputs import MISSING_CATEGORY, prepare_inputs


def test_categorical_and_object_columns_give_identical_inputs() -> None:
    people = generate_population(3000, scenario="no_bias", seed=2).people
    people.loc[[3, 40], "housing_status"] = np.nan
    as_objects = people.copy()
    for column in as_objects.columns:
        if isinstance(as_objects[column].dtype, pd.CategoricalDtype):
            as_objects[column] = as_objects[column].astype(object)
    model = load_model(Path(__file__).resolve().parents[2] / "models" / "profiling_reference.skops")
    fast = prepare_inputs(model.expected_columns, people)
    plain = prepare_inputs(model.expected_columns, as_objects)
    pd.testing.assert_frame_equal(fast, plain)
    assert fast.loc[3, "housing_status"] == MISSING_CATEGORY
    assert np.array_equal(model.predict_proba(people), model.predict_proba(as_objects))


def test_onnx_reads_the_prepared_arrays_and_its_probabilities_do_not_need_the_labels() -> None:
    # The fast path of ONNX scoring (arrays straight to onnxruntime, probabilities only) gives
    # the values of the frame every other backend reads, and the probabilities of a full run.
    from audit.models.inputs import prepare_arrays

    people = generate_population(2000, scenario="no_bias", seed=3).people
    people.loc[[5, 9], "housing_status"] = np.nan
    model = load_model(Path(__file__).resolve().parents[2] / "models" / "profiling_reference.onnx")
    arrays = prepare_arrays(model.expected_columns, people)
    frame = prepare_inputs(model.expected_columns, people)
    assert list(arrays) == list(frame.columns)
    for name, values in arrays.items():
        assert values.tolist() == frame[name].tolist()
    runner = model.runner  # type: ignore[attr-defined]
    labels, proba = runner.run(people)
    no_labels, proba_only = runner.run(people, labels=False)
    assert no_labels is None and labels is not None
    assert np.array_equal(proba, proba_only)
    assert np.array_equal(model.predict_proba(people), proba)
    assert np.array_equal(labels.astype(int), np.argmax(proba, axis=1))
