"""H6 mobility: distances of recommended jobs by group, on known truth and on a table we did not
make; and the rankings' way into the audit (a file with its own column names, or generated)."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from audit.checks.base import Attribute, CheckContext, CheckOutcome
from audit.checks.known_truth import TRIALS, run_trial
from audit.checks.matching import MatchingParams
from audit.checks.mobility import MobilityParams
from audit.checks.run import run_checks
from audit.checks.steering import SteeringParams
from tests.checks.ranking_tables import RANKING_NAMES, matcher_log

CAR = (Attribute("auto", "ja"),)


def _ctx(
    people: pd.DataFrame,
    rankings: pd.DataFrame | None,
    attributes: tuple[Attribute, ...] = CAR,
    **kw: object,
) -> CheckContext:
    if rankings is not None:
        rankings = rankings.rename(columns={v: k for k, v in RANKING_NAMES.items()})
        people = people.assign(person_id=people["dossier"])
    return CheckContext(
        people=people,
        table=pd.DataFrame(index=people.index),
        model=None,
        attributes=attributes,
        factors=(),
        factor_bins={},
        rankings=rankings,
        **kw,  # type: ignore[arg-type]
    )


def _h6(people: pd.DataFrame, rankings: pd.DataFrame | None, **params: object) -> CheckOutcome:
    ((outcome),) = run_checks(
        [MobilityParams(check="mobility", **{"housing": "woonsituatie", **params})],  # type: ignore[arg-type]
        _ctx(people, rankings),
    )
    return outcome


def test_known_truth_power_and_false_findings() -> None:
    (trial,) = [t for t in TRIALS if t.check.check in ("H6", "mobility")]
    result = run_trial(trial, range(20))
    assert result.power >= 0.9, result.harm_statuses
    assert result.false_finding_rate <= 0.05, result.null_statuses
    assert result.null_statuses.count("no_finding") >= 5  # the null is also ruled in, not only


def test_verdicts_both_ways_on_a_table_we_did_not_make() -> None:
    found = _h6(*matcher_log(400, seed=1, extra_km=6.0))
    assert found.status == "finding"
    (worst,) = [
        e for e in found.evidence if e.status == "finding" and e.measure == "mean_distance_km"
    ]
    assert (worst.attribute, worst.level, worst.reference) == ("auto", "nee", "ja")
    assert worst.ci_low is not None and worst.ci_low > 0
    assert "auto=nee" in found.sentence and "km farther" in found.sentence
    # no gap and enough people: a gap beyond the margins is ruled out
    ruled_out = _h6(*matcher_log(6000, seed=2, extra_km=0.0))
    assert ruled_out.status == "no_finding", [
        (e.measure, e.level, e.ci_high) for e in ruled_out.evidence
    ]
    # the same table at 120 people cannot tell
    unsure = _h6(*matcher_log(120, seed=3, extra_km=0.0))
    assert unsure.status == "inconclusive"
    assert all(
        e.detectable is not None and e.detectable > 0
        for e in unsure.evidence
        if e.status == "inconclusive"
    )


def test_housing_is_a_group_and_small_groups_never_decide() -> None:
    people, rankings = matcher_log(400, seed=4, extra_km=6.0)
    outcome = _h6(people, rankings)
    housing = [e for e in outcome.evidence if e.attribute == "woonsituatie"]
    assert {e.level for e in housing} == {"zonder vaste verblijfplaats"}
    assert {e.reference for e in housing} == {"eigen woning"}
    # fewer than min_group_size (30) people without a car: unreliable, and nothing else decides
    few = people.index[people["auto"] == "nee"][:20]
    people = people[(people["auto"] == "ja") | people.index.isin(few)].reset_index(drop=True)
    outcome = _h6(people, rankings, housing=None)  # type: ignore[arg-type]
    assert {e.status for e in outcome.evidence} == {"unreliable"}
    assert outcome.status == "not_evaluable" and outcome.reason


def test_estimates_by_hand_and_against_statsmodels() -> None:
    people, rankings = matcher_log(400, seed=5, extra_km=1.0, k=4)
    outcome = _h6(people, rankings, housing=None, reach_km=8.0)  # type: ignore[arg-type]
    by = {e.measure: e for e in outcome.evidence}
    r = rankings.merge(people, on="dossier")
    per = r.groupby("dossier").agg(
        km=("afstand", "mean"), far=("afstand", lambda d: (d > 8.0).mean()), auto=("auto", "first")
    )
    for measure, column in (("mean_distance_km", "km"), ("share_beyond_reach", "far")):
        g, ref = per.loc[per["auto"] == "nee", column], per.loc[per["auto"] == "ja", column]
        e = by[measure]
        assert e.estimate == pytest.approx(g.mean() - ref.mean(), rel=1e-12)
        se = math.sqrt(g.var(ddof=1) / len(g) + ref.var(ddof=1) / len(ref))
        assert (e.ci_high - e.ci_low) / 2 == pytest.approx(1.959964 * se, rel=1e-5)
        welch = CompareMeans(DescrStatsW(g.to_numpy()), DescrStatsW(ref.to_numpy()))
        assert se == pytest.approx(welch.std_meandiff_separatevar, rel=1e-12)
        # The person summary is the cluster-robust analysis of the rows, clustered by person.
        rows = r.assign(far=(r["afstand"] > 8.0).astype(float), x=(r["auto"] == "nee") * 1.0)
        y = rows["afstand"] if column == "km" else rows["far"]
        fit = sm.OLS(y, sm.add_constant(rows["x"])).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(rows["dossier"])[0]}
        )
        assert e.estimate == pytest.approx(fit.params["x"], rel=1e-9)
        assert se == pytest.approx(fit.bse["x"], rel=0.01)  # up to the n/(n-1) corrections
        assert e.n == len(g) and e.n_reference == len(ref)


def test_standardised_over_strata_by_hand() -> None:
    """Two strata: the within-stratum differences weighted by the group's people in each."""
    people = pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(8)],
            "g": ["a", "a", "a", "b", "b", "b", "b", "a"],
            "s": ["x", "x", "y", "x", "x", "y", "y", "y"],
        }
    )
    km = {"p0": 4.0, "p1": 6.0, "p2": 10.0, "p3": 1.0, "p4": 3.0, "p5": 7.0, "p6": 9.0, "p7": 14.0}
    rankings = pd.DataFrame({"person_id": list(km), "rank": 1, "distance_km": list(km.values())})
    ctx = CheckContext(
        people=people,
        table=pd.DataFrame(index=people.index),
        model=None,
        attributes=(Attribute("g", "b"),),
        factors=("s",),
        factor_bins={},
        min_group_size=2,
        rankings=rankings,
    )
    ((outcome),) = run_checks(
        [MobilityParams(check="mobility", measures=["mean_distance_km"])], ctx
    )
    (e,) = outcome.evidence
    # stratum x: a {4, 6} vs b {1, 3}: +3; stratum y: a {10, 14} vs b {7, 9}: +4; weights 2/4, 2/4
    assert e.estimate == pytest.approx(3.5)
    var = 0.25 * (2 / 2 + 2 / 2) + 0.25 * (8 / 2 + 2 / 2)  # w^2 (s_a^2/n_a + s_b^2/n_b)
    assert (e.ci_high - e.ci_low) / 2 == pytest.approx(1.959964 * math.sqrt(var), rel=1e-5)
    assert e.details["strata"] == 2 and e.details["coverage"] == 1.0


