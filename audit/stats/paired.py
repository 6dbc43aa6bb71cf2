"""Paired non-regression: the candidate and the baseline model compared on the same resamples.

When both models decide for the same people, their disparities are strongly correlated: most
people get the same decision from both, so most of the sampling noise is shared. Comparing the
two as independent samples (adding their variances) ignores that, and misses real worsenings:
a selection-rate gap that widened from -0.093 to -0.234 at about 600 people passed that way.

Here the counting engine fills one joint table over (group attributes..., baseline decision,
y_true, candidate decision): the baseline decision is just one more attribute axis for
`count_groups`, so any engine that can count groups (pandas, Spark) produces the same input.
Resampling that table (`audit.stats.bootstrap.resample`) resamples people with both of their
decisions, and each model's confusion table is a marginal of each replicate: the candidate's
sums the baseline axis out, the baseline's sums the candidate axis out. Every replicate thus
measures both models on the same resampled people, and the spread of the replicate-wise change
is the spread of the *paired* change.

`paired_disparities` computes the group metrics and disparities of both models with their
replicates; `regression_changes` reads them against a threshold rule's allowed range and says,
for each group, how much further from that range the candidate is than the baseline.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import pandas as pd
from scipy import stats

from audit.errors import AuditInputError
from audit.metrics import definitions as defs
from audit.stats.bootstrap import BootstrapKind, bootstrap_interval, resample
from audit.stats.counts import GroupCounts, count_groups
from audit.stats.encoding import EncodedAttribute, EncodedInput, Tally, encode_binary, encode_table
from audit.stats.result import Assessment

Kind = Literal["difference", "ratio"]
KINDS: tuple[Kind, ...] = ("difference", "ratio")
# Every metric of the confusion counts can be paired; score metrics (AUC, calibration) cannot
# from decisions alone.
PAIRED_METRICS: tuple[str, ...] = defs.METRIC_NAMES
# Changes and standard errors this close to zero are floating-point noise: two models with the
# same decisions for a group and its reference must give "no change", not a tiny z = 10.
_TOLERANCE = 1e-12


@dataclass(frozen=True, eq=False)
class PairedDisparity:
    """One metric and kind of disparity in one grouping, for both models and every replicate.

    Group arrays run over `levels` (the live groups of the grouping); replicate arrays have one
    row per bootstrap replicate, and replicate b of the candidate and of the baseline come from
    the same resampled people. Undefined values are NaN in these arrays (they become None in
    the `PairedChange` records). The reference group's own entries are 0 (difference) or 1.
    """

    attributes: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    reference: int  # index of the reference group in `levels`
    metric: str
    kind: Kind
    n_rows: np.ndarray  # (G,) rows of each group (the same people for both models)
    weight: np.ndarray  # (G,) weight of each group
    candidate_metric: np.ndarray  # (G,) the metric's value per group, candidate
    baseline_metric: np.ndarray  # (G,) the same for the baseline
    candidate: np.ndarray  # (G,) disparity of each group against the reference, candidate
    baseline: np.ndarray  # (G,) the same for the baseline
    candidate_boot: np.ndarray  # (B, G) replicates of `candidate`
    baseline_boot: np.ndarray  # (B, G) replicates of `baseline`, on the same resamples

    @property
    def reference_levels(self) -> tuple[str, ...]:
        return self.levels[self.reference]


@dataclass(frozen=True, eq=False)
class PairedDisparities:
    """Both models' disparities for every (metric, kind, grouping) asked, on shared resamples."""

    entries: tuple[PairedDisparity, ...]
    n_boot: int
    bootstrap: BootstrapKind
    min_group_size: int
    weighted: bool

    def get(self, metric: str, kind: str, attributes: Sequence[str]) -> PairedDisparity:
        key = (metric, kind, tuple(attributes))
        for e in self.entries:
            if (e.metric, e.kind, e.attributes) == key:
                return e
        raise KeyError(key)

    def select(
        self, metric: str, kind: str, attributes: Sequence[Sequence[str]] | None = None
    ) -> list[PairedDisparity]:
        """The entries of one metric and kind, in the groupings listed (all when None)."""
        wanted = None if attributes is None else {tuple(a) for a in attributes}
        return [
            e
            for e in self.entries
            if e.metric == metric and e.kind == kind and (wanted is None or e.attributes in wanted)
        ]


