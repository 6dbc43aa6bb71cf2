"""Multiclass decisions: every track's share by group, from one track × group-cell count table.

A track recommender (or a log of the tracks it recommended) makes one decision out of several:
regular placement, training, sheltered work, care. The binary view (`decision.label`) audits
one track per run; here every track is audited at once. One `np.bincount` over the joint code
(group cell × track) gives the count table; any attribute or intersection is a marginal of it,
so an engine that counts elsewhere (Spark) only has to supply `TrackCounts`.

For each grouping, group and track: the share of the group recommended the track (Wilson
interval), its difference and ratio to the reference group's share (Newcombe and Katz
intervals, or the bootstrap when replicates are drawn and the cells are large enough, chosen as
for the binary metrics), a two-proportion test corrected over the reliable track comparisons
(`settings.correction`; an exploratory family of its own), and the smallest difference the test
detects. With legitimate factors, each attribute's track shares are also compared within
strata of the factors (the standardisation of `audit.metrics.conditional`, per track).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from math import prod

import numpy as np

from audit.errors import AuditInputError
from audit.metrics import intervals, significance
from audit.metrics.conditional import conditional_difference, delta_standard_error
from audit.stats.bootstrap import bootstrap_interval, resample
from audit.stats.counts import MAX_TABLE_BYTES
from audit.stats.encoding import EncodedAttribute
from audit.stats.result import Settings, TrackConditional, TrackShare, WithinStratum
from audit.stats.within_strata import _metric_records

TRACK_METRIC = "track_share"
# Seeds: children of SeedSequence(settings.seed) not used by the binary assessment (0-2).
_SEED_CHILDREN = 5
_PLAIN_SEED, _CONDITIONAL_SEED = 3, 4
# Conditional bootstrap replicates are drawn in batches of at most this many cells.
BOOT_BATCH_CELLS = 4_000_000
MAX_TRACK_CELLS = 20_000_000


@dataclass(frozen=True)
class TrackCounts:
    """Joint counts over attributes and tracks: `n`, `w`, `w2` have one axis per attribute
    (in `attributes` order), then the track axis (in `tracks` order). Without weights `w`
    equals `n` and `w2` is None."""

    attributes: tuple[str, ...]
    levels: tuple[tuple[str, ...], ...]
    tracks: tuple[str, ...]
    n: np.ndarray
    w: np.ndarray
    w2: np.ndarray | None = None

    @property
    def n_rows(self) -> int:
        return int(self.n.sum())

    def marginal(self, array: np.ndarray, keep: Sequence[int], *, lead: int = 0) -> np.ndarray:
        """Sums out the attribute axes not in `keep` and puts the kept ones in `keep`'s order;
        the track axis stays last. `lead` leading axes (bootstrap replicates) are kept."""
        k = len(self.attributes)
        drop = tuple(lead + a for a in range(k) if a not in keep)
        out = array.sum(axis=drop) if drop else array
        stored = sorted(keep)
        order = [stored.index(a) for a in keep]
        if order == sorted(order):
            return out
        axes = [*range(lead), *(lead + o for o in order), out.ndim - 1]
        return out.transpose(axes)


def count_tracks(
    attributes: Sequence[EncodedAttribute],
    track: EncodedAttribute,
    weight: np.ndarray | None = None,
    *,
    rows: np.ndarray | None = None,
    weight_sq: np.ndarray | None = None,
) -> TrackCounts:
    """The joint table in one `bincount` over ((code_1 · L_2 + code_2) · …) · T + track.

    Levels no row has are dropped (as `count_groups` does); track labels are all kept, so a
    track no one was recommended shows with a share of 0.
    """
    shape = (*(len(a.levels) for a in attributes), len(track.levels))
    cells = prod(shape)
    if cells > MAX_TRACK_CELLS:
        raise AuditInputError(
            "group columns and tracks",
            expected=f"at most {MAX_TRACK_CELLS:,} combinations of group levels and tracks",
            found=f"{cells:,} ({' × '.join(map(str, shape))})",
            fix="audit fewer attributes or legitimate factors at once, or merge rare levels",
        )
    code = np.zeros(len(track.codes), dtype=np.int64)
    for attribute, size in zip(attributes, shape, strict=False):
        code *= size
        code += attribute.codes
    code *= shape[-1]
    code += track.codes
    # `rows` and `weight_sq`: an aggregated table, each row with the rows it stands for.
    if rows is None:
        n: np.ndarray = np.bincount(code, minlength=cells).reshape(shape)
    else:
        n = np.bincount(code, weights=rows, minlength=cells).astype(np.int64).reshape(shape)
    w: np.ndarray = n.astype(np.float64)
    w2: np.ndarray | None = None
    if weight is not None:
        squares = weight**2 if weight_sq is None else weight_sq
        w = np.bincount(code, weights=weight, minlength=cells).reshape(shape)
        w2 = np.bincount(code, weights=squares, minlength=cells).reshape(shape)
    counts = TrackCounts(
        attributes=tuple(a.name for a in attributes),
        levels=tuple(a.levels for a in attributes),
        tracks=track.levels,
        n=n,
        w=w,
        w2=w2,
    )
    return _drop_empty_levels(counts)


def _drop_empty_levels(counts: TrackCounts) -> TrackCounts:
    n, w, w2 = counts.n, counts.w, counts.w2
    levels = list(counts.levels)
    for axis, name in enumerate(counts.attributes):
        present = n.sum(axis=tuple(a for a in range(n.ndim) if a != axis)) > 0
        if present.sum() < 2:
            raise AuditInputError(
                f"group column {name!r}",
                expected="at least two groups to compare",
                found="a single value" if present.any() else "no values",
                fix="choose a column whose values differ between people, or drop it",
            )
        if present.all():
            continue
        keep = np.flatnonzero(present)
        levels[axis] = tuple(levels[axis][i] for i in keep)
        n, w = np.take(n, keep, axis=axis), np.take(w, keep, axis=axis)
        w2 = None if w2 is None else np.take(w2, keep, axis=axis)
    return TrackCounts(counts.attributes, tuple(levels), counts.tracks, n, w, w2)


# Bytes per replicate and cell of the plain table at the peak: the replicates, and a grouping's
# shares, differences and ratios with their bootstrap temporaries (at most as many groups as
# joint cells).
_REPLICATE_BYTES_PER_CELL = 8 * 5


def check_track_table_size(counts: TrackCounts, n_boot: int, limit: int = MAX_TABLE_BYTES) -> None:
    """Refuses, before any replicate is drawn, track replicates that would not fit in `limit`."""
    cells = counts.n.size
    size = _REPLICATE_BYTES_PER_CELL * n_boot * cells
    if size <= limit:
        return
    shape = " × ".join(map(str, counts.n.shape))
    raise AuditInputError(
        "group columns and tracks",
        expected=f"track bootstrap replicates within {limit / 2**30:.1f} GiB of memory",
        found=f"about {size / 2**30:.1f} GiB for {cells:,} cells ({shape}), {n_boot} replicates",
        fix="audit fewer attributes at once, merge rare levels or tracks, or lower "
        "statistics.n_boot (--n-boot)",
    )


def plain_counts(counts: TrackCounts, k: int) -> TrackCounts:
    """The table over the first `k` attributes only (the groups, without the factors)."""
    keep = tuple(range(k))
    return TrackCounts(
        attributes=counts.attributes[:k],
        levels=counts.levels[:k],
        tracks=counts.tracks,
        n=counts.marginal(counts.n, keep),
        w=counts.marginal(counts.w, keep),
        w2=None if counts.w2 is None else counts.marginal(counts.w2, keep),
    )


def grouping_orders(k: int, order: int) -> list[tuple[int, ...]]:
    """Single attributes first, then every pair, then every triple (as `groupings`)."""
    return [c for r in range(1, order + 1) for c in itertools.combinations(range(k), r)]


@dataclass(frozen=True)
class TrackGrouping:
    """The live groups of one grouping: (G, T) counts and, with replicates, (B, G, T)."""

    attributes: tuple[str, ...]
    levels: list[tuple[str, ...]]
    n: np.ndarray
    w: np.ndarray
    w2: np.ndarray | None
    boot: np.ndarray | None


def slice_tracks(
    counts: TrackCounts, keep: tuple[int, ...], boot: np.ndarray | None
) -> TrackGrouping:
    t = len(counts.tracks)

    def cut(array: np.ndarray | None, lead: int = 0) -> np.ndarray | None:
        if array is None:
            return None
        out = counts.marginal(array, keep, lead=lead)
        return out.reshape((*out.shape[:lead], -1, t))

    n = cut(counts.n)
    assert n is not None
    live = np.flatnonzero(n.sum(axis=-1) > 0)  # an empty intersection is not a group
    all_levels = list(itertools.product(*(counts.levels[a] for a in keep)))
    w, w2, b = cut(counts.w), cut(counts.w2), cut(boot, lead=1)
    assert w is not None
    return TrackGrouping(
        attributes=tuple(counts.attributes[a] for a in keep),
        levels=[all_levels[i] for i in live],
        n=n[live],
        w=w[live],
        w2=None if w2 is None else w2[live],
        boot=None if b is None else b[:, live],
    )


def _shares(w: np.ndarray) -> np.ndarray:
    """Shares over the last axis (the tracks); NaN for a group without weight."""
    total = w.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, w / np.where(total > 0, total, 1.0), np.nan)


def _choose(
    value: np.ndarray,
    small: np.ndarray,
    boot: tuple[np.ndarray, np.ndarray] | None,
    analytic: tuple[np.ndarray, np.ndarray],
    name: str,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The bootstrap interval where the cells are large, else the analytic one (as
    `RecordBuilder._choose_ci`: small denominators and edge shares of 0 or 1 make every
    replicate repeat the estimate)."""
    finite = np.isfinite(value)
    use_analytic = finite & ((boot is None) | small)
    use_boot = finite & ~use_analytic
    b_low, b_high = boot if boot is not None else (analytic[0], analytic[1])
    low = np.where(use_analytic, analytic[0], np.where(use_boot, b_low, np.nan))
    high = np.where(use_analytic, analytic[1], np.where(use_boot, b_high, np.nan))
    method = np.where(use_analytic, name, np.where(use_boot, "bootstrap", "none"))
    return method.ravel().tolist(), low, high


