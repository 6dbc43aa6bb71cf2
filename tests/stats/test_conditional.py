"""Conditional disparities given legitimate factors: by hand, known answers, coverage, cross-check."""

from __future__ import annotations

import json
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from audit.errors import AuditInputError
from audit.stats.assess import assess
from audit.stats.result import Assessment, ConditionalDisparity
from audit.stats.simulate import simulate_decisions
from audit.tracking.naming import flatten_metrics

Z95 = NormalDist().inv_cdf(0.975)
EDUCATION = ["low", "mid", "high"]


def _find(result: Assessment, metric: str, attribute: str, level: str) -> ConditionalDisparity:
    for c in result.conditional:
        if (c.metric, c.attributes, c.levels) == (metric, (attribute,), (level,)):
            return c
    raise KeyError((metric, attribute, level))


# -- by hand -----------------------------------------------------------------------------------
def _cells(housing: str, education: str, rows: int, selected: int) -> pd.DataFrame:
    d = [1] * selected + [0] * (rows - selected)
    y = [i % 2 for i in range(rows)]
    return pd.DataFrame({"housing": housing, "edu": education, "y": y, "d": d})


def _hand_table(extra_stratum: bool = False) -> pd.DataFrame:
    parts = [
        _cells("homeless", "low", 30, 6),  # 0.2
        _cells("homeless", "high", 10, 5),  # 0.5
        _cells("stable", "low", 20, 6),  # 0.3
        _cells("stable", "high", 60, 42),  # 0.7
    ]
    if extra_stratum:  # a stratum without anyone stably housed: left out, coverage says so
        parts.append(_cells("homeless", "none", 8, 0))
    return pd.concat(parts, ignore_index=True)


def test_two_strata_by_hand():
    result = assess(
        _hand_table(),
        y_true="y",
        y_pred="d",
        groups=["housing"],
        legitimate_factors=["edu"],
        n_boot=0,
        min_group_size=30,
    )
    c = _find(result, "selection_rate", "housing", "homeless")
    # Homeless people: 30 of 40 with low, 10 of 40 with high education.
    assert c.value == pytest.approx(0.75 * (0.2 - 0.3) + 0.25 * (0.5 - 0.7), abs=1e-12)
    assert c.unconditional == pytest.approx(11 / 40 - 48 / 80, abs=1e-12)
    assert c.coverage == 1.0
    var = 0.75**2 * (0.2 * 0.8 / 30 + 0.3 * 0.7 / 20) + 0.25**2 * (0.5 * 0.5 / 10 + 0.7 * 0.3 / 60)
    se = var**0.5
    assert c.ci_method == "normal"
    assert c.ci_low == pytest.approx(-0.125 - Z95 * se, abs=1e-12)
    assert c.ci_high == pytest.approx(-0.125 + Z95 * se, abs=1e-12)
    assert c.p_value == pytest.approx(2 * NormalDist().cdf(-0.125 / se), abs=1e-12)
    assert (c.reference_levels, c.factors, c.reliable) == (("stable",), ("edu",), True)
    # Holm within the family of three conditional tests.
    ps = sorted(x.p_value for x in result.conditional if x.p_value is not None)
    assert c.p_adjusted == pytest.approx(
        min(1.0, max(k * p for k, p in zip((3, 2, 1), ps, strict=False) if p <= c.p_value))
    )
    assert {x.metric for x in result.conditional} == {"selection_rate", "tpr", "fpr"}


def test_stratum_without_the_reference_is_left_out_and_reported():
    result = assess(
        _hand_table(extra_stratum=True),
        y_true="y",
        y_pred="d",
        groups=["housing"],
        legitimate_factors=["edu"],
        n_boot=0,
    )
    c = _find(result, "selection_rate", "housing", "homeless")
    assert c.value == pytest.approx(-0.125, abs=1e-12)  # weights renormalised to covered strata
    assert c.coverage == pytest.approx(40 / 48)
    assert c.unconditional == pytest.approx(11 / 48 - 0.6, abs=1e-12)
    assert any("coverage" in note for note in result.notes)


# -- known answers -----------------------------------------------------------------------------
def simulate_education(
    n: int, seed: int, *, gap: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> pd.DataFrame:
    """Outcome and decision depend on education; homeless people have less of it.

    `gap[s]` moves homeless people's chance of the decision in education stratum s, with and
    without the outcome alike: the within-stratum gap of selection rate, TPR and FPR.
    """
    rng = np.random.default_rng(seed)
    homeless = rng.random(n) < 0.25
    edu = np.where(
        homeless,
        rng.choice(3, n, p=[0.6, 0.3, 0.1]),
        rng.choice(3, n, p=[0.2, 0.4, 0.4]),
    )
    y = rng.random(n) < np.array([0.3, 0.45, 0.6])[edu]
    p = np.where(y, 0.5, 0.15) + np.array([0.0, 0.1, 0.25])[edu]
    p = p + homeless * np.asarray(gap)[edu]
    return pd.DataFrame(
        {
            "housing": np.where(homeless, "homeless", "stable"),
            "edu": np.asarray(EDUCATION)[edu],
            "y": y.astype(int),
            "d": (rng.random(n) < p).astype(int),
        }
    )


def _run(frame: pd.DataFrame, n_boot: int, seed: int = 0) -> Assessment:
    return assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["housing"],
        legitimate_factors=["edu"],
        n_boot=n_boot,
        seed=seed,
    )


