"""`assess`: from a decisions table to an `Assessment`, through the count arrays only.

The flow reads top to bottom: encode and validate the columns, count once, resample the counts,
then for each grouping (attribute alone or intersection) compute metrics, disparities against its
reference group, intervals and tests, and finally correct the tests for their number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
from pydantic import ValidationError

from audit.errors import AuditInputError
from audit.metrics import definitions as defs
from audit.metrics import intervals, scores, significance
from audit.metrics.conditional import (
    ConditionalEstimate,
    ExplainedShare,
    conditional_difference,
    conditional_metrics,
    delta_standard_error,
    explained_share,
)
from audit.metrics.disparities import ReferenceRule, choose_reference
from audit.numbers import fixed
from audit.stats.bootstrap import BootstrapKind, bootstrap_interval, resample
from audit.stats.counts import DEFAULT_SCORE_BINS, GroupCounts, check_table_size, count_groups
from audit.stats.encoding import (
    EncodedAttribute,
    EncodedInput,
    Tally,
    check_cardinality,
    check_numeric_groups,
    column_of,
    encode_attribute,
    encode_table,
    encode_weight,
)
from audit.stats.exact_auc import ExactAuc
from audit.stats.exact_auc import exact_auc as auc_from_rows
from audit.stats.factors import bin_groups, factor_axes, marginal_in_order, prepare_factors
from audit.stats.grouping import Grouping, groupings, slice_grouping, stack
from audit.stats.records import CALIBRATION_BINS, RecordBuilder
from audit.stats.result import (
    Assessment,
    ConditionalCiMethod,
    ConditionalDisparity,
    Disparity,
    Group,
    ReferenceChoice,
    ReferenceHow,
    Settings,
    TrackConditional,
    WithinStratum,
)
from audit.stats.tracks import (
    TrackCounts,
    count_tracks,
    grouping_orders,
    plain_counts,
    slice_tracks,
    track_conditional_records,
    track_records,
    track_within_strata,
)
from audit.stats.within_strata import within_strata

BOOTSTRAP_SCORE_BINS = 50  # score histograms are resampled on a coarser grid to stay fast
SCORE_REPLICATE_PARTS = 2  # ... in two parts, on two threads
# Conditional bootstrap replicates are drawn in batches of at most this many cells (8 bytes each).
BOOT_BATCH_CELLS = 4_000_000


def assess(
    data: pd.DataFrame,
    *,
    y_true: str | None,
    y_pred: str | None,
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
    factor_bins: Mapping[str, int] | None = None,
    min_cell_size: int = 10,
    max_levels: int = 50,
    group_bins: Mapping[str, int] | None = None,
    max_numeric_levels: int = 20,
    track: str | None = None,
    track_labels: Sequence[str] | None = None,
    tally: Tally | None = None,
    exact: ExactAuc = auc_from_rows,
) -> Assessment:
    """Group metrics, disparities, intervals and corrected tests for a table of decisions.

    `intersections` is the highest order of attribute combinations examined: 1 for each attribute
    alone, 2 adds every pair, 3 every triple. `reference` maps an attribute to its reference level;
    other attributes get one by `reference_rule`.

    `pos_label` names the positive class of both the outcome and the decision columns, whatever
    their coding (`pos_label=0` on 0/1 labels makes 0 positive, as in fairlearn); see
    `encode_binary`. The score is read as given, as the probability of the positive class.

    A metric is `reliable` for a group of at least `min_group_size` rows whose metric
    denominator (people with the outcome for the TPR, the smaller class for AUC) has at least
    `min_denominator` rows; a disparity when the metric is reliable for the group and its
    reference. Only reliable disparities enter the multiple-comparison correction; the others
    keep their p-value with `p_adjusted` and `significant` None.

    `legitimate_factors` are columns that may legitimately affect the decision (education,
    region): each attribute's groups are then also compared with their reference among people in
    the same stratum of those factors (`Assessment.conditional`), with the share of the plain gap
    the factors explain, and within each level of each factor alone (`Assessment.within_strata`).
    The other results do not change. A group column may also be a factor: it stratifies the
    other attributes' comparisons, and its own groups are compared within the other factors.
    Numeric factors are cut at quantiles: into `factor_bins[name]` bins, or into
    `factors.DEFAULT_BINS` when they have more than `factors.MAX_EXACT_LEVELS` distinct values.

    Without `y_true` (a log of decisions with no observed outcome) only the metrics of the
    decisions alone are computed: selection rates, their disparities and summaries, and their
    conditional comparisons; a score cannot be assessed then (AUC and calibration need the
    outcome) and is refused.

    A group column with more than `max_levels` distinct values is refused before anything is
    counted, and so is a numeric one with more than `max_numeric_levels` (a measurement such as
    an age: `group_bins[name]` cuts it at its quantiles into that many groups), and a count
    table (with its bootstrap replicates) too large for memory.
    The result keeps every figure at full precision; `min_cell_size` is recorded for
    `audit.disclosure.suppress`, which makes the published form of it.

    `track` names a column of recommended tracks (a multiclass decision): every track's share
    by group is then assessed as well (`Assessment.tracks`, `audit.stats.tracks`), in the
    order of `track_labels` when given (all labels a model can give, so that a track no one
    got still shows). With `y_pred=None` the audit is of the tracks only: the groups and their
    references, with no binary metric (the outcome is not read).

    Another engine hands its counting over here (`audit.spark`): `tally` says that `data` is its
    aggregated table, one row per combination of values with the rows it stands for, and
    `exact` computes the exact AUC where the score grid would blur it.

    >>> df = pd.DataFrame({"y": [1, 0, 1, 0] * 25, "d": [1, 0, 0, 0] * 25,
    ...                    "homeless": ["no", "no", "yes", "yes"] * 25})
    >>> result = assess(df, y_true="y", y_pred="d", groups=["homeless"], n_boot=0)
    >>> result.metric("tpr", ("homeless",), ("yes",)).value
    0.0
    """
    check_roles(y_true=y_true, y_pred=y_pred, score=score, track=track)
    settings = make_settings(
        y_true=y_true,
        y_pred=y_pred if y_pred is not None else track,
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
        factor_bins=dict(factor_bins or {}),
        min_cell_size=min_cell_size,
        max_levels=max_levels,
        group_bins=dict(group_bins or {}),
        max_numeric_levels=max_numeric_levels,
        track=track,
    )
    factors = settings.legitimate_factors
    _check_factor_names(data, settings.groups, factors)
    rows = None if tally is None else tally.multiplicity(data)
    binned, group_notes = bin_groups(data, settings.group_bins, rows)
    frame, factor_notes = prepare_factors(
        binned, factors, settings.factor_bins, settings.groups, rows
    )
    present = [g for g in groups if g in frame.columns]  # a missing one: encode_table says so
    check_numeric_groups(frame, present, settings.max_numeric_levels, settings.max_levels)
    factor_notes = [*group_notes, *factor_notes]
    # A factor that is also a group column is encoded once: its group axis serves as a factor.
    extra = [f for f in factors if f not in settings.groups]
    if y_pred is None:
        assert track is not None
        return _track_only(frame, settings, extra, factor_notes, track_labels, tally)
    encoded = encode_table(
        frame,
        y_true=y_true,
        y_pred=y_pred,
        groups=[*groups, *extra] if groups else groups,  # no groups: encode_table says so
        score=score,
        weight=weight,
        pos_label=pos_label,
        tally=tally,
    )
    k = len(groups)
    check_cardinality(encoded.attributes[:k], settings.max_levels)
    _check_factor_levels(encoded, k)
    audited = replace(encoded, attributes=encoded.attributes[:k])
    check_table_size(audited, n_boot=settings.n_boot, score_bins=score_bins)
    counts = count_groups(audited, score_bins=score_bins)
    keeps = [(), *groupings(counts, settings.intersections)]  # () is the whole population
    # The replicates are drawn on a second core while the exact AUC reads the rows.
    with ThreadPoolExecutor(max_workers=1) as pool:
        replicates = pool.submit(draw_replicates, counts, settings)
        result = assess_counts(counts, settings, exact(audited, counts, keeps), replicates.result())
    if group_notes:
        result = replace(result, notes=(*result.notes, *group_notes))
    if not factors:
        return _with_tracks(result, frame, encoded, track_labels)
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
    result = replace(result, notes=(*result.notes, *factor_notes[len(group_notes) :]))
    result = conditional_comparisons(strata, result)
    result = replace(result, within_strata=within_strata(strata, result))
    return _with_tracks(result, frame, encoded, track_labels)


def check_roles(
    *, y_true: str | None, y_pred: str | None, score: str | None, track: str | None
) -> None:
    """Refuses a set of columns no audit can read, before any row is (the Spark engine's too)."""
    if y_pred is None and track is None:
        raise AuditInputError(
            "decision column",
            expected="a binary decision column, or a column of recommended tracks",
            found="neither",
            fix="name the decision column (--y-pred) or the track column",
        )
    if y_true is None and score is not None:
        raise AuditInputError(
            f"score column {score!r}",
            expected="an outcome column to assess the score against (AUC, calibration)",
            found="a score and no outcome",
            fix="name the outcome column (--y-true), or leave the score out: without an "
            "outcome only the decisions are audited",
        )


def _encode_track(frame: pd.DataFrame, name: str, labels: Sequence[str] | None) -> EncodedAttribute:
    """The track column coded over `labels` (every class a model can give) or its own values."""
    if name not in frame.columns:
        raise AuditInputError(
            f"track column {name!r}",
            expected="a column of the data",
            found=f"no such column (columns are: {', '.join(map(str, frame.columns[:20]))})",
            fix="name the column of recommended tracks",
        )
    column = frame[name]
    if column.isna().any():
        raise AuditInputError(
            f"track column {name!r}",
            expected="a recommended track in every row",
            found=f"{int(column.isna().sum())} missing values",
            fix="fill in the track of every person, or leave those rows out of the audit",
        )
    if labels is not None:
        text = column.astype(str)
        extra = sorted(set(text.unique()) - set(labels))
        if extra:
            raise AuditInputError(
                f"track column {name!r}",
                expected=f"tracks among {', '.join(labels)}",
                found=", ".join(extra[:6]),
                fix="check the labels the model gives",
            )
        column = pd.Series(pd.Categorical(text, categories=list(labels)), name=name)
    # A categorical column keeps every category as a track (a class no one got shows as 0).
    encoded = encode_attribute(column.rename(name))
    used = np.flatnonzero(np.bincount(encoded.codes, minlength=len(encoded.levels)))
    if used.size < 2:
        raise AuditInputError(
            f"track column {name!r}",
            expected="at least two different tracks",
            found=f"the single track {encoded.levels[used[0]]!r}" if used.size else "no rows",
            fix="a decision that is the same for everyone cannot show a disparity",
        )
    return encoded


def _with_tracks(
    result: Assessment,
    frame: pd.DataFrame,
    encoded: EncodedInput,
    labels: Sequence[str] | None,
) -> Assessment:
    """`result` with every track's share by group, when the settings name a track column."""
    s = result.settings
    if s.track is None:
        return result
    counts = count_tracks(
        encoded.attributes,
        _encode_track(frame, s.track, labels),
        encoded.weight,
        rows=encoded.rows,
        weight_sq=encoded.weight_sq,
    )
    return assess_track_counts(result, counts)


def assess_track_counts(
    result: Assessment,
    counts: TrackCounts,
    references: Mapping[tuple[str, ...], tuple[str, ...]] | None = None,
) -> Assessment:
    """The engine-independent half of the track audit: `result` with its track records, from
    a count table over the group attributes, then the legitimate factors that are not group
    columns, then the tracks (`count_tracks`, or the same table counted by another engine).
    `references` defaults to the reference groups of `result`."""
    if references is None:
        references = {r.attributes: r.levels for r in result.references}
    s = result.settings
    k = len(s.groups)
    shares = track_records(plain_counts(counts, k), s, references)
    conditional: tuple[TrackConditional, ...] = ()
    levels: tuple[WithinStratum, ...] = ()
    if s.legitimate_factors:
        conditional = track_conditional_records(counts, s, references)
        levels = track_within_strata(counts, s, references)
    return replace(
        result,
        track_labels=counts.tracks,
        tracks=shares,
        track_conditional=conditional,
        track_within_strata=levels,
    )


def _track_only(
    frame: pd.DataFrame,
    settings: Settings,
    extra: Sequence[str],
    factor_notes: Sequence[str],
    labels: Sequence[str] | None,
    tally: Tally | None = None,
) -> Assessment:
    """An assessment of the tracks alone: groups, references and track records, no binary
    metric (and no outcome read)."""
    assert settings.track is not None
    if len(frame) == 0:
        raise AuditInputError(
            "decisions table",
            expected="at least one row",
            found="an empty table",
            fix="check the file and any filter applied before the audit",
        )
    if not settings.groups:
        raise AuditInputError(
            "group columns",
            expected="at least one sensitive attribute to compare groups by",
            found="none",
            fix="name one or more group columns (--group COL)",
        )
    names = [*settings.groups, *extra]
    attributes = tuple(encode_attribute(column_of(frame, g, "group")) for g in names)
    k = len(settings.groups)
    check_cardinality(attributes[:k], settings.max_levels)
    weight = None if settings.weight is None else encode_weight(column_of(frame, settings.weight, "weight"))
    rows = None if tally is None else tally.multiplicity(frame)
    if extra:
        _check_factor_levels(
            EncodedInput(
                n_rows=len(frame),
                y_true=np.zeros(0, np.uint8),
                y_pred=np.zeros(0, np.uint8),
                attributes=attributes,
                rows=rows,
            ),
            k,
        )
    counts = count_tracks(
        attributes,
        _encode_track(frame, settings.track, labels),
        weight,
        rows=rows,
        weight_sq=None if tally is None or weight is None else tally.sums(frame, tally.weight_sq),
    )
    plain = plain_counts(counts, k)
    groups, references, notes = _track_groups(plain, settings)
    result = Assessment(
        settings=settings,
        n_rows=plain.n_rows,
        total_weight=float(plain.w.sum()),
        groups=tuple(groups),
        metrics=(),
        disparities=(),
        summaries=(),
        worst_groups=(),
        references=tuple(references),
        notes=(*notes, *factor_notes),
    )
    return assess_track_counts(result, counts, {r.attributes: r.levels for r in references})


def _track_groups(
    counts: TrackCounts, settings: Settings
) -> tuple[list[Group], list[ReferenceChoice], list[str]]:
    """Group records and reference groups of a track-only audit, chosen as for binary ones
    (named, else the largest; an intersection's composed of its attributes' own)."""
    notes = []
    if settings.reference_rule == "most_advantaged":
        notes.append(
            "reference_rule most_advantaged needs a binary decision: with tracks only, each "
            "attribute's largest group is its reference unless one is named"
        )
    groups: list[Group] = []
    references: list[ReferenceChoice] = []
    k = len(counts.attributes)
    for keep in grouping_orders(k, settings.intersections):
        t = slice_tracks(counts, keep, None)
        rows = t.n.sum(axis=-1)
        weight = t.w.sum(axis=-1)
        # `_reference` reads sizes off (G, 2, 2) tables; a track-only audit has no rates, so
        # "most advantaged" finds no candidate and falls back to the largest group.
        n, w = np.zeros((len(rows), 2, 2), np.int64), np.zeros((len(rows), 2, 2))
        n[:, 0, 0], w[:, 0, 0] = rows, weight
        pseudo = Grouping(
            attributes=t.attributes,
            levels=t.levels,
            n=n,
            w=w,
            w2=None,
            boot=None,
            values={"selection_rate": np.full(len(t.levels), np.nan)},
        )
        choice = _reference(pseudo, settings, {r.attributes[0]: r.levels[0] for r in references[:k]})
        references.append(choice)
        reliable = rows >= settings.min_group_size
        for i, levels in enumerate(t.levels):
            groups.append(
                Group(
                    attributes=t.attributes,
                    levels=levels,
                    n_rows=int(rows[i]),
                    weight=float(weight[i]),
                    reliable=bool(reliable[i]),
                    is_reference=levels == choice.levels,
                )
            )
    fallbacks = [r.note() for r in references if r.reason is not None]
    return groups, references, [*notes, *fallbacks]


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
        (settings.min_cell_size >= 1, "min_cell_size", "at least 1", settings.min_cell_size),
        (settings.max_levels >= 2, "max_levels", "at least 2", settings.max_levels),
        (
            settings.max_numeric_levels >= 2,
            "max_numeric_levels",
            "at least 2",
            settings.max_numeric_levels,
        ),
    ]
    for ok, name, expected, found in checks:
        if not ok:
            raise AuditInputError(
                f"option {name}", expected=expected, found=repr(found), fix=f"pass a valid {name}"
            )
    for name, count in settings.group_bins.items():
        if name not in settings.groups or count < 2:
            raise AuditInputError(
                f"group bins for {name!r}",
                expected=f"2 or more bins for one of the group columns {list(settings.groups)}",
                found=f"{count} bins" if name in settings.groups else "not a group column",
                fix="give 2 or more quantile bins, for a group column",
            )
        if name in settings.factor_bins:
            raise AuditInputError(
                f"bins for {name!r}",
                expected="bins given once, as a group column's",
                found="bins as a group column and as a legitimate factor",
                fix="drop the factor bins: a factor that is a group column shares its groups",
            )
    for name, count in settings.factor_bins.items():
        if name not in settings.legitimate_factors:
            raise AuditInputError(
                f"factor bins for {name!r}",
                expected=f"bins for one of the legitimate factors {list(settings.legitimate_factors)}",
                found=f"{name!r}, which is not a legitimate factor",
                fix="list the column in legitimate_factors too, or drop its bins",
            )
        if count < 2:
            raise AuditInputError(
                f"factor bins for {name!r}",
                expected="at least 2 bins",
                found=repr(count),
                fix="give 2 or more quantile bins",
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
        if name in factors[:i]:
            raise AuditInputError(
                "legitimate factors",
                expected="each factor named once",
                found=f"{list(factors)}",
                fix="remove the repeated name",
            )


def _check_factor_levels(encoded: EncodedInput, k: int) -> None:
    """A factor must put several people in some level, and have more than one level."""
    total = encoded.n_rows if encoded.rows is None else int(encoded.rows.sum())
    for attribute in encoded.attributes[k:]:
        rows = np.bincount(attribute.codes, weights=encoded.rows, minlength=len(attribute.levels))
        subject = f"legitimate factor {attribute.name!r}"
        if np.count_nonzero(rows) < 2:
            raise AuditInputError(
                subject,
                expected="at least two values",
                found=f"a single value {attribute.levels[int(np.argmax(rows))]!r}",
                fix="remove it from legitimate_factors: a constant explains no gap",
            )
        if total > 1 and rows.max() <= 1:
            raise AuditInputError(
                subject,
                expected="levels shared by several people, to compare people within a level",
                found=f"a different value in each of the {total} rows",
                fix="use a coarser column (categories or bands), not an identifier or a "
                "continuous value",
            )


def conditional_comparisons(strata: GroupCounts, result: Assessment) -> Assessment:
    """`result` with its conditional comparisons, from counts over groups then factors.

    `strata` has the attributes of `result` first, then the legitimate factors that are not
    group columns. Each attribute's groups are compared with the reference group of `result`,
    metric by metric, within strata of the other legitimate factors: a group column that is
    also a factor stratifies the other attributes, never its own groups.
    """
    s = result.settings
    level = 1 - s.alpha
    rng = np.random.default_rng(np.random.SeedSequence(s.seed).spawn(3)[2])
    z = intervals.z_value(level)
    rows: list[dict[str, object]] = []
    p_values: list[float] = []
    notes = list(result.notes)
    plain = {
        (d.metric, d.attributes, d.levels): d for d in result.disparities if d.kind == "difference"
    }
    for j, name in enumerate(s.groups):
        axes = factor_axes(strata, s.legitimate_factors, name)
        factors = tuple(strata.attributes[a] for a in axes)
        note = _own_factor_note(name, s.legitimate_factors, factors)
        if note:
            notes.append(note)
        if not axes:
            continue
        levels = strata.levels[j]
        ref_levels = next(
            g.levels for g in result.groups if g.attributes == (name,) and g.is_reference
        )
        ref = levels.index(ref_levels[0])

        def cut(array: np.ndarray, keep: tuple[int, ...] = (j, *axes)) -> np.ndarray:
            out = marginal_in_order(strata, array, keep)
            return out.reshape(out.shape[0], -1, 2, 2)

        n = cut(strata.n)
        live = n.sum(axis=(0, 2, 3)) > 0
        n, w = n[:, live], cut(strata.w)[:, live]
        w2 = None if strata.w2 is None else cut(strata.w2)[:, live]
        metrics = conditional_metrics(s.y_true is not None)
        estimates = {m: conditional_difference(w, ref, m) for m in metrics}
        replicates = _conditional_replicates(n, w, w2, ref, s, rng)
        for metric in metrics:
            # As for the other disparities: reliable when group and reference both reach the
            # minimum size and the metric's denominator rows the minimum, counting only the
            # strata where both have people: a gap measured on a sliver of the group (or on none
            # of it, when the factors separate it from its reference) is no evidence about it.
            den = defs.RATES[metric].parts(n)[1]  # (groups, strata) rows
            shared = (den > 0) & (den[ref] > 0)
            covered_rows = np.where(shared, n.sum(axis=(2, 3)), 0).sum(axis=1)
            covered_den = np.where(shared, den, 0).sum(axis=1)
            ok = (covered_rows >= s.min_group_size) & (covered_den >= s.min_denominator)
            reliable = (ok & ok[ref]).tolist()
            est = estimates[metric]
            se = delta_standard_error(w, w2, ref, metric)
            p = significance.wald_test(est.value, se, margin=s.test_margin)
            method: ConditionalCiMethod
            boot_value, boot_plain = replicates.get(metric, (None, None))
            if boot_value is not None:
                low, high, _ = bootstrap_interval(boot_value, est.value, level)
                method = "bootstrap"
            else:
                low, high = est.value - z * se, est.value + z * se
                method = "normal"
            share = explained_share(est.unconditional, est.value, boot_plain, boot_value, z)
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
                        factors=factors,
                        metric=metric,
                        value=value,
                        unconditional=_number(est.unconditional[i]),
                        ci_low=ci[0],
                        ci_high=ci[1],
                        ci_method=method if None not in ci else "none",
                        p_value=_number(p[i]),
                        coverage=_number(est.coverage[i]),
                        reliable=reliable[i],
                        **_share_fields(
                            share, i, plain.get((metric, (name,), (group_levels,))), s.n_boot
                        ),
                    )
                )
                p_values.append(float(p[i]) if reliable[i] else np.nan)  # not in the family
    adjusted = significance.adjust(np.array(p_values), s.correction)
    records = []
    for row, q in zip(rows, adjusted.tolist(), strict=True):
        q_opt = q if np.isfinite(q) else None
        significant = None if q_opt is None else q_opt < s.alpha
        records.append(ConditionalDisparity(**row, p_adjusted=q_opt, significant=significant))  # type: ignore[arg-type]
    if any(r.coverage is not None and r.coverage < 1 for r in records):
        notes.append(
            "conditional comparisons leave out strata where the reference group has no one; "
            "coverage gives the share of each group's weight kept"
        )
    return replace(result, conditional=tuple(records), notes=tuple(notes))


