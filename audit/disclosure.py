"""Small-cell disclosure control: nothing that leaves the process describes fewer than
`settings.min_cell_size` people (10 by default).

The assessment computed in memory keeps every figure at full precision: the gate decides on it,
so suppression can never change a decision. What is written or logged (the JSON result, the
verdict, `summary.md`, JUnit, MLflow, the `audit assess` terminal and `--json`) is made from the
*published* form that `suppress` returns, and from `publish_verdict` for the verdict.

What is suppressed (values, intervals, p-values, counts set to None, `suppressed=True`):

- a **group** with fewer than the minimum of people: its size and weight, and every figure of it
  (metrics, disparities, conditional comparisons, within-strata rates, score tables);
- a **metric** whose denominator has fewer than the minimum of people, whatever the group's
  size (the TPR of a group with 4 people who have the outcome), and the whole population's
  (`overall`) metric likewise;
- a **disparity** or **worst group** when the metric is suppressed for the group or for its
  reference (a published reference value and a difference would give the group's value back);
  aif360's named disparities when one of their components is;
- a **within-stratum** rate whose cell (group × factor level) or denominator has fewer than the
  minimum, and its difference when the reference's cell in that level is suppressed;
- a **conditional comparison** when its plain disparity is. With one legitimate factor it is a
  weighted sum of the group's within-level differences, so when exactly one of those is
  withheld, the next smallest level's difference is withheld too (the pooled value and the
  others would give it back), and when no other term is left, the comparison is suppressed;
- a **cross-AUC** cell whose positives (one group) or negatives (the other) are too few;
- a **track share** of a group under the minimum (share, count, size, comparisons), the
  comparisons of a group whose reference is under it, and the count with a withheld size (count
  over share would give the size back); a **conditional track comparison** when its group or
  reference is under the minimum, or when it would give back a withheld within-level gap;
  **within-level track shares** as the binary within-stratum rates (the same cells);
- a **summary** (spread, ratio, four-fifths rule, largest calibration error) when one of the
  groups it summarises has the metric it reads suppressed: a spread over groups is their
  extreme values, which may be the small group's own;
- the **reliability table** merges adjacent calibration bins, left to right, until each holds at
  least the minimum of people (a last bin short of it joins the one before); the merged bin's
  mean score and observed rate are the weighted means of its bins, so they are exact. A
  suppressed group's table is one empty bin.

Secondary suppression (sizes recovered by subtraction). A group's size is the sum of its
intersection cells, and the population's the sum of each attribute's groups; a within-stratum
cell's sizes add up to its group's. Wherever such a sum has exactly one withheld term, the
next smallest term is withheld too (its size, weight, denominators and its reliability bins'
counts, but not its rates: it has at least the minimum of people), repeated until no sum has
a single withheld term. A withheld reference's size also leaves the reference fallback notes.

Secondary suppression (linear algebra, `audit.linear_disclosure`). Over each table family (an
intersection with its single attributes and the population; or one attribute alone), every
published count is a linear equation in the people of each finest cell and confusion category:
sizes, denominators, and numerators (a published rate times its published denominator). The
suppressed quantities (a small group's size and its four confusion counts; a small
denominator and its numerator) must not be linear combinations of them: this is what rules
out recovery from totals (a group and its complement, the population row), from another
table (an intersection against its parents and siblings) and from a rate and its
denominator (a base rate times a size giving the few people with the outcome). Counts are
withheld (sizes, or one denominator), cheapest first, until none is implied; rates are kept.

What this does not do, deliberately or for now:

- numerators that are not suppressed figures are not protected: a rate over 500 people is
  published even when it says 3 of them were selected (no suppressed cell follows from it), and
  so is a track share's count, which that rate and size give anyway;
- integrality is not modelled: a rate written to full precision is a fraction whose
  denominator may be read off it, and the interval of a published rate depends on its
  denominator, so a withheld size can be approximated from either; rates whose denominator is
  withheld are not used as equations between proportions either (with eleven rates per group
  they would fix each cell's proportions, and protecting against that would withhold nearly
  every rate of every group that shares a margin with a small cell);
- table families are checked one at a time (two intersection tables sharing an attribute are
  not solved together), and sample weights are modelled as if they were people;
- a summary is suppressed rather than recomputed over the published groups;
- with `min_group_size` below `min_cell_size` a group too small to publish can still decide a
  rule: the verdict then names it, with its code and without its figures, since a release
  blocked for an unnamed reason could not be acted on (the default sizes, 30 and 10, never
  meet this case).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from audit.labels import display_levels
from audit.linear_disclosure import (
    OVERALL,
    Cells,
    Fact,
    denominator_is_everyone,
    protect,
)
from audit.metrics.definitions import ALL, RATES
from audit.metrics.disparities import NAMED_DISPARITIES
from audit.stats.result import (
    GROUP_SEPARATOR,
    Assessment,
    ConditionalDisparity,
    CrossAuc,
    Disparity,
    Group,
    MetricValue,
    ReferenceChoice,
    ReliabilityBin,
    Summary,
    TrackConditional,
    TrackShare,
    WithinStratum,
    WorstGroup,
)
from audit.stats.tracks import TRACK_METRIC

if TYPE_CHECKING:  # the gate (and the spec it reads) only for `publish_verdict`, imported there
    from audit.gate import Finding, GroupOutcome, Verdict

Key = tuple[tuple[str, ...], tuple[str, ...]]  # (attributes, levels)
MetricKey = tuple[str, tuple[str, ...], tuple[str, ...]]  # (metric, attributes, levels)
_TOTAL: Hashable = ("total",)

#: The group metrics each summary measure reads.
SUMMARY_METRICS: dict[str, tuple[str, ...]] = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "four_fifths_rule": ("selection_rate",),
    "equalized_odds_difference": ("tpr", "fpr"),
    "equalized_odds_ratio": ("tpr", "fpr"),
    "equal_opportunity_difference": ("tpr",),
    "equal_opportunity_ratio": ("tpr",),
    "auc_difference": ("auc",),
    "ece_max": ("ece",),
}
_COMPONENTS = {d.name: d.components for d in NAMED_DISPARITIES}
_TRACK_KINDS = ("difference", "ratio")


def _ws_metric(w: WithinStratum) -> str:
    """A within-stratum rate's metric, told apart by track for track shares."""
    return w.metric if w.track is None else f"{w.metric}:{w.track}"


