"""The model's hash in the manifest is of its content: the same model, the same hash, always."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import skops.io as sio

from audit.models.importing import file_sha256, load_model
from audit.models.skops_io import save_skops, skops_content_sha256
from audit.models.training import FeatureSet, TrainedModel, train_profiling_model
from tests.models.conftest import CATALOGUE

REPO = Path(__file__).resolve().parents[2]


def _train(people: pd.DataFrame, seed: int = 0, algorithm: str = "logistic") -> TrainedModel:
    return train_profiling_model(
        people,
        features=FeatureSet.preset("full", CATALOGUE),
        seed=seed,
        algorithm=algorithm,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("algorithm", ["logistic", "random_forest"])
def test_the_same_model_trained_twice_has_one_hash(
    people: pd.DataFrame, tmp_path: Path, algorithm: str
) -> None:
    first, second = _train(people, algorithm=algorithm), _train(people, algorithm=algorithm)
    a = save_skops(first.pipeline, tmp_path / "a.skops")
    b = save_skops(second.pipeline, tmp_path / "b.skops")
    # The files differ (skops names arrays by memory address): hashing bytes cannot prove it.
    assert file_sha256(a) != file_sha256(b)
    assert skops_content_sha256(a) == skops_content_sha256(b)
    assert load_model(a).identity.sha256 == load_model(b).identity.sha256
    assert load_model(a).identity.file_sha256 == file_sha256(a)
    # In memory, as `audit run` hashes a model it trained, the same as the saved file.
    assert skops_content_sha256(sio.dumps(first.pipeline)) == skops_content_sha256(a)


def test_a_different_model_has_another_hash(people: pd.DataFrame, tmp_path: Path) -> None:
    base = skops_content_sha256(sio.dumps(_train(people).pipeline))
    other_seed = skops_content_sha256(sio.dumps(_train(people, seed=1).pipeline))
    fewer_rows = skops_content_sha256(sio.dumps(_train(people.iloc[:2000]).pipeline))
    assert len({base, other_seed, fewer_rows}) == 3


def test_one_parameter_changed_changes_the_hash(people: pd.DataFrame) -> None:
    model = _train(people).pipeline
    before = skops_content_sha256(sio.dumps(model))
    classifier = model.steps[-1][1]
    classifier.coef_[0, 0] += 1e-12  # the smallest change to a fitted array
    assert skops_content_sha256(sio.dumps(model)) != before


def test_the_hash_is_the_same_in_another_process(people: pd.DataFrame, tmp_path: Path) -> None:
    """Memory addresses differ between processes; the content hash does not."""
    data = tmp_path / "people.parquet"
    people.to_parquet(data)
    columns = ",".join(FeatureSet.preset("full", CATALOGUE).columns)
    script = (
        "import sys, pandas as pd, skops.io as sio\n"
        "from audit.models.skops_io import skops_content_sha256\n"
        "from audit.models.training import FeatureSet, train_profiling_model\n"
        "features = FeatureSet('full', tuple(sys.argv[2].split(',')))\n"
        "m = train_profiling_model(pd.read_parquet(sys.argv[1]), features=features, seed=0)\n"
        "print(skops_content_sha256(sio.dumps(m.pipeline)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(data), columns],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    here = skops_content_sha256(sio.dumps(_train(pd.read_parquet(data)).pipeline))
    assert done.stdout.strip() == here
    assert len(here) == len(hashlib.sha256().hexdigest())
