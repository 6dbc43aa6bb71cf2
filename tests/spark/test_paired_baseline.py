"""`audit run --baseline MODEL` on Spark: the two models compared person by person (issue 11).

The baseline model decides in the same pass over the people as the candidate, and the joint
table (groups × baseline decision × outcome × candidate decision) is one aggregation on the
cluster: the paired changes, and so the non-regression verdict, must be the NumPy engine's to
the last bit (no weights). The candidate reads digital traces, the baseline does not: against
it the candidate selects fewer people of low digital literacy, a worsening the paired test
finds; with the roles swapped there is none. `run_audit` runs in this process with the module's
Spark session (`spark_session` returns the active one), logging to an MLflow sqlite store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from audit.gate import Verdict
from audit.pipeline import RunOptions, run_audit
from audit.spec import parse_spec

pytestmark = pytest.mark.xdist_group("spark")  # one worker, one JVM (scripts/test.sh)

pytest.importorskip("pyspark")

MODELS = Path(__file__).resolve().parents[2] / "models"
WITH_TRACES = MODELS / "profiling_reference.skops"
WITHOUT_TRACES = MODELS / "profiling_no_digital_traces.skops"
# Loose bounds: only the comparisons with the baseline can fail. Against the baseline without
# digital traces, the candidate is worse for low digital literacy; for housing it is not.
RULES = [
    {"id": "digital", "metric": "selection_rate", "kind": "difference", "max_abs": 0.5,
     "attributes": [["digital_literacy"]]},
    {"id": "housing", "metric": "selection_rate", "kind": "difference", "max_abs": 0.5,
     "attributes": [["housing_status"]]},
    {"id": "opportunity", "metric": "tpr", "kind": "ratio", "min": 0.3},
]  # fmt: skip


def _verdict(root: Path, engine: object) -> Verdict:
    document = {
        "name": "paired-on-spark",
        "data": {"synthetic": {"scenario": "no_bias", "n": 3000, "seed": 5}},
        "model": {"uri": str(WITH_TRACES)},
        "outcome": "job_28d_6m",
        # The score decides; it is not assessed (no AUC): the paired comparison reads decisions.
        "decision": {"threshold": 0.5, "use_score": False},
        "attributes": [
            {"column": "digital_literacy", "reference": "high"},
            {"column": "housing_status", "reference": "stable"},
        ],
        "statistics": {"n_boot": 200, "seed": 3},
        "policy": {"rules": RULES},
        "tracking": {"uri": f"sqlite:///{root}/mlflow.db"},
        "report": {"dir": str(root / str(engine)[:5]), "formats": []},
        "engine": engine,
    }
    text = yaml.safe_dump(document, sort_keys=False)
    options = RunOptions(baseline=str(WITHOUT_TRACES))
    outcome = run_audit(parse_spec(text), spec_text=text, options=options)
    assert outcome.full_verdict is not None
    return outcome.full_verdict


def _non_regression(verdict: Verdict, rule: str) -> Any:
    (outcome,) = [r for r in verdict.rules if r.rule_id == f"{rule}.non_regression"]
    return outcome


def test_paired_changes_and_verdicts_are_the_same_on_spark(spark: Any, tmp_path: Path) -> None:
    in_memory = _verdict(tmp_path, "numpy")
    on_spark = _verdict(tmp_path, {"spark": {"master": "local[2]"}})
    assert on_spark.to_json() == in_memory.to_json()
    digital, housing, opportunity = (
        _non_regression(on_spark, r) for r in ("digital", "housing", "opportunity")
    )
    # Person by person on both engines: every group's change comes from the joint table.
    assert all(g.paired for r in (digital, housing, opportunity) for g in r.groups)
    low = next(g for g in digital.groups if g.levels == ("low",))
    assert (digital.status, low.status) == ("fail", "fail")
    assert low.change is not None and low.change > 0.02
    assert housing.status == "pass"
    assert all(g.status == "pass" for g in housing.groups)
