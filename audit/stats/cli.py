"""`audit assess`: the black-box audit of a file of decisions, when the model itself is not at hand."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from audit.disclosure import suppress
from audit.errors import AuditInputError
from audit.files import require_writable
from audit.labels import rich_text
from audit.numbers import confidence_level, fixed
from audit.spark.options import EngineOption, SparkConfOption, SparkMasterOption, engine_choice
from audit.stats.assess import assess as run_assessment
from audit.stats.encoding import column_of, encode_score
from audit.stats.result import Assessment
from audit.tables import read_table
from audit.verbosity import configure_output

if TYPE_CHECKING:
    from audit.spec import SparkSpec

HEADLINE_METRICS = ("selection_rate", "tpr", "fpr", "ppv")


def _parse_references(values: list[str]) -> dict[str, str]:
    references: dict[str, str] = {}
    for item in values:
        column, sep, level = item.partition("=")
        if not sep or not column or not level:
            raise AuditInputError(
                f"--reference {item!r}",
                expected="COLUMN=LEVEL, e.g. housing_status=stable",
                found=f"{item!r}",
                fix="write the group column, an equals sign, and the reference level",
            )
        references[column] = level
    return references


def _parse_factor_bins(values: list[str], option: str = "--factor-bins") -> dict[str, int]:
    bins: dict[str, int] = {}
    for item in values:
        column, sep, count = item.partition("=")
        if not sep or not column or not count.strip().isdigit():
            raise AuditInputError(
                f"{option} {item!r}",
                expected="COLUMN=K with K a whole number of quantile bins, e.g. age=4",
                found=f"{item!r}",
                fix="write the column, an equals sign, and the number of bins",
            )
        bins[column] = int(count)
    return bins


def assess(
    data: Annotated[
        str,
        typer.Argument(
            help="CSV or Parquet file with one row per person; with --engine spark also a "
            "Parquet folder or a URI the cluster reads (s3a://, abfss://, hdfs://).",
        ),
    ],
    group: Annotated[
        list[str], typer.Option("--group", "-g", help="Sensitive attribute column (repeatable).")
    ],
    y_true: Annotated[
        str | None,
        typer.Option(
            "--y-true",
            help="Column of the observed outcome; without it only the decisions are audited "
            "(selection rates and their gaps).",
        ),
    ] = None,
    y_pred: Annotated[
        str | None,
        typer.Option("--y-pred", help="Column of the binary decision (or --threshold)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="Decide on the --score column: the decision is score >= this value.",
        ),
    ] = None,
    track: Annotated[
        str | None,
        typer.Option(
            "--track",
            help="Column of recommended tracks (a multiclass decision, any labels): every "
            "track's share by group, with its gap to the reference group.",
        ),
    ] = None,
    score: Annotated[
        str | None, typer.Option("--score", help="Column of predicted probabilities.")
    ] = None,
    weight: Annotated[str | None, typer.Option("--weight", help="Sample weight column.")] = None,
    pos_label: Annotated[
        str | None,
        typer.Option(
            "--pos-label",
            help="Positive class of the outcome and decision, whatever their coding (e.g. 0).",
        ),
    ] = None,
    intersections: Annotated[
        int,
        typer.Option(
            "--intersections",
            "-i",
            help="Highest order of intersections: 1 none, 2 pairs, 3 triples.",
        ),
    ] = 1,
    reference: Annotated[
        list[str] | None,
        typer.Option("--reference", help="Reference group as COLUMN=LEVEL (repeatable)."),
    ] = None,
    reference_rule: Annotated[
        str, typer.Option(help="Reference when none is named: largest or most_advantaged.")
    ] = "largest",
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates (0: none).")] = 1000,
    bootstrap: Annotated[str, typer.Option(help="multinomial or stratified.")] = "multinomial",
    seed: Annotated[int, typer.Option(help="Seed that makes the bootstrap reproducible.")] = 0,
    alpha: Annotated[float, typer.Option(help="Significance level; intervals are 1-alpha.")] = 0.05,
    correction: Annotated[
        str, typer.Option(help="Multiple-comparison correction: holm, bh or none.")
    ] = "holm",
    test_margin: Annotated[
        float, typer.Option(help="Test that a gap exceeds this margin instead of zero.")
    ] = 0.0,
    min_group_size: Annotated[
        int, typer.Option(help="Groups smaller than this are marked unreliable.")
    ] = 30,
    factor: Annotated[
        list[str] | None,
        typer.Option(
            "--factor",
            help="Legitimate factor (repeatable): groups are also compared among people "
            "with the same values of these columns.",
        ),
    ] = None,
    factor_bins: Annotated[
        list[str] | None,
        typer.Option(
            "--factor-bins",
            help="Quantile bins of a numeric factor as COLUMN=K (repeatable); numeric factors "
            "with more than 20 values get 5 bins by default.",
        ),
    ] = None,
    min_denominator: Annotated[
        int,
        typer.Option(
            "--min-denominator",
            help="Rows a metric's denominator needs (e.g. people with the outcome for the TPR) "
            "before it is reliable; unreliable disparities are not tested for significance.",
        ),
    ] = 10,
    min_cell_size: Annotated[
        int,
        typer.Option(
            "--min-cell-size",
            help="No figure shown or written describes fewer people than this: smaller groups, "
            "denominators and calibration bins are suppressed or merged.",
        ),
    ] = 10,
    max_levels: Annotated[
        int,
        typer.Option(
            "--max-levels", help="Most groups one attribute may have (bin or merge beyond it)."
        ),
    ] = 50,
    group_bins: Annotated[
        list[str] | None,
        typer.Option(
            "--group-bins",
            help="Cut a numeric group column at its quantiles as COLUMN=K (repeatable).",
        ),
    ] = None,
    max_numeric_levels: Annotated[
        int,
        typer.Option(
            "--max-numeric-levels",
            help="Most distinct values a numeric group column may have without --group-bins.",
        ),
    ] = 20,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    spark_conf: SparkConfOption = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the full result as JSON here.")
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Also show the libraries' warnings and MLflow's INFO lines."
        ),
    ] = False,
) -> None:
    """Assess group metrics and disparities in a file of decisions (no model needed)."""
    configure_output(verbose)
    if json_out is not None:  # found before the assessment, not after it
        require_writable(json_out, subject=f"--json '{json_out}'", folder=False)
    spark = engine_choice(engine, spark_master, spark_conf).spark()
    roles = _Roles(y_true, y_pred, score, weight, track, list(group), list(factor or []))
    # The same settings for both engines; parsed before any data is read (or Spark started).
    settings: dict[str, Any] = dict(
        pos_label=pos_label,
        intersections=intersections,
        reference=_parse_references(reference or []),
        reference_rule=reference_rule,  # validated in assess
        n_boot=n_boot,
        bootstrap=bootstrap,
        seed=seed,
        alpha=alpha,
        correction=correction,
        test_margin=test_margin,
        min_group_size=min_group_size,
        factor_bins=_parse_factor_bins(factor_bins or []),
        min_denominator=min_denominator,
        min_cell_size=min_cell_size,
        max_levels=max_levels,
        group_bins=_parse_factor_bins(group_bins or [], "--group-bins"),
        max_numeric_levels=max_numeric_levels,
    )
    if spark is None:
        result = _assess_in_memory(data, roles, threshold, settings)
    else:
        result = _assess_on_spark(data, spark, roles, threshold, settings)
    result = suppress(result)  # what is shown and written never describes fewer people
    if json_out is not None:
        result.to_json(json_out)
    out = console()
    print_summary(result, out)
    print_conditional(result, out)
    print_tracks(result, out)
    print_notes(result, out)


@dataclass(frozen=True)
class _Roles:
    """The columns the command line names, and what `assess` reads each as."""

    y_true: str | None
    y_pred: str | None
    score: str | None
    weight: str | None
    track: str | None
    groups: list[str]
    factors: list[str]

    @property
    def used(self) -> list[str]:
        named = (self.y_true, self.y_pred, self.score, self.weight, self.track)
        return [c for c in (*named, *self.groups, *self.factors) if c]

    def arguments(self, decision: str | None, threshold: float | None) -> dict[str, Any]:
        """`assess`'s column arguments, the decision being `decision` (--threshold's own)."""
        # A score that decided (--threshold) is assessed only against an outcome.
        assessed = self.score if threshold is None or self.y_true is not None else None
        return dict(
            y_true=self.y_true,
            y_pred=decision,
            groups=self.groups,
            score=assessed,
            weight=self.weight,
            legitimate_factors=self.factors,
            track=self.track,
        )


def _assess_in_memory(
    data: str, roles: _Roles, threshold: float | None, settings: dict[str, Any]
) -> Assessment:
    # Only the columns the audit names are read: a wide export costs the time of six columns.
    frame = read_table(data, columns=roles.used)
    decision = _decision_column(frame.columns, roles.y_pred, roles.score, threshold, roles.track)
    if threshold is not None:
        assert roles.score is not None and decision is not None
        frame = frame.assign(**{decision: _thresholded(frame, roles.score, threshold)})
    return run_assessment(frame, **roles.arguments(decision, threshold), **settings)


def _assess_on_spark(
    data: str, engine: SparkSpec, roles: _Roles, threshold: float | None, settings: dict[str, Any]
) -> Assessment:
    """The same assessment with the rows counted by Spark: only the count table comes back."""
    from audit.errors import AuditError
    from audit.spark.assess import assess_spark, with_threshold_decision
    from audit.spark.session import spark_session
    from audit.spark.steps import executor_error
    from audit.spark.tables import pandas_dtypes
    from audit.spark.tables import read_table as read_on_spark

    session = spark_session(engine.master, engine.conf)
    frame = read_on_spark(session, data)
    decision = _decision_column(frame.columns, roles.y_pred, roles.score, threshold, roles.track)
    if threshold is not None:
        assert roles.score is not None and decision is not None
        # The score is checked here unless `assess` reads it too (and checks it then).
        check = roles.y_true is None
        frame = with_threshold_decision(frame, roles.score, threshold, decision, check=check)
    # Spark reads categories as plain values: their declared order (age bands in age order)
    # comes from the file, so that both engines list groups and choose references alike.
    dtypes = pandas_dtypes(data, [*roles.groups, *roles.factors, *filter(None, [roles.track])])
    try:
        return assess_spark(
            frame, **roles.arguments(decision, threshold), dtypes=dtypes, **settings
        )
    except AuditError:
        raise
    except Exception as err:  # a Spark job that failed (a file unreadable on the cluster...)
        raise executor_error(err) from None


THRESHOLD_DECISION = "decision (score >= threshold)"


def _decision_column(
    columns: Iterable[object],
    y_pred: str | None,
    score: str | None,
    threshold: float | None,
    track: str | None = None,
) -> str | None:
    """The column holding the decision: --y-pred, or the one --threshold makes from --score;
    none for a track audit without a binary decision."""
    if threshold is None:
        if y_pred is None and track is None:
            raise AuditInputError(
                "decision",
                expected="--y-pred COLUMN (decisions coded 0/1), --score COLUMN with "
                "--threshold T, or --track COLUMN",
                found="neither",
                fix="name the column of the decisions, or decide on a score with a threshold",
            )
        return y_pred
    if y_pred is not None or score is None:
        raise AuditInputError(
            f"--threshold {threshold:g}",
            expected="a --score column to decide on, and no --y-pred",
            found="--y-pred as well" if y_pred is not None else "no --score",
            fix="give --score COLUMN --threshold T for decisions made by the score, or "
            "--y-pred COLUMN for decisions in the file",
        )
    if not 0 <= threshold <= 1:
        raise AuditInputError(
            f"--threshold {threshold:g}",
            expected="a threshold between 0 and 1 (the score is a probability)",
            found=f"{threshold:g}",
            fix="pass a threshold in [0, 1], e.g. --threshold 0.5",
        )
    return THRESHOLD_DECISION if THRESHOLD_DECISION not in set(columns) else "_decision"


def _thresholded(frame: pd.DataFrame, score: str, threshold: float) -> np.ndarray:
    return (encode_score(column_of(frame, score, "score")) >= threshold).astype(np.int8)


def console() -> Console:
    """A console as wide as the terminal, and 140 columns when the output goes to a log."""
    return Console() if sys.stdout.isatty() else Console(width=140)


def _p(value: float | None) -> str:
    if value is None:
        return "n/a"
    return "<1e-300" if value < 1e-300 else f"{value:.2g}"


def _fmt(value: float | None, low: float | None = None, high: float | None = None) -> str:
    if value is None:
        return "undefined"
    text = fixed(value)
    if low is not None and high is not None:
        text += f" [{fixed(low)}, {fixed(high)}]"
    return text


def _signed(value: float | None) -> str:
    return "n/a" if value is None else fixed(value, signed=True)


def print_summary(result: Assessment, console: Console) -> None:
    """Per attribute: each group's headline rates with intervals; then the significant findings."""
    s = result.settings
    console.print(
        f"[bold]{result.n_rows:,} rows[/], groups by {', '.join(map(rich_text, s.groups))}; "
        f"{confidence_level(s.alpha)}% intervals, {s.n_boot} bootstrap replicates, "
        f"{s.correction} correction"
    )
    if not result.metrics:  # tracks only: their tables follow
        return
    metrics = {(m.attributes, m.levels, m.metric): m for m in result.metrics}
    present = {m.metric for m in result.metrics}
    headline = [name for name in HEADLINE_METRICS if name in present]  # no outcome: no tpr
    for attrs in dict.fromkeys(g.attributes for g in result.groups if len(g.attributes) == 1):
        table = Table(title=" × ".join(map(rich_text, attrs)), title_justify="left")
        table.add_column("group")
        table.add_column("n", justify="right")
        for name in headline:
            table.add_column(name)
        # "No finding" is only reassuring where the audit could have seen a gap: say how large.
        table.add_column("detectable gap", justify="right")
        detectable = {
            d.levels: d.detectable
            for d in result.disparities
            if d.attributes == attrs and d.metric == "selection_rate" and d.kind == "difference"
        }
        for g in (g for g in result.groups if g.attributes == attrs):
            label = _label(g.levels) + (" (reference)" if g.is_reference else "")
            label += "" if g.reliable else " (small)"
            cells = []
            for name in headline:
                m = metrics[(attrs, g.levels, name)]
                cells.append("suppressed" if m.suppressed else _fmt(m.value, m.ci_low, m.ci_high))
            gap = detectable.get(g.levels)
            size = _size(g.n_rows, g.suppressed, s.min_cell_size)
            table.add_row(label, size, *cells, "" if gap is None else f"±{fixed(gap)}")
        console.print(table)
    console.print(
        f"detectable gap: the smallest selection-rate difference from the reference group that "
        f"a test at {s.alpha} finds with {round(s.power * 100)}% power, at the group's size."
    )
    hidden = sum(m.suppressed for m in result.metrics)
    if hidden:
        console.print(
            f"{hidden} group figures describe fewer than {s.min_cell_size} people and are "
            "suppressed, here and in the JSON result (--min-cell-size)."
        )
    findings = sorted(
        (d for d in result.disparities if d.significant and d.reliable and d.kind == "difference"),
        key=lambda d: d.p_adjusted if d.p_adjusted is not None else 1.0,
    )
    untested = sum(
        1
        for d in result.disparities
        if d.kind == "difference" and (d.p_value is not None or d.suppressed) and not d.reliable
    )
    if untested:
        console.print(
            f"{untested} comparisons with a group under {s.min_group_size} rows or a metric "
            f"denominator under {s.min_denominator} rows are not tested (see the JSON result)."
        )
    if not findings:
        console.print(
            "No disparity is significant after correction for multiple comparisons "
            "(exploratory: corrected over every metric and group of the audit)."
        )
        return
    console.print(
        f"[bold]{len(findings)} significant disparities[/] (adjusted p < {s.alpha}; exploratory: "
        "corrected over every metric and group of the audit, so a question asked in advance is "
        "better put as a rule of `audit run`):"
    )
    for d in findings[:15]:
        console.print(
            f"  {_label(d.attributes)}={_label(d.levels)} vs {_label(d.reference_levels)}: {d.metric} "
            f"{_signed(d.value)} [{_signed(d.ci_low)}, {_signed(d.ci_high)}], "
            f"p_adj={_p(d.p_adjusted)}"
        )
    if len(findings) > 15:
        console.print(f"  ... and {len(findings) - 15} more in the JSON result")