SECONDARY_REASON = (
    "withheld: with the other published figures it would give back one that is suppressed"
)


def reason(minimum: int) -> str:
    return f"suppressed: fewer than {minimum} people"


def suppress(assessment: Assessment) -> Assessment:
    """The published form of `assessment` (see the module docstring); idempotent."""
    if assessment.disclosure_controlled:
        return assessment
    return _Publication(assessment).assessment()


def publish_verdict(verdict: Verdict, published: Assessment) -> Verdict:
    """The verdict as it leaves the process, read against the published assessment.

    Statuses, counts and the overall verdict are the gate's own. A comparison whose record is
    suppressed in `published` loses its figures; its findings that do not decide are left out
    (a SMALL_GROUP finding would say the small group's gap lies beyond the bound), and those
    that decide keep their code with the figures withheld. Every sentence is written again
    with labels bounded for display.
    """
    minimum = published.settings.min_cell_size
    hidden: set[tuple[object, ...]] = {
        (d.metric, d.kind, d.attributes, d.levels, None)
        for d in published.disparities
        if d.suppressed
    } | {
        (c.metric, "conditional_difference", c.attributes, c.levels, None)
        for c in published.conditional
        if c.suppressed
    }
    for t in published.tracks:  # a share's comparisons are hidden with their difference
        if not t.is_reference and t.difference is None:
            hidden |= {(TRACK_METRIC, k, t.attributes, t.levels, t.track) for k in _TRACK_KINDS}
    hidden |= {
        (TRACK_METRIC, "conditional_difference", c.attributes, c.levels, c.track)
        for c in published.track_conditional
        if c.suppressed
    }

    def is_hidden(item: GroupOutcome | Finding) -> bool:
        return (item.metric, item.kind, item.attributes, item.levels, item.track) in hidden

    rules = []
    for rule in verdict.rules:
        findings = []
        for f in rule.findings:
            if not is_hidden(f):
                findings.append(replace(f, sentence=_display_sentence(f, verdict.alpha)))
            elif f.decides:
                findings.append(_withheld_finding(f, minimum))
        groups = tuple(_withheld_group(g) if is_hidden(g) else g for g in rule.groups)
        rules.append(replace(rule, findings=tuple(findings), groups=groups))
    return replace(verdict, rules=tuple(rules))


def _display_sentence(f: Finding, alpha: float) -> str:
    from audit.gate import sentence

    shown = replace(
        f,
        attributes=display_levels(f.attributes),
        levels=display_levels(f.levels),
        reference_levels=display_levels(f.reference_levels),
    )
    return sentence(shown, alpha=alpha)


