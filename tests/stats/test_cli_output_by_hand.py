"""What `audit assess` prints, checked against figures worked out by hand (issue 14).

The other command tests read the JSON; these read the terminal. Small tables with a known
answer (exact counts, so the rates are fractions one can write down) are assessed, made
publishable by `audit.disclosure.suppress` as the command does, and printed to a recording
console. The expected text is written out here: rates from the counts, headcounts with their
thousands separators, and the intervals, p-values and detectable gaps read from the
Assessment's own fields and formatted by hand (3 decimals, 2 significant digits), never copied
from the printer's output.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from audit.cli import EXIT_INPUT_ERROR, EXIT_OK
from audit.disclosure import suppress
from audit.errors import AuditInputError
from audit.stats import cli
from audit.stats.assess import assess
from audit.stats.result import Assessment, Disparity, TrackShare
from tests.in_process import run_command

# ---------------------------------------------------------------------------------------------
# helpers


def _printed(printer: Callable[[Assessment, Console], None], result: Assessment) -> str:
    """The text `printer(result, console)` shows on a 250-column console."""
    console = Console(record=True, width=250, file=io.StringIO())
    printer(result, console)
    return console.export_text()


def _flat(text: str) -> str:
    """Text with its line breaks and runs of spaces made single spaces (sentences may wrap)."""
    return " ".join(text.split())


def _cells(text: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is `first`, unpadded."""
    return [c.strip() for c in _raw_cells(text, first)]


def _raw_cells(text: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is `first`, with their padding."""
    for line in text.splitlines():
        if line.startswith(("│", "┃")):
            cells = line.strip()[1:-1].split("│" if line.startswith("│") else "┃")
            if cells[0].strip() == first:
                return cells
    raise AssertionError(f"no row {first!r} in\n{text}")


def _title_line(text: str, title: str) -> str:
    """The line holding a table's title (raises if there is none)."""
    for line in text.splitlines():
        if line.strip() == title:
            return line
    raise AssertionError(f"no title {title!r} in\n{text}")


def _ci(low: float | None, high: float | None) -> str:
    assert low is not None and high is not None
    return f"[{low:.3f}, {high:.3f}]"


def _signed_ci(low: float | None, high: float | None) -> str:
    assert low is not None and high is not None
    return f"[{low:+.3f}, {high:+.3f}]"


def _finding_lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if ", p_adj=" in line]


def _counts(n: int, positives: int, chosen_pos: int, chosen_neg: int) -> pd.DataFrame:
    """`n` people, `positives` of them with the outcome; `chosen_pos` of those and
    `chosen_neg` of the others selected; sex alternates f, m, f, m..."""
    y = np.r_[np.ones(positives, int), np.zeros(n - positives, int)]
    d = np.r_[
        np.ones(chosen_pos, int),
        np.zeros(positives - chosen_pos, int),
        np.ones(chosen_neg, int),
        np.zeros(n - positives - chosen_neg, int),
    ]
    return pd.DataFrame({"sex": np.where(np.arange(n) % 2 == 0, "f", "m"), "y": y, "d": d})


# ---------------------------------------------------------------------------------------------
# the assessments


@pytest.fixture(scope="module")
def outcome_audit() -> Assessment:
    """Four regions with an outcome, at alpha 0.1, 20 replicates, BH, pairs of attributes.

    north 1,200 (600 with the outcome, 480 of them and 240 others selected): selection 0.600,
          TPR 0.800, FPR 0.400, PPV 480/720 = 0.667; the largest group, so the reference.
    south 1,100 (550; 220 and 110): selection 0.300, TPR 0.400, FPR 0.200, PPV 0.667.
    tiny  12 (6; 3 and 2): selection 5/12 = 0.417; under 30 rows, its TPR/FPR/PPV
          denominators (6, 6, 5) under the 10 of min_cell_size: suppressed; its size is
          withheld so that micro's cannot be recovered by subtraction.
    micro 5: every figure suppressed, shown as "<10".
    """
    frame = pd.concat(
        [
            _counts(1200, 600, 480, 240).assign(region="north"),
            _counts(1100, 550, 220, 110).assign(region="south"),
            _counts(12, 6, 3, 2).assign(region="tiny"),
            _counts(5, 3, 1, 1).assign(region="micro"),
        ],
        ignore_index=True,
    )
    result = assess(
        frame, y_true="y", y_pred="d", groups=["region", "sex"], intersections=2,
        n_boot=20, alpha=0.1, correction="bh", seed=1,
    )  # fmt: skip
    return suppress(result)


def _block(region: str, sector: str, n: int, chosen: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": region,
            "sector": sector,
            # shift alternates day, night within each block: the same rate in both
            "shift": np.where(np.arange(n) % 2 == 0, "day", "night"),
            "d": (np.arange(n) < chosen).astype(int),
        }
    )


