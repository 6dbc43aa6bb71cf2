"""`assess`: from a decisions table to an `Assessment`, through the count arrays only.

The flow reads top to bottom: encode and validate the columns, count once, resample the counts,
then for each grouping (attribute alone or intersection) compute metrics, disparities against its
reference group, intervals and tests, and finally correct the tests for their number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from pydantic import ValidationError

from audit.errors import AuditInputError
from audit.metrics import definitions as defs
from audit.metrics import intervals, scores, significance
from audit.metrics.conditional import (
    CONDITIONAL_METRICS,
    conditional_difference,
    delta_standard_error,
)
from audit.metrics.disparities import ReferenceRule, choose_reference
from audit.stats.bootstrap import BootstrapKind, bootstrap_interval, resample
from audit.stats.counts import DEFAULT_SCORE_BINS, GroupCounts, count_groups
from audit.stats.encoding import EncodedInput, encode_table
from audit.stats.grouping import Grouping, groupings, slice_grouping, stack
from audit.stats.records import CALIBRATION_BINS, RecordBuilder
from audit.stats.result import Assessment, ConditionalCiMethod, ConditionalDisparity, Settings

BOOTSTRAP_SCORE_BINS = 50  # score histograms are resampled on a coarser grid to stay fast
# Conditional bootstrap replicates are drawn in batches of at most this many cells (8 bytes each).
BOOT_BATCH_CELLS = 4_000_000


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
    min_denominator: int = 10,
    power: float = 0.8,
    score_bins: int = DEFAULT_SCORE_BINS,
    legitimate_factors: Sequence[str] = (),
) -> Assessment:
    """Group metrics, disparities, intervals and corrected tests for a table of decisions.

    `intersections` is the highest order of attribute combinations examined: 1 for each attribute
    alone, 2 adds every pair, 3 every triple. `reference` maps an attribute to its reference level;
    other attributes get one by `reference_rule`.

    A metric is `reliable` for a group of at least `min_group_size` rows whose metric
    denominator (people with the outcome for the TPR, the smaller class for AUC) has at least
    `min_denominator` rows; a disparity when the metric is reliable for the group and its
    reference. Only reliable disparities enter the multiple-comparison correction; the others
    keep their p-value with `p_adjusted` and `significant` None.

    `legitimate_factors` are columns that may legitimately affect the decision (education,
    region): each attribute's groups are then also compared with their reference among people in
    the same stratum of those factors (`Assessment.conditional`). The other results do not change.

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
        min_denominator=min_denominator,
        power=power,
        score_bins=score_bins,
        legitimate_factors=tuple(legitimate_factors),
    )
    factors = settings.legitimate_factors
    _check_factor_names(data, settings.groups, factors)
    encoded = encode_table(
        data,
        y_true=y_true,
        y_pred=y_pred,
        groups=[*groups, *factors] if groups else groups,  # no groups: encode_table says so
        score=score,
        weight=weight,
        pos_label=pos_label,
    )
    k = len(groups)
    _check_factor_levels(encoded, k)
    counts = count_groups(
        replace(encoded, attributes=encoded.attributes[:k]), score_bins=score_bins
    )
    result = assess_counts(counts, settings)
    if not factors:
        return result
    # A second counting pass, over groups × factors and without scores, feeds the conditional
    # comparisons; the first pass stays exactly what it is without factors.
    try:
        strata = count_groups(replace(encoded, score=None), score_bins=score_bins)
    except AuditInputError as err:  # too many strata: the factors are to blame, not the groups
        raise AuditInputError(
            "group columns and legitimate factors",
            expected=err.expected,
            found=err.found,
            fix="list fewer legitimate factors, or coarser ones (merge rare levels)",
        ) from None
    return conditional_comparisons(strata, result)


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
            settings.min_denominator >= 1,
            "min_denominator",
            "at least 1",
            settings.min_denominator,
        ),
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