def _own_factor_note(name: str, listed: Sequence[str], used: tuple[str, ...]) -> str | None:
    """What becomes of a group column that is also a legitimate factor, in its own comparisons."""
    if name not in listed:
        return None
    if not used:
        return (
            f"{name!r} is a legitimate factor and no other factor is listed: its own groups "
            "have no conditional comparisons (a factor cannot stratify its own levels)"
        )
    return (
        f"{name!r} is also a legitimate factor: its own groups are compared within strata "
        f"of the other factors ({', '.join(used)})"
    )


def _share_fields(
    share: ExplainedShare, i: int, plain: Disparity | None, n_boot: int
) -> dict[str, object]:
    """The explained share of group i's gap with its interval, or the reason there is none.

    There is a share only where the plain gap is there to explain: its reported interval
    (the disparity record's) must exclude 0.
    """
    value = _number(share.value[i])
    if plain is None or plain.value is None:
        return dict(explained_share_note="the plain gap is undefined")
    if value is None:
        return dict(explained_share_note="the conditional gap is undefined, or the plain gap is 0")
    if plain.ci_low is None or plain.ci_high is None:
        return dict(explained_share_note="the plain gap has no interval")
    if plain.ci_low <= 0 <= plain.ci_high:
        return dict(
            explained_share_note="the plain gap's interval "
            f"[{fixed(plain.ci_low, signed=True)}, {fixed(plain.ci_high, signed=True)}] "
            "includes 0: there is no established gap to explain"
        )
    low, high = _number(share.low[i]), _number(share.high[i])
    note = None
    if n_boot == 0:
        note = "no interval without bootstrap replicates (n_boot = 0)"
    elif low is None or high is None:
        low = high = None
        note = "no bounded interval: the plain gap is too uncertain in the bootstrap replicates"
    return dict(
        explained_share=value,
        explained_share_low=low,
        explained_share_high=high,
        explained_share_note=note,
    )