def _withheld_group(g: GroupOutcome) -> GroupOutcome:
    return replace(
        g,
        value=None,
        ci_low=None,
        ci_high=None,
        detectable=None,
        p_confirmatory=None,
        baseline_value=None,
        change=None,
        change_ci_low=None,
        change_ci_high=None,
    )


def _withheld_finding(f: Finding, minimum: int) -> Finding:
    from audit.gate import metric_label

    group = GROUP_SEPARATOR.join(
        f"{a}={v}"
        for a, v in zip(display_levels(f.attributes), display_levels(f.levels), strict=True)
    )
    ref = GROUP_SEPARATOR.join(display_levels(f.reference_levels))
    return replace(
        f,
        value=None,
        ci_low=None,
        ci_high=None,
        p_adjusted=None,
        detectable=None,
        baseline_value=None,
        position=None,
        sentence=f"{metric_label(f)} {f.kind.replace('_', ' ')} for {group} vs {ref}: {f.code} "
        f"(decides the rule); its figures are not published: fewer than {minimum} people",
    )


# --- the assessment ---------------------------------------------------------------------------


@dataclass
class _Cells:
    """Sizes that add up (a group's cells to the group, groups to the population) and which
    are withheld; `hide` closes the set so that no sum has a single withheld term."""

    sizes: dict[Hashable, int]
    sums: list[tuple[Hashable, list[Hashable]]]  # (parent, children): parent = sum of children
    hidden: set[Hashable]

    def close(self) -> None:
        involved: dict[Hashable, list[int]] = defaultdict(list)
        for i, (parent, children) in enumerate(self.sums):
            involved[parent].append(i)
            for child in children:
                involved[child].append(i)
        todo = list(range(len(self.sums)))
        while todo:
            i = todo.pop()
            parent, children = self.sums[i]
            withheld = sum(c in self.hidden for c in children) + (parent in self.hidden)
            if withheld != 1:
                continue
            shown = [c for c in children if c not in self.hidden]
            if shown:
                extra = min(shown, key=lambda c: (self.sizes[c], repr(c)))
            elif parent is not _TOTAL:
                extra = parent
            else:  # pragma: no cover - the population is never a single withheld group
                continue
            self.hidden.add(extra)
            todo.extend(involved[extra])


