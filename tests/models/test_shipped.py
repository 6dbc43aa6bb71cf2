"""The artefacts in models/ load offline, agree across formats, and match their model card."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.models.importing import file_sha256, load_model
from audit.models.training import FeatureSet, train_profiling_model, train_track_model

MODELS = Path(__file__).resolve().parents[2] / "models"
SHIPPED = ("profiling_reference", "profiling_no_digital_traces", "track_reference")
REFRESH = ("models/ is out of date with the generator; rerun the commands in models/README.md "
           "and update the figures there")


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    from audit.data import generate_population

    return generate_population(20_000, scenario="no_bias", seed=0).people


@pytest.mark.parametrize("name", SHIPPED)
def test_skops_and_onnx_agree(name: str, population: pd.DataFrame) -> None:
    skops_model = load_model(MODELS / f"{name}.skops")
    onnx_model = load_model(MODELS / f"{name}.onnx")
    sample = population.iloc[:3000]
    np.testing.assert_allclose(onnx_model.predict_proba(sample),
                               skops_model.predict_proba(sample), atol=1e-5, rtol=0)
    assert (MODELS / f"{name}.skops").stat().st_size < 100_000


def test_card_lists_the_shipped_hashes() -> None:
    card = (MODELS / "README.md").read_text()
    for name in SHIPPED:
        for suffix in (".skops", ".onnx"):
            assert f"`{file_sha256(MODELS / (name + suffix))}`" in card, f"{name}{suffix}"


@pytest.mark.parametrize("name", SHIPPED)
def test_documented_command_reproduces_the_artefact(name: str, population: pd.DataFrame) -> None:
    kind, features = {
        "profiling_reference": ("profiling", "full"),
        "profiling_no_digital_traces": ("profiling", "no_digital_traces"),
        "track_reference": ("track", "full"),
    }[name]
    card = (MODELS / "README.md").read_text()
    command = (f"audit model train --kind {kind} --features {features} --population 20000 "
               f"--scenario no_bias --seed 0 --out models/{name}.skops "
               f"--onnx-out models/{name}.onnx")
    assert command in card
    train = train_profiling_model if kind == "profiling" else train_track_model
    retrained = train(population, features=FeatureSet.preset(features), seed=0)
    shipped = load_model(MODELS / f"{name}.skops")
    sample = population.iloc[:3000]
    np.testing.assert_allclose(shipped.predict_proba(sample), retrained.predict_proba(sample),
                               atol=1e-9, err_msg=REFRESH)
    (metric, value), = retrained.holdout.items()
    label = {"auc": "AUC", "balanced_accuracy": "balanced accuracy"}[metric]
    row = next(line for line in card.splitlines() if line.startswith(f"| {name} |"))
    assert f"| {label} {value:.3f} |" in row, REFRESH