@pytest.fixture(scope="module")
def factor_audit() -> Assessment:
    """Decisions alone, with sector and shift as legitimate factors.

    north: care 420/600 = 0.7, retail 180/600 = 0.3, overall 0.500 (reference).
    south: care 120/200 = 0.6, retail 230/900, overall 350/1100 = 0.318; plain gap
           350/1100 - 0.5 = -0.182. Within sector: -0.1 in care, 230/900 - 0.3 in retail;
           weighted by south's people (200, 900): (-20 - 40) / 1100 = -0.055; so the factors
           explain (plain - conditional) / plain = 0.700 of the gap.
    tiny 12 (unreliable), micro 5 (suppressed).
    """
    frame = pd.concat(
        [
            _block("north", "care", 600, 420),
            _block("north", "retail", 600, 180),
            _block("south", "care", 200, 120),
            _block("south", "retail", 900, 230),
            _block("tiny", "care", 6, 3),
            _block("tiny", "retail", 6, 2),
            _block("micro", "care", 3, 1),
            _block("micro", "retail", 2, 1),
        ],
        ignore_index=True,
    )
    result = assess(
        frame, y_true=None, y_pred="d", groups=["region"],
        legitimate_factors=["sector", "shift"], n_boot=20, seed=1,
    )  # fmt: skip
    return suppress(result)


def _tracks(region: str, counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        {"region": region, "track": [k for k, c in counts.items() for _ in range(c)]}
    )


@pytest.fixture(scope="module")
def track_audit() -> Assessment:
    """Recommended tracks. north 1,000 (reference): training 0.500, placement 0.300, none
    0.200. south 800: training 120/800 = 0.150 (gap -0.350), placement 380/800 = 0.475 and
    none 300/800 = 0.375 (gaps +0.175). west 40: the reference's shares exactly (no gap).
    The training gap is the largest, so its p is the smallest, though listed last."""
    frame = pd.concat(
        [
            _tracks("north", {"training": 500, "placement": 300, "none": 200}),
            _tracks("south", {"training": 120, "placement": 380, "none": 300}),
            _tracks("west", {"training": 20, "placement": 12, "none": 8}),
        ],
        ignore_index=True,
    )
    result = assess(frame, y_true=None, y_pred=None, track="track", groups=["region"], n_boot=20)
    return suppress(result)


# ---------------------------------------------------------------------------------------------
# print_summary


def test_headline_names_rows_attributes_interval_level_replicates_and_correction(
    outcome_audit: Assessment, factor_audit: Assessment
) -> None:
    """The first line: rows with a thousands separator, the attributes, the 1-alpha interval
    level in percent, the bootstrap replicates and the correction."""
    first = _printed(cli.print_summary, outcome_audit).splitlines()[0].rstrip()
    assert (
        first
        == "2,317 rows, groups by region, sex; 90% intervals, 20 bootstrap replicates, bh correction"
    )
    first = _printed(cli.print_summary, factor_audit).splitlines()[0].rstrip()
    assert (
        first
        == "2,317 rows, groups by region; 95% intervals, 20 bootstrap replicates, holm correction"
    )