def track_records(
    counts: TrackCounts,
    settings: Settings,
    references: Mapping[tuple[str, ...], tuple[str, ...]],
) -> tuple[TrackShare, ...]:
    """Every grouping's track shares with their gaps to the reference group, tests corrected.

    `references` maps each grouping's attributes to its reference levels (those of the binary
    assessment, or chosen for a track-only one); `counts` holds the group attributes only.
    """
    s = settings
    level = 1 - s.alpha
    k = len(counts.attributes)
    boot = None
    if s.n_boot > 0:
        check_track_table_size(counts, s.n_boot)
        rng = np.random.default_rng(
            np.random.SeedSequence(s.seed).spawn(_SEED_CHILDREN)[_PLAIN_SEED]
        )
        boot = resample(
            counts.n,
            counts.w,
            n_boot=s.n_boot,
            rng=rng,
            kind=s.bootstrap,
            group_axes=k,
            w2=counts.w2,
        )
    rows: list[dict[str, object]] = []
    p_all: list[np.ndarray] = []
    for keep in grouping_orders(k, s.intersections):
        g = slice_tracks(counts, keep, boot)
        ref = g.levels.index(references[g.attributes])
        part, p = _grouping_records(g, ref, counts.tracks, s, level)
        rows += part
        p_all.append(p)
    p_flat = np.concatenate(p_all) if p_all else np.array([])
    return tuple(TrackShare(**row) for row in _corrected(rows, p_flat, s))  # type: ignore[arg-type]


