"""A small group's confusion counts stay withheld on varied tables, and why its size suffices.

`_Publication._targets` lists a small group's size and its four confusion counts. Its size
alone protects the counts, given one property of the publication, checked here on every table:
a group whose size is withheld has no published denominator either (so every count the
publication states about a group comes with that group's size).

Why the property is enough. Split the unknowns (people per finest cell and category) into the
four category layers TN, FP, FN, TP. A published count is a group's indicator over the cells
(f_k) on some of the layers. If the TP count of a small group S were a combination of them,
its TP layer would read e_S = sum_k b_k f_k, b_k summing the coefficients of group k's counts
that include TP. Each such k has its size f_k on all four layers published (the property), so
sum_k b_k (f_k on every layer) is S's size: the count is recovered only when the size is. The
same holds for TN, FP and FN. So no table can make the counts follow while the size does not,
and deleting the count targets could at most change which of several sufficient counts the
greedy search withholds first (a random search over 789 tables of one to three attributes, 400
of them intersections of two, found no publication that changed, and no count recovered).

The tests here are the attacker of test_secondary_suppression (linear algebra over the
published JSON) on tables the crafted ones there do not cover: a group of 1, small groups
whose outcomes or decisions are all 0 or all 1, a chosen reference, a score column, two
attributes audited apart (intersections=1), a decision-only audit, and a 4 x 4 table whose
small cell only linear algebra protects (it kills dropping the size target, decision-only, and
leaving intersection cells out of the targets).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.disclosure import suppress
from audit.metrics.definitions import ALL
from audit.stats.assess import assess
from audit.stats.result import Assessment
from tests.sinks.test_secondary_suppression import MINIMUM, Attacker, secrets, undone


def _people(cells: dict[tuple[str, str], int], seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(g, h) for (g, h), n in cells.items() for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["g", "h"])
    frame["y"] = rng.integers(0, 2, len(frame))
    frame["d"] = rng.integers(0, 2, len(frame))
    frame["s"] = rng.random(len(frame))
    return frame


def _set(frame: pd.DataFrame, g: str, column: str, value: int) -> pd.DataFrame:
    frame.loc[frame["g"] == g, column] = value
    return frame


# name: (frame, groups, intersections, y_true, score, reference)
TABLES = {
    "a group of one, every outcome 1": (
        _set(_people({("big", "p"): 120, ("mid", "p"): 60, ("one", "p"): 1}, 1), "one", "y", 1),
        ["g"], 1, "y", "s", {},
    ),
    "a group of three never selected, reference chosen": (
        _set(_people({("big", "p"): 90, ("big", "q"): 70, ("mid", "p"): 40, ("mid", "q"): 35,
                      ("few", "p"): 2, ("few", "q"): 1}, 2), "few", "d", 0),
        ["g", "h"], 2, "y", None, {"g": "mid"},
    ),
    "a cell of six, every outcome 0": (
        _set(_people({("big", "p"): 150, ("big", "q"): 80, ("mid", "p"): 45, ("cell", "q"): 6},
                     3), "cell", "y", 0),
        ["g", "h"], 2, "y", "s", {},
    ),
    "two attributes audited apart, a group of seven all selected": (
        _set(_people({("big", "p"): 100, ("big", "q"): 60, ("mid", "p"): 30, ("mid", "q"): 30,
                      ("sev", "p"): 4, ("sev", "q"): 3}, 4), "sev", "d", 1),
        ["g", "h"], 1, "y", None, {"h": "q"},
    ),
    "decision only, a cell of four": (
        _people({("big", "p"): 110, ("big", "q"): 90, ("mid", "p"): 50, ("mid", "q"): 4}, 5),
        ["g", "h"], 2, None, None, {},
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(TABLES))
def test_no_small_group_count_follows_and_no_count_comes_without_its_group_size(
    name: str,
) -> None:
    frame, groups, intersections, y_true, score, reference = TABLES[name]
    full = assess(frame, y_true=y_true, y_pred="d", groups=groups, score=score,
                  intersections=intersections, reference=reference, n_boot=20, seed=1)  # fmt: skip
    small = [(g.attributes, g.levels) for g in full.groups if (g.n_rows or 0) < MINIMUM]
    assert small, "each table has a small group"
    published = Assessment.from_json(suppress(full).to_json())
    sizes = {(g.attributes, g.levels): g.n_rows for g in published.groups}
    assert all(sizes[key] is None for key in small)
    # The property the size target rests on: no denominator of a group whose size is withheld.
    with_denominator = {
        (m.attributes, m.levels) for m in published.metrics if m.denominator_rows is not None
    }
    assert [key for key in with_denominator if sizes[key] is None] == []
    attacker = Attacker(published)
    everyone = attacker.vector(((), ()), ALL)  # the population's size is published by design
    hidden = [(what, v) for what, v in secrets(full, attacker) if not np.array_equal(v, everyone)]
    assert any(" count of " in what for what, _ in hidden)
    assert [what for what, v in hidden if attacker.recovers(v)] == []


# Nine cells under the minimum in a 4 x 4 table: two closed cycles (a, b x p, q) and
# (c, d x r, s), and the cell (a, r) joining them. Every row and column then has two withheld
# cells or none, so subtraction along one sum gives nothing back, but (a, r) is a bridge: the
# withheld part of rows a and b (their sizes minus their published cells) holds the cycle of
# a, b x p, q and (a, r), and the withheld part of columns p and q holds that cycle alone;
# the difference is the size of (a, r). Only the linear algebra sees it.
_BRIDGE = {("a", "p"), ("a", "q"), ("b", "p"), ("b", "q"), ("c", "r"), ("c", "s"),
           ("d", "r"), ("d", "s"), ("a", "r")}  # fmt: skip


def _bridge() -> pd.DataFrame:
    cells = {
        (g, h): 3 + i + j if (g, h) in _BRIDGE else 30 + 5 * i + 3 * j
        for i, g in enumerate("abcd")
        for j, h in enumerate("pqrs")
    }
    return _people(cells, 0)


@pytest.mark.parametrize("y_true", ["y", None])
def test_a_small_cell_bridging_two_withheld_cycles_keeps_its_size(y_true: str | None) -> None:
    """Decision-only, the size is the only count of the cell that could follow (each count
    the publication states holds the people with and without the outcome alike), so the size
    target alone protects it; with outcomes, its four counts are targets too, and a group's
    size, base-rate, selection-rate and accuracy numerators (all four layers) come together,
    so either target would do."""
    full = assess(_bridge(), y_true=y_true, y_pred="d", groups=["g", "h"], intersections=2,
                  reference={}, n_boot=20, seed=1)  # fmt: skip
    published = Assessment.from_json(suppress(full).to_json())
    bridge = (("g", "h"), ("a", "r"))
    withheld = {(g.attributes, g.levels) for g in published.groups if g.n_rows is None}
    primary = {(("g", "h"), cell) for cell in _BRIDGE}
    assert primary < withheld and len(withheld) == len(primary) + 1  # one more size is enough
    attacker = Attacker(published)
    assert [what for what, v in secrets(full, attacker) if attacker.recovers(v)] == []
    # With only the nine small cells withheld, the size of (a, r) follows: the test can tell.
    naive = Attacker(undone(published, full))
    assert naive.recovers(naive.vector(bridge, ALL))
