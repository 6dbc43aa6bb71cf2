"""Scenarios: which harms of the project brief are injected, how strongly, and the record of it.

A scenario is a set of knobs (one table, :data:`KNOBS`) switched on with defaults that the caller
may override. The result of resolving a scenario is an :class:`InjectedTruth`: plain data that
says exactly what was put into the population, so a test or a benchmark can check that an audit
finds what was injected and nothing else. ``no_bias`` injects nothing; group differences that
remain there come from the legitimate causal paths listed in :data:`LEGITIMATE_PATHS`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from audit.data.schema import GROUP_COLUMNS, SCHEMA_VERSION, column_spec
from audit.errors import AuditInputError

KnobKind = Literal["float", "group"]


@dataclass(frozen=True)
class KnobSpec:
    """One tunable strength (or target group) of one harm."""

    name: str
    harm: str
    kind: KnobKind
    default: float | str
    low: float | None = None
    high: float | None = None
    scale: str = ""
    description: str = ""

    def describe_range(self) -> str:
        """The valid values, as a user would type them."""
        if self.kind == "group":
            return "a group 'column=value' with column in " + ", ".join(GROUP_COLUMNS)
        return f"a number in [{self.low:g}, {self.high:g}]"


KNOBS: tuple[KnobSpec, ...] = (
    KnobSpec(
        "sheltered_odds_ratio",
        "H1",
        "float",
        3.0,
        1.0,
        50.0,
        "odds_ratio",
        "odds of a sheltered-work recommendation for the steering group are multiplied by "
        "this factor at equal PES score (equal perceived capacity)",
    ),
    KnobSpec(
        "steering_group",
        "H1",
        "group",
        "mental_health_history=True",
        description="group steered towards sheltered work",
    ),
    KnobSpec(
        "training_odds_ratio",
        "H2",
        "float",
        0.4,
        0.01,
        1.0,
        "odds_ratio",
        "odds of a training recommendation for the training group are multiplied by this "
        "factor at equal PES score",
    ),
    KnobSpec(
        "training_group",
        "H2",
        "group",
        "benefit_status=integration_income",
        description="group refused training",
    ),
    KnobSpec(
        "missing_document_penalty",
        "H3",
        "float",
        0.7,
        0.0,
        5.0,
        "logit_per_document",
        "the PES score's logit drops by this much per missing document (diploma, address, "
        "ID); the track follows the score",
    ),
    KnobSpec(
        "trace_weight",
        "H4",
        "float",
        0.8,
        0.0,
        5.0,
        "logit_per_sd",
        "the PES score's logit rises by this much per standard deviation of the digital-trace "
        "index, read as motivation; the track follows the score",
    ),
    KnobSpec(
        "sustainable_ratio",
        "H5",
        "float",
        0.6,
        0.05,
        1.0,
        "risk_ratio",
        "the label group's chance of sustainable (12-month) work is this factor times that "
        "of others at equal capacity and support, while the 6-month label is unchanged",
    ),
    KnobSpec(
        "label_group",
        "H5",
        "group",
        "origin=non_eu",
        description="group whose jobs are less often sustainable",
    ),
    KnobSpec(
        "distance_weight_ratio",
        "H6",
        "float",
        0.2,
        0.0,
        1.0,
        "weight_ratio",
        "the matcher's travel-distance weight for the mobility group is this factor times "
        "the weight it should use, so far jobs are recommended to people who cannot reach "
        "them",
    ),
    KnobSpec(
        "mobility_group",
        "H6",
        "group",
        "has_car=False",
        description="group whose transport access the matcher ignores",
    ),
    KnobSpec(
        "undermatch_levels",
        "H7",
        "float",
        1.0,
        0.0,
        2.0,
        "qualification_levels",
        "the matcher treats the qualification of the under-matching group as this many "
        "levels lower (low/medium/high = 0/1/2)",
    ),
    KnobSpec(
        "undermatch_group",
        "H7",
        "group",
        "mental_health_history=True",
        description="group recommended jobs below its qualification",
    ),
)
_KNOB_BY_NAME = {k.name: k for k in KNOBS}

HARMS: dict[str, str] = {
    "H1": "steering to sheltered work",
    "H2": "access to training",
    "H3": "missing-document penalty",
    "H4": "digital traces read as motivation",
    "H5": "label: any job vs sustainable job",
    "H6": "mobility: distance of recommended jobs",
    "H7": "under-matching: job below qualification",
}

SCENARIOS: dict[str, tuple[str, ...]] = {
    "no_bias": (),
    "h1_steering": ("H1",),
    "h2_training_access": ("H2",),
    "h3_missing_documents": ("H3",),
    "h4_digital_proxy": ("H4",),
    "h5_label": ("H5",),
    "h6_mobility": ("H6",),
    "h7_undermatching": ("H7",),
    "all_harms": tuple(HARMS),
}
"""Scenario name -> harms it injects."""

LEGITIMATE_PATHS: tuple[str, ...] = (
    "education, age, mental-health history, physical limitation and housing -> work capacity",
    "work capacity -> warranted track -> recommended track (the process is noisy, not biased)",
    "work capacity, motivation, regional labour market and support received -> outcomes",
    "education -> digital literacy -> digital traces (traces exist, the fair process ignores them)",
    "homelessness and unstable housing -> missing documents",
    "integration income -> housing risk; region -> origin, language, transport access",
)
"""Causal paths present in every scenario, including no_bias: they create group differences that
vanish at equal capacity (tracks) or equal capacity and support (outcomes)."""

HELD_EQUAL: dict[str, tuple[str, ...]] = {
    "H1": ("pes_score",),
    "H2": ("pes_score",),
    "H3": ("latent_work_capacity",),
    "H4": ("latent_work_capacity",),
    "H5": (
        "latent_work_capacity",
        "latent_motivation",
        "region",
        "recommended_track",
        "warranted_track",
    ),
    "H6": ("location", "has_car", "education", "recommended_track"),
    "H7": ("location", "has_car", "education", "recommended_track"),
}
ACTS_ON: dict[str, str] = {
    "H1": "recommended_track",
    "H2": "recommended_track",
    "H3": "pes_score (and recommended_track through it)",
    "H4": "pes_score (and recommended_track through it)",
    "H5": "sustainable_12m",
    "H6": "rank_vacancies",
    "H7": "rank_vacancies",
}


@dataclass(frozen=True)
class GroupSpec:
    """A group of people named by one column and one value, e.g. ``origin=non_eu``."""

    column: str
    value: str | bool

    def __str__(self) -> str:
        return f"{self.column}={self.value}"


def parse_group(text: str, *, knob: str = "group") -> GroupSpec:
    """Parse ``column=value``; AuditInputError listing the allowed columns or values otherwise."""
    column, sep, value = str(text).partition("=")
    column, value = column.strip(), value.strip()
    if not sep or column not in GROUP_COLUMNS:
        raise AuditInputError(
            f"knob '{knob}'",
            expected="a group 'column=value'",
            found=repr(text),
            fix="use a column among " + ", ".join(GROUP_COLUMNS),
        )
    spec = column_spec(column)
    if spec.kind == "bool":
        if value not in ("True", "False"):
            raise AuditInputError(
                f"knob '{knob}'",
                expected=f"{column}=True or {column}=False",
                found=repr(text),
                fix="use True or False",
            )
        return GroupSpec(column, value == "True")
    if value not in spec.categories:
        raise AuditInputError(
            f"knob '{knob}'",
            expected=f"a value of '{column}'",
            found=repr(value),
            fix="use one of " + ", ".join(spec.categories),
        )
    return GroupSpec(column, value)


@dataclass(frozen=True)
class InjectedEffect:
    """One harm put in: where it acts, on whom, how strongly, and what is held equal."""

    harm: str
    name: str
    acts_on: str
    parameter: str
    value: float
    scale: str
    group: str | None
    held_equal: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class InjectedTruth:
    """Everything the generator put in: the audit's answer key. JSON-serialisable."""

    scenario: str
    seed: int
    n: int
    n_vacancies: int
    knobs: dict[str, float | str]
    effects: tuple[InjectedEffect, ...]
    legitimate_paths: tuple[str, ...] = LEGITIMATE_PATHS
    schema_version: str = SCHEMA_VERSION
    generator: str = "audit.data.population.generate_population"
    notes: tuple[str, ...] = field(default=())

    @property
    def harms(self) -> tuple[str, ...]:
        """Harm codes injected, e.g. ``("H1",)``; empty for no_bias."""
        return tuple(e.harm for e in self.effects)

    def effect(self, harm: str) -> InjectedEffect | None:
        """The effect injected for a harm code, or None."""
        return next((e for e in self.effects if e.harm == harm), None)

    def knob(self, name: str) -> float | str:
        """The value in force for a knob (its neutral value when the harm is not injected)."""
        return self.knobs[name]

    def group(self, name: str) -> GroupSpec:
        """A group knob, parsed."""
        return parse_group(str(self.knobs[name]), knob=name)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples become lists)."""
        return json.loads(self.to_json())

    def to_json(self, *, indent: int | None = 2) -> str:
        """JSON text with sorted keys, stable across runs."""
        return json.dumps(asdict(self), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InjectedTruth:
        """Inverse of :meth:`to_dict`."""
        effects = tuple(
            InjectedEffect(**{**e, "held_equal": tuple(e["held_equal"])}) for e in data["effects"]
        )
        return cls(
            scenario=data["scenario"],
            seed=data["seed"],
            n=data["n"],
            n_vacancies=data["n_vacancies"],
            knobs=dict(data["knobs"]),
            effects=effects,
            legitimate_paths=tuple(data["legitimate_paths"]),
            schema_version=data["schema_version"],
            generator=data["generator"],
            notes=tuple(data.get("notes", ())),
        )


NEUTRAL: dict[str, float] = {
    "sheltered_odds_ratio": 1.0,
    "training_odds_ratio": 1.0,
    "missing_document_penalty": 0.0,
    "trace_weight": 0.0,
    "sustainable_ratio": 1.0,
    "distance_weight_ratio": 1.0,
    "undermatch_levels": 0.0,
}
"""Knob values that inject nothing: used for harms a scenario does not switch on."""


def _parse_float(spec: KnobSpec, raw: object) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = float("nan")
    low = spec.low if spec.low is not None else -float("inf")
    high = spec.high if spec.high is not None else float("inf")
    if not low <= value <= high:  # also rejects NaN
        raise AuditInputError(
            f"knob '{spec.name}'",
            expected=spec.describe_range(),
            found=repr(raw),
            fix=f"pass a value between {low:g} and {high:g}",
        )
    return value


def resolve_knobs(
    scenario: str, overrides: Mapping[str, object] | None = None
) -> dict[str, float | str]:
    """All knob values in force for a scenario, validated.

    A knob of a harm the scenario does not inject is an error rather than silently ignored, so
    that ``h1_steering`` with ``trace_weight=2`` cannot be mistaken for an H4 run.
    """
    if scenario not in SCENARIOS:
        raise AuditInputError(
            "scenario",
            expected="one of " + ", ".join(SCENARIOS),
            found=repr(scenario),
            fix="run `audit data scenarios` to list them",
        )
    harms = SCENARIOS[scenario]
    overrides = dict(overrides or {})
    active = [k for k in KNOBS if k.harm in harms]
    for name in overrides:
        if name not in _KNOB_BY_NAME:
            raise AuditInputError(
                "knob",
                expected="one of " + ", ".join(k.name for k in active)
                if active
                else "no knob (scenario '" + scenario + "' has none)",
                found=repr(name),
                fix="run `audit data scenarios` to list knobs per scenario",
            )
        if _KNOB_BY_NAME[name].harm not in harms:
            raise AuditInputError(
                f"knob '{name}'",
                expected=f"a knob of scenario '{scenario}'",
                found=f"a knob of harm {_KNOB_BY_NAME[name].harm}, which this scenario does not "
                "inject",
                fix="choose the scenario of that harm, or all_harms",
            )
    values: dict[str, float | str] = {}
    for spec in KNOBS:
        raw = overrides.get(spec.name, spec.default)
        if spec.kind == "group":
            values[spec.name] = str(parse_group(str(raw), knob=spec.name))
        elif spec.harm in harms:
            values[spec.name] = _parse_float(spec, raw)
        else:
            values[spec.name] = NEUTRAL[spec.name]
    return values


def build_truth(
    scenario: str, knobs: Mapping[str, float | str], *, seed: int, n: int, n_vacancies: int
) -> InjectedTruth:
    """The record of what a scenario injects, from resolved knobs."""
    effects = []
    for harm in SCENARIOS[scenario]:
        strength = next(k for k in KNOBS if k.harm == harm and k.kind == "float")
        group_knob = next((k for k in KNOBS if k.harm == harm and k.kind == "group"), None)
        effects.append(
            InjectedEffect(
                harm=harm,
                name=HARMS[harm],
                acts_on=ACTS_ON[harm],
                parameter=strength.name,
                value=float(knobs[strength.name]),
                scale=strength.scale,
                group=str(knobs[group_knob.name]) if group_knob else None,
                held_equal=HELD_EQUAL[harm],
                description=strength.description,
            )
        )
    return InjectedTruth(
        scenario=scenario,
        seed=seed,
        n=n,
        n_vacancies=n_vacancies,
        knobs=dict(knobs),
        effects=tuple(effects),
    )


def describe_scenarios() -> list[dict[str, Any]]:
    """Scenarios with their harms and knobs (defaults and ranges), for the CLI and the data card."""
    return [
        {
            "scenario": name,
            "harms": list(harms),
            "knobs": [
                {
                    "name": k.name,
                    "default": k.default,
                    "range": k.describe_range(),
                    "description": k.description,
                }
                for k in KNOBS
                if k.harm in harms
            ],
        }
        for name, harms in SCENARIOS.items()
    ]
