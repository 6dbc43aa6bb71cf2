"""`assess`: from a decisions table to an `Assessment`, through the count arrays only.

The flow reads top to bottom: encode and validate the columns, count once, resample the counts,
then for each grouping (attribute alone or intersection) compute metrics, disparities against its
reference group, intervals and tests, and finally correct the tests for their number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from pydantic import ValidationError

from audit.errors import AuditInputError
from audit.metrics import definitions as defs
from audit.metrics import scores, significance
from audit.metrics.disparities import ReferenceRule, choose_reference
from audit.stats.bootstrap import BootstrapKind, resample
from audit.stats.counts import DEFAULT_SCORE_BINS, GroupCounts, count_groups
from audit.stats.encoding import encode_table
from audit.stats.grouping import Grouping, groupings, slice_grouping, stack
from audit.stats.records import CALIBRATION_BINS, RecordBuilder
from audit.stats.result import Assessment, Settings

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
