"""Result records from per-grouping arrays: metrics, disparities, tests, summaries, score tables.

The arithmetic is done on arrays in `assess`; this module chooses each interval's method, attaches
reasons to undefined values, corrects the tests for their number at the end, and assembles the
immutable `Assessment`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from audit.metrics import definitions as defs
from audit.metrics import intervals, scores, significance
from audit.metrics.disparities import (
    NAMED_DISPARITIES,
    SCORE_SUMMARY_MEASURES,
    SUMMARY_MEASURES,
    NamedDisparity,
    four_fifths,
)
from audit.stats.bootstrap import bootstrap_interval
from audit.stats.counts import GroupCounts
from audit.stats.grouping import Grouping, GroupTable, stack
from audit.stats.result import (
    Assessment,
    CiMethod,
    CrossAuc,
    Disparity,
    Group,
    MetricValue,
    ReliabilityBin,
    Settings,
    Summary,
    WorstGroup,
)

SCORE_METRICS = ("auc", "ece")
CALIBRATION_BINS = 10


def _opt(x: float | np.floating) -> float | None:
    return float(x) if np.isfinite(x) else None


def _opts(values: np.ndarray) -> list[float | None]:
    """Python floats, with None where undefined (NaN or infinite)."""
    return [x if math.isfinite(x) else None for x in values.tolist()]


def denominator_rows(n: np.ndarray, name: str) -> np.ndarray:
    """Rows (unweighted) each group's metric `name` rests on; `n` is (groups, y_true, y_pred).

    A rate's denominator cells; for AUC and balanced accuracy the smaller outcome class (both
    classes are needed); for the calibration error, the whole group.
    """
    if name in defs.RATES:
        return defs.RATES[name].parts(n)[1]
    if name in ("balanced_accuracy", "auc"):
        return np.minimum(n[:, 1, :].sum(-1), n[:, 0, :].sum(-1))
    return n.sum(axis=(1, 2))


class RecordBuilder:
    """Turns per-grouping arrays into result records, and corrects the tests at the end.

    Every value is made here from plain Python floats, ints and tuples; a round trip through JSON
    validates the records against their schema in the tests."""

    def __init__(self, settings: Settings, level: float) -> None:
        self.s = settings
        self.level = level
        self.groups: list[Group] = []
        self.metrics: list[MetricValue] = []
        self.disparities: list[dict[str, object]] = []
        self.summaries: list[Summary] = []
        self.worst: list[WorstGroup] = []
        self.cross_auc: list[CrossAuc] = []
        self.reliability: list[ReliabilityBin] = []
        self.overall: list[MetricValue] = []

    def add(self, g: Grouping) -> None:
        """The records that belong to one grouping: its groups, summaries, worst groups."""
        n_rows = g.n_rows
        reliable = n_rows >= self.s.min_group_size
        for i, levels in enumerate(g.levels):
            self.groups.append(
                Group(
                    attributes=g.attributes,
                    levels=levels,
                    n_rows=int(n_rows[i]),
                    weight=float(g.w[i].sum()),
                    reliable=bool(reliable[i]),
                    is_reference=i == g.ref,
                )
            )
        for name in self._metric_names(g.values):
            self._worst_group(g, name, self._reliable(n_rows, denominator_rows(g.n, name)))
        self._summaries(g)
        if g.hist is not None and len(g.attributes) == 1:
            self._score_tables(g)

    def _metric_names(self, values: dict[str, np.ndarray]) -> list[str]:
        """The metrics recorded: without an outcome, only those of the decisions alone (the
        others would be read off a constant outcome code, and an FPR equal to the selection
        rate would enter the family of tests twice)."""
        names = list(defs.METRIC_NAMES) + [m for m in SCORE_METRICS if m in values]
        if self.s.y_true is None:
            return [m for m in names if not defs.needs_outcome(m)]
        return names

    def _reliable(self, n_rows: np.ndarray, den_rows: np.ndarray) -> np.ndarray:
        """A group's metric is reliable when the group and the metric's denominator are large
        enough: a group of 500 with 3 people who have the outcome has no reliable TPR."""
        return (n_rows >= self.s.min_group_size) & (den_rows >= self.s.min_denominator)

    def add_comparisons(self, table: GroupTable) -> None:
        """Metric records for every group, and disparity records against each one's reference."""
        for name in self._metric_names(table.values):
            den_rows, n_eff = self._denominators(table, name)
            reliable = self._reliable(table.n_rows, den_rows)
            self._metric_rows(table, name, den_rows, n_eff, reliable)
            self._disparity_rows(table, name, den_rows, n_eff, reliable)
        for named in NAMED_DISPARITIES if self.s.y_true is not None else ():
            self._named_disparity_rows(table, named)

    def add_overall(self, g: Grouping) -> None:
        """Every metric of the whole population (`g` has one group and no attributes).

        The records are made exactly as a group's are, with the same choice of interval.
        """
        g.ref = 0
        table = stack([g])
        part = RecordBuilder(self.s, self.level)
        reliable = table.n_rows >= self.s.min_group_size
        for name in self._metric_names(table.values):
            den_rows, n_eff = part._denominators(table, name)
            part._metric_rows(table, name, den_rows, n_eff, reliable)
        self.overall = part.metrics

    # -- group metrics -------------------------------------------------------------------
    @staticmethod
    def _denominators(t: GroupTable, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Rows and effective size of each group's denominator for metric `name`.

        The effective size is given for rates only: they get analytic intervals and tests.
        """
        den_rows = denominator_rows(t.n, name)
        if name in defs.RATES:
            rate = defs.RATES[name]
            _, den_w = rate.parts(t.w)
            den_w2 = None if t.w2 is None else rate.parts(t.w2)[1]
            return den_rows, intervals.effective_n(den_w, den_w2)
        return den_rows, None

    def _metric_rows(
        self,
        t: GroupTable,
        name: str,
        den_rows: np.ndarray,
        n_eff: np.ndarray | None,
        reliable: np.ndarray,
    ) -> None:
        value = t.values[name]
        boot_ci = None
        if name in t.boot_values:
            boot_ci = bootstrap_interval(t.boot_values[name], value, self.level)[:2]
        wilson_ci = None if n_eff is None else intervals.wilson(value, n_eff, self.level)
        method, low, high = self._choose_ci(value, den_rows, boot_ci, wilson_ci, "wilson")
        reason = (
            "empty group"
            if name == "ece"
            else defs.UNDEFINED_REASONS.get(
                name, "the group lacks people with or without the outcome"
            )
        )
        rows = zip(
            t.attributes,
            t.levels,
            _opts(value),
            _opts(low),
            _opts(high),
            method,
            den_rows.tolist(),
            reliable.tolist(),
            strict=True,
        )
        for attributes, levels, v, lo, hi, m, dr, rel in rows:
            self.metrics.append(
                MetricValue(
                    attributes=attributes,
                    levels=levels,
                    metric=name,
                    value=v,
                    undefined_reason=None if v is not None else reason,
                    ci_low=lo,
                    ci_high=hi,
                    ci_method=m,
                    denominator_rows=int(dr),
                    reliable=rel,
                )
            )

    def _choose_ci(
        self,
        value: np.ndarray,
        den_rows: np.ndarray,
        boot: tuple[np.ndarray, np.ndarray] | None,
        analytic: tuple[np.ndarray, np.ndarray] | None,
        analytic_name: CiMethod,
        degenerate: np.ndarray | None = None,
    ) -> tuple[list[CiMethod], np.ndarray, np.ndarray]:
        """Per entry: the bootstrap where it is reliable, else the analytic interval.

        The analytic interval takes over for small denominators and for rates of exactly 0 or
        1, where every bootstrap replicate repeats the estimate and the interval looks certain.
        For a disparity, `degenerate` marks comparisons where either rate is 0 or 1.
        """
        finite = np.isfinite(value)
        if degenerate is None:
            degenerate = (value == 0) | (value == 1) if analytic_name == "wilson" else None
        small = den_rows < self.s.min_group_size
        if degenerate is not None:
            small = small | degenerate
        use_analytic = finite & (analytic is not None) & ((boot is None) | small)
        use_boot = finite & ~use_analytic & (boot is not None)
        nan = np.full(value.shape, np.nan)
        a_low, a_high = analytic if analytic is not None else (nan, nan)
        b_low, b_high = boot if boot is not None else (nan, nan)
        low = np.where(use_analytic, a_low, np.where(use_boot, b_low, np.nan))
        high = np.where(use_analytic, a_high, np.where(use_boot, b_high, np.nan))
        method: list[CiMethod] = [
            analytic_name if a else "bootstrap" if b else "none"
            for a, b in zip(use_analytic.tolist(), use_boot.tolist(), strict=True)
        ]
        return method, low, high

    # -- disparities ---------------------------------------------------------------------
    def _disparity_rows(
        self,
        t: GroupTable,
        name: str,
        den_rows: np.ndarray,
        n_eff: np.ndarray | None,
        reliable: np.ndarray,
    ) -> None:
        s, r = self.s, t.ref
        value = t.values[name]
        ref_value = value[r]
        diff = value - ref_value
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(ref_value != 0, value / ref_value, np.nan)
        boot = t.boot_values.get(name)
        diff_boot = ratio_boot = None
        boot_se = None
        if boot is not None:
            boot_diff = boot - boot[:, r]
            with np.errstate(invalid="ignore", divide="ignore"):
                boot_ratio = np.where(boot[:, r] != 0, boot / boot[:, r], np.nan)
            diff_boot = bootstrap_interval(boot_diff, diff, self.level)[:2]
            ratio_boot = bootstrap_interval(boot_ratio, ratio, self.level)[:2]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # undefined in every replicate
                boot_se = np.nanstd(boot_diff, axis=0, ddof=1) if boot.shape[0] > 1 else None
        nan = np.full(value.shape, np.nan)
        mde = nan
        diff_analytic = ratio_analytic = None
        if n_eff is not None:  # a rate: score intervals, a two-proportion test and power
            ref_n = n_eff[r]
            diff_analytic = intervals.newcombe(value, n_eff, ref_value, ref_n, self.level)
            ratio_analytic = intervals.katz(value, n_eff, ref_value, ref_n, self.level)
            p = significance.two_proportion_test(
                value, n_eff, ref_value, ref_n, margin=s.test_margin
            )
            mde = significance.minimum_detectable_difference(
                ref_value, n_eff, ref_n, alpha=s.alpha, power=s.power
            )
        elif boot_se is not None:
            p = significance.wald_test(diff, boot_se, margin=s.test_margin)
        else:
            p = nan
        if not (name in defs.TESTED_METRICS or name == "auc"):
            p = nan
        small_den = np.minimum(den_rows, den_rows[r])
        # A rate of exactly 0 or 1 on either side makes every replicate agree on it.
        edge = None
        if n_eff is not None:
            edge = np.isin(value, (0.0, 1.0)) | np.isin(
                np.broadcast_to(ref_value, value.shape), (0.0, 1.0)
            )
        diff_ci = self._choose_ci(diff, small_den, diff_boot, diff_analytic, "newcombe", edge)
        ratio_ci = self._choose_ci(ratio, small_den, ratio_boot, ratio_analytic, "katz", edge)
        both_reliable = (reliable & reliable[r]).tolist()
        why = self._why_undefined(name, value, ref_value)
        ratio_why = [
            "the reference group's value is 0" if d == d and q != q else w
            for d, q, w in zip(diff.tolist(), ratio.tolist(), why, strict=True)
        ]
        is_reference = (r == np.arange(len(r))).tolist()
        reference_levels = [t.levels[i] for i in r.tolist()]
        for kind, v, (method, low, high), reasons, p_values, detectable in (
            ("difference", diff, diff_ci, why, _opts(p), _opts(mde)),
            ("ratio", ratio, ratio_ci, ratio_why, [None] * len(value), [None] * len(value)),
        ):
            rows = zip(
                is_reference,
                t.attributes,
                t.levels,
                reference_levels,
                _opts(v),
                reasons,
                _opts(low),
                _opts(high),
                method,
                p_values,
                detectable,
                both_reliable,
                strict=True,
            )
            for own, attrs, levels, ref_levels, val, reason, lo, hi, m, pv, det, rel in rows:
                if own:  # the reference group is not compared with itself
                    continue
                self.disparities.append(
                    dict(
                        attributes=attrs,
                        levels=levels,
                        reference_levels=ref_levels,
                        metric=name,
                        kind=kind,
                        value=val,
                        undefined_reason=None if val is not None else reason,
                        ci_low=lo,
                        ci_high=hi,
                        ci_method=m,
                        p_value=pv,
                        detectable=det,
                        reliable=rel,
                    )
                )

    def _named_disparity_rows(self, t: GroupTable, named: NamedDisparity) -> None:
        """aif360's composite disparities (average odds difference and the like).

        Their intervals come from the bootstrap; they carry no test, so they stay out of the
        family of corrected tests (their components, the TPR and FPR gaps, are tested already).
        One is reliable where every component is, in the group and in its reference.
        """
        r = t.ref
        reliable = np.logical_and.reduce(
            [self._reliable(t.n_rows, denominator_rows(t.n, c)) for c in named.components]
        )
        value = named.value(t.values, r)
        low, high = self._named_interval(t, named)
        why = [
            next((w for w in reasons if w is not None), None)
            for reasons in zip(
                *(self._why_undefined(c, t.values[c], t.values[c][r]) for c in named.components),
                strict=True,
            )
        ]
        rows = zip(
            t.attributes,
            t.levels,
            r.tolist(),
            _opts(value),
            why,
            _opts(low),
            _opts(high),
            (reliable & reliable[r]).tolist(),
            strict=True,
        )
        for i, (attrs, levels, ref, val, reason, lo, hi, rel) in enumerate(rows):
            if i == ref:
                continue
            has_ci = val is not None and lo is not None and hi is not None
            self.disparities.append(
                dict(
                    attributes=attrs,
                    levels=levels,
                    reference_levels=t.levels[ref],
                    metric=named.name,
                    kind="difference",
                    value=val,
                    undefined_reason=None if val is not None else reason,
                    ci_low=lo if has_ci else None,
                    ci_high=hi if has_ci else None,
                    ci_method="bootstrap" if has_ci else "none",
                    p_value=None,
                    detectable=None,
                    reliable=rel,
                )
            )

    def _named_interval(
        self, t: GroupTable, named: NamedDisparity
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap interval of a mean of gaps; NaN without replicates.

        A mean of absolute gaps is not smooth at 0: near equality its replicates all lie above
        the estimate, and their percentile interval can miss it. Its interval is instead the
        range of the mean over the components' own intervals (each at level 1 - alpha / m, so
        that all m hold together), which contains the estimate whenever they contain theirs.
        """
        nan = np.full(len(t.levels), np.nan)
        if not all(c in t.boot_values for c in named.components):
            return nan, nan.copy()
        if not named.absolute:
            estimate = named.value(t.values, t.ref)
            low, high, _ = bootstrap_interval(
                named.value(t.boot_values, t.ref), estimate, self.level
            )
            return low, high
        m = len(named.components)
        level = 1 - (1 - self.level) / m
        low, high = np.zeros(len(t.levels)), np.zeros(len(t.levels))
        gaps = named.gaps(t.values, t.ref)
        for gap, boot_gap in zip(gaps, named.gaps(t.boot_values, t.ref), strict=True):
            lo, hi, _ = bootstrap_interval(boot_gap, gap, level)
            straddles = (lo <= 0) & (hi >= 0)
            low += np.where(straddles, 0.0, np.minimum(np.abs(lo), np.abs(hi))) / m
            high += np.maximum(np.abs(lo), np.abs(hi)) / m
        return low, high

    @staticmethod
    def _why_undefined(name: str, value: np.ndarray, ref_value: np.ndarray) -> list[str | None]:
        """Why each group's disparity is undefined: its own value, or its reference's."""
        reason = defs.UNDEFINED_REASONS.get(
            name, "the group lacks people with or without the outcome"
        )
        return [
            reason if v != v else f"reference group: {reason}" if q != q else None
            for v, q in zip(value.tolist(), ref_value.tolist(), strict=True)
        ]

    def _worst_group(self, g: Grouping, name: str, reliable: np.ndarray) -> None:
        """The group furthest from its reference on a tested metric, among reliable comparisons.

        `reliable` is per group for this metric; a comparison needs it for the group and its
        reference. Without any reliable comparison there is no worst group: a tiny or degenerate
        group is never put forward.
        """
        if name not in defs.TESTED_METRICS and name != "auc":
            return
        if not reliable[g.ref]:
            return
        diff = g.values[name] - g.values[name][g.ref]
        candidates = [
            i for i in range(len(g.levels)) if i != g.ref and np.isfinite(diff[i]) and reliable[i]
        ]
        if not candidates:
            return
        i = max(candidates, key=lambda j: abs(diff[j]))
        self.worst.append(
            WorstGroup(
                attributes=g.attributes,
                levels=g.levels[i],
                metric=name,
                difference=float(diff[i]),
                reliable=bool(reliable[i]),
            )
        )

    # -- summaries and score tables ------------------------------------------------------
    def _summaries(self, g: Grouping) -> None:
        measures = SUMMARY_MEASURES + (SCORE_SUMMARY_MEASURES if "auc" in g.values else ())
        if self.s.y_true is None:
            measures = tuple(m for m in measures if not m.needs_outcome)
        for measure in measures:
            value = measure.compute(g.values)
            low = high = None
            if g.boot_values:
                replicates = measure.compute(g.boot_values)[:, None]
                lo, hi, _ = bootstrap_interval(replicates, np.array([value]), self.level)
                low, high = _opt(lo[0]), _opt(hi[0])
            self.summaries.append(
                Summary(
                    attributes=g.attributes,
                    measure=measure.name,
                    value=_opt(float(value)),
                    ci_low=low,
                    ci_high=high,
                )
            )
        ratio, below = four_fifths(g.values["selection_rate"])
        names = [" × ".join(g.levels[i]) for i in np.flatnonzero(below)]
        self.summaries.append(
            Summary(
                attributes=g.attributes,
                measure="four_fifths_rule",
                value=_opt(ratio),
                passed=None if not np.isfinite(ratio) else not names,
                detail=("below 4/5 of the highest selection rate: " + ", ".join(names))
                if names
                else None,
            )
        )

    def _score_tables(self, g: Grouping) -> None:
        assert g.hist is not None and g.score_sum is not None
        matrix = scores.cross_auc(g.hist)
        for a, pos in enumerate(g.levels):
            for b, neg in enumerate(g.levels):
                self.cross_auc.append(
                    CrossAuc(
                        attributes=g.attributes,
                        positive_levels=pos,
                        negative_levels=neg,
                        value=_opt(matrix[a, b]),
                    )
                )
        weight, mean_score, observed = scores.reliability(g.hist, g.score_sum, CALIBRATION_BINS)
        hist_n = g.hist if g.hist_n is None else g.hist_n
        rows = scores.rebin(hist_n, CALIBRATION_BINS).sum(axis=-2)  # people per bin
        edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
        for i, levels in enumerate(g.levels):
            for b in range(CALIBRATION_BINS):
                self.reliability.append(
                    ReliabilityBin(
                        attributes=g.attributes,
                        levels=levels,
                        bin_low=float(edges[b]),
                        bin_high=float(edges[b + 1]),
                        weight=float(weight[i, b]),
                        mean_score=_opt(mean_score[i, b]),
                        observed_rate=_opt(observed[i, b]),
                        n_rows=round(float(rows[i, b])),
                    )
                )

    def finish(self, counts: GroupCounts) -> Assessment:
        p = np.array([d["p_value"] for d in self.disparities], dtype=np.float64)  # None -> NaN
        # Unreliable comparisons keep their p-value but stay out of the family: a tiny group's
        # test neither headlines nor dilutes the correction of the tests that decide.
        reliable = np.array([bool(d["reliable"]) for d in self.disparities], dtype=bool)
        adjusted = significance.adjust(np.where(reliable, p, np.nan), self.s.correction)
        significant = (adjusted < self.s.alpha).tolist()
        disparities = [
            Disparity(**d, p_adjusted=q, significant=None if q is None else sig)  # type: ignore[arg-type]
            for d, q, sig in zip(self.disparities, _opts(adjusted), significant, strict=True)
        ]
        notes = []
        if self.s.y_true is None:
            notes.append(
                "no outcome column: only the decisions are audited (selection rates, their "
                "gaps, summaries and conditional comparisons); error rates, calibration and AUC "
                "need an observed outcome"
            )
        if counts.weighted:
            notes.append(
                "weighted counts; the bootstrap draws each cell's weights with their mean and "
                "spread (score histograms: with their mean only)"
            )
        return Assessment(
            settings=self.s,
            n_rows=counts.n_rows,
            total_weight=float(counts.w.sum()),
            groups=tuple(self.groups),
            metrics=tuple(self.metrics),
            overall=tuple(self.overall),
            disparities=tuple(disparities),
            summaries=tuple(self.summaries),
            worst_groups=tuple(self.worst),
            cross_auc=tuple(self.cross_auc),
            reliability=tuple(self.reliability),
            notes=tuple(notes),
        )