def test_group_table_shows_rates_with_intervals_sizes_and_flags(outcome_audit: Assessment) -> None:
    """One table per single attribute (none for the pairs): each group's headline rates with
    their intervals, its headcount, (reference)/(small), suppressed and withheld figures,
    and the detectable selection-rate gap of each compared group."""
    text = _printed(cli.print_summary, outcome_audit)
    r = outcome_audit
    header = _cells(text, "group")
    assert header == ["group", "n", "selection_rate", "tpr", "fpr", "ppv", "detectable gap"]

    def shown(metric: str, level: str, value: str) -> str:
        m = r.metric(metric, ("region",), (level,))
        return f"{value} {_ci(m.ci_low, m.ci_high)}"

    def gap(level: str) -> str:
        d = r.disparity("selection_rate", ("region",), (level,))
        assert d.detectable is not None
        return f"±{d.detectable:.3f}"

    assert _cells(text, "north (reference)") == [
        "north (reference)", "1,200", shown("selection_rate", "north", "0.600"),
        shown("tpr", "north", "0.800"), shown("fpr", "north", "0.400"),
        shown("ppv", "north", "0.667"), "",
    ]  # fmt: skip
    assert _cells(text, "south") == [
        "south", "1,100", shown("selection_rate", "south", "0.300"),
        shown("tpr", "south", "0.400"), shown("fpr", "south", "0.200"),
        shown("ppv", "south", "0.667"), gap("south"),
    ]  # fmt: skip
    assert _cells(text, "tiny (small)") == [
        "tiny (small)", "withheld", shown("selection_rate", "tiny", "0.417"),
        "suppressed", "suppressed", "suppressed", gap("tiny"),
    ]  # fmt: skip
    assert _cells(text, "micro (small)") == ["micro (small)", "<10", *["suppressed"] * 4, ""]
    # the detectable gap of a large group is the smaller one (about 2.8 / sqrt(n) of a rate)
    assert 0.03 < float(gap("south")[1:]) < 0.08 < 0.2 < float(gap("tiny")[1:])
    # sex: f 1,159 (the largest) is the reference, m 1,158
    assert _cells(text, "f (reference)")[:2] == ["f (reference)", "1,159"]
    assert _cells(text, "m")[:2] == ["m", "1,158"]
    # the tables are titled by their attribute, flush left; no table for the pairs
    assert _title_line(text, "region").startswith("region")
    assert _title_line(text, "sex").startswith("sex")
    assert "region × sex" not in "\n".join(line for line in text.splitlines() if ": " not in line)
    # sizes and detectable gaps are right-aligned in their columns
    n_cell, gap_cell = (_raw_cells(text, "micro (small)")[i] for i in (1, -1))
    assert n_cell.endswith("<10 ") and n_cell.startswith("   ")
    south = _raw_cells(text, "south")
    assert south[1].endswith("1,100 ") and south[1].startswith("   ")
    assert south[-1].endswith(f"{gap('south')} ") and south[-1].startswith("   ")
    assert gap_cell.strip() == ""


def test_decisions_alone_show_only_the_selection_rate(factor_audit: Assessment) -> None:
    """Without an outcome the table has the selection rate and no error rates."""
    text = _printed(cli.print_summary, factor_audit)
    assert _cells(text, "group") == ["group", "n", "selection_rate", "detectable gap"]
    m = factor_audit.metric("selection_rate", ("region",), ("south",))
    d = factor_audit.disparity("selection_rate", ("region",), ("south",))
    assert d.detectable is not None
    assert _cells(text, "south") == [
        "south",
        "1,100",
        f"0.318 {_ci(m.ci_low, m.ci_high)}",
        f"±{d.detectable:.3f}",
    ]


def test_explanations_and_counts_of_suppressed_and_untested_figures(
    outcome_audit: Assessment,
) -> None:
    """Below the tables: what the detectable gap means (at alpha, with the power in
    percent), how many figures are suppressed, how many comparisons are not tested."""
    text = _flat(_printed(cli.print_summary, outcome_audit))
    assert (
        "detectable gap: the smallest selection-rate difference from the reference group that a "
        "test at 0.1 finds with 80% power, at the group's size." in text
    )
    # 12 metrics per group: all of micro's, and of the 4 pairs with micro or tiny (2-6 rows
    # each), 12 + 4 * 12; tiny's 9 with a denominator under 10 (all but selection_rate,
    # base_rate and accuracy, whose denominator is its 12 rows). 12 + 48 + 9 = 69.
    assert sum(m.suppressed for m in outcome_audit.metrics) == 69
    assert (
        "69 group figures describe fewer than 10 people and are suppressed, here and in the JSON "
        "result (--min-cell-size)." in text
    )
    # Untested: the unreliable comparisons that either had a p-value or were suppressed. 15
    # differences per group (12 metrics, 3 averages): micro's 15 and the 4 small pairs' 60 are
    # suppressed; tiny's 14: selection_rate and accuracy have a p-value, the 12 others with a
    # suppressed denominator; its base_rate (no p-value, shown) is not counted. 15+60+14 = 89.
    untested = [
        d for d in outcome_audit.disparities
        if d.kind == "difference" and not d.reliable and (d.p_value is not None or d.suppressed)
    ]  # fmt: skip
    assert len(untested) == 89
    tiny_base = outcome_audit.disparity("base_rate", ("region",), ("tiny",))
    assert tiny_base.p_value is None and not tiny_base.suppressed and not tiny_base.reliable
    assert (
        "89 comparisons with a group under 30 rows or a metric denominator under 10 rows are not "
        "tested (see the JSON result)." in text
    )


def _finding(d: Disparity) -> str:
    """A finding's line, written out: signed value and interval to 3 decimals, p to 2 digits."""
    attrs, levels, ref = (" × ".join(x) for x in (d.attributes, d.levels, d.reference_levels))
    assert d.value is not None and d.p_adjusted is not None
    return (
        f"  {attrs}={levels} vs {ref}: {d.metric} {d.value:+.3f} {_signed_ci(d.ci_low, d.ci_high)}, "
        f"p_adj={d.p_adjusted:.2g}"
    )


