"""H5 label choice: known truth over seeds, the rates against fairlearn, the gaps against
statsmodels, each verdict both ways on tables built to a known answer, a table we did not make
(through `run_checks` and `audit run`), and the refusals."""

from __future__ import annotations

import io
import json
import math
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import MetricFrame, false_positive_rate, true_positive_rate
from statsmodels.stats import proportion

from audit.checks.base import Attribute, CheckContext, CheckOutcome
from audit.checks.known_truth import TRIALS, context, run_trial
from audit.checks.label_choice import LabelChoiceParams
from audit.checks.run import run_checks
from audit.cli import main
from audit.data import generate_population

H5 = LabelChoiceParams(check="label_choice")
Z = 1.959963984540054


@cache
def _people(scenario: str, n: int = 40_000, seed: int = 0) -> pd.DataFrame:
    return generate_population(n, scenario=scenario, seed=seed).people


def _trial_ctx(scenario: str) -> CheckContext:
    (trial,) = [t for t in TRIALS if t.name.startswith("H5")]
    return context(trial, _people(scenario), 0)


def _one(params: LabelChoiceParams, ctx: CheckContext) -> CheckOutcome:
    (outcome,) = run_checks([params], ctx)
    return outcome


def _intervals_hold(outcome: CheckOutcome) -> None:
    for e in outcome.evidence:
        assert e.estimate is not None and e.ci_low is not None and e.ci_high is not None
        assert e.ci_low <= e.estimate <= e.ci_high
        low, high = e.details["label_ci_low"], e.details["label_ci_high"]
        assert isinstance(low, float) and isinstance(high, float)
        assert low <= float(e.details["label_gap"] or 0) <= high


# --- known truth ------------------------------------------------------------------------------


def test_known_truth_sustainable_gap_found_under_h5_not_without() -> None:
    (trial,) = [t for t in TRIALS if t.name.startswith("H5")]
    result = run_trial(trial, range(20))
    assert result.power >= 0.9
    assert result.false_finding_rate <= 0.05


def test_the_h5_harm_shows_on_sustainable_work_only() -> None:
    """ρ = 0.6 thins sustainable work at random for non-EU people: people who have it are as
    likely to be judged likely as before (TPR unchanged), people without it now include many
    with a high score (FPR up); job_28d_6m is untouched, so the label looks fair."""
    outcome = _one(H5.model_copy(update={"attributes": ["origin"]}), _trial_ctx("h5_label"))
    assert outcome.status == "finding"
    fpr = next(
        e for e in outcome.evidence if e.level == "non_eu" and e.measure == "sustainable_fpr_gap"
    )
    assert fpr.status == "finding" and fpr.ci_low is not None and fpr.ci_low > 0.03
    assert fpr.details["label_status"] == "no_finding"
    assert "Fair on its label 'job_28d_6m' but not on 'sustainable_12m'" in outcome.sentence
    _intervals_hold(outcome)


# --- the figures against fairlearn and statsmodels ------------------------------------------


def test_rates_match_fairlearn_and_gaps_match_statsmodels() -> None:
    people = _people("h5_label")
    outcome = _one(H5.model_copy(update={"attributes": ["origin"]}), _trial_ctx("h5_label"))
    judged = (people["pes_score"] >= 0.5).to_numpy().astype(int)
    origin = people["origin"].astype(str)
    for label, prefix in (("sustainable_12m", ""), ("job_28d_6m", "label_")):
        frame = MetricFrame(
            metrics={"tpr": true_positive_rate, "fpr": false_positive_rate},
            y_true=people[label].astype(int),
            y_pred=judged,
            sensitive_features=origin,
        )
        for e in outcome.evidence:
            m = str(e.details["measure"])
            assert e.details[f"{prefix}rate"] == pytest.approx(frame.by_group[m][e.level])
            assert e.details[f"{prefix}reference_rate"] == pytest.approx(
                frame.by_group[m]["belgian"]
            )
    # The gap's Wald interval and its (uncorrected) test, as statsmodels computes them.
    for e in outcome.evidence:
        n1, n2 = int(e.details["denominator"] or 0), int(e.details["reference_denominator"] or 0)
        k1 = round(float(e.details["rate"] or 0) * n1)
        k2 = round(float(e.details["reference_rate"] or 0) * n2)
        low, high = proportion.confint_proportions_2indep(
            k1, n1, k2, n2, method="wald", compare="diff"
        )
        assert (e.ci_low, e.ci_high) == pytest.approx((low, high), abs=1e-9)
        test = proportion.test_proportions_2indep(k1, n1, k2, n2, method="wald", compare="diff")
        assert e.p_value == pytest.approx(test.pvalue, rel=1e-6)


