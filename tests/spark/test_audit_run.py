"""`audit run` with engine spark: the same results and verdict as in memory (issue 11).

The audits run in this process, through `run_audit`, on the test worker's Spark session (the
engine uses an active session as it is, as it would a notebook's). The data is a Parquet file
of a synthetic population, with its categorical columns: both engines must list the groups in
their declared order. The model runs on Spark's executors through mapInPandas: a skops
profiling model, an ONNX track recommender, and a decisions file matched by id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from audit.data import generate_population
from audit.pipeline import RunOptions, run_audit
from audit.spec import parse_spec

pytestmark = pytest.mark.xdist_group("spark")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store for the module: creating one takes seconds."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlruns')}/mlflow.db"


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("people")
    population = generate_population(3000, scenario="h1_steering", seed=3).people
    path = folder / "people.parquet"
    population.to_parquet(path)
    decisions = pd.DataFrame(
        {
            "person_id": population["person_id"].iloc[::-1].to_numpy(),  # another order
            "toegewezen": (population["months_worked_3y"].iloc[::-1].to_numpy() % 3 == 0).astype(
                int
            ),
        }
    )
    decisions.to_parquet(folder / "decisions.parquet")
    return path


def _spec(root: Path, people: Path, engine: str, store: str, **changes: Any) -> tuple[Any, str]:
    document: dict[str, Any] = {
        "name": f"spark-{engine}",
        "data": {"file": str(people), "schema": "none"},
        "model": {"uri": str(REPO / "models" / "profiling_reference.skops")},
        "outcome": "job_28d_6m",
        "decision": {"threshold": 0.5},
        "attributes": [
            {"column": "mental_health_history", "reference": "False"},
            {"column": "housing_status", "reference": "stable"},
            "digital_literacy",
        ],
        "intersections": 2,
        "legitimate_factors": ["education"],
        "statistics": {"n_boot": 100, "seed": 3},
        "policy": {
            "rules": [
                {"id": "equal-opportunity", "metric": "tpr", "kind": "difference", "max_abs": 0.1},
                {"id": "four-fifths", "metric": "selection_rate", "kind": "ratio", "min": 0.8},
            ]
        },
        "tracking": {"uri": store},
        "report": {"dir": str(root / engine), "formats": []},
        **({"engine": {"spark": {"master": "local[2]"}}} if engine == "spark" else {}),
    }
    document.update(changes)
    import yaml

    text = yaml.safe_dump(document, sort_keys=False)
    return parse_spec(text), text


def _run_both(
    tmp_path: Path, people: Path, store: str, **changes: Any
) -> dict[str, dict[str, Any]]:
    out = {}
    for engine in ("numpy", "spark"):
        spec, text = _spec(tmp_path, people, engine, store, **changes)
        outcome = run_audit(spec, spec_text=text, options=RunOptions())
        run = MlflowClient(outcome.tracking_uri).get_run(outcome.run_id)
        out[engine] = {
            "assessment": json.loads((tmp_path / engine / "assessment.json").read_text()),
            "verdict": json.loads((tmp_path / engine / "verdict.json").read_text()),
            "manifest": json.loads((tmp_path / engine / "manifest.json").read_text()),
            "status": run.info.status,
            "tags": run.data.tags,
            "metrics": run.data.metrics,
        }
    return out


def test_a_profiling_model_on_the_executors(
    spark: Any, tmp_path: Path, people: Path, store: str, differences: Any
) -> None:
    both = _run_both(tmp_path, people, store)
    a, b = both["numpy"], both["spark"]
    assert differences(a["assessment"], b["assessment"]) == []
    assert a["verdict"] == b["verdict"]
    assert b["status"] == "FINISHED" and b["tags"]["audit.verdict"] == a["tags"]["audit.verdict"]
    assert differences(a["metrics"], b["metrics"]) == []
    assert b["manifest"]["data"]["engine"] == "spark"
    assert b["manifest"]["data"]["sha256"] == a["manifest"]["data"]["sha256"]  # the same file
    # The categorical order of the Parquet file, not the alphabet: stable, unstable, homeless.
    housing = [
        g["levels"][0] for g in b["assessment"]["groups"] if g["attributes"] == ["housing_status"]
    ]
    assert housing == list(pd.read_parquet(people)["housing_status"].cat.categories)


def test_a_track_recommender_in_onnx_and_an_outcome_value(
    spark: Any, tmp_path: Path, people: Path, store: str, differences: Any
) -> None:
    both = _run_both(
        tmp_path,
        people,
        store,
        model={"uri": str(REPO / "models" / "track_reference.onnx")},
        outcome="warranted_track",
        outcome_positive="sheltered",
        decision={"label": "sheltered"},
        policy={
            "rules": [{"id": "no-steering", "metric": "fpr", "kind": "difference", "max": 0.02}]
        },
    )
    assert differences(both["numpy"]["assessment"], both["spark"]["assessment"]) == []
    assert both["numpy"]["verdict"] == both["spark"]["verdict"]
    assert both["spark"]["assessment"]["tracks"]  # every track's share, from the same counts


def test_a_decisions_file_matched_by_id(
    spark: Any, tmp_path: Path, people: Path, store: str, differences: Any
) -> None:
    both = _run_both(
        tmp_path,
        people,
        store,
        model={
            "decisions": {
                "file": str(people.parent / "decisions.parquet"),
                "decision_column": "toegewezen",
                "id_column": "person_id",
            }
        },
        decision={},
    )
    assert differences(both["numpy"]["assessment"], both["spark"]["assessment"]) == []
    assert both["numpy"]["verdict"] == both["spark"]["verdict"]


def test_a_registered_mlflow_model_by_its_alias(
    spark: Any, tmp_path: Path, people: Path, store: str, differences: Any
) -> None:
    """A model trained and registered by an audit (models:/NAME@ALIAS) is fetched from the
    registry on the driver and runs on the executors."""
    trainer, text = _spec(
        tmp_path / "train",
        people,
        "numpy",
        store,
        model={
            "train": {"task": "profiling", "register": {"name": "spark-ref", "alias": "candidate"}}
        },
        data={"synthetic": {"scenario": "no_bias", "n": 3000, "seed": 8}},
    )
    run_audit(trainer, spec_text=text, options=RunOptions())
    both = _run_both(tmp_path, people, store, model={"uri": "models:/spark-ref@candidate"})
    assert differences(both["numpy"]["assessment"], both["spark"]["assessment"]) == []
    assert both["numpy"]["verdict"] == both["spark"]["verdict"]
    assert both["spark"]["tags"]["audit.model.name"] == "spark-ref"