def test_findings_sorted_by_adjusted_p_and_capped_at_fifteen(outcome_audit: Assessment) -> None:
    """The significant, reliable differences (not ratios, not the small groups' gaps), the
    smallest adjusted p first, at most 15, then how many more the JSON has."""
    text = _printed(cli.print_summary, outcome_audit)
    found = [
        d for d in outcome_audit.disparities
        if d.kind == "difference" and d.significant and d.reliable
    ]  # fmt: skip
    # south's gaps in selection, TPR, FPR, NPV, accuracy and balanced accuracy (not PPV: the
    # same 0.667), alone and for south × f and south × m against north × f: 6 * 3 = 18.
    assert len(found) == 18
    found.sort(key=lambda d: d.p_adjusted or 1.0)
    assert found[0].levels == ("south",) and found[0].metric == "selection_rate"
    assert _finding_lines(text) == [_finding(d) for d in found[:15]]
    assert "  region × sex=south × f vs north × f: selection_rate -0.300 [" in text
    flat = _flat(text)
    assert (
        "18 significant disparities (adjusted p < 0.1; exploratory: corrected over every metric "
        "and group of the audit, so a question asked in advance is better put as a rule of "
        "`audit run`):" in flat
    )
    assert text.splitlines()[-1].rstrip() == "  ... and 3 more in the JSON result"
    assert "No disparity is significant" not in flat


def _with_findings(result: Assessment, p_values: list[float]) -> Assessment:
    """`result` whose only findings are copies of south's selection gap (-0.300), one per
    p-value, in groups g00, g01, ... (listed in that order), g01's gap 0.001 wider, g02's
    0.002..."""
    d = result.disparity("selection_rate", ("region",), ("south",))
    value = d.value
    assert value is not None
    others = tuple(replace(x, significant=False) for x in result.disparities)
    made = tuple(
        replace(d, levels=(f"g{i:02d}",), p_adjusted=p, value=value - i / 1000)
        for i, p in enumerate(p_values)
    )
    return replace(result, disparities=others + made)


def test_sixteen_findings_show_fifteen_and_one_more(outcome_audit: Assessment) -> None:
    """The cap is 15 lines: the 16th smallest p is left to the JSON and counted."""
    p_values = [0.001 * (16 - i) for i in range(16)]  # g00 has the largest p, g15 the smallest
    text = _printed(cli.print_summary, _with_findings(outcome_audit, p_values))
    lines = _finding_lines(text)
    assert len(lines) == 15
    assert lines[0].startswith("  region=g15 vs north: selection_rate -0.315 [")
    assert lines[0].endswith(", p_adj=0.001")
    assert lines[-1].startswith("  region=g01 vs north: selection_rate -0.301 [")
    assert lines[-1].endswith(", p_adj=0.015")
    assert "g00" not in "\n".join(lines)
    assert "16 significant disparities (adjusted p < 0.1;" in text
    assert "  ... and 1 more in the JSON result" in text.splitlines()


def test_fifteen_findings_are_all_shown(outcome_audit: Assessment) -> None:
    """Fifteen findings fit: all listed, no "more in the JSON" line."""
    text = _printed(cli.print_summary, _with_findings(outcome_audit, [0.01] * 15))
    assert len(_finding_lines(text)) == 15
    assert "more in the JSON result" not in text


def test_adjusted_p_values_are_printed_to_two_digits_or_as_a_bound(
    outcome_audit: Assessment,
) -> None:
    """p to 2 significant digits; below 1e-300 (the floats' floor) as <1e-300."""
    text = _printed(
        cli.print_summary, _with_findings(outcome_audit, [1e-301, 1e-300, 0.012345, 0.05])
    )
    assert [line.rsplit("p_adj=", 1)[1] for line in _finding_lines(text)] == [
        "<1e-300", "1e-300", "0.012", "0.05",
    ]  # fmt: skip


def test_no_finding_is_said_so(outcome_audit: Assessment) -> None:
    """Without a significant disparity the summary says so, and lists nothing."""
    quiet = replace(
        outcome_audit,
        disparities=tuple(replace(d, significant=False) for d in outcome_audit.disparities),
    )
    text = _printed(cli.print_summary, quiet)
    assert _finding_lines(text) == []
    assert text.splitlines()[-1].rstrip() == (
        "No disparity is significant after correction for multiple comparisons "
        "(exploratory: corrected over every metric and group of the audit)."
    )


# ---------------------------------------------------------------------------------------------
# print_conditional


