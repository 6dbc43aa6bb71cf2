"""The NSW data set loads offline and matches its data card."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from audit.models import public_data
from audit.models.public_data import load_nsw
from audit.models.training import FeatureCatalogue, FeatureSet, train_profiling_model

CARD = Path(__file__).resolve().parents[2] / "datasets" / "nsw_lalonde.md"


@pytest.fixture(scope="module")
def nsw() -> pd.DataFrame:
    return load_nsw()


def test_shape_and_columns_match_the_card(nsw: pd.DataFrame) -> None:
    card = CARD.read_text()
    rows, cols = re.search(r"\*\*Shape:\*\* (\d+) rows × (\d+) columns", card).groups()  # type: ignore[union-attr]
    assert nsw.shape == (int(rows), int(cols)) == (722, 14)
    documented = re.findall(r"^\| `([a-z_0-9]+)` \|", card, flags=re.MULTILINE)
    assert documented == list(nsw.columns) == list(public_data.COLUMNS)


def test_counts_quoted_in_the_card(nsw: pd.DataFrame) -> None:
    card = CARD.read_text()
    counts = {
        "`17-24` (408)": (nsw["age_band"] == "17-24").sum(),
        "`35-55` (59)": (nsw["age_band"] == "35-55").sum(),
        "`black` (578)": (nsw["race_ethnicity"] == "black").sum(),
        "`hispanic` (76)": (nsw["race_ethnicity"] == "hispanic").sum(),
        "married (117)": nsw["married"].sum(),
        "no high-school diploma (563)": nsw["no_degree"].sum(),
        "**missing for 277 people**": nsw["earnings_1974"].isna().sum(),
        "(297 = 41.1%)": nsw["training_assigned"].sum(),
    }
    for phrase, value in counts.items():
        assert phrase in card
        assert str(int(value)) in phrase
    assert f"({nsw['employed_1978'].mean():.1%} overall)" in card


def test_rates_quoted_in_the_card(nsw: pd.DataFrame) -> None:
    card = CARD.read_text()
    by_degree = nsw.groupby("no_degree")["training_assigned"].mean()
    assert f"{by_degree[False]:.1%} of the 159 men with a diploma" in card
    assert f"versus {by_degree[True]:.1%} of the 563 without" in card
    by_decision = nsw.groupby("training_assigned")["employed_1978"].mean()
    assert f"{by_decision[1]:.1%} of those assigned, {by_decision[0]:.1%} of the others" in card


def test_loader_refuses_bytes_that_do_not_match_the_pin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_data, "PINNED_SHA256", "0" * 64)
    with pytest.raises(public_data.AuditInputError, match="found a file with SHA-256 a944ce90"):
        load_nsw()


def test_a_profiling_model_trains_on_it(nsw: pd.DataFrame) -> None:
    catalogue = FeatureCatalogue(observed=public_data.FEATURES,
                                 sensitive=public_data.SENSITIVE_ATTRIBUTES)
    model = train_profiling_model(nsw, features=FeatureSet.preset("full", catalogue),
                                  target=public_data.OUTCOME)
    assert 0.5 < model.holdout["auc"] < 0.9
    blind = FeatureSet.preset("no_sensitive", catalogue)
    assert blind.columns == ("age", "education_years", "earnings_1975", "employed_1975")
