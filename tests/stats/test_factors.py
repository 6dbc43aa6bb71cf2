"""Legitimate factors an analyst can use: numeric factors binned, a column in both roles, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import audit.stats.assess as assess_module
from audit.disclosure import suppress
from audit.errors import AuditInputError
from audit.stats.assess import assess
from audit.stats.factors import quantile_bins
from audit.stats.result import Assessment

ROOT = Path(__file__).resolve().parents[2]


def people(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Decisions that depend on age and education; homeless people are younger."""
    rng = np.random.default_rng(seed)
    homeless = rng.random(n) < 0.3
    age = np.where(homeless, rng.integers(18, 45, n), rng.integers(18, 65, n))
    edu = rng.choice(["low", "mid", "high"], n)
    y = rng.random(n) < 0.4
    p = np.where(y, 0.6, 0.2) + 0.004 * (age - 18) + 0.1 * (edu == "high")
    return pd.DataFrame(
        {
            "housing": np.where(homeless, "homeless", "stable"),
            "edu": edu,
            "age": age,
            "y": y.astype(int),
            "d": (rng.random(n) < p).astype(int),
        }
    )


def run(frame: pd.DataFrame, **options: object) -> Assessment:
    args: dict[str, object] = dict(y_true="y", y_pred="d", groups=["housing"], n_boot=0)
    args.update(options)
    return assess(frame, **args)  # type: ignore[arg-type]


# -- quantile bins -----------------------------------------------------------------------------
def test_quantile_bins_are_equal_shares_with_readable_labels():
    binned = quantile_bins(pd.Series(np.arange(1, 101), name="age"), 4)
    assert list(binned.cat.categories) == ["[1, 26)", "[26, 51)", "[51, 76)", "[76, 100]"]
    assert binned.cat.ordered
    assert binned.value_counts(sort=False).tolist() == [25, 25, 25, 25]
    # Continuous values: rounded to about 4 significant digits; missing values stay missing.
    income = pd.Series([np.nan, *np.random.default_rng(0).normal(30_000, 8_000, 999)])
    binned = quantile_bins(income, 5)
    assert list(binned.cat.categories) == [
        "[-1195, 23261)", "[23261, 27569)", "[27569, 31414)", "[31414, 36250)", "[36250, 54528]",
    ]  # fmt: skip
    assert binned.isna().tolist() == income.isna().tolist()


@pytest.mark.parametrize("seed", range(5))
def test_each_bin_holds_its_share_up_to_ties(seed):
    rng = np.random.default_rng(seed)
    values = pd.Series(rng.integers(18, 65, 5000))
    for k in (2, 3, 4, 5, 7):
        counts = quantile_bins(values, k).value_counts(sort=False).to_numpy()
        largest_tie = values.value_counts().max()
        assert len(counts) == k
        assert np.abs(counts - len(values) / k).max() <= largest_tie + 1


def test_a_numeric_factor_with_many_values_is_binned_and_a_note_says_so():
    frame = people()
    result = run(frame, legitimate_factors=["edu", "age"])
    labels = ["[18, 26)", "[26, 33)", "[33, 41)", "[41, 51)", "[51, 64]"]
    assert (
        "legitimate factor 'age' has 47 distinct numeric values, too many to compare people "
        "value by value: cut at its quantiles into 5 bins "
        + ", ".join(labels)
        + "; factor_bins sets another number"
    ) in result.notes
    ages = [w.factor_level for w in result.within_strata if w.factor == "age"]
    assert list(dict.fromkeys(ages)) == labels  # in age order, not alphabetical
    assert all(c.factors == ("edu", "age") for c in result.conditional)
    # Five age bins × three education levels: every stratum has both groups.
    assert all(c.coverage == 1.0 for c in result.conditional)


def test_asked_bins_and_few_values_left_alone():
    frame = people()
    frame["children"] = np.random.default_rng(1).integers(0, 4, len(frame))
    result = run(frame, legitimate_factors=["age", "children"], factor_bins={"age": 3})
    assert result.settings.factor_bins == {"age": 3}
    assert result.notes[-1:] == (
        "legitimate factor 'age' cut at its quantiles into 3 bins [18, 30), [30, 43), [43, 64]",
    )
    children = {w.factor_level for w in result.within_strata if w.factor == "children"}
    assert children == {"0", "1", "2", "3"}  # four values: compared value by value


def test_binned_factor_equals_binning_by_hand():
    frame = people()
    by_hand = frame.assign(age=quantile_bins(frame["age"], 4))
    assert (
        run(frame, legitimate_factors=["age"], factor_bins={"age": 4}).conditional
        == run(by_hand, legitimate_factors=["age"]).conditional
    )


