"""The audit spec: every example loads; every mistake names its file, line and key."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from audit.errors import AuditInputError
from audit.spec import AuditSpec, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))

GOOD = """\
name: demo
data:
  synthetic: {n: 1000, seed: 1}
model:
  train: {register: {name: prof, alias: candidate}}
outcome: job_28d_6m
attributes:
  - mental_health_history
  - {column: housing_status, reference: stable}
intersections: 2
policy:
  rules:
    - {id: ff, metric: selection_rate, kind: ratio, min: 0.8}
    - {id: sig, no_significant_disparity: [tpr]}
"""


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_spec_is_valid(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name and spec.attributes


def test_defaults_and_derived_values() -> None:
    spec = parse_spec(GOOD)
    assert spec.groups == ["mental_health_history", "housing_status"]
    assert spec.references == {"housing_status": "stable"}
    assert spec.experiment == "fairness-audit/prof"  # one experiment per registered model
    assert spec.report_dir == Path("reports/demo")
    assert spec.tracking.uri == "sqlite:///mlruns/mlflow.db"
    assert spec.policy.evidence == "interval"
    assert [type(r).__name__ for r in spec.policy.rules] == ["ThresholdRule", "SignificanceRule"]


def test_a_spec_with_a_significance_rule_dumps_without_a_warning_and_reads_back() -> None:
    # Pydantic warned on every dump (PydanticSerializationUnexpectedValue): the rule tag took a
    # SignificanceRule object for a threshold rule. The dump is what the manifest records.
    spec = parse_spec(GOOD)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dumped = spec.model_dump(mode="json")
        spec.model_dump_json()
    assert dumped["policy"]["rules"][1]["no_significant_disparity"] == ["tpr"]
    assert AuditSpec.model_validate(dumped) == spec


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("min: 0.8", "min: five"),
            "s.yaml:13: key 'policy.rules[0].min': expected a valid number, unable to parse "
            'string as a number; found "five".',
        ),
        (
            ("metric: selection_rate", "metric: selrate"),
            "s.yaml:13: key 'policy.rules[0].metric': expected one of the metrics "
            "selection_rate, tpr, fpr, ppv, npv, accuracy, balanced_accuracy, "
            "average_odds_difference, average_abs_odds_difference, "
            'average_predictive_value_difference, track_share; found "selrate".',
        ),
        (
            ("intersections: 2", "intersections: 2\nintersection: 3"),
            "s.yaml:11: key 'intersection': expected only known keys here; found an unknown key.",
        ),
        (
            ("  synthetic: {n: 1000, seed: 1}", "  synthetic: {n: 1000}\n  file: x.csv"),
            "s.yaml:3: key 'data': expected exactly one of 'file' or 'synthetic'; found",
        ),
        (
            ("intersections: 2", "intersections: 3"),
            "s.yaml:10: key 'intersections': expected at most the number of attributes (2); "
            "found 3.",
        ),
        (
            ("{id: sig,", "{id: ff,"),
            "s.yaml:13: key 'policy.rules': expected unique rule ids (repeated: ff);",
        ),
    ],
)
def test_mistakes_point_at_the_line_and_key(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(AuditInputError) as err:
        parse_spec(GOOD.replace(*edit), source="s.yaml")
    assert str(err.value).startswith(message)
    assert "Hint: see examples/*.yaml" in str(err.value)


def test_missing_required_key() -> None:
    with pytest.raises(AuditInputError, match=r"key 'name': expected this key, which is required"):
        parse_spec(GOOD.replace("name: demo\n", ""))


def test_the_outcome_is_optional_for_rules_on_the_decisions_alone() -> None:
    # A log of decisions with no observed outcome is audited on its decisions alone...
    no_outcome = GOOD.replace("outcome: job_28d_6m\n", "")
    assert parse_spec(GOOD).outcome == "job_28d_6m"
    decisions_only = no_outcome.replace("[tpr]", "[selection_rate]")
    assert parse_spec(decisions_only, source="s.yaml").outcome is None
    # ...and a rule that needs one is refused up front, saying why and what to do.
    with pytest.raises(AuditInputError) as err:
        parse_spec(no_outcome, source="s.yaml")
    assert str(err.value) == (
        "s.yaml:13: key 'policy.rules[1].no_significant_disparity': expected an outcome "
        "column: rule 'sig' tests tpr, which needs an observed outcome; found the spec names "
        "none (no `outcome` key).\nHint: add `outcome: COLUMN` or drop the rule 'sig'; an "
        "audit of decisions alone can bound and test selection_rate"
    )


def test_broken_yaml_and_wrong_document() -> None:
    with pytest.raises(AuditInputError, match=r"^s.yaml:2: expected valid YAML"):
        parse_spec("name: x\n  bad: [", source="s.yaml")
    with pytest.raises(AuditInputError, match="expected a YAML mapping"):
        parse_spec("- just\n- a list\n", source="s.yaml")
    with pytest.raises(AuditInputError, match="found an empty file"):
        parse_spec("", source="s.yaml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AuditInputError, match="expected an existing YAML file; found no such file"):
        load_spec(tmp_path / "nope.yaml")


def test_rule_scope_must_name_audited_attributes() -> None:
    bad = GOOD.replace("min: 0.8}", "min: 0.8, attributes: [[gender]]}")
    with pytest.raises(AuditInputError, match=r"rule 'ff' to name only audited attributes"):
        parse_spec(bad)


def test_threshold_rules_can_bound_aif360s_named_disparities() -> None:
    named = GOOD.replace(
        "{id: ff, metric: selection_rate, kind: ratio, min: 0.8}",
        "{id: aod, metric: average_odds_difference, max_abs: 0.05}",
    )
    rule = parse_spec(named).policy.rules[0]
    assert (rule.metric, rule.kind, rule.bounds) == (
        "average_odds_difference",
        "difference",
        (-0.05, 0.05),
    )
    ratio = named.replace("max_abs: 0.05}", "kind: ratio, min: 0.8}")
    with pytest.raises(AuditInputError) as err:
        parse_spec(ratio, source="s.yaml")
    assert str(err.value).startswith(
        "s.yaml:13: key 'policy.rules[0]': expected kind 'difference' for "
        "'average_odds_difference', which is a difference by definition (it has no ratio form);"
    )
    tested = GOOD.replace("[tpr]", "[tpr, average_abs_odds_difference]")
    with pytest.raises(AuditInputError) as err:
        parse_spec(tested, source="s.yaml")
    assert (
        "'average_abs_odds_difference' has no test of its own: bound it with a threshold rule"
        in str(err.value)
    )


def test_schema_command_prints_the_json_schema() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "audit.cli", "run", "--schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    schema = json.loads(out)
    assert schema["title"] == "AuditSpec"
    assert {"name", "data", "model", "attributes"} <= set(schema["required"])
    assert "outcome" not in schema["required"]  # decision-only audits
    assert schema == json.loads(json.dumps(AuditSpec.model_json_schema(by_alias=True)))
