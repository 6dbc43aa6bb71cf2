"""Result records from per-grouping arrays: metrics, disparities, tests, summaries, score tables.

The arithmetic is done on arrays in `assess`; this module chooses each interval's method, attaches
reasons to undefined values, corrects the tests for their number at the end, and assembles the
immutable `Assessment`.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from audit.metrics import definitions as defs
from audit.metrics import intervals, scores, significance
from audit.metrics.disparities import SCORE_SUMMARY_MEASURES, SUMMARY_MEASURES, four_fifths
from audit.stats.bootstrap import percentile_interval
from audit.stats.counts import GroupCounts
from audit.stats.grouping import Grouping
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

    def add(self, g: Grouping) -> None:
        s = self.s
        n_rows = g.n_rows
        reliable = n_rows >= s.min_group_size
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
        names = list(defs.METRIC_NAMES) + [m for m in SCORE_METRICS if m in g.values]
        for name in names:
            self._metric_rows(g, name, reliable)
        self._summaries(g)
        if g.hist is not None and len(g.attributes) == 1:
            self._score_tables(g)

    # -- group metrics -------------------------------------------------------------------
    def _denominators(self, g: Grouping, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """Rows and effective size of each group's denominator for metric `name`."""
        if name in defs.RATES:
            rate = defs.RATES[name]
            _, den_rows = rate.parts(g.n)
            _, den_w = rate.parts(g.w)
            den_w2 = None if g.w2 is None else rate.parts(g.w2)[1]
            return den_rows, intervals.effective_n(den_w, den_w2)
        if name == "balanced_accuracy":
            return np.minimum(g.n[:, 1, :].sum(-1), g.n[:, 0, :].sum(-1)), None
        if name == "auc" and g.hist is not None:
            return np.minimum(g.n[:, 1, :].sum(-1), g.n[:, 0, :].sum(-1)), None
        return g.n.sum(axis=(1, 2)), None

    def _metric_rows(self, g: Grouping, name: str, reliable: np.ndarray) -> None:
        value = g.values[name]
        den_rows, n_eff = self._denominators(g, name)
        boot_low = boot_high = None
        if name in g.boot_values:
            boot_low, boot_high, _ = percentile_interval(g.boot_values[name], self.level)
        wil_low = wil_high = None
        if n_eff is not None:
            wil_low, wil_high = intervals.wilson(value, n_eff, self.level)
        reason = defs.UNDEFINED_REASONS.get(name, "no one in the group has both outcomes")
        if name == "ece":
            reason = "empty group"
        for i, levels in enumerate(g.levels):
            v = value[i]
            method, low, high = self._choose_ci(
                v, den_rows[i], boot_low, boot_high, wil_low, wil_high, i, analytic="wilson"
            )
            self.metrics.append(
                MetricValue(
                    attributes=g.attributes,
                    levels=levels,
                    metric=name,
                    value=_opt(v),
                    undefined_reason=None if np.isfinite(v) else reason,
                    ci_low=low,
                    ci_high=high,
                    ci_method=method,
                    denominator_rows=int(den_rows[i]),
                    reliable=bool(reliable[i]),
                )
            )
        self._disparity_rows(g, name, den_rows, n_eff, reliable)

    def _choose_ci(
        self,
        v: float,
        den_rows: float,
        boot_low: np.ndarray | None,
        boot_high: np.ndarray | None,
        a_low: np.ndarray | None,
        a_high: np.ndarray | None,
        i: int,
        *,
        analytic: CiMethod,
    ) -> tuple[CiMethod, float | None, float | None]:
        """Bootstrap where it is reliable; the analytic interval for small or extreme groups."""
        if not np.isfinite(v):
            return "none", None, None
        degenerate = analytic == "wilson" and v in (0.0, 1.0)
        small = den_rows < self.s.min_group_size
        if a_low is not None and a_high is not None and (boot_low is None or small or degenerate):
            return analytic, _opt(a_low[i]), _opt(a_high[i])
        if boot_low is not None and boot_high is not None:
            return "bootstrap", _opt(boot_low[i]), _opt(boot_high[i])
        return "none", None, None

    # -- disparities ---------------------------------------------------------------------
    def _disparity_rows(
        self,
        g: Grouping,
        name: str,
        den_rows: np.ndarray,
        n_eff: np.ndarray | None,
        reliable: np.ndarray,
    ) -> None:
        s, r = self.s, g.ref
        value = g.values[name]
        ref_value = value[r]
        diff = value - ref_value
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(ref_value != 0, value / ref_value, np.nan)
        boot = g.boot_values.get(name)
        d_low = d_high = q_low = q_high = None
        boot_se = None
        if boot is not None:
            boot_diff = boot - boot[:, [r]]
            with np.errstate(invalid="ignore", divide="ignore"):
                boot_ratio = np.where(boot[:, [r]] != 0, boot / boot[:, [r]], np.nan)
            d_low, d_high, _ = percentile_interval(boot_diff, self.level)
            q_low, q_high, _ = percentile_interval(boot_ratio, self.level)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # undefined in every replicate
                boot_se = np.nanstd(boot_diff, axis=0, ddof=1) if boot.shape[0] > 1 else None
        mde: np.ndarray | None = None
        n_l: np.ndarray | None = None
        n_h: np.ndarray | None = None
        k_l: np.ndarray | None = None
        k_h: np.ndarray | None = None
        if n_eff is not None:  # a rate: score intervals, a two-proportion test and power
            n_l, n_h = intervals.newcombe(value, n_eff, ref_value, n_eff[r], self.level)
            k_l, k_h = intervals.katz(value, n_eff, ref_value, n_eff[r], self.level)
            p = significance.two_proportion_test(
                value, n_eff, ref_value, n_eff[r], margin=s.test_margin
            )
            mde = significance.minimum_detectable_difference(
                np.full_like(value, ref_value),
                n_eff,
                np.full_like(value, n_eff[r]),
                alpha=s.alpha,
                power=s.power,
            )
        else:
            p = (
                significance.wald_test(diff, boot_se, margin=s.test_margin)
                if boot_se is not None
                else np.full_like(value, np.nan)
            )
        tested = name in defs.TESTED_METRICS or name == "auc"
        for i, levels in enumerate(g.levels):
            if i == r:
                continue
            small_den = min(den_rows[i], den_rows[r])
            why = self._why_undefined(name, value[i], ref_value)
            rows: list[tuple[str, float, Any, Any, Any, Any, CiMethod]] = [
                ("difference", diff[i], d_low, d_high, n_l, n_h, "newcombe"),
                ("ratio", ratio[i], q_low, q_high, k_l, k_h, "katz"),
            ]
            for kind, v, b_lo, b_hi, a_lo, a_hi, method_name in rows:
                method, low, high = self._choose_ci(
                    v, small_den, b_lo, b_hi, a_lo, a_hi, i, analytic=method_name
                )
                if kind == "ratio" and np.isfinite(diff[i]) and not np.isfinite(v):
                    why_row: str | None = "the reference group's value is 0"
                else:
                    why_row = why if not np.isfinite(v) else None
                self.disparities.append(
                    dict(
                        attributes=g.attributes,
                        levels=levels,
                        reference_levels=g.levels[r],
                        metric=name,
                        kind=kind,
                        value=_opt(v),
                        undefined_reason=why_row,
                        ci_low=low,
                        ci_high=high,
                        ci_method=method,
                        p_value=_opt(p[i]) if kind == "difference" and tested else None,
                        detectable=_opt(mde[i])
                        if (kind == "difference" and mde is not None)
                        else None,
                        reliable=bool(reliable[i] and reliable[r]),
                    )
                )
        self._worst_group(g, name, diff, reliable)

    @staticmethod
    def _why_undefined(name: str, v: float, ref_value: float) -> str | None:
        reason = defs.UNDEFINED_REASONS.get(
            name, "the group lacks people with or without the outcome"
        )
        if not np.isfinite(v):
            return reason
        if not np.isfinite(ref_value):
            return f"reference group: {reason}"
        return None

    def _worst_group(self, g: Grouping, name: str, diff: np.ndarray, reliable: np.ndarray) -> None:
        if name not in defs.TESTED_METRICS and name != "auc":
            return
        candidates = [i for i in range(len(g.levels)) if i != g.ref and np.isfinite(diff[i])]
        preferred = [i for i in candidates if reliable[i]] or candidates
        if not preferred:
            return
        i = max(preferred, key=lambda j: abs(diff[j]))
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
        for measure in measures:
            value = measure.compute(g.values)
            low = high = None
            if g.boot_values:
                lo, hi, _ = percentile_interval(measure.compute(g.boot_values)[:, None], self.level)
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
                    )
                )

    def finish(self, counts: GroupCounts) -> Assessment:
        p = np.array([np.nan if d["p_value"] is None else d["p_value"] for d in self.disparities])
        adjusted = significance.adjust(p, self.s.correction)
        disparities = []
        for d, q in zip(self.disparities, adjusted, strict=True):
            d["p_adjusted"] = _opt(q)
            d["significant"] = None if not np.isfinite(q) else bool(q < self.s.alpha)
            disparities.append(Disparity(**d))  # type: ignore[arg-type]
        notes = []
        if counts.weighted:
            notes.append("weighted counts; bootstrap keeps each cell's mean weight")
        return Assessment(
            settings=self.s,
            n_rows=counts.n_rows,
            total_weight=float(counts.w.sum()),
            groups=tuple(self.groups),
            metrics=tuple(self.metrics),
            disparities=tuple(disparities),
            summaries=tuple(self.summaries),
            worst_groups=tuple(self.worst),
            cross_auc=tuple(self.cross_auc),
            reliability=tuple(self.reliability),
            notes=tuple(notes),
        )
