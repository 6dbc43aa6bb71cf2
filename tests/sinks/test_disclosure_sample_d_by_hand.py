"""Disclosure control by hand (issue 14, sample D): summaries, on an audit whose only small
figure is known.

The expected records follow from `audit.disclosure`'s docstring, not from its output: a
summary (spread, ratio, four-fifths rule, largest calibration error) is suppressed when one of
the groups it summarises has the metric it reads suppressed; a measure the module does not know
is suppressed when any metric of its attributes is; a summary of other attributes is kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from audit.disclosure import suppress
from audit.stats.assess import assess
from audit.stats.result import Assessment, Summary


def _few_positives() -> Assessment:
    """g: r (the reference) 600 people, 300 with the outcome; a 300 people, 5 with it. a's
    TPR (and FNR) rest on 5 < 10 people: suppressed; its selection rate and FPR (over 300 and
    295 people) are not."""
    rows = [("r", int(i < 300), i % 2) for i in range(600)]
    rows += [("a", int(i < 5), i % 2) for i in range(300)]
    frame = pd.DataFrame(rows, columns=["g", "y", "d"])
    return assess(
        frame, y_true="y", y_pred="d", groups=["g"], reference={"g": "r"}, n_boot=0,
        min_group_size=3, min_denominator=1,
    )  # fmt: skip


def _summary(measure: str, attributes: tuple[str, ...] = ("g",)) -> Summary:
    return Summary(
        attributes=attributes, measure=measure, value=0.1, ci_low=0.05, ci_high=0.15,
        passed=True, detail="as computed", suppressed=False,
    )  # fmt: skip


def test_a_summary_is_suppressed_exactly_when_a_metric_it_reads_is() -> None:
    """Selection-rate summaries (demographic parity, the four-fifths rule) and the FPR-free
    reads that do not touch a's TPR are kept as they are; those reading the TPR (equal
    opportunity, equalized odds) lose value, interval and pass, and say why; so does a measure
    the module does not know, for g (a's TPR is suppressed) but not for h (nothing of h is)."""
    full = _few_positives()
    tpr = {m.levels[0]: m for m in full.metrics if m.metric == "tpr"}
    assert tpr["a"].denominator_rows == 5 and tpr["r"].denominator_rows == 300
    kept = [
        _summary("demographic_parity_difference"),
        _summary("demographic_parity_ratio"),
        _summary("four_fifths_rule"),
        _summary("ece_max"),  # no calibration error was computed, none suppressed
        _summary("auc_difference"),
        _summary("someone_elses_spread", ("h",)),
    ]
    hidden = [
        _summary("equal_opportunity_difference"),
        _summary("equal_opportunity_ratio"),
        _summary("equalized_odds_difference"),
        _summary("equalized_odds_ratio"),
        _summary("someone_elses_spread"),
    ]
    published = suppress(replace(full, summaries=(*kept, *hidden)))
    withheld = [
        replace(s, value=None, ci_low=None, ci_high=None, passed=None,
                detail="suppressed: fewer than 10 people", suppressed=True)
        for s in hidden
    ]  # fmt: skip
    assert published.summaries == (*kept, *withheld)


# --- nothing suppressed follows from what is published -------------------------------------

# The confusion cells (y, d) each rate counts, by its definition: numerator over denominator.
Cell = tuple[int, int]
TN, FP, FN, TP = (0, 0), (0, 1), (1, 0), (1, 1)
EVERYONE = (TN, FP, FN, TP)
CELLS: dict[str, tuple[tuple[Cell, ...], tuple[Cell, ...]]] = {
    "selection_rate": ((FP, TP), EVERYONE), "base_rate": ((FN, TP), EVERYONE),
    "accuracy": ((TN, TP), EVERYONE), "tpr": ((TP,), (FN, TP)), "fnr": ((FN,), (FN, TP)),
    "fpr": ((FP,), (TN, FP)), "tnr": ((TN,), (TN, FP)), "ppv": ((TP,), (FP, TP)),
    "fdr": ((FP,), (FP, TP)), "npv": ((TN,), (TN, FN)), "for": ((FN,), (TN, FN)),
}  # fmt: skip


def _implied_suppressed_counts(full: Assessment, published: Assessment) -> list[str]:
    """Every count `published` gives (the population's and each published group size, each
    published denominator, and each published rate times its published denominator) as an
    equation in the people of each finest cell (one level of every attribute) and confusion
    cell; the counts that must stay unknown (a small group's size and confusion counts, a
    small denominator and its numerator) that are nevertheless a combination of them."""
    attributes = sorted({g.attributes[0] for g in full.groups if len(g.attributes) == 1})
    levels = [
        sorted({g.levels[0] for g in full.groups if g.attributes == (a,)}) for a in attributes
    ]
    finest = [(cell, c) for cell in itertools.product(*levels) for c in EVERYONE]

    def row(group: tuple[tuple[str, ...], tuple[str, ...]], cells: Sequence[Cell]) -> np.ndarray:
        where = {attributes.index(a): lv for a, lv in zip(*group, strict=True)}
        return np.array([
            float(c in cells and all(cell[i] == lv for i, lv in where.items()))
            for cell, c in finest
        ])  # fmt: skip

    everyone: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    known = [row(everyone, EVERYONE)]
    known += [
        row((g.attributes, g.levels), EVERYONE) for g in published.groups if g.n_rows is not None
    ]
    records = [(m, (m.attributes, m.levels)) for m in published.metrics]
    records += [(m, everyone) for m in published.overall]
    for m, group in records:
        if m.metric in CELLS and m.denominator_rows is not None:
            numerator, denominator = CELLS[m.metric]
            known.append(row(group, denominator))
            if m.value is not None:
                known.append(row(group, numerator))
    secret: dict[str, np.ndarray] = {}
    for g in full.groups:
        if g.n_rows is not None and g.n_rows < 10:
            secret[f"size of {g.levels}"] = row((g.attributes, g.levels), EVERYONE)
            for c in EVERYONE:
                secret[f"{c} of {g.levels}"] = row((g.attributes, g.levels), (c,))
    for m in full.metrics:
        if m.metric in CELLS and m.denominator_rows is not None and m.denominator_rows < 10:
            numerator, denominator = CELLS[m.metric]
            key = (m.attributes, m.levels)
            secret[f"{m.metric} denominator of {m.levels}"] = row(key, denominator)
            secret[f"{m.metric} numerator of {m.levels}"] = row(key, numerator)
    basis = np.vstack(known)
    implied = []
    for name, target in secret.items():
        coef, *_ = np.linalg.lstsq(basis.T, target, rcond=None)
        if np.linalg.norm(basis.T @ coef - target) < 1e-8:
            implied.append(name)
    return implied


def test_no_small_count_follows_from_the_published_sizes_denominators_and_numerators() -> None:
    """a has 5 people with the outcome: its TPR's denominator (5) and numerator must not
    follow from what is published. They would from a's size less its FPR denominator (the
    people without the outcome), or from the population's positives less r's: so at least
    one count of each route is withheld; with a small group t (4 people) too, neither t's
    size nor any of its confusion counts follows either."""
    full = _few_positives()
    assert _implied_suppressed_counts(full, full)  # unprotected, they do follow
    assert _implied_suppressed_counts(full, suppress(full)) == []
    rows = [("r", int(i < 300), i % 2) for i in range(600)]
    rows += [("a", int(i < 5), i % 2) for i in range(300)]
    rows += [("b", int(i < 100), i % 3 == 0) for i in range(200)]
    rows += [("t", int(i < 2), i % 2) for i in range(4)]
    frame = pd.DataFrame(rows, columns=["g", "y", "d"]).astype({"d": int})
    full = assess(
        frame, y_true="y", y_pred="d", groups=["g"], reference={"g": "r"}, n_boot=0,
        min_group_size=3, min_denominator=1,
    )  # fmt: skip
    assert _implied_suppressed_counts(full, full)
    assert _implied_suppressed_counts(full, suppress(full)) == []


def _cells_frame(cells: dict[tuple[str, str], tuple[int, int, int, int]]) -> pd.DataFrame:
    """People of each (g, h) cell by confusion cell: (TN, FP, FN, TP) of y and decision d."""
    rows: list[tuple[str, str, int, int]] = []
    for (g, h), (tn, fp, fn, tp) in cells.items():
        rows += [(g, h, 0, 0)] * tn + [(g, h, 0, 1)] * fp + [(g, h, 1, 0)] * fn
        rows += [(g, h, 1, 1)] * tp
    return pd.DataFrame(rows, columns=["g", "h", "y", "d"])


def test_no_small_count_follows_across_an_intersection_table_and_its_margins() -> None:
    """g x h with its margins. (r, x) and (b, x) have 6 and 4 people, and (a, x) 25 of whom
    only 8 are decided negative (2 TN + 6 FN): its NPV and FOR denominators are small. The
    margins' and cells' sizes, denominators and rates together would give those counts (and
    the small cells' sizes) back; once published, none of them follows any more."""
    frame = _cells_frame({
        ("r", "x"): (3, 0, 1, 2), ("r", "y"): (3, 1, 0, 0),
        ("a", "x"): (2, 8, 6, 9), ("a", "y"): (8, 6, 5, 6),
        ("b", "x"): (2, 0, 1, 1), ("b", "y"): (5, 1, 3, 3),
    })  # fmt: skip
    full = assess(
        frame, y_true="y", y_pred="d", groups=["g", "h"], reference={"g": "r", "h": "x"},
        n_boot=0, min_group_size=3, min_denominator=1, intersections=2,
    )  # fmt: skip
    unprotected = _implied_suppressed_counts(full, full)
    assert "size of ('b', 'x')" in unprotected
    assert "npv denominator of ('a', 'x')" in unprotected
    assert _implied_suppressed_counts(full, suppress(full)) == []


def test_a_small_cell_that_subtraction_alone_does_not_protect_is_protected_too() -> None:
    """A 4 x 4 table g x h, 32 people a cell but nine with 4: the blocks {r1, r2} x {c1, c2}
    and {r3, r4} x {c3, c4}, and (r1, c3). Every row and column then has at least two small
    cells, so no sum has a single withheld term; yet (r1, c3) is the bridge between the two
    blocks: r1 + r2 - c1 - c2 = (r1, c3) + (r1, c4) + (r2, c3) + (r2, c4) - (r3, c1) - (r4, c1)
    - (r3, c2) - (r4, c2) gives it (and, category by category, its confusion counts) from
    published sizes. Published, no small cell's size or count follows."""
    small = {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"), ("r1", "c3"),
             ("r3", "c3"), ("r3", "c4"), ("r4", "c3"), ("r4", "c4")}  # fmt: skip
    frame = _cells_frame({
        (g, h): (1, 1, 1, 1) if (g, h) in small else (8, 8, 8, 8)
        for g in ("r1", "r2", "r3", "r4") for h in ("c1", "c2", "c3", "c4")
    })  # fmt: skip
    full = assess(
        frame, y_true="y", y_pred="d", groups=["g", "h"], reference={"g": "r1", "h": "c1"},
        n_boot=0, min_group_size=3, min_denominator=1, intersections=2,
    )  # fmt: skip
    unprotected = _implied_suppressed_counts(full, full)
    assert "size of ('r1', 'c3')" in unprotected and "(1, 1) of ('r1', 'c3')" in unprotected
    assert _implied_suppressed_counts(full, suppress(full)) == []