@dataclass(frozen=True, kw_only=True)
class PairedChange:
    """How much further from a rule's allowed range the candidate is than the baseline.

    `candidate` and `baseline` are the group's disparities against `reference_levels`;
    `change` = badness(candidate) - badness(baseline), positive when the candidate is worse;
    [`ci_low`, `ci_high`] its paired bootstrap interval, which contains `change`; `p_value`
    the one-sided p-value of "change > margin" (uncorrected); `reliable` whether both the group
    and its reference have at least the minimum size; `n_rows` the group's rows.
    """

    attributes: tuple[str, ...]
    levels: tuple[str, ...]
    reference_levels: tuple[str, ...]
    metric: str
    kind: str
    candidate: float | None
    baseline: float | None
    change: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    reliable: bool
    n_rows: int


# --- the joint table ---------------------------------------------------------------------------


def _check_options(
    table: pd.DataFrame,
    groups: Sequence[str],
    candidate: str,
    baseline: str,
    intersections: int,
    metrics: Sequence[tuple[str, str]],
    n_boot: int,
    min_group_size: int,
) -> None:
    if baseline in groups or candidate in groups:
        raise AuditInputError(
            "decision columns",
            expected="decision columns other than the group columns",
            found=f"candidate {candidate!r} and baseline {baseline!r}, groups {list(groups)}",
            fix="name the columns that hold the two models' decisions",
        )
    if baseline not in table.columns:
        raise AuditInputError(
            f"baseline decision column {baseline!r}",
            expected="a column of the data",
            found=f"no such column (columns are: {', '.join(map(str, table.columns[:20]))})",
            fix="score the baseline model on the same people and add its decisions as a column",
        )
    if not 1 <= intersections <= max(len(groups), 1):
        raise AuditInputError(
            "option intersections",
            expected=f"an order from 1 to the number of attributes ({len(groups)})",
            found=repr(intersections),
            fix="pass a valid intersections",
        )
    for metric, kind in metrics:
        if metric not in PAIRED_METRICS or kind not in KINDS:
            raise AuditInputError(
                f"paired comparison {metric} {kind}",
                expected=f"a metric of the decisions ({', '.join(PAIRED_METRICS)}) and a kind "
                f"({', '.join(KINDS)})",
                found=f"metric {metric!r}, kind {kind!r}",
                fix="score metrics (auc, ece) cannot be paired from decisions; compare them "
                "unpaired",
            )
    if n_boot < 0 or min_group_size < 1:
        raise AuditInputError(
            "bootstrap options",
            expected="n_boot >= 0 and min_group_size >= 1",
            found=f"n_boot={n_boot}, min_group_size={min_group_size}",
            fix="pass valid options",
        )