def _label(parts: tuple[str, ...]) -> str:
    """Group levels (or attribute names) from the data, for rich markup: bounded and literal."""
    return " × ".join(rich_text(p) for p in parts)


def _size(n_rows: int | None, suppressed: bool, minimum: int) -> str:
    if n_rows is not None:
        return f"{n_rows:,}"
    return f"<{minimum}" if suppressed else "withheld"


def print_conditional(result: Assessment, console: Console) -> None:
    """With legitimate factors: each gap within their strata, beside the plain gap, and how
    much of the plain gap they explain."""
    if not result.settings.legitimate_factors:
        return
    for attrs in dict.fromkeys(c.attributes for c in result.conditional):
        factors = next(c.factors for c in result.conditional if c.attributes == attrs)
        table = Table(
            title=f"{_label(attrs)}, within strata of {', '.join(map(rich_text, factors))}",
            title_justify="left",
        )
        for column in ("group", "metric", "plain gap", "conditional gap", "share explained"):
            table.add_column(column)
        for c in (c for c in result.conditional if c.attributes == attrs):
            if c.explained_share is None:
                share = "n/a"
            else:
                share = _fmt(c.explained_share, c.explained_share_low, c.explained_share_high)
            label = f"{_label(c.levels)} vs {_label(c.reference_levels)}"
            table.add_row(
                label + ("" if c.reliable else " (small)"),
                c.metric,
                "suppressed" if c.suppressed else _fmt(c.unconditional),
                "suppressed"
                if c.suppressed
                else _fmt(c.value, c.ci_low, c.ci_high) + (" *" if c.significant else ""),
                share,
            )
        console.print(table)
    console.print(
        "conditional gap: the group's gap to the reference among people in the same stratum "
        "(* significant after correction); share explained: (plain - conditional) / plain, "
        "n/a where the plain gap is not established (see explained_share_note in the JSON)."
    )


