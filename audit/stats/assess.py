"""`assess`: from a decisions table to an `Assessment`, through the count arrays only.

The flow reads top to bottom: encode and validate the columns, count once, resample the counts,
then for each grouping (attribute alone or intersection) compute metrics, disparities against its
reference group, intervals and tests, and finally correct the tests for their number.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from audit.errors import AuditInputError
from audit.metrics import definitions as defs
from audit.metrics import intervals, scores, significance
from audit.metrics.disparities import (
    SCORE_SUMMARY_MEASURES,
    SUMMARY_MEASURES,
    ReferenceRule,
    choose_reference,
    four_fifths,
)
from audit.stats.bootstrap import BootstrapKind, percentile_interval, resample
from audit.stats.counts import DEFAULT_SCORE_BINS, GroupCounts, count_groups
from audit.stats.encoding import encode_table
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
BOOTSTRAP_SCORE_BINS = 50  # score histograms are resampled on a coarser grid to stay fast


def assess(
    data: pd.DataFrame,
    *,
    y_true: str,
    y_pred: str,
    groups: Sequence[str],
    score: str | None = None,
    weight: str | None = None,
    pos_label: object | None = None,
    intersections: int = 1,
    reference: Mapping[str, str] | None = None,
    reference_rule: ReferenceRule = "largest",
    n_boot: int = 1000,
    bootstrap: BootstrapKind = "multinomial",
    seed: int = 0,
    alpha: float = 0.05,
    correction: significance.Correction = "holm",
    test_margin: float = 0.0,
    min_group_size: int = 30,
    power: float = 0.8,
    score_bins: int = DEFAULT_SCORE_BINS,
) -> Assessment:
    """Group metrics, disparities, intervals and corrected tests for a table of decisions.

    `intersections` is the highest order of attribute combinations examined: 1 for each attribute
    alone, 2 adds every pair, 3 every triple. `reference` maps an attribute to its reference level;
    other attributes get one by `reference_rule`.

    >>> df = pd.DataFrame({"y": [1, 0, 1, 0] * 25, "d": [1, 0, 0, 0] * 25,
    ...                    "homeless": ["no", "no", "yes", "yes"] * 25})
    >>> result = assess(df, y_true="y", y_pred="d", groups=["homeless"], n_boot=0)
    >>> result.metric("tpr", ("homeless",), ("yes",)).value
    0.0
    """
    settings = make_settings(
        y_true=y_true,
        y_pred=y_pred,
        score=score,
        weight=weight,
        groups=tuple(groups),
        intersections=intersections,
        reference=dict(reference or {}),
        reference_rule=reference_rule,
        n_boot=n_boot,
        bootstrap=bootstrap,
        seed=seed,
        alpha=alpha,
        correction=correction,
        test_margin=test_margin,
        min_group_size=min_group_size,
        power=power,
        score_bins=score_bins,
    )
    encoded = encode_table(
        data,
        y_true=y_true,
        y_pred=y_pred,
        groups=groups,
        score=score,
        weight=weight,
        pos_label=pos_label,
    )
    counts = count_groups(encoded, score_bins=score_bins)
    return assess_counts(counts, settings)


def make_settings(**values: object) -> Settings:
    """Validates the options, turning pydantic's report into one clear input error."""
    try:
        settings = Settings.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        raise AuditInputError(
            f"option {'.'.join(map(str, first['loc']))}",
            expected=first["msg"].lower(),
            found=repr(first.get("input")),
            fix="see `audit assess --help` for the accepted values",
        ) from None
    checks = [
        (settings.n_boot >= 0, "n_boot", "a number of replicates >= 0", settings.n_boot),
        (0 < settings.alpha < 0.5, "alpha", "a level between 0 and 0.5", settings.alpha),
        (0 < settings.power < 1, "power", "a probability between 0 and 1", settings.power),
        (settings.min_group_size >= 1, "min_group_size", "at least 1", settings.min_group_size),
        (
            1 <= settings.intersections <= max(len(settings.groups), 1),
            "intersections",
            f"an order from 1 to the number of attributes ({len(settings.groups)})",
            settings.intersections,
        ),
        (settings.test_margin >= 0, "test_margin", "a margin >= 0", settings.test_margin),
        (settings.score_bins >= 10, "score_bins", "at least 10 bins", settings.score_bins),
    ]
    for ok, name, expected, found in checks:
        if not ok:
            raise AuditInputError(
                f"option {name}", expected=expected, found=repr(found), fix=f"pass a valid {name}"
            )
    unknown = set(settings.reference) - set(settings.groups)
    if unknown:
        raise AuditInputError(
            "reference groups",
            expected=f"references for the group columns {list(settings.groups)}",
            found=f"references for {sorted(unknown)}",
            fix="name the reference as COLUMN=LEVEL for one of the group columns",
        )
    return settings