class _Publication:
    """Works out what is suppressed, then rebuilds every table of the assessment."""

    def __init__(self, a: Assessment) -> None:
        self.a = a
        self.k = a.settings.min_cell_size
        self.why = reason(self.k)
        self.size = {(g.attributes, g.levels): g.n_rows for g in a.groups}
        self.small = {key for key, n in self.size.items() if n is not None and n < self.k}
        self.reference = {g.attributes: g.levels for g in a.groups if g.is_reference}
        self.by_attributes: dict[tuple[str, ...], list[Key]] = defaultdict(list)
        for key in self.size:
            self.by_attributes[key[0]].append(key)
        self.metric_hidden: set[MetricKey] = {
            (m.metric, m.attributes, m.levels)
            for m in a.metrics
            if (m.attributes, m.levels) in self.small
            or (m.denominator_rows is not None and m.denominator_rows < self.k)
        }
        self.cells = self._cells()
        self.cells.close()
        self.overall_hidden: set[str] = {
            m.metric
            for m in a.overall
            if m.denominator_rows is not None and m.denominator_rows < self.k
        }
        self.den_hidden: set[tuple[Key, frozenset[tuple[int, int]]]] = set()
        self.secondary: set[MetricKey] = set()
        self._linear()
        self.ws_hidden = self._within_strata_hidden()
        self.ws_difference_hidden, self.pooled_hidden = self._pooled_terms()

    # -- what is suppressed --------------------------------------------------------------
    def _metric_suppressed(
        self, metric: str, attributes: tuple[str, ...], levels: tuple[str, ...]
    ) -> bool:
        names = _COMPONENTS.get(metric, (metric,))
        return any((name, attributes, levels) in self.metric_hidden for name in names)

    def _compared_suppressed(
        self,
        metric: str,
        attributes: tuple[str, ...],
        levels: tuple[str, ...],
        ref: tuple[str, ...],
    ) -> bool:
        return self._metric_suppressed(metric, attributes, levels) or self._metric_suppressed(
            metric, attributes, ref
        )

    def _ws_key(self, w: WithinStratum, levels: tuple[str, ...] | None = None) -> Hashable:
        return ("ws", w.attributes, levels or w.levels, w.factor, w.factor_level)

    def _within_strata_hidden(self) -> set[tuple[Hashable, str]]:
        """(cell, metric) of every within-stratum rate that is suppressed."""
        return {
            (self._ws_key(w), _ws_metric(w))
            for w in self._within()
            if (w.n_rows is not None and w.n_rows < self.k)
            or (w.denominator_rows is not None and w.denominator_rows < self.k)
            or (w.attributes, w.levels) in self.small
            or (w.metric, w.attributes, w.levels) in self.secondary
        }

    def _cells(self) -> _Cells:
        sizes: dict[Hashable, int] = {_TOTAL: self.a.n_rows}
        hidden: set[Hashable] = set()
        for key, n in self.size.items():
            sizes[key] = n if n is not None else 0
            if key in self.small:
                hidden.add(key)
        sums: list[tuple[Hashable, list[Hashable]]] = []
        for attributes, keys in self.by_attributes.items():
            if len(attributes) == 1:
                sums.append((_TOTAL, list(keys)))
                continue
            for drop in range(len(attributes)):
                keep = [i for i in range(len(attributes)) if i != drop]
                parents: dict[Key, list[Hashable]] = defaultdict(list)
                for key in keys:
                    parent = (tuple(attributes[i] for i in keep), tuple(key[1][i] for i in keep))
                    parents[parent].append(key)
                sums += [(p, c) for p, c in parents.items() if p in self.size]
        strata: dict[tuple[Hashable, tuple[str, ...]], set[Hashable]] = defaultdict(set)
        for w in self._within():
            cell = self._ws_key(w)
            sizes[cell] = w.n_rows if w.n_rows is not None else 0
            if (w.n_rows is not None and w.n_rows < self.k) or (
                w.attributes,
                w.levels,
            ) in self.small:
                hidden.add(cell)
            strata[((w.attributes, w.levels), (w.factor,))].add(cell)
        sums += [(group, sorted(c, key=repr)) for (group, _), c in strata.items()]
        return _Cells(sizes, sums, hidden)

    def _size_hidden(self, key: Hashable) -> bool:
        return key in self.cells.hidden

    # -- secondary suppression by linear algebra (audit.linear_disclosure) ---------------
    def _linear(self) -> None:
        """Withholds sizes, denominators and rates until no suppressed figure follows
        linearly from what is published; repeats the subtraction closure after."""
        removed: set[tuple[Hashable, ...]] = set()
        for model in self._models():
            removed |= protect(self._facts(model), self._targets(model))
        for unit in removed:
            if unit[0] == "size":
                self.cells.hidden.add(unit[1])
            elif unit[0] == "overall_rate":  # a rate over everyone (see _metric_facts)
                self.overall_hidden.add(unit[1])  # type: ignore[arg-type]
            else:  # otherwise only counts are withheld: a size, or a denominator
                self.den_hidden.add((unit[1], unit[2]))  # type: ignore[arg-type]
        # A balanced accuracy averages the TPR and the TNR: with one of them, it gives the other.
        for _, attributes, levels in list(self.metric_hidden | self.secondary):
            if any(
                (name, attributes, levels) in self.metric_hidden | self.secondary
                for name in ("tpr", "tnr")
            ):
                self.secondary.add(("balanced_accuracy", attributes, levels))
        self.secondary -= self.metric_hidden
        self.metric_hidden |= self.secondary
        self.cells.close()

    def _models(self) -> list[Cells]:
        """One model per widest attribute family (a pair with its two single attributes and
        the population): each table with the tables it sums to."""
        levels: dict[str, list[str]] = defaultdict(list)
        for attributes, lv in self.size:
            if len(attributes) == 1:
                levels[attributes[0]].append(lv[0])
        families = {attributes for attributes, _ in self.size}
        widest = [f for f in families if not any(set(f) < set(g) for g in families)]
        return [Cells(f, levels) for f in sorted(widest) if all(a in levels for a in f)]

    def _facts(self, model: Cells) -> list[Fact]:
        inside = set(model.attributes)
        everyone = model.functional(OVERALL, ALL)
        facts = [Fact(("size", OVERALL), everyone, float("inf"))]
        n_total = max(self.a.n_rows, 1)
        for key, n in self.size.items():
            if not set(key[0]) <= inside or key in self.small or n is None:
                continue
            share = n / (n_total + 1)
            if not self._size_hidden(key):
                facts.append(Fact(("size", key), model.functional(key, ALL), 1 + share))
            reference = self.reference.get(key[0]) == key[1]
            if key == OVERALL:
                continue
            for m in self._rates.get(key, ()):
                facts += self._metric_facts(model, key, m, share, reference)
        for m in self.a.overall:
            if m.metric in RATES and m.value is not None and m.metric not in self.overall_hidden:
                facts += self._metric_facts(model, OVERALL, m, 1000.0, False)
        return facts

    def _metric_facts(
        self, model: Cells, key: Key, m: MetricValue, share: float, reference: bool
    ) -> list[Fact]:
        """A published denominator is a count; with the published rate over it, so is the
        numerator (rate x denominator). Only counts are withheld here, never rates."""
        rate = RATES[m.metric]
        cells = frozenset(rate.denominator)
        hidden_den = m.denominator_rows is None or m.denominator_rows < self.k
        if hidden_den or self._size_hidden(key) or (key, cells) in self.den_hidden:
            return []
        everyone = denominator_is_everyone(m.metric)
        unit = ("size", key) if everyone else ("denominator", key, cells)
        cost = 1000.0 if key == OVERALL else 1 + share + (0.5 if reference else 0.0)
        out = []
        if not everyone:
            out.append(
                Fact(unit, model.functional(key, rate.denominator), cost, also=(("size", key),))
            )
        if (m.metric, key[0], key[1]) not in self.metric_hidden and m.value is not None:
            numerator = model.functional(key, rate.numerator)
            # The population's size is never withheld: a rate over everyone that gives away a
            # small count goes itself (a secondary suppression of the overall rate).
            withhold = ("overall_rate", m.metric) if key == OVERALL and everyone else unit
            out.append(
                Fact(
                    ("numerator", key, m.metric),
                    numerator,
                    cost,
                    also=(unit, ("size", key), withhold),
                    withhold=withhold,
                )
            )
        return out

    @property
    def _rates(self) -> dict[Key, list[MetricValue]]:
        if not hasattr(self, "_rates_cache"):
            by_key: dict[Key, list[MetricValue]] = defaultdict(list)
            for m in self.a.metrics:
                if m.metric in RATES:
                    by_key[(m.attributes, m.levels)].append(m)
            self._rates_cache = dict(by_key)
        return self._rates_cache

    def _targets(self, model: Cells) -> list[np.ndarray]:
        """What must not follow: a small group's size and confusion counts, and a metric's
        small denominator and its numerator."""
        inside = set(model.attributes)
        out = []
        for key in self.small:
            if set(key[0]) <= inside:
                out.append(model.functional(key, ALL))
                out += [model.functional(key, (c,)) for c in ALL]
        hidden = [
            (m, (m.attributes, m.levels))
            for m in self.a.metrics
            if m.metric in RATES
            and (m.attributes, m.levels) not in self.small
            and m.denominator_rows is not None
            and m.denominator_rows < self.k
        ]
        hidden += [
            (m, OVERALL)
            for m in self.a.overall
            if m.metric in self.overall_hidden and m.metric in RATES
        ]
        for m, key in hidden:
            if set(key[0]) <= inside:
                rate = RATES[m.metric]
                out.append(model.functional(key, rate.denominator))
                out.append(model.functional(key, rate.numerator))
        # The population's size is always published, even under the minimum (an audit of 8
        # people says so): it is no target, though the groups and rates of those 8 are.
        everyone = model.functional(OVERALL, ALL)
        return [t for t in out if not np.array_equal(t, everyone)]

    # -- the tables ----------------------------------------------------------------------
    def assessment(self) -> Assessment:
        a = self.a
        references, notes = self._references()
        records = (
            list(a.groups) + list(a.metrics) + list(a.disparities) + list(a.summaries)
            + list(a.conditional) + list(a.within_strata) + list(a.cross_auc)
            + list(a.worst_groups) + list(a.overall) + list(a.tracks) + list(a.track_conditional)
            + list(a.track_within_strata)
        )  # fmt: skip
        published = replace(
            a,
            groups=tuple(map(self._group, a.groups)),
            metrics=tuple(self._metric(m) for m in a.metrics),
            overall=tuple(self._metric(m, overall=True) for m in a.overall),
            disparities=tuple(map(self._disparity, a.disparities)),
            summaries=tuple(map(self._summary, a.summaries)),
            worst_groups=tuple(map(self._worst, a.worst_groups)),
            cross_auc=tuple(map(self._cross_auc, a.cross_auc)),
            reliability=self._reliability(),
            conditional=tuple(map(self._conditional, a.conditional)),
            within_strata=tuple(map(self._within_stratum, a.within_strata)),
            track_within_strata=tuple(map(self._within_stratum, a.track_within_strata)),
            tracks=tuple(map(self._track_share, a.tracks)),
            track_conditional=tuple(map(self._track_conditional, a.track_conditional)),
            references=references,
            disclosure_controlled=True,
        )
        count = sum(
            bool(getattr(r, "suppressed", False))
            for r in (
                list(published.groups) + list(published.metrics) + list(published.disparities)
                + list(published.summaries) + list(published.conditional)
                + list(published.within_strata) + list(published.cross_auc)
                + list(published.worst_groups) + list(published.overall)
                + list(published.tracks) + list(published.track_conditional)
                + list(published.track_within_strata)
            )
        )  # fmt: skip
        withheld = sum(1 for key in self.cells.hidden if key in self.size and key not in self.small)
        if count or withheld or self.den_hidden or len(published.reliability) != len(a.reliability):
            denominators = (
                f"; {len(self.den_hidden)} more denominators are withheld so that none can be "
                "recovered from a rate and its denominator"
                if self.den_hidden
                else ""
            )
            notes.append(
                f"disclosure control: {count} of {len(records)} records describe fewer than "
                f"{self.k} people and are suppressed; {withheld} more group sizes are withheld "
                f"so that none can be recovered by subtraction{denominators}; calibration bins "
                f"with fewer than {self.k} people are merged with their neighbours"
            )
        return replace(published, notes=tuple(notes))

    def _group(self, g: Group) -> Group:
        key = (g.attributes, g.levels)
        if key in self.small:
            return replace(g, n_rows=None, weight=None, suppressed=True)
        if self._size_hidden(key):
            return replace(g, n_rows=None, weight=None)
        return g

    def _metric(self, m: MetricValue, *, overall: bool = False) -> MetricValue:
        key = (m.attributes, m.levels)
        small_den = m.denominator_rows is not None and m.denominator_rows < self.k
        secondary = (
            m.metric in self.overall_hidden
            if overall
            else (m.metric, m.attributes, m.levels) in self.secondary
        )
        if secondary and not small_den:
            return replace(
                m,
                value=None,
                undefined_reason=SECONDARY_REASON,
                ci_low=None,
                ci_high=None,
                ci_method="none",
                denominator_rows=None,
                suppressed=True,
            )
        if small_den or (not overall and key in self.small):
            return replace(
                m,
                value=None,
                undefined_reason=self.why,
                ci_low=None,
                ci_high=None,
                ci_method="none",
                denominator_rows=None,
                suppressed=True,
            )
        rate = RATES.get(m.metric)
        den = frozenset(rate.denominator) if rate is not None else None
        if (not overall and self._size_hidden(key)) or ((key, den) in self.den_hidden):
            return replace(m, denominator_rows=None)
        return m

    def _disparity(self, d: Disparity) -> Disparity:
        if not self._compared_suppressed(d.metric, d.attributes, d.levels, d.reference_levels):
            return d
        return replace(
            d,
            value=None,
            undefined_reason=self.why,
            ci_low=None,
            ci_high=None,
            ci_method="none",
            p_value=None,
            p_adjusted=None,
            significant=None,
            detectable=None,
            suppressed=True,
        )

    def _track_share(self, t: TrackShare) -> TrackShare:
        """A small group's shares are withheld with everything else of it; a small
        reference withholds the comparisons (they would give its share back); a withheld size
        withholds the count too (count / share would give the size back)."""
        key = (t.attributes, t.levels)
        comparison = dict(
            difference=None,
            difference_ci_low=None,
            difference_ci_high=None,
            difference_ci_method="none",
            ratio=None,
            ratio_ci_low=None,
            ratio_ci_high=None,
            ratio_ci_method="none",
            p_value=None,
            p_adjusted=None,
            significant=None,
            detectable=None,
        )
        if key in self.small:
            return replace(
                t,
                n_rows=None,
                count=None,
                share=None,
                ci_low=None,
                ci_high=None,
                ci_method="none",
                undefined_reason=self.why,
                suppressed=True,
                **comparison,  # type: ignore[arg-type]
            )
        out = t
        if (t.attributes, t.reference_levels) in self.small and not t.is_reference:
            out = replace(out, undefined_reason=f"reference group: {self.why}", **comparison)  # type: ignore[arg-type]
        if self._size_hidden(key):
            out = replace(out, n_rows=None, count=None)
        return out

    def _track_conditional(self, c: TrackConditional) -> TrackConditional:
        pooled = len(c.factors) == 1 and (
            f"{TRACK_METRIC}:{c.track}",
            c.attributes,
            c.levels,
            c.factors[0],
        ) in self.pooled_hidden
        small = (c.attributes, c.levels) in self.small or (
            c.attributes,
            c.reference_levels,
        ) in self.small
        if small or pooled:
            return replace(
                c,
                value=None,
                unconditional=None,
                ci_low=None,
                ci_high=None,
                ci_method="none",
                p_value=None,
                p_adjusted=None,
                significant=None,
                coverage=None,
                suppressed=True,
            )
        return c

    def _summary(self, s: Summary) -> Summary:
        names = SUMMARY_METRICS.get(s.measure)
        groups = self.by_attributes.get(s.attributes, [])
        if names is None:  # a measure this module does not know: any suppressed metric counts
            hit = any(a == s.attributes for _, a, _ in self.metric_hidden)
        else:
            hit = any((n, a, lv) in self.metric_hidden for n in names for a, lv in groups)
        if not hit:
            return s
        return replace(
            s, value=None, ci_low=None, ci_high=None, passed=None, detail=self.why, suppressed=True
        )

    def _worst(self, w: WorstGroup) -> WorstGroup:
        ref = self.reference.get(w.attributes, w.levels)
        if not self._compared_suppressed(w.metric, w.attributes, w.levels, ref):
            return w
        return replace(w, difference=None, suppressed=True)

    def _cross_auc(self, c: CrossAuc) -> CrossAuc:
        hit = ("tpr", c.attributes, c.positive_levels) in self.metric_hidden or (
            "fpr",
            c.attributes,
            c.negative_levels,
        ) in self.metric_hidden
        hit = hit or (c.attributes, c.positive_levels) in self.small
        hit = hit or (c.attributes, c.negative_levels) in self.small
        return replace(c, value=None, suppressed=True) if hit else c

    def _conditional(self, c: ConditionalDisparity) -> ConditionalDisparity:
        hit = self._compared_suppressed(c.metric, c.attributes, c.levels, c.reference_levels)
        if not hit and len(c.factors) == 1:
            hit = (c.metric, c.attributes, c.levels, c.factors[0]) in self.pooled_hidden
        if not hit:
            return c
        return replace(
            c,
            value=None,
            unconditional=None,
            ci_low=None,
            ci_high=None,
            ci_method="none",
            p_value=None,
            p_adjusted=None,
            significant=None,
            coverage=None,
            explained_share=None,
            explained_share_low=None,
            explained_share_high=None,
            explained_share_note=self.why,
            suppressed=True,
        )

    def _pooled_terms(self) -> tuple[set[tuple[Hashable, str]], set[tuple[object, ...]]]:
        """Within-strata differences withheld, and the pooled comparisons that must go too.

        With one legitimate factor, a group's conditional difference is a weighted sum of its
        within-level differences: if exactly one of them is withheld, the sum and the others
        give it back. Then the next smallest level's difference is withheld as well; when no
        other term is left, the conditional comparison itself is suppressed.
        """
        hidden: set[tuple[Hashable, str]] = set()
        terms: dict[tuple[object, ...], list[WithinStratum]] = defaultdict(list)
        for w in self._within():
            if w.is_reference or w.difference is None:
                continue
            cell, ref = self._ws_key(w), self._ws_key(w, w.reference_levels)
            if (cell, _ws_metric(w)) in self.ws_hidden or (ref, _ws_metric(w)) in self.ws_hidden:
                hidden.add((cell, _ws_metric(w)))
            terms[(_ws_metric(w), w.attributes, w.levels, w.factor)].append(w)
        pooled: set[tuple[object, ...]] = set()
        for key, records in terms.items():
            withheld = [w for w in records if (self._ws_key(w), _ws_metric(w)) in hidden]
            if len(withheld) != 1:
                continue
            shown = [w for w in records if (self._ws_key(w), _ws_metric(w)) not in hidden]
            if not shown:
                pooled.add(key)
                continue
            extra = min(shown, key=lambda w: (w.n_rows or 0, w.factor_level))
            hidden.add((self._ws_key(extra), _ws_metric(extra)))
        return hidden, pooled

    def _within(self) -> tuple[WithinStratum, ...]:
        """Within-strata rates of the binary decision and of each track: the same cells."""
        return (*self.a.within_strata, *self.a.track_within_strata)

    def _within_stratum(self, w: WithinStratum) -> WithinStratum:
        cell, ref_cell = self._ws_key(w), self._ws_key(w, w.reference_levels)
        metric = _ws_metric(w)
        out = w
        if self._size_hidden(cell):
            out = replace(out, n_rows=None, denominator_rows=None)
        small_ref = w.reference_n_rows is not None and w.reference_n_rows < self.k
        if small_ref or self._size_hidden(ref_cell):  # an empty reference cell too
            out = replace(out, reference_n_rows=None)
        if (cell, metric) in self.ws_hidden:
            return replace(
                out,
                value=None,
                undefined_reason=self.why,
                ci_low=None,
                ci_high=None,
                n_rows=None,
                denominator_rows=None,
                difference=None,
                difference_ci_low=None,
                difference_ci_high=None,
                suppressed=True,
            )
        if (cell, metric) in self.ws_difference_hidden:
            why = (
                f"reference group: {self.why} in this factor level"
                if (ref_cell, metric) in self.ws_hidden
                else "difference withheld: with the conditional comparison it would give "
                "back one that is suppressed"
            )
            out = replace(
                out,
                undefined_reason=why,
                difference=None,
                difference_ci_low=None,
                difference_ci_high=None,
            )
        return out

    def _reliability(self) -> tuple[ReliabilityBin, ...]:
        by_group: dict[Key, list[ReliabilityBin]] = defaultdict(list)
        for b in self.a.reliability:
            by_group[(b.attributes, b.levels)].append(b)
        out: list[ReliabilityBin] = []
        for key, bins in by_group.items():
            bins = sorted(bins, key=lambda b: b.bin_low)
            if key in self.small:
                out.append(
                    replace(
                        bins[0],
                        bin_low=bins[0].bin_low,
                        bin_high=bins[-1].bin_high,
                        weight=None,
                        mean_score=None,
                        observed_rate=None,
                        n_rows=None,
                        suppressed=True,
                    )
                )
                continue
            merged = merge_bins(bins, self.k)
            if self._size_hidden(key):  # the bins' counts would add up to the withheld size
                merged = [replace(b, weight=None, n_rows=None) for b in merged]
            out += merged
        return tuple(out)

    def _references(self) -> tuple[tuple[ReferenceChoice, ...], list[str]]:
        """References without a withheld size, in the records and in the fallback notes."""
        notes = list(self.a.notes)
        out = []
        for r in self.a.references:
            changed = r
            if self._size_hidden((r.attributes, r.levels)):
                changed = replace(changed, n_rows=None)
            new_reason = self._reason_text(r)
            if new_reason != r.reason:
                changed = replace(changed, reason=new_reason)
                old = r.note()
                notes = [r.note(new_reason) if n == old else n for n in notes]
            out.append(changed)
        return tuple(out), notes

    def _reason_text(self, r: ReferenceChoice) -> str | None:
        if r.reason is None:
            return None
        text = r.reason
        for levels in (r.intended, r.levels):
            n = self.size.get((r.attributes, levels))
            if n is not None and self._size_hidden((r.attributes, levels)):
                shown = f"fewer than {self.k}" if n < self.k else "too few"
                text = text.replace(f"has {n} people", f"has {shown} people")
        return text