def _grouping_records(
    g: TrackGrouping, ref: int, tracks: tuple[str, ...], s: Settings, level: float
) -> tuple[list[dict[str, object]], np.ndarray]:
    """The records of one grouping (groups × tracks, row-major) and the p-values that enter
    the family (NaN for the reference, unreliable or untested comparisons)."""
    n_groups, n_tracks = g.n.shape
    rows_n = g.n.sum(axis=-1)  # (G,)
    total_w = g.w.sum(axis=-1)
    total_w2 = None if g.w2 is None else g.w2.sum(axis=-1)
    n_eff = np.broadcast_to(intervals.effective_n(total_w, total_w2)[:, None], g.n.shape)
    share = _shares(g.w)  # (G, T)
    ref_share = np.broadcast_to(share[ref], share.shape)
    ref_n = np.broadcast_to(n_eff[ref], share.shape)
    diff = share - ref_share
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(ref_share > 0, share / np.where(ref_share > 0, ref_share, 1.0), np.nan)
    wilson = intervals.wilson(share, n_eff, level)
    newcombe = intervals.newcombe(share, n_eff, ref_share, ref_n, level)
    katz = intervals.katz(share, n_eff, ref_share, ref_n, level)
    p = significance.two_proportion_test(share, n_eff, ref_share, ref_n, margin=s.test_margin)
    mde = significance.minimum_detectable_difference(
        ref_share, n_eff, ref_n, alpha=s.alpha, power=s.power
    )
    boot_share = boot_diff = boot_ratio = None
    if g.boot is not None:
        b = _shares(g.boot)  # (B, G, T)
        bd = b - b[:, ref : ref + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            br = np.where(b[:, ref : ref + 1] > 0, b / b[:, ref : ref + 1], np.nan)
        boot_share = bootstrap_interval(b, share, level)[:2]
        boot_diff = bootstrap_interval(bd, diff, level)[:2]
        boot_ratio = bootstrap_interval(br, ratio, level)[:2]
    small_rows = np.broadcast_to(rows_n[:, None] < s.min_group_size, share.shape)
    edge = np.isin(share, (0.0, 1.0))
    both_edge = edge | np.isin(ref_share, (0.0, 1.0))
    small_pair = small_rows | np.broadcast_to(rows_n[ref] < s.min_group_size, share.shape)
    share_ci = _choose(share, small_rows | edge, boot_share, wilson, "wilson")
    diff_ci = _choose(diff, small_pair | both_edge, boot_diff, newcombe, "newcombe")
    ratio_ci = _choose(ratio, small_pair | both_edge, boot_ratio, katz, "katz")
    reliable_group = (rows_n >= s.min_group_size) & (rows_n >= s.min_denominator)
    reliable = reliable_group & reliable_group[ref]
    is_ref = np.arange(n_groups) == ref
    family = np.where((reliable & ~is_ref)[:, None], p, np.nan).ravel()
    flat = {
        "share": share.ravel(),
        "diff": diff.ravel(),
        "ratio": ratio.ravel(),
        "p": p.ravel(),
        "mde": mde.ravel(),
    }
    intervals_flat = {name: (ci[1].ravel(), ci[2].ravel(), ci[0]) for name, ci in
                      (("share", share_ci), ("diff", diff_ci), ("ratio", ratio_ci))}  # fmt: skip
    counts = g.n.ravel().tolist()
    records: list[dict[str, object]] = []
    for i in range(n_groups * n_tracks):
        gi, ti = divmod(i, n_tracks)
        own = bool(is_ref[gi])
        record: dict[str, object] = dict(
            attributes=g.attributes,
            levels=g.levels[gi],
            track=tracks[ti],
            reference_levels=g.levels[ref],
            is_reference=own,
            n_rows=int(rows_n[gi]),
            count=int(counts[i]),
            share=_number(flat["share"][i]),
            reliable=bool(reliable[gi]),
        )
        record.update(_interval("", intervals_flat["share"], i))
        if not own:
            record.update(
                difference=_number(flat["diff"][i]),
                ratio=_number(flat["ratio"][i]),
                p_value=_number(flat["p"][i]),
                detectable=_number(flat["mde"][i]),
                **_interval("difference_", intervals_flat["diff"], i),
                **_interval("ratio_", intervals_flat["ratio"], i),
            )
            if record["ratio"] is None:
                record["undefined_reason"] = "the reference group's share is 0: no ratio"
        records.append(record)
    return records, family


def _interval(
    prefix: str, ci: tuple[np.ndarray, np.ndarray, list[str]], i: int
) -> dict[str, object]:
    low, high = _number(ci[0][i]), _number(ci[1][i])
    if low is None or high is None:
        return {f"{prefix}ci_low": None, f"{prefix}ci_high": None, f"{prefix}ci_method": "none"}
    return {f"{prefix}ci_low": low, f"{prefix}ci_high": high, f"{prefix}ci_method": ci[2][i]}


def _number(x: float | np.floating) -> float | None:
    return float(x) if np.isfinite(x) else None


# --- within strata of the legitimate factors ---------------------------------------------------


def _binary_view(tracks_last: np.ndarray) -> np.ndarray:
    """(..., G, S, T) counts as (..., T, G, S, 2, 2) binary tables: for each track, the people
    recommended it (cell [0, 1]: a "selection") and the others (cell [0, 0])."""
    chosen = np.moveaxis(tracks_last, -1, -3)  # (..., T, G, S)
    total = tracks_last.sum(axis=-1)[..., None, :, :]
    out = np.zeros((*chosen.shape, 2, 2))
    out[..., 0, 1] = chosen
    out[..., 0, 0] = total - chosen
    return out


def track_conditional_records(
    strata: TrackCounts,
    settings: Settings,
    references: Mapping[tuple[str, ...], tuple[str, ...]],
) -> tuple[TrackConditional, ...]:
    """Each attribute's track shares against its reference within strata of the other
    legitimate factors, pooled with the group's own weights (`conditional_difference` on the
    binary view of each track); tests corrected within these comparisons.

    `strata` holds the group attributes first, then the factors that are not group columns.
    """
    s = settings
    level = 1 - s.alpha
    z = intervals.z_value(level)
    rng = np.random.default_rng(
        np.random.SeedSequence(s.seed).spawn(_SEED_CHILDREN)[_CONDITIONAL_SEED]
    )
    rows: list[dict[str, object]] = []
    p_values: list[float] = []
    for j, name in enumerate(s.groups):
        axes = [strata.attributes.index(f) for f in s.legitimate_factors if f != name]
        if not axes:
            continue
        levels = strata.levels[j]
        ref = levels.index(references[(name,)][0])
        keep = (j, *axes)

        def cut(array: np.ndarray, keep: tuple[int, ...] = keep) -> np.ndarray:
            out = strata.marginal(array, keep)
            return out.reshape(out.shape[0], -1, out.shape[-1])  # (G, S, T)

        n = cut(strata.n)
        live = n.sum(axis=(0, 2)) > 0
        n, w = n[:, live], cut(strata.w)[:, live]
        w2 = None if strata.w2 is None else cut(strata.w2)[:, live]
        bw = _binary_view(w)
        bw2 = None if w2 is None else _binary_view(w2)
        est = conditional_difference(bw, ref, "selection_rate")  # (T, G)
        se = delta_standard_error(bw, bw2, ref, "selection_rate")
        p = significance.wald_test(est.value, se, margin=s.test_margin)
        low, high = est.value - z * se, est.value + z * se
        method = "normal"
        if s.n_boot > 0:
            replicates = _conditional_replicates(n, w, w2, ref, s, rng)
            low, high, _ = bootstrap_interval(replicates, est.value, level)
            method = "bootstrap"
        den = n.sum(axis=-1)  # (G, S) rows
        shared = (den > 0) & (den[ref] > 0)
        covered = np.where(shared, den, 0).sum(axis=1)
        ok = (covered >= s.min_group_size) & (covered >= s.min_denominator)
        reliable = ok & ok[ref]
        factors = tuple(strata.attributes[a] for a in axes)
        for t, track in enumerate(strata.tracks):
            for i, group_levels in enumerate(levels):
                if i == ref:
                    continue
                value = _number(est.value[t, i])
                ci = (None, None) if value is None else (_number(low[t, i]), _number(high[t, i]))
                rows.append(
                    dict(
                        attributes=(name,),
                        levels=(group_levels,),
                        track=track,
                        reference_levels=(levels[ref],),
                        factors=factors,
                        value=value,
                        unconditional=_number(est.unconditional[t, i]),
                        ci_low=ci[0],
                        ci_high=ci[1],
                        ci_method=method if None not in ci else "none",
                        p_value=_number(p[t, i]),
                        coverage=_number(est.coverage[t, i]),
                        reliable=bool(reliable[i]),
                    )
                )
                p_values.append(float(p[t, i]) if reliable[i] else np.nan)
    corrected = _corrected(rows, np.array(p_values), s)
    return tuple(TrackConditional(**row) for row in corrected)  # type: ignore[arg-type]


def _corrected(
    rows: list[dict[str, object]], p_values: np.ndarray, s: Settings
) -> list[dict[str, object]]:
    """Each record with its p-value corrected over the family (`s.correction`) and the
    significance read at `s.alpha`; a record outside the family (NaN) has neither."""
    adjusted = significance.adjust(p_values, s.correction)
    out = []
    for row, q in zip(rows, adjusted.tolist(), strict=True):
        q_opt = q if np.isfinite(q) else None
        significant = None if q_opt is None else q_opt < s.alpha
        out.append({**row, "p_adjusted": q_opt, "significant": significant})
    return out


def _conditional_replicates(
    n: np.ndarray,
    w: np.ndarray,
    w2: np.ndarray | None,
    ref: int,
    s: Settings,
    rng: np.random.Generator,
) -> np.ndarray:
    """(n_boot, T, G) replicates of the conditional differences; every (group, stratum,
    track) cell resampled jointly, in batches that bound the memory."""
    batch = max(1, BOOT_BATCH_CELLS // (n.size * 4))
    parts = []
    for start in range(0, s.n_boot, batch):
        size = min(batch, s.n_boot - start)
        boot = resample(n, w, n_boot=size, rng=rng, kind=s.bootstrap, group_axes=2, w2=w2)
        parts.append(conditional_difference(_binary_view(boot), ref, "selection_rate").value)
    return np.concatenate(parts)


def track_within_strata(
    strata: TrackCounts,
    settings: Settings,
    references: Mapping[tuple[str, ...], tuple[str, ...]],
) -> tuple[WithinStratum, ...]:
    """Every group's track shares within each level of each legitimate factor alone, with the
    difference to the reference group in that level: the rows `audit.stats.within_strata` gives
    for a binary selection rate, here for the binary view of each track."""
    s = settings
    level = 1 - s.alpha
    records: list[WithinStratum] = []
    for j, name in enumerate(s.groups):
        ref = strata.levels[j].index(references[(name,)][0])
        for f in (strata.attributes.index(x) for x in s.legitimate_factors if x != name):
            n = strata.marginal(strata.n, (j, f))  # (G, F, T)
            w = strata.marginal(strata.w, (j, f))
            w2 = None if strata.w2 is None else strata.marginal(strata.w2, (j, f))
            bn, bw = _binary_view(n), _binary_view(w)  # (T, G, F, 2, 2)
            bw2 = None if w2 is None else _binary_view(w2)
            rows = n.sum(axis=-1)
            reliable = (rows >= s.min_group_size) & (rows[ref] >= s.min_group_size)
            for t, track in enumerate(strata.tracks):
                arrays = (bn[t], bw[t], None if bw2 is None else bw2[t])
                part = _metric_records(
                    (name, strata.levels[j], ref),
                    (strata.attributes[f], strata.levels[f]),
                    "selection_rate",
                    arrays,
                    reliable,
                    level,
                )
                records += [_as_track(r, track) for r in part]
    return tuple(records)


def _as_track(record: WithinStratum, track: str) -> WithinStratum:
    return replace(record, metric=TRACK_METRIC, track=track)
