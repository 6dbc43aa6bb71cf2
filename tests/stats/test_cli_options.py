"""Every option of `audit assess`, passed on the real command line (issue 14).

Each option gets a value other than its default; the command's JSON must then equal what the
Python API gives with the same values written out here, and its settings must read back the
values typed. An option not wired, or wired to the wrong parameter, changes one of the two.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.cli import EXIT_OK
from audit.disclosure import suppress
from audit.stats.assess import assess
from audit.stats.result import Assessment
from tests.in_process import run_command


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """400 people, outcome and decision coded as words, so that --pos-label is needed."""
    rng = np.random.default_rng(11)
    n = 400
    frame = pd.DataFrame(
        {
            "region": rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2]),
            "sex": rng.choice(["f", "m"], n),
            "sector": rng.choice(["care", "retail", "build"], n),
            "tenure": rng.integers(0, 40, n),
            "wt": rng.gamma(3.0, 1.0, n).round(3),
        }
    )
    y = rng.random(n) < 0.4
    # south is hired most, north is the largest: the two reference rules disagree.
    lift = 0.2 * (frame["region"] == "south") - 0.1 * (frame["region"] == "east")
    d = rng.random(n) < np.where(y, 0.6, 0.2) + lift
    frame["outcome"] = np.where(y, "hired", "not")
    frame["decision"] = np.where(d, "hired", "not")
    frame["score"] = np.clip(0.3 * d + 0.2 * y + rng.random(n) * 0.5, 0, 1).round(4)
    path = tmp_path_factory.mktemp("cli") / "decisions.csv"
    frame.to_csv(path, index=False)
    return path, pd.read_csv(path)


def test_every_long_option_reaches_the_assessment(
    table: tuple[Path, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, frame = table
    out = tmp_path / "result.json"
    code = run_command(
        ["assess", str(path), "--y-true", "outcome", "--y-pred", "decision",
         "--group", "region", "--group", "sex", "--score", "score", "--weight", "wt",
         "--pos-label", "hired", "--intersections", "2",
         "--reference", "region=south", "--reference", "sex=m",
         "--n-boot", "40", "--bootstrap", "stratified", "--seed", "7", "--alpha", "0.1",
         "--correction", "bh", "--test-margin", "0.02", "--min-group-size", "25",
         "--factor", "sector", "--factor", "tenure", "--factor-bins", "tenure=3",
         "--min-denominator", "8", "--min-cell-size", "6", "--max-levels", "12",
         "--json", str(out)],
        monkeypatch,
    )  # fmt: skip
    assert code == EXIT_OK
    written = Assessment.from_json(out.read_text("utf-8"))
    s = written.settings
    assert (s.y_true, s.y_pred, s.score, s.weight) == ("outcome", "decision", "score", "wt")
    assert s.groups == ("region", "sex") and s.intersections == 2
    assert s.reference == {"region": "south", "sex": "m"}
    assert (s.n_boot, s.bootstrap, s.seed) == (40, "stratified", 7)
    assert (s.alpha, s.correction, s.test_margin) == (0.1, "bh", 0.02)
    assert (s.min_group_size, s.min_denominator, s.min_cell_size, s.max_levels) == (25, 8, 6, 12)
    assert s.legitimate_factors == ("sector", "tenure") and s.factor_bins == {"tenure": 3}
    # --pos-label: "hired" is the positive class, so the selection rate is the share hired.
    north = frame[frame["region"] == "north"]
    expected_rate = np.average(north["decision"] == "hired", weights=north["wt"])
    (rate,) = [
        m for m in written.metrics
        if m.metric == "selection_rate" and m.attributes == ("region",) and m.levels == ("north",)
    ]  # fmt: skip
    assert rate.value == pytest.approx(expected_rate)

    api = assess(
        frame, y_true="outcome", y_pred="decision", groups=["region", "sex"], score="score",
        weight="wt", pos_label="hired", intersections=2,
        reference={"region": "south", "sex": "m"}, n_boot=40, bootstrap="stratified", seed=7,
        alpha=0.1, correction="bh", test_margin=0.02, min_group_size=25,
        legitimate_factors=["sector", "tenure"], factor_bins={"tenure": 3}, min_denominator=8,
        min_cell_size=6, max_levels=12,
    )  # fmt: skip
    assert written == suppress(api)


def test_short_options_and_the_other_choices(
    table: tuple[Path, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, frame = table
    out = tmp_path / "result.json"
    code = run_command(
        ["assess", str(path), "--y-true", "outcome", "--y-pred", "decision", "-g", "region",
         "-g", "sex", "-i", "2", "--pos-label", "hired", "--reference-rule", "most_advantaged",
         "--correction", "none", "--bootstrap", "multinomial", "--n-boot", "30",
         "--json", str(out)],
        monkeypatch,
    )  # fmt: skip
    assert code == EXIT_OK
    written = Assessment.from_json(out.read_text("utf-8"))
    s = written.settings
    assert s.groups == ("region", "sex") and s.intersections == 2
    assert (s.reference_rule, s.correction, s.bootstrap) == (
        "most_advantaged",
        "none",
        "multinomial",
    )
    # most_advantaged, by hand: the region whose share hired is highest (all groups have >= 30).
    share = (frame["decision"] == "hired").groupby(frame["region"]).mean()
    (reference,) = [
        g.levels for g in written.groups if g.attributes == ("region",) and g.is_reference
    ]
    assert reference == (share.idxmax(),) == ("south",)
    api = assess(
        frame, y_true="outcome", y_pred="decision", groups=["region", "sex"], intersections=2,
        pos_label="hired", reference_rule="most_advantaged", correction="none",
        bootstrap="multinomial", n_boot=30,
    )  # fmt: skip
    assert written == suppress(api)


def test_tracks_and_a_numeric_group_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--track audits every track at once; --max-numeric-levels lets a 12-value number be groups."""
    rng = np.random.default_rng(5)
    n = 600
    frame = pd.DataFrame(
        {
            "band": rng.integers(0, 12, n),  # 12 distinct numbers: refused at the limit of 10
            "sex": rng.choice(["f", "m"], n),
            "route": rng.choice(["job_search", "upskilling", "sheltered"], n),
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "result.json"
    base = ["assess", str(path), "--track", "route", "-g", "sex", "-g", "band", "--n-boot", "0"]
    refused = run_command([*base, "--max-numeric-levels", "10", "--json", str(out)], monkeypatch)
    assert refused != EXIT_OK and not out.exists()
    code = run_command([*base, "--max-numeric-levels", "12", "--json", str(out)], monkeypatch)
    assert code == EXIT_OK
    written = Assessment.from_json(out.read_text("utf-8"))
    assert written.settings.track == "route" and written.settings.max_numeric_levels == 12
    assert sorted(written.track_labels) == ["job_search", "sheltered", "upskilling"]
    # A share by hand: women sent to sheltered work.
    women = frame[frame["sex"] == "f"]
    (share,) = [
        t.share for t in written.tracks
        if t.attributes == ("sex",) and t.levels == ("f",) and t.track == "sheltered"
    ]  # fmt: skip
    assert share == pytest.approx((women["route"] == "sheltered").mean())