@dataclass
class _Grouping:
    """One attribute or intersection: its live groups and their count arrays."""

    keep: tuple[int, ...]
    attributes: tuple[str, ...]
    levels: list[tuple[str, ...]]
    n: np.ndarray  # (G, 2, 2) rows
    w: np.ndarray  # (G, 2, 2) weights
    w2: np.ndarray | None
    boot: np.ndarray | None  # (B, G, 2, 2)
    hist: np.ndarray | None = None  # (G, 2, bins)
    score_sum: np.ndarray | None = None
    boot_hist: np.ndarray | None = None  # (B, G, 2, coarse bins)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    boot_values: dict[str, np.ndarray] = field(default_factory=dict)
    ref: int = 0

    @property
    def n_rows(self) -> np.ndarray:
        return self.n.sum(axis=(1, 2))


def _groupings(counts: GroupCounts, order: int) -> list[tuple[int, ...]]:
    k = len(counts.attributes)
    return [c for r in range(1, order + 1) for c in itertools.combinations(range(k), r)]


def _slice_grouping(
    counts: GroupCounts,
    keep: tuple[int, ...],
    boot: np.ndarray | None,
    boot_hist: np.ndarray | None,
) -> _Grouping:
    n = counts.marginal(counts.n, keep)
    group_shape = n.shape[: len(keep)]
    flat = int(np.prod(group_shape))
    n = n.reshape(flat, 2, 2)
    live = np.flatnonzero(n.sum(axis=(1, 2)) > 0)  # an empty intersection is not a group

    def cut(array: np.ndarray | None, lead: int = 0) -> np.ndarray | None:
        if array is None:
            return None
        out = counts.marginal(array, keep, lead=lead)
        out = out.reshape((*out.shape[:lead], flat, *out.shape[lead + len(keep) :]))
        return out[(slice(None),) * lead + (live,)]

    all_levels = list(itertools.product(*(counts.levels[a] for a in keep)))
    return _Grouping(
        keep=keep,
        attributes=tuple(counts.attributes[a] for a in keep),
        levels=[all_levels[i] for i in live],
        n=n[live],
        w=cut(counts.w),  # type: ignore[arg-type]
        w2=cut(counts.w2),
        boot=cut(boot, lead=1),
        hist=cut(counts.score_hist),
        score_sum=cut(counts.score_sum),
        boot_hist=cut(boot_hist, lead=1),
    )


def _score_values(g: _Grouping, coarse: int) -> None:
    """AUC and calibration error per group, point estimates and replicates."""
    if g.hist is None or g.score_sum is None:
        return
    g.values["auc"] = scores.auc(g.hist)
    g.values["ece"] = scores.expected_calibration_error(g.hist, g.score_sum, CALIBRATION_BINS)
    if g.boot_hist is not None:
        # Replicates use the coarse grid; shifting them by the binning offset of the point
        # estimate keeps the interval centred on the fine-grid AUC.
        offset = g.values["auc"] - scores.auc(scores.rebin(g.hist, coarse))
        g.boot_values["auc"] = scores.auc(g.boot_hist) + offset
        # Score sums are resampled with their cells: each coarse bin keeps its mean score.
        coarse_hist = scores.rebin(g.hist, coarse).sum(axis=-2)
        coarse_sum = scores.rebin(g.score_sum, coarse)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_score = np.where(coarse_hist > 0, coarse_sum / coarse_hist, 0.0)
        boot_sum = g.boot_hist.sum(axis=-2) * mean_score
        g.boot_values["ece"] = scores.expected_calibration_error(
            g.boot_hist, boot_sum, CALIBRATION_BINS
        )


