"""H7 under-matching and exposure: jobs below qualification by group, and how visible a group's
people are among the candidates of jobs at their level; on known truth and a table we did not
make. Also the rankings' way in: generated for a synthetic audit only when a check reads them,
and a bad rankings file refused with a clear message."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import dcg_score

from audit.checks.base import Attribute, CheckContext, CheckOutcome
from audit.checks.known_truth import TRIALS, run_trial
from audit.checks.matching import MatchingParams, candidate_attention
from audit.checks.run import run_checks
from audit.errors import AuditInputError
from audit.spec import AuditSpec, RankingsSpec
from audit.steps.data import load_data
from audit.steps.rankings import join_people, load_rankings
from tests.checks.ranking_tables import RANKING_NAMES, matcher_log

PSY = (Attribute("psy", "nee"),)


def _ctx(people: pd.DataFrame, rankings: pd.DataFrame | None, **kw: object) -> CheckContext:
    if rankings is not None:
        rankings = rankings.rename(columns={v: k for k, v in RANKING_NAMES.items()})
        people = people.assign(person_id=people["dossier"])
    return CheckContext(
        people=people,
        table=pd.DataFrame(index=people.index),
        model=None,
        attributes=PSY,
        factors=("opleiding",),
        factor_bins={},
        rankings=rankings,
        **kw,  # type: ignore[arg-type]
    )


def _h7(people: pd.DataFrame, rankings: pd.DataFrame | None, **params: object) -> CheckOutcome:
    (outcome,) = run_checks(
        [MatchingParams(check="undermatching", **params)],  # type: ignore[arg-type]
        _ctx(people, rankings),
    )
    return outcome


@pytest.mark.parametrize("name", ["H7 under-matching", "H7 exposure"])
def test_known_truth_power_and_false_findings(name: str) -> None:
    (trial,) = [t for t in TRIALS if t.name.startswith(name)]
    result = run_trial(trial, range(20))
    assert result.power >= 0.9, result.harm_statuses
    assert result.false_finding_rate <= 0.05, result.null_statuses
    assert result.null_statuses.count("no_finding") >= 10


def test_known_truth_of_under_matching_alone() -> None:
    """The default trial decides on either measure: the share below qualification alone."""
    (trial,) = [t for t in TRIALS if t.name.startswith("H7 under-matching")]
    alone = MatchingParams(check="undermatching", measures=["share_below_qualification"])
    result = run_trial(replace(trial, check=alone, n=2_000), range(20))
    assert result.power >= 0.9, result.harm_statuses
    assert result.false_finding_rate <= 0.05, result.null_statuses


def test_verdicts_both_ways_on_a_table_we_did_not_make() -> None:
    found = _h7(*matcher_log(400, seed=1, undermatch=0.5))
    assert found.status == "finding"
    below = next(e for e in found.evidence if e.measure == "share_below_qualification")
    assert (below.level, below.reference, below.status) == ("ja", "nee", "finding")
    assert "psy=ja" in found.sentence and "below their qualification" in found.sentence
    ruled_out = _h7(*matcher_log(6000, seed=2))
    assert ruled_out.status == "no_finding", [
        (e.measure, e.ci_low, e.ci_high) for e in ruled_out.evidence
    ]
    unsure = _h7(*matcher_log(110, seed=3, k=1))  # one job each: too few to tell
    assert unsure.status == "inconclusive"
    # a group below min_group_size never decides
    people, rankings = matcher_log(400, seed=4, undermatch=0.5)
    few = people.index[people["psy"] == "ja"][:25]
    people = people[(people["psy"] == "nee") | people.index.isin(few)].reset_index(drop=True)
    small = _h7(people, rankings)
    assert small.status == "not_evaluable" and {e.status for e in small.evidence} == {"unreliable"}


def test_share_below_qualification_by_hand() -> None:
    people, rankings = matcher_log(400, seed=5, undermatch=0.3, k=4)
    outcome = _h7(people, rankings, measures=["share_below_qualification"])
    (e,) = outcome.evidence
    r = rankings.merge(people, on="dossier")
    per = (
        r.assign(below=r["niveauverschil"] < 0)
        .groupby("dossier")
        .agg(below=("below", "mean"), psy=("psy", "first"), level=("opleiding", "first"))
    )
    # standardised over the qualification: the group's own mix of levels weights the strata
    total, var = 0.0, 0.0
    n_group = (per["psy"] == "ja").sum()
    for _level, stratum in per.groupby("level"):
        g, ref = (
            stratum.loc[stratum["psy"] == "ja", "below"],
            stratum.loc[stratum["psy"] == "nee", "below"],
        )
        w = len(g) / n_group
        total += w * (g.mean() - ref.mean())
        var += w**2 * (g.var(ddof=1) / len(g) + ref.var(ddof=1) / len(ref))
    assert e.estimate == pytest.approx(total, rel=1e-12)
    assert (e.ci_high - e.ci_low) / 2 == pytest.approx(1.959964 * math.sqrt(var), rel=1e-5)
    assert e.details["strata"] == 3


def test_exposure_by_hand_and_against_sklearn_dcg() -> None:
    """Two vacancies: V1's candidates a, b, c (scores 3, 2, 1), V2's b, a, d (5, 4, 0)."""
    ranked = pd.DataFrame(
        {
            "person_id": ["a", "a", "b", "b", "c", "d"],
            "rank": [1, 2, 1, 2, 1, 1],
            "vacancy_id": ["V1", "V2", "V2", "V1", "V1", "V2"],
            "score": [3.0, 4.0, 5.0, 2.0, 1.0, 0.0],
            "skill_gap": [0, -1, 0, 0, 1, 0],
        }
    )
    attention = candidate_attention(ranked)
    third = 1 / math.log2(3)
    assert attention == pytest.approx([1.0, third, 1.0, third, 0.5, 0.5])
    # a group's attention in one vacancy's candidate list is the DCG of its membership
    v1 = ranked["vacancy_id"] == "V1"
    member = ranked["person_id"].isin(["a", "c"]).to_numpy()
    assert attention[v1 & member].sum() == pytest.approx(
        dcg_score([member[v1].astype(int)], [ranked.loc[v1, "score"].to_numpy()])
    )
    people = pd.DataFrame({"person_id": ["a", "b", "c", "d"], "g": ["x", "y", "y", "x"]})
    ctx = CheckContext(
        people=people,
        table=pd.DataFrame(index=people.index),
        model=None,
        attributes=(Attribute("g", "y"),),
        factors=(),
        factor_bins={},
        min_group_size=1,
        rankings=ranked,
    )
    for jobs, a, b, c in (("at_level", 1.0, 1 + third, 0.5), ("all", 1 + third, 1 + third, 0.5)):
        params = MatchingParams(
            check="undermatching", measures=["exposure_ratio"], exposure_jobs=jobs
        )
        (outcome,) = run_checks([params], ctx)
        (e,) = outcome.evidence
        assert e.details["group_mean"] == pytest.approx((a + 0.5) / 2)
        assert e.details["reference_mean"] == pytest.approx((b + c) / 2)
        assert e.estimate == pytest.approx((a + 0.5) / (b + c))


def test_every_interval_contains_its_estimate() -> None:
    for seed, under in ((6, 0.0), (7, 0.4)):
        for e in _h7(*matcher_log(300, seed=seed, undermatch=under)).evidence:
            assert e.ci_low is not None and e.estimate is not None and e.ci_high is not None
            assert e.ci_low <= e.estimate <= e.ci_high


def test_without_the_columns_it_needs_it_is_skipped() -> None:
    people, rankings = matcher_log(200, seed=8)
    none = _h7(people, None)
    assert none.status == "skipped" and "data.rankings" in (none.reason or "")
    no_score = _h7(people, rankings.drop(columns=["punten"]))
    assert no_score.status == "skipped" and "'score'" in (no_score.reason or "")
    # without exposure it needs no score
    only = _h7(people, rankings.drop(columns=["punten"]), measures=["share_below_qualification"])
    assert only.status != "skipped"


def _synthetic_spec(checks: list[dict[str, object]]) -> AuditSpec:
    return AuditSpec.model_validate(
        {
            "name": "synthetic",
            "data": {"synthetic": {"scenario": "h7_undermatching", "n": 400, "seed": 3}},
            "model": {"train": {}},
            "attributes": ["mental_health_history"],
            "checks": checks,
            "tracking": {"enabled": False},
        }
    )


def test_synthetic_rankings_are_generated_only_for_a_check_that_reads_them() -> None:
    assert (
        load_data(_synthetic_spec([{"check": "steering", "track": "sheltered"}])).rankings is None
    )
    data = load_data(_synthetic_spec([{"check": "undermatching", "top_k": 3}, {"check": "H6"}]))
    assert data.rankings is not None
    assert data.fingerprint["rankings"]["k"] == 10  # the deepest top_k asked for
    # only the audited people (the other half trains the model), each found by `_row`
    assert len(data.rankings) == 10 * len(data.audited)
    ids = data.audited["person_id"].to_numpy()[data.rankings["_row"].to_numpy()]
    assert (ids == data.rankings["person_id"].to_numpy()).all()


def test_a_bad_rankings_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    people, rankings = matcher_log(50, seed=9)
    path = tmp_path / "matches.csv"
    rankings.drop(columns=["positie"]).to_csv(path, index=False)
    with pytest.raises(AuditInputError, match="person_id and rank") as err:
        load_rankings(RankingsSpec(file=path, columns={"person_id": "dossier"}))
    assert "data.rankings.columns" in str(err.value)
    rankings.assign(afstand="ver").to_csv(path, index=False)
    with pytest.raises(AuditInputError, match=r"'distance_km'.*numbers"):
        load_rankings(RankingsSpec(file=path, columns=RANKING_NAMES))
    rankings.assign(positie=0).to_csv(path, index=False)
    with pytest.raises(AuditInputError, match="whole numbers from 1"):
        load_rankings(RankingsSpec(file=path, columns=RANKING_NAMES))
    rankings.to_csv(path, index=False)
    loaded = load_rankings(RankingsSpec(file=path, columns=RANKING_NAMES))
    with pytest.raises(AuditInputError, match="none of its ids"):
        join_people(
            loaded,
            people.assign(dossier="x" + people["dossier"]),
            "dossier",
            RankingsSpec(file=path),
        )
    with pytest.raises(AuditInputError, match="no column 'person_id' in the data"):
        join_people(loaded, people, "person_id", RankingsSpec(file=path))
    joined = join_people(loaded, people.iloc[::-1].reset_index(drop=True), "dossier", None)
    assert (people["dossier"].iloc[::-1].to_numpy()[joined["_row"]] == joined["person_id"]).all()
    assert np.isin(joined.columns, [*RANKING_NAMES, "_row"]).all()
