"""The one result type of an assessment, with a versioned JSON schema.

Records are frozen dataclasses: immutable and cheap to build (an audit makes thousands of them).
pydantic reads, writes and validates them as JSON and gives their JSON schema (written to
`audit/schemas/assessment-<version>.json`). Sinks (terminal table, JSON file, MLflow, reports)
only read an `Assessment`; none recomputes anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from audit.files import write_atomically

SCHEMA_VERSION: Literal["1.0"] = "1.0"
GROUP_SEPARATOR = " × "

CiMethod = Literal["bootstrap", "wilson", "newcombe", "katz", "none"]
DisparityKind = Literal["difference", "ratio"]
ConditionalCiMethod = Literal["bootstrap", "normal", "none"]
Table = Literal[
    "groups",
    "metrics",
    "overall",
    "disparities",
    "summaries",
    "worst_groups",
    "cross_auc",
    "reliability",
    "conditional",
    "references",
    "within_strata",
    "tracks",
    "track_conditional",
    "track_within_strata",
]


@dataclass(frozen=True, kw_only=True)
class Record:
    """Base of every result record."""

    # A JSON document with fields this version does not know is refused, not silently trimmed.
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")


@dataclass(frozen=True, kw_only=True)
class GroupKey(Record):
    """A group: one level per attribute, e.g. (mental_health_history, housing) = (True, homeless)"""

    attributes: tuple[str, ...]
    levels: tuple[str, ...]

    @property
    def grouping(self) -> str:
        return GROUP_SEPARATOR.join(self.attributes)

    @property
    def label(self) -> str:
        return GROUP_SEPARATOR.join(self.levels)


@dataclass(frozen=True, kw_only=True)
class Group(GroupKey):
    n_rows: Annotated[
        int | None,
        Field(
            description="rows in the group (unweighted); None when withheld from publication "
            "(fewer than settings.min_cell_size people, or a size that would give one away)"
        ),
    ]
    weight: Annotated[
        float | None,
        Field(description="sum of the sample weights (the row count without weights)"),
    ]
    reliable: Annotated[bool, Field(description="n_rows reaches the minimum group size")]
    is_reference: bool
    suppressed: Annotated[
        bool,
        Field(
            description="the group has fewer than settings.min_cell_size people: none of its "
            "figures are published (audit.disclosure)"
        ),
    ] = False


@dataclass(frozen=True, kw_only=True)
class MetricValue(GroupKey):
    metric: str
    value: float | None
    undefined_reason: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: CiMethod = "none"
    denominator_rows: Annotated[
        int | None,
        Field(description="rows the metric is a share of (unweighted); None when withheld"),
    ]
    reliable: Annotated[
        bool,
        Field(
            description="the group reaches min_group_size and the metric's denominator rows "
            "reach min_denominator (for AUC and balanced accuracy: the smaller outcome class)"
        ),
    ]
    suppressed: Annotated[
        bool,
        Field(
            description="the group or the metric's denominator has fewer than "
            "settings.min_cell_size people: value and interval are not published"
        ),
    ] = False


@dataclass(frozen=True, kw_only=True)
class Disparity(GroupKey):
    reference_levels: tuple[str, ...]
    metric: str
    kind: DisparityKind
    value: float | None
    undefined_reason: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: CiMethod = "none"
    p_value: Annotated[
        float | None, Field(description="test of no disparity (or of the margin)")
    ] = None
    p_adjusted: Annotated[
        float | None,
        Field(
            description="after the multiple-comparison correction, over the reliable tests "
            "only; None for an unreliable comparison, which keeps its p_value but is not part "
            "of the corrected family"
        ),
    ] = None
    significant: Annotated[
        bool | None,
        Field(description="p_adjusted < alpha; None when untested or unreliable"),
    ] = None
    detectable: Annotated[
        float | None,
        Field(description="smallest difference this comparison detects with the stated power"),
    ] = None
    reliable: Annotated[
        bool,
        Field(description="the metric is reliable both for the group and for its reference"),
    ]
    suppressed: Annotated[
        bool,
        Field(
            description="the metric of the group or of its reference rests on fewer than "
            "settings.min_cell_size people: nothing of the comparison is published"
        ),
    ] = False


@dataclass(frozen=True, kw_only=True)
class ConditionalDisparity(GroupKey):
    """A difference against the reference among people with the same legitimate factors."""

    reference_levels: tuple[str, ...]
    factors: Annotated[
        tuple[str, ...], Field(description="legitimate factors whose cross defines the strata")
    ]
    metric: str
    value: Annotated[
        float | None,
        Field(
            description="Σ_s w_s (rate(group, s) - rate(reference, s)), w_s the group's share "
            "of its metric denominator in stratum s, over strata where both rates are defined"
        ),
    ]
    unconditional: Annotated[
        float | None, Field(description="the plain difference, for comparison")
    ] = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: ConditionalCiMethod = "none"
    p_value: Annotated[float | None, Field(description="Wald test of no conditional gap")] = None
    p_adjusted: Annotated[
        float | None,
        Field(
            description="after the correction within the reliable conditional tests; None for "
            "an unreliable comparison (it keeps its p_value)"
        ),
    ] = None
    significant: Annotated[
        bool | None, Field(description="p_adjusted < alpha; None when untested or unreliable")
    ] = None
    coverage: Annotated[
        float | None,
        Field(description="share of the group's weight in strata where the reference has people"),
    ] = None
    reliable: Annotated[
        bool,
        Field(
            description="group and reference both reach min_group_size, and the metric's "
            "denominator rows min_denominator"
        ),
    ]
    explained_share: Annotated[
        float | None,
        Field(
            description="(unconditional - value) / unconditional: the share of the plain gap "
            "that the legitimate factors account for (1: all of it, 0: none; outside [0, 1] "
            "when the gap grows or flips within strata); None when the plain gap is not "
            "distinguishable from 0"
        ),
    ] = None
    explained_share_low: Annotated[
        float | None,
        Field(description="Fieller interval of the share, from the joint bootstrap replicates"),
    ] = None
    explained_share_high: float | None = None
    explained_share_note: Annotated[
        str | None, Field(description="why the share or its interval is missing")
    ] = None
    suppressed: Annotated[
        bool,
        Field(
            description="the comparison rests on fewer than settings.min_cell_size people "
            "(the group, its reference, or one of the strata it pools): not published"
        ),
    ] = False


@dataclass(frozen=True, kw_only=True)
class WithinStratum(GroupKey):
    """One group's rate among people with one level of one legitimate factor (fairlearn's
    `control_features` view), and its difference to the reference group in that level."""

    reference_levels: tuple[str, ...]
    factor: str
    factor_level: str
    metric: str
    track: Annotated[
        str | None, Field(description="the track of a track_share rate (Assessment.tracks)")
    ] = None
    value: float | None
    undefined_reason: str | None = None
    ci_low: Annotated[float | None, Field(description="Wilson interval")] = None
    ci_high: float | None = None
    n_rows: Annotated[int | None, Field(description="rows of the group in this factor level")]
    denominator_rows: Annotated[
        int | None, Field(description="rows the rate is a share of (unweighted)")
    ]
    reference_n_rows: int | None
    is_reference: bool
    difference: Annotated[
        float | None,
        Field(description="value minus the reference group's value in the same factor level"),
    ] = None
    difference_ci_low: Annotated[float | None, Field(description="Newcombe interval")] = None
    difference_ci_high: float | None = None
    reliable: Annotated[
        bool, Field(description="the group and the reference reach the minimum size in the level")
    ]
    suppressed: Annotated[
        bool,
        Field(
            description="the group's rate in this level rests on fewer than "
            "settings.min_cell_size people: not published"
        ),
    ] = False


@dataclass(frozen=True, kw_only=True)
class TrackShare(GroupKey):
    """One group's share of people recommended one track, and its gap to the reference group.

    A multiclass decision (a track recommender, a log of recommended tracks) is audited for
    every track at once: `share` is count / n_rows (weights / total weight with sample weights),
    with a Wilson interval (bootstrap when replicates were drawn and the group is large); the
    difference and ratio to the reference group's share carry Newcombe and Katz intervals (or
    bootstrap ones) and a two-proportion test. A group's shares over the tracks sum to 1.
    """

    track: str
    reference_levels: tuple[str, ...]
    is_reference: bool
    n_rows: Annotated[int | None, Field(description="rows of the group; None when withheld")]
    count: Annotated[
        int | None, Field(description="rows of the group recommended this track")
    ]
    share: float | None
    undefined_reason: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: CiMethod = "none"
    difference: Annotated[
        float | None, Field(description="share minus the reference group's share")
    ] = None
    difference_ci_low: float | None = None
    difference_ci_high: float | None = None
    difference_ci_method: CiMethod = "none"
    ratio: Annotated[float | None, Field(description="share over the reference's share")] = None
    ratio_ci_low: float | None = None
    ratio_ci_high: float | None = None
    ratio_ci_method: CiMethod = "none"
    p_value: Annotated[
        float | None, Field(description="two-proportion test of no difference (or of the margin)")
    ] = None
    p_adjusted: Annotated[
        float | None,
        Field(
            description="corrected (settings.correction) within the reliable track comparisons "
            "of the assessment, an exploratory family of its own; None when unreliable"
        ),
    ] = None
    significant: Annotated[
        bool | None, Field(description="p_adjusted < alpha; None when untested or unreliable")
    ] = None
    detectable: Annotated[
        float | None,
        Field(description="smallest difference in share this comparison detects (80% power)"),
    ] = None
    reliable: Annotated[
        bool,
        Field(description="the group and its reference both reach settings.min_group_size"),
    ]
    suppressed: Annotated[
        bool,
        Field(
            description="the group or its reference has fewer than settings.min_cell_size "
            "people: nothing of the record is published"
        ),
    ] = False


@dataclass(frozen=True, kw_only=True)
class TrackConditional(GroupKey):
    """A track share's difference to the reference among people with the same legitimate
    factors (the standardisation of `ConditionalDisparity`, for the share of one track)."""

    track: str
    reference_levels: tuple[str, ...]
    factors: tuple[str, ...]
    value: float | None
    unconditional: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: ConditionalCiMethod = "none"
    p_value: Annotated[float | None, Field(description="Wald test of no conditional gap")] = None
    p_adjusted: Annotated[
        float | None,
        Field(description="corrected within the reliable conditional track comparisons"),
    ] = None
    significant: bool | None = None
    coverage: float | None = None
    reliable: bool
    suppressed: bool = False


@dataclass(frozen=True, kw_only=True)
class Summary(Record):
    attributes: tuple[str, ...]
    measure: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    passed: Annotated[
        bool | None, Field(description="for rules with a fixed bar (four-fifths rule)")
    ] = None
    detail: str | None = None
    suppressed: Annotated[
        bool,
        Field(
            description="a group it summarises has fewer than settings.min_cell_size people "
            "behind the metric: not published"
        ),
    ] = False


@dataclass(frozen=True, kw_only=True)
class WorstGroup(GroupKey):
    metric: str
    difference: float | None
    reliable: bool
    suppressed: bool = False


@dataclass(frozen=True, kw_only=True)
class CrossAuc(Record):
    attributes: tuple[str, ...]
    positive_levels: tuple[str, ...]
    negative_levels: tuple[str, ...]
    value: float | None
    suppressed: Annotated[
        bool,
        Field(
            description="the positives of one group or the negatives of the other are fewer "
            "than settings.min_cell_size people"
        ),
    ] = False


@dataclass(frozen=True, kw_only=True)
class ReliabilityBin(GroupKey):
    bin_low: float
    bin_high: float
    weight: float | None
    mean_score: float | None
    observed_rate: float | None
    n_rows: Annotated[
        int | None, Field(description="rows in the bin (unweighted); None when withheld")
    ] = None
    suppressed: Annotated[
        bool,
        Field(
            description="the group has fewer than settings.min_cell_size people; published "
            "bins are merged with their neighbours until each holds at least that many"
        ),
    ] = False


ReferenceHow = Literal["named", "largest", "most_advantaged", "composed", "fallback"]


@dataclass(frozen=True, kw_only=True)
class ReferenceChoice(GroupKey):
    """The reference group of one grouping (its `levels`), and how it was chosen.

    An intersection's reference is the combination of each attribute's own reference
    (`intended`); when that cell is empty or below the minimum size, the reliable cell that keeps
    the most attributes at their reference (then the largest) is used instead, and `reason` says
    why.
    """

    intended: tuple[str, ...]
    how: ReferenceHow
    n_rows: int | None
    reason: str | None = None

    def note(self, reason: str | None = None) -> str:
        """The assessment's note on this choice; `reason` in place of the choice's own (the
        disclosure control rewrites the sizes in it)."""
        why = self.reason if reason is None else reason
        if self.levels == self.intended:  # named, or nothing qualified in its place: it stays
            return f"{self.grouping}: reference {self.label} kept, though {why}"
        intended = GROUP_SEPARATOR.join(self.intended)
        return f"{self.grouping}: reference {self.label} instead of {intended} ({why})"


class Settings(BaseModel):
    """The options of an assessment, validated when it starts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    y_true: Annotated[
        str | None,
        Field(
            description="the outcome column; None for an audit of decisions alone, which has "
            "only the metrics of the decisions (selection rates and their gaps)"
        ),
    ]
    y_pred: str
    score: str | None
    weight: str | None
    groups: tuple[str, ...]
    intersections: int
    reference: dict[str, str]
    reference_rule: Literal["largest", "most_advantaged"]
    n_boot: int
    bootstrap: Literal["multinomial", "stratified"]
    seed: int
    alpha: float
    correction: Literal["holm", "bh", "none"]
    test_margin: float
    min_group_size: int
    min_denominator: Annotated[
        int,
        Field(
            description="rows a metric's denominator needs (people with the outcome for the "
            "TPR, the smaller class for AUC) before the metric counts as reliable"
        ),
    ] = 10
    power: float
    score_bins: int
    legitimate_factors: tuple[str, ...] = ()
    factor_bins: dict[str, int] = Field(
        default_factory=dict, description="quantile bins asked for numeric legitimate factors"
    )
    min_cell_size: Annotated[
        int,
        Field(
            description="no published figure describes fewer people than this: smaller cells "
            "are suppressed when the assessment leaves the process (audit.disclosure)"
        ),
    ] = 10
    max_levels: Annotated[
        int, Field(description="most groups (levels) one attribute may have")
    ] = 50
    max_numeric_levels: Annotated[
        int,
        Field(description="most distinct values a numeric group column may have unbinned"),
    ] = 20
    group_bins: dict[str, int] = Field(
        default_factory=dict, description="quantile bins asked for numeric group columns"
    )
    track: Annotated[
        str | None,
        Field(
            description="the column of recommended tracks (a multiclass decision), audited "
            "for every track at once (Assessment.tracks)"
        ),
    ] = None