# --- verdicts on tables with a known answer --------------------------------------------------


def _negatives(judged: np.ndarray, n_negative: int, judged_among: float) -> np.ndarray:
    """An outcome column: `n_negative` people without it, of whom exactly `judged_among` (a
    share) were judged likely; everyone else has it."""
    k = round(judged_among * n_negative)
    yes, no = np.flatnonzero(judged), np.flatnonzero(~judged)
    outcome = np.ones(judged.size, dtype=bool)
    outcome[yes[:k]] = False
    outcome[no[: n_negative - k]] = False
    return outcome


def _known(
    n_negative: int, label_gap: float, sustainable_gap: float, base: float = 0.3
) -> CheckContext:
    """Groups a (reference) and b of 2 * n_negative people each, half judged likely. Among
    people without the outcome, a's judged share is `base` on both labels; b's is base + gap."""
    parts = []
    for group, (lg, sg) in (("a", (0.0, 0.0)), ("b", (label_gap, sustainable_gap))):
        n = 2 * n_negative
        judged = np.arange(n) < n // 2
        parts.append(
            pd.DataFrame(
                {
                    "g": group,
                    "score": np.where(judged, 0.8, 0.2),
                    "label": _negatives(judged, n_negative, base + lg).astype(int),
                    "kept": np.where(_negatives(judged, n_negative, base + sg), "yes", "no"),
                }
            )
        )
    people = pd.concat(parts, ignore_index=True)
    return CheckContext(
        people=people,
        table=pd.DataFrame({"_score": people["score"], "_outcome": people["label"]}),
        model=None,
        attributes=(Attribute("g", "a"),),
        factors=(),
        factor_bins={},
        outcome="label",
    )


KNOWN = LabelChoiceParams(check="H5", sustainable="kept", sustainable_positive="yes")