def _check_factor_names(data: pd.DataFrame, groups: Sequence[str], factors: Sequence[str]) -> None:
    for i, name in enumerate(factors):
        subject = f"legitimate factor {name!r}"
        if name not in data.columns:
            available = ", ".join(map(str, data.columns[:20]))
            raise AuditInputError(
                subject,
                expected="a column of the data",
                found=f"no such column (columns are: {available})",
                fix="name a column of the decisions table, or remove it from legitimate_factors",
            )
        if name in groups:
            raise AuditInputError(
                subject,
                expected="a column other than the group columns",
                found=f"{name!r} is also a group column",
                fix="a factor cannot explain the gaps between its own levels: remove it from "
                "legitimate_factors or from the groups",
            )
        if name in factors[:i]:
            raise AuditInputError(
                "legitimate factors",
                expected="each factor named once",
                found=f"{list(factors)}",
                fix="remove the repeated name",
            )


def _check_factor_levels(encoded: EncodedInput, k: int) -> None:
    """A factor must put several people in some level, and have more than one level."""
    for attribute in encoded.attributes[k:]:
        rows = np.bincount(attribute.codes, minlength=len(attribute.levels))
        subject = f"legitimate factor {attribute.name!r}"
        if np.count_nonzero(rows) < 2:
            raise AuditInputError(
                subject,
                expected="at least two values",
                found=f"a single value {attribute.levels[int(np.argmax(rows))]!r}",
                fix="remove it from legitimate_factors: a constant explains no gap",
            )
        if encoded.n_rows > 1 and rows.max() <= 1:
            raise AuditInputError(
                subject,
                expected="levels shared by several people, to compare people within a level",
                found=f"a different value in each of the {encoded.n_rows} rows",
                fix="use a coarser column (categories or bands), not an identifier or a "
                "continuous value",
            )


def conditional_comparisons(strata: GroupCounts, result: Assessment) -> Assessment:
    """`result` with its conditional comparisons, from counts over groups then factors.

    `strata` has the attributes of `result` first, then the legitimate factors. Each attribute's
    groups are compared with the reference group of `result`, metric by metric.
    """
    s = result.settings
    k, level = len(s.groups), 1 - s.alpha
    rng = np.random.default_rng(np.random.SeedSequence(s.seed).spawn(3)[2])
    z = intervals.z_value(level)
    rows: list[dict[str, object]] = []
    p_values: list[float] = []
    factor_axes = list(range(k, len(strata.attributes)))
    for j, name in enumerate(s.groups):
        levels = strata.levels[j]
        ref_levels = next(
            g.levels for g in result.groups if g.attributes == (name,) and g.is_reference
        )
        ref = levels.index(ref_levels[0])

        def cut(array: np.ndarray, j: int = j) -> np.ndarray:
            out = strata.marginal(array, [j, *factor_axes])
            return out.reshape(out.shape[0], -1, 2, 2)

        n = cut(strata.n)
        live = n.sum(axis=(0, 2, 3)) > 0
        n, w = n[:, live], cut(strata.w)[:, live]
        w2 = None if strata.w2 is None else cut(strata.w2)[:, live]
        estimates = {m: conditional_difference(w, ref, m) for m in CONDITIONAL_METRICS}
        replicates = _conditional_replicates(n, w, w2, ref, s, rng)
        rows_per_group = n.sum(axis=(1, 2, 3))
        for metric in CONDITIONAL_METRICS:
            # As for the other disparities: reliable when group and reference both reach the
            # minimum size and the metric's denominator rows (over all strata) the minimum.
            den_rows = defs.RATES[metric].parts(n)[1].sum(axis=1)
            ok = (rows_per_group >= s.min_group_size) & (den_rows >= s.min_denominator)
            reliable = (ok & ok[ref]).tolist()
            est = estimates[metric]
            se = delta_standard_error(w, w2, ref, metric)
            p = significance.wald_test(est.value, se, margin=s.test_margin)
            method: ConditionalCiMethod
            if metric in replicates:
                low, high, _ = bootstrap_interval(replicates[metric], est.value, level)
                method = "bootstrap"
            else:
                low, high = est.value - z * se, est.value + z * se
                method = "normal"
            for i, group_levels in enumerate(levels):
                if i == ref:
                    continue
                value = _number(est.value[i])
                ci = (None, None) if value is None else (_number(low[i]), _number(high[i]))
                rows.append(
                    dict(
                        attributes=(name,),
                        levels=(group_levels,),
                        reference_levels=ref_levels,
                        factors=s.legitimate_factors,
                        metric=metric,
                        value=value,
                        unconditional=_number(est.unconditional[i]),
                        ci_low=ci[0],
                        ci_high=ci[1],
                        ci_method=method if None not in ci else "none",
                        p_value=_number(p[i]),
                        coverage=_number(est.coverage[i]),
                        reliable=reliable[i],
                    )
                )
                p_values.append(float(p[i]) if reliable[i] else np.nan)  # not in the family
    adjusted = significance.adjust(np.array(p_values), s.correction)
    records = []
    for row, q in zip(rows, adjusted.tolist(), strict=True):
        q_opt = q if np.isfinite(q) else None
        significant = None if q_opt is None else q_opt < s.alpha
        records.append(ConditionalDisparity(**row, p_adjusted=q_opt, significant=significant))  # type: ignore[arg-type]
    notes = list(result.notes)
    if any(r.coverage is not None and r.coverage < 1 for r in records):
        notes.append(
            "conditional comparisons leave out strata where the reference group has no one; "
            "coverage gives the share of each group's weight kept"
        )
    return replace(result, conditional=tuple(records), notes=tuple(notes))


