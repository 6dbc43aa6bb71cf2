"""The no-bias population reproduces every calibration figure within sampling error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from audit.data import CALIBRATION_TARGETS, CalibrationTarget
from audit.data import calibration as cal

Z = 4.0  # four standard errors: a real miss is far larger, and seeds are fixed


def _share(df, expr: str | None) -> tuple[np.ndarray, int]:
    if expr is None:
        return np.ones(len(df), dtype=bool), len(df)
    mask = df.eval(expr).to_numpy(dtype=bool)
    return mask, int(mask.sum())


@pytest.mark.parametrize("target", CALIBRATION_TARGETS, ids=lambda t: t.name)
def test_marginal_matches_target(population, target: CalibrationTarget) -> None:
    df = population("no_bias").people
    event = df.eval(target.event).to_numpy(dtype=bool)
    among, m = _share(df, target.among)
    p = float(event[among].mean())
    se = math.sqrt(p * (1 - p) / m)
    estimate = p
    if target.kind == "ratio":
        ref, m_ref = _share(df, target.among_ref)
        p_ref = float(event[ref].mean())
        estimate = p / p_ref
        se = estimate * math.sqrt((1 - p) / (m * p) + (1 - p_ref) / (m_ref * p_ref))
    assert abs(estimate - target.target) <= target.tolerance + Z * se, (
        f"{target.name}: generated {estimate:.4f}, target {target.target:.4f} "
        f"(tolerance {target.tolerance} + {Z} x SE {se:.4f}); source: {target.source}"
    )


def test_every_target_has_a_source_and_valid_expressions(population) -> None:
    df = population("no_bias").people.head(100)
    names = [t.name for t in CALIBRATION_TARGETS]
    assert len(names) == len(set(names))
    for t in CALIBRATION_TARGETS:
        assert t.source.strip(), t.name
        assert 0 < t.target < 1 or t.kind == "ratio"
        df.eval(t.event)


def test_regional_shares_reproduce_national_unemployment_rate() -> None:
    # The derivation of regional shares is checked by the published national rate (5.6%).
    implied = sum(cal.POPULATION_SHARE[r] * cal.ILO_UNEMPLOYMENT_RATE[r]
                  for r in cal.POPULATION_SHARE)
    assert implied == pytest.approx(0.056, abs=0.001)


def test_no_bias_warranted_tracks_concentrate_on_limitations(population) -> None:
    # Legitimate path: health limitations lower capacity, so they are over-represented among
    # people whose capacity warrants sheltered work or care (as in the ETA figures).
    df = population("no_bias").people
    limited = (df["mental_health_history"] | df["physical_limitation"]).to_numpy()
    low_track = df["warranted_track"].isin(["sheltered", "care"]).to_numpy()
    assert limited[low_track].mean() > 2 * limited.mean()
