"""Legitimate factors in the spec (with bins), and column mistakes found before a model loads."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import audit.steps.model
from audit.errors import AuditInputError
from audit.pipeline import run_audit
from audit.spec import parse_spec
from audit.steps.decisions import DECISION, OUTCOME
from audit.steps.statistics import assess_decisions

SPEC = """\
name: typo
data: {{file: {data}, schema: none}}
model: {{uri: {model}}}
outcome: hired
attributes:
  - {{column: housing, reference: stable}}
legitimate_factors: [education, {{column: age, bins: 4}}]
tracking: {{enabled: false}}
report: {{dir: {reports}, junit: false}}
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    n = 400
    pd.DataFrame(
        {
            "person": np.arange(n),
            "housing": rng.choice(["stable", "homeless"], n),
            "education": rng.choice(["low", "high"], n),
            "age": rng.integers(18, 65, n),
            "hired": rng.integers(0, 2, n),
        }
    ).to_csv(tmp_path / "people.csv", index=False)
    # A model that would fail to open: the audit must stop before it is ever touched.
    return {
        "data": tmp_path / "people.csv",
        "model": tmp_path / "never-opened.onnx",
        "reports": tmp_path / "reports",
    }


def spec_text(files: dict[str, Path], *edit: str) -> str:
    text = SPEC.format(**{k: str(v) for k, v in files.items()})
    return text.replace(*edit) if edit else text


def test_factor_bins_in_the_spec(files):
    spec = parse_spec(spec_text(files))
    assert spec.legitimate_factors == ["education", "age"]
    assert spec.factor_bins == {"age": 4}
    dumped = spec.model_dump(mode="json", by_alias=True)["legitimate_factors"]
    assert dumped == ["education", {"column": "age", "bins": 4}]  # as written
    rng = np.random.default_rng(1)
    table = pd.DataFrame(
        {
            OUTCOME: rng.integers(0, 2, 400),
            DECISION: rng.integers(0, 2, 400),
            "housing": rng.choice(["stable", "homeless"], 400),
            "education": rng.choice(["low", "high"], 400),
            "age": rng.integers(18, 65, 400),
        }
    )
    assessment = assess_decisions(spec, table)
    assert assessment.settings.factor_bins == {"age": 4}
    assert {w.factor_level for w in assessment.within_strata if w.factor == "age"} == {
        "[18, 30)", "[30, 43)", "[43, 55)", "[55, 64]",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("{column: age, bins: 4}", "{column: age, bins: 1}"),
            "s.yaml:7: key 'legitimate_factors[1].bins': expected greater than or equal to 2; "
            "found 1.",
        ),
        (
            ("{column: age, bins: 4}", "{column: age, bin: 4}"),
            "s.yaml:7: key 'legitimate_factors[1].bin': expected only known keys here; "
            "found an unknown key.",
        ),
        (
            ("{column: age, bins: 4}", "education"),
            "s.yaml:7: key 'legitimate_factors': expected each legitimate factor listed once; "
            "found 'education' twice.",
        ),
    ],
)
def test_factor_mistakes_point_at_the_line_and_key(files, edit, message):
    with pytest.raises(AuditInputError) as err:
        parse_spec(spec_text(files, *edit), source="s.yaml")
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("[education,", "[eduction,"),
            "spec key 'legitimate_factors': expected columns of the data; found no column "
            "'eduction' (the data has: person, housing, education, age, hired).\n"
            "Hint: name the columns as they are spelled in the data (did you mean 'education' "
            "for 'eduction'?)",
        ),
        (
            ("outcome: hired", "outcome: hire"),
            "spec key 'outcome': expected columns of the data; found no column 'hire' "
            "(the data has: person, housing, education, age, hired).\n"
            "Hint: name the columns as they are spelled in the data (did you mean 'hired' "
            "for 'hire'?)",
        ),
        (
            ("reference: stable", "reference: stabel"),
            "spec key 'attributes[0].reference': expected a value of the column 'housing'; "
            "found 'stabel', which no row has (values: homeless, stable).\n"
            "Hint: spell the value as it appears in the data",
        ),
        (
            ("outcome: hired", "outcome: hired\noutcome_positive: yes_hired"),
            "spec key 'outcome_positive': expected a value of the column 'hired'; "
            "found 'yes_hired', which no row has (values: 0, 1).\n"
            "Hint: spell the value as it appears in the data",
        ),
    ],
)
def test_column_mistakes_are_found_before_a_model_loads(files, monkeypatch, edit, message):
    opened: list[object] = []

    def never(*args: object, **kwargs: object) -> None:
        opened.append(args)
        raise AssertionError("the model must not be loaded")

    monkeypatch.setattr(audit.steps.model, "load_model", never)
    text = spec_text(files, *edit)
    with pytest.raises(AuditInputError) as err:
        run_audit(parse_spec(text), spec_text=text, console=Console(file=io.StringIO()))
    assert str(err.value) == message
    assert opened == []
    assert not files["model"].exists() and not files["reports"].exists()


def test_the_unmodified_spec_reaches_the_model(files, monkeypatch):
    """The same spec without a mistake goes on to open the model (and fails there)."""
    opened: list[object] = []

    def failing(*args: object, **kwargs: object) -> None:
        opened.append(args)
        raise AuditInputError("model", expected="a file", found="none", fix="-")

    monkeypatch.setattr(audit.steps.model, "load_model", failing)
    text = spec_text(files)
    with pytest.raises(AuditInputError, match=r"^model: expected a file"):
        run_audit(parse_spec(text), spec_text=text, console=Console(file=io.StringIO()))
    assert opened == [(str(files["model"]),)]


def test_a_conditional_rule_needs_a_factor_other_than_its_attribute(files):
    text = spec_text(files, "[education, {column: age, bins: 4}]", "[housing]")
    rule = "policy: {rules: [{id: c, metric: tpr, max_abs: 0.1, conditional: true, "
    with pytest.raises(AuditInputError) as err:
        parse_spec(text + rule + "attributes: [[housing]]}]}\n", source="s.yaml")
    assert str(err.value).startswith(
        "s.yaml:10: key 'policy.rules[0]': expected a legitimate factor other than 'housing' for "
        "the conditional rule 'c' (a factor cannot stratify its own groups); found "
        "legitimate_factors ['housing']."
    )