def test_reach_by_transport_by_hand() -> None:
    people = pd.DataFrame(
        {
            "person_id": ["car", "bus", "walk"],
            "g": ["a", "a", "a"],
            "has_car": [True, False, False],
            "distance_public_transport_km": [5.0, 0.5, 3.0],
        }
    )
    rankings = pd.DataFrame(
        {
            "person_id": ["car"] * 2 + ["bus"] * 2 + ["walk"] * 2,
            "rank": [1, 2] * 3,
            "distance_km": [20.0, 35.0, 8.0, 12.0, 4.0, 6.0],
        }
    )
    from audit.checks.mobility import _reach
    from audit.checks.ranked import per_person

    ctx = CheckContext(
        people=people,
        table=pd.DataFrame(index=people.index),
        model=None,
        attributes=(),
        factors=(),
        factor_bins={},
        rankings=rankings,
    )
    params = MobilityParams(check="mobility", reach_by_transport=True)
    reach = _reach(params, ctx)
    assert list(reach) == [30.0, 10.0, 5.0]
    rows = np.repeat([0, 1, 2], 2)
    share, _ = per_person(rows, rankings["distance_km"].to_numpy() > reach[rows], 3)
    assert list(share) == [0.5, 0.5, 0.5]


def test_every_interval_contains_its_estimate() -> None:
    for seed, extra in ((6, 0.0), (7, 4.0)):
        outcome = _h6(*matcher_log(300, seed=seed, extra_km=extra))
        for e in outcome.evidence:
            assert e.ci_low is not None and e.ci_high is not None and e.estimate is not None
            assert e.ci_low <= e.estimate <= e.ci_high