def assess_counts(counts: GroupCounts, settings: Settings) -> Assessment:
    """The engine-independent half of `assess`: everything after the counting pass."""
    level = 1 - settings.alpha
    conf_rng, score_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(settings.seed).spawn(2)
    )
    k = len(counts.attributes)
    boot = boot_hist = None
    coarse = _coarse_bins(counts.score_bins)
    if settings.n_boot > 0:
        boot = resample(
            counts.n,
            counts.w,
            n_boot=settings.n_boot,
            rng=conf_rng,
            kind=settings.bootstrap,
            group_axes=k,
        )
        if counts.score_hist is not None and counts.score_hist_n is not None:
            boot_hist = resample(
                scores.rebin(counts.score_hist_n, coarse),
                scores.rebin(counts.score_hist, coarse),
                n_boot=settings.n_boot,
                rng=score_rng,
                kind=settings.bootstrap,
                group_axes=k,
            )

    builder = _RecordBuilder(settings, level)
    for keep in _groupings(counts, settings.intersections):
        g = _slice_grouping(counts, keep, boot, boot_hist)
        g.values = defs.confusion_metrics(g.w)
        if g.boot is not None:
            g.boot_values = defs.confusion_metrics(g.boot)
        _score_values(g, coarse)
        g.ref = _reference_index(g, counts, settings)
        builder.add(g)
    return builder.finish(counts)


def _coarse_bins(resolution: int) -> int:
    return min(BOOTSTRAP_SCORE_BINS, resolution)


def _reference_index(g: _Grouping, counts: GroupCounts, settings: Settings) -> int:
    explicit: tuple[str, ...] | None = None
    if all(a in settings.reference for a in g.attributes):
        explicit = tuple(str(settings.reference[a]) for a in g.attributes)
        if len(g.attributes) > 1 and explicit not in g.levels:
            explicit = None  # the references' intersection is empty: fall back to the rule
    reliable = g.n_rows >= settings.min_group_size
    del counts
    return choose_reference(
        g.levels,
        g.w.sum(axis=(1, 2)),
        g.values["selection_rate"],
        reliable,
        rule=settings.reference_rule,
        explicit=explicit,
    )


def _opt(x: float | np.floating) -> float | None:
    return float(x) if np.isfinite(x) else None


class _RecordBuilder:
    """Turns per-grouping arrays into result records, and corrects the tests at the end.

    Records are built with `model_construct`: every value is made here from plain Python floats,
    ints and tuples, so re-validating thousands of them would only cost time (a round trip through
    JSON validates them in the tests)."""

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

    def add(self, g: _Grouping) -> None:
        s = self.s
        n_rows = g.n_rows
        reliable = n_rows >= s.min_group_size
        for i, levels in enumerate(g.levels):
            self.groups.append(
                Group.model_construct(
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
    def _denominators(self, g: _Grouping, name: str) -> tuple[np.ndarray, np.ndarray | None]:
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

    def _metric_rows(self, g: _Grouping, name: str, reliable: np.ndarray) -> None:
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
                MetricValue.model_construct(
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
        g: _Grouping,
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

    def _worst_group(self, g: _Grouping, name: str, diff: np.ndarray, reliable: np.ndarray) -> None:
        if name not in defs.TESTED_METRICS and name != "auc":
            return
        candidates = [i for i in range(len(g.levels)) if i != g.ref and np.isfinite(diff[i])]
        preferred = [i for i in candidates if reliable[i]] or candidates
        if not preferred:
            return
        i = max(preferred, key=lambda j: abs(diff[j]))
        self.worst.append(
            WorstGroup.model_construct(
                attributes=g.attributes,
                levels=g.levels[i],
                metric=name,
                difference=float(diff[i]),
                reliable=bool(reliable[i]),
            )
        )

    # -- summaries and score tables ------------------------------------------------------
    def _summaries(self, g: _Grouping) -> None:
        measures = SUMMARY_MEASURES + (SCORE_SUMMARY_MEASURES if "auc" in g.values else ())
        for measure in measures:
            value = measure.compute(g.values)
            low = high = None
            if g.boot_values:
                lo, hi, _ = percentile_interval(measure.compute(g.boot_values)[:, None], self.level)
                low, high = _opt(lo[0]), _opt(hi[0])
            self.summaries.append(
                Summary.model_construct(
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
            Summary.model_construct(
                attributes=g.attributes,
                measure="four_fifths_rule",
                value=_opt(ratio),
                passed=None if not np.isfinite(ratio) else not names,
                detail=("below 4/5 of the highest selection rate: " + ", ".join(names))
                if names
                else None,
            )
        )

    def _score_tables(self, g: _Grouping) -> None:
        assert g.hist is not None and g.score_sum is not None
        matrix = scores.cross_auc(g.hist)
        for a, pos in enumerate(g.levels):
            for b, neg in enumerate(g.levels):
                self.cross_auc.append(
                    CrossAuc.model_construct(
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
                    ReliabilityBin.model_construct(
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
            disparities.append(Disparity.model_construct(**d))  # type: ignore[arg-type]
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