def test_conditional_table_by_hand(factor_audit: Assessment) -> None:
    """Each gap within the strata beside the plain gap, with * when significant, and the
    share of the plain gap the factors explain (n/a where there is no plain gap)."""
    text = _printed(cli.print_conditional, factor_audit)
    assert _title_line(text, "region, within strata of sector, shift").startswith("region, within")
    assert _cells(text, "group") == [
        "group",
        "metric",
        "plain gap",
        "conditional gap",
        "share explained",
    ]
    by = {c.levels: c for c in factor_audit.conditional}
    south, tiny = by[("south",)], by[("tiny",)]
    assert south.significant and south.explained_share is not None
    assert _cells(text, "south vs north") == [
        "south vs north", "selection_rate", "-0.182", f"-0.055 {_ci(south.ci_low, south.ci_high)} *",
        f"0.700 {_ci(south.explained_share_low, south.explained_share_high)}",
    ]  # fmt: skip
    # tiny: 5/12 - 0.5 = -0.083 plain; not significant (no *), no established gap to explain
    assert tiny.value is not None and not tiny.significant and tiny.explained_share is None
    assert _cells(text, "tiny vs north (small)") == [
        "tiny vs north (small)", "selection_rate", "-0.083",
        f"{tiny.value:.3f} {_ci(tiny.ci_low, tiny.ci_high)}", "n/a",
    ]  # fmt: skip
    assert _cells(text, "micro vs north (small)") == [
        "micro vs north (small)", "selection_rate", "suppressed", "suppressed", "n/a",
    ]  # fmt: skip
    assert _flat(text).endswith(
        "conditional gap: the group's gap to the reference among people in the same stratum "
        "(* significant after correction); share explained: (plain - conditional) / plain, "
        "n/a where the plain gap is not established (see explained_share_note in the JSON)."
    )


def test_conditional_table_per_attribute(factor_audit: Assessment) -> None:
    """With two attributes, each table holds its own attribute's comparisons only."""
    region = factor_audit.conditional
    moved = tuple(replace(c, attributes=("area",)) for c in region)
    both = replace(factor_audit, conditional=region + moved)
    text = _printed(cli.print_conditional, both)
    tables = text.split("area, within strata of sector, shift")
    assert len(tables) == 2
    assert tables[0].count("south vs north") == 1 and tables[1].count("south vs north") == 1


def test_no_legitimate_factor_no_conditional_table(outcome_audit: Assessment) -> None:
    """Without legitimate factors nothing is printed, not even the explanation."""
    assert _printed(cli.print_conditional, outcome_audit).strip() == ""


# ---------------------------------------------------------------------------------------------
# print_tracks


def _track_line(t: TrackShare) -> str:
    assert t.difference is not None and t.p_adjusted is not None
    return (
        f"  region={t.levels[0]} vs {t.reference_levels[0]}: {t.track} {t.difference:+.3f} "
        f"{_signed_ci(t.difference_ci_low, t.difference_ci_high)}, p_adj={t.p_adjusted:.2g}"
    )


def test_track_table_and_significant_gaps_by_hand(track_audit: Assessment) -> None:
    """Each group's share of each track with its interval (* where its gap to the reference
    is significant), then the significant gaps, smallest adjusted p first."""
    text = _printed(cli.print_tracks, track_audit)
    assert _title_line(text, "track shares by region").startswith("track shares by region")
    assert _cells(text, "group") == ["group", "none", "placement", "training"]

    def cell(level: str, track: str, share: str, star: bool = False) -> str:
        t = track_audit.track_share(track, ("region",), (level,))
        assert t.ci_low is not None and t.ci_high is not None
        return f"{share} ({t.ci_low:.3f}–{t.ci_high:.3f})" + (" *" if star else "")

    assert _cells(text, "north (reference)") == [
        "north (reference)", cell("north", "none", "0.200"), cell("north", "placement", "0.300"),
        cell("north", "training", "0.500"),
    ]  # fmt: skip
    assert _cells(text, "south") == [
        "south", cell("south", "none", "0.375", True), cell("south", "placement", "0.475", True),
        cell("south", "training", "0.150", True),
    ]  # fmt: skip
    assert _cells(text, "west") == [
        "west", cell("west", "none", "0.200"), cell("west", "placement", "0.300"),
        cell("west", "training", "0.500"),
    ]  # fmt: skip
    flat = _flat(text)
    assert (
        "track shares with 95% intervals; * and below: 3 gaps to the reference significant after "
        "correction over the track comparisons (exploratory)" in flat
    )
    found = [t for t in track_audit.tracks if t.significant]
    assert [(t.levels, t.track) for t in found] == [
        (("south",), "none"), (("south",), "placement"), (("south",), "training"),
    ]  # fmt: skip
    ordered = sorted(found, key=lambda t: t.p_adjusted or 1.0)
    assert ordered[0].track == "training"
    assert _finding_lines(text) == [_track_line(t) for t in ordered]


