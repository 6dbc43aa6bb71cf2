"""The one result type of an assessment, with a versioned JSON schema.

Records are frozen pydantic models: immutable, validated, and their JSON schema comes for free
(`Assessment.model_json_schema()`, written to `audit/schemas/assessment-<version>.json`). Sinks
(terminal table, JSON file, MLflow, reports) only read an `Assessment`; none recomputes anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from audit.files import write_atomically

SCHEMA_VERSION: Literal["1.0"] = "1.0"
GROUP_SEPARATOR = " × "

CiMethod = Literal["bootstrap", "wilson", "newcombe", "katz", "none"]
DisparityKind = Literal["difference", "ratio"]
Table = Literal[
    "groups", "metrics", "disparities", "summaries", "worst_groups", "cross_auc", "reliability"
]


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class Group(GroupKey):
    n_rows: int = Field(description="rows in the group (unweighted)")
    weight: float = Field(description="sum of the sample weights (the row count without weights)")
    reliable: bool = Field(description="n_rows reaches the minimum group size")
    is_reference: bool


class MetricValue(GroupKey):
    metric: str
    value: float | None
    undefined_reason: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: CiMethod = "none"
    denominator_rows: int = Field(description="rows the metric is a share of (unweighted)")
    reliable: bool


class Disparity(GroupKey):
    reference_levels: tuple[str, ...]
    metric: str
    kind: DisparityKind
    value: float | None
    undefined_reason: str | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: CiMethod = "none"
    p_value: float | None = Field(
        default=None, description="test of no disparity (or of the margin)"
    )
    p_adjusted: float | None = Field(
        default=None, description="after the multiple-comparison correction"
    )
    significant: bool | None = None
    detectable: float | None = Field(
        default=None,
        description="smallest difference this comparison detects with the stated power",
    )
    reliable: bool


class Summary(Record):
    attributes: tuple[str, ...]
    measure: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    passed: bool | None = Field(
        default=None, description="for rules with a fixed bar (four-fifths rule)"
    )
    detail: str | None = None


class WorstGroup(GroupKey):
    metric: str
    difference: float
    reliable: bool


class CrossAuc(Record):
    attributes: tuple[str, ...]
    positive_levels: tuple[str, ...]
    negative_levels: tuple[str, ...]
    value: float | None


class ReliabilityBin(GroupKey):
    bin_low: float
    bin_high: float
    weight: float
    mean_score: float | None
    observed_rate: float | None


class Settings(Record):
    y_true: str
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
    power: float
    score_bins: int


class Assessment(Record):
    """Everything an assessment found, for every group, metric and comparison."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    settings: Settings
    n_rows: int
    total_weight: float
    groups: tuple[Group, ...]
    metrics: tuple[MetricValue, ...]
    disparities: tuple[Disparity, ...]
    summaries: tuple[Summary, ...]
    worst_groups: tuple[WorstGroup, ...]
    cross_auc: tuple[CrossAuc, ...] = ()
    reliability: tuple[ReliabilityBin, ...] = ()
    notes: tuple[str, ...] = ()

    def to_frame(self, table: Table = "metrics") -> pd.DataFrame:
        """One tidy table: a row per record, with `grouping` and `group` as readable labels."""
        records: tuple[Record, ...] = getattr(self, table)
        rows = []
        for record in records:
            row = record.model_dump()
            if isinstance(record, GroupKey):
                row = {"grouping": record.grouping, "group": record.label, **row}
            rows.append(row)
        if rows:
            return pd.DataFrame(rows)
        return pd.DataFrame(columns=list(_TABLE_TYPES[table].model_fields))

    def metric(
        self, metric: str, attributes: tuple[str, ...], levels: tuple[str, ...]
    ) -> MetricValue:
        """Looks up one group's metric; raises KeyError when there is no such row."""
        for m in self.metrics:
            if m.metric == metric and m.attributes == attributes and m.levels == levels:
                return m
        raise KeyError((metric, attributes, levels))

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

    def summary(self, measure: str, attributes: tuple[str, ...]) -> Summary:
        for s in self.summaries:
            if s.measure == measure and s.attributes == attributes:
                return s
        raise KeyError((measure, attributes))

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_json(self, path: str | Path | None = None) -> str:
        """The JSON document; with `path`, also written atomically (never half a file)."""
        text = self.model_dump_json(indent=1)
        if path is not None:
            write_atomically(Path(path), text)
        return text

    @classmethod
    def from_json(cls, text: str) -> Assessment:
        return cls.model_validate_json(text)


_TABLE_TYPES: dict[str, type[Record]] = {
    "groups": Group,
    "metrics": MetricValue,
    "disparities": Disparity,
    "summaries": Summary,
    "worst_groups": WorstGroup,
    "cross_auc": CrossAuc,
    "reliability": ReliabilityBin,
}


def json_schema() -> str:
    """The JSON schema of the current result version."""
    return json.dumps(Assessment.model_json_schema(), indent=1)


if __name__ == "__main__":
    print(json_schema())