def test_the_callers_data_is_never_modified():
    frame = people()
    frame["income"] = np.random.default_rng(2).normal(30_000, 8_000, len(frame))
    before = frame.copy(deep=True)
    run(frame, legitimate_factors=["age", "income"], factor_bins={"age": 4}, n_boot=20)
    pd.testing.assert_frame_equal(frame, before)
    assert frame["age"].dtype == np.int64 and frame["income"].dtype == np.float64


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            dict(legitimate_factors=["edu"], factor_bins={"age": 4}),
            "factor bins for 'age': expected bins for one of the legitimate factors ['edu']; "
            "found 'age', which is not a legitimate factor.\n"
            "Hint: list the column in legitimate_factors too, or drop its bins",
        ),
        (
            dict(legitimate_factors=["age"], factor_bins={"age": 1}),
            "factor bins for 'age': expected at least 2 bins; found 1.\n"
            "Hint: give 2 or more quantile bins",
        ),
        (
            dict(legitimate_factors=["edu"], factor_bins={"edu": 3}),
            "factor bins for 'edu': expected a numeric column to cut at its quantiles; "
            "found a column of type str.\nHint: drop the bins for it: its own values are the strata",
        ),
        (
            dict(groups=["housing", "age"], legitimate_factors=["age"], factor_bins={"age": 3}),
            "factor bins for 'age': expected bins for a factor that is not also a group column; "
            "found 'age' is a group column too, and as a factor it keeps its groups.\n"
            "Hint: bin the column before the audit, or drop its bins",
        ),
    ],
)
def test_bad_bins(options, message):
    with pytest.raises(AuditInputError) as err:
        run(people(300), **options)
    assert str(err.value) == message


# -- a column in both roles --------------------------------------------------------------------
def test_a_group_column_is_a_factor_for_the_other_attributes(monkeypatch):
    frame = people()
    encoded_groups: list[list[str]] = []
    original = assess_module.encode_table

    def spy(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        encoded_groups.append(list(kwargs["groups"]))  # type: ignore[call-overload]
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(assess_module, "encode_table", spy)
    both = run(frame, groups=["housing", "edu"], legitimate_factors=["edu"])
    assert encoded_groups == [["housing", "edu"]]  # edu is encoded once, for both roles
    alone = run(frame, legitimate_factors=["edu"])
    assert [c for c in both.conditional if c.attributes == ("housing",)] == list(alone.conditional)
    assert [w for w in both.within_strata if w.attributes == ("housing",)] == list(
        alone.within_strata
    )
    # edu itself: no factor is left to compare its groups within, and the result says so.
    assert not [c for c in both.conditional if c.attributes == ("edu",)]
    assert not [w for w in both.within_strata if w.attributes == ("edu",)]
    assert (
        "'edu' is a legitimate factor and no other factor is listed: its own groups have no "
        "conditional comparisons (a factor cannot stratify its own levels)"
    ) in both.notes
    # The plain comparisons of both attributes are those of an audit without factors.
    plain = run(frame, groups=["housing", "edu"])
    assert both.disparities == plain.disparities and both.metrics == plain.metrics


def test_its_own_groups_are_compared_within_the_other_factors():
    frame = people()
    # edu before housing: edu's axis comes first in the counts, and still stratifies housing.
    both = run(frame, groups=["edu", "housing"], legitimate_factors=["edu", "age"])
    edu_alone = run(frame, groups=["edu"], legitimate_factors=["age"])
    housing_alone = run(frame, groups=["housing"], legitimate_factors=["edu", "age"])

    def unadjusted(records):  # type: ignore[no-untyped-def]
        # Holm adjusts within all the conditional tests at once: compare all but p_adjusted.
        return [replace(c, p_adjusted=None, significant=None) for c in records]

    assert unadjusted(c for c in both.conditional if c.attributes == ("edu",)) == unadjusted(
        edu_alone.conditional
    )
    assert unadjusted(c for c in both.conditional if c.attributes == ("housing",)) == unadjusted(
        housing_alone.conditional
    )
    assert all(c.factors == ("age",) for c in both.conditional if c.attributes == ("edu",))
    assert (
        "'edu' is also a legitimate factor: its own groups are compared within strata of the "
        "other factors (age)"
    ) in both.notes


# -- the command line --------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit.cli", "assess", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"COLUMNS": "200", "PATH": "", "PYTHONPATH": str(ROOT)},
        timeout=120,
    )


def test_factors_on_the_command_line(tmp_path):
    frame = people()
    data = tmp_path / "decisions.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "result.json"
    done = _cli(
        str(data), "--y-true", "y", "--y-pred", "d", "-g", "housing", "--n-boot", "50",
        "--factor", "edu", "--factor", "age", "--factor-bins", "age=4", "--json", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    from_cli = Assessment.from_json(out.read_text())
    expected = run(
        pd.read_csv(data),
        legitimate_factors=["edu", "age"],
        factor_bins={"age": 4},
        n_boot=50,
    )
    assert from_cli == suppress(expected)  # the command line writes the published form
    assert from_cli.settings.legitimate_factors == ("edu", "age")
    assert "housing, within strata of edu, age" in done.stdout
    assert "note: legitimate factor 'age' cut at its quantiles into 4 bins" in done.stdout
    json.loads(out.read_text())  # plain JSON, as written


def test_bad_factor_bins_on_the_command_line(tmp_path):
    data = tmp_path / "decisions.csv"
    people(300).to_csv(data, index=False)
    done = _cli(
        str(data), "--y-true", "y", "--y-pred", "d", "-g", "housing", "--factor", "age",
        "--factor-bins", "age=four",
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        "--factor-bins 'age=four': expected COLUMN=K with K a whole number of quantile bins, "
        "e.g. age=4; found 'age=four'."
    ) in done.stderr