def _with_track_findings(result: Assessment, p_values: list[float]) -> Assessment:
    """`result` whose only track records are copies of south's training share (gap -0.350),
    one per p-value, in groups g00, g01, ..., g01's gap 0.001 wider, g02's 0.002..."""
    t = result.track_share("training", ("region",), ("south",))
    assert t.difference is not None
    made = tuple(
        replace(t, levels=(f"g{i:02d}",), p_adjusted=p, difference=t.difference - i / 1000)
        for i, p in enumerate(p_values)
    )
    return replace(result, tracks=made)


def test_sixteen_track_gaps_show_fifteen_and_one_more(track_audit: Assessment) -> None:
    """Track gaps too: smallest p first, 15 lines, the rest counted."""
    p_values = [0.001 * (16 - i) for i in range(16)]
    text = _printed(cli.print_tracks, _with_track_findings(track_audit, p_values))
    lines = _finding_lines(text)
    assert len(lines) == 15
    assert lines[0].startswith("  region=g15 vs north: training -0.365 [")
    assert lines[0].endswith(", p_adj=0.001")
    assert lines[-1].startswith("  region=g01 vs north: training -0.351 [")
    assert "g00" not in "\n".join(lines)
    assert "* and below: 16 gaps to the reference" in text
    assert text.splitlines()[-1].rstrip() == "  ... and 1 more in the JSON result"


def test_fifteen_track_gaps_are_all_shown(track_audit: Assessment) -> None:
    text = _printed(cli.print_tracks, _with_track_findings(track_audit, [0.01] * 15))
    assert len(_finding_lines(text)) == 15
    assert "more in the JSON result" not in text


def test_no_tracks_nothing_printed(outcome_audit: Assessment) -> None:
    """An audit without a track column prints no track table and no track sentence."""
    assert _printed(cli.print_tracks, outcome_audit).strip() == ""


def test_track_gap_whose_p_underflows_is_listed_first() -> None:
    """18,000 people: south's training gap (-0.350) is so large that its p underflows to 0.0;
    it is the most significant gap and should be listed first (a p of 0.0 read as
    missing would sort it last, and past 15 findings drop it from the list)."""
    frame = pd.concat(
        [
            _tracks("north", {"training": 5000, "placement": 3000, "none": 2000}),
            _tracks("south", {"training": 1200, "placement": 3800, "none": 3000}),
        ],
        ignore_index=True,
    )
    result = suppress(
        assess(frame, y_true=None, y_pred=None, track="track", groups=["region"], n_boot=0)
    )
    assert result.track_share("training", ("region",), ("south",)).p_adjusted == 0.0
    first = _finding_lines(_printed(cli.print_tracks, result))[0]
    assert first.startswith("  region=south vs north: training -0.350 [")


def test_track_interval_level_follows_alpha(track_audit: Assessment) -> None:
    """The track intervals are 1 - alpha intervals (audit.stats.tracks), so at alpha 0.1 the
    sentence should say 90%."""
    at_10 = replace(track_audit, settings=track_audit.settings.model_copy(update={"alpha": 0.1}))
    assert "track shares with 90% intervals" in _printed(cli.print_tracks, at_10)


# ---------------------------------------------------------------------------------------------
# print_notes


def test_notes_are_printed_whole(outcome_audit: Assessment) -> None:
    """Every note, after "note: ", in full (notes are longer than a label's 60 characters)."""
    frame = _counts(200, 100, 60, 20).assign(w=np.where(np.arange(200) < 100, 2.0, 1.0))
    weighted = suppress(assess(frame, y_true="y", y_pred="d", groups=["sex"], weight="w", n_boot=0))
    for result in (outcome_audit, weighted):
        text = _flat(_printed(cli.print_notes, result))
        assert result.notes and all(len(n) > 60 for n in result.notes)
        assert text == " ".join(f"note: {_flat(n)}" for n in result.notes)
    assert any(n.startswith("weighted counts") for n in weighted.notes)
    assert any(n.startswith("disclosure control:") for n in outcome_audit.notes)


# ---------------------------------------------------------------------------------------------
# the small formatters


def test_formatters() -> None:
    """p-values, figures, signed gaps, sizes and labels, the way the tables show them."""
    assert [cli._p(p) for p in (None, 0.0, 1e-301, 1e-300, 0.5, 0.012345)] == [
        "n/a", "<1e-300", "<1e-300", "1e-300", "0.5", "0.012",
    ]  # fmt: skip
    assert cli._fmt(None) == "undefined"
    assert cli._fmt(0.25) == "0.250"
    assert cli._fmt(0.25, 0.1, 0.4) == "0.250 [0.100, 0.400]"
    assert cli._fmt(0.25, 0.1, None) == cli._fmt(0.25, None, 0.4) == "0.250"
    assert [cli._signed(v) for v in (None, 0.25, -0.25)] == ["n/a", "+0.250", "-0.250"]
    assert cli._size(1234567, False, 10) == "1,234,567"
    assert cli._size(None, True, 10) == "<10"
    assert cli._size(None, True, 5) == "<5"
    assert cli._size(None, False, 10) == "withheld"
    assert cli._label(("south", "f")) == "south × f"


