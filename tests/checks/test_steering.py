"""H1 steering: found when a service steers, not found when capacity explains the raw gap,
inconclusive when the data cannot tell; its statistic agrees with statsmodels; its case flags
point at people steered below their capacity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable

from audit.checks.base import Attribute, CheckContext, CheckOutcome
from audit.checks.known_truth import TRIALS, run_trial
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.metrics.stratified import stratified_odds
from tests.checks.tables import orientation_log

MENTAL = Attribute("sante_mentale", "non")


def _context(log: pd.DataFrame, **changes: object) -> CheckContext:
    table = pd.DataFrame({"_track": pd.Categorical(log["orientation"])}, index=log.index)
    settings: dict[str, object] = {
        "people": log,
        "table": table,
        "model": None,
        "attributes": (MENTAL,),
        "factors": ("capacite_evaluee",),
        "factor_bins": {},
    }
    settings.update(changes)
    return CheckContext(**settings)  # type: ignore[arg-type]


def _steering(log: pd.DataFrame, **params: object) -> CheckOutcome:
    entry = SteeringParams(check="steering", track="atelier_protege", **params)  # type: ignore[arg-type]
    (outcome,) = run_checks([entry], _context(log))
    return outcome


def test_mantel_haenszel_agrees_with_statsmodels() -> None:
    """Pooled odds ratio, the RGB standard error of its log, on random strata."""
    rng = np.random.default_rng(1)
    for k in (1, 3, 12):
        t = rng.integers(1, 80, size=(k, 2, 2)).astype(float)
        ours = stratified_odds(t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1])
        theirs = StratifiedTable(np.transpose(t, (1, 2, 0)))
        assert ours.odds_ratio == pytest.approx(theirs.oddsratio_pooled, rel=1e-12)
        assert ours.log_se == pytest.approx(theirs.logodds_pooled_se, rel=1e-12)


def test_strata_holding_one_group_add_nothing() -> None:
    """A stratum without the reference cannot compare: the pooled ratio ignores it, the raw
    ratio does not, and the coverage says how much of the group was compared."""
    a, b, c, d = (np.array(x, dtype=float) for x in ([10, 30], [20, 10], [5, 0], [25, 0]))
    odds = stratified_odds(a, b, c, d)
    assert odds.odds_ratio == pytest.approx(10 * 25 / 60 / (20 * 5 / 60))
    assert odds.raw_odds_ratio == pytest.approx((40 * 25) / (30 * 5))
    assert odds.coverage == pytest.approx(30 / 70)
    assert odds.strata == 1


def test_the_raw_gap_explained_by_capacity_is_no_steering() -> None:
    """Same capacity, same odds: the raw odds ratio is large, the adjusted one is not, and in
    at most 5% of 40 seeds (Holm at 0.05, one comparison) is a finding drawn."""
    findings = 0
    for seed in range(40):
        outcome = _steering(orientation_log(3000, seed))
        (e,) = outcome.evidence
        # theory: 2.0 (shares 0.289 vs 0.168); 1.4 is more than 4 standard errors below
        raw = e.details["raw_odds_ratio"]
        assert raw is not None and float(raw) > 1.4
        findings += outcome.status == "finding"
    # Binomial(40, 0.05): P(X >= 6) < 0.05, so 6 or more would show a test twice too liberal.
    assert findings <= 5


def test_a_steering_service_is_found() -> None:
    """Odds x3 at equal capacity: found, with the estimate near 3 and the factors explaining
    only part of the raw gap."""
    outcome = _steering(orientation_log(3000, 2, steering_odds=3.0))
    (e,) = outcome.evidence
    assert outcome.status == "finding" and e.status == "finding"
    assert e.ci_low is not None and e.ci_high is not None and e.ci_low > 1.5
    assert e.ci_low <= 3.0 <= e.ci_high
    share = e.details["share_explained"]
    assert share is not None and 0 < float(share) < 1
    assert "atelier_protege" in outcome.sentence and "sante_mentale=oui" in outcome.sentence


def test_no_steering_is_shown_only_when_the_data_rule_it_out() -> None:
    """Large and fair: no finding (the interval stays under the margin 1.25); small: inconclusive,
    with the odds ratio the check could have detected."""
    large = _steering(orientation_log(20_000, 5))
    assert large.status == "no_finding"
    assert large.evidence[0].ci_high is not None and large.evidence[0].ci_high <= 1.25
    small = _steering(orientation_log(300, 5))
    assert small.status == "inconclusive"
    (e,) = small.evidence
    assert e.detectable is not None and e.detectable > 1.25
    assert "cannot be ruled out" in small.sentence


def test_a_group_too_small_never_decides() -> None:
    log = orientation_log(400, 3, steering_odds=20.0)
    outcome = run_checks(
        [SteeringParams(check="H1", track="atelier_protege")],
        _context(log, min_group_size=10_000),
    )[0]
    assert outcome.status == "not_evaluable"
    assert all(e.status == "unreliable" for e in outcome.evidence)
    # A large reference does not make a small group count: about 600 of 3000 have a history.
    big = orientation_log(3000, 3, steering_odds=20.0)
    lopsided = run_checks(
        [SteeringParams(check="H1", track="atelier_protege")], _context(big, min_group_size=1000)
    )[0]
    (e,) = lopsided.evidence
    assert e.n < 1000 < e.n_reference
    assert lopsided.status == "not_evaluable" and e.status == "unreliable"


def test_known_truth_power_false_findings_and_flag_precision() -> None:
    """The synthetic service: odds x3 for a mental-health history at equal score. Power >= 0.9
    over 20 seeds, false findings <= 5% on the same people without the harm, and the flagged
    cases are people steered below their capacity at least 80% of the time."""
    trials = [t for t in TRIALS if t.name.startswith("H1")]
    assert len(trials) == 2  # on the service's score, and on the factors an analyst has
    for trial in trials:
        result = run_trial(trial, range(20), n=20_000)  # the benchmark runs 40,000
        assert result.power >= 0.9, trial.name
        assert result.false_finding_rate <= 0.05, trial.name
        assert result.precision is not None and result.precision >= 0.8, trial.name
        assert result.recall is not None and result.recall > 0.05, trial.name


def test_every_interval_holds_its_estimate() -> None:
    for seed in range(10):
        for odds in (1.0, 2.0, 6.0):
            for n in (150, 1500):
                outcome = _steering(orientation_log(n, seed, steering_odds=odds))
                for e in outcome.evidence:
                    if e.estimate is not None:
                        assert e.ci_low is not None and e.ci_high is not None
                        assert e.ci_low <= e.estimate <= e.ci_high
                        if e.status == "finding":
                            assert e.ci_low > 1  # a finding's interval excludes "no harm"


def test_case_flags_use_the_factors_only_and_rank_the_most_unlikely_first() -> None:
    log = orientation_log(4000, 8, steering_odds=4.0)
    outcome = _steering(log, cases=True, case_below=0.05)
    rows = [c.row for c in outcome.cases]
    assert rows, "people sent to the workshop at capacity 4 must be flagged"
    assert (log["orientation"].to_numpy()[rows] == "atelier_protege").all()
    # capacity 4 gives the workshop to about 2%, every other level to 12% or more
    assert (log["capacite_evaluee"].to_numpy()[rows] == 4).all()
    scores = [c.score for c in outcome.cases]
    assert scores == sorted(scores)
    for c in outcome.cases:
        assert "sante_mentale" not in " ".join(map(str, c.evidence))
        assert not any(str(v) == "oui" for v in c.evidence.values())
    # The flags do not read the attribute: the same log with it shuffled flags the same rows.
    shuffled = log.assign(
        sante_mentale=log["sante_mentale"].sample(frac=1, random_state=1).to_numpy()
    )
    again = run_checks(
        [SteeringParams(check="H1", track="atelier_protege", cases=True)], _context(shuffled)
    )[0]
    assert [c.row for c in again.cases] == rows


def test_the_callers_table_is_not_modified() -> None:
    log = orientation_log(500, 9)
    before = log.copy(deep=True)
    _steering(log, cases=True)
    pd.testing.assert_frame_equal(log, before)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"track": "atelier_protegé"}, "did you mean 'atelier_protege'"),
        ({"factors": ["capacite"]}, "closest: 'capacite_evaluee'"),
        ({"attributes": ["sante"]}, "'sante'"),
    ],
)
def test_what_cannot_run_is_skipped_with_its_reason_and_the_rest_runs(
    change: dict[str, object], reason: str
) -> None:
    log = orientation_log(600, 4)
    broken = SteeringParams(check="steering", id="broken", **{"track": "atelier_protege", **change})  # type: ignore[arg-type]
    fine = SteeringParams(check="steering", id="fine", track="atelier_protege")
    first, second = run_checks([broken, fine], _context(log))
    assert first.status == "skipped" and first.reason is not None and reason in first.reason
    assert "Fix:" in first.reason
    assert second.status in ("finding", "no_finding", "inconclusive")


def test_decisions_without_tracks_are_skipped() -> None:
    log = orientation_log(300, 1)
    ctx = _context(log, table=pd.DataFrame({"_decision": np.zeros(300, dtype=np.int8)}))
    (outcome,) = run_checks([SteeringParams(check="H1", track="atelier_protege")], ctx)
    assert outcome.status == "skipped"
    assert outcome.reason is not None and "track_column" in outcome.reason


def test_missing_attribute_values_are_a_group_of_their_own() -> None:
    log = orientation_log(3000, 2, steering_odds=1.0)
    log.loc[log.index[:200], "sante_mentale"] = None
    outcome = _steering(log)
    assert {e.level for e in outcome.evidence} == {"oui", "unknown"}
    assert all(e.n > 0 and not math.isnan(e.n) for e in outcome.evidence)