def joint_counts(
    table: pd.DataFrame,
    *,
    y_true: str | None,
    candidate: str,
    baseline: str,
    groups: Sequence[str],
    weight: str | None = None,
    pos_label: object | None = None,
    tally: Tally | None = None,
) -> GroupCounts:
    """Counts over (groups..., baseline decision, y_true, candidate decision).

    The baseline decision is the last attribute axis, with levels ("0", "1") always present
    (a baseline that decides the same for everyone gets an empty level, not an error).
    With `tally`, `table` is aggregated (one row per combination of values, `Tally`), as the
    Spark engine makes it: each row counts as the rows it stands for.
    """
    encoded = encode_table(
        table,
        y_true=y_true,
        y_pred=candidate,
        groups=groups,
        weight=weight,
        pos_label=pos_label,
        tally=tally,
    )
    codes = encode_binary(table[baseline], "baseline decision", pos_label)
    constant = codes.size > 0 and codes.min() == codes.max()
    if not constant:
        axis = EncodedAttribute(name=baseline, levels=("0", "1"), codes=codes)
        with_axis = EncodedInput(
            n_rows=encoded.n_rows,
            y_true=encoded.y_true,
            y_pred=encoded.y_pred,
            attributes=(*encoded.attributes, axis),
            weight=encoded.weight,
            rows=encoded.rows,
            weight_sq=encoded.weight_sq,
        )
        return count_groups(with_axis)
    # `count_groups` refuses an attribute with one level; count without the axis and add it.
    counts = count_groups(encoded)
    level = int(codes[0])

    def widen(array: np.ndarray | None) -> np.ndarray | None:
        if array is None:
            return None
        out = np.zeros((*array.shape[:-2], 2, *array.shape[-2:]), dtype=array.dtype)
        out[..., level, :, :] = array
        return out

    n, w = widen(counts.n), widen(counts.w)
    assert n is not None and w is not None
    return GroupCounts(
        attributes=(*counts.attributes, baseline),
        levels=(*counts.levels, ("0", "1")),
        n=n,
        w=w,
        w2=widen(counts.w2),
    )


# --- metrics and disparities of both models ----------------------------------------------------


def _models(joint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., baseline, y_true, candidate) -> both models' (..., y_true, y_pred) tables."""
    return joint.sum(axis=-3), np.swapaxes(joint.sum(axis=-1), -1, -2)


def _disparity(values: np.ndarray, ref: int, kind: Kind) -> np.ndarray:
    """Each group against the reference along the last axis; NaN where undefined."""
    ref_value = values[..., ref : ref + 1]
    if kind == "difference":
        return values - ref_value
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ref_value != 0, values / np.where(ref_value != 0, ref_value, 1.0), np.nan)


def _reference_index(
    attributes: tuple[str, ...],
    levels: list[tuple[str, ...]],
    references: Mapping[tuple[str, ...], tuple[str, ...]],
) -> int:
    if attributes not in references:
        raise AuditInputError(
            f"reference of {' × '.join(attributes)}",
            expected="a reference group for every grouping compared",
            found=f"references for {sorted(' × '.join(a) for a in references)}",
            fix="take the references from the candidate's assessment (`references_from`)",
        )
    wanted = tuple(references[attributes])
    if wanted not in levels:
        known = ", ".join(" × ".join(lv) for lv in levels[:20])
        raise AuditInputError(
            f"reference group {' × '.join(wanted)!r} of {' × '.join(attributes)}",
            expected="one of the groups present in the data",
            found=f"no such group (groups are: {known})",
            fix="compare the models on the people the candidate was assessed on",
        )
    return levels.index(wanted)


def paired_disparities(
    table: pd.DataFrame,
    *,
    y_true: str | None,
    candidate: str,
    baseline: str,
    groups: Sequence[str],
    intersections: int = 1,
    references: Mapping[tuple[str, ...], tuple[str, ...]],
    metrics: Sequence[tuple[str, str]],
    weight: str | None = None,
    n_boot: int = 1000,
    bootstrap: BootstrapKind = "multinomial",
    seed: int = 0,
    pos_label: object | None = None,
    min_group_size: int = 30,
    tally: Tally | None = None,
) -> PairedDisparities:
    """Both models' disparities, per grouping and (metric, kind), on the same resamples.

    `table` has one row per person with the outcome `y_true`, the candidate's and the baseline's
    decisions and the group columns. Groupings are every attribute alone and every intersection
    up to order `intersections`; `references` gives each grouping's reference levels (the
    candidate assessment's, see `references_from`), so that both models are compared with the
    same reference group. `metrics` lists (metric, kind) pairs, kind "difference" or "ratio".
    With `tally`, `table` is the aggregated table of another engine (see `joint_counts`).
    """
    _check_options(
        table, groups, candidate, baseline, intersections, metrics, n_boot, min_group_size
    )
    counts = joint_counts(
        table,
        y_true=y_true,
        candidate=candidate,
        baseline=baseline,
        groups=groups,
        weight=weight,
        pos_label=pos_label,
        tally=tally,
    )
    k = len(counts.attributes) - 1  # the last attribute axis is the baseline decision
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    # Groups are the attribute cells; a stratified bootstrap keeps each one's size.
    boot = (
        resample(counts.n, counts.w, n_boot=n_boot, rng=rng, kind=bootstrap, group_axes=k)
        if n_boot > 0
        else np.zeros((0, *counts.n.shape))
    )
    entries: list[PairedDisparity] = []
    for order in range(1, intersections + 1):
        for keep in itertools.combinations(range(k), order):
            entries.extend(_grouping(counts, boot, keep, metrics, references))
    return PairedDisparities(
        entries=tuple(entries),
        n_boot=n_boot,
        bootstrap=bootstrap,
        min_group_size=min_group_size,
        weighted=counts.weighted,
    )


