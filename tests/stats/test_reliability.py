"""Small or degenerate groups never headline: they are unreliable and out of the tested family.

A group of 2 people can have an AUC of 0 with every bootstrap replicate agreeing, which makes
its "difference" look certain (the issue saw adjusted p = 1e-40, first among the findings). A
group of 500 with 3 people who have the outcome has a TPR resting on 3 people. Both keep their
numbers and p-values, but are not corrected with, ranked among or reported as the findings.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from audit.errors import AuditInputError
from audit.spec import StatisticsSpec, parse_spec
from audit.stats.assess import assess
from audit.stats.cli import print_summary
from audit.stats.result import Assessment, Settings
from audit.steps.decisions import DECISION, OUTCOME
from audit.steps.statistics import assess_decisions


def _people(
    rng: np.random.Generator, group: str, n: int, base: float, select: tuple[float, float]
) -> pd.DataFrame:
    """n people of `group`: outcome at rate `base`, decision at rate select[y], an informative
    score."""
    y = (rng.random(n) < base).astype(int)
    d = (rng.random(n) < np.where(y == 1, select[1], select[0])).astype(int)
    s = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
    return pd.DataFrame({"g": group, "y": y, "d": d, "s": s})


def _with_tiny_perfectly_wrong_group() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    tiny = pd.DataFrame({"g": "tiny", "y": [1, 0], "d": [0, 1], "s": [0.05, 0.95]})  # AUC 0
    return pd.concat(
        [
            _people(rng, "big", 1500, 0.4, (0.2, 0.7)),
            _people(rng, "mid", 600, 0.4, (0.2, 0.55)),  # a real gap in TPR: a real finding
            tiny,
        ],
        ignore_index=True,
    )


def _summary_text(result: Assessment) -> str:
    out = io.StringIO()
    print_summary(result, Console(file=out, width=200))
    return out.getvalue()


def test_a_group_of_two_with_auc_zero_never_headlines():
    frame = _with_tiny_perfectly_wrong_group()
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], score="s", n_boot=300)
    auc = result.metric("auc", ("g",), ("tiny",))
    assert (auc.value, auc.reliable) == (0.0, False)
    tiny = [d for d in result.disparities if d.levels == ("tiny",)]
    assert tiny and all(not d.reliable for d in tiny)
    assert all(d.p_adjusted is None and d.significant is None for d in tiny)
    assert result.disparity("auc", ("g",), ("tiny",)).p_value is not None  # kept, not hidden
    assert all(w.levels != ("tiny",) for w in result.worst_groups)
    assert all(w.reliable for w in result.worst_groups)
    # The real gap is still found, and the listing of findings names it, not the tiny group.
    assert result.disparity("tpr", ("g",), ("mid",)).significant is True
    text = _summary_text(result)
    findings = text.split("significant disparities")[1]
    assert "g=mid vs big: tpr" in findings
    assert "tiny" not in findings


def test_counted_as_reliable_the_same_tiny_group_would_headline():
    # The contrast that shows what the rule prevents: with no minimum at all, the tiny group's
    # certain-looking AUC gap enters the family and is reported significant.
    frame = _with_tiny_perfectly_wrong_group()
    result = assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["g"],
        score="s",
        n_boot=300,
        min_group_size=1,
        min_denominator=1,
    )
    assert result.disparity("auc", ("g",), ("tiny",)).significant is True
    assert any(w.levels == ("tiny",) for w in result.worst_groups)


def _with_few_positives() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rare = _people(rng, "rare", 500, 0.0, (0.2, 0.7))
    rare.loc[:2, "y"] = 1  # 3 people with the outcome among 500
    return pd.concat([_people(rng, "ref", 2000, 0.4, (0.2, 0.7)), rare], ignore_index=True)


def test_a_large_group_with_three_positives_has_an_unreliable_tpr():
    frame = _with_few_positives()
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], score="s", n_boot=200)
    rare = ("rare",)
    for name in ("tpr", "fnr", "balanced_accuracy", "auc"):  # all rest on the 3 positives
        m = result.metric(name, ("g",), rare)
        assert m.reliable is False, name
        assert m.value is not None and m.ci_low is not None  # still computed and shown
    assert result.metric("tpr", ("g",), rare).denominator_rows == 3
    for name in ("selection_rate", "fpr", "accuracy"):
        assert result.metric(name, ("g",), rare).reliable is True, name
    d = result.disparity("tpr", ("g",), rare)
    assert (d.reliable, d.p_adjusted, d.significant) == (False, None, None)
    assert d.p_value is not None
    assert result.disparity("fpr", ("g",), rare).p_adjusted is not None
    assert all(w.metric not in ("tpr", "balanced_accuracy", "auc") for w in result.worst_groups)


def test_a_disparity_needs_a_reliable_reference_too():
    # The named reference has 4 people with the outcome: every TPR comparison against it is
    # unreliable, however large the compared group.
    frame = _with_few_positives()
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], n_boot=0, reference={"g": "rare"})
    assert result.metric("tpr", ("g",), ("ref",)).reliable is True
    d = result.disparity("tpr", ("g",), ("ref",))
    assert (d.reliable, d.p_adjusted, d.significant) == (False, None, None)
    assert result.disparity("selection_rate", ("g",), ("ref",)).reliable is True


def test_the_holm_family_is_the_reliable_tests():
    rng = np.random.default_rng(3)
    frame = pd.concat(
        [
            _people(rng, "ref", 1000, 0.4, (0.2, 0.7)),
            _people(rng, "a", 600, 0.4, (0.2, 0.6)),
            _people(rng, "b", 400, 0.4, (0.25, 0.7)),
            _people(rng, "tiny", 5, 0.4, (0.0, 1.0)),
        ],
        ignore_index=True,
    )
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], n_boot=0, reference={"g": "ref"})
    tested = [d for d in result.disparities if d.p_value is not None]
    reliable = [d for d in tested if d.reliable]
    # Counted by hand: without the bootstrap, the tested metrics are the six rates with a
    # two-proportion test (selection_rate, tpr, fpr, ppv, npv, accuracy; their complements are
    # not tested twice), differences only, for the two reliable groups a and b: m = 12.
    m = 2 * 6
    assert len(reliable) == m
    assert {d.levels for d in reliable} == {("a",), ("b",)}
    smallest = min(reliable, key=lambda d: d.p_value)
    assert smallest.p_adjusted == pytest.approx(min(1.0, m * smallest.p_value), rel=1e-12)
    assert smallest.p_adjusted < 1.0  # the check would be empty at the cap
    # The tiny group's tests keep their p-values, outside the family.
    tiny = [d for d in tested if d.levels == ("tiny",)]
    assert len(tiny) == 6 and all(d.p_adjusted is None and d.significant is None for d in tiny)
    # Every reliable test's adjusted value is Holm's over exactly these m p-values.
    p = np.array([d.p_value for d in reliable])
    order = np.argsort(p)
    holm = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    np.testing.assert_allclose([reliable[i].p_adjusted for i in order], holm, rtol=1e-12)


def test_conditional_comparisons_follow_the_same_rule():
    frame = _with_few_positives()
    frame["f"] = np.arange(len(frame)) % 2
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], n_boot=0, legitimate_factors=["f"])
    by_metric = {c.metric: c for c in result.conditional}
    assert by_metric["tpr"].reliable is False
    assert (by_metric["tpr"].p_adjusted, by_metric["tpr"].significant) == (None, None)
    assert by_metric["tpr"].p_value is not None
    assert by_metric["selection_rate"].reliable is True
    assert by_metric["selection_rate"].p_adjusted is not None


def test_min_denominator_is_a_setting_with_default_10_everywhere():
    assert Settings.model_fields["min_denominator"].default == 10
    assert StatisticsSpec().min_denominator == 10
    frame = _with_few_positives()
    # Lowered to 3, the three positives are enough.
    result = assess(frame, y_true="y", y_pred="d", groups=["g"], n_boot=0, min_denominator=3)
    assert result.settings.min_denominator == 3
    assert result.disparity("tpr", ("g",), ("rare",)).reliable is True
    with pytest.raises(AuditInputError, match="option min_denominator: expected at least 1"):
        assess(frame, y_true="y", y_pred="d", groups=["g"], n_boot=0, min_denominator=0)
    # A document written before the setting existed still reads, with the default.
    text = result.to_json().replace('"min_denominator": 3,', "")
    assert Assessment.from_json(text).settings.min_denominator == 10


def test_the_command_line_takes_min_denominator(tmp_path: Path):
    data = tmp_path / "decisions.csv"
    _with_few_positives().to_csv(data, index=False)
    out = tmp_path / "result.json"
    args = ["assess", str(data), "--y-true", "y", "--y-pred", "d", "-g", "g", "--n-boot", "0"]
    run = subprocess.run(
        [sys.executable, "-m", "audit.cli", *args, "--min-denominator", "3", "--json", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert Assessment.from_json(out.read_text()).settings.min_denominator == 3
    run = subprocess.run(
        [sys.executable, "-m", "audit.cli", *args], capture_output=True, text=True, check=False
    )
    assert (
        "comparisons with a group under 30 rows or a metric denominator under 10 rows are "
        "not tested" in run.stdout
    )


def test_the_audit_spec_passes_min_denominator_to_the_assessment():
    spec = parse_spec(
        """\
name: demo
data:
  synthetic: {n: 1000, seed: 1}
model:
  train: {register: {name: prof, alias: candidate}}
outcome: job_28d_6m
attributes: [g]
statistics: {n_boot: 0, min_denominator: 3}
policy:
  rules:
    - {id: sig, no_significant_disparity: [tpr]}
"""
    )
    table = _with_few_positives().rename(columns={"y": OUTCOME, "d": DECISION})
    result = assess_decisions(spec, table.drop(columns="s"))
    assert result.settings.min_denominator == 3
    assert result.disparity("tpr", ("g",), ("rare",)).reliable is True