def merge_bins(bins: Sequence[ReliabilityBin], minimum: int) -> list[ReliabilityBin]:
    """Adjacent bins (sorted by `bin_low`) merged left to right until each holds `minimum`
    people; a remainder short of it joins the last merged bin. Bins without a row count
    (documents older than the count) are counted by their weight."""
    runs: list[list[ReliabilityBin]] = []
    current: list[ReliabilityBin] = []
    for b in bins:
        current.append(b)
        if _rows(current) >= minimum:
            runs.append(current)
            current = []
    if current:
        if runs:
            runs[-1] += current
        else:
            runs.append(current)
    return [_merged(run) for run in runs]


def _rows(bins: Iterable[ReliabilityBin]) -> float:
    return sum(b.n_rows if b.n_rows is not None else (b.weight or 0.0) for b in bins)


def _merged(run: list[ReliabilityBin]) -> ReliabilityBin:
    if len(run) == 1:
        return run[0]
    weight = sum(b.weight or 0.0 for b in run)

    def mean(field: Callable[[ReliabilityBin], float | None]) -> float | None:
        parts = [(b.weight or 0.0, field(b)) for b in run if b.weight and field(b) is not None]
        total = sum(w for w, _ in parts)
        return sum(w * v for w, v in parts if v is not None) / total if total > 0 else None

    n_rows = [b.n_rows for b in run]
    return replace(
        run[0],
        bin_low=run[0].bin_low,
        bin_high=run[-1].bin_high,
        weight=weight,
        mean_score=mean(lambda b: b.mean_score),
        observed_rate=mean(lambda b: b.observed_rate),
        n_rows=None if None in n_rows else sum(n for n in n_rows if n is not None),
    )