def _grouping(
    counts: GroupCounts,
    boot: np.ndarray,
    keep: tuple[int, ...],
    metrics: Sequence[tuple[str, str]],
    references: Mapping[tuple[str, ...], tuple[str, ...]],
) -> list[PairedDisparity]:
    k = len(counts.attributes) - 1
    drop = tuple(a for a in range(k) if a not in keep)
    n = counts.n.sum(axis=drop) if drop else counts.n
    flat = int(np.prod(n.shape[: len(keep)]))
    n = n.reshape(flat, 2, 2, 2)
    live = np.flatnonzero(n.sum(axis=(1, 2, 3)) > 0)  # an empty intersection is not a group
    w = (counts.w.sum(axis=drop) if drop else counts.w).reshape(flat, 2, 2, 2)[live]
    b = boot.sum(axis=tuple(1 + a for a in drop)) if drop else boot
    b = b.reshape(b.shape[0], flat, 2, 2, 2)[:, live]
    all_levels = list(itertools.product(*(counts.levels[a] for a in keep)))
    levels = [all_levels[i] for i in live]
    attributes = tuple(counts.attributes[a] for a in keep)
    ref = _reference_index(attributes, levels, references)

    cand_w, base_w = _models(w)
    cand_b, base_b = _models(b)
    values = [defs.confusion_metrics(x) for x in (cand_w, base_w, cand_b, base_b)]
    out = []
    for metric, name in metrics:
        kind = cast(Kind, name)  # checked in _check_options
        cv, bv, cr, br = (v[metric] for v in values)
        out.append(
            PairedDisparity(
                attributes=attributes,
                levels=tuple(levels),
                reference=ref,
                metric=metric,
                kind=kind,
                n_rows=n[live].sum(axis=(1, 2, 3)),
                weight=w.sum(axis=(1, 2, 3)),
                candidate_metric=cv,
                baseline_metric=bv,
                candidate=_disparity(cv, ref, kind),
                baseline=_disparity(bv, ref, kind),
                candidate_boot=_disparity(cr, ref, kind),
                baseline_boot=_disparity(br, ref, kind),
            )
        )
    return out