def print_tracks(result: Assessment, console: Console) -> None:
    """Each attribute's groups by track share, and the significant track gaps."""
    from audit.track_table import track_cell, track_shares_by_attribute

    for attribute, (names, groups) in track_shares_by_attribute(result.tracks).items():
        table = Table(title=f"track shares by {rich_text(attribute)}", title_justify="left")
        table.add_column("group")
        for name in names:
            table.add_column(rich_text(name))
        for level, by_track in groups.items():
            ref = " (reference)" if next(iter(by_track.values())).is_reference else ""
            table.add_row(rich_text(level) + ref, *(track_cell(by_track.get(n)) for n in names))
        console.print(table)
    if not result.tracks:
        return
    found = [t for t in result.tracks if t.significant]
    console.print(
        f"track shares with {confidence_level(result.settings.alpha)}% intervals; * and below: {len(found)} gaps to the reference "
        "significant after correction over the track comparisons (exploratory)"
    )
    for t in sorted(found, key=lambda t: 1.0 if t.p_adjusted is None else t.p_adjusted)[:15]:
        console.print(
            f"  {_label(t.attributes)}={_label(t.levels)} vs {_label(t.reference_levels)}: "
            f"{rich_text(t.track)} {_signed(t.difference)} "
            f"[{_signed(t.difference_ci_low)}, {_signed(t.difference_ci_high)}], "
            f"p_adj={_p(t.p_adjusted)}"
        )
    if len(found) > 15:
        console.print(f"  ... and {len(found) - 15} more in the JSON result")


def print_notes(result: Assessment, console: Console) -> None:
    """How the result was made where it departs from the plain reading (weights, fallbacks)."""
    for note in result.notes:
        console.print(f"note: {rich_text(note, limit=None)}")