def test_gap_explained_by_education_is_not_a_conditional_gap():
    false_alarms = raw_false_alarms = explained = 0
    seeds = range(50)
    for seed in seeds:
        result = _run(simulate_education(20_000, seed), n_boot=0)
        assert result.disparity("selection_rate", ("housing",), ("homeless",)).significant
        c = _find(result, "selection_rate", "housing", "homeless")
        assert c.unconditional is not None and c.unconditional < -0.08
        assert c.value is not None and abs(c.value) < 0.04
        explained += abs(c.value) < abs(c.unconditional) / 3
        false_alarms += any(x.significant for x in result.conditional)
        raw_false_alarms += c.p_value is not None and c.p_value < 0.05
    assert explained == len(seeds)
    assert false_alarms <= 0.08 * len(seeds)
    assert raw_false_alarms <= 0.08 * len(seeds)


def test_real_within_stratum_gap_is_found():
    found = covered = 0
    seeds = range(20)
    for seed in seeds:
        result = _run(simulate_education(20_000, seed, gap=(-0.1,) * 3), n_boot=200, seed=seed)
        for metric in ("selection_rate", "tpr", "fpr"):
            c = _find(result, metric, "housing", "homeless")
            assert c.value == pytest.approx(-0.1, abs=0.05)
            assert c.ci_method == "bootstrap"
            found += bool(c.significant)
            covered += c.ci_low is not None and c.ci_high is not None
            covered -= not (c.ci_low <= -0.1 <= c.ci_high)  # type: ignore[operator]
    assert found >= 0.9 * 3 * len(seeds)
    assert covered >= 0.85 * 3 * len(seeds)


@pytest.mark.parametrize("n_boot", [0, 200])
def test_interval_coverage_near_nominal(n_boot):
    # The gap differs by stratum, so the estimand depends on the homeless education mix.
    gap = (-0.05, -0.1, -0.2)
    truth = float(np.dot([0.6, 0.3, 0.1], gap))
    hits = 0
    replications = 200
    for seed in range(replications):
        c = _find(
            _run(simulate_education(2000, 1000 + seed, gap=gap), n_boot, seed),
            "selection_rate",
            "housing",
            "homeless",
        )
        assert c.ci_low is not None and c.ci_high is not None
        hits += c.ci_low <= truth <= c.ci_high
    assert 0.90 <= hits / replications <= 0.99


# -- unchanged without factors -----------------------------------------------------------------
def test_other_results_do_not_depend_on_factors():
    frame = simulate_decisions(3000, seed=4, score=True)
    frame["edu"] = np.random.default_rng(4).choice(EDUCATION, len(frame))
    args = dict(y_true="y", y_pred="d", groups=["housing", "mh"], score="s", intersections=2)
    plain = assess(frame, **args, n_boot=100)
    with_factors = assess(frame, **args, n_boot=100, legitimate_factors=["edu"])
    assert plain.conditional == () and plain.settings.legitimate_factors == ()
    for table in ("groups", "metrics", "disparities", "summaries", "worst_groups", "cross_auc"):
        assert getattr(plain, table) == getattr(with_factors, table), table
    # Only single attributes, three metrics, every non-reference group.
    assert len(with_factors.conditional) == 3 * (2 + 1)
    assert with_factors.to_frame("conditional")["grouping"].tolist().count("housing") == 6
    assert plain.to_frame("conditional").empty


def test_json_round_trip_and_old_documents_still_read():
    result = _run(simulate_education(3000, 0), n_boot=50)
    assert Assessment.from_json(result.to_json()) == result
    old = json.loads(_run(simulate_education(3000, 0), n_boot=0).to_json())
    del old["conditional"]
    del old["settings"]["legitimate_factors"]
    read = Assessment.from_json(json.dumps(old))
    assert read.conditional == () and read.settings.legitimate_factors == ()


def test_tracking_keys():
    keys = flatten_metrics(_run(simulate_education(3000, 0), n_boot=50))
    for suffix in ("", ".ci_low", ".ci_high"):
        assert f"tpr.conditional_difference{suffix}/housing.homeless" in keys