def references_from(assessment: Assessment) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Each grouping's reference levels, as the candidate's assessment chose them."""
    return {g.attributes: g.levels for g in assessment.groups if g.is_reference}


# --- non-regression ----------------------------------------------------------------------------


def badness(value: np.ndarray, low: float, high: float) -> np.ndarray:
    """How far a disparity sits toward or beyond the allowed range [low, high]; larger is worse.

    As in the gate: the distance from the centre of a two-sided range, -value for a lower bound
    only, value for an upper bound only.
    """
    if math.isfinite(low) and math.isfinite(high):
        return np.abs(value - (low + high) / 2)
    if math.isfinite(low):
        return -value
    if math.isfinite(high):
        return value
    raise AuditInputError(
        "non-regression bounds",
        expected="a finite lower or upper bound",
        found=f"[{low}, {high}]",
        fix="give the rule a min, a max or a max_abs",
    )


def _optional(x: float) -> float | None:
    return x if math.isfinite(x) else None


def regression_changes(
    paired: PairedDisparities,
    metric: str,
    kind: str,
    low: float,
    high: float,
    *,
    margin: float = 0.0,
    alpha: float = 0.05,
    attributes: Sequence[Sequence[str]] | None = None,
) -> list[PairedChange]:
    """Each group's paired change in badness, with its interval and a one-sided p-value.

    The change is computed on every replicate from both models' disparities on the same
    resampled people. Its interval is the two-sided 1 - alpha bias-corrected interval of those
    replicates (`bootstrap_interval`, like the other intervals of an assessment), extended to the estimate in the rare
    case the estimate falls outside it (the fold of |.| in a two-sided range skews the
    replicates when a disparity sits near the centre).

    The p-value of "change > margin" is normal, z = (change - margin) / SE with SE the standard
    deviation of the paired replicates, rather than the share of replicates at or below the
    margin: the share cannot go below 1 / n_boot, so after a Holm correction over a few dozen
    comparisons no regression could ever be declared with 1000 replicates, and at n_boot = 200
    it moves in steps of 0.005. Away from the centre of a two-sided range the change is a
    difference of differences of rates, close to normal at the group sizes the gate decides on;
    at the centre the fold of |.| makes the test conservative, never liberal. The known-answer
    tests check both. The p-value is uncorrected: the caller corrects it within the family of
    comparisons that decides.
    """
    if not 0 < alpha < 0.5:
        raise AuditInputError(
            "option alpha",
            expected="a level between 0 and 0.5",
            found=repr(alpha),
            fix="pass a valid alpha",
        )
    if not paired.select(metric, kind):  # a programming error, not an empty result
        raise KeyError(f"{metric} {kind} was not among the metrics of `paired_disparities`")
    changes: list[PairedChange] = []
    for e in paired.select(metric, kind, attributes):
        changes.extend(_changes(e, low, high, margin, alpha, paired.min_group_size))
    return changes


def _changes(
    e: PairedDisparity, low: float, high: float, margin: float, alpha: float, min_size: int
) -> list[PairedChange]:
    change = badness(e.candidate, low, high) - badness(e.baseline, low, high)
    boot = badness(e.candidate_boot, low, high) - badness(e.baseline_boot, low, high)
    # A replicate where either model's disparity is undefined is NaN and does not count.
    valid = np.count_nonzero(np.isfinite(boot), axis=0)
    # The interval every bootstrap result gets (bias-corrected, holding its estimate); NaN where
    # no replicate is defined.
    ci_low, ci_high, _ = bootstrap_interval(boot, change, 1 - alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # fewer than 2 defined replicates
        se = np.nanstd(boot, axis=0, ddof=1)
    excess = change - margin
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(se > _TOLERANCE, excess / np.where(se > _TOLERANCE, se, 1.0), np.nan)
    p = stats.norm.sf(z)
    # Replicates that all agree (no sampling spread): the change is certain either way.
    p = np.where(se <= _TOLERANCE, np.where(excess > _TOLERANCE, 0.0, 1.0), p)
    p = np.where((valid >= 2) & np.isfinite(change), p, np.nan)
    ref = e.reference
    reliable = (e.n_rows >= min_size) & (e.n_rows[ref] >= min_size)
    out = []
    for i, levels in enumerate(e.levels):
        if i == ref:  # the reference group is not compared with itself
            continue
        defined = math.isfinite(change[i])
        out.append(
            PairedChange(
                attributes=e.attributes,
                levels=levels,
                reference_levels=e.reference_levels,
                metric=e.metric,
                kind=e.kind,
                candidate=_optional(float(e.candidate[i])),
                baseline=_optional(float(e.baseline[i])),
                change=_optional(float(change[i])),
                ci_low=_optional(float(ci_low[i])) if defined else None,
                ci_high=_optional(float(ci_high[i])) if defined else None,
                p_value=_optional(float(p[i])),
                reliable=bool(reliable[i]),
                n_rows=int(e.n_rows[i]),
            )
        )
    return out