@dataclass(frozen=True, kw_only=True)
class Assessment(Record):
    """Everything an assessment found, for every group, metric and comparison."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    settings: Settings
    n_rows: int
    total_weight: float
    groups: tuple[Group, ...]
    metrics: tuple[MetricValue, ...]
    overall: Annotated[
        tuple[MetricValue, ...],
        Field(description="every metric of the whole population (no attributes, no levels)"),
    ] = ()
    disparities: tuple[Disparity, ...]
    summaries: tuple[Summary, ...]
    worst_groups: tuple[WorstGroup, ...]
    cross_auc: tuple[CrossAuc, ...] = ()
    reliability: tuple[ReliabilityBin, ...] = ()
    conditional: tuple[ConditionalDisparity, ...] = ()
    references: tuple[ReferenceChoice, ...] = ()
    within_strata: tuple[WithinStratum, ...] = ()
    track_labels: Annotated[
        tuple[str, ...],
        Field(description="the tracks of a multiclass decision, in the order of the records"),
    ] = ()
    tracks: Annotated[
        tuple[TrackShare, ...],
        Field(description="every group's share of each track, with its gap to the reference"),
    ] = ()
    track_conditional: tuple[TrackConditional, ...] = ()
    track_within_strata: Annotated[
        tuple[WithinStratum, ...],
        Field(description="each group's track shares within each level of each legitimate factor"),
    ] = ()
    notes: tuple[str, ...] = ()
    disclosure_controlled: Annotated[
        bool,
        Field(
            description="figures describing fewer than settings.min_cell_size people are "
            "suppressed (the published form, audit.disclosure.suppress); False in memory"
        ),
    ] = False

    def to_frame(self, table: Table = "metrics") -> pd.DataFrame:
        """One tidy table: a row per record, with `grouping` and `group` as readable labels."""
        records: tuple[Record, ...] = getattr(self, table)
        rows = []
        for record in records:
            row = {f.name: getattr(record, f.name) for f in fields(record)}
            if isinstance(record, GroupKey):
                row = {"grouping": record.grouping, "group": record.label, **row}
            rows.append(row)
        if rows:
            return pd.DataFrame(rows)
        return pd.DataFrame(columns=[f.name for f in fields(_TABLE_TYPES[table])])

    def metric(
        self, metric: str, attributes: tuple[str, ...], levels: tuple[str, ...]
    ) -> MetricValue:
        """Looks up one group's metric; raises KeyError when there is no such row."""
        for m in self.metrics:
            if m.metric == metric and m.attributes == attributes and m.levels == levels:
                return m
        raise KeyError((metric, attributes, levels))

    def overall_metric(self, metric: str) -> MetricValue:
        """The whole population's value of `metric`; raises KeyError when there is none."""
        for m in self.overall:
            if m.metric == metric:
                return m
        raise KeyError(metric)

    def disparity(
        self,
        metric: str,
        attributes: tuple[str, ...],
        levels: tuple[str, ...],
        kind: DisparityKind = "difference",
    ) -> Disparity:
        for d in self.disparities:
            if (d.metric, d.attributes, d.levels, d.kind) == (metric, attributes, levels, kind):
                return d
        raise KeyError((metric, attributes, levels, kind))

    def track_share(
        self, track: str, attributes: tuple[str, ...], levels: tuple[str, ...]
    ) -> TrackShare:
        """One group's share of `track`; raises KeyError when there is no such row."""
        for t in self.tracks:
            if (t.track, t.attributes, t.levels) == (track, attributes, levels):
                return t
        raise KeyError((track, attributes, levels))

    def summary(self, measure: str, attributes: tuple[str, ...]) -> Summary:
        for s in self.summaries:
            if s.measure == measure and s.attributes == attributes:
                return s
        raise KeyError((measure, attributes))

    def to_dict(self) -> dict[str, Any]:
        return _adapter().dump_python(self, mode="json")

    def to_json(self, path: str | Path | None = None) -> str:
        """The JSON document; with `path`, also written atomically (never half a file)."""
        text = _adapter().dump_json(self, indent=1).decode("utf-8")
        if path is not None:
            write_atomically(Path(path), text)
        return text

    @classmethod
    def from_json(cls, text: str) -> Assessment:
        return _adapter().validate_json(text)


_TABLE_TYPES: dict[str, type[Record]] = {
    "groups": Group,
    "metrics": MetricValue,
    "overall": MetricValue,
    "disparities": Disparity,
    "summaries": Summary,
    "worst_groups": WorstGroup,
    "cross_auc": CrossAuc,
    "reliability": ReliabilityBin,
    "conditional": ConditionalDisparity,
    "references": ReferenceChoice,
    "within_strata": WithinStratum,
    "tracks": TrackShare,
    "track_conditional": TrackConditional,
    "track_within_strata": WithinStratum,
}


@cache
def _adapter() -> TypeAdapter[Assessment]:
    return TypeAdapter(Assessment)


def json_schema() -> str:
    """The JSON schema of the current result version."""
    return json.dumps(_adapter().json_schema(), indent=1)


if __name__ == "__main__":
    print(json_schema())