# -- cross-check against pandas on rows ------------------------------------------------------
def test_matches_a_direct_groupby_on_the_rows():
    rng = np.random.default_rng(7)
    n = 4000
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], n, p=[0.5, 0.3, 0.2]),
            "b": rng.choice(["p", "q"], n),
            "f1": rng.choice(["u", "v", "w"], n),
            "f2": rng.choice([1, 2, 3, 4], n),
            "y": rng.integers(0, 2, n),
            "wt": rng.gamma(2.0, 1.0, n),
        }
    )
    frame["d"] = (rng.random(n) < 0.2 + 0.3 * frame["y"] + 0.1 * (frame["f2"] > 2)).astype(int)
    frame.loc[frame.sample(60, random_state=1).index, "f1"] = None  # becomes level "unknown"
    rare = (frame["a"] != "x").to_numpy() & (rng.random(n) < 0.01)
    frame.loc[rare, "f1"] = "rare"  # a stratum without the reference group x
    result = assess(
        frame,
        y_true="y",
        y_pred="d",
        groups=["a", "b"],
        weight="wt",
        reference={"a": "x"},
        legitimate_factors=["f1", "f2"],
        n_boot=0,
    )
    frame["f1"] = frame["f1"].fillna("unknown")
    frame["wd"] = frame["wt"] * frame["d"]
    frame["wt2"] = frame["wt"] ** 2
    checked = 0
    for attribute in ("a", "b"):
        ref = next(
            g.levels[0] for g in result.groups if g.attributes == (attribute,) and g.is_reference
        )
        for metric, rows in (
            ("selection_rate", frame),
            ("tpr", frame[frame["y"] == 1]),
            ("fpr", frame[frame["y"] == 0]),
        ):
            cells = rows.groupby([attribute, "f1", "f2"])[["wt", "wd", "wt2"]].sum()
            cells["rate"] = cells["wd"] / cells["wt"]
            cells["var"] = cells["rate"] * (1 - cells["rate"]) / (cells["wt"] ** 2 / cells["wt2"])
            overall = rows.groupby(attribute)[["wt", "wd"]].sum()
            overall_rate = overall["wd"] / overall["wt"]
            reference = cells.loc[ref]
            for level in sorted(set(rows[attribute]) - {ref}):
                own = cells.loc[level]
                joined = own.merge(
                    reference, left_index=True, right_index=True, suffixes=("", "_ref")
                )
                share = joined["wt"] / joined["wt"].sum()
                expected = (share * (joined["rate"] - joined["rate_ref"])).sum()
                se = np.sqrt((share**2 * (joined["var"] + joined["var_ref"])).sum())
                c = _find(result, metric, attribute, level)
                assert c.value == pytest.approx(expected, abs=1e-12)
                assert c.coverage == pytest.approx(joined["wt"].sum() / own["wt"].sum(), abs=1e-12)
                assert c.unconditional == pytest.approx(
                    overall_rate[level] - overall_rate[ref], abs=1e-12
                )
                assert c.ci_high - c.ci_low == pytest.approx(2 * Z95 * se, abs=1e-12)  # type: ignore[operator]
                checked += 1
    assert checked == 3 * (2 + 1)
    assert min(c.coverage for c in result.conditional if c.attributes == ("a",)) < 1  # type: ignore[type-var]


# -- bad input ---------------------------------------------------------------------------------
def _message(frame: pd.DataFrame, factors: list[str]) -> str:
    with pytest.raises(AuditInputError) as err:
        assess(
            frame,
            y_true="y",
            y_pred="d",
            groups=["housing", "mh"],
            legitimate_factors=factors,
            n_boot=0,
        )
    return str(err.value)


@pytest.fixture
def frame() -> pd.DataFrame:
    frame = simulate_decisions(300, seed=0)
    frame["person_id"] = np.arange(len(frame))
    frame["country"] = "uk"
    return frame


def test_missing_factor_column(frame):
    assert _message(frame, ["education"]) == (
        "legitimate factor 'education': expected a column of the data; found no such column "
        "(columns are: mh, housing, digital, y, d, person_id, country).\n"
        "Hint: name a column of the decisions table, or remove it from legitimate_factors"
    )


def test_factor_with_one_level_per_row(frame):
    # A numeric identifier would be cut into quantile bins (tests/stats/test_factors.py).
    frame["person_id"] = [f"p{i}" for i in range(len(frame))]
    message = _message(frame, ["person_id"])
    assert message.startswith("legitimate factor 'person_id': expected levels shared by several")
    assert "found a different value in each of the 300 rows" in message
    assert "Hint: use a coarser column" in message


def test_constant_or_repeated_factor(frame):
    assert "found a single value 'uk'" in _message(frame, ["country"])
    assert "expected each factor named once" in _message(frame, ["digital", "digital"])