def _number(x: float | np.floating) -> float | None:
    return float(x) if np.isfinite(x) else None


def _conditional_replicates(
    n: np.ndarray,
    w: np.ndarray,
    w2: np.ndarray | None,
    ref: int,
    s: Settings,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Bootstrap replicates (n_boot, groups) of each conditional difference.

    Every (group, stratum, y_true, y_pred) cell of the attribute is resampled jointly, like the
    joint table of the other results; batches bound the memory when there are many strata.
    """
    if s.n_boot == 0:
        return {}
    batch = max(1, BOOT_BATCH_CELLS // n.size)
    parts: dict[str, list[np.ndarray]] = {m: [] for m in CONDITIONAL_METRICS}
    for start in range(0, s.n_boot, batch):
        size = min(batch, s.n_boot - start)
        boot = resample(n, w, n_boot=size, rng=rng, kind=s.bootstrap, group_axes=2, w2=w2)
        for metric in CONDITIONAL_METRICS:
            parts[metric].append(conditional_difference(boot, ref, metric).value)
    return {m: np.concatenate(v) for m, v in parts.items()}


def _score_values(g: Grouping, coarse: int) -> None:
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
    coarse = min(BOOTSTRAP_SCORE_BINS, counts.score_bins)
    if settings.n_boot > 0:
        boot = resample(
            counts.n,
            counts.w,
            n_boot=settings.n_boot,
            rng=conf_rng,
            kind=settings.bootstrap,
            group_axes=k,
            w2=counts.w2,
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

    builder = RecordBuilder(settings, level)
    parts = []
    for keep in groupings(counts, settings.intersections):
        g = slice_grouping(counts, keep, boot, boot_hist)
        g.values = defs.confusion_metrics(g.w)
        if g.boot is not None:
            g.boot_values = defs.confusion_metrics(g.boot)
        _score_values(g, coarse)
        g.ref = _reference_index(g, settings)
        builder.add(g)
        parts.append(g)
    builder.add_comparisons(stack(parts))
    return builder.finish(counts)


def _reference_index(g: Grouping, settings: Settings) -> int:
    explicit: tuple[str, ...] | None = None
    if all(a in settings.reference for a in g.attributes):
        explicit = tuple(str(settings.reference[a]) for a in g.attributes)
        if len(g.attributes) > 1 and explicit not in g.levels:
            explicit = None  # the references' intersection is empty: fall back to the rule
    reliable = g.n_rows >= settings.min_group_size
    return choose_reference(
        g.levels,
        g.w.sum(axis=(1, 2)),
        g.values["selection_rate"],
        reliable,
        rule=settings.reference_rule,
        explicit=explicit,
    )
