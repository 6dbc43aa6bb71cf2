"""Secondary suppression by linear algebra: no withheld figure is implied by what is published.

Every published count and rate of the groups is a linear fact about the people's confusion
counts. Take as unknowns x the number of people in each *finest cell* (one level of every
attribute) and each confusion category (TN, FP, FN, TP). Then

- a group's size is `sum of its cells' x`, a metric's denominator likewise over the categories
  it counts (people with the outcome for the TPR), the population's size over everything;
- a published rate r = numerator / denominator over a published denominator gives its
  numerator, `r * denominator`, as one more count.

A rate whose denominator is withheld is not used: it is the homogeneous equation
`numerator(x) - r * denominator(x) = 0`, and a group's eleven rates fix its proportions, so with
the population's rates they can give back withheld sizes (two groups whose sizes are both
withheld, and overall rates that mix them differently). Protecting against that withholds most
rates of every group sharing a margin with a small cell (23 rates of large groups for one cell
of 5 in a 3 x 2 table), so it is a documented limit (`audit.disclosure`), with a strict xfail in
the tests that shows it.

A withheld quantity p(x) (a small group's size and confusion counts, a small denominator and
its numerator) can be recovered from the published facts A x = b exactly when p lies in the
row space of A: then p(x) is the same for every table consistent with the publication. This
covers subtraction from totals (a group and its complement, the population row), from another
table (an intersection against its parents), and from a rate with its published denominator
(a base rate times a group size gives the people with the outcome), and every combination of
them.

`protect` removes published facts, cheapest first, until no withheld quantity is in the row
space. Costs: a count (size, denominator) is cheaper to withhold than a rate, a large group's
figures dearer than a small group's, a reference group's rates (every comparison reads them)
and the population's figures dearest. For each implied quantity it first looks for one fact
whose removal alone breaks the implication, among those that carry it (the nonzero terms of
a least-squares solution of A^T y = p), and otherwise removes the cheapest of them and looks
again.

What linear algebra over the reals does not see: that counts are whole numbers (a rate written
to full precision is a fraction whose denominator may be read off it, and an interval's width
depends on its denominator), and weighted rates (with sample weights, rates are shares of
weight, modelled here as if weights were people). Those are limits of this model, written in
`audit.disclosure`'s docstring.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from audit.metrics.definitions import ALL, RATES, Cell

Key = tuple[tuple[str, ...], tuple[str, ...]]
OVERALL: Key = ((), ())
_TOL = 1e-9


@dataclass(frozen=True)
class Fact:
    """One published fact: `what` is ("size", key), ("denominator", key, cells) or
    ("rate", key, metric); a denominator also goes when its group's size is withheld (a
    withheld size hides every denominator of the group)."""

    what: tuple[Hashable, ...]
    row: np.ndarray
    cost: float
    also: tuple[tuple[Hashable, ...], ...] = ()  # other units whose withholding removes it
    withhold: tuple[Hashable, ...] | None = None  # the unit to withhold for it (default: what)

    @property
    def choice(self) -> tuple[Hashable, ...]:
        return self.withhold if self.withhold is not None else self.what

    @property
    def units(self) -> frozenset[tuple[Hashable, ...]]:
        return frozenset((self.what, *self.also))


@dataclass
class Cells:
    """The finest cells of a set of attributes and the linear functionals over them."""

    attributes: tuple[str, ...]
    levels: Mapping[str, Sequence[str]]
    index: dict[tuple[str, ...], int] = field(init=False)
    _member: dict[tuple[int, str], np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        crossed = list(itertools.product(*(self.levels[a] for a in self.attributes)))
        self.index = {cell: i for i, cell in enumerate(crossed)}
        # The cells of each (attribute position, level), once: every functional reads them.
        # Python's equality, cell by cell: numpy would make a level a numpy string, which drops
        # a trailing NUL ("a\x00" would be given group "a"'s cells).
        self._member = {
            (p, level): np.fromiter((cell[p] == level for cell in crossed), bool, len(crossed))
            for p, a in enumerate(self.attributes)
            for level in self.levels[a]
        }

    @property
    def size(self) -> int:
        return len(self.index) * len(ALL)

    def functional(self, key: Key, categories: Iterable[Cell]) -> np.ndarray:
        """The vector v with v @ x = the people of group `key` in `categories`."""
        attributes, levels = key
        position = [self.attributes.index(a) for a in attributes]
        member = np.ones(len(self.index), dtype=bool)
        for p, level in zip(position, levels, strict=True):
            member &= self._member[(p, level)]
        row = np.zeros((len(self.index), len(ALL)))
        row[np.ix_(member, np.array([ALL.index(c) for c in categories], dtype=np.intp))] = 1.0
        return row.reshape(-1)


def in_row_space(rows: np.ndarray, target: np.ndarray) -> bool:
    """Whether `target` is a linear combination of `rows` (the quantity is implied)."""
    if rows.size == 0:
        return False
    y, *_ = np.linalg.lstsq(rows.T, target, rcond=None)
    residual = rows.T @ y - target
    return float(np.linalg.norm(residual)) <= _TOL * max(1.0, float(np.linalg.norm(target)))


def protect(facts: Sequence[Fact], targets: Sequence[np.ndarray]) -> set[tuple[Hashable, ...]]:
    """The units to withhold so that no target is implied by the facts left (module docstring).

    One thin SVD of the published rows per round: a target t is implied when its projection
    on the row space is t itself; its least-norm combination y = U S^-1 V^T t names the facts
    that carry it; a carrying fact whose row is in no way a combination of the others (its
    leverage, the squared norm of its row of U, is 1) cannot be replaced, so withholding it
    breaks the implication. Each implied target has its cheapest such fact withheld (or, when
    none alone suffices, its cheapest carrier), and the round repeats. The population's size
    (cost `inf`) is never withheld.
    """
    removed: set[tuple[Hashable, ...]] = set()
    if not targets:
        return removed
    # Small dense systems: BLAS threads cost far more than they save (seconds instead of
    # milliseconds per SVD on a shared machine).
    with threadpool_limits(1):
        return _protect(facts, np.vstack(targets), removed)


def _protect(
    facts: Sequence[Fact], wanted: np.ndarray, removed: set[tuple[Hashable, ...]]
) -> set[tuple[Hashable, ...]]:
    scale = np.maximum(np.linalg.norm(wanted, axis=1), 1.0)
    while True:
        kept = [f for f in facts if not (f.units & removed)]
        rows = np.vstack([f.row for f in kept])
        u, sv, vt = np.linalg.svd(rows, full_matrices=False)
        rank = int((sv > sv[0] * max(rows.shape) * np.finfo(float).eps).sum()) if sv.size else 0
        basis, u, sv = vt[:rank], u[:, :rank], sv[:rank]
        coords = wanted @ basis.T
        residual = np.linalg.norm(wanted - coords @ basis, axis=1)
        implied = np.flatnonzero(residual <= _TOL * scale)
        if implied.size == 0:
            return removed
        weights = (coords[implied] / sv) @ u.T  # least-norm y for each implied target
        needed = (u**2).sum(axis=1) > 1 - 1e-9  # rows no other combination replaces
        cost = np.array([f.cost for f in kept])
        chosen: set[tuple[Hashable, ...]] = set()
        for y in weights:
            carrying = (np.abs(y) > 1e-9 * np.abs(y).max()) & np.isfinite(cost)
            if not carrying.any():  # pragma: no cover - only the population's size carries it
                raise RuntimeError("a withheld figure follows from the population's size alone")
            pool = carrying & needed if (carrying & needed).any() else carrying
            best = min(np.flatnonzero(pool), key=lambda i: (cost[i], repr(kept[i].what)))
            chosen.add(kept[best].choice)
        removed |= chosen


def denominator_is_everyone(metric: str) -> bool:
    rate = RATES.get(metric)
    return rate is not None and set(rate.denominator) == set(ALL)
