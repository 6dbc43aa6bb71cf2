"""H2 training access: known truth over seeds, each verdict both ways, the numbers against
statsmodels and by hand, a table we did not make (also through `audit run`), and skipped runs."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from audit.checks.base import Attribute, CheckContext, CheckOutcome
from audit.checks.known_truth import TRIALS, run_trial
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from audit.checks.training import Eligibility, TrainingParams

TRACKS = ["werk", "opleiding", "beschut"]


def _table(
    n: int, gap: float, seed: int, *, base: float = 0.6, tiny: int = 0, explained: bool = False
) -> pd.DataFrame:
    """People of groups 'a' and 'b' (and a 'tiny' group); half are eligible ("ja"). Eligible
    people of b get the training track `opleiding` `gap` less often than a. With `explained`,
    b's gap comes only through the legitimate factor `niveau`: b is more often 'laag', and
    'laag' gets training less often in both groups."""
    rng = np.random.default_rng(seed)
    group = np.array(["a"] * n + ["b"] * n + ["tiny"] * tiny)
    m = group.size
    eligible = rng.random(m) < 0.5
    if explained:
        low = rng.random(m) < np.where(group == "b", 0.8, 0.2)
        p = np.where(low, base - 0.3, base)
    else:
        low = rng.random(m) < 0.5
        p = base - gap * (group == "b")
    trained = rng.random(m) < np.where(eligible, p, 0.1)
    other = np.where(rng.random(m) < 0.5, "werk", "beschut")
    return pd.DataFrame(
        {
            "groep": group,
            "wil_opleiding": np.where(eligible, "ja", "nee"),
            "niveau": np.where(low, "laag", "hoog"),
            "traject": np.where(trained, "opleiding", other),
        }
    )


def _ctx(
    people: pd.DataFrame, *, factors: tuple[str, ...] = (), min_group_size: int = 30
) -> CheckContext:
    table = pd.DataFrame({"_track": pd.Categorical(people["traject"], categories=TRACKS)})
    return CheckContext(
        people=people,
        table=table,
        model=None,
        attributes=(Attribute("groep", "a"),),
        factors=factors,
        factor_bins={},
        min_group_size=min_group_size,
    )


ELIGIBLE = Eligibility(column="wil_opleiding", values=["ja"])


def _run(people: pd.DataFrame, **params: object) -> CheckOutcome:
    entry = TrainingParams.model_validate(
        {"check": "training", "track": "opleiding", "eligible": ELIGIBLE, **params}
    )
    (outcome,) = run_checks([entry], _ctx(people))
    return outcome


def _by_level(outcome: CheckOutcome) -> dict[str, object]:
    return {e.level: e for e in outcome.evidence}


# --- known truth ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [t.name for t in TRIALS if t.name.startswith("H2")])
def test_known_truth_power_and_false_findings_over_20_seeds(name: str) -> None:
    (trial,) = [t for t in TRIALS if t.name == name]
    result = run_trial(trial, range(20))
    assert result.power >= 0.9, result.harm_statuses
    assert result.false_finding_rate <= 0.05, result.null_statuses
    if trial.truth is not None:
        # Precision against "warranted training, recommended a lower track" (the synthetic
        # service's mistakes toward regular work are flagged too and are not in that truth).
        assert result.precision is not None and result.precision >= 0.3
        assert result.recall is not None and result.recall >= 0.6


# --- verdicts both ways ---------------------------------------------------------------------


def test_a_group_refused_training_is_a_finding() -> None:
    outcome = _run(_table(2000, 0.2, seed=1))
    assert outcome.status == "finding"
    b = outcome.evidence[0]
    assert b.level == "b" and b.measure == "rate_difference" and b.status == "finding"
    assert b.estimate == pytest.approx(-0.2, abs=0.06)
    assert b.ci_high is not None and b.ci_high < 0
    assert "groep=b" in outcome.sentence and "percentage points less often" in outcome.sentence
    assert outcome.margin == -0.05


def test_equal_access_is_ruled_out_within_the_margin() -> None:
    outcome = _run(_table(8000, 0.0, seed=2))
    assert outcome.status == "no_finding", outcome.evidence
    (b,) = outcome.evidence
    assert b.ci_low is not None and b.ci_low >= -0.05
    assert "no group gets it more than 5 percentage points less often" in outcome.sentence


def test_more_training_for_the_group_is_never_a_finding() -> None:
    outcome = _run(_table(2000, -0.2, seed=3))  # b gets MORE training
    assert outcome.status == "no_finding"
    assert outcome.evidence[0].p_adjusted is not None and outcome.evidence[0].p_adjusted < 0.01


def test_a_small_sample_cannot_tell() -> None:
    outcome = _run(_table(70, 0.0, seed=4))
    assert outcome.status == "inconclusive"
    (b,) = outcome.evidence
    assert b.status == "inconclusive" and b.detectable is not None and b.detectable < 0
    assert b.ci_low is not None and b.ci_low < -0.05


def test_a_tiny_group_is_unreliable_and_alone_not_evaluable() -> None:
    outcome = _run(_table(6000, 0.0, seed=5, tiny=20))
    records = _by_level(outcome)
    assert records["tiny"].status == "unreliable"  # type: ignore[attr-defined]
    assert records["tiny"].p_adjusted is None  # type: ignore[attr-defined]
    assert outcome.status == "no_finding"  # the tiny group never decides
    alone = _run(_table(40, 0.3, seed=5))  # ~20 eligible per group: below min_group_size
    assert alone.status == "not_evaluable" and alone.reason == "no group large enough to compare"


def test_a_gap_explained_by_the_factors_is_found_raw_and_not_adjusted() -> None:
    people = _table(4000, 0.0, seed=6, explained=True)
    raw = _run(people)
    assert raw.status == "finding"  # b is more often 'laag': fewer of b get training
    adjusted = _run(people, factors=["niveau"])
    assert adjusted.status == "no_finding", adjusted.evidence
    (b,) = adjusted.evidence
    assert b.measure == "adjusted_odds_ratio" and b.ci_low is not None and b.ci_low >= 1 / 1.5
    assert b.details["rate_difference"] is not None and float(b.details["rate_difference"]) < -0.1
    assert adjusted.margin == pytest.approx(1 / 1.5)


def test_adjusted_steering_of_training_is_found() -> None:
    outcome = _run(_table(3000, 0.2, seed=7), factors=["niveau"])
    assert outcome.status == "finding"
    (b,) = outcome.evidence
    assert b.estimate is not None and b.estimate < 0.7 and b.ci_high is not None and b.ci_high < 1
    assert "times the odds of groep=a" in outcome.sentence


def test_every_interval_contains_its_estimate() -> None:
    for seed, n, gap, factors in [(8, 60, 0.0, []), (9, 500, 0.1, ["niveau"]), (10, 3000, 0.3, [])]:
        for e in _run(_table(n, gap, seed, tiny=12), factors=factors).evidence:
            if e.estimate is not None:
                assert e.ci_low is not None and e.ci_high is not None
                assert e.ci_low <= e.estimate <= e.ci_high


# --- numbers cross-checked ------------------------------------------------------------------


def test_the_difference_interval_and_test_match_statsmodels_and_hand_counts() -> None:
    people = _table(300, 0.15, seed=11)
    (b,) = _run(people).evidence
    eligible = people["wil_opleiding"] == "ja"
    trained = people["traject"] == "opleiding"
    counts = [int((trained & eligible & (people.groep == g)).sum()) for g in ("b", "a")]
    sizes = [int((eligible & (people.groep == g)).sum()) for g in ("b", "a")]
    assert (b.n, b.n_reference) == tuple(sizes)
    assert b.estimate == pytest.approx(counts[0] / sizes[0] - counts[1] / sizes[1], abs=1e-12)
    low, high = confint_proportions_2indep(
        counts[0], sizes[0], counts[1], sizes[1], method="newcomb", compare="diff"
    )
    assert (b.ci_low, b.ci_high) == pytest.approx((low, high), abs=1e-9)
    _, p = proportions_ztest(counts, sizes)  # pooled two-proportion z-test
    assert b.p_value == pytest.approx(p, rel=1e-9)


def test_the_adjusted_odds_ratio_matches_statsmodels() -> None:
    people = _table(400, 0.2, seed=12)
    (b,) = _run(people, factors=["niveau"]).evidence
    eligible = people[people.wil_opleiding == "ja"]
    tables = []
    for level in ("hoog", "laag"):
        s = eligible[eligible.niveau == level]
        got = s.traject == "opleiding"
        tables.append(
            [
                [int((got & (s.groep == "b")).sum()), int((~got & (s.groep == "b")).sum())],
                [int((got & (s.groep == "a")).sum()), int((~got & (s.groep == "a")).sum())],
            ]
        )
    st = StratifiedTable(np.array(tables, dtype=float).transpose(1, 2, 0))
    assert b.estimate == pytest.approx(st.oddsratio_pooled, rel=1e-9)
    lo, hi = st.oddsratio_pooled_confint()
    assert (b.ci_low, b.ci_high) == pytest.approx((lo, hi), rel=1e-6)


# --- case flags -----------------------------------------------------------------------------


def test_flags_are_eligible_people_without_training_where_alike_people_mostly_get_it() -> None:
    people = _table(600, 0.25, seed=13)
    people["niveau"] = np.where(np.arange(len(people)) % 3 == 0, "laag", "hoog")
    outcome = _run(people, factors=["niveau"], cases=True, case_above=0.4)
    rows = np.array([c.row for c in outcome.cases])
    assert rows.size > 0
    assert (people.wil_opleiding.to_numpy()[rows] == "ja").all()
    assert (people.traject.to_numpy()[rows] != "opleiding").all()
    # the shares by stratum, recomputed by hand from the eligible people
    eligible = people[people.wil_opleiding == "ja"]
    share = eligible.groupby("niveau")["traject"].apply(lambda t: (t == "opleiding").mean())
    for case in outcome.cases:
        level = people.niveau.iloc[case.row]
        assert case.evidence["track_share_among_comparable_eligible"] == round(share[level], 4)
        assert float(case.evidence["track_share_among_comparable_eligible"]) >= 0.4
        assert "groep" not in " ".join(case.evidence)  # never the sensitive attribute
        assert case.evidence["recommended"] in ("werk", "beschut")
    scores = [c.score for c in outcome.cases]
    assert scores == sorted(scores)  # most unusual first
    wanted = sum(
        int(((eligible.niveau == lv) & (eligible.traject != "opleiding")).sum())
        for lv, s in share.items()
        if s >= 0.4
    )
    assert len(outcome.cases) == wanted
    assert _run(people, factors=["niveau"]).cases == ()  # only when asked


# --- other eligibility rules and a table we did not make -------------------------------------


def _stranger(n: int = 400, seed: int = 14) -> pd.DataFrame:
    """A service's log in its own words: a predicted gain from training, a yes/no wish, groups
    'oui'/'non', tracks of its own. People with a handicap get training half as often."""
    rng = np.random.default_rng(seed)
    handicap = rng.choice(["oui", "non"], n, p=[0.4, 0.6])
    gain = rng.uniform(0, 1, n).round(3)
    p = np.where(gain >= 0.5, np.where(handicap == "oui", 0.3, 0.8), 0.2)
    track = np.where(rng.random(n) < p, "formation", rng.choice(["emploi", "atelier"], n))
    return pd.DataFrame(
        {
            "dossier": [f"D{i:04d}" for i in range(n)],
            "handicap": handicap,
            "gain_prevu": gain,
            "souhait": gain >= 0.5,
            "orientation": track,
            "emploi_6m": (rng.random(n) < 0.4).astype(int),
            "score_emploi": rng.uniform(0, 1, n).round(4),
        }
    )


@pytest.mark.parametrize(
    "eligible",
    [
        {"column": "gain_prevu", "at_least": 0.5},
        {"column": "souhait"},
        {"column": "souhait", "values": [True]},
    ],
)
def test_a_table_we_did_not_make_with_each_kind_of_rule(eligible: dict[str, object]) -> None:
    people = _stranger()
    ctx = CheckContext(
        people=people,
        table=pd.DataFrame(
            {"_track": pd.Categorical(people.orientation, ["emploi", "formation", "atelier"])}
        ),
        model=None,
        attributes=(Attribute("handicap", "non"),),
        factors=(),
        factor_bins={},
    )
    entry = TrainingParams.model_validate(
        {"check": "H2", "track": "formation", "eligible": eligible}
    )
    (outcome,) = run_checks([entry], ctx)
    assert outcome.status == "finding", outcome.reason
    (oui,) = outcome.evidence
    assert oui.level == "oui" and oui.estimate == pytest.approx(-0.5, abs=0.15)
    assert oui.n == int(((people.gain_prevu >= 0.5) & (people.handicap == "oui")).sum())


def test_audit_run_on_a_table_we_did_not_make(tmp_path: Path) -> None:
    people = _stranger()
    people_csv, log_csv = tmp_path / "dossiers.csv", tmp_path / "orientations.csv"
    people.drop(columns=["orientation", "score_emploi"]).to_csv(people_csv, index=False)
    people[["dossier", "orientation"]].sample(frac=1.0, random_state=2).to_csv(log_csv, index=False)
    spec = {
        "name": "acces-formation",
        "data": {"file": str(people_csv), "schema": "none"},
        "model": {
            "decisions": {"file": str(log_csv), "track_column": "orientation", "id_column": "dossier"}
        },
        "attributes": [{"column": "handicap", "reference": "non"}],
        "statistics": {"n_boot": 0},
        "checks": [
            {"check": "training", "id": "formation", "track": "formation",
             "eligible": {"column": "gain_prevu", "at_least": 0.5}},
            {"check": "training", "id": "typo", "track": "formation",
             "eligible": {"column": "gain_prevue", "at_least": 0.5}},
        ],
        "policy": {"rules": [{"id": "no-training-gap", "harm_check": "formation"}]},
        "tracking": {"enabled": False},
        "report": {"dir": str(tmp_path / "rapport"), "formats": []},
    }  # fmt: skip
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "audit.cli", "run", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # the gate fails on the finding
    checks = {
        c["id"]: c for c in json.loads((tmp_path / "rapport" / "checks.json").read_text())["checks"]
    }
    assert checks["formation"]["status"] == "finding" and checks["formation"]["code"] == "H2"
    assert checks["typo"]["status"] == "skipped"
    assert "'gain_prevue' (closest: 'gain_prevu')" in checks["typo"]["reason"]
    verdict = json.loads((tmp_path / "rapport" / "verdict.json").read_text())
    assert {r["rule_id"]: r["status"] for r in verdict["rules"]}["no-training-gap"] == "fail"


# --- cannot run -----------------------------------------------------------------------------


def _skip_reason(people: pd.DataFrame, table: pd.DataFrame, **params: object) -> list[CheckOutcome]:
    entry = TrainingParams.model_validate({"check": "training", "track": "opleiding", **params})
    ctx = CheckContext(
        people=people, table=table, model=None, attributes=(Attribute("groep", "a"),),
        factors=(), factor_bins={},
    )  # fmt: skip
    steering = SteeringParams(check="steering", track="beschut")
    return list(run_checks([entry, steering], ctx))


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"eligible": {"column": "wil_opleidng", "values": ["ja"]}},
         "'wil_opleidng' (closest: 'wil_opleiding')"),
        ({"eligible": {"column": "wil_opleiding", "values": ["yes"]}},
         "expected one of its values ['ja', 'nee']; found none of ['yes']"),
        ({"eligible": {"column": "wil_opleiding", "at_least": 1}}, "expected a numeric column"),
        ({"eligible": {"column": "wil_opleiding"}}, "expected a boolean column"),
        ({"eligible": {"column": "wil_opleiding", "values": ["ja"]}, "track": "opleidng"},
         "did you mean 'opleiding'?"),
        ({"eligible": {"column": "wil_opleiding", "values": ["ja"]}, "factors": ["nivo"]},
         "'nivo' (closest: 'niveau')"),
    ],
)  # fmt: skip
def test_a_check_that_cannot_run_is_skipped_and_the_others_go_on(
    params: dict[str, object], says: str
) -> None:
    people = _table(200, 0.0, seed=15)
    table = pd.DataFrame({"_track": pd.Categorical(people["traject"], categories=TRACKS)})
    h2, h1 = _skip_reason(people, table, **params)
    assert h2.status == "skipped" and h2.reason is not None and says in h2.reason, h2.reason
    assert h1.status != "skipped"


def test_decisions_without_tracks_are_skipped() -> None:
    people = _table(200, 0.0, seed=16)
    table = pd.DataFrame({"_decision": (people.traject == "opleiding").astype(np.int8)})
    h2, _ = _skip_reason(people, table, eligible={"column": "wil_opleiding", "values": ["ja"]})
    assert h2.status == "skipped" and "found decisions without a track" in str(h2.reason)


def test_the_rule_takes_one_form() -> None:
    with pytest.raises(ValueError, match="either 'values' or 'at_least'"):
        Eligibility(column="x", values=["a"], at_least=1.0)
    with pytest.raises(ValueError, match="at least one value"):
        Eligibility(column="x", values=[])
    assert not math.isnan(Eligibility(column="x", at_least=0.2).at_least or math.nan)


def test_a_flag_at_exactly_the_share_asked_for_by_hand() -> None:
    """Eligible people alike in 'niveau': 'hoog' gets training 4 times in 8 (share 0.5, the
    four others are flagged at case_above 0.5), 'laag' once in 4 (never flagged)."""
    people = pd.DataFrame(
        {
            "groep": ["a", "b"] * 8,
            "wil_opleiding": ["ja"] * 12 + ["nee"] * 4,
            "niveau": ["hoog"] * 8 + ["laag"] * 8,
            "traject": ["opleiding"] * 4 + ["werk", "beschut"] * 2
            + ["opleiding"] + ["werk"] * 3 + ["opleiding"] * 4,
        }
    )  # fmt: skip
    outcome = _run(people, factors=["niveau"], cases=True, case_above=0.5)
    assert sorted(c.row for c in outcome.cases) == [4, 5, 6, 7]
    assert {c.evidence["comparable_eligible_people"] for c in outcome.cases} == {8}
    assert all(c.score == 0.5 for c in outcome.cases)
    assert outcome.status == "not_evaluable"  # 6 eligible per group: flags, but no verdict


def test_missing_and_unknown_eligibility_values_are_said_in_notes() -> None:
    people = _stranger()
    people.loc[:9, "gain_prevu"] = np.nan
    people["souhait_txt"] = np.where(people.souhait, "oui", "non")
    ctx = CheckContext(
        people=people,
        table=pd.DataFrame(
            {"_track": pd.Categorical(people.orientation, ["emploi", "formation", "atelier"])}
        ),
        model=None,
        attributes=(Attribute("handicap", "non"),),
        factors=(),
        factor_bins={},
    )
    numeric, labels = run_checks(
        [
            TrainingParams.model_validate(
                {"check": "H2", "track": "formation", "eligible": {"column": "gain_prevu",
                 "at_least": 0.5}}
            ),
            TrainingParams.model_validate(
                {"check": "H2", "id": "txt", "track": "formation",
                 "eligible": {"column": "souhait_txt", "values": ["oui", "peut-etre"]}}
            ),
        ],
        ctx,
    )  # fmt: skip
    assert numeric.notes == ("10 people without a value of 'gain_prevu' count as not eligible",)
    assert sum(e.n + e.n_reference for e in numeric.evidence) == int(
        (people.gain_prevu >= 0.5).sum()
    )
    assert labels.notes == ("eligible values not in 'souhait_txt': ['peut-etre']",)
    assert labels.status == "finding"


def test_a_group_never_trained_is_found_on_the_raw_difference_when_the_odds_ratio_is_zero() -> None:
    people = _table(400, 0.0, seed=17)
    refused = (people.groep == "b") & (people.traject == "opleiding")
    people.loc[refused, "traject"] = "beschut"
    outcome = _run(people, factors=["niveau"])
    (b,) = outcome.evidence
    assert outcome.status == "finding" and b.status == "finding"
    assert b.measure == "rate_difference" and b.details["rate"] == 0.0
    assert any("undefined for groep=b" in note for note in outcome.notes)


def test_no_variation_at_all_decides_on_the_interval_alone() -> None:
    people = _table(3000, 0.0, seed=18)
    people.loc[people.wil_opleiding == "ja", "traject"] = "opleiding"  # every eligible trained
    (b,) = _run(people).evidence
    assert b.estimate == 0.0 and b.p_value is None and b.status == "no_finding"