# ---------------------------------------------------------------------------------------------
# the options (parsed before any data is read)


def test_reference_parsing() -> None:
    """COLUMN=LEVEL, split at the first equals sign (a level may hold one); anything else is
    refused with the form expected."""
    assert cli._parse_references(["region=x=1", "sex=f"]) == {"region": "x=1", "sex": "f"}
    for bad in ("region", "=north", "region="):
        with pytest.raises(AuditInputError) as err:
            cli._parse_references([bad])
        assert str(err.value) == (
            f"--reference {bad!r}: expected COLUMN=LEVEL, e.g. housing_status=stable; "
            f"found {bad!r}.\nHint: write the group column, an equals sign, and the reference level"
        )


def test_bins_parsing() -> None:
    """COLUMN=K with K a whole number, split at the first equals sign; the message names
    the option (--factor-bins unless told)."""
    assert cli._parse_factor_bins(["age=4", "tenure= 3"]) == {"age": 4, "tenure": 3}
    for bad in ("age", "=4", "age=", "age=x", "a=b=4"):
        for option in (None, "--group-bins"):
            with pytest.raises(AuditInputError) as err:
                if option is None:
                    cli._parse_factor_bins([bad])
                else:
                    cli._parse_factor_bins([bad], option)
            assert str(err.value) == (
                f"{option or '--factor-bins'} {bad!r}: expected COLUMN=K with K a whole number "
                f"of quantile bins, e.g. age=4; found {bad!r}.\n"
                "Hint: write the column, an equals sign, and the number of bins"
            )


# ---------------------------------------------------------------------------------------------
# the command, in this process


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 people, regions a and b of 40. Scores in a: 0.2, 0.5, 0.5, 0.8 (10 each); in b:
    0.1, 0.49, 0.5, 1.0. At 0.5 (score >= threshold): a 30/40, b 20/40; at 1: a 0, b 10/40.
    An unused column already has the name of the decision --threshold makes."""
    frame = pd.DataFrame(
        {
            "region": ["a"] * 40 + ["b"] * 40,
            "score": np.repeat([0.2, 0.5, 0.5, 0.8, 0.1, 0.49, 0.5, 1.0], 10),
            "y": np.tile([0, 1], 40),
            "d": np.tile([1, 0], 40),
            cli.THRESHOLD_DECISION: "unused",
        }
    )
    path = tmp_path_factory.mktemp("scored") / "scored.csv"
    frame.to_csv(path, index=False)
    return path


def _assessed(path: Path, tmp_path: Path, options: list[str], mp: pytest.MonkeyPatch) -> Assessment:
    out = tmp_path / "r.json"
    code = run_command(
        ["assess", str(path), "--group", "region", "--n-boot", "0", *options, "--json", str(out)],
        mp,
    )
    assert code == EXIT_OK
    return Assessment.from_json(out.read_text("utf-8"))


def _rates(result: Assessment) -> tuple[float | None, float | None]:
    return tuple(  # type: ignore[return-value]
        result.metric("selection_rate", ("region",), (g,)).value for g in ("a", "b")
    )


def test_threshold_decides_score_at_or_above(
    scored: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--threshold T selects score >= T, T itself included; 0 and 1 are accepted bounds.
    The file's unused column of the same name is not read, so the decision keeps its name;
    without an outcome the score only decides (it is not assessed)."""
    for threshold, expected in (("0.5", (0.75, 0.5)), ("0", (1.0, 1.0)), ("1", (0.0, 0.25))):
        result = _assessed(
            scored, tmp_path, ["--score", "score", "--threshold", threshold], monkeypatch
        )
        assert _rates(result) == pytest.approx(expected)
        assert result.settings.y_pred == "decision (score >= threshold)"
        assert result.settings.score is None
    with_outcome = _assessed(
        scored, tmp_path, ["--score", "score", "--threshold", "0.5", "--y-true", "y"], monkeypatch
    )
    assert with_outcome.settings.score == "score"
    assert _rates(with_outcome) == pytest.approx((0.75, 0.5))
    capsys.readouterr()