def test_without_rankings_or_columns_it_is_skipped_and_the_others_run() -> None:
    people, rankings = matcher_log(200, seed=8)
    h1 = SteeringParams(check="steering", track="x")
    ctx = _ctx(people, None)
    ctx = CheckContext(
        **{**ctx.__dict__, "table": pd.DataFrame({"_track": pd.Categorical(["x", "y"] * 100)})}
    )
    skipped, steering = run_checks([MobilityParams(check="mobility"), h1], ctx)
    assert skipped.status == "skipped" and "ranked vacancies" in (skipped.reason or "")
    assert "data.rankings" in (skipped.reason or "")
    assert steering.status != "skipped"
    # rankings without distances: H6 says which column; H7 on the same rankings runs
    no_km = rankings.drop(columns=["afstand"])
    h6, h7 = run_checks(
        [MobilityParams(check="mobility"), MatchingParams(check="undermatching")],
        _ctx(people, no_km),
    )
    assert h6.status == "skipped" and "'distance_km'" in (h6.reason or "")
    assert h7.status != "skipped"
    # an attribute the people do not have: skipped, naming the closest column
    (missing,) = run_checks(
        [MobilityParams(check="mobility", attributes=["autos"])], _ctx(people, rankings)
    )
    assert missing.status == "skipped" and "closest: 'auto'" in (missing.reason or "")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def test_audit_run_with_a_rankings_file_of_its_own_names(tmp_path: Path) -> None:
    people, rankings = matcher_log(400, seed=9, extra_km=6.0, undermatch=0.6)
    people.to_csv(tmp_path / "klanten.csv", index=False)
    rankings.to_csv(tmp_path / "matches.csv", index=False)
    spec = {
        "name": "matcher-gent",
        "data": {
            "file": "klanten.csv",
            "schema": "none",
            "rankings": {"file": "matches.csv", "columns": RANKING_NAMES},
        },
        "model": {
            "decisions": {
                "file": "klanten.csv",
                "decision_column": "beslissing",
                "id_column": "dossier",
            }
        },
        "attributes": [
            {"column": "psy", "reference": "nee"},
            {"column": "auto", "reference": "ja"},
        ],
        "statistics": {"n_boot": 50},
        "checks": [
            {"check": "mobility", "housing": "woonsituatie"},
            {
                "check": "undermatching",
                "factors": ["opleiding"],
                "measures": ["share_below_qualification"],
            },
        ],
        "tracking": {"enabled": False},
        "report": {"dir": "rapport", "formats": [], "junit": False},
    }
    (tmp_path / "audit.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    run = _cli("run", "audit.yaml", cwd=tmp_path)
    assert run.returncode in (0, 1, 3), run.stdout + run.stderr
    checks = json.loads((tmp_path / "rapport" / "checks.json").read_text())["checks"]
    h6, h7 = checks
    assert (h6["code"], h6["status"]) == ("H6", "finding")
    assert any(
        e["attribute"] == "auto" and e["level"] == "nee" and e["status"] == "finding"
        for e in h6["evidence"]
    )
    assert (h7["code"], h7["status"]) == ("H7", "finding")
    assert any(e["attribute"] == "psy" and e["status"] == "finding" for e in h7["evidence"])
    # the manifest names the rankings file by its content
    manifest = json.loads((tmp_path / "rapport" / "manifest.json").read_text())
    digest = hashlib.sha256((tmp_path / "matches.csv").read_bytes()).hexdigest()
    assert manifest["data"]["rankings"] == {
        "source": "matches.csv",
        "sha256": digest,
        "rows": len(rankings),
    }
    # a renamed column the file does not have: a clear message, exit 2
    spec["data"]["rankings"]["columns"] = {**RANKING_NAMES, "distance_km": "km"}  # type: ignore[index]
    (tmp_path / "audit.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    bad = _cli("run", "audit.yaml", cwd=tmp_path)
    assert bad.returncode == 2
    assert "data.rankings.columns.distance_km" in bad.stderr and "'km'" in bad.stderr