@pytest.mark.parametrize(
    ("n_negative", "label_gap", "sustainable_gap", "measure", "status"),
    [
        (3000, 0.0, 0.10, "fpr", "finding"),  # fair on the label, 10 points on kept work
        (3000, 0.0, 0.0, "fpr", "no_finding"),  # nothing on either
        (3000, 0.10, 0.10, "fpr", "inconclusive"),  # visible on the label: not hidden by it
        (100, 0.0, 0.10, "fpr", "inconclusive"),  # 100 people cannot place 3 points
        (3000, 0.0, 0.10, "tpr", "finding"),  # the same table: b's TPR on kept work is lower
    ],
)
def test_each_verdict_on_a_known_table(
    n_negative: int, label_gap: float, sustainable_gap: float, measure: str, status: str
) -> None:
    ctx = _known(n_negative, label_gap, sustainable_gap)
    outcome = _one(KNOWN.model_copy(update={"measures": [measure]}), ctx)
    (e,) = outcome.evidence
    assert e.status == status and outcome.status == status
    n = 2 * n_negative
    if measure == "fpr":
        # By hand: b's and a's judged share among people without kept work.
        p1, p0 = 0.3 + sustainable_gap, 0.3
        assert e.estimate == pytest.approx(sustainable_gap, abs=1e-12)
        se = math.sqrt(p1 * (1 - p1) / n_negative + p0 * (1 - p0) / n_negative)
    else:
        # Among people *with* kept work (n - n_negative), judged = half minus those without it.
        judged_with = [
            (n // 2 - round(p * n_negative)) / (n - n_negative)
            for p in (0.3 + sustainable_gap, 0.3)
        ]
        p1, p0 = judged_with
        assert e.estimate == pytest.approx(p1 - p0, abs=1e-12) and p1 < p0
        se = math.sqrt(p1 * (1 - p1) / (n - n_negative) + p0 * (1 - p0) / (n - n_negative))
    assert e.ci_low == pytest.approx(e.estimate - Z * se, abs=1e-12)
    assert e.ci_high == pytest.approx(e.estimate + Z * se, abs=1e-12)
    if status == "inconclusive" and label_gap:
        assert e.details["label_status"] == "finding"
        assert "already show a significant gap on 'label' itself" in outcome.sentence
    _intervals_hold(outcome)


def test_a_lower_tpr_on_kept_work_is_a_finding_and_a_higher_one_is_not() -> None:
    """TPR is harmful below: people who keep work judged unlikely more often."""
    params = KNOWN.model_copy(update={"measures": ["tpr"]})
    # Fewer of b's people with kept work are judged likely: build it on the positives directly.
    ctx = _known(3000, 0.0, -0.10)  # b's FPR is lower, so its TPR is higher: not harmful
    (higher,) = _one(params, ctx).evidence
    assert higher.estimate is not None and higher.estimate > 0 and higher.status == "no_finding"
    swapped = replace(ctx, attributes=(Attribute("g", "b"),))  # a against b: a's TPR lower
    (lower,) = _one(params, swapped).evidence
    assert lower.level == "a" and lower.estimate is not None and lower.estimate < -0.03
    assert lower.status == "finding"


def test_too_few_people_to_decide_is_not_evaluable() -> None:
    outcome = _one(KNOWN, replace(_known(3000, 0.0, 0.1), min_group_size=5000))
    assert outcome.status == "not_evaluable"
    assert {e.status for e in outcome.evidence} == {"unreliable"}
    assert outcome.reason == "no group large enough to compare"


# --- refusals -----------------------------------------------------------------------------------


def test_missing_column_no_label_no_score_and_unknown_value_are_skipped() -> None:
    ctx = _known(300, 0.0, 0.0)
    entries = [
        LabelChoiceParams(check="H5", sustainable="kep", id="typo"),
        KNOWN.model_copy(update={"sustainable_positive": "ja", "id": "value"}),
        KNOWN.model_copy(update={"predicted": "decision", "id": "decision"}),
        KNOWN,
    ]
    typo, value, decision, ok = run_checks(entries, ctx)
    assert typo.status == "skipped" and "'kep' (closest: 'kept')" in (typo.reason or "")
    assert value.status == "skipped" and (value.reason or "").startswith(
        "sustainable_positive 'ja': expected a value of the column 'kept'; found none (its "
        "values: no, yes)"
    )
    assert decision.status == "skipped" and (decision.reason or "").startswith(
        "predicted: decision: expected a binary decision; found outputs without one"
    )
    assert ok.status not in ("skipped", "not_evaluable")
    (no_label,) = run_checks([KNOWN], replace(ctx, table=ctx.table.drop(columns="_outcome")))
    assert no_label.status == "skipped" and "expected the model's training label" in (
        no_label.reason or ""
    )
    (no_score,) = run_checks([KNOWN], replace(ctx, table=ctx.table.drop(columns="_score")))
    assert no_score.status == "skipped" and "set predicted: decision" in (no_score.reason or "")
    text = ctx.people.assign(kept=ctx.people["kept"].map({"yes": "oui", "no": "non"}))
    (coded,) = run_checks(
        [LabelChoiceParams(check="H5", sustainable="kept")], replace(ctx, people=text)
    )
    assert coded.status == "skipped" and "sustainable_positive" in (coded.reason or "")


# --- a table we did not make ------------------------------------------------------------------


def _werkzoekenden(n: int = 400, seed: int = 8) -> pd.DataFrame:
    """Job seekers in Dutch: origin "herkomst" (be / eu / buiten_eu), the service's chance "kans",
    work within 6 months "werk" (0/1, drawn from the chance for everyone) and work kept a year
    "duurzaam" (ja/nee), lost far more often by people from outside the EU."""
    rng = np.random.default_rng(seed)
    herkomst = rng.choice(["be", "eu", "buiten_eu"], n, p=[0.5, 0.25, 0.25])
    kans = rng.uniform(0.05, 0.95, n).round(3)
    werk = rng.random(n) < kans
    kept = werk & (rng.random(n) < np.where(herkomst == "buiten_eu", 0.3, 0.9))
    return pd.DataFrame(
        {
            "dossier": np.arange(n),
            "herkomst": herkomst,
            "kans": kans,
            "advies": (kans < 0.5).astype(int),
            "werk": werk.astype(int),
            "duurzaam": np.where(kept, "ja", "nee"),
        }
    )


DUTCH = LabelChoiceParams(
    check="label_choice", sustainable="duurzaam", sustainable_positive="ja", max_gap=0.15
)


def _dutch_ctx(table: pd.DataFrame) -> CheckContext:
    return CheckContext(
        people=table,
        table=pd.DataFrame({"_score": table["kans"], "_outcome": table["werk"]}),
        model=None,
        attributes=(Attribute("herkomst", "be"),),
        factors=(),
        factor_bins={},
        outcome="werk",
    )


def test_a_table_we_did_not_make_through_run_checks() -> None:
    table = _werkzoekenden()
    outcome = _one(DUTCH, _dutch_ctx(table))
    frame = MetricFrame(
        metrics=false_positive_rate,
        y_true=(table["duurzaam"] == "ja").astype(int),
        y_pred=(table["kans"] >= 0.5).astype(int),
        sensitive_features=table["herkomst"],
    )
    fpr = next(
        e for e in outcome.evidence if e.level == "buiten_eu" and e.measure == "sustainable_fpr_gap"
    )
    assert fpr.estimate == pytest.approx(frame.by_group["buiten_eu"] - frame.by_group["be"])
    # ~60 people without work per group: the label's own interval is wider than the margin,
    # so the label cannot be called fair: the data cannot tell.
    assert fpr.status == "inconclusive" and outcome.status == "inconclusive"
    assert fpr.estimate > 0 and fpr.ci_high is not None and fpr.ci_high > 0.15
    _intervals_hold(outcome)


def test_a_table_we_did_not_make_through_audit_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _werkzoekenden()
    data = tmp_path / "werkzoekenden.csv"
    table.to_csv(data, index=False)
    spec: dict[str, Any] = {
        "name": "duurzaam-werk",
        "data": {"file": str(data), "schema": "none"},
        "model": {
            "decisions": {
                "file": str(data),
                "decision_column": "advies",
                "score_column": "kans",
                "id_column": "dossier",
            }
        },
        "outcome": "werk",
        "attributes": [{"column": "herkomst", "reference": "be"}],
        "statistics": {"n_boot": 0, "seed": 1},
        "checks": [DUTCH.model_dump(exclude_none=True) | {"id": "label"}],
        "policy": {"rules": [{"id": "label-fair", "harm_check": "label"}]},
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "out"), "junit": False},
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    monkeypatch.setattr(sys, "argv", ["audit", "run", str(path)])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 3  # inconclusive: the data cannot tell
    written = json.loads((tmp_path / "out" / "checks.json").read_text())
    (check,) = written["checks"]
    expected = _one(DUTCH, _dutch_ctx(table))
    assert check["code"] == "H5" and check["status"] == expected.status
    assert [r["estimate"] for r in check["evidence"]] == pytest.approx(
        [e.estimate for e in expected.evidence]
    )