def test_threshold_decision_does_not_overwrite_a_column_of_its_name(
    scored: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a column the audit reads already has the decision's name (here a weight), the
    decision is called _decision instead, and the column is read as it is."""
    frame = pd.read_csv(scored).assign(**{cli.THRESHOLD_DECISION: 1.0})
    path = tmp_path / "named.csv"
    frame.to_csv(path, index=False)
    result = _assessed(
        path, tmp_path,
        ["--score", "score", "--threshold", "0.5", "--weight", cli.THRESHOLD_DECISION],
        monkeypatch,
    )  # fmt: skip
    assert result.settings.y_pred == "_decision"
    assert result.settings.weight == cli.THRESHOLD_DECISION
    assert _rates(result) == pytest.approx((0.75, 0.5))


def _error(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    capsys.readouterr()
    assert run_command(args, monkeypatch) == EXIT_INPUT_ERROR
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--score", "score", "--threshold", "1.0001"],
            "--threshold 1.0001: expected a threshold between 0 and 1 (the score is a "
            "probability); found 1.0001.\nHint: pass a threshold in [0, 1], e.g. --threshold 0.5",
        ),
        (
            ["--score", "score", "--threshold", "-0.1"],
            "--threshold -0.1: expected a threshold between 0 and 1 (the score is a "
            "probability); found -0.1.\nHint: pass a threshold in [0, 1], e.g. --threshold 0.5",
        ),
        (
            ["--score", "score", "--y-pred", "d", "--threshold", "0.5"],
            "--threshold 0.5: expected a --score column to decide on, and no --y-pred; found "
            "--y-pred as well.\nHint: give --score COLUMN --threshold T for decisions made by "
            "the score, or --y-pred COLUMN for decisions in the file",
        ),
        (
            ["--threshold", "0.5"],
            "--threshold 0.5: expected a --score column to decide on, and no --y-pred; found "
            "no --score.\nHint: give --score COLUMN --threshold T for decisions made by "
            "the score, or --y-pred COLUMN for decisions in the file",
        ),
        (
            ["--score", "score"],
            "decision: expected --y-pred COLUMN (decisions coded 0/1), --score COLUMN with "
            "--threshold T, or --track COLUMN; found neither.\nHint: name the column of the "
            "decisions, or decide on a score with a threshold",
        ),
        (
            ["--y-pred", "d", "--reference", "region"],
            "--reference 'region': expected COLUMN=LEVEL, e.g. housing_status=stable; found "
            "'region'.\nHint: write the group column, an equals sign, and the reference level",
        ),
        (
            ["--y-pred", "d", "--factor", "score", "--factor-bins", "score=many"],
            "--factor-bins 'score=many': expected COLUMN=K with K a whole number of quantile "
            "bins, e.g. age=4; found 'score=many'.\nHint: write the column, an equals sign, and "
            "the number of bins",
        ),
        (
            ["--y-pred", "d", "--group-bins", "=3"],
            "--group-bins '=3': expected COLUMN=K with K a whole number of quantile bins, e.g. "
            "age=4; found '=3'.\nHint: write the column, an equals sign, and the number of bins",
        ),
    ],
    ids=[
        "above-1",
        "below-0",
        "with-y-pred",
        "no-score",
        "no-decision",
        "reference",
        "factor-bins",
        "group-bins",
    ],
)
def test_option_errors(
    options: list[str],
    message: str,
    scored: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A wrong option stops the command (exit 2) with what was expected, found, and the fix."""
    err = _error(
        ["assess", str(scored), "--group", "region", "--n-boot", "0", *options], monkeypatch, capsys
    )
    assert _flat(err) == _flat(f"error: {message}")


def test_command_prints_on_140_columns_when_not_a_terminal(
    scored: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Into a log (not a tty) the command prints 140 columns wide: its long sentences wrap at
    140, not at rich's default 80; the summary, the notes and nothing else follow."""
    assert cli.console().width == 140
    capsys.readouterr()
    code = run_command(
        ["assess", str(scored), "--group", "region", "--y-pred", "d", "--n-boot", "0"], monkeypatch
    )
    assert code == EXIT_OK
    out = capsys.readouterr().out
    widths = [len(line) for line in out.splitlines()]
    assert 80 < max(widths) <= 140
    assert out.startswith(
        "80 rows, groups by region; 95% intervals, 0 bootstrap replicates, holm correction"
    )
    assert "note: " in out


def test_threshold_on_a_missing_score_column_names_the_score(
    scored: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--threshold on a --score column the file lacks: the message says it is the score
    column that is missing, and how to fix it (without --y-true only the threshold reads it)."""
    err = _flat(
        _error(
            ["assess", str(scored), "--group", "region", "--score", "nosuch", "--threshold", "0.5"],
            monkeypatch,
            capsys,
        )
    )
    assert err.startswith(
        "error: score column 'nosuch': expected a column of the data; found no such column"
    )
    assert err.endswith("Hint: pass the name of the column that holds the score")