def _number(x: float | np.floating) -> float | None:
    return float(x) if np.isfinite(x) else None


def _conditional_replicates(
    n: np.ndarray,
    w: np.ndarray,
    w2: np.ndarray | None,
    ref: int,
    s: Settings,
    rng: np.random.Generator,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Bootstrap replicates (n_boot, groups) of each conditional and unconditional difference.

    Every (group, stratum, y_true, y_pred) cell of the attribute is resampled jointly, like the
    joint table of the other results; batches bound the memory when there are many strata. Both
    differences come from the same resamples, for the interval of the share explained.
    """
    if s.n_boot == 0:
        return {}
    batch = max(1, BOOT_BATCH_CELLS // n.size)
    parts: dict[str, list[ConditionalEstimate]] = {m: [] for m in conditional_metrics(s.y_true is not None)}
    for start in range(0, s.n_boot, batch):
        size = min(batch, s.n_boot - start)
        boot = resample(n, w, n_boot=size, rng=rng, kind=s.bootstrap, group_axes=2, w2=w2)
        for metric in parts:
            parts[metric].append(conditional_difference(boot, ref, metric))
    return {
        m: (
            np.concatenate([e.value for e in v]),
            np.concatenate([e.unconditional for e in v]),
        )
        for m, v in parts.items()
    }


def _score_values(g: Grouping, coarse: int, exact: np.ndarray | None = None) -> None:
    """AUC and calibration error per group, point estimates and replicates.

    `exact` is each group's AUC computed from the rows, when the histogram would round them.
    """
    if g.hist is None or g.score_sum is None:
        return
    g.values["auc"] = scores.auc(g.hist) if exact is None else exact
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


Replicates = tuple[np.ndarray | None, np.ndarray | None]


def draw_replicates(counts: GroupCounts, settings: Settings) -> Replicates:
    """Bootstrap replicates of the cell counts and of the coarse score histograms (or None).

    Each from its own stream of the seed, so that they can be drawn in any order, or while
    the exact AUC is computed (numpy's draws release the GIL). The score histograms, thousands
    of cells, are drawn in `SCORE_REPLICATE_PARTS` parts on as many threads; the parts are
    fixed, so the replicates depend on the seed only, not on the machine.
    """
    if settings.n_boot == 0:
        return None, None
    conf_seed, score_seed = np.random.SeedSequence(settings.seed).spawn(2)
    k = len(counts.attributes)
    boot = resample(
        counts.n,
        counts.w,
        n_boot=settings.n_boot,
        rng=np.random.default_rng(conf_seed),
        kind=settings.bootstrap,
        group_axes=k,
        w2=counts.w2,
    )
    if counts.score_hist is None or counts.score_hist_n is None:
        return boot, None
    coarse = min(BOOTSTRAP_SCORE_BINS, counts.score_bins)
    n, w = scores.rebin(counts.score_hist_n, coarse), scores.rebin(counts.score_hist, coarse)
    boot_hist = np.zeros((settings.n_boot, *n.shape))
    edges = [settings.n_boot * i // SCORE_REPLICATE_PARTS for i in range(SCORE_REPLICATE_PARTS + 1)]
    rngs = [np.random.default_rng(s) for s in score_seed.spawn(SCORE_REPLICATE_PARTS)]

    def part(lo: int, hi: int, rng: np.random.Generator) -> None:
        if hi > lo:  # one replicate: one part
            resample(n, w, n_boot=hi - lo, rng=rng, kind=settings.bootstrap, group_axes=k,
                     out=boot_hist[lo:hi])  # fmt: skip

    with ThreadPoolExecutor(max_workers=SCORE_REPLICATE_PARTS) as pool:
        list(pool.map(part, edges[:-1], edges[1:], rngs))  # list(): re-raises a part's error
    return boot, boot_hist


def assess_counts(
    counts: GroupCounts,
    settings: Settings,
    exact_auc: Mapping[tuple[str, ...], np.ndarray] | None = None,
    replicates: Replicates | None = None,
) -> Assessment:
    """The engine-independent half of `assess`: everything after the counting pass.

    `exact_auc` optionally gives the point-estimate AUC of each grouping from the rows (see
    `audit.stats.exact_auc`), keyed by its attributes (`()` for the whole population), with
    one axis per attribute over `counts.levels`; without it, the AUC is the histogram's.
    `replicates`: `draw_replicates(counts, settings)`, when the caller drew them already.
    """
    level = 1 - settings.alpha
    boot, boot_hist = replicates if replicates is not None else draw_replicates(counts, settings)
    k = len(counts.attributes)
    coarse = min(BOOTSTRAP_SCORE_BINS, counts.score_bins)

    builder = RecordBuilder(settings, level)
    parts = []
    references: list[ReferenceChoice] = []
    for keep in groupings(counts, settings.intersections):  # single attributes come first
        g = slice_grouping(counts, keep, boot, boot_hist)
        g.values = defs.confusion_metrics(g.w)
        if g.boot is not None:
            g.boot_values = defs.confusion_metrics(g.boot)
        _score_values(g, coarse, _live_exact(counts, keep, exact_auc))
        choice = _reference(g, settings, {r.attributes[0]: r.levels[0] for r in references[:k]})
        g.ref = g.levels.index(choice.levels)
        references.append(choice)
        builder.add(g)
        parts.append(g)
    builder.add_comparisons(stack(parts))
    everyone = slice_grouping(counts, (), boot, boot_hist)
    everyone.values = defs.confusion_metrics(everyone.w)
    if everyone.boot is not None:
        everyone.boot_values = defs.confusion_metrics(everyone.boot)
    _score_values(everyone, coarse, _live_exact(counts, (), exact_auc))
    builder.add_overall(everyone)
    result = builder.finish(counts)
    fallbacks = [r.note() for r in references if r.reason is not None]
    return replace(result, references=tuple(references), notes=(*result.notes, *fallbacks))


def _reference(g: Grouping, settings: Settings, single: Mapping[str, str]) -> ReferenceChoice:
    """The reference group of a grouping; an intersection's is composed of its attributes' own.

    `single` maps each attribute to its own reference level, chosen before any intersection.
    """
    n_rows = g.n_rows
    reliable = n_rows >= settings.min_group_size
    if len(g.attributes) == 1:
        name = g.attributes[0]
        named = settings.reference.get(name)
        index = choose_reference(
            g.levels,
            g.w.sum(axis=(1, 2)),
            g.values["selection_rate"],
            reliable,
            rule=settings.reference_rule,
            explicit=None if named is None else (str(named),),
        )
        how: ReferenceHow = "named" if named is not None else settings.reference_rule
        reason = None
        if not reliable[index]:
            reason = f"the reference group has {int(n_rows[index])} people, below the minimum size"
        return ReferenceChoice(
            attributes=g.attributes,
            levels=g.levels[index],
            intended=g.levels[index],
            how=how,
            n_rows=int(n_rows[index]),
            reason=reason,
        )
    intended = tuple(single[a] for a in g.attributes)
    if intended in g.levels and reliable[g.levels.index(intended)]:
        index = g.levels.index(intended)
        return ReferenceChoice(
            attributes=g.attributes,
            levels=intended,
            intended=intended,
            how="composed",
            n_rows=int(n_rows[index]),
        )
    if intended in g.levels:
        size = int(n_rows[g.levels.index(intended)])
        reason = f"that group has {size} people, below the minimum size {settings.min_group_size}"
    else:
        reason = "no one is in that group"
    # The fallback keeps as many attributes as possible at their own reference, then the largest.
    pool = np.flatnonzero(reliable) if reliable.any() else np.arange(len(g.levels))
    weight = g.w.sum(axis=(1, 2))
    index = int(
        max(
            pool,
            key=lambda i: (
                sum(a == b for a, b in zip(g.levels[i], intended, strict=True)),
                weight[i],
            ),
        )
    )
    return ReferenceChoice(
        attributes=g.attributes,
        levels=g.levels[index],
        intended=intended,
        how="fallback",
        n_rows=int(n_rows[index]),
        reason=reason,
    )


def _live_exact(
    counts: GroupCounts,
    keep: tuple[int, ...],
    exact: Mapping[tuple[str, ...], np.ndarray] | None,
) -> np.ndarray | None:
    """The exact AUC of a grouping's live groups, in `slice_grouping`'s order, if given."""
    name = tuple(counts.attributes[a] for a in keep)
    if exact is None or name not in exact:
        return None
    values = np.asarray(exact[name], dtype=np.float64)
    shape = tuple(len(counts.levels[a]) for a in keep)
    if values.shape != shape:
        raise ValueError(f"exact AUC of {name} has shape {values.shape}, not {shape}")
    rows = counts.marginal(counts.n, keep).reshape(values.size, -1).sum(axis=1)
    return values.reshape(-1)[rows > 0]
